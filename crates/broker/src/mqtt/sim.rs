//! MQTT sessions wired to a real [`Engine`] in one thread, on a clock the
//! test moves: what the connection tasks and the driver do for a session,
//! without sockets, tasks or sleeps. QoS 2 flows, topic aliases, the
//! receive maximum, no-local, retained handling and message expiry are
//! tested here in microseconds, the same way every run; the tests with
//! Mosquitto's clients, paho and the real binary stand on top of these.
//!
//! What it leaves to those: the CONNECT handshake and CONNACK
//! (`connection.rs`), resuming a saved session (the driver's
//! `OpenSession`) and keep-alive, which live in the connection task.
//! Delayed wills are the engine's and tested there (`rules.rs`).

use super::session::{Pending, Session, Step};
use mqtt_codec::{Packet, ProtocolVersion, ReasonCode};
use queue_core::protocol::{ClientFrame, ServerFrame};
use queue_core::{ConnId, Engine, EngineConfig, Input, Output, Role};
use std::collections::BTreeMap;

/// One simulated connection.
struct Client {
    session: Session,
    /// Packets the session wrote to its client, not yet taken.
    sent: Vec<Packet>,
    /// Why the connection ended (`Some(None)`: closed without a reason).
    closed: Option<Option<ReasonCode>>,
}

/// The engine and the sessions connected to it.
pub(super) struct Sim {
    pub engine: Engine,
    /// Engine milliseconds; moved only by [`Sim::advance`].
    pub now: u64,
    clients: BTreeMap<ConnId, Client>,
    next_conn: ConnId,
}

impl Sim {
    pub fn new() -> Self {
        Self { engine: Engine::new(EngineConfig::default()), now: 1_000_000, clients: BTreeMap::new(), next_conn: 1 }
    }

    /// Connects a client as the connection task does after CONNACK;
    /// `setup` sets what CONNECT would have (receive maximum, alias maximum).
    /// A persistent session's queue is made now, a clean one's at its
    /// first subscription.
    pub fn connect(&mut self, version: ProtocolVersion, client_id: &str, setup: impl FnOnce(&mut Session)) -> ConnId {
        let conn = self.next_conn;
        self.next_conn += 1;
        let mut session = Session::new(version, client_id.to_owned());
        setup(&mut session);
        self.input(Input::Connect { conn });
        self.input(Input::Identify { conn, user: None, role: Role::Adapter });
        let hello =
            ClientFrame::Hello { id: None, client_id: Some(client_id.to_owned()), keep_alive_ms: 0, will: None };
        self.input(Input::Frame { conn, frame: hello });
        let open = session.lifetime.is_persistent().then(|| {
            let options = session.lifetime.queue_options(session.queue_limits);
            session.queue_frames(options, session.prefetch, Pending::Nothing).0
        });
        self.clients.insert(conn, Client { session, sent: Vec::new(), closed: None });
        for frame in open.into_iter().flatten() {
            self.input(Input::Frame { conn, frame });
        }
        self.pump();
        conn
    }

    /// The client sends `packet`; everything it sets off runs.
    pub fn send(&mut self, conn: ConnId, packet: Packet) {
        self.send_all(conn, [packet]);
    }

    /// The client sends `packets` back to back: the session reads them all
    /// before the engine answers any (as from one socket read).
    pub fn send_all(&mut self, conn: ConnId, packets: impl IntoIterator<Item = Packet>) {
        for packet in packets {
            let Some(client) = self.live(conn) else { return };
            let mut steps = Vec::new();
            client.session.on_packet(packet, &mut steps);
            self.carry_out(conn, steps);
        }
        self.pump();
    }

    /// Time passes: the engine's timers (expiry, TTL) run.
    pub fn advance(&mut self, ms: u64) {
        self.now += ms;
        self.input(Input::Tick);
        self.pump();
    }

    /// What the session wrote to its client since the last call.
    pub fn take(&mut self, conn: ConnId) -> Vec<Packet> {
        self.clients.get_mut(&conn).map(|c| std::mem::take(&mut c.sent)).unwrap_or_default()
    }

    /// Why the connection ended, if it did.
    pub fn closed(&self, conn: ConnId) -> Option<Option<ReasonCode>> {
        self.clients.get(&conn).and_then(|c| c.closed)
    }

    /// The session of a connection.
    pub fn session(&self, conn: ConnId) -> &Session {
        &self.clients[&conn].session
    }

    fn live(&mut self, conn: ConnId) -> Option<&mut Client> {
        self.clients.get_mut(&conn).filter(|c| c.closed.is_none())
    }

    fn input(&mut self, input: Input) {
        self.engine.handle(self.now, input);
    }

    /// The connection task's `carry_out`, in order; a close ends it.
    fn carry_out(&mut self, conn: ConnId, steps: Vec<Step>) {
        for step in steps {
            let Some(client) = self.live(conn) else { return };
            match step {
                Step::Engine(frame) => self.input(Input::Frame { conn, frame }),
                Step::Send(packet) => client.sent.push(packet),
                // No ACL here: nothing is refused.
                Step::Denied(_) => {}
                Step::Close(reason) => {
                    client.closed = Some(reason);
                    self.input(Input::Disconnect { conn });
                    return;
                }
            }
        }
    }

    /// Hands the engine's outputs to the sessions, one batch per
    /// connection as the driver does, until nothing more comes.
    fn pump(&mut self) {
        loop {
            let mut batches: BTreeMap<ConnId, Vec<ServerFrame>> = BTreeMap::new();
            while let Some(output) = self.engine.poll_output() {
                match output {
                    Output::Send { conn, frame } => batches.entry(conn).or_default().push(frame),
                    Output::Close { conn } => {
                        if let Some(client) = self.clients.get_mut(&conn) {
                            client.closed.get_or_insert(None);
                        }
                    }
                    _ => {}
                }
            }
            if batches.is_empty() {
                return;
            }
            for (conn, frames) in batches {
                let now = self.now;
                let Some(client) = self.live(conn) else { continue };
                let mut steps = Vec::new();
                client.session.on_frames(frames, now, &mut steps);
                self.carry_out(conn, steps);
            }
        }
    }
}
