//! Where every live record is: which segment holds it, at what offset, and
//! how long it is. Compaction asks it which records of a segment still
//! matter; it also knows each segment's live bytes and each queue's.

use crate::record::Record;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// A record's place in the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    /// Segment number.
    pub segment: u64,
    /// Offset of its frame in the segment.
    pub offset: u64,
    /// Length of its frame.
    pub len: u64,
}

#[derive(Debug, Clone, Copy)]
struct MessageLoc {
    loc: Loc,
    /// Delivered records seen since the message's Append.
    delivered: u32,
}

#[derive(Debug, Default)]
struct QueueLocs {
    declare: Option<Loc>,
    bindings: HashMap<String, Loc>,
    messages: BTreeMap<u64, MessageLoc>,
    /// Bytes of its live records.
    bytes: u64,
}

/// Bytes in a segment, and how many of them are still live.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct SegmentUse {
    /// Size of the file.
    pub size: u64,
    /// Bytes of its records that still matter.
    pub live: u64,
    /// Records in it that change records before them (removals, delivery
    /// counts): while an older segment exists, this one may matter even
    /// with nothing live in it.
    pub refs: u64,
}

/// The live records of the whole log.
#[derive(Debug, Default)]
pub struct Index {
    segments: BTreeMap<u64, SegmentUse>,
    queues: HashMap<Arc<str>, QueueLocs>,
    retained: HashMap<Arc<str>, Loc>,
    kv: HashMap<String, Loc>,
}

impl Index {
    /// Notes a segment and its size (what is already in it, header included).
    pub fn add_segment(&mut self, segment: u64, size: u64) {
        self.segments.insert(segment, SegmentUse { size, live: 0, refs: 0 });
    }

    /// Forgets a deleted segment (nothing live may be left in it).
    pub fn remove_segment(&mut self, segment: u64) {
        self.segments.remove(&segment);
    }

    /// Every segment's use, oldest first.
    pub fn segments(&self) -> impl Iterator<Item = (u64, SegmentUse)> + '_ {
        self.segments.iter().map(|(n, u)| (*n, *u))
    }

    /// Bytes of the whole log.
    pub fn disk_bytes(&self) -> u64 {
        self.segments.values().map(|u| u.size).sum()
    }

    /// Bytes of every queue's live records.
    pub fn queues_bytes(&self) -> impl Iterator<Item = (&str, u64)> + '_ {
        self.queues.iter().map(|(name, q)| (&**name, q.bytes))
    }

    /// Accounts `record`, just written at `loc`.
    pub fn apply(&mut self, record: &Record, loc: Loc) {
        if let Some(u) = self.segments.get_mut(&loc.segment) {
            u.size = u.size.max(loc.offset + loc.len);
        }
        let live = match record {
            Record::Declare { queue, .. } => {
                let q = self.queues.entry(queue.clone()).or_default();
                let old = q.declare.replace(loc);
                q.bytes += loc.len;
                if let Some(old) = old {
                    q.bytes -= old.len;
                    self.dead(old);
                }
                true
            }
            Record::DeleteQueue { queue } => {
                if let Some(q) = self.queues.remove(queue) {
                    let locs = q.declare.into_iter().chain(q.bindings.into_values());
                    for old in locs.chain(q.messages.into_values().map(|m| m.loc)) {
                        self.dead(old);
                    }
                }
                false
            }
            Record::Bind { queue, filter } => {
                let q = self.queues.entry(queue.clone()).or_default();
                q.bytes += loc.len;
                if let Some(old) = q.bindings.insert(filter.clone(), loc) {
                    q.bytes -= old.len;
                    self.dead(old);
                }
                true
            }
            Record::Unbind { queue, filter } => {
                if let Some(old) = self.queues.get_mut(queue).and_then(|q| q.bindings.remove(filter)) {
                    self.queues.get_mut(queue).expect("found above").bytes -= old.len;
                    self.dead(old);
                }
                false
            }
            Record::Append { queue, seq, .. } => {
                let q = self.queues.entry(queue.clone()).or_default();
                q.bytes += loc.len;
                if let Some(old) = q.messages.insert(*seq, MessageLoc { loc, delivered: 0 }) {
                    q.bytes -= old.loc.len;
                    self.dead(old.loc);
                }
                true
            }
            Record::Remove { queue, seq } => {
                if let Some(old) = self.queues.get_mut(queue).and_then(|q| q.messages.remove(seq)) {
                    self.queues.get_mut(queue).expect("found above").bytes -= old.loc.len;
                    self.dead(old.loc);
                }
                false
            }
            Record::Delivered { queue, seq } => {
                if let Some(m) = self.queues.get_mut(queue).and_then(|q| q.messages.get_mut(seq)) {
                    m.delivered = m.delivered.saturating_add(1);
                }
                false
            }
            Record::Retain { message } => {
                if let Some(old) = self.retained.insert(message.topic.clone(), loc) {
                    self.dead(old);
                }
                true
            }
            Record::Unretain { topic } => {
                if let Some(old) = self.retained.remove(topic) {
                    self.dead(old);
                }
                false
            }
            Record::Put { key, .. } => {
                if let Some(old) = self.kv.insert(key.clone(), loc) {
                    self.dead(old);
                }
                true
            }
            Record::Delete { key } => {
                if let Some(old) = self.kv.remove(key) {
                    self.dead(old);
                }
                false
            }
            Record::NextId { .. } => false,
        };
        let refers = !live && !matches!(record, Record::NextId { .. });
        if let Some(u) = self.segments.get_mut(&loc.segment) {
            if live {
                u.live += loc.len;
            }
            u.refs += u64::from(refers);
        }
    }

    /// The live records of `segment`, in file order, each with the
    /// deliveries counted since it was written (for messages).
    pub fn live_in(&self, segment: u64) -> Vec<(Loc, u32)> {
        let mut found: Vec<(Loc, u32)> = Vec::new();
        for q in self.queues.values() {
            found.extend(q.declare.iter().map(|l| (*l, 0)));
            found.extend(q.bindings.values().map(|l| (*l, 0)));
            found.extend(q.messages.values().map(|m| (m.loc, m.delivered)));
        }
        found.extend(self.retained.values().map(|l| (*l, 0)));
        found.extend(self.kv.values().map(|l| (*l, 0)));
        found.retain(|(l, _)| l.segment == segment);
        found.sort_unstable_by_key(|(l, _)| l.offset);
        found
    }

    /// Queues whose records were found without their definition (it was
    /// lost to damage): they are dropped, and their names returned.
    pub fn drop_undeclared(&mut self) -> Vec<Arc<str>> {
        let lost: Vec<Arc<str>> =
            self.queues.iter().filter(|(_, q)| q.declare.is_none()).map(|(name, _)| name.clone()).collect();
        for name in &lost {
            self.apply(&Record::DeleteQueue { queue: name.clone() }, Loc { segment: u64::MAX, offset: 0, len: 0 });
        }
        lost
    }

    fn dead(&mut self, loc: Loc) {
        if let Some(u) = self.segments.get_mut(&loc.segment) {
            u.live = u.live.saturating_sub(loc.len);
        }
    }
}
