//! A queue: an ordered list of ready messages, the consumers sharing it, and
//! its counters. The engine moves messages in and out; this module keeps the
//! order and the bookkeeping of one queue right.

use crate::message::Message;
use crate::protocol::AckMode;
use crate::stats::QueueCounters;
use serde::{Deserialize, Serialize};
use std::collections::{BTreeSet, VecDeque};
use std::sync::Arc;

/// Identifies a queue inside one engine; never reused.
pub type QueueId = u64;

/// Options fixed when a queue is declared.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueueOptions {
    /// Outlives a broker restart: the engine reports its changes as
    /// [`StoreOp`](crate::StoreOp)s, which the broker's store writes to disk
    /// (the simulator has no store and keeps nothing).
    pub durable: bool,
    /// Owned by the declaring connection; deleted when it goes.
    pub exclusive: bool,
    /// Deleted when its last consumer leaves (after it had one).
    pub auto_delete: bool,
    /// Most ready messages held; what happens past it is `overflow`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// Most bytes of ready messages held (each copy's
    /// [`footprint`](crate::Message::footprint)); past it is `overflow`, as
    /// for `max_length`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_length_bytes: Option<u64>,
    /// What a full queue does with one more message.
    pub overflow: Overflow,
    /// Ready messages older than this many ms expire.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message_ttl_ms: Option<u64>,
    /// Queue that receives rejected, expired, overflowed or over-delivered messages.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter: Option<String>,
    /// Instead of a queue: the topic rejected, expired, overflowed or
    /// over-delivered messages are published to, reaching every queue bound
    /// to it (an AMQP dead-letter exchange). At most one of `dead_letter`
    /// and this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dead_letter_topic: Option<String>,
    /// After this many deliveries a message is dead-lettered instead of requeued.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_deliveries: Option<u32>,
    /// A queue unused this many ms is deleted with its messages, as
    /// RabbitMQ's `x-expires`: unused means no consumers and not redeclared;
    /// the count starts at its declaration, at each redeclaration and when
    /// its last consumer leaves. MQTT's session expiry interval is this.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_ms: Option<u64>,
}

/// What a queue at its max length does with a new message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Overflow {
    /// Drop (or dead-letter) the oldest ready message to make room.
    #[default]
    DropOldest,
    /// Refuse the new message; the publisher is told.
    RejectPublish,
}

/// A message's stay in one queue.
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    /// Position in this queue's arrival order; the ready list is sorted by it.
    pub seq: u64,
    /// The shared message.
    pub message: Arc<Message>,
    /// Deliveries so far.
    pub delivery_count: u32,
    /// When it expires in this queue, if it does.
    pub expires_at: Option<u64>,
    /// When it entered this queue (engine ms); a policy change recomputes
    /// `expires_at` from it.
    pub enqueued_at: u64,
    /// The message's footprint, counted while this queue holds it.
    pub bytes: u64,
}

/// A consumer attached to a queue.
#[derive(Debug, Clone)]
pub(crate) struct Consumer {
    pub id: u64,
    pub conn: u64,
    pub prefetch: u32,
    pub ack: AckMode,
    pub in_flight: u32,
}

impl Consumer {
    pub fn has_capacity(&self) -> bool {
        self.ack == AckMode::Auto || self.in_flight < self.prefetch
    }
}

/// One queue's state.
#[derive(Debug)]
pub(crate) struct Queue {
    pub name: Arc<str>,
    pub options: QueueOptions,
    /// Connection owning an exclusive queue.
    pub owner: Option<u64>,
    /// Ready messages, in `seq` order.
    pub ready: VecDeque<Envelope>,
    /// Delivered, not yet acked.
    pub unacked: u64,
    /// Footprint of the ready messages.
    pub ready_bytes: u64,
    /// Footprint of the ready and unacked messages.
    pub bytes: u64,
    pub consumers: Vec<Consumer>,
    /// Index of the consumer to try first (round robin).
    pub cursor: usize,
    pub next_seq: u64,
    pub bindings: BTreeSet<String>,
    pub counters: QueueCounters,
    /// When it was last declared or last lost its last consumer (engine ms).
    pub last_used: u64,
}

impl Queue {
    pub fn new(name: Arc<str>, options: QueueOptions, owner: Option<u64>, now: u64) -> Self {
        Self {
            name,
            options,
            owner,
            ready: VecDeque::new(),
            unacked: 0,
            ready_bytes: 0,
            bytes: 0,
            consumers: Vec::new(),
            cursor: 0,
            next_seq: 0,
            bindings: BTreeSet::new(),
            counters: QueueCounters::default(),
            last_used: now,
        }
    }

