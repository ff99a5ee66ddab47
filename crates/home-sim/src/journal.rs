//! The learner's actions as data: [`Simulation::apply`] runs one and writes
//! it, with its virtual time, into the simulation's journal. Replaying the
//! journal on a fresh simulation of the same scenario and seed gives the
//! same state (the simulation is deterministic), which is how a link
//! reproduces what its sender saw (see [`crate::hash`]).
//!
//! Each action has a compact text form for URLs: fields separated by `,`,
//! the first a one-letter code; text fields are percent-encoded.
//!
//! | code | action | fields |
//! |---|---|---|
//! | `p` | publish | topic, payload, retain (0/1) |
//! | `c` | add a consumer | queue |
//! | `x` | crash a consumer | consumer number |
//! | `k` | consumer settings | consumer, prefetch, ack (`m`/`a`), processing ms |
//! | `q` | queue policy | queue, max length, overflow (`d`/`r`), TTL ms, dead-letter queue (empty: none) |
//! | `o` / `r` | cut a device off / reconnect it | device |
//! | `t` | device publish rate | device, rate |
//! | `d` / `D` | add a device / remove one | kind and room / device |
//! | `a` | add an automation | id, rule |
//! | `z` / `Z` / `A` | pause / resume / remove an automation | id |
//! | `b` | bind a queue (declared if new) | queue, filter |
//! | `X` | remove a consumer | consumer number |

use crate::automations::{AutomationSpec, Rule};
use crate::controls::QueuePolicy;
use crate::devices::DeviceKind;
use crate::error::SimError;
use crate::simulation::Simulation;
use crate::workers::{ConsumerSettings, WorkerId};
use queue_core::Overflow;
use queue_core::protocol::AckMode;

/// One thing a learner did.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Publish a custom message from the console.
    Publish {
        /// Topic.
        topic: String,
        /// Payload (text).
        payload: String,
        /// Retained.
        retain: bool,
    },
    /// Add a consumer to a queue.
    AddConsumer(String),
    /// Crash a consumer.
    Crash(WorkerId),
    /// Change a consumer's settings.
    SetConsumer(WorkerId, ConsumerSettings),
    /// Set a queue's policy.
    SetPolicy(String, QueuePolicy),
    /// Cut a device off the network.
    CutOff(String),
    /// Bring a device back.
    Reconnect(String),
    /// Set a device's publish rate.
    SetRate(String, f64),
    /// Add a device of a kind to a room.
    AddDevice(DeviceKind, String),
    /// Remove a device.
    RemoveDevice(String),
    /// Add an automation.
    AddAutomation(String, Rule),
    /// Pause an automation.
    PauseAutomation(String),
    /// Resume an automation.
    ResumeAutomation(String),
    /// Remove an automation.
    RemoveAutomation(String),
    /// Bind a queue (declared first if new) to a topic filter.
    Bind(String, String),
    /// Remove a consumer cleanly (it says goodbye).
    RemoveConsumer(WorkerId),
}

impl Simulation {
    /// Does `action` now and journals it (refused ones too: a refusal can
    /// leave a line in the log, so a replay must try it as well).
    pub fn apply(&mut self, action: Action) -> Result<(), SimError> {
        let result = self.run_action(&action);
        self.check_lessons();
        let now = self.now();
        self.journal.push((now, action));
        result
    }

    /// Every action applied so far, with its virtual time, oldest first.
    pub fn journal(&self) -> &[(u64, Action)] {
        &self.journal
    }

    fn run_action(&mut self, action: &Action) -> Result<(), SimError> {
        use Action::*;
        match action {
            Publish { topic, payload, retain } => self.publish(topic, payload, *retain).map(drop),
            AddConsumer(queue) => self.add_consumer(queue).map(drop),
            Crash(worker) => self.crash_consumer(*worker),
            SetConsumer(worker, settings) => self.set_consumer_settings(*worker, *settings),
            SetPolicy(queue, policy) => self.set_queue_policy(queue, policy.clone()),
            CutOff(device) => self.cut_off(device),
            Reconnect(device) => self.reconnect(device),
            SetRate(device, rate) => self.set_device_rate(device, *rate),
            AddDevice(kind, room) => self.add_device_to(*kind, room).map(drop),
            RemoveDevice(device) => self.remove_device(device),
            AddAutomation(id, rule) => self.add_automation(AutomationSpec::new(id, *rule)),
            PauseAutomation(id) => self.pause_automation(id),
            ResumeAutomation(id) => self.resume_automation(id),
            RemoveAutomation(id) => self.remove_automation(id),
            Bind(queue, filter) => self.bind_queue(queue, filter),
            RemoveConsumer(worker) => self.remove_consumer(*worker),
        }
    }
}

