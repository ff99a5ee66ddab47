//! Consuming: subscriptions, round-robin dispatch within prefetch windows,
//! acks, nacks and redelivery.

use super::{ConnId, Connection, Engine, InFlight};
use crate::error::EngineError;
use crate::event::{DeathReason, Event, StoreOp};
use crate::limits::MAX_CONSUMERS_PER_CONNECTION;
use crate::protocol::{AckMode, Delivery, ServerFrame};
use crate::queue::{Consumer, Envelope, Queue, QueueId, QueueOptions};
use crate::stats::Counters;
use crate::topic::{matches, validate_filter};

impl Engine {
    #[allow(clippy::too_many_arguments)]
    pub(super) fn subscribe(
        &mut self,
        conn: ConnId,
        id: u64,
        queue: Option<String>,
        topic: Option<String>,
        prefetch: Option<u32>,
        ack: AckMode,
        now: u64,
    ) -> Result<(), EngineError> {
        let prefetch = prefetch.unwrap_or(self.config.default_prefetch);
        if prefetch == 0 || prefetch > self.config.max_prefetch {
            let max = self.config.max_prefetch;
            return Err(EngineError::InvalidOption(format!("prefetch must be between 1 and {max}, got {prefetch}")));
        }
        if self.conns.get(&conn).is_some_and(|c| c.consumers.len() >= MAX_CONSUMERS_PER_CONNECTION) {
            return Err(EngineError::LimitReached(format!(
                "a connection holds at most {MAX_CONSUMERS_PER_CONNECTION} consumers; unsubscribe some first"
            )));
        }
        let qid = match (queue, topic) {
            (Some(queue), None) => self.queue_for(conn, &queue)?,
            (None, Some(filter)) => {
                validate_filter(&filter)?;
                self.room_for_queue()?;
                let name = self.generated_name("sub");
                let options = QueueOptions { exclusive: true, auto_delete: true, ..QueueOptions::default() };
                let qid = self.create_queue(conn, name.into(), options, now);
                self.bind_queue(qid, filter);
                qid
            }
            _ => {
                return Err(EngineError::ProtocolViolation(
                    "`subscribe` needs exactly one of `queue` and `topic`".into(),
                ));
            }
        };
        let consumer = self.next_consumer_id;
        self.next_consumer_id += 1;
        let q = self.queues.get_mut(&qid).ok_or_else(|| EngineError::QueueNotFound(String::new()))?;
        q.consumers.push(Consumer { id: consumer, conn, prefetch, ack, in_flight: 0 });
        let queue = q.name.clone();
        if let Some(c) = self.conns.get_mut(&conn) {
            c.consumers.push((consumer, qid));
        }
        self.send(conn, ServerFrame::Subscribed { id, consumer, queue: queue.to_string() });
        self.emit(|| Event::ConsumerAdded { queue, consumer, conn });
        self.replay_retained(conn, consumer, qid, None, now);
        self.dispatch(qid, now);
        Ok(())
    }

    /// Sends a new consumer the retained message of every topic its queue's
    /// bindings match (or only `filter`, one binding just made): the device
    /// state it would otherwise wait for. Expired ones are not sent.
    pub(super) fn replay_retained(
        &mut self,
        conn: ConnId,
        consumer: u64,
        qid: QueueId,
        filter: Option<&str>,
        now: u64,
    ) {
        let Some(q) = self.queues.get(&qid) else { return };
        if q.bindings.is_empty() || self.retained.is_empty() {
            return;
        }
        let wanted = |topic: &str| match filter {
            Some(filter) => matches(filter, topic),
            None => q.bindings.iter().any(|f| matches(f, topic)),
        };
        let Some(c) = self.conns.get(&conn) else { return };
        let acl = self.acl.as_deref();
        let own = q.owner == Some(conn);
        let frames: Vec<ServerFrame> = self
            .retained
            .values()
            .filter(|m| !m.expired(now) && wanted(&m.topic))
            .filter(|m| !Self::withholds(acl, c, own, &m.topic))
            .map(|m| ServerFrame::Deliver(Delivery::of(m, consumer, None, q.name.clone(), 1, true)))
            .collect();
        for frame in frames {
            self.send(conn, frame);
        }
    }

