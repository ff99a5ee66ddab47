//! A small client for the broker's protocol, used by `hearth pub`, `hearth sub`
//! and `hearth bench`.

use futures_util::{SinkExt, StreamExt};
use queue_core::protocol::{ClientFrame, ErrorCode, ServerFrame, encode_server};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::Arc;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{ClientConfig, RootCertStore};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_util::either::Either;

/// The broker a terminal command talks to (`--url`, shared by `hearth pub`,
/// `hearth sub` and `hearth bench`), and how to log in to it.
#[derive(Debug, Clone, clap::Args)]
pub struct BrokerUrl {
    /// Broker to talk to: host:port, http(s)://… or ws(s)://…/ws.
    #[arg(long, short = 'u', default_value = "127.0.0.1:8080", env = "HEARTH_URL")]
    pub url: String,
    /// Username, for a broker that needs a login.
    #[arg(long, env = "HEARTH_USERNAME")]
    pub username: Option<String>,
    /// Password (better from the environment, where `ps` does not show it).
    #[arg(long, env = "HEARTH_PASSWORD", hide_env_values = true)]
    pub password: Option<String>,
    /// CA certificate (PEM) to trust for https:// and wss:// (a home CA).
    #[arg(long, value_name = "FILE")]
    pub cafile: Option<PathBuf>,
}

impl BrokerUrl {
    /// The broker at `url`, no login, no TLS settings.
    pub fn plain(url: &str) -> Self {
        Self { url: url.to_owned(), username: None, password: None, cafile: None }
    }
}

/// The socket type of a client connection: plain TCP or TLS.
pub type Socket = WebSocketStream<Either<TcpStream, tokio_rustls::client::TlsStream<TcpStream>>>;

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
        Self::open(&BrokerUrl::plain(target)).await
    }

    /// Connects to `broker.url` (over TLS for `https://` and `wss://`,
    /// trusting `broker.cafile`), and logs in with `hello` when a username
    /// is given.
    pub async fn open(broker: &BrokerUrl) -> Result<Self, ClientError> {
        let url = ws_url(&broker.url);
        let failed = |reason: String| ClientError::Connect { url: url.clone(), reason };
        let request = url.as_str().into_client_request().map_err(|e| failed(e.to_string()))?;
        let host = request.uri().host().unwrap_or("127.0.0.1").trim_matches(['[', ']']).to_owned();
        let tls = url.starts_with("wss://");
        let port = request.uri().port_u16().unwrap_or(if tls { 443 } else { 80 });
        let tcp = TcpStream::connect((host.as_str(), port)).await.map_err(|e| failed(e.to_string()))?;
        tcp.set_nodelay(true).map_err(|e| failed(e.to_string()))?;
        let stream = if tls {
            let connector = TlsConnector::from(tls_config(broker.cafile.as_deref()).map_err(failed)?);
            let name = ServerName::try_from(host.clone()).map_err(|e| failed(e.to_string()))?;
            Either::Right(connector.connect(name, tcp).await.map_err(|e| failed(format!("TLS: {e}")))?)
        } else {
            Either::Left(tcp)
        };
        let (socket, _) = tokio_tungstenite::client_async(request, stream).await.map_err(|e| failed(e.to_string()))?;
        let mut client = Self { socket, next_id: 1, buffered: VecDeque::new() };
        if let Some(user) = &broker.username {
            client.login(user, broker.password.as_deref().unwrap_or_default()).await?;
        }
        Ok(client)
    }

    /// Sends the `hello` with credentials (the broker strips them before the
    /// engine sees the frame) and waits for `welcome`.
    async fn login(&mut self, user: &str, password: &str) -> Result<(), ClientError> {
        let id = self.next_id();
        let hello = serde_json::json!({"type": "hello", "id": id, "username": user, "password": password});
        self.socket
            .send(Message::Text(hello.to_string().into()))
            .await
            .map_err(|e| ClientError::Lost(e.to_string()))?;
        loop {
            match self.recv_raw().await? {
                Some(ServerFrame::Welcome { .. }) => return Ok(()),
                Some(ServerFrame::Error { code, message, .. }) => return Err(ClientError::Refused { code, message }),
                Some(_) => {}
                None => return Err(ClientError::Lost("the broker closed the connection at login".into())),
            }
        }
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
        | ServerFrame::Confirm { id, .. }
        | ServerFrame::Purged { id, .. }
        | ServerFrame::Peeked { id, .. }
        | ServerFrame::Got { id, .. } => Some(*id),
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

/// What a TLS client trusts: the CA file given, else nothing (a home broker
/// has no certificate from a public CA; say which CA signed it).
fn tls_config(cafile: Option<&std::path::Path>) -> Result<Arc<ClientConfig>, String> {
    let Some(cafile) = cafile else {
        return Err("a TLS broker needs --cafile FILE: the CA certificate that signed the broker's".into());
    };
    let mut roots = RootCertStore::empty();
    let certs = CertificateDer::pem_file_iter(cafile).map_err(|e| format!("--cafile {}: {e}", cafile.display()))?;
    for cert in certs {
        let cert = cert.map_err(|e| format!("--cafile {}: {e}", cafile.display()))?;
        roots.add(cert).map_err(|e| format!("--cafile {}: {e}", cafile.display()))?;
    }
    let provider = Arc::new(tokio_rustls::rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}
