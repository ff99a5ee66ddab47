//! What each bridge is doing, shared between its task, `/api/bridges` and
//! `/metrics`.

use super::config::BridgeConfig;
use crate::driver::Snapshot;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

/// The state of a bridge's link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkState {
    /// Trying to connect.
    Connecting,
    /// Connected: messages flow.
    Connected,
    /// Not connected; waiting before the next attempt.
    Down,
}

#[derive(Debug)]
struct Now {
    state: LinkState,
    last_error: Option<String>,
    address: Option<String>,
    since_ms: u64,
    tried: std::collections::VecDeque<String>,
}

/// Connection attempts kept for `tried` in `/api/bridges`.
const TRIED: usize = 16;

/// One bridge: its settings and its live status.
#[derive(Debug)]
pub struct Bridge {
    /// Its settings.
    pub config: BridgeConfig,
    now: Mutex<Now>,
    /// Messages the remote acknowledged (or, at QoS 0, that were written to it).
    pub sent: AtomicU64,
    /// Messages from the remote published locally.
    pub received: AtomicU64,
    /// Local messages not sent back out because they came in by this bridge.
    pub loops_stopped: AtomicU64,
    /// Connections made to the remote.
    pub connects: AtomicU64,
    /// QoS 0 messages from the remote dropped while publishers were blocked.
    pub in_dropped: AtomicU64,
}

impl Bridge {
    /// A bridge not yet started.
    pub fn new(config: BridgeConfig) -> Self {
        let now = Now {
            state: LinkState::Connecting,
            last_error: None,
            address: None,
            since_ms: crate::driver::now_ms(),
            tried: std::collections::VecDeque::new(),
        };
        Self {
            config,
            now: Mutex::new(now),
            sent: AtomicU64::new(0),
            received: AtomicU64::new(0),
            loops_stopped: AtomicU64::new(0),
            connects: AtomicU64::new(0),
            in_dropped: AtomicU64::new(0),
        }
    }

    /// Records a new state (and, when down, why).
    pub fn set(&self, state: LinkState, address: &str, error: Option<String>) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        if now.state != state {
            now.since_ms = crate::driver::now_ms();
        }
        now.state = state;
        now.address = Some(address.to_owned());
        if error.is_some() {
            now.last_error = error;
        }
    }

    /// Records a connection attempt to `address` (the last [`TRIED`] are kept).
    pub fn tried(&self, address: &str) {
        let mut now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        if now.tried.len() == TRIED {
            now.tried.pop_front();
        }
        now.tried.push_back(address.to_owned());
    }

    /// Counts one more.
    pub fn count(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// The bridge as `/api/bridges` shows it, with its backlog from `snapshot`.
    pub fn view(&self, snapshot: &Snapshot) -> BridgeView {
        let now = self.now.lock().unwrap_or_else(PoisonError::into_inner);
        let queue = self.config.queue();
        let stats = snapshot.stats.queues.iter().find(|q| q.name == queue);
        BridgeView {
            name: self.config.name.clone(),
            state: now.state,
            since_ms: now.since_ms,
            last_error: now.last_error.clone(),
            address: now.address.clone(),
            addresses: self.config.addresses.clone(),
            round_robin: self.config.round_robin,
            tried: now.tried.iter().cloned().collect(),
            client_id: self.config.remote_client_id(),
            queue,
            backlog: stats.map_or(0, |q| q.ready + q.unacked),
            backlog_bytes: stats.map_or(0, |q| q.bytes),
            in_flight: stats.map_or(0, |q| q.unacked),
            max_backlog_messages: self.config.max_backlog_messages,
            max_backlog_bytes: self.config.max_backlog_bytes,
            dropped: stats.map_or(0, |q| q.counters.dropped),
            sent: self.sent.load(Ordering::Relaxed),
            received: self.received.load(Ordering::Relaxed),
            loops_stopped: self.loops_stopped.load(Ordering::Relaxed),
            connects: self.connects.load(Ordering::Relaxed),
            in_dropped: self.in_dropped.load(Ordering::Relaxed),
        }
    }
}

/// A bridge in `/api/bridges`.
#[derive(Debug, Clone, Serialize)]
pub struct BridgeView {
    /// Its name.
    pub name: String,
    /// `connected`, `connecting` or `down`.
    pub state: LinkState,
    /// Since when (ms since the Unix epoch).
    pub since_ms: u64,
    /// The last failure, kept after the link is back.
    pub last_error: Option<String>,
    /// The address in use or last tried.
    pub address: Option<String>,
    /// Every address configured.
    pub addresses: Vec<String>,
    /// Whether a lost link moves on to the next address (true) or starts
    /// again from the first (false).
    pub round_robin: bool,
    /// The last connection attempts' addresses, oldest first (at most 16).
    pub tried: Vec<String>,
    /// Its client id on the remote.
    pub client_id: String,
    /// The local queue holding its backlog.
    pub queue: String,
    /// Messages waiting for the remote, in flight included.
    pub backlog: u64,
    /// Their bytes.
    pub backlog_bytes: u64,
    /// Sent and not yet acknowledged by the remote.
    pub in_flight: u64,
    /// The backlog's bound in messages.
    pub max_backlog_messages: u64,
    /// The backlog's bound in bytes.
    pub max_backlog_bytes: u64,
    /// Messages dropped from the backlog (the oldest, to make room).
    pub dropped: u64,
    /// Messages the remote acknowledged.
    pub sent: u64,
    /// Messages from the remote published here.
    pub received: u64,
    /// Messages not sent back to the remote they came from.
    pub loops_stopped: u64,
    /// Connections made to the remote since start.
    pub connects: u64,
    /// QoS 0 messages from the remote dropped while the memory budget
    /// blocked publishers (QoS 1 and 2 ones wait unacknowledged instead).
    pub in_dropped: u64,
}

/// Every configured bridge (none: an empty list).
#[derive(Debug, Clone, Default)]
pub struct Bridges(pub Arc<Vec<Arc<Bridge>>>);

impl Bridges {
    /// The bridges of a config.
    pub fn new(configs: &[BridgeConfig]) -> Self {
        Self(Arc::new(configs.iter().cloned().map(|c| Arc::new(Bridge::new(c))).collect()))
    }

    /// Each bridge's view.
    pub fn views(&self, snapshot: &Snapshot) -> Vec<BridgeView> {
        self.0.iter().map(|b| b.view(snapshot)).collect()
    }
}
