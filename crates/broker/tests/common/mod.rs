//! Shared helpers for the broker's integration tests: start the real `hearth`
//! binary on port 0, talk to it over real WebSockets and plain HTTP.
//!
//! Every wait here is bounded by [`WAIT`], so a broken broker fails a test
//! instead of hanging it. [`QUIET`] is the one short wait used only to assert
//! that something does *not* arrive.

#![allow(dead_code)] // each test file uses its own subset

pub mod mqtt;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::collections::VecDeque;
use std::future::Future;
use std::net::SocketAddr;
use std::process::{ExitStatus, Output, Stdio};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, ChildStdout, Command};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::CloseFrame;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// The longest any single wait may take before the test fails.
pub const WAIT: Duration = Duration::from_secs(10);

/// How long to listen when asserting that nothing more arrives.
pub const QUIET: Duration = Duration::from_millis(300);

/// Awaits `future`, failing the test after [`WAIT`] with `what`.
pub async fn within<T>(what: &str, future: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WAIT, future).await {
        Ok(value) => value,
        Err(_) => panic!("timed out after {WAIT:?} waiting for {what}"),
    }
}

/// The `hearth` binary Cargo built for these tests.
pub fn hearth() -> Command {
    hearth_at(std::path::Path::new(env!("CARGO_BIN_EXE_hearth")))
}

/// A `hearth` binary at `path` (another build of it), run as [`hearth`] is.
pub fn hearth_at(path: &std::path::Path) -> Command {
    let mut command = Command::new(path);
    command.kill_on_drop(true).env_remove("HEARTH_URL").env_remove("HEARTH_LOG");
    command.env_remove("HEARTH_USERNAME").env_remove("HEARTH_PASSWORD");
    command
}

/// Writes a password file with Debian's `mosquitto_passwd` (Mosquitto's
/// own tool: the broker must read its files as they are), one `-b` call
/// per `(user, password)`.
pub fn mosquitto_passwd(file: &std::path::Path, users: &[(&str, &str)]) {
    for (i, (user, password)) in users.iter().enumerate() {
        let create: &[&str] = if i == 0 { &["-c", "-b"] } else { &["-b"] };
        let out = std::process::Command::new("mosquitto_passwd")
            .args(create)
            .arg(file)
            .args([user, password])
            .output()
            .expect("mosquitto_passwd runs (apt-get install mosquitto)");
        assert!(out.status.success(), "mosquitto_passwd: {}", String::from_utf8_lossy(&out.stderr));
    }
}

/// Runs `hearth ARGS` to completion (bounded by [`WAIT`]) and returns its output.
pub async fn run_hearth(args: &[&str]) -> Output {
    let child = hearth()
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hearth starts");
    within(&format!("`hearth {}` to exit", args.join(" ")), child.wait_with_output())
        .await
        .expect("hearth's output is readable")
}

/// A `hearth serve` process on a free port, killed when dropped.
pub struct Broker {
    child: Child,
    /// Kept open so the broker never writes to a closed pipe.
    _stdout: BufReader<ChildStdout>,
    /// Where it listens for HTTP and WebSocket.
    pub addr: SocketAddr,
    /// Where it listens for MQTT over TCP.
    pub mqtt: SocketAddr,
    /// Where it listens for MQTT over TLS, if it does.
    pub mqtts: Option<SocketAddr>,
    /// Where it listens for AMQP 0-9-1.
    pub amqp: SocketAddr,
    /// Its data directory, when the broker owns it (removed when dropped).
    _data: Option<tempfile::TempDir>,
}

impl Broker {
    /// Starts a broker with default settings.
    pub async fn start() -> Self {
        Self::start_with(&[]).await
    }

    /// Starts `hearth serve --listen 127.0.0.1:0 --mqtt-listen 127.0.0.1:0 EXTRA…`
    /// with a data directory of its own, and reads its ports from stdout.
    pub async fn start_with(extra: &[&str]) -> Self {
        let data = tempfile::tempdir().expect("a temporary data directory");
        let mut broker = Self::start_in(data.path(), extra).await;
        broker._data = Some(data);
        broker
    }

