//! TLS with peers other people wrote: Mosquitto's clients with `--cafile`
//! and with client certificates, paho-mqtt over TLS and over WSS, curl for
//! HTTPS, and a certificate swapped on SIGHUP while a client stays
//! connected. The certificates come from `scripts/make-certs.sh`, the
//! recipe docs/security.md gives.

mod common;

use common::{Broker, within};
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::Command;

/// Runs the documented recipe: a CA, the broker's certificate, and client
/// certificates for `devices`, in `dir`.
fn make_certs(dir: &Path, devices: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/make-certs.sh");
    let out = std::process::Command::new("sh")
        .arg(script)
        .arg(dir)
        .arg("hearth.local")
        .args(devices)
        .output()
        .expect("sh runs (and openssl: apt-get install openssl)");
    assert!(out.status.success(), "make-certs.sh: {}", String::from_utf8_lossy(&out.stderr));
}

fn file(dir: &Path, name: &str) -> String {
    dir.join(name).to_str().expect("UTF-8").to_owned()
}

/// A broker with TLS on MQTT (`--mqtts-listen`) and HTTP, plus `extra`.
async fn tls_broker(dir: &Path, extra: &[&str]) -> Broker {
    let (cert, key) = (file(dir, "server.crt"), file(dir, "server.key"));
    let args = [&["--mqtts-listen", "127.0.0.1:0", "--tls-cert", &cert, "--tls-key", &key][..], extra].concat();
    Broker::start_with(&args).await
}

/// `mosquitto_pub` against the broker's TLS port.
async fn mosquitto_pub_tls(broker: &Broker, args: &[&str]) -> Output {
    let port = broker.mqtts.expect("the broker listens for MQTT over TLS").port().to_string();
    let run =
        Command::new("mosquitto_pub").args(["-h", "127.0.0.1", "-p", &port]).args(args).kill_on_drop(true).output();
    within("mosquitto_pub over TLS", run).await.expect("mosquitto_pub runs")
}

/// `mosquitto_sub -C count` against the TLS port, started and subscribed.
struct TlsSub {
    child: tokio::process::Child,
    lines: tokio::io::Lines<BufReader<tokio::process::ChildStdout>>,
}

impl TlsSub {
    async fn start(broker: &Broker, args: &[&str]) -> Self {
        let port = broker.mqtts.expect("MQTT over TLS").port().to_string();
        let mut child = Command::new("stdbuf")
            .args(["-oL", "mosquitto_sub", "-h", "127.0.0.1", "-p", &port, "-v", "-d"])
            .args(args)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("mosquitto_sub starts");
        let stdout = child.stdout.take().expect("piped");
        let mut sub = Self { child, lines: BufReader::new(stdout).lines() };
        within("mosquitto_sub's SUBACK over TLS", async { while !sub.raw().await.contains("received SUBACK") {} })
            .await;
        sub
    }

    async fn raw(&mut self) -> String {
        self.lines.next_line().await.expect("readable").expect("mosquitto_sub still runs")
    }

