//! Takes the README's screenshots of the dashboard as a user sees it, served
//! by the real broker in headless Chromium at 1280 px:
//!
//! - `dashboard.png`: the simulated home running, the first lesson open;
//! - `lesson.png`: three lessons done by following their tasks from the
//!   lesson panel's own controls (a consumer added, slowed and crashed, its
//!   messages redelivered), the fourth open with the controls it needs;
//! - `devices.png`: the Live tab's cards for devices announced the way Home
//!   Assistant, zigbee2mqtt, Tasmota and Shelly announce them;
//! - `topic-tree.png`: the Live tab's topic tree with one topic's history
//!   and chart.
//!
//! ```text
//! cargo xtask dist && cargo build -p hearth
//! HEARTH_BIN=target/debug/hearth HEARTH_DIST=dist CHROMEDRIVER=/usr/bin/chromedriver \
//!     cargo run -q -p hearth-e2e --bin readme-screenshots -- docs
//! ```

use std::path::{Path, PathBuf};
use std::time::Duration;

use fantoccini::Locator;
use hearth_e2e::{Broker, Browser};
use serde_json::{Value, json};

/// Retained device announcements and state, as the devices send them.
const RETAINED: [(&str, &str); 18] = [
    (
        "homeassistant/sensor/kitchen-th/temperature/config",
        r#"{"name":"Temperature","~":"kitchen/th","stat_t":"~/state","avty_t":"~/status","unit_of_meas":"°C",
            "dev_cla":"temperature","val_tpl":"{{ value_json.temperature }}","uniq_id":"kth-t",
            "dev":{"ids":["kitchen-th"],"name":"Kitchen sensor"}}"#,
    ),
    ("kitchen/th/state", r#"{"temperature":21.5,"battery":90}"#),
    ("kitchen/th/status", "online"),
    (
        "homeassistant/light/hall/config",
        r#"{"name":"Hall light","command_topic":"hall/light/set","state_topic":"hall/light/state"}"#,
    ),
    ("hall/light/state", "ON"),
    (
        "homeassistant/device/plug1/config",
        r#"{"dev":{"ids":"plug-1","name":"Garage plug"},"o":{"name":"esphome"},"stat_t":"garage/plug","cmd_t":"garage/plug/set",
            "cmps":{"w":{"p":"sensor","name":"Power","unit_of_meas":"W","val_tpl":"{{ value_json.power }}"},
                    "relay":{"p":"switch","name":"Relay","pl_on":"1","pl_off":"0","val_tpl":"{{ value_json.relay }}"}}}"#,
    ),
    ("garage/plug", r#"{"power":12.5,"relay":"1"}"#),
    (
        "zigbee2mqtt/bridge/devices",
        r#"[{"type":"Coordinator","friendly_name":"Coordinator"},
            {"type":"Router","friendly_name":"living lamp","definition":{"description":"bulb","exposes":[
                {"type":"light","features":[{"type":"binary","property":"state","access":7,"value_on":"ON","value_off":"OFF"}]}]}},
            {"type":"EndDevice","friendly_name":"bath","definition":{"exposes":[{"type":"numeric","property":"temperature","unit":"°C","access":1}]}}]"#,
    ),
    ("zigbee2mqtt/living lamp", r#"{"state":"OFF","brightness":120}"#),
    ("zigbee2mqtt/living lamp/availability", r#"{"state":"online"}"#),
    ("zigbee2mqtt/bath", r#"{"temperature":23.4,"linkquality":80}"#),
    ("tele/plug-2/LWT", "Online"),
    ("tele/plug-2/SENSOR", r#"{"Time":"2026-12-04T07:00:00","ENERGY":{"Power":40,"Voltage":230}}"#),
    ("stat/plug-2/POWER", "ON"),
    ("shellies/shelly1-a1/online", "true"),
    ("shellies/shelly1-a1/relay/0", "on"),
    ("home/hall/door/lock/state", r#"{"locked":true,"battery":87}"#),
    ("home/hall/door/lock/status", "online"),
];

fn publish(topic: &str, payload: &str, retain: bool) -> Value {
    json!({"type": "publish", "id": 1, "topic": topic, "payload": payload, "retain": retain})
}

async fn click(browser: &Browser, css: &str) {
    browser.click(css).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Saves what the window shows.
async fn window(browser: &Browser, path: &Path) {
    let png = browser.client.screenshot().await.expect("screenshot");
    std::fs::write(path, png).expect("write the screenshot");
    println!("wrote {}", path.display());
}

/// Saves one element, scrolled into view.
async fn element(browser: &Browser, css: &str, path: &Path) {
    let found = browser.client.find(Locator::Css(css)).await.unwrap_or_else(|_| panic!("`{css}` is on the page"));
    browser
        .client
        .execute("arguments[0].scrollIntoView({block: 'start'})", vec![serde_json::to_value(&found).expect("element")])
        .await
        .expect("scroll");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let png = found.screenshot().await.expect("element screenshot");
    std::fs::write(path, png).expect("write the screenshot");
    println!("wrote {}", path.display());
}

/// The simulator, and three lessons done from the lesson panel.
async fn simulator(broker: &Broker, out: &Path) {
    let browser = Browser::start().await;
    // A 1280 × 800 page: the window's frame takes 143 px of height.
    browser.client.set_window_size(1280, 943).await.expect("window size");
    browser.client.goto(&broker.url()).await.expect("page loads");
    browser.wait_for_text("[data-testid=lessons-progress]", |t| t.starts_with("0 of 6 done")).await;
    tokio::time::sleep(Duration::from_secs(8)).await;
    window(&browser, &out.join("dashboard.png")).await;

    click(&browser, "[data-testid=lesson-controls] [data-testid=publish]").await;
    browser.wait_for_text("[data-lesson=fifo-routing] [data-testid=lesson-status]", |t| t == "✓ done").await;
    click(&browser, "[data-testid=add-consumer]").await;
    browser.wait_for_text("[data-lesson=competing-consumers] [data-testid=lesson-status]", |t| t == "✓ done").await;
    browser.wait_for_text("[data-testid=lesson-controls] #consumer-h", |t| t == "Consumer").await;
    // The newest consumer on telemetry: slow it, let it take messages, crash it.
    let options =
        browser.client.find_all(Locator::Css("[data-testid=control-consumer] option")).await.expect("options");
    let mut newest = None;
    for option in options {
        if option.text().await.unwrap_or_default().ends_with("on telemetry") {
            newest = option.attr("value").await.expect("attributes");
        }
    }
    let select = browser.client.find(Locator::Css("[data-testid=control-consumer]")).await.expect("picker");
    select.select_by_value(&newest.expect("a consumer on telemetry")).await.expect("pick");
    browser.fill("[data-testid=prefetch]", "5").await;
    browser.fill("[data-testid=processing]", "5000").await;
    let ack = browser.client.find(Locator::Css("[data-testid=ack]")).await.expect("ack picker");
    ack.select_by_value("manual").await.expect("manual ack");
    click(&browser, "[data-testid=apply-consumer]").await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    click(&browser, "[data-testid=crash-consumer]").await;
    browser.wait_for_text("[data-lesson=acks-redelivery] [data-testid=lesson-status]", |t| t == "✓ done").await;
    tokio::time::sleep(Duration::from_millis(1500)).await;
    // The lesson list scrolled to the open fourth lesson, the page to its top.
    browser
        .client
        .execute(
            "document.querySelector('[data-lesson=prefetch-backpressure]').scrollIntoView({block: 'start'}); \
             window.scrollTo(0, 0)",
            vec![],
        )
        .await
        .expect("scroll");
    tokio::time::sleep(Duration::from_millis(300)).await;
    window(&browser, &out.join("lesson.png")).await;
    browser.close().await;
}

/// The Live tab: device cards and the topic tree.
async fn live(broker: &Broker, out: &Path) {
    let frames: Vec<Value> = RETAINED.iter().map(|(t, p)| publish(t, p, true)).collect();
    broker.request(&frames).await;
    let browser = Browser::start().await;
    browser.client.set_window_size(1280, 1000).await.expect("window size");
    browser.client.goto(&broker.url()).await.expect("page loads");
    browser.wait_for_text("[data-testid=tab-live]", |t| t == "Live").await;
    click(&browser, "[data-testid=tab-live]").await;
    browser.wait_for_text("[data-testid=status]", |t| t.starts_with("connected")).await;
    // A temperature that moves, a power reading, and a door that opens.
    for round in 0..24u32 {
        let celsius = 21.0 + (f64::from(round) / 3.0).sin() * 1.5;
        let watts = 10.0 + f64::from((round * 5) % 9);
        broker
            .request(&[
                publish("kitchen/th/state", &format!(r#"{{"temperature":{celsius:.2},"battery":90}}"#), true),
                publish("garage/plug", &format!(r#"{{"power":{watts:.1},"relay":"1"}}"#), true),
                publish("home/living/temperature", &format!("{:.1}", celsius + 0.8), false),
            ])
            .await;
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    broker.request(&[publish("home/hall/door/lock/state", r#"{"locked":false,"battery":87}"#, true)]).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    element(&browser, "section[aria-labelledby=live-devices-h]", &out.join("devices.png")).await;

    click(&browser, "[data-testid=tree-expand]").await;
    click(&browser, "[data-testid=tree-row][data-topic=\"home/living/temperature\"] [data-testid=tree-label]").await;
    browser.wait_for_text("[data-testid=tree-detail-topic]", |t| t == "home/living/temperature").await;
    element(&browser, "section[aria-labelledby=live-tree-h]", &out.join("topic-tree.png")).await;
    browser.close().await;
}

#[tokio::main]
async fn main() {
    let out = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "docs".to_string()));
    let broker = Broker::start();
    simulator(&broker, &out).await;
    live(&Broker::start(), &out).await;
}
