//! Writing packets to an MQTT peer.

use bytes::BytesMut;
use mqtt_codec::{Packet, ProtocolVersion, encode};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// Encodes and writes one packet, flushing it.
pub async fn write_packet<S: AsyncWrite + Unpin>(
    stream: &mut S,
    packet: &Packet,
    version: ProtocolVersion,
) -> std::io::Result<()> {
    let mut out = BytesMut::new();
    append(&mut out, packet, version, u32::MAX);
    stream.write_all(&out).await?;
    stream.flush().await
}

/// Appends `packet` to `out` unless it cannot be encoded or is larger than
/// `peer_max` (the client's maximum packet size: MQTT 5 says such a packet
/// is not sent). Returns whether it was appended.
pub fn append(out: &mut BytesMut, packet: &Packet, version: ProtocolVersion, peer_max: u32) -> bool {
    let before = out.len();
    if let Err(err) = encode(packet, version, out) {
        tracing::warn!(%err, kind = ?packet.kind(), "cannot encode packet");
        return false;
    }
    if (out.len() - before) as u64 > u64::from(peer_max) {
        out.truncate(before);
        return false;
    }
    true
}
