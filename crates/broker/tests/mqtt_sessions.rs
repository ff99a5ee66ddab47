//! MQTT persistent sessions through the real `hearth` binary: messages
//! queue while a client is away and reach it when it comes back (unacked
//! ones again, marked DUP), CONNACK's session-present flag, clean start,
//! and session expiry.

mod common;

use common::Broker;
use common::mqtt::{Raw, connect};
use mqtt_codec::{
    ConnAck, Disconnect, Packet, ProtocolVersion, Publish, QoS, ReasonCode, Subscribe, Subscription,
    SubscriptionOptions,
};
use std::time::Duration;

const V5: ProtocolVersion = ProtocolVersion::V5;
const V311: ProtocolVersion = ProtocolVersion::V311;

async fn connack(raw: &mut Raw) -> ConnAck {
    match raw.recv().await {
        Some(Packet::ConnAck(connack)) => connack,
        other => panic!("expected CONNACK, got {other:?}"),
    }
}

async fn publish(raw: &mut Raw) -> Publish {
    match raw.recv().await {
        Some(Packet::Publish(publish)) => publish,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

/// Connects a raw client: `clean` start, `expiry` seconds (MQTT 5); returns it and session-present.
async fn open(broker: &Broker, version: ProtocolVersion, id: &str, clean: bool, expiry: Option<u32>) -> (Raw, bool) {
    let mut c = connect(version, id, 0);
    c.clean_start = clean;
    c.properties.session_expiry_interval = expiry;
    let mut raw = broker.raw_mqtt(c).await;
    let ack = connack(&mut raw).await;
    assert_eq!(ack.reason, ReasonCode::Success);
    (raw, ack.session_present)
}

async fn subscribe(raw: &mut Raw, filter: &str) {
    let options = SubscriptionOptions { qos: QoS::AtLeastOnce, ..SubscriptionOptions::default() };
    let subscription = Subscription { filter: filter.into(), options };
    let subscribe = Subscribe { packet_id: 1, subscriptions: vec![subscription], properties: Default::default() };
    raw.send(&Packet::Subscribe(subscribe)).await;
    assert!(matches!(raw.recv().await, Some(Packet::SubAck(_))));
}

async fn goodbye(mut raw: Raw) {
    raw.send(&Packet::Disconnect(Disconnect { reason: ReasonCode::Success, properties: Default::default() })).await;
    assert_eq!(raw.recv().await, None);
}

#[tokio::test]
async fn a_persistent_mosquitto_sub_catches_up_on_what_was_published_while_away_in_3_1_1_and_5() {
    let broker = Broker::start().await;
    for version in ["mqttv311", "mqttv5"] {
        let id = format!("thermostat-{version}");
        let args = ["-V", version, "-c", "-i", &id, "-q", "1", "-t", "away/#"];
        let mut sub = broker.mosquitto_sub(&args).await;
        sub.child.start_kill().expect("mosquitto_sub can be killed");
        let queue = format!("mqtt.{id}");
        broker.wait_for_queue(&queue, Some(0)).await;
        for i in 0..5 {
            broker.mosquitto_pub(&["-V", version, "-q", "1", "-t", "away/x", "-m", &format!("m{i}")]).await;
        }
        assert_eq!(broker.queue_stats(&queue).await["ready"], 5, "{version}: queued while away");
        let mut back = broker.mosquitto_sub_resume(&args).await;
        let expected: Vec<String> = (0..5).map(|i| format!("away/x m{i}")).collect();
        assert_eq!(back.take(5).await, expected, "{version}");
        back.expect_silence("each message once").await;
    }
}

#[tokio::test]
async fn session_present_is_set_only_when_a_session_is_resumed_and_clean_start_discards_it() {
    let broker = Broker::start().await;
    for version in [V311, V5] {
        let expiry = (version == V5).then_some(600);
        let (mut raw, present) = open(&broker, version, "lamp", false, expiry).await;
        assert!(!present, "{version:?}: first connection");
        subscribe(&mut raw, "lamp/cmd").await;
        goodbye(raw).await;
        broker.mosquitto_pub(&["-q", "1", "-t", "lamp/cmd", "-m", "on"]).await;

        let (mut raw, present) = open(&broker, version, "lamp", false, expiry).await;
        assert!(present, "{version:?}: resumed");
        assert_eq!(&publish(&mut raw).await.payload[..], b"on", "the subscription was remembered");
        drop(raw);

        let (raw, present) = open(&broker, version, "lamp", true, None).await;
        assert!(!present, "{version:?}: clean start");
        goodbye(raw).await;
        broker.wait_for_queue("mqtt.lamp", None).await;
    }
}

#[tokio::test]
async fn unacked_deliveries_come_again_marked_dup_after_a_reconnect() {
    let broker = Broker::start().await;
    let (mut raw, _) = open(&broker, V311, "siren", false, None).await;
    subscribe(&mut raw, "alarm/#").await;
    broker.mosquitto_pub(&["-q", "1", "-t", "alarm/on", "-m", "loud"]).await;
    let first = publish(&mut raw).await;
    assert!(!first.dup);
    drop(raw); // no PUBACK
    broker.wait_for_queue("mqtt.siren", Some(0)).await;
    let (mut raw, present) = open(&broker, V311, "siren", false, None).await;
    assert!(present);
    let again = publish(&mut raw).await;
    assert_eq!((again.dup, &again.payload[..], again.qos), (true, &b"loud"[..], QoS::AtLeastOnce));
}

#[tokio::test]
async fn a_session_expires_after_its_interval_and_is_not_present_after() {
    let broker = Broker::start().await;
    let (mut raw, _) = open(&broker, V5, "blind", false, Some(1)).await;
    subscribe(&mut raw, "blind/#").await;
    goodbye(raw).await;
    broker.mosquitto_pub(&["-q", "1", "-t", "blind/up", "-m", "x"]).await;
    assert_eq!(broker.queue_stats("mqtt.blind").await["ready"], 1, "kept within the interval");
    tokio::time::sleep(Duration::from_millis(1100)).await;
    broker.wait_for_queue("mqtt.blind", None).await;
    let (_raw, present) = open(&broker, V5, "blind", false, Some(1)).await;
    assert!(!present, "the session expired");
}
