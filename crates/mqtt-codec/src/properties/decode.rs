//! Reading a property list: length, then identifier/value pairs, each
//! checked against the packet it sits in and for duplicates.

use super::{Ctx, PayloadFormat, Properties, allowed};
use crate::error::DecodeError;
use crate::primitives::Reader;
use crate::types::QoS;
use std::num::{NonZeroU16, NonZeroU32};

/// Reads a length-prefixed property list for `ctx`.
pub(crate) fn decode(r: &mut Reader, ctx: Ctx) -> Result<Properties, DecodeError> {
    let len = r.varint()?;
    let mut body = Reader::new(r.take(len as usize)?);
    let mut props = Properties::default();
    let mut seen = 0u64;
    while !body.is_empty() {
        let id = read_id(&mut body, ctx)?;
        if !ctx.repeatable(id) {
            if seen & (1 << id) != 0 {
                return Err(DecodeError::DuplicateProperty(id));
            }
            seen |= 1 << id;
        }
        read_one(&mut props, id, &mut body)?;
    }
    Ok(props)
}

/// Reads a property identifier and checks `ctx` may carry it.
fn read_id(r: &mut Reader, ctx: Ctx) -> Result<u8, DecodeError> {
    let raw = r.varint()?;
    let not_allowed = |id| DecodeError::PropertyNotAllowed { id, packet: ctx.name() };
    let id = u8::try_from(raw).map_err(|_| not_allowed(0xFF))?;
    if allowed(id, ctx) { Ok(id) } else { Err(not_allowed(id)) }
}

/// Reads the value of property `id` into `p`.
fn read_one(p: &mut Properties, id: u8, r: &mut Reader) -> Result<(), DecodeError> {
    match id {
        0x01 => p.payload_format = Some(payload_format(r.u8()?)?),
        0x02 => p.message_expiry_interval = Some(r.u32()?),
        0x03 => p.content_type = Some(r.string()?),
        0x08 => p.response_topic = Some(r.string()?),
        0x09 => p.correlation_data = Some(r.binary()?),
        0x0B => p.subscription_identifiers.push(nonzero32(id, r.varint()?)?),
        0x11 => p.session_expiry_interval = Some(r.u32()?),
        0x12 => p.assigned_client_identifier = Some(r.string()?),
        0x13 => p.server_keep_alive = Some(r.u16()?),
        0x15 => p.authentication_method = Some(r.string()?),
        0x16 => p.authentication_data = Some(r.binary()?),
        0x17 => p.request_problem_information = Some(flag(id, r)?),
        0x18 => p.will_delay_interval = Some(r.u32()?),
        0x19 => p.request_response_information = Some(flag(id, r)?),
        0x1A => p.response_information = Some(r.string()?),
        0x1C => p.server_reference = Some(r.string()?),
        0x1F => p.reason_string = Some(r.string()?),
        0x21 => p.receive_maximum = Some(nonzero16(id, r.u16()?)?),
        0x22 => p.topic_alias_maximum = Some(r.u16()?),
        0x23 => p.topic_alias = Some(nonzero16(id, r.u16()?)?),
        0x24 => p.maximum_qos = Some(maximum_qos(r.u8()?)?),
        0x25 => p.retain_available = Some(flag(id, r)?),
        0x26 => p.user_properties.push((r.string()?, r.string()?)),
        0x27 => p.maximum_packet_size = Some(nonzero32(id, r.u32()?)?),
        0x28 => p.wildcard_subscription_available = Some(flag(id, r)?),
        0x29 => p.subscription_identifier_available = Some(flag(id, r)?),
        0x2A => p.shared_subscription_available = Some(flag(id, r)?),
        _ => {
            return Err(DecodeError::PropertyNotAllowed { id, packet: "any packet" });
        }
    }
    Ok(())
}

fn payload_format(byte: u8) -> Result<PayloadFormat, DecodeError> {
    match byte {
        0 => Ok(PayloadFormat::Bytes),
        1 => Ok(PayloadFormat::Utf8),
        _ => Err(DecodeError::InvalidPropertyValue(0x01)),
    }
}

fn maximum_qos(byte: u8) -> Result<QoS, DecodeError> {
    match byte {
        0 => Ok(QoS::AtMostOnce),
        1 => Ok(QoS::AtLeastOnce),
        _ => Err(DecodeError::InvalidPropertyValue(0x24)),
    }
}

fn flag(id: u8, r: &mut Reader) -> Result<bool, DecodeError> {
    match r.u8()? {
        0 => Ok(false),
        1 => Ok(true),
        _ => Err(DecodeError::InvalidPropertyValue(id)),
    }
}

fn nonzero16(id: u8, value: u16) -> Result<NonZeroU16, DecodeError> {
    NonZeroU16::new(value).ok_or(DecodeError::InvalidPropertyValue(id))
}

fn nonzero32(id: u8, value: u32) -> Result<NonZeroU32, DecodeError> {
    NonZeroU32::new(value).ok_or(DecodeError::InvalidPropertyValue(id))
}
