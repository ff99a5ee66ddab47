//! The broker under misbehaving clients: a consumer that dies holding
//! unacked messages, and a client flooding it with broken frames.

mod common;

use common::{Broker, Ws, payload, payloads};
use serde_json::{Value, json};
use std::collections::{BTreeSet, HashSet};
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn a_consumer_killed_mid_stream_has_its_unacked_messages_redelivered_to_the_other_and_none_are_lost() {
    const N: usize = 50;
    let broker = Broker::start().await;
    let mut publisher = broker.connect().await;
    publisher.declare("work", json!({})).await;
    let mut doomed = broker.connect().await;
    let mut survivor = broker.connect().await;
    doomed.subscribe("work", 10).await;
    survivor.subscribe("work", 10).await;
    for i in 0..N {
        publisher.publish_to_queue("work", &format!("job-{i:02}")).await;
    }

    let held: BTreeSet<String> = doomed.deliveries(10).await.iter().map(|d| payload(d).to_owned()).collect();
    let mut got: Vec<Value> = Vec::new();
    for _ in 0..5 {
        let delivery = survivor.expect_type("deliver").await;
        survivor.ack(&delivery).await;
        got.push(delivery);
    }
    doomed.kill();
    while got.len() < N {
        let delivery = survivor.expect_type("deliver").await;
        survivor.ack(&delivery).await;
        got.push(delivery);
    }
    survivor.expect_silence("every message arrived exactly once").await;

    let received: Vec<&str> = payloads(&got);
    let distinct: HashSet<&str> = received.iter().copied().collect();
    assert_eq!(distinct.len(), N, "duplicates among {received:?}");
    let all: HashSet<String> = (0..N).map(|i| format!("job-{i:02}")).collect();
    assert_eq!(distinct, all.iter().map(String::as_str).collect(), "lost messages");
    let redelivered: BTreeSet<String> =
        got.iter().filter(|d| d["redelivered"] == true).map(|d| payload(d).to_owned()).collect();
    assert_eq!(redelivered, held, "exactly the killed consumer's messages come back, flagged");
    for d in &got {
        let expected = if held.contains(payload(d)) { 2 } else { 1 };
        assert_eq!(d["delivery_count"], expected, "{d}");
    }

    survivor.ping().await;
    let stats = broker.queue_stats("work").await;
    assert_eq!((&stats["ready"], &stats["unacked"], &stats["consumers"]), (&json!(0), &json!(0), &json!(1)), "{stats}");
    assert_eq!((&stats["counters"]["acked"], &stats["counters"]["redelivered"]), (&json!(N), &json!(10)), "{stats}");
}

/// Broken frames and the error code each must get, with the id it echoes.
fn bad_frames() -> Vec<(Message, &'static str, Option<u64>)> {
    let huge = json!({"type": "publish", "queue": "telemetry", "payload": "x".repeat(5000)}).to_string();
    vec![
        (Message::text("this is not json"), "malformed", None),
        (Message::text(r#"{"type": "publish", "topic": "#), "malformed", None),
        (Message::text(r#"{"type": "teleport", "id": 5}"#), "unknown_type", Some(5)),
        (Message::text(r#"{"type": "publish", "id": 6, "queue": 42}"#), "invalid_frame", Some(6)),
        (Message::text(r#"{"type": "subscribe", "id": 7, "prefetch": "lots"}"#), "invalid_frame", Some(7)),
        (Message::text(r#"{"type": "ack", "tag": 1, "colour": "red"}"#), "invalid_frame", None),
        (Message::text(r#"{"id": 8}"#), "invalid_frame", Some(8)),
        (Message::binary(vec![0xde, 0xad, 0xbe, 0xef]), "malformed", None),
        (Message::text(huge), "frame_too_large", None),
    ]
}

/// Sends `rounds` × [`bad_frames`], then checks every answer and that the connection still works.
async fn flood(attacker: &mut Ws, rounds: usize) {
    let frames = bad_frames();
    for _ in 0..rounds {
        for (message, _, _) in &frames {
            attacker.send_raw(message.clone()).await;
        }
    }
    for round in 0..rounds {
        for (message, code, id) in &frames {
            let error = attacker.expect_error(code).await;
            assert_eq!(error["id"].as_u64(), *id, "round {round}, {message:?}: {error}");
            assert!(error["message"].as_str().is_some_and(|m| !m.is_empty()), "errors explain themselves: {error}");
        }
    }
    attacker.ping().await;
}

/// Publishes `n` messages to `queue`, each confirmed.
async fn publish_stream(publisher: &mut Ws, queue: &str, n: usize) {
    for i in 0..n {
        publisher.publish_to_queue(queue, &format!("reading-{i}")).await;
    }
}

#[tokio::test]
async fn a_flood_of_malformed_frames_gets_an_error_for_each_and_harms_no_one() {
    const N: usize = 300;
    let broker = Broker::start_with(&["--max-frame-bytes", "4096"]).await;
    let mut publisher = broker.connect().await;
    publisher.declare("telemetry", json!({})).await;
    let mut consumer = broker.connect().await;
    consumer.subscribe("telemetry", 1000).await;
    let mut attacker = broker.connect().await;

    let (_, _, stream) =
        tokio::join!(flood(&mut attacker, 20), publish_stream(&mut publisher, "telemetry", N), consumer.deliveries(N));

    let expected: Vec<String> = (0..N).map(|i| format!("reading-{i}")).collect();
    assert_eq!(payloads(&stream), expected, "the concurrent stream is complete and in order");
    assert!(stream.iter().all(|d| d["delivery_count"] == 1), "nothing was redelivered");
    consumer.expect_silence("nothing extra").await;
    attacker.publish_to_queue("telemetry", "the attacker is still a client").await;
    assert_eq!(payload(&consumer.expect_type("deliver").await), "the attacker is still a client");
}
