//! Browser tests for what live mode shows of the broker's durable store:
//! the disk line and its budget, which budget blocked publishers, durable
//! queues from the stats stream and their bytes on disk from
//! `GET /api/queues`. No broker: frames and lists are built here from the
//! protocol's own types, as the broker encodes them.
#![cfg(target_arch = "wasm32")]

use frontend::wire::{self, Incoming, Memory, Stats};
use frontend::{DiskBytes, LiveState, QueueInfo, blocked_line, disk_bytes_from_json, memory_line, with_disk_bytes};
use leptos::prelude::*;
use queue_core::protocol::ServerFrame;
use queue_core::{Counters, MemoryStats, QueueCounters, QueueOptions, QueueStats, StatsSnapshot};
use serde_json::Value;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};

wasm_bindgen_test_configure!(run_in_browser);

/// 12.3 MiB.
const DISK: u64 = 12_897_485;
/// 1 GiB.
const GIB: u64 = 1 << 30;

/// A queue as the engine reports it.
fn queue_stats(name: &str, durable: bool) -> QueueStats {
    QueueStats {
        name: name.into(),
        options: QueueOptions { durable, ..QueueOptions::default() },
        bindings: vec![],
        ready: 3,
        unacked: 0,
        bytes: 300,
        consumers: 0,
        counters: QueueCounters { enqueued: 3, ..QueueCounters::default() },
    }
}

/// What live mode reads from a `stats` frame with `memory` and `queues`.
fn stats_of(memory: MemoryStats, queues: Vec<QueueStats>) -> Stats {
    let snapshot = StatsSnapshot {
        now: 1_000,
        counters: Counters::default(),
        connections: 1,
        consumers: 0,
        retained: 0,
        memory,
        queues,
    };
    let text = serde_json::to_string(&ServerFrame::Stats { id: None, stats: Box::new(snapshot) }).expect("encodes");
    match wire::decode(&text) {
        Some(Incoming::Stats(stats)) => stats,
        other => panic!("live mode reads {text}: {other:?}"),
    }
}

