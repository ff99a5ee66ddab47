//! MQTT 5 properties: one typed struct for every packet, and the table of
//! which property each packet (or a CONNECT's will) may carry. MQTT 3.1.1
//! has no properties; its packets leave this struct empty.

mod decode;
mod encode;

pub(crate) use decode::decode;
pub(crate) use encode::encode;

use crate::types::{PacketKind, QoS};
use bytes::Bytes;
use std::num::{NonZeroU16, NonZeroU32};

/// What a PUBLISH (or will) payload is, as its sender declares it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PayloadFormat {
    /// Unspecified bytes (0).
    Bytes = 0,
    /// UTF-8 text (1).
    Utf8 = 1,
}

/// The MQTT 5 properties of one packet. Every field is optional; which ones
/// a packet may carry is checked when encoding and decoding (section 2.2.2.2).
/// Fields are in property-identifier order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Properties {
    /// 0x01, PUBLISH/will: payload format indicator.
    pub payload_format: Option<PayloadFormat>,
    /// 0x02, PUBLISH/will: message expiry interval, seconds.
    pub message_expiry_interval: Option<u32>,
    /// 0x03, PUBLISH/will: content type (MIME-like).
    pub content_type: Option<String>,
    /// 0x08, PUBLISH/will: response topic for request/response.
    pub response_topic: Option<String>,
    /// 0x09, PUBLISH/will: correlation data for request/response.
    pub correlation_data: Option<Bytes>,
    /// 0x0B, PUBLISH (several) / SUBSCRIBE (at most one): subscription identifiers.
    pub subscription_identifiers: Vec<NonZeroU32>,
    /// 0x11, CONNECT/CONNACK/DISCONNECT: session expiry interval, seconds.
    pub session_expiry_interval: Option<u32>,
    /// 0x12, CONNACK: the client identifier the server assigned.
    pub assigned_client_identifier: Option<String>,
    /// 0x13, CONNACK: the keep-alive the server imposes, seconds.
    pub server_keep_alive: Option<u16>,
    /// 0x15, CONNECT/CONNACK/AUTH: authentication method.
    pub authentication_method: Option<String>,
    /// 0x16, CONNECT/CONNACK/AUTH: authentication data.
    pub authentication_data: Option<Bytes>,
    /// 0x17, CONNECT: whether reason strings and user properties may be sent on failures.
    pub request_problem_information: Option<bool>,
    /// 0x18, will: will delay interval, seconds.
    pub will_delay_interval: Option<u32>,
    /// 0x19, CONNECT: whether the client wants response information.
    pub request_response_information: Option<bool>,
    /// 0x1A, CONNACK: response information (basis for response topics).
    pub response_information: Option<String>,
    /// 0x1C, CONNACK/DISCONNECT: another server to use.
    pub server_reference: Option<String>,
    /// 0x1F, acks/CONNACK/DISCONNECT/AUTH: human-readable reason.
    pub reason_string: Option<String>,
    /// 0x21, CONNECT/CONNACK: receive maximum (in-flight QoS > 0 publishes).
    pub receive_maximum: Option<NonZeroU16>,
    /// 0x22, CONNECT/CONNACK: the highest topic alias accepted.
    pub topic_alias_maximum: Option<u16>,
    /// 0x23, PUBLISH: topic alias.
    pub topic_alias: Option<NonZeroU16>,
    /// 0x24, CONNACK: maximum QoS the server supports (0 or 1 only).
    pub maximum_qos: Option<QoS>,
    /// 0x25, CONNACK: whether retained messages are supported.
    pub retain_available: Option<bool>,
    /// 0x26, every packet: user properties, in order, repeats allowed.
    pub user_properties: Vec<(String, String)>,
    /// 0x27, CONNECT/CONNACK: maximum packet size the sender accepts.
    pub maximum_packet_size: Option<NonZeroU32>,
    /// 0x28, CONNACK: whether wildcard subscriptions are supported.
    pub wildcard_subscription_available: Option<bool>,
    /// 0x29, CONNACK: whether subscription identifiers are supported.
    pub subscription_identifier_available: Option<bool>,
    /// 0x2A, CONNACK: whether shared subscriptions are supported.
    pub shared_subscription_available: Option<bool>,
}

impl Properties {
    /// Whether no property is set.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// Where a property list sits: in a packet, or in a CONNECT's will.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ctx {
    /// The properties of a packet of this kind.
    Packet(PacketKind),
    /// The will properties of a CONNECT.
    Will,
}

impl Ctx {
    fn name(self) -> &'static str {
        match self {
            Self::Packet(kind) => kind.name(),
            Self::Will => "Will",
        }
    }

    fn bit(self) -> u32 {
        match self {
            Self::Packet(kind) => 1 << kind as u32,
            Self::Will => 1,
        }
    }

    /// Whether property `id` may appear more than once here.
    fn repeatable(self, id: u8) -> bool {
        id == 0x26 || (id == 0x0B && self == Self::Packet(PacketKind::Publish))
    }
}

/// Whether property `id` may appear in `ctx` (MQTT 5, table 2-4).
pub(crate) fn allowed(id: u8, ctx: Ctx) -> bool {
    use PacketKind::*;
    const WILL: u32 = 1;
    const fn b(kind: PacketKind) -> u32 {
        1 << kind as u32
    }
    const ACKS: u32 = b(PubAck) | b(PubRec) | b(PubRel) | b(PubComp);
    let mask = match id {
        0x01 | 0x02 | 0x03 | 0x08 | 0x09 => WILL | b(Publish),
        0x0B => b(Publish) | b(Subscribe),
        0x11 => b(Connect) | b(ConnAck) | b(Disconnect),
        0x12 | 0x13 | 0x1A | 0x24 | 0x25 | 0x28 | 0x29 | 0x2A => b(ConnAck),
        0x15 | 0x16 => b(Connect) | b(ConnAck) | b(Auth),
        0x17 | 0x19 => b(Connect),
        0x18 => WILL,
        0x1C => b(ConnAck) | b(Disconnect),
        0x1F => b(ConnAck) | ACKS | b(SubAck) | b(UnsubAck) | b(Disconnect) | b(Auth),
        0x21 | 0x22 | 0x27 => b(Connect) | b(ConnAck),
        0x23 => b(Publish),
        0x26 => !b(PingReq) & !b(PingResp),
        _ => 0,
    };
    mask & ctx.bit() != 0
}

/// Reads a property list in MQTT 5; 3.1.1 has none.
pub(crate) fn read_props(
    r: &mut crate::primitives::Reader,
    v5: bool,
    ctx: Ctx,
) -> Result<Properties, crate::error::DecodeError> {
    if v5 { decode(r, ctx) } else { Ok(Properties::default()) }
}

/// Writes a property list in MQTT 5; 3.1.1 drops it.
pub(crate) fn write_props(
    out: &mut bytes::BytesMut,
    v5: bool,
    p: &Properties,
    ctx: Ctx,
) -> Result<(), crate::error::EncodeError> {
    if v5 { encode(p, ctx, out) } else { Ok(()) }
}
