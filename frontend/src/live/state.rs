//! What live mode knows about the broker, as a plain type the views read.
//!
//! [`LiveState`] is fed the broker's frames in order and keeps: the queues
//! with rates from two successive `stats` snapshots, the broker-wide totals
//! and rates, the last state of every `home/…` topic (device cards), the
//! topic tree of everything the page's `#` subscription saw with what
//! discovery payloads said ([`TopicTree`], [`Discovery`]), and a
//! bounded history of the messages the subscribe panel received. No IO here:
//! the connection module feeds it, tests can too.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::discovery::{self, Card, Discovery};
use super::topics::TopicTree;
use super::wire::{Memory, Message, QueueStat, Stats};
use crate::model::QueueInfo;

/// How many received messages the subscribe panel keeps (oldest go first).
pub const HISTORY: usize = 500;

/// Broker-wide numbers from the latest `stats` frame.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Totals {
    /// Open connections.
    pub connections: u64,
    /// Consumers across all queues.
    pub consumers: u64,
    /// Topics holding a retained message.
    pub retained: u64,
    /// Messages published since the broker started.
    pub published: u64,
    /// Publishes per second, once two snapshots arrived.
    pub publish_rate: Option<f64>,
    /// Deliveries per second.
    pub deliver_rate: Option<f64>,
    /// Acks per second.
    pub ack_rate: Option<f64>,
    /// Memory in use and the budget (`None`: the broker does not say).
    pub memory: Option<Memory>,
}

/// The last message seen on one device topic.
#[derive(Clone, Debug, PartialEq)]
pub struct DeviceState {
    /// The payload as text (or a note that it is binary).
    pub payload: String,
    /// Whether it came from the retained replay (state from before we looked).
    pub retained: bool,
    /// When it arrived: the running number of device messages.
    pub seq: u64,
}

/// One message the subscribe panel received.
#[derive(Clone, Debug, PartialEq)]
pub struct Received {
    /// Running number since the page connected (newest is highest).
    pub seq: u64,
    /// Its topic.
    pub topic: String,
    /// The payload as text.
    pub payload: String,
    /// Whether it was a retained replay.
    pub retained: bool,
}

/// How many stats samples a queue's chart keeps: a minute at one a second.
pub const CHART_SAMPLES: usize = home_sim::history::HISTORY_SECONDS;

/// One queue at one stats frame, for its chart.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Sample {
    /// Ready + unacked.
    pub depth: u64,
    /// Messages in per second (rounded).
    pub published: u64,
    /// Deliveries per second.
    pub delivered: u64,
    /// Acks per second.
    pub acked: u64,
}

/// A queue's counters at a snapshot: enqueued, delivered, acked.
type Counters = (u64, u64, u64);

/// The previous snapshot's counters, for rates.
#[derive(Clone, Debug)]
struct Previous {
    now: u64,
    published: u64,
    delivered: u64,
    acked: u64,
    /// Per queue, in the broker's order (by name).
    queues: Vec<(String, Counters)>,
}

/// Everything live mode shows, updated frame by frame.
#[derive(Clone, Debug, Default)]
pub struct LiveState {
    /// Queues, in the broker's order, with rates once known.
    pub queues: Vec<QueueInfo>,
    /// Whether a `stats` frame arrived since connecting.
    pub has_stats: bool,
    /// Broker-wide totals and rates.
    pub totals: Totals,
    /// Per queue, its last [`CHART_SAMPLES`] samples (oldest first); a
    /// sample is added from the second snapshot on, when rates are known.
    pub charts: BTreeMap<String, VecDeque<Sample>>,
    /// Last state per `home/…` topic (grouped into devices by [`super::devices::group`]).
    pub devices: BTreeMap<String, DeviceState>,
    /// Device messages received since connecting.
    pub device_messages: u64,
    /// The subscribe panel's last [`HISTORY`] messages, oldest first.
    pub messages: VecDeque<Received>,
    /// Messages the subscribe panel received in all.
    pub received: u64,
    /// Every topic the page saw, with its history.
    pub tree: TopicTree,
    /// What discovery payloads (Home Assistant, zigbee2mqtt) said.
    pub discovery: Discovery,
    /// Cards a person dismissed: hidden while their device stays offline.
    pub dismissed: BTreeSet<String>,
    /// The queues of this page's own subscriptions (named as such in the table).
    pub own_queues: Vec<String>,
    /// Every queue of the last `stats` frame, with its bindings, policy and counters.
    pub queue_stats: Vec<QueueStat>,
    previous: Option<Previous>,
}

impl LiveState {
    /// Takes a `stats` snapshot: queues, totals, and rates against the last one.
    pub fn apply_stats(&mut self, stats: &Stats) {
        let prev = self.previous.take();
        let seconds = prev.as_ref().map(|p| stats.now.saturating_sub(p.now) as f64 / 1000.0).filter(|s| *s > 0.0);
        let rate = |now: u64, then: Option<u64>| Some(now.saturating_sub(then?) as f64 / seconds?);
        let c = stats;
        self.totals = Totals {
            connections: stats.connections,
            consumers: stats.consumers,
            retained: stats.retained,
            published: c.published,
            publish_rate: rate(c.published, prev.as_ref().map(|p| p.published)),
            deliver_rate: rate(c.delivered, prev.as_ref().map(|p| p.delivered)),
            ack_rate: rate(c.acked, prev.as_ref().map(|p| p.acked)),
            memory: stats.memory,
        };
        self.queues = stats
            .queues
            .iter()
            .map(|q| {
                let before = prev.as_ref().and_then(|p| counters(&p.queues, &q.name));
                QueueInfo {
                    name: q.name.clone(),
                    ready: q.ready,
                    unacked: q.unacked,
                    consumers: q.consumers,
                    rate_in: format_rate(rate(q.enqueued, before.map(|b| b.0))),
                    rate_out: format_rate(rate(q.delivered, before.map(|b| b.1))),
                    durable: q.durable,
                    disk_bytes: None,
                    own: self.own_queues.contains(&q.name),
                }
            })
            .collect();
        if let Some(seconds) = seconds {
            self.add_samples(stats, prev.as_ref().map(|p| p.queues.as_slice()), seconds);
        }
        self.has_stats = true;
        self.queue_stats.clone_from(&stats.queues);
        self.previous = Some(Previous {
            now: stats.now,
            published: c.published,
            delivered: c.delivered,
            acked: c.acked,
            queues: stats.queues.iter().map(|q| (q.name.clone(), (q.enqueued, q.delivered, q.acked))).collect(),
        });
    }

