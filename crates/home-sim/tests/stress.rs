//! Load: 200 devices publishing 2,000 messages per simulated second in all.
//! No timed assertions: the wall-clock cost is printed (run with
//! `cargo test -p home-sim --release --test stress -- --nocapture`), and the
//! engine's conservation law is checked: every copy that entered the queue
//! is ready, unacked, acked or gone (dropped, expired, dead-lettered).

use home_sim::{Scenario, Simulation};
use wasm_bindgen_test::wasm_bindgen_test;

const SECONDS: u64 = 5;

#[wasm_bindgen_test(unsupported = test)]
fn two_hundred_devices_at_two_thousand_messages_per_second() {
    let mut sim = Simulation::new(Scenario::stress(200, 2000.0), 1).expect("the stress scenario starts");
    #[cfg(not(target_arch = "wasm32"))]
    let started = std::time::Instant::now();
    for _ in 0..SECONDS * 60 {
        sim.step(1000.0 / 60.0); // one simulated second = 60 frames at 1×
    }
    #[cfg(not(target_arch = "wasm32"))]
    println!(
        "stress 200 devices × 2000 msg/s: {:.1} ms of wall time per simulated second",
        started.elapsed().as_secs_f64() * 1000.0 / SECONDS as f64
    );
    let stats = sim.stats();
    let c = stats.counters;
    let telemetry = stats.queues.iter().find(|q| q.name == "telemetry").expect("telemetry queue");
    let q = telemetry.counters;
    let per_second = q.enqueued / SECONDS;
    assert!((1800..=2200).contains(&per_second), "{per_second} telemetry messages per second");
    assert_eq!(q.enqueued, telemetry.ready + telemetry.unacked + q.acked + q.dropped + q.expired + q.dead_lettered);
    assert_eq!(c.published, c.routed + c.unroutable, "each stress publish reaches at most one queue");
    assert!(telemetry.ready < 200, "four consumers keep up: {} ready", telemetry.ready);
    assert_eq!(sim.devices().iter().filter(|d| d.online).count(), 200);
    assert!(sim.log().entries().count() <= home_sim::log::LOG_CAPACITY);
    assert!(sim.flights().list().len() <= home_sim::flights::MAX_FLIGHTS);
}
