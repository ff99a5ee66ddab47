//! AMQP sessions driven by arbitrary frame sequences against a real engine.
//!
//! Two AMQP connections share one exchange registry and one engine. The
//! fuzzer's bytes become turns of: a method (any channel 0–3, the methods
//! a client sends, with names, flags, queue arguments and delivery tags
//! from small sets so that they collide), a whole message (publish, header,
//! body, to the default exchange, `amq.topic`, a declared exchange or one
//! that is not there), content frames out of order, raw bytes through the
//! frame decoder, a jump of time, or a lost socket (the connection ends,
//! another takes its slot). Every frame goes through the codec (encode,
//! then the connection's size-checked decode) so the session sees only what
//! a real connection could hand it. The harness does what the connection
//! task does with the session's steps.
//!
//! Checked: no panic; the engine's conservation law and accounts after
//! every turn (`queue-core/fuzz/src/sequence.rs`); a bounded number of
//! steps per call; and once the engine and the sessions have settled, each
//! connection's unacked engine deliveries are exactly those its session
//! holds for the client (none leaked, which would stall a prefetch window
//! for ever). `FUZZ_TRACE=1` prints what happens.
#![no_main]

#[path = "../../../queue-core/fuzz/src/sequence.rs"]
#[allow(dead_code)]
mod sequence;

use amq_protocol::frame::{AMQPContentHeader, AMQPFrame};
use amq_protocol::protocol::basic::AMQPProperties;
use amq_protocol::protocol::{AMQPClass, basic, channel, confirm, exchange, queue};
use amq_protocol::types::{AMQPValue, FieldTable, ShortString};
use bytes::BytesMut;
use hearth::amqp::Exchanges;
use hearth::amqp::frame::{decode, encode};
use hearth::amqp::session::{Capabilities, Limits, Session, Step};
use libfuzzer_sys::fuzz_target;
use queue_core::protocol::ServerFrame;
use queue_core::{Counters, Engine, EngineConfig, Input, Output};
use sequence::Choices;
use std::collections::BTreeMap;
use std::sync::{Arc, OnceLock};

/// Steps one call into a session may make (a channel close gives back up
/// to a prefetch window of deliveries, and a batch of replies is large).
const MAX_STEPS: usize = 200_000;
/// Rounds of engine ↔ session exchange before they must have settled.
const MAX_ROUNDS: usize = 100_000;
const FRAME_MAX: usize = 131_072;

const QUEUES: &[&str] = &["", "q", "r", "amq.q", "hearth.gen.1", "dead"];
const EXCHANGES: &[&str] = &["", "amq.topic", "amq.direct", "amq.fanout", "x", "y", "missing"];
const KINDS: &[&str] = &["direct", "fanout", "topic", "headers"];
const KEYS: &[&str] = &["", "q", "r", "a.b", "a.*", "#", "a.#", "a.#.b", "*.b", "a+b", "home.hall"];
const TAGS: &[&str] = &["", "c1", "c2"];

fn short(c: &mut Choices, items: &[&str]) -> ShortString {
    c.pick(items).into()
}

fn arguments(c: &mut Choices) -> FieldTable {
    let mut t = FieldTable::default();
    while c.below(3) == 2 {
        let (name, value) = match c.below(10) {
            0 => ("x-message-ttl", AMQPValue::LongInt(c.pick(&[0, 1, 100, -1, i32::MAX]))),
            1 => ("x-max-length", AMQPValue::LongLongInt(c.pick(&[0, 1, 2, i64::MAX]))),
            2 => ("x-overflow", AMQPValue::LongString(c.pick(&["drop-head", "reject-publish", "zz"]).into())),
            3 => ("x-dead-letter-exchange", AMQPValue::LongString(c.pick(EXCHANGES).into())),
            4 => ("x-dead-letter-routing-key", AMQPValue::LongString(c.pick(KEYS).into())),
            5 => ("x-delivery-limit", AMQPValue::LongInt(c.pick(&[0, 1, 5, i32::MAX]))),
            6 => ("x-expires", AMQPValue::LongInt(c.pick(&[1, 1000, i32::MAX]))),
            7 => ("x-queue-type", AMQPValue::LongString(c.pick(&["classic", "quorum", "stream"]).into())),
            8 => ("x-max-length-bytes", AMQPValue::LongInt(c.pick(&[0, 10, 1 << 20]))),
            _ => ("x-unknown", AMQPValue::Boolean(true)),
        };
        t.insert(name.into(), value);
    }
    t
}

