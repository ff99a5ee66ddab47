//! Embeds the built dashboard in `hearth`, so a copied binary or a
//! `cargo install` serves it without `--dist`.
//!
//! Which folder: `$HEARTH_EMBED_DIST` if set (an empty value embeds nothing;
//! a relative path is relative to `crates/broker`), else `<workspace>/dist`
//! when it holds an `index.html`. `dist/` is built by `cargo xtask dist`
//! (wasm-bindgen, wasm-opt, gzip twins), which a build script cannot do from
//! nothing: without it the broker is built with no dashboard and serves a
//! page that says what to run.
//!
//! It writes `$OUT_DIR/dashboard.rs`, a table of `Asset`s whose bytes are
//! `include_bytes!` of the files themselves (no copies, no dependencies):
//! each file with its `NAME.gz` twin when there is one, and a weak ETag.
//! Cargo reruns it when the folder changes; while there is no folder it
//! watches only `HEARTH_EMBED_DIST` (a missing path would rerun it on every
//! build), which is why `cargo xtask` sets that variable when it builds
//! `hearth` after `dist/`.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::{env, fs};

const DIST_VAR: &str = "HEARTH_EMBED_DIST";

fn main() {
    println!("cargo:rerun-if-env-changed={DIST_VAR}");
    println!("cargo:rerun-if-changed=build.rs");
    let manifest = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"));
    let dist = match env::var_os(DIST_VAR) {
        Some(dir) if dir.is_empty() => None,
        Some(dir) => {
            let dir = manifest.join(dir);
            assert!(dir.join("index.html").is_file(), "{DIST_VAR}={} holds no index.html", dir.display());
            Some(dir)
        }
        None => Some(manifest.join("../../dist")).filter(|dir| dir.join("index.html").is_file()),
    };
    let mut table = String::from("/// The files of the dashboard, embedded at build time (see build.rs).\n");
    table.push_str("pub static FILES: &[Asset] = &[\n");
    if let Some(dist) = dist {
        let dist = dist.canonicalize().expect("the dashboard folder can be resolved");
        println!("cargo:rerun-if-changed={}", dist.display());
        let mut files = Vec::new();
        walk(&dist, &mut files);
        files.sort();
        for file in &files {
            if let Some(entry) = asset(&dist, file, &files) {
                table.push_str(&entry);
            }
        }
    }
    table.push_str("];\n");
    let out = PathBuf::from(env::var_os("OUT_DIR").expect("cargo sets OUT_DIR")).join("dashboard.rs");
    fs::write(&out, table).expect("writing $OUT_DIR/dashboard.rs");
}

/// Every regular file under `dir`, recursively.
fn walk(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries = fs::read_dir(dir).unwrap_or_else(|err| panic!("reading {}: {err}", dir.display()));
    for entry in entries {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            walk(&path, files);
        } else if path.is_file() {
            files.push(path);
        }
    }
}

/// The table entry of `file`, or `None` for a `.gz` twin (its original
/// carries it) and for a name that is not UTF-8.
fn asset(dist: &Path, file: &Path, files: &[PathBuf]) -> Option<String> {
    let gz = {
        let mut name = file.as_os_str().to_owned();
        name.push(".gz");
        PathBuf::from(name)
    };
    let is_twin = file.extension().is_some_and(|ext| ext == "gz") && files.contains(&file.with_extension(""));
    let name = file.strip_prefix(dist).ok()?.to_str()?.replace('\\', "/");
    if is_twin {
        return None;
    }
    let bytes = fs::read(file).unwrap_or_else(|err| panic!("reading {}: {err}", file.display()));
    let gzip = match files.contains(&gz) {
        true => format!("Some(include_bytes!({:?}))", gz.to_str()?),
        false => "None".to_string(),
    };
    let mut entry = String::new();
    let _ = writeln!(
        entry,
        "    Asset {{ path: {name:?}, raw: include_bytes!({:?}), gzip: {gzip}, etag: \"W/\\\"{:016x}\\\"\" }},",
        file.to_str()?,
        fnv1a(&bytes),
    );
    Some(entry)
}

/// FNV-1a, 64 bits: an ETag that changes when the file does.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |hash, byte| (hash ^ u64::from(*byte)).wrapping_mul(0x0100_0000_01b3))
}
