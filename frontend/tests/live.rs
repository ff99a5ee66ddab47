//! Browser tests for live mode's plain state: rates from successive stats
//! frames, device cards from retained deliveries, the bounded history, and
//! the link's honest status and back-off. No broker: frames are built here.
#![cfg(target_arch = "wasm32")]

use std::sync::Arc;

use frontend::wire::{self, Incoming, Message, QueueStat, Stats};
use frontend::{
    CHART_SAMPLES, Device, HISTORY, LinkState, LiveState, Sample, backoff_ms, format_rate, group_devices, http_base,
};
use queue_core::protocol::{AckMode, ClientFrame, Delivery, ErrorCode, ServerFrame, Will};
use queue_core::{Counters, QueueCounters, QueueStats, StatsSnapshot};
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// A stats snapshot as the broker's protocol types make it.
fn protocol_snapshot(now: u64, published: u64, enqueued: u64) -> StatsSnapshot {
    StatsSnapshot {
        now,
        counters: Counters { published, delivered: published, ..Counters::default() },
        connections: 2,
        consumers: 1,
        retained: 3,
        memory: Default::default(),
        queues: vec![QueueStats {
            name: "jobs".into(),
            options: Default::default(),
            bindings: vec![],
            ready: 4,
            unacked: 1,
            bytes: 900,
            consumers: 1,
            counters: QueueCounters { enqueued, delivered: enqueued, ..QueueCounters::default() },
        }],
    }
}

/// A delivery as the broker's protocol types make it.
fn protocol_delivery(topic: &str, payload: &str, retained: bool) -> Delivery {
    Delivery {
        consumer: 1,
        tag: None,
        queue: Arc::from("hearth.sub.1"),
        topic: Arc::from(topic),
        payload: payload.into(),
        headers: Default::default(),
        message_id: 1,
        published_at: 0,
        redelivered: false,
        delivery_count: 1,
        retained,
    }
}

/// What live mode reads from `frame` as the broker encodes it.
fn through_the_wire(frame: ServerFrame) -> Incoming {
    let text = serde_json::to_string(&frame).expect("frames encode");
    wire::decode(&text).unwrap_or_else(|| panic!("live mode reads {text}"))
}

fn snapshot(now: u64, published: u64, enqueued: u64) -> Stats {
    let frame = ServerFrame::Stats { id: None, stats: Box::new(protocol_snapshot(now, published, enqueued)) };
    match through_the_wire(frame) {
        Incoming::Stats(stats) => stats,
        other => panic!("not stats: {other:?}"),
    }
}

fn delivery(topic: &str, payload: &str, retained: bool) -> Message {
    match through_the_wire(ServerFrame::Deliver(protocol_delivery(topic, payload, retained))) {
        Incoming::Deliver(message) => message,
        other => panic!("not a delivery: {other:?}"),
    }
}

#[wasm_bindgen_test]
fn rates_come_from_two_snapshots() {
    let mut state = LiveState::default();
    state.apply_stats(&snapshot(1_000, 10, 5));
    assert_eq!(state.totals.publish_rate, None, "one snapshot has no rate");
    assert_eq!(state.queues[0].rate_in, "—");
    state.apply_stats(&snapshot(3_000, 50, 25));
    assert_eq!(state.totals.publish_rate, Some(20.0));
    assert_eq!(state.queues[0].rate_in, "10", "10/s shows without decimals");
    assert_eq!((state.queues[0].ready, state.queues[0].unacked), (4, 1));
    assert_eq!(state.totals.connections, 2);
    let chart = &state.charts["jobs"];
    assert_eq!(chart.len(), 1, "a chart sample once rates are known");
    assert_eq!(chart[0], Sample { depth: 5, published: 10, delivered: 10, acked: 0 });
    for n in 0..(CHART_SAMPLES as u64 + 5) {
        state.apply_stats(&snapshot(4_000 + n * 1_000, 60, 26 + n));
    }
    assert_eq!(state.charts["jobs"].len(), CHART_SAMPLES, "a minute of samples is kept");
    assert_eq!(state.charts["jobs"].back().map(|s| s.published), Some(1));
    state.reset_rates();
    state.apply_stats(&snapshot(900_000, 60, 26));
    assert_eq!(state.totals.publish_rate, None, "after a reconnect the baseline restarts");
}

