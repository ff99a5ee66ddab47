//! One AMQP connection: the only code that touches its socket. The
//! handshake (protocol header, start, tune, open) runs here; then frames
//! go through the [`Session`] to the engine task and back. Heartbeats,
//! the memory budget's gate and shutdown end or hold it here.

use super::frame::{self, FrameError, OVERHEAD, PROTOCOL_HEADER};
use super::properties::short;
use super::session::{Capabilities, Limits, Session, Step};
use crate::auth::Verdict;
use crate::driver::{Command, Outbound, OutboundRx, Outbox, Protocol};
use crate::flow::Gate;
use crate::server::AppState;
use amq_protocol::frame::{AMQPContentHeader, AMQPFrame};
use amq_protocol::protocol::{AMQPClass, connection};
use amq_protocol::types::{AMQPValue, FieldTable, LongString};
use bytes::BytesMut;
use queue_core::Role;
use queue_core::protocol::ClientFrame;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::time::Instant;

/// How long a new connection may take from its first byte to `open-ok`.
const HANDSHAKE_WAIT: Duration = Duration::from_secs(10);

/// The largest frame the broker offers (RabbitMQ's default).
pub const FRAME_MAX: u32 = 131_072;

/// The smallest frame-max a client may ask for (AMQP's frame-min-size).
const FRAME_MIN: u32 = 4096;

/// The highest channel number the broker offers (RabbitMQ's default).
const CHANNEL_MAX: u16 = 2047;

/// Channels one connection may have open at once.
const MAX_CHANNELS: usize = 256;

/// The heartbeat the broker proposes, in seconds (RabbitMQ's default).
const HEARTBEAT: u16 = 60;

/// How long the broker waits for `close-ok` after its `connection.close`.
const CLOSE_WAIT: Duration = Duration::from_secs(1);

/// Above this many bytes, the write buffer is given back once written.
const KEPT_WRITE_BUFFER: usize = 64 * 1024;

/// Decrements the live-connection count when a connection ends, however it ends.
struct Slot(AppState);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// What the handshake settled.
struct Opened {
    user: Option<String>,
    name: Option<String>,
    caps: Capabilities,
    frame_max: u32,
    channel_max: u16,
    heartbeat: u16,
}

/// Serves one AMQP connection until either side closes it.
pub async fn serve_connection<S>(mut stream: S, state: AppState, remote: SocketAddr)
where
    S: AsyncRead + AsyncWrite + Unpin + Send,
{
    let live = state.live.fetch_add(1, Ordering::Relaxed) + 1;
    let _slot = Slot(state.clone());
    let mut inbox = BytesMut::new();
    let handshake = tokio::time::timeout(HANDSHAKE_WAIT, handshake(&mut stream, &mut inbox, &state, live));
    let opened = match handshake.await {
        Ok(Ok(opened)) => opened,
        Ok(Err(reason)) => return tracing::debug!(%remote, reason, "AMQP handshake refused"),
        Err(_) => return tracing::debug!(%remote, "AMQP handshake timed out"),
    };
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    let (outbox, outbound) = Outbox::new(&state.buffered);
    let client_id = opened.name.clone().unwrap_or_else(|| format!("amqp-{conn}"));
    let commands = [
        Command::Connect { conn, outbox, remote, protocol: Protocol::Amqp },
        Command::Identify { conn, user: opened.user.clone(), role: Role::Client },
        Command::frame(
            conn,
            ClientFrame::Hello { id: None, client_id: Some(client_id), keep_alive_ms: 0, will: None },
            &state.buffered,
        ),
    ];
    for command in commands {
        if state.commands.send(command).await.is_err() {
            return;
        }
    }
    tracing::debug!(conn, %remote, user = opened.user, "AMQP connected");
    let limits = Limits {
        max_message: state.config.max_frame_bytes,
        channel_max: opened.channel_max,
        max_prefetch: queue_core::EngineConfig::default().max_prefetch,
        max_channels: MAX_CHANNELS,
    };
    let checked = state.acl().is_some();
    let session = Session::new(conn, limits, opened.caps, state.exchanges.clone(), checked);
    let gate = Gate::new(state.blocked.clone(), state.buffered.clone());
    let heartbeat = Duration::from_secs(u64::from(opened.heartbeat));
    let mut link = Link {
        stream,
        inbox,
        out: Vec::new(),
        session,
        state,
        conn,
        gate,
        outbound,
        frame_max: opened.frame_max as usize,
        heartbeat,
    };
    link.run().await;
    let held = link.gate.release();
    link.past_gate(held).await;
    let _ = link.state.commands.send(Command::Disconnect { conn }).await;
    tracing::debug!(conn, "AMQP disconnected");
}

