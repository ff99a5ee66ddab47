//! Declaring, deleting and binding queues.

use super::{ConnId, Engine};
use crate::error::EngineError;
use crate::event::{DeathReason, Event, StoreOp};
use crate::limits::{MAX_BINDING_BYTES_PER_QUEUE, MAX_BINDINGS_PER_QUEUE, check_duration};
use crate::protocol::ServerFrame;
use crate::queue::{Queue, QueueId, QueueOptions};
use crate::topic::{shorten, validate_filter};
use std::sync::Arc;

/// Longest queue name accepted, in bytes.
const MAX_QUEUE_NAME: usize = 255;

impl Engine {
    pub(super) fn declare(
        &mut self,
        conn: ConnId,
        id: u64,
        name: String,
        options: QueueOptions,
        now: u64,
    ) -> Result<(), EngineError> {
        let name = if name.is_empty() { self.generated_name("gen") } else { name };
        validate_queue_name(&name)?;
        validate_options(&name, &options)?;
        let qid = match self.names.get(name.as_str()) {
            Some(&qid) => {
                let q = &self.queues[&qid];
                if q.owner.is_some_and(|owner| owner != conn) {
                    return Err(EngineError::QueueLocked(name));
                }
                if q.options != options {
                    return Err(EngineError::QueueExistsDifferently(name));
                }
                self.touch_queue(qid, now);
                qid
            }
            None => {
                self.room_for_queue()?;
                self.create_queue(conn, name.into(), options, now)
            }
        };
        let q = &self.queues[&qid];
        let reply = ServerFrame::Declared {
            id,
            queue: q.name.to_string(),
            ready: q.ready.len() as u64,
            consumers: q.consumers.len() as u64,
        };
        self.send(conn, reply);
        Ok(())
    }

    pub(super) fn create_queue(&mut self, conn: ConnId, name: Arc<str>, options: QueueOptions, now: u64) -> QueueId {
        let qid = self.next_queue_id;
        self.next_queue_id += 1;
        let owner = options.exclusive.then_some(conn);
        if let Some(c) = owner.and_then(|owner| self.conns.get_mut(&owner)) {
            c.exclusive.push(qid);
        }
        if options.durable {
            self.store(StoreOp::DeclareQueue { name: name.clone(), options: options.clone() });
        }
        self.names.insert(name.clone(), qid);
        self.queues.insert(qid, Box::new(Queue::new(name.clone(), options, owner, now)));
        self.touch_queue(qid, now);
        self.emit(|| Event::QueueDeclared { queue: name });
        qid
    }

    /// Refuses a new queue when the engine holds [`EngineConfig::max_queues`](super::EngineConfig::max_queues).
    pub(super) fn room_for_queue(&self) -> Result<(), EngineError> {
        let max = self.config.max_queues;
        if self.queues.len() >= max {
            return Err(EngineError::LimitReached(format!(
                "this broker holds at most {max} queues; delete some first"
            )));
        }
        Ok(())
    }

    pub(super) fn generated_name(&mut self, kind: &str) -> String {
        loop {
            let name = format!("hearth.{kind}.{}", self.next_generated_name);
            self.next_generated_name += 1;
            if !self.names.contains_key(name.as_str()) {
                return name;
            }
        }
    }

    pub(super) fn delete(
        &mut self,
        conn: ConnId,
        id: u64,
        name: &str,
        if_empty: bool,
        now: u64,
    ) -> Result<(), EngineError> {
        let qid = self.queue_for(conn, name)?;
        let q = &self.queues[&qid];
        let messages = q.ready.len() as u64 + q.unacked;
        if if_empty && messages > 0 {
            return Err(EngineError::QueueNotEmpty { name: name.to_owned(), messages });
        }
        self.delete_queue(qid, now);
        self.send(conn, ServerFrame::Ok { id });
        Ok(())
    }