fn properties(c: &mut Choices) -> AMQPProperties {
    let mut p = AMQPProperties::default();
    if c.flag() {
        return p;
    }
    if c.flag() {
        p = p.with_expiration(short(c, &["0", "1", "100", "soon", "-1", "18446744073709551615"]));
    }
    if c.flag() {
        let mut t = FieldTable::default();
        t.insert(short(c, &["k", "x-mqtt-retain", "x-mqtt-publisher"]), AMQPValue::LongString("1".into()));
        p = p.with_headers(t);
    }
    if c.flag() {
        p = p.with_correlation_id("c".into()).with_delivery_mode(2);
    }
    p
}

/// A method a client might send, on `channel`.
fn method(c: &mut Choices) -> AMQPClass {
    fn tag(c: &mut Choices) -> u64 {
        c.pick(&[0u64, 1, 2, 3, 5, u64::MAX])
    }
    match c.below(22) {
        0 | 1 => AMQPClass::Channel(channel::AMQPMethod::Open(channel::Open {})),
        2 => AMQPClass::Channel(channel::AMQPMethod::Close(channel::Close::default())),
        3 => AMQPClass::Channel(channel::AMQPMethod::CloseOk(channel::CloseOk {})),
        4 => AMQPClass::Exchange(exchange::AMQPMethod::Declare(exchange::Declare {
            exchange: short(c, EXCHANGES),
            kind: short(c, KINDS),
            passive: c.flag(),
            auto_delete: c.flag(),
            nowait: c.flag(),
            ..Default::default()
        })),
        5 => AMQPClass::Exchange(exchange::AMQPMethod::Delete(exchange::Delete {
            exchange: short(c, EXCHANGES),
            if_unused: c.flag(),
            nowait: c.flag(),
        })),
        6 | 7 => AMQPClass::Queue(queue::AMQPMethod::Declare(queue::Declare {
            queue: short(c, QUEUES),
            passive: c.flag(),
            durable: c.flag(),
            exclusive: c.flag(),
            auto_delete: c.flag(),
            nowait: c.flag(),
            arguments: arguments(c),
        })),
        8 => AMQPClass::Queue(queue::AMQPMethod::Bind(queue::Bind {
            queue: short(c, QUEUES),
            exchange: short(c, EXCHANGES),
            routing_key: short(c, KEYS),
            nowait: c.flag(),
            arguments: FieldTable::default(),
        })),
        9 => AMQPClass::Queue(queue::AMQPMethod::Unbind(queue::Unbind {
            queue: short(c, QUEUES),
            exchange: short(c, EXCHANGES),
            routing_key: short(c, KEYS),
            arguments: FieldTable::default(),
        })),
        10 => AMQPClass::Queue(queue::AMQPMethod::Purge(queue::Purge { queue: short(c, QUEUES), nowait: c.flag() })),
        11 => AMQPClass::Queue(queue::AMQPMethod::Delete(queue::Delete {
            queue: short(c, QUEUES),
            if_unused: c.flag(),
            if_empty: c.flag(),
            nowait: c.flag(),
        })),
        12 => AMQPClass::Basic(basic::AMQPMethod::Qos(basic::Qos {
            prefetch_count: c.pick(&[0, 1, 2, u16::MAX]),
            global: c.flag(),
        })),
        13 | 14 => AMQPClass::Basic(basic::AMQPMethod::Consume(basic::Consume {
            queue: short(c, QUEUES),
            consumer_tag: short(c, TAGS),
            no_ack: c.flag(),
            nowait: c.flag(),
            ..Default::default()
        })),
        15 => AMQPClass::Basic(basic::AMQPMethod::Cancel(basic::Cancel {
            consumer_tag: short(c, TAGS),
            nowait: c.flag(),
        })),
        16 => AMQPClass::Basic(basic::AMQPMethod::Get(basic::Get { queue: short(c, QUEUES), no_ack: c.flag() })),
        17 | 18 => AMQPClass::Basic(basic::AMQPMethod::Ack(basic::Ack { delivery_tag: tag(c), multiple: c.flag() })),
        19 => AMQPClass::Basic(basic::AMQPMethod::Nack(basic::Nack {
            delivery_tag: tag(c),
            multiple: c.flag(),
            requeue: c.flag(),
        })),
        20 => AMQPClass::Basic(basic::AMQPMethod::Recover(basic::Recover { requeue: c.flag() })),
        _ => AMQPClass::Confirm(confirm::AMQPMethod::Select(confirm::Select { nowait: c.flag() })),
    }
}

