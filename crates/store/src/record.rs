//! What the log holds: one [`Record`] per change, framed with its length
//! and a CRC-32 so that a torn or damaged tail is found, never trusted.
//!
//! A frame is `[body length: u32 LE][crc32 of body: u32 LE][body]`; the
//! body starts with a tag byte. Integers are little-endian, strings and
//! byte strings are prefixed with their length as a u32.

use bytes::Bytes;
use queue_core::{Headers, Message, Payload, QueueOptions, SharedHeaders};
use std::sync::Arc;

/// Bytes of a frame's head: length and checksum.
pub const FRAME_HEAD: usize = 8;

/// The largest body a frame may claim; longer is damage, not data.
pub const MAX_BODY: usize = 256 << 20;

/// One change, as the log keeps it.
#[derive(Debug, Clone, PartialEq)]
pub enum Record {
    /// A durable queue, or its new options.
    Declare {
        /// Name.
        queue: Arc<str>,
        /// Options.
        options: QueueOptions,
    },
    /// A queue and everything in it is gone.
    DeleteQueue {
        /// Name.
        queue: Arc<str>,
    },
    /// A binding of a queue.
    Bind {
        /// Queue.
        queue: Arc<str>,
        /// Topic filter.
        filter: String,
    },
    /// A binding removed.
    Unbind {
        /// Queue.
        queue: Arc<str>,
        /// Topic filter.
        filter: String,
    },
    /// A message at position `seq` of a queue.
    Append {
        /// Queue.
        queue: Arc<str>,
        /// Position.
        seq: u64,
        /// Deliveries before this record was written (non-zero when
        /// compaction copies a message forward).
        delivery_count: u32,
        /// When it entered the queue.
        enqueued_at: u64,
        /// The message.
        message: Arc<Message>,
    },
    /// A message left a queue.
    Remove {
        /// Queue.
        queue: Arc<str>,
        /// Position.
        seq: u64,
    },
    /// A message was delivered once more.
    Delivered {
        /// Queue.
        queue: Arc<str>,
        /// Position.
        seq: u64,
    },
    /// A topic's retained message.
    Retain {
        /// The message.
        message: Arc<Message>,
    },
    /// A topic's retained message cleared.
    Unretain {
        /// Topic.
        topic: Arc<str>,
    },
    /// A value the broker keeps under a key (MQTT sessions, delayed wills).
    Put {
        /// Key.
        key: String,
        /// Value.
        value: Vec<u8>,
    },
    /// A key removed.
    Delete {
        /// Key.
        key: String,
    },
    /// Message ids below this were given out: go on from here.
    NextId {
        /// The id.
        id: u64,
    },
}

const DECLARE: u8 = 1;
const DELETE_QUEUE: u8 = 2;
const BIND: u8 = 3;
const UNBIND: u8 = 4;
const APPEND: u8 = 5;
const REMOVE: u8 = 6;
const DELIVERED: u8 = 7;
const RETAIN: u8 = 8;
const UNRETAIN: u8 = 9;
const PUT: u8 = 10;
const DELETE: u8 = 11;
const NEXT_ID: u8 = 12;

