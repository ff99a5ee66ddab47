//! "Why did it go there": one message's journey, read from the event log —
//! published (and to which queues it was routed), each copy entering its
//! queue, delivered, acked, back in its queue and redelivered, dead-lettered,
//! expired or dropped. Built on demand from the log, so it reaches back as
//! far as the log does ([`crate::log::LOG_CAPACITY`] entries); a journey
//! whose start has left the log says so.

use crate::log::{EventLog, LogKind};

/// What happened to the message at one step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Accepted from a publisher (or matched no binding).
    Published,
    /// A copy entered a queue.
    Routed,
    /// A copy went to a consumer.
    Delivered,
    /// A consumer acked its copy: done.
    Acked,
    /// A copy went back to its queue unacked, or was delivered again.
    Redelivered,
    /// A copy moved to a dead-letter queue.
    DeadLettered,
    /// A copy's TTL ran out.
    Expired,
    /// A copy was dropped or refused.
    Dropped,
}

impl Stage {
    /// The stage's name, for people and CSS.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Published => "published",
            Stage::Routed => "routed",
            Stage::Delivered => "delivered",
            Stage::Acked => "acked",
            Stage::Redelivered => "redelivered",
            Stage::DeadLettered => "dead-lettered",
            Stage::Expired => "expired",
            Stage::Dropped => "dropped",
        }
    }

    fn of(kind: LogKind) -> Option<Self> {
        Some(match kind {
            LogKind::Publish => Stage::Published,
            LogKind::Route => Stage::Routed,
            LogKind::Deliver => Stage::Delivered,
            LogKind::Ack => Stage::Acked,
            LogKind::Redeliver => Stage::Redelivered,
            LogKind::DeadLetter => Stage::DeadLettered,
            LogKind::Expire => Stage::Expired,
            LogKind::Drop => Stage::Dropped,
            _ => return None,
        })
    }
}

/// One step of a journey.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    /// Virtual time (ms).
    pub at_ms: u64,
    /// What happened.
    pub stage: Stage,
    /// The queue it happened in, if any.
    pub queue: Option<String>,
    /// The log's line for it, with the time.
    pub line: String,
}

/// One message's journey, oldest step first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Journey {
    /// The message.
    pub message_id: u64,
    /// Its steps still in the log, the publish first.
    pub steps: Vec<Step>,
    /// Whether its publish is still in the log (if not, its first steps left it).
    pub complete: bool,
}

impl Journey {
    /// Whether any step is `stage`.
    pub fn has(&self, stage: Stage) -> bool {
        self.steps.iter().any(|s| s.stage == stage)
    }

    /// The stages in order.
    pub fn stages(&self) -> Vec<Stage> {
        self.steps.iter().map(|s| s.stage).collect()
    }
}

/// Message `id`'s journey as far as `log` remembers it; `None` if the log
/// holds nothing about it.
pub fn journey(log: &EventLog, id: u64) -> Option<Journey> {
    let mut steps: Vec<(u64, Step)> = log
        .entries()
        .filter(|e| e.message_id == Some(id))
        .filter_map(|e| {
            let stage = Stage::of(e.kind)?;
            let step = Step { at_ms: e.at_ms, stage, queue: e.queue.as_deref().map(str::to_owned), line: e.line() };
            Some((e.seq, step))
        })
        .collect();
    if steps.is_empty() {
        return None;
    }
    // The engine reports a publish after the copies it routed: put it first.
    // The keys are unique (a log sequence number each), so any correct sort
    // gives this order. An insertion sort: the log hands the steps over in
    // sequence order, nearly sorted already, so it is about one pass, and it
    // keeps another instantiation of the standard sort out of the wasm.
    let key = |(seq, s): &(u64, Step)| (s.at_ms, s.stage != Stage::Published, *seq);
    for i in 1..steps.len() {
        let mut j = i;
        while j > 0 && key(&steps[j - 1]) > key(&steps[j]) {
            steps.swap(j - 1, j);
            j -= 1;
        }
    }
    let complete = steps.iter().any(|(_, s)| s.stage == Stage::Published);
    Some(Journey { message_id: id, steps: steps.into_iter().map(|(_, s)| s).collect(), complete })
}
