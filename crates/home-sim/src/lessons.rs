//! Guided lessons: each has a title, a short explanation, a task, and a
//! check — a predicate over the simulation that notices when the learner has
//! done the task. Checks read only public state (views, stats, facts).
//!
//! The simulation runs every check after each action and each simulated
//! second, and keeps what passed in [`Simulation::lessons_done`]: a lesson
//! once done stays done, whatever the learner changes later. The checks run
//! at the same virtual instants when a link replays the journal, so a
//! reload or a copied link shows the same progress. Texts mark names and
//! values with backticks (a page renders them as code).

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
    /// The part of the page the task is about (the guided tour points at it).
    pub focus: Focus,
    check: fn(&Simulation) -> bool,
}

/// A part of the page a lesson's task is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// A queue's card.
    Queue(&'static str),
    /// The devices on the floor plan.
    Devices,
}

impl Simulation {
    /// Whether each lesson is done, in teaching order: once a check passed
    /// at an action or a simulated second, its lesson stays done.
    pub fn lessons_done(&self) -> &[bool] {
        &self.lessons_done
    }

    /// Runs the checks of the lessons not done yet.
    pub(crate) fn check_lessons(&mut self) {
        for (i, lesson) in LESSONS.iter().enumerate() {
            if !self.lessons_done[i] && lesson.check(self) {
                self.lessons_done[i] = true;
            }
        }
    }
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
            `home/garage/temperature` (matched by `home/+/temperature`), and watch it join the `telemetry` queue.",
        focus: Focus::Queue("telemetry"),
        check: routed_by_wildcard,
    },
    Lesson {
        id: "competing-consumers",
        title: "Competing consumers",
        explanation: "Several consumers on one queue share it: each message goes to one of them, round robin. \
            This is how work is spread over workers.",
        task: "Add a consumer to the `telemetry` queue and watch both receive messages in turn.",
        focus: Focus::Queue("telemetry"),
        check: shared_round_robin,
    },
    Lesson {
        id: "acks-redelivery",
        title: "Acks and redelivery",
        explanation: "With manual acks a message stays unacked until its consumer confirms it. If the consumer \
            dies first, the message goes back to the queue and is delivered again, marked redelivered.",
        task: "With two consumers on `telemetry` (lesson 2), pick one, set its Work to `5000` ms and Apply; \
            then crash it while it holds unacked messages, and watch the other one get them, marked redelivered.",
        focus: Focus::Queue("telemetry"),
        check: crashed_and_redelivered,
    },
    Lesson {
        id: "prefetch-backpressure",
        title: "Prefetch and back-pressure",
        explanation: "Prefetch caps how many unacked messages a consumer holds. A slow consumer with a small \
            window stays full while the rest wait in the queue, where other consumers can take them.",
        task: "Slow down every consumer on `telemetry` (a fast one would drain the queue): prefetch `1` or `2`, \
            ack `manual`, Work `2000` ms or more, Apply each; wait until a window is full and at least 5 messages wait.",
        focus: Focus::Queue("telemetry"),
        check: window_full_and_backlog,
    },
    Lesson {
        id: "ttl-dead-letters",
        title: "TTL, max length and dead letters",
        explanation: "A queue can limit how long messages wait (TTL) and how many it holds (max length). What \
            expires or overflows is dropped, or moved to a dead-letter queue where you can inspect it.",
        task: "Make messages wait on `telemetry`: every consumer on it at prefetch `1`, Work `3000` ms. Then \
            give `telemetry` a TTL of `1` s (or a max length of `2`), tick Dead letters to `dead-letters`, Apply \
            policy, and see an expired message arrive there.",
        focus: Focus::Queue(DEAD_LETTERS),
        check: policy_dead_lettered,
    },
    Lesson {
        id: "retained-will",
        title: "Retained state and last will",
        explanation: "A device's last message on a topic can be retained: newcomers see its state at once. \
            A device also leaves a last will, which the broker publishes if it vanishes without goodbye.",
        task: "Cut a device off the network and watch its card turn offline from its retained last will.",
        focus: Focus::Devices,
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

/// A crashed consumer held unacked messages, and another consumer got one.
fn crashed_and_redelivered(sim: &Simulation) -> bool {
    sim.facts().crash_redeliveries > 0
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

/// A queue whose policy the learner set dead-lettered a message for its TTL
/// or max length (not any message reaching the dead letters).
fn policy_dead_lettered(sim: &Simulation) -> bool {
    sim.facts().policy_dead_letters > 0 && sim.queue(DEAD_LETTERS, 0).is_ok_and(|q| q.counters.enqueued > 0)
}

fn will_marked_offline(sim: &Simulation) -> bool {
    sim.facts().cut_offs > 0 && sim.devices().iter().any(|d| !d.online && d.state.is_some())
}
