//! MQTT through the real `hearth` binary, driven by Debian's
//! `mosquitto_pub` and `mosquitto_sub`: QoS 0 and 1 round trips in both
//! protocol versions, retained state, wills, and MQTT meeting the native
//! WebSocket protocol in the same engine.

mod common;

use common::{Broker, payload};
use serde_json::json;

#[tokio::test]
async fn qos0_messages_round_trip_between_mosquitto_clients_in_3_1_1_and_5() {
    let broker = Broker::start().await;
    for version in ["mqttv311", "mqttv5"] {
        let mut sub = broker.mosquitto_sub(&["-V", version, "-t", "home/+/temp"]).await;
        broker.mosquitto_pub(&["-V", version, "-t", "home/kitchen/temp", "-m", "21.5"]).await;
        broker.mosquitto_pub(&["-V", version, "-t", "home/hall/light", "-m", "on"]).await;
        broker.mosquitto_pub(&["-V", version, "-t", "home/hall/temp", "-m", "19"]).await;
        assert_eq!(sub.take(2).await, ["home/kitchen/temp 21.5", "home/hall/temp 19"], "{version}");
        sub.expect_silence("home/hall/light does not match home/+/temp").await;
    }
}

#[tokio::test]
async fn qos1_messages_round_trip_in_order_in_3_1_1_and_5() {
    let broker = Broker::start().await;
    for version in ["mqttv311", "mqttv5"] {
        let mut sub = broker.mosquitto_sub(&["-V", version, "-q", "1", "-t", "jobs/#"]).await;
        for i in 0..20 {
            broker.mosquitto_pub(&["-V", version, "-q", "1", "-t", "jobs/a", "-m", &format!("m{i}")]).await;
        }
        let expected: Vec<String> = (0..20).map(|i| format!("jobs/a m{i}")).collect();
        assert_eq!(sub.take(20).await, expected, "{version}");
    }
    // Every QoS 1 delivery was PUBACKed and so acked in the engine.
    let stats = broker.get_json("/api/overview").await;
    assert_eq!(stats["counters"]["delivered"], stats["counters"]["acked"], "{stats}");
}

#[tokio::test]
async fn a_retained_message_reaches_later_subscribers_until_an_empty_payload_clears_it() {
    let broker = Broker::start().await;
    broker.mosquitto_pub(&["-t", "home/hall/door/lock", "-m", "locked", "-r", "-q", "1"]).await;

    let mut late = broker.mosquitto_sub(&["-t", "home/hall/#"]).await;
    assert_eq!(late.next().await, "home/hall/door/lock locked");
    let mut v5 = broker.mosquitto_sub(&["-V", "mqttv5", "-t", "home/+/door/lock"]).await;
    assert_eq!(v5.next().await, "home/hall/door/lock locked");

    broker.mosquitto_pub(&["-t", "home/hall/door/lock", "-m", "", "-r"]).await;
    assert_eq!(late.next().await, "home/hall/door/lock (null)", "the clearing publish itself is delivered live");
    let mut after = broker.mosquitto_sub(&["-t", "home/#"]).await;
    after.expect_silence("an empty retained publish cleared the topic").await;
}

#[tokio::test]
async fn a_will_is_published_when_a_client_is_lost_but_not_after_a_clean_disconnect() {
    let broker = Broker::start().await;
    let mut watcher = broker.mosquitto_sub(&["-t", "devices/+/status"]).await;

    let will = ["--will-topic", "devices/lamp/status", "--will-payload", "offline", "-t", "devices/lamp/cmd"];
    let mut lamp = broker.mosquitto_sub(&will).await;
    lamp.child.start_kill().expect("the lamp can be killed");
    assert_eq!(watcher.next().await, "devices/lamp/status offline");

    // A clean goodbye: `-C 1` makes mosquitto_sub DISCONNECT after one message.
    let will = ["--will-topic", "devices/fan/status", "--will-payload", "offline", "-t", "devices/fan/cmd", "-C", "1"];
    let mut fan = broker.mosquitto_sub(&will).await;
    broker.mosquitto_pub(&["-t", "devices/fan/cmd", "-m", "spin"]).await;
    assert_eq!(fan.next().await, "devices/fan/cmd spin");
    watcher.expect_silence("a clean DISCONNECT discards the will").await;
}

#[tokio::test]
async fn mqtt_and_websocket_clients_meet_in_the_same_engine() {
    let broker = Broker::start().await;
    let mut ws = broker.connect().await;
    ws.subscribe_topic("home/+/temp").await;
    let mut sub = broker.mosquitto_sub(&["-V", "mqttv5", "-q", "1", "-t", "home/#"]).await;

    broker.mosquitto_pub(&["-q", "1", "-t", "home/kitchen/temp", "-m", "from mqtt"]).await;
    let delivery = ws.expect_type("deliver").await;
    assert_eq!((delivery["topic"].as_str(), payload(&delivery)), (Some("home/kitchen/temp"), "from mqtt"));
    assert_eq!(delivery["headers"]["x-mqtt-publish-qos"], "1");
    assert_eq!(sub.next().await, "home/kitchen/temp from mqtt");

    ws.publish(json!({"topic": "home/hall/temp"}), "from websocket").await;
    assert_eq!(sub.next().await, "home/hall/temp from websocket");
}

#[tokio::test]
async fn dollar_topics_are_not_matched_by_leading_wildcards() {
    let broker = Broker::start().await;
    let mut all = broker.mosquitto_sub(&["-t", "#"]).await;
    let mut sys = broker.mosquitto_sub(&["-t", "$SYS/#"]).await;
    broker.mosquitto_pub(&["-t", "$SYS/uptime", "-m", "42"]).await;
    assert_eq!(sys.next().await, "$SYS/uptime 42");
    all.expect_silence("`#` does not match topics starting with `$`").await;
}

#[tokio::test]
async fn qos2_messages_round_trip_exactly_once_in_3_1_1_and_5() {
    let broker = Broker::start().await;
    for version in ["mqttv311", "mqttv5"] {
        let mut sub = broker.mosquitto_sub(&["-V", version, "-q", "2", "-t", "alarm/#"]).await;
        for i in 0..5 {
            broker.mosquitto_pub(&["-V", version, "-q", "2", "-t", "alarm/siren", "-m", &format!("m{i}")]).await;
        }
        let expected: Vec<String> = (0..5).map(|i| format!("alarm/siren m{i}")).collect();
        assert_eq!(sub.take(5).await, expected, "{version}");
        sub.expect_silence("each QoS 2 message arrives once").await;
    }
    let stats = broker.get_json("/api/overview").await;
    assert_eq!(stats["counters"]["delivered"], stats["counters"]["acked"], "PUBCOMP acks each delivery: {stats}");
}
