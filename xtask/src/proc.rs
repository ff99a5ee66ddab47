//! Small helpers for running other programs and finding the repository.

use std::env;
use std::ffi::OsStr;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The workspace root (the parent of `xtask/`).
pub fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Cargo's target directory: `$CARGO_TARGET_DIR` or `<root>/target`.
pub fn target_dir() -> PathBuf {
    match env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// A `cargo` command run from the workspace root, using the same cargo that
/// runs this xtask.
pub fn cargo() -> Command {
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(root());
    cmd
}

/// Runs `cmd` with inherited stdio, echoing it first; fails unless it exits 0.
pub fn run(cmd: &mut Command) -> Result<()> {
    let line = describe(cmd);
    println!("$ {line}");
    let status = cmd.status().with_context(|| format!("could not start `{line}`"))?;
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// Like [`run`], but also hands each line of the command's stdout to
/// `on_line` as it is echoed. Stdout is read on a thread, and given up a few
/// seconds after the command exits, in case a grandchild (a browser driver)
/// still holds the pipe open.
pub fn run_watching(cmd: &mut Command, on_line: impl FnMut(&str) + Send + 'static) -> Result<()> {
    let line = describe(cmd);
    println!("$ {line}");
    let mut child = cmd.stdout(Stdio::piped()).spawn().with_context(|| format!("could not start `{line}`"))?;
    let stdout = child.stdout.take().context("the child's stdout")?;
    let on_line = Arc::new(Mutex::new(on_line));
    let reader = {
        let on_line = Arc::clone(&on_line);
        thread::spawn(move || {
            for text in BufReader::new(stdout).lines().map_while(Result::ok) {
                println!("{text}");
                if let Ok(mut on_line) = on_line.lock() {
                    on_line(&text);
                }
            }
        })
    };
    let status = child.wait().with_context(|| format!("waiting for `{line}`"))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while !reader.is_finished() && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(20));
    }
    if !status.success() {
        bail!("`{line}` failed ({status})");
    }
    Ok(())
}

/// Runs `cmd` quietly and returns its stdout, or `None` if it cannot start or fails.
pub fn output(cmd: &mut Command) -> Option<String> {
    let out = cmd.output().ok()?;
    out.status.success().then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Whether a program can be found on `PATH`.
pub fn on_path(program: &str) -> bool {
    find_on_path(program).is_some()
}

/// The full path of a program found on `PATH`.
pub fn find_on_path(program: &str) -> Option<PathBuf> {
    let path = env::var_os("PATH")?;
    env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| candidate.is_file())
}

/// Whether this process runs as root (so it may `apt-get install`).
pub fn is_root() -> bool {
    output(Command::new("id").arg("-u")).is_some_and(|uid| uid.trim() == "0")
}

fn describe(cmd: &Command) -> String {
    let envs =
        cmd.get_envs().filter_map(|(key, value)| value.map(|value| format!("{}={}", key.display(), value.display())));
    let program = std::iter::once(cmd.get_program()).chain(cmd.get_args());
    envs.chain(program.map(OsStr::display).map(|arg| arg.to_string())).map(quote).collect::<Vec<_>>().join(" ")
}

/// Single-quotes a word with spaces, so the echoed line can be pasted back.
fn quote(word: String) -> String {
    match word.split_once('=') {
        _ if !word.contains(' ') => word,
        Some((key, value)) if !key.contains(' ') => format!("{key}='{value}'"),
        _ => format!("'{word}'"),
    }
}
