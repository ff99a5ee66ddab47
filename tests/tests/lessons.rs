//! The lessons as a learner uses them, in real time in one browser session
//! each: the six tasks followed exactly as written (from the lesson panel's
//! own controls) end at "6 of 6 done", and stay done across tab switches, a
//! reload and a copied link; the Controls tab keeps what the learner picked
//! and typed while they read a lesson; the policy form shows the queue's
//! policy and changes only what was edited.

use fantoccini::Locator;
use hearth_e2e::{Broker, Browser};
use std::time::Duration;

const PROGRESS: &str = "[data-testid=lessons-progress]";

fn status(lesson: &str) -> String {
    format!("[data-lesson={lesson}] [data-testid=lesson-status]")
}

async fn wait_done(browser: &Browser, lesson: &str) {
    browser.wait_for_text(&status(lesson), |t| t == "✓ done").await;
}

async fn statuses(browser: &Browser) -> Vec<String> {
    browser.texts("[data-testid=lesson-status]").await
}

/// Picks, in the consumer picker, the last consumer whose label ends with
/// `on <queue>` (the newest one there); returns its worker id.
async fn pick_consumer_on(browser: &Browser, queue: &str) -> String {
    let picker = "[data-testid=control-consumer]";
    let options = browser.client.find_all(Locator::Css(&format!("{picker} option"))).await.expect("options");
    let mut chosen = None;
    for option in options {
        let text = option.text().await.unwrap_or_default();
        if text.ends_with(&format!("on {queue}")) {
            chosen = option.attr("value").await.expect("attributes can be read");
        }
    }
    let value = chosen.unwrap_or_else(|| panic!("no consumer on {queue}"));
    let select = browser.client.find(Locator::Css(picker)).await.expect("the picker");
    select.select_by_value(&value).await.expect("the consumer can be picked");
    value
}

/// Sets the chosen consumer's prefetch and work time, and applies them.
async fn set_consumer(browser: &Browser, prefetch: &str, work_ms: &str) {
    browser.fill("[data-testid=prefetch]", prefetch).await;
    browser.fill("[data-testid=processing]", work_ms).await;
    let ack = browser.client.find(Locator::Css("[data-testid=ack]")).await.expect("the ack picker");
    ack.select_by_value("manual").await.expect("manual ack");
    browser.click("[data-testid=apply-consumer]").await;
}

