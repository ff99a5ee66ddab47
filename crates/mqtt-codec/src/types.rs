//! Small shared vocabulary: protocol versions, QoS levels and packet kinds.

use crate::error::DecodeError;

/// The MQTT version a connection speaks, fixed by its CONNECT.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProtocolVersion {
    /// MQTT 3.1.1 (protocol level 4).
    V311,
    /// MQTT 5.0 (protocol level 5).
    V5,
}

impl ProtocolVersion {
    /// The protocol level byte CONNECT carries for this version.
    pub fn level(self) -> u8 {
        match self {
            Self::V311 => 4,
            Self::V5 => 5,
        }
    }

    /// The version for a CONNECT protocol level, if this codec speaks it.
    pub fn from_level(level: u8) -> Option<Self> {
        match level {
            4 => Some(Self::V311),
            5 => Some(Self::V5),
            _ => None,
        }
    }
}

/// Quality of service: how hard the protocol tries to deliver a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum QoS {
    /// At most once: fire and forget.
    #[default]
    AtMostOnce = 0,
    /// At least once: PUBLISH, PUBACK.
    AtLeastOnce = 1,
    /// Exactly once: PUBLISH, PUBREC, PUBREL, PUBCOMP.
    ExactlyOnce = 2,
}

impl QoS {
    /// The QoS for a two-bit field; 3 is malformed.
    pub fn from_bits(bits: u8) -> Result<Self, DecodeError> {
        match bits {
            0 => Ok(Self::AtMostOnce),
            1 => Ok(Self::AtLeastOnce),
            2 => Ok(Self::ExactlyOnce),
            _ => Err(DecodeError::InvalidQos),
        }
    }
}

/// The fifteen MQTT control packet types, numbered as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PacketKind {
    /// Client asks to connect.
    Connect = 1,
    /// Server answers CONNECT.
    ConnAck = 2,
    /// An application message, either way.
    Publish = 3,
    /// QoS 1 acknowledgement.
    PubAck = 4,
    /// QoS 2, step 1: received.
    PubRec = 5,
    /// QoS 2, step 2: release.
    PubRel = 6,
    /// QoS 2, step 3: complete.
    PubComp = 7,
    /// Client subscribes.
    Subscribe = 8,
    /// Server answers SUBSCRIBE.
    SubAck = 9,
    /// Client unsubscribes.
    Unsubscribe = 10,
    /// Server answers UNSUBSCRIBE.
    UnsubAck = 11,
    /// Keep-alive ping.
    PingReq = 12,
    /// Keep-alive pong.
    PingResp = 13,
    /// Orderly goodbye (either way in MQTT 5).
    Disconnect = 14,
    /// MQTT 5 enhanced authentication exchange.
    Auth = 15,
}

impl PacketKind {
    /// The kind for a fixed-header type nibble (0 is reserved).
    pub fn from_type(nibble: u8) -> Option<Self> {
        use PacketKind::*;
        const ALL: [PacketKind; 15] = [
            Connect,
            ConnAck,
            Publish,
            PubAck,
            PubRec,
            PubRel,
            PubComp,
            Subscribe,
            SubAck,
            Unsubscribe,
            UnsubAck,
            PingReq,
            PingResp,
            Disconnect,
            Auth,
        ];
        ALL.get(usize::from(nibble).checked_sub(1)?).copied()
    }

    /// The packet's name as the specification writes it.
    pub fn name(self) -> &'static str {
        use PacketKind::*;
        match self {
            Connect => "CONNECT",
            ConnAck => "CONNACK",
            Publish => "PUBLISH",
            PubAck => "PUBACK",
            PubRec => "PUBREC",
            PubRel => "PUBREL",
            PubComp => "PUBCOMP",
            Subscribe => "SUBSCRIBE",
            SubAck => "SUBACK",
            Unsubscribe => "UNSUBSCRIBE",
            UnsubAck => "UNSUBACK",
            PingReq => "PINGREQ",
            PingResp => "PINGRESP",
            Disconnect => "DISCONNECT",
            Auth => "AUTH",
        }
    }

    /// The fixed-header flags this kind must carry (PUBLISH's vary: `None`).
    pub fn required_flags(self) -> Option<u8> {
        match self {
            Self::Publish => None,
            Self::PubRel | Self::Subscribe | Self::Unsubscribe => Some(0b0010),
            _ => Some(0),
        }
    }
}
