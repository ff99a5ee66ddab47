//! A minimal append-only segment log, the LavinMQ / Kafka shape.
//!
//! On disk: a directory of segment files `0000000000.seg`, `0000000001.seg`, ...
//! each at most [`SEG_MAX`] bytes. A segment is a sequence of records
//!
//! ```text
//! [len u32 LE][crc32 u32 LE][payload: len bytes]
//! ```
//!
//! where `crc32` (crc32fast, IEEE) covers the payload and the payload is
//!
//! ```text
//! message:   [tag = 1][queue u32 BE][seq u64 BE][value ...]
//! tombstone: [tag = 2][queue u32 BE][seq u64 BE]          (an ack = delete)
//! ```
//!
//! A batch is written with one `pwrite` and made durable with one
//! `File::sync_data`. Creating a new segment also fsyncs the directory (once per
//! 64 MiB). Space is reclaimed by deleting whole segment files: the oldest
//! sealed (not active) segment is removed as soon as every message in it has
//! been acked. Only a *prefix* of the log is ever removed, because a segment's
//! tombstones may ack messages in earlier segments, and deleting it while those
//! earlier segments still exist would resurrect the acked messages on
//! recovery. The active segment is never removed, so up to 64 MiB of dead
//! records can stay on disk until the segment fills and rolls.
//!
//! Recovery reads every segment front to back, checks each CRC, truncates a
//! torn tail in the last segment, and rebuilds the in-memory index
//! (key -> segment) and per-segment live counts.
//!
//! `SegLog<true>` ("seglog-prealloc") additionally pre-sizes each new segment
//! to 64 MiB with `set_len` (a sparse file, as fjall does with its journal and
//! LavinMQ with its segments), so a `sync_data` after a write no longer has to
//! persist a new file size; a segment is cut to its used length when it is
//! sealed, and recovery treats a zero length header as the end of the data.

use std::collections::BTreeMap;
use std::fs::{self, File, OpenOptions};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use rustc_hash::FxHashMap;

use crate::stores::{Key, Msg, Store};

/// Maximum segment size: 64 MiB.
pub const SEG_MAX: u64 = 64 << 20;
const HDR: usize = 8;
const TAG_MSG: u8 = 1;
const TAG_ACK: u8 = 2;

/// The segment log store; `PREALLOC` pre-sizes segments (see module docs).
pub struct SegLog<const PREALLOC: bool> {
    dir: PathBuf,
    active: File,
    active_id: u32,
    active_len: u64,
    /// segment id -> number of live (un-acked) messages in it
    segs: BTreeMap<u32, u64>,
    /// key -> segment holding the message
    index: FxHashMap<Key, u32>,
    buf: Vec<u8>,
}

fn seg_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("{id:010}.seg"))
}

fn fsync_dir(dir: &Path) -> Result<()> {
    File::open(dir)?.sync_all()?;
    Ok(())
}

