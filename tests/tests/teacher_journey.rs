//! "Why did it go there", as a teacher asks it in one browser session:
//! the log names the queues each publish was routed to; clicking a message
//! chip (or a slot of a consumer's window) opens the log on that message's journey (published, routed,
//! delivered, acked; redelivered after a crash; dead-lettered after a TTL);
//! the message filter and the journey survive a tab switch; the log shows
//! more than 60 lines (at most 200); a reload and the copied link replay
//! the same journey.

use fantoccini::Locator;
use hearth_e2e::{Broker, Browser, WAIT};
use std::time::{Duration, Instant};

async fn tab(browser: &Browser, id: &str) {
    browser.click(&format!("[data-testid={id}]")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
}

async fn count(browser: &Browser, css: &str) -> usize {
    browser.client.find_all(Locator::Css(css)).await.map(|v| v.len()).unwrap_or(0)
}

/// Waits for an element matching `css`, then clicks it; returns its `data-message`.
async fn click_chip(browser: &Browser, css: &str) -> String {
    let deadline = Instant::now() + WAIT;
    while count(browser, css).await == 0 {
        assert!(Instant::now() < deadline, "no `{css}`");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let id = browser.attribute(css, "data-message").await;
    browser.click(css).await;
    id
}

/// Waits until the journey's stages include `stage`; returns every stage.
async fn wait_stage(browser: &Browser, stage: &str) -> Vec<String> {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut stages = Vec::new();
        for step in browser.client.find_all(Locator::Css("[data-testid=journey-step]")).await.unwrap_or_default() {
            stages.push(step.attr("data-stage").await.ok().flatten().unwrap_or_default());
        }
        if stages.iter().any(|s| s == stage) {
            return stages;
        }
        assert!(Instant::now() < deadline, "the journey never showed `{stage}`: {stages:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn open_journey(browser: &Browser, id: &str) {
    tab(browser, "side-log").await;
    browser.fill("[data-testid=log-message]", id).await;
    browser.wait_for_text("[data-testid=journey] h3", |t| t == format!("Journey of message #{id}")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_chip_shows_its_journey_and_a_link_replays_it() {
    let broker = Broker::start();
    let browser = Browser::start().await;
    browser.client.goto(&broker.url()).await.expect("page loads");
    browser.wait_for_text("[data-testid=lessons-progress]", |t| t.starts_with("0 of 6 done")).await;

    // A queue on `#` with no consumer keeps chips to click.
    tab(&browser, "side-controls").await;
    browser.click("[data-testid=bind]").await;
    let id = click_chip(&browser, "[data-queue=audit] [data-testid=chip]").await;

    // The chip opened the log on its journey: published → routed (audit among them) → delivered → acked.
    browser.wait_for_text("[data-testid=journey] h3", |t| t == format!("Journey of message #{id}")).await;
    assert_eq!(browser.value("[data-testid=log-message]").await, id);
    let stages = wait_stage(&browser, "routed").await;
    assert_eq!(stages[0], "published", "{stages:?}");
    let first = browser.texts("[data-testid=journey-step]").await.remove(0);
    assert!(
        first.contains(&format!("message #{id} ")) && first.contains("routed to") && first.contains("audit"),
        "{first}"
    );
    let lines = browser.texts("[data-testid=log-line]").await;
    assert!(
        !lines.is_empty() && lines.iter().all(|l| l.contains(&format!("#{id} "))),
        "filtered by message: {lines:?}"
    );

    // The filter and the journey survive a tab switch.
    tab(&browser, "side-lessons").await;
    tab(&browser, "side-log").await;
    assert_eq!(browser.value("[data-testid=log-message]").await, id);
    assert_eq!(count(&browser, "[data-testid=journey]").await, 1);

    // Cleared, the log shows more than 60 lines, at most 200.
    browser.click("[data-testid=journey-clear]").await;
    let deadline = Instant::now() + WAIT;
    while count(&browser, "[data-testid=log-line]").await <= 60 {
        assert!(Instant::now() < deadline, "the log never passed 60 lines");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(count(&browser, "[data-testid=log-line]").await <= 200);
    let publishes = browser.texts("[data-testid=log-line]").await;
    assert!(
        publishes.iter().any(|l| l.contains("→ routed to") && l.contains("(") && l.contains("audit)")),
        "publishes name their queues"
    );

    // A slow consumer on audit crashes: its messages come back, redelivered.
    tab(&browser, "side-controls").await;
    browser.click("[data-testid=add-consumer]").await;
    browser
        .wait_for_text("[data-queue=audit] [data-testid=consumer] .consumer-label", |t| t.starts_with("worker"))
        .await;
    let picker = browser.client.find(Locator::Css("[data-testid=control-consumer]")).await.expect("picker");
    let mut value = None;
    for option in browser.client.find_all(Locator::Css("[data-testid=control-consumer] option")).await.expect("options")
    {
        if option.text().await.unwrap_or_default().ends_with("on audit") {
            value = option.attr("value").await.expect("attr");
        }
    }
    picker.select_by_value(&value.expect("the audit worker")).await.expect("pick");
    browser.fill("[data-testid=processing]", "60000").await;
    browser.click("[data-testid=apply-consumer]").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    // A message the slow worker holds: delivered, not acked yet.
    let slot = "[data-queue=audit] [data-testid=consumer] .slot.full";
    let held = browser.attribute(slot, "title").await;
    browser.click(slot).await;
    let held = held.trim_start_matches('#').split_whitespace().next().unwrap_or_default().to_string();
    browser.wait_for_text("[data-testid=journey] h3", |t| t == format!("Journey of message #{held}")).await;
    wait_stage(&browser, "delivered").await;
    let audit: Vec<String> =
        browser.texts("[data-testid=journey-step]").await.into_iter().filter(|t| t.contains("queue audit")).collect();
    assert!(audit.iter().any(|t| t.starts_with("DELIVERED") || t.starts_with("delivered")), "{audit:?}");
    assert!(!audit.iter().any(|t| t.contains("acked")), "its audit copy is held, not acked: {audit:?}");
    tab(&browser, "side-controls").await;
    browser.click("[data-testid=crash-consumer]").await;
    click_chip(&browser, "[data-queue=audit] [data-testid=chip-redelivered]").await;
    wait_stage(&browser, "redelivered").await;

    // A TTL with dead letters: audit's messages move on; a dead letter's journey says so.
    tab(&browser, "side-controls").await;
    assert_eq!(browser.value("[data-testid=control-queue]").await, "audit");
    browser.fill("[data-testid=ttl]", "1").await;
    browser.click("[data-testid=dead-letters]").await;
    browser.click("[data-testid=apply-policy]").await;
    let dead = click_chip(&browser, "[data-queue=dead-letters] [data-testid=chip]").await;
    let stages = wait_stage(&browser, "dead-lettered").await;
    assert_eq!(stages[0], "published");
    let journey = browser.texts("[data-testid=journey-step]").await;

    // A reload replays the session: the same message has the same journey.
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    browser.client.refresh().await.expect("reload");
    browser.wait_for_text("[data-testid=side-log]", |t| t == "Event log").await;
    open_journey(&browser, &dead).await;
    wait_stage(&browser, "dead-lettered").await;
    let replayed = browser.texts("[data-testid=journey-step]").await;
    assert_eq!(replayed[..journey.len()], journey[..], "the same steps after a reload");

    // So does the copied link, opened afresh.
    browser.click("[data-testid=copy-link]").await;
    browser.wait_for_text("[data-testid=link-note]", |t| !t.is_empty()).await;
    let link = browser.attribute("[data-testid=link-note]", "data-link").await;
    browser.client.goto("about:blank").await.expect("leave");
    browser.client.goto(&link).await.expect("the link opens");
    browser.wait_for_text("[data-testid=side-log]", |t| t == "Event log").await;
    open_journey(&browser, &dead).await;
    wait_stage(&browser, "dead-lettered").await;
    let shared = browser.texts("[data-testid=journey-step]").await;
    assert_eq!(shared[..journey.len()], journey[..], "the same steps from the link");
    browser.close().await;
}
