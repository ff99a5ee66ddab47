//! One binary for the edge box: the real `hearth`, started without `--dist`
//! from an empty folder, serves the dashboard built into it (each file and
//! its gzip twin, byte for byte what `dist/` holds); `--dist` still wins.
//!
//! The ignored test runs the Raspberry Pi build (`cargo xtask cross`) under
//! Debian's qemu-user and passes messages through it over MQTT and
//! WebSocket; `cargo xtask test` runs it in its `cross` step, with
//! `HEARTH_CROSS_BIN`, `QEMU` and `QEMU_SYSROOT` set.

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hearth_e2e::{Running, WAIT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} is not set: run these tests with `cargo xtask test`"))
}

/// A broker process and the addresses its first line names.
struct Started {
    http: SocketAddr,
    mqtt: SocketAddr,
    _process: Running,
}

/// Starts `cmd serve` on free ports with its data under `cwd`, `cwd` as
/// its working directory, and `extra` flags.
fn start(mut cmd: Command, cwd: &Path, extra: &[&str]) -> Started {
    let mut child = cmd
        .args(["serve", "--data-dir", "data"])
        .args(["--listen", "127.0.0.1:0", "--mqtt-listen", "127.0.0.1:0", "--amqp-listen", "127.0.0.1:0"])
        .args(extra)
        .current_dir(cwd)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("hearth starts");
    let stdout = child.stdout.take().expect("piped stdout");
    let mut line = String::new();
    BufReader::new(stdout).read_line(&mut line).expect("hearth prints its address");
    let http =
        line.split("http://").nth(1).and_then(|rest| rest.split_whitespace().next()).and_then(|a| a.parse().ok());
    let mqtt = line.split("MQTT at ").nth(1).and_then(|rest| rest.trim_end().trim_end_matches(')').parse().ok());
    match (http, mqtt) {
        (Some(http), Some(mqtt)) => Started { http, mqtt, _process: Running(child) },
        _ => panic!("unexpected first line from hearth: {line:?}"),
    }
}

/// A response: status, header block, body.
struct Reply {
    status: u16,
    head: String,
    body: Vec<u8>,
}

impl Reply {
    fn header(&self, name: &str) -> Option<&str> {
        self.head.lines().find_map(|line| {
            let (key, value) = line.split_once(':')?;
            key.eq_ignore_ascii_case(name).then(|| value.trim())
        })
    }
}

/// `GET path` over a fresh connection, with `extra` header lines.
async fn get(addr: SocketAddr, path: &str, extra: &str) -> Reply {
    let fetch = async {
        let mut tcp = TcpStream::connect(addr).await.expect("the broker accepts HTTP");
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}Connection: close\r\n\r\n");
        tcp.write_all(request.as_bytes()).await.expect("the request is sent");
        let mut raw = Vec::new();
        tcp.read_to_end(&mut raw).await.expect("the response is read");
        raw
    };
    let raw = tokio::time::timeout(WAIT, fetch).await.unwrap_or_else(|_| panic!("GET {path} timed out"));
    let split = raw.windows(4).position(|w| w == b"\r\n\r\n").expect("the response has a header block");
    let head = String::from_utf8_lossy(&raw[..split]).into_owned();
    let status = head.split_whitespace().nth(1).and_then(|s| s.parse().ok()).expect("a status code");
    Reply { status, head, body: raw[split + 4..].to_vec() }
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|err| panic!("reading {}: {err}", path.display()))
}

/// Checks that `addr` serves `dist/`'s files as `--dist` would: raw
/// without `Accept-Encoding`, the `.gz` twin with `gzip`.
async fn serves_the_dist(addr: SocketAddr, dist: &Path) {
    let files = [
        ("/", "index.html", "text/html"),
        ("/frontend_bg.wasm", "frontend_bg.wasm", "application/wasm"),
        ("/frontend.js", "frontend.js", "text/javascript"),
    ];
    for (path, name, media_type) in files {
        let plain = get(addr, path, "").await;
        assert_eq!(plain.status, 200, "GET {path}: {}", plain.head);
        assert_eq!(plain.header("content-type"), Some(media_type), "GET {path}: {}", plain.head);
        assert_eq!(plain.header("content-encoding"), None, "GET {path} without gzip: {}", plain.head);
        assert!(plain.body == read(dist.join(name)), "GET {path}: not the bytes of dist/{name}");

        let gzip = get(addr, path, "Accept-Encoding: gzip, deflate, br\r\n").await;
        assert_eq!(gzip.status, 200, "GET {path} (gzip): {}", gzip.head);
        assert_eq!(gzip.header("content-type"), Some(media_type), "GET {path} (gzip): {}", gzip.head);
        assert_eq!(gzip.header("content-encoding"), Some("gzip"), "GET {path} (gzip): {}", gzip.head);
        assert!(gzip.body == read(dist.join(format!("{name}.gz"))), "GET {path} (gzip): not dist/{name}.gz");
    }
}

