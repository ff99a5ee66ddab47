//! A teacher's tools, both ways: a queue declared and bound from the page
//! gets the messages its filter matches (all of them with `#`) and no
//! others; a removed consumer's unacked messages go to the others without
//! counting as a crash; devices' and automations' consumers cannot be
//! removed alone; Reset starts the same scenario from zero; the empty
//! house has nothing in it. Runs natively and as wasm under Node.

use home_sim::hash::Settings;
use home_sim::{Action, ConsumerSettings, Scenario, SimError, Simulation};
use wasm_bindgen_test::wasm_bindgen_test;

fn home() -> Simulation {
    let mut sim = Simulation::new(Scenario::smart_home(), 7).expect("the smart home starts");
    sim.advance(5_000);
    sim
}

fn enqueued(sim: &Simulation, queue: &str) -> u64 {
    sim.queue(queue, 0).map_or(0, |q| q.counters.enqueued)
}

#[wasm_bindgen_test(unsupported = test)]
fn a_queue_bound_to_hash_gets_a_copy_of_every_message() {
    let mut sim = home();
    assert!(sim.queue("audit", 0).is_err(), "no audit queue before the teacher makes one");
    sim.apply(Action::Bind("audit".into(), "#".into())).expect("declare and bind");
    let q = sim.queue("audit", 0).expect("declared");
    assert_eq!(q.bindings, ["#"]);
    let (published, telemetry) = (sim.stats().counters.published, enqueued(&sim, "telemetry"));
    sim.advance(10_000);
    let all = sim.stats().counters.published - published;
    assert!(all > 10, "the house published {all} messages");
    assert_eq!(enqueued(&sim, "audit"), all, "every message also went to audit");
    assert!(enqueued(&sim, "telemetry") > telemetry, "telemetry still gets its copies (fan-out, not a move)");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_bound_filter_takes_only_what_it_matches() {
    let mut sim = home();
    sim.apply(Action::Bind("garden".into(), "garden/#".into())).expect("bind");
    sim.advance(10_000);
    assert_eq!(enqueued(&sim, "garden"), 0, "no home message matches garden/#");
    sim.publish("garden/rain", "{}", false).expect("publish");
    assert_eq!(enqueued(&sim, "garden"), 1);

    // A second binding on an existing queue: telemetry now takes the doors too.
    let before = enqueued(&sim, "telemetry");
    sim.publish("home/hall/door/lock", "{}", false).expect("publish");
    assert_eq!(enqueued(&sim, "telemetry"), before, "not bound yet");
    sim.apply(Action::Bind("telemetry".into(), "home/+/door/#".into())).expect("bind");
    assert_eq!(sim.queue("telemetry", 0).expect("queue").bindings.len(), 3);
    sim.publish("home/hall/door/lock", "{}", false).expect("publish");
    assert_eq!(enqueued(&sim, "telemetry"), before + 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_refused_bind_leaves_nothing_behind() {
    let mut sim = home();
    let queues = sim.queue_names();
    let bad = sim.apply(Action::Bind("broken".into(), "home/#/x".into()));
    assert!(matches!(bad, Err(SimError::Engine(_))), "{bad:?}");
    assert!(matches!(sim.bind_queue("", "#"), Err(SimError::BadQueueName(_))));
    assert!(matches!(sim.bind_queue("a b", "#"), Err(SimError::BadQueueName(_))));
    assert!(matches!(sim.bind_queue(&"q".repeat(65), "#"), Err(SimError::BadQueueName(_))));
    assert_eq!(sim.queue_names(), queues, "no half-made queue");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_removed_consumer_says_goodbye_and_its_messages_go_to_the_others() {
    let mut sim = home();
    let slow = ConsumerSettings { prefetch: 5, processing_ms: 5_000, ..ConsumerSettings::default() };
    let worker = sim.add_consumer_with("telemetry", slow).expect("add");
    sim.advance(3_000);
    let held = sim
        .queue("telemetry", 0)
        .expect("queue")
        .consumers
        .iter()
        .find(|c| c.worker == Some(worker))
        .map(|c| c.unacked.len());
    assert!(held.is_some_and(|n| n > 0), "the slow consumer holds messages: {held:?}");
    sim.apply(Action::RemoveConsumer(worker)).expect("remove");
    let q = sim.queue("telemetry", 0).expect("queue");
    assert!(q.consumers.iter().all(|c| c.worker != Some(worker)), "gone from the queue");
    sim.advance(2_000);
    let redelivered = sim.stats().queues.iter().find(|q| q.name == "telemetry").map(|q| q.counters.redelivered);
    assert!(redelivered.is_some_and(|n| n > 0), "its messages were redelivered: {redelivered:?}");
    assert_eq!(sim.facts().crashes, 0, "a goodbye is not a crash");
    assert!(!sim.lessons_done()[2], "and does not finish the crash lesson");
    assert!(sim.log_lines(&Default::default()).iter().any(|l| l.contains("you removed worker")));
    assert_eq!(sim.apply(Action::RemoveConsumer(worker)), Err(SimError::UnknownConsumer(worker)));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_devices_or_automations_consumer_is_not_removed_alone() {
    let mut sim = home();
    let lock = sim.device("door-lock").expect("lock").consumer.expect("it obeys commands");
    assert!(matches!(sim.remove_consumer(lock), Err(SimError::NotRemovable(..))));
    let climate = sim.automations().into_iter().find(|a| a.id == "climate").and_then(|a| a.consumer).expect("running");
    assert!(matches!(sim.remove_consumer(climate), Err(SimError::NotRemovable(..))));
    assert!(sim.device("door-lock").expect("lock").consumer.is_some(), "still consuming");
}

#[wasm_bindgen_test(unsupported = test)]
fn reset_starts_the_same_scenario_from_zero() {
    let mut sim = home();
    sim.set_speed(4.0).expect("speed");
    sim.apply(Action::Bind("audit".into(), "#".into())).expect("bind");
    sim.apply(Action::CutOff("door-lock".into())).expect("cut off");
    sim.advance(2_000);
    assert!(sim.lessons_done().iter().any(|d| *d));
    let reset = sim.restarted().expect("restarts");
    assert_eq!(reset.now(), 0);
    assert!(reset.journal().is_empty());
    assert!(reset.lessons_done().iter().all(|d| !d), "progress starts over");
    assert!(reset.queue("audit", 0).is_err());
    assert_eq!(reset.clock().speed(), 4.0, "the speed stays");
    let fresh = Simulation::new(Scenario::smart_home(), 7).expect("starts");
    assert_eq!(reset.snapshot(), fresh.snapshot());
}

#[wasm_bindgen_test(unsupported = test)]
fn the_empty_house_is_built_from_the_page_and_its_link_replays() {
    let mut sim = Simulation::new(Scenario::by_name("empty").expect("empty"), 3).expect("starts");
    sim.advance(5_000);
    assert!(sim.devices().is_empty());
    assert_eq!(sim.queue_names(), ["dead-letters"]);
    assert_eq!(sim.stats().counters.published, 0, "nothing happens by itself");
    sim.apply(Action::AddDevice(home_sim::DeviceKind::Temperature, "kitchen".into())).expect("device");
    sim.apply(Action::Bind("audit".into(), "#".into())).expect("bind");
    sim.apply(Action::AddConsumer("audit".into())).expect("consumer");
    sim.advance(5_000);
    assert!(enqueued(&sim, "audit") > 0);
    let link = sim.settings().to_hash();
    assert!(link.starts_with("#scenario=empty&"), "{link}");
    let opened = Simulation::from_settings(&Settings::from_hash(&link).expect("reads")).expect("opens");
    assert_eq!(opened.snapshot(), sim.snapshot());
}