/// Reads `n` bytes more than `inbox` holds, or fails.
async fn fill<S: AsyncRead + Unpin>(stream: &mut S, inbox: &mut BytesMut, n: usize) -> Result<(), &'static str> {
    while inbox.len() < n {
        // Handshake frames are small; read them a few hundred bytes at a time.
        inbox.reserve((n - inbox.len()).max(512));
        match stream.read_buf(inbox).await {
            Ok(0) | Err(_) => return Err("the client went away"),
            Ok(_) => {}
        }
    }
    Ok(())
}

/// Reads the next frame of the handshake, as one method on channel 0.
async fn read_method<S: AsyncRead + Unpin>(stream: &mut S, inbox: &mut BytesMut) -> Result<AMQPClass, &'static str> {
    loop {
        match frame::decode(inbox, FRAME_MIN as usize) {
            Ok(Some(AMQPFrame::Method(0, class))) => return Ok(class),
            Ok(Some(AMQPFrame::Heartbeat)) => {}
            Ok(Some(_)) | Err(_) => return Err("not a connection method during the handshake"),
            Ok(None) => fill(stream, inbox, inbox.len() + 1).await?,
        }
    }
}

async fn send<S: AsyncWrite + Unpin>(stream: &mut S, class: AMQPClass) -> Result<(), &'static str> {
    let mut out = Vec::new();
    frame::encode(&AMQPFrame::Method(0, class), &mut out);
    stream.write_all(&out).await.map_err(|_| "the client went away")?;
    stream.flush().await.map_err(|_| "the client went away")
}

/// Closes a connection during the handshake with `code` (the client may
/// read it; nothing more is waited for).
async fn refuse<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S, code: u16, text: &str, ids: (u16, u16)) {
    let close = connection::Close { reply_code: code, reply_text: short(text), class_id: ids.0, method_id: ids.1 };
    let _ = send(stream, AMQPClass::Connection(connection::AMQPMethod::Close(close))).await;
    crate::mqtt::io::linger(stream).await;
}

/// The server properties of `connection.start`: pika and the other
/// clients enable confirms, nacks and cancel notifications only when the
/// broker announces them.
fn server_properties() -> FieldTable {
    let mut caps = FieldTable::default();
    for name in [
        "publisher_confirms",
        "basic.nack",
        "consumer_cancel_notify",
        "connection.blocked",
        "authentication_failure_close",
        "per_consumer_qos",
    ] {
        caps.insert(name.into(), AMQPValue::Boolean(true));
    }
    caps.insert("exchange_exchange_bindings".into(), AMQPValue::Boolean(false));
    let mut props = FieldTable::default();
    let text = |s: &str| AMQPValue::LongString(LongString::from(s.as_bytes()));
    props.insert("product".into(), text("Hearth"));
    props.insert("version".into(), text(env!("CARGO_PKG_VERSION")));
    props.insert("platform".into(), text("Rust"));
    props.insert("information".into(), text("a message broker for the smart home"));
    props.insert("capabilities".into(), AMQPValue::FieldTable(caps));
    props
}

