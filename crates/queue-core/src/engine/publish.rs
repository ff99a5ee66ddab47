//! Publishing: routing a message to queues, overflow, retained state,
//! dead-lettering.

use super::{ConnId, Engine};
use crate::error::EngineError;
use crate::event::{DeathReason, Event, StoreOp};
use crate::limits::{check_duration, check_headers};
use crate::message::{Message, Payload, SharedHeaders};
use crate::protocol::{ServerFrame, WILL_TTL_HEADER, Will};
use crate::queue::{Envelope, Overflow, QueueId};
use crate::topic::validate_topic;
use std::cmp::Reverse;
use std::sync::Arc;

/// A publish request, as read from a frame or a will.
#[derive(Debug)]
pub(super) struct Publish {
    pub topic: Option<Arc<str>>,
    pub queue: Option<String>,
    pub payload: Payload,
    pub headers: SharedHeaders,
    pub retain: bool,
    pub ttl_ms: Option<u64>,
}

/// The header counting how often a message was dead-lettered.
const DEATH_COUNT: &str = "x-death-count";

impl Engine {
    pub(super) fn publish_frame(
        &mut self,
        conn: ConnId,
        id: Option<u64>,
        publish: Publish,
        now: u64,
    ) -> Result<(), EngineError> {
        let routed = self.publish(publish, now)?;
        if let Some(c) = self.conns.get_mut(&conn) {
            c.published += 1;
        }
        if self.blocked {
            self.tell_blocked(conn);
        }
        if let Some(id) = id {
            self.send(conn, ServerFrame::Confirm { id, routed });
        }
        Ok(())
    }

    pub(super) fn publish_will(&mut self, mut will: Will, now: u64) {
        // Checked at `hello`: a TTL header that is there is a number.
        let ttl_ms = will.headers.remove(WILL_TTL_HEADER).and_then(|ttl| ttl.parse().ok());
        let publish = Publish {
            topic: Some(will.topic.into()),
            queue: None,
            payload: will.payload,
            headers: will.headers.into(),
            retain: will.retain,
            ttl_ms,
        };
        // The will's topic was validated at `hello`; nothing else can fail.
        let _ = self.publish(publish, now);
    }

    /// Routes one message; returns how many queues took a copy.
    fn publish(&mut self, p: Publish, now: u64) -> Result<u32, EngineError> {
        if let Some(ttl) = p.ttl_ms {
            check_duration("ttl_ms", ttl)?;
        }
        check_headers(&p.headers)?;
        let mut targets = std::mem::take(&mut self.route_scratch);
        targets.clear();
        let mut direct = false;
        let topic: Arc<str> = match (p.topic, p.queue) {
            (Some(topic), None) => {
                validate_topic(&topic)?;
                self.trie.for_each_match(&topic, |qid| targets.push(qid));
                if targets.len() > 1 {
                    targets.sort_unstable();
                    targets.dedup();
                }
                topic
            }
            (None, Some(queue)) => {
                if p.retain {
                    return Err(EngineError::InvalidOption("`retain` needs a topic, not a queue".into()));
                }
                let qid = self.queue_named(&queue)?;
                targets.push(qid);
                direct = true;
                self.queues[&qid].name.clone()
            }
            _ => {
                return Err(EngineError::ProtocolViolation(
                    "`publish` needs exactly one of `topic` (routed by bindings) and `queue` (straight to it)".into(),
                ));
            }
        };
        let message = Arc::new(Message {
            id: self.next_message_id,
            topic: topic.clone(),
            payload: p.payload,
            headers: p.headers,
            published_at: now,
            ttl_ms: p.ttl_ms,
        });
        self.next_message_id += 1;
        self.counters.published += 1;
        if p.retain {
            self.retain(message.clone());
        }
        let mut routed = 0;
        for &qid in &targets {
            if self.enqueue(qid, message.clone(), now) {
                routed += 1;
            }
        }
        let target_count = targets.len();
        self.route_scratch = targets;
        self.counters.routed += u64::from(routed);
        let message_id = message.id;
        if target_count == 0 {
            self.counters.unroutable += 1;
            self.emit(|| Event::Unroutable { message_id, topic });
        } else {
            self.emit(|| Event::Published { message_id, topic: topic.clone(), routed });
            if routed == 0 && direct {
                return Err(EngineError::QueueFull(topic.to_string()));
            }
        }
        Ok(routed)
    }

    /// Anyone may publish into a queue, exclusive or not; only its owner consumes it.
    fn queue_named(&self, name: &str) -> Result<QueueId, EngineError> {
        self.names.get(name).copied().ok_or_else(|| EngineError::QueueNotFound(crate::topic::shorten(name)))
    }

    fn retain(&mut self, message: Arc<Message>) {
        let topic = message.topic.clone();
        let cleared = message.payload.is_empty();
        let added = if cleared { 0 } else { message.footprint() };
        let op = if cleared {
            StoreOp::Unretain { topic: topic.clone() }
        } else {
            StoreOp::Retain { message: message.clone() }
        };
        let old = if cleared { self.retained.remove(&topic) } else { self.retained.insert(topic.clone(), message) };
        self.retained_bytes = self.retained_bytes + added - old.map_or(0, |m| m.footprint());
        self.store(op);
        self.emit(|| Event::Retained { topic, cleared });
    }

