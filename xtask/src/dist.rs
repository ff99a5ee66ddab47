//! `cargo xtask dist`: the dashboard, built into `dist/`.
//!
//! Steps: the wasm32 release build of `frontend` (profile `wasm-release`),
//! wasm-bindgen for the web (`frontend.js` + `frontend_bg.wasm`), `wasm-opt
//! -Oz` from npm's binaryen and `terser` (the JS minifier) from npm when they
//! can be had, `index.html` copied from the root, and a gzip twin of each
//! (`NAME.gz`, made with zopfli), which `hearth serve` sends to browsers that
//! accept gzip. Bindgen, wasm-opt, terser and the compression are skipped
//! when their output is newer than their input.
//!
//! `hearth` embeds `dist/` when it is built after it (`crates/broker/build.rs`):
//! `cargo xtask dist` therefore builds the release broker next, and prints
//! where it is.
//!
//! Zopfli writes ordinary gzip (any browser inflates it) about 4% smaller than
//! `gzip -9`, at the cost of a few seconds once per build.
//!
//! The build sets `--cfg erase_components` for the wasm target: Leptos then
//! type-erases every component's view (what `cargo leptos` does in debug),
//! which cut the gzipped wasm from 317 KB to 293 KB with identical behaviour.
//! LLVM's inline threshold at 0 and `wasm-opt --low-memory-unused` took the
//! gzipped wasm and JS from 411 280 B to 405 370 B; terser's minified glue,
//! from there to 403 439 B; wasm-opt's flatten and rereloop, to 401 586 B;
//! smaller code (docs/benchmarks.md says what) to 388 803 B. `cargo xtask
//! test` fails when it is over [`SIZE_BAR`].

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::install::{self, WASM_TARGET};
use crate::proc;

const PROFILE: &str = "wasm-release";
const OUT_NAME: &str = "frontend";
/// Most bytes of wasm + JS a browser may download, as sent gzipped (issue
/// 15's bar; `cargo xtask test` checks it).
pub const SIZE_BAR: u64 = 400_000;
/// What the browser downloads, each also written gzipped.
const SERVED: [&str; 3] = ["index.html", "frontend.js", "frontend_bg.wasm"];
/// Rust flags for the wasm target only (host tools and proc macros keep theirs).
const RUSTFLAGS_VAR: &str = "CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS";
/// Our flags for the wasm target: Leptos' switch to type-erase component views
/// (fewer monomorphised copies), and LLVM's inliner held to call sites where
/// the body costs no more than the call (`opt-level = "z"` alone still copies
/// small bodies into many callers).
const WASM_FLAGS: &str = "--cfg erase_components -Cllvm-args=-inline-threshold=0";
/// What `wasm-opt` runs: its smallest output, told that the low 1 KiB of
/// memory is unused (Rust puts its stack below the data and it grows down from
/// 1 MiB, so only a stack about to overflow reaches it), which lets it fold
/// address arithmetic into load and store offsets; then a flatten and
/// rereloop pass (which rebuilds the control flow) and two more `-Oz` rounds,
/// worth another 1.8 KB gzipped.
const WASM_OPT_ARGS: [&str; 6] = ["-Oz", "--low-memory-unused", "--flatten", "--rereloop", "-Oz", "-Oz"];

/// The caller's wasm-target flags, plus [`WASM_FLAGS`].
fn wasm_rustflags() -> String {
    match std::env::var(RUSTFLAGS_VAR) {
        Ok(flags) if !flags.trim().is_empty() => format!("{flags} {WASM_FLAGS}"),
        _ => WASM_FLAGS.to_string(),
    }
}

/// Builds `dist/`, then the release `hearth` that carries it; prints both.
pub fn build_with_broker() -> Result<()> {
    build()?;
    proc::run(proc::cargo().args(["build", "--release", "-p", "hearth"]))?;
    let hearth = proc::target_dir().join("release/hearth");
    let size = fs::metadata(&hearth).with_context(|| format!("reading {}", hearth.display()))?.len();
    println!("hearth with the dashboard inside: {} ({})", hearth.display(), human(size));
    Ok(())
}

/// Builds `dist/` and returns its absolute path.
pub fn build() -> Result<PathBuf> {
    install::wasm_target()?;
    proc::run(proc::cargo().env(RUSTFLAGS_VAR, wasm_rustflags()).args([
        "build",
        "-p",
        "frontend",
        "--target",
        WASM_TARGET,
        "--profile",
        PROFILE,
    ]))?;
    let input = proc::target_dir().join(WASM_TARGET).join(PROFILE).join(format!("{OUT_NAME}.wasm"));
    let dist = proc::root().join("dist");
    let wasm = dist.join(format!("{OUT_NAME}_bg.wasm"));

    if is_newer(&wasm, &input) && dist.join(format!("{OUT_NAME}.js")).is_file() {
        println!("dist/ bindings are up to date");
    } else {
        bindgen(&input, &dist)?;
        optimise(&wasm)?;
        minify(&dist.join(format!("{OUT_NAME}.js")))?;
        embed_again()?;
    }
    copy_if_changed(&proc::root().join("index.html"), &dist.join("index.html"))?;
    for name in SERVED {
        compress(&dist.join(name))?;
    }
    report_sizes(&dist)?;
    Ok(dist)
}

/// Copies `from` to `to` unless `to` already holds the same bytes: an
/// untouched `dist/` leaves the broker's build (which embeds it) fresh.
fn copy_if_changed(from: &Path, to: &Path) -> Result<()> {
    let bytes = fs::read(from).with_context(|| format!("reading {}", from.display()))?;
    if fs::read(to).is_ok_and(|old| old == bytes) {
        return Ok(());
    }
    fs::write(to, bytes).with_context(|| format!("writing {}", to.display()))
}

