//! Animation hints: the hops messages made during the last step (device →
//! router → queue → consumer, and out to dead letters), so a view can draw
//! them moving. Bounded per step: past the cap only a count is kept.

use std::sync::Arc;

/// Most hops kept per step.
pub const MAX_FLIGHTS: usize = 400;

/// One hop of one message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hop {
    /// From a publisher into the router.
    Publish {
        /// Device id, automation id or `console`.
        from: Arc<str>,
        /// The topic.
        topic: Arc<str>,
    },
    /// From the router into a queue.
    Route {
        /// The queue.
        queue: Arc<str>,
    },
    /// From a queue to a consumer.
    Deliver {
        /// The queue.
        queue: Arc<str>,
        /// The consumer's label.
        to: Arc<str>,
        /// Whether it was delivered before.
        redelivered: bool,
    },
    /// From a consumer's unacked set back to its queue.
    Requeue {
        /// The queue.
        queue: Arc<str>,
    },
    /// From a queue to its dead-letter queue.
    DeadLetter {
        /// The queue it left.
        from: Arc<str>,
        /// The dead-letter queue.
        to: Arc<str>,
    },
    /// Out of a queue for good (dropped, expired, refused).
    Drop {
        /// The queue.
        queue: Arc<str>,
    },
}

/// A hop at a virtual time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Flight {
    /// When (virtual ms).
    pub at_ms: u64,
    /// The message.
    pub message_id: u64,
    /// Where it went.
    pub hop: Hop,
}

/// The hops of the last step: those of the last `advance`, plus those of
/// any controls used since (a publish from a form animates on the next frame).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Flights {
    kept: Vec<Flight>,
    skipped: u64,
    /// Set when a step ends: the next hop or step starts a fresh list.
    stale: bool,
}

impl Flights {
    /// The hops kept, in order.
    pub fn list(&self) -> &[Flight] {
        &self.kept
    }

    /// Hops not kept because the step had more than [`MAX_FLIGHTS`].
    pub fn skipped(&self) -> u64 {
        self.skipped
    }

    /// A step begins: drop the hops of the previous one (not those of controls since).
    pub(crate) fn begin_step(&mut self) {
        self.clear_if_stale();
    }

    /// A step ended: its hops stay readable until the next hop or step.
    pub(crate) fn end_step(&mut self) {
        self.stale = true;
    }

    fn clear_if_stale(&mut self) {
        if self.stale {
            self.kept.clear();
            self.skipped = 0;
            self.stale = false;
        }
    }

    /// Records a hop. The engine reports a publish after the copies it
    /// routed, so a publish hop is moved before its message's other hops.
    pub(crate) fn push(&mut self, at_ms: u64, message_id: u64, hop: Hop) {
        self.clear_if_stale();
        if self.kept.len() >= MAX_FLIGHTS {
            self.skipped += 1;
            return;
        }
        let flight = Flight { at_ms, message_id, hop };
        let first = matches!(flight.hop, Hop::Publish { .. })
            .then(|| self.kept.iter().position(|f| f.message_id == message_id && f.at_ms == at_ms))
            .flatten();
        match first {
            Some(at) => self.kept.insert(at, flight),
            None => self.kept.push(flight),
        }
    }
}
