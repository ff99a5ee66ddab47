//! The frames live mode exchanges with a broker, as small plain types.
//!
//! The broker's frames are `queue_core::protocol` types; serde's derived
//! code for all of them (every variant, every field, every option) would be
//! most of live mode's download. Live mode reads a handful of fields, so it
//! decodes each frame as a JSON value and picks those, and writes the few
//! frames it sends as JSON values. The browser tests check both against
//! the protocol types' own serde encoding, so the two cannot drift apart.

use serde_json::{Value, json};

/// A frame from the broker that live mode acts on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Incoming {
    /// A message for one of our consumers.
    Deliver(Message),
    /// A stats snapshot.
    Stats(Stats),
    /// A subscribe request (`id`) gave `consumer`.
    Subscribed {
        /// The request's id.
        id: u64,
        /// The consumer it created.
        consumer: u64,
    },
    /// A publish (`id`) went to `routed` queues.
    Confirm {
        /// The request's id.
        id: u64,
        /// How many queues took it.
        routed: u64,
    },
    /// A request (`id`, if it had one) failed.
    Error {
        /// The request's id.
        id: Option<u64>,
        /// Why, for a person.
        message: String,
    },
}

/// A delivered message, as live mode shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Message {
    /// The consumer it was delivered to.
    pub consumer: u64,
    /// Its topic.
    pub topic: String,
    /// The payload as text, or a note on its size when it is binary.
    pub payload: String,
    /// Whether it is a retained replay.
    pub retained: bool,
}

/// A `stats` snapshot: the numbers live mode shows.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    /// Broker time (ms).
    pub now: u64,
    /// Messages published since the broker started.
    pub published: u64,
    /// Deliveries since the broker started.
    pub delivered: u64,
    /// Acks since the broker started.
    pub acked: u64,
    /// Open connections.
    pub connections: u64,
    /// Consumers on all queues.
    pub consumers: u64,
    /// Topics with a retained message.
    pub retained: u64,
    /// Memory in use and the budget (`None` from a broker older than the budget).
    pub memory: Option<Memory>,
    /// Every queue.
    pub queues: Vec<QueueStat>,
}

/// The broker's memory budget in a `stats` snapshot, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Memory {
    /// Everything counted: `queued + retained + buffered`.
    pub used: u64,
    /// The budget (`None`: the broker has none).
    pub limit: Option<u64>,
    /// Ready and unacked copies in queues.
    pub queued: u64,
    /// Retained messages.
    pub retained: u64,
    /// Frames waiting in connection buffers.
    pub buffered: u64,
    /// A budget (memory or disk) is used up: publishers are held until
    /// queues drain.
    pub blocked: bool,
    /// Bytes of the durable store's files (0: nothing on disk, or a broker
    /// older than the store).
    pub disk: u64,
    /// The disk budget (`None`: the broker has none).
    pub disk_limit: Option<u64>,
}

/// One queue in a `stats` snapshot.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct QueueStat {
    /// Its name.
    pub name: String,
    /// Messages ready.
    pub ready: u64,
    /// Messages delivered, not acked.
    pub unacked: u64,
    /// Consumers.
    pub consumers: u64,
    /// Declared durable: the broker keeps its messages in its store.
    pub durable: bool,
    /// Copies that entered it, since it was created.
    pub enqueued: u64,
    /// Deliveries from it.
    pub delivered: u64,
    /// Acks of its messages.
    pub acked: u64,
}

fn number(value: &Value, key: &str) -> Option<u64> {
    value.get(key)?.as_u64()
}

fn text(value: &Value, key: &str) -> Option<String> {
    Some(value.get(key)?.as_str()?.to_string())
}

/// Reads a broker frame; frames live mode ignores (and garbage) give `None`.
pub fn decode(frame: &str) -> Option<Incoming> {
    let value: Value = serde_json::from_str(frame).ok()?;
    let id = number(&value, "id");
    Some(match value.get("type")?.as_str()? {
        "deliver" => Incoming::Deliver(Message {
            consumer: number(&value, "consumer")?,
            topic: text(&value, "topic")?,
            payload: payload(value.get("payload")?)?,
            retained: value.get("retained").and_then(Value::as_bool).unwrap_or(false),
        }),
        "stats" => Incoming::Stats(stats(value.get("stats")?)?),
        "subscribed" => Incoming::Subscribed { id: id?, consumer: number(&value, "consumer")? },
        "confirm" => Incoming::Confirm { id: id?, routed: number(&value, "routed")? },
        "error" => Incoming::Error { id, message: text(&value, "message")? },
        _ => return None,
    })
}

