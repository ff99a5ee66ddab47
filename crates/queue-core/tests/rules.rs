//! One test per rule of the engine, with a hand-driven clock.
//! Runs natively and, through wasm-bindgen-test, as wasm under Node.

mod common;

use common::{Harness, payloads};
use queue_core::limits::MAX_DELAYED_WILLS;
use queue_core::protocol::{ErrorCode, ServerFrame};
use queue_core::{Event, Input, Recovered, Role, StoreOp, StoredWill};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

fn setup_queue(h: &mut Harness, options: serde_json::Value) {
    h.connect(1);
    h.declare(1, "jobs", options);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_single_consumer_receives_messages_in_publish_order() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    for i in 0..5 {
        h.publish_queue(1, "jobs", &format!("m{i}"));
    }
    h.connect(2);
    h.subscribe(2, "jobs", 10, "manual");
    let got = h.deliveries(2);
    assert_eq!(payloads(&got), ["m0", "m1", "m2", "m3", "m4"]);
    assert!(got.iter().all(|d| !d.redelivered && d.delivery_count == 1));
    assert_eq!(h.queue("jobs").unacked, 5);
}

#[wasm_bindgen_test(unsupported = test)]
fn topics_route_by_wildcard_bindings_and_unmatched_publishes_are_counted() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "all", json!({}));
    h.declare(1, "temps", json!({}));
    h.bind(1, "all", "home/#");
    h.bind(1, "temps", "home/+/temperature");
    h.publish_topic(1, "home/kitchen/temperature", "21.5");
    h.publish_topic(1, "home/hall/door/lock", "locked");
    h.publish_topic(1, "garden/rain", "yes");
    assert_eq!(h.queue("all").ready, 2);
    assert_eq!(h.queue("temps").ready, 1);
    let c = h.engine.counters();
    assert_eq!((c.published, c.routed, c.unroutable), (3, 3, 1));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_queue_bound_twice_to_matching_filters_gets_one_copy() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    h.bind(1, "jobs", "home/#");
    h.bind(1, "jobs", "home/+");
    h.publish_topic(1, "home/x", "once");
    assert_eq!(h.queue("jobs").ready, 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn publishing_to_a_missing_queue_or_bad_topic_is_an_error_frame() {
    let mut h = Harness::new();
    h.connect(1);
    h.send(1, json!({"type": "publish", "id": 9, "queue": "nope", "payload": "x"}));
    h.send(1, json!({"type": "publish", "id": 10, "topic": "home/#", "payload": "x"}));
    h.send(1, json!({"type": "publish", "id": 11, "payload": "x"}));
    assert_eq!(h.errors(1), [ErrorCode::QueueNotFound, ErrorCode::InvalidTopic, ErrorCode::ProtocolViolation]);
    assert_eq!(h.engine.counters().published, 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_publish_with_an_id_is_confirmed_with_the_number_of_queues() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    h.bind(1, "jobs", "a/#");
    h.send(1, json!({"type": "publish", "id": 7, "topic": "a/b", "payload": "x"}));
    h.send(1, json!({"type": "publish", "id": 8, "topic": "z", "payload": "x"}));
    assert_eq!(h.take(1), [ServerFrame::Confirm { id: 7, routed: 1 }, ServerFrame::Confirm { id: 8, routed: 0 }]);
}

#[wasm_bindgen_test(unsupported = test)]
fn competing_consumers_share_a_queue_round_robin() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    h.connect(2);
    h.connect(3);
    h.subscribe(2, "jobs", 100, "manual");
    h.subscribe(3, "jobs", 100, "manual");
    for i in 0..6 {
        h.publish_queue(1, "jobs", &format!("m{i}"));
    }
    assert_eq!(payloads(&h.deliveries(2)), ["m0", "m2", "m4"]);
    assert_eq!(payloads(&h.deliveries(3)), ["m1", "m3", "m5"]);
}

#[wasm_bindgen_test(unsupported = test)]
fn prefetch_caps_unacked_deliveries_and_an_ack_frees_a_slot() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    for i in 0..5 {
        h.publish_queue(1, "jobs", &format!("m{i}"));
    }
    h.connect(2);
    h.subscribe(2, "jobs", 2, "manual");
    let first = h.deliveries(2);
    assert_eq!(payloads(&first), ["m0", "m1"]);
    assert_eq!((h.queue("jobs").ready, h.queue("jobs").unacked), (3, 2));
    h.ack(2, first[0].tag.expect("manual ack has a tag"));
    assert_eq!(payloads(&h.deliveries(2)), ["m2"]);
    assert_eq!(h.queue("jobs").counters.acked, 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_lost_consumer_returns_its_unacked_messages_to_the_head_marked_redelivered() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    h.connect(2);
    h.subscribe(2, "jobs", 2, "manual");
    for i in 0..4 {
        h.publish_queue(1, "jobs", &format!("m{i}"));
    }
    assert_eq!(payloads(&h.deliveries(2)), ["m0", "m1"]);
    h.disconnect(2);
    assert_eq!(h.queue("jobs").ready, 4);
    h.connect(3);
    h.subscribe(3, "jobs", 10, "manual");
    let got = h.deliveries(3);
    assert_eq!(payloads(&got), ["m0", "m1", "m2", "m3"]);
    assert_eq!(
        got.iter().map(|d| (d.redelivered, d.delivery_count)).collect::<Vec<_>>(),
        [(true, 2), (true, 2), (false, 1), (false, 1)]
    );
    assert_eq!(h.engine.counters().redelivered, 2);
}

#[wasm_bindgen_test(unsupported = test)]
fn unsubscribing_requeues_and_other_consumers_take_over() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    h.connect(2);
    let consumer = h.subscribe(2, "jobs", 1, "manual");
    h.connect(3);
    h.subscribe(3, "jobs", 1, "manual");
    h.publish_queue(1, "jobs", "a");
    h.publish_queue(1, "jobs", "b");
    assert_eq!(payloads(&h.deliveries(2)), ["a"]);
    assert_eq!(payloads(&h.deliveries(3)), ["b"]);
    h.send(2, json!({"type": "unsubscribe", "id": 5, "consumer": consumer}));
    assert_eq!(h.take(2), [ServerFrame::Ok { id: 5 }]);
    assert!(h.deliveries(3).is_empty(), "consumer 3 is at its prefetch of 1");
    assert_eq!(h.queue("jobs").ready, 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn nack_requeues_or_dead_letters() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "dead", json!({}));
    h.declare(1, "jobs", json!({"dead_letter": "dead"}));
    h.connect(2);
    h.subscribe(2, "jobs", 1, "manual");
    h.publish_queue(1, "jobs", "a");
    let tag = h.deliveries(2)[0].tag.expect("tag");
    h.send(2, json!({"type": "nack", "tag": tag}));
    let again = h.deliveries(2);
    assert_eq!((again[0].redelivered, again[0].delivery_count), (true, 2));
    h.send(2, json!({"type": "nack", "tag": again[0].tag, "requeue": false}));
    let dead = h.queue("dead");
    assert_eq!((dead.ready, h.queue("jobs").counters.dead_lettered), (1, 1));
    h.subscribe(1, "dead", 1, "auto");
    let d = h.deliveries(1);
    assert_eq!(d[0].headers.get("x-death-reason").map(String::as_str), Some("rejected"));
    assert_eq!(d[0].headers.get("x-death-queue").map(String::as_str), Some("jobs"));
}