    /// Starts a broker on the data directory `dir` (which outlives it: a
    /// test restarts brokers on it).
    pub async fn start_in(dir: &std::path::Path, extra: &[&str]) -> Self {
        Self::spawn(hearth(), dir, extra, Stdio::null()).await
    }

    /// [`Broker::start_with`] for the `hearth` binary at `bin` (the release
    /// build, for a test of what it costs).
    pub async fn start_binary(bin: &std::path::Path, extra: &[&str]) -> Self {
        let data = tempfile::tempdir().expect("a temporary data directory");
        let mut broker = Self::spawn(hearth_at(bin), data.path(), extra, Stdio::null()).await;
        broker._data = Some(data);
        broker
    }

    /// [`Broker::start_in`], writing the broker's log (stderr) to `log`.
    pub async fn start_logged(dir: &std::path::Path, extra: &[&str], log: &std::path::Path) -> Self {
        let file = std::fs::File::create(log).expect("the log file can be created");
        Self::spawn(hearth(), dir, extra, Stdio::from(file)).await
    }

    async fn spawn(mut command: Command, dir: &std::path::Path, extra: &[&str], stderr: Stdio) -> Self {
        let dir = dir.to_str().expect("a UTF-8 temporary path");
        let data: &[&str] = if extra.contains(&"--in-memory") { &[] } else { &["--data-dir", dir] };
        let mut child = command
            .args(["serve", "--listen", "127.0.0.1:0", "--mqtt-listen", "127.0.0.1:0", "--amqp-listen", "127.0.0.1:0"])
            .args(data)
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .spawn()
            .expect("hearth serve starts");
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout is piped"));
        let mut line = String::new();
        within("the broker's `listening` line", stdout.read_line(&mut line)).await.expect("stdout is readable");
        let addr = parse_listen_line(&line);
        let mqtt = parse_mqtt_addr(&line);
        let mqtts = line.split("MQTT over TLS at ").nth(1).and_then(|rest| rest.split(',').next()?.parse().ok());
        let amqp = line
            .split("AMQP at ")
            .nth(1)
            .and_then(|rest| rest.split(',').next()?.parse().ok())
            .unwrap_or_else(|| panic!("no AMQP address in hearth serve's first line: {line:?}"));
        Self { child, _stdout: stdout, addr, mqtt, mqtts, amqp, _data: None }
    }

    /// Kills the broker with SIGKILL (a crash, a power cut) and waits until it is gone.
    pub async fn kill9(&mut self) {
        self.child.start_kill().expect("the broker can be killed");
        within("the killed broker to exit", self.child.wait()).await.expect("its status is readable");
    }

    /// The broker's process id.
    pub fn pid(&self) -> u32 {
        self.child.id().expect("the broker is still running")
    }

    /// Opens a WebSocket to `/ws`.
    pub async fn connect(&self) -> Ws {
        let url = format!("ws://{}/ws", self.addr);
        let (stream, _) = within("the WebSocket handshake", tokio_tungstenite::connect_async(&url))
            .await
            .unwrap_or_else(|err| panic!("cannot connect to {url}: {err}"));
        Ws { stream, buffered: VecDeque::new(), next_id: 1 }
    }

    /// `GET path` over plain HTTP/1.1: the status code and the body.
    pub async fn get(&self, path: &str) -> (u16, String) {
        within(&format!("GET {path}"), http_get(self.addr, path)).await
    }

    /// Logs in to the dashboard API; returns the `Cookie: …` header line.
    pub async fn api_login(&self, user: &str, password: &str) -> String {
        let body = json!({"username": user, "password": password}).to_string();
        let login = http_request(self.addr, "POST", "/api/login", &["Content-Type: application/json"], &body);
        let (status, head, body) = within("POST /api/login", login).await;
        assert_eq!(status, 200, "login as {user}: {body}");
        let cookie = head
            .lines()
            .find_map(|l| l.strip_prefix("set-cookie: ").or_else(|| l.strip_prefix("Set-Cookie: ")))
            .and_then(|c| c.split(';').next())
            .unwrap_or_else(|| panic!("no cookie in {head}"));
        format!("Cookie: {cookie}")
    }

