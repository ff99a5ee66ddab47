//! The engine: every queue, binding, consumer and connection, driven by
//! [`Engine::handle`] and drained by [`Engine::poll_output`].

mod access;
mod connection;
mod consume;
mod inspect;
mod memory;
mod peek;
mod policy;
mod publish;
mod queues;
mod restore;
mod timers;
mod wills;

pub use access::{Denial, Role};
pub use inspect::{ConsumerContents, QueueContents, ReadyMessage};
pub use restore::{Recovered, Skipped, StoredMessage, StoredQueue, StoredWill};

use crate::acl::Acl;
use crate::event::{Event, StoreOp};
use crate::message::Message;
use crate::protocol::{ClientFrame, ServerFrame, Will};
use crate::queue::{Envelope, Queue, QueueId};
use crate::stats::{ConnectionStats, Counters, QueueStats, StatsSnapshot};
use crate::trie::TopicTrie;
use rustc_hash::FxHashMap;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BTreeSet, BinaryHeap, VecDeque};
use std::sync::Arc;

/// A connection's number, chosen by the driver (unique while it is open).
pub type ConnId = u64;

/// Settings of an engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EngineConfig {
    /// Prefetch used when `subscribe` gives none.
    pub default_prefetch: u32,
    /// Largest prefetch a consumer may ask for.
    pub max_prefetch: u32,
    /// Emit [`Event`]s (the simulator and dashboards want them; a busy broker may not).
    pub observe: bool,
    /// A message dead-lettered this many times is dropped instead (breaks cycles).
    pub max_dead_letter_hops: u32,
    /// The memory budget in bytes (`None`: none): messages held in queues
    /// and retained, plus what the driver reports with [`Input::Buffered`].
    /// At or above it publishers are blocked ([`Output::Blocked`]); they are
    /// unblocked below [`LOW_WATERMARK_PERCENT`] of it.
    pub memory_limit: Option<u64>,
    /// Most queues held at once; a declare past it is refused.
    pub max_queues: usize,
    /// The disk budget in bytes (`None`: none): what the driver's store
    /// reports with [`Input::Disk`]. At or above it publishers are blocked
    /// as for memory, and unblocked below [`LOW_WATERMARK_PERCENT`] of it.
    pub disk_limit: Option<u64>,
}

/// Publishers blocked by the memory budget are unblocked once memory in use
/// falls below this share of [`EngineConfig::memory_limit`].
pub const LOW_WATERMARK_PERCENT: u64 = 90;

impl Default for EngineConfig {
    fn default() -> Self {
        Self {
            default_prefetch: 100,
            max_prefetch: 65_535,
            observe: false,
            max_dead_letter_hops: 8,
            memory_limit: None,
            max_queues: crate::limits::DEFAULT_MAX_QUEUES,
            disk_limit: None,
        }
    }
}

/// Everything that can happen to the engine.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// A connection opened.
    Connect {
        /// Its number.
        conn: ConnId,
    },
    /// A connection sent a frame.
    Frame {
        /// The sender.
        conn: ConnId,
        /// The decoded frame.
        frame: ClientFrame,
    },
    /// A connection is gone. Unless it said `bye`, its last will is published.
    Disconnect {
        /// The connection.
        conn: ConnId,
    },
    /// Who a connection acts for, once it has logged in: its username
    /// (`None`: anonymous) and its [`Role`]. A connection never identified
    /// is an anonymous [`Role::Client`]. Only the access control list
    /// ([`Engine::set_acl`]) reads it.
    Identify {
        /// The connection.
        conn: ConnId,
        /// Its username.
        user: Option<String>,
        /// What kind of client it is.
        role: Role,
    },
    /// Time passed; run the timers that are due.
    Tick,
    /// The bytes the driver holds for connections outside the engine now
    /// (frames waiting to be written, frames read and not yet handled):
    /// they count against the memory budget with the engine's own.
    Buffered {
        /// Bytes.
        bytes: u64,
    },
    /// The bytes a durable store holds on disk now (they count against
    /// [`EngineConfig::disk_limit`]).
    Disk {
        /// Bytes.
        bytes: u64,
    },
}

/// Everything the engine asks its driver to do.
#[derive(Debug, Clone, PartialEq)]
pub enum Output {
    /// Send a frame to a connection.
    Send {
        /// Recipient.
        conn: ConnId,
        /// The frame.
        frame: ServerFrame,
    },
    /// Close a connection (after sending what was queued for it). The engine
    /// has already forgotten it; a later `Disconnect` for it is ignored.
    Close {
        /// The connection.
        conn: ConnId,
    },
    /// Something observers may want to see.
    Event(Event),
    /// A change for a durable store.
    Store(StoreOp),
    /// The memory budget was crossed: publishers must stop being read
    /// (`true`), or may be read again (`false`). Connections that publish
    /// are also sent `blocked` / `unblocked` frames.
    Blocked(bool),
    /// The access control list refused a request (for logs and metrics;
    /// the client was told, or, for a delivery, the copy was dropped).
    Denied(Denial),
}