/// The frames of one client turn.
fn frames(c: &mut Choices) -> Vec<AMQPFrame> {
    let channel = c.pick(&[1u16, 1, 2, 3, 0]);
    match c.below(8) {
        0..=3 => vec![AMQPFrame::Method(channel, method(c))],
        4 | 5 => {
            let body: &[u8] = c.pick(&[&b""[..], b"21.5", &[0xff; 300]]);
            let size = if c.below(8) == 0 { body.len() as u64 + 1 } else { body.len() as u64 };
            let publish = basic::Publish {
                exchange: short(c, EXCHANGES),
                routing_key: short(c, KEYS),
                mandatory: c.flag(),
                immediate: false,
            };
            let header = AMQPContentHeader { class_id: 60, body_size: size, properties: properties(c) };
            let mut out = vec![
                AMQPFrame::Method(channel, AMQPClass::Basic(basic::AMQPMethod::Publish(publish))),
                AMQPFrame::Header(channel, header),
            ];
            // Split in two body frames sometimes; none when empty.
            if !body.is_empty() {
                let cut = c.below(body.len() + 1);
                out.extend([&body[..cut], &body[cut..]].into_iter().filter(|b| !b.is_empty()).map(|b| AMQPFrame::Body(channel, b.to_vec())));
            }
            out
        }
        6 => vec![AMQPFrame::Body(channel, vec![1, 2, 3])],
        _ => vec![AMQPFrame::Heartbeat],
    }
}

struct Client {
    conn: u64,
    session: Session,
    closed: bool,
}

struct World {
    engine: Engine,
    now: u64,
    outputs: Vec<Output>,
    clients: [Option<Client>; 2],
    exchanges: Arc<Exchanges>,
    next_conn: u64,
    counters: Counters,
    trace: bool,
}

impl World {
    fn connect(&mut self, slot: usize) {
        let conn = self.next_conn;
        self.next_conn += 1;
        let limits = Limits { max_message: 1 << 20, channel_max: 2047, max_prefetch: 65_535, max_channels: 3 };
        let caps = Capabilities { consumer_cancel_notify: true, connection_blocked: true };
        let session = Session::new(conn, limits, caps, self.exchanges.clone(), false);
        self.input(Input::Connect { conn });
        self.clients[slot] = Some(Client { conn, session, closed: false });
    }

    fn input(&mut self, input: Input) {
        self.engine.handle(self.now, input);
        while let Some(output) = self.engine.poll_output() {
            self.outputs.push(output);
        }
    }

    /// Carries out a session's steps as the connection task does.
    fn steps(&mut self, slot: usize, steps: Vec<Step>) {
        assert!(steps.len() <= MAX_STEPS, "{} steps from one call", steps.len());
        let Some(client) = &mut self.clients[slot] else { return };
        let conn = client.conn;
        let mut frames = Vec::new();
        for step in steps {
            match step {
                Step::Engine(frame) => frames.push(frame),
                Step::Close => client.closed = true,
                Step::Send(_) | Step::Content { .. } => {}
            }
        }
        for frame in frames {
            if self.trace {
                eprintln!("  {conn} → engine {frame:?}");
            }
            self.input(Input::Frame { conn, frame });
        }
    }

