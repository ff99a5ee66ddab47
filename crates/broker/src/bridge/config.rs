//! A bridge as the config file describes it (`[[bridge]]` tables), and its
//! topic rules in Mosquitto's `topic` shape.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;

/// One bridge to a remote MQTT broker (a `[[bridge]]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BridgeConfig {
    /// Its name: in logs, `/api/bridges`, metrics, its backlog queue
    /// (`hearth.bridge.<name>`) and its status topic. Letters, digits, `-`, `_`.
    pub name: String,
    /// The remote broker, `host:port`; with several, the next is tried when
    /// one cannot be reached (Mosquitto's `address a:1883 b:1883`).
    pub addresses: Vec<String>,
    /// False (the default, as Mosquitto's `round_robin false`): the first
    /// address is the main one, and every reconnection after a lost link
    /// starts from it again. True: the addresses are equals, and after a
    /// lost link the next one is tried first.
    #[serde(default)]
    pub round_robin: bool,
    /// `mqttv50` (the default: no-local keeps `both` rules from looping) or
    /// `mqttv311` (Mosquitto's `bridge_protocol_version`).
    #[serde(default)]
    pub protocol_version: ProtocolVersion,
    /// The client id on the remote (default `hearth-<name>`); two bridges
    /// with one id take each other's session over.
    #[serde(default)]
    pub client_id: Option<String>,
    /// Username on the remote (Mosquitto's `remote_username`).
    #[serde(default)]
    pub username: Option<String>,
    /// Password on the remote (Mosquitto's `remote_password`).
    #[serde(default)]
    pub password: Option<String>,
    /// MQTT keep-alive in seconds (Mosquitto's `keepalive_interval`).
    #[serde(default = "default_keep_alive")]
    pub keep_alive_secs: u16,
    /// Start a new remote session on every connection. False (the default,
    /// as Mosquitto's `cleansession false`): the remote keeps the bridge's
    /// subscriptions and queues QoS 1 messages for `in` rules while the link is down.
    #[serde(default)]
    pub clean_session: bool,
    /// Topic rules, each `pattern [direction [qos [local-prefix remote-prefix]]]`
    /// as Mosquitto's `topic` line (`"sensors/# both 1 home/ site1/"`).
    pub topics: Vec<String>,
    /// Most messages waiting for the link; past it the oldest is dropped (and counted).
    #[serde(default = "default_backlog_messages")]
    pub max_backlog_messages: u64,
    /// Most bytes of messages waiting for the link; past it the oldest is dropped.
    #[serde(default = "default_backlog_bytes")]
    pub max_backlog_bytes: u64,
    /// Messages sent to the remote and not yet acknowledged, at most: the
    /// pace of a drain (Mosquitto's `max_inflight_messages`).
    #[serde(default = "default_in_flight")]
    pub max_in_flight: u16,
    /// First wait before reconnecting, in ms; doubled after each failure
    /// (with jitter) up to `reconnect_max_ms`.
    #[serde(default = "default_reconnect_min")]
    pub reconnect_min_ms: u64,
    /// Longest wait between reconnection attempts, in ms.
    #[serde(default = "default_reconnect_max")]
    pub reconnect_max_ms: u64,
    /// CAs to check the remote's certificate with (PEM): the link uses TLS
    /// (Mosquitto's `bridge_cafile`).
    #[serde(default)]
    pub tls_ca_file: Option<PathBuf>,
    /// A client certificate to show the remote (PEM; Mosquitto's `bridge_certfile`).
    #[serde(default)]
    pub tls_cert_file: Option<PathBuf>,
    /// Its private key (PEM; Mosquitto's `bridge_keyfile`).
    #[serde(default)]
    pub tls_key_file: Option<PathBuf>,
    /// Publish the link's state, retained, on `$SYS/broker/connection/<name>/state`
    /// locally (`1` up, `0` down), as Mosquitto's `notifications`.
    #[serde(default = "yes")]
    pub notifications: bool,
}

fn default_keep_alive() -> u16 {
    60
}
fn default_backlog_messages() -> u64 {
    100_000
}
fn default_backlog_bytes() -> u64 {
    64 << 20
}
fn default_in_flight() -> u16 {
    100
}
fn default_reconnect_min() -> u64 {
    1000
}
fn default_reconnect_max() -> u64 {
    30_000
}
fn yes() -> bool {
    true
}