/// Marks the broker's `build.rs` as changed, so the next build of `hearth`
/// embeds this `dist/`. Cargo sees later changes to a `dist/` it has
/// embedded by itself; but a `hearth` built while there was none watched
/// nothing (a missing path would rerun the build script on every build).
fn embed_again() -> Result<()> {
    let build_rs = proc::root().join("crates/broker/build.rs");
    let file =
        fs::File::options().append(true).open(&build_rs).with_context(|| format!("opening {}", build_rs.display()))?;
    file.set_modified(std::time::SystemTime::now()).with_context(|| format!("touching {}", build_rs.display()))
}

/// Runs wasm-bindgen (target web, out name `frontend`) into a fresh `dist/`.
fn bindgen(input: &Path, dist: &Path) -> Result<()> {
    if dist.exists() {
        fs::remove_dir_all(dist).context("clearing dist/")?;
    }
    println!("$ wasm-bindgen --target web --out-name {OUT_NAME} {}", input.display());
    let args: [&std::ffi::OsStr; 8] = [
        "wasm-bindgen".as_ref(),
        "--target".as_ref(),
        "web".as_ref(),
        "--no-typescript".as_ref(),
        "--out-name".as_ref(),
        OUT_NAME.as_ref(),
        "--out-dir".as_ref(),
        dist.as_os_str(),
    ];
    wasm_bindgen_cli::wasm_bindgen::run_cli_with_args(args.into_iter().chain([input.as_os_str()]))
        .context("wasm-bindgen")
}

/// Shrinks the bound wasm in place with npm binaryen's `wasm-opt` ([`WASM_OPT_ARGS`]), if available.
fn optimise(wasm: &Path) -> Result<()> {
    let Some(wasm_opt) = install::wasm_opt() else {
        return Ok(());
    };
    let tmp = wasm.with_extension("opt.wasm");
    proc::run(Command::new(wasm_opt).args(WASM_OPT_ARGS).arg(wasm).arg("-o").arg(&tmp))?;
    let size = |path: &Path| fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    println!("wasm-opt: {} B -> {} B", size(wasm), size(&tmp));
    fs::rename(&tmp, wasm).context("replacing the wasm with its optimised version")
}

/// Minifies bindgen's JS glue in place with npm's `terser`, if available: an
/// ES module still (its exports keep their names, `index.html` imports the
/// default one), only without comments, indentation and long local names.
fn minify(js: &Path) -> Result<()> {
    let Some(terser) = install::terser() else {
        return Ok(());
    };
    let tmp = js.with_extension("min.js");
    proc::run(Command::new(terser).arg(js).args(["--module", "--compress", "--mangle", "--output"]).arg(&tmp))?;
    let size = |path: &Path| fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    println!("terser: {} B -> {} B", size(js), size(&tmp));
    fs::rename(&tmp, js).context("replacing the JS glue with its minified version")
}

/// Writes `path.gz` (zopfli, gzip format) unless it is newer than `path`.
fn compress(path: &Path) -> Result<()> {
    let gz = gz_path(path);
    if is_newer(&gz, path) {
        return Ok(());
    }
    let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let mut out = Vec::with_capacity(bytes.len() / 3);
    zopfli::compress(zopfli::Options::default(), zopfli::Format::Gzip, bytes.as_slice(), &mut out)
        .with_context(|| format!("compressing {}", path.display()))?;
    fs::write(&gz, out).with_context(|| format!("writing {}", gz.display()))
}

fn gz_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(".gz");
    PathBuf::from(name)
}

/// Fails when the wasm + JS in `dist` are over [`SIZE_BAR`] as sent.
pub fn check_size_bar(dist: &Path) -> Result<()> {
    let sent: u64 = sizes(dist)?.iter().filter(|(name, ..)| *name != "index.html").map(|(.., gz)| gz).sum();
    anyhow::ensure!(
        sent <= SIZE_BAR,
        "the dashboard's wasm + JS are {sent} B as sent gzipped, over the {SIZE_BAR} B bar: \
         make the frontend smaller (docs/benchmarks.md, Dashboard, says what has worked)"
    );
    println!("dashboard: wasm + JS {sent} B as sent gzipped, under the {SIZE_BAR} B bar");
    Ok(())
}

/// Each file the browser downloads, with its raw and gzip sizes in bytes.
fn sizes(dist: &Path) -> Result<Vec<(&'static str, u64, u64)>> {
    let size = |path: &Path| fs::metadata(path).map(|m| m.len()).with_context(|| format!("reading {}", path.display()));
    SERVED.iter().map(|name| Ok((*name, size(&dist.join(name))?, size(&gz_path(&dist.join(name)))?))).collect()
}

/// Prints the raw and gzip sizes of what the browser downloads.
fn report_sizes(dist: &Path) -> Result<()> {
    println!("dist: {}", dist.display());
    let mut total_gz = 0;
    for (name, raw, gz) in sizes(dist)? {
        if name != "index.html" {
            total_gz += gz;
        }
        println!("  {name:<18} {:>22} raw  {:>22} gzip", human(raw), human(gz));
    }
    println!("  wasm + JS, as sent gzipped: {}", human(total_gz));
    Ok(())
}

fn human(bytes: u64) -> String {
    format!("{bytes} B ({:.1} KiB)", bytes as f64 / 1024.0)
}

/// Whether `output` exists and was modified after `input`.
fn is_newer(output: &Path, input: &Path) -> bool {
    let mtime = |path: &Path| fs::metadata(path).and_then(|m| m.modified()).ok();
    match (mtime(output), mtime(input)) {
        (Some(out), Some(inp)) => out > inp,
        _ => false,
    }
}
