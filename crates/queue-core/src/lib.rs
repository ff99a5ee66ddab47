//! # queue-core: Hearth's message-queue engine
//!
//! This crate owns the rules of Hearth: named FIFO queues with ready and
//! unacked messages, topic routing with MQTT wildcards, consumers with prefetch
//! windows and acks, redelivery, TTL, max length, dead letters, retained state
//! and last wills, and the counters that describe it all. It never does IO: no
//! sockets, no clock, no threads, no randomness. The same code runs inside the
//! `hearth` broker and, compiled to WebAssembly, inside the dashboard's
//! simulator, so what a learner sees is what the broker does.
//!
//! ## Driving it
//!
//! The engine is a sans-IO state machine. Its driver feeds it [`Input`]s with
//! the current time, drains [`Output`]s, and wakes it at
//! [`Engine::next_deadline`]:
//!
//! ```
//! use queue_core::{Engine, EngineConfig, Input, Output};
//! use queue_core::protocol::{ClientFrame, ServerFrame};
//!
//! let mut engine = Engine::new(EngineConfig::default());
//! let now = 0; // milliseconds from the driver's clock
//! engine.handle(now, Input::Connect { conn: 1 });
//! let declare = r#"{"type":"declare","id":1,"queue":"jobs"}"#;
//! let frame = queue_core::protocol::decode_client(declare, 64 * 1024).unwrap();
//! engine.handle(now, Input::Frame { conn: 1, frame });
//! while let Some(output) = engine.poll_output() {
//!     match output {
//!         Output::Send { conn, frame } => { /* encode and write to `conn` */ }
//!         Output::Close { conn } => { /* close `conn` */ }
//!         Output::Event(_) | Output::Store(_) | Output::Blocked(_) | Output::Denied(_) => {}
//!     }
//! }
//! if let Some(deadline) = engine.next_deadline() {
//!     // sleep until `deadline`, then: engine.handle(deadline, Input::Tick)
//! }
//! ```
//!
//! ## The model
//!
//! * Publishing to a topic puts a copy in every queue bound with a matching
//!   filter ([`trie`]); publishing to a queue by name puts it there directly.
//! * A queue's ready messages are kept in arrival order. Consumers share a
//!   queue round robin; each holds at most `prefetch` unacked deliveries.
//! * An unacked message whose consumer goes away returns to its place in the
//!   queue and is delivered again marked `redelivered`.
//! * Each copy leaves a queue exactly once: acked, dropped, expired or
//!   dead-lettered ([`stats`] states the conservation law).
//! * Everything a peer can make the engine hold is bounded: every number it
//!   sends ([`limits`]), each queue by `max_length` / `max_length_bytes`,
//!   and all of it by [`EngineConfig::memory_limit`], above which
//!   publishers are blocked ([`Output::Blocked`]).

pub mod acl;
pub mod engine;
pub mod error;
pub mod event;
pub mod limits;
pub mod message;
pub mod protocol;
pub mod queue;
pub mod stats;
pub mod topic;
pub mod trie;

pub use engine::{
    ConnId, ConsumerContents, Denial, Engine, EngineConfig, Input, LOW_WATERMARK_PERCENT, Output, QueueContents,
    ReadyMessage, Recovered, Role, Skipped, StoredMessage, StoredQueue, StoredWill,
};
pub use error::EngineError;
pub use event::{DeathReason, Event, StoreOp};
pub use message::{Headers, Message, Payload, SharedHeaders};
pub use queue::{Overflow, QueueOptions};
pub use stats::{ConnectionStats, Counters, MemoryStats, QueueCounters, QueueStats, StatsSnapshot};
