//! One WebSocket connection: the only code that touches its socket. The
//! reader decodes frames and forwards them to the engine task; the writer
//! encodes what the engine task sends back.

use crate::auth::Verdict;
use crate::driver::{Command, Outbound, OutboundRx, Outbox, Protocol};
use crate::flow::Gate;
use crate::server::AppState;
use crate::tls::Peer;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
use queue_core::Role;
use queue_core::protocol::{ClientFrame, ErrorCode, ServerFrame, decode_client, encode_server};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// Decrements the live-connection count when a connection ends, however it ends.
struct Slot<'a>(&'a AppState);

impl Drop for Slot<'_> {
    fn drop(&mut self) {
        self.0.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// Serves one upgraded WebSocket until either side closes.
/// A client certificate's name (`peer.cert_user`) logs it in as that user.
pub async fn serve_socket(socket: WebSocket, state: AppState, peer: Peer) {
    let remote = peer.addr;
    let live = state.live.fetch_add(1, Ordering::Relaxed) + 1;
    let _slot = Slot(&state);
    if live > state.config.max_connections {
        refuse(socket, state.config.max_connections).await;
        return;
    }
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    let (outbox, outbound) = Outbox::new(&state.buffered);
    if state
        .commands
        .send(Command::Connect { conn, outbox: outbox.clone(), remote, protocol: Protocol::Ws })
        .await
        .is_err()
    {
        return;
    }
    tracing::debug!(conn, %remote, "connected");
    let (sink, stream) = socket.split();
    let mut writer = tokio::spawn(write_loop(sink, outbound, outbox.clone()));
    tokio::select! {
        refused = read_loop(stream, &state, conn, &outbox, remote, peer.cert_user) => if refused {
            // A refused login: the error and the close frame go out first.
            let _ = tokio::time::timeout(Duration::from_secs(2), &mut writer).await;
        },
        _ = &mut writer => {}
        // Cut as a slow consumer: end now, dropping the backlog unwritten.
        () = outbox.cut_off() => tracing::info!(conn, "slow consumer cut"),
        () = state.shutdown.cancelled() => {
            let _ = outbox.send(Outbound::Close(1001, "broker shutting down".into()));
            let _ = tokio::time::timeout(Duration::from_secs(2), &mut writer).await;
        }
    }
    let _ = state.commands.send(Command::Disconnect { conn }).await;
    writer.abort();
    tracing::debug!(conn, "disconnected");
}

async fn refuse(mut socket: WebSocket, max: usize) {
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

async fn read_loop(
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    state: &AppState,
    conn: u64,
    outbox: &Outbox,
    remote: SocketAddr,
    cert_user: Option<String>,
) -> bool {
    // Logged in: not yet if the broker needs a login (then it must come first),
    // unless the client's certificate said who it is.
    let mut logged_in = cert_user.is_some();
    if let Some(user) = cert_user {
        let identify = Command::Identify { conn, user: Some(user), role: Role::Client };
        if state.commands.send(identify).await.is_err() {
            return false;
        }
    }
    let login_by = (state.auth.required() && !logged_in).then(|| tokio::time::Instant::now() + LOGIN_WAIT);
    let ping_every = Duration::from_millis(state.config.ping_interval_ms);
    let mut ping = tokio::time::interval_at(tokio::time::Instant::now() + ping_every, ping_every);
    let mut last_heard = Instant::now();
    let mut gate = Gate::new(state.blocked.clone(), state.buffered.clone());
    let mut now = Vec::new();
    loop {
        tokio::select! {
            message = stream.next(), if gate.reading() => {
                let Some(Ok(message)) = message else { break };
                last_heard = Instant::now();
                match message {
                    Message::Text(text) => {
                        let text = if logged_in {
                            text.as_str().to_owned()
                        } else {
                            match login(text.as_str(), state, remote).await {
                                Ok((Some(user), rest)) => {
                                    let identify = Command::Identify { conn, user: Some(user), role: Role::Client };
                                    if state.commands.send(identify).await.is_err() {
                                        return false;
                                    }
                                    rest
                                }
                                Ok((None, rest)) => rest,
                                Err(refusal) => return refuse_login(outbox, refusal),
                            }
                        };
                        logged_in = true;
                        match decode_client(&text, state.config.max_frame_bytes) {
                            Ok(frame) => gate.admit([frame], &mut now),
                            Err(err) => {
                                outbox.send_frames(vec![err.to_frame()]);
                            }
                        }
                    }
                    Message::Binary(_) => {
                        let message = "binary frames are not part of this protocol; send JSON text frames".to_owned();
                        outbox.send_frames(vec![ServerFrame::Error { id: None, code: ErrorCode::Malformed, message }]);
                    }
                    Message::Close(_) => break,
                    Message::Ping(_) | Message::Pong(_) => {}
                }
            }
            () = gate.unblocked() => now = gate.release(),
            () = login_deadline(login_by), if !logged_in => return refuse_login(outbox, not_authorized()),
            _ = ping.tick() => {
                // A connection not read for want of memory is not silent.
                if !gate.reading() {
                    last_heard = Instant::now();
                }
                if last_heard.elapsed() > ping_every * 2 {
                    tracing::info!(conn, "peer silent for two ping intervals; treating it as lost");
                    return false;
                }
                let _ = outbox.send(Outbound::Ping);
            }
        }
        if !forward(state, conn, &mut now).await {
            return false;
        }
    }
    // What a departing peer sent before it went is handled, held or not.
    now.extend(gate.release());
    forward(state, conn, &mut now).await;
    false
}

/// Sends a login refusal and closes with 1008 (policy violation); true.
fn refuse_login(outbox: &Outbox, refusal: ServerFrame) -> bool {
    outbox.send_frames(vec![refusal]);
    let _ = outbox.send(Outbound::Close(1008, "not authorized".into()));
    true
}

async fn login_deadline(at: Option<tokio::time::Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}

/// Hands `frames` to the engine task (one command); false once it is gone.
async fn forward(state: &AppState, conn: u64, frames: &mut Vec<ClientFrame>) -> bool {
    let command = match frames.len() {
        0 => return true,
        1 => Command::frame(conn, frames.remove(0), &state.buffered),
        _ => Command::frames(conn, std::mem::take(frames), &state.buffered),
    };
    state.commands.send(command).await.is_ok()
}

async fn write_loop(
    mut sink: futures_util::stream::SplitSink<WebSocket, Message>,
    mut outbound: OutboundRx,
    outbox: Outbox,
) {
    while let Some(item) = outbound.recv().await {
        let result = match item {
            Outbound::Frames(frames, bytes) => {
                // Out of the queue: from here the socket's buffer holds them.
                outbox.taken(bytes);
                let mut result = Ok(());
                for frame in &frames {
                    result = sink.feed(Message::Text(encode_server(frame).into())).await;
                    if result.is_err() {
                        break;
                    }
                }
                // Flush only when nothing else is waiting: one syscall for a burst.
                if result.is_ok() && outbound.is_empty() { sink.flush().await } else { result }
            }
            Outbound::Ping => sink.send(Message::Ping(Default::default())).await,
            Outbound::Close(code, reason) => {
                let _ = sink.send(Message::Close(Some(CloseFrame { code, reason: reason.into() }))).await;
                return;
            }
        };
        if result.is_err() {
            return;
        }
    }
}
