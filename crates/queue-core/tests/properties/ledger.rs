//! The ledger: every copy of every message, followed through the engine's
//! outputs (frames to clients, events), and the checks that compare it with
//! the engine's own account (stats, counters, conservation laws).

use queue_core::protocol::{ClientFrame, Delivery, ErrorCode, ServerFrame};
use queue_core::topic::matches;
use queue_core::{Counters, DeathReason, Engine, EngineConfig, Event, Input, Output, Overflow, QueueOptions};
use std::collections::{BTreeMap, BTreeSet};

/// Where a copy is: waiting in its queue, or held by a consumer under a tag.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum State {
    Ready,
    Unacked { conn: u64, tag: u64, consumer: u64 },
}

/// One copy of a message in one queue.
#[derive(Debug)]
pub struct Copy {
    pub state: State,
    pub deliveries: u32,
    /// Global arrival order, for the FIFO check.
    pub arrival: u64,
    pub expires_at: Option<u64>,
}

/// A consumer as its `subscribed` frame and the subscribe request described it.
#[derive(Debug)]
pub struct Consumer {
    pub conn: u64,
    pub queue: String,
    pub prefetch: u32,
    pub manual: bool,
}

/// What one operation produced, for the per-operation checks.
#[derive(Debug, Default)]
pub struct Step {
    pub errors: Vec<ErrorCode>,
    pub confirmed: Option<u32>,
    pub routed: u32,
    pub acked: usize,
    pub rejected: usize,
    pub closed: Vec<u64>,
}

/// The engine under test and everything its outputs have shown so far.
#[derive(Default)]
pub struct Model {
    pub engine: Engine,
    pub now: u64,
    pub open: BTreeSet<u64>,
    pub copies: BTreeMap<(String, u64), Copy>,
    pub tags: BTreeMap<(u64, u64), (String, u64)>,
    pub consumers: BTreeMap<u64, Consumer>,
    pub queues: BTreeMap<String, QueueOptions>,
    pub wills: BTreeMap<u64, String>,
    /// Per-message TTL of each publish, by the id it will get.
    pub message_ttl: BTreeMap<u64, u64>,
    pub next_arrival: u64,
    /// A copy announced as dead-lettered, whose `enqueued` event comes next.
    pub dead_letter_in_flight: Option<(String, u64)>,
    /// Prefetch and auto-ack of the subscribe being sent.
    pub subscribing: Option<(u32, bool)>,
    /// Options of a queue the operation being sent may create.
    pub declaring: Option<QueueOptions>,
    /// The engine's counters as the outputs show them.
    pub seen: Counters,
    pub last_message_id: u64,
    pub step: Step,
}

impl Model {
    pub fn new() -> Self {
        Self { engine: Engine::new(EngineConfig { observe: true, ..EngineConfig::default() }), ..Self::default() }
    }

