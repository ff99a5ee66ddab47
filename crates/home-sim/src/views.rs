//! What a page reads: plain snapshot types built on demand from the engine
//! (queues, retained state) and the simulation (devices, consumers).

use crate::automations::Rule;
use crate::devices::DeviceKind;
use crate::error::SimError;
use crate::flights::Flights;
use crate::history::{Bucket, History};
use crate::log::{EventLog, LogFilter};
use crate::simulation::{Facts, Simulation};
use crate::workers::{ConsumerSettings, WorkerId};
use queue_core::{QueueCounters, QueueOptions, StatsSnapshot};

/// Longest payload shown on a message chip, in characters.
const CHIP_PAYLOAD: usize = 40;

/// One device's card.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceView {
    /// Id (also its command queue's name).
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Room.
    pub room: String,
    /// Kind.
    pub kind: DeviceKind,
    /// Online according to its retained status (its last will says offline).
    pub online: bool,
    /// Whether its connection is open (the simulator's truth, for controls).
    pub connected: bool,
    /// Its retained state, as published (`{"locked":true}`).
    pub state: Option<String>,
    /// Last time it sent or received a message (virtual ms): pulse when recent.
    pub last_activity_ms: Option<u64>,
    /// Periodic publishes per simulated second.
    pub rate: f64,
    /// Where it publishes its state.
    pub state_topic: String,
    /// Its command consumer, if it obeys commands and is online.
    pub consumer: Option<WorkerId>,
}

/// One message in a queue, drawn as a chip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageChip {
    /// Engine-wide message id.
    pub message_id: u64,
    /// Its topic.
    pub topic: String,
    /// The payload, shortened to 40 characters.
    pub payload: String,
    /// Delivered before (it came back unacked).
    pub redelivered: bool,
}

/// One consumer of a queue, with its prefetch window.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumerView {
    /// The simulation's consumer id, for controls.
    pub worker: Option<WorkerId>,
    /// The engine's consumer id.
    pub consumer: u64,
    /// Who it is: a device id, `automation climate`, `worker 7`.
    pub label: String,
    /// Prefetch, ack mode and processing time.
    pub settings: ConsumerSettings,
    /// Unacked deliveries (message id, redelivered), oldest first: the window's filled slots.
    pub unacked: Vec<(u64, bool)>,
    /// Deliveries it received.
    pub delivered: u64,
}

/// One queue, drawn as a FIFO.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueView {
    /// Name.
    pub name: String,
    /// Bindings.
    pub bindings: Vec<String>,
    /// Options now (policies included).
    pub options: QueueOptions,
    /// The first ready messages, in delivery order.
    pub ready: Vec<MessageChip>,
    /// Ready messages in all.
    pub ready_total: u64,
    /// Unacked messages in all.
    pub unacked_total: u64,
    /// Consumers in round-robin order.
    pub consumers: Vec<ConsumerView>,
    /// Counters since declared.
    pub counters: QueueCounters,
}

/// One automation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomationView {
    /// Id.
    pub id: String,
    /// Its rule.
    pub rule: Rule,
    /// What it does, in words.
    pub description: &'static str,
    /// Its queue.
    pub queue: String,
    /// Its consumer while running; `None` while paused.
    pub consumer: Option<WorkerId>,
    /// Times it published commands.
    pub fired: u64,
}

/// Everything, for comparing two runs (determinism) or a debug view.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSnapshot {
    /// Virtual time.
    pub now_ms: u64,
    /// Engine stats.
    pub stats: StatsSnapshot,
    /// Devices.
    pub devices: Vec<DeviceView>,
    /// Queues (first 50 ready messages each).
    pub queues: Vec<QueueView>,
    /// Automations.
    pub automations: Vec<AutomationView>,
    /// The log's lines.
    pub log: Vec<String>,
}

impl Simulation {
    /// Every device's card, in the order they were added.
    pub fn devices(&self) -> Vec<DeviceView> {
        self.devices.iter().map(|d| self.device_view(d)).collect()
    }

    /// One device's card.
    pub fn device(&self, id: &str) -> Result<DeviceView, SimError> {
        self.device_index(id).map(|i| self.device_view(&self.devices[i]))
    }

    /// The cards of the devices changed since stamp `epoch` (see
    /// [`Simulation::device_epoch`]): what a page redraws each frame.
    pub fn devices_since(&self, epoch: u64) -> Vec<DeviceView> {
        self.devices.iter().filter(|d| d.version > epoch).map(|d| self.device_view(d)).collect()
    }

    fn device_view(&self, d: &crate::devices::Device) -> DeviceView {
        let (status_topic, state_topic) = (d.spec.status_topic(), d.spec.state_topic());
        let (mut status, mut state) = (None, None);
        for m in self.engine.retained() {
            if *m.topic == *status_topic {
                status = m.payload.as_str();
            } else if *m.topic == *state_topic {
                state = m.payload.as_str().map(str::to_owned);
            }
        }
        DeviceView {
            id: d.spec.id.clone(),
            name: d.spec.name.clone(),
            room: d.spec.room.clone(),
            kind: d.spec.kind,
            online: status == Some("online"),
            connected: d.conn.is_some(),
            state,
            last_activity_ms: d.last_activity,
            rate: d.spec.rate,
            state_topic,
            consumer: d.worker,
        }
    }

    /// Names of every queue, sorted.
    pub fn queue_names(&self) -> Vec<String> {
        self.engine.stats().queues.into_iter().map(|q| q.name).collect()
    }

