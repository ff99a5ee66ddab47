//! Ensure-installed steps: each checks cheaply first and installs only what
//! is missing, so a warm machine pays nothing.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Result, bail};

use crate::proc;

/// The Rust target the dashboard and the engine's wasm tests build for.
pub const WASM_TARGET: &str = "wasm32-unknown-unknown";
/// Debian's Chromium, driven headless by the browser tests.
pub const CHROMIUM: &str = "/usr/bin/chromium";
/// Debian's chromedriver, matching [`CHROMIUM`].
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
/// Debian's `mosquitto_pub`, one of the MQTT peers the broker's tests drive.
pub const MOSQUITTO_PUB: &str = "/usr/bin/mosquitto_pub";
/// Debian's `mosquitto_sub`, the other.
pub const MOSQUITTO_SUB: &str = "/usr/bin/mosquitto_sub";
/// Node.js, which runs the engine's wasm tests.
pub const NODE: &str = "/usr/bin/node";
/// The npm package whose `wasm-opt` works on wasm-bindgen 0.2.130 output
/// (Debian's binaryen 108 silently breaks it: see shared TOOLCHAIN.md).
const BINARYEN: &str = "binaryen@132";
/// The npm package that minifies the JS glue (pure JavaScript, runs on Debian's Node).
const TERSER: &str = "terser@5.51";

/// Adds the wasm32 target through rustup when it is not installed yet.
pub fn wasm_target() -> Result<()> {
    rust_target(WASM_TARGET)
}

/// Adds `target` through rustup when it is not installed yet.
pub fn rust_target(target: &str) -> Result<()> {
    let installed = proc::output(Command::new("rustup").args(["target", "list", "--installed"]));
    match installed {
        Some(list) if list.lines().any(|line| line.trim() == target) => Ok(()),
        Some(_) => proc::run(Command::new("rustup").args(["target", "add", target])),
        None => {
            println!("note: rustup not found; assuming the {target} target is available");
            Ok(())
        }
    }
}

/// Installs Debian's `program` from `package` when it is missing.
pub fn debian_program(program: &str, package: &str) -> Result<()> {
    if Path::new(program).exists() {
        return Ok(());
    }
    apt_install(&[package])
}

/// Installs Debian's `chromium` and `chromium-driver` when either is missing.
pub fn browser() -> Result<()> {
    if Path::new(CHROMIUM).exists() && Path::new(CHROMEDRIVER).exists() {
        return Ok(());
    }
    apt_install(&["chromium", "chromium-driver"])
}

/// The programs the broker's tests run as peers, and the Debian package of each.
const PEERS: [(&str, &str); 8] = [
    (MOSQUITTO_PUB, "mosquitto-clients"),
    (MOSQUITTO_SUB, "mosquitto-clients"),
    // `mosquitto_passwd` makes the password files the auth tests read.
    ("/usr/bin/mosquitto_passwd", "mosquitto"),
    // The TLS tests make their certificates with the documented recipe...
    ("/usr/bin/openssl", "openssl"),
    // ...and fetch over HTTPS with curl.
    ("/usr/bin/curl", "curl"),
    ("/usr/bin/stdbuf", "coreutils"),
    // The bridge tests' remote brokers: Mosquitto, and NATS with its MQTT listener.
    ("/usr/sbin/mosquitto", "mosquitto"),
    ("/usr/sbin/nats-server", "nats-server"),
];

/// Installs the Debian packages of the test peers that are missing:
/// Mosquitto's clients, `mosquitto_passwd` and broker, nats-server, openssl, curl.
pub fn test_peers() -> Result<()> {
    let mut missing: Vec<&str> =
        PEERS.iter().filter(|(bin, _)| !Path::new(bin).exists()).map(|(_, pkg)| *pkg).collect();
    missing.sort_unstable();
    missing.dedup();
    if missing.is_empty() {
        return Ok(());
    }
    apt_install(&missing)?;
    for service in ["mosquitto", "nats-server"] {
        if missing.contains(&service) && Path::new("/usr/bin/systemctl").exists() {
            // Only the programs are wanted (the tests start their own, on
            // free ports): a service on 1883 or 4222 would stand in the way
            // of `cargo xtask run`.
            println!("stopping the {service} service the package started (the tests run their own)");
            let _ = Command::new("systemctl").args(["disable", "--now", service]).status();
        }
    }
    Ok(())
}

