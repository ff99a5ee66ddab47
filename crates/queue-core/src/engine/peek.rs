//! `peek`: a queue's first ready messages, read and left in place. Unlike
//! `get` (AMQP's `basic.get`, which takes a message and, requeued, marks it
//! redelivered), a peek changes nothing: no delivery is counted, no
//! message moves, and the next consumer sees the messages as if no one had
//! looked. What a peeker may not read (per the ACL) is left out, not dropped.

use super::{ConnId, Engine};
use crate::error::EngineError;
use crate::message::Payload;
use crate::protocol::{MAX_PEEK, PEEK_PAYLOAD_BYTES, PeekedMessage, ServerFrame};
use crate::topic::shorten;

impl Engine {
    /// Answers `peek` with up to `limit` (at most [`MAX_PEEK`]) ready
    /// messages of queue `name`, each payload cut at [`PEEK_PAYLOAD_BYTES`].
    /// Costs O(limit) plus the messages skipped as expired or withheld.
    pub(super) fn peek(&mut self, conn: ConnId, id: u64, name: &str, limit: u32) -> Result<(), EngineError> {
        let qid = *self.names.get(name).ok_or_else(|| EngineError::QueueNotFound(shorten(name)))?;
        let (Some(q), Some(c)) = (self.queues.get(&qid), self.conns.get(&conn)) else { return Ok(()) };
        let own = q.owner == Some(conn);
        let acl = self.acl.as_deref();
        let messages = q
            .ready
            .iter()
            .filter(|e| !Self::withholds(acl, c, own, &e.message.topic))
            .take(limit.min(MAX_PEEK) as usize)
            .map(|e| {
                let (payload, truncated) = cut(&e.message.payload, PEEK_PAYLOAD_BYTES);
                PeekedMessage {
                    message_id: e.message.id,
                    topic: e.message.topic.clone(),
                    payload,
                    bytes: e.message.payload.len() as u64,
                    truncated,
                    headers: e.message.headers.clone(),
                    published_at: e.message.published_at,
                    delivery_count: e.delivery_count,
                    expires_at: e.expires_at,
                }
            })
            .collect();
        let reply = ServerFrame::Peeked { id, queue: q.name.to_string(), ready: q.ready.len() as u64, messages };
        self.send(conn, reply);
        Ok(())
    }
}

/// `payload`'s first `max` bytes (fewer, to end on a character of a text
/// payload), shared, not copied; and whether it was cut.
fn cut(payload: &Payload, max: usize) -> (Payload, bool) {
    if payload.len() <= max {
        return (payload.clone(), false);
    }
    let mut end = max;
    if let Some(text) = payload.as_str() {
        while !text.is_char_boundary(end) {
            end -= 1;
        }
    }
    (Payload(payload.0.slice(..end)), true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_cut_on_a_character_and_binary_on_the_byte() {
        let text = Payload::from("é".repeat(3));
        let (cut_text, truncated) = cut(&text, 3);
        assert_eq!((cut_text.as_str(), truncated), (Some("é"), true));
        let binary = Payload::from(vec![0xff; 10]);
        assert_eq!(cut(&binary, 4).0.len(), 4);
        assert_eq!(cut(&binary, 10), (binary.clone(), false));
    }
}
