//! Helpers for the end-to-end tests in `tests/tests/`: start the real `hearth`
//! binary with the built dashboard, start chromedriver, and open a headless
//! Chromium session. `cargo xtask test` builds both and sets `HEARTH_BIN`,
//! `HEARTH_DIST` and `CHROMEDRIVER`; run without them, the helpers say so.

use fantoccini::{Client, ClientBuilder};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use tokio_tungstenite::tungstenite::Message;

/// How long any one wait in these tests may take.
pub const WAIT: Duration = Duration::from_secs(30);

fn required_env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| {
        panic!("{name} is not set: run these tests with `cargo xtask test`, which builds the broker and dashboard and installs Chromium")
    })
}

/// A child process killed when dropped.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Chromedriver, started in a process group of its own: dropped, the whole
/// group is killed, Chromium with it. Killing chromedriver alone (a test
/// that panicked before closing its session) left its Chromium running,
/// adopted by init, animating the dashboard for ever and slowing every
/// later step of the run.
struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let group = format!("-{}", self.0.id());
        let _ = Command::new("kill").args(["-KILL", "--", &group]).stderr(Stdio::null()).status();
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The real broker serving the built dashboard on a free port.
pub struct Broker {
    /// Its address.
    pub addr: SocketAddr,
    /// Its MQTT listener's address.
    pub mqtt: SocketAddr,
    _process: Running,
    /// Its data directory, removed after the broker is gone.
    _data: tempfile::TempDir,
    /// Its password file's directory, if it has users.
    _users: Option<tempfile::TempDir>,
}

impl Broker {
    /// Starts `$HEARTH_BIN serve --listen 127.0.0.1:0 --dist $HEARTH_DIST`.
    pub fn start() -> Self {
        Self::start_with(&[])
    }

    /// Starts the broker as [`Broker::start`] does, with one user (made with
    /// `hearth passwd`, the password on its stdin) and `extra` flags: every
    /// client, the dashboard included, must log in.
    pub fn start_with_user(user: &str, password: &str, extra: &[&str]) -> Self {
        let users = tempfile::tempdir().expect("a temporary directory for the password file");
        let file = users.path().join("passwords");
        let file = file.to_str().expect("a UTF-8 temporary path");
        let mut passwd = Command::new(required_env("HEARTH_BIN"))
            .args(["passwd", file, user])
            .stdin(Stdio::piped())
            .spawn()
            .expect("hearth passwd starts");
        let mut stdin = passwd.stdin.take().expect("piped stdin");
        writeln!(stdin, "{password}").expect("the password reaches hearth passwd");
        drop(stdin);
        assert!(passwd.wait().expect("hearth passwd ends").success(), "hearth passwd {file} {user} failed");
        let mut flags = vec!["--password-file", file];
        flags.extend_from_slice(extra);
        let mut broker = Self::start_with(&flags);
        broker._users = Some(users);
        broker
    }

