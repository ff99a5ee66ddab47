//! A small client for the broker's protocol, used by `hearth pub`, `hearth sub`
//! and `hearth bench`.

use futures_util::{SinkExt, StreamExt};
use queue_core::protocol::{ClientFrame, ErrorCode, ServerFrame, encode_server};
use std::collections::VecDeque;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The broker a terminal command talks to (`--url`, shared by `hearth pub`,
/// `hearth sub` and `hearth bench`).
#[derive(Debug, Clone, clap::Args)]
pub struct BrokerUrl {
    /// Broker to talk to: host:port, http://… or ws://…/ws.
    #[arg(long, short = 'u', default_value = "127.0.0.1:8080", env = "HEARTH_URL")]
    pub url: String,
}

/// The socket type of a client connection.
pub type Socket = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// What can go wrong talking to a broker.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The broker could not be reached.
    #[error("cannot connect to {url} ({reason}); is `hearth serve` running there?")]
    Connect {
        /// The URL tried.
        url: String,
        /// Why it failed.
        reason: String,
    },
    /// The connection broke or was closed.
    #[error("connection lost: {0}")]
    Lost(String),
    /// The broker refused a request.
    #[error("broker refused ({code:?}): {message}")]
    Refused {
        /// Its code.
        code: ErrorCode,
        /// Its explanation.
        message: String,
    },
    /// The broker sent something this client cannot read.
    #[error("unreadable frame from the broker: {0}")]
    Unreadable(String),
}

/// A connection to a broker's `/ws`.
pub struct Client {
    socket: Socket,
    next_id: u64,
    /// Frames received while waiting for a reply, returned by `recv` first.
    buffered: VecDeque<ServerFrame>,
}

/// Turns `host:port`, `http://…` or `ws://…` into a `/ws` URL.
pub fn ws_url(target: &str) -> String {
    let with_scheme = if let Some(rest) = target.strip_prefix("http://") {
        format!("ws://{rest}")
    } else if let Some(rest) = target.strip_prefix("https://") {
        format!("wss://{rest}")
    } else if target.starts_with("ws://") || target.starts_with("wss://") {
        target.to_owned()
    } else {
        format!("ws://{target}")
    };
    let after_scheme = with_scheme.split_once("://").map_or("", |(_, rest)| rest);
    if after_scheme.contains('/') { with_scheme } else { format!("{with_scheme}/ws") }
}

impl Client {
    /// Connects to `target` (`127.0.0.1:8080`, `http://…` or `ws://…/ws`).
    pub async fn connect(target: &str) -> Result<Self, ClientError> {
        let url = ws_url(target);
        let (socket, _) = tokio_tungstenite::connect_async_with_config(&url, None, true)
            .await
            .map_err(|e| ClientError::Connect { url: url.clone(), reason: e.to_string() })?;
        Ok(Self { socket, next_id: 1, buffered: VecDeque::new() })
    }

    /// A fresh request id.
    pub fn next_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Sends a frame and flushes.
    pub async fn send(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        let text = serde_json::to_string(frame).map_err(|e| ClientError::Unreadable(e.to_string()))?;
        self.socket.send(Message::Text(text.into())).await.map_err(|e| ClientError::Lost(e.to_string()))
    }

    /// Queues a frame without flushing (for bursts); call [`Client::flush`] after.
    pub async fn feed(&mut self, frame: &ClientFrame) -> Result<(), ClientError> {
        let text = serde_json::to_string(frame).map_err(|e| ClientError::Unreadable(e.to_string()))?;
        self.socket.feed(Message::Text(text.into())).await.map_err(|e| ClientError::Lost(e.to_string()))
    }

    /// Writes out fed frames.
    pub async fn flush(&mut self) -> Result<(), ClientError> {
        self.socket.flush().await.map_err(|e| ClientError::Lost(e.to_string()))
    }

    /// The next frame from the broker; `None` once it closed the connection.
    pub async fn recv(&mut self) -> Result<Option<ServerFrame>, ClientError> {
        if let Some(frame) = self.buffered.pop_front() {
            return Ok(Some(frame));
        }
        loop {
            match self.socket.next().await {
                None | Some(Ok(Message::Close(_))) => return Ok(None),
                Some(Err(e)) => return Err(ClientError::Lost(e.to_string())),
                Some(Ok(Message::Text(text))) => {
                    return serde_json::from_str(text.as_str())
                        .map(Some)
                        .map_err(|e| ClientError::Unreadable(format!("{e}: {}", text.as_str())));
                }
                Some(Ok(_)) => {}
            }
        }
    }

    /// Sends a request and waits for the reply carrying `id`; other frames are
    /// kept for [`Client::recv`]. An `error` reply becomes [`ClientError::Refused`].
    pub async fn request(&mut self, id: u64, frame: &ClientFrame) -> Result<ServerFrame, ClientError> {
        self.send(frame).await?;
        loop {
            let Some(reply) = self.recv_raw().await? else {
                return Err(ClientError::Lost("the broker closed the connection".into()));
            };
            match reply_id(&reply) {
                Some(reply_id) if reply_id == id => {
                    return match reply {
                        ServerFrame::Error { code, message, .. } => Err(ClientError::Refused { code, message }),
                        other => Ok(other),
                    };
                }
                _ => self.buffered.push_back(reply),
            }
        }
    }

    async fn recv_raw(&mut self) -> Result<Option<ServerFrame>, ClientError> {
        let saved = std::mem::take(&mut self.buffered);
        let frame = self.recv().await;
        self.buffered = saved;
        frame
    }

    /// Says `bye` (so no last will is published) and closes.
    pub async fn close(mut self) -> Result<(), ClientError> {
        self.send(&ClientFrame::Bye).await?;
        let _ = self.socket.close(None).await;
        Ok(())
    }

    /// The underlying socket, for code that splits it (the benchmark).
    pub fn into_socket(self) -> Socket {
        self.socket
    }
}

/// The request id a server frame answers, if any.
pub fn reply_id(frame: &ServerFrame) -> Option<u64> {
    match frame {
        ServerFrame::Ok { id }
        | ServerFrame::Declared { id, .. }
        | ServerFrame::Subscribed { id, .. }
        | ServerFrame::Confirm { id, .. } => Some(*id),
        ServerFrame::Welcome { id, .. }
        | ServerFrame::Stats { id, .. }
        | ServerFrame::Pong { id }
        | ServerFrame::Error { id, .. } => *id,
        ServerFrame::Deliver(_)
        | ServerFrame::Cancelled { .. }
        | ServerFrame::Blocked { .. }
        | ServerFrame::Unblocked => None,
    }
}

/// Prints a server frame as one JSON line (for `--format json`).
pub fn frame_json(frame: &ServerFrame) -> String {
    encode_server(frame)
}
