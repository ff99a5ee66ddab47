//! Recovery: an engine rebuilt from what a durable store kept.
//!
//! The store (a crate of its own; the engine does no IO) replays its files
//! into a [`Recovered`] and hands it to [`Engine::restore`] before the
//! engine takes any input. Restoring emits no [`StoreOp`](crate::StoreOp):
//! what it rebuilds is already on disk.

use super::Engine;
use crate::message::Message;
use crate::protocol::Will;
use crate::queue::{Envelope, QueueOptions};
use crate::topic::validate_filter;
use std::cmp::Reverse;
use std::sync::Arc;

/// Everything a store kept, as the engine takes it back.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Recovered {
    /// Durable queues, each with its bindings and messages.
    pub queues: Vec<StoredQueue>,
    /// Retained messages, one per topic.
    pub retained: Vec<Message>,
    /// The engine gives its next message this id or a higher one, so ids
    /// stay increasing across restarts.
    pub next_message_id: u64,
    /// Delayed wills that were waiting, by client id.
    pub wills: Vec<StoredWill>,
}

/// A delayed will as it was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredWill {
    /// The client id it waits for.
    pub client_id: String,
    /// The will.
    pub will: Will,
    /// When it is due (engine ms); one already past is published at the first tick.
    pub due: u64,
    /// The user its client logged in as.
    pub user: Option<String>,
}

/// A durable queue as it was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredQueue {
    /// Its name.
    pub name: String,
    /// Its options (durable).
    pub options: QueueOptions,
    /// Its topic filters.
    pub bindings: Vec<String>,
    /// Its messages, in `seq` order.
    pub messages: Vec<StoredMessage>,
}

/// A message in a durable queue as it was stored.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredMessage {
    /// Its position in the queue.
    pub seq: u64,
    /// Deliveries so far (one or more: the next one is a redelivery).
    pub delivery_count: u32,
    /// When it entered the queue (engine ms); its TTL counts from here.
    pub enqueued_at: u64,
    /// The message.
    pub message: Message,
}

/// What [`Engine::restore`] could not take back.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Skipped {
    /// Queues refused (an invalid name or options, or past the queue limit).
    pub queues: Vec<String>,
    /// Bindings refused (an invalid filter).
    pub bindings: Vec<String>,
}

impl Engine {
    /// Takes back what a durable store kept, at time `now`: durable queues
    /// with their options, bindings and messages (ready again, in their
    /// order; those delivered before keep their delivery count, so their
    /// next delivery is marked redelivered), the retained messages, and the
    /// message id to go on from, and the delayed wills that were waiting.
    /// Call it on a new engine, before any input.
    /// Messages whose TTL ran out while the broker was down expire at the
    /// first tick. Returns what it could not take back (the caller logs it).
    pub fn restore(&mut self, now: u64, recovered: Recovered) -> Skipped {
        let now = self.advance(now);
        let mut skipped = Skipped::default();
        self.next_message_id = self.next_message_id.max(recovered.next_message_id);
        for stored in recovered.queues {
            let valid = super::queues::validate_queue_name(&stored.name).is_ok()
                && super::queues::validate_options(&stored.name, &stored.options).is_ok()
                && !self.names.contains_key(stored.name.as_str())
                && self.room_for_queue().is_ok();
            if !valid {
                skipped.queues.push(stored.name);
                continue;
            }
            self.restore_queue(stored, now, &mut skipped);
        }
        for message in recovered.retained {
            self.next_message_id = self.next_message_id.max(message.id + 1);
            self.retained_bytes += message.footprint();
            self.retained.insert(message.topic.clone(), Arc::new(message));
        }
        for stored in recovered.wills {
            let delayed = super::wills::Delayed {
                will: Arc::new(stored.will),
                due: stored.due,
                user: stored.user.map(Arc::from),
                conn: 0,
            };
            self.delayed_wills.insert(stored.client_id.into(), delayed);
        }
        self.outputs.retain(|output| !matches!(output, super::Output::Store(_)));
        skipped
    }

    fn restore_queue(&mut self, stored: StoredQueue, now: u64, skipped: &mut Skipped) {
        let qid = self.next_queue_id;
        self.next_queue_id += 1;
        let name: Arc<str> = stored.name.into();
        self.names.insert(name.clone(), qid);
        self.queues.insert(qid, Box::new(crate::queue::Queue::new(name, stored.options, None, now)));
        self.touch_queue(qid, now);
        for filter in stored.bindings {
            if validate_filter(&filter).is_ok() {
                self.bind_queue(qid, filter);
            } else {
                skipped.bindings.push(filter);
            }
        }
        let mut messages = stored.messages;
        messages.sort_by_key(|m| m.seq);
        let q = self.queues.get_mut(&qid).expect("inserted above");
        for stored in messages {
            self.next_message_id = self.next_message_id.max(stored.message.id + 1);
            let message = Arc::new(stored.message);
            let expires_at = q.expiry_for(&message, stored.enqueued_at);
            let bytes = message.footprint();
            let envelope = Envelope {
                seq: stored.seq,
                message,
                delivery_count: stored.delivery_count,
                expires_at,
                enqueued_at: stored.enqueued_at,
                bytes,
            };
            q.next_seq = q.next_seq.max(stored.seq + 1);
            if let Some(at) = expires_at {
                self.expiry.push(Reverse((at, qid, stored.seq)));
            }
            self.queued_bytes += bytes;
            q.push_ready(envelope);
        }
    }

    /// The id the next published message will get (a store records it so
    /// that ids keep increasing across restarts).
    pub fn next_message_id(&self) -> u64 {
        self.next_message_id
    }
}
