//! Browser tests for the simulator's components, each mounted alone over a
//! hand-driven simulation (no frame loop, no URL hash, no broker).
#![cfg(target_arch = "wasm32")]

use frontend::{Controls, DeviceCard, FloorPlan, Lessons, QueueCard, SimHandle};
use leptos::mount::mount_to;
use leptos::prelude::*;
use leptos::task::tick;
use wasm_bindgen::JsCast;
use wasm_bindgen_test::{wasm_bindgen_test, wasm_bindgen_test_configure};
use web_sys::{Element, HtmlElement};

wasm_bindgen_test_configure!(run_in_browser);

/// A new, empty `<div>` in the page's body, to mount one test's view into.
fn fresh_root() -> HtmlElement {
    let document = document();
    let root = document.create_element("div").expect("create a div").unchecked_into::<HtmlElement>();
    document.body().expect("the page has a body").append_child(&root).expect("append the div");
    root
}

/// The text of every element under `root` matching `css`.
fn texts(root: &Element, css: &str) -> Vec<String> {
    let nodes = root.query_selector_all(css).expect("a valid selector");
    (0..nodes.length()).filter_map(|i| nodes.item(i)).map(|n| n.text_content().unwrap_or_default()).collect()
}

/// Lets effects run, and the views they update redraw (an effect that sets a
/// signal needs a second turn of the executor for the view to follow).
async fn settle() {
    for _ in 0..3 {
        tick().await;
    }
}

/// Moves simulated time by `ms` through the handle (as a frame would).
fn advance(sim: SimHandle, ms: u64) {
    sim.act(|s| {
        s.advance(ms);
        Ok(())
    });
}

