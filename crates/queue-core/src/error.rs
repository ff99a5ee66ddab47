//! What can go wrong when a client asks the engine for something.
//!
//! Every variant maps to a stable wire [`ErrorCode`] and reads as a sentence a
//! person can act on; the engine turns it into an `error` frame for the client.

use crate::protocol::ErrorCode;
use thiserror::Error;

/// A refused request. The engine's state is unchanged when one is returned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EngineError {
    /// The topic cannot be published to.
    #[error("invalid topic `{topic}`: {why}")]
    InvalidTopic {
        /// The topic as sent (shortened).
        topic: String,
        /// What rule it breaks.
        why: &'static str,
    },
    /// The subscription filter is malformed.
    #[error("invalid filter `{filter}`: {why}")]
    InvalidFilter {
        /// The filter as sent (shortened).
        filter: String,
        /// What rule it breaks.
        why: &'static str,
    },
    /// The queue name is empty, too long or holds control characters.
    #[error("invalid queue name `{name}`: {why}")]
    InvalidQueueName {
        /// The name as sent (shortened).
        name: String,
        /// What rule it breaks.
        why: &'static str,
    },
    /// An option is out of range or options contradict each other.
    #[error("invalid option: {0}")]
    InvalidOption(String),
    /// No queue has this name.
    #[error("no queue named `{0}`; declare it first")]
    QueueNotFound(String),
    /// The queue exists with different options.
    #[error("queue `{0}` already exists with different options; delete it or declare it with the same options")]
    QueueExistsDifferently(String),
    /// The queue is exclusive to another connection.
    #[error("queue `{0}` is exclusive to another connection")]
    QueueLocked(String),
    /// `delete` with `if_empty` on a queue that still holds messages.
    #[error("queue `{name}` still holds {messages} messages; drain it or delete without if_empty")]
    QueueNotEmpty {
        /// The queue.
        name: String,
        /// Ready plus unacked messages.
        messages: u64,
    },
    /// The queue is at its max length and refuses new messages.
    #[error("queue `{0}` is full (max length reached, overflow = reject-publish)")]
    QueueFull(String),
    /// The consumer id is not one of this connection's.
    #[error("no consumer {0} on this connection")]
    UnknownConsumer(u64),
    /// The delivery tag is not awaiting an ack on this connection.
    #[error(
        "delivery tag {0} is not awaiting an ack on this connection (already acked, or the consumer was cancelled)"
    )]
    UnknownDeliveryTag(u64),
    /// The frame is valid JSON but breaks a protocol rule.
    #[error("{0}")]
    ProtocolViolation(String),
    /// A bound on consumers, bindings or queues was reached ([`crate::limits`]).
    #[error("limit reached: {0}")]
    LimitReached(String),
    /// The access control list does not allow it.
    #[error("not authorized: {0}")]
    NotAuthorized(String),
}

impl EngineError {
    /// The stable wire code for this error.
    pub fn code(&self) -> ErrorCode {
        match self {
            Self::InvalidTopic { .. } => ErrorCode::InvalidTopic,
            Self::InvalidFilter { .. } => ErrorCode::InvalidFilter,
            Self::InvalidQueueName { .. } => ErrorCode::InvalidQueueName,
            Self::InvalidOption(_) => ErrorCode::InvalidOption,
            Self::QueueNotFound(_) => ErrorCode::QueueNotFound,
            Self::QueueExistsDifferently(_) => ErrorCode::PreconditionFailed,
            Self::QueueLocked(_) => ErrorCode::ResourceLocked,
            Self::QueueNotEmpty { .. } => ErrorCode::QueueNotEmpty,
            Self::QueueFull(_) => ErrorCode::QueueFull,
            Self::UnknownConsumer(_) => ErrorCode::UnknownConsumer,
            Self::UnknownDeliveryTag(_) => ErrorCode::UnknownDeliveryTag,
            Self::ProtocolViolation(_) => ErrorCode::ProtocolViolation,
            Self::LimitReached(_) => ErrorCode::LimitReached,
            Self::NotAuthorized(_) => ErrorCode::NotAuthorized,
        }
    }
}
