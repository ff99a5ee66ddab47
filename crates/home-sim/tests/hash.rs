//! URL-hash settings: round trips, errors, and a link reproducing a simulation.
//! Runs natively and as wasm under Node.

use home_sim::hash::{HashError, Settings};
use home_sim::{DEAD_LETTERS, Overflow, QueuePolicy, Scenario, Simulation};
use wasm_bindgen_test::wasm_bindgen_test;

#[wasm_bindgen_test(unsupported = test)]
fn settings_survive_the_round_trip() {
    let mut s = Settings { scenario: "home".into(), seed: 42, speed: 2.5, paused: true, ..Settings::default() };
    s.device_rates.insert("hall-motion".into(), 0.3);
    s.automations.insert("climate".into(), false);
    let policy = QueuePolicy {
        max_length: Some(10),
        overflow: Overflow::RejectPublish,
        ttl_ms: Some(5000),
        dead_letter: Some(DEAD_LETTERS.into()),
    };
    s.queue_policies.insert("telemetry".into(), policy);
    s.queue_policies.insert("alarm".into(), QueuePolicy::default());
    let hash = s.to_hash();
    assert!(hash.starts_with("#scenario=home&seed=42&speed=2.5&paused=1"), "{hash}");
    assert_eq!(Settings::from_hash(&hash), Ok(s));
    assert_eq!(Settings::from_hash(""), Ok(Settings::default()));
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
        ("#overflow.q=explode", HashError::BadOverflow("explode".into())),
        ("#rate.a b=1", HashError::BadName("a b".into())),
        ("#frob.q=1", HashError::UnknownKey("frob.q".into())),
    ];
    for (hash, error) in cases {
        assert_eq!(Settings::from_hash(hash), Err(error.clone()), "{hash}");
        assert!(!error.to_string().is_empty());
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn a_link_reproduces_the_simulation() {
    let mut sim = Simulation::new(Scenario::smart_home(), 5).expect("start");
    sim.set_device_rate("living-temp", 3.0).expect("rate");
    sim.pause_automation("motion-siren").expect("pause");
    let policy = QueuePolicy { ttl_ms: Some(2_000), dead_letter: Some(DEAD_LETTERS.into()), ..QueuePolicy::default() };
    sim.set_queue_policy("telemetry", policy).expect("policy");
    sim.set_speed(4.0).expect("speed");
    let hash = sim.settings().to_hash();
    let settings = Settings::from_hash(&hash).expect("the hash reads back");
    assert_eq!(settings, sim.settings());
    let mut copy = Simulation::from_settings(&settings).expect("the link builds");
    assert_eq!(copy.settings(), sim.settings());
    sim.advance(10_000);
    copy.advance(10_000);
    assert_eq!(copy.stats(), sim.stats());
    let unknown = Settings { scenario: "office".into(), ..Settings::default() };
    assert!(Simulation::from_settings(&unknown).is_err());
}
