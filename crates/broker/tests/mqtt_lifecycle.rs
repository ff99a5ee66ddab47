//! MQTT 5 connection lifecycle through the real `hearth` binary with raw
//! clients: Server Keep Alive, will delay (published late, or not at all if
//! the client comes back in time) and Response Information.

mod common;

use bytes::Bytes;
use common::Broker;
use common::mqtt::{Raw, connect};
use mqtt_codec::{ConnAck, Connect, Packet, ProtocolVersion, QoS, ReasonCode, Will};
use std::time::{Duration, Instant};

const V5: ProtocolVersion = ProtocolVersion::V5;
const V311: ProtocolVersion = ProtocolVersion::V311;

async fn connack(raw: &mut Raw) -> ConnAck {
    match raw.recv().await {
        Some(Packet::ConnAck(a)) => a,
        other => panic!("expected CONNACK, got {other:?}"),
    }
}

#[tokio::test]
async fn server_keep_alive_caps_the_client_s_and_is_enforced() {
    let broker = Broker::start_with(&["--mqtt-max-keep-alive", "1"]).await;
    // Asking for none (0) or for more than the maximum: given the maximum.
    for asked in [0, 60] {
        let mut raw = broker.raw_mqtt(connect(V5, &format!("ka{asked}"), asked)).await;
        assert_eq!(connack(&mut raw).await.properties.server_keep_alive, Some(1), "asked {asked}");
    }
    // Within the maximum: the client's own, nothing announced.
    let mut fine = broker.raw_mqtt(connect(V5, "fine", 1)).await;
    assert_eq!(connack(&mut fine).await.properties.server_keep_alive, None);
    // 3.1.1 cannot be told: it keeps its own.
    let mut old = broker.raw_mqtt(connect(V311, "old", 0)).await;
    assert_eq!(connack(&mut old).await.reason, ReasonCode::Success);

    let mut silent = broker.raw_mqtt(connect(V5, "silent", 0)).await;
    assert_eq!(connack(&mut silent).await.properties.server_keep_alive, Some(1));
    let started = Instant::now();
    assert!(matches!(silent.recv().await, Some(Packet::Disconnect(d)) if d.reason == ReasonCode::KeepAliveTimeout));
    assert!(started.elapsed() < Duration::from_secs(3), "cut after 1.5 × the server keep-alive");
}

/// A persistent MQTT 5 CONNECT with a will on `status/ID` delayed by `delay` s.
fn with_will(id: &str, delay: u32) -> Connect {
    let mut c = connect(V5, id, 0);
    c.clean_start = false;
    c.properties.session_expiry_interval = Some(60);
    let mut will = Will {
        topic: format!("status/{id}"),
        payload: Bytes::from_static(b"offline"),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Default::default(),
    };
    will.properties.will_delay_interval = Some(delay);
    c.will = Some(will);
    c
}

async fn watcher(broker: &Broker) -> Raw {
    let mut raw = broker.raw_mqtt(connect(V5, "watcher", 0)).await;
    connack(&mut raw).await;
    let subscription = mqtt_codec::Subscription { filter: "status/#".into(), options: Default::default() };
    let subscribe =
        mqtt_codec::Subscribe { packet_id: 1, subscriptions: vec![subscription], properties: Default::default() };
    raw.send(&Packet::Subscribe(subscribe)).await;
    assert!(matches!(raw.recv().await, Some(Packet::SubAck(_))));
    raw
}

#[tokio::test]
async fn a_delayed_will_is_published_after_its_delay() {
    let broker = Broker::start().await;
    let mut watcher = watcher(&broker).await;
    let mut device = broker.raw_mqtt(with_will("plug", 1)).await;
    connack(&mut device).await;
    let lost = Instant::now();
    drop(device); // abrupt: no DISCONNECT
    match watcher.recv().await {
        Some(Packet::Publish(p)) => assert_eq!((&*p.topic, &p.payload[..]), ("status/plug", &b"offline"[..])),
        other => panic!("expected the will, got {other:?}"),
    }
    assert!(lost.elapsed() >= Duration::from_millis(900), "not before the delay: {:?}", lost.elapsed());
}

#[tokio::test]
async fn a_delayed_will_is_not_published_if_the_client_comes_back_in_time() {
    let broker = Broker::start().await;
    let mut watcher = watcher(&broker).await;
    let mut device = broker.raw_mqtt(with_will("sensor", 1)).await;
    connack(&mut device).await;
    drop(device);
    broker.wait_for_queue("mqtt.sensor", Some(0)).await;
    let mut back = broker.raw_mqtt(with_will("sensor", 30)).await;
    assert!(connack(&mut back).await.session_present);
    let quiet = tokio::time::timeout(Duration::from_millis(1800), watcher.recv()).await;
    assert!(quiet.is_err(), "no will: the client came back within its delay, got {quiet:?}");
}

#[tokio::test]
async fn response_information_is_given_when_requested() {
    let broker = Broker::start().await;
    let mut c = connect(V5, "asker", 0);
    c.properties.request_response_information = Some(true);
    let mut raw = broker.raw_mqtt(c).await;
    assert_eq!(connack(&mut raw).await.properties.response_information.as_deref(), Some("reply/asker"));
    let mut plain = broker.raw_mqtt(connect(V5, "plain", 0)).await;
    assert_eq!(connack(&mut plain).await.properties.response_information, None);
}