#[wasm_bindgen_test(unsupported = test)]
fn max_deliveries_dead_letters_a_message_that_keeps_failing() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "dead", json!({}));
    h.declare(1, "jobs", json!({"dead_letter": "dead", "max_deliveries": 2}));
    h.connect(2);
    h.subscribe(2, "jobs", 1, "manual");
    h.publish_queue(1, "jobs", "poison");
    for _ in 0..2 {
        let tag = h.deliveries(2)[0].tag;
        h.send(2, json!({"type": "nack", "tag": tag}));
    }
    assert!(h.deliveries(2).is_empty());
    assert_eq!(h.queue("dead").ready, 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn queue_ttl_expires_ready_messages_into_the_dead_letter_queue_on_time() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "dead", json!({}));
    h.declare(1, "jobs", json!({"message_ttl_ms": 1000, "dead_letter": "dead"}));
    h.publish_queue(1, "jobs", "a");
    h.now = 400;
    h.publish_queue(1, "jobs", "b");
    assert_eq!(h.engine.next_deadline(), Some(1000));
    h.advance(599);
    assert_eq!(h.queue("jobs").ready, 2);
    h.advance(1);
    assert_eq!((h.queue("jobs").ready, h.queue("dead").ready), (1, 1));
    assert_eq!(h.engine.next_deadline(), Some(1400));
    h.advance(400);
    assert_eq!((h.queue("jobs").ready, h.queue("dead").ready), (0, 2));
    assert_eq!(h.engine.counters().dead_lettered, 2);
    assert_eq!(h.engine.next_deadline(), None);
}

