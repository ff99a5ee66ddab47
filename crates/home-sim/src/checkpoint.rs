//! Long sessions, short replays: checkpoints. A link replays its journal
//! from time zero, which for a session of hours (or, in a stress scene,
//! minutes) means simulating every message again before the page shows
//! anything. So the simulation takes a checkpoint every
//! [`CHECKPOINT_MESSAGES`] published messages or [`CHECKPOINT_MS`] of
//! virtual time, whichever comes first, and a link carries the latest one
//! (`base=<ms>&done=<lessons>`, see [`crate::hash`]).
//!
//! Opening such a link rebuilds the set-up compactly: the actions before
//! the checkpoint are applied at once at time zero (devices, queues and
//! bindings, consumers and their settings, policies, automations, cut-off
//! devices: everything a learner changed), the clock jumps to the
//! checkpoint, the lessons done by then are restored, and only the actions
//! and time since are simulated. What is not carried is the traffic before
//! the checkpoint (queue contents, counters, charts start again there), so
//! opening a link costs at most one checkpoint interval of simulation
//! however long the session was.

use crate::simulation::Simulation;

/// Messages published since the last checkpoint that make a new one.
pub const CHECKPOINT_MESSAGES: u64 = 20_000;
/// Virtual time since the last checkpoint that makes a new one.
pub const CHECKPOINT_MS: u64 = 60 * 60 * 1000;

/// Where a link's replay starts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    /// Virtual time (ms); 0 = none yet, the link replays from the start.
    pub at_ms: u64,
    /// Messages published by then.
    pub published: u64,
    /// Lessons done by then.
    pub lessons: Vec<bool>,
}

impl Simulation {
    /// The latest checkpoint: its virtual time (0 if none yet) and the
    /// lessons done by then.
    pub fn checkpoint(&self) -> (u64, &[bool]) {
        (self.checkpoint.at_ms, &self.checkpoint.lessons)
    }

    /// Called at each simulated second, after the lessons' checks.
    pub(crate) fn maybe_checkpoint(&mut self, now: u64) {
        let published = self.engine.counters().published;
        let c = &self.checkpoint;
        if published - c.published >= CHECKPOINT_MESSAGES || now - c.at_ms >= CHECKPOINT_MS {
            self.checkpoint = Checkpoint { at_ms: now, published, lessons: self.lessons_done.clone() };
        }
    }

    /// Makes `at_ms` the time now without simulating up to it, with
    /// `lessons` done: what opening a link at a checkpoint does after the
    /// set-up. Devices schedule their next publish from then; timers and
    /// work due before it run at the next step.
    pub(crate) fn resume_at(&mut self, at_ms: u64, lessons: &[bool]) {
        self.clock.set_now(at_ms);
        self.next_sample_at = at_ms + 1000;
        for device in &mut self.devices {
            if device.next_publish_at != u64::MAX {
                device.schedule(at_ms, &mut self.rng);
            }
        }
        for (done, was) in self.lessons_done.iter_mut().zip(lessons.iter().chain(std::iter::repeat(&false))) {
            *done = *was;
        }
        // What the set-up's replay did is not what the sender did: its
        // events' lesson outcomes come from `lessons`; only which queues
        // have a learner's policy is set-up.
        let policy_queues = std::mem::take(&mut self.facts.policy_queues);
        self.facts = crate::simulation::Facts { policy_queues, ..Default::default() };
        let published = self.engine.counters().published;
        self.checkpoint = Checkpoint { at_ms, published, lessons: self.lessons_done.clone() };
    }
}
