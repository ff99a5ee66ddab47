//! URL hashes: round trips, errors, and a link replaying a learner's session
//! to the same state. Runs natively and as wasm under Node.

use home_sim::hash::{HashError, Settings};
use home_sim::{
    AckMode, Action, ConsumerSettings, DEAD_LETTERS, DeviceKind, Overflow, QueuePolicy, Rule, Scenario, Simulation,
};
use wasm_bindgen_test::wasm_bindgen_test;

/// One of every action, with awkward text where text is free.
fn every_action() -> Vec<Action> {
    let policy = QueuePolicy {
        max_length: Some(10),
        overflow: Overflow::RejectPublish,
        ttl_ms: Some(5000),
        dead_letter: Some(DEAD_LETTERS.into()),
    };
    let settings = ConsumerSettings { prefetch: 2, ack: AckMode::Auto, processing_ms: 2500 };
    vec![
        Action::Publish {
            topic: "home/garage/temperature".into(),
            payload: r#"{"a":"b,c;d&e=f#g%h é"}"#.into(),
            retain: true,
        },
        Action::AddConsumer("telemetry".into()),
        Action::Crash(7),
        Action::SetConsumer(3, settings),
        Action::SetPolicy("telemetry".into(), policy),
        Action::SetPolicy("alarm".into(), QueuePolicy::default()),
        Action::CutOff("door-lock".into()),
        Action::Reconnect("door-lock".into()),
        Action::SetRate("living-temp".into(), 2.5),
        Action::AddDevice(DeviceKind::Light, "garage".into()),
        Action::RemoveDevice("garage-light".into()),
        Action::AddAutomation("climate-2".into(), Rule::Climate),
        Action::PauseAutomation("climate".into()),
        Action::ResumeAutomation("climate".into()),
        Action::RemoveAutomation("climate-2".into()),
        Action::Bind("audit".into(), "#".into()),
        Action::Bind("telemetry".into(), "home/+/door/#".into()),
        Action::RemoveConsumer(12),
        // Refused actions are journaled too: Remove with no device chosen.
        Action::RemoveDevice(String::new()),
        Action::SetRate(String::new(), 1.0),
    ]
}

#[wasm_bindgen_test(unsupported = test)]
fn settings_and_every_action_survive_the_round_trip() {
    let journal = every_action().into_iter().enumerate().map(|(i, a)| (i as u64 * 250, a)).collect();
    let s = Settings {
        scenario: "home".into(),
        seed: 42,
        speed: 2.5,
        paused: true,
        at_ms: 9_000,
        journal,
        ..Settings::default()
    };
    let hash = s.to_hash();
    assert!(
        hash.starts_with("#scenario=home&seed=42&speed=2.5&paused=1&t=9000&a=0,p,home/garage/temperature,"),
        "{hash}"
    );
    assert!(!hash[1..].contains(['"', ' ', '#', '{', '}', 'é']), "only URL-safe characters: {hash}");
    assert_eq!(Settings::from_hash(&hash), Ok(s.clone()));
    assert_eq!(Settings::from_hash(""), Ok(Settings::default()));
    let long = Settings { at_ms: 90_000_000, base_ms: 86_400_000, done: vec![true, false, true], ..s.clone() };
    let hash = long.to_hash();
    assert!(hash.contains("&t=90000000&base=86400000&done=101&a="), "{hash}");
    assert_eq!(Settings::from_hash(&hash), Ok(long));
}