#[wasm_bindgen_test(unsupported = test)]
fn per_message_ttl_without_a_dead_letter_queue_counts_as_expired() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    h.send(1, json!({"type": "publish", "queue": "jobs", "payload": "short", "ttl_ms": 50}));
    h.publish_queue(1, "jobs", "forever");
    h.advance(50);
    assert_eq!(h.queue("jobs").ready, 1);
    assert_eq!(h.engine.counters().expired, 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn unacked_messages_do_not_expire_until_they_come_back() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({"message_ttl_ms": 100}));
    h.connect(2);
    h.subscribe(2, "jobs", 1, "manual");
    h.publish_queue(1, "jobs", "a");
    assert_eq!(h.deliveries(2).len(), 1);
    h.advance(500);
    assert_eq!(h.queue("jobs").unacked, 1);
    h.disconnect(2);
    assert_eq!((h.queue("jobs").ready, h.engine.counters().expired), (0, 1));
}

#[wasm_bindgen_test(unsupported = test)]
fn max_length_drop_oldest_dead_letters_the_head() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "dead", json!({}));
    h.declare(1, "jobs", json!({"max_length": 2, "overflow": "drop-oldest", "dead_letter": "dead"}));
    for p in ["a", "b", "c"] {
        h.publish_queue(1, "jobs", p);
    }
    h.connect(2);
    h.subscribe(2, "jobs", 10, "auto");
    assert_eq!(payloads(&h.deliveries(2)), ["b", "c"]);
    h.subscribe(2, "dead", 10, "auto");
    let dead = h.deliveries(2);
    assert_eq!(payloads(&dead), ["a"]);
    assert_eq!(dead[0].headers.get("x-death-reason").map(String::as_str), Some("maxlen"));
}

#[wasm_bindgen_test(unsupported = test)]
fn max_length_reject_publish_refuses_and_tells_the_publisher() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({"max_length": 1, "overflow": "reject-publish"}));
    h.send(1, json!({"type": "publish", "id": 1, "queue": "jobs", "payload": "a"}));
    h.send(1, json!({"type": "publish", "id": 2, "queue": "jobs", "payload": "b"}));
    let frames = h.take(1);
    assert_eq!(frames[0], ServerFrame::Confirm { id: 1, routed: 1 });
    assert!(matches!(frames[1], ServerFrame::Error { id: Some(2), code: ErrorCode::QueueFull, .. }), "{frames:?}");
    let q = h.queue("jobs");
    assert_eq!((q.ready, q.counters.refused), (1, 1));
}

