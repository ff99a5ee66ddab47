//! MQTT sessions driven by arbitrary packet sequences against a real engine.
//!
//! Two MQTT connections (3.1.1 or 5.0, clean or persistent, with or without
//! a will, sometimes the same client id: a takeover) and one native engine
//! connection (publishing with any headers, `x-mqtt-*` ones included, and
//! deleting session queues) take turns with jumps of time. Packets are built
//! from the bytes and kept only if they survive the codec (encode, decode),
//! as a real connection only hands the session what decodes. The harness
//! does what the connection task does with the session's steps (engine
//! frames, packets, close, and at the end saving a
//! persistent session, `bye` and the disconnect), and what the driver does
//! when a session opens.
//!
//! Checked: no panic; after every turn the engine's conservation law and
//! accounts (`queue-core/fuzz/src/sequence.rs`); each call into the
//! session returns a bounded number of steps (below); once the engine and
//! the sessions have nothing left to say, each connection's unacked engine
//! deliveries are all among the QoS 1 and 2 PUBLISHes the client holds
//! unacknowledged (none leaked, which would stall the prefetch window
//! forever), a packet id is never reused while in flight, and every QoS 1
//! and 2 PUBLISH of the client has been answered (PUBACK, PUBREC).
//! `FUZZ_TRACE=1` prints what happens.
#![no_main]

#[path = "../../../queue-core/fuzz/src/sequence.rs"]
#[allow(dead_code)]
mod sequence;

use bytes::{Bytes, BytesMut};
use hearth::mqtt::lifetime::{Lifetime, QueueLimits};
use hearth::mqtt::registry::Saved;
use hearth::mqtt::session::{Session, Step, engine_will, queue_name};
use libfuzzer_sys::fuzz_target;
use mqtt_codec::{
    Ack, Auth, Disconnect, Packet, PayloadFormat, Properties, ProtocolVersion, Publish, QoS, ReasonCode,
    RetainHandling, Subscribe, Subscription, SubscriptionOptions, Unsubscribe, Will,
};
use queue_core::message::Headers;
use queue_core::protocol::{AckMode, ClientFrame, ServerFrame};
use queue_core::{Counters, Engine, EngineConfig, Input, Output, QueueOptions};
use sequence::Choices;
use std::collections::BTreeMap;
use std::num::{NonZeroU16, NonZeroU32};
use std::sync::OnceLock;

/// The native (WebSocket-like) connection.
const NATIVE: u64 = 1000;
/// Request ids for the frames that open a session: the session numbers its
/// own requests from 1, and answers to ids it does not know are ignored,
/// as it ignores those of its `Pending::Nothing` requests.
const OPEN_IDS: u64 = u64::MAX - 10;
/// Rounds of engine ↔ session exchange before they must have settled.
const MAX_ROUNDS: usize = 100_000;

const TOPICS: &[&str] = &["a", "a/b", "a/b/c", "$SYS/up", "b", "ünï", "/"];
const FILTERS: &[&str] = &[
    "#",
    "a/#",
    "a",
    "a/b",
    "+/+",
    "+",
    "$SYS/#",
    "$share/g/a/#",
    "$share/g/#",
    "$share/h/+",
    "$share//a",
    "$share/g",
    "$share/g+/a",
    "a/#/b",
    "a+",
    "",
];

fn deep(levels: usize, level: &str, last: &str) -> String {
    format!("{}{last}", format!("{level}/").repeat(levels))
}

// Long topics and filters are rarer than short ones: each costs a scan of
// up to 64 KiB.
fn topic(c: &mut Choices) -> String {
    match c.below(32) {
        0 => deep(c.pick(&[126, 127, 128, 1000]), "a", "a"),
        1 => "x".repeat(c.pick(&[256, 65_535])),
        _ => c.pick(TOPICS).into(),
    }
}

fn filter(c: &mut Choices) -> String {
    match c.below(32) {
        0 => deep(c.pick(&[126, 127, 128, 1000]), "+", "#"),
        _ => c.pick(FILTERS).into(),
    }
}

fn qos(c: &mut Choices) -> QoS {
    c.pick(&[QoS::AtMostOnce, QoS::AtLeastOnce, QoS::ExactlyOnce])
}