    /// Answers whether `name` exists, as `declare` would, changing nothing.
    pub(super) fn inspect_queue(&mut self, conn: ConnId, id: u64, name: &str) -> Result<(), EngineError> {
        let qid = self.queue_for(conn, name)?;
        let q = &self.queues[&qid];
        let reply = ServerFrame::Declared {
            id,
            queue: q.name.to_string(),
            ready: q.ready.len() as u64,
            consumers: q.consumers.len() as u64,
        };
        self.send(conn, reply);
        Ok(())
    }

    /// Drops every ready message of a queue; unacked ones stay with their
    /// consumers (and come back if nacked), as RabbitMQ's purge does.
    pub(super) fn purge(&mut self, conn: ConnId, id: u64, name: &str) -> Result<(), EngineError> {
        let qid = self.queue_for(conn, name)?;
        let q = self.queues.get_mut(&qid).expect("queue_for found it");
        let mut purged = Vec::with_capacity(q.ready.len());
        while let Some(envelope) = q.pop_ready() {
            q.forget(&envelope);
            self.queued_bytes -= envelope.bytes;
            purged.push(envelope);
        }
        let (queue, durable) = (q.name.clone(), q.options.durable);
        q.counters.dropped += purged.len() as u64;
        self.counters.dropped += purged.len() as u64;
        for envelope in &purged {
            if durable {
                self.store(StoreOp::Remove { queue: queue.clone(), seq: envelope.seq });
            }
            let message_id = envelope.message.id;
            self.emit(|| Event::Dropped { queue: queue.clone(), message_id, reason: DeathReason::QueueDeleted });
        }
        self.send(conn, ServerFrame::Purged { id, messages: purged.len() as u64 });
        Ok(())
    }

    /// Deletes a queue: consumers are cancelled, every message in it dropped.
    pub(super) fn delete_queue(&mut self, qid: QueueId, _now: u64) {
        let Some(mut q) = self.queues.remove(&qid) else { return };
        self.queued_bytes -= q.bytes;
        self.names.remove(&q.name);
        for filter in &q.bindings {
            self.trie.remove(filter, qid);
        }
        for consumer in std::mem::take(&mut q.consumers) {
            self.cancel(&q.name, consumer.conn, consumer.id);
        }
        if let Some(owner) = q.owner.and_then(|owner| self.conns.get_mut(&owner)) {
            owner.exclusive.retain(|id| *id != qid);
        }
        for envelope in std::mem::take(&mut q.ready) {
            self.dropped_with_queue(&q.name, envelope.message.id);
        }
        if q.options.durable {
            self.store(StoreOp::DeleteQueue { name: q.name.clone() });
        }
        self.emit(|| Event::QueueDeleted { queue: q.name });
    }

