//! MQTT peers for the broker's tests: Debian's `mosquitto_pub` and
//! `mosquitto_sub` (written by others, so they check the broker against a
//! real client), and a raw client built on `mqtt-codec` for what a
//! well-behaved client never sends (malformed packets, silence, takeover).
//! Every wait is bounded by [`WAIT`](super::WAIT).

use super::{Broker, QUIET, within};
use bytes::BytesMut;
use mqtt_codec::{Connect, Packet, ProtocolVersion, decode, encode};
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader, Lines};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};

/// A running `mosquitto_sub`, printing `topic payload` lines.
pub struct Sub {
    /// The process (killed when dropped).
    pub child: Child,
    lines: Lines<BufReader<ChildStdout>>,
}

impl Broker {
    /// Runs `mosquitto_pub -p PORT ARGS…` to completion; fails the test if it fails.
    pub async fn mosquitto_pub(&self, args: &[&str]) {
        let out = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &self.mqtt.port().to_string()])
            .args(args)
            .kill_on_drop(true)
            .output();
        let out = within(&format!("mosquitto_pub {}", args.join(" ")), out).await.expect("mosquitto_pub runs");
        assert!(out.status.success(), "mosquitto_pub {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }

    /// Starts `mosquitto_sub -v -p PORT ARGS…` and waits until it has subscribed.
    pub async fn mosquitto_sub(&self, args: &[&str]) -> Sub {
        let mut sub = self.spawn_mosquitto_sub(&[&["-d"], args].concat());
        // With -d, mosquitto_sub reports the SUBACK: from then on it is subscribed.
        within("mosquitto_sub's SUBACK", async { while !sub.next_raw().await.contains("received SUBACK") {} }).await;
        sub
    }

    /// Starts `mosquitto_sub -v -p PORT ARGS…` without waiting for its
    /// SUBACK: a resumed persistent session may deliver before it.
    pub async fn mosquitto_sub_resume(&self, args: &[&str]) -> Sub {
        self.spawn_mosquitto_sub(args)
    }

    /// `mosquitto_sub -v -p PORT ARGS…`, its output read line by line.
    fn spawn_mosquitto_sub(&self, args: &[&str]) -> Sub {
        // Line-buffered: mosquitto_sub flushes only after messages, and the
        // SUBACK debug line must be seen as soon as it is printed.
        let mut child = Command::new("stdbuf")
            .args(["-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", &self.mqtt.port().to_string(), "-v"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("mosquitto_sub starts (apt-get install mosquitto-clients)");
        let stdout = child.stdout.take().expect("stdout is piped");
        Sub { child, lines: BufReader::new(stdout).lines() }
    }

    /// Polls `/api/queues` until `name`'s consumer count is `n` (`None`: until it is gone).
    pub async fn wait_for_queue(&self, name: &str, consumers: Option<u64>) {
        within(&format!("queue {name} with {consumers:?} consumers"), async {
            loop {
                let queues = self.get_json("/api/queues").await;
                let found = queues.as_array().and_then(|l| l.iter().find(|q| q["name"] == name).cloned());
                if found.map(|q| q["consumers"].as_u64().unwrap_or(0)) == consumers {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            }
        })
        .await;
    }

    /// A raw MQTT connection that has sent `connect` (and not yet read CONNACK).
    pub async fn raw_mqtt(&self, connect: Connect) -> Raw {
        let tcp = within("an MQTT connection", TcpStream::connect(self.mqtt)).await.expect("the broker accepts MQTT");
        let mut raw = Raw { tcp, inbox: BytesMut::new(), version: connect.protocol };
        raw.send(&Packet::Connect(Box::new(connect))).await;
        raw
    }
}

impl Sub {
    async fn next_raw(&mut self) -> String {
        self.lines.next_line().await.expect("stdout is readable").expect("mosquitto_sub is still running")
    }

    /// The next `topic payload` line (debug lines skipped).
    pub async fn next(&mut self) -> String {
        within("a message at mosquitto_sub", async {
            loop {
                let line = self.next_raw().await;
                if !line.starts_with("Client ") && !line.starts_with("Subscribed") {
                    return line;
                }
            }
        })
        .await
    }

    /// The next `n` messages.
    pub async fn take(&mut self, n: usize) -> Vec<String> {
        let mut lines = Vec::with_capacity(n);
        for _ in 0..n {
            lines.push(self.next().await);
        }
        lines
    }

    /// Asserts that no message arrives for a short while.
    pub async fn expect_silence(&mut self, why: &str) {
        if let Ok(line) = tokio::time::timeout(QUIET, self.next()).await {
            panic!("{why}, but mosquitto_sub printed {line:?}");
        }
    }
}

/// A CONNECT for `client_id`, clean, with `keep_alive` seconds.
pub fn connect(version: ProtocolVersion, client_id: &str, keep_alive: u16) -> Connect {
    Connect {
        protocol: version,
        clean_start: true,
        keep_alive,
        client_id: client_id.to_owned(),
        will: None,
        username: None,
        password: None,
        properties: Default::default(),
    }
}

/// A raw MQTT client: packets in and out, bytes when needed.
pub struct Raw {
    tcp: TcpStream,
    inbox: BytesMut,
    version: ProtocolVersion,
}

impl Raw {
    /// Encodes and sends a packet.
    pub async fn send(&mut self, packet: &Packet) {
        let mut out = BytesMut::new();
        encode(packet, self.version, &mut out).expect("the test's packet encodes");
        self.send_bytes(&out).await;
    }

    /// Sends raw bytes.
    pub async fn send_bytes(&mut self, bytes: &[u8]) {
        within("a write", self.tcp.write_all(bytes)).await.expect("the socket is open");
    }

    /// The next packet; `None` once the broker has closed the connection.
    pub async fn recv(&mut self) -> Option<Packet> {
        within("a packet from the broker", async {
            loop {
                if let Some(packet) =
                    decode(&mut self.inbox, self.version, u32::MAX).expect("the broker's packet decodes")
                {
                    return Some(packet);
                }
                match self.tcp.read_buf(&mut self.inbox).await {
                    Ok(n) if n > 0 => {}
                    _ => return None,
                }
            }
        })
        .await
    }

    /// The socket, for a test that drives it itself (or never reads it).
    pub fn into_tcp(self) -> TcpStream {
        self.tcp
    }

    /// The raw bytes the broker sends until it closes the connection.
    pub async fn read_to_close(&mut self) -> Vec<u8> {
        let mut rest = self.inbox.to_vec();
        within("the broker to close the connection", async {
            let _ = self.tcp.read_to_end(&mut rest).await;
        })
        .await;
        rest
    }
}