#[wasm_bindgen_test]
fn device_cards_follow_retained_state() {
    let mut state = LiveState::default();
    state.apply_device(&delivery("home/hall/door/lock/state", r#"{"locked":false}"#, true));
    assert_eq!(state.devices["home/hall/door/lock/state"].payload, r#"{"locked":false}"#);
    assert!(state.devices["home/hall/door/lock/state"].retained);
    state.apply_device(&delivery("home/hall/door/lock/state", r#"{"locked":true}"#, false));
    assert_eq!(state.devices["home/hall/door/lock/state"].payload, r#"{"locked":true}"#);
    state.apply_device(&delivery("home/hall/door/lock/state", "", true));
    assert!(state.devices.is_empty(), "an empty retained message clears the state");
}

fn fields(device: &Device) -> Vec<(&str, &str)> {
    device.fields.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

#[wasm_bindgen_test]
fn topics_group_into_devices_with_an_online_dot() {
    let mut state = LiveState::default();
    state.apply_device(&delivery("home/hall/door/lock/state", r#"{"locked":false,"battery":87}"#, true));
    state.apply_device(&delivery("home/hall/door/lock/status", "online", true));
    state.apply_device(&delivery("home/sim/sensor-1/temperature", r#"{"celsius":21.5}"#, true));
    state.apply_device(&delivery("home/sim/sensor-1/status", "offline", true));
    state.apply_device(&delivery("home/plug/availability", r#"{"state":"online"}"#, true));
    state.apply_device(&delivery("home/plug/power", "12.5", true));
    state.apply_device(&delivery("home/kitchen/temperature", "20.5", true));
    let devices = group_devices(&state.devices);
    let names: Vec<&str> = devices.iter().map(|d| d.name.as_str()).collect();
    assert_eq!(names, ["home/hall/door/lock", "home/kitchen/temperature", "home/plug", "home/sim/sensor-1"]);
    assert_eq!(devices[0].online, Some(true));
    assert_eq!(fields(&devices[0]), [("battery", "87"), ("locked", "false")]);
    assert_eq!(devices[1].online, None, "a topic with no status is its own card, status unknown");
    assert_eq!(fields(&devices[1]), [("value", "20.5")]);
    assert_eq!((devices[2].online, fields(&devices[2])), (Some(true), vec![("power", "12.5")]));
    assert_eq!((devices[3].online, fields(&devices[3])), (Some(false), vec![("celsius", "21.5")]));
    assert!(devices.iter().all(|d| !d.live), "the retained replay does not pulse");

    state.apply_device(&delivery("home/sim/sensor-1/status", "online", false));
    let sensor = group_devices(&state.devices).pop().expect("the sensor");
    assert_eq!(sensor.online, Some(true), "the device came back");
    assert!(sensor.live && sensor.seq > devices[3].seq, "a live message pulses the card");
    state.apply_device(&delivery("home/hall/door/lock/status", "what", true));
    let lock = group_devices(&state.devices).remove(0);
    assert_eq!(lock.online, None, "an unknown status is not read as online");
    assert!(fields(&lock).contains(&("status", "what")), "but it is shown");
}

#[wasm_bindgen_test]
fn the_message_history_is_bounded() {
    let mut state = LiveState::default();
    for n in 0..(HISTORY + 250) {
        state.apply_message(&delivery("home/x", &n.to_string(), false));
    }
    assert_eq!(state.messages.len(), HISTORY);
    assert_eq!(state.received, (HISTORY + 250) as u64);
    assert_eq!(state.messages.back().map(|m| m.payload.as_str()), Some("749"));
    assert_eq!(state.messages.front().map(|m| m.payload.as_str()), Some("250"));
}

#[wasm_bindgen_test]
fn the_link_says_what_it_does_and_backs_off() {
    assert_eq!(LinkState::Open.text("ws://h/ws"), "connected to ws://h/ws");
    let retry = LinkState::Retrying { reason: "the broker cannot be reached".into(), retry_ms: 2000 };
    assert_eq!(retry.text("ws://h/ws"), "disconnected: the broker cannot be reached; retrying in 2.0 s");
    assert_eq!(retry.class(), "status error");
    assert_eq!((backoff_ms(0), backoff_ms(1), backoff_ms(2), backoff_ms(30)), (500, 1000, 2000, 10_000));
    assert_eq!(http_base("wss://example.org:8443/ws"), "https://example.org:8443");
    assert_eq!(http_base("ws://127.0.0.1:8080/ws"), "http://127.0.0.1:8080");
    assert_eq!(format_rate(Some(2.25)), "2.2");
    assert_eq!((format_rate(Some(9.96)), format_rate(Some(9.94))), ("10".into(), "9.9".into()), "never 10.0");
}

#[wasm_bindgen_test]
fn frames_the_broker_sends_decode_to_what_live_mode_reads() {
    let message = Message { consumer: 1, topic: "home/a".into(), payload: r#"{"on":true}"#.into(), retained: true };
    assert_eq!(delivery("home/a", r#"{"on":true}"#, true), message);
    let mut binary = protocol_delivery("home/a", "", false);
    binary.payload = vec![0xff, 0, 1, 2, 3].into();
    match through_the_wire(ServerFrame::Deliver(binary)) {
        Incoming::Deliver(m) => assert_eq!(m.payload, "<5 bytes of binary>"),
        other => panic!("{other:?}"),
    }
    let stats = snapshot(1_000, 10, 5);
    assert_eq!((stats.now, stats.published, stats.delivered, stats.connections, stats.retained), (1_000, 10, 10, 2, 3));
    let queue =
        QueueStat { name: "jobs".into(), ready: 4, unacked: 1, consumers: 1, enqueued: 5, delivered: 5, acked: 0 };
    assert_eq!(stats.queues, [queue]);
    let frames = [
        (
            ServerFrame::Subscribed { id: 4, consumer: 2, queue: "hearth.sub.3".into() },
            Incoming::Subscribed { id: 4, consumer: 2 },
        ),
        (ServerFrame::Confirm { id: 6, routed: 1 }, Incoming::Confirm { id: 6, routed: 1 }),
        (
            ServerFrame::Error { id: Some(2), code: ErrorCode::InvalidTopic, message: "no".into() },
            Incoming::Error { id: Some(2), message: "no".into() },
        ),
    ];
    for (frame, read) in frames {
        assert_eq!(through_the_wire(frame), read);
    }
    assert_eq!(wire::decode(r#"{"type":"pong","id":1}"#), None, "frames live mode ignores");
    assert_eq!(wire::decode("not json"), None);
}

/// `text` and the protocol type's own encoding of `frame` are the same JSON.
fn same_json(text: &str, frame: ClientFrame) {
    let ours: serde_json::Value = serde_json::from_str(text).expect("live mode writes JSON");
    assert_eq!(ours, serde_json::to_value(&frame).expect("frames encode"), "{text}");
}

#[wasm_bindgen_test]
fn frames_live_mode_sends_are_the_protocol_types() {
    let will =
        Will { topic: "home/s/status".into(), payload: "offline".into(), retain: true, headers: Default::default() };
    let hello = |will| ClientFrame::Hello { id: None, client_id: Some("c".into()), keep_alive_ms: 0, will };
    same_json(&wire::hello("c", None), hello(None));
    same_json(&wire::hello("c", Some(("home/s/status", "offline"))), hello(Some(will)));
    same_json(&wire::watch(2, 1000), ClientFrame::Watch { id: 2, interval_ms: 1000 });
    let subscribe =
        ClientFrame::Subscribe { id: 3, queue: None, topic: Some("home/#".into()), prefetch: None, ack: AckMode::Auto };
    same_json(&wire::subscribe(3, "home/#"), subscribe);
    same_json(&wire::unsubscribe(4, 9), ClientFrame::Unsubscribe { id: 4, consumer: 9 });
    let publish = |id| ClientFrame::Publish {
        id,
        topic: Some("home/a".into()),
        queue: None,
        payload: "21.5".into(),
        headers: Default::default(),
        retain: true,
        ttl_ms: None,
    };
    same_json(&wire::publish(Some(5), "home/a", "21.5", true), publish(Some(5)));
    same_json(&wire::publish(None, "home/a", "21.5", true), publish(None));
    same_json(&wire::bye(), ClientFrame::Bye);
}

/// Waits `ms` of real time (WebSocket events are macrotasks).
async fn sleep(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ =
            web_sys::window().expect("a window").set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}

#[wasm_bindgen_test]
async fn live_mode_says_so_when_no_broker_answers() {
    use leptos::prelude::*;
    use wasm_bindgen::JsCast;
    let document = document();
    let root = document.create_element("div").expect("a div").unchecked_into::<web_sys::HtmlElement>();
    document.body().expect("a body").append_child(&root).expect("append");
    let mounted = leptos::mount::mount_to(root.clone(), || view! { <frontend::Live /> });
    let status = || {
        root.query_selector("[data-testid=status]").ok().flatten().and_then(|e| e.text_content()).unwrap_or_default()
    };
    // The test server has no `/ws`: the page must not claim to be connected.
    let mut seen = String::new();
    for _ in 0..50 {
        sleep(100).await;
        seen = status();
        if seen.starts_with("disconnected") {
            break;
        }
    }
    assert!(seen.starts_with("disconnected: ") && seen.contains("retrying in"), "status: {seen:?}");
    assert!(root.query_selector("[data-testid=no-list]").ok().flatten().is_some(), "no queue list is invented");
    drop(mounted);
}
