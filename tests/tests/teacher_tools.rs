//! A teacher's tools as a teacher uses them, in one browser session: a
//! queue declared and bound to `#` from the page gets a copy of every
//! message (fan-out) and lives through tab switches and a reload; a
//! consumer added to it is removed (not crashed: no lesson moves, the alarm
//! stays online); Copy link hands out the link that reopens that set-up;
//! Reset starts the home from zero; the scenario picker opens the empty
//! house; the copied link brings the demo back.

use fantoccini::Locator;
use hearth_e2e::{Broker, Browser, WAIT};
use std::time::{Duration, Instant};

const AUDIT: &str = "[data-queue=audit]";

async fn tab(browser: &Browser, id: &str) {
    browser.click(&format!("[data-testid={id}]")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
}

async fn count(browser: &Browser, css: &str) -> usize {
    browser.client.find_all(Locator::Css(css)).await.map(|v| v.len()).unwrap_or(0)
}

/// Waits until `css` matches exactly `n` elements.
async fn wait_count(browser: &Browser, css: &str, n: usize) {
    let deadline = Instant::now() + WAIT;
    loop {
        let found = count(browser, css).await;
        if found == n {
            return;
        }
        assert!(Instant::now() < deadline, "`{css}` matched {found}, not {n}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The number in the first element matching `css`, once it passes `at_least`.
async fn number_above(browser: &Browser, css: &str, at_least: u64) -> u64 {
    let text = browser.wait_for_text(css, |t| t.parse::<u64>().is_ok_and(|n| n > at_least)).await;
    text.parse().expect("a number")
}

/// Picks the consumer whose label ends with `on <queue>`; returns its worker id.
async fn pick_consumer_on(browser: &Browser, queue: &str) -> String {
    let picker = "[data-testid=control-consumer]";
    let options = browser.client.find_all(Locator::Css(&format!("{picker} option"))).await.expect("options");
    let mut chosen = None;
    for option in options {
        if option.text().await.unwrap_or_default().ends_with(&format!("on {queue}")) {
            chosen = option.attr("value").await.expect("attributes can be read");
        }
    }
    let value = chosen.unwrap_or_else(|| panic!("no consumer on {queue}"));
    let select = browser.client.find(Locator::Css(picker)).await.expect("the picker");
    select.select_by_value(&value).await.expect("the consumer can be picked");
    value
}

async fn fragment(browser: &Browser) -> String {
    let url = browser.client.current_url().await.expect("url");
    url.fragment().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_teacher_binds_a_fan_out_queue_removes_a_consumer_resets_switches_scenes_and_shares_the_link() {
    let broker = Broker::start();
    let browser = Browser::start().await;
    browser.client.goto(&broker.url()).await.expect("page loads");
    browser.wait_for_text("[data-testid=lessons-progress]", |t| t.starts_with("0 of 6 done")).await;

    // Declare `audit` bound to `#`: it fills with copies of every message.
    tab(&browser, "side-controls").await;
    assert_eq!(browser.value("[data-testid=bind-queue]").await, "audit");
    assert_eq!(browser.value("[data-testid=bind-filter]").await, "#");
    browser.click("[data-testid=bind]").await;
    browser.wait_for_text(&format!("{AUDIT} [data-testid=queue-title]"), |t| t == "audit").await;
    browser.wait_for_text(&format!("{AUDIT} .bindings"), |t| t == "bound to #").await;
    number_above(&browser, &format!("{AUDIT} [data-testid=queue-ready]"), 3).await;
    assert_eq!(browser.value("[data-testid=control-queue]").await, "audit", "the queue form turned to it");

    // A refused filter says why and declares nothing.
    browser.fill("[data-testid=bind-queue]", "broken").await;
    browser.fill("[data-testid=bind-filter]", "home/#/x").await;
    browser.click("[data-testid=bind]").await;
    browser.wait_for_text("[data-testid=sim-error]", |t| t.contains("refused")).await;
    assert_eq!(count(&browser, "[data-queue=broken]").await, 0);

    // Add a consumer to audit, then remove it: a goodbye, not a crash.
    browser.click("[data-testid=add-consumer]").await;
    wait_count(&browser, &format!("{AUDIT} [data-testid=consumer]"), 1).await;
    let value = pick_consumer_on(&browser, "audit").await;
    let label = browser.texts("[data-testid=control-consumer] option:checked").await;
    assert!(label[0].ends_with("on audit"), "picked {label:?}");
    tab(&browser, "side-log").await;
    tab(&browser, "side-controls").await;
    assert_eq!(browser.value("[data-testid=control-consumer]").await, value, "the pick survived the tabs");
    browser.click("[data-testid=remove-consumer]").await;
    wait_count(&browser, &format!("{AUDIT} [data-testid=consumer]"), 0).await;
    assert_eq!(browser.texts("[data-device=alarm] [data-testid=device-online]").await, ["online"]);
    tab(&browser, "side-log").await;
    browser.wait_for_text("[data-testid=log-line]", |_| true).await;
    assert!(browser.texts("[data-testid=log-line]").await.iter().any(|l| l.contains("you removed worker")));
    tab(&browser, "side-lessons").await;
    let lesson3 = browser.texts("[data-lesson=acks-redelivery] [data-testid=lesson-status]").await;
    assert_eq!(lesson3, ["to do"], "removing is not crashing");

    // A reload keeps the queue (the link replays the bind).
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    browser.client.refresh().await.expect("reload");
    browser.wait_for_text(&format!("{AUDIT} .bindings"), |t| t == "bound to #").await;
    wait_count(&browser, &format!("{AUDIT} [data-testid=consumer]"), 0).await;

    // Copy link hands out the page's link, which carries the bind.
    browser.click("[data-testid=copy-link]").await;
    browser.wait_for_text("[data-testid=link-note]", |t| !t.is_empty()).await;
    let link = browser.attribute("[data-testid=link-note]", "data-link").await;
    assert!(link.contains("#scenario=home&") && link.contains(",b,audit,%23"), "{link}");

    // Reset: the home from zero, no audit queue, no journal in the URL.
    let before = browser.wait_for_text("[data-testid=sim-time]", |t| !t.is_empty()).await;
    browser.click("[data-testid=reset]").await;
    wait_count(&browser, AUDIT, 0).await;
    let after = browser.wait_for_text("[data-testid=sim-time]", |t| !t.is_empty()).await;
    assert!(after < before, "time starts over: {before} → {after}");
    assert!(!fragment(&browser).await.contains("&a="), "Reset clears the journal");
    assert_eq!(browser.texts("[data-device=door-lock] [data-testid=device-online]").await, ["online"]);

    // The empty house: no devices, only the dead-letter queue; a link of its own.
    let scenario = browser.client.find(Locator::Css("[data-testid=scenario]")).await.expect("the picker");
    scenario.select_by_value("empty").await.expect("pick the empty house");
    wait_count(&browser, "[data-testid=device-card]", 0).await;
    wait_count(&browser, "[data-testid=queue-card]", 1).await;
    assert!(fragment(&browser).await.starts_with("scenario=empty&"));
    browser.client.refresh().await.expect("reload");
    browser.wait_for_text("[data-testid=queue-title]", |t| t == "dead-letters").await;
    assert_eq!(browser.value("[data-testid=scenario]").await, "empty");
    assert_eq!(count(&browser, "[data-testid=device-card]").await, 0);

    // The copied link brings the home with its audit queue back.
    browser.client.goto("about:blank").await.expect("leave");
    browser.client.goto(&link).await.expect("the copied link opens");
    browser.wait_for_text(&format!("{AUDIT} .bindings"), |t| t == "bound to #").await;
    assert_eq!(browser.value("[data-testid=scenario]").await, "home");
    browser.wait_for_text("[data-device=door-lock] [data-testid=device-online]", |t| t == "online").await;
    browser.close().await;
}