    pub(super) fn unsubscribe(&mut self, conn: ConnId, id: u64, consumer: u64, now: u64) -> Result<(), EngineError> {
        let owned = self.conns.get(&conn).is_some_and(|c| c.consumers.iter().any(|(cid, _)| *cid == consumer));
        if !owned {
            return Err(EngineError::UnknownConsumer(consumer));
        }
        self.remove_consumer(conn, consumer, now);
        self.send(conn, ServerFrame::Ok { id });
        Ok(())
    }

    /// Detaches a consumer; its unacked messages return to the queue, marked
    /// redelivered. An auto-delete queue left without consumers is deleted.
    pub(super) fn remove_consumer(&mut self, conn: ConnId, consumer: u64, now: u64) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        let Some(pos) = c.consumers.iter().position(|(cid, _)| *cid == consumer) else { return };
        let (_, qid) = c.consumers.remove(pos);
        let tags: Vec<u64> = c.in_flight.iter().filter(|(_, f)| f.consumer == consumer).map(|(t, _)| *t).collect();
        let mut returned: Vec<Envelope> =
            tags.iter().filter_map(|t| c.in_flight.remove(t)).map(|f| f.envelope).collect();
        returned.sort_by_key(|e| e.seq);
        let Some(q) = self.queues.get_mut(&qid) else { return };
        if let Some(i) = q.consumers.iter().position(|k| k.id == consumer) {
            q.consumers.remove(i);
            if q.cursor > i {
                q.cursor -= 1;
            }
            if q.cursor >= q.consumers.len() {
                q.cursor = 0;
            }
        }
        q.unacked -= returned.len() as u64;
        let queue = q.name.clone();
        let auto_delete = q.options.auto_delete && q.consumers.is_empty();
        self.emit(|| Event::ConsumerRemoved { queue, consumer });
        for envelope in returned {
            self.return_to_queue(qid, envelope, now);
        }
        if auto_delete {
            self.delete_queue(qid, now);
        } else {
            self.touch_queue(qid, now);
            self.dispatch(qid, now);
        }
    }

    /// Hands ready messages to consumers with room, round robin, until either runs out.
    pub(super) fn dispatch(&mut self, qid: QueueId, now: u64) {
        loop {
            let Some(q) = self.queues.get_mut(&qid) else { return };
            if q.ready.is_empty() {
                return;
            }
            let Some(index) = q.next_consumer() else { return };
            let conn = q.consumers[index].conn;
            // Looked up before the pop: a message is never taken for nobody.
            let Some(c) = self.conns.get_mut(&conn) else { return };
            let Some(envelope) = q.pop_ready() else { return };
            if envelope.expires_at.is_some_and(|at| now >= at) {
                self.discard(qid, envelope, DeathReason::Expired, now);
                continue;
            }
            if Self::withholds(self.acl.as_deref(), c, q.owner == Some(conn), &envelope.message.topic) {
                q.cursor = if index + 1 < q.consumers.len() { index + 1 } else { 0 };
                let _ = self.denied(conn, "receive", &envelope.message.topic);
                self.discard(qid, envelope, DeathReason::NotAuthorized, now);
                continue;
            }
            q.cursor = if index + 1 < q.consumers.len() { index + 1 } else { 0 };
            let (bytes, seq) = (envelope.bytes, envelope.seq);
            let (delivery, settled) = hand_over(qid, q, index, c, &mut self.counters, envelope);
            if settled {
                q.bytes -= bytes;
                self.queued_bytes -= bytes;
            }
            if q.options.durable {
                let queue = q.name.clone();
                self.store(if settled { StoreOp::Remove { queue, seq } } else { StoreOp::Delivered { queue, seq } });
            }
            let (consumer, message_id, redelivered) = (delivery.consumer, delivery.message_id, delivery.redelivered);
            self.send(conn, ServerFrame::Deliver(delivery));
            self.emit_for_queue(qid, |queue| Event::Delivered { queue, message_id, consumer, conn, redelivered });
        }
    }

    /// Takes the first ready message of `name` for `conn` without a
    /// consumer: unacked under a tag of the connection (manual), or gone
    /// (auto). Expired messages on the way are discarded as dispatch does.
    pub(super) fn get(&mut self, conn: ConnId, id: u64, name: &str, ack: AckMode, now: u64) -> Result<(), EngineError> {
        let qid = self.queue_for(conn, name)?;
        loop {
            let q = self.queues.get_mut(&qid).expect("queue_for found it");
            let Some(c) = self.conns.get_mut(&conn) else { return Ok(()) };
            let Some(mut envelope) = q.pop_ready() else {
                self.send(conn, ServerFrame::Got { id, delivery: None, ready: 0 });
                return Ok(());
            };
            if envelope.expires_at.is_some_and(|at| now >= at) {
                self.discard(qid, envelope, DeathReason::Expired, now);
                continue;
            }
            if Self::withholds(self.acl.as_deref(), c, q.owner == Some(conn), &envelope.message.topic) {
                let _ = self.denied(conn, "receive", &envelope.message.topic);
                self.discard(qid, envelope, DeathReason::NotAuthorized, now);
                continue;
            }
            envelope.delivery_count += 1;
            q.counters.delivered += 1;
            self.counters.delivered += 1;
            if envelope.delivery_count > 1 {
                q.counters.redelivered += 1;
                self.counters.redelivered += 1;
            }
            let tag = (ack == AckMode::Manual).then(|| {
                c.next_tag += 1;
                c.next_tag - 1
            });
            let (seq, bytes) = (envelope.seq, envelope.bytes);
            let delivery = Delivery::of(&envelope.message, 0, tag, q.name.clone(), envelope.delivery_count, false);
            let settled = match tag {
                Some(tag) => {
                    q.unacked += 1;
                    c.in_flight.insert(tag, InFlight { queue: qid, consumer: 0, envelope });
                    false
                }
                None => {
                    q.counters.acked += 1;
                    self.counters.acked += 1;
                    q.forget(&envelope);
                    self.queued_bytes -= bytes;
                    true
                }
            };
            let ready = q.ready.len() as u64;
            if q.options.durable {
                let queue = q.name.clone();
                self.store(if settled { StoreOp::Remove { queue, seq } } else { StoreOp::Delivered { queue, seq } });
            }
            let (message_id, redelivered) = (delivery.message_id, delivery.redelivered);
            self.send(conn, ServerFrame::Got { id, delivery: Some(Box::new(delivery)), ready });
            self.emit_for_queue(qid, |queue| Event::Delivered { queue, message_id, consumer: 0, conn, redelivered });
            self.touch_queue(qid, now);
            return Ok(());
        }
    }

    pub(super) fn ack(&mut self, conn: ConnId, tag: u64, multiple: bool, now: u64) -> Result<(), EngineError> {
        if !multiple {
            // The hot path: one ack, no allocation.
            let flight = self.take_one(conn, tag)?;
            let qid = flight.queue;
            self.settle_ack(flight);
            self.dispatch(qid, now);
            return Ok(());
        }
        let flights = self.take_up_to(conn, tag)?;
        let mut touched: Vec<QueueId> = flights.iter().map(|f| f.queue).collect();
        for flight in flights {
            self.settle_ack(flight);
        }
        touched.sort_unstable();
        touched.dedup();
        for qid in touched {
            self.dispatch(qid, now);
        }
        Ok(())
    }

    pub(super) fn nack(
        &mut self,
        conn: ConnId,
        tag: u64,
        multiple: bool,
        requeue: bool,
        now: u64,
    ) -> Result<(), EngineError> {
        let flights = if multiple { self.take_up_to(conn, tag)? } else { vec![self.take_one(conn, tag)?] };
        let mut touched: Vec<QueueId> = flights.iter().map(|f| f.queue).collect();
        for flight in flights {
            self.release(&flight);
            if requeue {
                self.return_to_queue(flight.queue, flight.envelope, now);
            } else {
                self.discard(flight.queue, flight.envelope, DeathReason::Rejected, now);
            }
        }
        touched.sort_unstable();
        touched.dedup();
        for qid in touched {
            self.dispatch(qid, now);
        }
        Ok(())
    }

    fn take_one(&mut self, conn: ConnId, tag: u64) -> Result<InFlight, EngineError> {
        self.conns.get_mut(&conn).and_then(|c| c.in_flight.remove(&tag)).ok_or(EngineError::UnknownDeliveryTag(tag))
    }

    /// Every unacked delivery of `conn` with a tag up to `tag`, in tag order.
    fn take_up_to(&mut self, conn: ConnId, tag: u64) -> Result<Vec<InFlight>, EngineError> {
        let c = self.conns.get_mut(&conn).ok_or(EngineError::UnknownDeliveryTag(tag))?;
        let later = match tag.checked_add(1) {
            Some(next) => c.in_flight.split_off(&next),
            None => Default::default(),
        };
        let taken = std::mem::replace(&mut c.in_flight, later);
        if taken.is_empty() {
            return Err(EngineError::UnknownDeliveryTag(tag));
        }
        Ok(taken.into_values().collect())
    }

    /// Frees the prefetch slot and unacked count a delivery held.
    fn release(&mut self, flight: &InFlight) {
        if let Some(q) = self.queues.get_mut(&flight.queue) {
            q.release(flight.consumer);
        }
    }

    fn settle_ack(&mut self, flight: InFlight) {
        let Some(q) = self.queues.get_mut(&flight.queue) else { return };
        q.release(flight.consumer);
        q.forget(&flight.envelope);
        self.queued_bytes -= flight.envelope.bytes;
        q.counters.acked += 1;
        self.counters.acked += 1;
        if q.options.durable {
            let (queue, seq) = (q.name.clone(), flight.envelope.seq);
            self.store(StoreOp::Remove { queue, seq });
        }
        let (message_id, consumer) = (flight.envelope.message.id, flight.consumer);
        self.emit_for_queue(flight.queue, |queue| Event::Acked { queue, message_id, consumer });
    }

    /// An unacked copy comes back: requeued at its place, unless it expired or
    /// reached the queue's delivery limit (then dead-lettered or dropped).
    pub(super) fn return_to_queue(&mut self, qid: QueueId, envelope: Envelope, now: u64) {
        let Some(q) = self.queues.get_mut(&qid) else { return };
        if envelope.expires_at.is_some_and(|at| now >= at) {
            self.discard(qid, envelope, DeathReason::Expired, now);
        } else if q.options.max_deliveries.is_some_and(|max| envelope.delivery_count >= max) {
            self.discard(qid, envelope, DeathReason::DeliveryLimit, now);
        } else {
            let (queue, message_id) = (q.name.clone(), envelope.message.id);
            q.requeue(envelope);
            self.emit(|| Event::Requeued { queue, message_id });
        }
    }
}

