//! The hidden `wasm-test-runner` command: cargo's runner for wasm32 tests.
//!
//! `cargo xtask test` sets `CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER` to
//! this executable plus `wasm-test-runner`, so cargo calls it with the test
//! wasm and the harness flags. It hands them to wasm-bindgen's own test
//! runner (Node, or headless Chromium for `run_in_browser` files).

use std::ffi::OsString;

use anyhow::Result;

/// Runs wasm-bindgen-test-runner with `args` (the test wasm first).
pub fn run(args: Vec<OsString>) -> Result<()> {
    let argv = std::iter::once(OsString::from("wasm-bindgen-test-runner")).chain(args);
    wasm_bindgen_cli::wasm_bindgen_test_runner::run_cli_with_args(argv)
}
