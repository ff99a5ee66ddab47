//! Property tests: random sequences of operations over a few connections and
//! queues, checked against a ledger built only from the engine's outputs.
//!
//! Every copy of a message in a queue is tracked by (queue, message id) from
//! the `enqueued` event that creates it, through its `deliver` frames, to the
//! event that ends it (acked, dropped, expired, dead-lettered, queue deleted).
//! After every step the ledger must agree with the engine's stats, counters
//! and conservation laws; at the end everything is drained and no copy may be
//! left unaccounted for. Native only (proptest).
#![cfg(not(target_arch = "wasm32"))]

#[path = "properties/ledger.rs"]
mod ledger;

use ledger::{Model, Step};
use proptest::prelude::*;
use queue_core::protocol::{AckMode, ClientFrame, ErrorCode, Will};
use queue_core::{Input, Overflow, QueueOptions};

/// `q<i>` may dead-letter into `d<i>` only, and `d<i>` never dead-letters:
/// then no queue ever holds two copies of one message, so (queue, message id)
/// names a copy.
const QUEUES: [&str; 6] = ["q0", "q1", "q2", "d0", "d1", "d2"];
const FILTERS: [&str; 6] = ["home/#", "home/+/temp", "home/kitchen/temp", "#", "+/+/door", "$sys/#"];
const TOPICS: [&str; 5] = ["home/kitchen/temp", "home/hall/temp", "home/hall/door", "$sys/uptime", "garden"];
/// Only connection 0 may ask for a keep-alive, so at most one expires per tick.
const KEEP_ALIVE_MS: u64 = 1000;
/// The connection that drains every queue at the end.
const DRAINER: u64 = 99;

/// Queue options before the dead-letter queue's name is filled in.
#[derive(Debug, Clone)]
struct Spec {
    limits: (Option<u64>, bool, Option<u64>, Option<u32>),
    flags: (bool, bool, bool, bool),
}

impl Spec {
    fn options(&self, queue: usize) -> QueueOptions {
        let (max_length, reject, message_ttl_ms, max_deliveries) = self.limits;
        let (dead_letter, durable, exclusive, auto_delete) = self.flags;
        QueueOptions {
            durable,
            exclusive,
            auto_delete,
            max_length,
            max_length_bytes: None,
            overflow: if reject { Overflow::RejectPublish } else { Overflow::DropOldest },
            message_ttl_ms,
            dead_letter: (queue < 3 && dead_letter).then(|| format!("d{queue}")),
            dead_letter_topic: None,
            max_deliveries,
            expires_ms: None,
        }
    }
}

/// A queue by index into [`QUEUES`], or a topic (publish: [`TOPICS`]; subscribe: [`FILTERS`]).
#[derive(Debug, Clone, Copy)]
enum To {
    Queue(usize),
    Topic(usize),
}

#[derive(Debug, Clone)]
enum Op {
    Hello { conn: u64, will: Option<(usize, bool)>, keep_alive: bool },
    Declare { conn: u64, queue: usize, spec: Spec },
    Delete { conn: u64, queue: usize, if_empty: bool },
    Bind { conn: u64, queue: usize, filter: usize, bind: bool },
    Publish { conn: u64, to: To, ttl: Option<u64>, retain: bool },
    Subscribe { conn: u64, to: To, prefetch: u32, auto: bool },
    Unsubscribe { conn: u64, pick: usize },
    Settle { conn: u64, pick: usize, multiple: bool, nack: Option<bool> },
    Lose { conn: u64 },
    Bye { conn: u64 },
    Advance { ms: u64 },
}

fn spec() -> impl Strategy<Value = Spec> {
    let limits = (prop::option::of(1..4u64), any::<bool>(), prop::option::of(50..400u64), prop::option::of(1..4u32));
    let flags = (prop::bool::weighted(0.6), any::<bool>(), prop::bool::weighted(0.1), prop::bool::weighted(0.2));
    (limits, flags).prop_map(|(limits, flags)| Spec { limits, flags })
}

fn to(topics: usize, queue_weight: u32) -> impl Strategy<Value = To> {
    prop_oneof![queue_weight => (0..QUEUES.len()).prop_map(To::Queue), 2 => (0..topics).prop_map(To::Topic)]
}

