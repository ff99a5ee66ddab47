//! `peek`: a queue's first ready messages read without taking them. The
//! messages stay ready, in order, with their delivery counts, and the next
//! consumer gets them as first deliveries (not redelivered); the limit and
//! the payload size are bounded; the ACL rules it like reading the queue.
//! Runs natively and as wasm under Node.

mod common;

use common::Harness;
use queue_core::protocol::{ErrorCode, MAX_PEEK, PEEK_PAYLOAD_BYTES, PeekedMessage, ServerFrame};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

/// The `peeked` reply among `frames`: ready in all, and the messages.
fn peeked(frames: Vec<ServerFrame>) -> (u64, Vec<PeekedMessage>) {
    frames
        .into_iter()
        .find_map(|f| match f {
            ServerFrame::Peeked { ready, messages, .. } => Some((ready, messages)),
            ServerFrame::Error { code, message, .. } => panic!("unexpected error {code:?}: {message}"),
            _ => None,
        })
        .expect("a peeked reply")
}

fn texts(messages: &[PeekedMessage]) -> Vec<String> {
    messages.iter().map(|m| String::from_utf8_lossy(&m.payload.0).into_owned()).collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn peek_reads_the_first_messages_and_leaves_them_as_they_were() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "jobs", json!({}));
    for i in 0..5 {
        h.publish_queue(1, "jobs", &format!("m{i}"));
    }
    h.take(1);
    let before = h.queue("jobs");
    h.send(1, json!({"type": "peek", "id": 9, "queue": "jobs", "limit": 3}));
    let (ready, messages) = peeked(h.take(1));
    assert_eq!((ready, texts(&messages)), (5, vec!["m0".to_string(), "m1".into(), "m2".into()]));
    assert!(messages.iter().all(|m| m.delivery_count == 0 && !m.truncated && m.bytes == 2));
    let after = h.queue("jobs");
    assert_eq!((after.ready, after.unacked), (before.ready, before.unacked));
    assert_eq!(after.counters, before.counters, "no delivery, requeue or redelivery counted");
    h.send(1, json!({"type": "peek", "id": 10, "queue": "jobs"}));
    assert_eq!(peeked(h.take(1)).1.len(), 5, "without a limit: the default, here all five");

    // The consumer after the peek gets every message, in order, first time.
    h.connect(2);
    h.subscribe(2, "jobs", 10, "manual");
    let got = h.deliveries(2);
    assert_eq!(common::payloads(&got), ["m0", "m1", "m2", "m3", "m4"]);
    assert!(got.iter().all(|d| !d.redelivered && d.delivery_count == 1));
}

#[wasm_bindgen_test(unsupported = test)]
fn peek_shows_a_requeued_message_with_its_count_and_skips_the_unacked() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "jobs", json!({}));
    h.publish_queue(1, "jobs", "a");
    h.publish_queue(1, "jobs", "b");
    h.connect(2);
    h.subscribe(2, "jobs", 1, "manual");
    let held = h.deliveries(2);
    h.send(1, json!({"type": "peek", "id": 1, "queue": "jobs"}));
    let (ready, messages) = peeked(h.take(1));
    assert_eq!((ready, texts(&messages)), (1, vec!["b".to_string()]), "the unacked one is not ready");
    h.send(2, json!({"type": "unsubscribe", "id": 2, "consumer": held[0].consumer}));
    h.send(1, json!({"type": "peek", "id": 3, "queue": "jobs"}));
    let (_, messages) = peeked(h.take(1));
    assert_eq!(texts(&messages), ["a", "b"]);
    assert_eq!(messages[0].delivery_count, 1, "delivered once before: its next delivery is a redelivery");
}

#[wasm_bindgen_test(unsupported = test)]
fn peek_bounds_its_limit_and_payloads() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "big", json!({}));
    for _ in 0..MAX_PEEK + 20 {
        h.publish_queue(1, "big", "x");
    }
    let long = "é".repeat(PEEK_PAYLOAD_BYTES);
    h.publish_queue(1, "big", &long);
    h.take(1);
    h.send(1, json!({"type": "peek", "id": 1, "queue": "big", "limit": 100_000}));
    let (ready, messages) = peeked(h.take(1));
    assert_eq!((ready, messages.len()), (u64::from(MAX_PEEK) + 21, MAX_PEEK as usize));

    h.declare(1, "long", json!({}));
    h.publish_queue(1, "long", &long);
    h.take(1);
    h.send(1, json!({"type": "peek", "id": 2, "queue": "long", "limit": 1}));
    let (_, messages) = peeked(h.take(1));
    let m = &messages[0];
    assert!(m.truncated && m.payload.len() <= PEEK_PAYLOAD_BYTES && m.bytes == long.len() as u64);
    assert!(m.payload.as_str().is_some(), "cut on a character: still text");
    assert_eq!(h.queue("long").ready, 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn peek_at_a_missing_queue_is_an_error_and_an_exclusive_one_may_be_read() {
    let mut h = Harness::new();
    h.connect(1);
    h.send(1, json!({"type": "peek", "id": 4, "queue": "nope"}));
    assert!(matches!(&h.take(1)[..], [ServerFrame::Error { id: Some(4), code: ErrorCode::QueueNotFound, .. }]));
    h.connect(2);
    h.declare(2, "mine", json!({"exclusive": true}));
    h.publish_queue(2, "mine", "private");
    h.send(1, json!({"type": "peek", "id": 5, "queue": "mine"}));
    assert_eq!(texts(&peeked(h.take(1)).1), ["private"]);
    assert_eq!(h.queue("mine").ready, 1);
}
