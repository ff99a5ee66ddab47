//! Storage comparison benchmark for Hearth: fjall vs redb vs a plain
//! append-only segment log, on a durable message-queue workload.
//!
//! `cargo run --release` runs everything and prints markdown tables.
//! See README.md for the workload definition and the results.

mod seglog;
mod stores;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use seglog::SegLog;
use stores::{FjallStore, Key, RedbStore, Store, key};

// ------------------------------------------------------------ workload

/// Messages are spread round-robin over this many queues (message i goes to
/// queue i % QUEUES with seq i / QUEUES), i.e. several producers, several
/// queues; acks come back in the same (per-queue FIFO) order.
const QUEUES: u64 = 4;
const META_LEN: usize = 40;

/// Deterministic, incompressible bytes (xorshift64*), so fjall's LZ4 gets no
/// free win over the uncompressed stores.
fn random_pool(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut v = Vec::with_capacity(len + 8);
    while v.len() < len {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        v.extend_from_slice(&x.wrapping_mul(0x2545_F491_4F6C_DD1D).to_le_bytes());
    }
    v.truncate(len);
    v
}

/// value = 40 B of broker metadata + payload.
fn make_value(pool: &[u8], i: u64, payload: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(META_LEN + payload);
    v.extend_from_slice(&(1_700_000_000_000_000u64 + i).to_le_bytes()); // timestamp µs
    v.extend_from_slice(&0u64.to_le_bytes()); // expiration
    v.push(0); // priority
    v.push(2); // delivery mode: persistent
    v.extend_from_slice(&0u16.to_le_bytes()); // flags
    v.extend_from_slice(&7u32.to_le_bytes()); // exchange id
    v.extend_from_slice(&(i.wrapping_mul(0x9E37_79B9_7F4A_7C15)).to_le_bytes()); // routing key hash
    v.extend_from_slice(&(payload as u32).to_le_bytes()); // body length
    v.extend_from_slice(&0xDEAD_BEEFu32.to_le_bytes()); // header crc
    debug_assert_eq!(v.len(), META_LEN);
    let off = (i as usize).wrapping_mul(7919) % (pool.len() - payload);
    v.extend_from_slice(&pool[off..off + payload]);
    v
}

fn msg_key(i: u64) -> Key {
    key((i % QUEUES) as u32, i / QUEUES)
}

fn make_msgs(n: u64, payload: usize) -> Vec<(Key, Vec<u8>)> {
    let pool = random_pool(4 << 20);
    (0..n).map(|i| (msg_key(i), make_value(&pool, i, payload))).collect()
}

// ------------------------------------------------------------ helpers

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Fjall,
    Redb,
    SegLog,
    SegLogPrealloc,
}

const KINDS: [Kind; 4] = [Kind::Fjall, Kind::Redb, Kind::SegLog, Kind::SegLogPrealloc];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Fjall => FjallStore::NAME,
            Kind::Redb => RedbStore::NAME,
            Kind::SegLog => SegLog::<false>::NAME,
            Kind::SegLogPrealloc => SegLog::<true>::NAME,
        }
    }
    fn parse(s: &str) -> Result<Self> {
        KINDS.into_iter().find(|k| k.name() == s).with_context(|| format!("unknown store {s}"))
    }
}

/// Calls `$body` with the store type for `$kind` bound to `$S`.
macro_rules! with_store {
    ($kind:expr, $S:ident => $body:expr) => {
        match $kind {
            Kind::Fjall => {
                type $S = FjallStore;
                $body
            }
            Kind::Redb => {
                type $S = RedbStore;
                $body
            }
            Kind::SegLog => {
                type $S = SegLog<false>;
                $body
            }
            Kind::SegLogPrealloc => {
                type $S = SegLog<true>;
                $body
            }
        }
    };
}

fn tempdir() -> Result<tempfile::TempDir> {
    Ok(tempfile::Builder::new().prefix("hearth-storage-bench-").tempdir_in("/tmp")?)
}