/// Opens the side panel's tab `id` (`side-lessons`, `side-controls`, `side-log`).
async fn tab(browser: &Browser, id: &str) {
    browser.click(&format!("[data-testid={id}]")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_six_tasks_as_written_end_at_six_of_six_and_stay_done() {
    let broker = Broker::start();
    let browser = Browser::start().await;
    browser.client.goto(&broker.url()).await.expect("page loads");
    browser.wait_for_text(PROGRESS, |t| t.starts_with("0 of 6 done")).await;
    let code = browser.texts("[data-lesson=fifo-routing] [data-testid=lesson-task] code").await;
    assert_eq!(code, ["home/garage/temperature", "home/+/temperature", "telemetry"], "backticks render as code");

    // 1. Publish on a topic only a wildcard binding matches, from the lesson's own form.
    let topic = browser.value("[data-testid=lesson-controls] [data-testid=publish-topic]").await;
    assert_eq!(topic, "home/garage/temperature");
    browser.click("[data-testid=lesson-controls] [data-testid=publish]").await;
    wait_done(&browser, "fifo-routing").await;

    // 2. Add a consumer to telemetry; the lesson now offers the queue controls.
    browser.wait_for_text("[data-testid=lesson-controls] #queue-h", |t| t == "Queue").await;
    assert_eq!(browser.value("[data-testid=control-queue]").await, "telemetry");
    browser.click("[data-testid=add-consumer]").await;
    wait_done(&browser, "competing-consumers").await;
    tab(&browser, "side-log").await;
    tab(&browser, "side-lessons").await;
    assert_eq!(
        browser.wait_for_text(&status("competing-consumers"), |_| true).await,
        "✓ done",
        "a tab switch keeps it"
    );

    // 3. Slow the new consumer, go read elsewhere, come back, crash it.
    browser.wait_for_text("[data-testid=lesson-controls] #consumer-h", |t| t == "Consumer").await;
    let worker = pick_consumer_on(&browser, "telemetry").await;
    set_consumer(&browser, "5", "5000").await;
    tab(&browser, "side-log").await;
    tab(&browser, "side-lessons").await;
    assert_eq!(browser.value("[data-testid=control-consumer]").await, worker, "the picker kept the consumer");
    assert_eq!(browser.value("[data-testid=processing]").await, "5000");
    tokio::time::sleep(Duration::from_secs(3)).await;
    browser.click("[data-testid=crash-consumer]").await;
    wait_done(&browser, "acks-redelivery").await;
    assert_eq!(browser.texts(&status("retained-will")).await, ["to do"], "no device was cut off");

    // 4. Slow every consumer on telemetry (the recorder is the one left).
    pick_consumer_on(&browser, "telemetry").await;
    set_consumer(&browser, "1", "2000").await;
    wait_done(&browser, "prefetch-backpressure").await;

    // 5. Every consumer at prefetch 1 and 3000 ms, then a TTL of 1 s with dead letters.
    browser.wait_for_text("[data-testid=lesson-controls] #queue-h", |t| t == "Queue").await;
    pick_consumer_on(&browser, "telemetry").await;
    set_consumer(&browser, "1", "3000").await;
    browser.fill("[data-testid=ttl]", "1").await;
    browser.click("[data-testid=dead-letters]").await;
    browser.click("[data-testid=apply-policy]").await;
    wait_done(&browser, "ttl-dead-letters").await;

    // 6. Cut a device off; bringing it back does not undo the lesson.
    browser.wait_for_text("[data-testid=lesson-controls] [data-testid=cut-off]", |t| t == "Cut off").await;
    browser.click("[data-testid=cut-off]").await;
    wait_done(&browser, "retained-will").await;
    browser.wait_for_text(PROGRESS, |t| t.starts_with("6 of 6 done")).await;
    tab(&browser, "side-controls").await;
    browser.wait_for_text("[data-testid=cut-off]", |t| t == "Reconnect").await;
    browser.click("[data-testid=cut-off]").await;
    browser.wait_for_text("[data-testid=cut-off]", |t| t == "Cut off").await;
    tab(&browser, "side-lessons").await;
    browser.wait_for_text(PROGRESS, |t| t.starts_with("6 of 6 done")).await;
    assert_eq!(statuses(&browser).await, vec!["✓ done"; 6]);

    // A reload and a copied link show the same progress.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    browser.client.refresh().await.expect("reload");
    browser.wait_for_text(PROGRESS, |t| t.starts_with("6 of 6 done")).await;
    let link = browser.client.current_url().await.expect("url").to_string();
    browser.client.goto("about:blank").await.expect("leave");
    browser.client.goto(&link).await.expect("the copied link opens");
    browser.wait_for_text(PROGRESS, |t| t.starts_with("6 of 6 done")).await;
    assert_eq!(statuses(&browser).await, vec!["✓ done"; 6]);
    browser.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controls_keep_their_choices_across_tabs_and_the_policy_form_changes_only_what_was_edited() {
    let broker = Broker::start();
    let browser = Browser::start().await;
    browser.client.goto(&broker.url()).await.expect("page loads");
    browser.wait_for_text(PROGRESS, |t| t.starts_with("0 of 6 done")).await;

    // Pick the added worker, slow it, read a lesson, come back, crash it.
    tab(&browser, "side-controls").await;
    browser.click("[data-testid=add-consumer]").await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let worker = pick_consumer_on(&browser, "telemetry").await;
    set_consumer(&browser, "5", "5000").await;
    tab(&browser, "side-lessons").await;
    tab(&browser, "side-controls").await;
    assert_eq!(browser.value("[data-testid=control-consumer]").await, worker, "the picker kept the worker");
    assert_eq!(browser.value("[data-testid=processing]").await, "5000", "the form kept its values");
    tokio::time::sleep(Duration::from_secs(3)).await;
    browser.click("[data-testid=crash-consumer]").await;
    let alarm = browser.texts("[data-device=alarm] [data-testid=device-online]").await;
    assert_eq!(alarm, ["online"], "the alarm was not the one crashed");
    tab(&browser, "side-lessons").await;
    wait_done(&browser, "acks-redelivery").await;
    assert_eq!(browser.texts(&status("retained-will")).await, ["to do"]);

    // The policy form shows the queue's policy; a later edit keeps the rest.
    tab(&browser, "side-controls").await;
    let now = "[data-testid=policy-now]";
    browser.wait_for_text(now, |t| t == "Now: no max length, no TTL, no dead letters").await;
    browser.fill("[data-testid=ttl]", "30").await;
    browser.click("[data-testid=apply-policy]").await;
    browser.wait_for_text(now, |t| t == "Now: no max length, TTL 30 s, no dead letters").await;
    tab(&browser, "side-log").await;
    tab(&browser, "side-controls").await;
    assert_eq!(browser.value("[data-testid=ttl]").await, "30", "the form shows the TTL set");
    browser.fill("[data-testid=max-length]", "100").await;
    browser.click("[data-testid=apply-policy]").await;
    browser.wait_for_text(now, |t| t == "Now: max length 100 (drop oldest), TTL 30 s, no dead letters").await;

    // The device picker keeps its device: cut off, read, come back, reconnect.
    let device = browser.client.find(Locator::Css("[data-testid=control-device]")).await.expect("picker");
    device.select_by_value("hall-light").await.expect("pick the hall light");
    browser.click("[data-testid=cut-off]").await;
    tab(&browser, "side-lessons").await;
    wait_done(&browser, "retained-will").await;
    tab(&browser, "side-controls").await;
    assert_eq!(browser.value("[data-testid=control-device]").await, "hall-light");
    browser.wait_for_text("[data-testid=cut-off]", |t| t == "Reconnect").await;
    browser.click("[data-testid=cut-off]").await;
    browser.wait_for_text("[data-device=hall-light] [data-testid=device-online]", |t| t == "online").await;
    tab(&browser, "side-lessons").await;
    wait_done(&browser, "retained-will").await;

    // A reload keeps the progress and the policy.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    browser.client.refresh().await.expect("reload");
    wait_done(&browser, "acks-redelivery").await;
    wait_done(&browser, "retained-will").await;
    tab(&browser, "side-controls").await;
    browser.wait_for_text(now, |t| t == "Now: max length 100 (drop oldest), TTL 30 s, no dead letters").await;
    assert_eq!(browser.value("[data-testid=ttl]").await, "30");
    assert_eq!(browser.value("[data-testid=max-length]").await, "100");
    browser.close().await;
}