    async fn next(&mut self) -> String {
        within("a message over TLS", async {
            loop {
                let line = self.raw().await;
                if !line.starts_with("Client ") && !line.starts_with("Subscribed") {
                    return line;
                }
            }
        })
        .await
    }
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn mosquitto_clients_log_in_over_tls_with_the_ca_file() {
    let dir = tempfile::tempdir().expect("a directory");
    make_certs(dir.path(), &[]);
    let passwd = dir.path().join("passwd");
    common::mosquitto_passwd(&passwd, &[("alice", "tls-door")]);
    let broker = tls_broker(dir.path(), &["--password-file", passwd.to_str().expect("UTF-8")]).await;
    let ca = file(dir.path(), "ca.crt");
    let mut sub = TlsSub::start(&broker, &["--cafile", &ca, "-u", "alice", "-P", "tls-door", "-t", "home/#"]).await;
    let out = mosquitto_pub_tls(
        &broker,
        &["--cafile", &ca, "-u", "alice", "-P", "tls-door", "-t", "home/hall/light", "-m", "on", "-q", "1"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sub.next().await, "home/hall/light on");
    // A wrong password over TLS is refused like one in the clear.
    let out = mosquitto_pub_tls(&broker, &["--cafile", &ca, "-u", "alice", "-P", "nope", "-t", "t", "-m", "x"]).await;
    assert!(!out.status.success() && stderr(&out).contains("bad user name or password"), "{}", stderr(&out));
    // A client that does not trust the broker's CA refuses it.
    let other = tempfile::tempdir().expect("a directory");
    make_certs(other.path(), &[]);
    let out = mosquitto_pub_tls(
        &broker,
        &["--cafile", &file(other.path(), "ca.crt"), "-u", "alice", "-P", "tls-door", "-t", "t", "-m", "x"],
    )
    .await;
    assert!(!out.status.success(), "an unknown CA is not trusted");
    // A client speaking plain MQTT to the TLS port gets nowhere and harms no one.
    let port = broker.mqtts.expect("TLS").port().to_string();
    let plain = Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port, "-u", "alice", "-P", "tls-door", "-t", "t", "-m", "x"])
        .kill_on_drop(true)
        .output();
    let plain = within("plain MQTT on the TLS port", plain).await.expect("runs");
    assert!(!plain.status.success());
    let out = mosquitto_pub_tls(
        &broker,
        &["--cafile", &ca, "-u", "alice", "-P", "tls-door", "-t", "home/hall/light", "-m", "off"],
    )
    .await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sub.next().await, "home/hall/light off");
    drop(sub.child);
}

#[tokio::test]
async fn a_client_certificate_is_the_login_and_the_acl_applies_to_its_name() {
    let dir = tempfile::tempdir().expect("a directory");
    make_certs(dir.path(), &["hall-door", "owner"]);
    let acl = dir.path().join("acl");
    std::fs::write(&acl, "user hall-door\ntopic write home/hall/door/state\nuser owner\ntopic readwrite #\n")
        .expect("written");
    let ca = file(dir.path(), "ca.crt");
    let broker = tls_broker(
        dir.path(),
        &[
            "--tls-client-ca",
            &ca,
            "--tls-require-client-cert",
            "--tls-identity-as-username",
            "--allow-anonymous",
            "false",
            "--password-file",
            "/dev/null",
            "--acl-file",
            acl.to_str().expect("UTF-8"),
        ],
    )
    .await;
    let as_device = |name: &str| {
        [
            String::from("--cafile"),
            ca.clone(),
            "--cert".into(),
            file(dir.path(), &format!("{name}.crt")),
            "--key".into(),
            file(dir.path(), &format!("{name}.key")),
        ]
    };
    let owner = as_device("owner");
    let owner: Vec<&str> = owner.iter().map(String::as_str).collect();
    let mut sub = TlsSub::start(&broker, &[&owner[..], &["-t", "home/#"]].concat()).await;
    let door = as_device("hall-door");
    let door: Vec<&str> = door.iter().map(String::as_str).collect();
    // No password: the certificate says who this is, and the ACL knows it.
    let out = mosquitto_pub_tls(&broker, &[&door[..], &["-t", "home/hall/door/state", "-m", "locked"]].concat()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = mosquitto_pub_tls(&broker, &[&door[..], &["-t", "home/kitchen/oven/set", "-m", "on"]].concat()).await;
    assert!(out.status.success(), "3.1.1 acknowledges a denied publish: {}", stderr(&out));
    assert_eq!(sub.next().await, "home/hall/door/state locked");
    // Without a certificate the handshake is refused.
    let out = mosquitto_pub_tls(&broker, &["--cafile", &ca, "-t", "home/x", "-m", "x"]).await;
    assert!(!out.status.success(), "a client without a certificate is refused");
    let out = mosquitto_pub_tls(&broker, &[&owner[..], &["-t", "home/kitchen/light", "-m", "on"]].concat()).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(sub.next().await, "home/kitchen/light on", "the oven command never arrived; the owner's did");
    drop(sub.child);
}

#[tokio::test]
async fn paho_speaks_mqtt_over_tls_and_over_wss_and_curl_gets_https() {
    let dir = tempfile::tempdir().expect("a directory");
    make_certs(dir.path(), &[]);
    let passwd = dir.path().join("passwd");
    common::mosquitto_passwd(&passwd, &[("paho", "pw")]);
    let broker = tls_broker(dir.path(), &["--password-file", passwd.to_str().expect("UTF-8")]).await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/paho/tls.py");
    let ca = file(dir.path(), "ca.crt");
    let run = Command::new("python3")
        .arg(script)
        .args([&broker.mqtts.expect("TLS").port().to_string(), &broker.addr.port().to_string(), &ca, "paho", "pw"])
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), run).await.expect("paho finishes").expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "paho over TLS failed:\n{stdout}\n{}", stderr(&out));
    assert_eq!(stdout.lines().collect::<Vec<_>>(), vec!["ok mqtts", "ok wss"]);
    let url = format!("https://127.0.0.1:{}/healthz", broker.addr.port());
    let curl = Command::new("curl").args(["-sS", "--cacert", &ca, &url]).output().await.expect("curl runs");
    assert_eq!(String::from_utf8_lossy(&curl.stdout), "ok\n", "{}", stderr(&curl));
    // Under TLS the dashboard's session cookie is Secure.
    let login = format!("https://127.0.0.1:{}/api/login", broker.addr.port());
    let body = r#"{"username":"paho","password":"pw"}"#;
    let args = ["-sS", "-i", "--cacert", &ca, "-H", "Content-Type: application/json", "-d", body, &login];
    let curl = Command::new("curl").args(args).output().await.expect("curl runs");
    let head = String::from_utf8_lossy(&curl.stdout).to_ascii_lowercase();
    let cookie = head.lines().find(|l| l.starts_with("set-cookie:")).unwrap_or_else(|| panic!("no cookie: {head}"));
    assert!(cookie.contains("; secure") && cookie.contains("httponly"), "{cookie}");
    assert!(cookie.contains("__host-hearth_session_"), "the __Host- prefix under TLS: {cookie}");
    // Plain HTTP to the HTTPS listener gets nothing, and the broker goes on.
    let plain = Command::new("curl")
        .args(["-sS", "-m", "5", &format!("http://127.0.0.1:{}/healthz", broker.addr.port())])
        .output()
        .await
        .expect("curl runs");
    assert!(!plain.status.success());
    let curl = Command::new("curl").args(["-sS", "--cacert", &ca, &url]).output().await.expect("curl runs");
    assert_eq!(String::from_utf8_lossy(&curl.stdout), "ok\n");
}