fn walk(dir: &Path, f: &mut dyn FnMut(&Path, &fs::Metadata) -> Result<()>) -> Result<()> {
    for e in fs::read_dir(dir)? {
        let e = e?;
        let md = e.metadata()?;
        if md.is_dir() {
            walk(&e.path(), f)?;
        } else if md.is_file() {
            f(&e.path(), &md)?;
        }
    }
    Ok(())
}

/// (allocated bytes as `du` counts them, apparent bytes)
fn disk_usage(dir: &Path) -> Result<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    let (mut alloc, mut apparent) = (0, 0);
    let ls = std::env::var("BENCH_LS").is_ok();
    walk(dir, &mut |p, md| {
        alloc += md.blocks() * 512;
        apparent += md.len();
        if ls {
            eprintln!(
                "      {:>12} {:>12} {}",
                md.blocks() * 512,
                md.len(),
                p.strip_prefix(dir).unwrap_or(p).display()
            );
        }
        Ok(())
    })?;
    if ls {
        eprintln!("      ---- total alloc {alloc} apparent {apparent}");
    }
    Ok((alloc, apparent))
}

/// Evicts the store's files from the page cache (fsync first so no page is
/// dirty), so the next open reads from the device.
fn evict_from_page_cache(dir: &Path) -> Result<()> {
    walk(dir, &mut |p, _| {
        let f = fs::File::open(p)?;
        f.sync_all()?;
        rustix::fs::fadvise(&f, 0, None, rustix::fs::Advice::DontNeed)?;
        Ok(())
    })
}

fn copy_dir(from: &Path, to: &Path) -> Result<()> {
    fs::create_dir_all(to)?;
    for e in fs::read_dir(from)? {
        let e = e?;
        let dst = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &dst)?;
        } else {
            copy_file_sparse(&e.path(), &dst)?;
        }
    }
    Ok(())
}

/// Copies a file keeping its holes (`fs::copy` would fill them with zeros,
/// turning a pre-sized sparse journal / segment into a dense one).
fn copy_file_sparse(from: &Path, to: &Path) -> Result<()> {
    use rustix::fs::{SeekFrom, seek};
    use std::os::unix::fs::FileExt;
    let src = fs::File::open(from)?;
    let len = src.metadata()?.len();
    let dst = fs::File::create(to)?;
    let mut buf = vec![0u8; 1 << 20];
    let mut pos = 0u64;
    while pos < len {
        let data = match seek(&src, SeekFrom::Data(pos)) {
            Ok(d) => d,
            Err(rustix::io::Errno::NXIO) => break, // only a hole is left
            Err(e) => return Err(e.into()),
        };
        let hole = seek(&src, SeekFrom::Hole(data))?;
        let mut off = data;
        while off < hole {
            let n = ((hole - off) as usize).min(buf.len());
            src.read_exact_at(&mut buf[..n], off)?;
            dst.write_all_at(&buf[..n], off)?;
            off += n as u64;
        }
        pos = hole;
    }
    dst.set_len(len)?;
    dst.sync_all()?;
    Ok(())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    v[v.len() / 2]
}

fn mb(b: u64) -> f64 {
    b as f64 / 1e6
}

// ------------------------------------------------------------ interference

/// The machine is shared (2 cores, other people's builds and tests), so every
/// timed run checks how much CPU *other* user-space processes used while it
/// ran. Kernel threads are left out: jbd2, kworkers and interrupts mostly work
/// for this benchmark's own fsyncs.
#[derive(Clone)]
struct CpuSnap {
    at: Instant,
    /// pid -> (start time, utime + stime ticks) of every other user process
    procs: rustc_hash::FxHashMap<u32, (u64, u64)>,
}

fn cpu_snap() -> CpuSnap {
    const PF_KTHREAD: u64 = 0x0020_0000;
    let me = std::process::id();
    let mut procs = rustc_hash::FxHashMap::default();
    if let Ok(rd) = fs::read_dir("/proc") {
        for e in rd.flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()) else { continue };
            if pid == me {
                continue;
            }
            let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else { continue };
            let Some((_, rest)) = stat.rsplit_once(')') else { continue };
            // after the ")": 0 state, 1 ppid, 6 flags, 11 utime, 12 stime, 19 starttime
            let f: Vec<u64> = rest.split_whitespace().skip(1).map(|x| x.parse().unwrap_or(0)).collect();
            let g = |i: usize| f.get(i - 1).copied().unwrap_or(0);
            if g(6) & PF_KTHREAD != 0 || g(1) == u64::from(me) {
                continue; // kernel thread, or one of our own child processes
            }
            procs.insert(pid, (g(19), g(11) + g(12)));
        }
    }
    CpuSnap { at: Instant::now(), procs }
}

