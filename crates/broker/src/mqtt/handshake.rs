//! Opening an MQTT connection: reading the CONNECT, refusing what cannot be
//! served with the right CONNACK, and choosing the client identifier.

use super::io::{linger, write_packet};
use bytes::BytesMut;
use mqtt_codec::{ConnAck, Connect, DecodeError, Packet, ProtocolVersion, ReasonCode, connect_protocol_level, decode};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};

/// Reads the first packet, which must be a CONNECT of a version this broker
/// speaks. A CONNECT of another version or a malformed one is answered with
/// a refusing CONNACK where the protocol has one; `None` means close.
pub async fn read_connect<S>(stream: &mut S, buf: &mut BytesMut, max_packet: u32) -> Option<Box<Connect>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        match connect_protocol_level(buf) {
            Ok(Some(level)) => return finish_connect(stream, buf, level, max_packet).await,
            Ok(None) => {}
            Err(err) => {
                tracing::debug!(%err, "first packet is not a readable CONNECT");
                return None;
            }
        }
        if !matches!(stream.read_buf(buf).await, Ok(n) if n > 0) {
            return None;
        }
    }
}

/// Decodes the CONNECT once its protocol level is known, reading the rest of it.
async fn finish_connect<S>(stream: &mut S, buf: &mut BytesMut, level: u8, max_packet: u32) -> Option<Box<Connect>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let Some(version) = ProtocolVersion::from_level(level) else {
        // Answer in the format the client can read: 5.0's for newer levels, 3.1.1's otherwise.
        let version = if level > 5 { ProtocolVersion::V5 } else { ProtocolVersion::V311 };
        refuse(stream, version, ReasonCode::UnsupportedProtocolVersion).await;
        return None;
    };
    loop {
        match decode(buf, version, max_packet) {
            Ok(Some(Packet::Connect(connect))) => return Some(connect),
            Ok(Some(_)) => return None,
            Ok(None) => {}
            Err(err) => {
                refuse_malformed(stream, version, &err).await;
                return None;
            }
        }
        if !matches!(stream.read_buf(buf).await, Ok(n) if n > 0) {
            return None;
        }
    }
}

async fn refuse_malformed<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    version: ProtocolVersion,
    err: &DecodeError,
) {
    tracing::debug!(%err, "malformed CONNECT");
    // MQTT 3.1.1 has no CONNACK code for a malformed CONNECT: just close.
    if version == ProtocolVersion::V5 {
        refuse(stream, version, err.reason_code()).await;
    }
}

/// Sends a CONNACK refusing the connection with `reason`, and closes so
/// that it arrives ([`linger`]).
pub async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, version: ProtocolVersion, reason: ReasonCode) {
    let connack = ConnAck { session_present: false, reason, properties: Default::default() };
    if write_packet(stream, &Packet::ConnAck(connack), version).await.is_ok() {
        linger(stream).await;
    }
}

/// The client identifier to use, and whether the broker assigned it; or the
/// reason to refuse the CONNECT with.
pub fn client_id(connect: &Connect, conn: u64) -> Result<(String, bool), ReasonCode> {
    let id = &connect.client_id;
    if id.is_empty() {
        // MQTT 3.1.1 allows an empty id only for a clean session.
        if connect.protocol == ProtocolVersion::V311 && !connect.clean_start {
            return Err(ReasonCode::ClientIdentifierNotValid);
        }
        return Ok((format!("hearth-auto-{conn}"), true));
    }
    // Any UTF-8 string is an id (MQTT 3.1.1 and 5 §3.1.3.1; the codec
    // checks the UTF-8 and the 65 535-byte length), but U+0000 is never
    // allowed in one (§1.5.4). The session queue's name is derived from
    // it whatever it holds (`session::queue_name`).
    if id.contains('\0') {
        return Err(ReasonCode::ClientIdentifierNotValid);
    }
    Ok((id.clone(), false))
}
