//! `cargo xtask run`: build the dashboard and the release broker, then hand
//! the terminal over to `hearth serve`.

use std::ffi::OsString;
use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::{Context, Result};

use crate::{dist, proc};

/// Where `run` listens unless the extra arguments pass their own `--listen`.
const LISTEN: &str = "127.0.0.1:8080";

/// Builds everything and replaces this process with the broker.
pub fn run(hearth_args: &[OsString]) -> Result<()> {
    let dist = dist::build()?;
    proc::run(proc::cargo().args(["build", "--release", "-p", "hearth"]))?;
    let hearth = proc::target_dir().join("release/hearth");

    let mut cmd = Command::new(&hearth);
    cmd.arg("serve").arg("--dist").arg(&dist);
    let listen = match listen_arg(hearth_args) {
        Some(addr) => addr,
        None => {
            cmd.args(["--listen", LISTEN]);
            LISTEN.to_string()
        }
    };
    cmd.args(hearth_args);
    println!("serving the dashboard at http://{listen}");
    let err = cmd.exec();
    Err(err).with_context(|| format!("could not start {}", hearth.display()))
}

/// The address given by `--listen ADDR` or `--listen=ADDR`, if any.
fn listen_arg(args: &[OsString]) -> Option<String> {
    let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
    args.iter().enumerate().find_map(|(i, arg)| match arg.strip_prefix("--listen") {
        Some("") => args.get(i + 1).cloned(),
        Some(rest) => rest.strip_prefix('=').map(str::to_string),
        None => None,
    })
}