/// Cores' worth of CPU used by other user processes between two snapshots
/// (USER_HZ = 100 ticks/s). A process that started in between is counted
/// with all its CPU time; one that ended in between is missed.
fn others_cores(a: &CpuSnap, b: &CpuSnap) -> f64 {
    let secs = b.at.duration_since(a.at).as_secs_f64().max(1e-3);
    let mut ticks = 0u64;
    for (pid, &(start, t)) in &b.procs {
        ticks += match a.procs.get(pid) {
            Some(&(s0, t0)) if s0 == start => t.saturating_sub(t0),
            _ => t,
        };
    }
    ticks as f64 / 100.0 / secs
}

/// Max CPU (in cores) other processes may use during a timed run before it
/// is discarded and repeated.
const MAX_OTHERS: f64 = 0.25;
const TRIES: usize = 4;

/// Waits (at most 90 s) for half a second in which other processes use less
/// than 0.1 core.
fn wait_quiet() {
    let start = Instant::now();
    while start.elapsed() < Duration::from_secs(90) {
        let a = cpu_snap();
        std::thread::sleep(Duration::from_millis(500));
        if others_cores(&a, &cpu_snap()) < 0.1 {
            return;
        }
    }
    eprintln!("    (machine not quiet after 90 s; measuring anyway)");
}

#[derive(Default)]
struct Interference {
    discarded: usize,
    accepted_over_limit: usize,
    max_accepted: f64,
}

impl Interference {
    /// Runs `f` until a try sees less than [`MAX_OTHERS`] of background CPU
    /// (at most [`TRIES`] tries; the last try is kept whatever it saw).
    fn run<T>(&mut self, what: &str, f: impl FnMut() -> Result<T>) -> Result<T> {
        self.run_with(what, || Ok(()), f)
    }

    /// Like [`Self::run`], with an untimed, unchecked `prep` step before each try.
    fn run_with<T>(
        &mut self,
        what: &str,
        mut prep: impl FnMut() -> Result<()>,
        mut f: impl FnMut() -> Result<T>,
    ) -> Result<T> {
        for attempt in 1..=TRIES {
            prep()?;
            wait_quiet();
            let a = cpu_snap();
            let r = f()?;
            let o = others_cores(&a, &cpu_snap());
            if o < MAX_OTHERS || attempt == TRIES {
                if o >= MAX_OTHERS {
                    self.accepted_over_limit += 1;
                }
                self.max_accepted = self.max_accepted.max(o);
                eprintln!("    ({what}: background {o:.2} cores, try {attempt})");
                return Ok(r);
            }
            self.discarded += 1;
            eprintln!("    discarded {what}: other processes used {o:.2} cores during it");
        }
        unreachable!()
    }
}

// ------------------------------------------------------------ scenarios

struct AppendResult {
    append_mps: f64,
    delete_mps: Option<f64>,
    disk: Option<DiskResult>,
}

#[derive(Clone, Copy, Default)]
struct DiskResult {
    after_append: (u64, u64),
    after_delete: (u64, u64),
    after_idle: (u64, u64),
    after_reopen: (u64, u64),
    after_compact: (u64, u64),
    after_compact_reopen: (u64, u64),
}

const IDLE: Duration = Duration::from_secs(3);

