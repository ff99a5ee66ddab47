//! Writing a property list, refusing properties the packet cannot carry.

use super::{Ctx, Properties, allowed};
use crate::error::EncodeError;
use crate::primitives::{MAX_VARINT, put_binary, put_string, put_varint};
use crate::types::{PacketKind, QoS};
use bytes::{BufMut, BytesMut};

/// Writes `props` as a length-prefixed property list for `ctx`.
pub(crate) fn encode(props: &Properties, ctx: Ctx, out: &mut BytesMut) -> Result<(), EncodeError> {
    if props.is_empty() {
        out.put_u8(0);
        return Ok(());
    }
    let mut w = Writer { out: BytesMut::new(), ctx };
    write_message_props(props, &mut w)?;
    write_session_props(props, &mut w)?;
    write_connack_props(props, &mut w)?;
    let len = u32::try_from(w.out.len()).map_err(|_| EncodeError::PacketTooLarge)?;
    put_varint(out, len)?;
    out.extend_from_slice(&w.out);
    Ok(())
}

/// Properties 0x01–0x0B: what travels with an application message.
fn write_message_props(p: &Properties, w: &mut Writer) -> Result<(), EncodeError> {
    if let Some(format) = p.payload_format {
        w.id(0x01)?.put_u8(format as u8);
    }
    w.u32(0x02, p.message_expiry_interval)?;
    w.string(0x03, p.content_type.as_deref())?;
    w.string(0x08, p.response_topic.as_deref())?;
    w.binary(0x09, p.correlation_data.as_deref())?;
    let subscribe = w.ctx == Ctx::Packet(PacketKind::Subscribe);
    if subscribe && p.subscription_identifiers.len() > 1 {
        return Err(EncodeError::InvalidPropertyValue(0x0B));
    }
    for sub_id in &p.subscription_identifiers {
        if sub_id.get() > MAX_VARINT {
            return Err(EncodeError::InvalidPropertyValue(0x0B));
        }
        put_varint(w.id(0x0B)?, sub_id.get())?;
    }
    Ok(())
}

/// Properties 0x11–0x1F: session, authentication and diagnostics.
fn write_session_props(p: &Properties, w: &mut Writer) -> Result<(), EncodeError> {
    w.u32(0x11, p.session_expiry_interval)?;
    w.string(0x12, p.assigned_client_identifier.as_deref())?;
    w.u16(0x13, p.server_keep_alive)?;
    w.string(0x15, p.authentication_method.as_deref())?;
    w.binary(0x16, p.authentication_data.as_deref())?;
    w.flag(0x17, p.request_problem_information)?;
    w.u32(0x18, p.will_delay_interval)?;
    w.flag(0x19, p.request_response_information)?;
    w.string(0x1A, p.response_information.as_deref())?;
    w.string(0x1C, p.server_reference.as_deref())?;
    w.string(0x1F, p.reason_string.as_deref())
}

/// Properties 0x21–0x2A: limits and capabilities (and user properties).
fn write_connack_props(p: &Properties, w: &mut Writer) -> Result<(), EncodeError> {
    w.u16(0x21, p.receive_maximum.map(|v| v.get()))?;
    w.u16(0x22, p.topic_alias_maximum)?;
    w.u16(0x23, p.topic_alias.map(|v| v.get()))?;
    match p.maximum_qos {
        Some(QoS::ExactlyOnce) => return Err(EncodeError::InvalidPropertyValue(0x24)),
        Some(qos) => w.id(0x24)?.put_u8(qos as u8),
        None => {}
    }
    w.flag(0x25, p.retain_available)?;
    for (key, value) in &p.user_properties {
        let out = w.id(0x26)?;
        put_string(out, key)?;
        put_string(out, value)?;
    }
    w.u32(0x27, p.maximum_packet_size.map(|v| v.get()))?;
    w.flag(0x28, p.wildcard_subscription_available)?;
    w.flag(0x29, p.subscription_identifier_available)?;
    w.flag(0x2A, p.shared_subscription_available)
}

/// A property list being written, for one context.
struct Writer {
    out: BytesMut,
    ctx: Ctx,
}

impl Writer {
    /// Writes identifier `id` if the context may carry it; returns the buffer for the value.
    fn id(&mut self, id: u8) -> Result<&mut BytesMut, EncodeError> {
        if !allowed(id, self.ctx) {
            return Err(EncodeError::PropertyNotAllowed { id, packet: self.ctx.name() });
        }
        self.out.put_u8(id);
        Ok(&mut self.out)
    }

    fn u16(&mut self, id: u8, value: Option<u16>) -> Result<(), EncodeError> {
        if let Some(v) = value {
            self.id(id)?.put_u16(v);
        }
        Ok(())
    }

    fn u32(&mut self, id: u8, value: Option<u32>) -> Result<(), EncodeError> {
        if let Some(v) = value {
            self.id(id)?.put_u32(v);
        }
        Ok(())
    }

    fn flag(&mut self, id: u8, value: Option<bool>) -> Result<(), EncodeError> {
        if let Some(v) = value {
            self.id(id)?.put_u8(u8::from(v));
        }
        Ok(())
    }

    fn string(&mut self, id: u8, value: Option<&str>) -> Result<(), EncodeError> {
        match value {
            Some(s) => put_string(self.id(id)?, s),
            None => Ok(()),
        }
    }

    fn binary(&mut self, id: u8, value: Option<&[u8]>) -> Result<(), EncodeError> {
        match value {
            Some(b) => put_binary(self.id(id)?, b),
            None => Ok(()),
        }
    }
}
