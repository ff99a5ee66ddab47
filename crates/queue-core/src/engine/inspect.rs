//! Read-only views of one queue's contents, for dashboards and the simulator:
//! the ready messages in order and each consumer's unacked deliveries.
//! Counters alone cannot draw a FIFO; these views can.

use super::Engine;
use crate::message::Message;
use crate::protocol::AckMode;
use std::sync::Arc;

/// A queue's contents at one instant.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueContents {
    /// The queue's name.
    pub name: Arc<str>,
    /// Ready messages in delivery order (at most the `limit` asked for).
    pub ready: Vec<ReadyMessage>,
    /// How many ready messages there are in all (may exceed `ready.len()`).
    pub ready_total: u64,
    /// Consumers in round-robin order.
    pub consumers: Vec<ConsumerContents>,
}

/// One ready message.
#[derive(Debug, Clone, PartialEq)]
pub struct ReadyMessage {
    /// The message (shared, not copied).
    pub message: Arc<Message>,
    /// Times it was delivered before (non-zero: it will be marked redelivered).
    pub delivery_count: u32,
    /// When it expires in this queue, if it does (engine ms).
    pub expires_at: Option<u64>,
}

/// One consumer and the deliveries it holds.
#[derive(Debug, Clone, PartialEq)]
pub struct ConsumerContents {
    /// Consumer id.
    pub id: u64,
    /// Its connection.
    pub conn: u64,
    /// Its prefetch window.
    pub prefetch: u32,
    /// Its ack mode.
    pub ack: AckMode,
    /// Unacked deliveries as (delivery tag, message id, redelivered), by tag.
    pub unacked: Vec<(u64, u64, bool)>,
}

impl Engine {
    /// The contents of queue `name`: its first `limit` ready messages and each
    /// consumer's unacked deliveries. Costs O(limit + unacked); `None` if
    /// there is no such queue.
    pub fn queue_contents(&self, name: &str, limit: usize) -> Option<QueueContents> {
        let q = self.queues.get(self.names.get(name)?)?;
        let ready = q
            .ready
            .iter()
            .take(limit)
            .map(|e| ReadyMessage {
                message: e.message.clone(),
                delivery_count: e.delivery_count,
                expires_at: e.expires_at,
            })
            .collect();
        let consumers = q
            .consumers
            .iter()
            .map(|k| {
                let mut unacked: Vec<(u64, u64, bool)> = self
                    .conns
                    .get(&k.conn)
                    .map(|c| {
                        c.in_flight
                            .iter()
                            .filter(|(_, f)| f.consumer == k.id)
                            .map(|(tag, f)| (*tag, f.envelope.message.id, f.envelope.delivery_count > 1))
                            .collect()
                    })
                    .unwrap_or_default();
                unacked.sort_unstable();
                ConsumerContents { id: k.id, conn: k.conn, prefetch: k.prefetch, ack: k.ack, unacked }
            })
            .collect();
        Some(QueueContents { name: q.name.clone(), ready, ready_total: q.ready.len() as u64, consumers })
    }
}