#[wasm_bindgen_test(unsupported = test)]
fn retained_state_is_replayed_to_new_subscribers_and_cleared_by_an_empty_payload() {
    let mut h = Harness::new();
    h.connect(1);
    let lock = json!({"type": "publish", "topic": "home/hall/door/lock/state", "payload": "{\"locked\":true}", "retain": true});
    h.send(1, lock);
    h.send(1, json!({"type": "publish", "topic": "home/kitchen/light/state", "payload": "on", "retain": true}));
    h.send(1, json!({"type": "publish", "topic": "home/kitchen/light/state", "payload": "off", "retain": true}));
    h.connect(2);
    h.send(2, json!({"type": "subscribe", "id": 1, "topic": "home/#", "ack": "auto"}));
    h.subscribed(2);
    let got = h.deliveries(2);
    assert_eq!(payloads(&got), ["{\"locked\":true}", "off"]);
    assert!(got.iter().all(|d| d.retained && d.tag.is_none()));
    h.send(1, json!({"type": "publish", "topic": "home/kitchen/light/state", "payload": "", "retain": true}));
    assert_eq!(h.engine.retained().count(), 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_retained_message_whose_ttl_ran_out_is_no_longer_replayed() {
    let mut h = Harness::new();
    h.connect(1);
    let motion =
        json!({"type": "publish", "topic": "home/hall/motion", "payload": "1", "retain": true, "ttl_ms": 10_000});
    h.send(1, motion);
    h.send(1, json!({"type": "publish", "topic": "home/hall/door", "payload": "shut", "retain": true}));
    h.advance(9_999);
    assert_eq!(h.engine.retained_at(h.now).count(), 2);
    h.advance(1);
    let kept: Vec<_> = h.engine.retained_at(h.now).map(|m| m.topic.to_string()).collect();
    assert_eq!(kept, ["home/hall/door"], "at its TTL it is gone; without one it stays");
    h.connect(2);
    h.send(2, json!({"type": "subscribe", "id": 1, "topic": "home/#", "ack": "auto"}));
    h.subscribed(2);
    assert_eq!(payloads(&h.deliveries(2)), ["shut"]);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_last_will_is_published_on_a_lost_connection_but_not_after_bye() {
    let mut h = Harness::new();
    h.connect(9);
    h.send(9, json!({"type": "subscribe", "id": 1, "topic": "home/+/status", "ack": "auto"}));
    h.subscribed(9);
    let will = json!({"topic": "home/door/status", "payload": "offline", "retain": true});
    h.connect(1);
    h.send(1, json!({"type": "hello", "client_id": "door", "will": will}));
    h.connect(2);
    h.send(
        2,
        json!({"type": "hello", "client_id": "lamp", "will": {"topic": "home/lamp/status", "payload": "offline"}}),
    );
    h.disconnect(1);
    h.send(2, json!({"type": "bye"}));
    assert!(h.closed.contains(&2));
    h.disconnect(2);
    let got = h.deliveries(9);
    assert_eq!(got.iter().map(|d| &*d.topic).collect::<Vec<_>>(), ["home/door/status"]);
    assert_eq!(h.engine.retained().next().map(|m| &*m.topic), Some("home/door/status"));
}

/// A watcher on `home/+/status` (connection 9, auto acks).
fn status_watcher(h: &mut Harness) {
    h.connect(9);
    h.send(9, json!({"type": "subscribe", "id": 1, "topic": "home/+/status", "ack": "auto"}));
    h.subscribed(9);
}

/// Connection `conn` says hello as `client` with a will on `home/CLIENT/status` delayed `delay_ms`.
fn hello_with_delayed_will(h: &mut Harness, conn: u64, client: &str, delay_ms: u64) {
    h.connect(conn);
    let will = json!({"topic": format!("home/{client}/status"), "payload": "offline", "delay_ms": delay_ms});
    h.send(conn, json!({"type": "hello", "client_id": client, "will": will}));
    assert!(h.errors(conn).is_empty());
}

fn topics(deliveries: &[queue_core::protocol::Delivery]) -> Vec<&str> {
    deliveries.iter().map(|d| &*d.topic).collect()
}

#[wasm_bindgen_test(unsupported = test)]
fn a_delayed_will_waits_its_delay_and_the_client_back_in_time_cancels_it() {
    let mut h = Harness::new();
    status_watcher(&mut h);
    hello_with_delayed_will(&mut h, 1, "door", 1000);
    hello_with_delayed_will(&mut h, 2, "lamp", 1000);
    h.advance(100);
    h.disconnect(1);
    h.disconnect(2);
    assert!(h.deliveries(9).is_empty(), "not at once");
    assert_eq!(
        h.engine.delayed_wills().collect::<Vec<_>>(),
        [("door", "home/door/status", 1100), ("lamp", "home/lamp/status", 1100)]
    );
    assert_eq!(h.engine.next_deadline(), Some(1100));
    h.advance(500);
    // The lamp is back: a hello with its client id cancels its will.
    h.connect(3);
    h.send(3, json!({"type": "hello", "client_id": "lamp"}));
    h.advance(499);
    assert!(h.deliveries(9).is_empty(), "1 ms early");
    h.advance(1);
    assert_eq!(topics(&h.deliveries(9)), ["home/door/status"]);
    assert_eq!(h.engine.delayed_wills().count(), 0);
    h.advance(10_000);
    assert!(h.deliveries(9).is_empty(), "the lamp's will was cancelled");
    assert!(h.events.iter().any(|e| matches!(e, Event::WillPublished { conn: 1, .. })));
    let kept = h.stored.iter().filter(|op| matches!(op, StoreOp::KeepWill { .. })).count();
    let forgotten = h.stored.iter().filter(|op| matches!(op, StoreOp::ForgetWill { .. })).count();
    assert_eq!((kept, forgotten), (2, 2), "a store keeps each until published or cancelled");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_delayed_will_is_cancelled_only_by_its_own_user_and_dropped_on_takeover() {
    let mut h = Harness::new();
    status_watcher(&mut h);
    h.connect(1);
    h.input(Input::Identify { conn: 1, user: Some("ann".into()), role: Role::Client });
    let will = json!({"topic": "home/plug/status", "payload": "offline", "delay_ms": 1000});
    h.send(1, json!({"type": "hello", "client_id": "plug", "will": will}));
    h.disconnect(1);
    // Someone else saying hello as `plug` does not silence ann's plug.
    h.connect(2);
    h.send(2, json!({"type": "hello", "client_id": "plug"}));
    h.advance(1000);
    assert_eq!(topics(&h.deliveries(9)), ["home/plug/status"]);

    // A session taken over: the new connection is there before the old one
    // is gone, so the old one's delayed will has nobody to wait for.
    hello_with_delayed_will(&mut h, 3, "fan", 1000);
    hello_with_delayed_will(&mut h, 4, "fan", 1000);
    h.disconnect(3);
    assert_eq!(h.engine.delayed_wills().count(), 0);
    h.advance(5000);
    assert!(h.deliveries(9).is_empty());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_will_frame_replaces_or_drops_the_will() {
    let mut h = Harness::new();
    status_watcher(&mut h);
    hello_with_delayed_will(&mut h, 1, "door", 60_000);
    // Brought forward: published when the connection is lost.
    h.send(1, json!({"type": "will", "id": 7, "will": {"topic": "home/door/status", "payload": "gone"}}));
    assert_eq!(h.take(1), [ServerFrame::Ok { id: 7 }]);
    h.send(1, json!({"type": "will", "id": 8, "will": {"topic": "home/#", "payload": "gone"}}));
    assert_eq!(h.errors(1), [ErrorCode::InvalidTopic], "a bad will is refused and the old one kept");
    h.send(1, json!({"type": "will", "will": {"topic": "home/door/status", "delay_ms": 4294967295001u64}}));
    assert_eq!(h.errors(1), [ErrorCode::InvalidOption], "a delay past u32::MAX s");
    h.disconnect(1);
    assert_eq!(payloads(&h.deliveries(9)), ["gone"]);
    hello_with_delayed_will(&mut h, 2, "lamp", 0);
    h.send(2, json!({"type": "will"}));
    h.disconnect(2);
    assert!(h.deliveries(9).is_empty(), "dropped");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_delayed_will_kept_by_a_store_is_published_after_a_restart() {
    let mut h = Harness::new();
    hello_with_delayed_will(&mut h, 1, "door", 5000);
    h.connect(2);
    h.input(Input::Identify { conn: 2, user: Some("ann".into()), role: Role::Client });
    let will = json!({"topic": "home/lamp/status", "payload": "offline", "delay_ms": 5000});
    h.send(2, json!({"type": "hello", "client_id": "lamp", "will": will}));
    h.disconnect(1);
    h.disconnect(2);
    let wills: Vec<StoredWill> = h
        .stored
        .iter()
        .filter_map(|op| match op {
            StoreOp::KeepWill { client_id, will, due, user } => Some(StoredWill {
                client_id: client_id.to_string(),
                will: (**will).clone(),
                due: *due,
                user: user.as_deref().map(str::to_owned),
            }),
            _ => None,
        })
        .collect();
    assert_eq!(wills.len(), 2);
    // A new engine, 3 s later, from what the store kept.
    let mut h = Harness::new();
    h.now = 3000;
    h.engine.restore(3000, Recovered { wills, ..Recovered::default() });
    status_watcher(&mut h);
    // ann's lamp is back in time (as ann: the user survived the restart).
    h.connect(3);
    h.input(Input::Identify { conn: 3, user: Some("ann".into()), role: Role::Client });
    h.send(3, json!({"type": "hello", "client_id": "lamp"}));
    assert_eq!(h.engine.next_deadline(), Some(5000));
    h.advance(1999);
    assert!(h.deliveries(9).is_empty());
    h.advance(1);
    assert_eq!(topics(&h.deliveries(9)), ["home/door/status"], "when it was due, not 5 s after the restart");
    h.advance(10_000);
    assert!(h.deliveries(9).is_empty());
}

#[wasm_bindgen_test(unsupported = test)]
fn delayed_wills_past_the_bound_are_published_at_once() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "status", json!({}));
    h.bind(1, "status", "home/+/status");
    let n = MAX_DELAYED_WILLS as u64;
    for conn in 10..=10 + n {
        hello_with_delayed_will(&mut h, conn, &format!("d{conn}"), 60_000);
        h.disconnect(conn);
    }
    assert_eq!(h.engine.delayed_wills().count(), MAX_DELAYED_WILLS);
    assert_eq!(h.queue("status").ready, 1, "the one past the bound is published now, not held");
    // The same client id again replaces its own will: no new room needed.
    hello_with_delayed_will(&mut h, 1 << 40, "d10", 30_000);
    h.disconnect(1 << 40);
    assert_eq!(h.queue("status").ready, 1);
    h.advance(30_000);
    assert_eq!(h.queue("status").ready, 2, "d10's new will, due first");
    h.advance(30_000);
    assert_eq!(h.queue("status").ready, 1 + n, "and the rest at their time");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_bind_that_asks_for_retained_messages_gets_those_its_filter_matches_after_ok() {
    let mut h = Harness::new();
    h.connect(1);
    for (topic, ttl) in [("home/hall/lock", None), ("home/hall/lamp", Some(100)), ("home/attic/fan", None)] {
        let mut publish = json!({"type": "publish", "topic": topic, "payload": topic, "retain": true});
        if let Some(ttl) = ttl {
            publish["ttl_ms"] = json!(ttl);
        }
        h.send(1, publish);
    }
    h.advance(100); // the lamp's state has expired
    h.declare(1, "mine", json!({}));
    h.bind(1, "mine", "home/attic/#");
    h.send(1, json!({"type": "bind", "id": 5, "queue": "mine", "filter": "home/hall/+", "retained": true}));
    let frames = h.take(1);
    assert_eq!(frames[0], ServerFrame::Ok { id: 5 }, "first the answer, then the replay");
    let replayed: Vec<_> = frames[1..]
        .iter()
        .map(|f| match f {
            ServerFrame::Deliver(d) => (&*d.topic, d.retained, d.tag, d.consumer),
            other => panic!("not a replay: {other:?}"),
        })
        .collect();
    assert_eq!(replayed, [("home/hall/lock", true, None, 0)], "only this filter's, and not the expired one");
    // Bound already: asking again replays again, for the queue's consumer.
    let consumer = h.subscribe(1, "mine", 10, "manual");
    h.take(1);
    h.send(1, json!({"type": "bind", "id": 6, "queue": "mine", "filter": "home/hall/+", "retained": true}));
    let frames = h.take(1);
    assert!(matches!(&frames[1], ServerFrame::Deliver(d) if d.consumer == consumer && d.retained), "{frames:?}");
    assert_eq!(frames.len(), 2);
    assert_eq!(h.queue("mine").ready + h.queue("mine").unacked, 0, "a replay does not enter the queue");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_will_ttl_header_becomes_the_will_message_ttl_and_a_bad_one_fails_hello() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    h.bind(1, "jobs", "dev/#");
    h.connect(2);
    let will = json!({"topic": "dev/2", "payload": "gone", "headers": {"x-will-ttl-ms": "1000", "room": "hall"}});
    h.send(2, json!({"type": "hello", "will": will}));
    h.connect(3);
    let bad = json!({"topic": "dev/3", "payload": "gone", "headers": {"x-will-ttl-ms": "soon"}});
    h.send(3, json!({"type": "hello", "id": 4, "will": bad}));
    assert_eq!(h.errors(3), [ErrorCode::InvalidOption]);
    h.disconnect(2);
    h.disconnect(3);
    assert_eq!(h.queue("jobs").ready, 1, "only the valid will was published");
    h.advance(1001);
    h.connect(4);
    h.subscribe(4, "jobs", 10, "manual");
    assert!(h.deliveries(4).is_empty(), "the will expired with its TTL");
    assert_eq!(h.queue("jobs").ready, 0);
}

#[wasm_bindgen_test(unsupported = test)]
fn keep_alive_silence_closes_the_connection_and_publishes_the_will() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    h.bind(1, "jobs", "dev/#");
    h.connect(2);
    h.send(2, json!({"type": "hello", "keep_alive_ms": 1000, "will": {"topic": "dev/2", "payload": "gone"}}));
    h.advance(1000);
    h.send(2, json!({"type": "ping", "id": 1}));
    assert_eq!(h.engine.next_deadline(), Some(1500));
    h.advance(500);
    assert!(h.closed.is_empty(), "it pinged at 1000, so it may stay until 2500");
    h.advance(1000);
    assert_eq!(h.closed, [2]);
    assert_eq!(h.queue("jobs").ready, 1);
    assert!(h.take(2).iter().any(|f| matches!(f, ServerFrame::Error { code: ErrorCode::KeepAliveTimeout, .. })));
}

#[wasm_bindgen_test(unsupported = test)]
fn exclusive_queues_belong_to_their_connection_and_go_with_it() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "mine", json!({"exclusive": true}));
    h.connect(2);
    h.send(2, json!({"type": "subscribe", "id": 1, "queue": "mine"}));
    h.send(2, json!({"type": "declare", "id": 2, "queue": "mine", "options": {"exclusive": true}}));
    assert_eq!(h.errors(2), [ErrorCode::ResourceLocked, ErrorCode::ResourceLocked]);
    h.disconnect(1);
    assert!(h.engine.queue_stats("mine").is_none());
}

#[wasm_bindgen_test(unsupported = test)]
fn an_auto_delete_queue_goes_when_its_last_consumer_leaves() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({"auto_delete": true}));
    let consumer = h.subscribe(1, "jobs", 5, "manual");
    h.send(1, json!({"type": "unsubscribe", "id": 4, "consumer": consumer}));
    assert!(h.engine.queue_stats("jobs").is_none());
}

