//! Messaging through the real `hearth` binary: routing, acks, competing
//! consumers, prefetch.

mod common;

use common::{Broker, payload, payloads};
use serde_json::json;

#[tokio::test]
async fn a_message_published_to_a_bound_topic_is_delivered_acked_and_leaves_the_queue_empty() {
    let broker = Broker::start().await;
    let mut client = broker.connect().await;
    client.declare("lights", json!({})).await;
    client.bind("lights", "home/+/light").await;

    let confirm = client.publish(json!({"topic": "home/kitchen/light"}), "on").await;
    assert_eq!(confirm, json!({"type": "confirm", "id": confirm["id"], "routed": 1}));

    let consumer = client.subscribe("lights", 10).await;
    let delivery = client.expect_type("deliver").await;
    assert_eq!(delivery["consumer"], consumer);
    assert_eq!((delivery["queue"].as_str(), delivery["topic"].as_str()), (Some("lights"), Some("home/kitchen/light")));
    assert_eq!((payload(&delivery), &delivery["delivery_count"]), ("on", &json!(1)));
    assert!(delivery.get("redelivered").is_none(), "a first delivery is not redelivered: {delivery}");

    client.ack(&delivery).await;
    client.ping().await; // the ack has been handled once the pong is back
    let stats = broker.queue_stats("lights").await;
    assert_eq!((&stats["ready"], &stats["unacked"], &stats["consumers"]), (&json!(0), &json!(0), &json!(1)), "{stats}");
    assert_eq!((&stats["counters"]["enqueued"], &stats["counters"]["acked"]), (&json!(1), &json!(1)), "{stats}");
    assert_eq!(stats["bindings"], json!(["home/+/light"]));
}

#[tokio::test]
async fn two_consumers_on_one_queue_share_it_round_robin() {
    let broker = Broker::start().await;
    let mut publisher = broker.connect().await;
    publisher.declare("jobs", json!({})).await;
    let mut first = broker.connect().await;
    let mut second = broker.connect().await;
    first.subscribe("jobs", 100).await;
    second.subscribe("jobs", 100).await;

    for i in 0..10 {
        publisher.publish_to_queue("jobs", &format!("m{i}")).await;
    }

    let (a, b) = tokio::join!(first.deliveries(5), second.deliveries(5));
    assert_eq!(payloads(&a), ["m0", "m2", "m4", "m6", "m8"]);
    assert_eq!(payloads(&b), ["m1", "m3", "m5", "m7", "m9"]);
    first.expect_silence("five each").await;
    second.expect_silence("five each").await;
}

#[tokio::test]
async fn a_consumer_never_holds_more_unacked_deliveries_than_its_prefetch() {
    let broker = Broker::start().await;
    let mut publisher = broker.connect().await;
    publisher.declare("jobs", json!({})).await;
    let mut consumer = broker.connect().await;
    consumer.subscribe("jobs", 3).await;

    for i in 0..10 {
        publisher.publish_to_queue("jobs", &format!("m{i}")).await;
    }
    let first = consumer.deliveries(3).await;
    assert_eq!(payloads(&first), ["m0", "m1", "m2"]);
    consumer.expect_silence("prefetch 3 with nothing acked").await;
    let stats = broker.queue_stats("jobs").await;
    assert_eq!((&stats["ready"], &stats["unacked"]), (&json!(7), &json!(3)), "{stats}");

    consumer.ack(&first[0]).await;
    let next = consumer.expect_type("deliver").await;
    assert_eq!(payload(&next), "m3");
    consumer.expect_silence("one ack frees one slot").await;
}
