//! AMQP 0-9-1 frames over a byte stream, with `amq-protocol` as the codec:
//! a frame's size is read from its header and checked against the
//! negotiated maximum **before** anything is parsed or buffered past it,
//! so a peer cannot make the broker hold more than one frame of its own
//! choosing.

use amq_protocol::frame::{AMQPFrame, WriteContext, gen_frame, parse_frame};
use bytes::{Buf, BytesMut};

/// The protocol header a 0-9-1 client opens with.
pub const PROTOCOL_HEADER: &[u8; 8] = b"AMQP\x00\x00\x09\x01";

/// Bytes around a frame's payload: type, channel, size, and the end octet.
pub const OVERHEAD: usize = 8;

/// Why the bytes read are not a frame.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// Larger than the negotiated frame-max (AMQP 501 FRAME_ERROR).
    #[error("a frame of {size} bytes is larger than the negotiated frame-max of {max}")]
    TooLarge {
        /// Its size, header included.
        size: usize,
        /// The maximum.
        max: usize,
    },
    /// Not a frame type of 0-9-1 (AMQP 501 FRAME_ERROR).
    #[error("unknown frame type {0}")]
    UnknownType(u8),
    /// The frame does not end with 0xCE (AMQP 501 FRAME_ERROR).
    #[error("the frame does not end with the frame-end octet")]
    NoFrameEnd,
    /// The payload does not parse as what the type says (AMQP 502 SYNTAX_ERROR).
    #[error("a {kind} frame that does not parse")]
    Syntax {
        /// Method, header or body.
        kind: &'static str,
    },
}

impl FrameError {
    /// The AMQP reply code for closing the connection over it.
    pub fn reply_code(&self) -> u16 {
        match self {
            Self::Syntax { .. } => 502,
            _ => 501,
        }
    }
}

/// Takes one complete frame from the front of `buf` (`Ok(None)`: not all
/// of it is there yet). `max` bounds a frame's size, header included.
pub fn decode(buf: &mut BytesMut, max: usize) -> Result<Option<AMQPFrame>, FrameError> {
    if buf.len() < 7 {
        return Ok(None);
    }
    let kind = buf[0];
    let kind_name = match kind {
        1 => "method",
        2 => "header",
        3 => "body",
        8 => "heartbeat",
        other => return Err(FrameError::UnknownType(other)),
    };
    let payload = u32::from_be_bytes([buf[3], buf[4], buf[5], buf[6]]) as usize;
    let size = payload.saturating_add(OVERHEAD);
    if size > max {
        return Err(FrameError::TooLarge { size, max });
    }
    if buf.len() < size {
        buf.reserve(size - buf.len());
        return Ok(None);
    }
    if buf[size - 1] != 0xCE {
        return Err(FrameError::NoFrameEnd);
    }
    let parsed = parse_frame(&buf[..size]).map(|(_, frame)| frame);
    buf.advance(size);
    parsed.map(Some).map_err(|_| FrameError::Syntax { kind: kind_name })
}

/// Appends `frame`'s bytes to `out`.
pub fn encode(frame: &AMQPFrame, out: &mut Vec<u8>) {
    let buffer = std::mem::take(out);
    match gen_frame(frame)(WriteContext::from(buffer)) {
        Ok(context) => *out = context.write,
        // Only a writer that runs out of room fails, and a Vec does not.
        Err(err) => tracing::error!(%err, "cannot encode an AMQP frame"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use amq_protocol::protocol::{AMQPClass, channel};

    fn bytes_of(frame: &AMQPFrame) -> Vec<u8> {
        let mut out = Vec::new();
        encode(frame, &mut out);
        out
    }

    #[test]
    fn a_frame_decodes_once_whole_and_leaves_what_follows() {
        let open = AMQPFrame::Method(1, AMQPClass::Channel(channel::AMQPMethod::Open(channel::Open {})));
        let mut wire = bytes_of(&open);
        wire.extend(bytes_of(&AMQPFrame::Heartbeat));
        let mut buf = BytesMut::new();
        for (i, byte) in wire.iter().enumerate() {
            buf.extend_from_slice(&[*byte]);
            let got = decode(&mut buf, 4096).expect("valid");
            if i + 1 == wire.len() - 8 {
                assert_eq!(got, Some(open.clone()));
            } else if i + 1 == wire.len() {
                assert_eq!(got, Some(AMQPFrame::Heartbeat));
            } else {
                assert_eq!(got, None, "at byte {i}");
            }
        }
        assert!(buf.is_empty());
    }

    #[test]
    fn an_oversized_frame_is_refused_from_its_header_alone() {
        // A header announcing 4 GiB: refused before any of it is read.
        let mut buf = BytesMut::from(&[3u8, 0, 1, 0xFF, 0xFF, 0xFF, 0xFF][..]);
        let err = decode(&mut buf, 131_072).expect_err("too large");
        assert_eq!(err, FrameError::TooLarge { size: 0xFFFF_FFFF + 8, max: 131_072 });
        assert_eq!(err.reply_code(), 501);
        assert!(buf.capacity() < 1024, "nothing reserved for it");
    }

    #[test]
    fn bad_types_ends_and_payloads_get_their_codes() {
        let mut buf = BytesMut::from(&[9u8, 0, 0, 0, 0, 0, 0, 0xCE][..]);
        assert_eq!(decode(&mut buf, 4096), Err(FrameError::UnknownType(9)));
        let mut buf = BytesMut::from(&[8u8, 0, 0, 0, 0, 0, 0, 0xAA][..]);
        assert_eq!(decode(&mut buf, 4096), Err(FrameError::NoFrameEnd));
        // A method frame whose class and method do not exist.
        let mut buf = BytesMut::from(&[1u8, 0, 1, 0, 0, 0, 4, 0x77, 0x77, 0, 1, 0xCE][..]);
        let err = decode(&mut buf, 4096).expect_err("no such method");
        assert_eq!(err.reply_code(), 502);
    }
}
