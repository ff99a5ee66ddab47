//! Takes `docs/live.png`: the real broker with a few devices' retained state
//! and status, some traffic and three simulated devices started from the
//! page, the dashboard's Live tab open on it. A second argument `dark`
//! switches to the dark theme first.
//!
//! ```text
//! HEARTH_BIN=target/debug/hearth HEARTH_DIST=dist CHROMEDRIVER=/usr/bin/chromedriver \
//!     cargo run -q -p hearth-e2e --bin live-screenshot -- docs/live.png
//! ```

use std::time::Duration;

use fantoccini::Locator;
use hearth_e2e::{Broker, Browser};
use serde_json::json;

const STATES: [(&str, &str); 10] = [
    ("home/hall/door/lock/state", r#"{"locked":false,"battery":87}"#),
    ("home/hall/door/lock/status", "online"),
    ("home/living/curtains/state", r#"{"position":80}"#),
    ("home/living/curtains/status", "offline"),
    ("home/living/thermostat/state", r#"{"celsius":21.5,"heating":true}"#),
    ("home/living/thermostat/status", "online"),
    ("home/hall/light/state", r#"{"on":true}"#),
    ("home/hall/alarm/state", r#"{"armed":false}"#),
    ("home/kitchen/smoke/status", "online"),
    ("home/kitchen/smoke/state", r#"{"smoke":false}"#),
];

fn publish(topic: &str, payload: &str, retain: bool) -> serde_json::Value {
    json!({"type": "publish", "id": 1, "topic": topic, "payload": payload, "retain": retain})
}

#[tokio::main]
async fn main() {
    let out = std::env::args().nth(1).unwrap_or_else(|| "docs/live.png".to_string());
    let broker = Broker::start();
    let mut setup = vec![
        json!({"type": "declare", "id": 1, "queue": "thermostat"}),
        json!({"type": "bind", "id": 1, "queue": "thermostat", "filter": "home/+/temperature"}),
    ];
    setup.extend(STATES.iter().map(|(t, p)| publish(t, p, true)));
    broker.request(&setup).await;
    let browser = Browser::start().await;
    browser.client.goto(&broker.url()).await.expect("page loads");
    browser.wait_for_text("[data-testid=tab-live]", |t| t == "Live").await;
    browser.client.find(Locator::Css("[data-testid=tab-live]")).await.expect("Live tab").click().await.expect("click");
    browser.wait_for_text("[data-testid=status]", |t| t.starts_with("connected")).await;
    if std::env::args().nth(2).as_deref() == Some("dark") {
        browser.client.find(Locator::Css("[data-testid=theme]")).await.expect("theme").click().await.expect("click");
    }
    let count = browser.client.find(Locator::Css("[data-testid=fleet-count]")).await.expect("device count");
    count.clear().await.expect("clear");
    count.send_keys("3").await.expect("type");
    browser.client.find(Locator::Css("[data-testid=fleet-start]")).await.expect("start").click().await.expect("click");
    for round in 0..16 {
        let frames: Vec<_> = (0..5)
            .map(|n| {
                publish(
                    &format!("home/room{n}/temperature"),
                    &format!("{:.1}", 19.0 + f64::from(n + round) * 0.3),
                    false,
                )
            })
            .collect();
        broker.request(&frames).await;
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    browser.client.set_window_size(1280, 1700).await.expect("a taller window");
    browser.client.execute("window.scrollTo(0, 0)", vec![]).await.expect("scroll to the top");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let png = browser.client.screenshot().await.expect("screenshot");
    std::fs::write(&out, png).expect("write the screenshot");
    println!("wrote {out}");
    browser.close().await;
}
