//! Peers for the bridge tests: Debian's `mosquitto` as the remote broker
//! (on a free loopback port, restartable on the same one), its clients
//! against either broker, and a `hearth` started with `[[bridge]]` tables.
//! Every wait is bounded by [`WAIT`](super::common::WAIT).

#![allow(dead_code)] // each test file uses its own subset

use super::common::{Broker, QUIET, within};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader, Lines};
use tokio::process::{Child, ChildStdout, Command};

/// A free TCP port on 127.0.0.1 (bound, then let go).
pub fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    listener.local_addr().expect("its address").port()
}

/// A `mosquitto` broker on 127.0.0.1, killed when dropped.
pub struct Mosquitto {
    child: Option<Child>,
    /// Its port.
    pub port: u16,
    conf: PathBuf,
    /// Holds its config and persistence files.
    pub dir: tempfile::TempDir,
}

impl Mosquitto {
    /// Starts one with `extra` config lines (anonymous access unless they say otherwise).
    pub async fn start(extra: &str) -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        // Started as root, mosquitto runs as its own user: it must be able to
        // write its database here.
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o777)).expect("chmod");
        let port = free_port();
        let conf = dir.path().join("mosquitto.conf");
        let text = format!(
            "listener {port} 127.0.0.1\n{extra}\npersistence true\npersistence_location {}/\n\
             max_queued_messages 100000\nlog_dest stderr\n",
            dir.path().display()
        );
        let text = if extra.contains("allow_anonymous") { text } else { format!("allow_anonymous true\n{text}") };
        std::fs::write(&conf, text).expect("mosquitto.conf is written");
        let mut m = Self { child: None, port, conf, dir };
        m.restart().await;
        m
    }

    /// Starts it (again) on its port and waits until it accepts connections.
    pub async fn restart(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.path().join("mosquitto.log"))
            .expect("a log file");
        let child = Command::new("mosquitto")
            .arg("-c")
            .arg(&self.conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("mosquitto starts (apt-get install mosquitto)");
        self.child = Some(child);
        let port = self.port;
        within("mosquitto to listen", async move {
            while tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
    }

    /// Sends it `signal` (`STOP` freezes it: its sockets stay open and it
    /// answers nothing; `KILL` after that loses what it had not saved).
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().and_then(Child::id).expect("mosquitto is running");
        let status = std::process::Command::new("kill").args([&format!("-{signal}"), &pid.to_string()]).status();
        assert!(status.is_ok_and(|s| s.success()), "kill -{signal} {pid}");
    }

    /// Waits for it to exit after [`Mosquitto::signal`] `KILL`.
    pub async fn wait_exit(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        within("mosquitto to exit", child.wait()).await.expect("its status is readable");
    }

    /// Stops it with SIGTERM (it saves its sessions, as a service stop does) and waits.
    pub async fn stop(&mut self) {
        let Some(mut child) = self.child.take() else { return };
        if let Some(pid) = child.id() {
            let _ = std::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status();
        }
        within("mosquitto to stop", child.wait()).await.expect("its status is readable");
    }
}

/// Runs `mosquitto_pub -p PORT ARGS…` to completion; fails the test if it fails.
pub async fn publish(port: u16, args: &[&str]) {
    let out = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string()])
        .args(args)
        .kill_on_drop(true)
        .output();
    let out = within(&format!("mosquitto_pub {}", args.join(" ")), out).await.expect("mosquitto_pub runs");
    assert!(out.status.success(), "mosquitto_pub {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
}