    /// Puts a copy in a queue, applying max length. Returns false if refused.
    pub(super) fn enqueue(&mut self, qid: QueueId, message: Arc<Message>, now: u64) -> bool {
        let Some(q) = self.queues.get_mut(&qid) else { return false };
        if q.options.overflow == Overflow::RejectPublish && q.is_full(message.footprint()) {
            q.counters.refused += 1;
            self.counters.refused += 1;
            let queue = q.name.clone();
            self.emit(|| Event::Refused { queue, message_id: message.id });
            return false;
        }
        let envelope = q.envelope(message, now);
        if let Some(at) = envelope.expires_at {
            self.expiry.push(Reverse((at, qid, envelope.seq)));
        }
        q.counters.enqueued += 1;
        let message_id = envelope.message.id;
        let stored = q.options.durable.then(|| (q.name.clone(), envelope.seq, envelope.message.clone()));
        let enqueued_at = envelope.enqueued_at;
        self.queued_bytes += envelope.bytes;
        q.push_ready(envelope);
        if let Some((queue, seq, message)) = stored {
            self.store(StoreOp::Append { queue, seq, enqueued_at, message });
        }
        self.emit_for_queue(qid, |queue| Event::Enqueued { queue, message_id });
        self.dispatch(qid, now);
        self.trim(qid, now);
        true
    }

    /// Drop-oldest overflow: after dispatching, drop ready messages past max length.
    fn trim(&mut self, qid: QueueId, now: u64) {
        loop {
            let Some(q) = self.queues.get_mut(&qid) else { return };
            if !q.is_over() {
                return;
            }
            let Some(oldest) = q.pop_ready() else { return };
            self.discard(qid, oldest, DeathReason::MaxLength, now);
        }
    }

    /// A copy leaves `qid` without an ack: to the dead-letter queue if there is
    /// one that will take it, else dropped (or expired).
    pub(super) fn discard(&mut self, qid: QueueId, envelope: Envelope, reason: DeathReason, now: u64) {
        let Some(q) = self.queues.get_mut(&qid) else { return };
        let queue = q.name.clone();
        let durable = q.options.durable;
        let hops: u32 = envelope.message.headers.get(DEATH_COUNT).and_then(|n| n.parse().ok()).unwrap_or(0);
        // The copy is checked against each dead-letter queue's limits as it
        // will enter it: with its `x-death-*` headers, a larger footprint.
        let mut targets = Vec::new();
        let mut dead = None;
        // A copy withheld from its reader goes nowhere else either.
        if hops < self.config.max_dead_letter_hops && reason != DeathReason::NotAuthorized {
            let mut copy = dead_copy(&envelope.message, reason, &queue, hops);
            if let Some(name) = q.options.dead_letter.as_deref() {
                targets.extend(self.names.get(name).copied());
            } else if let Some(topic) = q.options.dead_letter_topic.as_deref() {
                self.trie.for_each_match(topic, |dlq| targets.push(dlq));
                targets.sort_unstable();
                targets.dedup();
                copy.topic = topic.into();
            }
            let copy = Arc::new(copy);
            targets.retain(|dlq| {
                let d = &self.queues[dlq];
                *dlq != qid && !(d.is_full(copy.footprint()) && d.options.overflow == Overflow::RejectPublish)
            });
            dead = Some(copy);
        }
        let message_id = envelope.message.id;
        if durable {
            self.store(StoreOp::Remove { queue: queue.clone(), seq: envelope.seq });
        }
        let q = self.queues.get_mut(&qid).expect("queue looked up above");
        q.forget(&envelope);
        self.queued_bytes -= envelope.bytes;
        // How many dead-letter queues took the copy: entering one can make
        // another full (its overflow dead-letters into it), so count, not assume.
        let mut took = 0;
        if let Some(dead) = dead {
            for dlq in targets {
                let to = self.queues[&dlq].name.clone();
                let queue = queue.clone();
                self.emit(|| Event::DeadLettered { queue, to, message_id, reason });
                took += u64::from(self.enqueue(dlq, dead.clone(), now));
            }
        }
        let Some(q) = self.queues.get_mut(&qid) else { return };
        match took {
            // Moved: the first copy is this one; a dead-letter topic that
            // reaches several queues routes the others as new copies.
            1.. => {
                q.counters.dead_lettered += 1;
                self.counters.dead_lettered += 1;
                self.counters.routed += took - 1;
            }
            0 if reason == DeathReason::Expired => {
                q.counters.expired += 1;
                self.counters.expired += 1;
                self.emit(|| Event::Dropped { queue, message_id, reason });
            }
            0 => {
                q.counters.dropped += 1;
                self.counters.dropped += 1;
                self.emit(|| Event::Dropped { queue, message_id, reason });
            }
        }
    }
}

/// The copy of `message` that dead-lettering from `queue` makes: its
/// headers say why, from where, and how many times; it has no TTL of its own.
fn dead_copy(message: &Message, reason: DeathReason, queue: &str, hops: u32) -> Message {
    let mut headers = message.headers.to_headers();
    headers.insert("x-death-reason".into(), reason.as_str().into());
    headers.insert("x-death-queue".into(), queue.to_owned());
    headers.insert(DEATH_COUNT.into(), (hops + 1).to_string());
    Message { headers: headers.into(), ttl_ms: None, ..message.clone() }
}
