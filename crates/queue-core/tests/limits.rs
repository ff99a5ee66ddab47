//! Bounds under abuse: every number a peer sends is checked, time
//! arithmetic saturates, queues are bounded in bytes, and the memory budget
//! blocks publishers. Runs natively and as wasm under Node.

mod common;

use common::Harness;
use queue_core::limits::{MAX_CONSUMERS_PER_CONNECTION, MAX_DURATION_MS, MAX_TOPIC_LEVELS};
use queue_core::protocol::{ErrorCode, ServerFrame, decode_client};
use queue_core::{EngineConfig, Input};
use serde_json::json;
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test(unsupported = test)]
fn a_watch_interval_of_u64_max_is_refused_and_nothing_is_scheduled() {
    let mut h = Harness::new();
    h.connect(1);
    h.send(1, json!({"type": "watch", "id": 2, "interval_ms": u64::MAX}));
    assert_eq!(h.errors(1), [ErrorCode::InvalidOption]);
    assert_eq!(h.engine.next_deadline(), None);
    h.send(1, json!({"type": "watch", "id": 3, "interval_ms": 3_600_000}));
    assert_eq!(h.engine.next_deadline(), Some(3_600_000));
}

#[wasm_bindgen_test(unsupported = test)]
fn time_at_the_end_of_u64_neither_wraps_nor_loops() {
    let mut h = Harness::new();
    h.connect(1);
    h.connect(2);
    h.send(2, json!({"type": "hello", "keep_alive_ms": MAX_DURATION_MS}));
    h.declare(1, "q", json!({"message_ttl_ms": MAX_DURATION_MS}));
    h.declare(1, "unused", json!({"expires_ms": MAX_DURATION_MS}));
    h.send(1, json!({"type": "watch", "id": 2, "interval_ms": 3_600_000}));
    h.take(1);
    h.now = u64::MAX - 10;
    h.publish_queue(1, "q", "late");
    h.now = u64::MAX - 1;
    h.input(Input::Tick);
    assert_eq!(h.queue("q").ready, 1, "the expiry saturated at the end of time instead of wrapping to the past");
    h.now = u64::MAX;
    h.input(Input::Tick);
    h.input(Input::Tick);
    // The stats stream fired at the end of time and did not spin.
    let stats = h.take(1).iter().filter(|f| matches!(f, ServerFrame::Stats { .. })).count();
    assert!((1..=3).contains(&stats), "{stats} stats frames");
    // The keep-alive deadline saturated instead of wrapping: connection 2
    // was closed for silence at the end of time, not at once.
    assert_eq!(h.errors(2), [ErrorCode::KeepAliveTimeout]);
    assert!(h.engine.queue_stats("unused").is_none(), "the unused queue expired, once");
}

#[wasm_bindgen_test(unsupported = test)]
fn durations_past_the_largest_mqtt_interval_are_refused() {
    let mut h = Harness::new();
    h.connect(1);
    let too_long = MAX_DURATION_MS + 1;
    h.send(1, json!({"type": "declare", "id": 1, "queue": "q", "options": {"message_ttl_ms": too_long}}));
    h.send(1, json!({"type": "declare", "id": 1, "queue": "q", "options": {"expires_ms": too_long}}));
    h.send(1, json!({"type": "publish", "topic": "a", "payload": "x", "ttl_ms": too_long}));
    h.send(1, json!({"type": "hello", "keep_alive_ms": too_long}));
    assert_eq!(h.errors(1), [ErrorCode::InvalidOption; 4]);
}

