//! The simulation end to end through its public API, with virtual time.
//! Runs natively and, through wasm-bindgen-test, as wasm under Node.

use home_sim::{
    AckMode, ConsumerSettings, DEAD_LETTERS, Hop, LogFilter, LogKind, Overflow, QueuePolicy, Scenario, SimError,
    Simulation,
};
use wasm_bindgen_test::wasm_bindgen_test;

fn home(seed: u64) -> Simulation {
    Simulation::new(Scenario::smart_home(), seed).expect("the smart home starts")
}

/// A scripted session: time passes, the learner does things.
fn session(seed: u64) -> Simulation {
    let mut sim = home(seed);
    sim.advance(3_000);
    sim.publish("home/hall/door/lock/set", r#"{"locked":false}"#, false).expect("publish");
    sim.advance(2_000);
    let extra = sim.add_consumer("telemetry").expect("add consumer");
    sim.advance(4_000);
    sim.crash_consumer(extra).expect("crash");
    sim.cut_off("hall-motion").expect("cut off");
    let policy = QueuePolicy { ttl_ms: Some(2_000), dead_letter: Some(DEAD_LETTERS.into()), ..QueuePolicy::default() };
    sim.set_queue_policy("telemetry", policy).expect("policy");
    sim.advance(10_000);
    sim
}

#[wasm_bindgen_test(unsupported = test)]
fn devices_start_online_with_their_retained_state() {
    let sim = home(1);
    let devices = sim.devices();
    assert_eq!(devices.len(), 11);
    assert!(devices.iter().all(|d| d.online && d.connected && d.state.is_some()), "{devices:#?}");
    let lock = sim.device("door-lock").expect("lock");
    assert_eq!(lock.state.as_deref(), Some(r#"{"locked":true}"#));
    assert_eq!(sim.device("nope"), Err(SimError::UnknownDevice("nope".into())));
}

#[wasm_bindgen_test(unsupported = test)]
fn the_same_seed_and_actions_give_the_same_state() {
    let (a, b) = (session(7), session(7));
    assert_eq!(a.snapshot(), b.snapshot());
    assert_ne!(a.snapshot(), session(8).snapshot(), "a different seed changes the readings");
}

#[wasm_bindgen_test(unsupported = test)]
fn sensors_publish_at_their_rate_and_the_history_fills() {
    let mut sim = home(3);
    sim.advance(20_000);
    let temp = sim.stats().queues.into_iter().find(|q| q.name == "telemetry").expect("telemetry queue");
    // living 1/s + kitchen 0.5/s temperature, hall motion 0.5/s: about 40 in 20 s.
    assert!((30..=50).contains(&temp.counters.enqueued), "{}", temp.counters.enqueued);
    let history = sim.queue_history("telemetry");
    assert_eq!(history.len(), 20);
    assert_eq!(history.iter().map(|b| b.published).sum::<u64>(), temp.counters.enqueued);
    assert!(sim.device("living-temp").expect("sensor").last_activity_ms.is_some());
}

#[wasm_bindgen_test(unsupported = test)]
fn unlocking_the_door_turns_the_hall_light_on() {
    let mut sim = home(4);
    sim.publish("home/hall/door/lock/set", r#"{"locked":false}"#, false).expect("publish");
    sim.advance(2_000);
    assert_eq!(sim.device("door-lock").expect("lock").state.as_deref(), Some(r#"{"locked":false}"#));
    let light = sim.device("hall-light").expect("light");
    assert_eq!(light.state.as_deref(), Some(r#"{"brightness":80,"on":true}"#));
    let fired = sim.automations().into_iter().find(|a| a.id == "door-light").expect("automation").fired;
    assert_eq!(fired, 1);
}

#[wasm_bindgen_test(unsupported = test)]
fn motion_while_armed_triggers_the_siren_and_smoke_opens_the_curtains() {
    let mut sim = home(5);
    sim.publish("home/hall/alarm/set", r#"{"armed":true}"#, false).expect("arm");
    sim.advance(1_000);
    sim.publish("home/hall/motion", r#"{"motion":true}"#, false).expect("motion");
    sim.advance(1_000);
    let alarm = sim.device("alarm").expect("alarm").state.unwrap_or_default();
    assert!(alarm.contains(r#""state":"triggered""#), "{alarm}");
    sim.publish("home/kitchen/smoke", r#"{"smoke":true,"ppm":900}"#, false).expect("smoke");
    sim.advance(1_000);
    let curtains = sim.device("curtains").expect("curtains").state.unwrap_or_default();
    assert!(curtains.contains(r#""open":true"#), "{curtains}");
}

#[wasm_bindgen_test(unsupported = test)]
fn cutting_a_device_off_publishes_its_last_will() {
    let mut sim = home(6);
    sim.cut_off("kitchen-light").expect("cut off");
    let light = sim.device("kitchen-light").expect("light");
    assert!(!light.online && !light.connected);
    assert_eq!(sim.cut_off("kitchen-light"), Err(SimError::DeviceAlready("kitchen-light".into(), "offline")));
    let wills =
        LogFilter { kinds: vec![LogKind::Connection], device: Some("kitchen-light".into()), ..LogFilter::default() };
    assert!(sim.log_lines(&wills).iter().any(|l| l.contains("last will was published on home/kitchen/light/status")));
    sim.reconnect("kitchen-light").expect("reconnect");
    assert!(sim.device("kitchen-light").expect("light").online);
    // Its queue kept commands sent while it was away.
    sim.cut_off("kitchen-light").expect("cut off");
    sim.publish("home/kitchen/light/set", r#"{"on":true}"#, false).expect("publish");
    sim.advance(1_000);
    assert_eq!(sim.queue("kitchen-light", 10).expect("queue").ready_total, 1);
    sim.reconnect("kitchen-light").expect("reconnect");
    sim.advance(1_000);
    assert!(sim.device("kitchen-light").expect("light").state.unwrap_or_default().contains(r#""on":true"#));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_second_consumer_shares_the_queue_round_robin() {
    let mut sim = home(7);
    let slow = ConsumerSettings { prefetch: 1, ack: AckMode::Manual, processing_ms: 2_000 };
    let recorder = sim.queue("telemetry", 0).expect("queue").consumers[0].worker.expect("recorder");
    sim.set_consumer_settings(recorder, slow).expect("settings");
    let second = sim.add_consumer_with("telemetry", slow).expect("add");
    sim.advance(20_000);
    let view = sim.queue("telemetry", 10).expect("queue");
    assert_eq!(view.consumers.len(), 2);
    assert!(view.consumers.iter().all(|c| c.delivered >= 5), "{:#?}", view.consumers);
    assert!(view.consumers.iter().all(|c| c.unacked.len() <= 1), "prefetch 1 caps the window");
    assert!(view.ready_total > 0, "slow consumers let messages pile up");
    assert!(view.consumers.iter().any(|c| c.worker == Some(second)));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_crashed_consumers_unacked_messages_are_redelivered() {
    let mut sim = home(8);
    let slow = ConsumerSettings { prefetch: 5, ack: AckMode::Manual, processing_ms: 5_000 };
    let worker = sim.add_consumer_with("telemetry", slow).expect("add");
    sim.advance(5_000);
    let held = sim
        .queue("telemetry", 0)
        .expect("queue")
        .consumers
        .iter()
        .find(|c| c.worker == Some(worker))
        .map(|c| c.unacked.len());
    assert!(held.is_some_and(|n| n > 0), "{held:?}");
    sim.crash_consumer(worker).expect("crash");
    sim.advance(3_000);
    assert!(sim.stats().counters.redelivered > 0);
    assert_eq!(sim.crash_consumer(worker), Err(SimError::UnknownConsumer(worker)));
}

#[wasm_bindgen_test(unsupported = test)]
fn ttl_and_max_length_send_messages_to_dead_letters() {
    let mut sim = home(9);
    sim.pause_automation("climate").expect("pause");
    let policy = QueuePolicy { ttl_ms: Some(5_000), dead_letter: Some(DEAD_LETTERS.into()), ..QueuePolicy::default() };
    sim.set_queue_policy("auto-climate", policy).expect("policy");
    sim.advance(10_000);
    assert!(sim.queue(DEAD_LETTERS, 5).expect("dlq").ready_total > 0);
    let filter = LogFilter { kinds: vec![LogKind::DeadLetter], ..LogFilter::default() };
    let line = sim.log_lines(&filter).pop().expect("a dead-letter line");
    assert!(line.contains("expired after 5 s TTL → moved to dead letters (dead-letters)"), "{line}");
    let cap = QueuePolicy { max_length: Some(2), overflow: Overflow::DropOldest, ..QueuePolicy::default() };
    sim.set_queue_policy("auto-climate", cap).expect("policy");
    sim.advance(10_000);
    assert!(sim.queue("auto-climate", 10).expect("queue").ready_total <= 2);
    assert!(sim.set_queue_policy("nope", QueuePolicy::default()).is_err());
}

#[wasm_bindgen_test(unsupported = test)]
fn each_step_reports_the_hops_messages_made() {
    let mut sim = home(10);
    sim.advance(5_000);
    sim.publish("home/living/light/set", r#"{"on":true}"#, false).expect("publish");
    let hops: Vec<&Hop> = sim.flights().list().iter().map(|f| &f.hop).collect();
    assert!(matches!(hops.first(), Some(Hop::Publish { from, .. }) if &**from == "console"), "{hops:?}");
    assert!(hops.iter().any(|h| matches!(h, Hop::Route { queue } if &**queue == "living-light")));
    assert!(hops.iter().any(|h| matches!(h, Hop::Deliver { to, .. } if &**to == "living-light")));
}

#[wasm_bindgen_test(unsupported = test)]
fn controls_refuse_bad_input_with_reasons() {
    let mut sim = home(11);
    assert!(matches!(sim.set_device_rate("alarm", -1.0), Err(SimError::InvalidRate { .. })));
    assert!(matches!(sim.set_device_rate("alarm", f64::NAN), Err(SimError::InvalidRate { .. })));
    assert!(matches!(sim.add_consumer("nope"), Err(SimError::UnknownQueue(_))));
    let zero = ConsumerSettings { prefetch: 0, ..ConsumerSettings::default() };
    assert_eq!(sim.add_consumer_with("telemetry", zero), Err(SimError::InvalidPrefetch(0)));
    assert!(matches!(sim.publish("home/#", "x", false), Err(SimError::Engine(_))));
    assert!(matches!(sim.set_speed(0.1), Err(SimError::InvalidSpeed(_))));
    assert!(matches!(sim.pause_automation("nope"), Err(SimError::UnknownAutomation(_))));
}

#[wasm_bindgen_test(unsupported = test)]
fn devices_and_automations_come_and_go() {
    use home_sim::{AutomationSpec, DeviceKind, DeviceSpec, Rule};
    let mut sim = home(12);
    let lamp = DeviceSpec::new("garage-light", "Garage light", "garage", DeviceKind::Light, "home/garage/light", 0.1);
    sim.add_device(lamp.clone()).expect("add");
    assert_eq!(sim.add_device(lamp), Err(SimError::DuplicateId("garage-light".into())));
    assert!(sim.device("garage-light").expect("lamp").online);
    sim.remove_device("garage-light").expect("remove");
    assert!(sim.device("garage-light").is_err());
    assert!(sim.queue("garage-light", 1).is_err(), "its command queue is deleted");
    assert!(sim.log_lines(&LogFilter::default()).iter().all(|l| !l.contains("garage-light's last will")));

    sim.pause_automation("door-light").expect("pause");
    sim.publish("home/hall/door/lock/set", r#"{"locked":false}"#, false).expect("unlock");
    sim.advance(2_000);
    assert_eq!(sim.queue("auto-door-light", 5).expect("queue").ready_total, 1, "triggers wait while paused");
    assert!(!sim.device("hall-light").expect("light").state.unwrap_or_default().contains(r#""on":true"#));
    sim.resume_automation("door-light").expect("resume");
    sim.advance(2_000);
    assert!(sim.device("hall-light").expect("light").state.unwrap_or_default().contains(r#""on":true"#));
    sim.remove_automation("door-light").expect("remove");
    assert!(sim.queue("auto-door-light", 1).is_err());
    sim.add_automation(AutomationSpec::new("door-light-2", Rule::DoorLight)).expect("add");
    assert_eq!(sim.automations().iter().filter(|a| a.consumer.is_some()).count(), 4);
}

#[wasm_bindgen_test(unsupported = test)]
fn auto_ack_floods_the_consumer_and_step_honours_speed_and_pause() {
    let mut sim = home(13);
    let recorder = sim.queue("telemetry", 0).expect("queue").consumers[0].worker.expect("recorder");
    let auto = ConsumerSettings { prefetch: 1, ack: AckMode::Auto, processing_ms: 5_000 };
    sim.set_consumer_settings(recorder, auto).expect("settings");
    sim.set_speed(10.0).expect("speed");
    sim.step(1_000.0);
    assert_eq!(sim.now(), 10_000);
    let q = sim.queue("telemetry", 5).expect("queue");
    assert_eq!((q.ready_total, q.unacked_total), (0, 0), "auto ack: nothing waits, nothing is unacked");
    sim.set_paused(true);
    sim.step(1_000.0);
    assert_eq!(sim.now(), 10_000);
}

#[wasm_bindgen_test(unsupported = test)]
fn only_changed_devices_are_reported_and_layout_moves_on_add_and_remove() {
    let mut sim = Simulation::new(Scenario::smart_home(), 9).expect("start");
    let (epoch, layout) = (sim.device_epoch(), sim.layout_version());
    sim.cut_off("door-lock").expect("cut off");
    let changed: Vec<String> = sim.devices_since(epoch).into_iter().map(|d| d.id).collect();
    assert_eq!(changed, ["door-lock"], "the will marks only the lock");
    assert!(!sim.devices_since(epoch)[0].online);
    assert!(sim.devices_since(sim.device_epoch()).is_empty());
    assert_eq!(sim.layout_version(), layout, "a cut-off device keeps its place");
    sim.remove_device("door-lock").expect("remove");
    assert!(sim.layout_version() > layout);
}

#[wasm_bindgen_test(unsupported = test)]
fn added_devices_get_numbered_ids_and_topics_and_go_online() {
    let mut sim = home(4);
    assert_eq!(sim.add_device_to(home_sim::DeviceKind::Light, "kitchen"), Ok("kitchen-light-2".into()));
    assert_eq!(sim.add_device_to(home_sim::DeviceKind::Lock, "garage"), Ok("garage-lock".into()));
    sim.advance(500);
    let light = sim.device("kitchen-light-2").expect("the new light");
    assert_eq!((light.name.as_str(), light.state_topic.as_str()), ("Kitchen light 2", "home/kitchen/light-2/state"));
    assert!(light.online && light.state.is_some(), "online with a retained state");
    assert!(sim.queue("kitchen-light-2", 0).is_ok(), "it consumes its commands");
    let temp = sim.add_device_to(home_sim::DeviceKind::Temperature, "kitchen").expect("a second thermometer");
    assert_eq!(sim.device(&temp).map(|d| d.state_topic), Ok("home/kitchen/temperature-2".into()), "topics stay unique");
    assert!(matches!(sim.add_device_to(home_sim::DeviceKind::Light, "Bad Room"), Err(SimError::BadRoom(_))));
    sim.remove_device("kitchen-light-2").expect("remove");
    assert!(sim.device("kitchen-light-2").is_err());
}

/// An automation removed and added again under the same id between two
/// one-second samples: its queue is new, its counters start from zero, and
/// the chart counts from there instead of wrapping around.
#[wasm_bindgen_test(unsupported = test)]
fn a_queue_declared_again_within_a_sample_charts_from_zero() {
    let mut sim = home(5);
    sim.advance(10_500);
    let before = sim.queue_history("auto-climate");
    assert!(before.iter().map(|b| b.published).sum::<u64>() > 0, "temperatures reached the automation: {before:?}");
    sim.remove_automation("climate").expect("remove");
    sim.add_automation(home_sim::AutomationSpec::new("climate", home_sim::Rule::Climate)).expect("add again");
    sim.advance(1_000);
    let after = sim.queue_history("auto-climate");
    let last = after.last().expect("a bucket for the new queue");
    assert!(last.published < 100 && last.delivered < 100 && last.acked < 100, "no wrap-around: {last:?}");
}
