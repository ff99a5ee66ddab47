//! `hearth serve`: binds nothing itself; takes its listeners, a config and a
//! shutdown future, so tests can run many brokers on port 0 in one process.

use crate::config::Config;
use crate::driver::{Buffered, Command, Driver};
use crate::http::router;
use queue_core::EngineConfig;
use std::future::Future;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize};
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// Commands waiting for the engine task before senders wait (back-pressure on publishers).
const COMMAND_QUEUE: usize = 8192;

/// How long shutdown waits for WebSocket connections to send their close frames.
const CLOSE_GRACE: Duration = Duration::from_secs(3);

/// State shared by every handler.
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

/// What [`AppState`] holds.
pub struct Shared {
    /// The settings.
    pub config: Config,
    /// The engine task's inbox.
    pub commands: mpsc::Sender<Command>,
    /// Next connection number.
    pub next_conn: AtomicU64,
    /// Open WebSocket connections.
    pub live: AtomicUsize,
    /// Fired when the broker shuts down.
    pub shutdown: CancellationToken,
    /// The WebSocket and MQTT connection tasks. Upgraded connections are not
    /// axum's to wait for, so [`serve`] waits for these before returning.
    pub sockets: TaskTracker,
    /// MQTT client ids in use, for session takeover.
    pub mqtt_sessions: crate::mqtt::Registry,
    /// Bytes buffered for connections outside the engine (counted in the memory budget).
    pub buffered: Buffered,
    /// Publishers are blocked by the memory budget.
    pub blocked: watch::Receiver<bool>,
    /// Who may connect.
    pub auth: crate::auth::Auth,
    /// Who may do what, as the engine has it (MQTT sessions read it to
    /// answer SUBACK and CONNECT; the engine enforces it).
    pub acl: std::sync::RwLock<Option<Arc<queue_core::acl::Acl>>>,
    /// TLS, when configured (reloaded on SIGHUP).
    pub tls: Option<Arc<crate::tls::Tls>>,
    /// The dashboard's logins.
    pub sessions: crate::auth::sessions::Sessions,
    /// The name of their cookie (one per broker on a host).
    pub cookie: String,
    /// AMQP exchanges (shared by every AMQP connection).
    pub exchanges: Arc<crate::amqp::Exchanges>,
    /// Bridges to other brokers and their status.
    pub bridges: crate::bridge::Bridges,
}

impl Shared {
    /// The access control list now (`None`: none).
    pub fn acl(&self) -> Option<Arc<queue_core::acl::Acl>> {
        self.acl.read().map(|acl| acl.clone()).unwrap_or_default()
    }
}

/// The sockets a broker serves: HTTP (dashboard, `/ws`, `/api`) and, when
/// given, MQTT over TCP. A bare `TcpListener` converts into HTTP only.
#[derive(Debug)]
pub struct Listeners {
    /// HTTP listener.
    pub http: TcpListener,
    /// MQTT listener, if MQTT over TCP is served.
    pub mqtt: Option<TcpListener>,
    /// MQTT over TLS listener (needs the config's certificate).
    pub mqtts: Option<TcpListener>,
    /// AMQP 0-9-1 listener, if AMQP is served.
    pub amqp: Option<TcpListener>,
}

