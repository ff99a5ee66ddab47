//! Takes `docs/live.png`: the real broker with a few devices' retained state
//! and some traffic, the dashboard's Live tab open on it.
//!
//! ```text
//! HEARTH_BIN=target/debug/hearth HEARTH_DIST=dist CHROMEDRIVER=/usr/bin/chromedriver \
//!     cargo run -q -p hearth-e2e --bin live-screenshot -- docs/live.png
//! ```

use std::time::Duration;

use fantoccini::Locator;
use hearth_e2e::{Broker, Browser};
use serde_json::json;

const STATES: [(&str, &str); 6] = [
    ("home/hall/door/lock/state", r#"{"locked":false}"#),
    ("home/living/curtains/state", r#"{"position":80}"#),
    ("home/living/thermostat/state", r#"{"celsius":21.5,"heating":true}"#),
    ("home/hall/light/state", r#"{"on":true}"#),
    ("home/security/alarm/state", r#"{"armed":false}"#),
    ("home/kitchen/smoke/status", "online"),
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
    for round in 0..10 {
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
    let png = browser.client.screenshot().await.expect("screenshot");
    std::fs::write(&out, png).expect("write the screenshot");
    println!("wrote {out}");
    browser.close().await;
}
