//! `cargo xtask test`: every suite, in order, stopping at the first failure.
//!
//! 1. toolchain: the wasm32 target, Node, Debian Chromium + chromedriver;
//! 2. native: `dist/` (checked against its size bar), the debug and the
//!    release `hearth` are built first, then `cargo test --workspace`
//!    (engine, broker, end-to-end) with `HEARTH_BIN`, `HEARTH_RELEASE_BIN`,
//!    `HEARTH_DIST`, `CHROMIUM` and `CHROMEDRIVER` exported, the
//!    frontend's plain unit tests natively, and the fuzz targets checked;
//! 3. cross: the debug `hearth` for a Raspberry Pi (aarch64, dashboard
//!    inside) run under Debian's qemu-user: the ignored tests of
//!    `tests/tests/one_binary.rs`, with `HEARTH_CROSS_BIN`, `QEMU` and
//!    `QEMU_SYSROOT` exported (the cross linker and qemu installed if missing);
//! 4. the engine's and the simulator's (`home-sim`) tests again as wasm under Node;
//! 5. the frontend's tests as wasm in headless Chromium.
//!
//! It closes on one line, `N passed, M failed`, summed over every suite.

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use crate::install::{self, CHROMEDRIVER, CHROMIUM, WASM_TARGET};
use crate::tally::Tally;
use crate::{cross, dist, proc};

/// The env var through which cargo finds the runner for wasm32 binaries.
const RUNNER_VAR: &str = "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER";

/// One step: the name `--only` takes, a header, and the work.
struct Step {
    id: &'static str,
    title: &'static str,
    run: fn(&Counter) -> Result<()>,
}

/// Every step, in order.
const STEPS: [Step; 5] = [
    Step {
        id: "toolchain",
        title: "toolchain: wasm32 target, node, mosquitto tools, openssl, curl, paho-mqtt, pika, amqplib, chromium",
        run: toolchain,
    },
    Step { id: "native", title: "native tests: engine, broker, end-to-end", run: native },
    Step { id: "cross", title: "the Raspberry Pi build (aarch64) under qemu-user", run: cross_pi },
    Step { id: "engine-wasm", title: "engine and simulator tests as wasm under node", run: engine_wasm },
    Step { id: "frontend-wasm", title: "frontend tests in headless chromium", run: frontend_wasm },
];

/// The tests counted so far, shared with the threads that read test output.
type Counter = Arc<Mutex<Tally>>;

/// The ids `--only` accepts.
pub fn step_ids() -> impl Iterator<Item = &'static str> {
    STEPS.iter().map(|step| step.id)
}

/// Runs every step (or, with `only`, the toolchain step and that one),
/// printing a header per step and a summary at the end.
pub fn run_all(only: Option<&str>) -> Result<()> {
    let start = Instant::now();
    let chosen: Vec<&Step> =
        STEPS.iter().filter(|step| only.is_none_or(|id| step.id == "toolchain" || step.id == id)).collect();
    let counter = Counter::default();
    let mut passed: Vec<(&str, Duration)> = Vec::new();
    for (number, step) in chosen.iter().enumerate() {
        println!("\n==> [{}/{}] {}", number + 1, chosen.len(), step.title);
        let step_start = Instant::now();
        if let Err(err) = (step.run)(&counter) {
            summary(&passed, start.elapsed(), &counter);
            return Err(err.context(format!("step {} ({}) failed", number + 1, step.title)));
        }
        passed.push((step.title, step_start.elapsed()));
    }
    println!("\nall {} steps passed", chosen.len());
    summary(&passed, start.elapsed(), &counter);
    Ok(())
}

/// Prints the steps that passed, the time, and the closing count line.
fn summary(passed: &[(&str, Duration)], total: Duration, counter: &Counter) {
    println!("\n==> summary");
    for (name, took) in passed {
        println!("  ok   {name} ({:.1}s)", took.as_secs_f64());
    }
    println!("  total {:.1}s", total.as_secs_f64());
    let tally = counter.lock().map(|tally| *tally).unwrap_or_default();
    println!("{} passed, {} failed", tally.passed, tally.failed);
}