#[wasm_bindgen_test(unsupported = test)]
fn an_expiring_queue_outlives_its_consumer_and_goes_after_expires_ms_unused() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({"expires_ms": 1000}));
    h.bind(1, "jobs", "a/#");
    h.connect(2);
    let consumer = h.subscribe(2, "jobs", 5, "manual");
    h.advance(5000);
    assert!(h.engine.queue_stats("jobs").is_some(), "a consumed queue does not expire");
    h.send(2, json!({"type": "unsubscribe", "id": 4, "consumer": consumer}));
    h.publish_topic(1, "a/b", "kept while unused");
    h.advance(900);
    assert_eq!(h.queue("jobs").ready, 1, "unused for less than expires_ms: still there");
    h.declare(1, "jobs", json!({"expires_ms": 1000}));
    h.advance(900);
    assert!(h.engine.queue_stats("jobs").is_some(), "a redeclare restarts the count");
    h.advance(100);
    assert!(h.engine.queue_stats("jobs").is_none(), "unused for expires_ms: deleted");
    assert_eq!(h.engine.counters().dropped, 1);
    h.publish_topic(1, "a/b", "unroutable now");
    assert_eq!(h.engine.counters().unroutable, 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn declare_is_idempotent_but_refuses_different_options() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({"max_length": 5}));
    h.declare(1, "jobs", json!({"max_length": 5}));
    h.send(1, json!({"type": "declare", "id": 3, "queue": "jobs", "options": {"max_length": 6}}));
    h.send(1, json!({"type": "declare", "id": 4, "queue": "x", "options": {"dead_letter": "x"}}));
    h.send(1, json!({"type": "declare", "id": 5, "queue": "a b"}));
    let errors = h.errors(1);
    assert_eq!(errors, [ErrorCode::PreconditionFailed, ErrorCode::InvalidOption, ErrorCode::InvalidQueueName]);
    h.send(1, json!({"type": "declare", "id": 6, "queue": ""}));
    assert!(matches!(&h.take(1)[..], [ServerFrame::Declared { queue, .. }] if queue.starts_with("hearth.gen.")));
}