/// Gives `envelope` to the consumer at `index` of `q`: counts the delivery,
/// holds it in the connection's unacked set (manual ack) or counts it acked
/// (auto ack), and builds the frame. Returns the frame and whether the copy
/// is settled (auto ack: it left the queue).
fn hand_over(
    qid: QueueId,
    q: &mut Queue,
    index: usize,
    c: &mut Connection,
    counters: &mut Counters,
    mut envelope: Envelope,
) -> (Delivery, bool) {
    envelope.delivery_count += 1;
    let redelivered = envelope.delivery_count > 1;
    let consumer = &mut q.consumers[index];
    let consumer_id = consumer.id;
    q.counters.delivered += 1;
    counters.delivered += 1;
    if redelivered {
        q.counters.redelivered += 1;
        counters.redelivered += 1;
    }
    let tag = (consumer.ack == AckMode::Manual).then(|| {
        consumer.in_flight += 1;
        q.unacked += 1;
        c.next_tag += 1;
        c.next_tag - 1
    });
    if tag.is_none() {
        q.counters.acked += 1;
        counters.acked += 1;
    }
    let delivery = Delivery::of(&envelope.message, consumer_id, tag, q.name.clone(), envelope.delivery_count, false);
    match tag {
        Some(tag) => {
            c.in_flight.insert(tag, InFlight { queue: qid, consumer: consumer_id, envelope });
            (delivery, false)
        }
        None => (delivery, true),
    }
}
