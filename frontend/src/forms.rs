//! What the learner typed and picked in the control forms, kept above the
//! side panel's tabs: switching to the lessons or the log and back, or using
//! a form from a lesson, finds the same consumer, device, queue and values.
//!
//! [`Forms::provide`] puts one set in the context of the simulator; each
//! form reads it with [`Forms::get`] (a form mounted alone, as in a test,
//! gets a fresh set of its own).

use home_sim::WorkerId;
use leptos::prelude::*;

/// Every control form's fields, as signals that outlive the forms.
#[derive(Clone, Copy)]
pub struct Forms {
    /// Publish: topic.
    pub topic: RwSignal<String>,
    /// Publish: payload.
    pub payload: RwSignal<String>,
    /// Publish: retain.
    pub retain: RwSignal<bool>,
    /// Publish: the id the last message got.
    pub sent: RwSignal<Option<u64>>,
    /// Queue: the chosen queue.
    pub queue: RwSignal<String>,
    /// Queue: max length as typed (empty: unlimited).
    pub max_len: RwSignal<String>,
    /// Queue: overflow, `drop-oldest` or `reject-publish`.
    pub overflow: RwSignal<String>,
    /// Queue: TTL in seconds as typed (empty: none).
    pub ttl: RwSignal<String>,
    /// Queue: dead letters to the dead-letter queue.
    pub dead: RwSignal<bool>,
    /// Queue: the queue whose policy the fields were filled from.
    pub policy_of: RwSignal<Option<String>>,
    /// Consumer: the chosen worker's id, as text (empty: the first).
    pub consumer: RwSignal<String>,
    /// Consumer: prefetch as typed.
    pub prefetch: RwSignal<String>,
    /// Consumer: `manual` or `auto`.
    pub ack: RwSignal<String>,
    /// Consumer: processing ms as typed.
    pub work: RwSignal<String>,
    /// Consumer: the worker whose settings the fields were filled from.
    pub settings_of: RwSignal<Option<WorkerId>>,
    /// Device: the chosen device's id.
    pub device: RwSignal<String>,
    /// Device: rate as typed.
    pub rate: RwSignal<String>,
    /// Device: the device whose rate the field was filled from.
    pub rate_of: RwSignal<Option<String>>,
    /// New device: its kind.
    pub kind: RwSignal<String>,
    /// New device: its room.
    pub room: RwSignal<String>,
    /// Bind: the queue's name (declared if new).
    pub bind_queue: RwSignal<String>,
    /// Bind: the topic filter.
    pub bind_filter: RwSignal<String>,
    /// Log: the kind group shown (`all`, `publish`, …).
    pub log_group: RwSignal<String>,
    /// Log: only this queue (empty: any).
    pub log_queue: RwSignal<String>,
    /// Log: only this device (empty: any).
    pub log_device: RwSignal<String>,
    /// Log: only this message id, as typed (empty: any); a clicked chip sets it.
    pub log_message: RwSignal<String>,
}

impl Forms {
    /// The fields as a fresh page shows them.
    pub fn new() -> Self {
        Self {
            topic: RwSignal::new("home/garage/temperature".into()),
            payload: RwSignal::new(r#"{"celsius":18.5}"#.into()),
            retain: RwSignal::new(false),
            sent: RwSignal::new(None),
            queue: RwSignal::new("telemetry".into()),
            max_len: RwSignal::new(String::new()),
            overflow: RwSignal::new("drop-oldest".into()),
            ttl: RwSignal::new(String::new()),
            dead: RwSignal::new(false),
            policy_of: RwSignal::new(None),
            consumer: RwSignal::new(String::new()),
            prefetch: RwSignal::new("3".into()),
            ack: RwSignal::new("manual".into()),
            work: RwSignal::new("400".into()),
            settings_of: RwSignal::new(None),
            device: RwSignal::new("door-lock".into()),
            rate: RwSignal::new(String::new()),
            rate_of: RwSignal::new(None),
            kind: RwSignal::new(home_sim::DeviceKind::Light.as_str().into()),
            room: RwSignal::new(crate::layout::ROOMS[0].0.into()),
            bind_queue: RwSignal::new("audit".into()),
            bind_filter: RwSignal::new("#".into()),
            log_group: RwSignal::new("all".into()),
            log_queue: RwSignal::new(String::new()),
            log_device: RwSignal::new(String::new()),
            log_message: RwSignal::new(String::new()),
        }
    }

    /// Another simulation took the page's (Reset, another scenario): the
    /// picks fall back to what `sim` has, and the fields refill from it.
    pub fn forget_picks(&self, sim: &home_sim::Simulation) {
        let queues = sim.queue_names();
        if !queues.contains(&self.queue.get_untracked()) {
            let pick = queues.iter().find(|q| *q == "telemetry").or(queues.first()).cloned().unwrap_or_default();
            self.queue.set(pick);
        }
        self.device.set(sim.devices().first().map(|d| d.id.clone()).unwrap_or_default());
        self.consumer.set(String::new());
        self.policy_of.set(None);
        self.settings_of.set(None);
        self.rate_of.set(None);
        self.sent.set(None);
        self.log_message.set(String::new());
    }

    /// Makes a new set the one every form below the current owner uses.
    pub fn provide() {
        provide_context(Self::new());
    }

    /// The set provided above, or a fresh one for a form mounted alone.
    pub fn get() -> Self {
        use_context::<Self>().unwrap_or_else(|| {
            let forms = Self::new();
            provide_context(forms);
            forms
        })
    }
}

impl Default for Forms {
    fn default() -> Self {
        Self::new()
    }
}
