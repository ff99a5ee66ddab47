//! What can go wrong: [`DecodeError`] for bytes a peer sent, [`EncodeError`]
//! for packets the caller built. Each decode error knows the MQTT 5 reason
//! code the broker should close the connection with.

use crate::reason::ReasonCode;
use thiserror::Error;

/// Why incoming bytes are not a valid packet. The connection that sent them
/// should be closed (with a DISCONNECT carrying [`DecodeError::reason_code`]
/// in MQTT 5, or with a CONNACK for [`DecodeError::UnsupportedProtocolVersion`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DecodeError {
    /// A variable byte integer ran past four bytes or was not minimally encoded.
    #[error("malformed variable byte integer")]
    MalformedVarInt,
    /// The whole packet is larger than the maximum packet size the receiver allows.
    #[error("packet of {size} bytes exceeds the maximum of {max}")]
    PacketTooLarge {
        /// Size of the whole packet (fixed header included), in bytes.
        size: u64,
        /// The limit that was given to `decode`.
        max: u32,
    },
    /// The packet type is reserved (0, or 15 = AUTH in MQTT 3.1.1).
    #[error("reserved packet type {0}")]
    ReservedPacketType(u8),
    /// The fixed header's flag bits are not the ones this packet type requires.
    #[error("invalid fixed-header flags {flags:#06b} for packet type {packet_type}")]
    BadFlags {
        /// The packet type (high nibble of the first byte).
        packet_type: u8,
        /// The flags (low nibble of the first byte).
        flags: u8,
    },
    /// A field claims more bytes than the packet holds.
    #[error("packet ends inside a field")]
    UnexpectedEof,
    /// Bytes are left after the last field of a packet that has no payload.
    #[error("unexpected bytes after the last field")]
    TrailingBytes,
    /// A UTF-8 string field is not valid UTF-8.
    #[error("string is not valid UTF-8")]
    InvalidUtf8,
    /// A UTF-8 string field contains U+0000, which MQTT forbids.
    #[error("string contains the null character")]
    NullCharacter,
    /// A QoS field holds 3.
    #[error("QoS 3 is not a QoS")]
    InvalidQos,
    /// A reserved bit (CONNECT flags, CONNACK flags, subscription options) is set.
    #[error("reserved bit set")]
    ReservedBitSet,
    /// A PUBLISH topic name contains `+` or `#`.
    #[error("wildcard in a topic name")]
    WildcardInTopic,
    /// A PUBLISH has an empty topic and (MQTT 5) no topic alias to stand for it.
    #[error("empty topic name without a topic alias")]
    EmptyTopic,
    /// A packet identifier is zero where the protocol requires a non-zero one.
    #[error("packet identifier 0")]
    ZeroPacketId,
    /// A QoS 0 PUBLISH has its DUP flag set.
    #[error("DUP flag set on a QoS 0 PUBLISH")]
    DupOnQos0,
    /// A property that may appear once appears twice.
    #[error("duplicate property {0:#04x}")]
    DuplicateProperty(u8),
    /// A property identifier is unknown or not allowed in this packet.
    #[error("property {id:#04x} not allowed in {packet}")]
    PropertyNotAllowed {
        /// The property identifier.
        id: u8,
        /// The packet (or "Will") it appeared in.
        packet: &'static str,
    },
    /// A property holds a value the protocol forbids (e.g. receive maximum 0).
    #[error("invalid value for property {0:#04x}")]
    InvalidPropertyValue(u8),
    /// A reason code is unknown or not allowed in this packet.
    #[error("reason code {code:#04x} not allowed in {packet}")]
    InvalidReasonCode {
        /// The reason code byte.
        code: u8,
        /// The packet it appeared in.
        packet: &'static str,
    },
    /// The CONNECT's protocol name is neither `MQTT` nor `MQIsdp`.
    #[error("unknown protocol name")]
    BadProtocolName,
    /// The CONNECT asks for a protocol level this codec does not speak (only
    /// 4 = 3.1.1 and 5 = 5.0 are). Refuse it with a CONNACK carrying
    /// [`ReasonCode::UnsupportedProtocolVersion`], encoded as 3.1.1 (return code 1)
    /// for levels below 5 and as 5.0 otherwise, then close.
    #[error("unsupported protocol level {level}")]
    UnsupportedProtocolVersion {
        /// The protocol level byte the client sent.
        level: u8,
    },
    /// An MQTT 3.1.1 CONNECT has the password flag without the user name flag.
    #[error("password without user name")]
    PasswordWithoutUsername,
    /// A SUBSCRIBE or UNSUBSCRIBE carries no topic filter.
    #[error("no topic filters")]
    NoTopicFilters,
    /// The first packet of a connection is not a CONNECT.
    #[error("first packet is not CONNECT")]
    NotConnect,
    /// A subscription's retain-handling option is 3.
    #[error("retain handling 3")]
    InvalidRetainHandling,
}

