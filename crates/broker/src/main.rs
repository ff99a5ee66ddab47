//! The `hearth` command: `serve`, `pub`, `sub`, `bench`, `passwd`.

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hearth::Config;
use hearth::bench::{BenchArgs, run_bench};
use hearth::cli::{PasswdArgs, PubArgs, SubArgs, run_passwd, run_pub, run_sub};
use hearth::server::Listeners;
use std::net::SocketAddr;
use std::path::PathBuf;
use tokio::net::TcpListener;

/// Hearth: a message queue for the smart home and the edge.
#[derive(Debug, Parser)]
#[command(name = "hearth", version, about, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the broker: WebSocket at /ws, MQTT on --mqtt-listen, AMQP on --amqp-listen, dashboard at /, JSON at /api, metrics at /metrics.
    Serve(Box<ServeArgs>),
    /// Publish a message to a topic or a queue.
    Pub(PubArgs),
    /// Subscribe to a topic filter or a queue and print what arrives.
    Sub(SubArgs),
    /// Load a broker over real connections and report throughput and latency.
    Bench(BenchArgs),
    /// Add a user to a password file or change their password (argon2id).
    Passwd(PasswdArgs),
}

#[derive(Debug, Args)]
struct ServeArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, short = 'l')]
    listen: Option<SocketAddr>,
    /// Address for MQTT over TCP (default 127.0.0.1:1883; port 0 picks a free port).
    #[arg(long)]
    mqtt_listen: Option<SocketAddr>,
    /// Address for AMQP 0-9-1 over TCP (default 127.0.0.1:5672; port 0 picks a free port).
    #[arg(long)]
    amqp_listen: Option<SocketAddr>,
    /// Folder of the built dashboard (made by `cargo xtask dist`).
    #[arg(long)]
    dist: Option<PathBuf>,
    /// Largest client frame in bytes.
    #[arg(long)]
    max_frame_bytes: Option<usize>,
    /// Most simultaneous connections.
    #[arg(long)]
    max_connections: Option<usize>,
    /// WebSocket ping interval in ms; a peer silent for two intervals is dropped.
    #[arg(long)]
    ping_interval_ms: Option<u64>,
    /// Longest MQTT keep-alive in seconds (0: no limit); MQTT 5 clients asking
    /// for more or none get this one as Server Keep Alive.
    #[arg(long)]
    mqtt_max_keep_alive: Option<u16>,
    /// Server Receive Maximum announced to MQTT 5 clients: QoS 1 and 2
    /// PUBLISHes a client may have unacknowledged; more gets DISCONNECT 0x93.
    #[arg(long)]
    mqtt_receive_maximum: Option<u16>,
    /// Memory budget: bytes (512MiB, 2GB), a share of physical memory (0.4,
    /// 40%), or 0 for none. Above it publishers are blocked until queues
    /// drain. Default 0.4 of physical memory.
    #[arg(long)]
    memory_limit: Option<hearth::budget::MemoryLimit>,
    /// Bytes waiting for one connection before it is cut as a slow consumer.
    #[arg(long)]
    max_pending_bytes: Option<usize>,
    /// Most messages an MQTT session queues beyond those in flight, online
    /// or offline; the oldest is dropped (and counted) past it.
    #[arg(long)]
    mqtt_max_queued_messages: Option<u64>,
    /// Most bytes an MQTT session queues beyond those in flight.
    #[arg(long)]
    mqtt_max_queued_bytes: Option<u64>,
    /// An origin (http://host:port) whose pages may read /api/* across
    /// origins, e.g. a dashboard served by another broker; repeatable.
    #[arg(long = "allow-origin", value_name = "ORIGIN")]
    allow_origins: Vec<String>,
    /// Directory for durable state: durable queues, retained messages, MQTT
    /// persistent sessions (default ./hearth-data, created on first start).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    /// Disk budget: bytes of the store's files (10GiB) or 0 for none (the
    /// default). Above it publishers are blocked until durable queues drain.
    #[arg(long)]
    disk_limit: Option<hearth::budget::MemoryLimit>,
    /// Password file (`user:hash` lines; `hearth passwd` makes them, and
    /// Mosquitto's `mosquitto_passwd` files work): clients must log in.
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Let clients in without a username (`true`/`false`). Default: only
    /// with no password file, and then only on loopback addresses.
    #[arg(long, value_name = "BOOL")]
    allow_anonymous: Option<bool>,
    /// ACL file in Mosquitto's `acl_file` syntax (`user`, `topic`,
    /// `pattern`, and `queue` lines): who may use which topics and queues.
    #[arg(long, value_name = "FILE")]
    acl_file: Option<PathBuf>,
    /// The server's certificate chain (PEM): the HTTP listener speaks HTTPS
    /// and WSS, and --mqtts-listen may be given.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
    /// CA certificates (PEM) whose client certificates are accepted (mutual TLS).
    #[arg(long, value_name = "FILE")]
    tls_client_ca: Option<PathBuf>,
    /// Refuse TLS clients without a certificate signed by --tls-client-ca.
    #[arg(long)]
    tls_require_client_cert: bool,
    /// A client certificate's common name is the username (no password asked).
    #[arg(long)]
    tls_identity_as_username: bool,
    /// Address for MQTT over TLS (conventionally port 8883).
    #[arg(long, value_name = "ADDR")]
    mqtts_listen: Option<SocketAddr>,
    /// A token /metrics asks for as `Authorization: Bearer TOKEN` (from the
    /// environment or the config file, so it does not show in `ps`).
    #[arg(long, env = "HEARTH_METRICS_TOKEN", hide_env_values = true, hide = true)]
    metrics_token: Option<String>,
    /// Keep nothing on disk: durable is accepted but not honoured.
    #[arg(long, conflicts_with = "data_dir")]
    in_memory: bool,
    /// TOML file with any of these settings; flags win over it.
    #[arg(long, short = 'c')]
    config: Option<PathBuf>,
}

