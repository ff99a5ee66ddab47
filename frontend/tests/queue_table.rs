//! Browser tests for the queue table: mounted with fixed data, no broker.
#![cfg(target_arch = "wasm32")]

use frontend::{QueueInfo, QueueTable, Status, StatusLine};
use leptos::mount::mount_to;
use leptos::prelude::*;
use leptos::task::tick;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

/// A new, empty `<div>` in the page's body, to mount one test's view into.
fn fresh_root() -> HtmlElement {
    let document = document();
    let root = document.create_element("div").expect("create a div").unchecked_into::<HtmlElement>();
    document.body().expect("the page has a body").append_child(&root).expect("append the div");
    root
}

/// The text of every element under `root` with `data-testid="{id}"`.
fn texts(root: &Element, id: &str) -> Vec<String> {
    let nodes = root.query_selector_all(&format!("[data-testid='{id}']")).expect("a valid selector");
    (0..nodes.length()).filter_map(|i| nodes.item(i)).map(|node| node.text_content().unwrap_or_default()).collect()
}

fn queue(name: &str, ready: u64, unacked: u64, consumers: u64) -> QueueInfo {
    QueueInfo { name: name.to_string(), ready, unacked, consumers, ..QueueInfo::default() }
}

#[wasm_bindgen_test]
async fn shows_a_row_per_queue() {
    let root = fresh_root();
    let queues = vec![queue("jobs", 3, 1, 2), queue("home/hall/door", 0, 0, 1)];
    let _mounted = mount_to(root.clone(), move || view! { <QueueTable queues=Signal::stored(queues) /> });
    tick().await;

    assert_eq!(texts(&root, "queue-row").len(), 2);
    assert_eq!(texts(&root, "queue-name"), ["jobs", "home/hall/door"]);
    assert_eq!(texts(&root, "queue-ready"), ["3", "0"]);
    assert_eq!(texts(&root, "queue-unacked"), ["1", "0"]);
    assert_eq!(texts(&root, "queue-consumers"), ["2", "1"]);
    assert!(texts(&root, "empty").is_empty());
}

#[wasm_bindgen_test]
async fn marks_durable_queues_with_their_bytes_on_disk() {
    let root = fresh_root();
    let durable = |name: &str, disk_bytes| QueueInfo { durable: true, disk_bytes, ..queue(name, 3, 0, 0) };
    let queues = vec![durable("jobs", Some(12_600)), durable("orders", None), queue("hearth.sub.1", 0, 0, 1)];
    let _mounted = mount_to(root.clone(), move || view! { <QueueTable queues=Signal::stored(queues) /> });
    tick().await;

    assert_eq!(texts(&root, "queue-name"), ["jobs", "orders", "hearth.sub.1"], "the name alone, without its mark");
    assert_eq!(texts(&root, "queue-durable"), ["durable", "durable"]);
    assert_eq!(texts(&root, "queue-disk"), ["12.3 KiB on disk"], "bytes only where the admin API gave them");
    let rows = texts(&root, "queue-row");
    assert!(rows[0].starts_with("jobsdurable 12.3 KiB on disk"), "{}", rows[0]);
    assert!(rows[1].starts_with("ordersdurable3"), "{}", rows[1]);
    assert!(rows[2].starts_with("hearth.sub.10"), "no mark on a queue that is not durable: {}", rows[2]);
}

#[wasm_bindgen_test]
async fn shows_the_empty_state_without_queues() {
    let root = fresh_root();
    let _mounted = mount_to(root.clone(), || view! { <QueueTable queues=Signal::stored(Vec::new()) /> });
    tick().await;

    assert!(texts(&root, "queue-row").is_empty());
    let empty = texts(&root, "empty");
    assert_eq!(empty, ["No queues yet — declare one with hearth pub --declare --queue NAME MESSAGE"]);
}

#[wasm_bindgen_test]
async fn follows_the_signal() {
    let root = fresh_root();
    let queues = RwSignal::new(Vec::new());
    let _mounted = mount_to(root.clone(), move || view! { <QueueTable queues=queues /> });
    tick().await;
    assert_eq!(texts(&root, "empty").len(), 1);

    queues.set(vec![queue("jobs", 3, 1, 2)]);
    tick().await;
    assert_eq!(texts(&root, "queue-ready"), ["3"]);

    queues.set(vec![queue("jobs", 5, 1, 2)]);
    tick().await;
    assert_eq!(texts(&root, "queue-ready"), ["5"]);
    assert!(texts(&root, "empty").is_empty());
}

#[wasm_bindgen_test]
async fn status_line_says_what_happened() {
    let root = fresh_root();
    let status = RwSignal::new(Status::Loading);
    let _mounted = mount_to(root.clone(), move || view! { <StatusLine status=status /> });
    tick().await;
    assert_eq!(texts(&root, "status"), ["loading…"]);

    status.set(Status::Connected);
    tick().await;
    assert_eq!(texts(&root, "status"), ["connected to this broker"]);

    status.set(Status::Error("cannot reach the broker".to_string()));
    tick().await;
    assert_eq!(texts(&root, "status"), ["cannot reach the broker"]);
}
