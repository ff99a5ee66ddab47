//! One MQTT connection: the only code that touches its socket. It reads and
//! decodes packets, lets the [`Session`] translate them into engine frames,
//! forwards those to the engine task, and writes back what the session makes
//! of the engine's replies. Keep-alive, takeover and shutdown end it here.

use super::handshake::{client_id, read_connect, refuse};
use super::io::append;
use super::lifetime::{Lifetime, QueueLimits};
use super::registry::Claim;
use super::session::{Access, Pending, Session, Step, TOPIC_ALIAS_MAX, engine_will};
use crate::auth::Verdict;
use crate::driver::{Command, Outbound, OutboundRx, Outbox, Protocol, submit};
use crate::flow::Gate;
use crate::server::AppState;
use bytes::BytesMut;
use futures_util::future::Either;
use mqtt_codec::{ConnAck, Connect, Disconnect, Packet, ProtocolVersion, ReasonCode, decode};
use queue_core::acl::{TopicAccess, Who};
use queue_core::protocol::{ClientFrame, ServerFrame, Will};
use queue_core::queue::QueueOptions;
use queue_core::{Denial, Role};
use std::net::SocketAddr;
use std::num::NonZeroU16;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::sync::oneshot;
use tokio::time::Instant;

/// A connection that has read nothing for this long gives back its read
/// buffer (and its small steps buffer): idle connections should cost
/// little, busy ones keep theirs (a fresh buffer reads 64 bytes at first).
const IDLE_AFTER: Duration = Duration::from_secs(1);

/// A new connection gives back what its CONNECT and CONNACK took (about
/// 1.3 KiB of tables) this soon after they are done, not [`IDLE_AFTER`]:
/// freed a second later, after the next thousand connections took their
/// own memory, they left holes that RSS kept (3.8 KiB a connection instead
/// of 2.2 with 10 000 connecting one after another).
const SETTLED_AFTER: Duration = Duration::from_millis(10);

/// How long without work before a connection's tables give back their room.
fn tidy_delay(settled: bool) -> Duration {
    if settled { IDLE_AFTER } else { SETTLED_AFTER }
}

/// How much an active connection's read buffer has room for.
const READ_CHUNK: usize = 4096;

/// Above this many bytes, the write buffer is given back once written.
const KEPT_WRITE_BUFFER: usize = 16 * 1024;

/// How long a new connection may take to send its CONNECT.
const CONNECT_WAIT: Duration = Duration::from_secs(10);

/// How long the engine may take to set a session up.
const SETUP_WAIT: Duration = Duration::from_secs(5);

/// Prefetch of an MQTT 3.1.1 session (3.1.1 has no receive maximum).
const V311_IN_FLIGHT: u32 = 100;

/// Decrements the live-connection count when a connection ends, however it ends.
struct Slot(AppState);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the connection keeps once CONNACK is sent.
struct Opened<S> {
    link: Link<S>,
    claim: Claim,
    /// The session was set up (CONNACK success); else only `finish` runs.
    ready: bool,
}

/// Serves one MQTT connection until either side closes it.
/// `cert_user` is the client certificate's common name when TLS takes it
/// as the username: then no password is asked.
///
/// Everything up to CONNACK runs in a future of its own, boxed and freed
/// once answered: an idle connection's task keeps only its [`Link`], its
/// [`Claim`] and what waiting needs (issue 9's idle bound). (Not an
/// `async fn`: its arguments would keep their 96 bytes in the task for
/// the connection's life, moved out or not.)
pub fn serve_connection<S>(
    stream: S,
    state: AppState,
    remote: SocketAddr,
    cert_user: Option<String>,
) -> impl Future<Output = ()>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let live = state.live.fetch_add(1, Ordering::Relaxed) + 1;
    let slot = Slot(state.clone());
    let accepting = Box::pin(accept(stream, state, remote, cert_user, live));
    async move {
        let _slot = slot;
        // Destructured here, not passed on: an `async fn`'s argument would
        // be held twice, as the argument and as these.
        let Some(Opened { mut link, claim, ready }) = accepting.await else { return };
        if ready {
            link.run().await;
            if link.outbound.kicked() {
                Box::pin(link.close(Some(ReasonCode::SessionTakenOver))).await;
            }
        }
        Box::pin(link.finish()).await;
        let conn = link.conn;
        submit(&link.state.commands, Command::Disconnect { conn }).await;
        drop(claim);
        tracing::debug!(conn, "MQTT disconnected");
    }
}