#[tokio::test]
async fn a_sighup_swaps_the_certificate_and_keeps_connected_clients() {
    let dir = tempfile::tempdir().expect("a directory");
    make_certs(dir.path(), &[]);
    let old_ca = PathBuf::from(file(dir.path(), "ca.crt"));
    let broker = tls_broker(dir.path(), &[]).await;
    let old = old_ca.to_str().expect("UTF-8").to_owned();
    let mut sub = TlsSub::start(&broker, &["--cafile", &old, "-t", "home/#"]).await;
    // A new CA and certificate in the same files (as a renewal would).
    let renewed = tempfile::tempdir().expect("a directory");
    make_certs(renewed.path(), &[]);
    for name in ["server.crt", "server.key"] {
        std::fs::copy(renewed.path().join(name), dir.path().join(name)).expect("copied");
    }
    let new = file(renewed.path(), "ca.crt");
    let status = std::process::Command::new("kill").args(["-HUP", &broker.pid().to_string()]).status();
    assert!(status.expect("kill runs").success());
    within("the renewed certificate", async {
        loop {
            let out = mosquitto_pub_tls(&broker, &["--cafile", &new, "-t", "home/hall/light", "-m", "renewed"]).await;
            if out.status.success() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(sub.next().await, "home/hall/light renewed", "the client connected before the reload stays");
    let out = mosquitto_pub_tls(&broker, &["--cafile", &old, "-t", "home/x", "-m", "x"]).await;
    assert!(!out.status.success(), "new connections get the new certificate");
    drop(sub.child);
}

#[tokio::test]
async fn tls_settings_that_cannot_work_stop_the_start_with_what_to_fix() {
    let dir = tempfile::tempdir().expect("a directory");
    let missing = file(dir.path(), "missing.crt");
    let cases: [(&[&str], &str); 3] = [
        (&["--mqtts-listen", "127.0.0.1:0"], "mqtts_listen needs a certificate"),
        (&["--tls-cert", &missing, "--tls-key", &missing], "tls_cert"),
        (&["--tls-client-ca", &missing], "client certificates need TLS"),
    ];
    for (args, expected) in cases {
        let base = [
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--mqtt-listen",
            "127.0.0.1:0",
            "--amqp-listen",
            "127.0.0.1:0",
            "--in-memory",
        ];
        let out = common::run_hearth(&[&base[..], args].concat()).await;
        let err = stderr(&out);
        assert!(!out.status.success() && err.contains(expected), "{args:?}: {err}");
    }
}

#[tokio::test]
async fn hearth_pub_and_sub_log_in_over_wss_with_the_home_ca() {
    let dir = tempfile::tempdir().expect("a directory");
    make_certs(dir.path(), &[]);
    let passwd = dir.path().join("passwd");
    common::mosquitto_passwd(&passwd, &[("cli", "pw")]);
    let broker = tls_broker(dir.path(), &["--password-file", passwd.to_str().expect("UTF-8")]).await;
    let url = format!("https://127.0.0.1:{}", broker.addr.port());
    let ca = file(dir.path(), "ca.crt");
    let run = |args: Vec<&str>| {
        let mut command = common::hearth();
        command.args(args).env("HEARTH_PASSWORD", "pw");
        async move { within("hearth over wss", command.output()).await.expect("hearth runs") }
    };
    let out =
        run(vec!["pub", "--url", &url, "--cafile", &ca, "--username", "cli", "-t", "home/hall/light", "-r", "on"])
            .await;
    assert!(out.status.success(), "{}", stderr(&out));
    let out = run(vec!["sub", "--url", &url, "--cafile", &ca, "--username", "cli", "-t", "home/#", "-n", "1"]).await;
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("on"), "the retained state arrives over wss");
    // Without the CA the client says what it needs; with a wrong password the broker's refusal shows.
    let out = run(vec!["pub", "--url", &url, "--username", "cli", "-t", "t", "x"]).await;
    assert!(stderr(&out).contains("--cafile"), "{}", stderr(&out));
    let mut command = common::hearth();
    command.args(["pub", "--url", &url, "--cafile", &ca, "--username", "cli", "--password", "bad", "-t", "t", "x"]);
    let out = within("hearth pub", command.output()).await.expect("runs");
    assert!(!out.status.success() && stderr(&out).contains("BadCredentials"), "{}", stderr(&out));
}

#[tokio::test]
async fn half_open_tls_handshakes_are_bounded_and_the_listener_recovers() {
    use tokio::io::AsyncReadExt;
    let dir = tempfile::tempdir().expect("a directory");
    make_certs(dir.path(), &[]);
    let broker = tls_broker(dir.path(), &[]).await;
    let at = broker.mqtts.expect("TLS");
    // 256 peers that connect and never start their handshake.
    let mut silent = Vec::new();
    for _ in 0..256 {
        silent.push(tokio::net::TcpStream::connect(at).await.expect("connects"));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    // One more is closed at once instead of waiting with them.
    let mut extra = tokio::net::TcpStream::connect(at).await.expect("connects");
    let mut byte = [0u8; 1];
    // Well before the 10 s a handshake may take: it was never waited for.
    let read = tokio::time::timeout(Duration::from_secs(3), extra.read(&mut byte))
        .await
        .expect("the extra connection is closed at once, not after the handshake timeout");
    assert!(matches!(read, Ok(0) | Err(_)), "closed without a handshake: {read:?}");
    drop(silent);
    let ca = file(dir.path(), "ca.crt");
    within("a TLS client after the flood", async {
        loop {
            if mosquitto_pub_tls(&broker, &["--cafile", &ca, "-t", "t", "-m", "x"]).await.status.success() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}
