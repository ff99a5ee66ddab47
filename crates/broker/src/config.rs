//! The broker's settings: one struct with defaults, read from an optional
//! TOML file and overridden by command-line flags.

use crate::budget::MemoryLimit;
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

/// Everything `hearth serve` can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Address for HTTP, the dashboard and `/ws`.
    pub listen: SocketAddr,
    /// Address for MQTT 3.1.1 and 5.0 over TCP (port 0 picks a free port).
    pub mqtt_listen: SocketAddr,
    /// Address for AMQP 0-9-1 over TCP (port 0 picks a free port).
    pub amqp_listen: SocketAddr,
    /// Folder holding the built dashboard (`index.html`, wasm, js).
    pub dist: Option<PathBuf>,
    /// Largest client frame accepted, in bytes; larger ones get `frame_too_large`.
    /// Also the largest MQTT packet accepted (announced as MQTT 5's maximum packet size).
    pub max_frame_bytes: usize,
    /// Most simultaneous WebSocket connections.
    pub max_connections: usize,
    /// Interval of WebSocket pings; a peer silent for two intervals is lost.
    pub ping_interval_ms: u64,
    /// Bytes waiting to be written to one connection before it is cut as
    /// a slow consumer (its unacked messages go back to their queues).
    pub max_pending_bytes: usize,
    /// The memory budget: above it publishers are blocked until queues
    /// drain ([`MemoryLimit`]: bytes, a share of physical memory, or 0 for none).
    pub memory_limit: MemoryLimit,
    /// Most messages an MQTT session queue holds beyond those in flight,
    /// connected or not (Mosquitto's `max_queued_messages`); the oldest is
    /// dropped, and counted, to make room.
    pub mqtt_max_queued_messages: u64,
    /// Most bytes an MQTT session queue holds beyond those in flight
    /// (Mosquitto's `max_queued_bytes`), counted as message footprints.
    pub mqtt_max_queued_bytes: u64,
    /// Prefetch for subscriptions that give none.
    pub default_prefetch: u32,
    /// Longest MQTT keep-alive allowed, in seconds (0: no limit). An MQTT 5
    /// client asking for more, or for none, is given this one in CONNACK's
    /// Server Keep Alive; a 3.1.1 client keeps its own (3.1.1 cannot be told).
    pub mqtt_max_keep_alive: u16,
    /// MQTT 5's Server Receive Maximum, announced in CONNACK: how many QoS 1
    /// and 2 PUBLISHes one client may have unacknowledged (QoS 1 until its
    /// PUBACK, QoS 2 until its PUBCOMP). A client sending more is
    /// disconnected with 0x93. It bounds what one client can pile up in the
    /// broker; 3.1.1 has no such limit to announce.
    pub mqtt_receive_maximum: u16,
    /// Origins (`http://host:port`) whose pages may read the JSON API
    /// (`/api/*`) across origins, such as a dashboard served by another
    /// broker. Empty (the default): only pages this broker serves. The API
    /// lists every connection's client id and address, so allow only
    /// origins you trust.
    pub allow_origins: Vec<String>,
    /// Where durable state is kept (created on first start; one broker per
    /// directory): durable queues and their messages, retained messages,
    /// MQTT persistent sessions. Relative paths start in the working directory.
    pub data_dir: PathBuf,
    /// Keep nothing on disk: `durable` is accepted and not honoured, and a
    /// restart starts empty (for tests, benchmarks and throw-away brokers).
    pub in_memory: bool,
    /// The disk budget: once the store's files hold this many bytes,
    /// publishers are blocked as for memory, until consumers drain durable
    /// queues and the store reclaims space (bytes such as `10GiB`, or `0`,
    /// the default, for none; a share is not accepted).
    pub disk_limit: MemoryLimit,
    /// Users and their password hashes, one `user:hash` line each
    /// (`hearth passwd FILE USER` makes entries; files from Mosquitto's
    /// `mosquitto_passwd` work too). With one, clients must log in.
    pub password_file: Option<PathBuf>,
    /// Let clients in without a username. Unset: only when there is no
    /// password file, and then Hearth listens on loopback addresses only.
    pub allow_anonymous: Option<bool>,
    /// Who may publish, subscribe and use queues where, in Mosquitto's
    /// `acl_file` syntax (see `docs/security.md`); none: everyone who is
    /// let in may do everything. Reloaded on SIGHUP.
    pub acl_file: Option<PathBuf>,
    /// The server's certificate chain (PEM). With `tls_key`, the HTTP
    /// listener speaks HTTPS (and WSS), and `mqtts_listen` may be set.
    pub tls_cert: Option<PathBuf>,
    /// The certificate's private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// CAs whose client certificates are accepted (PEM): mutual TLS.
    pub tls_client_ca: Option<PathBuf>,
    /// With `tls_client_ca`: clients without a certificate are refused.
    pub tls_require_client_cert: bool,
    /// A client certificate's common name is the username, and no password
    /// is asked (Mosquitto's `use_identity_as_username`).
    pub tls_identity_as_username: bool,
    /// MQTT over TLS (conventionally port 8883); none by default.
    pub mqtts_listen: Option<SocketAddr>,
    /// A token `/metrics` asks for (`Authorization: Bearer TOKEN`); none:
    /// `/metrics` is open, as it is today to anyone who reaches the port.
    pub metrics_token: Option<String>,
    /// Bridges to other MQTT brokers (`[[bridge]]` tables; see `docs/bridges.md`).
    #[serde(rename = "bridge", skip_serializing_if = "Vec::is_empty")]
    pub bridges: Vec<crate::bridge::BridgeConfig>,
}