    /// One queue's ready and unacked messages and its consumer count (zeros
    /// for an unknown queue): what a queue row in the drawing shows.
    pub fn queue_depth(&self, name: &str) -> (u64, u64, u64) {
        self.engine.queue_stats(name).map_or((0, 0, 0), |q| (q.ready, q.unacked, q.consumers))
    }

    /// One queue with its first `limit` ready messages.
    pub fn queue(&self, name: &str, limit: usize) -> Result<QueueView, SimError> {
        let unknown = || SimError::UnknownQueue(name.into());
        let stats = self.engine.queue_stats(name).ok_or_else(unknown)?;
        let contents = self.engine.queue_contents(name, limit).ok_or_else(unknown)?;
        let ready = contents
            .ready
            .iter()
            .map(|r| MessageChip {
                message_id: r.message.id,
                topic: r.message.topic.to_string(),
                payload: shorten(r.message.payload.as_str().unwrap_or("<binary>")),
                redelivered: r.delivery_count > 0,
            })
            .collect();
        let consumers = contents.consumers.iter().map(|c| self.consumer_view(c)).collect();
        Ok(QueueView {
            name: stats.name,
            bindings: stats.bindings,
            options: stats.options,
            ready,
            ready_total: contents.ready_total,
            unacked_total: stats.unacked,
            consumers,
            counters: stats.counters,
        })
    }

    fn consumer_view(&self, c: &queue_core::ConsumerContents) -> ConsumerView {
        let worker = self.workers.values().find(|w| w.consumer == Some(c.id));
        let label = worker.map_or_else(|| format!("consumer {}", c.id), |w| w.label.clone());
        let settings =
            worker.map_or(ConsumerSettings { prefetch: c.prefetch, ack: c.ack, processing_ms: 0 }, |w| w.settings);
        ConsumerView {
            worker: worker.map(|w| w.id),
            consumer: c.id,
            label,
            settings,
            unacked: c.unacked.iter().map(|(_, id, again)| (*id, *again)).collect(),
            delivered: worker.map_or(0, |w| w.delivered),
        }
    }

    /// Every automation.
    pub fn automations(&self) -> Vec<AutomationView> {
        self.automations
            .iter()
            .map(|a| AutomationView {
                id: a.spec.id.clone(),
                rule: a.spec.rule,
                description: a.spec.rule.describe(),
                queue: a.spec.queue(),
                consumer: a.worker,
                fired: a.fired,
            })
            .collect()
    }

    /// The engine's counters and per-queue stats.
    pub fn stats(&self) -> StatsSnapshot {
        self.engine.stats()
    }

    /// The event log.
    pub fn log(&self) -> &EventLog {
        &self.log
    }

    /// Message `id`'s journey, as far back as the log reaches (see [`crate::journey`]).
    pub fn journey(&self, id: u64) -> Option<crate::journey::Journey> {
        crate::journey::journey(&self.log, id)
    }

    /// The log's lines passing `filter`, newest last.
    pub fn log_lines(&self, filter: &LogFilter) -> Vec<String> {
        self.log.filtered(filter).map(|e| e.line()).collect()
    }

    /// Per-queue history (last 60 s, 1 s buckets).
    pub fn history(&self) -> &History {
        &self.history
    }

    /// One queue's history buckets, oldest first.
    pub fn queue_history(&self, name: &str) -> Vec<Bucket> {
        self.history.queue(name)
    }

    /// The hops messages made during the last `advance` / `step`.
    pub fn flights(&self) -> &Flights {
        &self.flights
    }

    /// What the learner has done, for lesson checks.
    pub fn facts(&self) -> &Facts {
        &self.facts
    }

    /// The simulation's seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// The scenario's name.
    pub fn scenario_name(&self) -> &str {
        &self.scenario.name
    }

    /// The virtual clock (speed, pause).
    pub fn clock(&self) -> &crate::clock::Clock {
        &self.clock
    }

    /// Sets the speed (0.25×–10×) used by [`Simulation::step`].
    pub fn set_speed(&mut self, speed: f64) -> Result<(), SimError> {
        self.clock.set_speed(speed)
    }

    /// Pauses or resumes [`Simulation::step`] (`advance` still moves time: single-step).
    pub fn set_paused(&mut self, paused: bool) {
        self.clock.set_paused(paused);
    }

    /// Everything at once (the first 50 ready messages of each queue).
    pub fn snapshot(&self) -> SimSnapshot {
        let queues = self.queue_names().iter().filter_map(|n| self.queue(n, 50).ok()).collect();
        SimSnapshot {
            now_ms: self.now(),
            stats: self.stats(),
            devices: self.devices(),
            queues,
            automations: self.automations(),
            log: self.log.entries().map(|e| e.line()).collect(),
        }
    }
}

/// `5000` → `5 s`, `1500` → `1.5 s`, `250` → `250 ms`.
pub fn seconds(ms: u64) -> String {
    match ms {
        ms if ms < 1000 => format!("{ms} ms"),
        ms if ms % 1000 == 0 => format!("{} s", ms / 1000),
        ms => format!("{:.1} s", ms as f64 / 1000.0),
    }
}

fn shorten(text: &str) -> String {
    if text.chars().count() <= CHIP_PAYLOAD {
        return text.to_owned();
    }
    let cut: String = text.chars().take(CHIP_PAYLOAD - 1).collect();
    format!("{cut}…")
}
