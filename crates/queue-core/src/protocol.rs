//! The wire protocol: JSON text frames over WebSocket, one enum per direction.
//!
//! Every frame is an object whose `type` names the variant. Requests carry an
//! `id` that the reply echoes. `docs/protocol.md` shows an example of each
//! frame; the broker and the dashboard share these types, so they cannot drift.

use crate::message::{Headers, Payload, SharedHeaders};
use crate::queue::QueueOptions;
use crate::stats::StatsSnapshot;
use serde::{Deserialize, Serialize};
use std::sync::Arc;

/// Version of this protocol, sent in `welcome`.
pub const PROTOCOL_VERSION: u32 = 1;

/// Frames a client sends to the broker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum ClientFrame {
    /// Introduces the client: its id, keep-alive and last will. Optional; sent first.
    Hello {
        /// Request id, echoed by `welcome`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// A name for this client (shown in the dashboard); generated if absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        client_id: Option<String>,
        /// The broker closes the connection after 1.5 × this many ms of silence; 0 = never.
        #[serde(default)]
        keep_alive_ms: u64,
        /// Published for this client if its connection is lost without `bye`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        will: Option<Will>,
    },
    /// Creates a queue, or checks that it exists with the same options.
    Declare {
        /// Request id.
        id: u64,
        /// Queue name; empty asks the broker to generate one.
        #[serde(default)]
        queue: String,
        /// The queue's options; all optional.
        #[serde(default)]
        options: QueueOptions,
    },
    /// Deletes a queue; its ready messages are dropped, its consumers cancelled.
    Delete {
        /// Request id.
        id: u64,
        /// Queue name.
        queue: String,
        /// Refuse if the queue still holds messages.
        #[serde(default)]
        if_empty: bool,
    },
    /// Asks whether a queue exists, without creating or changing it
    /// (AMQP's passive declare); answered by `declared`, or an error
    /// `queue_not_found`.
    Inspect {
        /// Request id.
        id: u64,
        /// Queue name.
        queue: String,
    },
    /// Reads a queue's first ready messages without taking them: nothing
    /// is delivered, requeued or marked redelivered (answered by `peeked`).
    /// Authorized like reading the queue; works on any queue, exclusive ones
    /// included, since it changes nothing.
    Peek {
        /// Request id.
        id: u64,
        /// Queue name.
        queue: String,
        /// How many messages, at most [`MAX_PEEK`] (default [`DEFAULT_PEEK`]).
        #[serde(default = "default_peek")]
        limit: u32,
    },
    /// Drops every ready message of a queue (unacked ones stay with their
    /// consumers); answered by `purged`.
    Purge {
        /// Request id.
        id: u64,
        /// Queue name.
        queue: String,
    },
    /// Takes the first ready message of a queue without a consumer (AMQP's
    /// `basic.get`); answered by `got`, with or without a message.
    Get {
        /// Request id.
        id: u64,
        /// Queue name.
        queue: String,
        /// `manual` (default): the message is unacked until acked with the
        /// tag in `got`; `auto`: it leaves the queue at once.
        #[serde(default)]
        ack: AckMode,
    },
    /// Routes messages published on topics matching `filter` into `queue`.
    Bind {
        /// Request id.
        id: u64,
        /// Queue name.
        queue: String,
        /// Topic filter, MQTT wildcards allowed.
        filter: String,
        /// Then send this connection the retained message of every topic
        /// the filter matches (as `deliver` with `retained: true` and no
        /// tag, right after `ok`): what an MQTT SUBSCRIBE replays.
        #[serde(default, skip_serializing_if = "is_false")]
        retained: bool,
    },
    /// Removes a binding.
    Unbind {
        /// Request id.
        id: u64,
        /// Queue name.
        queue: String,
        /// The filter it was bound with.
        filter: String,
    },
    /// Publishes a message to a topic (routed by bindings) or straight to a queue.
    Publish {
        /// If present, the broker answers with `confirm` (or `error`) carrying it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// Topic to publish to. Exactly one of `topic` and `queue`. Shared:
        /// the message and every delivery of it hold this one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<Arc<str>>,
        /// Queue to publish straight to (the default exchange).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<String>,
        /// The body.
        #[serde(default)]
        payload: Payload,
        /// Headers. Shared: the message and every delivery of it hold the
        /// same map, and a publisher may reuse one for many publishes.
        #[serde(default, skip_serializing_if = "no_headers")]
        headers: SharedHeaders,
        /// Keep as the topic's last known state; an empty payload clears it.
        #[serde(default, skip_serializing_if = "is_false")]
        retain: bool,
        /// Per-message time to live in milliseconds.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        ttl_ms: Option<u64>,
    },
    /// Starts consuming a queue, or a topic filter through a private queue.
    Subscribe {
        /// Request id, echoed by `subscribed`.
        id: u64,
        /// Queue to consume. Exactly one of `queue` and `topic`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        queue: Option<String>,
        /// Topic filter: the broker makes an exclusive, auto-delete queue bound to it.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        topic: Option<String>,
        /// Most unacked deliveries at once (manual ack). Default 100.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        prefetch: Option<u32>,
        /// `manual` (default): ack each delivery; `auto`: acked when sent.
        #[serde(default)]
        ack: AckMode,
    },
    /// Stops a consumer; its unacked messages go back to the queue.
    Unsubscribe {
        /// Request id.
        id: u64,
        /// Consumer id from `subscribed`.
        consumer: u64,
    },
    /// Acknowledges a delivery: the message is done and removed.
    Ack {
        /// Delivery tag from `deliver`.
        tag: u64,
        /// Also ack every earlier unacked tag of this connection.
        #[serde(default, skip_serializing_if = "is_false")]
        multiple: bool,
    },
    /// Rejects a delivery: requeue it, or dead-letter it.
    Nack {
        /// Delivery tag from `deliver`.
        tag: u64,
        /// Also nack every earlier unacked tag of this connection.
        #[serde(default, skip_serializing_if = "is_false")]
        multiple: bool,
        /// Put it back at its place in the queue (default), else dead-letter it.
        #[serde(default = "yes")]
        requeue: bool,
    },
    /// Asks for a `stats` frame now and then every `interval_ms` (0 = once).
    Watch {
        /// Request id.
        id: u64,
        /// Period in milliseconds; 0 sends one snapshot only.
        #[serde(default)]
        interval_ms: u64,
    },
    /// Stops the `stats` stream.
    Unwatch {
        /// Request id.
        id: u64,
    },
    /// Keep-alive; answered by `pong`.
    Ping {
        /// Echoed by `pong`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
    /// Replaces the last will given at `hello` (or, without one, drops it).
    /// Answered by `ok` when it has an `id`.
    Will {
        /// Request id, echoed by `ok`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// The new will; absent: none.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        will: Option<Will>,
    },
    /// A clean goodbye: the last will is discarded and the broker closes.
    Bye,
}

