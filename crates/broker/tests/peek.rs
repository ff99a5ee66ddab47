//! `peek` over a real WebSocket: a queue's first messages read and left in
//! place (a consumer afterwards gets them as first deliveries, none marked
//! redelivered), bounded, and ruled by the ACL like reading the queue.

mod common;

use common::Broker;
use serde_json::{Value, json};

/// The messages of a `peeked` reply.
fn messages(reply: &Value) -> &Vec<Value> {
    reply["messages"].as_array().unwrap_or_else(|| panic!("no messages in {reply}"))
}

/// Peeks `queue` with `limit`; returns the reply.
async fn peek(ws: &mut common::Ws, queue: &str, limit: u64) -> Value {
    let id = ws.id();
    ws.request(id, json!({"type": "peek", "id": id, "queue": queue, "limit": limit})).await
}

#[tokio::test]
async fn peek_leaves_the_messages_for_the_consumer_as_first_deliveries() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut ws = broker.connect().await;
    ws.hello(json!({"client_id": "owner"})).await;
    ws.declare("jobs", json!({})).await;
    for job in ["one", "two", "three"] {
        ws.publish_to_queue("jobs", job).await;
    }
    let mut viewer = broker.connect().await;
    viewer.hello(json!({"client_id": "dashboard"})).await;
    for _ in 0..2 {
        let reply = peek(&mut viewer, "jobs", 2).await;
        assert_eq!(reply["type"], "peeked", "{reply}");
        assert_eq!(reply["ready"], 3);
        let payloads: Vec<&str> = messages(&reply).iter().map(|m| m["payload"].as_str().unwrap_or_default()).collect();
        assert_eq!(payloads, ["one", "two"]);
        assert!(messages(&reply).iter().all(|m| m["delivery_count"] == 0));
    }
    let stats = broker.queue_stats("jobs").await;
    assert_eq!(stats["ready"], 3, "{stats}");
    let limit = peek(&mut viewer, "jobs", 1_000_000).await;
    assert_eq!(messages(&limit).len(), 3, "the limit is a bound, not a demand");

    let consumer = ws.subscribe("jobs", 10).await;
    let got = ws.deliveries(3).await;
    for (delivery, job) in got.iter().zip(["one", "two", "three"]) {
        assert_eq!((delivery["consumer"].as_u64(), delivery["payload"].as_str()), (Some(consumer), Some(job)));
        assert!(delivery.get("redelivered").is_none_or(|r| r == false), "peeked, not redelivered: {delivery}");
        assert_eq!(delivery["delivery_count"], 1, "{delivery}");
    }
    let missing = peek(&mut viewer, "nope", 1).await;
    assert_eq!(missing["code"], "queue_not_found", "{missing}");
}

#[tokio::test]
async fn peek_needs_read_on_the_queue_under_an_acl() {
    let dir = tempfile::tempdir().expect("a directory");
    let passwd = dir.path().join("passwd");
    common::mosquitto_passwd(&passwd, &[("owner", "ownerowner"), ("viewer", "viewerviewer"), ("guest", "guestguest")]);
    let acl = dir.path().join("acl");
    let rules = "user owner\nqueue all jobs\n\nuser viewer\nqueue read jobs\n\nuser guest\ntopic read home/#\n";
    std::fs::write(&acl, rules).expect("written");
    let args = [
        "--password-file",
        passwd.to_str().expect("a UTF-8 path"),
        "--acl-file",
        acl.to_str().expect("a UTF-8 path"),
        "--in-memory",
    ];
    let broker = Broker::start_with(&args).await;
    let mut owner = broker.connect().await;
    owner.hello(json!({"username": "owner", "password": "ownerowner"})).await;
    owner.declare("jobs", json!({})).await;
    owner.publish_to_queue("jobs", "secret plan").await;
    let mut viewer = broker.connect().await;
    viewer.hello(json!({"username": "viewer", "password": "viewerviewer"})).await;
    let reply = peek(&mut viewer, "jobs", 5).await;
    assert_eq!(reply["messages"][0]["payload"], "secret plan", "{reply}");
    let mut guest = broker.connect().await;
    guest.hello(json!({"username": "guest", "password": "guestguest"})).await;
    let reply = peek(&mut guest, "jobs", 5).await;
    assert_eq!(reply["code"], "not_authorized", "{reply}");
    assert_eq!(peek(&mut owner, "jobs", 5).await["ready"], 1, "still there for its owner");
}