/// A delivery awaiting its ack, held by the connection it went to.
#[derive(Debug, Clone)]
pub(crate) struct InFlight {
    pub queue: QueueId,
    pub consumer: u64,
    pub envelope: Envelope,
}

/// What the engine knows about one connection.
#[derive(Debug)]
pub(crate) struct Connection {
    pub client_id: String,
    pub connected_at: u64,
    pub last_seen: u64,
    pub keep_alive_ms: u64,
    /// Boxed: most connections have none, and a will is ~90 bytes.
    pub will: Option<Box<Will>>,
    pub said_hello: bool,
    pub said_bye: bool,
    pub next_tag: u64,
    /// Unacked deliveries by tag. Tags only grow, so in tag order: a
    /// `multiple` ack takes a prefix.
    pub in_flight: BTreeMap<u64, InFlight>,
    /// (consumer id, queue) pairs.
    pub consumers: Vec<(u64, QueueId)>,
    /// Exclusive queues it owns.
    pub exclusive: Vec<QueueId>,
    pub watch_interval: Option<u64>,
    pub published: u64,
    /// It was sent `blocked` and not yet `unblocked`.
    pub told_blocked: bool,
    /// Its username, once identified (`None`: anonymous).
    pub user: Option<Arc<str>>,
    /// What kind of client it is.
    pub role: Role,
}

/// The queue engine. See the crate documentation for the run loop.
#[derive(Debug)]
pub struct Engine {
    config: EngineConfig,
    now: u64,
    /// Boxed, as `conns`: a table has room for more entries than it holds
    /// (up to twice), and that room costs a pointer, not a whole queue.
    queues: FxHashMap<QueueId, Box<Queue>>,
    names: BTreeMap<Arc<str>, QueueId>,
    trie: TopicTrie<QueueId>,
    conns: FxHashMap<ConnId, Box<Connection>>,
    retained: BTreeMap<Arc<str>, Arc<Message>>,
    /// (expires at, queue, seq) of ready messages with a TTL; stale entries are skipped.
    expiry: BinaryHeap<Reverse<(u64, QueueId, u64)>>,
    /// (expires at, queue) of unused queues with `expires_ms`; stale entries are skipped.
    queue_expiry: BTreeSet<(u64, QueueId)>,
    /// (next stats at, connection) for watching connections.
    watchers: BTreeSet<(u64, ConnId)>,
    keep_alive_check_at: Option<u64>,
    /// Wills of lost connections, waiting for their delay.
    delayed_wills: wills::DelayedWills,
    outputs: VecDeque<Output>,
    counters: Counters,
    next_message_id: u64,
    next_queue_id: QueueId,
    next_consumer_id: u64,
    next_generated_name: u64,
    route_scratch: Vec<QueueId>,
    /// Footprint of every queue's ready and unacked copies.
    queued_bytes: u64,
    /// Footprint of the retained messages.
    retained_bytes: u64,
    /// What the driver last reported with [`Input::Buffered`].
    buffered_bytes: u64,
    /// What the driver last reported with [`Input::Disk`].
    disk_bytes: u64,
    /// Publishers are blocked by the memory budget.
    blocked: bool,
    /// Who may do what (`None`: everyone may do everything).
    acl: Option<Arc<Acl>>,
}

impl Default for Engine {
    fn default() -> Self {
        Self::new(EngineConfig::default())
    }
}

impl Engine {
    /// An empty engine: no queues, no connections, time zero.
    pub fn new(config: EngineConfig) -> Self {
        Self {
            config,
            now: 0,
            queues: FxHashMap::default(),
            names: BTreeMap::new(),
            trie: TopicTrie::default(),
            conns: FxHashMap::default(),
            retained: BTreeMap::new(),
            expiry: BinaryHeap::new(),
            queue_expiry: BTreeSet::new(),
            watchers: BTreeSet::new(),
            keep_alive_check_at: None,
            delayed_wills: Default::default(),
            outputs: VecDeque::new(),
            counters: Counters::default(),
            next_message_id: 1,
            next_queue_id: 1,
            next_consumer_id: 1,
            next_generated_name: 1,
            route_scratch: Vec::new(),
            queued_bytes: 0,
            retained_bytes: 0,
            buffered_bytes: 0,
            disk_bytes: 0,
            blocked: false,
            acl: None,
        }
    }