#[wasm_bindgen_test(unsupported = test)]
fn unknown_tags_and_consumers_are_errors_and_multiple_ack_settles_a_range() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    h.subscribe(1, "jobs", 10, "manual");
    for p in ["a", "b", "c"] {
        h.publish_queue(1, "jobs", p);
    }
    let tags: Vec<u64> = h.deliveries(1).iter().filter_map(|d| d.tag).collect();
    h.send(1, json!({"type": "ack", "tag": tags[1], "multiple": true}));
    assert_eq!(h.queue("jobs").unacked, 1);
    h.ack(1, tags[0]);
    h.send(1, json!({"type": "unsubscribe", "id": 8, "consumer": 999}));
    assert_eq!(h.errors(1), [ErrorCode::UnknownDeliveryTag, ErrorCode::UnknownConsumer]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_multiple_ack_of_the_largest_tag_settles_everything_unacked_and_only_that() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    h.subscribe(1, "jobs", 10, "manual");
    for p in ["a", "b", "c", "d"] {
        h.publish_queue(1, "jobs", p);
    }
    let tags: Vec<u64> = h.deliveries(1).iter().filter_map(|d| d.tag).collect();
    h.ack(1, tags[2]);
    h.send(1, json!({"type": "ack", "tag": u64::MAX, "multiple": true}));
    let q = h.queue("jobs");
    assert_eq!((q.ready, q.unacked, q.counters.acked), (0, 0, 4));
    assert!(h.errors(1).is_empty());
    // Nothing is left to settle: the next one is an error, not a no-op.
    h.send(1, json!({"type": "ack", "tag": u64::MAX, "multiple": true}));
    assert_eq!(h.errors(1), [ErrorCode::UnknownDeliveryTag]);
}

