//! `hearth` as a terminal tool: `pub` and `sub` as real processes, and the
//! errors `serve` gives when it cannot start.

mod common;

use common::{Broker, hearth, run_hearth, within};
use serde_json::Value;
use std::net::TcpListener;
use std::process::Stdio;
use tokio::io::{AsyncBufReadExt, BufReader};

#[tokio::test]
async fn hearth_sub_prints_what_two_hearth_pub_calls_publish_and_exits_after_count() {
    let broker = Broker::start().await;
    let url = broker.addr.to_string();
    let mut sub = hearth()
        .args(["sub", "-u", &url, "-t", "home/#", "-n", "2", "--format", "json"])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("hearth sub starts");
    let mut stderr = BufReader::new(sub.stderr.take().expect("stderr is piped"));
    let mut line = String::new();
    within("hearth sub to subscribe", stderr.read_line(&mut line)).await.expect("stderr is readable");
    assert!(line.starts_with("subscribed to home/#"), "unexpected first line from hearth sub: {line:?}");

    for (topic, message) in [("home/kitchen/temperature", "21.5"), ("home/hall/door/lock", "locked")] {
        let out = run_hearth(&["pub", "-u", &url, "-t", topic, message]).await;
        assert!(out.status.success(), "hearth pub failed: {}", String::from_utf8_lossy(&out.stderr));
        assert!(String::from_utf8_lossy(&out.stdout).contains("routed to 1 queue"), "{out:?}");
    }

    let out = within("hearth sub to exit", sub.wait_with_output()).await.expect("hearth sub's output is readable");
    assert!(out.status.success(), "hearth sub exits 0 after -n 2, got {}", out.status);
    let stdout = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    let frames: Vec<Value> =
        stdout.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}"))).collect();
    let got: Vec<(&str, &str)> = frames
        .iter()
        .map(|f| {
            assert_eq!(f["type"], "deliver", "{f}");
            (f["topic"].as_str().unwrap_or_default(), f["payload"].as_str().unwrap_or_default())
        })
        .collect();
    assert_eq!(got, [("home/kitchen/temperature", "21.5"), ("home/hall/door/lock", "locked")]);
}

#[tokio::test]
async fn hearth_pub_to_a_missing_queue_fails_with_a_clear_message() {
    let broker = Broker::start().await;
    let out = run_hearth(&["pub", "-u", &broker.addr.to_string(), "-q", "nowhere", "hello"]).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "publishing to a missing queue must fail");
    assert!(stderr.contains("no queue named `nowhere`"), "stderr: {stderr}");
    assert!(stderr.contains("declare it"), "stderr says what to do: {stderr}");
}

#[tokio::test]
async fn serve_on_a_busy_port_fails_saying_the_address_is_already_in_use() {
    let taken = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let addr = taken.local_addr().expect("bound address").to_string();
    let out = run_hearth(&[
        "serve",
        "--listen",
        &addr,
        "--mqtt-listen",
        "127.0.0.1:0",
        "--amqp-listen",
        "127.0.0.1:0",
        "--in-memory",
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve on a busy port must fail");
    assert!(stderr.contains("already in use") && stderr.contains(&addr), "stderr: {stderr}");
}

#[tokio::test]
async fn a_second_broker_on_the_same_data_directory_is_refused_saying_why() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let _running = Broker::start_in(dir.path(), &[]).await;
    let dir = dir.path().to_str().expect("a UTF-8 path");
    let out = run_hearth(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--mqtt-listen",
        "127.0.0.1:0",
        "--amqp-listen",
        "127.0.0.1:0",
        "--data-dir",
        dir,
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "two brokers on one data directory must not both run");
    assert!(stderr.contains("in use by another hearth") && stderr.contains("--data-dir"), "stderr: {stderr}");
    assert!(!String::from_utf8_lossy(&out.stdout).contains("listening"), "it says nothing about listening first");
    // A file where the directory should be is a clear error too.
    let file = tempfile::NamedTempFile::new().expect("a temporary file");
    let path = file.path().to_str().expect("a UTF-8 path");
    let out = run_hearth(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--mqtt-listen",
        "127.0.0.1:0",
        "--amqp-listen",
        "127.0.0.1:0",
        "--data-dir",
        path,
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("data directory") && stderr.contains(path), "stderr: {stderr}");
}

#[tokio::test]
async fn serve_with_a_missing_dashboard_folder_fails_mentioning_index_html() {
    let out = run_hearth(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--mqtt-listen",
        "127.0.0.1:0",
        "--amqp-listen",
        "127.0.0.1:0",
        "--dist",
        "/nonexistent",
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "serve --dist /nonexistent must fail");
    assert!(stderr.contains("index.html") && stderr.contains("/nonexistent"), "stderr: {stderr}");
}

#[tokio::test]
async fn serve_with_an_unknown_flag_fails_with_usage() {
    let out = run_hearth(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--mqtt-listen",
        "127.0.0.1:0",
        "--amqp-listen",
        "127.0.0.1:0",
        "--frobnicate",
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "an unknown flag must fail");
    assert!(stderr.contains("unexpected argument '--frobnicate'") && stderr.contains("Usage"), "stderr: {stderr}");
}

#[tokio::test]
async fn hearth_bench_in_mqtt_mode_delivers_every_message_at_qos_0_and_1() {
    // A benchmark counts every message: session queues may not drop any
    // (by default one holds 1000 beyond those in flight, as Mosquitto's).
    let broker = Broker::start_with(&["--mqtt-max-queued-messages", "1000000"]).await;
    let addr = broker.mqtt.to_string();
    for (qos, extra) in [("0", &["-C", "1"][..]), ("1", &["-C", "2"][..]), ("1", &["--fanout", "3"][..])] {
        let mut args = vec!["bench", "--protocol", "mqtt", "-u", &addr, "-n", "2000", "--qos", qos, "--duration", "10"];
        args.extend_from_slice(extra);
        let out = run_hearth(&args).await;
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "hearth bench {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        assert!(stdout.contains("delivered") && !stdout.contains("INCOMPLETE"), "{args:?}: {stdout}");
    }
}