/// A last will: published for a client whose connection is lost without `bye`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Will {
    /// Topic to publish to, such as `home/hall/door/status`.
    pub topic: String,
    /// The body, such as `offline`.
    #[serde(default)]
    pub payload: Payload,
    /// Retain it, so later subscribers see the device is offline.
    #[serde(default)]
    pub retain: bool,
    /// Headers.
    #[serde(default, skip_serializing_if = "Headers::is_empty")]
    pub headers: Headers,
    /// Wait this many ms after the connection is lost before publishing
    /// (MQTT 5's will delay interval); a `hello` with the same client id
    /// and user within that time cancels it. 0: publish at once.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub delay_ms: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// A will header giving the will message a TTL in milliseconds, as `ttl_ms`
/// does for a publish (MQTT 5's message expiry interval of a will, for
/// instance). The engine takes it out of the headers when it publishes the
/// will; a value that is not a number of milliseconds fails `hello`.
pub const WILL_TTL_HEADER: &str = "x-will-ttl-ms";

/// How deliveries to a consumer are acknowledged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AckMode {
    /// The client acks (or nacks) each delivery; at most `prefetch` are unacked.
    #[default]
    Manual,
    /// A delivery counts as acked when sent: fastest, but a crash loses it.
    Auto,
}

/// Frames the broker sends to a client.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ServerFrame {
    /// Reply to `hello`.
    Welcome {
        /// The `hello`'s id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// This connection's number on the broker.
        connection: u64,
        /// The client id in use (generated when none was given).
        client_id: String,
        /// Protocol version.
        protocol: u32,
        /// Keep-alive in force, ms (0 = none).
        keep_alive_ms: u64,
    },
    /// A request succeeded.
    Ok {
        /// The request's id.
        id: u64,
    },
    /// A queue exists as asked.
    Declared {
        /// The `declare`'s id.
        id: u64,
        /// The queue name (generated when the request's was empty).
        queue: String,
        /// Ready messages in it now.
        ready: u64,
        /// Consumers on it now.
        consumers: u64,
    },
    /// A consumer was created.
    Subscribed {
        /// The `subscribe`'s id.
        id: u64,
        /// Consumer id, for `unsubscribe`.
        consumer: u64,
        /// The queue consumed (generated for a topic subscription).
        queue: String,
    },
    /// A published message was routed (reply to a `publish` with an id).
    Confirm {
        /// The `publish`'s id.
        id: u64,
        /// How many queues took a copy (0: unroutable).
        routed: u32,
    },
    /// A message for a consumer.
    Deliver(Delivery),
    /// Reply to `peek`: the queue's first ready messages, left where they are.
    Peeked {
        /// The `peek`'s id.
        id: u64,
        /// The queue.
        queue: String,
        /// Ready messages in the queue in all (may exceed `messages.len()`).
        ready: u64,
        /// The first ready messages, in delivery order.
        messages: Vec<PeekedMessage>,
    },
    /// A queue was purged (reply to `purge`).
    Purged {
        /// The `purge`'s id.
        id: u64,
        /// Ready messages dropped.
        messages: u64,
    },
    /// Reply to `get`: the message taken (its `consumer` is 0), or none.
    Got {
        /// The `get`'s id.
        id: u64,
        /// The message, if the queue had one ready.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        delivery: Option<Box<Delivery>>,
        /// Ready messages left in the queue.
        ready: u64,
    },
    /// A consumer was cancelled by the broker (its queue was deleted).
    Cancelled {
        /// The consumer.
        consumer: u64,
        /// Why.
        reason: String,
    },
    /// A snapshot of the broker's counters and queues.
    Stats {
        /// The `watch`'s id on the first snapshot; absent on periodic ones.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// The snapshot.
        stats: Box<StatsSnapshot>,
    },
    /// Reply to `ping`.
    Pong {
        /// The `ping`'s id.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
    },
    /// The broker's memory budget is used up: publishes from this
    /// connection are held (no longer read) until `unblocked`. Consumers
    /// and acks keep flowing.
    Blocked {
        /// Why, for a person.
        reason: String,
    },
    /// Publishes are read again.
    Unblocked,
    /// A request failed, or a frame could not be read. The connection stays open.
    Error {
        /// The failed request's id, when it could be read.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        id: Option<u64>,
        /// Stable machine-readable code.
        code: ErrorCode,
        /// What went wrong and what to do, for a person.
        message: String,
    },
}

