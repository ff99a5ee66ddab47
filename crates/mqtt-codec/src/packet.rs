//! The [`Packet`] enum and the dispatch from packet kind to body codec.

use crate::connect::{ConnAck, Connect};
use crate::control::{Auth, Disconnect};
use crate::error::{DecodeError, EncodeError};
use crate::primitives::Reader;
use crate::publish::{Ack, Publish};
use crate::subscribe::{SubAck, Subscribe, UnsubAck, Unsubscribe};
use crate::types::{PacketKind, ProtocolVersion};
use bytes::BytesMut;

/// One MQTT control packet, of either version. Fields that exist only in
/// MQTT 5 (reason codes on acks, properties) are dropped when encoding
/// 3.1.1 and come back as defaults when decoding it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// CONNECT: client opens a session (boxed: it is the largest packet
    /// and the rarest, once per connection).
    Connect(Box<Connect>),
    /// CONNACK: server answers CONNECT.
    ConnAck(ConnAck),
    /// PUBLISH: an application message.
    Publish(Publish),
    /// PUBACK: QoS 1 acknowledgement.
    PubAck(Ack),
    /// PUBREC: QoS 2, received.
    PubRec(Ack),
    /// PUBREL: QoS 2, release.
    PubRel(Ack),
    /// PUBCOMP: QoS 2, complete.
    PubComp(Ack),
    /// SUBSCRIBE: client subscribes.
    Subscribe(Subscribe),
    /// SUBACK: server answers SUBSCRIBE.
    SubAck(SubAck),
    /// UNSUBSCRIBE: client unsubscribes.
    Unsubscribe(Unsubscribe),
    /// UNSUBACK: server answers UNSUBSCRIBE.
    UnsubAck(UnsubAck),
    /// PINGREQ: keep-alive ping.
    PingReq,
    /// PINGRESP: keep-alive pong.
    PingResp,
    /// DISCONNECT: orderly goodbye.
    Disconnect(Disconnect),
    /// AUTH: MQTT 5 enhanced authentication.
    Auth(Auth),
}

impl Packet {
    /// Which of the fifteen packet types this is.
    pub fn kind(&self) -> PacketKind {
        match self {
            Self::Connect(_) => PacketKind::Connect,
            Self::ConnAck(_) => PacketKind::ConnAck,
            Self::Publish(_) => PacketKind::Publish,
            Self::PubAck(_) => PacketKind::PubAck,
            Self::PubRec(_) => PacketKind::PubRec,
            Self::PubRel(_) => PacketKind::PubRel,
            Self::PubComp(_) => PacketKind::PubComp,
            Self::Subscribe(_) => PacketKind::Subscribe,
            Self::SubAck(_) => PacketKind::SubAck,
            Self::Unsubscribe(_) => PacketKind::Unsubscribe,
            Self::UnsubAck(_) => PacketKind::UnsubAck,
            Self::PingReq => PacketKind::PingReq,
            Self::PingResp => PacketKind::PingResp,
            Self::Disconnect(_) => PacketKind::Disconnect,
            Self::Auth(_) => PacketKind::Auth,
        }
    }

    /// The low nibble of the fixed header.
    pub(crate) fn flags(&self) -> u8 {
        match self {
            Self::Publish(publish) => publish.flags(),
            other => other.kind().required_flags().unwrap_or(0),
        }
    }

    /// Decodes a complete body of packet kind `kind`.
    pub(crate) fn decode_body(
        kind: PacketKind,
        flags: u8,
        r: &mut Reader,
        version: ProtocolVersion,
    ) -> Result<Self, DecodeError> {
        use PacketKind as K;
        Ok(match kind {
            K::Connect => Self::Connect(Box::new(Connect::decode(r)?)),
            K::ConnAck => Self::ConnAck(ConnAck::decode(r, version)?),
            K::Publish => Self::Publish(Publish::decode(flags, r, version)?),
            K::PubAck => Self::PubAck(Ack::decode(kind, r, version)?),
            K::PubRec => Self::PubRec(Ack::decode(kind, r, version)?),
            K::PubRel => Self::PubRel(Ack::decode(kind, r, version)?),
            K::PubComp => Self::PubComp(Ack::decode(kind, r, version)?),
            K::Subscribe => Self::Subscribe(Subscribe::decode(r, version)?),
            K::SubAck => Self::SubAck(SubAck::decode(r, version)?),
            K::Unsubscribe => Self::Unsubscribe(Unsubscribe::decode(r, version)?),
            K::UnsubAck => Self::UnsubAck(UnsubAck::decode(r, version)?),
            K::PingReq => r.finish().map(|()| Self::PingReq)?,
            K::PingResp => r.finish().map(|()| Self::PingResp)?,
            K::Disconnect => Self::Disconnect(Disconnect::decode(r, version)?),
            K::Auth => Self::Auth(Auth::decode(r)?),
        })
    }

    /// Encodes the variable header and payload (everything after the remaining length).
    pub(crate) fn encode_body(&self, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
        let kind = self.kind();
        match self {
            Self::Connect(connect) => connect.encode(out),
            Self::ConnAck(connack) => connack.encode(version, out),
            Self::Publish(publish) => publish.encode(version, out),
            Self::PubAck(ack) | Self::PubRec(ack) | Self::PubRel(ack) | Self::PubComp(ack) => {
                ack.encode(kind, version, out)
            }
            Self::Subscribe(subscribe) => subscribe.encode(version, out),
            Self::SubAck(suback) => suback.encode(version, out),
            Self::Unsubscribe(unsubscribe) => unsubscribe.encode(version, out),
            Self::UnsubAck(unsuback) => unsuback.encode(version, out),
            Self::PingReq | Self::PingResp => Ok(()),
            Self::Disconnect(disconnect) => disconnect.encode(version, out),
            Self::Auth(_) if version == ProtocolVersion::V311 => Err(EncodeError::NotInVersion),
            Self::Auth(auth) => auth.encode(out),
        }
    }
}
