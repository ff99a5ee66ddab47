//! What comes in by a bridge respects the memory budget: while publishers
//! are blocked, a QoS 1 message from the remote waits unacknowledged (the
//! remote keeps it) and is published once they are let go; a QoS 0 one is
//! dropped and counted.

mod bridge_support;
mod common;

use bridge_support::{Mosquitto, Sub, bridge_table, connected, hearth_with, publish, wait_bridge};
use serde_json::json;

#[tokio::test]
async fn messages_from_the_remote_wait_while_the_memory_budget_blocks_publishers() {
    let remote = Mosquitto::start("").await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let config =
        format!("memory_limit = \"2MiB\"\n{}", bridge_table("cloud", remote.port, &["cmd/# in 1 home/ site/"], ""));
    let hearth = hearth_with(dir.path(), &config).await;
    connected(&hearth, "cloud").await;
    let mut near = Sub::start(hearth.mqtt.port(), &["-t", "home/cmd/#", "-q", "1"], true).await;

    // A queue nobody consumes fills the budget.
    let mut filler = hearth.connect().await;
    filler.declare("pile", json!({})).await;
    let big = "x".repeat(256 << 10);
    for _ in 0..12 {
        filler.send(json!({"type": "publish", "queue": "pile", "payload": big})).await;
    }
    common::within("publishers to be blocked", async {
        while hearth.get_json("/api/overview").await["memory"]["blocked"] != true {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;

    publish(remote.port, &["-t", "site/cmd/door", "-m", "unlock", "-q", "1"]).await;
    publish(remote.port, &["-t", "site/cmd/light", "-m", "on", "-q", "0"]).await;
    wait_bridge(&hearth, "cloud", "the QoS 0 one dropped", |b| b["in_dropped"] == 1).await;
    assert_eq!(near.drain().await, Vec::<String>::new(), "nothing is published while blocked");

    // Room again: the held message is published (and acknowledged to the remote).
    let mut admin = hearth.connect().await;
    admin.request_ok(1, json!({"type": "purge", "id": 1, "queue": "pile"}), "purged").await;
    assert_eq!(near.next().await, "home/cmd/door unlock");
    assert_eq!(near.drain().await, Vec::<String>::new(), "the QoS 0 one stays dropped");
}
