//! One WebSocket connection: the only code that touches its socket. The
//! reader decodes frames and forwards them to the engine task; the writer
//! encodes what the engine task sends back.

use crate::driver::{Command, Outbound, OutboundRx, Outbox};
use crate::flow::Gate;
use crate::server::AppState;
use axum::extract::ws::{CloseFrame, Message, Utf8Bytes, WebSocket};
use futures_util::{SinkExt, StreamExt};
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
pub async fn serve_socket(socket: WebSocket, state: AppState, remote: SocketAddr) {
    let live = state.live.fetch_add(1, Ordering::Relaxed) + 1;
    let _slot = Slot(&state);
    if live > state.config.max_connections {
        refuse(socket, state.config.max_connections).await;
        return;
    }
    let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
    let (outbox, outbound) = Outbox::new(&state.buffered);
    if state.commands.send(Command::Connect { conn, outbox: outbox.clone(), remote }).await.is_err() {
        return;
    }
    tracing::debug!(conn, %remote, "connected");
    let (sink, stream) = socket.split();
    let mut writer = tokio::spawn(write_loop(sink, outbound, outbox.clone()));
    tokio::select! {
        () = read_loop(stream, &state, conn, &outbox) => {}
        _ = &mut writer => {}
        // Cut as a slow consumer: end now, dropping the backlog unwritten.
        () = outbox.cut.cancelled() => tracing::info!(conn, "slow consumer cut"),
        () = state.shutdown.cancelled() => {
            let _ = outbox.tx.send(Outbound::Close(1001, "broker shutting down".into()));
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

async fn read_loop(
    mut stream: futures_util::stream::SplitStream<WebSocket>,
    state: &AppState,
    conn: u64,
    outbox: &Outbox,
) {
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
                        match decode_client(text.as_str(), state.config.max_frame_bytes) {
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
            _ = ping.tick() => {
                // A connection not read for want of memory is not silent.
                if !gate.reading() {
                    last_heard = Instant::now();
                }
                if last_heard.elapsed() > ping_every * 2 {
                    tracing::info!(conn, "peer silent for two ping intervals; treating it as lost");
                    return;
                }
                let _ = outbox.tx.send(Outbound::Ping);
            }
        }
        if !forward(state, conn, &mut now).await {
            return;
        }
    }
    // What a departing peer sent before it went is handled, held or not.
    now.extend(gate.release());
    forward(state, conn, &mut now).await;
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