fn encode(buf: &mut Vec<u8>, tag: u8, key: &Key, value: &[u8]) {
    let len = 1 + key.len() + value.len();
    let start = buf.len();
    buf.extend_from_slice(&(len as u32).to_le_bytes());
    buf.extend_from_slice(&[0; 4]);
    buf.push(tag);
    buf.extend_from_slice(key);
    buf.extend_from_slice(value);
    let crc = crc32fast::hash(&buf[start + HDR..]);
    buf[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
}

impl<const PREALLOC: bool> SegLog<PREALLOC> {
    fn create_segment(dir: &Path, id: u32) -> Result<File> {
        let f = OpenOptions::new()
            .create_new(true)
            .write(true)
            .open(seg_path(dir, id))
            .with_context(|| format!("create segment {id}"))?;
        if PREALLOC {
            f.set_len(SEG_MAX)?;
            f.sync_all()?;
        }
        // make the new directory entry durable
        fsync_dir(dir)?;
        Ok(f)
    }

    /// Writes `buf` to the active segment and syncs it.
    fn flush_buf(&mut self) -> Result<()> {
        if !self.buf.is_empty() {
            self.active.write_all_at(&self.buf, self.active_len)?;
            self.active_len += self.buf.len() as u64;
            self.buf.clear();
        }
        self.active.sync_data()?;
        Ok(())
    }

    /// Makes room for a record of `rec_len` bytes, rolling to a new segment
    /// if it would not fit in the active one.
    fn reserve(&mut self, rec_len: usize) -> Result<()> {
        let used = self.active_len + self.buf.len() as u64;
        if used > 0 && used + rec_len as u64 > SEG_MAX {
            // seal the old segment: everything in it durable first
            if PREALLOC {
                let end = self.active_len + self.buf.len() as u64;
                self.active.write_all_at(&self.buf, self.active_len)?;
                self.buf.clear();
                self.active.set_len(end)?;
            }
            self.flush_buf()?;
            let id = self.active_id + 1;
            self.active = Self::create_segment(&self.dir, id)?;
            self.active_id = id;
            self.active_len = 0;
            self.segs.insert(id, 0);
        }
        Ok(())
    }

    /// Deletes the fully-acked prefix of sealed segments.
    fn reclaim(&mut self) -> Result<()> {
        while let Some((&id, &live)) = self.segs.first_key_value() {
            if live != 0 || id == self.active_id {
                break;
            }
            fs::remove_file(seg_path(&self.dir, id))?;
            self.segs.pop_first();
        }
        Ok(())
    }

    /// Opens (or creates) the log and, if `load` is set, returns every live
    /// message in log order.
    fn open_impl(dir: &Path, load: bool) -> Result<(Self, Vec<Msg>)> {
        fs::create_dir_all(dir)?;
        let mut ids: Vec<u32> = fs::read_dir(dir)?
            .filter_map(|e| {
                let name = e.ok()?.file_name().into_string().ok()?;
                name.strip_suffix(".seg")?.parse().ok()
            })
            .collect();
        ids.sort_unstable();

        // Pass 1: parse every segment, keep the bytes, remember where each
        // message is, apply tombstones.
        struct Entry {
            seg_idx: u32,
            off: u32,
            len: u32,
            key: Key,
        }
        let mut bufs: Vec<Vec<u8>> = Vec::with_capacity(ids.len());
        let mut entries: Vec<Entry> = Vec::new();
        let mut dead: Vec<bool> = Vec::new();
        let mut where_: FxHashMap<Key, (u32, u32)> = FxHashMap::default(); // key -> (seg id, entry idx)
        let mut segs = BTreeMap::new();
        let mut last_len = 0u64;
        for (i, &id) in ids.iter().enumerate() {
            let path = seg_path(dir, id);
            let data = if PREALLOC {
                // read only up to the first hole: the pre-sized tail that was never written
                let f = File::open(&path)?;
                let end = rustix::fs::seek(&f, rustix::fs::SeekFrom::Hole(0))?;
                let mut d = vec![0u8; end as usize];
                f.read_exact_at(&mut d, 0)?;
                d
            } else {
                fs::read(&path)?
            };
            segs.insert(id, 0u64);
            let mut pos = 0usize;
            let mut torn = false;
            while pos < data.len() {
                if pos + HDR > data.len() {
                    torn = true;
                    break;
                }
                let len = u32::from_le_bytes(data[pos..pos + 4].try_into()?) as usize;
                let crc = u32::from_le_bytes(data[pos + 4..pos + 8].try_into()?);
                if PREALLOC && len == 0 && crc == 0 {
                    break; // start of the pre-sized, never written tail
                }
                let end = pos + HDR + len;
                if len < 13 || end > data.len() || crc32fast::hash(&data[pos + HDR..end]) != crc {
                    torn = true;
                    break;
                }
                let p = &data[pos + HDR..end];
                let key: Key = p[1..13].try_into()?;
                match p[0] {
                    TAG_MSG => {
                        *segs.get_mut(&id).expect("inserted") += 1;
                        let idx = entries.len() as u32;
                        entries.push(Entry {
                            seg_idx: i as u32,
                            off: (pos + HDR + 13) as u32,
                            len: (len - 13) as u32,
                            key,
                        });
                        dead.push(false);
                        where_.insert(key, (id, idx));
                    }
                    TAG_ACK => {
                        if let Some((sid, idx)) = where_.remove(&key) {
                            dead[idx as usize] = true;
                            if let Some(live) = segs.get_mut(&sid) {
                                *live -= 1;
                            }
                        }
                    }
                    t => bail!("segment {id}: unknown record tag {t} at {pos}"),
                }
                pos = end;
            }
            if torn {
                if i + 1 != ids.len() {
                    bail!("segment {id} is corrupt at offset {pos} and is not the last segment");
                }
                // torn tail of the last segment: cut it off
                let f = OpenOptions::new().write(true).open(&path)?;
                f.set_len(pos as u64)?;
                if PREALLOC {
                    f.set_len(SEG_MAX)?; // re-extend with zeros
                }
                f.sync_all()?;
            }
            last_len = pos as u64;
            bufs.push(if load { data } else { Vec::new() });
        }

        // Pass 2: copy out the live messages, in log order.
        let mut msgs = Vec::new();
        if load {
            msgs.reserve(where_.len());
            for (e, &d) in entries.iter().zip(&dead) {
                if !d {
                    let b = &bufs[e.seg_idx as usize];
                    msgs.push(Msg { key: e.key, value: b[e.off as usize..(e.off + e.len) as usize].to_vec() });
                }
            }
        }
        drop(bufs);
        let index: FxHashMap<Key, u32> = where_.into_iter().map(|(k, (sid, _))| (k, sid)).collect();

        let (active, active_id, active_len) = match ids.last() {
            Some(&id) => (OpenOptions::new().write(true).open(seg_path(dir, id))?, id, last_len),
            None => {
                segs.insert(0, 0);
                (Self::create_segment(dir, 0)?, 0, 0)
            }
        };
        let mut log = SegLog {
            dir: dir.to_path_buf(),
            active,
            active_id,
            active_len,
            segs,
            index,
            buf: Vec::with_capacity(1 << 20),
        };
        log.reclaim()?;
        Ok((log, msgs))
    }

    /// Number of segment files currently on disk.
    #[allow(dead_code)]
    pub fn segment_count(&self) -> usize {
        self.segs.len()
    }
}

impl<const PREALLOC: bool> Store for SegLog<PREALLOC> {
    const NAME: &'static str = if PREALLOC { "seglog-prealloc" } else { "seglog" };

    fn open(dir: &Path) -> Result<Self> {
        Ok(Self::open_impl(dir, false)?.0)
    }

    fn open_and_load(dir: &Path) -> Result<(Self, Vec<Msg>)> {
        Self::open_impl(dir, true)
    }

    fn append_batch(&mut self, batch: &[(Key, Vec<u8>)]) -> Result<()> {
        for (key, value) in batch {
            self.reserve(HDR + 13 + value.len())?;
            encode(&mut self.buf, TAG_MSG, key, value);
            self.index.insert(*key, self.active_id);
            *self.segs.get_mut(&self.active_id).expect("active segment") += 1;
        }
        self.flush_buf()
    }

    fn delete_batch(&mut self, keys: &[Key]) -> Result<()> {
        for key in keys {
            let Some(sid) = self.index.remove(key) else { continue };
            self.reserve(HDR + 13)?;
            encode(&mut self.buf, TAG_ACK, key, &[]);
            *self.segs.get_mut(&sid).expect("segment of a live message") -= 1;
        }
        self.flush_buf()?;
        self.reclaim()
    }

    fn compact(&mut self) -> Result<()> {
        // No explicit compaction exists: reclamation is whole-segment deletion.
        Ok(())
    }

    fn close(self) -> Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stores::key;

    #[test]
    fn roundtrip_ack_reclaim_and_torn_tail() {
        roundtrip::<false>();
    }

    #[test]
    fn roundtrip_ack_reclaim_and_torn_tail_prealloc() {
        roundtrip::<true>();
    }

    fn roundtrip<const P: bool>() {
        let dir = tempfile::tempdir().unwrap();
        let big = vec![7u8; 1 << 20]; // 1 MiB values: 64 MiB segments fill after ~63
        {
            let mut log = SegLog::<P>::open(dir.path()).unwrap();
            for s in 0..200u64 {
                log.append_batch(&[(key(1, s), big.clone())]).unwrap();
            }
            assert!(log.segment_count() >= 3);
            let keys: Vec<Key> = (0..150u64).map(|s| key(1, s)).collect();
            log.delete_batch(&keys).unwrap();
            // sealed, fully-acked prefix is gone
            assert!(!seg_path(dir.path(), 0).exists());
        }
        {
            // reopen and keep appending: the write position must be right
            let (mut log, msgs) = SegLog::<P>::open_and_load(dir.path()).unwrap();
            assert_eq!(msgs.len(), 50);
            log.append_batch(&[(key(2, 0), vec![9u8; 100])]).unwrap();
        }
        // torn tail: garbage where the next record would go
        let mut segs = fs::read_dir(dir.path()).unwrap().map(|e| e.unwrap().path()).collect::<Vec<_>>();
        segs.sort();
        let (_, msgs) = SegLog::<P>::open_and_load(dir.path()).unwrap();
        assert_eq!(msgs.len(), 51);
        let used: usize = {
            let d = fs::read(segs.last().unwrap()).unwrap();
            if P { d.len() - d.iter().rev().take_while(|&&b| b == 0).count() } else { d.len() }
        };
        let f = OpenOptions::new().write(true).open(segs.last().unwrap()).unwrap();
        f.write_all_at(&[1, 2, 3, 4, 5, 6, 7, 8, 9], used as u64).unwrap();
        drop(f);
        let (_log, msgs) = SegLog::<P>::open_and_load(dir.path()).unwrap();
        assert_eq!(msgs.len(), 51);
        assert_eq!(msgs[0].key, key(1, 150));
        assert_eq!(msgs[0].value.len(), 1 << 20);
        assert_eq!(msgs[50].key, key(2, 0));
        assert_eq!(msgs[50].value, vec![9u8; 100]);
    }
}
