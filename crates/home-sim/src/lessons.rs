//! Guided lessons: each has a title, a short explanation, a task, and a
//! check — a predicate over the simulation that notices when the learner has
//! done the task. Checks read only public state (views, stats, facts), so a
//! page can evaluate them after every step.

use crate::scenario::DEAD_LETTERS;
use crate::simulation::Simulation;
use queue_core::protocol::AckMode;
use queue_core::topic::matches;

/// One lesson.
#[derive(Debug, Clone, Copy)]
pub struct Lesson {
    /// Stable id, for URLs and progress.
    pub id: &'static str,
    /// Title.
    pub title: &'static str,
    /// What it teaches, in a few sentences.
    pub explanation: &'static str,
    /// What the learner should do.
    pub task: &'static str,
    check: fn(&Simulation) -> bool,
}

impl Lesson {
    /// Whether the learner has done the task in `sim`.
    pub fn check(&self, sim: &Simulation) -> bool {
        (self.check)(sim)
    }
}

/// The lessons, in teaching order.
pub fn lessons() -> &'static [Lesson] {
    &LESSONS
}

/// The lesson with this id.
pub fn lesson(id: &str) -> Option<&'static Lesson> {
    LESSONS.iter().find(|l| l.id == id)
}

static LESSONS: [Lesson; 6] = [
    Lesson {
        id: "fifo-routing",
        title: "FIFO and topic routing",
        explanation: "A publisher never names a queue: it publishes on a topic, and every queue bound with a \
            matching filter gets a copy, kept in arrival order. `+` matches one topic level, `#` the rest.",
        task: "Publish a message on a topic no device uses but a wildcard binding matches, such as \
            home/garage/temperature (matched by home/+/temperature), and watch it join the telemetry queue.",
        check: routed_by_wildcard,
    },
    Lesson {
        id: "competing-consumers",
        title: "Competing consumers",
        explanation: "Several consumers on one queue share it: each message goes to one of them, round robin. \
            This is how work is spread over workers.",
        task: "Add a consumer to the telemetry queue and watch both receive messages in turn.",
        check: shared_round_robin,
    },
    Lesson {
        id: "acks-redelivery",
        title: "Acks and redelivery",
        explanation: "With manual acks a message stays unacked until its consumer confirms it. If the consumer \
            dies first, the message goes back to the queue and is delivered again, marked redelivered.",
        task: "Give a consumer a long processing time, then crash it while it holds unacked messages.",
        check: crashed_and_redelivered,
    },
    Lesson {
        id: "prefetch-backpressure",
        title: "Prefetch and back-pressure",
        explanation: "Prefetch caps how many unacked messages a consumer holds. A slow consumer with a small \
            window stays full while the rest wait in the queue, where other consumers can take them.",
        task: "Set a consumer's prefetch to 1 or 2 with manual ack and a processing time of 2 s or more, until \
            its window is full and at least 5 messages wait.",
        check: window_full_and_backlog,
    },
    Lesson {
        id: "ttl-dead-letters",
        title: "TTL, max length and dead letters",
        explanation: "A queue can limit how long messages wait (TTL) and how many it holds (max length). What \
            expires or overflows is dropped, or moved to a dead-letter queue where you can inspect it.",
        task: "Set a TTL or a max length on a busy queue with dead-letters as its dead-letter queue, and see \
            a message arrive there.",
        check: policy_dead_lettered,
    },
    Lesson {
        id: "retained-will",
        title: "Retained state and last will",
        explanation: "A device's last message on a topic can be retained: newcomers see its state at once. \
            A device also leaves a last will, which the broker publishes if it vanishes without goodbye.",
        task: "Cut a device off the network and watch its card turn offline from its retained last will.",
        check: will_marked_offline,
    },
];

fn routed_by_wildcard(sim: &Simulation) -> bool {
    if sim.facts().user_publishes.is_empty() {
        return false;
    }
    let wildcard: Vec<String> = sim
        .stats()
        .queues
        .into_iter()
        .flat_map(|q| q.bindings)
        .filter(|b| b.contains('+') || b.contains('#'))
        .collect();
    let device_topics: Vec<String> = sim.devices().into_iter().map(|d| d.state_topic).collect();
    sim.facts().user_publishes.iter().any(|(_, topic, routed)| {
        *routed > 0 && !device_topics.contains(topic) && wildcard.iter().any(|f| matches(f, topic))
    })
}

fn shared_round_robin(sim: &Simulation) -> bool {
    sim.queue_names()
        .iter()
        .filter_map(|n| sim.queue(n, 0).ok())
        .any(|q| q.consumers.len() >= 2 && q.consumers.iter().all(|c| c.delivered > 0))
}

fn crashed_and_redelivered(sim: &Simulation) -> bool {
    sim.facts().crashes > 0 && sim.stats().counters.redelivered > 0
}

fn window_full_and_backlog(sim: &Simulation) -> bool {
    sim.queue_names().iter().filter_map(|n| sim.queue(n, 0).ok()).any(|q| {
        q.ready_total >= 5
            && q.consumers.iter().any(|c| {
                let s = c.settings;
                s.ack == AckMode::Manual
                    && s.prefetch <= 2
                    && s.processing_ms >= 2_000
                    && c.unacked.len() as u32 == s.prefetch
            })
    })
}

fn policy_dead_lettered(sim: &Simulation) -> bool {
    sim.facts().policy_changes > 0 && sim.queue(DEAD_LETTERS, 0).is_ok_and(|q| q.counters.enqueued > 0)
}

fn will_marked_offline(sim: &Simulation) -> bool {
    sim.facts().cut_offs > 0 && sim.devices().iter().any(|d| !d.online && d.state.is_some())
}
