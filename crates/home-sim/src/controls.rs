//! The teaching controls: add and crash consumers, change prefetch, ack mode
//! and processing time, set a queue's TTL, max length and dead letters,
//! publish a custom message. Also what a consumer does when it finishes a job.

use crate::error::SimError;
use crate::log::LogKind;
use crate::simulation::Simulation;
use crate::workers::{ConsumerSettings, Role, WorkerId};
use queue_core::protocol::{AckMode, ClientFrame, Delivery};
use queue_core::{Overflow, QueueOptions};

/// Largest prefetch the controls accept.
pub const MAX_PREFETCH: u32 = 1000;

/// The limits of a queue a learner may change.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct QueuePolicy {
    /// Most ready messages; `None` = unlimited.
    pub max_length: Option<u64>,
    /// What a full queue does: drop the oldest or refuse the new.
    pub overflow: Overflow,
    /// Ready messages older than this expire; `None` = never.
    pub ttl_ms: Option<u64>,
    /// Where dropped, expired and rejected messages go; `None` = nowhere.
    pub dead_letter: Option<String>,
}

impl QueuePolicy {
    /// In words: `max length 2 (drop oldest), TTL 1 s, dead letters to dead-letters`.
    pub fn describe(&self) -> String {
        let overflow = if self.overflow == Overflow::RejectPublish { "reject new" } else { "drop oldest" };
        let max = self.max_length.map_or("no max length".into(), |n| format!("max length {n} ({overflow})"));
        let ttl = self.ttl_ms.map_or("no TTL".into(), |t| format!("TTL {}", crate::views::seconds(t)));
        let dlq = self.dead_letter.as_deref().map_or("no dead letters".into(), |d| format!("dead letters to {d}"));
        format!("{max}, {ttl}, {dlq}")
    }
}

impl Simulation {
    /// Adds a consumer to `queue` with the default settings (prefetch 5,
    /// manual ack, 300 ms per message). With two or more, deliveries go round robin.
    pub fn add_consumer(&mut self, queue: &str) -> Result<WorkerId, SimError> {
        self.add_consumer_with(queue, ConsumerSettings::default())
    }

    /// Adds a consumer to `queue` with `settings`.
    pub fn add_consumer_with(&mut self, queue: &str, settings: ConsumerSettings) -> Result<WorkerId, SimError> {
        if self.engine.queue_stats(queue).is_none() {
            return Err(SimError::UnknownQueue(queue.into()));
        }
        check_prefetch(settings.prefetch)?;
        let label = format!("worker {}", self.next_worker);
        let id = self.spawn_worker(&label, Role::Extra, queue, None, settings)?;
        self.note(LogKind::Control, None, format!("you added {label} to queue {queue}"));
        Ok(id)
    }

    /// Crashes a consumer: its connection drops without goodbye and the
    /// engine puts its unacked messages back, to be redelivered. A device's
    /// consumer crashes with its device (see [`Simulation::cut_off`]).
    pub fn crash_consumer(&mut self, id: WorkerId) -> Result<(), SimError> {
        let w = self.workers.get(&id).ok_or(SimError::UnknownConsumer(id))?;
        let (label, role) = (w.label.clone(), w.role.clone());
        if w.settings.ack == AckMode::Manual {
            let held: Vec<u64> = w.jobs.iter().map(|j| j.delivery.message_id).collect();
            self.facts.crash_unacked.extend(held.into_iter().map(|id| (id, label.clone())));
        }
        self.facts.crashes += 1;
        match role {
            Role::Device(device) => return self.cut_off(&device),
            Role::Automation(a) => {
                let i = self.automation_index(&a)?;
                self.automations[i].worker = None;
            }
            Role::Extra => {}
        }
        self.note(LogKind::Control, None, format!("you crashed {label}; its unacked messages go back to the queue"));
        self.remove_worker(id, false);
        Ok(())
    }

    /// Changes how a consumer consumes. A new processing time applies to the
    /// next message; a new prefetch or ack mode needs a new subscription, so
    /// the consumer unsubscribes (its unacked messages return, marked
    /// redelivered) and subscribes again, as a real client would.
    pub fn set_consumer_settings(&mut self, id: WorkerId, settings: ConsumerSettings) -> Result<(), SimError> {
        check_prefetch(settings.prefetch)?;
        let now = self.now();
        let w = self.workers.get_mut(&id).ok_or(SimError::UnknownConsumer(id))?;
        let resubscribe = (w.settings.prefetch, w.settings.ack) != (settings.prefetch, settings.ack);
        w.settings = settings;
        let (conn, role) = (w.conn, w.role.clone());
        let consumer = if resubscribe {
            w.drop_jobs(now);
            w.consumer.take()
        } else {
            None
        };
        if let Role::Device(device) = role {
            let i = self.device_index(&device)?;
            self.devices[i].consumer = settings;
        }
        if !resubscribe {
            return Ok(());
        }
        if let Some(consumer) = consumer {
            let rid = self.request_id();
            self.request(conn, ClientFrame::Unsubscribe { id: rid, consumer })?;
        }
        self.subscribe_worker(id)
    }