#[wasm_bindgen_test(unsupported = test)]
fn deleting_a_queue_cancels_its_consumers() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    h.connect(2);
    let consumer = h.subscribe(2, "jobs", 1, "manual");
    h.publish_queue(1, "jobs", "a");
    h.publish_queue(1, "jobs", "b");
    h.send(1, json!({"type": "delete", "id": 4, "queue": "jobs", "if_empty": true}));
    assert_eq!(h.errors(1), [ErrorCode::QueueNotEmpty]);
    h.send(1, json!({"type": "delete", "id": 5, "queue": "jobs"}));
    assert_eq!(h.take(1), [ServerFrame::Ok { id: 5 }]);
    let frames = h.take(2);
    assert!(frames.iter().any(|f| matches!(f, ServerFrame::Cancelled { consumer: c, .. } if *c == consumer)));
    assert_eq!(h.engine.counters().dropped, 2);
}

#[wasm_bindgen_test(unsupported = test)]
fn auto_ack_delivers_everything_and_counts_it_acked() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    for i in 0..300 {
        h.publish_queue(1, "jobs", &i.to_string());
    }
    h.subscribe(1, "jobs", 1, "auto");
    assert_eq!(h.deliveries(1).len(), 300);
    let q = h.queue("jobs");
    assert_eq!((q.ready, q.unacked, q.counters.acked), (0, 0, 300));
}