/// The data directory when none is given.
pub const DEFAULT_DATA_DIR: &str = "hearth-data";

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            mqtt_listen: SocketAddr::from(([127, 0, 0, 1], 1883)),
            amqp_listen: SocketAddr::from(([127, 0, 0, 1], 5672)),
            dist: None,
            max_frame_bytes: 1024 * 1024,
            max_connections: 10_000,
            ping_interval_ms: 20_000,
            max_pending_bytes: 8 << 20,
            memory_limit: MemoryLimit::default(),
            mqtt_max_queued_messages: 1000,
            mqtt_max_queued_bytes: 16 << 20,
            default_prefetch: 100,
            mqtt_max_keep_alive: 0,
            mqtt_receive_maximum: 1024,
            allow_origins: Vec::new(),
            data_dir: PathBuf::from(DEFAULT_DATA_DIR),
            in_memory: false,
            disk_limit: MemoryLimit::Unlimited,
            password_file: None,
            allow_anonymous: None,
            acl_file: None,
            tls_cert: None,
            tls_key: None,
            tls_client_ca: None,
            tls_require_client_cert: false,
            tls_identity_as_username: false,
            mqtts_listen: None,
            metrics_token: None,
            bridges: Vec::new(),
        }
    }
}

/// A config file that could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read config file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not valid TOML for [`Config`].
    #[error("config file {path} is not valid: {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong, with the line.
        source: toml::de::Error,
    },
    /// A value is out of range.
    #[error("{0}")]
    Invalid(String),
}

impl Config {
    /// Reads a TOML file; fields it leaves out keep their defaults.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.into(), source })?;
        let config: Self = toml::from_str(&text).map_err(|source| ConfigError::Parse { path: path.into(), source })?;
        config.validate()?;
        Ok(config)
    }

    /// Checks ranges that would make the broker useless.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.max_frame_bytes < 1024 {
            return Err(ConfigError::Invalid("max_frame_bytes must be at least 1024".into()));
        }
        if let Some(bad) = self.allow_origins.iter().find(|o| !is_origin(o)) {
            return Err(ConfigError::Invalid(format!(
                "allow_origins: `{bad}` is not an origin; write scheme://host[:port], as in http://127.0.0.1:8080"
            )));
        }
        if self.max_connections == 0 {
            return Err(ConfigError::Invalid("max_connections must be at least 1".into()));
        }
        if self.ping_interval_ms < 100 {
            return Err(ConfigError::Invalid("ping_interval_ms must be at least 100".into()));
        }
        if self.mqtt_receive_maximum == 0 {
            return Err(ConfigError::Invalid("mqtt_receive_maximum must be at least 1".into()));
        }
        if self.max_pending_bytes < 64 * 1024 {
            return Err(ConfigError::Invalid("max_pending_bytes must be at least 65536".into()));
        }
        if self.mqtt_max_queued_messages == 0 || self.mqtt_max_queued_bytes == 0 {
            return Err(ConfigError::Invalid(
                "mqtt_max_queued_messages and mqtt_max_queued_bytes must be at least 1".into(),
            ));
        }
        self.check_tls()?;
        if let MemoryLimit::Fraction(_) = self.disk_limit {
            return Err(ConfigError::Invalid(
                "disk_limit is bytes of the store's files (`10GiB`, `500MB`) or 0 for none, not a share".into(),
            ));
        }
        self.check_access()?;
        if self.default_prefetch == 0 {
            return Err(ConfigError::Invalid("default_prefetch must be at least 1".into()));
        }
        crate::bridge::config::validate_all(&self.bridges).map_err(ConfigError::Invalid)?;
        Ok(())
    }
}