/// Installs Eclipse paho-mqtt (Python, from PyPI with pip) when `python3`
/// cannot import it: the other MQTT peer the broker's tests drive.
pub fn paho_mqtt() -> Result<()> {
    python_package("paho.mqtt.client", "paho-mqtt>=2,<3")
}

/// Installs pika (Python, from PyPI with pip) when `python3` cannot import
/// it: the AMQP client RabbitMQ's tutorials use, which the AMQP tests run.
pub fn pika() -> Result<()> {
    python_package("pika", "pika>=1.3,<2")
}

/// Installs `spec` with pip unless `python3 -c "import MODULE"` works.
fn python_package(module: &str, spec: &str) -> Result<()> {
    let probe = Command::new("python3").args(["-c", &format!("import {module}")]).output();
    if probe.is_ok_and(|out| out.status.success()) {
        return Ok(());
    }
    let pip = Command::new("python3").args(["-m", "pip", "--version"]).output();
    if !pip.is_ok_and(|out| out.status.success()) {
        apt_install(&["python3-pip"])?;
    }
    println!("installing {spec} with pip");
    proc::run(Command::new("python3").args(["-m", "pip", "install", "--quiet", "--break-system-packages", spec]))
}

/// Installs Node's amqplib into `<root>/.tools` when it is not there: the
/// second AMQP client the tests drive (with Debian's `npm` if missing).
pub fn amqplib() -> Result<()> {
    let tools = proc::root().join(".tools");
    if tools.join("node_modules/amqplib/package.json").is_file() {
        return Ok(());
    }
    if !proc::on_path("npm") {
        apt_install(&["npm"])?;
    }
    println!("installing amqplib with npm into {}", tools.display());
    let mut npm = Command::new("npm");
    npm.args(["install", "--no-audit", "--no-fund", "--prefix"]).arg(&tools).arg("amqplib@0.10");
    proc::run(&mut npm)
}

/// Installs Debian's `nodejs` when `node` is missing.
pub fn node() -> Result<()> {
    if Path::new(NODE).exists() || proc::on_path("node") {
        return Ok(());
    }
    apt_install(&["nodejs"])
}

/// The `wasm-opt` from npm's `binaryen`, installed into `<root>/.tools` on
/// first use. `None` (with a printed note) when npm is missing or fails: the
/// caller then ships the unoptimised wasm, which works, only larger.
pub fn wasm_opt() -> Option<PathBuf> {
    npm_tool(BINARYEN, "wasm-opt")
}

/// The `terser` from npm, installed into `<root>/.tools` on first use: it
/// minifies wasm-bindgen's JS glue (same code, a quarter smaller gzipped).
/// `None` (with a printed note) when npm is missing or fails: the caller then
/// ships the glue as bindgen wrote it, which works, only larger.
pub fn terser() -> Option<PathBuf> {
    npm_tool(TERSER, "terser")
}

/// `<root>/.tools/node_modules/.bin/<program>`, npm-installing `package` there
/// when it is missing; `None` (with a printed note) when that cannot be had.
fn npm_tool(package: &str, program: &str) -> Option<PathBuf> {
    let tools = proc::root().join(".tools");
    let bin = tools.join("node_modules/.bin").join(program);
    if bin.is_file() {
        return Some(bin);
    }
    if !proc::on_path("npm") {
        println!("note: npm not found, skipping {program}");
        return None;
    }
    let mut npm = Command::new("npm");
    npm.args(["install", "--no-audit", "--no-fund", "--prefix"]).arg(&tools).arg(package);
    match proc::run(&mut npm) {
        Ok(()) if bin.is_file() => Some(bin),
        Ok(()) => {
            println!("note: npm installed {package} but {} is missing; skipping {program}", bin.display());
            None
        }
        Err(err) => {
            println!("note: {err:#}; skipping {program}");
            None
        }
    }
}

fn apt_install(packages: &[&str]) -> Result<()> {
    let list = packages.join(" ");
    if !proc::is_root() {
        bail!("missing Debian packages; install them with: sudo apt-get install -y {list}");
    }
    println!("installing Debian packages: {list}");
    proc::run(Command::new("apt-get").arg("update").env("DEBIAN_FRONTEND", "noninteractive"))?;
    proc::run(
        Command::new("apt-get")
            .args(["install", "-y"])
            .args(packages)
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(std::process::Stdio::null()),
    )
}