/// Most messages one `peek` returns.
pub const MAX_PEEK: u32 = 100;
/// Messages a `peek` returns when it names no `limit`.
pub const DEFAULT_PEEK: u32 = 10;
/// Most payload bytes of one peeked message; a longer payload is cut.
pub const PEEK_PAYLOAD_BYTES: usize = 4096;

fn default_peek() -> u32 {
    DEFAULT_PEEK
}

/// A ready message as `peek` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PeekedMessage {
    /// The message's engine-wide id.
    pub message_id: u64,
    /// The topic it was published to.
    pub topic: Arc<str>,
    /// Its payload, cut at [`PEEK_PAYLOAD_BYTES`] (at a character boundary
    /// when it is text).
    pub payload: Payload,
    /// The payload's whole size in bytes.
    pub bytes: u64,
    /// Whether `payload` was cut.
    #[serde(default, skip_serializing_if = "is_false")]
    pub truncated: bool,
    /// Its headers.
    #[serde(default, skip_serializing_if = "no_headers")]
    pub headers: SharedHeaders,
    /// When it was published (broker milliseconds).
    pub published_at: u64,
    /// Times it was delivered before (non-zero: its next delivery is a redelivery).
    pub delivery_count: u32,
    /// When it expires in this queue, if it does (broker milliseconds).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
}

/// One message delivered to one consumer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The consumer it is for.
    pub consumer: u64,
    /// Tag to ack or nack; absent when nothing is to be acked (auto ack, retained replay).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tag: Option<u64>,
    /// The queue it came from.
    pub queue: Arc<str>,
    /// The topic it was published to.
    pub topic: Arc<str>,
    /// The body.
    pub payload: Payload,
    /// Headers (the message's own, shared).
    #[serde(default, skip_serializing_if = "no_headers")]
    pub headers: SharedHeaders,
    /// The message's engine-wide id.
    pub message_id: u64,
    /// When it was published (broker milliseconds).
    pub published_at: u64,
    /// Delivered before and not acked (the consumer crashed, or it was nacked).
    #[serde(default, skip_serializing_if = "is_false")]
    pub redelivered: bool,
    /// How many times it has been delivered, this one included.
    pub delivery_count: u32,
    /// A retained message replayed on subscribe, not a new one.
    #[serde(default, skip_serializing_if = "is_false")]
    pub retained: bool,
}

