//! Per-queue history for charts: depth and publish / deliver / ack rates in
//! one-second buckets over the last 60 simulated seconds. Sampled from the
//! engine's counters at each simulated second, so rates are exact even when
//! the log has forgotten the events.

use queue_core::{QueueCounters, StatsSnapshot};
use std::collections::{BTreeMap, VecDeque};

/// Buckets kept per queue.
pub const HISTORY_SECONDS: usize = 60;

/// One simulated second of one queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Bucket {
    /// The second this bucket ends (virtual seconds since start).
    pub second: u64,
    /// Ready messages at the end of the second.
    pub ready: u64,
    /// Unacked messages at the end of the second.
    pub unacked: u64,
    /// Copies that entered the queue during the second.
    pub published: u64,
    /// Deliveries during the second.
    pub delivered: u64,
    /// Acks during the second.
    pub acked: u64,
    /// Copies dropped, expired or dead-lettered during the second.
    pub lost: u64,
}

impl Bucket {
    /// Ready plus unacked.
    pub fn depth(&self) -> u64 {
        self.ready + self.unacked
    }
}

/// Every queue's recent buckets.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct History {
    queues: BTreeMap<String, VecDeque<Bucket>>,
    last: BTreeMap<String, QueueCounters>,
}

impl History {
    /// The last (up to 60) buckets of queue `name`, oldest first.
    pub fn queue(&self, name: &str) -> Vec<Bucket> {
        self.queues.get(name).map(|b| b.iter().copied().collect()).unwrap_or_default()
    }

    /// Closes the bucket for `second` from a stats snapshot taken at its end.
    pub(crate) fn sample(&mut self, second: u64, stats: &StatsSnapshot) {
        self.queues.retain(|name, _| stats.queues.iter().any(|q| &q.name == name));
        for q in &stats.queues {
            let before = self.last.insert(q.name.clone(), q.counters).unwrap_or_default();
            let now = q.counters;
            let bucket = Bucket {
                second,
                ready: q.ready,
                unacked: q.unacked,
                published: now.enqueued - before.enqueued,
                delivered: now.delivered - before.delivered,
                acked: now.acked - before.acked,
                lost: (now.dropped + now.expired + now.dead_lettered)
                    - (before.dropped + before.expired + before.dead_lettered),
            };
            let buckets = self.queues.entry(q.name.clone()).or_default();
            if buckets.len() == HISTORY_SECONDS {
                buckets.pop_front();
            }
            buckets.push_back(bucket);
        }
        self.last.retain(|name, _| self.queues.contains_key(name));
    }
}
