//! The house's members over time: adding, removing, cutting off and
//! reconnecting devices, and adding, pausing and removing automations.

use crate::automations::{Automation, AutomationSpec};
use crate::devices::{Device, DeviceKind, DeviceSpec, MAX_RATE};
use crate::error::SimError;
use crate::log::LogKind;
use crate::simulation::Simulation;
use crate::workers::{Role, Worker, WorkerId};
use queue_core::protocol::{ClientFrame, Will};
use queue_core::{ConnId, QueueOptions};
use std::sync::Arc;

impl Simulation {
    /// Adds a device and brings it online: it connects with a last will
    /// (`offline`, retained, on its status topic), publishes `online` and its
    /// state (retained), and, if it obeys commands, consumes its own queue
    /// (named after its id, bound to its `set` topic).
    pub fn add_device(&mut self, spec: DeviceSpec) -> Result<(), SimError> {
        if self.devices.iter().any(|d| d.spec.id == spec.id) {
            return Err(SimError::DuplicateId(spec.id));
        }
        check_rate(spec.rate)?;
        let mut device = Device::new(spec, &mut self.rng);
        device.consumer = self.scenario.device_consumer;
        let (id, spec) = (Arc::<str>::from(device.spec.id.as_str()), &device.spec);
        for topic in [spec.status_topic(), spec.state_topic()] {
            self.device_topics.insert(topic.into(), id.clone());
        }
        self.devices.push(device);
        self.relayout();
        let i = self.devices.len() - 1;
        let started = self.start_device(i);
        if started.is_err() {
            self.devices.pop();
            self.device_topics.retain(|_, owner| *owner != id);
        }
        started
    }

    /// Adds a device of `kind` to `room` (lower-case letters, digits and
    /// `-`) and brings it online; returns its id. Ids and topics follow the
    /// room and kind (`garage-light`, `home/garage/light`), numbered from 2
    /// when either is taken (`kitchen-light-2`, `home/kitchen/light-2`).
    pub fn add_device_to(&mut self, kind: DeviceKind, room: &str) -> Result<String, SimError> {
        let valid = !room.is_empty() && room.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !valid {
            return Err(SimError::BadRoom(room.chars().take(64).collect()));
        }
        let (id, base) = (format!("{room}-{}", kind.as_str()), format!("home/{room}/{}", kind.as_str()));
        let taken = |n| {
            let (id, base) = (numbered(&id, n), numbered(&base, n));
            self.devices.iter().any(|d| d.spec.id == id || d.spec.base == base)
        };
        let n = (1..).find(|n| !taken(*n)).unwrap_or(1);
        let (id, base) = (numbered(&id, n), numbered(&base, n));
        let mut name = format!("{} {}", capitalised(room), kind.as_str());
        if n > 1 {
            name = format!("{name} {n}");
        }
        self.add_device(DeviceSpec::new(&id, &name, room, kind, &base, kind.default_rate()))?;
        let text = format!("{name} was added to the house, publishing on {base}");
        self.note(LogKind::Device, Some(&id), text);
        Ok(id)
    }

    /// Removes a device cleanly: it says goodbye (no last will), its retained
    /// state and status are cleared and its command queue deleted.
    pub fn remove_device(&mut self, id: &str) -> Result<(), SimError> {
        let i = self.device_index(id)?;
        let spec = self.devices[i].spec.clone();
        self.stop_device(i, true);
        for topic in [spec.status_topic(), spec.state_topic()] {
            let _ = self.publish_from(self.console, topic, String::new(), true);
        }
        if spec.kind.obeys_commands() {
            let id = self.request_id();
            let _ = self.request(self.console, ClientFrame::Delete { id, queue: spec.id.clone(), if_empty: false });
            self.device_queues.remove(spec.id.as_str());
        }
        self.devices.remove(i);
        self.device_topics.retain(|_, owner| **owner != *spec.id);
        self.relayout();
        self.note(LogKind::Device, Some(&spec.id), format!("{} was removed from the house", spec.name));
        Ok(())
    }