impl Delivery {
    /// The delivery of `message` from `queue` to `consumer`: it shares the
    /// message's topic, payload and headers (reference counts, no copies).
    /// It is redelivered when this is not its first delivery.
    pub fn of(
        message: &crate::Message,
        consumer: u64,
        tag: Option<u64>,
        queue: Arc<str>,
        delivery_count: u32,
        retained: bool,
    ) -> Self {
        Self {
            consumer,
            tag,
            queue,
            topic: message.topic.clone(),
            payload: message.payload.clone(),
            headers: message.headers.clone(),
            message_id: message.id,
            published_at: message.published_at,
            redelivered: delivery_count > 1,
            delivery_count,
            retained,
        }
    }
}

/// Stable error codes carried by `error` frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The frame is not valid JSON or not a JSON object.
    Malformed,
    /// The frame's `type` is not one this protocol knows.
    UnknownType,
    /// A field is missing, unknown or of the wrong type.
    InvalidFrame,
    /// The frame is larger than the broker accepts.
    FrameTooLarge,
    /// The topic cannot be published to.
    InvalidTopic,
    /// The subscription filter is malformed.
    InvalidFilter,
    /// The queue name is not acceptable.
    InvalidQueueName,
    /// An option is out of range or contradicts another.
    InvalidOption,
    /// No such queue.
    QueueNotFound,
    /// The queue exists with different options.
    PreconditionFailed,
    /// The queue is exclusive to another connection.
    ResourceLocked,
    /// The queue still holds messages (`delete` with `if_empty`).
    QueueNotEmpty,
    /// The queue is full and refuses new messages.
    QueueFull,
    /// No such consumer on this connection.
    UnknownConsumer,
    /// No such unacked delivery on this connection.
    UnknownDeliveryTag,
    /// A protocol rule was broken (for example a second `hello`).
    ProtocolViolation,
    /// The broker has as many connections as it accepts.
    TooManyConnections,
    /// Nothing was heard for longer than the keep-alive allows.
    KeepAliveTimeout,
    /// A bound on consumers, bindings or queues was reached.
    LimitReached,
    /// A header name is reserved for the broker's own use.
    ReservedHeader,
    /// The username or password in `hello` is wrong.
    BadCredentials,
    /// The broker lets no one in without logging in (`hello` with a
    /// username and password must come first), or the access control list
    /// does not allow the request.
    NotAuthorized,
}

/// A client frame that could not be read, with what to tell the client.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct FrameError {
    /// The request id, if it could be read from the broken frame.
    pub id: Option<u64>,
    /// Stable code.
    pub code: ErrorCode,
    /// Human explanation.
    pub message: String,
}

impl FrameError {
    /// The `error` frame to send back.
    pub fn to_frame(&self) -> ServerFrame {
        ServerFrame::Error { id: self.id, code: self.code, message: self.message.clone() }
    }
}

/// The `type`s a client may send, for error messages.
pub const CLIENT_FRAME_TYPES: &[&str] = &[
    "hello",
    "declare",
    "delete",
    "inspect",
    "peek",
    "purge",
    "get",
    "bind",
    "unbind",
    "publish",
    "subscribe",
    "unsubscribe",
    "ack",
    "nack",
    "watch",
    "unwatch",
    "ping",
    "will",
    "bye",
];

/// Reads one client frame, enforcing `max_bytes`. Pure: text in, frame or error out.
///
/// A frame that cannot be read gets a [`FrameError`] that names the problem and
/// carries the request `id` whenever it can be read, oversized frames included,
/// so a client can tell which request failed.
pub fn decode_client(text: &str, max_bytes: usize) -> Result<ClientFrame, FrameError> {
    if text.len() > max_bytes {
        return Err(FrameError {
            id: probe(text).ok().and_then(|p| p.id),
            code: ErrorCode::FrameTooLarge,
            message: format!(
                "frame is {} bytes; this broker accepts at most {max_bytes} (its --max-frame-bytes); send a smaller payload",
                text.len()
            ),
        });
    }
    let frame = serde_json::from_str(text).map_err(|err| explain(text, err))?;
    refuse_reserved_headers(&frame)?;
    Ok(frame)
}

