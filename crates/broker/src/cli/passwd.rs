//! `hearth passwd FILE USER`: add a user to a password file, or change their
//! password (argon2id). The password is asked twice without echo on a
//! terminal, or read from the first line of standard input otherwise (for
//! scripts: `echo "$PW" | hearth passwd FILE USER`).

use crate::auth::{Hash, Passwords};
use anyhow::{Context, bail};
use clap::Args;
use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};

/// Arguments of `hearth passwd`.
#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// The password file (created if missing, readable by its owner only).
    pub file: PathBuf,
    /// The user to add or change.
    pub user: String,
    /// Remove the user instead.
    #[arg(long, short = 'D')]
    pub delete: bool,
}

/// Runs `hearth passwd`.
pub fn run_passwd(args: &PasswdArgs) -> anyhow::Result<()> {
    if args.user.is_empty() || args.user.contains([':', '\n', '\r']) {
        bail!("a username cannot be empty or contain `:` or a line break");
    }
    let mut file = if args.file.exists() {
        Passwords::load(&args.file)?
    } else if args.delete {
        bail!("{} does not exist", args.file.display());
    } else {
        Passwords::default()
    };
    if args.delete {
        if !file.remove(&args.user) {
            bail!("no user `{}` in {}", args.user, args.file.display());
        }
    } else {
        let password = read_password(&args.user)?;
        let hash = Hash::new_argon2(password.as_bytes()).map_err(|e| anyhow::anyhow!("cannot hash: {e}"))?;
        file.set(&args.user, hash);
    }
    write_private(&args.file, &file.to_text())?;
    let what = if args.delete { "removed" } else { "set" };
    eprintln!("{what} user `{}` in {}", args.user, args.file.display());
    Ok(())
}

fn read_password(user: &str) -> anyhow::Result<String> {
    if !std::io::stdin().is_terminal() {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line).context("reading the password from standard input")?;
        let password = line.trim_end_matches(['\n', '\r']).to_owned();
        if password.is_empty() {
            bail!("no password on standard input");
        }
        return Ok(password);
    }
    let first = rpassword::prompt_password(format!("password for {user}: ")).context("reading the password")?;
    let again = rpassword::prompt_password("again: ").context("reading the password")?;
    if first != again {
        bail!("the two passwords differ; nothing changed");
    }
    if first.is_empty() {
        bail!("an empty password is not allowed");
    }
    Ok(first)
}

/// Writes `text` to `path` readable by its owner only, replacing it whole
/// (a crash leaves the old file or the new one, never half of one).
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let tmp = path.with_extension("tmp");
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut out = options.open(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    out.write_all(text.as_bytes())?;
    out.sync_all()?;
    std::fs::rename(&tmp, path).with_context(|| format!("replacing {}", path.display()))?;
    Ok(())
}