impl Config {
    /// Whether clients without credentials are let in.
    pub fn anonymous(&self) -> bool {
        self.allow_anonymous.unwrap_or(self.password_file.is_none())
    }

    /// The TLS files as the listeners need them (`None`: no TLS).
    pub fn tls_files(&self) -> Option<crate::tls::TlsFiles> {
        let (cert, key) = (self.tls_cert.clone()?, self.tls_key.clone()?);
        let client_ca = self.tls_client_ca.clone();
        Some(crate::tls::TlsFiles { cert, key, client_ca, require_client_cert: self.tls_require_client_cert })
    }

    fn check_tls(&self) -> Result<(), ConfigError> {
        let invalid = |text: &str| Err(ConfigError::Invalid(text.into()));
        if self.tls_cert.is_some() != self.tls_key.is_some() {
            return invalid("tls_cert and tls_key go together: give both (PEM files), or neither");
        }
        if self.tls_cert.is_none() {
            if self.mqtts_listen.is_some() {
                return invalid("mqtts_listen needs a certificate: add tls_cert and tls_key (see docs/security.md)");
            }
            if self.tls_client_ca.is_some() || self.tls_require_client_cert || self.tls_identity_as_username {
                return invalid("client certificates need TLS: add tls_cert and tls_key (see docs/security.md)");
            }
        }
        if (self.tls_require_client_cert || self.tls_identity_as_username) && self.tls_client_ca.is_none() {
            return invalid(
                "tls_require_client_cert and tls_identity_as_username need tls_client_ca: the CA that signs client certificates",
            );
        }
        Ok(())
    }

    /// Mosquitto 2's safe default: a broker anyone may use listens on
    /// loopback only, unless the operator says so in as many words.
    fn check_access(&self) -> Result<(), ConfigError> {
        if self.allow_anonymous == Some(false) && self.password_file.is_none() {
            return Err(ConfigError::Invalid(
                "allow_anonymous = false with no password_file: nobody could connect; add password_file \
                 (make it with `hearth passwd FILE USER`)"
                    .into(),
            ));
        }
        let open = [
            ("listen", Some(self.listen)),
            ("mqtt_listen", Some(self.mqtt_listen)),
            ("amqp_listen", Some(self.amqp_listen)),
            ("mqtts_listen", self.mqtts_listen),
        ]
        .into_iter()
        .filter_map(|(name, addr)| Some((name, addr?)))
        .find(|(_, addr)| !addr.ip().is_loopback());
        if let (Some((name, addr)), None, None) = (open, &self.password_file, self.allow_anonymous) {
            return Err(ConfigError::Invalid(format!(
                "{name} {addr} is reachable from other machines, and with no users anyone there could \
                 publish to any topic (unlock a door). Add users: `hearth passwd /etc/hearth/passwd USER`, \
                 then `--password-file /etc/hearth/passwd` (config: password_file); or, to let anyone in on \
                 purpose, `--allow-anonymous true` (config: allow_anonymous = true)"
            )));
        }
        Ok(())
    }
}

/// Whether `text` is an origin as browsers send it: `http(s)://host[:port]`,
/// nothing after, and nothing a header cannot carry.
fn is_origin(text: &str) -> bool {
    let rest = text.strip_prefix("http://").or_else(|| text.strip_prefix("https://"));
    rest.is_some_and(|host| !host.is_empty() && !host.contains(['/', '?', '#', ' ']) && text.is_ascii())
}