    /// The engine's settings.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Turns event output on or off (the simulator turns it on).
    pub fn set_observe(&mut self, observe: bool) {
        self.config.observe = observe;
    }

    /// The one entry point: applies `input` at time `now` (ms, from the
    /// driver's clock; a `now` earlier than the last one is treated as the last
    /// one). Due timers run first, and again after the input, so that nothing
    /// due at `now` (a message published with a TTL of 0) is left for later.
    /// Results are read with [`Engine::poll_output`].
    pub fn handle(&mut self, now: u64, input: Input) {
        let now = self.advance(now);
        self.fire_timers(now);
        let tick = matches!(input, Input::Tick);
        match input {
            Input::Connect { conn } => self.connect(conn, now),
            Input::Frame { conn, frame } => self.frame(conn, frame, now),
            Input::Disconnect { conn } => self.disconnect(conn, now),
            Input::Identify { conn, user, role } => self.identify(conn, user, role),
            Input::Tick => {}
            Input::Buffered { bytes } => self.buffered_bytes = bytes,
            Input::Disk { bytes } => self.disk_bytes = bytes,
        }
        if !tick {
            self.fire_timers(now);
        }
        self.check_memory();
    }

    /// The next output, if any. Drain it after every [`Engine::handle`].
    pub fn poll_output(&mut self) -> Option<Output> {
        self.outputs.pop_front()
    }

    /// When the engine next needs a [`Input::Tick`] (TTL expiry, unused queues,
    /// keep-alive, stats streams, delayed wills), if ever.
    pub fn next_deadline(&self) -> Option<u64> {
        let expiry = self.expiry.peek().map(|Reverse((at, _, _))| *at);
        let watch = self.watchers.first().map(|(at, _)| *at);
        let unused = self.queue_expiry.first().map(|(at, _)| *at);
        let will = self.delayed_wills.next_due();
        [expiry, watch, unused, self.keep_alive_check_at, will].into_iter().flatten().min()
    }

    /// Engine-wide counters.
    pub fn counters(&self) -> Counters {
        self.counters
    }

    /// A full snapshot: counters and every queue.
    pub fn stats(&self) -> StatsSnapshot {
        StatsSnapshot {
            now: self.now,
            counters: self.counters,
            connections: self.conns.len() as u64,
            consumers: self.queues.values().map(|q| q.consumers.len() as u64).sum(),
            retained: self.retained.len() as u64,
            memory: self.memory(),
            queues: self.names.values().filter_map(|id| self.queue_stats_by_id(*id)).collect(),
        }
    }

    /// One queue's stats, by name.
    pub fn queue_stats(&self, name: &str) -> Option<QueueStats> {
        self.names.get(name).and_then(|id| self.queue_stats_by_id(*id))
    }

    /// Every open connection, by number.
    pub fn connections(&self) -> Vec<ConnectionStats> {
        let mut list: Vec<ConnectionStats> = self
            .conns
            .iter()
            .map(|(id, c)| ConnectionStats {
                id: *id,
                client_id: c.client_id.clone(),
                connected_at: c.connected_at,
                consumers: c.consumers.len() as u64,
                unacked: c.in_flight.len() as u64,
                published: c.published,
                has_will: c.will.is_some(),
                blocked: c.told_blocked,
            })
            .collect();
        list.sort_by_key(|c| c.id);
        list
    }

    /// Retained messages, by topic.
    pub fn retained(&self) -> impl Iterator<Item = &Message> {
        self.retained.values().map(|m| m.as_ref())
    }

    /// The retained messages a subscriber may still be sent at `now`: those
    /// whose time to live has not run out (MQTT 5 §3.3.2.3.3: an expired
    /// retained message is not sent). An expired one is held, and counted,
    /// until its topic is written again.
    pub fn retained_at(&self, now: u64) -> impl Iterator<Item = &Message> {
        self.retained().filter(move |m| !m.expired(now))
    }

    fn queue_stats_by_id(&self, id: QueueId) -> Option<QueueStats> {
        let q = self.queues.get(&id)?;
        Some(QueueStats {
            name: q.name.to_string(),
            options: q.options.clone(),
            bindings: q.bindings.iter().cloned().collect(),
            ready: q.ready.len() as u64,
            unacked: q.unacked,
            bytes: q.bytes,
            consumers: q.consumers.len() as u64,
            counters: q.counters,
        })
    }

    fn advance(&mut self, now: u64) -> u64 {
        self.now = self.now.max(now);
        self.now
    }