#[tokio::test]
async fn without_dist_the_binary_serves_the_dashboard_inside_it() {
    let cwd = tempfile::tempdir().expect("a temporary working directory");
    let broker = start(Command::new(env("HEARTH_BIN")), cwd.path(), &[]);
    let dist = PathBuf::from(env("HEARTH_DIST"));
    serves_the_dist(broker.http, &dist).await;

    // A path the dashboard does not have gets its page, as under --dist.
    let deep = get(broker.http, "/live/somewhere", "").await;
    assert_eq!((deep.status, deep.body == read(dist.join("index.html"))), (200, true), "{}", deep.head);
    // The page is validated, not sent again.
    let first = get(broker.http, "/frontend_bg.wasm", "").await;
    let etag = first.header("etag").expect("an ETag").to_string();
    let again = get(broker.http, "/frontend_bg.wasm", &format!("If-None-Match: {etag}\r\n")).await;
    assert_eq!((again.status, again.body.len()), (304, 0), "{}", again.head);
    // gzip refused (q=0) gets the raw file.
    let refused = get(broker.http, "/", "Accept-Encoding: gzip;q=0, identity\r\n").await;
    assert_eq!(refused.header("content-encoding"), None, "{}", refused.head);
    // Its working directory holds nothing it could serve: only its data.
    let names: Vec<_> =
        std::fs::read_dir(cwd.path()).expect("the cwd lists").flatten().map(|e| e.file_name()).collect();
    assert_eq!(names, ["data"]);
}

#[tokio::test]
async fn dist_still_overrides_the_embedded_dashboard() {
    let cwd = tempfile::tempdir().expect("a temporary working directory");
    let page = b"<!doctype html><title>a dashboard in development</title>".as_slice();
    std::fs::create_dir(cwd.path().join("dev")).expect("a dist folder");
    std::fs::write(cwd.path().join("dev/index.html"), page).expect("its index.html");
    let broker = start(Command::new(env("HEARTH_BIN")), cwd.path(), &["--dist", "dev"]);

    for accept in ["", "Accept-Encoding: gzip\r\n"] {
        let root = get(broker.http, "/", accept).await;
        assert_eq!((root.status, root.body.as_slice()), (200, page), "{}", root.head);
        // The embedded wasm is not served either: the folder has none.
        let wasm = get(broker.http, "/frontend_bg.wasm", accept).await;
        assert_eq!(wasm.body.as_slice(), page, "{}", wasm.head);
    }
}

/// The Raspberry Pi build under qemu-user: its own dashboard, and messages
/// through it over MQTT (mosquitto's clients) and WebSocket (`hearth pub`
/// and `hearth sub`, native), and from one protocol to the other.
#[tokio::test]
#[ignore = "needs the aarch64 build and qemu-user: `cargo xtask test --only cross`"]
async fn the_raspberry_pi_build_round_trips_under_qemu() {
    let cwd = tempfile::tempdir().expect("a temporary working directory");
    let mut qemu = Command::new(env("QEMU"));
    qemu.arg("-L").arg(env("QEMU_SYSROOT")).arg(env("HEARTH_CROSS_BIN"));
    let pi = start(qemu, cwd.path(), &[]);
    serves_the_dist(pi.http, Path::new(&env("HEARTH_DIST"))).await;

    let port = pi.mqtt.port().to_string();
    let mqtt_sub = |topic: &str| {
        Command::new("mosquitto_sub")
            .args(["-h", "127.0.0.1", "-p", &port, "-q", "1", "-C", "1", "-W", "30", "-v", "-t", topic])
            .stdout(Stdio::piped())
            .spawn()
            .expect("mosquitto_sub starts")
    };
    let mqtt_pub = |topic: &str, payload: &str| {
        let status = Command::new("mosquitto_pub")
            .args(["-h", "127.0.0.1", "-p", &port, "-q", "1", "-t", topic, "-m", payload])
            .status()
            .expect("mosquitto_pub runs");
        assert!(status.success(), "mosquitto_pub -t {topic} failed");
    };
    let url = format!("ws://{}/ws", pi.http);
    let hearth = |args: &[&str]| {
        let out = Command::new(env("HEARTH_BIN")).args(args).args(["--url", &url]).output().expect("hearth runs");
        assert!(out.status.success(), "hearth {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    // MQTT to MQTT: published again until the subscriber, once subscribed, has it.
    let sub = mqtt_sub("home/pi/#");
    let got = until_done(sub, || mqtt_pub("home/pi/temperature", "21.5"));
    assert_eq!(got.trim(), "home/pi/temperature 21.5");

    // WebSocket to WebSocket, through a queue.
    hearth(&["pub", "--queue", "pi-jobs", "--declare", "--quiet", "hello from a pi"]);
    let got = hearth(&["sub", "--queue", "pi-jobs", "--count", "1", "--format", "raw"]);
    assert_eq!(got.trim(), "hello from a pi");

    // WebSocket to MQTT: one engine behind both.
    let sub = mqtt_sub("home/pi/door");
    let got = until_done(sub, || {
        hearth(&["pub", "--topic", "home/pi/door", "--quiet", "locked"]);
    });
    assert_eq!(got.trim(), "home/pi/door locked");
}

/// Calls `publish` every 200 ms until `sub` exits; returns what it printed.
fn until_done(sub: std::process::Child, mut publish: impl FnMut()) -> String {
    let mut sub = Running(sub);
    let deadline = Instant::now() + WAIT;
    loop {
        publish();
        if let Some(status) = sub.0.try_wait().expect("the subscriber can be polled") {
            assert!(status.success(), "the subscriber failed ({status})");
            break;
        }
        assert!(Instant::now() < deadline, "the subscriber never got the message");
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut out = String::new();
    let mut stdout = sub.0.stdout.take().expect("piped stdout");
    std::io::Read::read_to_string(&mut stdout, &mut out).expect("the subscriber's output");
    out
}
