//! Counters and snapshots. The engine only counts; callers turn two snapshots
//! into rates.
//!
//! Every copy of a message that enters a queue leaves it exactly once, so for
//! each queue: `enqueued = ready + unacked + acked + dropped + expired +
//! dead_lettered` (the conservation law the property tests check).

use crate::queue::QueueOptions;
use serde::{Deserialize, Serialize};

/// Engine-wide counters since start.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Counters {
    /// Messages accepted from publishers (wills included).
    pub published: u64,
    /// Copies placed in queues by routing (one publish may make several, and
    /// so may a dead letter whose `dead_letter_topic` reaches several queues:
    /// the first of those is the moved copy, the others count here).
    pub routed: u64,
    /// Publishes that matched no queue.
    pub unroutable: u64,
    /// Deliveries to consumers (redeliveries included, retained replays not).
    pub delivered: u64,
    /// Deliveries acknowledged (auto-ack deliveries count when sent).
    pub acked: u64,
    /// Deliveries of a message delivered before.
    pub redelivered: u64,
    /// Copies discarded: overflow, rejection without a dead-letter queue, queue deleted.
    pub dropped: u64,
    /// Copies refused by a full `reject-publish` queue (never entered it).
    pub refused: u64,
    /// Copies moved to a dead-letter queue (once per copy, however many
    /// queues its dead-letter topic reaches).
    pub dead_lettered: u64,
    /// Copies discarded by TTL (with no dead-letter queue to go to).
    pub expired: u64,
    /// Requests the access control list refused: publishes, subscriptions,
    /// queue operations, wills, and deliveries withheld (those copies are
    /// also counted as dropped).
    pub denied: u64,
}

/// One queue's counters since it was declared.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct QueueCounters {
    /// Copies that entered the queue (routed, direct or dead-lettered in).
    pub enqueued: u64,
    /// Deliveries to its consumers.
    pub delivered: u64,
    /// Deliveries acknowledged.
    pub acked: u64,
    /// Deliveries of a message delivered before.
    pub redelivered: u64,
    /// Copies discarded.
    pub dropped: u64,
    /// Messages refused because the queue was full (`reject-publish`).
    pub refused: u64,
    /// Copies moved out to the dead-letter queue.
    pub dead_lettered: u64,
    /// Copies discarded by TTL.
    pub expired: u64,
}

/// A queue as seen from outside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    /// Name.
    pub name: String,
    /// Options it was declared with.
    pub options: QueueOptions,
    /// Filters it is bound with.
    pub bindings: Vec<String>,
    /// Messages waiting for a consumer.
    pub ready: u64,
    /// Messages delivered and not yet acked.
    pub unacked: u64,
    /// Bytes its ready and unacked messages take (their footprints).
    #[serde(default)]
    pub bytes: u64,
    /// Consumers attached.
    pub consumers: u64,
    /// Counters since declared.
    pub counters: QueueCounters,
}

/// A connection as seen from outside.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConnectionStats {
    /// The engine's connection number.
    pub id: u64,
    /// The client's id.
    pub client_id: String,
    /// When it connected (engine ms).
    pub connected_at: u64,
    /// Consumers it has.
    pub consumers: u64,
    /// Deliveries it has not acked.
    pub unacked: u64,
    /// Messages it has published.
    pub published: u64,
    /// Whether it left a last will.
    pub has_will: bool,
    /// Its publishes are held by the memory budget (it was sent `blocked`).
    #[serde(default)]
    pub blocked: bool,
}

/// Everything at one instant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatsSnapshot {
    /// Engine time of the snapshot (ms).
    pub now: u64,
    /// Engine-wide counters.
    pub counters: Counters,
    /// Open connections.
    pub connections: u64,
    /// Consumers across all queues.
    pub consumers: u64,
    /// Topics with a retained message.
    pub retained: u64,
    /// Memory in use and the budget.
    #[serde(default)]
    pub memory: MemoryStats,
    /// Every queue, by name.
    pub queues: Vec<QueueStats>,
}

/// Memory the engine accounts for, in bytes, and its budget.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct MemoryStats {
    /// Everything counted: `queued + retained + buffered`.
    pub used: u64,
    /// The budget (`None`: none).
    pub limit: Option<u64>,
    /// Ready and unacked copies in queues.
    pub queued: u64,
    /// Retained messages.
    pub retained: u64,
    /// What the driver buffers for connections.
    pub buffered: u64,
    /// Publishers are blocked until memory (and disk) fall below the low watermark.
    pub blocked: bool,
    /// Bytes the durable store holds on disk (0: none, or in memory).
    pub disk: u64,
    /// The disk budget (`None`: none).
    pub disk_limit: Option<u64>,
}