#[wasm_bindgen_test]
async fn a_device_card_shows_its_retained_state_and_last_will() {
    let root = fresh_root();
    let sim = SimHandle::home(7);
    advance(sim, 500);
    let _mounted = mount_to(root.clone(), move || {
        view! { <svg><DeviceCard sim=sim id="door-lock".to_string() x=0.0 y=0.0 /></svg> }
    });
    tick().await;
    assert_eq!(texts(&root, "[data-testid=device-state]"), ["Locked"]);
    assert_eq!(texts(&root, "[data-testid=device-online]"), ["online"]);

    sim.act(|s| s.publish("home/hall/door/lock/set", r#"{"locked":false}"#, false));
    advance(sim, 1_000);
    tick().await;
    assert_eq!(texts(&root, "[data-testid=device-state]"), ["Unlocked"]);

    sim.act(|s| s.cut_off("door-lock"));
    tick().await;
    assert_eq!(texts(&root, "[data-testid=device-online]"), ["offline (last will)"]);
    // The retained state outlives the connection.
    assert_eq!(texts(&root, "[data-testid=device-state]"), ["Unlocked"]);
}

#[wasm_bindgen_test]
async fn crashing_a_consumer_puts_its_messages_back_marked_redelivered() {
    let root = fresh_root();
    let sim = SimHandle::home(3);
    let worker = sim.peek(|s| s.queue("telemetry", 0).expect("telemetry queue").consumers[0].worker).expect("a worker");
    let slow = home_sim::ConsumerSettings { prefetch: 3, ack: home_sim::AckMode::Manual, processing_ms: 60_000 };
    sim.act(|s| s.set_consumer_settings(worker, slow));
    advance(sim, 8_000);
    let _mounted = mount_to(root.clone(), move || view! { <QueueCard sim=sim name="telemetry".to_string() /> });
    tick().await;
    assert_eq!(texts(&root, "[data-testid=queue-unacked]"), ["3"], "the slow consumer holds a full window");
    assert!(texts(&root, "[data-testid=chip-redelivered]").is_empty());

    let crash = root.query_selector("[data-testid=crash]").expect("selector").expect("a crash button");
    crash.unchecked_into::<HtmlElement>().click();
    tick().await;

    assert_eq!(texts(&root, "[data-testid=queue-unacked]"), ["0"]);
    assert_eq!(texts(&root, "[data-testid=chip-redelivered]").len(), 3, "its three unacked messages are back, marked");
    assert!(texts(&root, "[data-testid=consumer]").is_empty(), "the queue has no consumer left");
}

#[wasm_bindgen_test]
async fn a_lessons_check_marks_it_done_when_the_learner_does_the_task() {
    let root = fresh_root();
    let sim = SimHandle::home(5);
    advance(sim, 1_000);
    let _mounted = mount_to(root.clone(), move || view! { <Lessons sim=sim /> });
    settle().await;
    let will = "[data-lesson=retained-will] [data-testid=lesson-status]";
    assert_eq!(texts(&root, will), ["to do"]);
    assert_eq!(texts(&root, "[data-testid=lesson]").len(), 6);

    sim.act(|s| s.apply(home_sim::Action::CutOff("hall-light".into())));
    assert!(sim.peek(|s| home_sim::lessons()[5].check(s)), "the check itself passes");
    settle().await;
    assert_eq!(texts(&root, will), ["✓ done"]);
    assert!(texts(&root, "[data-testid=lessons-progress]")[0].starts_with("1 of 6"));

    // Done stays done after the device comes back.
    sim.act(|s| s.apply(home_sim::Action::Reconnect("hall-light".into())));
    settle().await;
    assert_eq!(texts(&root, will), ["✓ done"]);
}

/// Picks `value` in the `<select>` matching `css`, as a person would.
fn choose(root: &Element, css: &str, value: &str) {
    let select = root.query_selector(css).expect("selector").expect("the select");
    js_sys::Reflect::set(&select, &"value".into(), &value.into()).expect("set its value");
    for kind in ["input", "change"] {
        select.dispatch_event(&web_sys::Event::new(kind).expect("an event")).expect("dispatch");
    }
}

fn click(root: &Element, css: &str) {
    root.query_selector(css).expect("selector").expect("the button").unchecked_into::<HtmlElement>().click();
}

#[wasm_bindgen_test]
async fn a_device_added_from_the_controls_joins_the_plan_online_and_can_be_removed() {
    let root = fresh_root();
    let sim = SimHandle::home(11);
    advance(sim, 500);
    let _mounted = mount_to(root.clone(), move || view! { <FloorPlan sim=sim /><Controls sim=sim /> });
    settle().await;
    let new_card = "[data-device=kitchen-light-2]";
    assert!(root.query_selector(new_card).expect("selector").is_none());

    choose(&root, "[data-testid=new-device-kind]", "light");
    choose(&root, "[data-testid=new-device-room]", "kitchen");
    click(&root, "[data-testid=add-device]");
    advance(sim, 1_000);
    settle().await;
    assert_eq!(texts(&root, &format!("{new_card} [data-testid=device-name]")), ["Kitchen light 2"]);
    assert_eq!(texts(&root, &format!("{new_card} [data-testid=device-state]")), ["Off"], "its retained state");
    assert_eq!(texts(&root, &format!("{new_card} [data-testid=device-online]")), ["online"]);
    let will = sim.peek(|s| s.devices().into_iter().find(|d| d.id == "kitchen-light-2").map(|d| d.connected));
    assert_eq!(will, Some(true));
    // It obeys commands on its own topic.
    sim.act(|s| s.publish("home/kitchen/light-2/set", r#"{"on":true}"#, false));
    advance(sim, 1_000);
    settle().await;
    assert_eq!(texts(&root, &format!("{new_card} [data-testid=device-state]")), ["On · 80%"]);

    // The new device is the chosen one: remove it.
    click(&root, "[data-testid=remove-device]");
    settle().await;
    assert!(root.query_selector(new_card).expect("selector").is_none(), "its card left the plan");
    assert!(sim.peek(|s| s.device("kitchen-light-2").is_err()));
    assert_eq!(texts(&root, "[data-testid=device-card]").len(), 11, "the house's own devices stay");
}
