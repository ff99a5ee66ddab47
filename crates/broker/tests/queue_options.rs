//! Queue options enforced by the real broker on its real clock: message TTL
//! with a dead-letter queue, and both max-length overflow policies.

mod common;

use common::{Broker, payload, payloads};
use serde_json::json;
use std::time::{Duration, Instant};

#[tokio::test]
async fn a_message_left_unconsumed_past_its_ttl_is_dead_lettered_as_expired() {
    let broker = Broker::start().await;
    let mut client = broker.connect().await;
    client.declare("dlq", json!({})).await;
    client.declare("commands", json!({"message_ttl_ms": 200, "dead_letter": "dlq"})).await;

    let published = Instant::now();
    client.publish_to_queue("commands", "unlock the door").await;
    let mut undertaker = broker.connect().await;
    undertaker.subscribe("dlq", 10).await;

    let dead = undertaker.expect_type("deliver").await;
    assert!(published.elapsed() >= Duration::from_millis(150), "expired too early: {:?}", published.elapsed());
    assert_eq!((payload(&dead), dead["queue"].as_str()), ("unlock the door", Some("dlq")));
    assert_eq!(dead["headers"]["x-death-reason"], "expired", "{dead}");
    assert_eq!(dead["headers"]["x-death-queue"], "commands", "{dead}");
    let stats = broker.queue_stats("commands").await;
    assert_eq!((&stats["ready"], &stats["counters"]["dead_lettered"]), (&json!(0), &json!(1)), "{stats}");
}

#[tokio::test]
async fn a_full_drop_oldest_queue_keeps_the_newest_messages() {
    let broker = Broker::start().await;
    let mut client = broker.connect().await;
    client.declare("readings", json!({"max_length": 3, "overflow": "drop-oldest"})).await;
    for i in 1..=5 {
        client.publish_to_queue("readings", &format!("t{i}")).await;
    }

    let mut consumer = broker.connect().await;
    consumer.subscribe("readings", 10).await;
    assert_eq!(payloads(&consumer.deliveries(3).await), ["t3", "t4", "t5"]);
    consumer.expect_silence("the two oldest were dropped").await;
    assert_eq!(broker.queue_stats("readings").await["counters"]["dropped"], 2);
}

#[tokio::test]
async fn a_full_reject_publish_queue_refuses_the_next_publish_with_queue_full() {
    let broker = Broker::start().await;
    let mut client = broker.connect().await;
    client.declare("orders", json!({"max_length": 3, "overflow": "reject-publish"})).await;
    for i in 1..=3 {
        client.publish_to_queue("orders", &format!("o{i}")).await;
    }

    let refused = client.publish(json!({"queue": "orders"}), "o4").await;
    assert_eq!((&refused["type"], &refused["code"]), (&json!("error"), &json!("queue_full")), "{refused}");
    assert!(refused["id"].is_u64(), "the error echoes the publish id: {refused}");

    let mut consumer = broker.connect().await;
    consumer.subscribe("orders", 10).await;
    assert_eq!(payloads(&consumer.deliveries(3).await), ["o1", "o2", "o3"]);
    consumer.expect_silence("the fourth was refused").await;
    assert_eq!(broker.queue_stats("orders").await["counters"]["refused"], 1);
}