    /// `GET path` with extra header lines, expecting 200 and a JSON body.
    pub async fn get_json_with(&self, path: &str, headers: &[&str]) -> Value {
        let (status, _, body) = within(&format!("GET {path}"), http_request(self.addr, "GET", path, headers, "")).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|err| panic!("GET {path} is not JSON ({err}): {body}"))
    }

    /// `GET path`, expecting 200 and a JSON body.
    pub async fn get_json(&self, path: &str) -> Value {
        let (status, body) = self.get(path).await;
        assert_eq!(status, 200, "GET {path}: {body}");
        serde_json::from_str(&body).unwrap_or_else(|err| panic!("GET {path} is not JSON ({err}): {body}"))
    }

    /// The queue named `name` as `/api/queues` shows it.
    pub async fn queue_stats(&self, name: &str) -> Value {
        let queues = self.get_json("/api/queues").await;
        let list = queues.as_array().expect("/api/queues is an array");
        list.iter().find(|q| q["name"] == name).cloned().unwrap_or_else(|| panic!("no queue {name} in {queues}"))
    }

    /// Polls `/api/overview` until its open connection count is `n`.
    pub async fn wait_for_connections(&self, n: u64) {
        within(&format!("{n} open connections"), async {
            while self.get_json("/api/overview").await["connections"] != n {
                tokio::time::sleep(Duration::from_millis(10)).await;
            }
        })
        .await;
    }

    /// Waits for the process to exit.
    pub async fn wait_exit(&mut self) -> ExitStatus {
        within("the broker to exit", self.child.wait()).await.expect("the broker's status is readable")
    }
}

/// Reads `hearth listening on http(s)://ADDR (…)`.
fn parse_listen_line(line: &str) -> SocketAddr {
    line.strip_prefix("hearth listening on http://")
        .or_else(|| line.strip_prefix("hearth listening on https://"))
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line from hearth serve: {line:?}"))
}

/// Reads the `MQTT at ADDR` part of the `listening` line.
fn parse_mqtt_addr(line: &str) -> SocketAddr {
    line.split("MQTT at ")
        .nth(1)
        .map(|rest| rest.trim_end().trim_end_matches(')'))
        .and_then(|addr| addr.parse().ok())
        .unwrap_or_else(|| panic!("no MQTT address in hearth serve's first line: {line:?}"))
}

/// A hand-written HTTP/1.1 GET; the body is read to the end (`Connection: close`).
async fn http_get(addr: SocketAddr, path: &str) -> (u16, String) {
    let (status, _, body) = http_request(addr, "GET", path, &[], "").await;
    (status, body)
}

/// A hand-written HTTP/1.1 request with extra header lines and a body:
/// the status, the header block and the body.
pub async fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[&str],
    body: &str,
) -> (u16, String, String) {
    let mut tcp = TcpStream::connect(addr).await.expect("the broker accepts HTTP");
    let extra: String = headers.iter().map(|h| format!("{h}\r\n")).collect();
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    );
    tcp.write_all(request.as_bytes()).await.expect("request is sent");
    let mut raw = Vec::new();
    tcp.read_to_end(&mut raw).await.expect("response is read");
    let text = String::from_utf8(raw).expect("response is UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("response has a header block");
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("status line has a code");
    let chunked = head.to_ascii_lowercase().contains("transfer-encoding: chunked");
    assert!(!chunked, "chunked bodies are not handled: {head}");
    (status, head.to_owned(), body.to_owned())
}

/// A WebSocket client speaking the JSON protocol, with bounded waits.
pub struct Ws {
    stream: WebSocketStream<MaybeTlsStream<TcpStream>>,
    /// Frames read while waiting for a reply; [`Ws::recv`] returns them first.
    buffered: VecDeque<Value>,
    next_id: u64,
}

