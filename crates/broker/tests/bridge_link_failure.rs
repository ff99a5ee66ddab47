//! A bridge whose remote goes away mid-stream: what is published locally
//! meanwhile waits in the bridge's bounded queue and reaches the remote once
//! it is back. The remote is Debian's `mosquitto`, stopped (SIGTERM, as a
//! service stop) and started again on the same port.

mod bridge_support;
mod common;

use bridge_support::{Mosquitto, Sub, bridge, bridge_table, connected, hearth_with, wait_bridge};
use std::collections::BTreeMap;
use std::process::Stdio;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::process::{Child, Command};

/// `mosquitto_pub -l` at QoS 1 on `topic`: each line written is one message.
fn line_publisher(port: u16, topic: &str) -> Child {
    Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-q", "1", "-t", topic, "-l"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("mosquitto_pub starts")
}

async fn send_lines(publisher: &mut Child, range: std::ops::RangeInclusive<u32>) {
    let stdin = publisher.stdin.as_mut().expect("stdin is piped");
    for n in range {
        stdin.write_all(format!("{n}\n").as_bytes()).await.expect("mosquitto_pub reads its input");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    stdin.flush().await.expect("flushed");
}

/// Counts a numbered payload.
fn count(seen: &mut BTreeMap<u32, u32>, line: &str) {
    let n: u32 = line.rsplit(' ').next().and_then(|p| p.parse().ok()).expect("a numbered payload");
    *seen.entry(n).or_insert(0) += 1;
}

/// Reads `sub` until every payload in `range` has been seen, adding to `seen`.
async fn collect(sub: &mut Sub, range: std::ops::RangeInclusive<u32>, seen: &mut BTreeMap<u32, u32>) {
    while !range.clone().all(|n| seen.contains_key(&n)) {
        count(seen, &sub.next().await);
    }
}

/// The persistent subscriber `id` at `port` again (its session kept what
/// arrived while it was away).
async fn resume(port: u16, id: &str) -> Sub {
    Sub::start(port, &["-t", "seq/#", "-q", "1", "-c", "-i", id], false).await
}

/// Every QoS 1 message published before, during and after the remote's
/// outage arrives there, and the backlog meanwhile stays within its bound.
#[tokio::test]
async fn every_qos1_message_arrives_after_the_remote_comes_back() {
    let mut remote = Mosquitto::start("").await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = bridge_table("up", remote.port, &["seq/# out 1"], "max_backlog_messages = 5000");
    let hearth = hearth_with(dir.path(), &config).await;
    connected(&hearth, "up").await;
    // A persistent subscriber at the remote: it reconnects by itself, and
    // mosquitto keeps its session across the restart.
    let mut far = Sub::start(remote.port, &["-t", "seq/#", "-q", "1", "-c", "-i", "far-sub"], true).await;
    let mut publisher = line_publisher(hearth.mqtt.port(), "seq/n");
    send_lines(&mut publisher, 1..=150).await;
    remote.stop().await;
    // What reached the remote before it stopped; the rest comes to the resumed session.
    let mut seen = BTreeMap::new();
    for line in far.drain().await {
        count(&mut seen, &line);
    }
    drop(far);
    send_lines(&mut publisher, 151..=400).await;
    let down = wait_bridge(&hearth, "up", "the backlog to hold the messages", |b| {
        b["state"] != "connected" && b["backlog"].as_u64() >= Some(200)
    })
    .await;
    assert!(down["backlog"].as_u64() <= Some(5000), "within its bound: {down}");
    assert!(down["last_error"].is_string(), "says why: {down}");
    // Local clients are served meanwhile.
    let mut near = Sub::start(hearth.mqtt.port(), &["-t", "seq/#", "-W", "5"], true).await;
    send_lines(&mut publisher, 401..=420).await;
    assert_eq!(near.next().await, "seq/n 401", "local subscribers do not wait for the link");
    remote.restart().await;
    send_lines(&mut publisher, 421..=500).await;
    drop(publisher.stdin.take());
    common::within("mosquitto_pub to finish", publisher.wait()).await.expect("it exits");
    let after = wait_bridge(&hearth, "up", "the backlog to drain", |b| b["backlog"] == 0).await;
    let mut far = resume(remote.port, "far-sub").await;
    collect(&mut far, 1..=500, &mut seen).await;
    let duplicates: u32 = seen.values().map(|n| n - 1).sum();
    assert!(duplicates <= 100, "at most the in-flight window again: {duplicates}");
    assert_eq!(after["state"], "connected", "{after}");
    assert_eq!(after["dropped"], 0, "{after}");
    assert!(after["connects"].as_u64() >= Some(2), "{after}");
}

/// Past `max_backlog_messages` the oldest waiting messages are dropped
/// (and counted): the newest reach the remote when it is back.
#[tokio::test]
async fn a_full_backlog_drops_its_oldest_and_counts_them() {
    let mut remote = Mosquitto::start("").await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = bridge_table("small", remote.port, &["seq/# out 1"], "max_backlog_messages = 50");
    let hearth = hearth_with(dir.path(), &config).await;
    connected(&hearth, "small").await;
    let far = Sub::start(remote.port, &["-t", "seq/#", "-q", "1", "-c", "-i", "far-small"], true).await;
    remote.stop().await;
    drop(far);
    wait_bridge(&hearth, "small", "down", |b| b["state"] != "connected").await;
    let mut publisher = line_publisher(hearth.mqtt.port(), "seq/n");
    send_lines(&mut publisher, 1..=200).await;
    drop(publisher.stdin.take());
    common::within("mosquitto_pub to finish", publisher.wait()).await.expect("it exits");
    let full = wait_bridge(&hearth, "small", "150 dropped", |b| b["dropped"] == 150).await;
    assert_eq!(full["backlog"], 50, "{full}");
    remote.restart().await;
    wait_bridge(&hearth, "small", "drained", |b| b["backlog"] == 0).await;
    let mut far = resume(remote.port, "far-small").await;
    let mut seen = BTreeMap::new();
    collect(&mut far, 151..=200, &mut seen).await;
    assert!(seen.keys().all(|n| *n > 150), "only the newest 50: {seen:?}");
    let status = bridge(&hearth, "small").await;
    let metrics = hearth.get("/metrics").await.1;
    assert!(metrics.contains("hearth_bridge_dropped_total{bridge=\"small\"} 150"), "{status} {metrics}");
}

/// A message is acked here only once the remote acknowledged it: with the
/// remote frozen (written to, answering nothing) the messages stay in the
/// backlog, in flight, and when it is killed and started again they all
/// reach it.
#[tokio::test]
async fn messages_the_remote_never_acknowledged_are_sent_again() {
    let mut remote = Mosquitto::start("").await;
    // A persistent subscriber whose session is on the remote's disk: it
    // survives the remote being killed later.
    let far = Sub::start(remote.port, &["-t", "seq/#", "-q", "1", "-c", "-i", "far-frozen"], true).await;
    remote.stop().await;
    drop(far);
    remote.restart().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let hearth = hearth_with(dir.path(), &bridge_table("frozen", remote.port, &["seq/# out 1"], "")).await;
    connected(&hearth, "frozen").await;
    remote.signal("STOP");
    let mut publisher = line_publisher(hearth.mqtt.port(), "seq/n");
    send_lines(&mut publisher, 1..=30).await;
    drop(publisher.stdin.take());
    common::within("mosquitto_pub to finish", publisher.wait()).await.expect("it exits");
    let held = wait_bridge(&hearth, "frozen", "30 in flight", |b| b["in_flight"] == 30).await;
    assert_eq!((held["backlog"].as_u64(), held["sent"].as_u64()), (Some(30), Some(0)), "nothing acked: {held}");
    remote.signal("KILL");
    remote.wait_exit().await;
    remote.restart().await;
    wait_bridge(&hearth, "frozen", "drained", |b| b["backlog"] == 0 && b["sent"] == 30).await;
    let mut far = resume(remote.port, "far-frozen").await;
    let mut seen = BTreeMap::new();
    collect(&mut far, 1..=30, &mut seen).await;
}

/// The backlog is on disk: messages waiting for a dead link survive the
/// local broker being killed (kill -9) and go out after it restarts.
#[tokio::test]
async fn the_backlog_survives_a_crash_of_the_local_broker() {
    let mut remote = Mosquitto::start("").await;
    let far = Sub::start(remote.port, &["-t", "seq/#", "-q", "1", "-c", "-i", "far-crash"], true).await;
    remote.stop().await;
    drop(far);
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config = bridge_table("edge", remote.port, &["seq/# out 1"], "");
    let mut hearth = hearth_with(dir.path(), &config).await;
    wait_bridge(&hearth, "edge", "down", |b| b["last_error"].is_string()).await;
    let mut publisher = line_publisher(hearth.mqtt.port(), "seq/n");
    send_lines(&mut publisher, 1..=50).await;
    drop(publisher.stdin.take());
    common::within("mosquitto_pub to finish", publisher.wait()).await.expect("it exits");
    wait_bridge(&hearth, "edge", "50 waiting", |b| b["backlog"] == 50).await;
    hearth.kill9().await;
    remote.restart().await;
    let hearth = hearth_with(dir.path(), &config).await;
    wait_bridge(&hearth, "edge", "drained", |b| b["backlog"] == 0 && b["sent"] == 50).await;
    let mut far = resume(remote.port, "far-crash").await;
    let mut seen = BTreeMap::new();
    collect(&mut far, 1..=50, &mut seen).await;
}