/// A payload is a string, or `{"base64": "…"}` for binary data.
fn payload(value: &Value) -> Option<String> {
    if let Some(text) = value.as_str() {
        return Some(text.to_string());
    }
    let encoded = value.get("base64")?.as_str()?.trim_end_matches('=');
    Some(format!("<{} bytes of binary>", encoded.len() * 3 / 4))
}

fn stats(value: &Value) -> Option<Stats> {
    let counters = value.get("counters")?;
    let queues = value.get("queues")?.as_array()?.iter().map(queue).collect::<Option<Vec<_>>>()?;
    Some(Stats {
        now: number(value, "now")?,
        published: number(counters, "published")?,
        delivered: number(counters, "delivered")?,
        acked: number(counters, "acked")?,
        connections: number(value, "connections")?,
        consumers: number(value, "consumers")?,
        retained: number(value, "retained")?,
        memory: value.get("memory").and_then(memory),
        queues,
    })
}

/// `stats.memory`; without `used` there is nothing to show. The disk
/// fields came with the store: an older broker's read as 0 and no budget.
fn memory(value: &Value) -> Option<Memory> {
    let part = |key| number(value, key).unwrap_or_default();
    Some(Memory {
        used: number(value, "used")?,
        limit: number(value, "limit"),
        queued: part("queued"),
        retained: part("retained"),
        buffered: part("buffered"),
        blocked: value.get("blocked").and_then(Value::as_bool).unwrap_or(false),
        disk: part("disk"),
        disk_limit: number(value, "disk_limit"),
    })
}

fn queue(value: &Value) -> Option<QueueStat> {
    let counters = value.get("counters")?;
    Some(QueueStat {
        name: text(value, "name")?,
        ready: number(value, "ready")?,
        unacked: number(value, "unacked")?,
        consumers: number(value, "consumers")?,
        durable: value.pointer("/options/durable").and_then(Value::as_bool).unwrap_or(false),
        enqueued: number(counters, "enqueued")?,
        delivered: number(counters, "delivered")?,
        acked: number(counters, "acked")?,
    })
}

/// `hello` with a client id, no keep-alive, and a retained text will if given.
pub fn hello(client_id: &str, will: Option<(&str, &str)>) -> String {
    let mut frame = json!({"type": "hello", "client_id": client_id, "keep_alive_ms": 0});
    if let Some((topic, payload)) = will {
        frame["will"] = json!({"topic": topic, "payload": payload, "retain": true});
    }
    frame.to_string()
}

/// `watch`: a stats snapshot now and every `interval_ms`.
pub fn watch(id: u64, interval_ms: u64) -> String {
    json!({"type": "watch", "id": id, "interval_ms": interval_ms}).to_string()
}

/// `subscribe` to a topic filter, auto ack, the broker's default prefetch.
pub fn subscribe(id: u64, filter: &str) -> String {
    json!({"type": "subscribe", "id": id, "topic": filter, "ack": "auto"}).to_string()
}

/// `unsubscribe` a consumer.
pub fn unsubscribe(id: u64, consumer: u64) -> String {
    json!({"type": "unsubscribe", "id": id, "consumer": consumer}).to_string()
}

/// `publish` a text payload to a topic; with an `id`, the broker confirms.
pub fn publish(id: Option<u64>, topic: &str, payload: &str, retain: bool) -> String {
    let mut frame = json!({"type": "publish", "topic": topic, "payload": payload, "retain": retain});
    if let Some(id) = id {
        frame["id"] = id.into();
    }
    frame.to_string()
}

/// `bye`: a clean goodbye (the will is discarded).
pub fn bye() -> String {
    json!({"type": "bye"}).to_string()
}