    /// Starts the broker as [`Broker::start`] does, with `extra` flags.
    pub fn start_with(extra: &[&str]) -> Self {
        let data = tempfile::tempdir().expect("a temporary data directory");
        let mut child = Command::new(required_env("HEARTH_BIN"))
            .args([
                "serve",
                "--listen",
                "127.0.0.1:0",
                "--mqtt-listen",
                "127.0.0.1:0",
                "--amqp-listen",
                "127.0.0.1:0",
                "--dist",
                &required_env("HEARTH_DIST"),
                "--data-dir",
                data.path().to_str().expect("a UTF-8 temporary path"),
            ])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("hearth starts");
        let stdout = child.stdout.take().expect("piped stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("hearth prints its address");
        let addr = line
            .split("http://")
            .nth(1)
            .and_then(|rest| rest.split_whitespace().next())
            .and_then(|addr| addr.parse().ok())
            .unwrap_or_else(|| panic!("unexpected first line from hearth: {line:?}"));
        let mqtt = line
            .split("MQTT at ")
            .nth(1)
            .and_then(|rest| rest.trim_end().trim_end_matches(')').parse().ok())
            .unwrap_or_else(|| panic!("no MQTT address in hearth's first line: {line:?}"));
        Self { addr, mqtt, _process: Running(child), _data: data, _users: None }
    }

    /// Runs the real `mosquitto_pub` (a peer we did not write) with `args`
    /// against this broker's MQTT listener, and checks it succeeded.
    pub fn mosquitto_pub(&self, args: &[&str]) {
        let port = self.mqtt.port().to_string();
        let output = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &port])
            .args(args)
            .output()
            .expect("mosquitto_pub runs (apt install mosquitto-clients)");
        assert!(output.status.success(), "mosquitto_pub {args:?} failed: {}", String::from_utf8_lossy(&output.stderr));
    }

    /// The dashboard's URL.
    pub fn url(&self) -> String {
        format!("http://{}/", self.addr)
    }

    /// Sends protocol frames over a fresh WebSocket and returns the reply to each.
    pub async fn request(&self, frames: &[Value]) -> Vec<Value> {
        let (mut ws, _) =
            tokio_tungstenite::connect_async(format!("ws://{}/ws", self.addr)).await.expect("websocket connects");
        let mut replies = Vec::new();
        for frame in frames {
            ws.send(Message::Text(frame.to_string().into())).await.expect("send");
            let reply = tokio::time::timeout(WAIT, ws.next()).await.expect("reply in time");
            let Some(Ok(Message::Text(text))) = reply else { panic!("no reply to {frame}") };
            replies.push(serde_json::from_str(text.as_str()).expect("reply is JSON"));
        }
        ws.send(Message::Text(json!({"type": "bye"}).to_string().into())).await.expect("bye");
        replies
    }
}

/// Publishes `per_topic` messages to each of `topics` topics (`burst/t<i>`,
/// payloads `0`, `1`, … so each is a number) to the MQTT listener at `mqtt`
/// as fast as the real `mosquitto_pub` can: one `mosquitto_pub -l -q 1` per
/// topic, all at once, each reading its lines from a pipe. Returns when all
/// have sent theirs and had them acknowledged; panics, with what they said,
/// if one fails or they take longer than [`WAIT`] (killed then, as on any
/// panic: each is [`Running`]).
pub fn mqtt_burst(mqtt: SocketAddr, topics: usize, per_topic: usize) {
    let port = mqtt.port().to_string();
    let lines: String = (0..per_topic).map(|n| format!("{n}\n")).collect();
    let mut publishers: Vec<Running> = (0..topics)
        .map(|t| {
            let child = Command::new("mosquitto_pub")
                .args(["-h", "127.0.0.1", "-p", &port, "-q", "1", "-l", "-t", &format!("burst/t{t}")])
                .stdin(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("mosquitto_pub runs (apt install mosquitto-clients)");
            Running(child)
        })
        .collect();
    for publisher in &mut publishers {
        // Well under a pipe's buffer, so this never waits; a publisher
        // that already died is reported below, with its own words.
        let _ = publisher.0.stdin.take().expect("piped stdin").write_all(lines.as_bytes());
    }
    let deadline = Instant::now() + WAIT;
    for publisher in &mut publishers {
        let status = loop {
            if let Some(status) = publisher.0.try_wait().expect("mosquitto_pub can be waited for") {
                break status;
            }
            assert!(Instant::now() < deadline, "mosquitto_pub -l did not finish in {WAIT:?}");
            std::thread::sleep(Duration::from_millis(20));
        };
        let mut said = String::new();
        if let Some(mut stderr) = publisher.0.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut said);
        }
        assert!(status.success(), "mosquitto_pub -l failed ({status}): {said}");
    }
}

/// `text` with its whitespace (line breaks between fields) as single spaces.
pub fn words(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Chromedriver on a free port, and a headless Chromium session through it.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    _driver: Driver,
}

