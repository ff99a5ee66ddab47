//! MQTT 5 extras through the real `hearth` binary with raw clients: PUBLISH
//! properties carried end to end (and seen as headers by native clients),
//! message expiry, no-local and retain-as-published.

mod common;

use bytes::Bytes;
use common::Broker;
use common::mqtt::{Raw, connect};
use mqtt_codec::{
    Packet, PayloadFormat, ProtocolVersion, Publish, QoS, ReasonCode, Subscribe, Subscription, SubscriptionOptions,
};

const V5: ProtocolVersion = ProtocolVersion::V5;

async fn open(broker: &Broker, id: &str) -> Raw {
    let mut raw = broker.raw_mqtt(connect(V5, id, 0)).await;
    assert!(matches!(raw.recv().await, Some(Packet::ConnAck(a)) if a.reason == ReasonCode::Success));
    raw
}

async fn subscribe(raw: &mut Raw, filter: &str, options: SubscriptionOptions) {
    let subscription = Subscription { filter: filter.into(), options };
    raw.send(&Packet::Subscribe(Subscribe {
        packet_id: 1,
        subscriptions: vec![subscription],
        properties: Default::default(),
    }))
    .await;
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
    subscribe(
        &mut me,
        "chat/#",
        SubscriptionOptions { no_local: true, retain_as_published: true, ..Default::default() },
    )
    .await;
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

#[tokio::test]
async fn topic_aliases_work_both_ways_and_a_bad_alias_closes_the_connection() {
    let broker = Broker::start().await;
    let mut c = connect(V5, "aliased", 0);
    c.properties.topic_alias_maximum = Some(2);
    let mut sub = broker.raw_mqtt(c).await;
    let max = match sub.recv().await {
        Some(Packet::ConnAck(a)) => a.properties.topic_alias_maximum,
        other => panic!("expected CONNACK, got {other:?}"),
    };
    let max = max.expect("CONNACK announces a Topic Alias Maximum");
    subscribe(&mut sub, "t/#", SubscriptionOptions::default()).await;
    let mut publisher = open(&broker, "aliaser").await;
    let alias = |n| std::num::NonZeroU16::new(n);
    // Client → server: set alias 1 up, then use it with an empty topic.
    let mut first = publish("t/a", "1", false);
    first.properties.topic_alias = alias(1);
    publisher.send(&Packet::Publish(first)).await;
    let mut again = publish("", "2", false);
    again.properties.topic_alias = alias(1);
    publisher.send(&Packet::Publish(again)).await;
    publisher.send(&Packet::Publish(publish("t/b", "3", false))).await;
    publisher.send(&Packet::Publish(publish("t/c", "4", false))).await;
    publisher.send(&Packet::Publish(publish("t/a", "5", false))).await;

    // Server → client: the first PUBLISH on a topic names it and sets an
    // alias up, later ones carry only the alias; only 2 aliases are used.
    let mut got = Vec::new();
    for _ in 0..5 {
        let p = received(&mut sub).await;
        got.push((
            p.topic,
            p.properties.topic_alias.map(|a| a.get()),
            String::from_utf8_lossy(&p.payload).into_owned(),
        ));
    }
    let expected =
        [("t/a", Some(1), "1"), ("", Some(1), "2"), ("t/b", Some(2), "3"), ("t/c", None, "4"), ("", Some(1), "5")];
    let expected: Vec<_> = expected.iter().map(|(t, a, p)| ((*t).into(), *a, (*p).to_owned())).collect();
    assert_eq!(got, expected);

    // An unknown alias is a protocol error; one over the maximum is invalid.
    let mut unknown = publish("", "x", false);
    unknown.properties.topic_alias = alias(2);
    publisher.send(&Packet::Publish(unknown)).await;
    assert!(matches!(publisher.recv().await, Some(Packet::Disconnect(d)) if d.reason == ReasonCode::ProtocolError));
    let mut over = open(&broker, "over").await;
    let mut p = publish("t/z", "x", false);
    p.properties.topic_alias = alias(max + 1);
    over.send(&Packet::Publish(p)).await;
    assert!(matches!(over.recv().await, Some(Packet::Disconnect(d)) if d.reason == ReasonCode::TopicAliasInvalid));
    // Alias 0 (built by hand: the codec will not encode it).
    let mut zero = open(&broker, "zero").await;
    zero.send_bytes(&[0x30, 0x09, 0x00, 0x03, b't', b'/', b'z', 0x03, 0x23, 0x00, 0x00]).await;
    assert!(matches!(zero.recv().await, Some(Packet::Disconnect(d)) if d.reason == ReasonCode::TopicAliasInvalid));
}

#[tokio::test]
async fn subscription_identifiers_ride_on_matching_deliveries() {
    let broker = Broker::start().await;
    let mut sub = broker.raw_mqtt(connect(V5, "ids", 0)).await;
    match sub.recv().await {
        Some(Packet::ConnAck(a)) => assert_eq!(a.properties.subscription_identifier_available, Some(true)),
        other => panic!("expected CONNACK, got {other:?}"),
    }
    for (filter, id) in [("home/#", Some(7)), ("home/+/temp", Some(42)), ("home/hall/+", None)] {
        let subscription = Subscription { filter: filter.into(), options: SubscriptionOptions::default() };
        let mut s = Subscribe { packet_id: 1, subscriptions: vec![subscription], properties: Default::default() };
        s.properties.subscription_identifiers.extend(id.and_then(std::num::NonZeroU32::new));
        sub.send(&Packet::Subscribe(s)).await;
        assert!(matches!(sub.recv().await, Some(Packet::SubAck(_))));
    }
    let mut publisher = open(&broker, "pub").await;
    publisher.send(&Packet::Publish(publish("home/hall/temp", "21", true))).await;
    let ids = |p: &Publish| p.properties.subscription_identifiers.iter().map(|i| i.get()).collect::<Vec<_>>();
    let mut got = ids(&received(&mut sub).await);
    got.sort_unstable();
    assert_eq!(got, [7, 42], "both identified subscriptions match; the third has none");
    publisher.send(&Packet::Publish(publish("home/hall/door", "open", false))).await;
    assert_eq!(ids(&received(&mut sub).await), [7]);
    // A retained replay carries the new subscription's identifier.
    let mut late = open(&broker, "late").await;
    let subscription = Subscription { filter: "home/+/temp".into(), options: SubscriptionOptions::default() };
    let mut s = Subscribe { packet_id: 1, subscriptions: vec![subscription], properties: Default::default() };
    s.properties.subscription_identifiers.push(std::num::NonZeroU32::MIN.saturating_add(8));
    late.send(&Packet::Subscribe(s)).await;
    assert!(matches!(late.recv().await, Some(Packet::SubAck(_))));
    assert_eq!(ids(&received(&mut late).await), [9]);
}
