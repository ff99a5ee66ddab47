//! Writing packets to an MQTT peer, and closing so that the last one arrives.

use crate::outbox::OutboundRx;
use bytes::BytesMut;
use mqtt_codec::{Packet, ProtocolVersion, encode};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// How long a closing connection keeps reading what its peer still sends.
const LINGER: Duration = Duration::from_secs(1);

/// How much of it is read (and discarded) at most.
const LINGER_BYTES: usize = 256 * 1024;

/// Ends a connection after its last packet (a DISCONNECT with a reason, a
/// refusing CONNACK): half-closes it, then reads and discards what the peer
/// still sends until it closes, for at most [`LINGER`] and [`LINGER_BYTES`].
/// Closing with unread input would make the kernel answer with a reset,
/// and a reset can destroy the last packet before the peer reads it: the
/// client would see "connection reset" instead of the reason.
pub async fn linger<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    let _ = stream.flush().await;
    let _ = stream.shutdown().await;
    let drain = async {
        let mut buf = vec![0u8; 4096];
        let mut total = 0;
        while total < LINGER_BYTES {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => return,
                Ok(n) => total += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// Writes and flushes `bytes` unless the connection is cut meanwhile (a
/// slow consumer: its task then ends at once). False if the socket is gone
/// or the connection was cut. Shared by the MQTT and AMQP connection tasks.
pub async fn write_unless_cut<S: AsyncWrite + Unpin>(stream: &mut S, bytes: &[u8], outbound: &OutboundRx) -> bool {
    let write = async { stream.write_all(bytes).await.is_ok() && stream.flush().await.is_ok() };
    tokio::select! {
        ok = write => ok,
        () = outbound.cut_off() => false,
    }
}

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