/// Reads the CONNECT, checks the login, claims the client id, sets the
/// session up and answers CONNACK. `None`: refused (and answered) or gone.
async fn accept<S>(
    mut stream: S,
    state: AppState,
    remote: SocketAddr,
    cert_user: Option<String>,
    live: usize,
) -> Option<Opened<S>>
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let max_packet = u32::try_from(state.config.max_frame_bytes).unwrap_or(u32::MAX);
    // Empty: a read reserves what it needs, so an idle connection holds no buffer.
    let mut inbox = BytesMut::new();
    let read = tokio::time::timeout(CONNECT_WAIT, read_connect(&mut stream, &mut inbox, max_packet));
    let Ok(Some(mut connect)) = read.await else { return None };
    if inbox.is_empty() {
        // The CONNECT's buffer goes now, not after a second of silence.
        inbox = BytesMut::new();
    }
    let version = connect.protocol;
    if live > state.config.max_connections {
        refuse(&mut stream, version, ReasonCode::ServerBusy).await;
        return None;
    }
    if cert_user.is_some() {
        // The certificate says who this is (Mosquitto's use_identity_as_username).
        connect.username.clone_from(&cert_user);
    }
    let user = connect.username.as_deref();
    let verdict = match cert_user {
        Some(_) => Verdict::Allowed,
        None => state.auth.check(user, connect.password.as_deref()).await,
    };
    match verdict {
        Verdict::Allowed => {}
        refused => {
            tracing::info!(%remote, user, ?refused, "MQTT connection refused");
            let reason = match refused {
                Verdict::BadCredentials => ReasonCode::BadUserNameOrPassword,
                _ => ReasonCode::NotAuthorized,
            };
            refuse(&mut stream, version, reason).await;
            return None;
        }
    }
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    let (client_id, assigned) = match client_id(&connect, conn) {
        Ok(found) => found,
        Err(reason) => {
            refuse(&mut stream, version, reason).await;
            return None;
        }
    };
    let acl = state.acl();
    if let (Some(acl), Some(will)) = (&acl, &connect.will) {
        // As Mosquitto 2 does: a will the client could not publish is refused at CONNECT.
        if !acl.topic(Who { user, client_id: &client_id }, TopicAccess::Write, &will.topic) {
            let denial =
                Denial { conn, user: user.map(Arc::from), client_id, action: "will", resource: will.topic.clone() };
            submit(&state.commands, Command::Denied(denial)).await;
            refuse(&mut stream, version, ReasonCode::NotAuthorized).await;
            return None;
        }
    }
    let (outbox, outbound) = Outbox::new(&state.buffered);
    let claim = state.mqtt_sessions.claim(&client_id, conn, outbox.kicker()).await;
    let identify = Command::Identify { conn, user: connect.username.clone(), role: Role::Adapter };
    for command in [Command::Connect { conn, outbox, remote, protocol: Protocol::Mqtt }, identify] {
        submit(&state.commands, command).await.then_some(())?;
    }
    tracing::debug!(conn, %remote, client_id, "MQTT connected");
    let lifetime = Lifetime::of(&connect);
    let mut session = Session::new(version, client_id);
    session.lifetime = lifetime;
    session.receive_max = state.config.mqtt_receive_maximum;
    session.access = acl.map(|acl| Arc::new(Access { acl, user: connect.username.clone() }));
    session.queue_limits =
        QueueLimits { messages: state.config.mqtt_max_queued_messages, bytes: state.config.mqtt_max_queued_bytes };
    let gate = Gate::new(state.blocked.clone(), state.buffered.clone());
    let mut link = Link {
        stream,
        inbox,
        out: BytesMut::new(),
        session,
        state,
        conn,
        gate,
        outbound,
        max_packet,
        peer_max: connect.properties.maximum_packet_size.map_or(u32::MAX, |m| m.get()),
        keep_alive: 0,
        declared: lifetime,
        delete_on_close: false,
        delayed_will: None,
        goodbye: false,
        steps: Vec::new(),
    };
    let ready = link.open(&connect, assigned).await;
    Some(Opened { link, claim, ready })
}

