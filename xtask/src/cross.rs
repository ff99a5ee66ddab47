//! `cargo xtask cross`: `hearth` for a Raspberry Pi (64-bit Raspberry Pi OS
//! or any aarch64 Linux with glibc), with the dashboard inside.
//!
//! It builds `dist/` first (so `build.rs` embeds it), adds the rustup target,
//! installs Debian's cross linker `gcc-aarch64-linux-gnu` when it is missing,
//! and builds `--target aarch64-unknown-linux-gnu` with the linker (and the C
//! compiler `ring` needs) given in the command's environment, not in a
//! committed `.cargo/config.toml` that would change everyone's builds. The
//! binary lands in `target/aarch64-unknown-linux-gnu/<profile>/hearth`.
//!
//! `cargo xtask test` runs a debug build of it under Debian's `qemu-user`
//! (`qemu-aarch64 -L /usr/aarch64-linux-gnu`): see `tests/tests/one_binary.rs`.

use std::fs;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crate::{dist, install, proc};

/// The Rust target of a 64-bit Raspberry Pi.
pub const TARGET: &str = "aarch64-unknown-linux-gnu";
/// Debian's cross compiler for it, which also links.
const CROSS_GCC: &str = "/usr/bin/aarch64-linux-gnu-gcc";
/// The Debian package of [`CROSS_GCC`] (it brings the aarch64 glibc along,
/// under `/usr/aarch64-linux-gnu`, which qemu-user's `-L` points at).
const CROSS_GCC_PACKAGE: &str = "gcc-aarch64-linux-gnu";
/// Debian's user-mode emulator, which runs the binary on this machine.
pub const QEMU: &str = "/usr/bin/qemu-aarch64";
/// Where the aarch64 glibc and loader live for [`QEMU`].
pub const SYSROOT: &str = "/usr/aarch64-linux-gnu";

/// Builds `dist/`, then `hearth` for [`TARGET`]; returns the binary's path.
pub fn build(release: bool) -> Result<PathBuf> {
    dist::build()?;
    toolchain()?;
    let mut cargo = proc::cargo();
    cargo.args(["build", "-p", "hearth", "--bin", "hearth", "--target", TARGET]);
    if release {
        cargo.arg("--release");
    }
    proc::run(
        cargo
            .env("CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER", CROSS_GCC)
            .env("CC_aarch64_unknown_linux_gnu", CROSS_GCC),
    )?;
    let profile = if release { "release" } else { "debug" };
    let bin = proc::target_dir().join(TARGET).join(profile).join("hearth");
    let size = fs::metadata(&bin).with_context(|| format!("reading {}", bin.display()))?.len();
    println!("hearth for {TARGET} ({profile}, dashboard inside): {} ({size} B)", bin.display());
    Ok(bin)
}

/// The rustup target and the cross linker, installed when missing.
pub fn toolchain() -> Result<()> {
    install::rust_target(TARGET)?;
    install::debian_program(CROSS_GCC, CROSS_GCC_PACKAGE)
}

/// Debian's `qemu-user`, installed when missing (for the test only).
pub fn qemu() -> Result<()> {
    install::debian_program(QEMU, "qemu-user")
}
