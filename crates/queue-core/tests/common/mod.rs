//! A hand-driven harness: frames in as JSON, frames out per connection, time by hand.
#![allow(dead_code, missing_docs)]

use queue_core::protocol::{Delivery, ServerFrame, decode_client};
use queue_core::{Engine, EngineConfig, Event, Input, Output, StoreOp};
use serde_json::{Value, json};
use std::collections::BTreeMap;

pub struct Harness {
    pub engine: Engine,
    pub now: u64,
    pub inbox: BTreeMap<u64, Vec<ServerFrame>>,
    pub closed: Vec<u64>,
    pub events: Vec<Event>,
    /// Every `Output::Blocked`, in order.
    pub blocked: Vec<bool>,
    /// Every `Output::Denied`, in order.
    pub denied: Vec<queue_core::Denial>,
    /// Every `Output::Store`, in order.
    pub stored: Vec<StoreOp>,
}

impl Harness {
    pub fn new() -> Self {
        Self::with_config(EngineConfig { observe: true, ..EngineConfig::default() })
    }

    pub fn with_config(config: EngineConfig) -> Self {
        let (inbox, closed, events, blocked, denied, stored) = Default::default();
        Self { engine: Engine::new(config), now: 0, inbox, closed, events, blocked, denied, stored }
    }

    pub fn input(&mut self, input: Input) {
        self.engine.handle(self.now, input);
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Send { conn, frame } => self.inbox.entry(conn).or_default().push(frame),
                Output::Close { conn } => self.closed.push(conn),
                Output::Event(event) => self.events.push(event),
                Output::Blocked(blocked) => self.blocked.push(blocked),
                Output::Denied(denial) => self.denied.push(denial),
                Output::Store(op) => self.stored.push(op),
            }
        }
    }

    pub fn connect(&mut self, conn: u64) {
        self.input(Input::Connect { conn });
    }

    pub fn disconnect(&mut self, conn: u64) {
        self.input(Input::Disconnect { conn });
    }

    /// Sends a frame given as JSON; panics if it does not decode.
    pub fn send(&mut self, conn: u64, frame: Value) {
        let frame = decode_client(&frame.to_string(), 1 << 20).expect("test frame decodes");
        self.input(Input::Frame { conn, frame });
    }

    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.input(Input::Tick);
    }

    /// Takes every frame sent to `conn` so far.
    pub fn take(&mut self, conn: u64) -> Vec<ServerFrame> {
        self.inbox.remove(&conn).unwrap_or_default()
    }

    /// Takes the deliveries sent to `conn`, failing on any error frame.
    pub fn deliveries(&mut self, conn: u64) -> Vec<Delivery> {
        self.take(conn)
            .into_iter()
            .filter_map(|f| match f {
                ServerFrame::Deliver(d) => Some(d),
                ServerFrame::Error { code, message, .. } => panic!("unexpected error {code:?}: {message}"),
                _ => None,
            })
            .collect()
    }

    /// Takes the error codes sent to `conn`.
    pub fn errors(&mut self, conn: u64) -> Vec<queue_core::protocol::ErrorCode> {
        self.take(conn)
            .into_iter()
            .filter_map(|f| match f {
                ServerFrame::Error { code, .. } => Some(code),
                _ => None,
            })
            .collect()
    }

    pub fn declare(&mut self, conn: u64, queue: &str, options: Value) {
        self.send(conn, json!({"type": "declare", "id": 1, "queue": queue, "options": options}));
        let frames = self.take(conn);
        assert!(matches!(frames.last(), Some(ServerFrame::Declared { .. })), "declare {queue}: {frames:?}");
    }

    pub fn bind(&mut self, conn: u64, queue: &str, filter: &str) {
        self.send(conn, json!({"type": "bind", "id": 2, "queue": queue, "filter": filter}));
        assert_eq!(self.take(conn), vec![ServerFrame::Ok { id: 2 }]);
    }

    /// Subscribes and returns the consumer id (other frames stay in the inbox).
    pub fn subscribe(&mut self, conn: u64, queue: &str, prefetch: u32, ack: &str) -> u64 {
        self.send(conn, json!({"type": "subscribe", "id": 3, "queue": queue, "prefetch": prefetch, "ack": ack}));
        self.subscribed(conn)
    }

    pub fn subscribed(&mut self, conn: u64) -> u64 {
        let frames = self.inbox.entry(conn).or_default();
        let at = frames.iter().position(|f| matches!(f, ServerFrame::Subscribed { .. }));
        match at.map(|i| frames.remove(i)) {
            Some(ServerFrame::Subscribed { consumer, .. }) => consumer,
            _ => panic!("no subscribed frame: {frames:?}"),
        }
    }

    pub fn publish_topic(&mut self, conn: u64, topic: &str, payload: &str) {
        self.send(conn, json!({"type": "publish", "topic": topic, "payload": payload}));
    }

    pub fn publish_queue(&mut self, conn: u64, queue: &str, payload: &str) {
        self.send(conn, json!({"type": "publish", "queue": queue, "payload": payload}));
    }

    pub fn ack(&mut self, conn: u64, tag: u64) {
        self.send(conn, json!({"type": "ack", "tag": tag}));
    }

    pub fn queue(&self, name: &str) -> queue_core::QueueStats {
        self.engine.queue_stats(name).expect("queue exists")
    }
}

pub fn payloads(deliveries: &[Delivery]) -> Vec<String> {
    deliveries.iter().map(|d| d.payload.as_str().unwrap_or("<binary>").to_owned()).collect()
}
