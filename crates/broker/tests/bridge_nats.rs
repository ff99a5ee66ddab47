//! A bridge to `nats-server` through its MQTT listener (JetStream on):
//! NATS speaks MQTT 3.1.1 at QoS 0 and 1, so the bridge does too, with
//! separate `out` and `in` rules (3.1.1 has no no-local for `both`).

mod bridge_support;
mod common;

use bridge_support::{Nats, Sub, bridge_table, connected, hearth_with, publish};

#[tokio::test]
async fn out_and_in_with_prefixes_and_retained_state_through_nats_mqtt() {
    let nats = Nats::start().await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rules = ["home/# out 1 \"\" site1/", "cmd/# in 1 home/ site1/"];
    let extra = "protocol_version = \"mqttv311\"";
    let hearth = hearth_with(dir.path(), &bridge_table("nats", nats.mqtt_port, &rules, extra)).await;
    connected(&hearth, "nats").await;
    let local = hearth.mqtt.port();

    let mut far = Sub::start(nats.mqtt_port, &["-t", "site1/home/#", "-q", "1"], true).await;
    for n in 1..=20 {
        publish(local, &["-t", "home/hall/temp", "-m", &n.to_string(), "-q", "1"]).await;
    }
    let mut all = Vec::new();
    while all.len() < 20 {
        all.push(far.next().await);
    }
    let expected: Vec<String> = (1..=20).map(|n| format!("site1/home/hall/temp {n}")).collect();
    assert_eq!(all, expected, "in order, once each");

    let mut near = Sub::start(local, &["-t", "home/cmd/#", "-q", "1"], true).await;
    publish(nats.mqtt_port, &["-t", "site1/cmd/light", "-m", "on", "-q", "1"]).await;
    assert_eq!(near.next().await, "home/cmd/light on");

    // Retained state kept by NATS (in JetStream) for a later subscriber.
    publish(local, &["-t", "home/hall/door", "-m", "locked", "-q", "1", "-r"]).await;
    assert_eq!(far.next().await, "site1/home/hall/door locked");
    let mut late = Sub::start(nats.mqtt_port, &["-t", "site1/home/hall/door", "-W", "3"], false).await;
    assert_eq!(late.next().await, "site1/home/hall/door locked");
}
