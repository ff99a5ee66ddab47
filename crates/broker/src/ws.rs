//! One WebSocket connection: the only code that touches its socket. One
//! task does it all: it reads frames and forwards them to the engine task,
//! and writes what the engine task sends back. (No second task for writing
//! and no split socket: an idle connection holds one future, no more; issue
//! 9's bound of 3 KiB per idle connection.)

use crate::auth::Verdict;
use crate::driver::{Command, Outbound, OutboundRx, Outbox, Protocol, submit};
use crate::flow::Gate;
use crate::server::AppState;
use crate::tls::Peer;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use queue_core::Role;
use queue_core::protocol::{ClientFrame, ErrorCode, ServerFrame, decode_client, encode_server};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::time::{Instant, sleep_until};

/// How long a refused connection may take to write its last frames (the
/// error, the close frame) before it is dropped regardless.
const LAST_WORDS: Duration = Duration::from_secs(2);

/// Why a connection's loop ended.
enum End {
    /// The peer left, the socket failed, the connection was cut as a slow
    /// consumer (its backlog dropped unwritten), or the engine task is gone.
    Gone,
    /// The login was refused: the error and the close frame, queued in the
    /// outbox, go out first.
    Refused,
}

/// One upgraded WebSocket and what serving it needs.
struct Link {
    socket: WebSocket,
    state: AppState,
    conn: u64,
    remote: SocketAddr,
    outbox: Outbox,
    outbound: OutboundRx,
    /// Holds publishes while the memory budget blocks publishers.
    gate: Gate,
    /// Frames read and not yet handed to the engine task.
    now: Vec<ClientFrame>,
    /// Not yet if the broker needs a login (then it must come first),
    /// unless the client's certificate or cookie said who it is.
    logged_in: bool,
}