/// The MQTT version a bridge speaks to its remote.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ProtocolVersion {
    /// MQTT 3.1.1.
    #[serde(rename = "mqttv311")]
    V311,
    /// MQTT 5.0.
    #[default]
    #[serde(rename = "mqttv50")]
    V5,
}

/// Which way a topic rule carries messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// Local to remote.
    Out,
    /// Remote to local.
    In,
    /// Both ways.
    Both,
}

impl Direction {
    /// Whether local messages go out by this rule.
    pub fn outward(self) -> bool {
        matches!(self, Self::Out | Self::Both)
    }

    /// Whether remote messages come in by this rule.
    pub fn inward(self) -> bool {
        matches!(self, Self::In | Self::Both)
    }
}

/// One `topic` rule, read from its Mosquitto-shaped line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TopicRule {
    /// The pattern, wildcards allowed; empty: the prefixes are whole topics.
    pub pattern: String,
    /// Which way.
    pub direction: Direction,
    /// The QoS asked for: out, the most a message is sent with; in, the
    /// remote subscription's.
    pub qos: u8,
    /// Put before the pattern locally.
    pub local_prefix: String,
    /// Put before the pattern on the remote.
    pub remote_prefix: String,
}

impl TopicRule {
    /// Reads `pattern [direction [qos [local-prefix remote-prefix]]]`; `""`
    /// is an empty field. Defaults, as Mosquitto's: `out`, QoS 0, no prefixes.
    pub fn parse(line: &str) -> Result<Self, String> {
        let fields: Vec<&str> = line.split_whitespace().map(|f| if f == "\"\"" { "" } else { f }).collect();
        let shape = "write `pattern [out|in|both [qos [local-prefix remote-prefix]]]`, as in \
                     `sensors/# both 1 home/ site1/` (\"\" for an empty field)";
        if fields.is_empty() || fields.len() == 4 || fields.len() > 5 {
            return Err(format!("topic `{line}`: {shape}"));
        }
        let direction = match fields.get(1).copied().unwrap_or("out") {
            "out" => Direction::Out,
            "in" => Direction::In,
            "both" => Direction::Both,
            other => return Err(format!("topic `{line}`: direction `{other}` is not out, in or both")),
        };
        let qos = match fields.get(2).copied().unwrap_or("0") {
            "0" => 0,
            "1" => 1,
            "2" => 2,
            other => return Err(format!("topic `{line}`: QoS `{other}` is not 0, 1 or 2")),
        };
        let owned = |i: usize| fields.get(i).map_or_else(String::new, |f| (*f).to_owned());
        let rule = Self { pattern: owned(0), direction, qos, local_prefix: owned(3), remote_prefix: owned(4) };
        rule.check().map_err(|why| format!("topic `{line}`: {why}"))?;
        Ok(rule)
    }

    fn check(&self) -> Result<(), String> {
        for (which, prefix) in [("local", &self.local_prefix), ("remote", &self.remote_prefix)] {
            if prefix.contains(['+', '#']) {
                return Err(format!("the {which} prefix `{prefix}` may not hold + or #"));
            }
        }
        if self.pattern.is_empty() && self.local_prefix.is_empty() && self.remote_prefix.is_empty() {
            return Err("an empty pattern needs prefixes: they are then the whole topics".into());
        }
        let (local, remote) = (self.local_filter(), self.remote_filter());
        for (which, filter) in [("local", &local), ("remote", &remote)] {
            queue_core::topic::validate_filter(filter)
                .map_err(|err| format!("the {which} filter `{filter}` is not a topic filter: {err}"))?;
        }
        Ok(())
    }

    /// What the rule matches locally: the local prefix and the pattern.
    pub fn local_filter(&self) -> String {
        format!("{}{}", self.local_prefix, self.pattern)
    }

    /// What the rule matches on the remote: the remote prefix and the pattern.
    pub fn remote_filter(&self) -> String {
        format!("{}{}", self.remote_prefix, self.pattern)
    }

    /// The remote topic for a local one this rule matches (the local prefix
    /// swapped for the remote one), or `None` if it does not match.
    pub fn to_remote(&self, local: &str) -> Option<String> {
        let rest = local.strip_prefix(&self.local_prefix)?;
        let remote = format!("{}{rest}", self.remote_prefix);
        queue_core::topic::matches(&self.local_filter(), local).then_some(remote)
    }