impl DecodeError {
    /// The MQTT 5 reason code to close the connection with: 0x81 malformed,
    /// 0x82 protocol error, 0x84 unsupported version, 0x90 topic name
    /// invalid, 0x95 packet too large.
    pub fn reason_code(&self) -> ReasonCode {
        use DecodeError::*;
        match self {
            PacketTooLarge { .. } => ReasonCode::PacketTooLarge,
            UnsupportedProtocolVersion { .. } => ReasonCode::UnsupportedProtocolVersion,
            WildcardInTopic => ReasonCode::TopicNameInvalid,
            // Topic alias 0 (MQTT 5 §3.3.2.3.4).
            InvalidPropertyValue(0x23) => ReasonCode::TopicAliasInvalid,
            ZeroPacketId
            | DupOnQos0
            | DuplicateProperty(_)
            | InvalidPropertyValue(_)
            | BadProtocolName
            | EmptyTopic
            | NoTopicFilters
            | NotConnect
            | InvalidRetainHandling => ReasonCode::ProtocolError,
            MalformedVarInt
            | ReservedPacketType(_)
            | BadFlags { .. }
            | UnexpectedEof
            | TrailingBytes
            | InvalidUtf8
            | NullCharacter
            | InvalidQos
            | ReservedBitSet
            | PropertyNotAllowed { .. }
            | InvalidReasonCode { .. }
            | PasswordWithoutUsername => ReasonCode::MalformedPacket,
        }
    }
}

/// Why a packet value cannot be put on the wire. Nothing is written to the
/// output buffer when encoding fails.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EncodeError {
    /// A string or binary field is longer than 65,535 bytes.
    #[error("field of {0} bytes exceeds 65535")]
    FieldTooLong(usize),
    /// A string field contains U+0000.
    #[error("string contains the null character")]
    NullCharacter,
    /// The packet's remaining length exceeds 268,435,455 bytes.
    #[error("packet too large for MQTT")]
    PacketTooLarge,
    /// A QoS 1/2 PUBLISH, or an ack/subscribe, has packet identifier 0.
    #[error("packet identifier 0")]
    ZeroPacketId,
    /// A QoS 0 PUBLISH carries a packet identifier.
    #[error("packet identifier on a QoS 0 PUBLISH")]
    PacketIdOnQos0,
    /// A QoS 0 PUBLISH has DUP set.
    #[error("DUP on a QoS 0 PUBLISH")]
    DupOnQos0,
    /// A PUBLISH topic is empty (without an MQTT 5 topic alias) or holds a wildcard.
    #[error("invalid topic name")]
    InvalidTopic,
    /// A property is set that this packet cannot carry.
    #[error("property {id:#04x} not allowed in {packet}")]
    PropertyNotAllowed {
        /// The property identifier.
        id: u8,
        /// The packet (or "Will").
        packet: &'static str,
    },
    /// A property value cannot be encoded (e.g. maximum QoS 2, or a
    /// subscription identifier over 268,435,455).
    #[error("invalid value for property {0:#04x}")]
    InvalidPropertyValue(u8),
    /// A reason code this packet cannot carry.
    #[error("reason code {code:#04x} not allowed in {packet}")]
    ReasonNotAllowed {
        /// The reason code byte.
        code: u8,
        /// The packet.
        packet: &'static str,
    },
    /// The packet type does not exist in the requested version (AUTH in 3.1.1).
    #[error("packet type not in this protocol version")]
    NotInVersion,
    /// MQTT 3.1.1 cannot send a password without a user name.
    #[error("password without user name")]
    PasswordWithoutUsername,
    /// A SUBSCRIBE or UNSUBSCRIBE without topic filters.
    #[error("no topic filters")]
    NoTopicFilters,
}
