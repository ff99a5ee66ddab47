//! QoS 2 across a bridge, both ways, against Debian's `mosquitto` as the
//! remote: a `2` rule sends and subscribes at QoS 2 (PUBREC, PUBREL,
//! PUBCOMP on the remote link), over MQTT 5 and 3.1.1.

mod bridge_support;
mod common;

use bridge_support::{Mosquitto, Sub, bridge_table, connected, hearth_with, publish};

async fn qos2_both_ways(version: &str) {
    let remote = Mosquitto::start("").await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let extra = format!("protocol_version = \"{version}\"");
    let rules = ["up/# out 2", "down/# in 2"];
    let hearth = hearth_with(dir.path(), &bridge_table("cloud", remote.port, &rules, &extra)).await;
    connected(&hearth, "cloud").await;
    let local = hearth.mqtt.port();

    // Out: published here at QoS 2, received at the remote at QoS 2.
    let mut far = Sub::start(remote.port, &["-t", "up/#", "-q", "2", "-V", "5"], true).await;
    publish(local, &["-t", "up/a", "-m", "exactly", "-q", "2"]).await;
    let line = far.line_with("received PUBLISH").await;
    assert!(line.contains("q2") && line.contains("'up/a'"), "at the remote: {line}");

    // In: published at the remote at QoS 2, received here at QoS 2.
    let mut near = Sub::start(local, &["-t", "down/#", "-q", "2"], true).await;
    publish(remote.port, &["-t", "down/b", "-m", "once", "-q", "2"]).await;
    let line = near.line_with("received PUBLISH").await;
    assert!(line.contains("q2") && line.contains("'down/b'"), "here: {line}");
    let view = bridge_support::wait_bridge(&hearth, "cloud", "one sent, one received", |b| {
        b["sent"] == 1 && b["received"] == 1 && b["backlog"] == 0
    })
    .await;
    assert_eq!(view["state"], "connected", "{view}");
}

#[tokio::test]
async fn qos2_rules_carry_qos2_both_ways_over_mqtt5() {
    qos2_both_ways("mqttv50").await;
}

#[tokio::test]
async fn qos2_rules_carry_qos2_both_ways_over_mqtt311() {
    qos2_both_ways("mqttv311").await;
}