/// A (+ optionally B and D on the same store): append `n` messages of
/// `payload` bytes in batches of `batch`, one sync per batch.
fn run_append<S: Store>(
    payload: usize,
    batch: usize,
    n: u64,
    then_delete: bool,
    then_disk: bool,
) -> Result<AppendResult> {
    let tmp = tempdir()?;
    let dir = tmp.path().join("store");
    let msgs = make_msgs(n, payload);
    let mut s = S::open(&dir)?;

    let t = Instant::now();
    for chunk in msgs.chunks(batch) {
        s.append_batch(chunk)?;
    }
    let append_mps = n as f64 / t.elapsed().as_secs_f64();

    let mut disk = DiskResult::default();
    if then_disk {
        disk.after_append = disk_usage(&dir)?;
    }
    let mut delete_mps = None;
    if then_delete {
        let keys: Vec<Key> = msgs.iter().map(|(k, _)| *k).collect();
        drop(msgs);
        let t = Instant::now();
        for chunk in keys.chunks(256) {
            s.delete_batch(chunk)?;
        }
        delete_mps = Some(n as f64 / t.elapsed().as_secs_f64());
        if then_disk {
            disk.after_delete = disk_usage(&dir)?;
            std::thread::sleep(IDLE);
            disk.after_idle = disk_usage(&dir)?;
            s.close()?;
            s = S::open(&dir)?;
            std::thread::sleep(IDLE);
            disk.after_reopen = disk_usage(&dir)?;
            s.compact()?;
            std::thread::sleep(Duration::from_secs(1));
            disk.after_compact = disk_usage(&dir)?;
            s.close()?;
            s = S::open(&dir)?;
            std::thread::sleep(IDLE);
            disk.after_compact_reopen = disk_usage(&dir)?;
        }
    }
    s.close()?;
    drop(tmp);
    Ok(AppendResult { append_mps, delete_mps, disk: then_disk.then_some(disk) })
}

/// Child process: build a store of `n` messages of 64 B, delete the first
/// `ndel`, then either close cleanly or exit without any shutdown (`crash`).
fn child_prep<S: Store>(dir: &Path, n: u64, ndel: u64, crash: bool) -> Result<()> {
    const PREP_BATCH: usize = 1024;
    let mut s = S::open(dir)?;
    let msgs = make_msgs(n, 64);
    for chunk in msgs.chunks(PREP_BATCH) {
        s.append_batch(chunk)?;
    }
    let keys: Vec<Key> = msgs.iter().take(ndel as usize).map(|(k, _)| *k).collect();
    drop(msgs);
    for chunk in keys.chunks(PREP_BATCH) {
        s.delete_batch(chunk)?;
    }
    if crash {
        // every batch is already durable; skip all shutdown code, like kill -9
        std::process::exit(0);
    }
    s.close()
}

/// Child process: open + load every live record into a Vec; prints the time.
fn child_recover<S: Store>(dir: &Path) -> Result<()> {
    let t = Instant::now();
    let (s, msgs) = S::open_and_load(dir)?;
    let secs = t.elapsed().as_secs_f64();
    let bytes: usize = msgs.iter().map(|m| m.value.len()).sum();
    // sanity: strictly increasing seq within each queue, full-length values
    let mut last: Vec<Option<u64>> = vec![None; QUEUES as usize];
    for m in &msgs {
        let q = u32::from_be_bytes(m.key[..4].try_into()?) as usize;
        let seq = u64::from_be_bytes(m.key[4..].try_into()?);
        if last[q].is_some_and(|l| l >= seq) || m.value.len() != META_LEN + 64 {
            bail!("recovered records out of order or damaged at queue {q} seq {seq}");
        }
        last[q] = Some(seq);
    }
    let repaired = stores::REDB_REPAIRED.load(std::sync::atomic::Ordering::Relaxed);
    println!("RESULT secs={secs:.6} live={} bytes={bytes} redb_repaired={repaired}", msgs.len());
    drop(msgs);
    s.close()
}

fn self_exe() -> Result<PathBuf> {
    Ok(std::env::current_exe()?)
}

fn spawn(args: &[&str]) -> Result<String> {
    let out = Command::new(self_exe()?).args(args).output()?;
    if !out.status.success() {
        bail!("child {args:?} failed: {}\n{}", out.status, String::from_utf8_lossy(&out.stderr));
    }
    Ok(String::from_utf8(out.stdout)?)
}

