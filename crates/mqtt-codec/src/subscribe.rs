//! SUBSCRIBE, SUBACK, UNSUBSCRIBE and UNSUBACK: managing subscriptions.

use crate::error::{DecodeError, EncodeError};
use crate::primitives::{Reader, put_string};
use crate::properties::{Ctx, Properties, read_props, write_props};
use crate::publish::{nonzero_id, put_nonzero_id};
use crate::reason::ReasonCode;
use crate::types::{PacketKind, ProtocolVersion, QoS};
use bytes::{BufMut, BytesMut};

/// What to do with retained messages when a subscription is made (MQTT 5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum RetainHandling {
    /// Send retained messages at subscribe time (0).
    #[default]
    SendAtSubscribe = 0,
    /// Send them only if the subscription is new (1).
    SendIfNew = 1,
    /// Never send them (2).
    DoNotSend = 2,
}

/// The options byte of one subscription.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SubscriptionOptions {
    /// Maximum QoS the subscriber wants.
    pub qos: QoS,
    /// MQTT 5: do not deliver the subscriber's own publishes back to it.
    pub no_local: bool,
    /// MQTT 5: keep the RETAIN flag as published when forwarding.
    pub retain_as_published: bool,
    /// MQTT 5: retained messages at subscribe time.
    pub retain_handling: RetainHandling,
}

/// One topic filter and its options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscription {
    /// The topic filter (wildcards allowed; validity is the broker's call).
    pub filter: String,
    /// Its options.
    pub options: SubscriptionOptions,
}

/// A client's request to subscribe to one or more filters.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Subscribe {
    /// Non-zero packet identifier, echoed by SUBACK.
    pub packet_id: u16,
    /// At least one subscription.
    pub subscriptions: Vec<Subscription>,
    /// MQTT 5 properties: subscription identifier, user properties.
    pub properties: Properties,
}

/// The server's answer to SUBSCRIBE: one reason code per subscription.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SubAck {
    /// The SUBSCRIBE being answered.
    pub packet_id: u16,
    /// Granted QoS or failure, in subscription order (3.1.1: failures become 0x80).
    pub reasons: Vec<ReasonCode>,
    /// MQTT 5 properties (ignored when encoding 3.1.1).
    pub properties: Properties,
}

/// A client's request to drop one or more subscriptions.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Unsubscribe {
    /// Non-zero packet identifier, echoed by UNSUBACK.
    pub packet_id: u16,
    /// At least one topic filter.
    pub filters: Vec<String>,
    /// MQTT 5 properties (user properties).
    pub properties: Properties,
}

/// The server's answer to UNSUBSCRIBE.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UnsubAck {
    /// The UNSUBSCRIBE being answered.
    pub packet_id: u16,
    /// MQTT 5: one reason code per filter (3.1.1 has none: empty when decoded, dropped when encoded).
    pub reasons: Vec<ReasonCode>,
    /// MQTT 5 properties (ignored when encoding 3.1.1).
    pub properties: Properties,
}

impl SubscriptionOptions {
    /// The options as MQTT 5's options byte (for keeping them elsewhere).
    pub fn to_byte(&self) -> u8 {
        self.encode(ProtocolVersion::V5)
    }

    /// Options from MQTT 5's options byte.
    pub fn from_byte(byte: u8) -> Result<Self, DecodeError> {
        Self::decode(byte, ProtocolVersion::V5)
    }

    fn decode(byte: u8, version: ProtocolVersion) -> Result<Self, DecodeError> {
        let reserved = match version {
            ProtocolVersion::V311 => 0xFC,
            ProtocolVersion::V5 => 0xC0,
        };
        if byte & reserved != 0 {
            return Err(DecodeError::ReservedBitSet);
        }
        let retain_handling = match (byte >> 4) & 0x03 {
            0 => RetainHandling::SendAtSubscribe,
            1 => RetainHandling::SendIfNew,
            2 => RetainHandling::DoNotSend,
            _ => return Err(DecodeError::InvalidRetainHandling),
        };
        Ok(Self {
            qos: QoS::from_bits(byte & 0x03)?,
            no_local: byte & 0x04 != 0,
            retain_as_published: byte & 0x08 != 0,
            retain_handling,
        })
    }

    fn encode(&self, version: ProtocolVersion) -> u8 {
        let qos = self.qos as u8;
        match version {
            ProtocolVersion::V311 => qos,
            ProtocolVersion::V5 => {
                qos | u8::from(self.no_local) << 2
                    | u8::from(self.retain_as_published) << 3
                    | (self.retain_handling as u8) << 4
            }
        }
    }
}