impl Action {
    /// The compact text form (see the module doc).
    pub fn encode(&self) -> String {
        use Action::*;
        let fields: Vec<String> = match self {
            Publish { topic, payload, retain } => vec!["p".into(), esc(topic), esc(payload), flag(*retain)],
            AddConsumer(queue) => vec!["c".into(), esc(queue)],
            Crash(worker) => vec!["x".into(), worker.to_string()],
            SetConsumer(worker, s) => {
                let ack = if s.ack == AckMode::Auto { "a" } else { "m" };
                vec!["k".into(), worker.to_string(), s.prefetch.to_string(), ack.into(), s.processing_ms.to_string()]
            }
            SetPolicy(queue, p) => vec![
                "q".into(),
                esc(queue),
                opt(p.max_length),
                if p.overflow == Overflow::RejectPublish { "r" } else { "d" }.into(),
                opt(p.ttl_ms),
                p.dead_letter.as_deref().map(esc).unwrap_or_default(),
            ],
            CutOff(device) => vec!["o".into(), esc(device)],
            Reconnect(device) => vec!["r".into(), esc(device)],
            SetRate(device, rate) => vec!["t".into(), esc(device), rate.to_string()],
            AddDevice(kind, room) => vec!["d".into(), kind.as_str().into(), esc(room)],
            RemoveDevice(device) => vec!["D".into(), esc(device)],
            AddAutomation(id, rule) => vec!["a".into(), esc(id), rule.name().into()],
            PauseAutomation(id) => vec!["z".into(), esc(id)],
            ResumeAutomation(id) => vec!["Z".into(), esc(id)],
            RemoveAutomation(id) => vec!["A".into(), esc(id)],
            Bind(queue, filter) => vec!["b".into(), esc(queue), esc(filter)],
            RemoveConsumer(worker) => vec!["X".into(), worker.to_string()],
        };
        fields.join(",")
    }

    /// Reads the compact text form; `None` if it is not one.
    pub fn decode(text: &str) -> Option<Self> {
        use Action::*;
        let f: Vec<String> = text.split(',').map(unesc).collect::<Option<_>>()?;
        let n = |i: usize| f.get(i).and_then(|s| s.parse::<u64>().ok());
        // Names may be empty: a refused action (say, Remove with no device
        // left) is journaled too, and must replay the same way.
        let name = |i: usize| f.get(i).cloned();
        let action = match (f.first()?.as_str(), f.len()) {
            ("p", 4) => Publish { topic: f[1].clone(), payload: f[2].clone(), retain: f[3] == "1" },
            ("c", 2) => AddConsumer(name(1)?),
            ("x", 2) => Crash(u32::try_from(n(1)?).ok()?),
            ("k", 5) => {
                let ack = match f[3].as_str() {
                    "a" => AckMode::Auto,
                    "m" => AckMode::Manual,
                    _ => return None,
                };
                let settings = ConsumerSettings { prefetch: u32::try_from(n(2)?).ok()?, ack, processing_ms: n(4)? };
                SetConsumer(u32::try_from(n(1)?).ok()?, settings)
            }
            ("q", 6) => {
                let overflow = match f[3].as_str() {
                    "r" => Overflow::RejectPublish,
                    "d" => Overflow::DropOldest,
                    _ => return None,
                };
                let (max_length, ttl_ms) = (optional(&f[2])?, optional(&f[4])?);
                SetPolicy(
                    name(1)?,
                    QueuePolicy { max_length, overflow, ttl_ms, dead_letter: name(5).filter(|s| !s.is_empty()) },
                )
            }
            ("o", 2) => CutOff(name(1)?),
            ("r", 2) => Reconnect(name(1)?),
            ("t", 3) => SetRate(name(1)?, crate::decimal::parse(&f[2])?),
            ("d", 3) => AddDevice(DeviceKind::parse(&f[1])?, name(2)?),
            ("D", 2) => RemoveDevice(name(1)?),
            ("a", 3) => AddAutomation(name(1)?, Rule::parse(&f[2])?),
            ("z", 2) => PauseAutomation(name(1)?),
            ("Z", 2) => ResumeAutomation(name(1)?),
            ("A", 2) => RemoveAutomation(name(1)?),
            ("b", 3) => Bind(name(1)?, name(2)?),
            ("X", 2) => RemoveConsumer(u32::try_from(n(1)?).ok()?),
            _ => return None,
        };
        Some(action)
    }
}

fn flag(on: bool) -> String {
    if on { "1" } else { "0" }.into()
}

fn opt(n: Option<u64>) -> String {
    n.map(|n| n.to_string()).unwrap_or_default()
}

/// `""` → `Some(None)`, a number → `Some(Some(n))`, anything else → `None`.
fn optional(text: &str) -> Option<Option<u64>> {
    if text.is_empty() { Some(None) } else { text.parse().ok().map(Some) }
}

/// Percent-encodes what a URL fragment or the journal's separators would
/// not carry as is; topics keep their `/` and JSON its `:`.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/:@!$'()*+".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Undoes [`esc`] (and any percent-encoding a browser added); `None` on a
/// broken escape or bytes that are not UTF-8.
pub(crate) fn unesc(text: &str) -> Option<String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&b, tail)) = rest.split_first() {
        if b == b'%' {
            let hex = tail.get(..2).filter(|h| h.iter().all(u8::is_ascii_hexdigit))?;
            bytes.push(u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?);
            rest = &tail[2..];
        } else {
            bytes.push(b);
            rest = tail;
        }
    }
    String::from_utf8(bytes).ok()
}