/// The protocol header, start/start-ok (PLAIN login), tune/tune-ok and
/// open/open-ok. `Err`: refused (and told) or gone.
async fn handshake<S>(
    stream: &mut S,
    inbox: &mut BytesMut,
    state: &AppState,
    live: usize,
) -> Result<Opened, &'static str>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    fill(stream, inbox, 8).await?;
    if &inbox[..8] != PROTOCOL_HEADER {
        // The spec's answer to a header it does not speak: its own, then close.
        let _ = stream.write_all(PROTOCOL_HEADER).await;
        return Err("not an AMQP 0-9-1 protocol header");
    }
    let _ = inbox.split_to(8);
    let start = connection::Start {
        version_major: 0,
        version_minor: 9,
        server_properties: server_properties(),
        mechanisms: "PLAIN".into(),
        locales: "en_US".into(),
    };
    send(stream, AMQPClass::Connection(connection::AMQPMethod::Start(start))).await?;
    let AMQPClass::Connection(connection::AMQPMethod::StartOk(start_ok)) = read_method(stream, inbox).await? else {
        return Err("expected connection.start-ok");
    };
    if start_ok.mechanism.as_str() != "PLAIN" {
        let text = format!("ACCESS_REFUSED - mechanism {} is not supported; use PLAIN", start_ok.mechanism.as_str());
        refuse(stream, 403, &text, (10, 11)).await;
        return Err("unsupported mechanism");
    }
    // PLAIN: authzid NUL authcid NUL password.
    let response = start_ok.response.as_bytes();
    let mut parts = response.splitn(3, |b| *b == 0);
    let (_, user, password) = (parts.next(), parts.next(), parts.next());
    let user = user.map(|u| String::from_utf8_lossy(u).into_owned()).filter(|u| !u.is_empty());
    match state.auth.check(user.as_deref(), password).await {
        Verdict::Allowed => {}
        _ => {
            let text = "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN";
            refuse(stream, 403, text, (10, 11)).await;
            return Err("login refused");
        }
    }
    if live > state.config.max_connections {
        refuse(stream, 530, "NOT_ALLOWED - too many connections", (10, 11)).await;
        return Err("too many connections");
    }
    let tune = connection::Tune { channel_max: CHANNEL_MAX, frame_max: FRAME_MAX, heartbeat: HEARTBEAT };
    send(stream, AMQPClass::Connection(connection::AMQPMethod::Tune(tune))).await?;
    let AMQPClass::Connection(connection::AMQPMethod::TuneOk(tuned)) = read_method(stream, inbox).await? else {
        return Err("expected connection.tune-ok");
    };
    let frame_max = match tuned.frame_max {
        0 => FRAME_MAX,
        n if n < FRAME_MIN => {
            let text = format!("NOT_ALLOWED - frame-max {n} is below the minimum of {FRAME_MIN}");
            refuse(stream, 530, &text, (10, 31)).await;
            return Err("frame-max too small");
        }
        n => n.min(FRAME_MAX),
    };
    let channel_max = match tuned.channel_max {
        0 => CHANNEL_MAX,
        n => n.min(CHANNEL_MAX),
    };
    let AMQPClass::Connection(connection::AMQPMethod::Open(open)) = read_method(stream, inbox).await? else {
        return Err("expected connection.open");
    };
    if !matches!(open.virtual_host.as_str(), "/" | "") {
        let text = format!("NOT_ALLOWED - vhost {} not found; Hearth has one, '/'", open.virtual_host.as_str());
        refuse(stream, 530, &text, (10, 40)).await;
        return Err("unknown vhost");
    }
    send(stream, AMQPClass::Connection(connection::AMQPMethod::OpenOk(connection::OpenOk {}))).await?;
    let name = match start_ok.client_properties.inner().get("connection_name") {
        Some(AMQPValue::LongString(s)) => Some(String::from_utf8_lossy(s.as_bytes()).into_owned()),
        _ => None,
    };
    Ok(Opened {
        user,
        name,
        caps: Capabilities::of(&start_ok.client_properties),
        frame_max,
        channel_max,
        heartbeat: tuned.heartbeat,
    })
}

/// A connection after its handshake.
struct Link<S> {
    stream: S,
    inbox: BytesMut,
    out: Vec<u8>,
    session: Session,
    state: AppState,
    conn: u64,
    gate: Gate,
    outbound: OutboundRx,
    frame_max: usize,
    /// Negotiated heartbeat (zero: none).
    heartbeat: Duration,
}

impl<S: AsyncRead + AsyncWrite + Unpin + Send> Link<S> {
    async fn run(&mut self) {
        let mut last_read = Instant::now();
        let mut last_write = Instant::now();
        let mut closing_since: Option<Instant> = None;
        let mut steps = Vec::new();
        loop {
            let reading = self.gate.reading();
            // Heartbeats: ours every half interval of silence; the peer's
            // silence for two intervals ends the connection.
            let beat = (!self.heartbeat.is_zero()).then(|| last_write + self.heartbeat / 2);
            let dead = (!self.heartbeat.is_zero() && reading).then(|| last_read + self.heartbeat * 2);
            let give_up = closing_since.map(|at| at + CLOSE_WAIT);
            let wake = [beat, dead, give_up].into_iter().flatten().min();
            if self.inbox.capacity() - self.inbox.len() < 1024 {
                self.inbox.reserve(4096);
            }
            tokio::select! {
                read = self.stream.read_buf(&mut self.inbox), if reading => {
                    if !matches!(read, Ok(n) if n > 0) {
                        return;
                    }
                    last_read = Instant::now();
                    self.decode_frames(&mut steps);
                }
                () = sleep_until(wake) => {
                    let now = Instant::now();
                    if give_up.is_some_and(|at| now >= at) || dead.is_some_and(|at| now >= at) {
                        return;
                    }
                    if beat.is_some_and(|at| now >= at) {
                        frame::encode(&AMQPFrame::Heartbeat, &mut self.out);
                    }
                }
                item = self.outbound.recv() => match item {
                    Some(Outbound::Frames(frames, bytes)) => {
                        self.outbound.taken(bytes);
                        for frame in frames {
                            self.session.on_server(frame, &mut steps);
                        }
                    }
                    Some(Outbound::Ping) => {}
                    Some(Outbound::Close(_, reason)) => {
                        let text = format!("closed by the broker: {reason}");
                        self.session.connection_error(320, &text, (0, 0), &mut steps);
                    }
                    // Cut as a slow consumer (the backlog dropped unwritten),
                    // or the engine task is gone.
                    None => return,
                },
                () = self.gate.unblocked() => {
                    let held = self.gate.release();
                    self.past_gate(held).await;
                }
                () = self.state.shutdown.cancelled(), if closing_since.is_none() => {
                    self.session.connection_error(320, "broker shutting down", (0, 0), &mut steps);
                }
            }
            if self.session.closing && closing_since.is_none() {
                closing_since = Some(Instant::now());
            }
            let wrote = !self.out.is_empty() || steps.iter().any(|s| !matches!(s, Step::Engine(_)));
            if !Box::pin(self.carry_out(&mut steps)).await {
                return;
            }
            if wrote {
                last_write = Instant::now();
            }
        }
    }

