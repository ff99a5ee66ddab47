//! The engine task: the one owner of the [`Engine`]. It takes commands from
//! connection tasks and HTTP handlers, runs them through the engine, and
//! routes the engine's outputs back to connections in per-connection batches.

use queue_core::protocol::{ClientFrame, ErrorCode, ServerFrame};
use queue_core::queue::QueueOptions;
use queue_core::topic::matches;
use queue_core::{ConnId, ConnectionStats, Engine, EngineConfig, Input, Message, Output, StatsSnapshot};
use serde::Serialize;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

/// Commands processed per wake-up before outputs are flushed.
const BATCH: usize = 512;

/// What the engine task is asked to do.
#[derive(Debug)]
pub enum Command {
    /// A connection (WebSocket or MQTT) opened.
    Connect {
        /// Its number.
        conn: ConnId,
        /// Where to send its frames.
        outbox: Outbox,
        /// The peer's address.
        remote: SocketAddr,
    },
    /// A decoded frame from a connection.
    Frame {
        /// The sender.
        conn: ConnId,
        /// The frame.
        frame: ClientFrame,
    },
    /// Several decoded frames from a connection, in order: one channel
    /// message for what one read or one batch of deliveries produced.
    Frames {
        /// The sender.
        conn: ConnId,
        /// The frames.
        frames: Vec<ClientFrame>,
    },
    /// A connection ended.
    Disconnect {
        /// The connection.
        conn: ConnId,
    },
    /// A snapshot for the HTTP API and metrics.
    Snapshot(oneshot::Sender<Snapshot>),
    /// The retained messages whose topics match a filter (MQTT replays them
    /// itself at SUBSCRIBE, honouring each subscription's retain handling).
    Retained {
        /// Topic filter, MQTT wildcards allowed.
        filter: String,
        /// Where the matching messages go, in topic order.
        reply: oneshot::Sender<Vec<Message>>,
    },
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

/// What the engine task sends to a connection's writer.
#[derive(Debug)]
pub enum Outbound {
    /// Frames to write, in order.
    Frames(Vec<ServerFrame>),
    /// A WebSocket ping (keep-alive).
    Ping,
    /// Close the connection with this code and reason.
    Close(u16, String),
}

/// The sending half of a connection's outbound queue, with its backlog count.
#[derive(Debug, Clone)]
pub struct Outbox {
    /// Frames and closes for the writer.
    pub tx: mpsc::UnboundedSender<Outbound>,
    /// Frames queued and not yet written.
    pub pending: Arc<AtomicUsize>,
}

impl Outbox {
    /// A new outbox and the receiver its writer drains.
    pub fn new() -> (Self, mpsc::UnboundedReceiver<Outbound>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (Self { tx, pending: Arc::new(AtomicUsize::new(0)) }, rx)
    }

    /// Queues frames; returns the backlog after adding them.
    pub fn send_frames(&self, frames: Vec<ServerFrame>) -> usize {
        let n = frames.len();
        let backlog = self.pending.fetch_add(n, Ordering::Relaxed) + n;
        let _ = self.tx.send(Outbound::Frames(frames));
        backlog
    }
}

/// A connection as the HTTP API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionInfo {
    /// The engine's view.
    #[serde(flatten)]
    pub stats: ConnectionStats,
    /// The peer's address.
    pub remote: String,
    /// Frames waiting to be written to it.
    pub pending_frames: usize,
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
}

struct Peer {
    outbox: Outbox,
    remote: SocketAddr,
}

/// The engine task's state.
pub struct Driver {
    engine: Engine,
    peers: HashMap<ConnId, Peer>,
    batches: HashMap<ConnId, Vec<ServerFrame>>,
    max_pending: usize,
    started_at: u64,
}

/// Milliseconds since the Unix epoch: the engine's clock in the broker.
pub fn now_ms() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

impl Driver {
    /// A driver around a fresh engine.
    pub fn new(config: EngineConfig, max_pending: usize) -> Self {
        Self {
            engine: Engine::new(config),
            peers: HashMap::new(),
            batches: HashMap::new(),
            max_pending,
            started_at: now_ms(),
        }
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
                () = shutdown.cancelled() => break,
            }
            self.flush();
        }
        for peer in self.peers.values() {
            let _ = peer.outbox.tx.send(Outbound::Close(1001, "broker shutting down".into()));
        }
    }

    fn apply(&mut self, now: u64, command: Command) {
        match command {
            Command::Connect { conn, outbox, remote } => {
                self.peers.insert(conn, Peer { outbox, remote });
                self.engine.handle(now, Input::Connect { conn });
            }
            Command::Frame { conn, frame } => self.engine.handle(now, Input::Frame { conn, frame }),
            Command::Frames { conn, frames } => {
                for frame in frames {
                    self.engine.handle(now, Input::Frame { conn, frame });
                }
            }
            Command::Disconnect { conn } => {
                self.peers.remove(&conn);
                self.batches.remove(&conn);
                self.engine.handle(now, Input::Disconnect { conn });
            }
            Command::Snapshot(reply) => {
                let _ = reply.send(self.snapshot());
            }
            Command::Retained { filter, reply } => {
                let found = self.engine.retained().filter(|m| matches(&filter, &m.topic)).cloned().collect();
                let _ = reply.send(found);
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

    /// Routes the engine's outputs, one batch per connection.
    fn flush(&mut self) {
        while let Some(output) = self.engine.poll_output() {
            match output {
                Output::Send { conn, frame } => self.batches.entry(conn).or_default().push(frame),
                Output::Close { conn } => {
                    self.send_batch(conn);
                    if let Some(peer) = self.peers.remove(&conn) {
                        let _ = peer.outbox.tx.send(Outbound::Close(1000, "closed by the broker".into()));
                    }
                }
                Output::Event(_) | Output::Store(_) => {}
            }
        }
        let conns: Vec<ConnId> = self.batches.keys().copied().collect();
        for conn in conns {
            self.send_batch(conn);
        }
    }

    fn send_batch(&mut self, conn: ConnId) {
        let Some(frames) = self.batches.remove(&conn).filter(|f| !f.is_empty()) else { return };
        let Some(peer) = self.peers.get(&conn) else { return };
        let backlog = peer.outbox.send_frames(frames);
        if backlog > self.max_pending {
            self.cut_slow_consumer(conn, backlog);
        }
    }

    /// A connection that cannot keep up is closed; its unacked messages are
    /// requeued for others rather than piling up in broker memory.
    fn cut_slow_consumer(&mut self, conn: ConnId, backlog: usize) {
        tracing::warn!(conn, backlog, "closing slow consumer");
        if let Some(peer) = self.peers.remove(&conn) {
            let message = format!(
                "{backlog} frames waiting: this connection reads too slowly; lower its prefetch or use manual acks"
            );
            let frame = ServerFrame::Error { id: None, code: ErrorCode::SlowConsumer, message };
            let _ = peer.outbox.send_frames(vec![frame]);
            let _ = peer.outbox.tx.send(Outbound::Close(1008, "slow consumer".into()));
        }
        self.engine.handle(now_ms(), Input::Disconnect { conn });
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
                    pending_frames: peer.map_or(0, |p| p.outbox.pending.load(Ordering::Relaxed)),
                    stats,
                }
            })
            .collect();
        Snapshot { stats: self.engine.stats(), connections, started_at: self.started_at }
    }
}

async fn deadline_sleep(deadline: Option<u64>) {
    match deadline {
        Some(at) => tokio::time::sleep(Duration::from_millis(at.saturating_sub(now_ms()))).await,
        None => std::future::pending().await,
    }
}