impl ServeArgs {
    fn config(self) -> anyhow::Result<Config> {
        let mut config = match &self.config {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        config.listen = self.listen.unwrap_or(config.listen);
        config.mqtt_listen = self.mqtt_listen.unwrap_or(config.mqtt_listen);
        config.amqp_listen = self.amqp_listen.unwrap_or(config.amqp_listen);
        config.dist = self.dist.or(config.dist);
        config.max_frame_bytes = self.max_frame_bytes.unwrap_or(config.max_frame_bytes);
        config.max_connections = self.max_connections.unwrap_or(config.max_connections);
        config.ping_interval_ms = self.ping_interval_ms.unwrap_or(config.ping_interval_ms);
        config.mqtt_max_keep_alive = self.mqtt_max_keep_alive.unwrap_or(config.mqtt_max_keep_alive);
        config.mqtt_receive_maximum = self.mqtt_receive_maximum.unwrap_or(config.mqtt_receive_maximum);
        config.memory_limit = self.memory_limit.unwrap_or(config.memory_limit);
        config.max_pending_bytes = self.max_pending_bytes.unwrap_or(config.max_pending_bytes);
        config.mqtt_max_queued_messages = self.mqtt_max_queued_messages.unwrap_or(config.mqtt_max_queued_messages);
        config.mqtt_max_queued_bytes = self.mqtt_max_queued_bytes.unwrap_or(config.mqtt_max_queued_bytes);
        config.data_dir = self.data_dir.unwrap_or(config.data_dir);
        config.in_memory |= self.in_memory;
        config.disk_limit = self.disk_limit.unwrap_or(config.disk_limit);
        config.password_file = self.password_file.or(config.password_file);
        config.allow_anonymous = self.allow_anonymous.or(config.allow_anonymous);
        config.acl_file = self.acl_file.or(config.acl_file);
        config.tls_cert = self.tls_cert.or(config.tls_cert);
        config.tls_key = self.tls_key.or(config.tls_key);
        config.tls_client_ca = self.tls_client_ca.or(config.tls_client_ca);
        config.tls_require_client_cert |= self.tls_require_client_cert;
        config.tls_identity_as_username |= self.tls_identity_as_username;
        config.mqtts_listen = self.mqtts_listen.or(config.mqtts_listen);
        config.metrics_token = self.metrics_token.or(config.metrics_token);
        if !self.allow_origins.is_empty() {
            config.allow_origins = self.allow_origins;
        }
        config.validate()?;
        Ok(config)
    }
}

/// Each connection is an open file: the soft limit (often 1024) is raised
/// to the hard one, and a limit under `--max-connections` is said.
fn raise_open_files(max_connections: usize) {
    let wanted = u64::try_from(max_connections).unwrap_or(u64::MAX).saturating_add(64);
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(soft) if soft < wanted => tracing::warn!(
            open_files = soft,
            max_connections,
            "the open files limit is under --max-connections: connections past it wait unaccepted (raise the hard limit, `ulimit -Hn`)"
        ),
        Ok(soft) => tracing::debug!(open_files = soft, "open files limit"),
        Err(err) => tracing::warn!(%err, "cannot raise the open files limit"),
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().expect("a tokio runtime starts");
    match runtime.block_on(run(cli)) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("hearth: error: {err:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Serve(args) => run_serve(args.config()?).await,
        Command::Pub(args) => run_pub(args).await,
        Command::Sub(args) => run_sub(args).await,
        Command::Bench(args) => run_bench(args).await,
        Command::Passwd(args) => run_passwd(&args),
    }
}

async fn run_serve(config: Config) -> anyhow::Result<()> {
    init_logging();
    let shutdown = shutdown_signal()?;
    if let Some(dist) = &config.dist {
        hearth::server::check_dist(dist)?;
    }
    // The password file and the data directory first: a broker that cannot
    // check users or keep its state says so before it says it is listening.
    if let Some(path) = &config.password_file {
        hearth::auth::Passwords::load(path)?;
    }
    if let Some(path) = &config.acl_file {
        hearth::auth::load_acl(path)?;
    }
    if let Some(files) = config.tls_files() {
        hearth::tls::server_config(&files)?;
    }
    let data = hearth::server::open_data(&config).await?;
    let listener = TcpListener::bind(config.listen).await.map_err(|err| bind_error(config.listen, err, "--listen"))?;
    let addr = listener.local_addr().context("reading the bound address")?;
    let mqtt = TcpListener::bind(config.mqtt_listen)
        .await
        .map_err(|err| bind_error(config.mqtt_listen, err, "--mqtt-listen"))?;
    let mqtt_addr = mqtt.local_addr().context("reading the bound MQTT address")?;
    let amqp = TcpListener::bind(config.amqp_listen)
        .await
        .map_err(|err| bind_error(config.amqp_listen, err, "--amqp-listen"))?;
    let amqp_addr = amqp.local_addr().context("reading the bound AMQP address")?;
    let mqtts = match config.mqtts_listen {
        Some(at) => Some(TcpListener::bind(at).await.map_err(|err| bind_error(at, err, "--mqtts-listen"))?),
        None => None,
    };
    let dashboard = if config.dist.is_some() {
        "dashboard at /"
    } else if hearth::http::has_embedded_dashboard() {
        "built-in dashboard at /"
    } else {
        "no dashboard (build it with `cargo xtask dist`, or give --dist)"
    };
    let scheme = if config.tls_cert.is_some() { "https" } else { "http" };
    let tls_line = match &mqtts {
        Some(l) => format!(", MQTT over TLS at {}", l.local_addr().context("reading the bound MQTTS address")?),
        None => String::new(),
    };
    // Parsers read the token after `http(s)://`; the MQTT address ends the parentheses.
    println!(
        "hearth listening on {scheme}://{addr} ({dashboard}, WebSocket at /ws{tls_line}, AMQP at {amqp_addr}, MQTT at {mqtt_addr})"
    );
    tracing::info!(%addr, %mqtt_addr, %amqp_addr, "listening");
    match config.memory_limit.resolve() {
        Some(bytes) => {
            tracing::info!(bytes, setting = %config.memory_limit, "memory budget: publishers are blocked above it")
        }
        None => tracing::warn!("no memory budget (--memory-limit 0): publishers are never blocked for memory"),
    }
    raise_open_files(config.max_connections);
    hearth::server::serve_with(
        Listeners { http: listener, mqtt: Some(mqtt), mqtts, amqp: Some(amqp) },
        config,
        data,
        shutdown,
    )
    .await?;
    tracing::info!("stopped");
    Ok(())
}

fn bind_error(addr: SocketAddr, err: std::io::Error, flag: &str) -> anyhow::Error {
    match err.kind() {
        std::io::ErrorKind::AddrInUse => anyhow::anyhow!(
            "{addr} is already in use: another program (perhaps another hearth) listens there. \
             Stop it, or pick another address with {flag} 127.0.0.1:PORT"
        ),
        std::io::ErrorKind::AddrNotAvailable => {
            anyhow::anyhow!("{addr} is not an address of this machine; try --listen 127.0.0.1:8080")
        }
        std::io::ErrorKind::PermissionDenied => {
            anyhow::anyhow!("not allowed to listen on {addr}; ports below 1024 need privileges, try 8080")
        }
        _ => anyhow::anyhow!("cannot listen on {addr}: {err}"),
    }
}

fn init_logging() {
    use tracing_subscriber::EnvFilter;
    let filter = EnvFilter::try_from_env("HEARTH_LOG").unwrap_or_else(|_| EnvFilter::new("hearth=info,warn"));
    // Colours for a terminal only: a log file or journal gets plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_env_filter(filter).with_ansi(ansi).with_writer(std::io::stderr).init();
}

/// Installs the Ctrl-C and SIGTERM handlers now, before the `listening` line
/// is printed (a supervisor may signal as soon as it reads it; a handler
/// installed later, on first poll, would let that signal kill the process),
/// and returns a future that resolves on either.
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()> + Send + 'static> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let mut interrupt = signal(SignalKind::interrupt()).context("installing the Ctrl-C handler")?;
        let mut terminate = signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
        Ok(async move {
            tokio::select! {
                _ = interrupt.recv() => {}
                _ = terminate.recv() => {}
            }
            tracing::info!("shutting down");
        })
    }
    #[cfg(not(unix))]
    {
        let mut ctrl_c = tokio::signal::windows::ctrl_c().context("installing the Ctrl-C handler")?;
        Ok(async move {
            ctrl_c.recv().await;
            tracing::info!("shutting down");
        })
    }
}