fn op() -> impl Strategy<Value = Op> {
    let conn = 0..3u64;
    let ttl = prop::option::weighted(0.3, prop_oneof![1 => Just(0u64), 5 => 50..400u64]);
    let will = prop::option::of((0..TOPICS.len(), any::<bool>()));
    prop_oneof![
        1 => (conn.clone(), will, any::<bool>())
            .prop_map(|(conn, will, keep_alive)| Op::Hello { conn, will, keep_alive: keep_alive && conn == 0 }),
        3 => (conn.clone(), 0..QUEUES.len(), spec()).prop_map(|(conn, queue, spec)| Op::Declare { conn, queue, spec }),
        1 => (conn.clone(), 0..QUEUES.len(), any::<bool>())
            .prop_map(|(conn, queue, if_empty)| Op::Delete { conn, queue, if_empty }),
        3 => (conn.clone(), 0..3usize, 0..FILTERS.len(), prop::bool::weighted(0.8))
            .prop_map(|(conn, queue, filter, bind)| Op::Bind { conn, queue, filter, bind }),
        13 => (conn.clone(), to(TOPICS.len(), 1), ttl, prop::bool::weighted(0.2))
            .prop_map(|(conn, to, ttl, retain)| Op::Publish { conn, to, ttl, retain }),
        4 => (conn.clone(), to(FILTERS.len(), 6), 1..=5u32, prop::bool::weighted(0.3))
            .prop_map(|(conn, to, prefetch, auto)| Op::Subscribe { conn, to, prefetch, auto }),
        1 => (conn.clone(), any::<usize>()).prop_map(|(conn, pick)| Op::Unsubscribe { conn, pick }),
        10 => (conn.clone(), any::<usize>(), prop::bool::weighted(0.2), prop::option::weighted(0.3, any::<bool>()))
            .prop_map(|(conn, pick, multiple, nack)| Op::Settle { conn, pick, multiple, nack }),
        1 => conn.clone().prop_map(|conn| Op::Lose { conn }),
        1 => conn.prop_map(|conn| Op::Bye { conn }),
        3 => (1..300u64).prop_map(|ms| Op::Advance { ms }),
    ]
}

impl Model {
    fn apply(&mut self, op: &Op) {
        self.step = Step::default();
        let allowed: &[ErrorCode] = match op.clone() {
            Op::Hello { conn, will, keep_alive } => {
                let will = will.map(|(t, retain)| Will {
                    topic: TOPICS[t].into(),
                    payload: "offline".into(),
                    retain,
                    headers: Default::default(),
                    delay_ms: 0,
                });
                let topic = will.as_ref().map(|w| w.topic.clone());
                let keep_alive_ms = if keep_alive { KEEP_ALIVE_MS } else { 0 };
                self.send(conn, ClientFrame::Hello { id: Some(1), client_id: None, keep_alive_ms, will });
                if self.step.errors.is_empty() {
                    self.wills.extend(topic.map(|t| (conn, t)));
                }
                &[ErrorCode::ProtocolViolation]
            }
            Op::Declare { conn, queue, spec } => {
                self.declaring = Some(spec.options(queue));
                let (queue, options) = (QUEUES[queue].into(), spec.options(queue));
                self.send(conn, ClientFrame::Declare { id: 2, queue, options });
                &[ErrorCode::PreconditionFailed, ErrorCode::ResourceLocked]
            }
            Op::Delete { conn, queue, if_empty } => {
                self.send(conn, ClientFrame::Delete { id: 3, queue: QUEUES[queue].into(), if_empty });
                &[ErrorCode::QueueNotFound, ErrorCode::ResourceLocked, ErrorCode::QueueNotEmpty]
            }
            Op::Bind { conn, queue, filter, bind } => {
                let (queue, filter) = (QUEUES[queue].to_owned(), FILTERS[filter].to_owned());
                let frame = match bind {
                    true => ClientFrame::Bind { id: 4, queue, filter, retained: false },
                    false => ClientFrame::Unbind { id: 4, queue, filter },
                };
                self.send(conn, frame);
                &[ErrorCode::QueueNotFound, ErrorCode::ResourceLocked]
            }
            Op::Publish { conn, to, ttl, retain } => self.publish(conn, to, ttl, retain),
            Op::Subscribe { conn, to, prefetch, auto } => {
                let ack = if auto { AckMode::Auto } else { AckMode::Manual };
                let (queue, topic) = match to {
                    To::Queue(i) => (Some(QUEUES[i].to_owned()), None),
                    To::Topic(i) => (None, Some(FILTERS[i].to_owned())),
                };
                (self.subscribing, self.declaring) = (Some((prefetch, auto)), Some(QueueOptions::default()));
                self.send(conn, ClientFrame::Subscribe { id: 7, queue, topic, prefetch: Some(prefetch), ack });
                &[ErrorCode::QueueNotFound, ErrorCode::ResourceLocked]
            }
            Op::Unsubscribe { conn, pick } => {
                let mine: Vec<u64> = self.consumers.iter().filter(|(_, c)| c.conn == conn).map(|(id, _)| *id).collect();
                let consumer = if mine.is_empty() { 9999 } else { mine[pick % mine.len()] };
                self.send(conn, ClientFrame::Unsubscribe { id: 9, consumer });
                assert_eq!(self.step.errors.is_empty(), !mine.is_empty(), "only a stranger's consumer is unknown");
                self.consumers.remove(&consumer);
                assert_eq!(self.held_by(consumer), 0, "an unsubscribed consumer holds nothing");
                if mine.is_empty() { &[ErrorCode::UnknownConsumer] } else { &[] }
            }
            Op::Settle { conn, pick, multiple, nack } => self.settle(conn, pick, multiple, nack),
            Op::Lose { conn } => {
                if self.open.contains(&conn) {
                    self.input(Input::Disconnect { conn });
                    self.gone(conn);
                    self.will(conn);
                }
                &[]
            }
            Op::Bye { conn } => {
                self.wills.remove(&conn);
                self.send(conn, ClientFrame::Bye);
                assert_eq!(self.step.closed, [conn], "bye closes the connection");
                self.input(Input::Disconnect { conn });
                &[]
            }
            Op::Advance { ms } => {
                self.now += ms;
                self.input(Input::Tick);
                for conn in std::mem::take(&mut self.step.closed) {
                    assert_eq!(conn, 0, "only connection 0 has a keep-alive");
                    self.will(conn);
                }
                &[ErrorCode::KeepAliveTimeout]
            }
        };
        (self.subscribing, self.declaring) = (None, None);
        assert!(self.step.errors.iter().all(|e| allowed.contains(e)), "{op:?}: {:?}", self.step.errors);
        self.check();
    }