    /// Cancels a consumer of a deleted queue: its unacked deliveries are
    /// dropped with the queue, and its client is told.
    fn cancel(&mut self, queue: &Arc<str>, conn: ConnId, consumer: u64) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.consumers.retain(|(id, _)| *id != consumer);
        let mut tags: Vec<u64> = c.in_flight.iter().filter(|(_, f)| f.consumer == consumer).map(|(t, _)| *t).collect();
        tags.sort_unstable();
        let lost: Vec<u64> = tags.iter().filter_map(|t| c.in_flight.remove(t)).map(|f| f.envelope.message.id).collect();
        let reason = format!("queue `{queue}` was deleted");
        self.send(conn, ServerFrame::Cancelled { consumer, reason });
        for message_id in lost {
            self.dropped_with_queue(queue, message_id);
        }
    }

    /// Counts and reports one copy dropped because its queue was deleted.
    fn dropped_with_queue(&mut self, queue: &Arc<str>, message_id: u64) {
        self.counters.dropped += 1;
        self.emit(|| Event::Dropped { queue: queue.clone(), message_id, reason: DeathReason::QueueDeleted });
    }

    pub(super) fn bind(
        &mut self,
        conn: ConnId,
        id: u64,
        name: &str,
        filter: String,
        retained: bool,
        now: u64,
    ) -> Result<(), EngineError> {
        validate_filter(&filter)?;
        let qid = self.queue_for(conn, name)?;
        let q = &self.queues[&qid];
        if !q.bindings.contains(&filter) {
            let bytes: usize = q.bindings.iter().map(String::len).sum::<usize>() + filter.len();
            if q.bindings.len() >= MAX_BINDINGS_PER_QUEUE || bytes > MAX_BINDING_BYTES_PER_QUEUE {
                return Err(EngineError::LimitReached(format!(
                    "a queue is bound with at most {MAX_BINDINGS_PER_QUEUE} filters of {MAX_BINDING_BYTES_PER_QUEUE} bytes in all"
                )));
            }
        }
        let replay = retained.then(|| filter.clone());
        self.bind_queue(qid, filter);
        self.send(conn, ServerFrame::Ok { id });
        if let Some(filter) = replay {
            // For the connection's consumer of the queue, if it has one.
            let consumer =
                self.conns.get(&conn).and_then(|c| c.consumers.iter().find(|(_, q)| *q == qid)).map(|(id, _)| *id);
            self.replay_retained(conn, consumer.unwrap_or(0), qid, Some(&filter), now);
        }
        Ok(())
    }

    pub(super) fn bind_queue(&mut self, qid: QueueId, filter: String) {
        let Some(q) = self.queues.get_mut(&qid) else { return };
        if !q.bindings.insert(filter.clone()) {
            return;
        }
        self.trie.insert(&filter, qid);
        if q.options.durable {
            let queue = q.name.clone();
            self.store(StoreOp::Bind { queue, filter });
        }
    }

    pub(super) fn unbind(&mut self, conn: ConnId, id: u64, name: &str, filter: &str) -> Result<(), EngineError> {
        let qid = self.queue_for(conn, name)?;
        let q = self.queues.get_mut(&qid).ok_or_else(|| EngineError::QueueNotFound(name.to_owned()))?;
        if q.bindings.remove(filter) {
            self.trie.remove(filter, qid);
            if q.options.durable {
                let queue = q.name.clone();
                self.store(StoreOp::Unbind { queue, filter: filter.to_owned() });
            }
        }
        self.send(conn, ServerFrame::Ok { id });
        Ok(())
    }

    /// The queue named `name`, if `conn` may use it.
    pub(super) fn queue_for(&self, conn: ConnId, name: &str) -> Result<QueueId, EngineError> {
        let qid = *self.names.get(name).ok_or_else(|| EngineError::QueueNotFound(shorten(name)))?;
        if self.queues[&qid].owner.is_some_and(|owner| owner != conn) {
            return Err(EngineError::QueueLocked(name.to_owned()));
        }
        Ok(qid)
    }
}

pub(super) fn validate_queue_name(name: &str) -> Result<(), EngineError> {
    let bad = |why| Err(EngineError::InvalidQueueName { name: shorten(name), why });
    if name.len() > MAX_QUEUE_NAME {
        return bad("a queue name is at most 255 bytes");
    }
    if name.chars().any(|c| c.is_control() || c.is_whitespace()) {
        return bad("a queue name cannot contain spaces or control characters");
    }
    Ok(())
}

pub(super) fn validate_options(name: &str, options: &QueueOptions) -> Result<(), EngineError> {
    if options.dead_letter.as_deref() == Some(name) {
        return Err(EngineError::InvalidOption("a queue cannot be its own dead-letter queue".into()));
    }
    if let Some(ttl) = options.message_ttl_ms {
        check_duration("message_ttl_ms", ttl)?;
    }
    if let Some(expires) = options.expires_ms {
        check_duration("expires_ms", expires)?;
    }
    if options.max_deliveries == Some(0) {
        return Err(EngineError::InvalidOption("max_deliveries must be at least 1".into()));
    }
    if let Some(dead_letter) = &options.dead_letter {
        validate_queue_name(dead_letter)?;
    }
    if let Some(topic) = &options.dead_letter_topic {
        if options.dead_letter.is_some() {
            return Err(EngineError::InvalidOption("give `dead_letter` or `dead_letter_topic`, not both".into()));
        }
        crate::topic::validate_topic(topic)?;
    }
    Ok(())
}