impl Record {
    /// Appends this record's frame to `out`; returns the frame's length.
    pub fn encode(&self, out: &mut Vec<u8>) -> usize {
        let start = out.len();
        out.extend_from_slice(&[0; FRAME_HEAD]);
        let mut w = Writer(out);
        match self {
            Self::Declare { queue, options } => {
                w.u8(DECLARE);
                w.str(queue);
                w.bytes(&serde_json::to_vec(options).unwrap_or_default());
            }
            Self::DeleteQueue { queue } => {
                w.u8(DELETE_QUEUE);
                w.str(queue);
            }
            Self::Bind { queue, filter } | Self::Unbind { queue, filter } => {
                w.u8(if matches!(self, Self::Bind { .. }) { BIND } else { UNBIND });
                w.str(queue);
                w.str(filter);
            }
            Self::Append { queue, seq, delivery_count, enqueued_at, message } => {
                w.u8(APPEND);
                w.str(queue);
                w.u64(*seq);
                w.u32(*delivery_count);
                w.u64(*enqueued_at);
                w.message(message);
            }
            Self::Remove { queue, seq } | Self::Delivered { queue, seq } => {
                w.u8(if matches!(self, Self::Remove { .. }) { REMOVE } else { DELIVERED });
                w.str(queue);
                w.u64(*seq);
            }
            Self::Retain { message } => {
                w.u8(RETAIN);
                w.message(message);
            }
            Self::Unretain { topic } => {
                w.u8(UNRETAIN);
                w.str(topic);
            }
            Self::Put { key, value } => {
                w.u8(PUT);
                w.str(key);
                w.bytes(value);
            }
            Self::Delete { key } => {
                w.u8(DELETE);
                w.str(key);
            }
            Self::NextId { id } => {
                w.u8(NEXT_ID);
                w.u64(*id);
            }
        }
        let body = &out[start + FRAME_HEAD..];
        let len = u32::try_from(body.len()).unwrap_or(u32::MAX);
        let crc = crc32fast::hash(body);
        out[start..start + 4].copy_from_slice(&len.to_le_bytes());
        out[start + 4..start + 8].copy_from_slice(&crc.to_le_bytes());
        out.len() - start
    }

    /// Decodes one record body (its checksum already verified); `None` if
    /// it does not parse.
    pub fn decode(body: &[u8]) -> Option<Self> {
        let mut r = Reader(body);
        let record = match r.u8()? {
            DECLARE => {
                let queue = r.str()?.into();
                let options = serde_json::from_slice(r.bytes()?).ok()?;
                Self::Declare { queue, options }
            }
            DELETE_QUEUE => Self::DeleteQueue { queue: r.str()?.into() },
            BIND => Self::Bind { queue: r.str()?.into(), filter: r.str()?.to_owned() },
            UNBIND => Self::Unbind { queue: r.str()?.into(), filter: r.str()?.to_owned() },
            APPEND => Self::Append {
                queue: r.str()?.into(),
                seq: r.u64()?,
                delivery_count: r.u32()?,
                enqueued_at: r.u64()?,
                message: Arc::new(r.message()?),
            },
            REMOVE => Self::Remove { queue: r.str()?.into(), seq: r.u64()? },
            DELIVERED => Self::Delivered { queue: r.str()?.into(), seq: r.u64()? },
            RETAIN => Self::Retain { message: Arc::new(r.message()?) },
            UNRETAIN => Self::Unretain { topic: r.str()?.into() },
            PUT => Self::Put { key: r.str()?.to_owned(), value: r.bytes()?.to_vec() },
            DELETE => Self::Delete { key: r.str()?.to_owned() },
            NEXT_ID => Self::NextId { id: r.u64()? },
            _ => return None,
        };
        r.0.is_empty().then_some(record)
    }
}

/// What reading a frame at the start of `data` found.
#[derive(Debug, PartialEq)]
pub enum Frame<'a> {
    /// A whole frame whose checksum holds: its body and its length.
    Body(&'a [u8], usize),
    /// Nothing more: `data` is empty.
    End,
    /// A frame cut short, or one whose length or checksum is wrong.
    Damaged,
}

/// Reads the frame at the start of `data`.
pub fn read_frame(data: &[u8]) -> Frame<'_> {
    if data.is_empty() {
        return Frame::End;
    }
    let Some(head) = data.get(..FRAME_HEAD) else { return Frame::Damaged };
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if len == 0 || len > MAX_BODY {
        return Frame::Damaged;
    }
    match data.get(FRAME_HEAD..FRAME_HEAD + len) {
        Some(body) if crc32fast::hash(body) == crc => Frame::Body(body, FRAME_HEAD + len),
        _ => Frame::Damaged,
    }
}

struct Writer<'a>(&'a mut Vec<u8>);