    fn publish(&mut self, conn: u64, to: To, ttl: Option<u64>, retain: bool) -> &'static [ErrorCode] {
        let (queue, topic) = match to {
            To::Queue(i) => (Some(QUEUES[i].to_owned()), None),
            To::Topic(i) => (None, Some(TOPICS[i].to_owned())),
        };
        // A publish to a missing queue is refused and takes no message id.
        let accepted = queue.as_ref().is_none_or(|q| self.queues.contains_key(q));
        self.message_ttl.extend(ttl.filter(|_| accepted).map(|t| (self.last_message_id + 1, t)));
        let (retain, routed_by) = (retain && topic.is_some(), topic.clone());
        let payload = "21.5".into();
        let headers = Default::default();
        let frame = ClientFrame::Publish {
            id: Some(5),
            topic: topic.map(Into::into),
            queue,
            payload,
            headers,
            retain,
            ttl_ms: ttl,
        };
        self.send(conn, frame);
        if accepted {
            self.count_publish(routed_by.as_deref());
        }
        if self.step.errors.is_empty() {
            assert_eq!(self.step.confirmed, Some(self.step.routed), "confirm counts the copies routed");
        }
        &[ErrorCode::QueueNotFound, ErrorCode::QueueFull]
    }

    /// Acks or nacks one held tag (and, with `multiple`, every earlier one).
    fn settle(&mut self, conn: u64, pick: usize, multiple: bool, nack: Option<bool>) -> &'static [ErrorCode] {
        let held: Vec<u64> = self.tags.keys().filter(|(c, _)| *c == conn).map(|(_, t)| *t).collect();
        let tag = if held.is_empty() { 1_000_000 } else { held[pick % held.len()] };
        let settled: Vec<u64> = held.into_iter().filter(|t| *t == tag || (multiple && *t < tag)).collect();
        let frame = match nack {
            None => ClientFrame::Ack { tag, multiple },
            Some(requeue) => ClientFrame::Nack { tag, multiple, requeue },
        };
        self.send(conn, frame);
        assert_eq!(self.step.errors.is_empty(), !settled.is_empty(), "only a tag not held is unknown");
        assert!(settled.iter().all(|t| !self.tags.contains_key(&(conn, *t))), "settled tags are released");
        let n = settled.len();
        let (acked, rejected) = match nack {
            None => (n, 0),
            Some(requeue) => (0, if requeue { 0 } else { n }),
        };
        assert_eq!((self.step.acked, self.step.rejected), (acked, rejected));
        if settled.is_empty() { &[ErrorCode::UnknownDeliveryTag] } else { &[] }
    }

    /// Consumes every queue with auto ack, then loses every connection: no
    /// copy may be left anywhere.
    fn drain(&mut self) {
        self.step = Step::default();
        for q in self.engine.stats().queues.into_iter().filter(|q| !q.options.exclusive) {
            self.subscribing = Some((1, true));
            let queue = Some(q.name);
            let frame = ClientFrame::Subscribe { id: 10, queue, topic: None, prefetch: None, ack: AckMode::Auto };
            self.send(DRAINER, frame);
            assert!(self.step.errors.is_empty(), "{:?}", self.step.errors);
        }
        for conn in self.open.clone().into_iter().filter(|c| *c != DRAINER) {
            self.apply(&Op::Lose { conn });
        }
        assert!(self.copies.is_empty(), "copies left after draining: {:?}", self.copies);
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(200)
}

proptest! {
    // 200 cases keep a debug run to about a second; `PROPTEST_CASES=20000`
    // searches harder. Failing cases are printed (shrunk), not saved.
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_copy_is_delivered_in_order_within_prefetch_and_accounted_for(
        specs in prop::collection::vec(spec(), QUEUES.len()),
        binds in prop::collection::vec((0..3usize, 0..FILTERS.len()), 0..4),
        ops in prop::collection::vec(op(), 1..100),
    ) {
        let mut model = Model::new();
        // Most cases start with every queue declared and some bound, so that
        // the random operations reach dead letters, overflow and redelivery.
        for (queue, spec) in specs.into_iter().enumerate() {
            model.apply(&Op::Declare { conn: 1, queue, spec });
        }
        for (queue, filter) in binds {
            model.apply(&Op::Bind { conn: 1, queue, filter, bind: true });
        }
        for op in &ops {
            model.apply(op);
        }
        model.drain();
    }
}