fn edge_u32(c: &mut Choices) -> u32 {
    c.pick(&[0, 1, 2, 60, 4_294_967, u32::MAX - 1, u32::MAX])
}

fn payload(c: &mut Choices) -> Bytes {
    c.pick(&[Bytes::new(), Bytes::from_static(b"21.5"), Bytes::from_static(&[0xff, 0])])
}

/// PUBLISH (and will) properties, each sometimes set, some at their edges.
fn properties(c: &mut Choices) -> Properties {
    let mut p = Properties::default();
    if c.flag() {
        return p;
    }
    p.message_expiry_interval = c.maybe(edge_u32);
    p.payload_format = c.maybe(|c| c.pick(&[PayloadFormat::Bytes, PayloadFormat::Utf8]));
    p.content_type = c.maybe(|_| "text/plain".into());
    p.response_topic = c.maybe(|_| "reply/c".into());
    p.correlation_data = c.maybe(|c| payload(c));
    p.topic_alias = c.maybe(|c| NonZeroU16::new(c.pick(&[1, 2, 64, 65, u16::MAX]))).flatten();
    if c.flag() {
        let (name, value) = c.pick(&[("k", "v"), ("x-mqtt-publisher", "c"), ("x-will-ttl-ms", "7")]);
        p.user_properties.push((name.to_owned(), value.to_owned()));
    }
    p
}

/// Headers a native publisher may put on a message, the MQTT mapping's own
/// among them, with values an MQTT client could never send.
fn native_headers(c: &mut Choices) -> Headers {
    let mut headers = Headers::new();
    // 0, what exhausted bytes read as, ends the loop.
    while c.below(3) == 2 {
        let value = c.pick(&["0", "1", "2", "7", "", "zz", "0a", "-1", "18446744073709551615", "4294967295000"]);
        let name = c.pick(&[
            "x-mqtt-publish-qos",
            "x-mqtt-message-expiry",
            "x-mqtt-publisher",
            "x-mqtt-retain",
            "x-mqtt-correlation-data",
            "x-mqtt-payload-format",
            "content-type",
            "k",
        ]);
        headers.insert(name.into(), value.into());
    }
    headers
}

/// Keeps `packet` only if it survives the codec for `version`, as the
/// decoded form a connection would hand the session.
fn through_codec(packet: Packet, version: ProtocolVersion) -> Option<Packet> {
    let mut wire = BytesMut::new();
    mqtt_codec::encode(&packet, version, &mut wire).ok()?;
    mqtt_codec::decode(&mut wire, version, u32::MAX).ok().flatten()
}

fn ack(packet_id: u16, c: &mut Choices) -> Ack {
    let reason = c.pick(&[ReasonCode::Success, ReasonCode::Success, ReasonCode::UnspecifiedError]);
    Ack { packet_id, reason, properties: Properties::default() }
}

/// One MQTT connection: its session and what the client holds.
struct Client {
    conn: u64,
    session: Session,
    /// The lifetime the session queue was declared with.
    declared: Lifetime,
    delete_on_close: bool,
    goodbye: bool,
    /// Packet ids of QoS 1 and 2 PUBLISHes sent to the client and not yet
    /// PUBACKed or PUBCOMPed: `true` if it carries an engine delivery.
    in_flight: BTreeMap<u16, bool>,
    /// QoS 1 and 2 PUBLISHes of the client not yet answered.
    unanswered: Vec<(QoS, u16)>,
}

struct World {
    engine: Engine,
    now: u64,
    /// Outputs of the engine not yet routed to their connections.
    outputs: Vec<Output>,
    clients: [Option<Client>; 2],
    /// The registry's saved persistent sessions.
    saved: BTreeMap<String, Saved>,
    next_conn: u64,
    counters: Counters,
    trace: bool,
}

impl World {
    fn new(trace: bool) -> Self {
        let engine = Engine::new(EngineConfig::default());
        let (outputs, saved, counters) = (Vec::new(), BTreeMap::new(), Counters::default());
        Self { engine, now: 0, outputs, clients: [None, None], saved, next_conn: 1, counters, trace }
    }

    /// One engine input; its outputs wait in `outputs` for [`World::settle`].
    /// (The `engine` target checks the bound on one input's outputs; here
    /// the sessions' steps are bounded, per call.)
    fn handle(&mut self, input: Input) {
        if self.trace {
            println!("engine.handle({}, {input:?});", self.now);
        }
        self.engine.handle(self.now, input);
        while let Some(output) = self.engine.poll_output() {
            self.outputs.push(output);
        }
    }