impl Writer<'_> {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, v: &[u8]) {
        self.u32(u32::try_from(v.len()).unwrap_or(u32::MAX));
        self.0.extend_from_slice(v);
    }
    fn str(&mut self, v: &str) {
        self.bytes(v.as_bytes());
    }
    fn message(&mut self, m: &Message) {
        self.u64(m.id);
        self.str(&m.topic);
        self.bytes(m.payload.as_bytes());
        self.u64(m.published_at);
        match m.ttl_ms {
            Some(ttl) => {
                self.u8(1);
                self.u64(ttl);
            }
            None => self.u8(0),
        }
        self.u32(u32::try_from(m.headers.len()).unwrap_or(u32::MAX));
        for (k, v) in m.headers.iter() {
            self.str(k);
            self.str(v);
        }
    }
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        let (head, rest) = self.0.split_at_checked(n)?;
        self.0 = rest;
        Some(head)
    }
    fn u8(&mut self) -> Option<u8> {
        Some(self.take(1)?[0])
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let len = self.u32()? as usize;
        self.take(len)
    }
    fn str(&mut self) -> Option<&'a str> {
        std::str::from_utf8(self.bytes()?).ok()
    }
    fn message(&mut self) -> Option<Message> {
        let id = self.u64()?;
        let topic = self.str()?.into();
        let payload = Payload(Bytes::copy_from_slice(self.bytes()?));
        let published_at = self.u64()?;
        let ttl_ms = match self.u8()? {
            0 => None,
            1 => Some(self.u64()?),
            _ => return None,
        };
        let count = self.u32()? as usize;
        let mut headers = Headers::new();
        for _ in 0..count {
            let key = self.str()?.to_owned();
            headers.insert(key, self.str()?.to_owned());
        }
        let headers = if headers.is_empty() { SharedHeaders::default() } else { SharedHeaders::new(headers) };
        Some(Message { id, topic, payload, headers, published_at, ttl_ms })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message() -> Arc<Message> {
        let mut headers = Headers::new();
        headers.insert("content-type".into(), "text/plain".into());
        Arc::new(Message {
            id: 42,
            topic: "home/hall/door".into(),
            payload: Payload::from("locked"),
            headers: SharedHeaders::new(headers),
            published_at: 1_700_000_000_000,
            ttl_ms: Some(60_000),
        })
    }

    fn every_kind() -> Vec<Record> {
        let queue: Arc<str> = "orders".into();
        let options = QueueOptions { durable: true, max_length: Some(10), ..QueueOptions::default() };
        vec![
            Record::Declare { queue: queue.clone(), options },
            Record::DeleteQueue { queue: queue.clone() },
            Record::Bind { queue: queue.clone(), filter: "home/#".into() },
            Record::Unbind { queue: queue.clone(), filter: "home/+".into() },
            Record::Append { queue: queue.clone(), seq: 7, delivery_count: 2, enqueued_at: 99, message: message() },
            Record::Remove { queue: queue.clone(), seq: 7 },
            Record::Delivered { queue, seq: u64::MAX },
            Record::Retain { message: message() },
            Record::Unretain { topic: "home/hall/door".into() },
            Record::Put { key: "mqtt/session/a b".into(), value: vec![0, 1, 255] },
            Record::Delete { key: "k".into() },
            Record::NextId { id: u64::MAX },
        ]
    }

    #[test]
    fn every_record_reads_back_as_written() {
        for record in every_kind() {
            let mut out = Vec::new();
            let len = record.encode(&mut out);
            assert_eq!(len, out.len());
            let Frame::Body(body, read) = read_frame(&out) else { panic!("{record:?} did not read back") };
            assert_eq!(read, len);
            assert_eq!(Record::decode(body), Some(record));
        }
    }

    #[test]
    fn a_flipped_bit_or_a_cut_is_damage() {
        let mut out = Vec::new();
        every_kind()[4].encode(&mut out);
        for cut in 1..out.len() {
            assert_eq!(read_frame(&out[..cut]), Frame::Damaged, "cut at {cut}");
        }
        for i in 0..out.len() {
            let mut bad = out.clone();
            bad[i] ^= 0x10;
            assert_eq!(read_frame(&bad), Frame::Damaged, "flip at {i}");
        }
        assert_eq!(read_frame(&[]), Frame::End);
        assert_eq!(read_frame(&[0; 16]), Frame::Damaged, "zeros (a preallocated tail) are not a record");
    }
}