    pub fn input(&mut self, input: Input) {
        self.engine.handle(self.now, input);
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Send { conn, frame } => self.frame(conn, frame),
                Output::Close { conn } => self.gone(conn),
                Output::Event(event) => self.event(event),
                Output::Store(_) | Output::Blocked(_) | Output::Denied(_) => {}
            }
        }
    }

    pub fn send(&mut self, conn: u64, frame: ClientFrame) {
        if self.open.insert(conn) {
            self.input(Input::Connect { conn });
        }
        self.input(Input::Frame { conn, frame });
    }

    pub fn frame(&mut self, conn: u64, frame: ServerFrame) {
        match frame {
            ServerFrame::Deliver(d) if d.retained => assert!(d.tag.is_none(), "a retained replay is not acked"),
            ServerFrame::Deliver(d) => self.delivered(conn, d),
            ServerFrame::Subscribed { consumer, queue, .. } => {
                let (prefetch, auto) = self.subscribing.expect("subscribed answers a subscribe");
                self.consumers.insert(consumer, Consumer { conn, queue, prefetch, manual: !auto });
            }
            ServerFrame::Cancelled { consumer, .. } => assert!(self.consumers.remove(&consumer).is_some()),
            ServerFrame::Confirm { routed, .. } => self.step.confirmed = Some(routed),
            ServerFrame::Error { code, .. } => self.step.errors.push(code),
            _ => {}
        }
    }

    pub fn held_by(&self, consumer: u64) -> usize {
        self.copies.values().filter(|k| matches!(k.state, State::Unacked { consumer: c, .. } if c == consumer)).count()
    }

    pub fn ready_in(&self, queue: &str) -> impl Iterator<Item = (&(String, u64), &Copy)> {
        self.copies.iter().filter(move |((q, _), k)| q == queue && k.state == State::Ready)
    }

    pub fn delivered(&mut self, conn: u64, d: Delivery) {
        let c = &self.consumers[&d.consumer];
        assert_eq!((c.conn, c.queue.as_str()), (conn, &*d.queue), "delivery to the consumer's connection and queue");
        assert!(!c.manual || self.held_by(d.consumer) < c.prefetch as usize, "prefetch {} exceeded", c.prefetch);
        assert_eq!(c.manual, d.tag.is_some(), "manual ack deliveries carry a tag, auto ones do not");
        let key = (d.queue.to_string(), d.message_id);
        let oldest = self.ready_in(&key.0).min_by_key(|(_, k)| k.arrival).map(|(key, _)| key);
        assert_eq!(oldest, Some(&key), "FIFO: a queue delivers its oldest ready copy first");
        let copy = self.copies.get_mut(&key).expect("delivered copy is in the ledger");
        assert!(copy.expires_at.is_none_or(|at| self.now < at), "{key:?} delivered after it expired");
        copy.deliveries += 1;
        assert_eq!((d.delivery_count, d.redelivered), (copy.deliveries, copy.deliveries > 1), "{key:?}");
        self.seen.delivered += 1;
        self.seen.redelivered += u64::from(d.redelivered);
        match d.tag {
            Some(tag) => {
                copy.state = State::Unacked { conn, tag, consumer: d.consumer };
                assert!(self.tags.insert((conn, tag), key).is_none(), "tag {tag} reused on connection {conn}");
            }
            None => {
                self.copies.remove(&key);
                self.seen.acked += 1;
            }
        }
    }

    /// Takes a copy out of the ledger; it must be there.
    pub fn end(&mut self, queue: &str, message_id: u64) -> Copy {
        let copy = self.copies.remove(&(queue.to_owned(), message_id));
        let copy = copy.unwrap_or_else(|| panic!("({queue}, {message_id}) left a queue it was not in"));
        if let State::Unacked { conn, tag, .. } = copy.state {
            self.tags.remove(&(conn, tag));
        }
        copy
    }

    pub fn event(&mut self, event: Event) {
        match event {
            Event::Enqueued { queue, message_id } => self.enqueued(queue.to_string(), message_id),
            Event::Acked { queue, message_id, consumer } => {
                let copy = self.end(&queue, message_id);
                let held = matches!(copy.state, State::Unacked { consumer: c, .. } if c == consumer);
                assert!(held, "ack of a copy the consumer does not hold");
                self.seen.acked += 1;
                self.step.acked += 1;
            }
            Event::Requeued { queue, message_id } => {
                let max = self.queues[&*queue].max_deliveries;
                let copy = self.copies.get_mut(&(queue.to_string(), message_id)).expect("requeued copy exists");
                let State::Unacked { conn, tag, .. } = copy.state else { panic!("requeue of a ready copy") };
                assert!(max.is_none_or(|max| copy.deliveries < max), "requeued past max_deliveries");
                copy.state = State::Ready;
                self.tags.remove(&(conn, tag));
            }
            Event::DeadLettered { queue, to, message_id, reason } => {
                assert_eq!(self.queues[&*queue].dead_letter.as_deref(), Some(&*to), "dead-lettered elsewhere");
                self.left(&queue, message_id, reason);
                self.seen.dead_lettered += 1;
                self.dead_letter_in_flight = Some((to.to_string(), message_id));
            }
            Event::Dropped { queue, message_id, reason } => {
                let taker = self.dead_letter_taker(&queue);
                assert!(reason == DeathReason::QueueDeleted || taker.is_none(), "dropped, but {taker:?} would take it");
                self.left(&queue, message_id, reason);
                match reason {
                    DeathReason::Expired => self.seen.expired += 1,
                    _ => self.seen.dropped += 1,
                }
            }
            Event::Refused { .. } => self.seen.refused += 1,
            Event::QueueDeclared { queue } => {
                self.queues.insert(queue.to_string(), self.declaring.clone().unwrap_or_default());
            }
            Event::QueueDeleted { queue } => self.queue_deleted(&queue),
            Event::Published { message_id, .. } | Event::Unroutable { message_id, .. } => {
                assert_eq!(message_id, self.last_message_id + 1, "message ids increase by one");
                self.last_message_id = message_id;
            }
            _ => {}
        }
    }

    /// The dead-letter queue that would take a copy leaving `queue`: it
    /// exists and is not full with reject-publish.
    pub fn dead_letter_taker(&self, queue: &str) -> Option<String> {
        let to = self.queues[queue].dead_letter.clone()?;
        let options = self.queues.get(&to)?;
        let full = options.max_length.is_some_and(|max| self.ready_in(&to).count() as u64 >= max);
        (!(full && options.overflow == Overflow::RejectPublish)).then_some(to)
    }

    pub fn enqueued(&mut self, queue: String, message_id: u64) {
        let moved = self.dead_letter_in_flight.take();
        let dead_lettered = moved.as_ref().is_some_and(|(to, id)| *to == queue && *id == message_id);
        assert!(moved.is_none() || dead_lettered, "a dead-lettered copy must enter its dead-letter queue next");
        let own_ttl = if dead_lettered { None } else { self.message_ttl.get(&message_id).copied() };
        if !dead_lettered {
            self.seen.routed += 1;
            self.step.routed += 1;
        }
        let options = &self.queues[&queue];
        if options.overflow == Overflow::RejectPublish {
            let room = options.max_length.is_none_or(|max| (self.ready_in(&queue).count() as u64) < max);
            assert!(room, "{queue} is full with reject-publish, yet took a copy");
        }
        let ttl = [own_ttl, options.message_ttl_ms].into_iter().flatten().min();
        let expires_at = ttl.map(|t| self.now + t);
        let copy = Copy { state: State::Ready, deliveries: 0, arrival: self.next_arrival, expires_at };
        self.next_arrival += 1;
        let key = (queue, message_id);
        assert!(self.copies.insert(key.clone(), copy).is_none(), "{key:?}: two copies of one message in one queue");
    }

    /// A copy left its queue without an ack; check the reason fits its state.
    pub fn left(&mut self, queue: &str, message_id: u64, reason: DeathReason) {
        let (max_deliveries, max_length) = (self.queues[queue].max_deliveries, self.queues[queue].max_length);
        let ready: Vec<u64> = self.ready_in(queue).map(|(_, k)| k.arrival).collect();
        let copy = self.end(queue, message_id);
        match reason {
            DeathReason::Expired => assert!(copy.expires_at.is_some_and(|at| at <= self.now), "expired early"),
            DeathReason::MaxLength => {
                assert!(
                    max_length.is_some_and(|max| ready.len() as u64 > max),
                    "{queue} trimmed within its max length"
                );
                assert_eq!(ready.iter().min(), Some(&copy.arrival), "drop-oldest drops the oldest");
            }
            DeathReason::QueueDeleted => {}
            DeathReason::Rejected => self.step.rejected += 1,
            DeathReason::DeliveryLimit => assert_eq!(Some(copy.deliveries), max_deliveries, "delivery limit"),
            DeathReason::NotAuthorized => panic!("{queue}: withheld by an ACL, and these sequences set none"),
        }
    }

    /// The queue is gone, and every copy in it was dropped by an event first.
    pub fn queue_deleted(&mut self, queue: &str) {
        assert!(self.copies.keys().all(|(q, _)| q != queue), "{queue} deleted with copies not accounted for");
        // Consumers on live connections were cancelled by frame; a closing
        // connection's go with it.
        self.consumers.retain(|_, c| c.queue != queue);
        self.queues.remove(queue);
    }

    /// The engine forgot `conn`; nothing may stay held by it.
    pub fn gone(&mut self, conn: u64) {
        self.open.remove(&conn);
        self.step.closed.push(conn);
        self.consumers.retain(|_, c| c.conn != conn);
        assert!(self.tags.keys().all(|(c, _)| *c != conn), "connection {conn} closed still holding messages");
    }

    /// Counts a publish the way the engine should: unroutable if no queue matched.
    pub fn count_publish(&mut self, topic: Option<&str>) {
        let stats = self.engine.stats();
        let found = topic.is_none_or(|t| stats.queues.iter().any(|q| q.bindings.iter().any(|f| matches(f, t))));
        self.seen.published += 1;
        self.seen.unroutable += u64::from(!found);
    }

    /// A lost connection's will is published after its exclusive queues are gone.
    pub fn will(&mut self, conn: u64) {
        if let Some(topic) = self.wills.remove(&conn) {
            self.count_publish(Some(&topic));
        }
    }

    /// Everything the ledger knows must match the engine's own account.
    pub fn check(&self) {
        let stats = self.engine.stats();
        let c = stats.counters;
        let mut live = 0;
        for q in &stats.queues {
            let ready = self.ready_in(&q.name).count() as u64;
            let held = self.copies.keys().filter(|(name, _)| *name == q.name).count() as u64 - ready;
            assert_eq!((q.ready, q.unacked), (ready, held), "queue {} ready/unacked", q.name);
            let k = q.counters;
            let left = k.acked + k.dropped + k.expired + k.dead_lettered;
            assert_eq!(k.enqueued, q.ready + q.unacked + left, "{}: {k:?}", q.name);
            let consumers = self.consumers.values().filter(|c| c.queue == q.name).count() as u64;
            assert_eq!(q.consumers, consumers, "queue {} consumers", q.name);
            live += q.ready + q.unacked;
        }
        assert_eq!(live as usize, self.copies.len(), "a copy is in the ledger but not in any queue");
        assert_eq!(c.routed, live + c.acked + c.dropped + c.expired, "global conservation: {c:?}");
        assert_eq!(self.seen, c, "counters vs what the outputs showed");
        for (id, consumer) in &self.consumers {
            let room = !consumer.manual || self.held_by(*id) < consumer.prefetch as usize;
            let waiting = self.ready_in(&consumer.queue).next().is_some();
            assert!(!(room && waiting), "consumer {id} has room while {} holds ready messages", consumer.queue);
        }
        let overdue = |k: &Copy| k.state == State::Ready && k.expires_at.is_some_and(|at| at <= self.now);
        assert!(!self.copies.values().any(overdue), "an expired message is still ready");
        let conns: BTreeSet<u64> = self.engine.connections().iter().map(|c| c.id).collect();
        assert_eq!(conns, self.open, "open connections");
    }
}
