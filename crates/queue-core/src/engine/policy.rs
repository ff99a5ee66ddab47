//! Changing an existing queue's limits: max length, overflow, TTL, dead
//! letters and delivery limit. Declaring fixes a queue's options (a declare
//! with different ones is refused, as in RabbitMQ); a policy is how an
//! operator, or the simulator's learner, changes them afterwards.

use super::{Engine, Output};
use crate::error::EngineError;
use crate::event::{DeathReason, StoreOp};
use crate::queue::{Overflow, QueueId, QueueOptions};
use std::cmp::Reverse;

impl Engine {
    /// Applies new limits to the existing queue `name` at time `now`, as if
    /// they had been in force when each ready message arrived:
    ///
    /// * `message_ttl_ms`: every ready message's expiry is recomputed from the
    ///   time it entered the queue; those already past it expire now
    ///   (dead-lettered if the queue has a dead-letter queue). Unacked
    ///   messages keep their expiry until they come back.
    /// * `max_length` with `drop-oldest`: the oldest ready messages past the
    ///   new limit are dropped or dead-lettered now. With `reject-publish`
    ///   nothing already in the queue is removed; new messages are refused
    ///   until it is below the limit.
    /// * `dead_letter`, `max_deliveries`: apply to the next message that dies
    ///   or comes back.
    /// * `expires_ms`: counted from the queue's last use; an unused queue
    ///   already past it is deleted now.
    ///
    /// `durable`, `exclusive` and `auto_delete` describe what a queue is, not
    /// a limit, and cannot change: asking to is an [`EngineError::InvalidOption`].
    /// Outputs (events, store operations) are read with [`Engine::poll_output`].
    pub fn set_queue_policy(&mut self, now: u64, name: &str, options: QueueOptions) -> Result<(), EngineError> {
        let now = self.advance(now);
        self.fire_timers(now);
        let qid = *self.names.get(name).ok_or_else(|| EngineError::QueueNotFound(crate::topic::shorten(name)))?;
        super::queues::validate_options(name, &options)?;
        let q = self.queues.get_mut(&qid).ok_or_else(|| EngineError::QueueNotFound(name.to_owned()))?;
        let o = &q.options;
        if (o.durable, o.exclusive, o.auto_delete) != (options.durable, options.exclusive, options.auto_delete) {
            return Err(EngineError::InvalidOption(
                "a policy changes limits (max length, overflow, TTL, dead letter, max deliveries), \
                 not durable, exclusive or auto_delete"
                    .into(),
            ));
        }
        if options.durable {
            let name = q.name.clone();
            self.outputs.push_back(Output::Store(StoreOp::DeclareQueue { name, options: options.clone() }));
        }
        let q = self.queues.get_mut(&qid).ok_or_else(|| EngineError::QueueNotFound(name.to_owned()))?;
        q.options = options;
        if let Some(at) = q.unused_expiry() {
            self.queue_expiry.insert((at, qid));
        }
        self.recompute_expiry(qid);
        if self.queues[&qid].options.overflow == Overflow::DropOldest {
            self.trim_to_limit(qid, now);
        }
        self.fire_timers(now);
        self.dispatch(qid, now);
        Ok(())
    }

    /// Recomputes the expiry of every ready message of `qid` and schedules it.
    fn recompute_expiry(&mut self, qid: QueueId) {
        let Some(q) = self.queues.get_mut(&qid) else { return };
        for i in 0..q.ready.len() {
            let e = &q.ready[i];
            let expires_at = q.expiry_for(&e.message, e.enqueued_at);
            let seq = e.seq;
            q.ready[i].expires_at = expires_at;
            if let Some(at) = expires_at {
                self.expiry.push(Reverse((at, qid, seq)));
            }
        }
    }

    /// Drops (or dead-letters) the oldest ready messages past `max_length`
    /// or `max_length_bytes`.
    fn trim_to_limit(&mut self, qid: QueueId, now: u64) {
        loop {
            let Some(q) = self.queues.get_mut(&qid) else { return };
            let Some(oldest) = q.is_over().then(|| q.pop_ready()).flatten() else { return };
            self.discard(qid, oldest, DeathReason::MaxLength, now);
        }
    }
}