impl Browser {
    /// Starts chromedriver and opens a headless Chromium.
    pub async fn start() -> Self {
        let port = TcpListener::bind("127.0.0.1:0").and_then(|l| l.local_addr()).expect("free port").port();
        let driver = Command::new(required_env("CHROMEDRIVER"))
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .expect("chromedriver starts");
        let driver = Driver(driver);
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-dev-shm-usage",
            "--window-size=1280,800",
        ];
        let mut caps = serde_json::Map::new();
        let mut options = json!({ "args": args });
        if let Ok(binary) = std::env::var("CHROMIUM") {
            options["binary"] = json!(binary);
        }
        caps.insert("goog:chromeOptions".into(), options);
        let webdriver = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + WAIT;
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector).capabilities(caps.clone()).connect(&webdriver).await {
                Ok(client) => break client,
                Err(err) if Instant::now() < deadline => {
                    let _ = err;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Err(err) => panic!("cannot start a Chromium session through chromedriver: {err}"),
            }
        };
        Self { client, _driver: driver }
    }

    /// Waits until the text of the first element matching `css` satisfies `want`; returns it.
    pub async fn wait_for_text(&self, css: &str, want: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        let mut last = String::from("<no such element>");
        while Instant::now() < deadline {
            let found = self.client.find(fantoccini::Locator::Css(css)).await;
            if let Ok(text) = match found {
                Ok(element) => element.text().await,
                Err(err) => Err(err),
            } {
                if want(&text) {
                    return text;
                }
                last = text;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("`{css}` never showed what was expected; last text: {last:?}")
    }

    /// Clicks the first element matching `css`, scrolled to the middle of the
    /// window first as a person would: chromedriver's own scrolling can leave
    /// it under the sticky top bar, and the bar would take the click.
    pub async fn click(&self, css: &str) {
        let element = self.client.find(fantoccini::Locator::Css(css)).await.unwrap_or_else(|_| panic!("no `{css}`"));
        let arg = serde_json::to_value(&element).expect("an element is JSON");
        self.client
            .execute("arguments[0].scrollIntoView({block: 'center', inline: 'nearest'})", vec![arg])
            .await
            .unwrap_or_else(|err| panic!("`{css}` cannot be scrolled into view: {err}"));
        element.click().await.unwrap_or_else(|err| panic!("`{css}` cannot be clicked: {err}"));
    }

    /// Empties the first input matching `css` and types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        let element = self.client.find(fantoccini::Locator::Css(css)).await.unwrap_or_else(|_| panic!("no `{css}`"));
        element.clear().await.unwrap_or_else(|err| panic!("`{css}` cannot be cleared: {err}"));
        element.send_keys(text).await.unwrap_or_else(|err| panic!("cannot type into `{css}`: {err}"));
    }

    /// The current `value` of the first input matching `css`.
    pub async fn value(&self, css: &str) -> String {
        let element = self.client.find(fantoccini::Locator::Css(css)).await.unwrap_or_else(|_| panic!("no `{css}`"));
        element.prop("value").await.expect("properties can be read").unwrap_or_default()
    }

    /// The attribute `name` of the first element matching `css` ("" when absent).
    pub async fn attribute(&self, css: &str, name: &str) -> String {
        let element = self.client.find(fantoccini::Locator::Css(css)).await.expect("the element exists");
        element.attr(name).await.expect("attributes can be read").unwrap_or_default()
    }

    /// Texts of every element matching `css`.
    pub async fn texts(&self, css: &str) -> Vec<String> {
        let mut out = Vec::new();
        for element in self.client.find_all(fantoccini::Locator::Css(css)).await.unwrap_or_default() {
            out.push(element.text().await.unwrap_or_default());
        }
        out
    }

    /// Ends the browser session.
    pub async fn close(self) {
        let _ = self.client.close().await;
    }
}
