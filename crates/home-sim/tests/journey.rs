//! "Why did it go there", both ways: a publish's log line names the queues
//! it was routed to, in routing order (and only those); a message's journey has the stages it
//! went through and none it did not (redelivered only after a crash, dead
//! letters only under a TTL); the log filters by message; a journey reaches
//! back as far as the bounded log. Runs natively and as wasm under Node.

use home_sim::log::LOG_CAPACITY;
use home_sim::{Action, ConsumerSettings, DEAD_LETTERS, LogFilter, QueuePolicy, Scenario, Simulation, Stage};
use wasm_bindgen_test::wasm_bindgen_test;

fn home() -> Simulation {
    let mut sim = Simulation::new(Scenario::smart_home(), 11).expect("the smart home starts");
    sim.advance(3_000);
    sim
}

/// The log line of message `id`'s publish.
fn publish_line(sim: &Simulation, id: u64) -> String {
    let filter = LogFilter { message: Some(id), kinds: vec![home_sim::LogKind::Publish], ..LogFilter::default() };
    let lines = sim.log_lines(&filter);
    assert_eq!(lines.len(), 1, "one publish line for #{id}: {lines:?}");
    lines[0].clone()
}

#[wasm_bindgen_test(unsupported = test)]
fn a_publish_names_the_queues_it_was_routed_to() {
    let mut sim = home();
    let one = sim.publish("home/garage/temperature", "{}", false).expect("publish");
    let line = publish_line(&sim, one);
    assert!(line.ends_with("→ routed to 2 queues (telemetry, auto-climate)"), "{line}");
    sim.apply(Action::Bind("audit".into(), "#".into())).expect("bind");
    let two = sim.publish("home/garage/temperature", "{}", false).expect("publish");
    assert!(publish_line(&sim, two).ends_with("→ routed to 3 queues (telemetry, auto-climate, audit)"));
    let lock = sim.publish("home/hall/door/lock/set", r#"{"locked":true}"#, false).expect("publish");
    assert!(publish_line(&sim, lock).ends_with("→ routed to 2 queues (door-lock, audit)"), "only its own queues");
    sim.apply(Action::Bind("garden".into(), "garden/#".into())).expect("bind");
    let rain = sim.publish("garden/rain", "{}", false).expect("publish");
    assert!(publish_line(&sim, rain).ends_with("→ routed to 2 queues (audit, garden)"));
    let nowhere = sim.publish("office/printer", "{}", true);
    let id = nowhere.expect("publish");
    let mut sim2 = Simulation::new(Scenario::by_name("empty").expect("empty"), 1).expect("starts");
    let lost = sim2.publish("office/printer", "{}", false).expect("publish");
    let line = publish_line(&sim2, lost);
    assert!(line.ends_with("matched no binding → unroutable") && !line.contains('('), "{line}");
    assert!(publish_line(&sim, id).ends_with("→ routed to 1 queue (audit)"));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_delivered_and_acked_message_has_just_those_stages() {
    let mut sim = home();
    let id = sim.publish("home/garage/temperature", r#"{"celsius":9}"#, false).expect("publish");
    sim.advance(5_000);
    let journey = sim.journey(id).expect("a journey");
    assert!(journey.complete);
    assert_eq!(journey.steps[0].stage, Stage::Published, "the publish comes first");
    assert_eq!(journey.steps.iter().filter(|s| s.stage == Stage::Routed).count(), 2);
    assert_eq!(journey.steps.iter().filter(|s| s.stage == Stage::Acked).count(), 2, "each copy acked");
    assert!(journey.has(Stage::Delivered));
    for stage in [Stage::Redelivered, Stage::DeadLettered, Stage::Expired, Stage::Dropped] {
        assert!(!journey.has(stage), "no {stage:?}");
    }
    assert!(journey.steps.iter().all(|s| s.line.contains(&format!("#{id} "))), "only this message's lines");
    assert!(journey.steps.windows(2).all(|w| w[0].at_ms <= w[1].at_ms), "in time order");
    assert_eq!(sim.journey(999_999), None);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_crashed_consumers_message_shows_its_redelivery() {
    let mut sim = home();
    let slow = ConsumerSettings { prefetch: 10, processing_ms: 60_000, ..ConsumerSettings::default() };
    let worker = sim.add_consumer_with("telemetry", slow).expect("add");
    sim.advance(4_000);
    let held = sim.queue("telemetry", 0).expect("queue").consumers.into_iter().find(|c| c.worker == Some(worker));
    let id = held.and_then(|c| c.unacked.first().map(|u| u.0)).expect("the slow consumer holds a message");
    let before = sim.journey(id).expect("journey");
    assert!(before.has(Stage::Delivered) && !before.has(Stage::Redelivered), "{:?}", before.stages());
    sim.apply(Action::Crash(worker)).expect("crash");
    sim.advance(3_000);
    let after = sim.journey(id).expect("journey");
    assert!(after.has(Stage::Redelivered), "{:?}", after.stages());
    let last = after.steps.last().expect("steps");
    assert_eq!(last.stage, Stage::Acked, "the recorder took it and acked it: {:?}", after.stages());
}

#[wasm_bindgen_test(unsupported = test)]
fn a_ttl_sends_an_unread_message_to_the_dead_letters() {
    let mut sim = home();
    sim.apply(Action::Bind("parked".into(), "garden/#".into())).expect("bind");
    sim.apply(Action::Bind("kept".into(), "garden/#".into())).expect("bind");
    let policy = QueuePolicy { ttl_ms: Some(1_000), dead_letter: Some(DEAD_LETTERS.into()), ..QueuePolicy::default() };
    sim.apply(Action::SetPolicy("parked".into(), policy)).expect("policy");
    let id = sim.publish("garden/rain", "{}", false).expect("publish");
    sim.advance(500);
    assert!(!sim.journey(id).expect("journey").has(Stage::DeadLettered), "not before its TTL");
    sim.advance(1_500);
    let journey = sim.journey(id).expect("journey");
    let dead: Vec<_> = journey.steps.iter().filter(|s| s.stage == Stage::DeadLettered).collect();
    assert_eq!(dead.len(), 1, "{:?}", journey.stages());
    assert_eq!(dead[0].queue.as_deref(), Some("parked"), "the TTL queue's copy, not the other");
    let routed: Vec<_> =
        journey.steps.iter().filter(|s| s.stage == Stage::Routed).filter_map(|s| s.queue.clone()).collect();
    assert_eq!(routed, ["parked", "kept", DEAD_LETTERS], "then it entered the dead letters");
}

#[wasm_bindgen_test(unsupported = test)]
fn the_log_filters_by_message_and_journeys_reach_back_as_far_as_the_log() {
    let mut sim = Simulation::new(Scenario::stress(50, 500.0), 2).expect("the stress scene starts");
    sim.advance(10_000);
    assert_eq!(sim.log().entries().count(), LOG_CAPACITY, "bounded");
    assert_eq!(sim.journey(1), None, "the first message left the log long ago");
    let last = sim.stats().counters.published;
    let filter = LogFilter { message: Some(last), ..LogFilter::default() };
    let lines = sim.log_lines(&filter);
    assert!(!lines.is_empty() && lines.iter().all(|l| l.contains(&format!("#{last} "))), "{lines:?}");
    assert!(sim.journey(last).is_some_and(|j| j.complete));
    let oldest = sim.log().entries().find_map(|e| e.message_id).expect("a message in the log");
    let partial = sim.journey(oldest).expect("journey");
    let published_kept =
        sim.log().entries().any(|e| e.message_id == Some(oldest) && e.kind == home_sim::LogKind::Publish);
    assert_eq!(partial.complete, published_kept);
}