/// A running `mosquitto_sub -v`, printing `topic payload` lines.
pub struct Sub {
    /// The process (killed when dropped).
    pub child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Sub {
    /// Starts `mosquitto_sub -v -p PORT ARGS…`; with `wait`, until its SUBACK.
    pub async fn start(port: u16, args: &[&str], wait: bool) -> Self {
        let debug: &[&str] = if wait { &["-d"] } else { &[] };
        let mut child = Command::new("stdbuf")
            .args(["-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", &port.to_string(), "-v"])
            .args(debug)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("mosquitto_sub starts (apt-get install mosquitto-clients)");
        let stdout = child.stdout.take().expect("stdout is piped");
        let mut sub = Self { child, lines: BufReader::new(stdout).lines() };
        if wait {
            within("mosquitto_sub's SUBACK", async { while !sub.raw().await.contains("received SUBACK") {} }).await;
        }
        sub
    }

    async fn raw(&mut self) -> String {
        self.lines.next_line().await.expect("mosquitto_sub's output is readable").expect("mosquitto_sub is running")
    }

    /// The next `topic payload` line (debug lines skipped).
    pub async fn next(&mut self) -> String {
        within("a message at mosquitto_sub", async {
            loop {
                let line = self.raw().await;
                if !line.starts_with("Client ") && !line.starts_with("Subscribed") {
                    return line;
                }
            }
        })
        .await
    }

    /// The next line containing `needle`, debug lines included (`-d`
    /// prints `Client … received PUBLISH (d0, q2, r0, m1, 'topic', …)`).
    pub async fn line_with(&mut self, needle: &str) -> String {
        within(&format!("a line with {needle} at mosquitto_sub"), async {
            loop {
                let line = self.raw().await;
                if line.contains(needle) {
                    return line;
                }
            }
        })
        .await
    }

    /// Lines until none comes for [`QUIET`].
    pub async fn drain(&mut self) -> Vec<String> {
        let mut lines = Vec::new();
        while let Ok(Ok(Some(line))) = tokio::time::timeout(QUIET, self.lines.next_line()).await {
            if !line.starts_with("Client ") && !line.starts_with("Subscribed") {
                lines.push(line);
            }
        }
        lines
    }
}

/// A `[[bridge]]` table to `port` with these topic lines and extra fields.
pub fn bridge_table(name: &str, port: u16, topics: &[&str], extra: &str) -> String {
    let topics: Vec<String> = topics.iter().map(|t| format!("{t:?}")).collect();
    format!(
        "[[bridge]]\nname = \"{name}\"\naddresses = [\"127.0.0.1:{port}\"]\ntopics = [{}]\n\
         reconnect_min_ms = 100\nreconnect_max_ms = 1000\n{extra}\n",
        topics.join(", ")
    )
}

/// Starts `hearth serve` with `config` (TOML) as its `--config`, logging to `dir/hearth.log`.
pub async fn hearth_with(dir: &Path, config: &str) -> Broker {
    let path = dir.join("hearth.toml");
    std::fs::write(&path, config).expect("the config is written");
    let data = dir.join("data");
    let path = path.to_str().expect("a UTF-8 path").to_owned();
    Broker::start_logged(&data, &["--config", &path], &dir.join("hearth.log")).await
}

/// `/api/bridges`' entry for `name`.
pub async fn bridge(broker: &Broker, name: &str) -> Value {
    let list = broker.get_json("/api/bridges").await;
    list.as_array().and_then(|l| l.iter().find(|b| b["name"] == name).cloned()).unwrap_or(Value::Null)
}

/// Polls `/api/bridges` until `name`'s entry satisfies `ok`; returns it.
pub async fn wait_bridge(broker: &Broker, name: &str, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    within(&format!("bridge {name}: {what}"), async {
        loop {
            let b = bridge(broker, name).await;
            if ok(&b) {
                return b;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
}

/// Waits until bridge `name` is connected.
pub async fn connected(broker: &Broker, name: &str) -> Value {
    wait_bridge(broker, name, "connected", |b| b["state"] == "connected").await
}

/// A `nats-server` with JetStream and its MQTT listener (MQTT 3.1.1, QoS 0
/// and 1) on free loopback ports, killed when dropped.
pub struct Nats {
    _child: Child,
    /// Its MQTT port.
    pub mqtt_port: u16,
    _dir: tempfile::TempDir,
}

impl Nats {
    /// Starts one and waits until its MQTT listener accepts connections.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let (port, mqtt_port) = (free_port(), free_port());
        let conf = dir.path().join("nats.conf");
        let text = format!(
            "server_name: \"hearth_test\"\nlisten: \"127.0.0.1:{port}\"\n\
             jetstream {{ store_dir: \"{}\" }}\nmqtt {{ listen: \"127.0.0.1:{mqtt_port}\" }}\n",
            dir.path().join("js").display()
        );
        std::fs::write(&conf, text).expect("nats.conf is written");
        let log = std::fs::File::create(dir.path().join("nats.log")).expect("a log file");
        let child = Command::new("nats-server")
            .arg("-c")
            .arg(&conf)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::from(log))
            .kill_on_drop(true)
            .spawn()
            .expect("nats-server starts (apt-get install nats-server)");
        within("nats-server's MQTT listener", async move {
            while tokio::net::TcpStream::connect(("127.0.0.1", mqtt_port)).await.is_err() {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        })
        .await;
        Self { _child: child, mqtt_port, _dir: dir }
    }
}
