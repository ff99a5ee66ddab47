//! Every lesson's check, both ways: false before the task, true after it is
//! done through the public API. Runs natively and as wasm under Node.

use home_sim::hash::Settings;
use home_sim::lessons::lesson;
use home_sim::{AckMode, Action, ConsumerSettings, DEAD_LETTERS, QueuePolicy, Scenario, Simulation, lessons};
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

/// The settings the tasks of lessons 3 to 5 ask for.
fn settings(prefetch: u32, processing_ms: u64) -> ConsumerSettings {
    ConsumerSettings { prefetch, ack: AckMode::Manual, processing_ms }
}

/// Whether lesson `id` is marked done in `sim`'s progress.
fn done(sim: &Simulation, id: &str) -> bool {
    let at = lessons().iter().position(|l| l.id == id).expect("lesson exists");
    sim.lessons_done()[at]
}

#[wasm_bindgen_test(unsupported = test)]
fn acks_and_redelivery_need_a_crash_holding_messages_and_their_redelivery_to_another() {
    let (mut sim, lesson) = start("acks-redelivery");
    let recorder = telemetry_worker(&sim);
    // A prefetch change redelivers (the consumer resubscribes) without a crash ...
    sim.apply(Action::SetConsumer(recorder, settings(1, 400))).expect("prefetch");
    sim.advance(2_000);
    assert!(sim.stats().counters.redelivered > 0, "the resubscription redelivered");
    // ... and an idle consumer on another queue crashes holding nothing.
    sim.apply(Action::AddConsumer(DEAD_LETTERS.into())).expect("add");
    let idle = sim.queue(DEAD_LETTERS, 0).expect("queue").consumers[0].worker.expect("worker");
    sim.apply(Action::Crash(idle)).expect("crash");
    sim.advance(3_000);
    assert!(!lesson.check(&sim) && !done(&sim, "acks-redelivery"), "any crash plus any redelivery is not the task");

    // The only consumer crashes holding messages: nobody else gets them yet.
    sim.apply(Action::SetConsumer(recorder, settings(5, 5_000))).expect("slow");
    sim.advance(4_000);
    sim.apply(Action::Crash(recorder)).expect("crash");
    sim.advance(3_000);
    assert!(!lesson.check(&sim), "held messages wait in the queue, not yet redelivered to another");
    sim.apply(Action::AddConsumer("telemetry".into())).expect("another consumer");
    sim.advance(1_000);
    assert!(lesson.check(&sim) && done(&sim, "acks-redelivery"), "another consumer got them");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_device_cut_off_holding_a_command_gets_it_back_itself_which_is_not_lesson_3() {
    let (mut sim, lesson) = start("acks-redelivery");
    sim.apply(Action::SetConsumer(worker_of(&sim, "alarm"), settings(1, 5_000))).expect("slow alarm");
    sim.publish("home/hall/alarm/set", r#"{"armed":true}"#, false).expect("command");
    sim.advance(1_000);
    sim.apply(Action::Crash(worker_of(&sim, "alarm"))).expect("crash the alarm");
    sim.apply(Action::Reconnect("alarm".into())).expect("reconnect");
    sim.advance(3_000);
    assert!(!lesson.check(&sim), "the alarm got its own command back");
}

/// The worker consuming the command queue of device `id`.
fn worker_of(sim: &Simulation, id: &str) -> home_sim::WorkerId {
    let names = sim.queue_names();
    names
        .iter()
        .filter_map(|n| sim.queue(n, 0).ok())
        .flat_map(|q| q.consumers)
        .find(|c| c.label == id)
        .and_then(|c| c.worker)
        .expect("the device consumes its commands")
}

#[wasm_bindgen_test(unsupported = test)]
fn back_pressure_needs_every_consumer_slow_as_the_task_says() {
    let (mut sim, lesson) = start("prefetch-backpressure");
    let recorder = telemetry_worker(&sim);
    sim.apply(Action::AddConsumer("telemetry".into())).expect("a second, fast consumer");
    sim.apply(Action::SetConsumer(recorder, settings(1, 3_000))).expect("slow the recorder");
    sim.advance(15_000);
    assert!(!lesson.check(&sim) && !done(&sim, "prefetch-backpressure"), "the fast one drains the queue");
    let fast =
        sim.queue("telemetry", 0).expect("queue").consumers.iter().find_map(|c| c.worker.filter(|w| *w != recorder));
    sim.apply(Action::SetConsumer(fast.expect("the second consumer"), settings(2, 2_000))).expect("slow it too");
    sim.advance(15_000);
    assert!(lesson.check(&sim) && done(&sim, "prefetch-backpressure"));
}

#[wasm_bindgen_test(unsupported = test)]
fn dead_letters_stand_on_their_own_and_need_the_policys_queue_to_send_them() {
    let (mut sim, lesson) = start("ttl-dead-letters");
    let ttl = QueuePolicy { ttl_ms: Some(1_000), dead_letter: Some(DEAD_LETTERS.into()), ..QueuePolicy::default() };
    // A backlog without dead letters ticked: expired messages are dropped.
    sim.apply(Action::SetConsumer(telemetry_worker(&sim), settings(1, 3_000))).expect("slow");
    let dropping = QueuePolicy { dead_letter: None, ..ttl.clone() };
    sim.apply(Action::SetPolicy("telemetry".into(), dropping)).expect("policy");
    sim.advance(10_000);
    assert!(sim.queue("telemetry", 0).expect("queue").counters.expired > 0, "messages expired");
    assert!(!lesson.check(&sim), "dropped, not dead-lettered");
    // Following the task from a fresh house (no earlier lesson's backlog).
    let (mut sim, lesson) = start("ttl-dead-letters");
    sim.apply(Action::SetConsumer(telemetry_worker(&sim), settings(1, 3_000))).expect("slow");
    sim.apply(Action::SetPolicy("telemetry".into(), ttl)).expect("policy");
    sim.advance(10_000);
    assert!(lesson.check(&sim) && done(&sim, "ttl-dead-letters"));
}

#[wasm_bindgen_test(unsupported = test)]
fn a_lesson_once_done_stays_done_and_a_link_replays_the_progress() {
    let (mut sim, _) = start("competing-consumers");
    sim.apply(Action::AddConsumer("telemetry".into())).expect("add");
    sim.advance(10_000);
    assert!(done(&sim, "competing-consumers"));
    let added = sim.queue("telemetry", 0).expect("queue").consumers[1].worker.expect("worker");
    sim.apply(Action::Crash(added)).expect("crash it");
    sim.apply(Action::CutOff("thermostat".into())).expect("cut off");
    assert!(done(&sim, "retained-will"));
    sim.apply(Action::Reconnect("thermostat".into())).expect("reconnect");
    sim.advance(2_000);
    assert!(!lessons()[1].check(&sim) && !lessons()[5].check(&sim), "the state moved on");
    assert!(done(&sim, "competing-consumers") && done(&sim, "retained-will"), "the progress did not");

    let link = Settings::from_hash(&sim.settings().to_hash()).expect("the link reads back");
    let copy = Simulation::from_settings(&link).expect("the link opens");
    assert_eq!(copy.lessons_done(), sim.lessons_done());
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
