//! The simulation: queue-core under a virtual clock, with devices publishing,
//! consumers working, and every engine output routed back to its owner. This
//! module holds the state and the run loop; `controls` holds what a learner
//! does, `views` what a page shows.

use crate::automations::Automation;
use crate::clock::Clock;
use crate::devices::Device;
use crate::error::SimError;
use crate::flights::{Flights, Hop};
use crate::history::History;
use crate::log::{Context, EventLog, LogKind};
use crate::rng::Rng;
use crate::scenario::Scenario;
use crate::vecmap::VecMap;
use crate::workers::{Worker, WorkerId};
use queue_core::protocol::{ClientFrame, ServerFrame, Will};
use queue_core::{ConnId, Engine, EngineConfig, Event, Input, Output, QueueOptions};
use std::collections::BTreeSet;
use std::sync::Arc;

/// Most wake-ups at one virtual instant before the loop moves on (a guard
/// against a consumer with zero processing time ping-ponging forever).
const MAX_WAKEUPS_PER_INSTANT: u32 = 100_000;

/// What the simulation knows about one of its connections.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ConnInfo {
    pub label: Arc<str>,
    pub device: Option<Arc<str>>,
    pub worker: Option<WorkerId>,
}

/// Things the learner did, for the lessons' checks.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Consumers crashed.
    pub crashes: u64,
    /// Devices cut off.
    pub cut_offs: u64,
    /// Custom messages published: (message id, topic, queues reached).
    pub user_publishes: Vec<(u64, String, u32)>,
    /// Queue policies changed.
    pub policy_changes: u64,
    /// Queues whose policy the learner set.
    pub policy_queues: BTreeSet<String>,
    /// Messages those queues dead-lettered for their TTL or max length.
    pub policy_dead_letters: u64,
    /// Messages a crashed consumer held unacked (message id, its label),
    /// until another consumer gets them again.
    pub crash_unacked: VecMap<u64, String>,
    /// Such messages redelivered to another consumer.
    pub crash_redeliveries: u64,
}

/// A running smart home. Build it with [`Simulation::new`], move time with
/// [`Simulation::advance`] (virtual ms) or [`Simulation::step`] (real ms at
/// the clock's speed), change it with the controls, read it with the views.
#[derive(Debug)]
pub struct Simulation {
    pub(crate) scenario: Scenario,
    pub(crate) seed: u64,
    pub(crate) engine: Engine,
    pub(crate) clock: Clock,
    pub(crate) rng: Rng,
    pub(crate) devices: Vec<Device>,
    pub(crate) automations: Vec<Automation>,
    pub(crate) workers: VecMap<WorkerId, Worker>,
    pub(crate) conns: VecMap<ConnId, ConnInfo>,
    /// Device queue names (a set: the values are `()`).
    pub(crate) device_queues: VecMap<Arc<str>, ()>,
    pub(crate) console: ConnId,
    pub(crate) log: EventLog,
    pub(crate) history: History,
    pub(crate) flights: Flights,
    pub(crate) facts: Facts,
    /// What the learner did, with virtual times (for the URL hash).
    pub(crate) journal: Vec<(u64, crate::journal::Action)>,
    /// Lessons done, in teaching order: set by the checks, never cleared.
    pub(crate) lessons_done: Vec<bool>,
    /// Counts device changes: each change stamps the device with the next value.
    epoch: u64,
    /// Bumped when a device or a queue comes or goes.
    layout_version: u64,
    /// Status and state topics → the device that owns them.
    pub(crate) device_topics: VecMap<Arc<str>, Arc<str>>,
    next_conn: ConnId,
    pub(crate) next_worker: WorkerId,
    next_request: u64,
    acting: Option<ConnId>,
    refusals: Vec<(ConnId, String)>,
    pub(crate) next_sample_at: u64,
    /// Where a link's replay starts (see [`crate::checkpoint`]).
    pub(crate) checkpoint: crate::checkpoint::Checkpoint,
    /// The guided tour's step while it is on.
    pub(crate) tour: Option<usize>,
}