    /// The local topic for a remote one this rule matches.
    pub fn to_local(&self, remote: &str) -> Option<String> {
        let rest = remote.strip_prefix(&self.remote_prefix)?;
        let local = format!("{}{rest}", self.local_prefix);
        queue_core::topic::matches(&self.remote_filter(), remote).then_some(local)
    }
}

impl BridgeConfig {
    /// The client id used on the remote.
    pub fn remote_client_id(&self) -> String {
        self.client_id.clone().unwrap_or_else(|| format!("hearth-{}", self.name))
    }

    /// The local queue holding what waits for the link.
    pub fn queue(&self) -> String {
        format!("hearth.bridge.{}", self.name)
    }

    /// The retained status topic.
    pub fn status_topic(&self) -> String {
        format!("$SYS/broker/connection/{}/state", self.name)
    }

    /// The topic rules (checked by [`BridgeConfig::validate`]).
    pub fn rules(&self) -> Vec<TopicRule> {
        self.topics.iter().filter_map(|line| TopicRule::parse(line).ok()).collect()
    }

    /// Every address as host and port.
    pub fn hosts(&self) -> Vec<(String, u16)> {
        self.addresses.iter().filter_map(|a| split_address(a).ok()).collect()
    }

    /// Checks every field; the error says what to fix.
    pub fn validate(&self) -> Result<(), String> {
        let name = &self.name;
        let valid_name = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '_';
        if name.is_empty() || name.len() > 64 || !name.chars().all(valid_name) {
            return Err(format!(
                "bridge name `{name}`: use 1 to 64 letters, digits, - or _ (it names a queue and a topic)"
            ));
        }
        let fail = |why: String| Err(format!("bridge `{name}`: {why}"));
        if self.addresses.is_empty() {
            return fail("give addresses = [\"host:port\"], the remote broker".into());
        }
        if let Some(err) = self.addresses.iter().find_map(|a| split_address(a).err()) {
            return fail(err);
        }
        if self.topics.is_empty() {
            return fail("give topics = [\"home/# out 1\"]: without a rule nothing crosses".into());
        }
        let rules = self.topics.iter().map(|line| TopicRule::parse(line)).collect::<Result<Vec<_>, _>>();
        let rules = match rules {
            Ok(rules) => rules,
            Err(why) => return fail(why),
        };
        if self.protocol_version == ProtocolVersion::V311 && rules.iter().any(|r| r.direction == Direction::Both) {
            return fail(
                "a `both` rule needs protocol_version = \"mqttv50\": MQTT 3.1.1 has no no-local, so the \
                 remote would send every message back (see docs/bridges.md)"
                    .into(),
            );
        }
        let id = self.remote_client_id();
        if id.is_empty() || id.len() > 256 {
            return fail("client_id must be 1 to 256 bytes".into());
        }
        if self.password.is_some() && self.username.is_none() {
            return fail("a password needs a username".into());
        }
        if self.keep_alive_secs != 0 && self.keep_alive_secs < 5 {
            return fail("keep_alive_secs must be 0 (none) or at least 5".into());
        }
        if self.max_backlog_messages == 0 || self.max_backlog_bytes < 1024 {
            return fail("max_backlog_messages must be at least 1 and max_backlog_bytes at least 1024".into());
        }
        if self.max_in_flight == 0 {
            return fail("max_in_flight must be at least 1".into());
        }
        if self.reconnect_min_ms < 10 || self.reconnect_max_ms < self.reconnect_min_ms {
            return fail("reconnect_min_ms must be at least 10, and reconnect_max_ms at least reconnect_min_ms".into());
        }
        if self.tls_cert_file.is_some() != self.tls_key_file.is_some() {
            return fail("tls_cert_file and tls_key_file go together".into());
        }
        if self.tls_cert_file.is_some() && self.tls_ca_file.is_none() {
            return fail("a client certificate needs TLS: add tls_ca_file, the CA of the remote's certificate".into());
        }
        Ok(())
    }
}

