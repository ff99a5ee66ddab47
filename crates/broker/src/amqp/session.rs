//! One AMQP connection after its handshake, as a state machine: AMQP
//! frames and engine replies in, [`Step`]s out (frames for the client,
//! frames for the engine). No clock, no IO; the connection task
//! ([`super::connection`]) carries the steps out.
//!
//! The whole connection is one engine connection. AMQP's per-channel
//! numbering lives here:
//!
//! * engine request ids map to what each reply answers ([`Pending`]);
//! * engine consumer ids map to (channel, consumer tag);
//! * each channel numbers its deliveries from 1, and maps each unacked
//!   one to the engine's tag, so `multiple` acks stay within the channel;
//! * each channel in confirm mode numbers its publishes from 1, and the
//!   engine's `confirm` (or error) for each becomes `basic.ack`/`nack`.

use super::exchange::{self, Declared, Exchanges, Kind};
use super::properties::{self, short};
use amq_protocol::frame::AMQPFrame;
use amq_protocol::protocol::basic::AMQPProperties;
use amq_protocol::protocol::{AMQPClass, basic, channel, confirm, connection, queue};
use amq_protocol::types::{AMQPValue, FieldTable, ShortString};
use bytes::Bytes;
use queue_core::protocol::{AckMode, ClientFrame, Delivery, ErrorCode, ServerFrame};
use queue_core::queue::{Overflow, QueueOptions};
use rustc_hash::FxHashMap;
use std::collections::BTreeMap;
use std::sync::Arc;

/// What the session asks its connection to do, in order.
#[derive(Debug, PartialEq)]
pub enum Step {
    /// A frame for the client.
    Send(AMQPFrame),
    /// A message for the client: the method (deliver, get-ok, return),
    /// then its content header and body frames.
    Content {
        /// The channel.
        channel: u16,
        /// The method that carries it.
        method: AMQPClass,
        /// Its properties.
        properties: AMQPProperties,
        /// Its body.
        body: Bytes,
    },
    /// A frame for the engine.
    Engine(ClientFrame),
    /// Close the connection once what precedes is written.
    Close,
}

/// Settings the session needs from the broker.
#[derive(Debug, Clone)]
pub struct Limits {
    /// Largest message body accepted, in bytes.
    pub max_message: usize,
    /// Highest channel number (negotiated).
    pub channel_max: u16,
    /// The engine's largest prefetch (AMQP's 0, unlimited, becomes it).
    pub max_prefetch: u32,
    /// Channels a connection may have open at once.
    pub max_channels: usize,
}

/// What the client said it can take (Connection.Start-Ok capabilities).
#[derive(Debug, Clone, Copy, Default)]
pub struct Capabilities {
    /// `basic.cancel` from the broker when a queue goes.
    pub consumer_cancel_notify: bool,
    /// `connection.blocked` / `unblocked`.
    pub connection_blocked: bool,
}

impl Capabilities {
    /// Reads them from the client's properties.
    pub fn of(client_properties: &FieldTable) -> Self {
        let Some(AMQPValue::FieldTable(caps)) = client_properties.inner().get("capabilities") else {
            return Self::default();
        };
        let on = |name: &str| matches!(caps.inner().get(name), Some(AMQPValue::Boolean(true)));
        Self { consumer_cancel_notify: on("consumer_cancel_notify"), connection_blocked: on("connection.blocked") }
    }
}

/// A message being received: its `basic.publish`, then header, then body.
#[derive(Debug)]
struct Incoming {
    exchange: String,
    routing_key: String,
    mandatory: bool,
    /// Size and properties, once the header frame is in.
    header: Option<(usize, AMQPProperties)>,
    body: Vec<u8>,
}

/// A delivery the client has not settled.
#[derive(Debug, Clone, Copy)]
struct Unacked {
    /// The engine's tag; `None` once the engine took it back (the consumer
    /// was cancelled or its queue deleted): an ack for it is a no-op.
    tag: Option<u64>,
    /// The engine consumer (0: `basic.get`).
    consumer: u64,
}

#[derive(Debug, Default)]
struct Channel {
    /// The broker sent `channel.close` and waits for `close-ok`.
    closing: bool,
    incoming: Option<Incoming>,
    /// The last delivery tag given out.
    last_tag: u64,
    unacked: BTreeMap<u64, Unacked>,
    /// Consumer tag → engine consumer (`None` until `subscribed`).
    consumers: FxHashMap<ShortString, Option<u64>>,
    /// `basic.qos` prefetch for consumers created after it (0: unlimited).
    prefetch: u16,
    /// `basic.qos` with `global`: most deliveries the channel's consumers
    /// hold unacked between them (0: no such limit). The engine limits
    /// each consumer; deliveries past the shared window wait in `waiting`
    /// (unacked in the engine, not yet sent) until acks make room.
    global: u16,
    waiting: std::collections::VecDeque<Delivery>,
    /// In confirm mode: the last publish sequence number given out.
    confirms: Option<u64>,
    /// The last queue declared, for methods that name none.
    last_queue: String,
}

/// A message kept for `basic.return` until the engine says it was routed.
#[derive(Debug)]
struct Returned {
    exchange: String,
    routing_key: String,
    properties: AMQPProperties,
    body: Bytes,
}

/// What an engine reply answers.
#[derive(Debug)]
enum Pending {
    /// Nothing to tell the client (its errors are logged).
    Nothing,
    Declare {
        channel: u16,
        nowait: bool,
    },
    Bind {
        channel: u16,
        nowait: bool,
        exchange: String,
        queue: String,
        filter: String,
        unbind: bool,
    },
    Purge {
        channel: u16,
        nowait: bool,
    },
    DeleteCheck {
        channel: u16,
        nowait: bool,
        queue: String,
        if_unused: bool,
        if_empty: bool,
    },
    Delete {
        channel: u16,
        nowait: bool,
        queue: String,
        messages: u64,
    },
    Consume {
        channel: u16,
        tag: ShortString,
        nowait: bool,
    },
    Cancel {
        channel: u16,
        tag: ShortString,
        nowait: bool,
    },
    Get {
        channel: u16,
    },
    Publish {
        channel: u16,
        seq: Option<u64>,
        returned: Option<Box<Returned>>,
    },
}

impl Pending {
    fn channel(&self) -> Option<u16> {
        match self {
            Self::Nothing => None,
            Self::Declare { channel, .. }
            | Self::Bind { channel, .. }
            | Self::Purge { channel, .. }
            | Self::DeleteCheck { channel, .. }
            | Self::Delete { channel, .. }
            | Self::Consume { channel, .. }
            | Self::Cancel { channel, .. }
            | Self::Get { channel }
            | Self::Publish { channel, .. } => Some(*channel),
        }
    }

    /// The AMQP (class, method) it answers, for error replies.
    fn method(&self) -> (u16, u16) {
        match self {
            Self::Nothing => (0, 0),
            Self::Declare { .. } => (50, 10),
            Self::Bind { unbind: false, .. } => (50, 20),
            Self::Bind { unbind: true, .. } => (50, 50),
            Self::Purge { .. } => (50, 30),
            Self::DeleteCheck { .. } | Self::Delete { .. } => (50, 40),
            Self::Consume { .. } => (60, 20),
            Self::Cancel { .. } => (60, 30),
            Self::Get { .. } => (60, 70),
            Self::Publish { .. } => (60, 40),
        }
    }
}

/// One AMQP connection's state (see the module documentation).
#[derive(Debug)]
pub struct Session {
    conn: u64,
    limits: Limits,
    caps: Capabilities,
    exchanges: Arc<Exchanges>,
    channels: FxHashMap<u16, Channel>,
    next_request: u64,
    pending: FxHashMap<u64, Pending>,
    /// Engine consumer → (channel, consumer tag).
    consumers: FxHashMap<u64, (u16, ShortString)>,
    next_consumer_tag: u64,
    /// Publishes get an engine id even without confirms or `mandatory`:
    /// an ACL refusal must close their channel (403), as RabbitMQ does.
    checked: bool,
    /// The broker sent `connection.close`: everything but `close-ok` is
    /// ignored until it comes.
    pub closing: bool,
    /// Bytes of the messages being received on all channels (their
    /// announced sizes), bounded by twice the largest message.
    content_bytes: usize,
}