impl Simulation {
    /// Starts `scenario` at virtual time 0 with `seed`: declares its queues,
    /// connects every device (which announce themselves online), and attaches
    /// automations and consumers.
    pub fn new(scenario: Scenario, seed: u64) -> Result<Self, SimError> {
        let config = EngineConfig { observe: true, ..EngineConfig::default() };
        let mut sim = Self {
            scenario: scenario.clone(),
            seed,
            engine: Engine::new(config),
            clock: Clock::default(),
            rng: Rng::new(seed),
            devices: Vec::new(),
            automations: Vec::new(),
            workers: VecMap::new(),
            conns: VecMap::new(),
            device_queues: VecMap::new(),
            console: 0,
            log: EventLog::default(),
            history: History::default(),
            flights: Flights::default(),
            facts: Facts::default(),
            journal: Vec::new(),
            lessons_done: vec![false; crate::lessons::lessons().len()],
            epoch: 0,
            layout_version: 0,
            device_topics: VecMap::new(),
            next_conn: 1,
            next_worker: 1,
            next_request: 1,
            acting: None,
            refusals: Vec::new(),
            next_sample_at: 1000,
            checkpoint: Default::default(),
            tour: None,
        };
        sim.console = sim.open_conn("console", None, None)?;
        for q in &scenario.queues {
            sim.declare(sim.console, &q.name, q.options.clone())?;
            for filter in &q.bindings {
                sim.bind(sim.console, &q.name, filter)?;
            }
        }
        for spec in scenario.devices {
            sim.add_device(spec)?;
        }
        for spec in scenario.automations {
            sim.add_automation(spec)?;
        }
        for (queue, settings) in scenario.consumers {
            sim.add_consumer_with(&queue, settings)?;
        }
        Ok(sim)
    }

    /// Virtual time (ms since start).
    pub fn now(&self) -> u64 {
        self.clock.now()
    }

    /// Moves virtual time forward by `dt_ms`: devices publish when due,
    /// consumers finish work and ack, engine timers (TTL) fire, and the
    /// history closes each second. Animation hints cover this call only.
    pub fn advance(&mut self, dt_ms: u64) {
        self.flights.begin_step();
        let target = self.now().saturating_add(dt_ms);
        let (mut last, mut same) = (u64::MAX, 0u32);
        while let Some(t) = self.next_wakeup().filter(|t| *t <= target) {
            same = if t == last { same + 1 } else { 0 };
            if same > MAX_WAKEUPS_PER_INSTANT {
                break;
            }
            last = t;
            self.clock.set_now(t);
            self.run_due(t);
        }
        self.clock.set_now(target);
        self.flights.end_step();
    }

    /// Advances by `real_ms` of wall time at the clock's speed (nothing while
    /// paused): what a page calls on each animation frame.
    pub fn step(&mut self, real_ms: f64) {
        let dt = self.clock.virtual_elapsed(real_ms);
        self.advance(dt);
    }

    fn next_wakeup(&self) -> Option<u64> {
        let engine = self.engine.next_deadline();
        let jobs = self.workers.values().filter_map(Worker::next_done).min();
        let devices = self.devices.iter().map(|d| d.next_publish_at).filter(|t| *t != u64::MAX).min();
        [engine, jobs, devices, Some(self.next_sample_at)].into_iter().flatten().min()
    }

    fn run_due(&mut self, now: u64) {
        if self.engine.next_deadline().is_some_and(|at| at <= now) {
            self.input(Input::Tick, None);
        }
        self.finish_jobs(now);
        self.publish_due(now);
        if now >= self.next_sample_at {
            self.history.sample(self.next_sample_at / 1000, &self.engine.stats());
            self.next_sample_at += 1000;
            self.check_lessons();
            self.maybe_checkpoint(now);
        }
    }

    fn finish_jobs(&mut self, now: u64) {
        let ids: Vec<WorkerId> = self.workers.keys().copied().collect();
        for id in ids {
            while let Some(delivery) = self.workers.get_mut(&id).and_then(|w| w.finish(now)) {
                self.complete(id, delivery);
            }
        }
    }

    fn publish_due(&mut self, now: u64) {
        let heating = self.heating();
        for i in 0..self.devices.len() {
            if self.devices[i].next_publish_at > now {
                continue;
            }
            let payload = self.devices[i].read(&mut self.rng, heating);
            let topic = self.devices[i].spec.state_topic();
            self.device_publish(i, topic, payload, true);
            self.devices[i].schedule(now, &mut self.rng);
        }
    }

    /// Whether the thermostat is heating (the temperature sensors feel it).
    fn heating(&self) -> bool {
        self.devices.iter().any(|d| d.spec.kind == crate::devices::DeviceKind::Thermostat && d.state["heating"] == true)
    }

    /// Stamps device `i` as changed (its card needs redrawing).
    pub(crate) fn touch(&mut self, i: usize) {
        self.epoch += 1;
        self.devices[i].version = self.epoch;
    }

    /// Devices or queues came or went: the drawing's layout changes.
    pub(crate) fn relayout(&mut self) {
        self.layout_version += 1;
    }

    /// The latest device change stamp: pass it to [`Simulation::devices_since`] next time.
    pub fn device_epoch(&self) -> u64 {
        self.epoch
    }

    /// Changes each time a device or a queue is added or removed, so a page
    /// recomputes its layout only then.
    pub fn layout_version(&self) -> u64 {
        self.layout_version
    }