    fn from_client(&mut self, slot: usize, frame: AMQPFrame) {
        // Through the codec, as a connection would read it.
        let mut wire = Vec::new();
        encode(&frame, &mut wire);
        let mut buf = BytesMut::from(&wire[..]);
        let Ok(Some(frame)) = decode(&mut buf, FRAME_MAX) else { return };
        let Some(client) = &mut self.clients[slot] else { return };
        if client.closed {
            return;
        }
        if self.trace {
            eprintln!("{} ← client {frame}", client.conn);
        }
        let mut steps = Vec::new();
        client.session.on_frame(frame, &mut steps);
        self.steps(slot, steps);
    }

    fn lose(&mut self, slot: usize) {
        if let Some(client) = self.clients[slot].take() {
            self.input(Input::Disconnect { conn: client.conn });
        }
        self.connect(slot);
    }

    fn settle(&mut self) {
        for _ in 0..MAX_ROUNDS {
            if self.outputs.is_empty() {
                return self.check();
            }
            let mut batches: BTreeMap<u64, Vec<ServerFrame>> = BTreeMap::new();
            for output in std::mem::take(&mut self.outputs) {
                if let Output::Send { conn, frame } = output {
                    batches.entry(conn).or_default().push(frame);
                }
            }
            for (conn, frames) in batches {
                let Some(slot) = self.clients.iter().position(|c| c.as_ref().is_some_and(|c| c.conn == conn)) else {
                    continue;
                };
                let mut steps = Vec::new();
                let client = self.clients[slot].as_mut().expect("found");
                for frame in frames {
                    client.session.on_server(frame, &mut steps);
                }
                self.steps(slot, steps);
            }
        }
        panic!("the engine and the sessions did not settle in {MAX_ROUNDS} rounds");
    }

    fn check(&mut self) {
        let stats = self.engine.stats();
        sequence::check_engine(&self.engine, &stats, &self.counters);
        self.counters = stats.counters;
        let conns = self.engine.connections();
        for client in self.clients.iter().flatten() {
            let unacked = conns.iter().find(|k| k.id == client.conn).map_or(0, |k| k.unacked);
            assert_eq!(unacked, client.session.held() as u64, "connection {}: engine unacked vs held", client.conn);
        }
    }
}

fuzz_target!(|data: &[u8]| {
    static TRACE: OnceLock<bool> = OnceLock::new();
    let trace = *TRACE.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some());
    let mut c = Choices::new(data);
    let mut world = World {
        engine: Engine::new(EngineConfig::default()),
        now: 0,
        outputs: Vec::new(),
        clients: [None, None],
        exchanges: Arc::default(),
        next_conn: 1,
        counters: Counters::default(),
        trace,
    };
    world.connect(0);
    world.connect(1);
    while !c.is_empty() {
        let slot = c.below(2);
        match c.below(16) {
            0 => {
                world.now += c.pick(&[1, 50, 200, 10_000]);
                world.input(Input::Tick);
            }
            1 => world.lose(slot),
            2 => {
                // Raw bytes through the decoder: whatever it lets through.
                let bytes: Vec<u8> = (0..c.below(24)).map(|_| c.byte()).collect();
                let mut buf = BytesMut::from(&bytes[..]);
                if let Ok(Some(frame)) = decode(&mut buf, FRAME_MAX)
                    && let Some(client) = world.clients[slot].as_mut()
                    && !client.closed
                {
                    let mut steps = Vec::new();
                    client.session.on_frame(frame, &mut steps);
                    world.steps(slot, steps);
                }
            }
            _ => {
                for frame in frames(&mut c) {
                    world.from_client(slot, frame);
                }
            }
        }
        if world.clients[slot].as_ref().is_some_and(|c| c.closed) {
            world.lose(slot);
        }
        world.settle();
    }
});
