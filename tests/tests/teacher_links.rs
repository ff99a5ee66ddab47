//! Links of any length open, as a teacher shares them: a busy session
//! (the 200-sensor stress scene at 10×) soon carries a checkpoint in its
//! link, and a reload and the copied link open from it with the cut-off
//! sensor still offline and the clock where it was; a link of a session
//! longer than a simulated day opens at once with its set-up (a device cut
//! off before the checkpoint, a `#` queue bound after it, the lesson done),
//! with no error, and survives a reload and a tab switch.

use fantoccini::Locator;
use hearth_e2e::{Broker, Browser, WAIT};
use std::time::{Duration, Instant};

async fn fragment(browser: &Browser) -> String {
    let url = browser.client.current_url().await.expect("url");
    url.fragment().unwrap_or_default().to_string()
}

/// The value of `key` in the page's URL hash.
async fn hash_value(browser: &Browser, key: &str) -> Option<u64> {
    let hash = fragment(browser).await;
    hash.split('&').find_map(|p| p.strip_prefix(&format!("{key}="))).and_then(|v| v.parse().ok())
}

async fn tab(browser: &Browser, id: &str) {
    browser.click(&format!("[data-testid={id}]")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
}

/// Waits until `css` matches exactly `n` elements.
async fn wait_count(browser: &Browser, css: &str, n: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = browser.client.find_all(Locator::Css(css)).await.map(|v| v.len()).unwrap_or(0);
        if found == n {
            return;
        }
        assert!(Instant::now() < deadline, "`{css}` matched {found}, not {n}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Sensor 7's tile is drawn offline (tiles hide their words).
const SENSOR_7_OFFLINE: &str = "[data-device=sensor-7].offline";

async fn no_error(browser: &Browser) {
    let errors = browser.texts("[data-testid=sim-error]").await;
    assert!(errors.is_empty(), "the link opened with an error: {errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_busy_session_and_a_day_long_one_open_from_their_links() {
    let broker = Broker::start();
    let browser = Browser::start().await;
    browser.client.goto(&broker.url()).await.expect("page loads");
    browser.wait_for_text("[data-testid=lessons-progress]", |t| t.starts_with("0 of 6 done")).await;

    // The stress scene at 10×; cut a sensor off.
    let picker = browser.client.find(Locator::Css("[data-testid=scenario]")).await.expect("scenario picker");
    picker.select_by_value("stress-200-2000").await.expect("the stress scene");
    wait_count(&browser, "[data-testid=device-card]", 200).await;
    wait_count(&browser, "[data-testid=device-card].offline", 0).await;
    let speed = browser.client.find(Locator::Css("[data-testid=speed]")).await.expect("speed");
    speed.select_by_value("10").await.expect("10×");
    tab(&browser, "side-controls").await;
    let device = browser.client.find(Locator::Css("[data-testid=control-device]")).await.expect("device picker");
    device.select_by_value("sensor-7").await.expect("sensor 7");
    browser.click("[data-testid=cut-off]").await;
    wait_count(&browser, SENSOR_7_OFFLINE, 1).await;

    // Within 20 000 messages the link names a checkpoint.
    let deadline = Instant::now() + WAIT * 2;
    let _first = loop {
        if let Some(base) = hash_value(&browser, "base").await {
            break base;
        }
        assert!(Instant::now() < deadline, "no checkpoint in the link: {}", fragment(&browser).await);
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    browser.click("[data-testid=play]").await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Read again once paused: at 10× a stress scene takes a checkpoint
    // about every second, so the one seen above may be stale already.
    let base = hash_value(&browser, "base").await.expect("still a checkpoint");
    let (t, time) = (hash_value(&browser, "t").await.expect("t"), browser.texts("[data-testid=sim-time]").await);
    assert!(t >= base, "t {t} before base {base}");
    assert!(fragment(&browser).await.contains("&done="), "the lessons done ride along");

    // A reload opens from the checkpoint: same time, sensor 7 still offline, no error.
    browser.client.refresh().await.expect("reload");
    wait_count(&browser, "[data-testid=device-card]", 200).await;
    wait_count(&browser, SENSOR_7_OFFLINE, 1).await;
    assert_eq!(browser.texts("[data-testid=device-card].offline").await.len(), 1, "only sensor 7");
    assert_eq!(browser.texts("[data-testid=sim-time]").await, time, "paused where it was");
    assert_eq!(browser.value("[data-testid=scenario]").await, "stress-200-2000");
    assert_eq!(hash_value(&browser, "base").await, Some(base));
    no_error(&browser).await;

    // A session longer than a simulated day: the lock was cut off at 2 s, a
    // `#` queue bound after the checkpoint at 24 h; the link is at 25 h.
    let day = 86_400_000;
    let link = format!(
        "{}#scenario=home&seed=42&speed=1&paused=1&t={}&base={day}&done=000001&a=2000,o,door-lock;{},b,audit,%23",
        broker.url(),
        day + 3_600_000,
        day + 1_000
    );
    browser.client.goto("about:blank").await.expect("leave");
    let opened = Instant::now();
    browser.client.goto(&link).await.expect("the long link opens");
    browser.wait_for_text("[data-queue=audit] .bindings", |t| t == "bound to #").await;
    let took = opened.elapsed();
    browser.wait_for_text("[data-testid=sim-time]", |t| t == "10:00:00.0").await;
    browser.wait_for_text("[data-device=door-lock] [data-testid=device-online]", |t| t == "offline (last will)").await;
    browser.wait_for_text("[data-lesson=retained-will] [data-testid=lesson-status]", |t| t == "✓ done").await;
    no_error(&browser).await;
    println!("a 25-hour link opened in {took:?}");

    // It survives a tab switch and a reload.
    tab(&browser, "side-log").await;
    tab(&browser, "side-lessons").await;
    browser.client.refresh().await.expect("reload");
    browser.wait_for_text("[data-queue=audit] .bindings", |t| t == "bound to #").await;
    browser.wait_for_text("[data-lesson=retained-will] [data-testid=lesson-status]", |t| t == "✓ done").await;
    assert_eq!(browser.texts("[data-testid=sim-time]").await, ["10:00:00.0"]);
    // An hour after its checkpoint, the session took the next one.
    assert_eq!(hash_value(&browser, "base").await, Some(day + 3_600_000));
    no_error(&browser).await;
    browser.close().await;
}
