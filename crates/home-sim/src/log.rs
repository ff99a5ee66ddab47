//! The event log: a bounded list of what happened, each entry explained in
//! one line for people (`09:00:03.2 — message #41 in queue hall-light expired
//! after 5 s TTL → moved to dead-letters`; a publish names the queues it was
//! routed to). Entries keep the engine's event and are explained when read,
//! so a busy simulation pays for text only on screen. It keeps the last
//! [`LOG_CAPACITY`] entries; a message's journey ([`crate::journey`]) is read
//! from them.

use crate::clock::format_time;
use queue_core::{DeathReason, Event};
use std::collections::VecDeque;
use std::sync::Arc;

/// Entries kept: about two minutes of the smart home, a second of the
/// 200-device stress scene.
pub const LOG_CAPACITY: usize = 2000;

/// How far back a publish looks for the copies it routed (the engine
/// reports them just before the publish).
const ROUTE_LOOKBACK: usize = 256;

/// What an entry is about, for filtering.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogKind {
    /// Connections opening, closing, last wills.
    Connection,
    /// Messages published (or unroutable).
    Publish,
    /// Copies entering queues.
    Route,
    /// Deliveries to consumers.
    Deliver,
    /// Acknowledgements.
    Ack,
    /// Redeliveries and requeues.
    Redeliver,
    /// Messages expired by TTL.
    Expire,
    /// Messages moved to a dead-letter queue.
    DeadLetter,
    /// Messages dropped or refused.
    Drop,
    /// Retained state set or cleared.
    Retain,
    /// Consumers attached or detached.
    Consumer,
    /// Queues declared, deleted or reconfigured.
    Queue,
    /// Device changes (commands obeyed, added, removed).
    Device,
    /// Automations firing, pausing, added, removed.
    Automation,
    /// A learner's action.
    Control,
    /// Something was refused.
    Error,
}

/// One thing that happened.
#[derive(Debug, Clone, PartialEq)]
pub struct LogEntry {
    /// Position in the whole history (not reset when old entries fall off).
    pub seq: u64,
    /// Virtual time (ms).
    pub at_ms: u64,
    /// Category.
    pub kind: LogKind,
    /// The queue involved, if any.
    pub queue: Option<Arc<str>>,
    /// The device involved, if any.
    pub device: Option<Arc<str>>,
    /// The message involved, if any.
    pub message_id: Option<u64>,
    detail: Detail,
}

#[derive(Debug, Clone, PartialEq)]
enum Detail {
    /// An engine event; `actor` names the connection behind it, `note` adds context.
    Engine {
        event: Event,
        actor: Option<Arc<str>>,
        note: Option<String>,
    },
    Text(String),
}

impl LogEntry {
    /// The explanation, without the time.
    pub fn explanation(&self) -> String {
        match &self.detail {
            Detail::Text(text) => text.clone(),
            Detail::Engine { event, actor, note } => explain(event, actor.as_deref(), note.as_deref()),
        }
    }

    /// The full line: `09:00:03.2 — …`.
    pub fn line(&self) -> String {
        format!("{} — {}", format_time(self.at_ms), self.explanation())
    }
}

/// Which entries to show; empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogFilter {
    /// Kinds to show (empty: all).
    pub kinds: Vec<LogKind>,
    /// Only entries about this queue.
    pub queue: Option<String>,
    /// Only entries about this device.
    pub device: Option<String>,
    /// Only entries about this message.
    pub message: Option<u64>,
}

impl LogFilter {
    /// Whether `entry` passes.
    pub fn accepts(&self, entry: &LogEntry) -> bool {
        (self.kinds.is_empty() || self.kinds.contains(&entry.kind))
            && self.queue.as_deref().is_none_or(|q| entry.queue.as_deref() == Some(q))
            && self.device.as_deref().is_none_or(|d| entry.device.as_deref() == Some(d))
            && self.message.is_none_or(|m| entry.message_id == Some(m))
    }
}

/// The last [`LOG_CAPACITY`] entries.
#[derive(Debug, Clone, PartialEq)]
pub struct EventLog {
    entries: VecDeque<LogEntry>,
    capacity: usize,
    next_seq: u64,
}

impl Default for EventLog {
    fn default() -> Self {
        Self { entries: VecDeque::with_capacity(LOG_CAPACITY), capacity: LOG_CAPACITY, next_seq: 0 }
    }
}