    fn frame(&mut self, conn: u64, frame: ClientFrame) {
        self.handle(Input::Frame { conn, frame });
    }

    fn slot_of(&self, conn: u64) -> Option<usize> {
        self.clients.iter().position(|c| c.as_ref().is_some_and(|c| c.conn == conn))
    }

    /// The driver's `open_session`: a clean start deletes an old session
    /// queue; a persistent one takes the wanted expiry as its policy.
    /// Returns the surviving queue's options.
    fn open_session(&mut self, conn: u64, queue: &str, clean: bool, options: QueueOptions) -> Option<QueueOptions> {
        let existing = self.engine.queue_stats(queue).map(|s| s.options)?;
        if clean {
            self.frame(conn, ClientFrame::Delete { id: 0, queue: queue.to_owned(), if_empty: false });
            return None;
        }
        let persistent = |o: &QueueOptions| !o.exclusive && !o.auto_delete;
        if existing != options && persistent(&existing) && persistent(&options) {
            let changed = self.engine.set_queue_policy(self.now, queue, options.clone());
            while let Some(output) = self.engine.poll_output() {
                self.outputs.push(output);
            }
            if changed.is_ok() {
                return Some(options);
            }
        }
        Some(existing)
    }

    /// A CONNECT: what the connection task and the driver do to open the session.
    fn open(&mut self, slot: usize, c: &mut Choices) {
        self.finish(slot);
        let version = if c.flag() { ProtocolVersion::V5 } else { ProtocolVersion::V311 };
        let client_id = c.pick(&["c", "d", "hearth-auto-1"]).to_owned();
        if let Some(other) =
            self.clients.iter().position(|k| k.as_ref().is_some_and(|k| k.session.client_id == client_id))
        {
            // A takeover: the old connection is told to leave and goes first.
            self.finish(other);
        }
        let clean = c.flag();
        let lifetime = match version {
            ProtocolVersion::V311 if clean => Lifetime::Transient,
            ProtocolVersion::V311 => Lifetime::Persistent(None),
            ProtocolVersion::V5 => Lifetime::from_expiry(c.pick(&[0, 0, 1, 60, u32::MAX])),
        };
        let prefetch = match version {
            ProtocolVersion::V311 => 100,
            ProtocolVersion::V5 => c.pick(&[1, 2, 65_535]),
        };
        let conn = self.next_conn;
        self.next_conn += 1;
        if self.trace {
            println!("// open {slot}: {version:?} {client_id} clean {clean} {lifetime:?} prefetch {prefetch}");
        }
        let mut session = Session::new(version, client_id.clone());
        session.lifetime = lifetime;
        session.receive_max = c.pick(&[1, 2, 1024, u16::MAX]);
        session.prefetch = prefetch;
        session.queue_limits =
            QueueLimits { messages: c.pick(&[1, 2, 1000, u64::MAX]), bytes: c.pick(&[0, 200, 16 << 20, u64::MAX]) };
        session.peer_alias_max = c.pick(&[0, 1, 64]);
        let will = c.maybe(|c| Will {
            topic: topic(c),
            payload: payload(c),
            qos: qos(c),
            retain: c.flag(),
            properties: if version == ProtocolVersion::V5 { properties(c) } else { Properties::default() },
        });
        self.handle(Input::Connect { conn });
        let hello = ClientFrame::Hello {
            id: None,
            client_id: Some(client_id.clone()),
            keep_alive_ms: 0,
            will: will.as_ref().map(engine_will),
        };
        self.frame(conn, hello);
        let queue = queue_name(&client_id);
        let wanted = lifetime.queue_options(session.queue_limits);
        let mut client = Client {
            conn,
            session,
            declared: lifetime,
            delete_on_close: false,
            goodbye: false,
            in_flight: BTreeMap::new(),
            unanswered: Vec::new(),
        };
        let mut steps = Vec::new();
        let saved = self.saved.remove(&client_id);
        let options = match self.open_session(conn, &queue, clean, wanted.clone()) {
            None => wanted,
            Some(options) => {
                if let Some(saved) = saved {
                    client.in_flight.extend(saved.released.keys().map(|pid| (*pid, false)));
                    client.session.restore(saved, &mut steps);
                }
                client.delete_on_close = !lifetime.is_persistent() && !options.exclusive;
                options
            }
        };
        self.frame(conn, ClientFrame::Declare { id: OPEN_IDS, queue: queue.clone(), options });
        let subscribe = ClientFrame::Subscribe {
            id: OPEN_IDS + 1,
            queue: Some(queue),
            topic: None,
            prefetch: Some(prefetch),
            ack: AckMode::Manual,
        };
        self.frame(conn, subscribe);
        let mine = self.take_frames(conn);
        let subscribed =
            mine.iter().position(|f| matches!(f, ServerFrame::Subscribed { id, .. } if *id == OPEN_IDS + 1));
        let refused = mine.iter().any(|f| matches!(f, ServerFrame::Error { .. }));
        self.clients[slot] = Some(client);
        let Some(at) = subscribed.filter(|_| !refused) else {
            // CONNACK with Server Unavailable; the connection ends.
            self.finish(slot);
            return;
        };
        self.carry_out(slot, steps, false);
        let early = mine[at + 1..].to_vec();
        self.to_session(slot, early);
    }

