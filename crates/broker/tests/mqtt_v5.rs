//! MQTT 5 extras through the real `hearth` binary with raw clients: PUBLISH
//! properties carried end to end (and seen as headers by native clients),
//! message expiry, no-local and retain-as-published.

mod common;

use bytes::Bytes;
use common::Broker;
use common::mqtt::{Raw, connect};
use mqtt_codec::{Packet, PayloadFormat, ProtocolVersion, Publish, QoS, ReasonCode, Subscribe, Subscription, SubscriptionOptions};

const V5: ProtocolVersion = ProtocolVersion::V5;

async fn open(broker: &Broker, id: &str) -> Raw {
    let mut raw = broker.raw_mqtt(connect(V5, id, 0)).await;
    assert!(matches!(raw.recv().await, Some(Packet::ConnAck(a)) if a.reason == ReasonCode::Success));
    raw
}

async fn subscribe(raw: &mut Raw, filter: &str, options: SubscriptionOptions) {
    let subscription = Subscription { filter: filter.into(), options };
    raw.send(&Packet::Subscribe(Subscribe { packet_id: 1, subscriptions: vec![subscription], properties: Default::default() })).await;
    assert!(matches!(raw.recv().await, Some(Packet::SubAck(_))));
}

fn publish(topic: &str, payload: &'static str, retain: bool) -> Publish {
    Publish {
        dup: false,
        qos: QoS::AtMostOnce,
        retain,
        topic: topic.into(),
        packet_id: 0,
        payload: Bytes::from_static(payload.as_bytes()),
        properties: Default::default(),
    }
}

async fn received(raw: &mut Raw) -> Publish {
    match raw.recv().await {
        Some(Packet::Publish(p)) => p,
        other => panic!("expected PUBLISH, got {other:?}"),
    }
}

#[tokio::test]
async fn publish_properties_reach_mqtt_5_subscribers_and_native_clients_as_headers() {
    let broker = Broker::start().await;
    let mut sub = open(&broker, "sub").await;
    subscribe(&mut sub, "req/#", SubscriptionOptions::default()).await;
    let mut ws = broker.connect().await;
    ws.subscribe_topic("req/#").await;
    let mut publisher = open(&broker, "pub").await;
    let mut p = publish("req/light", "{\"on\":true}", false);
    p.properties.user_properties = vec![("room".into(), "hall".into())];
    p.properties.content_type = Some("application/json".into());
    p.properties.payload_format = Some(PayloadFormat::Utf8);
    p.properties.response_topic = Some("reply/light".into());
    p.properties.correlation_data = Some(Bytes::from_static(b"\x01\x02"));
    p.properties.message_expiry_interval = Some(60);
    publisher.send(&Packet::Publish(p)).await;

    let got = received(&mut sub).await.properties;
    assert_eq!(got.user_properties, [("room".to_owned(), "hall".to_owned())]);
    assert_eq!(got.content_type.as_deref(), Some("application/json"));
    assert_eq!(got.payload_format, Some(PayloadFormat::Utf8));
    assert_eq!(got.response_topic.as_deref(), Some("reply/light"));
    assert_eq!(got.correlation_data.as_deref(), Some(&b"\x01\x02"[..]));
    assert!(got.message_expiry_interval.is_some_and(|s| (59..=60).contains(&s)), "{got:?}");
    let delivery = ws.expect_type("deliver").await;
    assert_eq!(delivery["headers"]["room"], "hall");
    assert_eq!(delivery["headers"]["content-type"], "application/json");
}

#[tokio::test]
async fn an_expired_message_is_not_delivered_to_a_returning_session() {
    let broker = Broker::start().await;
    let mut c = connect(V5, "late", 0);
    c.clean_start = false;
    c.properties.session_expiry_interval = Some(600);
    let mut raw = broker.raw_mqtt(c.clone()).await;
    assert!(matches!(raw.recv().await, Some(Packet::ConnAck(_))));
    subscribe(&mut raw, "news/#", SubscriptionOptions::default()).await;
    drop(raw);
    broker.wait_for_queue("mqtt.late", Some(0)).await;
    let mut publisher = open(&broker, "pub").await;
    let mut p = publish("news/old", "stale", false);
    p.properties.message_expiry_interval = Some(1);
    publisher.send(&Packet::Publish(p)).await;
    publisher.send(&Packet::Publish(publish("news/new", "fresh", false))).await;
    tokio::time::sleep(std::time::Duration::from_millis(1200)).await;
    let mut raw = broker.raw_mqtt(c).await;
    assert!(matches!(raw.recv().await, Some(Packet::ConnAck(a)) if a.session_present));
    assert_eq!(&received(&mut raw).await.payload[..], b"fresh", "the expired message was dropped");
}

#[tokio::test]
async fn no_local_skips_own_messages_and_retain_as_published_keeps_the_flag() {
    let broker = Broker::start().await;
    let mut me = open(&broker, "me").await;
    subscribe(&mut me, "chat/#", SubscriptionOptions { no_local: true, retain_as_published: true, ..Default::default() }).await;
    let mut other = open(&broker, "other").await;
    subscribe(&mut other, "chat/#", SubscriptionOptions { retain_as_published: true, ..Default::default() }).await;
    let mut plain = open(&broker, "plain").await;
    subscribe(&mut plain, "chat/#", SubscriptionOptions::default()).await;

    me.send(&Packet::Publish(publish("chat/a", "mine", true))).await;
    let got = received(&mut other).await;
    assert_eq!((&got.payload[..], got.retain), (&b"mine"[..], true), "retain as published");
    let got = received(&mut plain).await;
    assert_eq!((&got.payload[..], got.retain), (&b"mine"[..], false), "retain flag cleared without the option");
    other.send(&Packet::Publish(publish("chat/b", "theirs", false))).await;
    assert_eq!(&received(&mut me).await.payload[..], b"theirs", "no local: only the other client's message");
}