/// How a connection ended, as [`Ws::expect_closed`] saw it.
#[derive(Debug)]
pub struct Closed {
    /// The close frame, if the broker sent one.
    pub frame: Option<CloseFrame>,
}

impl Ws {
    /// A client on a WebSocket the test opened itself.
    pub fn from_stream(stream: WebSocketStream<MaybeTlsStream<TcpStream>>) -> Self {
        Self { stream, buffered: VecDeque::new(), next_id: 1 }
    }

    /// A fresh request id.
    pub fn id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id += 1;
        id
    }

    /// Sends one JSON frame.
    pub async fn send(&mut self, frame: Value) {
        self.send_raw(Message::text(frame.to_string())).await;
    }

    /// Sends any WebSocket message.
    pub async fn send_raw(&mut self, message: Message) {
        within("a send", self.stream.send(message)).await.expect("the frame is sent");
    }

    /// The next protocol frame; fails on timeout or close.
    pub async fn recv(&mut self) -> Value {
        if let Some(frame) = self.buffered.pop_front() {
            return frame;
        }
        within("a frame from the broker", self.read_frame()).await.expect("the connection is open")
    }

    /// The next protocol frame if one arrives within [`QUIET`].
    pub async fn recv_quiet(&mut self) -> Option<Value> {
        if let Some(frame) = self.buffered.pop_front() {
            return Some(frame);
        }
        tokio::time::timeout(QUIET, self.read_frame()).await.ok().flatten()
    }

    /// Asserts that no frame arrives within [`QUIET`].
    pub async fn expect_silence(&mut self, why: &str) {
        if let Some(frame) = self.recv_quiet().await {
            panic!("expected nothing ({why}), got {frame}");
        }
    }

    /// The next frame, which must have `type` = `kind`.
    pub async fn expect_type(&mut self, kind: &str) -> Value {
        let frame = self.recv().await;
        assert_eq!(frame["type"], kind, "expected a `{kind}` frame, got {frame}");
        frame
    }

    /// The next frame, which must be an `error` with this code.
    pub async fn expect_error(&mut self, code: &str) -> Value {
        let frame = self.expect_type("error").await;
        assert_eq!(frame["code"], code, "wrong error code: {frame}");
        frame
    }

    /// The next `n` frames, each a `deliver`.
    pub async fn deliveries(&mut self, n: usize) -> Vec<Value> {
        let mut got = Vec::with_capacity(n);
        for _ in 0..n {
            got.push(self.expect_type("deliver").await);
        }
        got
    }

    /// Sends `frame` (whose `id` is `id`) and returns the reply carrying that id.
    /// Other frames that arrive meanwhile are kept for [`Ws::recv`].
    pub async fn request(&mut self, id: u64, frame: Value) -> Value {
        self.send(frame).await;
        loop {
            let reply = within("a reply", self.read_frame()).await.expect("the connection is open");
            if reply["id"] == id && reply["type"] != "deliver" {
                return reply;
            }
            self.buffered.push_back(reply);
        }
    }

    /// A request whose reply must have `type` = `kind`.
    pub async fn request_ok(&mut self, id: u64, frame: Value, kind: &str) -> Value {
        let reply = self.request(id, frame.clone()).await;
        assert_eq!(reply["type"], kind, "{frame} was answered with {reply}");
        reply
    }

    /// `hello` with these extra fields; returns the `welcome`.
    pub async fn hello(&mut self, fields: Value) -> Value {
        let id = self.id();
        let mut frame = json!({"type": "hello", "id": id});
        merge(&mut frame, fields);
        self.request_ok(id, frame, "welcome").await
    }

    /// Declares a queue with `options`.
    pub async fn declare(&mut self, queue: &str, options: Value) {
        let id = self.id();
        self.request_ok(id, json!({"type": "declare", "id": id, "queue": queue, "options": options}), "declared").await;
    }

    /// Binds `queue` to topic `filter`.
    pub async fn bind(&mut self, queue: &str, filter: &str) {
        let id = self.id();
        self.request_ok(id, json!({"type": "bind", "id": id, "queue": queue, "filter": filter}), "ok").await;
    }

    /// Subscribes to a queue with manual acks; returns the consumer id.
    pub async fn subscribe(&mut self, queue: &str, prefetch: u32) -> u64 {
        let id = self.id();
        let frame = json!({"type": "subscribe", "id": id, "queue": queue, "prefetch": prefetch});
        self.request_ok(id, frame, "subscribed").await["consumer"].as_u64().expect("consumer is a number")
    }

    /// Subscribes to a topic filter with auto acks; returns the consumer id.
    pub async fn subscribe_topic(&mut self, filter: &str) -> u64 {
        let id = self.id();
        let frame = json!({"type": "subscribe", "id": id, "topic": filter, "ack": "auto"});
        self.request_ok(id, frame, "subscribed").await["consumer"].as_u64().expect("consumer is a number")
    }

    /// Publishes with a confirm id; `target` is `{"queue": …}` or `{"topic": …}` plus any
    /// other fields. Returns the reply (`confirm` or `error`).
    pub async fn publish(&mut self, target: Value, payload: &str) -> Value {
        let id = self.id();
        let mut frame = json!({"type": "publish", "id": id, "payload": payload});
        merge(&mut frame, target);
        self.request(id, frame).await
    }

    /// Publishes to a queue and expects it routed there.
    pub async fn publish_to_queue(&mut self, queue: &str, payload: &str) {
        let reply = self.publish(json!({"queue": queue}), payload).await;
        assert_eq!(reply["type"], "confirm", "publish {payload} to {queue}: {reply}");
    }

    /// Acks one delivery.
    pub async fn ack(&mut self, delivery: &Value) {
        let tag = delivery["tag"].as_u64().unwrap_or_else(|| panic!("no tag on {delivery}"));
        self.send(json!({"type": "ack", "tag": tag})).await;
    }

    /// `ping` and wait for its `pong`: everything sent before has been handled.
    pub async fn ping(&mut self) {
        let id = self.id();
        self.request_ok(id, json!({"type": "ping", "id": id}), "pong").await;
    }

    /// Reads until the broker closes the connection; fails if a frame comes first.
    pub async fn expect_closed(&mut self) -> Closed {
        if let Some(frame) = self.buffered.pop_front() {
            panic!("expected a close, got {frame}");
        }
        within("the broker to close the connection", async {
            loop {
                match self.stream.next().await {
                    Some(Ok(Message::Close(frame))) => return Closed { frame },
                    None | Some(Err(_)) => return Closed { frame: None },
                    Some(Ok(Message::Text(text))) => panic!("expected a close, got {text}"),
                    Some(Ok(_)) => {}
                }
            }
        })
        .await
    }

    /// Drops the TCP connection at once (RST, no close frame, no `bye`).
    pub fn kill(self) {
        if let MaybeTlsStream::Plain(tcp) = self.stream.get_ref() {
            tcp.set_zero_linger().expect("SO_LINGER can be set");
        }
        drop(self);
    }

    /// Reads the next text frame as JSON; `None` if the connection closed.
    async fn read_frame(&mut self) -> Option<Value> {
        loop {
            match self.stream.next().await? {
                Ok(Message::Text(text)) => {
                    let frame = serde_json::from_str(text.as_str());
                    return Some(frame.unwrap_or_else(|e| panic!("bad JSON ({e}): {text}")));
                }
                Ok(Message::Close(_)) | Err(_) => return None,
                Ok(_) => {}
            }
        }
    }
}

/// Copies `extra`'s fields into `frame`.
fn merge(frame: &mut Value, extra: Value) {
    if let (Some(frame), Value::Object(extra)) = (frame.as_object_mut(), extra) {
        frame.extend(extra);
    }
}

/// The `payload` of a delivery as text.
pub fn payload(delivery: &Value) -> &str {
    delivery["payload"].as_str().unwrap_or_else(|| panic!("payload is not text: {delivery}"))
}

/// The payloads of several deliveries.
pub fn payloads(deliveries: &[Value]) -> Vec<&str> {
    deliveries.iter().map(payload).collect()
}
