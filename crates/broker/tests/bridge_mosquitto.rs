//! Bridges against a real remote broker: Debian's `mosquitto` on a loopback
//! port, a real `hearth` bridging to it, and Mosquitto's own clients on
//! both sides.

mod bridge_support;
mod common;

use bridge_support::{Mosquitto, Sub, bridge_table, connected, hearth_with, publish, wait_bridge};

/// Out, in and both, with prefixes, QoS 0 and 1, retained state both ways,
/// and no message sent back where it came from.
#[tokio::test]
async fn out_in_and_both_with_prefixes_qos_and_retained_state() {
    let remote = Mosquitto::start("").await;
    let dir = tempfile::tempdir().expect("a temporary directory");
    let rules =
        ["sensors/# out 1 home/ site1/", "cmd/# in 1 home/ site1/", "chat/# both 1 home/ site1/", "raw/# out 0"];
    let hearth = hearth_with(dir.path(), &bridge_table("cloud", remote.port, &rules, "")).await;
    connected(&hearth, "cloud").await;
    let local = hearth.mqtt.port();

    // Out at QoS 1 and 0, the local prefix swapped for the remote one.
    let mut far = Sub::start(remote.port, &["-t", "site1/#", "-t", "raw/#", "-q", "1"], true).await;
    publish(local, &["-t", "home/sensors/hall", "-m", "21.5", "-q", "1"]).await;
    assert_eq!(far.next().await, "site1/sensors/hall 21.5");
    publish(local, &["-t", "raw/x", "-m", "zero"]).await;
    assert_eq!(far.next().await, "raw/x zero");
    // Nothing outside the rules crosses.
    publish(local, &["-t", "home/other", "-m", "private", "-q", "1"]).await;

    // In: the remote prefix swapped for the local one.
    let mut near = Sub::start(local, &["-t", "home/#", "-q", "1"], true).await;
    publish(remote.port, &["-t", "site1/cmd/light", "-m", "on", "-q", "1"]).await;
    assert_eq!(near.next().await, "home/cmd/light on");

    // Both ways, once each: MQTT 5 no-local on the remote, the bridge's mark here.
    publish(local, &["-t", "home/chat/a", "-m", "hi", "-q", "1"]).await;
    publish(remote.port, &["-t", "site1/chat/b", "-m", "yo", "-q", "1"]).await;
    let mut far_lines = far.drain().await;
    let mut near_lines = near.drain().await;
    far_lines.sort();
    near_lines.sort();
    // (site1/cmd/light is the remote's own, published above.)
    let once = ["site1/chat/a hi", "site1/chat/b yo", "site1/cmd/light on"];
    assert_eq!(far_lines, once, "each once at the remote, home/other not at all");
    assert_eq!(near_lines, ["home/chat/a hi", "home/chat/b yo"], "each once here");
    let status = wait_bridge(&hearth, "cloud", "the loop stopped", |b| b["loops_stopped"].as_u64() >= Some(1)).await;
    assert_eq!(status["received"], 2, "{status}");
    assert!(status["sent"].as_u64() >= Some(3), "{status}");

    // Retained state, both ways, reaches subscribers that come later.
    publish(local, &["-t", "home/sensors/state", "-m", "armed", "-q", "1", "-r"]).await;
    publish(remote.port, &["-t", "site1/cmd/mode", "-m", "away", "-q", "1", "-r"]).await;
    common::within("retained state at both ends", async {
        loop {
            let mut late_far = Sub::start(remote.port, &["-t", "site1/sensors/state", "-W", "1"], false).await;
            let mut late_near = Sub::start(local, &["-t", "home/cmd/mode", "-W", "1"], false).await;
            let (far, near) = (late_far.drain().await, late_near.drain().await);
            if far == ["site1/sensors/state armed"] && near == ["home/cmd/mode away"] {
                return;
            }
        }
    })
    .await;

    // The link's state, retained here as Mosquitto's notifications are.
    let mut state = Sub::start(local, &["-t", "$SYS/broker/connection/cloud/state"], false).await;
    assert_eq!(state.next().await, "$SYS/broker/connection/cloud/state 1");
    let metrics = hearth.get("/metrics").await.1;
    assert!(metrics.contains("hearth_bridge_up{bridge=\"cloud\"} 1"), "{metrics}");
}
