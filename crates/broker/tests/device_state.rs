//! Device state through the real broker: retained messages replayed on
//! subscribe, and last wills published when a device drops off.

mod common;

use common::{Broker, payload};
use serde_json::json;

#[tokio::test]
async fn a_new_subscriber_first_receives_the_retained_state_of_matching_topics() {
    let broker = Broker::start().await;
    let mut lock = broker.connect().await;
    let confirm = lock.publish(json!({"topic": "home/hall/door/lock/state", "retain": true}), "locked").await;
    assert_eq!((&confirm["type"], &confirm["routed"]), (&json!("confirm"), &json!(0)), "{confirm}");

    let mut watcher = broker.connect().await;
    watcher.subscribe_topic("home/#").await;
    let replay = watcher.expect_type("deliver").await;
    assert_eq!((replay["topic"].as_str(), payload(&replay)), (Some("home/hall/door/lock/state"), "locked"));
    assert_eq!(replay["retained"], true, "{replay}");
    assert!(replay.get("tag").is_none(), "a replay is not acked: {replay}");

    lock.publish(json!({"topic": "home/hall/door/lock/state", "retain": true}), "unlocked").await;
    let live = watcher.expect_type("deliver").await;
    assert_eq!(payload(&live), "unlocked");
    assert!(live.get("retained").is_none(), "a live message is not a replay: {live}");
}

#[tokio::test]
async fn a_device_that_drops_off_abruptly_has_its_last_will_published() {
    let broker = Broker::start().await;
    let mut watcher = broker.connect().await;
    watcher.subscribe_topic("home/+/status").await;
    let mut door = broker.connect().await;
    let will = json!({"topic": "home/door/status", "payload": "offline"});
    door.hello(json!({"client_id": "door", "will": will})).await;

    door.kill();
    let got = watcher.expect_type("deliver").await;
    assert_eq!((got["topic"].as_str(), payload(&got)), (Some("home/door/status"), "offline"));
}

#[tokio::test]
async fn a_device_that_says_bye_does_not_have_its_last_will_published() {
    let broker = Broker::start().await;
    let mut watcher = broker.connect().await;
    watcher.subscribe_topic("home/+/status").await;
    let mut lamp = broker.connect().await;
    lamp.hello(json!({"client_id": "lamp", "will": {"topic": "home/lamp/status", "payload": "offline"}})).await;

    lamp.send(json!({"type": "bye"})).await;
    lamp.expect_closed().await;
    broker.wait_for_connections(1).await; // the broker has finished with the lamp

    let mut other = broker.connect().await;
    other.publish(json!({"topic": "home/marker/status"}), "marker").await;
    let next = watcher.expect_type("deliver").await;
    assert_eq!(payload(&next), "marker", "the lamp's will must not be published: {next}");
    watcher.expect_silence("no will after bye").await;
}

/// The native protocol's delayed will (`delay_ms`, as MQTT 5's will delay):
/// a device that drops off and comes back within the delay is not reported
/// offline; one that stays away is, once the delay has passed.
#[tokio::test]
async fn a_delayed_will_is_published_after_its_delay_unless_the_device_is_back() {
    let broker = Broker::start().await;
    let mut watcher = broker.connect().await;
    watcher.subscribe_topic("home/+/status").await;
    let will = |room: &str| json!({"topic": format!("home/{room}/status"), "payload": "offline", "delay_ms": 800});

    let mut flaky = broker.connect().await;
    flaky.hello(json!({"client_id": "flaky", "will": will("flaky")})).await;
    let mut gone = broker.connect().await;
    gone.hello(json!({"client_id": "gone", "will": will("gone")})).await;
    flaky.kill();
    gone.kill();
    let lost = std::time::Instant::now();
    broker.wait_for_connections(1).await;
    let mut back = broker.connect().await;
    back.hello(json!({"client_id": "flaky"})).await;

    let got = watcher.expect_type("deliver").await;
    assert_eq!((got["topic"].as_str(), payload(&got)), (Some("home/gone/status"), "offline"));
    assert!(lost.elapsed() >= std::time::Duration::from_millis(750), "not before its delay: {:?}", lost.elapsed());
    watcher.expect_silence("the device that came back is not reported offline").await;
}
