//! The served dashboard, loaded in headless Chromium from the real broker,
//! shows the broker's queues as they change (Live tab).

use hearth_e2e::{Broker, Browser};
use serde_json::json;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_dashboard_lists_the_brokers_queues_live() {
    let broker = Broker::start();
    let replies = broker
        .request(&[
            json!({"type": "declare", "id": 1, "queue": "e2e-jobs"}),
            json!({"type": "publish", "id": 2, "queue": "e2e-jobs", "payload": "one"}),
            json!({"type": "publish", "id": 3, "queue": "e2e-jobs", "payload": "two"}),
        ])
        .await;
    assert_eq!(replies[0]["type"], "declared", "{replies:?}");
    let browser = Browser::start().await;
    browser.client.goto(&broker.url()).await.expect("page loads");
    let title = browser.client.title().await.expect("title");
    assert!(title.contains("Hearth"), "title {title:?}");
    // The page opens on the simulator; the broker's queues are under Live.
    // The wasm mounts the page after `load`: wait for the tab to exist.
    browser.wait_for_text("[data-testid=tab-live]", |t| t == "Live").await;
    browser.click("[data-testid=tab-live]").await;
    browser.wait_for_text("[data-testid=queue-name]", |t| t == "e2e-jobs").await;
    let rows = browser.texts("[data-testid=queue-row]").await;
    assert!(rows.iter().any(|r| r.contains("e2e-jobs") && r.contains('2')), "rows: {rows:?}");

    // A queue declared after the page loaded appears without a reload.
    broker.request(&[json!({"type": "declare", "id": 1, "queue": "e2e-later"})]).await;
    // (The page's own subscription queues, `hearth.sub.N`, are listed too.)
    let deadline = std::time::Instant::now() + hearth_e2e::WAIT;
    while !browser.texts("[data-testid=queue-name]").await.iter().any(|t| t == "e2e-later") {
        assert!(std::time::Instant::now() < deadline, "e2e-later never listed");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    browser.close().await;
}