fn parse_recover(out: &str) -> Result<(f64, u64)> {
    let line = out.lines().find(|l| l.starts_with("RESULT")).context("no RESULT line")?;
    let mut secs = None;
    let mut live = None;
    for kv in line.split_whitespace().skip(1) {
        match kv.split_once('=') {
            Some(("secs", v)) => secs = Some(v.parse()?),
            Some(("live", v)) => live = Some(v.parse()?),
            _ => {}
        }
    }
    Ok((secs.context("secs")?, live.context("live")?))
}

/// One cold open + load of `dir` in a fresh process; returns seconds.
fn recover_once(kind: Kind, dir: &Path, expect_live: u64, after_crash: bool) -> Result<f64> {
    evict_from_page_cache(dir)?;
    let child_out = spawn(&["recover", kind.name(), dir.to_str().context("path")?])?;
    if std::env::var("BENCH_VERBOSE").is_ok() {
        eprint!("      {child_out}");
    }
    let (secs, live) = parse_recover(&child_out)?;
    if live != expect_live {
        bail!("{}: recovered {live} live records, expected {expect_live}", kind.name());
    }
    // redb must repair exactly after the crash (quick-repair is off)
    let repaired = child_out.contains("redb_repaired=true");
    if kind == Kind::Redb && repaired != after_crash {
        bail!("redb: repaired={repaired} on a {} open", if after_crash { "crash" } else { "clean" });
    }
    Ok(secs)
}

/// C: time to open + load, in a fresh process with the store's files evicted
/// from the page cache; first after a crash (no clean shutdown), then again
/// after the clean shutdown of that first recovery.
fn run_recovery(kind: Kind, n: u64, ndel: u64, reps: usize, intf: &mut Interference) -> Result<(Vec<f64>, Vec<f64>)> {
    let tmp = tempdir()?;
    let image = tmp.path().join("image");
    let t = Instant::now();
    spawn(&["prep", kind.name(), image.to_str().context("path")?, &n.to_string(), &ndel.to_string(), "1"])?;
    eprintln!("    prep {} n={n} del={ndel}: {:.1}s", kind.name(), t.elapsed().as_secs_f64());
    let (mut crash, mut clean) = (Vec::new(), Vec::new());
    for r in 0..reps {
        let dir = tmp.path().join(format!("rep{r}"));
        // crash recovery can only be measured once per copy (it repairs the
        // copy), so a disturbed try takes a fresh copy of the crash image
        let secs_crash = intf.run_with(
            &format!("C crash {} del={ndel}", kind.name()),
            || {
                if dir.exists() {
                    fs::remove_dir_all(&dir)?;
                }
                copy_dir(&image, &dir)?;
                evict_from_page_cache(&dir)
            },
            || recover_once(kind, &dir, n - ndel, true),
        )?;
        crash.push(secs_crash);
        clean.push(
            intf.run(&format!("C clean {} del={ndel}", kind.name()), || recover_once(kind, &dir, n - ndel, false))?,
        );
        fs::remove_dir_all(&dir)?;
    }
    drop(tmp);
    Ok((crash, clean))
}

// ------------------------------------------------------------ main

struct Config {
    reps: usize,
    payloads: Vec<usize>,
    /// (batch size, total messages)
    batches: Vec<(usize, u64)>,
    recovery_n: u64,
    recovery_del: u64,
}

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