impl Drop for Link {
    /// The live-connection count goes down however the connection ends.
    fn drop(&mut self) {
        self.state.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves one upgraded WebSocket until either side closes.
/// A client certificate's name (`peer.cert_user`) logs it in as that user.
///
/// Not an `async fn`: its arguments (the socket alone is ~440 bytes) would
/// stay in the connection's future for its life, moved out or not; here
/// the future holds the [`Link`] they are moved into, once.
pub fn serve_socket(socket: WebSocket, state: AppState, peer: Peer) -> impl Future<Output = ()> {
    let live = state.live.fetch_add(1, Ordering::Relaxed) + 1;
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    let (outbox, outbound) = Outbox::new(&state.buffered);
    let gate = Gate::new(state.blocked.clone(), state.buffered.clone());
    let logged_in = peer.cert_user.is_some();
    let max = state.config.max_connections;
    // Boxed, and freed once the engine knows: what it holds (the user, a
    // command on its way) is not kept in the connection's future.
    let announcing = Box::pin(announce(state.clone(), conn, peer.addr, outbox.clone(), peer.cert_user));
    let mut link = Link { socket, state, conn, remote: peer.addr, outbox, outbound, gate, now: Vec::new(), logged_in };
    async move {
        if live > max {
            Box::pin(refuse(&mut link.socket, max)).await;
            return;
        }
        if let Some(identified) = announcing.await {
            link.serve(identified).await;
        }
    }
}

/// Tells the engine task about the connection and, if its certificate
/// named one, its user: `None` if the engine task is gone, else whether
/// the user was identified.
async fn announce(
    state: AppState,
    conn: u64,
    remote: SocketAddr,
    outbox: Outbox,
    user: Option<String>,
) -> Option<bool> {
    if !submit(&state.commands, Command::Connect { conn, outbox, remote, protocol: Protocol::Ws }).await {
        return None;
    }
    tracing::debug!(conn, %remote, "connected");
    let Some(user) = user else { return Some(true) };
    Some(submit(&state.commands, Command::Identify { conn, user: Some(user), role: Role::Client }).await)
}

impl Link {
    /// Runs the connection (once the engine task knows it and its user, if
    /// `identified`), and says goodbye.
    async fn serve(&mut self, identified: bool) {
        let (conn, state) = (self.conn, self.state.clone());
        let end = if identified { self.run().await } else { End::Gone };
        if let End::Refused = end {
            self.last_words().await;
        }
        // What a departing peer sent before it went is handled, held or not.
        let held = self.gate.release();
        self.now.extend(held);
        self.forward().await;
        submit(&state.commands, Command::Disconnect { conn }).await;
        tracing::debug!(conn, "disconnected");
    }

    /// The connection's loop: frames in, frames out, pings, the login deadline.
    /// Writes wait for the peer; while they do, a cut as a slow consumer
    /// still ends the connection at once.
    async fn run(&mut self) -> End {
        let ping_every = Duration::from_millis(self.state.config.ping_interval_ms);
        let login_by = (self.state.auth.required() && !self.logged_in).then(|| Instant::now() + LOGIN_WAIT);
        let mut next_ping = Instant::now() + ping_every;
        let mut last_heard = Instant::now();
        loop {
            // One timer for pings and the login deadline: a tokio `Sleep`
            // is ~100 bytes of every idle connection's future.
            let wake = match login_by {
                Some(at) if !self.logged_in => at.min(next_ping),
                _ => next_ping,
            };
            tokio::select! {
                message = self.socket.next(), if self.gate.reading() => {
                    let Some(Ok(message)) = message else { return End::Gone };
                    last_heard = Instant::now();
                    let end = if self.logged_in {
                        self.on_message(message)
                    } else {
                        // Boxed: a login is checked once, and its future is large.
                        Box::pin(self.first_message(message)).await
                    };
                    if let Some(end) = end {
                        return end;
                    }
                }
                item = self.outbound.recv() => match item {
                    // Boxed: while the connection waits, its future holds
                    // the wait's futures only, not those of a write.
                    Some(item) => if !Box::pin(self.write(item)).await {
                        return End::Gone;
                    },
                    // Cut as a slow consumer (the backlog dropped unwritten),
                    // or the engine task is gone.
                    None => {
                        if self.outbound.cut() {
                            tracing::info!(conn = self.conn, "slow consumer cut");
                        }
                        return End::Gone;
                    }
                },
                () = self.gate.unblocked() => self.now = self.gate.release(),
                () = sleep_until(wake) => {
                    let now = Instant::now();
                    if !self.logged_in && login_by.is_some_and(|at| now >= at) {
                        return self.refuse_login(not_authorized());
                    }
                    if now >= next_ping {
                        next_ping = now + ping_every;
                        // A connection not read for want of memory is not silent.
                        if !self.gate.reading() {
                            last_heard = now;
                        }
                        if now.duration_since(last_heard) > ping_every * 2 {
                            tracing::info!(conn = self.conn, "peer silent for two ping intervals; treating it as lost");
                            return End::Gone;
                        }
                        // Idle: the outbound queue gives back the room of its busiest moment.
                        self.outbound.shrink();
                        self.outbox.send(Outbound::Ping);
                    }
                }
                // No arm for the broker's shutdown: the engine task then
                // sends every connection a close (1001), which ends this.
            }
            if !self.forward().await {
                return End::Gone;
            }
        }
    }

    /// Handles a message before the login: a text frame may carry it
    /// ([`Self::log_in`]); `Some` ends the connection.
    async fn first_message(&mut self, message: Message) -> Option<End> {
        let Message::Text(text) = message else { return self.on_message(message) };
        match self.log_in(text.as_str()).await {
            Ok(rest) => self.on_message(Message::Text(rest.into())),
            Err(end) => Some(end),
        }
    }

    /// Handles one message from the peer (after the login, if one is
    /// needed); `Some` ends the connection. Not async: the wait for the
    /// socket would hold its state, on every idle connection.
    fn on_message(&mut self, message: Message) -> Option<End> {
        match message {
            Message::Text(text) => match decode_client(text.as_str(), self.state.config.max_frame_bytes) {
                Ok(frame) => self.gate.admit([frame], &mut self.now),
                Err(err) => {
                    self.outbox.send_frames(vec![err.to_frame()]);
                }
            },
            Message::Binary(_) => {
                let message = "binary frames are not part of this protocol; send JSON text frames".to_owned();
                self.outbox.send_frames(vec![ServerFrame::Error { id: None, code: ErrorCode::Malformed, message }]);
            }
            Message::Close(_) => return Some(End::Gone),
            Message::Ping(_) | Message::Pong(_) => {}
        }
        None
    }

    /// Checks the login the first text frame may carry, and identifies the
    /// user to the engine task; the frame to pass on, or how to end.
    async fn log_in(&mut self, text: &str) -> Result<String, End> {
        match login(text, &self.state, self.remote).await {
            Ok((Some(user), rest)) => {
                let identify = Command::Identify { conn: self.conn, user: Some(user), role: Role::Client };
                if !submit(&self.state.commands, identify).await {
                    return Err(End::Gone);
                }
                self.logged_in = true;
                Ok(rest)
            }
            Ok((None, rest)) => {
                self.logged_in = true;
                Ok(rest)
            }
            Err(refusal) => Err(self.refuse_login(refusal)),
        }
    }

    /// Queues a login refusal and a close with 1008 (policy violation).
    fn refuse_login(&self, refusal: ServerFrame) -> End {
        self.outbox.send_frames(vec![refusal]);
        self.outbox.send(Outbound::Close(1008, "not authorized".into()));
        End::Refused
    }

    /// Writes what is queued, up to its close frame, for at most
    /// [`LAST_WORDS`]: a peer that does not read does not hold the end.
    async fn last_words(&mut self) {
        let drain = async {
            while let Some(item) = self.outbound.recv().await {
                if !Box::pin(self.write(item)).await {
                    return;
                }
            }
        };
        let _ = tokio::time::timeout(LAST_WORDS, drain).await;
    }

    /// Writes one item from the engine task; false once the socket is done
    /// with: closed (a close frame was the item), failed, or the connection
    /// was cut as a slow consumer while the write waited.
    async fn write(&mut self, item: Outbound) -> bool {
        let Self { socket, outbound, .. } = self;
        let write = async {
            match item {
                Outbound::Frames(frames, bytes) => {
                    // Out of the queue: from here the socket's buffer holds them.
                    outbound.taken(bytes);
                    for frame in &frames {
                        if socket.feed(Message::Text(encode_server(frame).into())).await.is_err() {
                            return false;
                        }
                    }
                    // Flush only when nothing else is waiting: one syscall for a burst.
                    !outbound.is_empty() || socket.flush().await.is_ok()
                }
                Outbound::Ping => socket.send(Message::Ping(Default::default())).await.is_ok(),
                Outbound::Close(code, reason) => {
                    let _ = socket.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                    false
                }
            }
        };
        tokio::select! {
            ok = write => ok,
            () = outbound.cut_off() => false,
        }
    }

    /// Hands the frames read to the engine task (one command); false once it is gone.
    async fn forward(&mut self) -> bool {
        let buffered = &self.state.buffered;
        let command = match self.now.len() {
            0 => return true,
            1 => Command::frame(self.conn, self.now.remove(0), buffered),
            _ => Command::frames(self.conn, std::mem::take(&mut self.now), buffered),
        };
        submit(&self.state.commands, command).await
    }
}

async fn refuse(socket: &mut WebSocket, max: usize) {
    let message = format!("this broker accepts at most {max} connections; try again later");
    let frame = ServerFrame::Error { id: None, code: ErrorCode::TooManyConnections, message };
    let _ = socket.send(Message::Text(encode_server(&frame).into())).await;
    let close = CloseFrame { code: 1013, reason: Utf8Bytes::from_static("too many connections") };
    let _ = socket.send(Message::Close(Some(close))).await;
}

/// How long a client may take to log in when the broker needs a login.
const LOGIN_WAIT: Duration = Duration::from_secs(10);

/// The connection's first text frame, after the login it may carry: a
/// `hello` with `username` and `password` is checked and passed on without
/// them; with logins required, anything else first is refused. `Ok` holds
/// the username (if any) and the frame to pass on; `Err` the error frame to
/// send before closing.
async fn login(text: &str, state: &AppState, remote: SocketAddr) -> Result<(Option<String>, String), ServerFrame> {
    let Some((user, password, rest)) = credentials(text) else {
        return if state.auth.required() { Err(not_authorized()) } else { Ok((None, text.to_owned())) };
    };
    match state.auth.check(user.as_deref(), password.as_deref().map(str::as_bytes)).await {
        Verdict::Allowed => Ok((user, rest)),
        refused => {
            tracing::info!(%remote, user, ?refused, "WebSocket login refused");
            Err(match refused {
                Verdict::BadCredentials => ServerFrame::Error {
                    id: None,
                    code: ErrorCode::BadCredentials,
                    message: "wrong username or password".into(),
                },
                _ => not_authorized(),
            })
        }
    }
}

fn not_authorized() -> ServerFrame {
    let message = "this broker needs a login: send {\"type\":\"hello\",\"username\":…,\"password\":…} first".into();
    ServerFrame::Error { id: None, code: ErrorCode::NotAuthorized, message }
}

/// A `hello` frame's `username` and `password`, and the frame without
/// them; `None` if the text is not a `hello` object.
fn credentials(text: &str) -> Option<(Option<String>, Option<String>, String)> {
    let mut frame: serde_json::Map<String, serde_json::Value> = serde_json::from_str(text).ok()?;
    if frame.get("type").and_then(serde_json::Value::as_str) != Some("hello") {
        return None;
    }
    let take = |frame: &mut serde_json::Map<String, serde_json::Value>, key| match frame.remove(key) {
        Some(serde_json::Value::String(s)) => Some(s),
        _ => None,
    };
    let user = take(&mut frame, "username");
    let password = take(&mut frame, "password");
    Some((user, password, serde_json::Value::Object(frame).to_string()))
}
