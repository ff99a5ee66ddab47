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

/// The MQTT 5 properties of one packet: its [`PropertyFields`], read and
/// written through `Deref`. Most packets carry none (every 3.1.1 packet, most
/// MQTT 5 ones), so the fields live behind one pointer that the first write
/// allocates: an empty list costs one word, and a packet stays small to move
/// (a PUBLISH is 72 bytes, not 390).
#[derive(Clone, Default)]
pub struct Properties(Option<Box<PropertyFields>>);

/// The MQTT 5 properties a packet can carry. Every field is optional; which
/// ones a packet may carry is checked when encoding and decoding (section
/// 2.2.2.2). Fields are in property-identifier order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PropertyFields {
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

impl PropertyFields {
    /// No property set.
    pub const NONE: Self = Self {
        payload_format: None,
        message_expiry_interval: None,
        content_type: None,
        response_topic: None,
        correlation_data: None,
        subscription_identifiers: Vec::new(),
        session_expiry_interval: None,
        assigned_client_identifier: None,
        server_keep_alive: None,
        authentication_method: None,
        authentication_data: None,
        request_problem_information: None,
        will_delay_interval: None,
        request_response_information: None,
        response_information: None,
        server_reference: None,
        reason_string: None,
        receive_maximum: None,
        topic_alias_maximum: None,
        topic_alias: None,
        maximum_qos: None,
        retain_available: None,
        user_properties: Vec::new(),
        maximum_packet_size: None,
        wildcard_subscription_available: None,
        subscription_identifier_available: None,
        shared_subscription_available: None,
    };
}

impl Properties {
    /// The fields, owned.
    pub fn into_fields(self) -> PropertyFields {
        self.0.map(|fields| *fields).unwrap_or_default()
    }

    /// Whether no property is set.
    pub fn is_empty(&self) -> bool {
        self.0.as_deref().is_none_or(|fields| *fields == PropertyFields::NONE)
    }
}

impl From<PropertyFields> for Properties {
    fn from(fields: PropertyFields) -> Self {
        Self(Some(Box::new(fields)))
    }
}

impl std::ops::Deref for Properties {
    type Target = PropertyFields;

    fn deref(&self) -> &PropertyFields {
        static NONE: PropertyFields = PropertyFields::NONE;
        self.0.as_deref().unwrap_or(&NONE)
    }
}

impl std::ops::DerefMut for Properties {
    /// Allocates the fields when none is set yet.
    fn deref_mut(&mut self) -> &mut PropertyFields {
        self.0.get_or_insert_with(Default::default)
    }
}

impl PartialEq for Properties {
    /// Equal when the same properties are set, allocated or not.
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Eq for Properties {}

impl std::fmt::Debug for Properties {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        (**self).fmt(f)
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

#[cfg(test)]
mod tests {
    use super::{Properties, PropertyFields};

    #[test]
    fn an_empty_list_is_one_word_and_equals_an_allocated_empty_one() {
        assert_eq!(std::mem::size_of::<Properties>(), std::mem::size_of::<usize>());
        // What the word buys: a packet is cheap to move (it was 392 bytes).
        assert!(std::mem::size_of::<crate::Packet>() <= 80, "{}", std::mem::size_of::<crate::Packet>());
        let allocated = Properties::from(PropertyFields::default());
        assert!(Properties::default().is_empty() && allocated.is_empty());
        assert_eq!(Properties::default(), allocated);
        // Writing through an empty list allocates it.
        let mut set = Properties::default();
        set.user_properties.push(("why".into(), "because".into()));
        assert!(!set.is_empty());
        assert_ne!(set, allocated);
        assert_eq!(set.clone().into_fields().user_properties, [("why".into(), "because".into())]);
        assert_eq!(Properties::default().into_fields(), PropertyFields::NONE);
    }
}
