//! The store's thread: group commit, then reclaiming space.
//!
//! It takes every batch that arrived while it was busy, appends their
//! records to the head segment in one write, syncs once (`fdatasync`), and
//! reports the highest ticket written. Then it looks at the oldest segment:
//! nothing live in it, it is deleted; little live, its live records are
//! copied to the head (synced) and then it is deleted.

use crate::index::{Index, Loc};
use crate::record::{Frame, Record, read_frame};
use crate::segment;
use crate::{Change, Job, StoreConfig};
use queue_core::StoreOp;
use std::fs::File;
use std::io::{self, Write};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::Instant;
use tokio::sync::watch;

/// Counts of values by upper bound (the last bucket has no bound).
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Histogram {
    /// Upper bounds of the buckets.
    pub bounds: Vec<f64>,
    /// Count in each bucket (one more than `bounds`: the last is +Inf).
    pub counts: Vec<u64>,
    /// Sum of every value.
    pub sum: f64,
}

impl Histogram {
    fn new(bounds: &[f64]) -> Self {
        Self { bounds: bounds.to_vec(), counts: vec![0; bounds.len() + 1], sum: 0.0 }
    }

    fn observe(&mut self, value: f64) {
        let i = self.bounds.iter().position(|b| value <= *b).unwrap_or(self.bounds.len());
        self.counts[i] += 1;
        self.sum += value;
    }

    /// Values observed.
    pub fn count(&self) -> u64 {
        self.counts.iter().sum()
    }
}

/// What the store has done, and what it holds.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize)]
pub struct Stats {
    /// Bytes of every segment file.
    pub disk_bytes: u64,
    /// Bytes of the records still live.
    pub live_bytes: u64,
    /// Segment files.
    pub segments: u64,
    /// Syncs done.
    pub syncs: u64,
    /// Records written.
    pub records: u64,
    /// Seconds each sync took.
    pub sync_seconds: Histogram,
    /// Changes written by each sync.
    pub batch_changes: Histogram,
    /// Segments reclaimed (deleted, after copying what was live).
    pub segments_reclaimed: u64,
    /// Bytes copied forward by compaction.
    pub compacted_bytes: u64,
}

/// What the thread shares with the handle.
#[derive(Debug)]
pub(crate) struct Shared {
    index: Index,
    stats: Stats,
}

impl Shared {
    pub fn new(index: Index) -> Self {
        let stats = Stats {
            sync_seconds: Histogram::new(&[0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1, 1.0]),
            batch_changes: Histogram::new(&[1.0, 4.0, 16.0, 64.0, 256.0, 1024.0, 4096.0]),
            ..Stats::default()
        };
        Self { index, stats }
    }

    pub fn stats(&self) -> Stats {
        let mut stats = self.stats.clone();
        stats.disk_bytes = self.index.disk_bytes();
        stats.live_bytes = self.index.segments().map(|(_, u)| u.live).sum();
        stats.segments = self.index.segments().count() as u64;
        stats
    }

    pub fn queue_bytes(&self) -> Vec<(String, u64)> {
        self.index.queues_bytes().map(|(name, bytes)| (name.to_owned(), bytes)).collect()
    }
}

pub(crate) struct Writer {
    config: StoreConfig,
    /// Held for the thread's life: the directory's lock.
    _lock: File,
    file: File,
    head: u64,
    /// Bytes in the head segment.
    head_len: u64,
    shared: Arc<Mutex<Shared>>,
    synced: watch::Sender<u64>,
    /// The highest message id bound given out (recorded at each segment's start).
    next_id: u64,
    buf: Vec<u8>,
    /// The handle's copy of the files' size.
    disk: Arc<AtomicU64>,
    /// The handle's count of bytes handed over and not yet written.
    pub pending: Arc<AtomicU64>,
}

impl Writer {
    pub fn new(
        config: StoreConfig,
        lock: File,
        file: File,
        head: u64,
        shared: Arc<Mutex<Shared>>,
        synced: watch::Sender<u64>,
        disk: Arc<AtomicU64>,
    ) -> Self {
        let head_len = segment::MAGIC.len() as u64;
        let pending = Arc::default();
        Self { config, _lock: lock, file, head, head_len, shared, synced, next_id: 0, buf: Vec::new(), disk, pending }
    }

