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
    /// A subscribe request (`id`) gave `consumer`, on `queue`.
    Subscribed {
        /// The request's id.
        id: u64,
        /// The consumer it created.
        consumer: u64,
        /// The queue it consumes (for a topic filter, one made for it).
        queue: String,
    },
    /// A `peek` (`id`) read these first ready messages of `queue`.
    Peeked {
        /// The request's id.
        id: u64,
        /// The queue.
        queue: String,
        /// Ready messages in all.
        ready: u64,
        /// The first ones.
        messages: Vec<Peeked>,
    },
    /// A `purge` (`id`) dropped `messages`.
    Purged {
        /// The request's id.
        id: u64,
        /// How many ready messages went.
        messages: u64,
    },
    /// A request (`id`) was done (a `delete`, say).
    Done {
        /// The request's id.
        id: u64,
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
    /// The payload as text; binary payloads as hex bytes (`ff 00 1a`, at most [`MAX_HEX_BYTES`]).
    pub payload: String,
    /// Whether it is a retained replay.
    pub retained: bool,
    /// Whether the payload was binary (then `payload` is hex).
    pub binary: bool,
}

/// Most bytes of a binary payload shown as hex.
pub const MAX_HEX_BYTES: usize = 4096;

/// A message a `peek` showed, left in its queue.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Peeked {
    /// Its engine-wide id.
    pub message_id: u64,
    /// Its topic.
    pub topic: String,
    /// Its payload (hex when binary), cut by the broker if long.
    pub payload: String,
    /// Whether it is binary.
    pub binary: bool,
    /// Its whole size in bytes.
    pub bytes: u64,
    /// Times it was delivered before.
    pub delivery_count: u64,
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
    /// The topic filters bound to it.
    pub bindings: Vec<String>,
    /// Its policy: the options it was declared with that are set, as `(name, value)`.
    pub policy: Vec<(String, String)>,
    /// Its other counters, as `(name, value)`: redelivered, dropped, refused, expired, dead-lettered.
    pub losses: Vec<(&'static str, u64)>,
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
        "deliver" => {
            let (payload, binary) = payload(value.get("payload")?)?;
            Incoming::Deliver(Message {
                consumer: number(&value, "consumer")?,
                topic: text(&value, "topic")?,
                payload,
                retained: value.get("retained").and_then(Value::as_bool).unwrap_or(false),
                binary,
            })
        }
        "stats" => Incoming::Stats(stats(value.get("stats")?)?),
        "subscribed" => Incoming::Subscribed {
            id: id?,
            consumer: number(&value, "consumer")?,
            queue: text(&value, "queue").unwrap_or_default(),
        },
        "peeked" => Incoming::Peeked {
            id: id?,
            queue: text(&value, "queue")?,
            ready: number(&value, "ready")?,
            messages: value.get("messages")?.as_array()?.iter().filter_map(peeked).collect(),
        },
        "purged" => Incoming::Purged { id: id?, messages: number(&value, "messages")? },
        "ok" => Incoming::Done { id: id? },
        "confirm" => Incoming::Confirm { id: id?, routed: number(&value, "routed")? },
        "error" => Incoming::Error { id, message: text(&value, "message")? },
        _ => return None,
    })
}

/// A payload is a string, or `{"base64": "…"}` for binary data (given as
/// hex, and `true`).
fn payload(value: &Value) -> Option<(String, bool)> {
    if let Some(text) = value.as_str() {
        return Some((text.to_string(), false));
    }
    let bytes = unbase64(value.get("base64")?.as_str()?)?;
    let mut hex: Vec<String> = bytes.iter().take(MAX_HEX_BYTES).map(|b| format!("{b:02x}")).collect();
    if bytes.len() > MAX_HEX_BYTES {
        hex.push(format!("… ({} bytes in all)", bytes.len()));
    }
    Some((hex.join(" "), true))
}

