//! Measures the simulator's frame rate in headless Chromium: the real broker
//! serves the built dashboard, the page opens on a stress scenario from the
//! URL hash, and after a warm-up a script counts `requestAnimationFrame`
//! callbacks for five seconds. A measurement, not a test: it prints figures.
//!
//! With `live-burst` instead of a scenario it measures the monitor: the Live
//! tab open on the broker, 5 000 messages published at once by 20
//! `mosquitto_pub -l` (250 each on 20 topics), and the gaps between frames
//! over five seconds from just before the burst (as for a scenario), with
//! how long the burst took to send and to show whole in the topic tree.
//!
//! ```text
//! cargo xtask dist && cargo build -p hearth
//! HEARTH_BIN=target/debug/hearth HEARTH_DIST=dist CHROMEDRIVER=/usr/bin/chromedriver \
//!     cargo run -p hearth-e2e --bin dashboard-fps -- stress-200-2000
//! ```

use std::time::Duration;

use hearth_e2e::{Broker, Browser};

/// Counts frames for `ms`, and the longest gap between two of them.
const COUNT_FRAMES: &str = r#"
const [ms, done] = [arguments[0], arguments[arguments.length - 1]];
let frames = 0, longest = 0, last = performance.now();
const start = last;
function frame(now) {
  frames += 1; longest = Math.max(longest, now - last); last = now;
  if (now - start < ms) { requestAnimationFrame(frame); } else { done([frames, now - start, longest]); }
}
requestAnimationFrame(frame);
"#;

/// Records the gap between animation frames from now on (`window.__gaps`).
const RECORD_GAPS: &str = r#"
window.__gaps = []; let last = performance.now();
(function frame(now) { window.__gaps.push(now - last); last = now; requestAnimationFrame(frame); })(last);
"#;

#[tokio::main]
async fn main() {
    let scenario = std::env::args().nth(1).unwrap_or_else(|| "stress-200-2000".to_string());
    let broker = Broker::start();
    let browser = Browser::start().await;
    if scenario == "live-burst" {
        return live_burst(&broker, browser).await;
    }
    let url = format!("{}#scenario={scenario}&seed=1&speed=1&paused=0", broker.url());
    browser.client.goto(&url).await.expect("page loads");
    let published = || browser.wait_for_text("[data-testid=counter-published]", |t| !t.is_empty());
    published().await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let before: u64 = published().await.parse().unwrap_or(0);
    let figures = browser
        .client
        .execute_async(COUNT_FRAMES, vec![serde_json::json!(5000)])
        .await
        .expect("the frame counter runs");
    let after: u64 = published().await.parse().unwrap_or(0);
    let frames = figures[0].as_f64().unwrap_or(0.0);
    let elapsed = figures[1].as_f64().unwrap_or(1.0);
    let longest = figures[2].as_f64().unwrap_or(0.0);
    println!(
        "scenario {scenario}: {frames} frames in {:.2} s = {:.1} fps; longest frame {longest:.1} ms",
        elapsed / 1000.0,
        frames * 1000.0 / elapsed
    );
    println!("simulated messages published meanwhile: {}", after.saturating_sub(before));
    browser.close().await;
}

/// The Live tab through a burst of 5 000 messages.
async fn live_burst(broker: &Broker, browser: Browser) {
    let (topics, each) = (20, 250);
    browser.client.goto(&broker.url()).await.expect("page loads");
    browser.wait_for_text("[data-testid=tab-live]", |t| t == "Live").await;
    browser.click("[data-testid=tab-live]").await;
    browser.wait_for_text("[data-testid=status]", |t| t.starts_with("connected")).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    browser.client.execute(RECORD_GAPS, vec![]).await.expect("the recorder starts");
    let started = std::time::Instant::now();
    let mqtt = broker.mqtt;
    let sent = tokio::task::spawn_blocking(move || {
        hearth_e2e::mqtt_burst(mqtt, topics, each);
        started.elapsed()
    });
    let want = format!("{topics} topics, {} messages", topics * each);
    browser.wait_for_text("[data-testid=tree-summary]", |t| t == want).await;
    let shown = started.elapsed();
    let sent = sent.await.expect("the burst ran");
    tokio::time::sleep(Duration::from_secs(5).saturating_sub(started.elapsed())).await;
    let gaps = browser.client.execute("return window.__gaps", vec![]).await.expect("the gaps");
    let mut gaps: Vec<f64> = gaps.as_array().into_iter().flatten().filter_map(serde_json::Value::as_f64).collect();
    gaps.sort_by(f64::total_cmp);
    let at = |q: usize| gaps.get((gaps.len() * q / 100).min(gaps.len().saturating_sub(1))).copied().unwrap_or(0.0);
    println!(
        "burst of {} messages: sent in {:.2} s, all shown after {:.2} s; {} frames in 5 s, gap median {:.1} ms, p95 {:.1} ms, longest {:.1} ms",
        topics * each,
        sent.as_secs_f64(),
        shown.as_secs_f64(),
        gaps.len(),
        at(50),
        at(95),
        gaps.last().copied().unwrap_or(0.0)
    );
    browser.close().await;
}
