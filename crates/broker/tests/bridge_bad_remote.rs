//! Bridges that cannot connect (nothing listening, a wrong password) say
//! so in the log and in `/api/bridges`, and the broker serves its local
//! clients regardless.

mod bridge_support;
mod common;

use bridge_support::{Mosquitto, Sub, bridge_table, free_port, hearth_with, publish, wait_bridge};

#[tokio::test]
async fn unreachable_and_refused_remotes_are_reported_and_local_clients_served() {
    let dir = tempfile::tempdir().expect("a temporary directory");
    let passwd = dir.path().join("remote.passwd");
    common::mosquitto_passwd(&passwd, &[("hearth", "right")]);
    let locked = Mosquitto::start(&format!("allow_anonymous false\npassword_file {}", passwd.display())).await;
    let config = [
        bridge_table("nowhere", free_port(), &["home/# out 1"], ""),
        bridge_table("locked", locked.port, &["home/# out 1"], "username = \"hearth\"\npassword = \"wrong\""),
    ]
    .concat();
    let hearth = hearth_with(dir.path(), &config).await;
    let nowhere = wait_bridge(&hearth, "nowhere", "an error", |b| b["last_error"].is_string()).await;
    assert_ne!(nowhere["state"], "connected");
    let why = nowhere["last_error"].as_str().unwrap_or_default();
    assert!(why.contains("refused"), "says the connection was refused: {nowhere}");
    let refused = wait_bridge(&hearth, "locked", "an error", |b| b["last_error"].is_string()).await;
    let why = refused["last_error"].as_str().unwrap_or_default();
    assert!(why.contains("BadUserNamePassword") || why.contains("NotAuthorized"), "says the login failed: {refused}");

    // Local clients are served, and what they publish waits for the links.
    let mut sub = Sub::start(hearth.mqtt.port(), &["-t", "home/#", "-q", "1"], true).await;
    publish(hearth.mqtt.port(), &["-t", "home/door", "-m", "locked", "-q", "1"]).await;
    assert_eq!(sub.next().await, "home/door locked");
    wait_bridge(&hearth, "locked", "the message waiting", |b| b["backlog"] == 1).await;

    let log = std::fs::read_to_string(dir.path().join("hearth.log")).expect("the log is readable");
    for name in ["nowhere", "locked"] {
        let line = log.lines().find(|l| l.contains("link down") && l.contains(&format!("bridge={name}")));
        assert!(line.is_some(), "a log line for {name}:\n{log}");
    }
}
