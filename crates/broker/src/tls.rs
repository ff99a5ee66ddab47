//! TLS for the MQTT listener (`mqtts_listen`) and the HTTP listener (HTTPS,
//! and so WSS for `/ws` and `/mqtt`), with rustls and its `ring` provider.
//!
//! Certificate and key come from PEM files; a CA file turns on client
//! certificates (mTLS), optional or required, and the certificate's common
//! name can stand for the username. [`Tls::reload`] reads the files again
//! (on SIGHUP): new connections get the new certificate, connected ones keep
//! theirs.

use crate::lazy_read::LazyRead;
use axum::extract::connect_info::Connected;
use axum::serve::{IncomingStream, Listener};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::server::WebPkiClientVerifier;
use tokio_rustls::rustls::{self, RootCertStore, ServerConfig};
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;

/// How long a client may take over its TLS handshake.
pub const HANDSHAKE_WAIT: Duration = Duration::from_secs(10);

/// Handshakes in progress at once on each TLS listener; connections beyond
/// are closed at once (a flood of half-open handshakes must stay bounded).
pub const MAX_HANDSHAKES: usize = 256;

/// The files TLS is made from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// The server's certificate chain (PEM), leaf first.
    pub cert: PathBuf,
    /// Its private key (PEM: PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// CAs whose client certificates are accepted (PEM); none: no client certificates.
    pub client_ca: Option<PathBuf>,
    /// With `client_ca`: refuse clients that present no certificate.
    pub require_client_cert: bool,
}

/// TLS files that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    /// A file cannot be read or holds no PEM of the kind expected.
    #[error("{what} {path}: {why}")]
    File {
        /// Which setting.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// What is wrong.
        why: String,
    },
    /// rustls refused the certificate, key or CA.
    #[error("TLS setup: {0}")]
    Rustls(#[from] rustls::Error),
    /// The client certificate verifier could not be built.
    #[error("tls_client_ca: {0}")]
    Verifier(#[from] rustls::server::VerifierBuilderError),
}

fn certs(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bad = |why: String| TlsError::File { what, path: path.to_owned(), why };
    let certs: Vec<_> = CertificateDer::pem_file_iter(path)
        .map_err(|err| bad(err.to_string()))?
        .collect::<Result<_, _>>()
        .map_err(|err| bad(err.to_string()))?;
    if certs.is_empty() {
        return Err(bad("no CERTIFICATE block in it".into()));
    }
    Ok(certs)
}

/// Builds a rustls server configuration from `files`.
pub fn server_config(files: &TlsFiles) -> Result<Arc<ServerConfig>, TlsError> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let chain = certs("tls_cert", &files.cert)?;
    let key = PrivateKeyDer::from_pem_file(&files.key).map_err(|err| TlsError::File {
        what: "tls_key",
        path: files.key.clone(),
        why: err.to_string(),
    })?;
    let builder = ServerConfig::builder_with_provider(provider.clone()).with_safe_default_protocol_versions()?;
    let builder = match &files.client_ca {
        Some(ca) => {
            let mut roots = RootCertStore::empty();
            for cert in certs("tls_client_ca", ca)? {
                roots.add(cert)?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if files.require_client_cert { verifier } else { verifier.allow_unauthenticated() };
            builder.with_client_cert_verifier(verifier.build()?)
        }
        None => builder.with_no_client_auth(),
    };
    Ok(Arc::new(builder.with_single_cert(chain, key)?))
}

/// TLS in force, replaceable while the broker runs.
#[derive(Debug)]
pub struct Tls {
    files: TlsFiles,
    config: RwLock<Arc<ServerConfig>>,
    /// A client certificate's common name is the username (no password asked).
    pub identity_as_username: bool,
}

impl Tls {
    /// Loads `files`.
    pub fn new(files: TlsFiles, identity_as_username: bool) -> Result<Self, TlsError> {
        let config = RwLock::new(server_config(&files)?);
        Ok(Self { files, config, identity_as_username })
    }

    /// Reads the files again; on error the configuration in force stays.
    pub fn reload(&self) -> Result<(), TlsError> {
        let config = server_config(&self.files)?;
        if let Ok(mut slot) = self.config.write() {
            *slot = config;
        }
        Ok(())
    }

    /// Runs the server side of a handshake (bounded by [`HANDSHAKE_WAIT`]).
    /// Returns the stream and, when [`Tls::identity_as_username`] is on,
    /// the client certificate's common name.
    pub async fn accept(&self, tcp: TcpStream) -> std::io::Result<(TlsStream<TcpStream>, Option<String>)> {
        let config = self.config.read().map(|c| c.clone()).map_err(|_| std::io::Error::other("TLS lock poisoned"))?;
        let handshake = TlsAcceptor::from(config).accept(tcp);
        let stream = tokio::time::timeout(HANDSHAKE_WAIT, handshake)
            .await
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "TLS handshake took too long"))??;
        let name = if self.identity_as_username {
            stream.get_ref().1.peer_certificates().and_then(|chain| chain.first()).and_then(common_name)
        } else {
            None
        };
        Ok((stream, name))
    }
}

