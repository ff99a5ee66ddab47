//! The build driver, run as `cargo xtask <command>`.
//!
//! It owns every step between the sources and something a person can open or
//! CI can judge: building the dashboard's wasm (`dist`), serving it from the
//! real broker (`run`), building `hearth` for a Raspberry Pi (`cross`), and
//! running every test suite in order (`test`). It never holds product
//! logic. wasm-bindgen is used as a library, so the bindings and the test
//! runner always match the version in Cargo.lock.

mod cross;
mod dist;
mod install;
mod proc;
mod run;
mod runner;
mod tally;
mod test;

use std::ffi::OsString;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// `cargo xtask`: build, serve and test Hearth.
#[derive(Parser)]
#[command(name = "cargo xtask", about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the dashboard into `dist/` (wasm, bindings, index.html), then
    /// the release `hearth`, which carries it.
    Dist,
    /// Build `hearth` for a 64-bit Raspberry Pi (aarch64-unknown-linux-gnu),
    /// dashboard inside: target/aarch64-unknown-linux-gnu/release/hearth.
    Cross {
        /// A debug build (quicker to make, slower to run) instead of release.
        #[arg(long)]
        debug: bool,
    },
    /// Build `dist/` and the release broker, then serve the dashboard.
    Run {
        /// Extra arguments for `hearth serve`, after `--`.
        #[arg(last = true)]
        hearth_args: Vec<OsString>,
    },
    /// Run every test suite: native, engine as wasm under Node, frontend in Chromium.
    Test {
        /// Run only this step (after the toolchain step).
        #[arg(long, value_parser = clap::builder::PossibleValuesParser::new(test::step_ids()))]
        only: Option<String>,
    },
    /// The cargo runner for wasm32 tests (set by `test`; not for people).
    #[command(hide = true)]
    WasmTestRunner {
        /// Arguments cargo passes: the test wasm, then the test harness's flags.
        #[arg(trailing_var_arg = true, allow_hyphen_values = true, num_args = 0..)]
        args: Vec<OsString>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Dist => dist::build_with_broker(),
        Command::Cross { debug } => cross::build(!debug).map(|_| ()),
        Command::Run { hearth_args } => run::run(&hearth_args),
        Command::Test { only } => test::run_all(only.as_deref()),
        Command::WasmTestRunner { args } => runner::run(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("xtask: error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