#[wasm_bindgen_test(unsupported = test)]
fn topics_and_filters_deeper_than_the_limit_are_refused() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "q", json!({}));
    let deep_filter = vec!["+"; 20_000].join("/");
    h.send(1, json!({"type": "bind", "id": 2, "queue": "q", "filter": deep_filter}));
    h.send(1, json!({"type": "subscribe", "id": 3, "topic": deep_filter}));
    h.send(1, json!({"type": "publish", "topic": vec!["a"; MAX_TOPIC_LEVELS + 1].join("/"), "payload": "x"}));
    assert_eq!(h.errors(1), [ErrorCode::InvalidFilter, ErrorCode::InvalidFilter, ErrorCode::InvalidTopic]);
    // The deepest filter allowed binds, routes and unbinds.
    let deepest = vec!["+"; MAX_TOPIC_LEVELS].join("/");
    h.bind(1, "q", &deepest);
    h.publish_topic(1, &vec!["a"; MAX_TOPIC_LEVELS].join("/"), "x");
    assert_eq!(h.queue("q").ready, 1);
    h.send(1, json!({"type": "unbind", "id": 4, "queue": "q", "filter": deepest}));
    h.disconnect(1);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_connection_holds_a_bounded_number_of_consumers() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "q", json!({}));
    for _ in 0..MAX_CONSUMERS_PER_CONNECTION {
        h.subscribe(1, "q", 1, "manual");
    }
    h.send(1, json!({"type": "subscribe", "id": 9, "queue": "q"}));
    assert_eq!(h.errors(1), [ErrorCode::LimitReached]);
}

#[wasm_bindgen_test(unsupported = test)]
fn the_engine_holds_a_bounded_number_of_queues() {
    let mut h = Harness::with_config(EngineConfig { max_queues: 3, ..EngineConfig::default() });
    h.connect(1);
    for name in ["a", "b", "c"] {
        h.declare(1, name, json!({}));
    }
    h.send(1, json!({"type": "declare", "id": 1, "queue": "d"}));
    h.send(1, json!({"type": "subscribe", "id": 2, "topic": "x/#"}));
    assert_eq!(h.errors(1), [ErrorCode::LimitReached; 2]);
}

#[wasm_bindgen_test(unsupported = test)]
fn max_length_bytes_drops_the_oldest_and_counts_it() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "q", json!({"max_length_bytes": 2000}));
    let kib = "x".repeat(1024);
    for _ in 0..5 {
        h.publish_queue(1, "q", &kib);
    }
    let q = h.queue("q");
    assert_eq!(q.ready, 1, "one 1 KiB message (plus bookkeeping) fits in 2000 bytes");
    assert_eq!(q.counters.dropped, 4);
    assert!(q.bytes > 1024 && q.bytes <= 2000, "{}", q.bytes);
}

#[wasm_bindgen_test(unsupported = test)]
fn held_bytes_follow_every_copy_in_and_out() {
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "a", json!({}));
    h.declare(1, "b", json!({"message_ttl_ms": 100}));
    h.bind(1, "a", "t/#");
    h.bind(1, "b", "t/#");
    for i in 0..10 {
        h.publish_topic(1, &format!("t/{i}"), "payload");
    }
    h.send(1, json!({"type": "publish", "topic": "t/r", "payload": "state", "retain": true}));
    let memory = h.engine.memory();
    assert!(memory.queued > 0 && memory.retained > 0);
    assert_eq!(memory.used, memory.queued + memory.retained);
    h.subscribe(1, "a", 100, "manual");
    let tags: Vec<u64> = h.deliveries(1).iter().filter_map(|d| d.tag).collect();
    assert_eq!(tags.len(), 11);
    for tag in tags {
        h.ack(1, tag);
    }
    h.advance(200); // b's copies expire
    h.send(1, json!({"type": "publish", "topic": "t/r", "payload": "", "retain": true}));
    let clear = h.deliveries(1)[0].tag.expect("manual ack");
    h.ack(1, clear);
    h.send(1, json!({"type": "delete", "id": 9, "queue": "b"}));
    let memory = h.engine.memory();
    assert_eq!((memory.queued, memory.retained, memory.used), (0, 0, 0), "{memory:?}");
}