    /// Starts the head segment: it records the id to go on from.
    pub fn start(&mut self, next_id: u64) -> io::Result<()> {
        self.next_id = next_id;
        lock(&self.shared).index.add_segment(self.head, self.head_len);
        self.append(&[Record::NextId { id: next_id }]);
        self.commit()
    }

    pub fn run(mut self, jobs: mpsc::Receiver<Job>) {
        let mut stop = false;
        while let Ok(first) = jobs.recv() {
            let mut ticket = None;
            let mut changes = 0;
            let mut written = 0;
            let mut job = Some(first);
            while let Some(next) = job.take() {
                match next {
                    Job::Write { changes: batch, ticket: t, bytes } => {
                        changes += batch.len();
                        written += bytes;
                        let records: Vec<Record> = batch.into_iter().filter_map(|c| self.record(c)).collect();
                        if let Err(err) = self.append_rotating(&records) {
                            tracing::error!(%err, dir = %self.config.dir.display(), "store: cannot write to disk; confirmations stop");
                            return;
                        }
                        ticket = t.or(ticket);
                        job = jobs.try_recv().ok();
                    }
                    Job::Stop => stop = true,
                }
            }
            let started = Instant::now();
            if let Err(err) = self.commit().and_then(|()| self.rotate_if_full()) {
                tracing::error!(%err, dir = %self.config.dir.display(), "store: cannot write to disk; confirmations stop");
                return;
            }
            {
                let mut shared = lock(&self.shared);
                shared.stats.syncs += 1;
                shared.stats.sync_seconds.observe(started.elapsed().as_secs_f64());
                shared.stats.batch_changes.observe(changes as f64);
            }
            self.pending.fetch_sub(written, Ordering::Relaxed);
            if let Some(ticket) = ticket {
                self.synced.send_replace(ticket);
            }
            if stop {
                return;
            }
            if let Err(err) = self.reclaim() {
                tracing::warn!(%err, "store: reclaiming space failed; will try again");
            }
        }
    }

    /// The record for a change (a message id bound updates the head's own).
    fn record(&mut self, change: Change) -> Option<Record> {
        // Every new segment starts with an id above all written so far, so
        // reclaiming old segments never lets ids go back.
        if let Change::Op(StoreOp::Append { message, .. } | StoreOp::Retain { message }) = &change {
            self.next_id = self.next_id.max(message.id.saturating_add(1));
        }
        Some(match change {
            Change::Op(op) => match op {
                StoreOp::DeclareQueue { name, options } => Record::Declare { queue: name, options },
                StoreOp::DeleteQueue { name } => Record::DeleteQueue { queue: name },
                StoreOp::Bind { queue, filter } => Record::Bind { queue, filter },
                StoreOp::Unbind { queue, filter } => Record::Unbind { queue, filter },
                StoreOp::Append { queue, seq, enqueued_at, message } => {
                    Record::Append { queue, seq, delivery_count: 0, enqueued_at, message }
                }
                StoreOp::Remove { queue, seq } => Record::Remove { queue, seq },
                StoreOp::Delivered { queue, seq } => Record::Delivered { queue, seq },
                StoreOp::Retain { message } => Record::Retain { message },
                StoreOp::Unretain { topic } => Record::Unretain { topic },
                StoreOp::KeepWill { client_id, will, due, user } => Record::Put {
                    key: crate::wills::key(&client_id),
                    value: crate::wills::encode(&will, due, user.as_deref()),
                },
                StoreOp::ForgetWill { client_id } => Record::Delete { key: crate::wills::key(&client_id) },
            },
            Change::Put(key, value) => Record::Put { key, value },
            Change::Delete(key) => Record::Delete { key },
            Change::NextId(id) => {
                if id <= self.next_id {
                    return None;
                }
                self.next_id = id;
                Record::NextId { id }
            }
        })
    }

    /// Encodes `records` into the write buffer and accounts them; returns
    /// how many went in before the head segment filled up.
    fn append(&mut self, records: &[Record]) -> usize {
        let mut shared = lock(&self.shared);
        let mut done = 0;
        for record in records {
            if self.head_len >= self.config.segment_bytes {
                break;
            }
            let offset = self.head_len;
            let len = record.encode(&mut self.buf) as u64;
            self.head_len += len;
            shared.index.apply(record, Loc { segment: self.head, offset, len });
            done += 1;
        }
        shared.stats.records += done as u64;
        done
    }