fn run_all() -> Result<()> {
    let quick = std::env::var("QUICK").is_ok();
    let cfg = if quick {
        Config {
            reps: 1,
            payloads: vec![64, 1024],
            batches: vec![(1, 500), (16, 5_000), (256, 20_000)],
            recovery_n: 100_000,
            recovery_del: 90_000,
        }
    } else {
        Config {
            reps: env_u64("REPS", 3) as usize,
            payloads: vec![64, 1024],
            batches: vec![
                (1, env_u64("N_B1", 5_000)),
                (16, env_u64("N_B16", 200_000)),
                (256, env_u64("N_B256", 200_000)),
            ],
            recovery_n: env_u64("N_RECOVERY", 1_000_000),
            recovery_del: env_u64("N_RECOVERY_DEL", 900_000),
        }
    };
    let started = Instant::now();
    let load_before = fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!("\n### fsync latency on this machine (one 128 B write + sync_data, 2000 times; microseconds)\n");
    println!("| file | median | mean | p99 |\n|---|---:|---:|---:|");
    fsync_probe()?;

    // results[kind][(payload, batch)] = Vec<msgs/s>
    use std::collections::BTreeMap;
    let mut append: BTreeMap<(usize, usize, usize), Vec<f64>> = BTreeMap::new(); // (payload, batch, kind idx)
    let mut delete: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    let mut disks: BTreeMap<usize, Vec<DiskResult>> = BTreeMap::new();
    let big_batch = cfg.batches.iter().map(|b| b.0).max().unwrap_or(256);

    let mut intf = Interference::default();
    for rep in 0..cfg.reps {
        for &payload in &cfg.payloads {
            for &(batch, n) in &cfg.batches {
                for (ki, kind) in KINDS.into_iter().enumerate() {
                    let del = payload == 64 && batch == big_batch;
                    let dsk = payload == 1024 && batch == big_batch;
                    let what = format!("A payload={payload} batch={batch} {}", kind.name());
                    let r = intf
                        .run(&what, || with_store!(kind, S => run_append::<S>(payload, batch, n, del || dsk, dsk)))?;
                    eprintln!(
                        "rep {rep} A payload={payload} batch={batch} n={n} {}: {:.0} msg/s{}",
                        kind.name(),
                        r.append_mps,
                        r.delete_mps.map(|d| format!(", delete {d:.0} msg/s")).unwrap_or_default()
                    );
                    append.entry((payload, batch, ki)).or_default().push(r.append_mps);
                    if let (Some(d), true) = (r.delete_mps, del) {
                        delete.entry(ki).or_default().push(d);
                    }
                    if let Some(d) = r.disk {
                        eprintln!(
                            "    disk MB (alloc): append {:.1} delete {:.1} idle {:.1} reopen {:.1} compact {:.1} compact+reopen {:.1}",
                            mb(d.after_append.0),
                            mb(d.after_delete.0),
                            mb(d.after_idle.0),
                            mb(d.after_reopen.0),
                            mb(d.after_compact.0),
                            mb(d.after_compact_reopen.0)
                        );
                        disks.entry(ki).or_default().push(d);
                    }
                }
            }
        }
    }
    eprintln!("A/B/D done after {:.0}s", started.elapsed().as_secs_f64());

    let mut recov: BTreeMap<(u64, usize), (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for ndel in [0, cfg.recovery_del] {
        for (ki, kind) in KINDS.into_iter().enumerate() {
            let (c, k) = run_recovery(kind, cfg.recovery_n, ndel, cfg.reps, &mut intf)?;
            eprintln!("C {} n={} del={ndel}: crash {:?} clean {:?}", kind.name(), cfg.recovery_n, c, k);
            recov.insert((ndel, ki), (c, k));
        }
    }
    let total = started.elapsed().as_secs_f64();

    // ---------------------------------------------------------------- report
    let names: Vec<&str> = KINDS.iter().map(|k| k.name()).collect();
    let head = |first: &[&str]| {
        let cols: Vec<&str> = first.iter().copied().chain(names.iter().copied()).collect();
        let align: Vec<&str> = first.iter().map(|_| "---").chain(names.iter().map(|_| "---:")).collect();
        println!("| {} |\n|{}|", cols.join(" | "), align.join("|"));
    };
    let fmt_int = |x: f64| {
        let s = format!("{x:.0}");
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(' ');
            }
            out.push(c);
        }
        out
    };
    println!("\n### A. Append with group commit, one sync per batch (msgs/s, median of {})\n", cfg.reps);
    head(&["payload", "batch", "N"]);
    for &payload in &cfg.payloads {
        for &(batch, n) in &cfg.batches {
            let cells: Vec<String> =
                (0..KINDS.len()).map(|ki| fmt_int(median(&mut append[&(payload, batch, ki)].clone()))).collect();
            println!("| {payload} B | {batch} | {n} | {} |", cells.join(" | "));
        }
    }
    println!("\nSpread of the {} repetitions (min - max):\n", cfg.reps);
    head(&["payload", "batch", "N"]);
    let range = |v: &[f64]| {
        let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = v.iter().copied().fold(0.0, f64::max);
        format!("{} - {}", fmt_int(lo), fmt_int(hi))
    };
    for &payload in &cfg.payloads {
        for &(batch, n) in &cfg.batches {
            let cells: Vec<String> = (0..KINDS.len()).map(|ki| range(&append[&(payload, batch, ki)])).collect();
            println!("| {payload} B | {batch} | {n} | {} |", cells.join(" | "));
        }
    }
    println!(
        "\n### B. Ack = delete in FIFO order, batches of {big_batch}, one sync per batch (msgs/s, median of {})\n",
        cfg.reps
    );
    head(&["workload"]);
    let n_big = cfg.batches.iter().find(|b| b.0 == big_batch).map_or(0, |b| b.1);
    let cells: Vec<String> = (0..KINDS.len()).map(|ki| fmt_int(median(&mut delete[&ki].clone()))).collect();
    println!("| delete {n_big} x 64 B | {} |", cells.join(" | "));
    let cells: Vec<String> = (0..KINDS.len()).map(|ki| range(&delete[&ki])).collect();
    println!("| spread (min - max) | {} |", cells.join(" | "));
    println!(
        "\n### C. Recovery: open + load every live record into a Vec, fresh process, store files evicted from the page cache (seconds, median of {}, min - max in parentheses)\n",
        cfg.reps
    );
    head(&["stored", "previous shutdown"]);
    for ndel in [0, cfg.recovery_del] {
        for (label, pick) in [("crash (exit without close)", 0), ("clean", 1)] {
            let cells: Vec<String> = (0..KINDS.len())
                .map(|ki| {
                    let (c, k) = &recov[&(ndel, ki)];
                    let v = if pick == 0 { c } else { k };
                    let lo = v.iter().copied().fold(f64::INFINITY, f64::min);
                    let hi = v.iter().copied().fold(0.0, f64::max);
                    format!("{:.3} ({lo:.2} - {hi:.2})", median(&mut v.clone()))
                })
                .collect();
            let what = if ndel == 0 {
                format!("{} x 64 B", cfg.recovery_n)
            } else {
                format!("{} appended, {ndel} deleted", cfg.recovery_n)
            };
            println!("| {what} | {label} | {} |", cells.join(" | "));
        }
    }
    println!(
        "\n### D. Disk use: {n_big} x 1 KiB appended, then all deleted (MB allocated as du counts it; apparent size in parentheses; median of {})\n",
        cfg.reps
    );
    head(&["stage"]);
    let stages: [(&str, fn(&DiskResult) -> (u64, u64)); 6] = [
        ("after append", |d| d.after_append),
        ("right after the last delete", |d| d.after_delete),
        ("after 3 s idle", |d| d.after_idle),
        ("after close + reopen + 3 s idle", |d| d.after_reopen),
        ("after explicit compaction + 1 s (reference)", |d| d.after_compact),
        ("after compaction + close + reopen + 3 s (reference)", |d| d.after_compact_reopen),
    ];
    for (label, f) in stages {
        let cells: Vec<String> = (0..KINDS.len())
            .map(|ki| {
                let ds = &disks[&ki];
                let a = median(&mut ds.iter().map(|d| f(d).0 as f64).collect::<Vec<_>>());
                let p = median(&mut ds.iter().map(|d| f(d).1 as f64).collect::<Vec<_>>());
                format!("{:.1} ({:.1})", a / 1e6, p / 1e6)
            })
            .collect();
        println!("| {label} | {} |", cells.join(" | "));
    }
    println!(
        "\nInterference check: {} timed runs discarded and repeated because other processes used >= {MAX_OTHERS} cores during them; \
         {} kept over that limit after {TRIES} tries; max background CPU in a kept run: {:.2} cores.",
        intf.discarded, intf.accepted_over_limit, intf.max_accepted
    );
    println!("Total run time: {total:.0} s");
    println!(
        "Load average before: {}, after: {}",
        load_before.trim(),
        fs::read_to_string("/proc/loadavg").unwrap_or_default().trim()
    );
    Ok(())
}

