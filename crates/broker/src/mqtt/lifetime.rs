//! How long an MQTT session lives, and what that makes its queue.
//!
//! A clean session (3.1.1's clean session, or 5.0's session expiry interval
//! 0) lives as long as its connection: its queue is exclusive and
//! auto-delete. A persistent one outlives it: its queue is neither, and
//! carries the session expiry interval as the engine's
//! [`expires_ms`](queue_core::queue::QueueOptions::expires_ms), so that the
//! engine deletes it once the client has been away that long.

use mqtt_codec::{Connect, ProtocolVersion};
use queue_core::queue::QueueOptions;

/// 5.0's session expiry interval meaning "never expires".
const NEVER: u32 = u32::MAX;

/// How long a session outlives its connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lifetime {
    /// It ends with its connection.
    Transient,
    /// It outlives its connection by this many ms (`None`: for ever).
    Persistent(Option<u64>),
}

impl Lifetime {
    /// The lifetime a CONNECT asks for.
    pub fn of(connect: &Connect) -> Self {
        match connect.protocol {
            ProtocolVersion::V311 if connect.clean_start => Self::Transient,
            ProtocolVersion::V311 => Self::Persistent(None),
            ProtocolVersion::V5 => Self::from_expiry(connect.properties.session_expiry_interval.unwrap_or(0)),
        }
    }

    /// The lifetime an MQTT 5 session expiry interval (seconds) asks for.
    pub fn from_expiry(seconds: u32) -> Self {
        match seconds {
            0 => Self::Transient,
            NEVER => Self::Persistent(None),
            seconds => Self::Persistent(Some(u64::from(seconds) * 1000)),
        }
    }

    /// Whether the session outlives its connection.
    pub fn is_persistent(self) -> bool {
        matches!(self, Self::Persistent(_))
    }

    /// The options of a session queue with this lifetime, bounded by `limits`.
    pub fn queue_options(self, limits: QueueLimits) -> QueueOptions {
        let options = match self {
            Self::Transient => QueueOptions { exclusive: true, auto_delete: true, ..QueueOptions::default() },
            // Durable: kept by the store, so that the session survives a restart.
            Self::Persistent(expires_ms) => QueueOptions { durable: true, expires_ms, ..QueueOptions::default() },
        };
        limits.apply(options)
    }
}

/// The bounds of every queue an MQTT session owns or shares, connected or
/// not (Mosquitto's `max_queued_messages` and `max_queued_bytes`): past
/// either the oldest ready message is dropped, and counted. Messages in
/// flight to the client do not count.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QueueLimits {
    /// Most ready messages.
    pub messages: u64,
    /// Most bytes of ready messages (their footprints).
    pub bytes: u64,
}

impl Default for QueueLimits {
    fn default() -> Self {
        Self { messages: 1000, bytes: 16 << 20 }
    }
}

impl QueueLimits {
    /// `options` with these bounds, dropping the oldest past them.
    pub fn apply(self, options: QueueOptions) -> QueueOptions {
        QueueOptions { max_length: Some(self.messages), max_length_bytes: Some(self.bytes), ..options }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn connect(protocol: ProtocolVersion, clean_start: bool, expiry: Option<u32>) -> Connect {
        let mut c = Connect {
            protocol,
            clean_start,
            keep_alive: 0,
            client_id: "c".into(),
            will: None,
            username: None,
            password: None,
            properties: Default::default(),
        };
        c.properties.session_expiry_interval = expiry;
        c
    }

    #[test]
    fn clean_session_and_expiry_interval_choose_the_lifetime() {
        assert_eq!(Lifetime::of(&connect(ProtocolVersion::V311, true, None)), Lifetime::Transient);
        assert_eq!(Lifetime::of(&connect(ProtocolVersion::V311, false, None)), Lifetime::Persistent(None));
        assert_eq!(Lifetime::of(&connect(ProtocolVersion::V5, false, None)), Lifetime::Transient);
        assert_eq!(Lifetime::of(&connect(ProtocolVersion::V5, true, Some(60))), Lifetime::Persistent(Some(60_000)));
        assert_eq!(Lifetime::of(&connect(ProtocolVersion::V5, false, Some(NEVER))), Lifetime::Persistent(None));
        let limits = QueueLimits { messages: 7, bytes: 9 };
        assert!(Lifetime::Transient.queue_options(limits).exclusive);
        let persistent = Lifetime::Persistent(Some(5)).queue_options(limits);
        assert_eq!(persistent.expires_ms, Some(5));
        assert_eq!((persistent.max_length, persistent.max_length_bytes), (Some(7), Some(9)));
    }
}
