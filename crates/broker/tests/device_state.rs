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
