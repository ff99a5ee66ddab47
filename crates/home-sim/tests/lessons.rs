//! Every lesson's check, both ways: false before the task, true after it is
//! done through the public API. Runs natively and as wasm under Node.

use home_sim::lessons::lesson;
use home_sim::{AckMode, ConsumerSettings, DEAD_LETTERS, QueuePolicy, Scenario, Simulation, lessons};
use wasm_bindgen_test::wasm_bindgen_test;

/// A fresh house that has run for a while, and the check of lesson `id`.
fn start(id: &str) -> (Simulation, &'static home_sim::Lesson) {
    let mut sim = Simulation::new(Scenario::smart_home(), 99).expect("the smart home starts");
    sim.advance(10_000);
    let lesson = lesson(id).expect("lesson exists");
    assert!(!lesson.check(&sim), "{id}: the check must not pass before the task");
    (sim, lesson)
}

fn telemetry_worker(sim: &Simulation) -> home_sim::WorkerId {
    sim.queue("telemetry", 0).expect("queue").consumers[0].worker.expect("the recorder")
}

#[wasm_bindgen_test(unsupported = test)]
fn there_are_six_lessons_with_words() {
    assert_eq!(lessons().len(), 6);
    assert!(lessons().iter().all(|l| !l.title.is_empty() && !l.explanation.is_empty() && !l.task.is_empty()));
}

#[wasm_bindgen_test(unsupported = test)]
fn fifo_and_topic_routing() {
    let (mut sim, lesson) = start("fifo-routing");
    sim.publish("garden/rain", r#"{"mm":2}"#, false).expect("publish");
    assert!(!lesson.check(&sim), "an unroutable topic does not count");
    sim.publish("home/garage/temperature", r#"{"celsius":12.5}"#, false).expect("publish");
    assert!(lesson.check(&sim));
}

#[wasm_bindgen_test(unsupported = test)]
fn competing_consumers() {
    let (mut sim, lesson) = start("competing-consumers");
    sim.add_consumer("telemetry").expect("add");
    sim.advance(10_000);
    assert!(lesson.check(&sim));
}

#[wasm_bindgen_test(unsupported = test)]
fn acks_and_redelivery() {
    let (mut sim, lesson) = start("acks-redelivery");
    let slow = ConsumerSettings { prefetch: 5, ack: AckMode::Manual, processing_ms: 5_000 };
    let worker = sim.add_consumer_with("telemetry", slow).expect("add");
    sim.advance(6_000);
    assert!(!lesson.check(&sim));
    sim.crash_consumer(worker).expect("crash");
    sim.advance(2_000);
    assert!(lesson.check(&sim));
}

#[wasm_bindgen_test(unsupported = test)]
fn prefetch_and_back_pressure() {
    let (mut sim, lesson) = start("prefetch-backpressure");
    let worker = telemetry_worker(&sim);
    let slow = ConsumerSettings { prefetch: 1, ack: AckMode::Manual, processing_ms: 3_000 };
    sim.set_consumer_settings(worker, slow).expect("settings");
    sim.advance(15_000);
    assert!(lesson.check(&sim));
}

#[wasm_bindgen_test(unsupported = test)]
fn ttl_max_length_and_dead_letters() {
    let (mut sim, lesson) = start("ttl-dead-letters");
    let worker = telemetry_worker(&sim);
    sim.crash_consumer(worker).expect("crash the only consumer, so messages wait");
    let policy = QueuePolicy { max_length: Some(3), dead_letter: Some(DEAD_LETTERS.into()), ..QueuePolicy::default() };
    sim.set_queue_policy("telemetry", policy).expect("policy");
    sim.advance(10_000);
    assert!(lesson.check(&sim));
}

#[wasm_bindgen_test(unsupported = test)]
fn retained_state_and_last_will() {
    let (mut sim, lesson) = start("retained-will");
    sim.cut_off("thermostat").expect("cut off");
    assert!(lesson.check(&sim));
    sim.reconnect("thermostat").expect("reconnect");
    assert!(!lesson.check(&sim), "back online: the retained status says so");
}