/// Measures the latency of one small write + `sync_data` on this machine, for
/// a file that grows (plain append), one pre-sized with `set_len` (sparse, as
/// fjall's journal is), one preallocated with `fallocate`, and overwrites of
/// already-written blocks.
fn fsync_probe() -> Result<()> {
    use std::io::{Seek, SeekFrom, Write};
    const ITERS: usize = 2000;
    let rec = [0xA5u8; 128];
    for mode in ["append (file grows)", "set_len 64 MiB (sparse)", "fallocate 64 MiB", "overwrite written blocks"] {
        let tmp = tempdir()?;
        let p = tmp.path().join("f");
        let mut f = fs::OpenOptions::new().create(true).truncate(true).read(true).write(true).open(&p)?;
        match mode {
            "set_len 64 MiB (sparse)" => f.set_len(64 << 20)?,
            "fallocate 64 MiB" => rustix::fs::fallocate(&f, rustix::fs::FallocateFlags::empty(), 0, 64 << 20)?,
            "overwrite written blocks" => {
                f.write_all(&vec![0u8; 2 << 20])?;
                f.sync_all()?;
                f.seek(SeekFrom::Start(0))?;
            }
            _ => {}
        }
        f.sync_all()?;
        let mut lat = Vec::with_capacity(ITERS);
        for _ in 0..ITERS {
            let t = Instant::now();
            f.write_all(&rec)?;
            f.sync_data()?;
            lat.push(t.elapsed().as_secs_f64() * 1e6);
        }
        let mean = lat.iter().sum::<f64>() / ITERS as f64;
        let med = median(&mut lat);
        let p99 = lat[ITERS * 99 / 100];
        println!("| {mode} | {med:.0} | {mean:.0} | {p99:.0} |");
    }
    Ok(())
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    match a.as_slice() {
        [] | ["all"] => run_all(),
        ["prep", kind, dir, n, ndel, crash] => {
            let (n, ndel, crash) = (n.parse()?, ndel.parse()?, *crash == "1");
            with_store!(Kind::parse(kind)?, S => child_prep::<S>(Path::new(dir), n, ndel, crash))
        }
        ["recover", kind, dir] => with_store!(Kind::parse(kind)?, S => child_recover::<S>(Path::new(dir))),
        // For checking the number of syncs per batch with strace:
        // syncprobe <store> <payload> <batch> <batches>
        ["syncprobe", kind, payload, batch, batches] => {
            let (payload, batch, batches): (usize, usize, u64) = (payload.parse()?, batch.parse()?, batches.parse()?);
            let tmp = tempdir()?;
            let msgs = make_msgs(batch as u64 * batches, payload);
            with_store!(Kind::parse(kind)?, S => {
                let mut s = S::open(&tmp.path().join("store"))?;
                eprintln!("SYNCPROBE-START");
                for c in msgs.chunks(batch) {
                    s.append_batch(c)?;
                }
                eprintln!("SYNCPROBE-END");
                s.close()
            })
        }
        ["fsyncprobe"] => fsync_probe(),
        // one A run (optionally + deletes + disk stages): one <store> <payload> <batch> <n> <delete 0|1> <disk 0|1>
        ["one", kind, payload, batch, n, del, dsk] => {
            let (payload, batch, n) = (payload.parse()?, batch.parse()?, n.parse()?);
            let (del, dsk) = (*del == "1", *dsk == "1");
            let r = with_store!(Kind::parse(kind)?, S => run_append::<S>(payload, batch, n, del || dsk, dsk))?;
            println!("append {:.0} msg/s, delete {:?} msg/s", r.append_mps, r.delete_mps);
            if let Some(d) = r.disk {
                println!(
                    "disk alloc MB: append {:.1} delete {:.1} idle {:.1} reopen {:.1} compact {:.1} compact+reopen {:.1}",
                    mb(d.after_append.0),
                    mb(d.after_delete.0),
                    mb(d.after_idle.0),
                    mb(d.after_reopen.0),
                    mb(d.after_compact.0),
                    mb(d.after_compact_reopen.0)
                );
            }
            Ok(())
        }
        _ => bail!(
            "usage: hearth-storage-bench [all | prep .. | recover <store> <dir> | syncprobe <store> <payload> <batch> <batches>]"
        ),
    }
}
