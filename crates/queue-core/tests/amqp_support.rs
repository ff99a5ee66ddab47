//! What AMQP stands on: `inspect`, `purge` and `get` (its passive
//! declare, `queue.purge` and `basic.get`), and dead letters published to
//! a topic (its dead-letter exchanges). Runs natively and as wasm under Node.

mod common;

use common::Harness;
use queue_core::protocol::{Delivery, ErrorCode, ServerFrame};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

/// The `got` reply among `frames`: its delivery (if any) and ready count.
fn got(frames: Vec<ServerFrame>) -> (Option<Delivery>, u64) {
    frames
        .into_iter()
        .find_map(|f| match f {
            ServerFrame::Got { delivery, ready, .. } => Some((delivery.map(|d| *d), ready)),
            ServerFrame::Error { code, message, .. } => panic!("unexpected error {code:?}: {message}"),
            _ => None,
        })
        .expect("a got reply")
}

#[wasm_bindgen_test(unsupported = test)]
fn inspect_answers_for_a_queue_that_exists_and_creates_none() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "jobs", json!({}));
    h.publish_queue(1, "jobs", "a");
    h.take(1);
    h.send(1, json!({"type": "inspect", "id": 7, "queue": "jobs"}));
    assert_eq!(h.take(1), [ServerFrame::Declared { id: 7, queue: "jobs".into(), ready: 1, consumers: 0 }]);
    h.send(1, json!({"type": "inspect", "id": 8, "queue": "nope"}));
    assert!(matches!(&h.take(1)[..], [ServerFrame::Error { id: Some(8), code: ErrorCode::QueueNotFound, .. }]));
    assert!(h.engine.queue_stats("nope").is_none(), "inspect created nothing");
}

#[wasm_bindgen_test(unsupported = test)]
fn purge_drops_the_ready_messages_and_leaves_the_unacked_with_their_consumer() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "jobs", json!({}));
    for i in 0..5 {
        h.publish_queue(1, "jobs", &format!("m{i}"));
    }
    h.connect(2);
    h.subscribe(2, "jobs", 2, "manual");
    let held = h.deliveries(2);
    assert_eq!(held.len(), 2);
    h.take(1);
    h.send(1, json!({"type": "purge", "id": 3, "queue": "jobs"}));
    assert_eq!(h.take(1), [ServerFrame::Purged { id: 3, messages: 3 }]);
    let q = h.queue("jobs");
    assert_eq!((q.ready, q.unacked), (0, 2));
    // A nacked one comes back after the purge: it was not purged.
    h.send(2, json!({"type": "nack", "tag": held[0].tag, "requeue": true}));
    assert_eq!(h.queue("jobs").ready + h.queue("jobs").unacked, 2);
    assert!(h.engine.memory().used > 0);
    h.send(2, json!({"type": "unsubscribe", "id": 4, "consumer": held[0].consumer}));
    h.send(1, json!({"type": "purge", "id": 5, "queue": "jobs"}));
    assert_eq!(h.take(1), [ServerFrame::Purged { id: 5, messages: 2 }]);
    assert_eq!(h.engine.memory().used, 0, "purged bytes leave the budget");
}