/// The subject common name of a certificate, if it has one.
pub fn common_name(cert: &CertificateDer<'_>) -> Option<String> {
    let (_, parsed) = x509_parser::parse_x509_certificate(cert.as_ref()).ok()?;
    let name = parsed.subject().iter_common_name().next()?.as_str().ok()?;
    Some(name.to_owned())
}

/// Who is at the other end of an HTTP connection.
#[derive(Debug, Clone)]
pub struct Peer {
    /// Its address.
    pub addr: SocketAddr,
    /// Who it is already known to be: its client certificate's common name
    /// (when that is the username), or the dashboard login of its cookie.
    pub cert_user: Option<String>,
}

/// The HTTP listener: plain TCP, or TLS (HTTPS and WSS) when configured.
/// Handshakes run in their own tasks, so a slow one holds up nobody.
pub struct HttpListener {
    tcp: TcpListener,
    tls: Option<Arc<Tls>>,
    handshakes: JoinSet<Option<(Box<TlsStream<TcpStream>>, Peer)>>,
}

impl HttpListener {
    /// Serves `tcp`, with TLS when `tls` is given.
    pub fn new(tcp: TcpListener, tls: Option<Arc<Tls>>) -> Self {
        Self { tcp, tls, handshakes: JoinSet::new() }
    }
}

async fn accept_tcp(listener: &TcpListener) -> (TcpStream, SocketAddr) {
    loop {
        match listener.accept().await {
            Ok((tcp, addr)) => {
                // Small frames must leave at once: without TCP_NODELAY, Nagle's
                // algorithm and delayed acks add tens of milliseconds.
                if let Err(err) = tcp.set_nodelay(true) {
                    tracing::warn!(%err, "cannot set TCP_NODELAY");
                }
                return (tcp, addr);
            }
            Err(err) => {
                // Out of file descriptors, usually: wait instead of spinning.
                tracing::warn!(%err, "cannot accept an HTTP connection");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }
}

impl Listener for HttpListener {
    // Boxed: a TLS stream is over a kilobyte, and every plain connection
    // would otherwise carry that much room for one.
    type Io = Either<LazyRead<TcpStream>, Box<TlsStream<TcpStream>>>;
    type Addr = Peer;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        let Some(tls) = self.tls.clone() else {
            let (tcp, addr) = accept_tcp(&self.tcp).await;
            return (Either::Left(LazyRead::new(tcp)), Peer { addr, cert_user: None });
        };
        loop {
            tokio::select! {
                (tcp, addr) = accept_tcp(&self.tcp) => {
                    if self.handshakes.len() >= MAX_HANDSHAKES {
                        tracing::warn!(%addr, "too many TLS handshakes in progress; connection closed");
                        continue;
                    }
                    let tls = tls.clone();
                    self.handshakes.spawn(async move {
                        match tls.accept(tcp).await {
                            Ok((stream, cert_user)) => Some((Box::new(stream), Peer { addr, cert_user })),
                            Err(err) => {
                                tracing::debug!(%addr, %err, "TLS handshake failed");
                                None
                            }
                        }
                    });
                }
                Some(done) = self.handshakes.join_next(), if !self.handshakes.is_empty() => {
                    if let Ok(Some((stream, peer))) = done {
                        return (Either::Right(stream), peer);
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(Peer { addr: self.tcp.local_addr()?, cert_user: None })
    }
}

impl Connected<IncomingStream<'_, HttpListener>> for Peer {
    fn connect_info(stream: IncomingStream<'_, HttpListener>) -> Self {
        stream.remote_addr().clone()
    }
}