/// What live mode reads of `memory` from a stats frame.
fn read(memory: MemoryStats) -> Option<Memory> {
    stats_of(memory, vec![]).memory
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

/// Mounts the memory line and the blocked warning over `memory`; returns
/// the root and the mount (which unmounts when dropped).
async fn mounted(memory: RwSignal<Option<Memory>>) -> (web_sys::HtmlElement, impl Sized) {
    let root = fresh_root();
    let handle = leptos::mount::mount_to(root.clone(), move || {
        view! { {memory_line(move || memory.get())} {blocked_line(move || memory.get())} }
    });
    leptos::task::tick().await;
    (root, handle)
}

#[wasm_bindgen_test]
async fn the_disk_line_shows_the_store_and_its_budget() {
    let memory =
        RwSignal::new(read(MemoryStats { used: 4_096, disk: DISK, disk_limit: Some(GIB), ..Default::default() }));
    let (root, _mounted) = mounted(memory).await;
    assert_eq!(texts(&root, "live-disk"), ["12.3 MiB of 1.0 GiB"]);
    let gauge = root.query_selector("[data-testid=live-disk-gauge]").ok().flatten().expect("a disk gauge");
    assert_eq!(
        (gauge.get_attribute("value"), gauge.get_attribute("max")),
        (Some(DISK.to_string()), Some(GIB.to_string()))
    );
    assert!(texts(&root, "live-memory-gauge").is_empty(), "no memory gauge without a memory budget");

    memory.set(read(MemoryStats { used: 4_096, disk: DISK, ..Default::default() }));
    leptos::task::tick().await;
    assert_eq!(texts(&root, "live-disk"), ["12.3 MiB, no budget"]);
    assert!(texts(&root, "live-disk-gauge").is_empty(), "no gauge without a budget");

    memory.set(read(MemoryStats { used: 4_096, disk: 0, disk_limit: Some(GIB), ..Default::default() }));
    leptos::task::tick().await;
    assert_eq!(texts(&root, "live-disk"), ["0 B of 1.0 GiB"], "an empty store under a budget still shows");
}

#[wasm_bindgen_test]
async fn a_broker_with_nothing_on_disk_shows_no_disk_line() {
    let in_memory = read(MemoryStats { used: 4_096, ..Default::default() });
    assert_eq!(in_memory.map(|m| (m.disk, m.disk_limit)), Some((0, None)));

    // A broker older than the store sends `memory` without the disk fields.
    let frame = serde_json::to_value(ServerFrame::Stats {
        id: None,
        stats: Box::new(StatsSnapshot {
            now: 1,
            counters: Counters::default(),
            connections: 0,
            consumers: 0,
            retained: 0,
            memory: MemoryStats { used: 4_096, ..Default::default() },
            queues: vec![],
        }),
    });
    let mut frame = frame.expect("encodes");
    let memory = frame["stats"]["memory"].as_object_mut().expect("a memory object");
    memory.remove("disk");
    memory.remove("disk_limit");
    let Some(Incoming::Stats(old)) = wire::decode(&frame.to_string()) else { panic!("live mode reads {frame}") };
    assert_eq!(old.memory, in_memory, "missing disk fields read as nothing on disk");

    let (root, _mounted) = mounted(RwSignal::new(old.memory)).await;
    assert_eq!(texts(&root, "live-memory"), ["4.0 KiB, no budget"]);
    assert!(texts(&root, "live-disk").is_empty());
    assert!(texts(&root, "live-disk-gauge").is_empty());
}

#[wasm_bindgen_test]
async fn the_blocked_warning_names_the_budget_used_up() {
    let budgets = |used: u64, disk: u64| MemoryStats {
        used,
        limit: Some(1_000_000),
        disk,
        disk_limit: Some(GIB),
        blocked: true,
        ..Default::default()
    };
    let memory = RwSignal::new(read(budgets(10_000, GIB)));
    let (root, _mounted) = mounted(memory).await;
    let warning = || texts(&root, "live-memory-blocked");
    assert_eq!(warning(), ["publishers blocked: disk budget used up"]);

    memory.set(read(budgets(1_000_000, 10_000)));
    leptos::task::tick().await;
    assert_eq!(warning(), ["publishers blocked: memory budget used up"]);

    memory.set(read(budgets(1_000_000, GIB + 1)));
    leptos::task::tick().await;
    assert_eq!(warning(), ["publishers blocked: memory and disk budgets used up"]);

    // Falling back towards the low watermark (90 %): still held by the disk.
    memory.set(read(budgets(10_000, GIB / 100 * 95)));
    leptos::task::tick().await;
    assert_eq!(warning(), ["publishers blocked: disk budget used up"]);

    memory.set(read(MemoryStats { blocked: false, ..budgets(10_000, GIB / 100 * 95) }));
    leptos::task::tick().await;
    assert!(warning().is_empty(), "no warning once publishers go again");
}

#[wasm_bindgen_test]
fn durable_queues_come_from_the_stats_stream() {
    let stats = stats_of(MemoryStats::default(), vec![queue_stats("jobs", true), queue_stats("hearth.sub.1", false)]);
    assert_eq!(stats.queues.iter().map(|q| q.durable).collect::<Vec<_>>(), [true, false]);
    let mut state = LiveState::default();
    state.apply_stats(&stats);
    let marks: Vec<_> = state.queues.iter().map(|q| (q.name.as_str(), q.durable, q.disk_bytes)).collect();
    assert_eq!(marks, [("jobs", true, None), ("hearth.sub.1", false, None)]);
}

/// `GET /api/queues` as the broker writes it: each queue's stats and its `disk_bytes`.
fn api_queues(entries: &[(&str, bool, u64)]) -> Vec<Value> {
    entries
        .iter()
        .map(|&(name, durable, disk_bytes)| {
            let mut value = serde_json::to_value(queue_stats(name, durable)).expect("encodes");
            value["disk_bytes"] = disk_bytes.into();
            value
        })
        .collect()
}

#[wasm_bindgen_test]
fn disk_bytes_are_read_from_the_queue_list_by_name() {
    let list = api_queues(&[("jobs", true, 12_600), ("hearth.sub.1", false, 0)]);
    let bytes = disk_bytes_from_json(&list);
    assert_eq!(bytes, DiskBytes::from([("jobs".to_string(), 12_600), ("hearth.sub.1".to_string(), 0)]));

    let mut old = api_queues(&[("jobs", true, 0)]);
    old[0].as_object_mut().expect("an object").remove("disk_bytes");
    let garbage = [Value::Null, serde_json::json!({"disk_bytes": 5})];
    assert!(disk_bytes_from_json(&old).is_empty(), "a broker older than the store says nothing");
    assert!(disk_bytes_from_json(&garbage).is_empty(), "entries without a name are skipped");
}

#[wasm_bindgen_test]
fn only_durable_queues_take_their_disk_bytes() {
    let row = |name: &str, durable: bool| QueueInfo { name: name.into(), durable, ..QueueInfo::default() };
    let rows = vec![row("jobs", true), row("hearth.sub.1", false), row("new", true)];
    let bytes = DiskBytes::from([("jobs".to_string(), 12_600), ("hearth.sub.1".to_string(), 7)]);
    let shown: Vec<_> = with_disk_bytes(rows.clone(), Some(&bytes)).into_iter().map(|q| q.disk_bytes).collect();
    assert_eq!(shown, [Some(12_600), None, None], "not durable, or not listed yet: no bytes");
    let failed: Vec<_> = with_disk_bytes(rows, None).into_iter().map(|q| (q.durable, q.disk_bytes)).collect();
    assert_eq!(failed, [(true, None), (false, None), (true, None)], "a failed fetch keeps the marks, not the bytes");
}