    /// Decodes every complete frame read so far; a broken one closes the
    /// connection with its code.
    fn decode_frames(&mut self, steps: &mut Vec<Step>) {
        loop {
            match frame::decode(&mut self.inbox, self.frame_max) {
                Ok(Some(frame)) => self.session.on_frame(frame, steps),
                Ok(None) => return,
                Err(err) => {
                    tracing::debug!(conn = self.conn, %err, "bad AMQP frame; closing");
                    let code = err.reply_code();
                    self.session.connection_error(code, &err.to_string(), (0, 0), steps);
                    if let FrameError::TooLarge { .. } = err {
                        // Nothing after it can be read as frames.
                        self.inbox.clear();
                    }
                    return;
                }
            }
            if matches!(steps.last(), Some(Step::Close)) {
                return;
            }
        }
    }

    /// Carries out steps in order and writes; false when the connection is
    /// to close.
    async fn carry_out(&mut self, steps: &mut Vec<Step>) -> bool {
        let mut frames = Vec::new();
        let mut close = false;
        for step in steps.drain(..) {
            match step {
                Step::Engine(frame) => frames.push(frame),
                Step::Send(f) => frame::encode(&f, &mut self.out),
                Step::Content { channel, method, properties, body } => {
                    frame::encode(&AMQPFrame::Method(channel, method), &mut self.out);
                    let header = AMQPContentHeader { class_id: 60, body_size: body.len() as u64, properties };
                    frame::encode(&AMQPFrame::Header(channel, header), &mut self.out);
                    // Body frames by hand: the bytes go straight from the
                    // message into the write buffer, no copy in between.
                    for chunk in body.chunks(self.frame_max - OVERHEAD) {
                        self.out.push(3);
                        self.out.extend_from_slice(&channel.to_be_bytes());
                        self.out.extend_from_slice(&(chunk.len() as u32).to_be_bytes());
                        self.out.extend_from_slice(chunk);
                        self.out.push(0xCE);
                    }
                }
                Step::Close => close = true,
            }
        }
        if !frames.is_empty() {
            let mut now = Vec::with_capacity(frames.len());
            self.gate.admit(frames, &mut now);
            self.past_gate(now).await;
        }
        let ok = self.flush().await;
        if close {
            crate::mqtt::io::linger(&mut self.stream).await;
        }
        ok && !close
    }

    /// Hands frames to the engine task as they are (one command).
    async fn past_gate(&self, mut frames: Vec<ClientFrame>) {
        let buffered = &self.state.buffered;
        let command = match frames.len() {
            0 => return,
            1 => Command::frame(self.conn, frames.remove(0), buffered),
            _ => Command::frames(self.conn, frames, buffered),
        };
        let _ = self.state.commands.send(command).await;
    }

    /// Writes what is buffered; false if the socket is gone or the
    /// connection was cut while the write waited.
    async fn flush(&mut self) -> bool {
        if self.out.is_empty() {
            return true;
        }
        let ok = crate::mqtt::io::write_unless_cut(&mut self.stream, &self.out, &self.outbound).await;
        if self.out.capacity() > KEPT_WRITE_BUFFER {
            self.out = Vec::new();
        } else {
            self.out.clear();
        }
        ok
    }
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
