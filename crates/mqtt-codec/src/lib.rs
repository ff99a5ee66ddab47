//! MQTT 3.1.1 and 5.0 packets: a pure codec, bytes in, packets out.
//!
//! This crate owns the MQTT wire format: every control packet of both
//! versions as typed values ([`Packet`]), MQTT 5 properties
//! ([`Properties`]) and reason codes ([`ReasonCode`]), and the rules a
//! packet must follow to be well-formed, each broken rule reported as a
//! [`DecodeError`] that names the reason code to close the connection with.
//! It never does IO, keeps no session state and never panics on what a peer
//! sends: sockets, keep-alive, topic aliases and flow control belong to the
//! broker that drives it. It builds for `wasm32-unknown-unknown`.
//!
//! # Driving it
//!
//! Append whatever bytes arrive to a [`BytesMut`](bytes::BytesMut) and call
//! [`decode`] until it returns `Ok(None)` (a partial packet: wait for more).
//! The first packet of a connection is a CONNECT, which carries its own
//! version; use [`Connect::protocol`] for the rest of the connection.
//! [`encode`] appends a packet for a given version.
//!
//! ```
//! use bytes::BytesMut;
//! use mqtt_codec::{decode, encode, Packet, ProtocolVersion, Publish, QoS};
//!
//! let v5 = ProtocolVersion::V5;
//! let publish = Packet::Publish(Publish {
//!     qos: QoS::AtLeastOnce,
//!     topic: "home/hall/door/lock".into(),
//!     packet_id: 7,
//!     payload: "locked".into(),
//!     ..Publish::default()
//! });
//! let mut wire = BytesMut::new();
//! encode(&publish, v5, &mut wire).unwrap();
//!
//! // Bytes arrive in pieces: a partial packet is not an error.
//! let mut inbox = BytesMut::from(&wire[..5]);
//! assert_eq!(decode(&mut inbox, v5, 1 << 20), Ok(None));
//! inbox.extend_from_slice(&wire[5..]);
//! assert_eq!(decode(&mut inbox, v5, 1 << 20), Ok(Some(publish)));
//! assert!(inbox.is_empty());
//!
//! // Broken input names the reason code to disconnect with.
//! let mut bad = BytesMut::from(&[0x36u8, 0x00][..]); // PUBLISH with QoS 3
//! let err = decode(&mut bad, v5, 1 << 20).unwrap_err();
//! assert_eq!(err.reason_code() as u8, 0x81); // malformed packet
//! ```

mod codec;
mod connect;
mod control;
mod error;
mod packet;
mod primitives;
mod properties;
mod publish;
mod reason;
mod subscribe;
mod types;

pub use codec::{connect_protocol_level, decode, encode};
pub use connect::{ConnAck, Connect, Will};
pub use control::{Auth, Disconnect};
pub use error::{DecodeError, EncodeError};
pub use packet::Packet;
pub use primitives::MAX_VARINT;
pub use properties::{PayloadFormat, Properties, PropertyFields};
pub use publish::{Ack, Publish};
pub use reason::ReasonCode;
pub use subscribe::{RetainHandling, SubAck, Subscribe, Subscription, SubscriptionOptions, UnsubAck, Unsubscribe};
pub use types::{PacketKind, ProtocolVersion, QoS};