/// Context the simulation knows about an engine event.
#[derive(Debug, Clone, Default)]
pub(crate) struct Context {
    pub actor: Option<Arc<str>>,
    pub device: Option<Arc<str>>,
    pub note: Option<String>,
}

impl EventLog {
    /// Entries oldest first.
    pub fn entries(&self) -> impl DoubleEndedIterator<Item = &LogEntry> {
        self.entries.iter()
    }

    /// Entries passing `filter`, oldest first.
    pub fn filtered<'a>(&'a self, filter: &'a LogFilter) -> impl DoubleEndedIterator<Item = &'a LogEntry> {
        self.entries.iter().filter(move |e| filter.accepts(e))
    }

    /// Entries ever logged (including those that fell off).
    pub fn total(&self) -> u64 {
        self.next_seq
    }

    /// The queues message `id` just entered, in routing order: the copies
    /// the engine reported since the previous publish.
    pub(crate) fn routed_queues(&self, id: u64) -> Vec<Arc<str>> {
        let mut queues: Vec<Arc<str>> = self
            .entries
            .iter()
            .rev()
            .take(ROUTE_LOOKBACK)
            .take_while(|e| e.kind != LogKind::Publish)
            .filter(|e| e.kind == LogKind::Route && e.message_id == Some(id))
            .filter_map(|e| e.queue.clone())
            .collect();
        queues.reverse();
        queues
    }

    pub(crate) fn event(&mut self, at_ms: u64, event: Event, cx: Context) {
        let (kind, queue, message_id) = classify(&event);
        let detail = Detail::Engine { event, actor: cx.actor, note: cx.note };
        self.push(LogEntry { seq: 0, at_ms, kind, queue, device: cx.device, message_id, detail });
    }

    pub(crate) fn text(&mut self, at_ms: u64, kind: LogKind, about: (Option<&str>, Option<&str>), text: String) {
        let (queue, device) = (about.0.map(Arc::from), about.1.map(Arc::from));
        self.push(LogEntry { seq: 0, at_ms, kind, queue, device, message_id: None, detail: Detail::Text(text) });
    }

    fn push(&mut self, mut entry: LogEntry) {
        entry.seq = self.next_seq;
        self.next_seq += 1;
        if self.entries.len() == self.capacity {
            self.entries.pop_front();
        }
        self.entries.push_back(entry);
    }
}

/// Kind, queue and message of an engine event.
fn classify(event: &Event) -> (LogKind, Option<Arc<str>>, Option<u64>) {
    use Event::*;
    match event {
        Connected { .. } | Disconnected { .. } | WillPublished { .. } => (LogKind::Connection, None, None),
        QueueDeclared { queue } | QueueDeleted { queue } => (LogKind::Queue, Some(queue.clone()), None),
        Published { message_id, .. } | Unroutable { message_id, .. } => (LogKind::Publish, None, Some(*message_id)),
        Enqueued { queue, message_id } => (LogKind::Route, Some(queue.clone()), Some(*message_id)),
        Delivered { queue, message_id, redelivered, .. } => {
            let kind = if *redelivered { LogKind::Redeliver } else { LogKind::Deliver };
            (kind, Some(queue.clone()), Some(*message_id))
        }
        Acked { queue, message_id, .. } => (LogKind::Ack, Some(queue.clone()), Some(*message_id)),
        Requeued { queue, message_id } => (LogKind::Redeliver, Some(queue.clone()), Some(*message_id)),
        DeadLettered { queue, message_id, .. } => (LogKind::DeadLetter, Some(queue.clone()), Some(*message_id)),
        Dropped { queue, message_id, reason: DeathReason::Expired } => {
            (LogKind::Expire, Some(queue.clone()), Some(*message_id))
        }
        Dropped { queue, message_id, .. } | Refused { queue, message_id } => {
            (LogKind::Drop, Some(queue.clone()), Some(*message_id))
        }
        Retained { .. } => (LogKind::Retain, None, None),
        ConsumerAdded { queue, .. } | ConsumerRemoved { queue, .. } => (LogKind::Consumer, Some(queue.clone()), None),
    }
}