    /// Cuts a device off: its connection drops without goodbye, so the engine
    /// publishes its last will and its card turns offline.
    pub fn cut_off(&mut self, id: &str) -> Result<(), SimError> {
        let i = self.device_index(id)?;
        if self.devices[i].conn.is_none() {
            return Err(SimError::DeviceAlready(id.into(), "offline"));
        }
        self.facts.cut_offs += 1;
        let name = self.devices[i].spec.name.clone();
        self.note(LogKind::Control, Some(id), format!("you cut {name} off the network"));
        self.stop_device(i, false);
        Ok(())
    }

    /// Brings a cut-off device back: it reconnects and announces itself online.
    pub fn reconnect(&mut self, id: &str) -> Result<(), SimError> {
        let i = self.device_index(id)?;
        if self.devices[i].conn.is_some() {
            return Err(SimError::DeviceAlready(id.into(), "online"));
        }
        let name = self.devices[i].spec.name.clone();
        self.note(LogKind::Control, Some(id), format!("{name} reconnects"));
        self.start_device(i)
    }

    /// Sets a device's periodic publish rate (messages per simulated second; 0 = only on change).
    pub fn set_device_rate(&mut self, id: &str, rate: f64) -> Result<(), SimError> {
        check_rate(rate)?;
        let i = self.device_index(id)?;
        self.devices[i].spec.rate = rate;
        self.touch(i);
        let now = self.now();
        self.devices[i].schedule(now, &mut self.rng);
        Ok(())
    }

    /// Adds an automation: a consumer on its own queue `auto-<id>`, bound to its trigger.
    pub fn add_automation(&mut self, spec: AutomationSpec) -> Result<(), SimError> {
        if self.automations.iter().any(|a| a.spec.id == spec.id) {
            return Err(SimError::DuplicateId(spec.id));
        }
        let queue = spec.queue();
        let options = self.current_options(&queue);
        self.declare(self.console, &queue, options)?;
        self.bind(self.console, &queue, spec.rule.trigger())?;
        self.automations.push(Automation { spec, worker: None, fired: 0 });
        self.resume_automation(&self.automations[self.automations.len() - 1].spec.id.clone())
    }

    /// Pauses an automation: its consumer unsubscribes (unacked triggers go
    /// back to its queue) and triggers pile up in the queue until resumed.
    pub fn pause_automation(&mut self, id: &str) -> Result<(), SimError> {
        let i = self.automation_index(id)?;
        if let Some(worker) = self.automations[i].worker.take() {
            self.remove_worker(worker, true);
        }
        Ok(())
    }

    /// Resumes a paused automation (a no-op if it is running).
    pub fn resume_automation(&mut self, id: &str) -> Result<(), SimError> {
        let i = self.automation_index(id)?;
        if self.automations[i].worker.is_some() {
            return Ok(());
        }
        let queue = self.automations[i].spec.queue();
        let (role, settings) = (Role::Automation(id.into()), self.scenario.automation_consumer);
        let worker = self.spawn_worker(&format!("automation {id}"), role, &queue, None, settings)?;
        self.automations[i].worker = Some(worker);
        Ok(())
    }

    /// Removes an automation and deletes its queue.
    pub fn remove_automation(&mut self, id: &str) -> Result<(), SimError> {
        self.pause_automation(id)?;
        let i = self.automation_index(id)?;
        let automation = self.automations.remove(i);
        let rid = self.request_id();
        let _ = self
            .request(self.console, ClientFrame::Delete { id: rid, queue: automation.spec.queue(), if_empty: false });
        Ok(())
    }

    /// Starts a worker consuming `queue`, on `conn` or a connection of its own.
    pub(crate) fn spawn_worker(
        &mut self,
        label: &str,
        role: Role,
        queue: &str,
        conn: Option<ConnId>,
        settings: crate::workers::ConsumerSettings,
    ) -> Result<WorkerId, SimError> {
        let own = conn.is_none();
        let conn = match conn {
            Some(conn) => conn,
            None => self.open_conn(label, None, None)?,
        };
        let id = self.next_worker;
        self.next_worker += 1;
        self.workers.insert(id, Worker::new(id, label.into(), role, queue.into(), conn, settings));
        if let Some(info) = self.conns.get_mut(&conn) {
            info.worker = Some(id);
        }
        if let Err(err) = self.subscribe_worker(id) {
            self.workers.remove(&id);
            if own {
                self.close_conn(conn, true);
            }
            return Err(err);
        }
        Ok(id)
    }

