//! DISCONNECT and AUTH: a reason code and properties, both optional on the wire.

use crate::error::{DecodeError, EncodeError};
use crate::primitives::Reader;
use crate::properties::{Ctx, Properties, read_props};
use crate::publish::encode_reason_tail;
use crate::reason::ReasonCode;
use crate::types::{PacketKind, ProtocolVersion};
use bytes::BytesMut;

/// An orderly goodbye; in MQTT 5 either side may send it, with a reason.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Disconnect {
    /// Why (MQTT 5; 3.1.1 drops it). `Success` is "normal disconnection".
    pub reason: ReasonCode,
    /// MQTT 5 properties: session expiry, reason string, server reference.
    pub properties: Properties,
}

/// An MQTT 5 enhanced-authentication step.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Auth {
    /// Success, continue authentication, or re-authenticate.
    pub reason: ReasonCode,
    /// Authentication method and data, reason string, user properties.
    pub properties: Properties,
}

/// Reads an optional reason code and optional properties (MQTT 5).
fn decode_tail(kind: PacketKind, r: &mut Reader) -> Result<(ReasonCode, Properties), DecodeError> {
    let mut reason = ReasonCode::Success;
    let mut properties = Properties::default();
    if !r.is_empty() {
        reason = ReasonCode::decode_for(r.u8()?, kind)?;
    }
    if !r.is_empty() {
        properties = read_props(r, true, Ctx::Packet(kind))?;
    }
    r.finish()?;
    Ok((reason, properties))
}

impl Disconnect {
    pub(crate) fn decode(r: &mut Reader, version: ProtocolVersion) -> Result<Self, DecodeError> {
        if version == ProtocolVersion::V311 {
            r.finish()?;
            return Ok(Self::default());
        }
        let (reason, properties) = decode_tail(PacketKind::Disconnect, r)?;
        Ok(Self { reason, properties })
    }

    pub(crate) fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        if version == ProtocolVersion::V311 {
            return Ok(());
        }
        let code = self.reason.check_for(PacketKind::Disconnect)?;
        encode_reason_tail(code, &self.properties, Ctx::Packet(PacketKind::Disconnect), out)
    }
}

impl Auth {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let (reason, properties) = decode_tail(PacketKind::Auth, r)?;
        Ok(Self { reason, properties })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let code = self.reason.check_for(PacketKind::Auth)?;
        encode_reason_tail(code, &self.properties, Ctx::Packet(PacketKind::Auth), out)
    }
}