    /// A chart sample per queue; queues that are gone lose their chart.
    fn add_samples(&mut self, stats: &Stats, before: Option<&[(String, Counters)]>, seconds: f64) {
        self.charts.retain(|name, _| stats.queues.iter().any(|q| &q.name == name));
        for q in &stats.queues {
            let (enqueued, delivered, acked) = before.and_then(|b| counters(b, &q.name)).copied().unwrap_or_default();
            let per_second = |now: u64, then: u64| (now.saturating_sub(then) as f64 / seconds).round() as u64;
            let samples = self.charts.entry(q.name.clone()).or_default();
            if samples.len() == CHART_SAMPLES {
                samples.pop_front();
            }
            samples.push_back(Sample {
                depth: q.ready + q.unacked,
                published: per_second(q.enqueued, enqueued),
                delivered: per_second(q.delivered, delivered),
                acked: per_second(q.acked, acked),
            });
        }
    }

    /// A delivery of the page's `#` subscription, arrived at `at` (ms since
    /// the epoch): into the topic tree, discovery, and the `home/…` cards.
    pub fn apply_monitor(&mut self, delivery: &Message, at: f64) {
        self.tree.record(&delivery.topic, &delivery.payload, delivery.retained, delivery.binary, at);
        self.discovery.observe(&delivery.topic, &delivery.payload);
        if delivery.topic.starts_with("home/") {
            self.apply_device(delivery);
        }
    }

    /// The discovered devices' cards, less those dismissed while offline.
    pub fn discovered(&self) -> Vec<Card> {
        let mut cards = discovery::cards(&self.discovery, &self.tree);
        cards.retain(|c| !(c.online == Some(false) && self.dismissed.contains(&c.key)));
        cards
    }

    /// A delivery for the device cards: the topic's state becomes its payload;
    /// an empty one (a cleared retained topic) removes it.
    pub fn apply_device(&mut self, delivery: &Message) {
        let payload = delivery.payload.clone();
        if payload.is_empty() {
            self.devices.remove(&delivery.topic);
            return;
        }
        self.device_messages += 1;
        let state = DeviceState { payload, retained: delivery.retained, seq: self.device_messages };
        self.devices.insert(delivery.topic.clone(), state);
    }

    /// A delivery for the subscribe panel; the history stays at [`HISTORY`].
    pub fn apply_message(&mut self, delivery: &Message) {
        self.received += 1;
        if self.messages.len() == HISTORY {
            self.messages.pop_front();
        }
        self.messages.push_back(Received {
            seq: self.received,
            topic: delivery.topic.clone(),
            payload: delivery.payload.clone(),
            retained: delivery.retained,
        });
    }

    /// Forgets the rate baseline (after a reconnect the counters may restart).
    pub fn reset_rates(&mut self) {
        self.previous = None;
    }
}

/// A queue's counters in a snapshot's `(name, counters)` list. Hearth lists
/// queues by name, so a binary search finds them (a broker with thousands of
/// MQTT sessions has thousands of queues); a list in another order still
/// works, by a scan when the search misses.
fn counters<'a>(queues: &'a [(String, (u64, u64, u64))], name: &str) -> Option<&'a Counters> {
    let at = queues.binary_search_by(|(n, _)| n.as_str().cmp(name)).ok();
    at.or_else(|| queues.iter().position(|(n, _)| n == name)).map(|i| &queues[i].1)
}

/// A rate for a table cell: "—" until known, one decimal under 10/s
/// (9.96 shows as "10", not "10.0").
pub fn format_rate(rate: Option<f64>) -> String {
    match rate {
        None => "—".to_string(),
        Some(r) if r < 9.95 => format!("{:.1}", r),
        Some(r) => format!("{}", r.round() as u64),
    }
}

/// Bytes for a person, in binary units: "512 B", "12.4 MiB", "9.6 GiB";
/// one decimal under 100 of a unit, whole units above ("512 MiB").
/// Integer arithmetic, rounded to the shown tenth.
pub fn format_bytes(bytes: u64) -> String {
    const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    if bytes < 1024 {
        return format!("{bytes} B");
    }
    let mut unit: u64 = 1024;
    let mut name = 0;
    let tenths = loop {
        // `bytes % unit * 10` cannot overflow: `unit` is at most 2^60.
        let tenths = bytes / unit * 10 + (bytes % unit * 10 + unit / 2) / unit;
        if tenths < 10_240 || name + 1 == UNITS.len() {
            break tenths;
        }
        unit *= 1024;
        name += 1;
    };
    if tenths < 1000 {
        format!("{}.{} {}", tenths / 10, tenths % 10, UNITS[name])
    } else {
        format!("{} {}", tenths / 10, UNITS[name])
    }
}