fn toolchain(_: &Counter) -> Result<()> {
    install::wasm_target()?;
    install::node()?;
    install::test_peers()?;
    install::paho_mqtt()?;
    install::pika()?;
    install::amqplib()?;
    install::browser()
}

fn native(counter: &Counter) -> Result<()> {
    let dist = dist::build()?;
    dist::check_size_bar(&dist)?;
    proc::run(proc::cargo().args(["build", "-p", "hearth"]))?;
    let hearth = proc::target_dir().join("debug/hearth");
    // The release build too: what an idle connection costs is bounded for
    // the build people run (tests/abuse.rs).
    proc::run(proc::cargo().args(["build", "--release", "-p", "hearth"]))?;
    let release = proc::target_dir().join("release/hearth");
    counted(
        counter,
        proc::cargo()
            .args(["test", "--workspace", "--exclude", "frontend", "--exclude", "xtask"])
            .env("HEARTH_BIN", hearth)
            .env("HEARTH_RELEASE_BIN", release)
            .env("HEARTH_DIST", dist)
            .env("CHROMIUM", CHROMIUM)
            .env("CHROMEDRIVER", CHROMEDRIVER),
    )?;
    // The frontend's own unit tests (`#[test]`: discovery, the topic tree,
    // payloads) are plain Rust, and the wasm test runner skips `#[test]`:
    // run them here, natively.
    counted(counter, proc::cargo().args(["test", "-p", "frontend", "--lib"]))?;
    // The fuzz targets are crates of their own (`cargo fuzz` builds them
    // with nightly flags, so nothing else would): checked here, they stay
    // in step with the broker and the engine they drive.
    for fuzz in FUZZ_CRATES {
        let manifest = proc::root().join(fuzz).join("Cargo.toml");
        proc::run(proc::cargo().args(["check", "--locked", "--bins", "--manifest-path"]).arg(manifest))?;
    }
    Ok(())
}

/// The fuzz crates, each outside the workspace.
const FUZZ_CRATES: [&str; 2] = ["crates/broker/fuzz", "crates/queue-core/fuzz"];

/// A debug build: quicker to make than release (the test needs no speed).
fn cross_pi(counter: &Counter) -> Result<()> {
    cross::qemu()?;
    let pi = cross::build(false)?;
    let dist = proc::root().join("dist");
    // The Pi's broker is driven by the native `hearth pub` / `hearth sub`.
    proc::run(proc::cargo().args(["build", "-p", "hearth"]))?;
    counted(
        counter,
        proc::cargo()
            .args(["test", "-p", "hearth-e2e", "--test", "one_binary", "--", "--ignored"])
            .env("HEARTH_BIN", proc::target_dir().join("debug/hearth"))
            .env("HEARTH_DIST", dist)
            .env("HEARTH_CROSS_BIN", pi)
            .env("QEMU", cross::QEMU)
            .env("QEMU_SYSROOT", cross::SYSROOT),
    )
}

fn engine_wasm(counter: &Counter) -> Result<()> {
    counted(counter, &mut wasm_test("queue-core")?)?;
    counted(counter, &mut wasm_test("home-sim")?)
}

fn frontend_wasm(counter: &Counter) -> Result<()> {
    counted(counter, wasm_test("frontend")?.env("CHROMEDRIVER", CHROMEDRIVER))
}

/// Runs a test command, adding the results it reports to `counter`.
fn counted(counter: &Counter, cmd: &mut Command) -> Result<()> {
    let counter = Arc::clone(counter);
    proc::run_watching(cmd, move |line| {
        if let Ok(mut tally) = counter.lock() {
            tally.add_line(line);
        }
    })
}

/// `cargo test -p <package> --target wasm32-unknown-unknown`, run through this
/// executable's hidden `wasm-test-runner` command.
fn wasm_test(package: &str) -> Result<Command> {
    let mut cmd = proc::cargo();
    cmd.args(["test", "-p", package, "--target", WASM_TARGET]).env(RUNNER_VAR, runner()?);
    Ok(cmd)
}

fn runner() -> Result<String> {
    let exe: PathBuf = std::env::current_exe().context("locating the xtask executable")?;
    Ok(format!("{} wasm-test-runner", exe.display()))
}