impl From<TcpListener> for Listeners {
    fn from(http: TcpListener) -> Self {
        Self { http, mqtt: None, mqtts: None, amqp: None }
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;
    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// Why the broker could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The dashboard folder is missing or has no `index.html`.
    #[error(
        "dashboard folder {0} has no readable index.html; build it with `cargo xtask dist`, or start without --dist"
    )]
    Dist(PathBuf),
    /// The HTTP server failed.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
    /// The data directory cannot be used.
    #[error("{0}")]
    Store(#[from] store::StoreError),
    /// The password file cannot be used.
    #[error("{0}")]
    Passwords(#[from] crate::auth::PasswdError),
    /// The ACL file cannot be used.
    #[error("{0}")]
    Acl(#[from] crate::auth::AclFileError),
    /// The TLS files cannot be used.
    #[error("{0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// Checks that a dashboard folder can be served.
pub fn check_dist(dist: &std::path::Path) -> Result<(), ServeError> {
    match std::fs::File::open(dist.join("index.html")) {
        Ok(_) => Ok(()),
        Err(_) => Err(ServeError::Dist(dist.to_path_buf())),
    }
}

/// Serves the broker on `listeners` until `shutdown` completes, then closes
/// every connection and returns.
pub async fn serve(
    listeners: impl Into<Listeners>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let data = open_data(&config).await?;
    serve_with(listeners, config, data, shutdown).await
}

/// The data directory of `config`, opened and replayed (`None` in memory).
/// Opening it takes a moment with much in it: off the runtime's threads.
pub async fn open_data(config: &Config) -> Result<Option<(store::Store, store::Contents)>, ServeError> {
    if config.in_memory {
        return Ok(None);
    }
    let mut store_config = store::StoreConfig::new(&config.data_dir);
    if let Some(limit) = config.disk_limit.resolve() {
        // Space comes back a segment at a time: several must fit in the budget.
        store_config.segment_bytes = (limit / 8).clamp(64 << 10, store_config.segment_bytes);
    }
    let opened = tokio::task::spawn_blocking(move || store::Store::open(store_config)).await;
    Ok(Some(opened.map_err(|err| ServeError::Io(std::io::Error::other(err)))??))
}

/// [`serve`] with the data directory already opened by [`open_data`].
pub async fn serve_with(
    listeners: impl Into<Listeners>,
    config: Config,
    data: Option<(store::Store, store::Contents)>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let Listeners { http: listener, mqtt, mqtts, amqp } = listeners.into();
    if let Some(dist) = &config.dist {
        check_dist(dist)?;
    }
    let users = config.password_file.as_deref().map(crate::auth::Passwords::load).transpose()?;
    let auth = crate::auth::Auth::new(users, config.anonymous());
    let acl = config.acl_file.as_deref().map(crate::auth::load_acl).transpose()?.map(Arc::new);
    let tls = match config.tls_files() {
        Some(files) => Some(Arc::new(crate::tls::Tls::new(files, config.tls_identity_as_username)?)),
        None => None,
    };
    let cookie = crate::auth::sessions::cookie_name(listener.local_addr()?.port(), tls.is_some());
    let token = CancellationToken::new();
    let (commands, inbox) = mpsc::channel(COMMAND_QUEUE);
    let memory_limit = config.memory_limit.resolve();
    let disk_limit = config.disk_limit.resolve();
    let engine_config =
        EngineConfig { default_prefetch: config.default_prefetch, memory_limit, disk_limit, ..EngineConfig::default() };
    let buffered = Buffered::default();
    let (blocked_tx, blocked) = watch::channel(false);
    let mut driver = Driver::new(engine_config, config.max_pending_bytes, buffered.clone(), blocked_tx);
    driver.set_acl(acl.clone());
    let mut registry = crate::mqtt::Registry::default();
    let mut exchanges = crate::amqp::Exchanges::default();
    if let Some((store, contents)) = data {
        registry = crate::mqtt::Registry::new(store.writer(), crate::mqtt::saved_sessions(&contents.kv));
        let bound = contents
            .engine
            .queues
            .iter()
            .flat_map(|q| q.bindings.iter().map(|filter| (q.name.clone(), filter.clone())))
            .collect();
        exchanges = crate::amqp::Exchanges::new(store.writer(), &contents.kv, &bound);
        driver = driver.with_store(store, contents.engine);
    } else {
        tracing::warn!(
            "in memory (--in-memory): nothing is kept on disk; durable queues and sessions end with the broker"
        );
    }
    let bridges = crate::bridge::Bridges::new(&config.bridges);
    let state = AppState(Arc::new(Shared {
        config,
        commands,
        next_conn: AtomicU64::new(1),
        live: AtomicUsize::new(0),
        shutdown: token.clone(),
        sockets: TaskTracker::new(),
        mqtt_sessions: registry,
        buffered,
        blocked,
        auth,
        acl: std::sync::RwLock::new(acl),
        tls: tls.clone(),
        sessions: Default::default(),
        cookie,
        exchanges: Arc::new(exchanges),
        bridges,
    }));
    let sockets = state.sockets.clone();
    #[cfg(unix)]
    reload_on_hangup(state.clone());
    let engine = tokio::spawn(driver.run(inbox, token.clone()));
    if let Some(mqtt) = mqtt {
        sockets.spawn(crate::mqtt::accept_loop(mqtt, state.clone(), None));
    }
    if let Some(amqp) = amqp {
        sockets.spawn(crate::amqp::accept_loop(amqp, state.clone()));
    }
    if let (Some(mqtts), Some(tls)) = (mqtts, &tls) {
        sockets.spawn(crate::mqtt::accept_loop(mqtts, state.clone(), Some(tls.clone())));
    }
    crate::bridge::spawn_all(&state);
    let app = router(state).into_make_service_with_connect_info::<crate::tls::Peer>();
    let stop = token.clone();
    let listener = crate::tls::HttpListener::new(listener, tls);
    let result = axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
            stop.cancel();
        })
        .await;
    token.cancel();
    // Each connection now sends its close frame; returning earlier would let
    // the process exit with those frames unsent.
    sockets.close();
    if tokio::time::timeout(CLOSE_GRACE, sockets.wait()).await.is_err() {
        tracing::warn!(left = sockets.len(), "some connections did not close in time");
    }
    let _ = engine.await;
    result.map_err(ServeError::from)
}

/// Reads the password file and the ACL file again (on SIGHUP, as Mosquitto
/// does). A file that cannot be used is reported and the one in force is
/// kept; connected clients stay, and the new rules apply to their next
/// request.
pub async fn reload(state: &AppState) {
    if let Some(path) = &state.config.password_file {
        match crate::auth::Passwords::load(path) {
            Ok(users) => {
                state.auth.set_users(users);
                tracing::info!(path = %path.display(), "password file reloaded");
            }
            Err(err) => tracing::error!(%err, "password file not reloaded; the old one stays in force"),
        }
    }
    if let Some(path) = &state.config.acl_file {
        match crate::auth::load_acl(path) {
            Ok(acl) => {
                let acl = Some(Arc::new(acl));
                if let Ok(mut slot) = state.acl.write() {
                    slot.clone_from(&acl);
                }
                let _ = state.commands.send(Command::SetAcl(acl)).await;
                tracing::info!(path = %path.display(), "ACL file reloaded");
            }
            Err(err) => tracing::error!(%err, "ACL file not reloaded; the old one stays in force"),
        }
    }
    if let Some(tls) = &state.tls {
        match tls.reload() {
            Ok(()) => tracing::info!("TLS certificate reloaded"),
            Err(err) => tracing::error!(%err, "TLS certificate not reloaded; the old one stays in force"),
        }
    }
}

/// Calls [`reload`] on every SIGHUP until the broker stops.
#[cfg(unix)]
fn reload_on_hangup(state: AppState) {
    use tokio::signal::unix::{SignalKind, signal};
    let mut hangup = match signal(SignalKind::hangup()) {
        Ok(hangup) => hangup,
        Err(err) => return tracing::warn!(%err, "cannot install the SIGHUP handler: no reloading"),
    };
    tokio::spawn(async move {
        loop {
            tokio::select! {
                got = hangup.recv() => if got.is_none() { return },
                () = state.shutdown.cancelled() => return,
            }
            tracing::info!("SIGHUP: reloading");
            reload(&state).await;
        }
    });
}
