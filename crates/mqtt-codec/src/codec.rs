//! Framing: the fixed header (type, flags, remaining length), the maximum
//! packet size, and the three entry points [`decode`], [`encode`] and
//! [`connect_protocol_level`].

use crate::connect::peek_level;
use crate::error::{DecodeError, EncodeError};
use crate::packet::Packet;
use crate::primitives::{Reader, parse_varint, varint_bytes};
use crate::types::{PacketKind, ProtocolVersion};
use bytes::{BufMut, BytesMut};

/// A complete fixed header: what the packet is and how long it is.
struct Header {
    kind: PacketKind,
    flags: u8,
    header_len: usize,
    total_len: usize,
}

/// Reads the fixed header at the start of `buf`: `Ok(None)` if more bytes
/// are needed to know the packet's length. Checks type, flags and size.
fn parse_header(buf: &[u8], version: ProtocolVersion, max_packet_size: u32) -> Result<Option<Header>, DecodeError> {
    let Some(&first) = buf.first() else {
        return Ok(None);
    };
    let (type_nibble, flags) = (first >> 4, first & 0x0F);
    let kind = PacketKind::from_type(type_nibble)
        .filter(|k| *k != PacketKind::Auth || version == ProtocolVersion::V5)
        .ok_or(DecodeError::ReservedPacketType(type_nibble))?;
    if kind.required_flags().is_some_and(|required| required != flags) {
        return Err(DecodeError::BadFlags { packet_type: type_nibble, flags });
    }
    let Some((remaining, len_bytes)) = parse_varint(&buf[1..])? else {
        return Ok(None);
    };
    let total = 1 + len_bytes as u64 + u64::from(remaining);
    if total > u64::from(max_packet_size) {
        return Err(DecodeError::PacketTooLarge { size: total, max: max_packet_size });
    }
    Ok(Some(Header { kind, flags, header_len: 1 + len_bytes, total_len: total as usize }))
}

/// Decodes one packet from the front of `buf`, removing its bytes.
///
/// `Ok(None)` means `buf` holds only part of a packet (normal: read more
/// and call again); nothing is consumed. `version` is the connection's
/// version (a CONNECT ignores it: it carries its own). `max_packet_size`
/// bounds the whole packet, fixed header included; an oversize packet is
/// refused as soon as its length is known, before its body arrives.
/// After an error the connection should be closed; `buf` is then unspecified.
pub fn decode(
    buf: &mut BytesMut,
    version: ProtocolVersion,
    max_packet_size: u32,
) -> Result<Option<Packet>, DecodeError> {
    let Some(header) = parse_header(buf, version, max_packet_size)? else {
        return Ok(None);
    };
    if buf.len() < header.total_len {
        return Ok(None);
    }
    let mut frame = buf.split_to(header.total_len).freeze();
    let mut body = Reader::new(frame.split_off(header.header_len));
    Packet::decode_body(header.kind, header.flags, &mut body, version).map(Some)
}

/// Encodes `packet` for a connection speaking `version`, appending to `out`.
///
/// MQTT 5-only fields are dropped for 3.1.1 (AUTH itself is refused). On
/// error nothing is appended. The caller checks the result against the
/// peer's maximum packet size (`out` grew by the packet's size).
///
/// The body is written in place, after room for the longest fixed header
/// (5 bytes); the header then goes just before it and the body moves up to
/// close the gap (at most 3 bytes). No buffer of its own per packet: a
/// broker sending thousands of PUBLISHes a second once spent a sixth of its
/// time allocating, growing and copying those.
pub fn encode(packet: &Packet, version: ProtocolVersion, out: &mut BytesMut) -> Result<(), EncodeError> {
    const ROOM: usize = 5;
    let start = out.len();
    out.put_bytes(0, ROOM);
    let written = packet.encode_body(version, out).and_then(|()| {
        let remaining = u32::try_from(out.len() - start - ROOM).map_err(|_| EncodeError::PacketTooLarge)?;
        varint_bytes(remaining)
    });
    let (varint, varint_len) = match written {
        Ok(varint) => varint,
        Err(err) => {
            out.truncate(start);
            return Err(err);
        }
    };
    let len = 1 + varint_len;
    out[start] = (packet.kind() as u8) << 4 | packet.flags();
    out[start + 1..start + len].copy_from_slice(&varint[..varint_len]);
    let gap = ROOM - len;
    if gap > 0 {
        out.copy_within(start + ROOM.., start + len);
        out.truncate(out.len() - gap);
    }
    Ok(())
}

/// The protocol level a CONNECT at the front of `buf` asks for (4 = 3.1.1,
/// 5 = 5.0, 3 = 3.1), before decoding it: lets a broker pick the version of
/// its refusal. `Ok(None)` if more bytes are needed; an error if the first
/// packet is not a CONNECT or is malformed up to the level byte.
pub fn connect_protocol_level(buf: &[u8]) -> Result<Option<u8>, DecodeError> {
    let Some(header) = parse_header(buf, ProtocolVersion::V5, u32::MAX)? else {
        return Ok(None);
    };
    if header.kind != PacketKind::Connect {
        return Err(DecodeError::NotConnect);
    }
    let end = header.total_len.min(buf.len());
    let mut body = Reader::new(bytes::Bytes::copy_from_slice(&buf[header.header_len..end]));
    match peek_level(&mut body) {
        Ok(level) => Ok(Some(level)),
        Err(DecodeError::UnexpectedEof) if end < header.total_len => Ok(None),
        Err(e) => Err(e),
    }
}