/// `host:port` (`[v6]:port` too) split in two.
fn split_address(address: &str) -> Result<(String, u16), String> {
    let bad = || format!("address `{address}`: write host:port, as in 192.168.1.10:1883");
    let (host, port) = address.rsplit_once(':').ok_or_else(bad)?;
    let host = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host);
    let port: u16 = port.parse().map_err(|_| bad())?;
    if host.is_empty() || port == 0 || host.contains(char::is_whitespace) {
        return Err(bad());
    }
    Ok((host.to_owned(), port))
}

/// Checks a set of bridges together: each one, and names unique.
pub fn validate_all(bridges: &[BridgeConfig]) -> Result<(), String> {
    for (i, bridge) in bridges.iter().enumerate() {
        bridge.validate()?;
        if bridges[..i].iter().any(|b| b.name == bridge.name) {
            return Err(format!("two bridges are named `{}`: names must differ", bridge.name));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(line: &str) -> TopicRule {
        TopicRule::parse(line).expect("the rule parses")
    }

    #[test]
    fn rules_read_as_mosquitto_reads_them() {
        let r = rule("sensors/# both 1 home/ site1/");
        assert_eq!(
            (r.direction, r.qos, r.local_filter(), r.remote_filter()),
            (Direction::Both, 1, "home/sensors/#".into(), "site1/sensors/#".into())
        );
        assert_eq!(r.to_remote("home/sensors/t").as_deref(), Some("site1/sensors/t"));
        assert_eq!(r.to_local("site1/sensors/t").as_deref(), Some("home/sensors/t"));
        assert_eq!(r.to_remote("home/other"), None);
        let plain = rule("home/#");
        assert_eq!(
            (plain.direction, plain.qos, plain.to_remote("home/a").as_deref()),
            (Direction::Out, 0, Some("home/a"))
        );
        let remap = rule("\"\" in 1 local/door remote/door");
        assert_eq!(remap.to_local("remote/door").as_deref(), Some("local/door"));
        assert_eq!(remap.to_local("remote/door/x"), None);
        let no_local_prefix = rule("# out 1 \"\" edge/");
        assert_eq!(no_local_prefix.to_remote("a/b").as_deref(), Some("edge/a/b"));
    }

    #[test]
    fn bad_rules_say_what_to_fix() {
        for (line, says) in [
            ("", "pattern [out|in|both"),
            ("a/# out 1 home/", "pattern [out|in|both"),
            ("a/# sideways", "direction `sideways`"),
            ("a/# out 3", "QoS `3`"),
            ("a/# out 1 ho+me/ x/", "may not hold + or #"),
            ("a/#/b out 1", "not a topic filter"),
            ("\"\" out 1 \"\" \"\"", "empty pattern needs prefixes"),
        ] {
            let err = TopicRule::parse(line).expect_err(line);
            assert!(err.contains(says), "{line}: {err}");
        }
    }

    fn bridge(extra: &str) -> Result<(), String> {
        let base = ["name = \"cloud\"", "addresses = [\"127.0.0.1:1883\"]", "topics = [\"home/# out 1\"]"];
        let given = |line: &&str| extra.lines().any(|e| e.split('=').next() == line.split('=').next());
        let kept: Vec<&str> = base.iter().filter(|line| !given(line)).copied().collect();
        let text = format!("{}\n{extra}", kept.join("\n"));
        let config: BridgeConfig = toml::from_str(&text).map_err(|e| e.to_string())?;
        config.validate()
    }

    #[test]
    fn bridges_are_checked_field_by_field() {
        assert_eq!(bridge(""), Ok(()));
        for (extra, says) in [
            ("protocol_version = \"mqttv311\"\ntopics = [\"a/# both 1\"]", "needs protocol_version"),
            ("addresses = [\"nowhere\"]", "write host:port"),
            ("addresses = []", "give addresses"),
            ("topics = []", "give topics"),
            ("password = \"x\"", "needs a username"),
            ("max_in_flight = 0", "max_in_flight"),
            ("reconnect_min_ms = 5000\nreconnect_max_ms = 10", "reconnect_max_ms"),
            ("tls_cert_file = \"c.pem\"", "go together"),
            ("protocol_version = \"mqttv3\"", "unknown variant"),
        ] {
            let err = bridge(extra).expect_err(extra);
            assert!(err.contains(says), "{extra}: {err}");
        }
    }
}
