//! The wire's building blocks: variable byte integers, big-endian integers,
//! length-prefixed UTF-8 strings and binary data, read from a [`Reader`] and
//! written by the `put_*` functions.

use crate::error::{DecodeError, EncodeError};
use bytes::{Buf, BufMut, Bytes, BytesMut};

/// The largest value a variable byte integer can hold (four bytes).
pub const MAX_VARINT: u32 = 268_435_455;

/// Parses a variable byte integer at the start of `buf`: `Ok(None)` if `buf`
/// ends before it does, else the value and how many bytes it took.
pub(crate) fn parse_varint(buf: &[u8]) -> Result<Option<(u32, usize)>, DecodeError> {
    let mut value = 0u32;
    for i in 0..4 {
        let Some(&byte) = buf.get(i) else {
            return Ok(None);
        };
        if i > 0 && byte == 0 {
            // A trailing zero group: not the minimal encoding.
            return Err(DecodeError::MalformedVarInt);
        }
        value |= u32::from(byte & 0x7F) << (7 * i);
        if byte & 0x80 == 0 {
            return Ok(Some((value, i + 1)));
        }
    }
    Err(DecodeError::MalformedVarInt)
}

/// How many bytes `value` takes as a variable byte integer.
#[cfg(test)]
pub(crate) fn varint_len(value: u32) -> usize {
    match value {
        0..=127 => 1,
        128..=16_383 => 2,
        16_384..=2_097_151 => 3,
        _ => 4,
    }
}

/// Writes a variable byte integer; values over [`MAX_VARINT`] are refused.
pub(crate) fn put_varint(out: &mut BytesMut, value: u32) -> Result<(), EncodeError> {
    let (bytes, len) = varint_bytes(value)?;
    out.put_slice(&bytes[..len]);
    Ok(())
}

/// A variable byte integer's bytes (the first `len` of them); values over
/// [`MAX_VARINT`] are refused.
pub(crate) fn varint_bytes(value: u32) -> Result<([u8; 4], usize), EncodeError> {
    if value > MAX_VARINT {
        return Err(EncodeError::PacketTooLarge);
    }
    let (mut bytes, mut len, mut rest) = ([0u8; 4], 0, value);
    loop {
        let byte = (rest & 0x7F) as u8;
        rest >>= 7;
        if rest == 0 {
            bytes[len] = byte;
            return Ok((bytes, len + 1));
        }
        bytes[len] = byte | 0x80;
        len += 1;
    }
}

/// Writes a two-byte length prefix and the bytes.
pub(crate) fn put_binary(out: &mut BytesMut, data: &[u8]) -> Result<(), EncodeError> {
    let len = u16::try_from(data.len()).map_err(|_| EncodeError::FieldTooLong(data.len()))?;
    out.put_u16(len);
    out.put_slice(data);
    Ok(())
}

/// Writes an MQTT UTF-8 string (no U+0000, at most 65,535 bytes).
pub(crate) fn put_string(out: &mut BytesMut, s: &str) -> Result<(), EncodeError> {
    if s.contains('\0') {
        return Err(EncodeError::NullCharacter);
    }
    put_binary(out, s.as_bytes())
}

/// A cursor over one complete packet body; every read checks the bounds.
pub(crate) struct Reader {
    buf: Bytes,
}

impl Reader {
    /// Reads from `buf`.
    pub(crate) fn new(buf: Bytes) -> Self {
        Self { buf }
    }

    /// Bytes left to read.
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Whether everything has been read.
    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Fails unless everything has been read.
    pub(crate) fn finish(&self) -> Result<(), DecodeError> {
        if self.is_empty() { Ok(()) } else { Err(DecodeError::TrailingBytes) }
    }

