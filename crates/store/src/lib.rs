//! Hearth's durable store: what the engine's [`StoreOp`]s describe, kept in
//! an append-only log of checksummed records, synced in groups, compacted
//! in the background, and replayed at start.
//!
//! * [`Store::open`] locks a data directory (one broker per directory),
//!   replays its segments — a torn or damaged tail is cut off and logged,
//!   never fatal — and returns the [`Contents`] to rebuild an engine with
//!   ([`queue_core::Engine::restore`]).
//! * [`Store::write`] hands a batch of changes to the store's own thread and
//!   returns a ticket; [`Store::synced`] watches the highest ticket whose
//!   changes are on disk. Everything that arrives while one sync runs goes
//!   into the next one: one `fdatasync` for many publishes (group commit),
//!   and the caller never waits for the disk.
//! * After a sync, the thread reclaims space: a segment with nothing live
//!   left is deleted; one mostly dead has its live records copied to the
//!   head first.

mod index;
mod record;
mod segment;
mod state;
mod wills;
mod writer;

pub use index::SegmentUse;
pub use record::Record;
pub use state::Contents;
pub use writer::{Histogram, Stats};

use index::{Index, Loc};
use queue_core::StoreOp;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use tokio::sync::watch;

/// What can go wrong opening a store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The data directory or a file in it could not be read or written.
    #[error("data directory {dir}: {source}")]
    Io {
        /// The directory.
        dir: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Another broker holds the directory's lock.
    #[error(
        "data directory {0} is in use by another hearth (its lock file is held); stop it or give this one another --data-dir"
    )]
    Locked(PathBuf),
}

/// Settings of a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreConfig {
    /// The data directory (created if missing).
    pub dir: PathBuf,
    /// A segment past this size is closed and a new one started.
    pub segment_bytes: u64,
}

impl StoreConfig {
    /// Default settings for `dir`: 16 MiB segments.
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into(), segment_bytes: 16 << 20 }
    }
}

impl Change {
    /// About what the change holds in memory until it is written.
    fn bytes(&self) -> u64 {
        match self {
            Self::Op(StoreOp::Append { message, .. } | StoreOp::Retain { message }) => message.footprint(),
            Self::Op(StoreOp::KeepWill { client_id, will, .. }) => {
                (client_id.len() + will.topic.len() + will.payload.len()) as u64 + 64
            }
            Self::Put(key, value) => (key.len() + value.len()) as u64,
            _ => 64,
        }
    }
}

/// One change for the store.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// From the engine.
    Op(StoreOp),
    /// Keep `value` under `key` (the broker's own state: MQTT sessions).
    Put(String, Vec<u8>),
    /// Forget `key`.
    Delete(String),
    /// Message ids below this one may have been given out.
    NextId(u64),
}

pub(crate) enum Job {
    /// `bytes`: what [`Store::write`] counted as pending for it.
    Write { changes: Vec<Change>, ticket: Option<u64>, bytes: u64 },
    /// Write what came before, then end the thread (other senders may live on).
    Stop,
}

/// A handle on an open store; dropping it finishes what was handed over
/// and stops the thread.
#[derive(Debug)]
pub struct Store {
    jobs: Option<mpsc::Sender<Job>>,
    next_ticket: u64,
    synced: watch::Receiver<u64>,
    shared: Arc<Mutex<writer::Shared>>,
    /// Bytes of the segment files, as of the last sync.
    disk: Arc<std::sync::atomic::AtomicU64>,
    /// Bytes of messages handed over and not yet written.
    pending: Arc<std::sync::atomic::AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
    dir: PathBuf,
}

impl std::fmt::Debug for Job {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Job")
    }
}

