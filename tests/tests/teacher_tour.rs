//! The guided tour as a learner takes it, in one browser session: it opens
//! on lesson 1 with its controls and points at the `telemetry` queue; doing
//! the task from the tour marks the step done; Next moves on, and the step
//! survives a tab switch, a reload and the copied link; later steps point
//! at the dead letters and the devices; End tour brings the lesson list back.

use fantoccini::Locator;
use hearth_e2e::{Broker, Browser, WAIT};
use std::time::{Duration, Instant};

const STEP: &str = "[data-testid=tour-step]";

async fn tab(browser: &Browser, id: &str) {
    browser.click(&format!("[data-testid={id}]")).await;
    tokio::time::sleep(Duration::from_millis(300)).await;
}

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

async fn step_is(browser: &Browser, n: usize) {
    browser
        .wait_for_text(STEP, |t| {
            t == format!("GUIDED TOUR · STEP {n} OF 6") || t == format!("Guided tour · step {n} of 6")
        })
        .await;
}

async fn disabled(browser: &Browser, css: &str) -> bool {
    let element = browser.client.find(Locator::Css(css)).await.expect("the button");
    element.prop("disabled").await.expect("props read").as_deref() == Some("true")
}

async fn fragment(browser: &Browser) -> String {
    browser.client.current_url().await.expect("url").fragment().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_guided_tour_goes_lesson_by_lesson_and_survives_tabs_reloads_and_links() {
    let broker = Broker::start();
    let browser = Browser::start().await;
    browser.client.goto(&broker.url()).await.expect("page loads");
    browser.wait_for_text("[data-testid=lessons-progress]", |t| t.starts_with("0 of 6 done")).await;
    wait_count(&browser, ".tour-focus", 0).await;

    // Step 1: lesson 1 with its publish form, the telemetry queue highlighted.
    browser.click("[data-testid=tour-start]").await;
    step_is(&browser, 1).await;
    assert_eq!(browser.attribute("[data-testid=tour]", "data-lesson").await, "fifo-routing");
    wait_count(&browser, "[data-queue=telemetry].tour-focus", 1).await;
    wait_count(&browser, "[data-queue-row=telemetry].tour-focus", 1).await;
    wait_count(&browser, ".tour-focus", 2).await;
    assert!(disabled(&browser, "[data-testid=tour-back]").await, "no step before the first");
    browser.wait_for_text("[data-testid=tour-status]", |t| t.starts_with("To do")).await;
    browser.click("[data-testid=tour] [data-testid=publish]").await;
    browser.wait_for_text("[data-testid=tour-status]", |t| t.starts_with("✓ Done")).await;
    assert_eq!(browser.attribute("[data-testid=tour-next]", "class").await, "primary", "Next invites");

    // Step 2; a tab switch and a reload keep it.
    browser.click("[data-testid=tour-next]").await;
    step_is(&browser, 2).await;
    assert_eq!(browser.attribute("[data-testid=tour]", "data-lesson").await, "competing-consumers");
    tab(&browser, "side-controls").await;
    tab(&browser, "side-lessons").await;
    step_is(&browser, 2).await;
    tokio::time::sleep(Duration::from_millis(1_200)).await;
    assert!(fragment(&browser).await.contains("&tour=1"), "{}", fragment(&browser).await);
    browser.client.refresh().await.expect("reload");
    step_is(&browser, 2).await;
    browser.wait_for_text("[data-testid=lessons-progress]", |t| t.starts_with("1 of 6 done")).await;
    browser.click("[data-testid=tour-back]").await;
    step_is(&browser, 1).await;
    browser.wait_for_text("[data-testid=tour-status]", |t| t.starts_with("✓ Done")).await;

    // Later steps point at the dead letters, then at the devices.
    for n in 2..=5 {
        browser.click("[data-testid=tour-next]").await;
        step_is(&browser, n).await;
    }
    wait_count(&browser, "[data-queue=dead-letters].tour-focus", 1).await;
    wait_count(&browser, "[data-queue-row=dead-letters].tour-focus", 1).await;
    browser.click("[data-testid=tour-next]").await;
    step_is(&browser, 6).await;
    wait_count(&browser, "[data-testid=plan-panel].tour-focus", 1).await;
    wait_count(&browser, ".tour-focus", 1).await;
    assert!(disabled(&browser, "[data-testid=tour-next]").await, "no step after the last");

    // The copied link opens on the same step (Copy link is at the top of the page).
    browser.client.execute("window.scrollTo(0, 0)", vec![]).await.expect("scroll up");
    browser.click("[data-testid=copy-link]").await;
    browser.wait_for_text("[data-testid=link-note]", |t| !t.is_empty()).await;
    let link = browser.attribute("[data-testid=link-note]", "data-link").await;
    assert!(link.contains("&tour=5"), "{link}");
    browser.client.goto("about:blank").await.expect("leave");
    browser.client.goto(&link).await.expect("the link opens");
    step_is(&browser, 6).await;
    wait_count(&browser, "[data-testid=plan-panel].tour-focus", 1).await;

    // End tour: the list is back, nothing highlighted, the link forgets the tour.
    browser.click("[data-testid=tour-end]").await;
    wait_count(&browser, "[data-testid=tour]", 0).await;
    wait_count(&browser, "[data-testid=lesson]", 6).await;
    wait_count(&browser, ".tour-focus", 0).await;
    assert!(!fragment(&browser).await.contains("tour="));
    browser.close().await;
}
