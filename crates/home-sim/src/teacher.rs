//! A teacher's tools: declare a queue and bind it to a filter (a `#` queue
//! gets a copy of everything: fan-out), remove a consumer cleanly (not a
//! crash), and start the same scenario again from zero.

use crate::error::SimError;
use crate::log::LogKind;
use crate::simulation::Simulation;
use crate::workers::{Role, WorkerId};
use queue_core::QueueOptions;
use queue_core::protocol::ClientFrame;

/// Longest queue name the bind form accepts.
pub const MAX_QUEUE_NAME: usize = 64;

impl Simulation {
    /// Binds `queue` to the topic `filter` (MQTT wildcards: `+` one level,
    /// `#` the rest), declaring the queue first if it does not exist. A
    /// message then reaches every queue with a matching binding: bind a new
    /// queue to `#` and each message is copied there too. Names are letters,
    /// digits, `.`, `_` and `-`; a refused filter leaves no new queue behind.
    pub fn bind_queue(&mut self, queue: &str, filter: &str) -> Result<(), SimError> {
        check_queue_name(queue)?;
        let fresh = self.engine.queue_stats(queue).is_none();
        if fresh {
            self.declare(self.console, queue, QueueOptions::default())?;
        }
        if let Err(err) = self.bind(self.console, queue, filter) {
            if fresh {
                let id = self.request_id();
                let _ = self.request(self.console, ClientFrame::Delete { id, queue: queue.into(), if_empty: false });
            }
            return Err(err);
        }
        let what =
            if fresh { format!("you declared queue {queue} and bound it") } else { format!("you bound queue {queue}") };
        self.note(LogKind::Control, None, format!("{what} to {filter}: matching messages now get a copy there"));
        Ok(())
    }

    /// Removes a consumer the way a client leaves: it says goodbye, and the
    /// engine puts its unacked messages back at the front of the queue,
    /// marked redelivered, for the others. Only added consumers (and a
    /// scenario's recorders) can go; a device's or automation's consumer
    /// belongs to it (remove the device, pause the automation).
    pub fn remove_consumer(&mut self, id: WorkerId) -> Result<(), SimError> {
        let w = self.workers.get(&id).ok_or(SimError::UnknownConsumer(id))?;
        let (label, queue) = (w.label.clone(), w.queue.clone());
        match &w.role {
            Role::Extra => {}
            Role::Device(d) => return Err(SimError::NotRemovable(label, format!("remove device {d} instead"))),
            Role::Automation(a) => {
                return Err(SimError::NotRemovable(label, format!("pause or remove automation {a} instead")));
            }
        }
        self.note(
            LogKind::Control,
            None,
            format!("you removed {label} from queue {queue}; it said goodbye, its unacked messages go back"),
        );
        self.remove_worker(id, true);
        Ok(())
    }

    /// The same scenario, seed, speed and pause, started again at zero:
    /// no actions, no progress (what Reset shows).
    pub fn restarted(&self) -> Result<Self, SimError> {
        let mut sim = Simulation::new(self.scenario.clone(), self.seed)?;
        sim.set_speed(self.clock.speed())?;
        sim.set_paused(self.clock.paused());
        Ok(sim)
    }
}

fn check_queue_name(name: &str) -> Result<(), SimError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_QUEUE_NAME
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok { Ok(()) } else { Err(SimError::BadQueueName(name.chars().take(MAX_QUEUE_NAME).collect())) }
}