#[wasm_bindgen_test(unsupported = test)]
fn get_takes_one_message_in_order_and_answers_empty_on_an_empty_queue() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "jobs", json!({}));
    h.publish_queue(1, "jobs", "first");
    h.publish_queue(1, "jobs", "second");
    h.take(1);
    h.send(1, json!({"type": "get", "id": 1, "queue": "jobs"}));
    let (delivery, ready) = got(h.take(1));
    let delivery = delivery.expect("a message");
    assert_eq!((&delivery.payload.0[..], ready, delivery.consumer), (&b"first"[..], 1, 0));
    assert_eq!(h.queue("jobs").unacked, 1, "manual: held until acked");
    h.send(1, json!({"type": "ack", "tag": delivery.tag}));
    assert_eq!(h.queue("jobs").unacked, 0);
    h.send(1, json!({"type": "get", "id": 2, "queue": "jobs", "ack": "auto"}));
    let (delivery, ready) = got(h.take(1));
    assert_eq!((delivery.expect("a message").tag, ready), (None, 0));
    assert_eq!((h.queue("jobs").ready, h.queue("jobs").unacked), (0, 0), "auto: gone at once");
    h.send(1, json!({"type": "get", "id": 3, "queue": "jobs"}));
    assert_eq!(h.take(1), [ServerFrame::Got { id: 3, delivery: None, ready: 0 }]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_message_got_and_not_acked_comes_back_redelivered_when_its_connection_goes() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "jobs", json!({}));
    h.publish_queue(1, "jobs", "job");
    h.connect(2);
    h.send(2, json!({"type": "get", "id": 1, "queue": "jobs"}));
    assert!(got(h.take(2)).0.is_some());
    h.disconnect(2);
    let q = h.queue("jobs");
    assert_eq!((q.ready, q.unacked), (1, 0), "returned to the queue");
    h.connect(3);
    h.subscribe(3, "jobs", 1, "manual");
    let again = h.deliveries(3);
    assert!(again[0].redelivered && again[0].delivery_count == 2);
}

#[wasm_bindgen_test(unsupported = test)]
fn get_skips_expired_messages() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "jobs", json!({"message_ttl_ms": 100}));
    h.publish_queue(1, "jobs", "old");
    h.now += 200;
    h.publish_queue(1, "jobs", "new");
    h.take(1);
    h.send(1, json!({"type": "get", "id": 1, "queue": "jobs", "ack": "auto"}));
    let (delivery, _) = got(h.take(1));
    assert_eq!(&delivery.expect("the fresh one").payload.0[..], b"new");
}

#[wasm_bindgen_test(unsupported = test)]
fn dead_letters_published_to_a_topic_reach_every_queue_bound_to_it() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "dead-a", json!({}));
    h.declare(1, "dead-b", json!({}));
    h.declare(1, "other", json!({}));
    h.bind(1, "dead-a", "$dlx/#");
    h.bind(1, "dead-b", "$dlx/jobs");
    h.bind(1, "other", "#");
    h.declare(1, "jobs", json!({"message_ttl_ms": 10, "dead_letter_topic": "$dlx/jobs"}));
    h.publish_queue(1, "jobs", "late");
    h.advance(20);
    for queue in ["dead-a", "dead-b"] {
        assert_eq!(h.queue(queue).ready, 1, "{queue}");
    }
    assert_eq!(h.queue("other").ready, 0, "`#` does not match `$` topics");
    let jobs = h.queue("jobs");
    assert_eq!((jobs.ready, jobs.counters.dead_lettered, jobs.counters.expired), (0, 1, 0));
    // One copy moved, one more made: the second is counted as routed, so
    // every copy in a queue is still accounted for.
    let c = h.engine.counters();
    assert_eq!((c.published, c.routed, c.dead_lettered), (1, 2, 1));
    h.connect(2);
    h.subscribe(2, "dead-a", 1, "auto");
    let dead = h.deliveries(2);
    assert_eq!(&*dead[0].topic, "$dlx/jobs", "the copy carries the dead-letter topic");
    assert_eq!(dead[0].headers.get("x-death-reason").map(String::as_str), Some("expired"));
    // Nothing bound to the topic: the message is counted as expired.
    h.declare(1, "lonely", json!({"message_ttl_ms": 10, "dead_letter_topic": "$nobody"}));
    h.publish_queue(1, "lonely", "x");
    h.advance(20);
    assert_eq!(h.queue("lonely").counters.expired, 1);
    // Both kinds of dead letter at once is refused.
    h.take(1);
    h.send(
        1,
        json!({"type": "declare", "id": 9, "queue": "both", "options": {"dead_letter": "a", "dead_letter_topic": "b"}}),
    );
    assert!(matches!(&h.take(1)[..], [ServerFrame::Error { code: ErrorCode::InvalidOption, .. }]));
}
