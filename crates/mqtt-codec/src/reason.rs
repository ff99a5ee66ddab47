//! MQTT 5 reason codes, which packet may carry which, and how the few
//! MQTT 3.1.1 return codes map onto them.

use crate::error::{DecodeError, EncodeError};
use crate::types::PacketKind;

macro_rules! reason_codes {
    ($($(#[$doc:meta])* $name:ident = $value:literal,)*) => {
        /// An MQTT 5 reason code. In 3.1.1 only CONNACK and SUBACK carry
        /// codes; they are mapped onto these (see [`ReasonCode::to_v311_connack`]).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
        #[repr(u8)]
        pub enum ReasonCode {
            $($(#[$doc])* $name = $value,)*
        }

        impl ReasonCode {
            /// Every reason code, in wire order.
            pub const ALL: &'static [ReasonCode] = &[$(ReasonCode::$name,)*];

            /// The reason code for a byte, if the byte is one.
            pub fn from_u8(byte: u8) -> Option<Self> {
                match byte {
                    $($value => Some(Self::$name),)*
                    _ => None,
                }
            }
        }
    };
}

reason_codes! {
    /// Success; also "normal disconnection" and "granted QoS 0".
    #[default]
    Success = 0x00,
    /// Subscription granted at QoS 1.
    GrantedQoS1 = 0x01,
    /// Subscription granted at QoS 2.
    GrantedQoS2 = 0x02,
    /// Disconnect, but do publish the will.
    DisconnectWithWillMessage = 0x04,
    /// Accepted, but nobody subscribes to the topic.
    NoMatchingSubscribers = 0x10,
    /// Unsubscribed from a filter that had no subscription.
    NoSubscriptionExisted = 0x11,
    /// Authentication goes on.
    ContinueAuthentication = 0x18,
    /// Start re-authentication.
    ReAuthenticate = 0x19,
    /// Failure, unspecified.
    UnspecifiedError = 0x80,
    /// The packet could not be parsed.
    MalformedPacket = 0x81,
    /// The packet broke a protocol rule.
    ProtocolError = 0x82,
    /// Valid, but this implementation refuses it.
    ImplementationSpecificError = 0x83,
    /// The CONNECT's protocol version is not supported.
    UnsupportedProtocolVersion = 0x84,
    /// The client identifier is not accepted.
    ClientIdentifierNotValid = 0x85,
    /// Wrong user name or password.
    BadUserNameOrPassword = 0x86,
    /// Not authorised.
    NotAuthorized = 0x87,
    /// Server unavailable.
    ServerUnavailable = 0x88,
    /// Server busy.
    ServerBusy = 0x89,
    /// Client banned.
    Banned = 0x8A,
    /// Server shutting down.
    ServerShuttingDown = 0x8B,
    /// Authentication method not supported.
    BadAuthenticationMethod = 0x8C,
    /// No packet within 1.5 × keep-alive.
    KeepAliveTimeout = 0x8D,
    /// Another connection took over the session.
    SessionTakenOver = 0x8E,
    /// Topic filter not accepted.
    TopicFilterInvalid = 0x8F,
    /// Topic name not accepted.
    TopicNameInvalid = 0x90,
    /// Packet identifier already in use.
    PacketIdentifierInUse = 0x91,
    /// Packet identifier not known.
    PacketIdentifierNotFound = 0x92,
    /// More unacknowledged QoS > 0 publishes than receive maximum allows.
    ReceiveMaximumExceeded = 0x93,
    /// Topic alias out of range or unknown.
    TopicAliasInvalid = 0x94,
    /// Packet larger than the maximum packet size.
    PacketTooLarge = 0x95,
    /// Message rate too high.
    MessageRateTooHigh = 0x96,
    /// A quota was exceeded.
    QuotaExceeded = 0x97,
    /// Closed by an administrator.
    AdministrativeAction = 0x98,
    /// Payload does not match its payload format indicator.
    PayloadFormatInvalid = 0x99,
    /// Retained messages not supported.
    RetainNotSupported = 0x9A,
    /// QoS not supported.
    QoSNotSupported = 0x9B,
    /// Use another server (temporarily).
    UseAnotherServer = 0x9C,
    /// Server moved (permanently).
    ServerMoved = 0x9D,
    /// Shared subscriptions not supported.
    SharedSubscriptionsNotSupported = 0x9E,
    /// Connection rate exceeded.
    ConnectionRateExceeded = 0x9F,
    /// Maximum connect time reached.
    MaximumConnectTime = 0xA0,
    /// Subscription identifiers not supported.
    SubscriptionIdentifiersNotSupported = 0xA1,
    /// Wildcard subscriptions not supported.
    WildcardSubscriptionsNotSupported = 0xA2,
}

impl ReasonCode {
    /// "Normal disconnection" (DISCONNECT), the same byte as success.
    pub const NORMAL_DISCONNECTION: Self = Self::Success;
    /// "Granted QoS 0" (SUBACK), the same byte as success.
    pub const GRANTED_QOS_0: Self = Self::Success;

    /// Whether this code reports a failure (0x80 and above).
    pub fn is_error(self) -> bool {
        self as u8 >= 0x80
    }

    /// Whether `kind` may carry this code (MQTT 5 tables in section 3).
    pub fn allowed_in(self, kind: PacketKind) -> bool {
        allowed_bytes(kind).contains(&(self as u8))
    }

    /// Reads a byte as a reason code `kind` may carry.
    pub(crate) fn decode_for(byte: u8, kind: PacketKind) -> Result<Self, DecodeError> {
        Self::from_u8(byte)
            .filter(|code| code.allowed_in(kind))
            .ok_or(DecodeError::InvalidReasonCode { code: byte, packet: kind.name() })
    }

    /// Checks that `kind` may carry this code, for encoding.
    pub(crate) fn check_for(self, kind: PacketKind) -> Result<u8, EncodeError> {
        if self.allowed_in(kind) {
            Ok(self as u8)
        } else {
            Err(EncodeError::ReasonNotAllowed { code: self as u8, packet: kind.name() })
        }
    }

    /// The MQTT 3.1.1 CONNACK return code closest to this one. Lossy: codes
    /// 3.1.1 lacks become 3 (server unavailable), or 5 (not authorised) for
    /// a ban.
    pub fn to_v311_connack(self) -> u8 {
        match self {
            Self::Success => 0,
            Self::UnsupportedProtocolVersion => 1,
            Self::ClientIdentifierNotValid => 2,
            Self::BadUserNameOrPassword => 4,
            Self::NotAuthorized | Self::Banned => 5,
            _ => 3,
        }
    }

    /// The reason code for an MQTT 3.1.1 CONNACK return code (0–5).
    pub fn from_v311_connack(code: u8) -> Result<Self, DecodeError> {
        const MAP: [ReasonCode; 6] = [
            ReasonCode::Success,
            ReasonCode::UnsupportedProtocolVersion,
            ReasonCode::ClientIdentifierNotValid,
            ReasonCode::ServerUnavailable,
            ReasonCode::BadUserNameOrPassword,
            ReasonCode::NotAuthorized,
        ];
        MAP.get(usize::from(code)).copied().ok_or(DecodeError::InvalidReasonCode { code, packet: "CONNACK" })
    }

    /// The MQTT 3.1.1 SUBACK return code: the granted QoS, or 0x80 for any failure.
    pub fn to_v311_suback(self) -> Result<u8, EncodeError> {
        match self {
            Self::Success | Self::GrantedQoS1 | Self::GrantedQoS2 => Ok(self as u8),
            code if code.is_error() => Ok(0x80),
            code => Err(EncodeError::ReasonNotAllowed { code: code as u8, packet: "SUBACK" }),
        }
    }

    /// The reason code for an MQTT 3.1.1 SUBACK return code (0, 1, 2, 0x80).
    pub fn from_v311_suback(code: u8) -> Result<Self, DecodeError> {
        match code {
            0 => Ok(Self::Success),
            1 => Ok(Self::GrantedQoS1),
            2 => Ok(Self::GrantedQoS2),
            0x80 => Ok(Self::UnspecifiedError),
            _ => Err(DecodeError::InvalidReasonCode { code, packet: "SUBACK" }),
        }
    }
}

/// The reason-code bytes each packet may carry (MQTT 5, section 3).
fn allowed_bytes(kind: PacketKind) -> &'static [u8] {
    use PacketKind::*;
    match kind {
        ConnAck => &[
            0x00, 0x80, 0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x8A, 0x8C, 0x90, 0x95, 0x97, 0x99, 0x9A,
            0x9B, 0x9C, 0x9D, 0x9F,
        ],
        PubAck | PubRec => &[0x00, 0x10, 0x80, 0x83, 0x87, 0x90, 0x91, 0x97, 0x99],
        PubRel | PubComp => &[0x00, 0x92],
        SubAck => &[0x00, 0x01, 0x02, 0x80, 0x83, 0x87, 0x8F, 0x91, 0x97, 0x9E, 0xA1, 0xA2],
        UnsubAck => &[0x00, 0x11, 0x80, 0x83, 0x87, 0x8F, 0x91],
        Disconnect => &[
            0x00, 0x04, 0x80, 0x81, 0x82, 0x83, 0x87, 0x89, 0x8B, 0x8D, 0x8E, 0x8F, 0x90, 0x93, 0x94, 0x95, 0x96, 0x97,
            0x98, 0x99, 0x9A, 0x9B, 0x9C, 0x9D, 0x9E, 0x9F, 0xA0, 0xA1, 0xA2,
        ],
        Auth => &[0x00, 0x18, 0x19],
        Connect | Publish | Subscribe | Unsubscribe | PingReq | PingResp => &[],
    }
}