impl Store {
    /// Opens (creating if need be) and locks the data directory, replays
    /// it, and starts the store's thread.
    pub fn open(config: StoreConfig) -> Result<(Self, Contents), StoreError> {
        let dir = config.dir.clone();
        let io = |source| StoreError::Io { dir: dir.clone(), source };
        std::fs::create_dir_all(&dir).map_err(io)?;
        let lock =
            File::options().create(true).truncate(false).write(true).open(dir.join("hearth.lock")).map_err(io)?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => return Err(StoreError::Locked(dir)),
            Err(std::fs::TryLockError::Error(err)) => return Err(io(err)),
        }
        let (index, state, last) = replay(&dir).map_err(io)?;
        let next_id = state.next_id();
        let contents = state.into_contents();
        let head = last + 1;
        let file = segment::create(&dir, head).map_err(io)?;
        let (synced_tx, synced) = watch::channel(0);
        let shared = Arc::new(Mutex::new(writer::Shared::new(index)));
        let (jobs, rx) = mpsc::channel();
        let disk = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let pending = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let mut w = writer::Writer::new(config, lock, file, head, shared.clone(), synced_tx, disk.clone());
        w.pending = pending.clone();
        w.start(next_id).map_err(io)?;
        let thread = std::thread::Builder::new().name("hearth-store".into()).spawn(move || w.run(rx)).map_err(io)?;
        let store = Self { jobs: Some(jobs), next_ticket: 0, synced, shared, disk, pending, thread: Some(thread), dir };
        Ok((store, contents))
    }

    /// Hands `changes` to the store; the returned ticket shows in
    /// [`Self::synced`] once they are on disk.
    pub fn write(&mut self, changes: Vec<Change>) -> u64 {
        self.next_ticket += 1;
        let ticket = self.next_ticket;
        let bytes = changes.iter().map(Change::bytes).sum();
        self.pending.fetch_add(bytes, std::sync::atomic::Ordering::Relaxed);
        self.send(Job::Write { changes, ticket: Some(ticket), bytes });
        ticket
    }

    /// Bytes of messages handed over and not yet written: what the store
    /// is behind by (the caller holds publishers back when it is far behind).
    pub fn pending_bytes(&self) -> u64 {
        self.pending.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Hands `changes` to the store with no ticket (they go to disk with
    /// the next sync).
    pub fn write_untracked(&self, changes: Vec<Change>) {
        self.send(Job::Write { changes, ticket: None, bytes: 0 });
    }

    /// A sender of untracked changes for other tasks.
    pub fn writer(&self) -> StoreWriter {
        StoreWriter(self.jobs.clone())
    }

    fn send(&self, job: Job) {
        if let Some(jobs) = &self.jobs {
            // The thread is gone only after a disk error it logged.
            let _ = jobs.send(job);
        }
    }

    /// The highest ticket whose changes are on disk. It stops changing
    /// if the disk fails (the store logs why).
    pub fn synced(&self) -> watch::Receiver<u64> {
        self.synced.clone()
    }

    /// The data directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Counters and sizes now.
    pub fn stats(&self) -> Stats {
        self.shared.lock().map(|s| s.stats()).unwrap_or_default()
    }

    /// Bytes of the store's files now (cheap: for every wake-up of the driver).
    pub fn disk_bytes(&self) -> u64 {
        self.disk.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Bytes on disk of each durable queue's live records.
    pub fn queue_bytes(&self) -> Vec<(String, u64)> {
        self.shared.lock().map(|s| s.queue_bytes()).unwrap_or_default()
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        self.send(Job::Stop);
        self.jobs = None;
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sends untracked changes to a store from any task.
#[derive(Debug, Clone)]
pub struct StoreWriter(Option<mpsc::Sender<Job>>);

impl StoreWriter {
    /// A writer that drops everything (no store).
    pub fn none() -> Self {
        Self(None)
    }

    /// Hands `changes` to the store (they go to disk with the next sync).
    pub fn write(&self, changes: Vec<Change>) {
        if let Some(jobs) = &self.0 {
            let _ = jobs.send(Job::Write { changes, ticket: None, bytes: 0 });
        }
    }

    /// Whether a store is behind it.
    pub fn is_some(&self) -> bool {
        self.0.is_some()
    }
}

/// Replays every segment of `dir`, oldest first; returns the index, the
/// state, and the number of the last segment (0: none).
fn replay(dir: &Path) -> std::io::Result<(Index, state::State, u64)> {
    let mut index = Index::default();
    let mut state = state::State::default();
    let segments = segment::list(dir)?;
    let last = segments.last().copied().unwrap_or(0);
    for &n in &segments {
        let scan = segment::scan(dir, n)?;
        if scan.damaged > 0 {
            tracing::warn!(
                segment = %segment::path(dir, n).display(),
                offset = scan.good_len,
                dropped_bytes = scan.damaged,
                "store: a damaged or torn tail was found; what follows it in this segment is dropped"
            );
            if scan.good_len < segment::MAGIC.len() as u64 {
                std::fs::remove_file(segment::path(dir, n))?;
                continue;
            }
            segment::truncate(dir, n, scan.good_len)?;
        }
        index.add_segment(n, scan.good_len);
        for (record, offset, len) in scan.records {
            index.apply(&record, Loc { segment: n, offset, len });
            state.apply(record);
        }
    }
    for queue in index.drop_undeclared() {
        tracing::warn!(%queue, "store: records of a queue whose definition was lost are dropped");
    }
    Ok((index, state, last))
}
