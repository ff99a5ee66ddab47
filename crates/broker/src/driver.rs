//! The engine task: the one owner of the [`Engine`]. It takes commands from
//! connection tasks and HTTP handlers, runs them through the engine, and
//! routes the engine's outputs back to connections in per-connection batches.

use crate::denials::Denials;
use queue_core::acl::Acl;
use queue_core::protocol::{ClientFrame, ServerFrame};
use queue_core::queue::QueueOptions;
use queue_core::{ConnId, ConnectionStats, Denial, Engine, EngineConfig, Input, Output, Role, StatsSnapshot};
use rustc_hash::FxHashMap;
use serde::Serialize;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use store::{Change, Store};
use tokio::sync::{mpsc, oneshot, watch};
use tokio_util::sync::CancellationToken;

/// Commands processed per wake-up before outputs are flushed.
const BATCH: usize = 512;

/// Bytes of messages the store may be behind by before publishers are held
/// (the disk is slower than the clients: back-pressure, not an unbounded
/// queue in front of it); they are let go again below half of it.
const STORE_BEHIND: u64 = 4 << 20;

/// Bytes of frames read and waiting for the engine (in its command channel)
/// before publishers are held: the engine is the slower side, and what
/// waits for it has a bound in bytes, not only in commands. Let go below
/// half of it.
const INBOUND_BEHIND: usize = 8 << 20;

/// Message ids are recorded in the store this many at a time: a restart
/// goes on past the last block recorded, so ids never repeat.
const ID_BLOCK: u64 = 1 << 20;

/// What the engine task is asked to do.
#[derive(Debug)]
pub enum Command {
    /// A connection (WebSocket, MQTT or AMQP) opened.
    Connect {
        /// Its number.
        conn: ConnId,
        /// Where to send its frames.
        outbox: Outbox,
        /// The peer's address.
        remote: SocketAddr,
        /// How it speaks to the broker.
        protocol: Protocol,
    },
    /// A decoded frame from a connection (made by [`Command::frame`]).
    Frame {
        /// The sender.
        conn: ConnId,
        /// The frame.
        frame: ClientFrame,
        /// Its cost, counted in [`Buffered`] until the engine has it.
        bytes: usize,
    },
    /// Several decoded frames from a connection, in order: one channel
    /// message for what one read or one batch of deliveries produced (made
    /// by [`Command::frames`]).
    Frames {
        /// The sender.
        conn: ConnId,
        /// The frames.
        frames: Vec<ClientFrame>,
        /// Their cost, counted in [`Buffered`] until the engine has them.
        bytes: usize,
    },
    /// Who a connection acts for, once it logged in (before its first frame).
    Identify {
        /// The connection.
        conn: ConnId,
        /// Its username (`None`: anonymous).
        user: Option<String>,
        /// What kind of client it is.
        role: Role,
    },
    /// A new access control list (`None`: everyone may do everything).
    SetAcl(Option<Arc<Acl>>),
    /// A request refused by the ACL outside the engine (a will at MQTT
    /// CONNECT), to count and log with the engine's own.
    Denied(Denial),
    /// A connection ended.
    Disconnect {
        /// The connection.
        conn: ConnId,
    },
    /// A snapshot for the HTTP API and metrics.
    Snapshot(oneshot::Sender<Snapshot>),
    /// Prepares an MQTT session queue before its connection declares it: a
    /// clean start deletes the old one; a persistent one that survives takes
    /// `options` as its policy if only limits (the expiry) differ. The
    /// reply is the surviving queue's options: `None` means no session was
    /// present.
    OpenSession {
        /// The MQTT connection (already connected).
        conn: ConnId,
        /// The session queue's name.
        queue: String,
        /// Discard any old session.
        clean: bool,
        /// The options the connection wants.
        options: QueueOptions,
        /// The options of the queue that survives, if any.
        reply: oneshot::Sender<Option<QueueOptions>>,
    },
}

impl Command {
    /// A frame from `conn`, counted in `buffered` until the engine has it.
    pub fn frame(conn: ConnId, frame: ClientFrame, buffered: &Buffered) -> Self {
        let bytes = inbound_cost(&frame);
        buffered.add_inbound(bytes);
        Self::Frame { conn, frame, bytes }
    }