    /// Takes the frames for `conn` out of `outputs` (in order).
    fn take_frames(&mut self, conn: u64) -> Vec<ServerFrame> {
        let mut mine = Vec::new();
        self.outputs.retain(|o| match o {
            Output::Send { conn: to, frame } if *to == conn => {
                mine.push(frame.clone());
                false
            }
            _ => true,
        });
        mine
    }

    /// Frames from the engine, through the session.
    fn to_session(&mut self, slot: usize, frames: Vec<ServerFrame>) {
        let now = self.now;
        let Some(client) = self.clients[slot].as_mut() else { return };
        let n = frames.len();
        let mut steps = Vec::new();
        client.session.on_frames(frames, now, &mut steps);
        assert!(steps.len() <= 2 * n + 1, "{} steps for {n} frames", steps.len());
        self.carry_out(slot, steps, true);
    }

    /// The connection task's `carry_out`: steps in order; a close ends the connection.
    fn carry_out(&mut self, slot: usize, steps: Vec<Step>, deliveries: bool) {
        for step in steps {
            let Some(client) = self.clients[slot].as_mut() else { return };
            let conn = client.conn;
            match step {
                Step::Engine(ClientFrame::Bye) => client.goodbye = true,
                Step::Engine(frame) => self.frame(conn, frame),
                Step::Send(packet) => self.to_client(slot, &packet, deliveries),
                // The harness has no ACL; a refusal would only be counted.
                Step::Denied(_) => {}
                Step::Close(reason) => {
                    if self.trace {
                        println!("// close {slot}: {reason:?}");
                    }
                    self.finish(slot);
                    return;
                }
            }
        }
    }

    /// A packet the session writes to its client: what the client now holds.
    fn to_client(&mut self, slot: usize, packet: &Packet, delivery: bool) {
        let Some(client) = self.clients[slot].as_mut() else { return };
        if self.trace {
            println!("// to client {slot}: {packet:?}");
        }
        match packet {
            Packet::Publish(p) if p.qos != QoS::AtMostOnce => {
                let reused = client.in_flight.insert(p.packet_id, delivery);
                assert!(reused.is_none(), "packet id {} reused while in flight", p.packet_id);
            }
            Packet::PubAck(a) => answered(client, QoS::AtLeastOnce, a.packet_id),
            Packet::PubRec(a) => answered(client, QoS::ExactlyOnce, a.packet_id),
            _ => {}
        }
    }

    /// The connection task's `finish`, then the disconnect.
    fn finish(&mut self, slot: usize) {
        let Some(mut client) = self.clients[slot].take() else { return };
        let (conn, lifetime) = (client.conn, client.session.lifetime);
        let queue = client.session.queue();
        if lifetime.is_persistent() {
            for frame in client.session.settle_released() {
                self.frame(conn, frame);
            }
            if lifetime != client.declared {
                self.open_session(conn, &queue, false, lifetime.queue_options(client.session.queue_limits));
            }
            self.saved.insert(client.session.client_id.clone(), client.session.saved());
        } else if client.delete_on_close || client.declared.is_persistent() {
            self.frame(conn, ClientFrame::Delete { id: 0, queue, if_empty: false });
        }
        if client.goodbye {
            self.frame(conn, ClientFrame::Bye);
        }
        self.handle(Input::Disconnect { conn });
        client.in_flight.clear();
    }