/// The name of an AMQP reply code, as RabbitMQ prefixes its reply texts.
fn code_name(code: u16) -> &'static str {
    match code {
        200 => "OK",
        312 => "NO_ROUTE",
        403 => "ACCESS_REFUSED",
        404 => "NOT_FOUND",
        405 => "RESOURCE_LOCKED",
        406 => "PRECONDITION_FAILED",
        501 => "FRAME_ERROR",
        502 => "SYNTAX_ERROR",
        503 => "COMMAND_INVALID",
        504 => "CHANNEL_ERROR",
        505 => "UNEXPECTED_FRAME",
        530 => "NOT_ALLOWED",
        540 => "NOT_IMPLEMENTED",
        _ => "INTERNAL_ERROR",
    }
}

/// The AMQP reply code for an engine error.
fn reply_code(code: ErrorCode) -> u16 {
    match code {
        ErrorCode::QueueNotFound => 404,
        ErrorCode::ResourceLocked => 405,
        ErrorCode::NotAuthorized => 403,
        _ => 406,
    }
}

fn method(channel: u16, class: AMQPClass) -> Step {
    Step::Send(AMQPFrame::Method(channel, class))
}

/// A number from a queue argument, if it is a non-negative integer.
fn as_u64(value: &AMQPValue) -> Option<u64> {
    match *value {
        AMQPValue::ShortShortInt(n) => u64::try_from(n).ok(),
        AMQPValue::ShortShortUInt(n) => Some(u64::from(n)),
        AMQPValue::ShortInt(n) => u64::try_from(n).ok(),
        AMQPValue::ShortUInt(n) => Some(u64::from(n)),
        AMQPValue::LongInt(n) => u64::try_from(n).ok(),
        AMQPValue::LongUInt(n) => Some(u64::from(n)),
        AMQPValue::LongLongInt(n) => u64::try_from(n).ok(),
        AMQPValue::Timestamp(n) => Some(n),
        _ => None,
    }
}

fn as_text(value: &AMQPValue) -> Option<String> {
    match value {
        AMQPValue::LongString(s) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        AMQPValue::ShortString(s) => Some(s.to_string()),
        _ => None,
    }
}

/// The engine options for `queue.declare`'s flags and arguments, as
/// RabbitMQ reads them; a wrong or unsupported one says why.
pub fn queue_options(
    durable: bool,
    exclusive: bool,
    auto_delete: bool,
    arguments: &FieldTable,
    exchanges: &Exchanges,
) -> Result<QueueOptions, String> {
    let mut options = QueueOptions { durable, exclusive, auto_delete, ..QueueOptions::default() };
    let mut dead_letter_exchange = None;
    let mut dead_letter_key = None;
    for (name, value) in arguments {
        let number = || as_u64(value).ok_or_else(|| format!("invalid arg '{name}': expected a non-negative integer"));
        let text = || as_text(value).ok_or_else(|| format!("invalid arg '{name}': expected a string"));
        match name.as_str() {
            "x-message-ttl" => options.message_ttl_ms = Some(number()?),
            "x-expires" => options.expires_ms = Some(number()?.max(1)),
            "x-max-length" => options.max_length = Some(number()?),
            "x-max-length-bytes" => options.max_length_bytes = Some(number()?),
            "x-delivery-limit" => {
                let limit =
                    u32::try_from(number()?).map_err(|_| "invalid arg 'x-delivery-limit': too large".to_owned())?;
                // RabbitMQ counts redeliveries; the engine counts deliveries.
                options.max_deliveries = Some(limit.saturating_add(1));
            }
            "x-overflow" => {
                options.overflow = match text()?.as_str() {
                    "drop-head" => Overflow::DropOldest,
                    "reject-publish" => Overflow::RejectPublish,
                    other => {
                        return Err(format!(
                            "invalid arg 'x-overflow': '{other}'; Hearth has 'drop-head' and 'reject-publish'"
                        ));
                    }
                }
            }
            "x-dead-letter-exchange" => dead_letter_exchange = Some(text()?),
            "x-dead-letter-routing-key" => dead_letter_key = Some(text()?),
            "x-queue-type" => match text()?.as_str() {
                "classic" => {}
                // A quorum queue is a durable queue that survives a crash
                // without losing a confirmed message: Hearth's durable queues
                // do that on one node (RabbitMQ's tutorials declare one).
                "quorum" if durable => {}
                "quorum" => return Err("invalid arg 'x-queue-type': a quorum queue must be durable".into()),
                kind => {
                    return Err(format!(
                        "invalid arg 'x-queue-type': '{kind}'; Hearth has 'classic' and 'quorum' (as a durable queue)"
                    ));
                }
            },
            "x-max-priority" | "x-single-active-consumer" => {
                return Err(format!("arg '{name}' is not supported by Hearth"));
            }
            // RabbitMQ ignores arguments it does not know; so does Hearth.
            _ => {}
        }
    }
    match (dead_letter_exchange.as_deref(), dead_letter_key) {
        (None, _) => {}
        (Some(""), Some(queue)) => options.dead_letter = Some(queue),
        (Some(""), None) => {
            return Err("x-dead-letter-exchange '': give x-dead-letter-routing-key, the queue dead letters go to \
                        (Hearth does not keep a message's routing key to reuse)"
                .into());
        }
        (Some(exchange), key) => {
            let kind = exchanges.kind(exchange).ok_or_else(|| {
                format!("x-dead-letter-exchange '{exchange}' does not exist; declare it before the queue")
            })?;
            let key = match (kind, key) {
                (Kind::Fanout, key) => key.unwrap_or_default(),
                (_, Some(key)) => key,
                (_, None) => {
                    return Err(format!(
                        "x-dead-letter-exchange '{exchange}' is a {} exchange: give x-dead-letter-routing-key \
                         (Hearth does not keep a message's routing key to reuse)",
                        kind.name()
                    ));
                }
            };
            options.dead_letter_topic = exchange::topic_for(exchange, kind, &key);
        }
    }
    Ok(options)
}

impl Session {
    /// The state of connection `conn`, once its handshake is done.
    pub fn new(conn: u64, limits: Limits, caps: Capabilities, exchanges: Arc<Exchanges>, checked: bool) -> Self {
        Self {
            conn,
            limits,
            caps,
            exchanges,
            channels: FxHashMap::default(),
            next_request: 1,
            pending: FxHashMap::default(),
            consumers: FxHashMap::default(),
            next_consumer_tag: 1,
            checked,
            closing: false,
            content_bytes: 0,
        }
    }

    fn request(&mut self, pending: Pending) -> u64 {
        let id = self.next_request;
        self.next_request += 1;
        self.pending.insert(id, pending);
        id
    }

    /// Closes the connection with `code` (the broker's side of
    /// `connection.close`); the client's `close-ok` ends it.
    pub fn connection_error(&mut self, code: u16, text: &str, ids: (u16, u16), out: &mut Vec<Step>) {
        if self.closing {
            return;
        }
        self.closing = true;
        let close = connection::Close {
            reply_code: code,
            reply_text: short(&format!("{} - {text}", code_name(code))),
            class_id: ids.0,
            method_id: ids.1,
        };
        out.push(method(0, AMQPClass::Connection(connection::AMQPMethod::Close(close))));
    }

    /// Closes `channel` with `code`: its consumers and unacked deliveries
    /// go back to the engine at once; frames on it are ignored until the
    /// client's `close-ok`.
    fn channel_error(&mut self, channel: u16, code: u16, text: &str, ids: (u16, u16), out: &mut Vec<Step>) {
        let Some(ch) = self.channels.get_mut(&channel) else { return };
        if ch.closing {
            return;
        }
        ch.closing = true;
        let close = channel::Close {
            reply_code: code,
            reply_text: short(&format!("{} - {text}", code_name(code))),
            class_id: ids.0,
            method_id: ids.1,
        };
        out.push(method(channel, AMQPClass::Channel(channel::AMQPMethod::Close(close))));
        self.release_channel(channel, out);
    }

    /// Gives back what a closed channel held: its consumers stop (their
    /// unacked messages return to their queues) and what it took with
    /// `basic.get` is requeued.
    fn release_channel(&mut self, channel: u16, out: &mut Vec<Step>) {
        let Some(ch) = self.channels.get_mut(&channel) else { return };
        if let Some(Incoming { header: Some((size, _)), .. }) = ch.incoming.take() {
            self.content_bytes -= size;
        }
        // What waits for the shared window goes back with its consumer.
        ch.waiting.clear();
        let consumers: Vec<u64> = ch.consumers.drain().filter_map(|(_, c)| c).collect();
        let unacked = std::mem::take(&mut ch.unacked);
        for consumer in &consumers {
            self.consumers.remove(consumer);
            let id = self.request(Pending::Nothing);
            out.push(Step::Engine(ClientFrame::Unsubscribe { id, consumer: *consumer }));
        }
        for u in unacked.values() {
            if let (Some(tag), false) = (u.tag, consumers.contains(&u.consumer)) {
                out.push(Step::Engine(ClientFrame::Nack { tag, multiple: false, requeue: true }));
            }
        }
    }

