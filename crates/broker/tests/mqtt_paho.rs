//! MQTT through the real `hearth` binary, driven by Eclipse paho-mqtt
//! (Python; `cargo xtask test` installs it with pip when missing): QoS
//! 0/1/2 round trips, retained state (with its MQTT 5 properties), wills (and MQTT 5 will properties),
//! persistent session catch-up, shared subscriptions, topic aliases both
//! ways and subscription identifiers, in `tests/paho/check.py`.

mod common;

use common::Broker;
use std::time::Duration;
use tokio::process::Command;

/// Bound on the whole script (each of its own waits is bounded at 10 s).
const SCRIPT_WAIT: Duration = Duration::from_secs(90);

#[tokio::test]
async fn paho_mqtt_round_trips_retained_will_persistent_session_shared_subscription_aliases_and_ids() {
    let broker = Broker::start().await;
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/paho/check.py");
    let run = Command::new("python3").arg(script).arg(broker.mqtt.port().to_string()).kill_on_drop(true).output();
    let out =
        tokio::time::timeout(SCRIPT_WAIT, run).await.expect("the paho checks finish in time").expect("python3 runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        !stderr.contains("No module named 'paho'"),
        "paho-mqtt is missing: `cargo xtask test` installs it, or: python3 -m pip install paho-mqtt"
    );
    assert!(out.status.success(), "paho checks failed:\n{stdout}\n{stderr}");
    assert_eq!(stdout.lines().filter(|l| l.starts_with("ok ")).count(), 9, "{stdout}");
}
