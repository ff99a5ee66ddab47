//! CONNECT (with its will) and CONNACK: opening a session.

use crate::error::{DecodeError, EncodeError};
use crate::primitives::{Reader, put_binary, put_string};
use crate::properties::{self, Ctx, Properties, read_props, write_props};
use crate::reason::ReasonCode;
use crate::types::{PacketKind, ProtocolVersion, QoS};
use bytes::{BufMut, Bytes, BytesMut};

/// A client's request to open a session. CONNECT names its own protocol
/// version, so it decodes the same whatever version `decode` was given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connect {
    /// The version the client speaks; the rest of the connection uses it.
    pub protocol: ProtocolVersion,
    /// Clean session (3.1.1) / clean start (5.0).
    pub clean_start: bool,
    /// Keep-alive in seconds; 0 turns it off.
    pub keep_alive: u16,
    /// The client identifier; may be empty (the server then assigns one).
    pub client_id: String,
    /// The message to publish if the connection is lost without a DISCONNECT.
    pub will: Option<Will>,
    /// User name, if any.
    pub username: Option<String>,
    /// Password, if any (3.1.1 requires a user name with it).
    pub password: Option<Bytes>,
    /// MQTT 5 properties (ignored when encoding 3.1.1).
    pub properties: Properties,
}

/// A CONNECT's last-will message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Will {
    /// Topic the will is published to.
    pub topic: String,
    /// The will's payload.
    pub payload: Bytes,
    /// QoS to publish it with.
    pub qos: QoS,
    /// Whether it is retained.
    pub retain: bool,
    /// MQTT 5 will properties (will delay, expiry, content type, …).
    pub properties: Properties,
}

/// The server's answer to CONNECT.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnAck {
    /// Whether the server resumed a stored session.
    pub session_present: bool,
    /// Outcome; in 3.1.1 mapped to return codes 0–5 (lossy, see
    /// [`ReasonCode::to_v311_connack`]).
    pub reason: ReasonCode,
    /// MQTT 5 properties (ignored when encoding 3.1.1).
    pub properties: Properties,
}

const NAME: &str = "MQTT";
const LEGACY_NAME: &str = "MQIsdp";

/// Reads the protocol name and level, returning the version.
fn read_version(r: &mut Reader) -> Result<ProtocolVersion, DecodeError> {
    let name = r.string()?;
    let level = r.u8()?;
    if name != NAME && name != LEGACY_NAME {
        return Err(DecodeError::BadProtocolName);
    }
    match ProtocolVersion::from_level(level) {
        Some(version) if name == NAME => Ok(version),
        _ => Err(DecodeError::UnsupportedProtocolVersion { level }),
    }
}

/// Reads the protocol level of a CONNECT body without validating the rest.
pub(crate) fn peek_level(r: &mut Reader) -> Result<u8, DecodeError> {
    r.string()?;
    r.u8()
}

impl Connect {
    pub(crate) fn decode(r: &mut Reader) -> Result<Self, DecodeError> {
        let protocol = read_version(r)?;
        let flags = r.u8()?;
        check_connect_flags(flags, protocol)?;
        let keep_alive = r.u16()?;
        let v5 = protocol == ProtocolVersion::V5;
        let properties = read_props(r, v5, Ctx::Packet(PacketKind::Connect))?;
        let client_id = r.string()?;
        let will = if flags & 0x04 != 0 { Some(Will::decode(r, flags, v5)?) } else { None };
        let username = if flags & 0x80 != 0 { Some(r.string()?) } else { None };
        let password = if flags & 0x40 != 0 { Some(r.binary()?) } else { None };
        r.finish()?;
        let clean_start = flags & 0x02 != 0;
        Ok(Self { protocol, clean_start, keep_alive, client_id, will, username, password, properties })
    }

    pub(crate) fn encode(&self, out: &mut BytesMut) -> Result<(), EncodeError> {
        let v5 = self.protocol == ProtocolVersion::V5;
        if !v5 && self.password.is_some() && self.username.is_none() {
            return Err(EncodeError::PasswordWithoutUsername);
        }
        put_string(out, NAME)?;
        out.put_u8(self.protocol.level());
        out.put_u8(self.flags());
        out.put_u16(self.keep_alive);
        write_props(out, v5, &self.properties, Ctx::Packet(PacketKind::Connect))?;
        put_string(out, &self.client_id)?;
        if let Some(will) = &self.will {
            write_props(out, v5, &will.properties, Ctx::Will)?;
            put_string(out, &will.topic)?;
            put_binary(out, &will.payload)?;
        }
        if let Some(username) = &self.username {
            put_string(out, username)?;
        }
        if let Some(password) = &self.password {
            put_binary(out, password)?;
        }
        Ok(())
    }

    fn flags(&self) -> u8 {
        let mut flags = u8::from(self.clean_start) << 1;
        if let Some(will) = &self.will {
            flags |= 0x04 | (will.qos as u8) << 3 | u8::from(will.retain) << 5;
        }
        flags |= u8::from(self.password.is_some()) << 6;
        flags | u8::from(self.username.is_some()) << 7
    }
}

/// Checks the CONNECT flags byte (section 3.1.2.3).
fn check_connect_flags(flags: u8, protocol: ProtocolVersion) -> Result<(), DecodeError> {
    if flags & 0x01 != 0 {
        return Err(DecodeError::ReservedBitSet);
    }
    let will_qos = QoS::from_bits((flags >> 3) & 0x03)?;
    let has_will = flags & 0x04 != 0;
    if !has_will && (will_qos != QoS::AtMostOnce || flags & 0x20 != 0) {
        return Err(DecodeError::ReservedBitSet);
    }
    let password_alone = flags & 0x40 != 0 && flags & 0x80 == 0;
    if protocol == ProtocolVersion::V311 && password_alone {
        return Err(DecodeError::PasswordWithoutUsername);
    }
    Ok(())
}

impl Will {
    fn decode(r: &mut Reader, flags: u8, v5: bool) -> Result<Self, DecodeError> {
        let properties = read_props(r, v5, Ctx::Will)?;
        let topic = r.string()?;
        let payload = r.binary()?;
        let qos = QoS::from_bits((flags >> 3) & 0x03)?;
        Ok(Self { topic, payload, qos, retain: flags & 0x20 != 0, properties })
    }
}

impl ConnAck {
    pub(crate) fn decode(r: &mut Reader, version: ProtocolVersion) -> Result<Self, DecodeError> {
        let flags = r.u8()?;
        if flags & 0xFE != 0 {
            return Err(DecodeError::ReservedBitSet);
        }
        let code = r.u8()?;
        let (reason, properties) = match version {
            ProtocolVersion::V311 => (ReasonCode::from_v311_connack(code)?, Properties::default()),
            ProtocolVersion::V5 => (
                ReasonCode::decode_for(code, PacketKind::ConnAck)?,
                properties::decode(r, Ctx::Packet(PacketKind::ConnAck))?,
            ),
        };
        r.finish()?;
        Ok(Self { session_present: flags & 0x01 != 0, reason, properties })
    }

    pub(crate) fn encode(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        out.put_u8(u8::from(self.session_present));
        match version {
            ProtocolVersion::V311 => out.put_u8(self.reason.to_v311_connack()),
            ProtocolVersion::V5 => {
                out.put_u8(self.reason.check_for(PacketKind::ConnAck)?);
                properties::encode(&self.properties, Ctx::Packet(PacketKind::ConnAck), out)?;
            }
        }
        Ok(())
    }
}
