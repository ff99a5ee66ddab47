//! PUBLISH and its four acknowledgements (PUBACK, PUBREC, PUBREL, PUBCOMP).

use crate::error::{DecodeError, EncodeError};
use crate::primitives::{Reader, put_string};
use crate::properties::{Ctx, Properties, read_props, write_props};
use crate::reason::ReasonCode;
use crate::types::{PacketKind, ProtocolVersion, QoS};
use bytes::{BufMut, Bytes, BytesMut};
use std::sync::Arc;

/// An application message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Publish {
    /// Redelivery of an earlier attempt (QoS > 0 only).
    pub dup: bool,
    /// Delivery guarantee.
    pub qos: QoS,
    /// Whether the server keeps it as the topic's retained message.
    pub retain: bool,
    /// Topic name: no wildcards; empty only in MQTT 5 with a topic alias.
    /// Shared: a broker sends one topic to many subscribers without a copy each.
    pub topic: Arc<str>,
    /// Packet identifier: non-zero for QoS 1 and 2, zero for QoS 0.
    pub packet_id: u16,
    /// The message body, binary-safe.
    pub payload: Bytes,
    /// MQTT 5 properties (ignored when encoding 3.1.1).
    pub properties: Properties,
}

/// PUBACK, PUBREC, PUBREL or PUBCOMP: the packet kind says which.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Ack {
    /// The PUBLISH (or PUBREL) being answered.
    pub packet_id: u16,
    /// Outcome (MQTT 5; 3.1.1 drops it).
    pub reason: ReasonCode,
    /// MQTT 5 properties (ignored when encoding 3.1.1).
    pub properties: Properties,
}

const PUBLISH_CTX: Ctx = Ctx::Packet(PacketKind::Publish);

impl Publish {
    /// The fixed-header flags: DUP, QoS, RETAIN.
    pub(crate) fn flags(&self) -> u8 {
        u8::from(self.dup) << 3 | (self.qos as u8) << 1 | u8::from(self.retain)
    }

    pub(crate) fn decode(flags: u8, r: &mut Reader, version: ProtocolVersion) -> Result<Self, DecodeError> {
        let qos = QoS::from_bits((flags >> 1) & 0x03)?;
        let dup = flags & 0x08 != 0;
        if dup && qos == QoS::AtMostOnce {
            return Err(DecodeError::DupOnQos0);
        }
        let topic: Arc<str> = r.string_into(|s| Arc::from(s))?;
        let packet_id = if qos == QoS::AtMostOnce { 0 } else { nonzero_id(r)? };
        let properties = read_props(r, version == ProtocolVersion::V5, PUBLISH_CTX)?;
        check_topic(&topic, &properties).map_err(|e| match e {
            EncodeError::InvalidTopic if topic.is_empty() => DecodeError::EmptyTopic,
            _ => DecodeError::WildcardInTopic,
        })?;
        let payload = r.rest();
        Ok(Self { dup, qos, retain: flags & 0x01 != 0, topic, packet_id, payload, properties })
    }

    pub(crate) fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        if self.qos == QoS::AtMostOnce && self.dup {
            return Err(EncodeError::DupOnQos0);
        }
        let v5 = version == ProtocolVersion::V5;
        let none = Properties::default();
        check_topic(&self.topic, if v5 { &self.properties } else { &none })?;
        put_string(out, &self.topic)?;
        match (self.qos, self.packet_id) {
            (QoS::AtMostOnce, 0) => {}
            (QoS::AtMostOnce, _) => return Err(EncodeError::PacketIdOnQos0),
            (_, 0) => return Err(EncodeError::ZeroPacketId),
            (_, id) => out.put_u16(id),
        }
        write_props(out, v5, &self.properties, PUBLISH_CTX)?;
        out.extend_from_slice(&self.payload);
        Ok(())
    }
}

/// A topic name has no wildcards and is non-empty unless a topic alias stands for it.
fn check_topic(topic: &str, props: &Properties) -> Result<(), EncodeError> {
    let wildcard = topic.contains(['+', '#']);
    let empty = topic.is_empty() && props.topic_alias.is_none();
    if wildcard || empty { Err(EncodeError::InvalidTopic) } else { Ok(()) }
}

/// Reads a packet identifier that must not be zero.
pub(crate) fn nonzero_id(r: &mut Reader) -> Result<u16, DecodeError> {
    match r.u16()? {
        0 => Err(DecodeError::ZeroPacketId),
        id => Ok(id),
    }
}

/// Writes a packet identifier that must not be zero.
pub(crate) fn put_nonzero_id(out: &mut BytesMut, id: u16) -> Result<(), EncodeError> {
    if id == 0 {
        return Err(EncodeError::ZeroPacketId);
    }
    out.put_u16(id);
    Ok(())
}

impl Ack {
    pub(crate) fn decode(kind: PacketKind, r: &mut Reader, version: ProtocolVersion) -> Result<Self, DecodeError> {
        let packet_id = nonzero_id(r)?;
        let mut ack = Self { packet_id, ..Self::default() };
        if version == ProtocolVersion::V5 {
            if !r.is_empty() {
                ack.reason = ReasonCode::decode_for(r.u8()?, kind)?;
            }
            if !r.is_empty() {
                ack.properties = read_props(r, true, Ctx::Packet(kind))?;
            }
        }
        r.finish()?;
        Ok(ack)
    }

    pub(crate) fn encode(
        &self,
        kind: PacketKind,
        version: ProtocolVersion,
        out: &mut BytesMut,
    ) -> Result<(), EncodeError> {
        put_nonzero_id(out, self.packet_id)?;
        if version == ProtocolVersion::V311 {
            return Ok(());
        }
        let code = self.reason.check_for(kind)?;
        encode_reason_tail(code, &self.properties, Ctx::Packet(kind), out)
    }
}

/// Writes an MQTT 5 reason code and properties, leaving out what the
/// defaults make implicit (success, no properties).
pub(crate) fn encode_reason_tail(
    code: u8,
    props: &Properties,
    ctx: Ctx,
    out: &mut BytesMut,
) -> Result<(), EncodeError> {
    if props.is_empty() {
        if code != 0 {
            out.put_u8(code);
        }
        return Ok(());
    }
    out.put_u8(code);
    write_props(out, true, props, ctx)
}
