//! Who may connect: a password file (one made by Debian's `mosquitto_passwd`,
//! and one made by `hearth passwd`), checked on MQTT with Mosquitto's own
//! clients and reason codes, and on the WebSocket `hello`; and the refusal
//! to listen beyond loopback with no users.

mod common;

use common::mqtt::connect;
use common::{Broker, hearth, run_hearth, within};
use mqtt_codec::{Packet, ProtocolVersion, ReasonCode};
use serde_json::json;
use std::process::Stdio;
use tokio::io::AsyncWriteExt;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

/// `mosquitto_pub … -u USER -P PASSWORD`, returning whether it succeeded and its stderr.
async fn publish_as(broker: &Broker, user: Option<(&str, &str)>) -> (bool, String) {
    let mut command = tokio::process::Command::new("mosquitto_pub");
    command.args([
        "-h",
        "127.0.0.1",
        "-p",
        &broker.mqtt.port().to_string(),
        "-t",
        "home/hall/door/lock/set",
        "-m",
        "open",
    ]);
    if let Some((user, password)) = user {
        command.args(["-u", user, "-P", password]);
    }
    let out = within("mosquitto_pub", command.kill_on_drop(true).output()).await.expect("mosquitto_pub runs");
    (out.status.success(), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[tokio::test]
async fn a_mosquitto_password_file_works_as_it_is_with_mosquitto_clients() {
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("passwd");
    common::mosquitto_passwd(&file, &[("alice", "s3cret door")]);
    let text = std::fs::read_to_string(&file).expect("readable");
    assert!(text.starts_with("alice:$7$") || text.starts_with("alice:$6$"), "{text}");
    let broker = Broker::start_with(&["--password-file", file.to_str().expect("UTF-8")]).await;
    let (ok, err) = publish_as(&broker, Some(("alice", "s3cret door"))).await;
    assert!(ok, "the right password is accepted: {err}");
    let (ok, err) = publish_as(&broker, Some(("alice", "wrong"))).await;
    assert!(!ok && err.contains("bad user name or password"), "a wrong password is refused with 4: {err}");
    let (ok, err) = publish_as(&broker, Some(("mallory", "s3cret door"))).await;
    assert!(!ok && err.contains("bad user name or password"), "an unknown user too: {err}");
    let (ok, err) = publish_as(&broker, None).await;
    assert!(!ok && err.contains("not authorised"), "no credentials: not authorized (5): {err}");
}

#[tokio::test]
async fn hearth_passwd_makes_argon2id_entries_and_mqtt_5_gets_its_reason_codes() {
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("users");
    for (user, password) in [("door", "lock-1234"), ("hall", "light")] {
        let mut child = hearth()
            .arg("passwd")
            .arg(&file)
            .arg(user)
            .stdin(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("hearth passwd runs");
        let mut stdin = child.stdin.take().expect("piped");
        stdin.write_all(format!("{password}\n").as_bytes()).await.expect("written");
        drop(stdin);
        let out = within("hearth passwd", child.wait_with_output()).await.expect("it exits");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let text = std::fs::read_to_string(&file).expect("readable");
    assert_eq!(text.lines().count(), 2);
    assert!(text.lines().all(|l| l.contains(":$argon2id$v=19$")), "{text}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("a file").permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "only its owner reads it");
    }
    let broker = Broker::start_with(&["--password-file", file.to_str().expect("UTF-8")]).await;
    let attempt = |user: Option<&str>, password: Option<&str>| {
        let mut c = connect(ProtocolVersion::V5, "door-1", 0);
        c.username = user.map(str::to_owned);
        c.password = password.map(|p| bytes::Bytes::copy_from_slice(p.as_bytes()));
        c
    };
    for (user, password, expected) in [
        (Some("door"), Some("lock-1234"), ReasonCode::Success),
        (Some("door"), Some("lock-12345"), ReasonCode::BadUserNameOrPassword),
        (None, None, ReasonCode::NotAuthorized),
    ] {
        let mut raw = broker.raw_mqtt(attempt(user, password)).await;
        let Some(Packet::ConnAck(ack)) = raw.recv().await else { panic!("a CONNACK") };
        assert_eq!(ack.reason, expected, "{user:?}");
    }
    // A WebSocket client logs in with its hello, or is refused and closed.
    let mut ws = broker.connect().await;
    ws.send(json!({"type": "hello", "id": 1, "client_id": "dash", "username": "hall", "password": "light"})).await;
    assert_eq!(ws.expect_type("welcome").await["id"], 1);
    ws.declare("after-login", json!({})).await;
    let mut wrong = broker.connect().await;
    wrong.send(json!({"type": "hello", "username": "hall", "password": "dark"})).await;
    wrong.expect_error("bad_credentials").await;
    assert_eq!(wrong.expect_closed().await.frame.map(|f| f.code), Some(CloseCode::Policy));
    let mut none = broker.connect().await;
    none.send(json!({"type": "declare", "id": 1, "queue": "sneaky"})).await;
    let error = none.expect_error("not_authorized").await;
    assert!(error["message"].as_str().is_some_and(|m| m.contains("username")), "{error}");
    assert_eq!(none.expect_closed().await.frame.map(|f| f.code), Some(CloseCode::Policy));
    let cookie = broker.api_login("hall", "light").await;
    let queues = broker.get_json_with("/api/queues", &[&cookie]).await;
    assert!(!queues.to_string().contains("sneaky"), "nothing from the refused client reached the engine");
    // Changing a password and removing a user.
    let out = run_hearth(&["passwd", "-D", file.to_str().expect("UTF-8"), "hall"]).await;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(std::fs::read_to_string(&file).expect("readable").lines().count(), 1);
}

#[tokio::test]
async fn listening_beyond_loopback_with_no_users_is_refused_saying_what_to_add() {
    let out = run_hearth(&[
        "serve",
        "--listen",
        "0.0.0.0:0",
        "--mqtt-listen",
        "127.0.0.1:0",
        "--amqp-listen",
        "127.0.0.1:0",
        "--in-memory",
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "it must not start");
    assert!(stderr.contains("0.0.0.0") && stderr.contains("hearth passwd"), "{stderr}");
    assert!(stderr.contains("--password-file") && stderr.contains("--allow-anonymous true"), "{stderr}");
    // Saying so in as many words starts it.
    let mut open = hearth()
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--mqtt-listen",
            "0.0.0.0:0",
            "--amqp-listen",
            "127.0.0.1:0",
            "--allow-anonymous",
            "true",
            "--in-memory",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("hearth serve starts");
    let mut line = String::new();
    let mut stdout = tokio::io::BufReader::new(open.stdout.take().expect("piped"));
    within("the listening line", tokio::io::AsyncBufReadExt::read_line(&mut stdout, &mut line))
        .await
        .expect("readable");
    assert!(line.contains("listening"), "{line}");
    drop(open);
    // A password file that is not one is a clear error.
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("passwd");
    std::fs::write(&file, "alice:plaintext\n").expect("written");
    let out = run_hearth(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--mqtt-listen",
        "127.0.0.1:0",
        "--amqp-listen",
        "127.0.0.1:0",
        "--in-memory",
        "--password-file",
        file.to_str().expect("UTF-8"),
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("line 1") && stderr.contains("hearth passwd"), "{stderr}");
}

/// `GET /metrics` with an optional bearer token: the status line.
async fn metrics_status(broker: &Broker, token: Option<&str>) -> String {
    use tokio::io::AsyncReadExt;
    let mut tcp = tokio::net::TcpStream::connect(broker.addr).await.expect("the broker accepts HTTP");
    let auth = token.map(|t| format!("Authorization: Bearer {t}\r\n")).unwrap_or_default();
    let request = format!("GET /metrics HTTP/1.1\r\nHost: {}\r\n{auth}Connection: close\r\n\r\n", broker.addr);
    tcp.write_all(request.as_bytes()).await.expect("written");
    let mut response = String::new();
    within("the /metrics answer", tcp.read_to_string(&mut response)).await.expect("readable");
    response.lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn metrics_ask_for_their_token_and_count_refused_logins() {
    let dir = tempfile::tempdir().expect("a directory");
    let file = dir.path().join("passwd");
    common::mosquitto_passwd(&file, &[("alice", "pw")]);
    let config = dir.path().join("hearth.toml");
    std::fs::write(&config, format!("password_file = {:?}\nmetrics_token = \"s3cret-token\"\n", file))
        .expect("written");
    let broker = Broker::start_with(&["-c", config.to_str().expect("UTF-8")]).await;
    assert!(metrics_status(&broker, None).await.contains("401"));
    assert!(metrics_status(&broker, Some("wrong")).await.contains("401"));
    assert!(metrics_status(&broker, Some("s3cret-token")).await.contains("200"));
    assert_eq!(broker.get("/healthz").await.0, 200, "health stays open");
    let (ok, _) = publish_as(&broker, Some(("alice", "nope"))).await;
    assert!(!ok);
    let body = {
        use tokio::io::AsyncReadExt;
        let mut tcp = tokio::net::TcpStream::connect(broker.addr).await.expect("accepts");
        let request =
            "GET /metrics HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer s3cret-token\r\nConnection: close\r\n\r\n";
        tcp.write_all(request.as_bytes()).await.expect("written");
        let mut response = String::new();
        tcp.read_to_string(&mut response).await.expect("readable");
        response
    };
    assert!(body.contains("hearth_logins_refused_total 1"), "{body}");
}