    fn frame(&mut self, conn: ConnId, frame: ClientFrame, now: u64) {
        let Some(c) = self.conns.get_mut(&conn) else { return };
        c.last_seen = now;
        let id = request_id(&frame);
        if self.acl.is_some()
            && let Err(err) = self.authorize(conn, &frame)
        {
            self.send(conn, ServerFrame::Error { id, code: err.code(), message: err.to_string() });
            return;
        }
        let result = match frame {
            ClientFrame::Hello { id, client_id, keep_alive_ms, will } => {
                self.hello(conn, id, client_id, keep_alive_ms, will, now)
            }
            ClientFrame::Declare { id, queue, options } => self.declare(conn, id, queue, options, now),
            ClientFrame::Delete { id, queue, if_empty } => self.delete(conn, id, &queue, if_empty, now),
            ClientFrame::Inspect { id, queue } => self.inspect_queue(conn, id, &queue),
            ClientFrame::Peek { id, queue, limit } => self.peek(conn, id, &queue, limit),
            ClientFrame::Purge { id, queue } => self.purge(conn, id, &queue),
            ClientFrame::Get { id, queue, ack } => self.get(conn, id, &queue, ack, now),
            ClientFrame::Bind { id, queue, filter, retained } => self.bind(conn, id, &queue, filter, retained, now),
            ClientFrame::Unbind { id, queue, filter } => self.unbind(conn, id, &queue, &filter),
            ClientFrame::Publish { id, topic, queue, payload, headers, retain, ttl_ms } => {
                let publish = publish::Publish { topic, queue, payload, headers, retain, ttl_ms };
                self.publish_frame(conn, id, publish, now)
            }
            ClientFrame::Subscribe { id, queue, topic, prefetch, ack } => {
                self.subscribe(conn, id, queue, topic, prefetch, ack, now)
            }
            ClientFrame::Unsubscribe { id, consumer } => self.unsubscribe(conn, id, consumer, now),
            ClientFrame::Ack { tag, multiple } => self.ack(conn, tag, multiple, now),
            ClientFrame::Nack { tag, multiple, requeue } => self.nack(conn, tag, multiple, requeue, now),
            ClientFrame::Watch { id, interval_ms } => self.watch(conn, id, interval_ms, now),
            ClientFrame::Unwatch { id } => self.unwatch(conn, id),
            ClientFrame::Ping { id } => {
                self.send(conn, ServerFrame::Pong { id });
                Ok(())
            }
            ClientFrame::Will { id, will } => self.set_will(conn, id, will),
            ClientFrame::Bye => self.bye(conn, now),
        };
        if let Err(err) = result {
            self.send(conn, ServerFrame::Error { id, code: err.code(), message: err.to_string() });
        }
    }

    fn send(&mut self, conn: ConnId, frame: ServerFrame) {
        self.outputs.push_back(Output::Send { conn, frame });
    }

    /// Emits an event when observing; the closure keeps the cost at zero otherwise.
    fn emit(&mut self, event: impl FnOnce() -> Event) {
        if self.config.observe {
            self.outputs.push_back(Output::Event(event()));
        }
    }

    /// Emits an event about queue `qid`, cloning its name only when observing
    /// (the hot paths must not pay for events nobody reads).
    fn emit_for_queue(&mut self, qid: QueueId, event: impl FnOnce(Arc<str>) -> Event) {
        if !self.config.observe {
            return;
        }
        if let Some(q) = self.queues.get(&qid) {
            let event = event(q.name.clone());
            self.outputs.push_back(Output::Event(event));
        }
    }

    fn store(&mut self, op: StoreOp) {
        self.outputs.push_back(Output::Store(op));
    }
}

/// The request id a reply or error should carry.
fn request_id(frame: &ClientFrame) -> Option<u64> {
    match frame {
        ClientFrame::Hello { id, .. }
        | ClientFrame::Publish { id, .. }
        | ClientFrame::Ping { id }
        | ClientFrame::Will { id, .. } => *id,
        ClientFrame::Declare { id, .. }
        | ClientFrame::Delete { id, .. }
        | ClientFrame::Inspect { id, .. }
        | ClientFrame::Peek { id, .. }
        | ClientFrame::Purge { id, .. }
        | ClientFrame::Get { id, .. }
        | ClientFrame::Bind { id, .. }
        | ClientFrame::Unbind { id, .. }
        | ClientFrame::Subscribe { id, .. }
        | ClientFrame::Unsubscribe { id, .. }
        | ClientFrame::Watch { id, .. }
        | ClientFrame::Unwatch { id } => Some(*id),
        ClientFrame::Ack { .. } | ClientFrame::Nack { .. } | ClientFrame::Bye => None,
    }
}
