//! Measures the simulator's frame rate in headless Chromium: the real broker
//! serves the built dashboard, the page opens on a stress scenario from the
//! URL hash, and after a warm-up a script counts `requestAnimationFrame`
//! callbacks for five seconds. A measurement, not a test: it prints figures.
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

#[tokio::main]
async fn main() {
    let scenario = std::env::args().nth(1).unwrap_or_else(|| "stress-200-2000".to_string());
    let broker = Broker::start();
    let browser = Browser::start().await;
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
