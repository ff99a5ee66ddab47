//! Browser tests for live mode's plain state: rates from successive stats
//! frames, device cards from retained deliveries, the bounded history, the
//! link's honest status and back-off, the memory line and blocked
//! connections, what a session answer means for the login form, and what a
//! refused WebSocket says. No broker: frames are built here.
#![cfg(target_arch = "wasm32")]

use std::sync::Arc;

use frontend::wire::{self, Incoming, Memory, Message, QueueStat, Stats};
use frontend::{
    Account, CHART_SAMPLES, ConnectionRow, Device, HISTORY, LinkState, LiveState, Sample, backoff_ms, blocked_line,
    connection_table, format_bytes, format_rate, group_devices, http_base, memory_line, refusal_hint,
};
use leptos::prelude::*;
use queue_core::protocol::{AckMode, ClientFrame, Delivery, ErrorCode, ServerFrame, Will};
use queue_core::{ConnectionStats, Counters, MemoryStats, QueueCounters, QueueStats, StatsSnapshot};
use wasm_bindgen::JsCast;
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
    stats_of(protocol_snapshot(now, published, enqueued))
}

/// What live mode reads from a `stats` frame carrying `snapshot`.
fn stats_of(snapshot: StatsSnapshot) -> Stats {
    match through_the_wire(ServerFrame::Stats { id: None, stats: Box::new(snapshot) }) {
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
    assert_eq!(fields(&devices[0]), [("battery", "87 %"), ("locked", "false")]);
    assert_eq!(devices[1].online, None, "a topic with no status is its own card, status unknown");
    assert_eq!(fields(&devices[1]), [("value", "20.5 °C")], "the unit its topic's name means");
    assert_eq!((devices[2].online, fields(&devices[2])), (Some(true), vec![("power", "12.5 W")]));
    assert_eq!((devices[3].online, fields(&devices[3])), (Some(false), vec![("celsius", "21.5 °C")]));
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
fn home_numbers_get_the_unit_their_name_means_and_nothing_else_does() {
    let mut state = LiveState::default();
    state.apply_device(&delivery("home/x/state", r#"{"level":3,"watts":"12","humidity":40.5,"on":true}"#, true));
    state.apply_device(&delivery("home/x/voltage", "230", true));
    state.apply_device(&delivery("home/x/env/temperature", "19.5", true));
    state.apply_device(&delivery("home/x/power", "off", true));
    state.apply_device(&delivery("home/y/temperature", "warm", true));
    let devices = group_devices(&state.devices);
    assert_eq!(
        fields(&devices[0]),
        [
            ("env/temperature", "19.5 °C"),
            ("power", "off"),
            ("humidity", "40.5 %"),
            ("level", "3"),
            ("on", "true"),
            ("watts", "12"),
            ("voltage", "230 V")
        ],
        "a string is not a number, a name that says nothing gets no unit, a deeper field its last level's"
    );
    assert_eq!(fields(&devices[1]), [("value", "warm")]);
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
fn bytes_read_in_binary_units() {
    let cases = [
        (0, "0 B"),
        (1023, "1023 B"),
        (1024, "1.0 KiB"),
        (1536, "1.5 KiB"),
        (99 * 1024 + 900, "99.9 KiB"),
        (99 * 1024 + 1000, "100 KiB"),
        (512 << 20, "512 MiB"),
        (1024 * 1024 - 1, "1.0 MiB"),
        (13_002_342, "12.4 MiB"),
        (10_307_921_510, "9.6 GiB"),
        (u64::MAX, "16.0 EiB"),
    ];
    for (bytes, shown) in cases {
        assert_eq!(format_bytes(bytes), shown, "{bytes} bytes");
    }
}

/// A new, empty `<div>` in the page's body, to mount one test's view into.
fn fresh_root() -> web_sys::HtmlElement {
    let document = document();
    let root = document.create_element("div").expect("a div").unchecked_into::<web_sys::HtmlElement>();
    document.body().expect("a body").append_child(&root).expect("append");
    root
}

/// The text of every element under `root` with `data-testid="{id}"`.
fn texts(root: &web_sys::Element, id: &str) -> Vec<String> {
    let nodes = root.query_selector_all(&format!("[data-testid='{id}']")).expect("a valid selector");
    (0..nodes.length()).filter_map(|i| nodes.item(i)).map(|node| node.text_content().unwrap_or_default()).collect()
}

/// A snapshot whose broker holds 12.4 MiB of a 9.6 GiB budget.
fn with_memory(limit: Option<u64>, blocked: bool) -> StatsSnapshot {
    let memory = MemoryStats {
        used: 13_002_342,
        limit,
        queued: 13_000_000,
        retained: 2_342,
        buffered: 0,
        blocked,
        ..MemoryStats::default()
    };
    StatsSnapshot { memory, ..protocol_snapshot(1_000, 10, 5) }
}

#[wasm_bindgen_test]
async fn the_memory_line_shows_use_of_the_budget_and_blocked_publishers() {
    let mut state = LiveState::default();
    state.apply_stats(&stats_of(with_memory(Some(10_307_921_510), true)));
    let memory = RwSignal::new(state.totals.memory);
    let root = fresh_root();
    let _mounted = leptos::mount::mount_to(root.clone(), move || {
        view! { {memory_line(move || memory.get())} {blocked_line(move || memory.get())} }
    });
    leptos::task::tick().await;
    assert_eq!(texts(&root, "live-memory"), ["12.4 MiB of 9.6 GiB"]);
    assert_eq!(texts(&root, "live-memory-blocked"), ["publishers blocked: memory budget used up"]);
    assert!(texts(&root, "live-disk").is_empty(), "no disk line for a broker that keeps nothing on disk");
    let gauge = root.query_selector("[data-testid=live-memory-gauge]").ok().flatten().expect("a gauge");
    assert_eq!(
        (gauge.get_attribute("value"), gauge.get_attribute("max")),
        (Some("13002342".into()), Some("10307921510".into()))
    );

    state.apply_stats(&stats_of(with_memory(None, false)));
    memory.set(state.totals.memory);
    leptos::task::tick().await;
    assert_eq!(texts(&root, "live-memory"), ["12.4 MiB, no budget"]);
    assert!(texts(&root, "live-memory-blocked").is_empty(), "the warning goes when publishers are read again");
    assert!(texts(&root, "live-memory-gauge").is_empty(), "no gauge without a budget");
}

#[wasm_bindgen_test]
async fn a_broker_without_a_memory_budget_shows_no_memory_line() {
    // What a broker older than the budget sends: no `memory`.
    let frame = ServerFrame::Stats { id: None, stats: Box::new(protocol_snapshot(1_000, 10, 5)) };
    let mut value = serde_json::to_value(&frame).expect("frames encode");
    value["stats"].as_object_mut().expect("a stats object").remove("memory");
    let Some(Incoming::Stats(old)) = wire::decode(&value.to_string()) else { panic!("live mode reads {value}") };
    assert_eq!((old.memory, old.queues[0].ready), (None, 4));
    let mut state = LiveState::default();
    state.apply_stats(&old);
    assert_eq!(state.totals.memory, None);

    let root = fresh_root();
    let _mounted =
        leptos::mount::mount_to(root.clone(), move || view! { {memory_line(|| None)} {blocked_line(|| None)} });
    leptos::task::tick().await;
    assert_eq!(root.text_content().unwrap_or_default(), "", "nothing shown, no error");
}

/// An entry of `GET /api/connections`: the protocol's `ConnectionStats`
/// plus what the broker adds (its address and the bytes waiting for it).
fn listed(client_id: &str, blocked: bool, protocol: &str) -> ConnectionRow {
    let stats = ConnectionStats {
        id: 1,
        client_id: client_id.into(),
        connected_at: 0,
        consumers: 0,
        unacked: 0,
        published: 7,
        has_will: false,
        blocked,
    };
    let mut value = serde_json::to_value(stats).expect("stats encode");
    value["remote"] = "127.0.0.1:5000".into();
    value["pending_bytes"] = 0.into();
    value["protocol"] = protocol.into();
    ConnectionRow::from_json(&value)
}

#[wasm_bindgen_test]
async fn a_blocked_connection_says_so_and_each_row_names_its_protocol() {
    let list = vec![listed("thermostat", false, "mqtt"), listed("flood", true, "amqp"), listed("page", false, "ws")];
    let root = fresh_root();
    let _mounted = leptos::mount::mount_to(root.clone(), move || connection_table(list));
    leptos::task::tick().await;
    let rows = texts(&root, "connection-row");
    assert_eq!(rows.len(), 3);
    assert_eq!(texts(&root, "connection-protocol"), ["MQTT", "AMQP", "WebSocket"]);
    assert_eq!(texts(&root, "connection-blocked"), ["blocked"]);
    let badge = root.query_selector("[data-testid=connection-blocked]").ok().flatten().expect("a mark");
    let row = badge.closest("[data-testid=connection-row]").ok().flatten().expect("in a row");
    assert!(row.text_content().unwrap_or_default().starts_with("flood"), "on the blocked connection's row");
}

#[wasm_bindgen_test]
fn frames_the_broker_sends_decode_to_what_live_mode_reads() {
    let message = Message {
        consumer: 1,
        topic: "home/a".into(),
        payload: r#"{"on":true}"#.into(),
        retained: true,
        binary: false,
    };
    assert_eq!(delivery("home/a", r#"{"on":true}"#, true), message);
    let mut binary = protocol_delivery("home/a", "", false);
    binary.payload = vec![0xff, 0, 1, 2, 3].into();
    match through_the_wire(ServerFrame::Deliver(binary)) {
        Incoming::Deliver(m) => assert_eq!((m.payload.as_str(), m.binary), ("ff 00 01 02 03", true)),
        other => panic!("{other:?}"),
    }
    let stats = snapshot(1_000, 10, 5);
    assert_eq!((stats.now, stats.published, stats.delivered, stats.connections, stats.retained), (1_000, 10, 10, 2, 3));
    let queue = QueueStat {
        name: "jobs".into(),
        ready: 4,
        unacked: 1,
        consumers: 1,
        durable: false,
        enqueued: 5,
        delivered: 5,
        acked: 0,
        bindings: Vec::new(),
        policy: Vec::new(),
        losses: vec![("redelivered", 0), ("dropped", 0), ("refused", 0), ("expired", 0), ("dead_lettered", 0)],
    };
    assert_eq!(stats.queues, [queue]);
    assert_eq!(stats.memory, Some(Memory::default()), "a broker with no budget and nothing held");
    let frames = [
        (
            ServerFrame::Subscribed { id: 4, consumer: 2, queue: "hearth.sub.3".into() },
            Incoming::Subscribed { id: 4, consumer: 2, queue: "hearth.sub.3".into() },
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
    let will = Will {
        topic: "home/s/status".into(),
        payload: "offline".into(),
        retain: true,
        headers: Default::default(),
        delay_ms: 0,
    };
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
    let root = fresh_root();
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

#[wasm_bindgen_test]
fn the_session_answer_says_whether_the_live_view_waits_for_a_login() {
    let needed = Account::from_json(r#"{"login_required":true,"user":null}"#);
    assert!(needed.required && needed.locked(), "{needed:?}");
    let alice = Account::from_json(r#"{"login_required":true,"user":"alice"}"#);
    assert_eq!(alice.user.as_deref(), Some("alice"));
    assert!(!alice.locked());
    assert!(!Account::from_json(r#"{"login_required":false,"user":null}"#).locked(), "an open broker");
    // A broker from before logins answers /api/session with its page.
    assert_eq!(Account::from_json("<!doctype html><title>Hearth</title>"), Account::default());
}

#[wasm_bindgen_test]
fn a_refused_websocket_names_the_flag_that_lets_the_page_in() {
    let (there, here) = ("http://127.0.0.1:2", "http://127.0.0.1:1");
    let flag = "--allow-origin http://127.0.0.1:1";
    let refused = refusal_hint(there, here, Some(true));
    assert!(refused.starts_with("http://127.0.0.1:2 answers, but refused this page's WebSocket"), "{refused}");
    assert!(refused.contains("does not allow pages from http://127.0.0.1:1") && refused.contains(flag), "{refused}");
    let down = refusal_hint(there, here, Some(false));
    assert!(down.contains("does not answer") && down.contains(flag), "{down}");
    let unknown = refusal_hint(there, here, None);
    assert!(unknown.contains("may not allow pages from http://127.0.0.1:1") && unknown.contains(flag), "{unknown}");
}