impl Subscribe {
    pub(crate) fn decode(r: &mut Reader, version: ProtocolVersion) -> Result<Self, DecodeError> {
        let packet_id = nonzero_id(r)?;
        let properties = read_props(r, version == ProtocolVersion::V5, Ctx::Packet(PacketKind::Subscribe))?;
        let mut subscriptions = Vec::new();
        while !r.is_empty() {
            let filter = r.string()?;
            let options = SubscriptionOptions::decode(r.u8()?, version)?;
            subscriptions.push(Subscription { filter, options });
        }
        if subscriptions.is_empty() {
            return Err(DecodeError::NoTopicFilters);
        }
        Ok(Self { packet_id, subscriptions, properties })
    }

    pub(crate) fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        if self.subscriptions.is_empty() {
            return Err(EncodeError::NoTopicFilters);
        }
        put_nonzero_id(out, self.packet_id)?;
        let v5 = version == ProtocolVersion::V5;
        write_props(out, v5, &self.properties, Ctx::Packet(PacketKind::Subscribe))?;
        for sub in &self.subscriptions {
            put_string(out, &sub.filter)?;
            out.put_u8(sub.options.encode(version));
        }
        Ok(())
    }
}

impl SubAck {
    pub(crate) fn decode(r: &mut Reader, version: ProtocolVersion) -> Result<Self, DecodeError> {
        let packet_id = nonzero_id(r)?;
        let v5 = version == ProtocolVersion::V5;
        let properties = read_props(r, v5, Ctx::Packet(PacketKind::SubAck))?;
        let mut reasons = Vec::with_capacity(r.remaining());
        while !r.is_empty() {
            let byte = r.u8()?;
            reasons.push(match version {
                ProtocolVersion::V311 => ReasonCode::from_v311_suback(byte)?,
                ProtocolVersion::V5 => ReasonCode::decode_for(byte, PacketKind::SubAck)?,
            });
        }
        Ok(Self { packet_id, reasons, properties })
    }

    pub(crate) fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        put_nonzero_id(out, self.packet_id)?;
        let v5 = version == ProtocolVersion::V5;
        write_props(out, v5, &self.properties, Ctx::Packet(PacketKind::SubAck))?;
        for reason in &self.reasons {
            out.put_u8(match version {
                ProtocolVersion::V311 => reason.to_v311_suback()?,
                ProtocolVersion::V5 => reason.check_for(PacketKind::SubAck)?,
            });
        }
        Ok(())
    }
}

impl Unsubscribe {
    pub(crate) fn decode(r: &mut Reader, version: ProtocolVersion) -> Result<Self, DecodeError> {
        let packet_id = nonzero_id(r)?;
        let v5 = version == ProtocolVersion::V5;
        let properties = read_props(r, v5, Ctx::Packet(PacketKind::Unsubscribe))?;
        let mut filters = Vec::new();
        while !r.is_empty() {
            filters.push(r.string()?);
        }
        if filters.is_empty() {
            return Err(DecodeError::NoTopicFilters);
        }
        Ok(Self { packet_id, filters, properties })
    }

    pub(crate) fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        if self.filters.is_empty() {
            return Err(EncodeError::NoTopicFilters);
        }
        put_nonzero_id(out, self.packet_id)?;
        let v5 = version == ProtocolVersion::V5;
        write_props(out, v5, &self.properties, Ctx::Packet(PacketKind::Unsubscribe))?;
        self.filters.iter().try_for_each(|filter| put_string(out, filter))
    }
}

impl UnsubAck {
    pub(crate) fn decode(r: &mut Reader, version: ProtocolVersion) -> Result<Self, DecodeError> {
        let packet_id = nonzero_id(r)?;
        let mut ack = Self { packet_id, ..Self::default() };
        if version == ProtocolVersion::V5 {
            ack.properties = read_props(r, true, Ctx::Packet(PacketKind::UnsubAck))?;
            while !r.is_empty() {
                ack.reasons.push(ReasonCode::decode_for(r.u8()?, PacketKind::UnsubAck)?);
            }
        }
        r.finish()?;
        Ok(ack)
    }

    pub(crate) fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        put_nonzero_id(out, self.packet_id)?;
        if version == ProtocolVersion::V311 {
            return Ok(());
        }
        write_props(out, true, &self.properties, Ctx::Packet(PacketKind::UnsubAck))?;
        for reason in &self.reasons {
            out.put_u8(reason.check_for(PacketKind::UnsubAck)?);
        }
        Ok(())
    }
}