    /// Routes engine outputs to the sessions until neither has more to
    /// say, then checks what must hold at rest.
    fn settle(&mut self) {
        for _ in 0..MAX_ROUNDS {
            if self.outputs.is_empty() {
                self.check();
                return;
            }
            let outputs = std::mem::take(&mut self.outputs);
            let mut batches: BTreeMap<u64, Vec<ServerFrame>> = BTreeMap::new();
            let mut closed = Vec::new();
            for output in outputs {
                match output {
                    Output::Send { conn, frame } => batches.entry(conn).or_default().push(frame),
                    Output::Close { conn } => closed.push(conn),
                    _ => {}
                }
            }
            for (conn, frames) in batches {
                if let Some(slot) = self.slot_of(conn) {
                    self.to_session(slot, frames);
                }
            }
            for conn in closed {
                if let Some(slot) = self.slot_of(conn) {
                    self.finish(slot);
                }
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
            let held = client.in_flight.values().filter(|d| **d).count() as u64;
            // Not equal: when a shared subscription's consumer goes, the
            // engine takes back its unacked deliveries while the client
            // still holds their PUBLISHes (its later PUBACK acks a tag the
            // engine forgot).
            assert!(unacked <= held, "{unacked} engine deliveries unacked, the client holds {held}: leaked");
            assert!(client.unanswered.is_empty(), "PUBLISHes never answered: {:?}", client.unanswered);
        }
    }

    /// A packet from client `slot`, through the codec, into the session.
    fn packet(&mut self, slot: usize, c: &mut Choices) {
        let Some(client) = self.clients[slot].as_mut() else { return };
        let version = client.session.version;
        let held: Vec<u16> = client.in_flight.keys().copied().collect();
        let pid = |c: &mut Choices| match c.below(4) {
            0 => c.pick(&[1, 2, 3, u16::MAX]),
            _ if held.is_empty() => 1,
            _ => c.pick(&held),
        };
        let packet = match c.below(16) {
            0..=4 => {
                let qos = qos(c);
                let packet_id = if qos == QoS::AtMostOnce { 0 } else { c.pick(&[1, 2, 3, u16::MAX]) };
                let properties = properties(c);
                let topic = if properties.topic_alias.is_some() && c.flag() { String::new() } else { topic(c) };
                let (dup, retain) = (c.flag() && qos != QoS::AtMostOnce, c.below(4) == 0);
                Packet::Publish(Publish { dup, qos, retain, topic: topic.into(), packet_id, payload: payload(c), properties })
            }
            5 => Packet::PubAck(ack(pid(c), c)),
            6 => Packet::PubRec(ack(pid(c), c)),
            7 => Packet::PubRel(ack(c.pick(&[1, 2, 3, u16::MAX]), c)),
            8 => Packet::PubComp(ack(pid(c), c)),
            9 | 10 => {
                let mut subscriptions = Vec::new();
                for _ in 0..=c.below(3) {
                    let options = SubscriptionOptions {
                        qos: qos(c),
                        no_local: c.flag(),
                        retain_as_published: c.flag(),
                        retain_handling: c.pick(&[
                            RetainHandling::SendAtSubscribe,
                            RetainHandling::SendIfNew,
                            RetainHandling::DoNotSend,
                        ]),
                    };
                    subscriptions.push(Subscription { filter: filter(c), options });
                }
                let mut properties = Properties::default();
                properties.subscription_identifiers.extend(c.maybe(|c| NonZeroU32::new(edge_u32(c))).flatten());
                Packet::Subscribe(Subscribe { packet_id: c.pick(&[1, u16::MAX]), subscriptions, properties })
            }
            11 => {
                let filters = (0..=c.below(3)).map(|_| filter(c)).collect();
                Packet::Unsubscribe(Unsubscribe { packet_id: 1, filters, properties: Properties::default() })
            }
            12 => Packet::PingReq,
            13 => {
                let reason =
                    c.pick(&[ReasonCode::Success, ReasonCode::DisconnectWithWillMessage, ReasonCode::UnspecifiedError]);
                let mut properties = Properties::default();
                properties.session_expiry_interval = c.maybe(edge_u32);
                Packet::Disconnect(Disconnect { reason, properties })
            }
            14 => Packet::Auth(Auth::default()),
            _ => Packet::PingResp,
        };
        let Some(packet) = through_codec(packet, version) else { return };
        if self.trace {
            println!("// from client {slot}: {packet:?}");
        }
        let n = match &packet {
            Packet::Subscribe(s) => s.subscriptions.len(),
            Packet::Unsubscribe(u) => u.filters.len(),
            _ => 1,
        };
        if let Packet::Publish(p) = &packet {
            if p.qos != QoS::AtMostOnce {
                client.unanswered.push((p.qos, p.packet_id));
            }
        }
        if let Packet::PubAck(a) | Packet::PubComp(a) = &packet {
            client.in_flight.remove(&a.packet_id);
        }
        let mut steps = Vec::new();
        client.session.on_packet(packet, &mut steps);
        assert!(steps.len() <= 1 + 4 * n, "{} steps for a packet of {n} filters", steps.len());
        if steps.iter().any(|s| matches!(s, Step::Close(_))) {
            // The connection ends: what it was owed is moot.
            client.unanswered.clear();
        }
        self.carry_out(slot, steps, false);
    }

    /// A frame from the native connection.
    fn native(&mut self, c: &mut Choices) {
        if !self.engine.connections().iter().any(|k| k.id == NATIVE) {
            self.handle(Input::Connect { conn: NATIVE });
        }
        let session_queue =
            |c: &mut Choices| c.pick(&["mqtt.c", "mqtt.d", "mqtt.share.g.a/#", "mqtt.share.g.#"]).to_owned();
        let frame = match c.below(6) {
            0 => ClientFrame::Delete { id: 1, queue: session_queue(c), if_empty: false },
            1 => ClientFrame::Declare { id: 1, queue: session_queue(c), options: QueueOptions::default() },
            _ => {
                let (topic, queue) =
                    if c.below(4) == 0 { (None, Some(session_queue(c))) } else { (Some(topic(c)), None) };
                ClientFrame::Publish {
                    id: Some(1),
                    topic: topic.map(Into::into),
                    queue,
                    payload: queue_core::Payload(payload(c)),
                    headers: native_headers(c).into(),
                    retain: c.below(4) == 0,
                    ttl_ms: c.maybe(|c| c.pick(&[0, 1, 1000, u64::from(u32::MAX) * 1000])),
                }
            }
        };
        self.frame(NATIVE, frame);
        let _ = self.take_frames(NATIVE);
    }

    fn turn(&mut self, c: &mut Choices) {
        let slot = c.below(2);
        match c.below(16) {
            0 | 1 => self.open(slot, c),
            2 => {
                // The socket is lost: no DISCONNECT.
                if self.trace {
                    println!("// lost {slot}");
                }
                self.finish(slot);
            }
            3 | 4 => self.native(c),
            5 => {
                self.now = match c.below(4) {
                    0 => self.engine.next_deadline().unwrap_or(self.now),
                    1 => self.now.saturating_add(u64::from(u32::MAX) * 1000),
                    2 => u64::MAX - u64::from(c.byte()),
                    _ => self.now.saturating_add(1000 * u64::from(c.byte())),
                };
                self.handle(Input::Tick);
            }
            _ if self.clients[slot].is_none() => self.open(slot, c),
            _ => self.packet(slot, c),
        }
        self.settle();
    }
}

/// The client's first unanswered PUBLISH of `qos` with `packet_id` is answered.
fn answered(client: &mut Client, qos: QoS, packet_id: u16) {
    if let Some(i) = client.unanswered.iter().position(|u| *u == (qos, packet_id)) {
        client.unanswered.remove(i);
    }
}

fuzz_target!(|data: &[u8]| {
    static TRACE: OnceLock<bool> = OnceLock::new();
    let mut c = Choices::new(data);
    let mut world = World::new(*TRACE.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some()));
    while !c.is_empty() {
        world.turn(&mut c);
    }
    for slot in 0..2 {
        world.finish(slot);
    }
    world.settle();
});
