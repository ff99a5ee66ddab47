//! The served dashboard opens on the simulator, and its clock runs: the
//! simulated home's message counters advance without anyone touching it.

use hearth_e2e::{Broker, Browser};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_dashboard_opens_on_a_running_simulated_home() {
    let broker = Broker::start();
    let browser = Browser::start().await;
    browser.client.goto(&broker.url()).await.expect("page loads");

    let counter = "[data-testid=counter-published]";
    let first = browser.wait_for_text(counter, |t| t.parse::<u64>().is_ok_and(|n| n > 0)).await;
    let first: u64 = first.parse().expect("a number");
    let later = browser.wait_for_text(counter, |t| t.parse::<u64>().is_ok_and(|n| n > first)).await;
    assert!(later.parse::<u64>().expect("a number") > first);

    // The floor plan shows the front-door lock with its retained state.
    let states = browser.texts("[data-device=door-lock] [data-testid=device-state]").await;
    assert!(states.iter().any(|s| s == "Locked" || s == "Unlocked"), "door lock state: {states:?}");

    // The URL hash now describes the simulation, so the link reproduces it.
    let url = browser.client.current_url().await.expect("url");
    assert!(url.fragment().is_some_and(|f| f.contains("seed=")), "url {url}");
    browser.close().await;
}

/// A copied link carries the learner's actions: opening it replays them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_link_replays_the_senders_actions() {
    let broker = Broker::start();
    let browser = Browser::start().await;
    // At 2 s the sender cut the front-door lock off; the link was copied at 3 s, paused.
    let link = format!("{}#scenario=home&seed=42&speed=1&paused=1&t=3000&a=2000,o,door-lock", broker.url());
    browser.client.goto(&link).await.expect("page loads");
    let online = "[data-device=door-lock] [data-testid=device-online]";
    browser.wait_for_text(online, |t| t == "offline (last will)").await;
    let time = browser.wait_for_text("[data-testid=sim-time]", |t| !t.is_empty()).await;
    assert_eq!(time, "09:00:03.0", "paused where the sender was");
    let url = browser.client.current_url().await.expect("url");
    assert!(url.fragment().is_some_and(|f| f.contains("a=2000,o,door-lock")), "the journal stays in the link: {url}");
    browser.close().await;
}
