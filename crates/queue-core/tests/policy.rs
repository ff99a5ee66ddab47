//! `Engine::set_queue_policy` and `Engine::queue_contents`, with a hand-driven clock.
//! Runs natively and, through wasm-bindgen-test, as wasm under Node.

mod common;

use common::{Harness, payloads};
use queue_core::{EngineError, Overflow, QueueOptions};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

fn jobs_with(h: &mut Harness, count: usize) {
    h.connect(1);
    h.declare(1, "jobs", json!({}));
    h.declare(1, "dead", json!({}));
    for i in 0..count {
        h.publish_queue(1, "jobs", &format!("m{i}"));
    }
}

fn policy(h: &mut Harness, options: QueueOptions) -> Result<(), EngineError> {
    let result = h.engine.set_queue_policy(h.now, "jobs", options);
    h.input(queue_core::Input::Tick);
    result
}

#[wasm_bindgen_test(unsupported = test)]
fn lowering_max_length_dead_letters_the_oldest_now() {
    let mut h = Harness::new();
    jobs_with(&mut h, 5);
    let options = QueueOptions { max_length: Some(2), dead_letter: Some("dead".into()), ..QueueOptions::default() };
    policy(&mut h, options).expect("policy applies");
    assert_eq!(h.queue("jobs").ready, 2);
    assert_eq!(h.queue("jobs").counters.dead_lettered, 3);
    assert_eq!(h.queue("dead").ready, 3);
    h.connect(2);
    h.subscribe(2, "jobs", 10, "manual");
    assert_eq!(payloads(&h.deliveries(2)), ["m3", "m4"]);
}

#[wasm_bindgen_test(unsupported = test)]
fn reject_publish_keeps_what_is_there_and_refuses_more() {
    let mut h = Harness::new();
    jobs_with(&mut h, 3);
    let options = QueueOptions { max_length: Some(1), overflow: Overflow::RejectPublish, ..QueueOptions::default() };
    policy(&mut h, options).expect("policy applies");
    assert_eq!(h.queue("jobs").ready, 3);
    h.publish_queue(1, "jobs", "late");
    assert_eq!(h.queue("jobs").counters.refused, 1);
    assert_eq!(h.queue("jobs").ready, 3);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_new_ttl_counts_from_when_each_message_arrived() {
    let mut h = Harness::new();
    jobs_with(&mut h, 1);
    h.advance(4_000);
    h.publish_queue(1, "jobs", "young");
    policy(&mut h, QueueOptions { message_ttl_ms: Some(3_000), ..QueueOptions::default() }).expect("policy applies");
    assert_eq!(h.queue("jobs").counters.expired, 1, "the 4 s old message expires at once");
    assert_eq!(h.engine.next_deadline(), Some(7_000));
    h.advance(3_000);
    assert_eq!(h.queue("jobs").counters.expired, 2);
    assert_eq!(h.queue("jobs").ready, 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn lengthening_the_ttl_defuses_the_old_timer() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "jobs", json!({"message_ttl_ms": 1000}));
    h.publish_queue(1, "jobs", "m");
    policy(&mut h, QueueOptions { message_ttl_ms: Some(10_000), ..QueueOptions::default() }).expect("policy applies");
    h.advance(1_000);
    assert_eq!(h.queue("jobs").ready, 1, "the old 1 s timer must not expire it");
    h.advance(9_000);
    assert_eq!(h.queue("jobs").counters.expired, 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_policy_cannot_change_what_a_queue_is() {
    let mut h = Harness::new();
    jobs_with(&mut h, 0);
    let durable = QueueOptions { durable: true, ..QueueOptions::default() };
    assert!(matches!(policy(&mut h, durable), Err(EngineError::InvalidOption(_))));
    let missing = h.engine.set_queue_policy(0, "nope", QueueOptions::default());
    assert!(matches!(missing, Err(EngineError::QueueNotFound(_))));
    let own_dlq = QueueOptions { dead_letter: Some("jobs".into()), ..QueueOptions::default() };
    assert!(policy(&mut h, own_dlq).is_err());
    assert_eq!(h.queue("jobs").options, QueueOptions::default());
}

#[wasm_bindgen_test(unsupported = test)]
fn contents_show_ready_order_and_each_consumers_unacked() {
    let mut h = Harness::new();
    jobs_with(&mut h, 5);
    h.connect(2);
    let consumer = h.subscribe(2, "jobs", 2, "manual");
    h.deliveries(2);
    let contents = h.engine.queue_contents("jobs", 2).expect("queue exists");
    assert_eq!(contents.ready_total, 3);
    let ready: Vec<&str> = contents.ready.iter().filter_map(|r| r.message.payload.as_str()).collect();
    assert_eq!(ready, ["m2", "m3"]);
    assert_eq!(contents.consumers.len(), 1);
    assert_eq!((contents.consumers[0].id, contents.consumers[0].prefetch), (consumer, 2));
    assert_eq!(contents.consumers[0].unacked, vec![(1, 1, false), (2, 2, false)]);
    assert!(h.engine.queue_contents("nope", 1).is_none());
}