    /// Handles one frame from the client.
    pub fn on_frame(&mut self, frame: AMQPFrame, out: &mut Vec<Step>) {
        if self.closing {
            if let AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::CloseOk(_))) = frame {
                out.push(Step::Close);
            } else if let AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::Close(_))) = frame {
                out.push(method(0, AMQPClass::Connection(connection::AMQPMethod::CloseOk(connection::CloseOk {}))));
                out.push(Step::Close);
            }
            return;
        }
        match frame {
            AMQPFrame::Heartbeat => {}
            AMQPFrame::InvalidHeartbeat(_) => {
                self.connection_error(501, "heartbeat frames belong on channel 0", (0, 0), out);
            }
            AMQPFrame::ProtocolHeader(_) => {
                self.connection_error(505, "a second protocol header", (0, 0), out);
            }
            AMQPFrame::Method(0, class) => self.on_connection_method(class, out),
            AMQPFrame::Method(channel, class) => self.on_channel_method(channel, class, out),
            AMQPFrame::Header(channel, header) => {
                if self.channels.get(&channel).is_some_and(|c| c.closing) {
                    return;
                }
                let max = self.limits.max_message;
                let Some(incoming) = self.channels.get_mut(&channel).and_then(|c| c.incoming.as_mut()) else {
                    return self.connection_error(
                        505,
                        "a content header with no basic.publish before it",
                        (60, 40),
                        out,
                    );
                };
                if incoming.header.is_some() || header.class_id != 60 {
                    return self.connection_error(505, "an unexpected content header", (60, 40), out);
                }
                let size = usize::try_from(header.body_size).unwrap_or(usize::MAX);
                if size > max {
                    let text = format!("message size {size} is larger than the largest Hearth accepts, {max}");
                    return self.channel_error(channel, 406, &text, (60, 40), out);
                }
                // Messages arriving on several channels at once are bounded
                // together: a connection holds at most two largest ones.
                if self.content_bytes + size > max.saturating_mul(2) {
                    let text = format!(
                        "{} bytes of messages are already arriving on this connection's other channels; \
                         at most {} at once",
                        self.content_bytes,
                        max.saturating_mul(2)
                    );
                    return self.channel_error(channel, 406, &text, (60, 40), out);
                }
                self.content_bytes += size;
                incoming.header = Some((size, header.properties));
                incoming.body = Vec::with_capacity(size.min(64 * 1024));
                if size == 0 {
                    self.publish(channel, out);
                }
            }
            AMQPFrame::Body(channel, data) => {
                if self.channels.get(&channel).is_some_and(|c| c.closing) {
                    return;
                }
                let incoming = self.channels.get_mut(&channel).and_then(|c| c.incoming.as_mut());
                let Some(Incoming { header: Some((size, _)), body, .. }) = incoming else {
                    return self.connection_error(
                        505,
                        "a content body with no content header before it",
                        (60, 40),
                        out,
                    );
                };
                if body.len() + data.len() > *size {
                    return self.connection_error(501, "a content body longer than its header said", (60, 40), out);
                }
                if body.is_empty() && data.len() == *size {
                    *body = data;
                } else {
                    body.extend_from_slice(&data);
                }
                if body.len() == *size {
                    self.publish(channel, out);
                }
            }
        }
    }

    fn on_connection_method(&mut self, class: AMQPClass, out: &mut Vec<Step>) {
        let ids = (class.get_amqp_class_id(), class.get_amqp_method_id());
        match class {
            AMQPClass::Connection(connection::AMQPMethod::Close(_)) => {
                out.push(method(0, AMQPClass::Connection(connection::AMQPMethod::CloseOk(connection::CloseOk {}))));
                out.push(Step::Close);
            }
            AMQPClass::Connection(connection::AMQPMethod::CloseOk(_)) => out.push(Step::Close),
            AMQPClass::Connection(connection::AMQPMethod::UpdateSecret(_)) => {
                let ok = connection::AMQPMethod::UpdateSecretOk(connection::UpdateSecretOk {});
                out.push(method(0, AMQPClass::Connection(ok)));
            }
            _ => self.connection_error(503, "only connection methods belong on channel 0", ids, out),
        }
    }

    fn on_channel_method(&mut self, channel: u16, class: AMQPClass, out: &mut Vec<Step>) {
        let ids = (class.get_amqp_class_id(), class.get_amqp_method_id());
        if channel > self.limits.channel_max {
            let text = format!("channel {channel} is above the negotiated channel-max {}", self.limits.channel_max);
            return self.connection_error(504, &text, ids, out);
        }
        if let AMQPClass::Channel(channel::AMQPMethod::Open(_)) = class {
            if self.channels.contains_key(&channel) {
                return self.connection_error(
                    504,
                    &format!("second 'channel.open' seen on channel {channel}"),
                    ids,
                    out,
                );
            }
            if self.channels.len() >= self.limits.max_channels {
                let text = format!("a connection holds at most {} channels", self.limits.max_channels);
                return self.connection_error(530, &text, ids, out);
            }
            self.channels.insert(channel, Channel::default());
            out.push(method(channel, AMQPClass::Channel(channel::AMQPMethod::OpenOk(channel::OpenOk {}))));
            return;
        }
        let Some(ch) = self.channels.get(&channel) else {
            return self.connection_error(504, &format!("expected 'channel.open' on channel {channel}"), ids, out);
        };
        if ch.closing {
            match class {
                AMQPClass::Channel(channel::AMQPMethod::CloseOk(_)) => {
                    self.channels.remove(&channel);
                }
                AMQPClass::Channel(channel::AMQPMethod::Close(_)) => {
                    self.channels.remove(&channel);
                    out.push(method(channel, AMQPClass::Channel(channel::AMQPMethod::CloseOk(channel::CloseOk {}))));
                }
                _ => {}
            }
            return;
        }
        if ch.incoming.is_some() {
            return self.connection_error(505, "a method frame in the middle of a message's content", ids, out);
        }
        match class {
            AMQPClass::Channel(m) => self.on_channel(channel, m, ids, out),
            AMQPClass::Exchange(m) => self.on_exchange(channel, m, ids, out),
            AMQPClass::Queue(m) => self.on_queue(channel, m, ids, out),
            AMQPClass::Basic(m) => self.on_basic(channel, m, ids, out),
            AMQPClass::Confirm(confirm::AMQPMethod::Select(select)) => {
                let ch = self.channels.get_mut(&channel).expect("looked up above");
                ch.confirms.get_or_insert(0);
                if !select.nowait {
                    let ok = confirm::AMQPMethod::SelectOk(confirm::SelectOk {});
                    out.push(method(channel, AMQPClass::Confirm(ok)));
                }
            }
            AMQPClass::Tx(_) => self.connection_error(540, "transactions (tx.*) are not supported by Hearth", ids, out),
            _ => self.connection_error(540, "this method is not supported by Hearth", ids, out),
        }
    }

    fn on_channel(&mut self, channel: u16, m: channel::AMQPMethod, ids: (u16, u16), out: &mut Vec<Step>) {
        match m {
            channel::AMQPMethod::Close(_) => {
                self.release_channel(channel, out);
                self.channels.remove(&channel);
                out.push(method(channel, AMQPClass::Channel(channel::AMQPMethod::CloseOk(channel::CloseOk {}))));
            }
            channel::AMQPMethod::Flow(flow) if flow.active => {
                let ok = channel::AMQPMethod::FlowOk(channel::FlowOk { active: true });
                out.push(method(channel, AMQPClass::Channel(ok)));
            }
            channel::AMQPMethod::Flow(_) => {
                self.connection_error(540, "channel.flow active=false is not supported", ids, out)
            }
            _ => self.connection_error(503, "a channel method a client does not send", ids, out),
        }
    }

    fn on_exchange(
        &mut self,
        channel: u16,
        m: amq_protocol::protocol::exchange::AMQPMethod,
        ids: (u16, u16),
        out: &mut Vec<Step>,
    ) {
        use amq_protocol::protocol::exchange::{AMQPMethod as X, DeclareOk, DeleteOk};
        match m {
            X::Declare(d) => {
                let name = d.exchange.as_str();
                if d.passive {
                    if self.exchanges.kind(name).is_none() {
                        return self.channel_error(
                            channel,
                            404,
                            &format!("no exchange '{name}' in vhost '/'"),
                            ids,
                            out,
                        );
                    }
                } else {
                    let Some(kind) = Kind::parse(d.kind.as_str()) else {
                        let text =
                            format!("unknown exchange type '{}'; Hearth has direct, fanout and topic", d.kind.as_str());
                        return self.connection_error(503, &text, ids, out);
                    };
                    if (name.is_empty() || name.starts_with("amq.")) && self.exchanges.kind(name) != Some(kind) {
                        let text = format!("exchange name '{name}' contains reserved prefix 'amq.*'");
                        return self.channel_error(channel, 403, &text, ids, out);
                    }
                    if d.internal {
                        return self.channel_error(channel, 406, "internal exchanges are not supported", ids, out);
                    }
                    match self.exchanges.declare(name, kind, d.durable, d.auto_delete) {
                        Declared::Ok => {}
                        Declared::OtherKind(current) => {
                            let text = format!(
                                "inequivalent arg 'type' for exchange '{name}' in vhost '/': received '{}' but current is '{}'",
                                kind.name(),
                                current.name()
                            );
                            return self.channel_error(channel, 406, &text, ids, out);
                        }
                        Declared::Full => {
                            let text = format!("this broker holds at most {} exchanges", exchange::MAX_EXCHANGES);
                            return self.channel_error(channel, 406, &text, ids, out);
                        }
                    }
                }
                if !d.nowait {
                    out.push(method(channel, AMQPClass::Exchange(X::DeclareOk(DeclareOk {}))));
                }
            }
            X::Delete(d) => {
                let name = d.exchange.as_str();
                if name.is_empty() || name.starts_with("amq.") {
                    let text = format!("exchange '{name}' is built in and cannot be deleted");
                    return self.channel_error(channel, 403, &text, ids, out);
                }
                match self.exchanges.delete(name, d.if_unused) {
                    Err(true) => {
                        let text = format!("exchange '{name}' in vhost '/' in use");
                        return self.channel_error(channel, 406, &text, ids, out);
                    }
                    // Deleting what is not there is not an error (RabbitMQ 3.x).
                    Err(false) => {}
                    Ok(bindings) => {
                        for (queue, filter) in bindings {
                            let id = self.request(Pending::Nothing);
                            out.push(Step::Engine(ClientFrame::Unbind { id, queue, filter }));
                        }
                    }
                }
                if !d.nowait {
                    out.push(method(channel, AMQPClass::Exchange(X::DeleteOk(DeleteOk {}))));
                }
            }
            X::Bind(_) | X::Unbind(_) => {
                self.connection_error(540, "exchange-to-exchange bindings are not supported by Hearth", ids, out)
            }
            _ => self.connection_error(503, "an exchange method a client does not send", ids, out),
        }
    }

    /// The queue a method names, or the channel's last declared one.
    fn queue_name(&self, channel: u16, named: &ShortString) -> String {
        match named.as_str() {
            "" => self.channels.get(&channel).map(|c| c.last_queue.clone()).unwrap_or_default(),
            name => name.to_owned(),
        }
    }

    fn on_queue(&mut self, channel: u16, m: queue::AMQPMethod, ids: (u16, u16), out: &mut Vec<Step>) {
        match m {
            queue::AMQPMethod::Declare(d) => {
                let name = d.queue.to_string();
                if d.passive {
                    let id = self.request(Pending::Declare { channel, nowait: d.nowait });
                    let queue = self.queue_name(channel, &d.queue);
                    out.push(Step::Engine(ClientFrame::Inspect { id, queue }));
                    return;
                }
                if name.starts_with("amq.") {
                    let text = format!("queue name '{name}' contains reserved prefix 'amq.*'");
                    return self.channel_error(channel, 403, &text, ids, out);
                }
                let options = match queue_options(d.durable, d.exclusive, d.auto_delete, &d.arguments, &self.exchanges)
                {
                    Ok(options) => options,
                    Err(text) => return self.channel_error(channel, 406, &text, ids, out),
                };
                let id = self.request(Pending::Declare { channel, nowait: d.nowait });
                out.push(Step::Engine(ClientFrame::Declare { id, queue: name, options }));
            }
            queue::AMQPMethod::Bind(b) => {
                let queue = self.queue_name(channel, &b.queue);
                self.bind(channel, queue, b.exchange.as_str(), b.routing_key.as_str(), b.nowait, false, ids, out);
            }
            queue::AMQPMethod::Unbind(u) => {
                let queue = self.queue_name(channel, &u.queue);
                self.bind(channel, queue, u.exchange.as_str(), u.routing_key.as_str(), false, true, ids, out);
            }
            queue::AMQPMethod::Purge(p) => {
                let queue = self.queue_name(channel, &p.queue);
                let id = self.request(Pending::Purge { channel, nowait: p.nowait });
                out.push(Step::Engine(ClientFrame::Purge { id, queue }));
            }
            queue::AMQPMethod::Delete(d) => {
                let queue = self.queue_name(channel, &d.queue);
                let check = Pending::DeleteCheck {
                    channel,
                    nowait: d.nowait,
                    queue: queue.clone(),
                    if_unused: d.if_unused,
                    if_empty: d.if_empty,
                };
                let id = self.request(check);
                out.push(Step::Engine(ClientFrame::Inspect { id, queue }));
            }
            _ => self.connection_error(503, "a queue method a client does not send", ids, out),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn bind(
        &mut self,
        channel: u16,
        queue: String,
        exchange: &str,
        key: &str,
        nowait: bool,
        unbind: bool,
        ids: (u16, u16),
        out: &mut Vec<Step>,
    ) {
        if exchange.is_empty() {
            let text = "operation not permitted on the default exchange";
            return self.channel_error(channel, 403, text, ids, out);
        }
        let Some(kind) = self.exchanges.kind(exchange) else {
            return self.channel_error(channel, 404, &format!("no exchange '{exchange}' in vhost '/'"), ids, out);
        };
        let filter = match exchange::filter_for(exchange, kind, key) {
            Ok(filter) => filter,
            Err(err) => return self.channel_error(channel, 406, &err.to_string(), ids, out),
        };
        let pending = Pending::Bind {
            channel,
            nowait,
            exchange: exchange.to_owned(),
            queue: queue.clone(),
            filter: filter.clone(),
            unbind,
        };
        let id = self.request(pending);
        let frame = if unbind {
            ClientFrame::Unbind { id, queue, filter }
        } else {
            ClientFrame::Bind { id, queue, filter, retained: false }
        };
        out.push(Step::Engine(frame));
    }

    fn on_basic(&mut self, channel: u16, m: basic::AMQPMethod, ids: (u16, u16), out: &mut Vec<Step>) {
        match m {
            basic::AMQPMethod::Qos(qos) => {
                let ch = self.channels.get_mut(&channel).expect("an open channel");
                // As RabbitMQ applies them: per consumer, or shared by the
                // channel's consumers with `global`.
                if qos.global {
                    ch.global = qos.prefetch_count;
                } else {
                    ch.prefetch = qos.prefetch_count;
                }
                out.push(method(channel, AMQPClass::Basic(basic::AMQPMethod::QosOk(basic::QosOk {}))));
                self.release_waiting(channel, out);
            }
            basic::AMQPMethod::Consume(c) => self.consume(channel, c, ids, out),
            basic::AMQPMethod::Cancel(c) => {
                let ch = self.channels.get_mut(&channel).expect("an open channel");
                match ch.consumers.remove(&c.consumer_tag) {
                    Some(Some(consumer)) => {
                        self.consumers.remove(&consumer);
                        ch.waiting.retain(|d| d.consumer != consumer);
                        for u in ch.unacked.values_mut().filter(|u| u.consumer == consumer) {
                            // The engine requeues them with the consumer.
                            u.tag = None;
                        }
                        let pending = Pending::Cancel { channel, tag: c.consumer_tag, nowait: c.nowait };
                        let id = self.request(pending);
                        out.push(Step::Engine(ClientFrame::Unsubscribe { id, consumer }));
                    }
                    // Unknown tags: cancelling is idempotent. One not yet
                    // confirmed is unsubscribed when `subscribed` comes.
                    _ => {
                        if !c.nowait {
                            let ok = basic::CancelOk { consumer_tag: c.consumer_tag };
                            out.push(method(channel, AMQPClass::Basic(basic::AMQPMethod::CancelOk(ok))));
                        }
                    }
                }
            }
            basic::AMQPMethod::Publish(p) => {
                self.channels.get_mut(&channel).expect("an open channel").incoming = Some(Incoming {
                    exchange: p.exchange.to_string(),
                    routing_key: p.routing_key.to_string(),
                    mandatory: p.mandatory,
                    header: None,
                    body: Vec::new(),
                });
            }
            basic::AMQPMethod::Get(g) => {
                let queue = self.queue_name(channel, &g.queue);
                let ack = if g.no_ack { AckMode::Auto } else { AckMode::Manual };
                let id = self.request(Pending::Get { channel });
                out.push(Step::Engine(ClientFrame::Get { id, queue, ack }));
            }
            basic::AMQPMethod::Ack(a) => self.settle(channel, a.delivery_tag, a.multiple, None, ids, out),
            basic::AMQPMethod::Nack(n) => self.settle(channel, n.delivery_tag, n.multiple, Some(n.requeue), ids, out),
            basic::AMQPMethod::Reject(r) => self.settle(channel, r.delivery_tag, false, Some(r.requeue), ids, out),
            basic::AMQPMethod::Recover(_) | basic::AMQPMethod::RecoverAsync(_) => {
                let ch = self.channels.get_mut(&channel).expect("an open channel");
                for u in std::mem::take(&mut ch.unacked).into_values() {
                    if let Some(tag) = u.tag {
                        out.push(Step::Engine(ClientFrame::Nack { tag, multiple: false, requeue: true }));
                    }
                }
                if let basic::AMQPMethod::Recover(_) = m {
                    out.push(method(channel, AMQPClass::Basic(basic::AMQPMethod::RecoverOk(basic::RecoverOk {}))));
                }
                self.release_waiting(channel, out);
            }
            _ => self.connection_error(503, "a basic method a client does not send", ids, out),
        }
    }

    fn consume(&mut self, channel: u16, c: basic::Consume, ids: (u16, u16), out: &mut Vec<Step>) {
        let queue = self.queue_name(channel, &c.queue);
        if queue.is_empty() {
            return self.connection_error(530, "basic.consume names no queue and none was declared", ids, out);
        }
        let tag = if c.consumer_tag.as_str().is_empty() {
            self.next_consumer_tag += 1;
            short(&format!("amq.ctag-{}-{}", self.conn, self.next_consumer_tag - 1))
        } else {
            c.consumer_tag
        };
        let max_prefetch = self.limits.max_prefetch;
        let ch = self.channels.get_mut(&channel).expect("an open channel");
        if ch.consumers.contains_key(&tag) {
            let text = format!("attempt to reuse consumer tag '{}'", tag.as_str());
            return self.connection_error(530, &text, ids, out);
        }
        ch.consumers.insert(tag.clone(), None);
        // No consumer can hold more than the channel's shared window either.
        let prefetch = [ch.prefetch, ch.global].into_iter().filter(|n| *n > 0).min().map_or(max_prefetch, u32::from);
        let prefetch = prefetch.min(max_prefetch);
        let ack = if c.no_ack { AckMode::Auto } else { AckMode::Manual };
        let id = self.request(Pending::Consume { channel, tag, nowait: c.nowait });
        out.push(Step::Engine(ClientFrame::Subscribe {
            id,
            queue: Some(queue),
            topic: None,
            prefetch: Some(prefetch),
            ack,
        }));
    }

    /// `basic.ack` (`requeue` `None`), `basic.nack` and `basic.reject`.
    fn settle(
        &mut self,
        channel: u16,
        tag: u64,
        multiple: bool,
        requeue: Option<bool>,
        ids: (u16, u16),
        out: &mut Vec<Step>,
    ) {
        let ch = self.channels.get_mut(&channel).expect("an open channel");
        let settled: Vec<Unacked> = if multiple {
            let upto = if tag == 0 { u64::MAX } else { tag };
            let tags: Vec<u64> = ch.unacked.range(..=upto).map(|(t, _)| *t).collect();
            tags.iter().filter_map(|t| ch.unacked.remove(t)).collect()
        } else {
            ch.unacked.remove(&tag).into_iter().collect()
        };
        if settled.is_empty() && !(multiple && tag == 0) {
            return self.channel_error(channel, 406, &format!("unknown delivery tag {tag}"), ids, out);
        }
        for u in settled {
            let Some(tag) = u.tag else { continue };
            out.push(Step::Engine(match requeue {
                None => ClientFrame::Ack { tag, multiple: false },
                Some(requeue) => ClientFrame::Nack { tag, multiple: false, requeue },
            }));
        }
        self.release_waiting(channel, out);
    }

    /// A whole message is in: route it.
    fn publish(&mut self, channel: u16, out: &mut Vec<Step>) {
        let ids = (60, 40);
        let ch = self.channels.get_mut(&channel).expect("an open channel");
        let Some(Incoming { exchange, routing_key, mandatory, header: Some((size, properties)), body }) =
            ch.incoming.take()
        else {
            return;
        };
        self.content_bytes -= size;
        let seq = ch.confirms.as_mut().map(|last| {
            *last += 1;
            *last
        });
        let kind = match self.exchanges.kind(&exchange) {
            Some(kind) => kind,
            None => {
                let text = format!("no exchange '{exchange}' in vhost '/'");
                return self.channel_error(channel, 404, &text, ids, out);
            }
        };
        let (headers, ttl_ms) = match properties::to_headers(&properties) {
            Ok(found) => found,
            Err(properties::BadExpiration(text)) => {
                return self.channel_error(channel, 406, &format!("invalid expiration '{text}'"), ids, out);
            }
        };
        let body = Bytes::from(body);
        let returned = mandatory.then(|| {
            let (exchange, routing_key) = (exchange.clone(), routing_key.clone());
            Box::new(Returned { exchange, routing_key, properties, body: body.clone() })
        });
        let id = (seq.is_some() || returned.is_some() || self.checked)
            .then(|| self.request(Pending::Publish { channel, seq, returned }));
        let (topic, queue) = match exchange::topic_for(&exchange, kind, &routing_key) {
            Some(topic) => (Some(topic.into()), None),
            None => (None, Some(routing_key)),
        };
        out.push(Step::Engine(ClientFrame::Publish {
            id,
            topic,
            queue,
            payload: queue_core::Payload(body),
            headers: headers.into(),
            retain: false,
            ttl_ms,
        }));
    }

    /// Handles one frame from the engine.
    pub fn on_server(&mut self, frame: ServerFrame, out: &mut Vec<Step>) {
        match frame {
            ServerFrame::Deliver(d) => self.deliver(d, out),
            ServerFrame::Confirm { id, routed } => {
                if let Some(Pending::Publish { channel, seq, returned }) = self.pending.remove(&id) {
                    self.confirmed(channel, seq, returned.filter(|_| routed == 0), true, out);
                }
            }
            ServerFrame::Declared { id, queue, ready, consumers } => match self.pending.remove(&id) {
                Some(Pending::Declare { channel, nowait }) => {
                    let Some(ch) = self.channels.get_mut(&channel).filter(|c| !c.closing) else { return };
                    ch.last_queue.clone_from(&queue);
                    if !nowait {
                        let ok = queue::DeclareOk {
                            queue: short(&queue),
                            message_count: u32::try_from(ready).unwrap_or(u32::MAX),
                            consumer_count: u32::try_from(consumers).unwrap_or(u32::MAX),
                        };
                        out.push(method(channel, AMQPClass::Queue(queue::AMQPMethod::DeclareOk(ok))));
                    }
                }
                Some(Pending::DeleteCheck { channel, nowait, queue, if_unused, if_empty }) => {
                    let ids = (50, 40);
                    if if_unused && consumers > 0 {
                        return self.channel_error(
                            channel,
                            406,
                            &format!("queue '{queue}' in vhost '/' in use"),
                            ids,
                            out,
                        );
                    }
                    if if_empty && ready > 0 {
                        let text = format!("queue '{queue}' in vhost '/' is not empty");
                        return self.channel_error(channel, 406, &text, ids, out);
                    }
                    let id = self.request(Pending::Delete { channel, nowait, queue: queue.clone(), messages: ready });
                    out.push(Step::Engine(ClientFrame::Delete { id, queue, if_empty }));
                }
                _ => {}
            },
            ServerFrame::Ok { id } => self.on_ok(id, out),
            ServerFrame::Purged { id, messages } => {
                if let Some(Pending::Purge { channel, nowait: false }) = self.pending.remove(&id) {
                    let ok = queue::PurgeOk { message_count: u32::try_from(messages).unwrap_or(u32::MAX) };
                    self.reply(channel, AMQPClass::Queue(queue::AMQPMethod::PurgeOk(ok)), out);
                }
            }
            ServerFrame::Subscribed { id, consumer, .. } => {
                let Some(Pending::Consume { channel, tag, nowait }) = self.pending.remove(&id) else { return };
                let live = match self.channels.get_mut(&channel) {
                    Some(ch) if !ch.closing => match ch.consumers.get_mut(&tag) {
                        Some(slot) => {
                            *slot = Some(consumer);
                            true
                        }
                        None => false,
                    },
                    _ => false,
                };
                if live {
                    self.consumers.insert(consumer, (channel, tag.clone()));
                    if !nowait {
                        let ok = basic::ConsumeOk { consumer_tag: tag };
                        out.push(method(channel, AMQPClass::Basic(basic::AMQPMethod::ConsumeOk(ok))));
                    }
                } else {
                    // Its channel closed, or it was cancelled, meanwhile.
                    let id = self.request(Pending::Nothing);
                    out.push(Step::Engine(ClientFrame::Unsubscribe { id, consumer }));
                }
            }
            ServerFrame::Got { id, delivery, ready } => {
                let Some(Pending::Get { channel }) = self.pending.remove(&id) else {
                    if let Some(tag) = delivery.and_then(|d| d.tag) {
                        out.push(Step::Engine(ClientFrame::Nack { tag, multiple: false, requeue: true }));
                    }
                    return;
                };
                let Some(ch) = self.channels.get_mut(&channel).filter(|c| !c.closing) else {
                    if let Some(tag) = delivery.and_then(|d| d.tag) {
                        out.push(Step::Engine(ClientFrame::Nack { tag, multiple: false, requeue: true }));
                    }
                    return;
                };
                let Some(d) = delivery else {
                    let empty = basic::GetEmpty {};
                    out.push(method(channel, AMQPClass::Basic(basic::AMQPMethod::GetEmpty(empty))));
                    return;
                };
                ch.last_tag += 1;
                let delivery_tag = ch.last_tag;
                if let Some(tag) = d.tag {
                    ch.unacked.insert(delivery_tag, Unacked { tag: Some(tag), consumer: 0 });
                }
                let (exchange, routing_key) = exchange::from_topic(&d.topic, &d.queue);
                let ok = basic::GetOk {
                    delivery_tag,
                    redelivered: d.redelivered,
                    exchange: short(&exchange),
                    routing_key: short(&routing_key),
                    message_count: u32::try_from(ready).unwrap_or(u32::MAX),
                };
                out.push(Step::Content {
                    channel,
                    method: AMQPClass::Basic(basic::AMQPMethod::GetOk(ok)),
                    properties: properties::from_headers(&d.headers),
                    body: d.payload.0,
                });
            }
            ServerFrame::Cancelled { consumer, .. } => {
                let Some((channel, tag)) = self.consumers.remove(&consumer) else { return };
                let Some(ch) = self.channels.get_mut(&channel) else { return };
                ch.consumers.remove(&tag);
                ch.waiting.retain(|d| d.consumer != consumer);
                for u in ch.unacked.values_mut().filter(|u| u.consumer == consumer) {
                    u.tag = None;
                }
                if self.caps.consumer_cancel_notify && !ch.closing {
                    let cancel = basic::Cancel { consumer_tag: tag, nowait: true };
                    out.push(method(channel, AMQPClass::Basic(basic::AMQPMethod::Cancel(cancel))));
                }
            }
            ServerFrame::Blocked { reason } => {
                if self.caps.connection_blocked {
                    let blocked = connection::Blocked { reason: short(&reason) };
                    out.push(method(0, AMQPClass::Connection(connection::AMQPMethod::Blocked(blocked))));
                }
            }
            ServerFrame::Unblocked => {
                if self.caps.connection_blocked {
                    let unblocked = connection::AMQPMethod::Unblocked(connection::Unblocked {});
                    out.push(method(0, AMQPClass::Connection(unblocked)));
                }
            }
            ServerFrame::Error { id, code, message } => self.on_error(id, code, &message, out),
            ServerFrame::Welcome { .. }
            | ServerFrame::Stats { .. }
            | ServerFrame::Pong { .. }
            | ServerFrame::Peeked { .. } => {}
        }
    }

    /// Sends `class` on `channel` unless it closed meanwhile.
    fn reply(&mut self, channel: u16, class: AMQPClass, out: &mut Vec<Step>) {
        if self.channels.get(&channel).is_some_and(|c| !c.closing) {
            out.push(method(channel, class));
        }
    }

    fn on_ok(&mut self, id: u64, out: &mut Vec<Step>) {
        match self.pending.remove(&id) {
            Some(Pending::Bind { channel, nowait, exchange, queue, filter, unbind }) => {
                if unbind {
                    self.exchanges.unbound(&exchange, &queue, &filter);
                    self.reply(channel, AMQPClass::Queue(queue::AMQPMethod::UnbindOk(queue::UnbindOk {})), out);
                } else {
                    self.exchanges.bound(&exchange, &queue, &filter);
                    if !nowait {
                        self.reply(channel, AMQPClass::Queue(queue::AMQPMethod::BindOk(queue::BindOk {})), out);
                    }
                }
            }
            Some(Pending::Delete { channel, nowait, queue, messages }) => {
                self.exchanges.queue_gone(&queue);
                if !nowait {
                    let ok = queue::DeleteOk { message_count: u32::try_from(messages).unwrap_or(u32::MAX) };
                    self.reply(channel, AMQPClass::Queue(queue::AMQPMethod::DeleteOk(ok)), out);
                }
            }
            Some(Pending::Cancel { channel, tag, nowait: false }) => {
                let ok = basic::CancelOk { consumer_tag: tag };
                self.reply(channel, AMQPClass::Basic(basic::AMQPMethod::CancelOk(ok)), out);
            }
            _ => {}
        }
    }

    fn on_error(&mut self, id: Option<u64>, code: ErrorCode, message: &str, out: &mut Vec<Step>) {
        let Some(pending) = id.and_then(|id| self.pending.remove(&id)) else {
            tracing::debug!(conn = self.conn, ?code, message, "engine error for an AMQP frame with no reply");
            return;
        };
        let ids = pending.method();
        match pending {
            Pending::Nothing => tracing::debug!(conn = self.conn, ?code, message, "engine error"),
            Pending::Publish { channel, seq, returned } => match code {
                // Unroutable: returned if mandatory, confirmed all the same.
                ErrorCode::QueueNotFound | ErrorCode::InvalidTopic => self.confirmed(channel, seq, returned, true, out),
                ErrorCode::QueueFull => self.confirmed(channel, seq, None, false, out),
                _ => self.channel_error(channel, reply_code(code), message, ids, out),
            },
            Pending::DeleteCheck { channel, nowait, .. } if code == ErrorCode::QueueNotFound => {
                if !nowait {
                    let ok = queue::DeleteOk { message_count: 0 };
                    self.reply(channel, AMQPClass::Queue(queue::AMQPMethod::DeleteOk(ok)), out);
                }
            }
            Pending::Consume { channel, ref tag, .. } => {
                if let Some(ch) = self.channels.get_mut(&channel) {
                    ch.consumers.remove(tag);
                }
                self.channel_error(channel, reply_code(code), message, ids, out);
            }
            other => {
                if let Some(channel) = other.channel() {
                    self.channel_error(channel, reply_code(code), message, ids, out);
                }
            }
        }
    }

    /// A publish is settled: returned first if it must be, then confirmed
    /// (`basic.ack`) or refused (`basic.nack`) in confirm mode.
    fn confirmed(
        &mut self,
        channel: u16,
        seq: Option<u64>,
        returned: Option<Box<Returned>>,
        ok: bool,
        out: &mut Vec<Step>,
    ) {
        if self.channels.get(&channel).is_none_or(|c| c.closing) {
            return;
        }
        if let Some(r) = returned {
            let ret = basic::Return {
                reply_code: 312,
                reply_text: short("NO_ROUTE"),
                exchange: short(&r.exchange),
                routing_key: short(&r.routing_key),
            };
            out.push(Step::Content {
                channel,
                method: AMQPClass::Basic(basic::AMQPMethod::Return(ret)),
                properties: r.properties,
                body: r.body,
            });
        }
        if let Some(delivery_tag) = seq {
            let m = if ok {
                basic::AMQPMethod::Ack(basic::Ack { delivery_tag, multiple: false })
            } else {
                basic::AMQPMethod::Nack(basic::Nack { delivery_tag, multiple: false, requeue: false })
            };
            out.push(method(channel, AMQPClass::Basic(m)));
        }
    }

    fn deliver(&mut self, d: Delivery, out: &mut Vec<Step>) {
        let target = self.consumers.get(&d.consumer).cloned();
        let Some((channel, consumer_tag)) = target.filter(|_| !d.retained) else {
            // A consumer gone meanwhile, or a retained replay (RabbitMQ
            // consumers get none): the message goes back.
            if let Some(tag) = d.tag {
                out.push(Step::Engine(ClientFrame::Nack { tag, multiple: false, requeue: true }));
            }
            return;
        };
        let Some(ch) = self.channels.get_mut(&channel) else { return };
        if d.tag.is_some() && ch.global > 0 && (ch.unacked.len() >= usize::from(ch.global) || !ch.waiting.is_empty()) {
            ch.waiting.push_back(d);
            return;
        }
        send_delivery(channel, ch, consumer_tag, d, out);
    }

    /// Sends what waits for room in `channel`'s shared window, as far as
    /// there is room. A waiting delivery whose consumer has gone is
    /// dropped: the engine took it back with the consumer.
    fn release_waiting(&mut self, channel: u16, out: &mut Vec<Step>) {
        let Some(ch) = self.channels.get_mut(&channel) else { return };
        while !ch.waiting.is_empty() && (ch.global == 0 || ch.unacked.len() < usize::from(ch.global)) {
            let Some(d) = ch.waiting.pop_front() else { break };
            let Some((_, consumer_tag)) = self.consumers.get(&d.consumer).filter(|(c, _)| *c == channel) else {
                continue;
            };
            send_delivery(channel, ch, consumer_tag.clone(), d, out);
        }
    }

    /// Channels open now.
    pub fn channel_count(&self) -> usize {
        self.channels.len()
    }

    /// Deliveries the client holds that the engine counts as unacked (the
    /// fuzz target checks that the two always agree once settled).
    pub fn held(&self) -> usize {
        let sent = self.channels.values().flat_map(|c| c.unacked.values()).filter(|u| u.tag.is_some()).count();
        sent + self.channels.values().map(|c| c.waiting.len()).sum::<usize>()
    }
}

/// Sends `d` to the client on `channel` under the next delivery tag.
fn send_delivery(channel: u16, ch: &mut Channel, consumer_tag: ShortString, d: Delivery, out: &mut Vec<Step>) {
    ch.last_tag += 1;
    let delivery_tag = ch.last_tag;
    if let Some(tag) = d.tag {
        ch.unacked.insert(delivery_tag, Unacked { tag: Some(tag), consumer: d.consumer });
    }
    let (exchange, routing_key) = exchange::from_topic(&d.topic, &d.queue);
    let deliver = basic::Deliver {
        consumer_tag,
        delivery_tag,
        redelivered: d.redelivered,
        exchange: short(&exchange),
        routing_key: short(&routing_key),
    };
    out.push(Step::Content {
        channel,
        method: AMQPClass::Basic(basic::AMQPMethod::Deliver(deliver)),
        properties: properties::from_headers(&d.headers),
        body: d.payload.0,
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use queue_core::Payload;

    fn session() -> Session {
        let limits = Limits { max_message: 1 << 20, channel_max: 2047, max_prefetch: 65_535, max_channels: 4 };
        let caps = Capabilities { consumer_cancel_notify: true, connection_blocked: true };
        Session::new(7, limits, caps, Arc::default(), false)
    }

    fn call(s: &mut Session, channel: u16, class: AMQPClass) -> Vec<Step> {
        let mut out = Vec::new();
        s.on_frame(AMQPFrame::Method(channel, class), &mut out);
        out
    }

    fn reply(s: &mut Session, frame: ServerFrame) -> Vec<Step> {
        let mut out = Vec::new();
        s.on_server(frame, &mut out);
        out
    }

    fn open(s: &mut Session, channel: u16) {
        let out = call(s, channel, AMQPClass::Channel(channel::AMQPMethod::Open(channel::Open {})));
        assert_eq!(out, [method(channel, AMQPClass::Channel(channel::AMQPMethod::OpenOk(channel::OpenOk {})))]);
    }

    /// The engine frames among `steps`.
    fn engine(steps: &[Step]) -> Vec<ClientFrame> {
        steps.iter().filter_map(|s| if let Step::Engine(f) = s { Some(f.clone()) } else { None }).collect()
    }

    fn delivery(consumer: u64, tag: u64) -> ServerFrame {
        ServerFrame::Deliver(Delivery {
            consumer,
            tag: Some(tag),
            queue: "jobs".into(),
            topic: "jobs".into(),
            payload: Payload::from("x"),
            headers: Default::default(),
            message_id: tag,
            published_at: 0,
            redelivered: false,
            delivery_count: 1,
            retained: false,
        })
    }

    /// Subscribes consumer `tag` on `channel` and has the engine say it
    /// exists as engine consumer `consumer`.
    fn consume(s: &mut Session, channel: u16, tag: &str, consumer: u64) {
        let c = basic::Consume { queue: "jobs".into(), consumer_tag: tag.into(), ..Default::default() };
        let out = call(s, channel, AMQPClass::Basic(basic::AMQPMethod::Consume(c)));
        let [ClientFrame::Subscribe { id, .. }] = &engine(&out)[..] else { panic!("{out:?}") };
        let out = reply(s, ServerFrame::Subscribed { id: *id, consumer, queue: "jobs".into() });
        let ok = basic::ConsumeOk { consumer_tag: tag.into() };
        assert_eq!(out, [method(channel, AMQPClass::Basic(basic::AMQPMethod::ConsumeOk(ok)))]);
    }

    #[test]
    fn each_channel_numbers_its_deliveries_and_a_multiple_ack_stays_in_its_channel() {
        let mut s = session();
        open(&mut s, 1);
        open(&mut s, 2);
        consume(&mut s, 1, "a", 10);
        consume(&mut s, 2, "b", 20);
        // Engine tags interleave across channels; AMQP's are per channel.
        for (consumer, tag) in [(10, 1), (20, 2), (10, 3), (20, 4)] {
            let out = reply(&mut s, delivery(consumer, tag));
            let [Step::Content { channel, method: AMQPClass::Basic(basic::AMQPMethod::Deliver(d)), .. }] = &out[..]
            else {
                panic!("{out:?}")
            };
            assert_eq!((*channel, d.delivery_tag), (if consumer == 10 { 1 } else { 2 }, if tag <= 2 { 1 } else { 2 }));
        }
        let ack = basic::Ack { delivery_tag: 2, multiple: true };
        let out = call(&mut s, 2, AMQPClass::Basic(basic::AMQPMethod::Ack(ack)));
        assert_eq!(
            engine(&out),
            [ClientFrame::Ack { tag: 2, multiple: false }, ClientFrame::Ack { tag: 4, multiple: false }],
            "channel 2's deliveries only"
        );
    }

    #[test]
    fn a_channel_closed_by_an_error_gives_back_its_consumers_and_what_it_got() {
        let mut s = session();
        open(&mut s, 1);
        consume(&mut s, 1, "a", 10);
        reply(&mut s, delivery(10, 1));
        let get = basic::Get { queue: "jobs".into(), no_ack: false };
        let out = call(&mut s, 1, AMQPClass::Basic(basic::AMQPMethod::Get(get)));
        let [ClientFrame::Get { id, .. }] = &engine(&out)[..] else { panic!("{out:?}") };
        let ServerFrame::Deliver(d) = delivery(0, 2) else { unreachable!() };
        reply(&mut s, ServerFrame::Got { id: *id, delivery: Some(Box::new(d)), ready: 0 });
        let ack = basic::Ack { delivery_tag: 99, multiple: false };
        let out = call(&mut s, 1, AMQPClass::Basic(basic::AMQPMethod::Ack(ack)));
        let Step::Send(AMQPFrame::Method(1, AMQPClass::Channel(channel::AMQPMethod::Close(close)))) = &out[0] else {
            panic!("{out:?}")
        };
        assert_eq!(close.reply_code, 406);
        let frames = engine(&out);
        assert!(matches!(frames[0], ClientFrame::Unsubscribe { consumer: 10, .. }), "{frames:?}");
        // The consumer's own delivery goes back with it; the one `get` took is nacked.
        assert_eq!(frames[1..], [ClientFrame::Nack { tag: 2, multiple: false, requeue: true }]);
        // Until close-ok, the channel ignores what comes; a late delivery goes back.
        let out = reply(&mut s, delivery(10, 3));
        assert_eq!(engine(&out), [ClientFrame::Nack { tag: 3, multiple: false, requeue: true }]);
        assert!(call(&mut s, 1, AMQPClass::Basic(basic::AMQPMethod::Qos(basic::Qos::default()))).is_empty());
        call(&mut s, 1, AMQPClass::Channel(channel::AMQPMethod::CloseOk(channel::CloseOk {})));
        open(&mut s, 1);
    }

    #[test]
    fn confirms_count_publishes_and_an_unroutable_mandatory_one_is_returned_before_its_ack() {
        let mut s = session();
        open(&mut s, 1);
        let select = confirm::Select { nowait: false };
        call(&mut s, 1, AMQPClass::Confirm(confirm::AMQPMethod::Select(select)));
        let mut ids = Vec::new();
        for mandatory in [false, true] {
            let p =
                basic::Publish { exchange: "".into(), routing_key: "nowhere".into(), mandatory, ..Default::default() };
            call(&mut s, 1, AMQPClass::Basic(basic::AMQPMethod::Publish(p)));
            let header = AMQPContentHeader { class_id: 60, body_size: 2, properties: AMQPProperties::default() };
            let mut out = Vec::new();
            s.on_frame(AMQPFrame::Header(1, header), &mut out);
            s.on_frame(AMQPFrame::Body(1, b"hi".to_vec()), &mut out);
            let [ClientFrame::Publish { id: Some(id), queue: Some(q), .. }] = &engine(&out)[..] else {
                panic!("{out:?}")
            };
            assert_eq!(q, "nowhere");
            ids.push(*id);
        }
        let out = reply(&mut s, ServerFrame::Confirm { id: ids[0], routed: 1 });
        let ack = |tag| {
            method(1, AMQPClass::Basic(basic::AMQPMethod::Ack(basic::Ack { delivery_tag: tag, multiple: false })))
        };
        assert_eq!(out, [ack(1)]);
        let out = reply(
            &mut s,
            ServerFrame::Error { id: Some(ids[1]), code: ErrorCode::QueueNotFound, message: String::new() },
        );
        assert!(
            matches!(&out[0], Step::Content { method: AMQPClass::Basic(basic::AMQPMethod::Return(r)), .. } if r.reply_code == 312)
        );
        assert_eq!(out[1], ack(2));
    }

    use amq_protocol::frame::AMQPContentHeader;

    #[test]
    fn a_global_qos_window_is_shared_by_the_channel_s_consumers() {
        let mut s = session();
        open(&mut s, 1);
        let qos = basic::Qos { prefetch_count: 2, global: true };
        call(&mut s, 1, AMQPClass::Basic(basic::AMQPMethod::Qos(qos)));
        consume(&mut s, 1, "a", 10);
        consume(&mut s, 1, "b", 20);
        // The engine gives each consumer up to 2; the client sees 2 in all.
        let sent: usize =
            [(10, 1), (20, 2), (10, 3), (20, 4)].iter().map(|&(c, t)| reply(&mut s, delivery(c, t)).len()).sum();
        assert_eq!(sent, 2);
        assert_eq!(s.held(), 4, "the engine's four unacked are all accounted for");
        // An ack makes room: the oldest waiting one goes out, as tag 3.
        let ack = basic::Ack { delivery_tag: 1, multiple: false };
        let out = call(&mut s, 1, AMQPClass::Basic(basic::AMQPMethod::Ack(ack)));
        assert_eq!(engine(&out), [ClientFrame::Ack { tag: 1, multiple: false }]);
        let delivered: Vec<(u64, ShortString)> = out
            .iter()
            .filter_map(|step| match step {
                Step::Content { method: AMQPClass::Basic(basic::AMQPMethod::Deliver(d)), .. } => {
                    Some((d.delivery_tag, d.consumer_tag.clone()))
                }
                _ => None,
            })
            .collect();
        assert_eq!(delivered, [(3, ShortString::from("a"))]);
        // Cancelling "b" drops what waited for it: the engine takes it back.
        let cancel = basic::Cancel { consumer_tag: "b".into(), nowait: true };
        call(&mut s, 1, AMQPClass::Basic(basic::AMQPMethod::Cancel(cancel)));
        // Held now: a's delivery 3 only; b's sent one and its waiting one
        // went back to the engine with the consumer.
        assert_eq!(s.held(), 1);
    }

    #[test]
    fn messages_arriving_on_many_channels_at_once_are_bounded_together() {
        let mut s = session();
        let max = 1 << 20;
        let header =
            |size: u64| AMQPContentHeader { class_id: 60, body_size: size, properties: AMQPProperties::default() };
        for channel in 1..=3 {
            open(&mut s, channel);
            let p = basic::Publish { exchange: "".into(), routing_key: "q".into(), ..Default::default() };
            call(&mut s, channel, AMQPClass::Basic(basic::AMQPMethod::Publish(p)));
            let mut out = Vec::new();
            s.on_frame(AMQPFrame::Header(channel, header(max)), &mut out);
            let refused = out.iter().any(|step| {
                matches!(step, Step::Send(AMQPFrame::Method(_, AMQPClass::Channel(channel::AMQPMethod::Close(c)))) if c.reply_code == 406)
            });
            assert_eq!(refused, channel == 3, "channel {channel}: {out:?}");
        }
        // A finished message frees its room.
        let mut out = Vec::new();
        s.on_frame(AMQPFrame::Body(1, vec![0; 1 << 20]), &mut out);
        assert_eq!(engine(&out).len(), 1);
        assert_eq!(s.content_bytes, 1 << 20);
    }

    #[test]
    fn queue_arguments_map_to_engine_options_and_unsupported_ones_say_why() {
        let x = Exchanges::default();
        let args = |pairs: &[(&str, AMQPValue)]| {
            let mut t = FieldTable::default();
            for (k, v) in pairs {
                t.insert((*k).into(), v.clone());
            }
            t
        };
        let text = |s: &str| AMQPValue::LongString(s.into());
        let o = queue_options(
            true,
            false,
            false,
            &args(&[
                ("x-message-ttl", AMQPValue::LongInt(60_000)),
                ("x-max-length", AMQPValue::ShortInt(10)),
                ("x-overflow", text("reject-publish")),
                ("x-delivery-limit", AMQPValue::LongInt(2)),
                ("x-dead-letter-exchange", text("")),
                ("x-dead-letter-routing-key", text("dead")),
                ("x-queue-type", text("quorum")),
            ]),
            &x,
        )
        .expect("valid");
        assert_eq!(o.message_ttl_ms, Some(60_000));
        assert_eq!((o.max_length, o.overflow, o.max_deliveries), (Some(10), Overflow::RejectPublish, Some(3)));
        assert_eq!(o.dead_letter.as_deref(), Some("dead"));
        let fanout = queue_options(false, false, false, &args(&[("x-dead-letter-exchange", text("amq.fanout"))]), &x);
        assert_eq!(fanout.expect("valid").dead_letter_topic.as_deref(), Some("$amq/f/amq.fanout/"));
        for bad in [
            args(&[("x-message-ttl", AMQPValue::LongInt(-1))]),
            args(&[("x-overflow", text("reject-publish-dlx"))]),
            args(&[("x-max-priority", AMQPValue::ShortShortUInt(10))]),
            args(&[("x-queue-type", text("stream"))]),
            args(&[("x-dead-letter-exchange", text("missing"))]),
            args(&[("x-dead-letter-exchange", text("amq.direct"))]),
        ] {
            assert!(queue_options(true, false, false, &bad, &x).is_err(), "{bad:?}");
        }
        assert!(queue_options(false, false, false, &args(&[("x-queue-type", text("quorum"))]), &x).is_err());
    }
}