/// One line for people.
fn explain(event: &Event, actor: Option<&str>, note: Option<&str>) -> String {
    use Event::*;
    let who = actor.unwrap_or("a client");
    let note = note.map(|n| format!(" {n}")).unwrap_or_default();
    match event {
        Connected { conn } => format!("{who} connected (connection {conn})"),
        Disconnected { clean: true, .. } => format!("{who} said goodbye and disconnected"),
        Disconnected { clean: false, .. } => format!("{who} lost its connection without saying goodbye"),
        WillPublished { topic, .. } => format!("{who}'s last will was published on {topic}"),
        QueueDeclared { queue } => format!("queue {queue} declared"),
        QueueDeleted { queue } => format!("queue {queue} deleted; its messages are dropped"),
        Published { message_id, topic, routed } => {
            let s = plural(*routed);
            format!("{who} published message #{message_id} on {topic} → routed to {routed} queue{s}{note}")
        }
        Unroutable { message_id, topic } => format!("message #{message_id} on {topic} matched no binding → unroutable"),
        Enqueued { queue, message_id } => format!("message #{message_id} entered queue {queue}"),
        Delivered { queue, message_id, consumer, redelivered, .. } => {
            let again = if *redelivered { " again (redelivered)" } else { "" };
            format!("message #{message_id} from queue {queue} delivered{again} to consumer {consumer} ({who})")
        }
        Acked { queue, message_id, consumer } => {
            format!("consumer {consumer} acked message #{message_id} → removed from queue {queue}")
        }
        Requeued { queue, message_id } => {
            format!("message #{message_id} went back to queue {queue} unacked → it will be redelivered")
        }
        DeadLettered { queue, to, message_id, reason } => {
            format!("message #{message_id} in queue {queue} {}{note} → moved to dead letters ({to})", why(*reason))
        }
        Dropped { queue, message_id, reason } => {
            format!("message #{message_id} in queue {queue} {}{note} → dropped", why(*reason))
        }
        Refused { queue, message_id } => {
            format!("queue {queue} is full (reject-publish) → refused message #{message_id}")
        }
        Retained { topic, cleared: false } => format!("{topic} retains its latest message as device state"),
        Retained { topic, cleared: true } => format!("retained state of {topic} cleared"),
        ConsumerAdded { queue, consumer, .. } => format!("consumer {consumer} ({who}) attached to queue {queue}"),
        ConsumerRemoved { queue, consumer } => format!("consumer {consumer} left queue {queue}"),
    }
}

fn why(reason: DeathReason) -> &'static str {
    match reason {
        DeathReason::Expired => "expired",
        DeathReason::Rejected => "was rejected by its consumer",
        DeathReason::MaxLength => "was pushed out by the max length",
        DeathReason::DeliveryLimit => "reached its delivery limit",
        DeathReason::QueueDeleted => "went with its deleted queue",
        DeathReason::NotAuthorized => "was withheld: its consumer may not read that topic",
    }
}

fn plural(n: u32) -> &'static str {
    if n == 1 { "" } else { "s" }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn the_log_is_bounded_explained_and_filterable() {
        let mut log = EventLog::default();
        for id in 0..(LOG_CAPACITY as u64 + 10) {
            let event = Event::Enqueued { queue: "hall-light".into(), message_id: id };
            log.event(3_200, event, Context::default());
        }
        let expired = Event::DeadLettered {
            queue: "hall-light".into(),
            to: "dead-letters".into(),
            message_id: 41,
            reason: DeathReason::Expired,
        };
        let cx =
            Context { note: Some("after 5 s TTL".into()), device: Some("hall-light".into()), ..Context::default() };
        log.event(3_200, expired, cx);
        assert_eq!(log.entries().count(), LOG_CAPACITY);
        assert_eq!(log.total(), LOG_CAPACITY as u64 + 11);
        let last = log.entries().next_back().expect("an entry");
        assert_eq!(
            last.line(),
            "09:00:03.2 — message #41 in queue hall-light expired after 5 s TTL → moved to dead letters (dead-letters)"
        );
        let filter = LogFilter { kinds: vec![LogKind::DeadLetter], ..LogFilter::default() };
        assert_eq!(log.filtered(&filter).count(), 1);
        let filter = LogFilter { device: Some("hall-light".into()), ..LogFilter::default() };
        assert_eq!(log.filtered(&filter).count(), 1);
        let filter = LogFilter { queue: Some("other".into()), ..LogFilter::default() };
        assert_eq!(log.filtered(&filter).count(), 0);
    }
}