    /// Frames from `conn`, counted in `buffered` until the engine has them.
    pub fn frames(conn: ConnId, frames: Vec<ClientFrame>, buffered: &Buffered) -> Self {
        let bytes = frames.iter().map(inbound_cost).sum();
        buffered.add_inbound(bytes);
        Self::Frames { conn, frames, bytes }
    }
}

pub use crate::outbox::{Buffered, Outbound, OutboundRx, Outbox, inbound_cost, outbound_cost};

/// Hands `command` to the engine task; the future says whether it took it
/// (false: the engine task is gone). Without waiting when the channel has
/// room, the usual case; only a full channel makes a waiting send, boxed.
/// So a connection's future does not carry a waiting send's state (the
/// command twice, ~500 bytes) while it sits idle, nor move the command.
pub fn submit(commands: &mpsc::Sender<Command>, command: Command) -> impl Future<Output = bool> + Send + '_ {
    use futures_util::future::{Either, FutureExt, ready};
    match commands.try_send(command) {
        Ok(()) => Either::Left(ready(true)),
        Err(mpsc::error::TrySendError::Closed(_)) => Either::Left(ready(false)),
        Err(mpsc::error::TrySendError::Full(command)) => {
            Either::Right(Box::pin(commands.send(command)).map(|sent| sent.is_ok()))
        }
    }
}

/// How a connection speaks to the broker (shown by the API and dashboard).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Protocol {
    /// The JSON protocol over WebSocket (`/ws`).
    Ws,
    /// MQTT, over TCP, TLS or WebSocket.
    Mqtt,
    /// AMQP 0-9-1.
    Amqp,
    /// The broker's own (a bridge's local side).
    Internal,
}

/// A connection as the HTTP API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionInfo {
    /// The engine's view.
    #[serde(flatten)]
    pub stats: ConnectionStats,
    /// The peer's address.
    pub remote: String,
    /// How it speaks to the broker.
    pub protocol: Protocol,
    /// Bytes waiting to be written to it.
    pub pending_bytes: usize,
}

/// The broker's state at one instant.
#[derive(Debug, Clone, Serialize)]
pub struct Snapshot {
    /// Engine counters and queues.
    pub stats: StatsSnapshot,
    /// Open connections.
    pub connections: Vec<ConnectionInfo>,
    /// When the broker started (ms since the Unix epoch).
    pub started_at: u64,
    /// Slow consumers cut since start.
    pub slow_consumers_cut: u64,
    /// The durable store's figures (`None`: in memory).
    pub store: Option<store::Stats>,
    /// Bytes on disk of each durable queue's records.
    pub disk_bytes: HashMap<String, u64>,
    /// Requests the ACL refused since start, by action.
    pub denied: std::collections::BTreeMap<&'static str, u64>,
}

struct Peer {
    outbox: Outbox,
    remote: SocketAddr,
    protocol: Protocol,
}

/// What one flush sends: frames for connections and closes, in order.
#[derive(Default)]
struct Round {
    actions: Vec<Action>,
    /// What its frames cost while they wait (counted in [`Buffered`]).
    bytes: usize,
}

enum Action {
    Frames(ConnId, Vec<ServerFrame>),
    Close(ConnId),
}

/// The durable store and the rounds waiting for it: a round whose changes
/// are not yet on disk is held, and every later one behind it, so that no
/// confirmation (nor anything after it) leaves before its data is synced.
struct Durable {
    store: Store,
    synced: watch::Receiver<u64>,
    /// (ticket, round): sent once the store has synced the ticket.
    held: VecDeque<(u64, Round)>,
    last_ticket: u64,
    /// Ids below this are recorded as given out.
    id_ceiling: u64,
}

/// The engine task's state.
pub struct Driver {
    engine: Engine,
    // Fx: connection ids are the engine's own counter, not a peer's choice.
    peers: FxHashMap<ConnId, Peer>,
    batches: FxHashMap<ConnId, Vec<ServerFrame>>,
    /// Bytes waiting for one connection before it is cut as a slow consumer.
    max_pending_bytes: usize,
    buffered: Buffered,
    /// Publishers are blocked by the memory budget (connections watch it).
    blocked: watch::Sender<bool>,
    /// Slow consumers cut since start.
    slow_consumers_cut: u64,
    started_at: u64,
    durable: Option<Durable>,
    /// Publishers are held because the engine or the store is far behind.
    pressure: bool,
    /// Requests the ACL refused.
    denials: Denials,
}