    /// Removes a worker: gracefully (unsubscribe, close) or by crashing its connection.
    pub(crate) fn remove_worker(&mut self, id: WorkerId, graceful: bool) {
        let Some(w) = self.workers.remove(&id) else { return };
        let shares_device = self.conns.get(&w.conn).is_some_and(|c| c.device.is_some());
        if shares_device && graceful {
            if let Some(consumer) = w.consumer {
                let rid = self.request_id();
                let _ = self.request(w.conn, ClientFrame::Unsubscribe { id: rid, consumer });
            }
            if let Some(info) = self.conns.get_mut(&w.conn) {
                info.worker = None;
            }
        } else {
            self.close_conn(w.conn, graceful);
        }
    }

    fn start_device(&mut self, i: usize) -> Result<(), SimError> {
        let spec = self.devices[i].spec.clone();
        let will = Will {
            topic: spec.status_topic(),
            payload: "offline".into(),
            retain: true,
            headers: Default::default(),
            delay_ms: 0,
        };
        let conn = self.open_conn(&spec.id, Some(&spec.id), Some(will))?;
        self.devices[i].conn = Some(conn);
        self.touch(i);
        self.device_publish(i, spec.status_topic(), "online".into(), true);
        let state = self.devices[i].state.to_string();
        self.device_publish(i, spec.state_topic(), state, true);
        if spec.kind.obeys_commands() {
            let options = self.current_options(&spec.id);
            self.declare(conn, &spec.id, options)?;
            self.bind(conn, &spec.id, &spec.command_topic())?;
            self.device_queues.insert(spec.id.as_str().into(), ());
            let settings = self.devices[i].consumer;
            let worker = self.spawn_worker(&spec.id, Role::Device(spec.id.clone()), &spec.id, Some(conn), settings)?;
            self.devices[i].worker = Some(worker);
        }
        let now = self.now();
        self.devices[i].schedule(now, &mut self.rng);
        Ok(())
    }

    fn stop_device(&mut self, i: usize, clean: bool) {
        if let Some(worker) = self.devices[i].worker.take().and_then(|w| self.workers.remove(&w)) {
            self.devices[i].consumer = worker.settings;
        }
        if let Some(conn) = self.devices[i].conn.take() {
            self.close_conn(conn, clean);
        }
        self.touch(i);
        self.devices[i].next_publish_at = u64::MAX;
    }

    /// A queue's options now, or the defaults for a new queue (so a
    /// re-declare after a policy change is not refused as different).
    pub(crate) fn current_options(&self, queue: &str) -> QueueOptions {
        self.engine.queue_stats(queue).map(|q| q.options).unwrap_or_default()
    }

    pub(crate) fn device_index(&self, id: &str) -> Result<usize, SimError> {
        self.devices.iter().position(|d| d.spec.id == id).ok_or_else(|| SimError::UnknownDevice(id.into()))
    }

    pub(crate) fn automation_index(&self, id: &str) -> Result<usize, SimError> {
        self.automations.iter().position(|a| a.spec.id == id).ok_or_else(|| SimError::UnknownAutomation(id.into()))
    }

    /// Logs a simulation-level line about `device` (if any).
    pub(crate) fn note(&mut self, kind: LogKind, device: Option<&str>, text: String) {
        let now = self.now();
        self.log.text(now, kind, (None, device), text);
    }
}

/// `name` for the first, `name-n` for the n-th.
fn numbered(name: &str, n: usize) -> String {
    if n == 1 { name.to_owned() } else { format!("{name}-{n}") }
}

fn capitalised(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

fn check_rate(rate: f64) -> Result<(), SimError> {
    if rate.is_finite() && (0.0..=MAX_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(SimError::InvalidRate { rate, max: MAX_RATE })
    }
}