/// Standard base64 (padding optional); `None` on a character outside it.
pub fn unbase64(text: &str) -> Option<Vec<u8>> {
    let digit = |c: u8| match c {
        b'A'..=b'Z' => Some(c - b'A'),
        b'a'..=b'z' => Some(c - b'a' + 26),
        b'0'..=b'9' => Some(c - b'0' + 52),
        b'+' => Some(62),
        b'/' => Some(63),
        _ => None,
    };
    let mut out = Vec::with_capacity(text.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0);
    for c in text.trim_end_matches('=').bytes() {
        acc = (acc << 6) | u32::from(digit(c)?);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
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

fn peeked(value: &Value) -> Option<Peeked> {
    let (payload, binary) = payload(value.get("payload")?)?;
    Some(Peeked {
        message_id: number(value, "message_id")?,
        topic: text(value, "topic")?,
        payload,
        binary,
        bytes: number(value, "bytes").unwrap_or_default(),
        delivery_count: number(value, "delivery_count").unwrap_or_default(),
    })
}

/// The options a queue was declared with that say something (not false,
/// null or empty; the overflow policy only with a length limit).
fn policy(options: Option<&Value>) -> Vec<(String, String)> {
    let Some(Value::Object(options)) = options else { return Vec::new() };
    let limited = options.contains_key("max_length") || options.contains_key("max_length_bytes");
    options
        .iter()
        .filter(|(_, v)| !matches!(v, Value::Null | Value::Bool(false)) && v.as_str() != Some(""))
        .filter(|(k, _)| limited || k.as_str() != "overflow")
        .map(|(k, v)| (k.clone(), v.as_str().map_or_else(|| v.to_string(), str::to_string)))
        .collect()
}

fn queue(value: &Value) -> Option<QueueStat> {
    let counters = value.get("counters")?;
    let bindings = value.get("bindings").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    let losses = ["redelivered", "dropped", "refused", "expired", "dead_lettered"];
    Some(QueueStat {
        name: text(value, "name")?,
        ready: number(value, "ready")?,
        unacked: number(value, "unacked")?,
        consumers: number(value, "consumers")?,
        durable: value.pointer("/options/durable").and_then(Value::as_bool).unwrap_or(false),
        enqueued: number(counters, "enqueued")?,
        delivered: number(counters, "delivered")?,
        acked: number(counters, "acked")?,
        bindings: bindings.iter().filter_map(|b| Some(b.as_str()?.to_string())).collect(),
        policy: policy(value.get("options")),
        losses: losses.iter().map(|k| (*k, number(counters, k).unwrap_or_default())).collect(),
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

/// `peek` at a queue's first `limit` ready messages.
pub fn peek(id: u64, queue: &str, limit: u32) -> String {
    json!({"type": "peek", "id": id, "queue": queue, "limit": limit}).to_string()
}

/// `purge` a queue's ready messages.
pub fn purge(id: u64, queue: &str) -> String {
    json!({"type": "purge", "id": id, "queue": queue}).to_string()
}

/// `delete` a queue.
pub fn delete(id: u64, queue: &str) -> String {
    json!({"type": "delete", "id": id, "queue": queue}).to_string()
}

/// `bye`: a clean goodbye (the will is discarded).
pub fn bye() -> String {
    json!({"type": "bye"}).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_with_or_without_padding_and_refuses_garbage() {
        assert_eq!(unbase64("/wABAgM="), Some(vec![0xff, 0, 1, 2, 3]));
        assert_eq!(unbase64("/wABAgM"), Some(vec![0xff, 0, 1, 2, 3]));
        assert_eq!(unbase64(""), Some(vec![]));
        assert_eq!(unbase64("aGk="), Some(b"hi".to_vec()));
        assert_eq!(unbase64("a b"), None);
    }

    #[test]
    fn a_binary_delivery_is_hex_and_bounded() {
        let frame =
            r#"{"type":"deliver","consumer":1,"tag":null,"topic":"t","payload":{"base64":"/wAB"},"retained":false}"#;
        let Some(Incoming::Deliver(m)) = decode(frame) else { panic!("a delivery") };
        assert_eq!((m.payload.as_str(), m.binary), ("ff 00 01", true));
        let (hex, binary) = payload(&json!({"base64": "AAAA".repeat(MAX_HEX_BYTES)})).unwrap();
        assert!(binary);
        assert_eq!(
            hex.split(' ').filter(|h| h.len() == 2 && h.bytes().all(|b| b.is_ascii_hexdigit())).count(),
            MAX_HEX_BYTES
        );
        assert!(hex.ends_with(&format!("({} bytes in all)", MAX_HEX_BYTES * 3)));
    }
}
