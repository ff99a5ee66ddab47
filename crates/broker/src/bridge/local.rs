//! The local side of a link: an engine connection of the broker's own
//! (role `Internal`: the bridge is trusted, nothing is checked against the
//! ACL), speaking the same frames a WebSocket client sends.

use crate::driver::{Command, Outbound, OutboundRx, Outbox, Protocol};
use crate::server::AppState;
use queue_core::protocol::{ClientFrame, ServerFrame};
use queue_core::{ConnId, Role};
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;

/// How long a setup request may wait for the engine's answer.
const ANSWER_WAIT: Duration = Duration::from_secs(10);

/// One engine connection; it disconnects when dropped (its unacked
/// deliveries go back to their queue, marked redelivered).
pub struct Local {
    /// Its number.
    pub conn: ConnId,
    rx: OutboundRx,
    state: AppState,
    /// Frames that came with a request's answer, for the next [`Local::recv`].
    stash: Vec<ServerFrame>,
}

impl Local {
    /// Connects as `client_id` (as `/api/connections` shows it; `remote` is the
    /// remote broker's address). `None`: the broker is shutting down.
    pub async fn open(state: &AppState, client_id: String, remote: SocketAddr) -> Option<Self> {
        let conn = state.next_conn.fetch_add(1, Ordering::Relaxed);
        let (outbox, rx) = Outbox::new(&state.buffered);
        let hello = ClientFrame::Hello { id: None, client_id: Some(client_id), keep_alive_ms: 0, will: None };
        let commands = [
            Command::Connect { conn, outbox, remote, protocol: Protocol::Internal },
            Command::Identify { conn, user: None, role: Role::Internal },
            Command::frame(conn, hello, &state.buffered),
        ];
        for command in commands {
            state.commands.send(command).await.ok()?;
        }
        Some(Self { conn, rx, state: state.clone(), stash: Vec::new() })
    }

    /// Sends one frame; false once the engine is gone.
    pub async fn send(&self, frame: ClientFrame) -> bool {
        self.state.commands.send(Command::frame(self.conn, frame, &self.state.buffered)).await.is_ok()
    }

    /// Sends several frames as one command; false once the engine is gone.
    pub async fn send_all(&self, frames: Vec<ClientFrame>) -> bool {
        self.state.commands.send(Command::frames(self.conn, frames, &self.state.buffered)).await.is_ok()
    }

    /// The next frames from the engine; `None` once the connection is closed or cut.
    pub async fn recv(&mut self) -> Option<Vec<ServerFrame>> {
        if !self.stash.is_empty() {
            return Some(std::mem::take(&mut self.stash));
        }
        loop {
            tokio::select! {
                item = self.rx.recv() => match item? {
                    Outbound::Frames(frames, bytes) => {
                        self.rx.taken(bytes);
                        return Some(frames);
                    }
                    Outbound::Close(..) => return None,
                    Outbound::Ping => {}
                },
                () = self.rx.cut_off() => return None,
            }
        }
    }

    /// Sends a request and waits for its answer (`ok`, `declared`,
    /// `subscribed`, or `error` with its id); other frames meanwhile (the
    /// first deliveries of a consumer) are kept for [`Local::recv`].
    pub async fn request(&mut self, id: u64, frame: ClientFrame) -> Result<ServerFrame, String> {
        if !self.send(frame).await {
            return Err("the broker is shutting down".into());
        }
        let answer = async {
            let mut kept = Vec::new();
            while let Some(frames) = self.recv().await {
                let mut frames = frames.into_iter();
                while let Some(frame) = frames.next() {
                    let answer = match &frame {
                        ServerFrame::Ok { id: got }
                        | ServerFrame::Declared { id: got, .. }
                        | ServerFrame::Subscribed { id: got, .. }
                            if *got == id =>
                        {
                            Ok(frame)
                        }
                        ServerFrame::Error { id: Some(got), message, .. } if *got == id => Err(message.clone()),
                        _ => {
                            kept.push(frame);
                            continue;
                        }
                    };
                    kept.extend(frames);
                    self.stash = kept;
                    return answer;
                }
            }
            Err("the engine closed the bridge's connection".into())
        };
        tokio::time::timeout(ANSWER_WAIT, answer).await.unwrap_or_else(|_| Err("the engine did not answer".into()))
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        let commands = self.state.commands.clone();
        let conn = self.conn;
        if let Err(tokio::sync::mpsc::error::TrySendError::Full(command)) =
            commands.try_send(Command::Disconnect { conn })
        {
            tokio::spawn(async move { commands.send(command).await });
        }
    }
}