    /// When this queue expires for want of use, if it does and is unused now.
    pub fn unused_expiry(&self) -> Option<u64> {
        let expires = self.options.expires_ms?;
        self.consumers.is_empty().then(|| self.last_used.saturating_add(expires))
    }

    /// Whether one more message of `bytes` would exceed `max_length` or
    /// `max_length_bytes`.
    pub fn is_full(&self, bytes: u64) -> bool {
        self.options.max_length.is_some_and(|max| self.ready.len() as u64 >= max)
            || self.options.max_length_bytes.is_some_and(|max| self.ready_bytes.saturating_add(bytes) > max)
    }

    /// Whether the ready messages are past `max_length` or `max_length_bytes`.
    pub fn is_over(&self) -> bool {
        self.options.max_length.is_some_and(|max| self.ready.len() as u64 > max)
            || self.options.max_length_bytes.is_some_and(|max| self.ready_bytes > max)
    }

    /// A new envelope for `message`, last in arrival order.
    pub fn envelope(&mut self, message: Arc<Message>, now: u64) -> Envelope {
        let seq = self.next_seq;
        self.next_seq += 1;
        let expires_at = self.expiry_for(&message, now);
        let bytes = message.footprint();
        Envelope { seq, message, delivery_count: 0, expires_at, enqueued_at: now, bytes }
    }

    /// Appends a new envelope to the ready list; the queue now holds its bytes.
    pub fn push_ready(&mut self, envelope: Envelope) {
        self.ready_bytes += envelope.bytes;
        self.bytes += envelope.bytes;
        self.ready.push_back(envelope);
    }

    /// Takes the oldest ready message (still held by the queue, as unacked
    /// or about to leave).
    pub fn pop_ready(&mut self) -> Option<Envelope> {
        let envelope = self.ready.pop_front()?;
        self.ready_bytes -= envelope.bytes;
        Some(envelope)
    }

    /// A copy taken out of the ready list leaves the queue for good
    /// (acked, dropped, expired or dead-lettered): its bytes are released.
    pub fn forget(&mut self, envelope: &Envelope) {
        self.bytes -= envelope.bytes;
    }

    /// When `message`, entering at `enqueued_at`, expires under this queue's
    /// TTL and its own (the shorter wins).
    pub fn expiry_for(&self, message: &Message, enqueued_at: u64) -> Option<u64> {
        let ttl = match (self.options.message_ttl_ms, message.ttl_ms) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        ttl.map(|ttl| enqueued_at.saturating_add(ttl))
    }

    /// Puts a returned message back at its place in arrival order.
    pub fn requeue(&mut self, envelope: Envelope) {
        self.ready_bytes += envelope.bytes;
        let at = self.ready.partition_point(|e| e.seq < envelope.seq);
        self.ready.insert(at, envelope);
    }

    /// Removes the ready message with `seq` if it is still ready and has
    /// expired by `now` (a policy change may have moved its expiry since the
    /// timer was set).
    pub fn take_expired(&mut self, seq: u64, now: u64) -> Option<Envelope> {
        let at = self.ready.partition_point(|e| e.seq < seq);
        match self.ready.get(at) {
            Some(e) if e.seq == seq && e.expires_at.is_some_and(|t| t <= now) => {
                let envelope = self.ready.remove(at)?;
                self.ready_bytes -= envelope.bytes;
                Some(envelope)
            }
            _ => None,
        }
    }

    /// The index of the next consumer with room, round robin from the cursor.
    pub fn next_consumer(&self) -> Option<usize> {
        // No modulo: search from the cursor to the end, then wrap to the start.
        let cursor = self.cursor.min(self.consumers.len());
        let (head, tail) = self.consumers.split_at(cursor);
        let found = tail.iter().position(Consumer::has_capacity).map(|i| i + cursor);
        found.or_else(|| head.iter().position(Consumer::has_capacity))
    }

    /// A delivery to consumer `id` was settled: one unacked less, one prefetch slot free.
    pub fn release(&mut self, id: u64) {
        self.unacked -= 1;
        if let Some(consumer) = self.consumers.iter_mut().find(|c| c.id == id) {
            consumer.in_flight -= 1;
        }
    }
}