    /// One byte.
    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        self.need(1)?;
        Ok(self.buf.get_u8())
    }

    /// A big-endian two-byte integer.
    pub(crate) fn u16(&mut self) -> Result<u16, DecodeError> {
        self.need(2)?;
        Ok(self.buf.get_u16())
    }

    /// A big-endian four-byte integer.
    pub(crate) fn u32(&mut self) -> Result<u32, DecodeError> {
        self.need(4)?;
        Ok(self.buf.get_u32())
    }

    /// A variable byte integer that must lie wholly inside the body.
    pub(crate) fn varint(&mut self) -> Result<u32, DecodeError> {
        let (value, len) = parse_varint(&self.buf)?.ok_or(DecodeError::UnexpectedEof)?;
        self.buf.advance(len);
        Ok(value)
    }

    /// The next `n` bytes, without copying.
    pub(crate) fn take(&mut self, n: usize) -> Result<Bytes, DecodeError> {
        self.need(n)?;
        Ok(self.buf.split_to(n))
    }

    /// Everything left, without copying.
    pub(crate) fn rest(&mut self) -> Bytes {
        self.buf.split_to(self.buf.len())
    }

    /// Length-prefixed binary data.
    pub(crate) fn binary(&mut self) -> Result<Bytes, DecodeError> {
        let len = self.u16()?;
        self.take(usize::from(len))
    }

    /// A length-prefixed MQTT UTF-8 string.
    pub(crate) fn string(&mut self) -> Result<String, DecodeError> {
        self.string_into(str::to_owned)
    }

    /// A string, made into `T` straight from the packet's bytes.
    pub(crate) fn string_into<T>(&mut self, make: impl FnOnce(&str) -> T) -> Result<T, DecodeError> {
        let raw = self.binary()?;
        let s = std::str::from_utf8(&raw).map_err(|_| DecodeError::InvalidUtf8)?;
        if s.contains('\0') {
            return Err(DecodeError::NullCharacter);
        }
        Ok(make(s))
    }

    fn need(&self, n: usize) -> Result<(), DecodeError> {
        if self.buf.len() < n { Err(DecodeError::UnexpectedEof) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn varint_boundaries_round_trip() {
        for v in [0, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152, MAX_VARINT] {
            let mut out = BytesMut::new();
            put_varint(&mut out, v).expect("in range");
            assert_eq!(out.len(), varint_len(v));
            assert_eq!(parse_varint(&out), Ok(Some((v, out.len()))));
        }
    }

    #[test]
    fn varint_spec_examples() {
        assert_eq!(parse_varint(&[0x00]), Ok(Some((0, 1))));
        assert_eq!(parse_varint(&[0xC1, 0x02]), Ok(Some((321, 2))));
        assert_eq!(parse_varint(&[0xFF, 0xFF, 0xFF, 0x7F]), Ok(Some((MAX_VARINT, 4))));
    }

    #[test]
    fn varint_partial_and_malformed() {
        assert_eq!(parse_varint(&[]), Ok(None));
        assert_eq!(parse_varint(&[0x80, 0x80]), Ok(None));
        assert_eq!(parse_varint(&[0xFF, 0xFF, 0xFF, 0xFF, 0x01]), Err(DecodeError::MalformedVarInt));
        assert_eq!(parse_varint(&[0x80, 0x00]), Err(DecodeError::MalformedVarInt));
        assert!(put_varint(&mut BytesMut::new(), MAX_VARINT + 1).is_err());
    }

    #[test]
    fn strings_are_checked() {
        let mut r = Reader::new(Bytes::from_static(&[0, 2, 0xC3, 0x28]));
        assert_eq!(r.string(), Err(DecodeError::InvalidUtf8));
        let mut r = Reader::new(Bytes::from_static(&[0, 1, 0]));
        assert_eq!(r.string(), Err(DecodeError::NullCharacter));
        let mut r = Reader::new(Bytes::from_static(&[0, 5, b'a']));
        assert_eq!(r.string(), Err(DecodeError::UnexpectedEof));
        assert_eq!(put_string(&mut BytesMut::new(), &"x".repeat(65_536)), Err(EncodeError::FieldTooLong(65_536)));
        assert_eq!(put_string(&mut BytesMut::new(), "a\0"), Err(EncodeError::NullCharacter));
    }
}