    /// Publishes from device `i`'s connection and marks it active.
    pub(crate) fn device_publish(&mut self, i: usize, topic: String, payload: String, retain: bool) {
        let Some(conn) = self.devices[i].conn else { return };
        self.devices[i].last_activity = Some(self.now());
        self.touch(i);
        self.devices[i].published += 1;
        // A device's own topics are valid; a refusal is logged by `on_frame`.
        let _ = self.publish_from(conn, topic, payload, retain);
    }

    pub(crate) fn publish_from(
        &mut self,
        conn: ConnId,
        topic: String,
        payload: String,
        retain: bool,
    ) -> Result<(), SimError> {
        let (headers, payload) = (Default::default(), payload.into());
        let frame = ClientFrame::Publish {
            id: None,
            topic: Some(topic.into()),
            queue: None,
            payload,
            headers,
            retain,
            ttl_ms: None,
        };
        self.request(conn, frame)
    }

    /// Opens a connection and says hello (with a last will, for devices).
    pub(crate) fn open_conn(
        &mut self,
        label: &str,
        device: Option<&str>,
        will: Option<Will>,
    ) -> Result<ConnId, SimError> {
        let conn = self.next_conn;
        self.next_conn += 1;
        let info = ConnInfo { label: label.into(), device: device.map(Arc::from), worker: None };
        self.conns.insert(conn, info);
        self.input(Input::Connect { conn }, Some(conn));
        let hello = ClientFrame::Hello { id: None, client_id: Some(label.into()), keep_alive_ms: 0, will };
        self.request(conn, hello)?;
        Ok(conn)
    }

    /// The connection is lost without goodbye (or with one, if `clean`).
    pub(crate) fn close_conn(&mut self, conn: ConnId, clean: bool) {
        if clean {
            let _ = self.request(conn, ClientFrame::Bye);
        } else {
            self.input(Input::Disconnect { conn }, Some(conn));
        }
        self.conns.remove(&conn);
    }

    pub(crate) fn declare(&mut self, conn: ConnId, queue: &str, options: QueueOptions) -> Result<(), SimError> {
        let id = self.request_id();
        self.request(conn, ClientFrame::Declare { id, queue: queue.into(), options })
    }

    pub(crate) fn bind(&mut self, conn: ConnId, queue: &str, filter: &str) -> Result<(), SimError> {
        let id = self.request_id();
        self.request(conn, ClientFrame::Bind { id, queue: queue.into(), filter: filter.into(), retained: false })
    }

    pub(crate) fn request_id(&mut self) -> u64 {
        self.next_request += 1;
        self.next_request
    }

    /// Sends a frame on `conn`; an error frame back to `conn` becomes `Err`.
    pub(crate) fn request(&mut self, conn: ConnId, frame: ClientFrame) -> Result<(), SimError> {
        self.refusals.clear();
        self.input(Input::Frame { conn, frame }, Some(conn));
        match self.refusals.drain(..).find(|(c, _)| *c == conn) {
            Some((_, message)) => Err(SimError::Engine(message)),
            None => Ok(()),
        }
    }

    pub(crate) fn input(&mut self, input: Input, actor: Option<ConnId>) {
        self.acting = actor;
        self.engine.handle(self.now(), input);
        self.drain();
        self.acting = None;
    }

