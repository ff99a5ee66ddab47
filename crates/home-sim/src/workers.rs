//! Consumers as the simulation runs them: a connection subscribed to a queue
//! that works through its deliveries one at a time, each taking the
//! processing time, then acks it (manual ack) and acts on it (a device obeys,
//! an automation reacts). With auto ack the engine counts a delivery acked
//! when sent; the worker still takes its time to act.

use queue_core::ConnId;
use queue_core::protocol::{AckMode, Delivery};
use std::collections::VecDeque;

/// A consumer's number in the simulation (stable while it lives).
pub type WorkerId = u32;

/// Whose consumer it is, and so what it does with a message.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Role {
    /// A device consuming its commands.
    Device(String),
    /// An automation consuming its trigger.
    Automation(String),
    /// A consumer the learner added: it just processes and acks.
    Extra,
}

/// How a consumer consumes: its prefetch window, ack mode and processing time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsumerSettings {
    /// Most unacked deliveries at once (manual ack).
    pub prefetch: u32,
    /// Manual: ack after processing; auto: acked when sent.
    pub ack: AckMode,
    /// Virtual ms each message takes.
    pub processing_ms: u64,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self { prefetch: 5, ack: AckMode::Manual, processing_ms: 300 }
    }
}

/// A delivery waiting or being processed.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Job {
    pub done_at: u64,
    pub delivery: Delivery,
}

/// One consumer.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Worker {
    pub id: WorkerId,
    pub label: String,
    pub role: Role,
    pub queue: String,
    pub conn: ConnId,
    /// The engine's consumer id once subscribed.
    pub consumer: Option<u64>,
    pub settings: ConsumerSettings,
    pub jobs: VecDeque<Job>,
    pub busy_until: u64,
    pub delivered: u64,
    pub processed: u64,
}

impl Worker {
    pub fn new(
        id: WorkerId,
        label: String,
        role: Role,
        queue: String,
        conn: ConnId,
        settings: ConsumerSettings,
    ) -> Self {
        let jobs = VecDeque::new();
        Self { id, label, role, queue, conn, consumer: None, settings, jobs, busy_until: 0, delivered: 0, processed: 0 }
    }

    /// Takes a delivery: it is processed after the ones before it.
    pub fn accept(&mut self, delivery: Delivery, now: u64) {
        let done_at = self.busy_until.max(now) + self.settings.processing_ms;
        self.busy_until = done_at;
        self.delivered += 1;
        self.jobs.push_back(Job { done_at, delivery });
    }

    /// When the job in hand finishes, if there is one.
    pub fn next_done(&self) -> Option<u64> {
        self.jobs.front().map(|j| j.done_at)
    }

    /// The job in hand, if it is finished by `now`.
    pub fn finish(&mut self, now: u64) -> Option<Delivery> {
        if self.next_done()? > now {
            return None;
        }
        self.processed += 1;
        self.jobs.pop_front().map(|j| j.delivery)
    }

    /// Forgets work in hand (after a resubscribe or crash the engine took it back).
    pub fn drop_jobs(&mut self, now: u64) {
        self.jobs.clear();
        self.busy_until = now;
    }
}