#[wasm_bindgen_test(unsupported = test)]
fn the_memory_budget_blocks_publishers_and_unblocks_them_below_the_low_watermark() {
    let mut h = Harness::with_config(EngineConfig { memory_limit: Some(20_000), ..EngineConfig::default() });
    h.connect(1); // publisher
    h.connect(2); // consumer, never publishes
    h.declare(1, "q", json!({}));
    let kib = "x".repeat(1024);
    while h.blocked.is_empty() {
        h.publish_queue(1, "q", &kib);
    }
    assert_eq!(h.blocked, [true]);
    assert!(h.engine.memory().blocked);
    assert!(h.take(1).iter().any(|f| matches!(f, ServerFrame::Blocked { .. })));
    assert!(!h.take(2).iter().any(|f| matches!(f, ServerFrame::Blocked { .. })), "only publishers are told");
    // A publisher that starts while blocked is told at its first publish.
    h.connect(3);
    h.publish_queue(3, "q", "late");
    assert!(h.take(3).iter().any(|f| matches!(f, ServerFrame::Blocked { .. })));
    // Consuming drains the queue; acks flow while publishers are blocked.
    h.subscribe(2, "q", 1000, "manual");
    let tags: Vec<u64> = h.deliveries(2).iter().filter_map(|d| d.tag).collect();
    for tag in tags {
        h.ack(2, tag);
    }
    assert_eq!(h.blocked, [true, false]);
    assert!(h.take(1).contains(&ServerFrame::Unblocked));
    assert!(h.take(3).contains(&ServerFrame::Unblocked));
    assert!(!h.take(2).contains(&ServerFrame::Unblocked));
}

#[wasm_bindgen_test(unsupported = test)]
fn buffered_bytes_reported_by_the_driver_count_against_the_budget() {
    let mut h = Harness::with_config(EngineConfig { memory_limit: Some(10_000), ..EngineConfig::default() });
    h.input(Input::Buffered { bytes: 10_000 });
    assert_eq!(h.blocked, [true]);
    h.input(Input::Buffered { bytes: 9_000 });
    assert_eq!(h.blocked, [true], "90 % is not below the low watermark");
    h.input(Input::Buffered { bytes: 8_999 });
    assert_eq!(h.blocked, [true, false]);
}

#[wasm_bindgen_test(unsupported = test)]
fn native_clients_cannot_set_the_mqtt_adapters_headers() {
    let publish = r#"{"type":"publish","id":4,"topic":"a","payload":"x","headers":{"X-MQTT-Publish-QoS":"2"}}"#;
    let err = decode_client(publish, 1 << 20).expect_err("reserved header refused");
    assert_eq!((err.code, err.id), (ErrorCode::ReservedHeader, Some(4)));
    let hello = r#"{"type":"hello","will":{"topic":"a","headers":{"x-mqtt-retain":"1"}}}"#;
    assert_eq!(decode_client(hello, 1 << 20).map_err(|e| e.code), Err(ErrorCode::ReservedHeader));
    let fine = r#"{"type":"publish","topic":"a","payload":"x","headers":{"content-type":"text/plain"}}"#;
    assert!(decode_client(fine, 1 << 20).is_ok());
}

#[wasm_bindgen_test(unsupported = test)]
fn too_many_or_too_large_headers_are_refused() {
    let mut h = Harness::new();
    h.connect(1);
    let many: serde_json::Map<String, serde_json::Value> = (0..300).map(|i| (format!("h{i}"), json!("v"))).collect();
    h.send(1, json!({"type": "publish", "topic": "a", "payload": "x", "headers": many}));
    h.send(1, json!({"type": "publish", "topic": "a", "payload": "x", "headers": {"big": "v".repeat(70_000)}}));
    assert_eq!(h.errors(1), [ErrorCode::InvalidOption; 2]);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_dead_letter_copy_is_checked_against_a_byte_limit_as_it_will_enter() {
    // Found by the `engine` fuzz target: the check used the copy's footprint
    // before its `x-death-*` headers, so a copy that did not fit was lost.
    let mut h = Harness::new();
    h.connect(1);
    h.declare(1, "src", json!({"message_ttl_ms": 10, "dead_letter": "dlq"}));
    h.publish_queue(1, "src", "x");
    let original = h.queue("src").bytes;
    h.declare(1, "dlq", json!({"max_length_bytes": original, "overflow": "reject-publish"}));
    h.advance(20);
    let (src, dlq) = (h.queue("src"), h.queue("dlq"));
    assert_eq!((src.counters.expired, src.counters.dead_lettered), (1, 0), "it expired, counted: {src:?}");
    assert_eq!((dlq.counters.enqueued, dlq.ready), (0, 0));
    assert_eq!(h.engine.memory().queued, 0);
}