#[wasm_bindgen_test(unsupported = test)]
fn bad_hashes_get_clear_errors() {
    let cases = [
        ("#seed", HashError::Malformed("seed".into())),
        ("#colour=red", HashError::UnknownKey("colour".into())),
        ("#seed=1&seed=2", HashError::Duplicate("seed".into())),
        ("#seed=-3", HashError::BadNumber { key: "seed".into(), value: "-3".into() }),
        ("#speed=50", HashError::SpeedOutOfRange(50.0)),
        ("#paused=maybe", HashError::BadFlag { key: "paused".into(), value: "maybe".into() }),
        ("#scenario=a b", HashError::BadName("a b".into())),
        ("#t=10&a=5,frob", HashError::BadAction("5,frob".into())),
        ("#t=10&a=5,x,seven", HashError::BadAction("5,x,seven".into())),
        ("#t=10&a=5,p,%ZZ,x,0", HashError::BadAction("5,p,%ZZ,x,0".into())),
        ("#t=10&a=5,o,lock;3,r,lock", HashError::OutOfOrder(3)),
        ("#t=4&a=5,o,lock", HashError::OutOfOrder(5)),
        ("#t=99999999999", HashError::TooLate(99_999_999_999)),
        ("#t=99999999999&base=99000000000", HashError::TooLate(99_999_999_999)),
        ("#t=5000&base=6000", HashError::BaseAfterEnd(6000)),
        ("#t=5000&base=1000&done=10x", HashError::BadFlag { key: "done".into(), value: "10x".into() }),
        ("#t=10&a=5,p,%+5,x,0", HashError::BadAction("5,p,%+5,x,0".into())),
    ];
    for (hash, error) in cases {
        assert_eq!(Settings::from_hash(hash), Err(error.clone()), "{hash}");
        assert!(!error.to_string().is_empty());
    }
}

/// Moves `sim` on by `ms` in animation-frame-sized steps, as the page does.
fn frames(sim: &mut Simulation, ms: u64) {
    for _ in 0..ms / 16 {
        sim.advance(16);
    }
    sim.advance(ms % 16);
}

#[wasm_bindgen_test(unsupported = test)]
fn a_link_replays_the_learners_actions_to_the_same_state() {
    let mut sim = Simulation::new(Scenario::smart_home(), 5).expect("start");
    frames(&mut sim, 2_000);
    sim.apply(Action::Publish {
        topic: "home/hall/door/lock/set".into(),
        payload: r#"{"locked":false}"#.into(),
        retain: false,
    })
    .expect("publish");
    frames(&mut sim, 1_234);
    sim.apply(Action::AddConsumer("telemetry".into())).expect("add consumer");
    let slow = ConsumerSettings { prefetch: 2, ack: AckMode::Manual, processing_ms: 3_000 };
    let worker = sim.queue("telemetry", 0).expect("telemetry").consumers[0].worker.expect("a worker");
    sim.apply(Action::SetConsumer(worker, slow)).expect("slow consumer");
    frames(&mut sim, 4_321);
    sim.apply(Action::Crash(worker)).expect("crash");
    sim.apply(Action::AddDevice(DeviceKind::Temperature, "garage".into())).expect("add a device");
    assert!(sim.apply(Action::CutOff("nobody".into())).is_err(), "a refused action is journalled too");
    frames(&mut sim, 777);
    let policy = QueuePolicy { ttl_ms: Some(1_500), dead_letter: Some(DEAD_LETTERS.into()), ..QueuePolicy::default() };
    sim.apply(Action::SetPolicy("telemetry".into(), policy)).expect("policy");
    sim.apply(Action::CutOff("hall-motion".into())).expect("cut off");
    sim.apply(Action::PauseAutomation("climate".into())).expect("pause");
    sim.apply(Action::RemoveDevice("kitchen-light".into())).expect("remove");
    frames(&mut sim, 5_555);
    sim.set_paused(true);

    let hash = sim.settings().to_hash();
    assert!(hash.len() < 600, "compact: {} bytes: {hash}", hash.len());
    let settings = Settings::from_hash(&hash).expect("the hash reads back");
    let mut copy = Simulation::from_settings(&settings).expect("the link builds");
    assert_eq!(copy.snapshot(), sim.snapshot(), "the same state, log included");
    assert_eq!(copy.journal(), sim.journal());
    assert_eq!(copy.facts(), sim.facts());
    assert!(copy.devices().iter().any(|d| d.id == "garage-temperature" && d.online));
    // And they stay together.
    frames(&mut sim, 3_000);
    copy.advance(3_000);
    assert_eq!(copy.snapshot(), sim.snapshot());
    let unknown = Settings { scenario: "office".into(), ..Settings::default() };
    assert!(Simulation::from_settings(&unknown).is_err());
}
