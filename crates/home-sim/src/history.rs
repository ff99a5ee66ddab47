//! Per-queue history for charts: depth and publish / deliver / ack rates in
//! one-second buckets over the last 60 simulated seconds. Sampled from the
//! engine's counters at each simulated second, so rates are exact even when
//! the log has forgotten the events.

use queue_core::{QueueCounters, StatsSnapshot};
use std::collections::VecDeque;

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
    /// Per queue, sorted by name: its counters at the last sample and its buckets.
    queues: Vec<(String, QueueCounters, VecDeque<Bucket>)>,
}

impl History {
    /// The last (up to 60) buckets of queue `name`, oldest first.
    pub fn queue(&self, name: &str) -> Vec<Bucket> {
        self.find(name).map_or_else(|_| Vec::new(), |at| self.queues[at].2.iter().copied().collect())
    }

    /// Where queue `name` is in `queues`, or where it would go.
    fn find(&self, name: &str) -> Result<usize, usize> {
        self.queues.binary_search_by(|(n, ..)| n.as_str().cmp(name))
    }

    /// Closes the bucket for `second` from a stats snapshot taken at its end.
    pub(crate) fn sample(&mut self, second: u64, stats: &StatsSnapshot) {
        self.queues.retain(|(name, ..)| stats.queues.iter().any(|q| &q.name == name));
        for q in &stats.queues {
            let at = self.find(&q.name).unwrap_or_else(|at| {
                self.queues.insert(at, (q.name.clone(), QueueCounters::default(), VecDeque::new()));
                at
            });
            let (_, last, buckets) = &mut self.queues[at];
            let now = q.counters;
            // A queue deleted and declared again under the same name within
            // one sample starts its counters from zero: count from there.
            let before = std::mem::replace(last, now);
            let restarted = counts(&now).iter().zip(counts(&before)).any(|(now, before)| *now < before);
            let before = if restarted { QueueCounters::default() } else { before };
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
            if buckets.len() == HISTORY_SECONDS {
                buckets.pop_front();
            }
            buckets.push_back(bucket);
        }
    }
}

/// Every counter of `c`, to tell whether any went down (a new queue).
fn counts(c: &QueueCounters) -> [u64; 6] {
    [c.enqueued, c.delivered, c.acked, c.dropped, c.expired, c.dead_lettered]
}