    /// Routes every pending engine output to its owner.
    pub(crate) fn drain(&mut self) {
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Send { conn, frame } => self.on_frame(conn, frame),
                Output::Event(event) => self.on_event(event),
                Output::Close { .. } | Output::Store(_) | Output::Blocked(_) | Output::Denied(_) => {}
            }
        }
    }

    fn on_frame(&mut self, conn: ConnId, frame: ServerFrame) {
        let now = self.now();
        let worker = self.conns.get(&conn).and_then(|c| c.worker);
        match frame {
            ServerFrame::Deliver(d) if !d.retained => {
                if let Some(w) = worker.and_then(|w| self.workers.get_mut(&w)) {
                    w.accept(d, now);
                }
                self.pulse(conn);
            }
            ServerFrame::Subscribed { consumer, .. } => {
                if let Some(w) = worker.and_then(|w| self.workers.get_mut(&w)) {
                    w.consumer = Some(consumer);
                }
            }
            ServerFrame::Cancelled { consumer, .. } => {
                self.workers.values_mut().filter(|w| w.consumer == Some(consumer)).for_each(|w| w.consumer = None);
            }
            ServerFrame::Error { message, .. } => {
                let who = self.conns.get(&conn).map_or_else(|| format!("connection {conn}"), |c| c.label.to_string());
                self.log.text(now, LogKind::Error, (None, None), format!("{who} was refused: {message}"));
                self.refusals.push((conn, message));
            }
            _ => {}
        }
    }

    /// Marks the device behind `conn` as active now.
    fn pulse(&mut self, conn: ConnId) {
        let Some(device) = self.conns.get(&conn).and_then(|c| c.device.clone()) else { return };
        let now = self.now();
        if let Some(i) = self.devices.iter().position(|d| *d.spec.id == *device) {
            self.devices[i].last_activity = Some(now);
            self.touch(i);
        }
    }

    fn on_event(&mut self, event: Event) {
        let now = self.now();
        match &event {
            Event::Retained { topic, .. } => {
                let owner = self.device_topics.get(topic).cloned();
                if let Some(i) = owner.and_then(|id| self.device_index(&id).ok()) {
                    self.touch(i);
                }
            }
            Event::QueueDeclared { .. } | Event::QueueDeleted { .. } => self.relayout(),
            Event::Delivered { message_id, conn, redelivered: true, .. } => self.note_redelivery(*message_id, *conn),
            Event::DeadLettered { queue, reason, .. } => {
                let by_policy = matches!(reason, queue_core::DeathReason::Expired | queue_core::DeathReason::MaxLength);
                if by_policy && self.facts.policy_queues.contains(&**queue) {
                    self.facts.policy_dead_letters += 1;
                }
            }
            _ => {}
        }
        let cx = self.context(&event);
        self.record_flight(now, &event, &cx);
        self.log.event(now, event, cx);
    }

    /// A message a crashed consumer held reached `conn`: it counts for the
    /// redelivery lesson if `conn` belongs to someone else.
    fn note_redelivery(&mut self, message_id: u64, conn: ConnId) {
        let Some(crashed) = self.facts.crash_unacked.get(&message_id) else { return };
        if self.conns.get(&conn).is_some_and(|c| *c.label != **crashed) {
            self.facts.crash_unacked.remove(&message_id);
            self.facts.crash_redeliveries += 1;
        }
    }

    /// Who and what an engine event is about.
    fn context(&self, event: &Event) -> Context {
        use Event::*;
        let conn = match event {
            Connected { conn } | Disconnected { conn, .. } | WillPublished { conn, .. } => Some(*conn),
            Delivered { conn, .. } | ConsumerAdded { conn, .. } => Some(*conn),
            Published { .. } | Unroutable { .. } => self.acting,
            _ => None,
        };
        let info = conn.and_then(|c| self.conns.get(&c));
        let queue = match event {
            Enqueued { queue, .. } | Delivered { queue, .. } | Acked { queue, .. } | Requeued { queue, .. } => {
                Some(queue)
            }
            DeadLettered { queue, .. } | Dropped { queue, .. } | Refused { queue, .. } => Some(queue),
            ConsumerAdded { queue, .. } | ConsumerRemoved { queue, .. } => Some(queue),
            _ => None,
        };
        let device = info
            .and_then(|i| i.device.clone())
            .or_else(|| queue.and_then(|q| self.device_queues.get_key_value(q).map(|(k, ())| k.clone())));
        let note = match event {
            DeadLettered { queue, reason: queue_core::DeathReason::Expired, .. }
            | Dropped { queue, reason: queue_core::DeathReason::Expired, .. } => self.ttl_note(queue),
            Published { message_id, .. } => {
                let queues = self.log.routed_queues(*message_id);
                (!queues.is_empty()).then(|| format!("({})", queues.join(", ")))
            }
            _ => None,
        };
        Context { actor: info.map(|i| i.label.clone()), device, note }
    }

    fn ttl_note(&self, queue: &str) -> Option<String> {
        let ttl = self.engine.queue_stats(queue)?.options.message_ttl_ms?;
        Some(format!("after {} TTL", crate::views::seconds(ttl)))
    }

    fn record_flight(&mut self, now: u64, event: &Event, cx: &Context) {
        use Event::*;
        let (id, hop) = match event {
            Published { message_id, topic, .. } | Unroutable { message_id, topic } => {
                let from = cx.actor.clone().unwrap_or_else(|| "console".into());
                (*message_id, Hop::Publish { from, topic: topic.clone() })
            }
            Enqueued { queue, message_id } => (*message_id, Hop::Route { queue: queue.clone() }),
            Delivered { queue, message_id, redelivered, .. } => {
                let to = cx.actor.clone().unwrap_or_else(|| "consumer".into());
                (*message_id, Hop::Deliver { queue: queue.clone(), to, redelivered: *redelivered })
            }
            Requeued { queue, message_id } => (*message_id, Hop::Requeue { queue: queue.clone() }),
            DeadLettered { queue, to, message_id, .. } => {
                (*message_id, Hop::DeadLetter { from: queue.clone(), to: to.clone() })
            }
            Dropped { queue, message_id, .. } | Refused { queue, message_id } => {
                (*message_id, Hop::Drop { queue: queue.clone() })
            }
            _ => return,
        };
        self.flights.push(now, id, hop);
    }
}