    /// Appends every record, starting new segments as they fill: a segment
    /// stays near its size however much arrives at once.
    fn append_rotating(&mut self, mut records: &[Record]) -> io::Result<()> {
        loop {
            records = &records[self.append(records)..];
            if records.is_empty() {
                return Ok(());
            }
            self.commit()?;
            self.rotate_if_full()?;
        }
    }

    /// Writes the buffer and syncs it.
    fn commit(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.file.write_all(&self.buf)?;
            self.buf.clear();
            if self.buf.capacity() > 1 << 20 {
                self.buf = Vec::new();
            }
        }
        self.file.sync_data()?;
        self.publish_size();
        Ok(())
    }

    fn publish_size(&self) {
        self.disk.store(lock(&self.shared).index.disk_bytes(), Ordering::Relaxed);
    }

    /// Starts a new head once this one is full.
    fn rotate_if_full(&mut self) -> io::Result<()> {
        if self.head_len < self.config.segment_bytes {
            return Ok(());
        }
        self.head += 1;
        self.file = segment::create(&self.config.dir, self.head)?;
        self.head_len = segment::MAGIC.len() as u64;
        lock(&self.shared).index.add_segment(self.head, self.head_len);
        self.append(&[Record::NextId { id: self.next_id }]);
        self.commit()
    }

    /// Deletes the oldest segment if nothing in it is live, or copies its
    /// live records forward first if they are a small part of it. A newer
    /// segment with nothing in it that matters (left by a restart) goes too.
    fn reclaim(&mut self) -> io::Result<()> {
        let (oldest, empty) = {
            let shared = lock(&self.shared);
            let mut segments = shared.index.segments().filter(|(n, _)| *n != self.head);
            let oldest = segments.next();
            (oldest, segments.find(|(_, u)| u.live == 0 && u.refs == 0).map(|(n, _)| n))
        };
        if let Some(n) = empty {
            return self.delete_segment(n);
        }
        let Some((n, used)) = oldest else { return Ok(()) };
        // Small segments (left by restarts) are merged; large ones once at most a quarter is live.
        let worth = used.live == 0 || used.live * 4 <= used.size || used.size * 4 <= self.config.segment_bytes;
        if !worth {
            return Ok(());
        }
        if used.live > 0 {
            // Only the live records are read (a quarter of the file at
            // most, or a small file): compaction costs what it keeps.
            let locs = lock(&self.shared).index.live_in(n);
            let file = File::open(segment::path(&self.config.dir, n))?;
            let mut live = Vec::with_capacity(locs.len());
            let mut frame = Vec::new();
            for (loc, delivered) in &locs {
                frame.resize(usize::try_from(loc.len).unwrap_or(usize::MAX), 0);
                std::os::unix::fs::FileExt::read_exact_at(&file, &mut frame, loc.offset)?;
                let record = match read_frame(&frame) {
                    Frame::Body(body, _) => Record::decode(body),
                    _ => None,
                };
                let Some(record) = record else {
                    return Err(io::Error::other(format!(
                        "segment {n}: a live record at {} does not read",
                        loc.offset
                    )));
                };
                live.push(forward(record, *delivered));
            }
            self.append_rotating(&live)?;
            self.commit()?;
            lock(&self.shared).stats.compacted_bytes += locs.iter().map(|(l, _)| l.len).sum::<u64>();
        }
        self.delete_segment(n)
    }

    /// Deletes segment `n`, which holds nothing that matters any more.
    fn delete_segment(&mut self, n: u64) -> io::Result<()> {
        std::fs::remove_file(segment::path(&self.config.dir, n))?;
        segment::sync_dir(&self.config.dir)?;
        let mut shared = lock(&self.shared);
        shared.index.remove_segment(n);
        shared.stats.segments_reclaimed += 1;
        drop(shared);
        self.publish_size();
        // Whoever watches the size (a disk budget) hears that it fell.
        self.synced.send_modify(|_| {});
        self.rotate_if_full()
    }
}

/// A live record copied forward: a message takes the deliveries counted
/// since it was written.
fn forward(record: Record, delivered: u32) -> Record {
    match record {
        Record::Append { queue, seq, delivery_count, enqueued_at, message } => Record::Append {
            queue,
            seq,
            delivery_count: delivery_count.saturating_add(delivered),
            enqueued_at,
            message,
        },
        other => other,
    }
}

fn lock(shared: &Mutex<Shared>) -> std::sync::MutexGuard<'_, Shared> {
    shared.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}