/// Milliseconds since the Unix epoch: the engine's clock in the broker.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Driver {
    /// A driver around a fresh engine. Connections count their buffers in
    /// `buffered`, and stop reading publishes while `blocked` says so.
    pub fn new(
        config: EngineConfig,
        max_pending_bytes: usize,
        buffered: Buffered,
        blocked: watch::Sender<bool>,
    ) -> Self {
        Self {
            engine: Engine::new(config),
            peers: FxHashMap::default(),
            batches: FxHashMap::default(),
            max_pending_bytes,
            buffered,
            blocked,
            slow_consumers_cut: 0,
            started_at: now_ms(),
            durable: None,
            pressure: false,
            denials: Denials::default(),
        }
    }

    /// Keeps durable state in `store`, starting from what it recovered.
    pub fn with_store(mut self, store: Store, recovered: queue_core::Recovered) -> Self {
        let (queues, messages) =
            (recovered.queues.len(), recovered.queues.iter().map(|q| q.messages.len()).sum::<usize>());
        let retained = recovered.retained.len();
        let skipped = self.engine.restore(now_ms(), recovered);
        tracing::info!(queues, messages, retained, dir = %store.dir().display(), "store: recovered");
        if skipped != queue_core::Skipped::default() {
            tracing::warn!(?skipped, "store: some recovered state was refused");
        }
        let synced = store.synced();
        self.durable = Some(Durable { store, synced, held: VecDeque::new(), last_ticket: 0, id_ceiling: 0 });
        self
    }

    /// Runs until `shutdown` fires or every command sender is gone.
    pub async fn run(mut self, mut commands: mpsc::Receiver<Command>, shutdown: CancellationToken) {
        let mut buf = Vec::with_capacity(BATCH);
        loop {
            let sleep = deadline_sleep(self.engine.next_deadline());
            tokio::select! {
                n = commands.recv_many(&mut buf, BATCH) => {
                    if n == 0 {
                        break;
                    }
                    let now = now_ms();
                    for command in buf.drain(..) {
                        self.apply(now, command);
                    }
                }
                () = sleep => self.engine.handle(now_ms(), Input::Tick),
                () = synced(&mut self.durable) => self.release_synced(),
                () = shutdown.cancelled() => break,
            }
            self.flush();
            // What the flush queued counts too; the budget may now block
            // or unblock publishers, and say so to them.
            let pending = self.durable.as_ref().map_or(0, |d| d.store.pending_bytes());
            self.check_pressure(pending);
            if let Some(durable) = &self.durable {
                let disk = durable.store.disk_bytes();
                self.engine.handle(now_ms(), Input::Disk { bytes: disk });
            }
            let bytes = self.buffered.get() as u64 + pending;
            self.engine.handle(now_ms(), Input::Buffered { bytes });
            self.flush();
        }
        for peer in self.peers.values() {
            let _ = peer.outbox.send(Outbound::Close(1001, "broker shutting down".into()));
        }
    }

    fn apply(&mut self, now: u64, command: Command) {
        match command {
            Command::Connect { conn, outbox, remote, protocol } => {
                self.peers.insert(conn, Peer { outbox, remote, protocol });
                self.engine.handle(now, Input::Connect { conn });
            }
            Command::Frame { conn, frame, bytes } => {
                self.buffered.sub_inbound(bytes);
                self.engine.handle(now, Input::Frame { conn, frame });
            }
            Command::Frames { conn, frames, bytes } => {
                self.buffered.sub_inbound(bytes);
                for frame in frames {
                    self.engine.handle(now, Input::Frame { conn, frame });
                }
            }
            Command::Identify { conn, user, role } => self.engine.handle(now, Input::Identify { conn, user, role }),
            Command::SetAcl(acl) => self.engine.set_acl(acl),
            Command::Denied(denial) => self.denials.record(&denial),
            Command::Disconnect { conn } => {
                self.peers.remove(&conn);
                self.batches.remove(&conn);
                self.engine.handle(now, Input::Disconnect { conn });
            }
            Command::Snapshot(reply) => {
                let _ = reply.send(self.snapshot());
            }
            Command::OpenSession { conn, queue, clean, options, reply } => {
                let _ = reply.send(self.open_session(now, conn, &queue, clean, options));
            }
        }
    }

    /// See [`Command::OpenSession`].
    fn open_session(
        &mut self,
        now: u64,
        conn: ConnId,
        queue: &str,
        clean: bool,
        options: QueueOptions,
    ) -> Option<QueueOptions> {
        let existing = self.engine.queue_stats(queue).map(|s| s.options)?;
        if clean {
            let frame = ClientFrame::Delete { id: 0, queue: queue.to_owned(), if_empty: false };
            self.engine.handle(now, Input::Frame { conn, frame });
            return None;
        }
        let persistent = |o: &QueueOptions| !o.exclusive && !o.auto_delete;
        if existing != options && persistent(&existing) && persistent(&options) {
            match self.engine.set_queue_policy(now, queue, options.clone()) {
                Ok(()) => return Some(options),
                Err(err) => tracing::warn!(queue, %err, "cannot change the session's expiry"),
            }
        }
        Some(existing)
    }

    /// Sets the engine's access control list (before serving; later
    /// changes go through [`Command::SetAcl`]).
    pub fn set_acl(&mut self, acl: Option<Arc<Acl>>) {
        self.engine.set_acl(acl);
    }

    /// Routes the engine's outputs, one batch per connection; with a store,
    /// the round waits until its changes are on disk.
    fn flush(&mut self) {
        let mut round = Round::default();
        let mut changes = Vec::new();
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Send { conn, frame } => self.batches.entry(conn).or_default().push(frame),
                Output::Close { conn } => {
                    if let Some(frames) = self.batches.remove(&conn) {
                        round.actions.push(Action::Frames(conn, frames));
                    }
                    round.actions.push(Action::Close(conn));
                }
                Output::Blocked(blocked) => self.set_blocked(blocked),
                Output::Store(op) => changes.push(Change::Op(op)),
                Output::Denied(denial) => self.denials.record(&denial),
                Output::Event(_) => {}
            }
        }
        round.actions.extend(self.batches.drain().map(|(conn, frames)| Action::Frames(conn, frames)));
        let Some(durable) = &mut self.durable else { return self.send_round(round) };
        let next_id = self.engine.next_message_id();
        if next_id + ID_BLOCK / 2 > durable.id_ceiling {
            durable.id_ceiling = next_id + ID_BLOCK;
            changes.push(Change::NextId(durable.id_ceiling));
        }
        if !changes.is_empty() {
            durable.last_ticket = durable.store.write(changes);
        }
        if durable.held.is_empty() && durable.last_ticket <= *durable.synced.borrow() {
            return self.send_round(round);
        }
        if !round.actions.is_empty() {
            round.bytes = round.actions.iter().map(action_cost).sum();
            self.buffered.add(round.bytes);
            durable.held.push_back((durable.last_ticket, round));
        }
    }

    /// Sends the held rounds whose changes the store has synced.
    fn release_synced(&mut self) {
        let Some(durable) = &mut self.durable else { return };
        let synced = *durable.synced.borrow_and_update();
        let mut ready = Vec::new();
        while durable.held.front().is_some_and(|(ticket, _)| *ticket <= synced) {
            ready.extend(durable.held.pop_front().map(|(_, round)| round));
        }
        for round in ready {
            self.buffered.sub(round.bytes);
            self.send_round(round);
        }
    }

    fn send_round(&mut self, round: Round) {
        for action in round.actions {
            match action {
                Action::Frames(conn, frames) => self.send_batch(conn, frames),
                Action::Close(conn) => {
                    if let Some(peer) = self.peers.remove(&conn) {
                        let _ = peer.outbox.send(Outbound::Close(1000, "closed by the broker".into()));
                    }
                }
            }
        }
    }

    fn send_batch(&mut self, conn: ConnId, frames: Vec<ServerFrame>) {
        if frames.is_empty() {
            return;
        }
        let Some(peer) = self.peers.get(&conn) else { return };
        // One large batch (a consumer's whole prefetch window at once) is
        // fine; a writer still that far behind at the next batch is slow.
        let backlog = peer.outbox.send_frames(frames);
        if backlog > self.max_pending_bytes {
            self.cut_slow_consumer(conn, backlog);
        }
    }

    /// A connection that cannot keep up is cut at once: its task ends
    /// without writing its backlog (so the close does not wait behind what
    /// it is cut for), and its unacked messages go back to their queues for
    /// other consumers now, rather than piling up in broker memory.
    fn cut_slow_consumer(&mut self, conn: ConnId, backlog: usize) {
        let limit = self.max_pending_bytes;
        tracing::warn!(conn, backlog, limit, "cutting a slow consumer: it reads too slowly to keep up");
        if let Some(peer) = self.peers.remove(&conn) {
            peer.outbox.cut();
        }
        self.slow_consumers_cut += 1;
        self.engine.handle(now_ms(), Input::Disconnect { conn });
    }

    /// Holds publishers while the engine or the store is far behind them
    /// (`pending`: bytes handed to the store and not yet written).
    fn check_pressure(&mut self, pending: u64) {
        let inbound = self.buffered.inbound();
        let pressure = if self.pressure {
            pending > STORE_BEHIND / 2 || inbound > INBOUND_BEHIND / 2
        } else {
            pending > STORE_BEHIND || inbound > INBOUND_BEHIND
        };
        if pressure != self.pressure {
            self.pressure = pressure;
            tracing::debug!(pending, inbound, pressure, "back-pressure on publishers");
            self.blocked.send_replace(pressure || self.engine.memory().blocked);
        }
    }

    /// Carries out the engine's block or unblock of publishers.
    fn set_blocked(&mut self, blocked: bool) {
        let m = self.engine.memory();
        let (used, limit) = (m.used, m.limit.unwrap_or(0));
        let disk_full = m.disk_limit.is_some_and(|limit| m.disk >= limit);
        if blocked && disk_full {
            let (disk, disk_limit) = (m.disk, m.disk_limit.unwrap_or(0));
            tracing::warn!(disk, disk_limit, "disk budget reached: publishers are blocked until durable queues drain");
        } else if blocked {
            tracing::warn!(used, limit, "memory budget reached: publishers are blocked until queues drain");
        } else {
            tracing::info!(
                used,
                limit,
                disk = m.disk,
                "memory and disk back under their low watermarks: publishers unblocked"
            );
        }
        self.blocked.send_replace(blocked || self.pressure);
    }

    fn snapshot(&self) -> Snapshot {
        let connections = self
            .engine
            .connections()
            .into_iter()
            .map(|stats| {
                let peer = self.peers.get(&stats.id);
                ConnectionInfo {
                    remote: peer.map_or_else(String::new, |p| p.remote.to_string()),
                    protocol: peer.map_or(Protocol::Internal, |p| p.protocol),
                    pending_bytes: peer.map_or(0, |p| p.outbox.backlog()),
                    stats,
                }
            })
            .collect();
        let slow_consumers_cut = self.slow_consumers_cut;
        let store = self.durable.as_ref().map(|d| d.store.stats());
        let disk_bytes = self.durable.as_ref().map(|d| d.store.queue_bytes().into_iter().collect()).unwrap_or_default();
        Snapshot {
            stats: self.engine.stats(),
            connections,
            started_at: self.started_at,
            slow_consumers_cut,
            store,
            disk_bytes,
            denied: self.denials.by_action(),
        }
    }
}

/// What a held action's frames cost.
fn action_cost(action: &Action) -> usize {
    match action {
        Action::Frames(_, frames) => frames.iter().map(outbound_cost).sum(),
        Action::Close(_) => 0,
    }
}

/// Resolves when the store has synced more (pending without a store, or
/// once the store has stopped).
async fn synced(durable: &mut Option<Durable>) {
    let Some(d) = durable else { return std::future::pending().await };
    if d.synced.changed().await.is_err() {
        std::future::pending::<()>().await;
    }
}

async fn deadline_sleep(deadline: Option<u64>) {
    match deadline {
        Some(at) => tokio::time::sleep(Duration::from_millis(at.saturating_sub(now_ms()))).await,
        None => std::future::pending().await,
    }
}