/// A connection after its CONNECT: socket, buffers and session.
struct Link<S> {
    stream: S,
    inbox: BytesMut,
    out: BytesMut,
    session: Session,
    state: AppState,
    conn: u64,
    /// Holds publishes while the memory budget blocks publishers.
    gate: Gate,
    outbound: OutboundRx,
    max_packet: u32,
    peer_max: u32,
    /// The client's keep-alive in seconds (silent for 1.5 times it, it is
    /// cut); zero: none.
    keep_alive: u16,
    /// The lifetime the session queue was declared with (the session's own
    /// may change at DISCONNECT).
    declared: Lifetime,
    /// A clean session resumed a persistent queue: delete it at the end.
    delete_on_close: bool,
    /// A will with a delay (MQTT 5), as given to the engine, and the delay
    /// it asked for (boxed: few connections have one): kept to bring the
    /// will forward if a DISCONNECT shortens the session.
    delayed_will: Option<Box<(Will, Duration)>>,
    /// The client said a clean goodbye: no will.
    goodbye: bool,
    /// The steps buffer, kept (empty) between wake-ups.
    steps: Vec<Step>,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Link<S> {
    /// Sets the session up in the engine and answers CONNACK; false if refused.
    async fn open(&mut self, connect: &Connect, assigned: bool) -> bool {
        let prefetch = match self.session.version {
            ProtocolVersion::V311 => V311_IN_FLIGHT,
            ProtocolVersion::V5 => connect.properties.receive_maximum.map_or(65_535, |m| u32::from(m.get())),
        };
        self.session.prefetch = prefetch;
        let (keep_alive, server_keep_alive) = keep_alive(connect, self.state.config.mqtt_max_keep_alive);
        self.keep_alive = keep_alive;
        let mut will = connect.will.as_ref().map(engine_will);
        let asked = connect.will.as_ref().and_then(|w| w.properties.will_delay_interval).unwrap_or(0);
        let asked = Duration::from_secs(u64::from(asked));
        if let Some(will) = &mut will {
            will.delay_ms = millis(will_delay(asked, self.declared));
            if will.delay_ms > 0 {
                self.delayed_will = Some(Box::new((will.clone(), asked)));
            }
        }
        let hello =
            ClientFrame::Hello { id: None, client_id: Some(self.session.client_id.clone()), keep_alive_ms: 0, will };
        self.to_engine(hello).await;
        let mut steps = Vec::new();
        let Some((options, present)) = self.resume(connect.clean_start, &mut steps).await else { return false };
        let early = if present || self.declared.is_persistent() {
            Box::pin(self.open_queue(options, prefetch)).await
        } else {
            // A clean session: its queue and consumer wait for its first
            // subscription (an idle device that only publishes needs neither).
            Some(Vec::new())
        };
        let ready = early.is_some();
        let reason = if ready { ReasonCode::Success } else { ReasonCode::ServerUnavailable };
        let mut connack = ConnAck { session_present: present && ready, reason, properties: Default::default() };
        if assigned {
            connack.properties.assigned_client_identifier = Some(self.session.client_id.clone());
        }
        connack.properties.maximum_packet_size = std::num::NonZeroU32::new(self.max_packet);
        connack.properties.shared_subscription_available = Some(true);
        connack.properties.subscription_identifier_available = Some(true);
        connack.properties.topic_alias_maximum = Some(TOPIC_ALIAS_MAX);
        connack.properties.receive_maximum = NonZeroU16::new(self.session.receive_max);
        self.session.peer_alias_max = connect.properties.topic_alias_maximum.unwrap_or(0);
        connack.properties.server_keep_alive = server_keep_alive;
        if connect.properties.request_response_information == Some(true) {
            connack.properties.response_information = Some(response_information(&self.session.client_id));
        }
        self.send(&Packet::ConnAck(connack));
        if let Some(frames) = early.filter(|frames| !frames.is_empty()) {
            self.session.on_frames(frames, crate::driver::now_ms(), &mut steps);
        }
        self.carry_out(steps).await && ready
    }

    /// Declares the session queue (with `options`) and subscribes its
    /// consumer; returns the frames that came after it (a resumed session's
    /// first deliveries), or `None` if the engine refused or took too long.
    async fn open_queue(&mut self, options: QueueOptions, prefetch: u32) -> Option<Vec<ServerFrame>> {
        let (frames, subscribe) = self.session.queue_frames(options, prefetch, Pending::Nothing);
        for frame in frames {
            self.to_engine(frame).await;
        }
        tokio::time::timeout(SETUP_WAIT, self.await_subscribed(subscribe)).await.ok().flatten()
    }

    /// Finds the client's old session (a clean start discards it) and takes
    /// back its saved state (PUBRELs to resend go to `steps`); returns the
    /// options to declare the session queue with and whether a session was
    /// present. `None`: the engine is gone.
    async fn resume(&mut self, clean: bool, steps: &mut Vec<Step>) -> Option<(QueueOptions, bool)> {
        let wanted = self.declared.queue_options(self.session.queue_limits);
        let (reply, answer) = oneshot::channel();
        let queue = self.session.queue();
        let command = Command::OpenSession { conn: self.conn, queue, clean, options: wanted.clone(), reply };
        submit(&self.state.commands, command).await.then_some(())?;
        let existing = answer.await.ok()?;
        let saved = self.state.mqtt_sessions.take_saved(&self.session.client_id);
        let Some(options) = existing else {
            if saved.is_some() {
                self.state.mqtt_sessions.forget(&self.session.client_id);
            }
            return Some((wanted, false));
        };
        if let Some(saved) = saved {
            self.session.restore(saved, steps);
        }
        self.delete_on_close = !self.declared.is_persistent() && !options.exclusive;
        Some((options, true))
    }

    /// At the end of the connection: a persistent session settles what the
    /// client owns (released QoS 2 deliveries), takes the expiry interval a
    /// DISCONNECT gave it, and saves its state; a clean one that resumed a
    /// persistent queue, or was made clean at DISCONNECT, deletes it. Then
    /// a clean goodbye is `bye` (the engine takes no frame after it).
    async fn finish(&mut self) {
        // What the client sent before it went is handled, held or not.
        let held = self.gate.release();
        self.past_gate(held).await;
        let lifetime = self.session.lifetime;
        if lifetime.is_persistent() {
            self.through_gate(self.session.settle_released()).await;
            if lifetime != self.declared {
                self.set_expiry(lifetime).await;
            }
            self.state.mqtt_sessions.save(&self.session.client_id, self.session.saved());
        } else if self.delete_on_close || self.declared.is_persistent() {
            self.state.mqtt_sessions.forget(&self.session.client_id);
            let queue = self.session.queue();
            self.to_engine(ClientFrame::Delete { id: 0, queue, if_empty: false }).await;
        }
        if self.goodbye {
            self.to_engine(ClientFrame::Bye).await;
        } else if let Some(kept) = self.delayed_will.take() {
            // A DISCONNECT (0x04) that shortened the session brings its
            // delayed will forward: it is published when the session ends.
            let (mut will, asked) = *kept;
            let delay = millis(will_delay(asked, lifetime));
            if delay < will.delay_ms {
                will.delay_ms = delay;
                self.to_engine(ClientFrame::Will { id: None, will: Some(will) }).await;
            }
        }
    }

    /// Gives the persistent session queue the expiry of `lifetime` (the
    /// engine changes a persistent queue's options when they differ).
    async fn set_expiry(&self, lifetime: Lifetime) {
        let (reply, answer) = oneshot::channel();
        let queue = self.session.queue();
        let options = lifetime.queue_options(self.session.queue_limits);
        let command = Command::OpenSession { conn: self.conn, queue, clean: false, options, reply };
        if submit(&self.state.commands, command).await {
            let _ = answer.await;
        }
    }

    /// Reads the engine's replies until the session's consumer exists;
    /// returns the frames that came after it (a resumed session's first
    /// deliveries), or `None` if the session could not be opened.
    async fn await_subscribed(&mut self, subscribe: u64) -> Option<Vec<ServerFrame>> {
        while let Some(item) = self.outbound.recv().await {
            let Outbound::Frames(frames, bytes) = item else { return None };
            self.outbound.taken(bytes);
            let mut frames = frames.into_iter();
            while let Some(frame) = frames.next() {
                match frame {
                    ServerFrame::Subscribed { id, .. } if id == subscribe => return Some(frames.collect()),
                    ServerFrame::Error { code, message, .. } => {
                        tracing::warn!(client_id = %self.session.client_id, ?code, %message, "cannot open MQTT session");
                        return None;
                    }
                    _ => {}
                }
            }
        }
        None
    }

    /// The connection's loop: packets in, frames out, frames in, packets out.
    async fn run(&mut self) {
        let mut deadline = self.next_deadline();
        let mut last_read = Instant::now();
        // Nothing read for IDLE_AFTER: the read buffer was given back. A new
        // connection starts so: a device that sends nothing after CONNECT
        // never gets the 4 KiB an active reader is given (allocated and
        // freed later, such buffers leave holes that RSS keeps).
        let mut idle = true;
        // Work was done since the steps buffer, the session's tables and the
        // outbound queue last gave back their room (they keep the capacity
        // of their busiest moment: about 1.3 KiB on a connection that only
        // ever saw its CONNACK). Given back after IDLE_AFTER without work
        // (SETTLED_AFTER the first time).
        let mut untidy = true;
        // Tidied once since the CONNACK: then after IDLE_AFTER, first
        // after SETTLED_AFTER. (A flag, not the duration: 16 bytes less of
        // every idle connection's task.)
        let mut settled = false;
        let mut last_busy = Instant::now();
        loop {
            // One buffer for the whole connection: a batch of deliveries
            // makes many steps, and growing a fresh Vec each time moves them.
            let mut steps = std::mem::take(&mut self.steps);
            let reading = self.gate.reading();
            if !idle && self.inbox.capacity() - self.inbox.len() < READ_CHUNK / 4 {
                // A fresh buffer would read 64 bytes at a time, and an empty
                // one is reused at the size it has: give an active reader room.
                self.inbox.reserve(READ_CHUNK);
            }
            let holding = self.inbox.capacity() > 0 && self.inbox.is_empty();
            // One timer for both the buffer's return and the keep-alive: a
            // tokio `Sleep` is ~100 bytes of every idle connection's task.
            // (Its three causes are worked out again when it fires, not
            // kept: 48 bytes more of every idle connection's task.)
            let give_back = holding.then(|| last_read + IDLE_AFTER);
            let tidy = untidy.then(|| last_busy + tidy_delay(settled));
            let wake = [give_back, tidy, deadline.filter(|_| reading)].into_iter().flatten().min();
            tokio::select! {
                read = self.stream.read_buf(&mut self.inbox), if reading => {
                    if !matches!(read, Ok(n) if n > 0) {
                        return;
                    }
                    deadline = self.next_deadline();
                    last_read = Instant::now();
                    last_busy = last_read;
                    idle = false;
                    untidy = true;
                    self.decode_packets(&mut steps);
                }
                () = sleep_until(wake) => {
                    let now = Instant::now();
                    if holding && now >= last_read + IDLE_AFTER {
                        self.inbox = BytesMut::new();
                        idle = true;
                    }
                    if untidy && now >= last_busy + tidy_delay(settled) {
                        steps = Vec::new();
                        self.session.shrink();
                        self.outbound.shrink();
                        untidy = false;
                        settled = true;
                    }
                    // A client not read for want of memory is not silent.
                    if reading && deadline.is_some_and(|at| now >= at) {
                        steps.push(Step::Close(Some(ReasonCode::KeepAliveTimeout)));
                    }
                }
                item = self.outbound.recv() => match item {
                    Some(Outbound::Frames(frames, bytes)) => {
                        self.outbound.taken(bytes);
                        self.session.on_frames(frames, crate::driver::now_ms(), &mut steps);
                        last_busy = Instant::now();
                        untidy = true;
                    }
                    Some(Outbound::Ping) => {}
                    Some(Outbound::Close(code, _)) => steps.push(Step::Close(close_reason(code))),
                    // Cut as a slow consumer (the backlog dropped unwritten),
                    // kicked by a successor, or the engine task is gone.
                    None => return,
                },
                () = self.gate.unblocked() => {
                    let held = self.gate.release();
                    // Boxed: the wait above is what every idle connection holds.
                    Box::pin(self.past_gate(held)).await;
                    deadline = self.next_deadline();
                }
                // No arm for the broker's shutdown: the engine task then
                // sends every connection a close (1001), which ends this
                // with DISCONNECT 0x8B (server shutting down).
            }
            // Boxed: while the connection waits, its task holds the wait's
            // futures only, not the largest state of carrying steps out.
            if !Box::pin(self.carry_out(steps)).await {
                return;
            }
        }
    }

    fn next_deadline(&self) -> Option<Instant> {
        (self.keep_alive > 0).then(|| Instant::now() + Duration::from_millis(u64::from(self.keep_alive) * 1500))
    }

    /// Decodes every complete packet read so far; a broken one closes the connection.
    fn decode_packets(&mut self, steps: &mut Vec<Step>) {
        loop {
            match decode(&mut self.inbox, self.session.version, self.max_packet) {
                Ok(Some(packet)) => self.session.on_packet(packet, steps),
                Ok(None) => return,
                Err(err) => {
                    tracing::debug!(conn = self.conn, %err, "bad MQTT packet; closing");
                    steps.push(Step::Close(Some(err.reason_code())));
                    return;
                }
            }
            if matches!(steps.last(), Some(Step::Close(_))) {
                return;
            }
        }
    }

    /// Carries out steps in order, then writes; false when the connection is
    /// to close. Engine frames go in one channel message per run of steps
    /// (sent before anything that depends on them: a retained replay, a close).
    async fn carry_out(&mut self, mut steps: Vec<Step>) -> bool {
        let engine_frames = steps.iter().filter(|s| matches!(s, Step::Engine(_))).count();
        let mut frames = Vec::with_capacity(engine_frames);
        for step in steps.drain(..) {
            match step {
                // Held back until `finish` has sent what must precede it.
                Step::Engine(ClientFrame::Bye) => self.goodbye = true,
                Step::Engine(frame) => frames.push(frame),
                Step::Send(packet) => self.send(&packet),
                Step::Denied(filter) => {
                    let user = self.session.access.as_ref().and_then(|a| a.user.as_deref()).map(Arc::from);
                    let client_id = self.session.client_id.clone();
                    let denial = Denial { conn: self.conn, user, client_id, action: "subscribe", resource: filter };
                    submit(&self.state.commands, Command::Denied(denial)).await;
                }
                Step::Close(reason) => {
                    self.through_gate(frames).await;
                    self.close(reason).await;
                    return false;
                }
            }
        }
        self.steps = steps;
        self.through_gate(frames).await;
        self.keep_session();
        self.flush().await
    }

    /// A persistent session whose state changed keeps it in the store at
    /// once (the queue's messages are the engine's to keep), so that a
    /// crash does not lose its subscriptions.
    fn keep_session(&mut self) {
        if std::mem::take(&mut self.session.dirty) && self.session.lifetime.is_persistent() {
            self.state.mqtt_sessions.persist(&self.session.client_id, &self.session.saved());
        }
    }

    /// Hands frames to the engine task, through the gate: while publishers
    /// are blocked, publishes (and what follows them) wait in it.
    async fn through_gate(&mut self, frames: Vec<ClientFrame>) {
        let mut now = Vec::with_capacity(frames.len());
        self.gate.admit(frames, &mut now);
        self.past_gate(now).await;
    }

    /// Hands frames to the engine task as they are (one command).
    async fn past_gate(&self, mut frames: Vec<ClientFrame>) {
        let buffered = &self.state.buffered;
        let command = match frames.len() {
            0 => return,
            1 => Command::frame(self.conn, frames.remove(0), buffered),
            _ => Command::frames(self.conn, frames, buffered),
        };
        submit(&self.state.commands, command).await;
    }

    /// Hands one frame to the engine task, past the gate (for the session's
    /// own set-up and goodbye).
    async fn to_engine(&self, frame: ClientFrame) {
        submit(&self.state.commands, Command::frame(self.conn, frame, &self.state.buffered)).await;
    }

    fn send(&mut self, packet: &Packet) {
        if !append(&mut self.out, packet, self.session.version, self.peer_max) {
            if let Packet::Publish(publish) = packet {
                self.session.alias_not_sent(publish);
            }
            tracing::debug!(conn = self.conn, kind = ?packet.kind(), "packet over the client's maximum size; not sent");
        }
    }

    /// Writes what is buffered; false if the socket is gone or the
    /// connection was cut while the write waited.
    async fn flush(&mut self) -> bool {
        if self.out.is_empty() {
            return true;
        }
        let ok = crate::mqtt::io::write_unless_cut(&mut self.stream, &self.out, &self.outbound).await;
        if self.out.capacity() > KEPT_WRITE_BUFFER {
            self.out = BytesMut::new();
        } else {
            self.out.clear();
        }
        ok
    }

    /// Sends DISCONNECT with `reason` (MQTT 5 only) and closes the socket.
    async fn close(&mut self, reason: Option<ReasonCode>) {
        if let (Some(reason), ProtocolVersion::V5) = (reason, self.session.version) {
            self.send(&Packet::Disconnect(Disconnect { reason, properties: Default::default() }));
        }
        self.flush().await;
        super::io::linger(&mut self.stream).await;
    }
}

/// The DISCONNECT reason for the engine task's close code.
fn close_reason(code: u16) -> Option<ReasonCode> {
    match code {
        1000 => None,
        1001 => Some(ReasonCode::ServerShuttingDown),
        1008 => Some(ReasonCode::QuotaExceeded),
        _ => Some(ReasonCode::UnspecifiedError),
    }
}

/// Sleeps until `deadline`; for ever if none. (Not an `async fn`: that
/// would keep the deadline beside the `Sleep`, which has it.)
fn sleep_until(deadline: Option<Instant>) -> Either<tokio::time::Sleep, std::future::Pending<()>> {
    match deadline {
        Some(at) => Either::Left(tokio::time::sleep_until(at)),
        None => Either::Right(std::future::pending()),
    }
}

/// The keep-alive to enforce (seconds, 0: none) and the Server Keep Alive
/// to announce: an MQTT 5 client asking for more than `max`, or for none,
/// gets `max` (0: no limit). A 3.1.1 client keeps its own.
fn keep_alive(connect: &Connect, max: u16) -> (u16, Option<u16>) {
    let asked = connect.keep_alive;
    let over = max > 0 && (asked == 0 || asked > max);
    match connect.protocol {
        ProtocolVersion::V5 if over => (max, Some(max)),
        _ => (asked, None),
    }
}

/// How long after the connection is lost its will is published: the will
/// delay interval it `asked` for, but no later than the session ends
/// (MQTT 5 §3.1.3.2.2).
fn will_delay(asked: Duration, lifetime: Lifetime) -> Duration {
    match lifetime {
        Lifetime::Transient => Duration::ZERO,
        Lifetime::Persistent(Some(ms)) => asked.min(Duration::from_millis(ms)),
        Lifetime::Persistent(None) => asked,
    }
}

/// `duration` in whole milliseconds (a will delay is at most u32::MAX s).
fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The Response Information given to a client that asks for it: a topic
/// prefix for its responses (nothing reserves it; it is a convention).
fn response_information(client_id: &str) -> String {
    format!("reply/{client_id}")
}
