//! Long links open fast, both ways: a short session has no checkpoint and
//! its link replays exactly; a long one (minutes of a stress scene, a day
//! and more of a quiet house) carries a checkpoint, so opening its link
//! simulates at most one checkpoint interval and brings back the whole
//! set-up (queues and bindings, consumers and settings, policies, devices
//! cut off, automations, lessons done), the time and the journal; the link
//! of a link opens the same way again. Runs natively and as wasm under Node.

use home_sim::checkpoint::{CHECKPOINT_MESSAGES, CHECKPOINT_MS};
use home_sim::hash::Settings;
use home_sim::{Action, ConsumerSettings, DeviceKind, QueuePolicy, Scenario, Simulation};
use wasm_bindgen_test::wasm_bindgen_test;

/// What a learner set up: queues with bindings, policy and consumers;
/// devices online or cut off and their rates; automations running.
fn set_up(sim: &Simulation) -> Vec<String> {
    let mut out = Vec::new();
    for name in sim.queue_names() {
        let q = sim.queue(&name, 0).expect("listed");
        let consumers: Vec<_> = q.consumers.iter().map(|c| (c.worker, c.label.clone(), c.settings)).collect();
        out.push(format!("queue {name} {:?} {:?} {consumers:?}", q.bindings, sim.queue_policy(&name)));
    }
    for d in sim.devices() {
        out.push(format!("device {} connected={} rate={}", d.id, d.connected, d.rate));
    }
    for a in sim.automations() {
        out.push(format!("automation {} running={}", a.id, a.consumer.is_some()));
    }
    out.push(format!("lessons {:?}", sim.lessons_done()));
    out
}

fn reopen(sim: &Simulation) -> (Settings, Simulation) {
    let hash = sim.settings().to_hash();
    let settings = Settings::from_hash(&hash).expect("the page's own link reads");
    let opened = Simulation::from_settings(&settings).expect("and opens");
    (settings, opened)
}

#[wasm_bindgen_test(unsupported = test)]
fn a_short_session_replays_exactly_without_a_checkpoint() {
    let mut sim = Simulation::new(Scenario::smart_home(), 4).expect("starts");
    sim.advance(60_000);
    sim.apply(Action::Bind("audit".into(), "#".into())).expect("bind");
    sim.advance(60_000);
    assert_eq!(sim.checkpoint().0, 0, "two quiet minutes make no checkpoint");
    let (settings, opened) = reopen(&sim);
    assert_eq!(settings.base_ms, 0);
    assert!(!sim.settings().to_hash().contains("base="));
    assert_eq!(opened.snapshot(), sim.snapshot(), "replayed exactly, traffic and all");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_busy_session_checkpoints_by_messages_and_its_link_keeps_the_set_up() {
    let mut sim = Simulation::new(Scenario::stress(50, 500.0), 8).expect("starts");
    sim.advance(10_000);
    sim.apply(Action::Bind("garden".into(), "garden/#".into())).expect("bind");
    let worker = sim.apply(Action::AddConsumer("garden".into())).map(|()| sim.queue("garden", 0));
    let worker = worker.expect("add").expect("queue").consumers[0].worker.expect("a worker");
    sim.advance(20_000);
    let slow = ConsumerSettings { prefetch: 2, processing_ms: 900, ..ConsumerSettings::default() };
    sim.apply(Action::SetConsumer(worker, slow)).expect("settings");
    let policy = QueuePolicy { max_length: Some(5), ttl_ms: Some(4_000), ..QueuePolicy::default() };
    sim.apply(Action::SetPolicy("telemetry".into(), policy)).expect("policy");
    sim.advance(30_000);
    sim.apply(Action::CutOff("sensor-3".into())).expect("cut off");
    let recorder = sim.queue("telemetry", 0).expect("queue").consumers[0].worker.expect("a worker");
    sim.apply(Action::Crash(recorder)).expect("crash");
    sim.advance(25_000);
    sim.apply(Action::AddConsumer("telemetry".into())).expect("add");
    sim.advance(12_345);

    let (base, _) = sim.checkpoint();
    let published = sim.stats().counters.published;
    assert!(published > 2 * CHECKPOINT_MESSAGES, "{published} messages");
    assert!(base > 0 && sim.now() - base < 50_000, "a checkpoint within the last 20 000 messages: {base}");
    let (settings, opened) = reopen(&sim);
    assert_eq!(settings.base_ms, base);
    assert_eq!(opened.now(), sim.now());
    assert_eq!(opened.journal(), sim.journal(), "the journal keeps its real times");
    assert_eq!(set_up(&opened), set_up(&sim));
    assert!(opened.stats().counters.published < published / 2, "only the traffic since the checkpoint was simulated");
    assert_eq!(opened.checkpoint().0, base, "the link of the link starts from the same checkpoint");
    let (_, again) = reopen(&opened);
    assert_eq!(again.snapshot(), opened.snapshot(), "and opens to the same state");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_day_long_session_opens_from_its_last_hour() {
    let mut sim = Simulation::new(Scenario::by_name("empty").expect("empty"), 5).expect("starts");
    sim.apply(Action::AddDevice(DeviceKind::Light, "hall".into())).expect("device");
    sim.apply(Action::SetRate("hall-light".into(), 0.0)).expect("quiet");
    sim.apply(Action::Bind("audit".into(), "#".into())).expect("bind");
    sim.apply(Action::AddConsumer("audit".into())).expect("consumer");
    sim.advance(2 * CHECKPOINT_MS + 1_000);
    sim.apply(Action::CutOff("hall-light".into())).expect("cut off");
    assert!(sim.lessons_done()[5], "cutting a device off is lesson 6");
    sim.advance(23 * CHECKPOINT_MS);
    assert!(sim.now() > home_sim::hash::MAX_REPLAY_MS, "longer than a simulated day");
    let (base, done) = sim.checkpoint();
    assert!(sim.now() - base <= CHECKPOINT_MS, "the last hour: {base}");
    assert!(done[5]);
    let (settings, opened) = reopen(&sim);
    assert!(settings.at_ms - settings.base_ms <= CHECKPOINT_MS);
    assert_eq!(opened.now(), sim.now());
    assert_eq!(set_up(&opened), set_up(&sim));
    assert!(opened.lessons_done()[5], "done stays done through the checkpoint");
    assert!(!opened.device("hall-light").expect("light").connected, "still cut off");

    // A hand-made link asking for more than a day past its base is refused.
    let too_long = Settings { base_ms: 0, ..settings };
    assert!(Settings::from_hash(&too_long.to_hash()).is_err());
}