    /// Applies `policy` to `queue` now (see `Engine::set_queue_policy`):
    /// messages past a new max length or TTL leave at once, to the dead-letter
    /// queue if one is set.
    pub fn set_queue_policy(&mut self, queue: &str, policy: QueuePolicy) -> Result<(), SimError> {
        let stats = self.engine.queue_stats(queue).ok_or_else(|| SimError::UnknownQueue(queue.into()))?;
        let options = QueueOptions {
            max_length: policy.max_length,
            overflow: policy.overflow,
            message_ttl_ms: policy.ttl_ms,
            dead_letter: policy.dead_letter.clone(),
            ..stats.options
        };
        let now = self.now();
        self.facts.policy_queues.insert(queue.into());
        self.engine.set_queue_policy(now, queue, options).map_err(|e| SimError::Engine(e.to_string()))?;
        self.note(LogKind::Queue, None, format!("you set queue {queue}'s policy: {}", policy.describe()));
        self.drain();
        self.facts.policy_changes += 1;
        Ok(())
    }

    /// The limits `queue` has now, as the policy form shows them.
    pub fn queue_policy(&self, queue: &str) -> Option<QueuePolicy> {
        let o = self.engine.queue_stats(queue)?.options;
        Some(QueuePolicy {
            max_length: o.max_length,
            overflow: o.overflow,
            ttl_ms: o.message_ttl_ms,
            dead_letter: o.dead_letter,
        })
    }

    /// Publishes a custom message from the console; returns its message id.
    pub fn publish(&mut self, topic: &str, payload: &str, retain: bool) -> Result<u64, SimError> {
        let before = self.engine.counters().routed;
        self.publish_from(self.console, topic.into(), payload.into(), retain)?;
        // Message ids count publishes from 1, so the last id is the publish count.
        let counters = self.engine.counters();
        let (id, routed) = (counters.published, u32::try_from(counters.routed - before).unwrap_or(u32::MAX));
        self.facts.user_publishes.push((id, topic.into(), routed));
        Ok(id)
    }

    pub(crate) fn subscribe_worker(&mut self, id: WorkerId) -> Result<(), SimError> {
        let w = self.workers.get(&id).ok_or(SimError::UnknownConsumer(id))?;
        let (conn, queue, s) = (w.conn, w.queue.clone(), w.settings);
        let rid = self.request_id();
        let frame =
            ClientFrame::Subscribe { id: rid, queue: Some(queue), topic: None, prefetch: Some(s.prefetch), ack: s.ack };
        self.request(conn, frame)
    }

    /// A consumer finished a job: it acts on the message, then acks it (manual ack).
    pub(crate) fn complete(&mut self, id: WorkerId, delivery: Delivery) {
        let Some(w) = self.workers.get(&id) else { return };
        let (conn, role, ack) = (w.conn, w.role.clone(), w.settings.ack);
        match role {
            Role::Device(device) => self.obey(&device, &delivery),
            Role::Automation(automation) => self.react(&automation, &delivery),
            Role::Extra => {}
        }
        if let (AckMode::Manual, Some(tag)) = (ack, delivery.tag) {
            let _ = self.request(conn, ClientFrame::Ack { tag, multiple: false });
        }
    }

    fn obey(&mut self, device: &str, delivery: &Delivery) {
        let Ok(i) = self.device_index(device) else { return };
        let command = delivery.payload.as_str().unwrap_or("<binary>").to_owned();
        let name = self.devices[i].spec.name.clone();
        if self.devices[i].obey(delivery.payload.as_bytes()) {
            let state = self.devices[i].state.to_string();
            self.note(LogKind::Device, Some(device), format!("{name} obeyed {command} → {state}"));
            let topic = self.devices[i].spec.state_topic();
            self.device_publish(i, topic, state, true);
        } else {
            self.note(
                LogKind::Device,
                Some(device),
                format!("{name} ignored a command it does not understand: {command}"),
            );
        }
    }

    fn react(&mut self, automation: &str, delivery: &Delivery) {
        let Ok(i) = self.automation_index(automation) else { return };
        let rule = self.automations[i].spec.rule;
        let commands = rule.react(delivery.payload.as_bytes(), &|topic| self.retained_json(topic));
        let Some(conn) = self.automations[i].worker.and_then(|w| self.workers.get(&w)).map(|w| w.conn) else { return };
        if commands.is_empty() {
            return;
        }
        self.automations[i].fired += 1;
        for command in commands {
            let text =
                format!("automation {automation} ({}): {} ← {}", rule.describe(), command.topic, command.payload);
            self.note(LogKind::Automation, None, text);
            let _ = self.publish_from(conn, command.topic, command.payload, false);
        }
    }

    /// The retained payload of `topic`, parsed as JSON.
    pub(crate) fn retained_json(&self, topic: &str) -> Option<serde_json::Value> {
        let message = self.engine.retained().find(|m| &*m.topic == topic)?;
        crate::devices::parse_json(message.payload.as_bytes())
    }
}

fn check_prefetch(prefetch: u32) -> Result<(), SimError> {
    if (1..=MAX_PREFETCH).contains(&prefetch) { Ok(()) } else { Err(SimError::InvalidPrefetch(prefetch)) }
}
