//! What the engine tells observers and durable stores.

use crate::message::Message;
use crate::queue::QueueOptions;
use serde::Serialize;
use std::sync::Arc;

/// Why a message left a queue without being acked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeathReason {
    /// Its time to live ran out.
    Expired,
    /// A consumer nacked it without requeue.
    Rejected,
    /// The queue was at its max length (drop-oldest).
    MaxLength,
    /// It was delivered `max_deliveries` times without an ack.
    DeliveryLimit,
    /// Its queue was deleted.
    QueueDeleted,
    /// Its consumer may not read its topic (the access control list).
    NotAuthorized,
}

impl DeathReason {
    /// The reason as written in the `x-death-reason` header.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Expired => "expired",
            Self::Rejected => "rejected",
            Self::MaxLength => "maxlen",
            Self::DeliveryLimit => "delivery_limit",
            Self::QueueDeleted => "queue_deleted",
            Self::NotAuthorized => "not_authorized",
        }
    }
}

/// Something that happened, for dashboards and the simulator's animation.
/// Emitted only when [`EngineConfig::observe`](crate::EngineConfig::observe) is on.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// A connection opened.
    Connected {
        /// Connection.
        conn: u64,
    },
    /// A connection closed; `clean` if it said `bye`.
    Disconnected {
        /// Connection.
        conn: u64,
        /// Whether it said goodbye.
        clean: bool,
    },
    /// A lost connection's last will was published.
    WillPublished {
        /// The lost connection.
        conn: u64,
        /// The will's topic.
        topic: Arc<str>,
    },
    /// A queue was created.
    QueueDeclared {
        /// Queue.
        queue: Arc<str>,
    },
    /// A queue was deleted.
    QueueDeleted {
        /// Queue.
        queue: Arc<str>,
    },
    /// A message was accepted and routed to `routed` queues.
    Published {
        /// Message id.
        message_id: u64,
        /// Its topic.
        topic: Arc<str>,
        /// Copies placed in queues.
        routed: u32,
    },
    /// A message matched no queue.
    Unroutable {
        /// Message id.
        message_id: u64,
        /// Its topic.
        topic: Arc<str>,
    },
    /// A copy entered a queue.
    Enqueued {
        /// Queue.
        queue: Arc<str>,
        /// Message id.
        message_id: u64,
    },
    /// A copy was sent to a consumer.
    Delivered {
        /// Queue.
        queue: Arc<str>,
        /// Message id.
        message_id: u64,
        /// Consumer.
        consumer: u64,
        /// The consumer's connection.
        conn: u64,
        /// Delivered before.
        redelivered: bool,
    },
    /// A delivery was acked.
    Acked {
        /// Queue.
        queue: Arc<str>,
        /// Message id.
        message_id: u64,
        /// Consumer.
        consumer: u64,
    },
    /// An unacked copy went back to its queue.
    Requeued {
        /// Queue.
        queue: Arc<str>,
        /// Message id.
        message_id: u64,
    },
    /// A copy moved to a dead-letter queue.
    DeadLettered {
        /// Queue it left.
        queue: Arc<str>,
        /// Dead-letter queue.
        to: Arc<str>,
        /// Message id.
        message_id: u64,
        /// Why.
        reason: DeathReason,
    },
    /// A copy was discarded.
    Dropped {
        /// Queue.
        queue: Arc<str>,
        /// Message id.
        message_id: u64,
        /// Why.
        reason: DeathReason,
    },
    /// A full queue refused a copy.
    Refused {
        /// Queue.
        queue: Arc<str>,
        /// Message id.
        message_id: u64,
    },
    /// A topic's retained message was set or cleared.
    Retained {
        /// Topic.
        topic: Arc<str>,
        /// Cleared by an empty payload.
        cleared: bool,
    },
    /// A consumer attached to a queue.
    ConsumerAdded {
        /// Queue.
        queue: Arc<str>,
        /// Consumer.
        consumer: u64,
        /// Its connection.
        conn: u64,
    },
    /// A consumer left a queue.
    ConsumerRemoved {
        /// Queue.
        queue: Arc<str>,
        /// Consumer.
        consumer: u64,
    },
}

/// A change a durable store must make: emitted for durable queues (and for
/// retained messages, which a store keeps whenever there is one). A driver
/// without a store ignores them; [`Engine::restore`](crate::Engine::restore)
/// takes back what a store kept.
#[derive(Debug, Clone, PartialEq)]
pub enum StoreOp {
    /// Remember a queue, or its new options (a policy change) if it is known.
    DeclareQueue {
        /// Name.
        name: Arc<str>,
        /// Options.
        options: QueueOptions,
    },
    /// Forget a queue and its messages.
    DeleteQueue {
        /// Name.
        name: Arc<str>,
    },
    /// Remember a binding.
    Bind {
        /// Queue.
        queue: Arc<str>,
        /// Filter.
        filter: String,
    },
    /// Forget a binding.
    Unbind {
        /// Queue.
        queue: Arc<str>,
        /// Filter.
        filter: String,
    },
    /// Store a message at position `seq` of a queue.
    Append {
        /// Queue.
        queue: Arc<str>,
        /// Position.
        seq: u64,
        /// When it entered the queue (engine ms): its TTL counts from here.
        enqueued_at: u64,
        /// The message.
        message: Arc<Message>,
    },
    /// A stored message left the queue (acked, dropped, expired, dead-lettered).
    Remove {
        /// Queue.
        queue: Arc<str>,
        /// Position.
        seq: u64,
    },
    /// A stored message was delivered once more, to a consumer that acks
    /// (its delivery count, hence its redelivered mark, survives a restart).
    Delivered {
        /// Queue.
        queue: Arc<str>,
        /// Position.
        seq: u64,
    },
    /// Remember a topic's retained message (replacing the one before).
    Retain {
        /// The message.
        message: Arc<Message>,
    },
    /// Forget a topic's retained message.
    Unretain {
        /// The topic.
        topic: Arc<str>,
    },
    /// Remember a delayed will, waiting for its client (replacing the one
    /// before for the same client id).
    KeepWill {
        /// The client id it was given under.
        client_id: Arc<str>,
        /// The will.
        will: Arc<crate::protocol::Will>,
        /// When it is due (engine ms).
        due: u64,
        /// The user its client logged in as (`None`: anonymous).
        user: Option<Arc<str>>,
    },
    /// Forget a delayed will: published, or cancelled by its client's return.
    ForgetWill {
        /// The client id it was given under.
        client_id: Arc<str>,
    },
}