/// Header names that start with this belong to the MQTT adapter (the QoS a
/// message was published with, its retain flag, its publisher for
/// no-local, its expiry): a native client may not set them, or it could
/// pose as what only the adapter decides.
pub const RESERVED_HEADER_PREFIX: &str = "x-mqtt-";

/// Refuses a native `publish`, or a will (at `hello` or `will`), carrying a reserved header.
fn refuse_reserved_headers(frame: &ClientFrame) -> Result<(), FrameError> {
    let (id, headers): (Option<u64>, &Headers) = match frame {
        ClientFrame::Publish { id, headers, .. } => (*id, headers),
        ClientFrame::Hello { id, will: Some(will), .. } | ClientFrame::Will { id, will: Some(will) } => {
            (*id, &will.headers)
        }
        _ => return Ok(()),
    };
    match headers.keys().find(|name| name.to_ascii_lowercase().starts_with(RESERVED_HEADER_PREFIX)) {
        None => Ok(()),
        Some(name) => Err(FrameError {
            id,
            code: ErrorCode::ReservedHeader,
            message: format!(
                "header `{}` is reserved: names starting with `{RESERVED_HEADER_PREFIX}` are set by the broker's MQTT adapter only",
                crate::topic::shorten(name)
            ),
        }),
    }
}

/// Writes a server frame as JSON text.
pub fn encode_server(frame: &ServerFrame) -> String {
    // Serializing these types cannot fail: every map key is a string.
    serde_json::to_string(frame).unwrap_or_else(|e| format!(r#"{{"type":"error","code":"malformed","message":"{e}"}}"#))
}

/// What can be read from a frame that failed to decode: its `type` and `id`.
#[derive(Default)]
struct Probe {
    kind: Option<serde_json::Value>,
    id: Option<u64>,
}

/// Reads `type` and `id` from `text` if it is a JSON object; else explains
/// why it is not one.
fn probe(text: &str) -> Result<Probe, FrameError> {
    #[derive(Deserialize)]
    struct Fields {
        #[serde(rename = "type")]
        kind: Option<serde_json::Value>,
        id: Option<serde_json::Value>,
    }
    let malformed = |message| FrameError { id: None, code: ErrorCode::Malformed, message };
    let is_object = text.trim_start().starts_with('{');
    match serde_json::from_str::<Fields>(text) {
        Err(err) if err.is_syntax() || err.is_eof() => Err(malformed(format!("not valid JSON: {err}"))),
        Ok(f) if is_object => Ok(Probe { kind: f.kind, id: f.id.and_then(|v| v.as_u64()) }),
        // An object whose `type` or `id` repeats: the full decode explains it.
        Err(_) if is_object => Ok(Probe::default()),
        _ => Err(malformed(format!(
            r#"a frame must be a JSON object such as {{"type":"ping","id":1}}, not {}"#,
            json_kind(text)
        ))),
    }
}

/// "an array", "a string", … for the first value in `text`.
fn json_kind(text: &str) -> &'static str {
    match text.trim_start().chars().next() {
        Some('[') => "an array",
        Some('"') => "a string",
        Some('t' | 'f') => "a boolean",
        Some('n') => "null",
        _ => "a number",
    }
}

/// Works out why a frame failed to decode, reading what it can (type, id).
fn explain(text: &str, err: serde_json::Error) -> FrameError {
    let probe = match probe(text) {
        Ok(probe) => probe,
        Err(error) => return error,
    };
    let id = probe.id;
    let expected = CLIENT_FRAME_TYPES.join(", ");
    let invalid = |message| FrameError { id, code: ErrorCode::InvalidFrame, message };
    match probe.kind.as_ref().map(|k| k.as_str()) {
        None => invalid(format!("frame has no `type` field; expected one of: {expected}")),
        Some(Some(kind)) if !CLIENT_FRAME_TYPES.contains(&kind) => FrameError {
            id,
            code: ErrorCode::UnknownType,
            message: format!("unknown frame type `{}`; expected one of: {expected}", crate::topic::shorten(kind)),
        },
        Some(None) => invalid(format!("`type` must be a string, one of: {expected}")),
        Some(Some(kind)) => invalid(format!("bad `{kind}` frame: {err}")),
    }
}

fn is_false(value: &bool) -> bool {
    !*value
}

fn no_headers(headers: &SharedHeaders) -> bool {
    headers.is_empty()
}

fn yes() -> bool {
    true
}