#[wasm_bindgen_test(unsupported = test)]
fn watch_streams_stats_on_schedule() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    h.send(1, json!({"type": "watch", "id": 3, "interval_ms": 1000}));
    assert!(matches!(&h.take(1)[..], [ServerFrame::Stats { id: Some(3), stats }] if stats.queues.len() == 1));
    assert_eq!(h.engine.next_deadline(), Some(1000));
    h.advance(1000);
    h.advance(1000);
    assert_eq!(h.take(1).len(), 2);
    h.send(1, json!({"type": "unwatch", "id": 4}));
    h.advance(5000);
    assert_eq!(h.take(1), [ServerFrame::Ok { id: 4 }]);
}

#[wasm_bindgen_test(unsupported = test)]
fn prefetch_and_hello_rules_are_enforced() {
    let mut h = Harness::new();
    setup_queue(&mut h, json!({}));
    h.send(1, json!({"type": "subscribe", "id": 1, "queue": "jobs", "prefetch": 0}));
    h.send(1, json!({"type": "subscribe", "id": 2, "topic": "a/#/b"}));
    h.send(1, json!({"type": "hello"}));
    h.send(1, json!({"type": "hello"}));
    let codes = h.errors(1);
    assert_eq!(codes, [ErrorCode::InvalidOption, ErrorCode::InvalidFilter, ErrorCode::ProtocolViolation]);
}
