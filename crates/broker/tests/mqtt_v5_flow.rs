//! MQTT flow control and session ends through the real `hearth` binary: the
//! Server Receive Maximum (announced, and enforced with DISCONNECT 0x93), a
//! session expiry interval changed at DISCONNECT (with `mosquitto_pub -D`),
//! and QoS 2 deliveries released before a persistent session went away
//! (their PUBREL is resent on resume, not the PUBLISH).

mod common;

use bytes::Bytes;
use common::Broker;
use common::mqtt::{Raw, connect};
use mqtt_codec::{
    Ack, ConnAck, Disconnect, Packet, ProtocolVersion, Publish, QoS, ReasonCode, Subscribe, Subscription,
    SubscriptionOptions,
};

const V5: ProtocolVersion = ProtocolVersion::V5;

async fn connack(raw: &mut Raw) -> ConnAck {
    match raw.recv().await {
        Some(Packet::ConnAck(connack)) => connack,
        other => panic!("expected CONNACK, got {other:?}"),
    }
}

fn qos2(topic: &str, packet_id: u16) -> Publish {
    Publish {
        dup: false,
        qos: QoS::ExactlyOnce,
        retain: false,
        topic: topic.into(),
        packet_id,
        payload: Bytes::from_static(b"x"),
        properties: Default::default(),
    }
}

fn ack(packet_id: u16) -> Ack {
    Ack { packet_id, reason: ReasonCode::Success, properties: Default::default() }
}

#[tokio::test]
async fn the_receive_maximum_is_announced_and_a_client_exceeding_it_is_disconnected_with_0x93() {
    let broker = Broker::start_with(&["--mqtt-receive-maximum", "3"]).await;
    let mut ws = broker.connect().await;
    ws.subscribe_topic("flow/#").await;
    let mut raw = broker.raw_mqtt(connect(V5, "eager", 0)).await;
    let ack = connack(&mut raw).await;
    assert_eq!(ack.properties.receive_maximum.map(|m| m.get()), Some(3));
    // Three QoS 2 publishes are in flight until PUBCOMP: PUBREC, but no PUBREL yet.
    for pid in 1..=3 {
        raw.send(&Packet::Publish(qos2("flow/a", pid))).await;
        assert_eq!(raw.recv().await, Some(Packet::PubRec(self::ack(pid))));
    }
    // Releasing one makes room for one more.
    raw.send(&Packet::PubRel(self::ack(1))).await;
    assert_eq!(raw.recv().await, Some(Packet::PubComp(self::ack(1))));
    raw.send(&Packet::Publish(qos2("flow/a", 4))).await;
    assert_eq!(raw.recv().await, Some(Packet::PubRec(self::ack(4))));
    // A resent PUBLISH of one in flight is not a new one.
    raw.send(&Packet::Publish(Publish { dup: true, ..qos2("flow/a", 4) })).await;
    assert_eq!(raw.recv().await, Some(Packet::PubRec(self::ack(4))));
    raw.send(&Packet::Publish(qos2("flow/a", 5))).await;
    let disconnect = Disconnect { reason: ReasonCode::ReceiveMaximumExceeded, properties: Default::default() };
    assert_eq!(raw.recv().await, Some(Packet::Disconnect(disconnect)));
    assert_eq!(raw.recv().await, None);
    assert_eq!(ws.deliveries(4).await.len(), 4, "the four accepted publishes went through");
    ws.expect_silence("the fifth publish was refused").await;
    // Others are unaffected; 3.1.1 has no receive maximum to exceed.
    broker.mosquitto_pub(&["-V", "mqttv311", "-q", "1", "-t", "flow/b", "-m", "after"]).await;
    assert_eq!(ws.deliveries(1).await[0]["topic"], "flow/b");
}

/// `mosquitto_pub` (MQTT 5) as client `id`, with a session expiry of
/// `connect` seconds in CONNECT and of `disconnect` seconds in DISCONNECT.
async fn pub_v5(broker: &Broker, id: &str, connect: &str, disconnect: &str) {
    let expiry = ["-D", "disconnect", "session-expiry-interval", disconnect];
    let args = ["-V", "mqttv5", "-i", id, "-c", "-x", connect, "-t", "expiry/x", "-m", "m"];
    broker.mosquitto_pub(&[&args[..], &expiry[..]].concat()).await;
}

#[tokio::test]
async fn a_disconnect_may_change_the_session_expiry_but_not_raise_it_from_zero() {
    let broker = Broker::start().await;
    // 600 s at CONNECT, 60 s at DISCONNECT: the session queue now expires after 60 s.
    pub_v5(&broker, "shorter", "600", "60").await;
    broker.wait_for_queue("mqtt.shorter", Some(0)).await;
    assert_eq!(broker.queue_stats("mqtt.shorter").await["options"]["expires_ms"], 60_000);
    // 600 s at CONNECT, 0 at DISCONNECT: the session ends with the connection.
    pub_v5(&broker, "ended", "600", "0").await;
    broker.wait_for_queue("mqtt.ended", None).await;

    // 0 at CONNECT, 60 at DISCONNECT: a protocol error, so not a clean
    // goodbye, and the will is published.
    let mut watcher = broker.mosquitto_sub(&["-V", "mqttv5", "-t", "expiry/will"]).await;
    let mut c = connect(V5, "raiser", 0);
    c.will = Some(mqtt_codec::Will {
        topic: "expiry/will".into(),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Default::default(),
    });
    let mut raw = broker.raw_mqtt(c).await;
    connack(&mut raw).await;
    let mut bye = Disconnect { reason: ReasonCode::Success, properties: Default::default() };
    bye.properties.session_expiry_interval = Some(60);
    raw.send(&Packet::Disconnect(bye)).await;
    let refused = Disconnect { reason: ReasonCode::ProtocolError, properties: Default::default() };
    assert_eq!(raw.recv().await, Some(Packet::Disconnect(refused)));
    assert_eq!(raw.recv().await, None);
    assert_eq!(watcher.next().await, "expiry/will gone");
    broker.wait_for_queue("mqtt.raiser", None).await;
}

/// A will delayed 60 s, on a session that was to last 60 s, whose
/// DISCONNECT (0x04, "with will message") shortens the session to 1 s: the
/// will comes when the session ends, not a minute later (MQTT 5 §3.1.3.2.2).
#[tokio::test]
async fn a_session_shortened_at_disconnect_brings_its_delayed_will_forward() {
    let broker = Broker::start().await;
    let mut watcher = broker.mosquitto_sub(&["-V", "mqttv5", "-t", "expiry/will"]).await;
    let mut c = connect(V5, "shortened", 0);
    c.properties.session_expiry_interval = Some(60);
    let mut will = mqtt_codec::Will {
        topic: "expiry/will".into(),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Default::default(),
    };
    will.properties.will_delay_interval = Some(60);
    c.will = Some(will);
    let mut raw = broker.raw_mqtt(c).await;
    connack(&mut raw).await;
    let mut bye = Disconnect { reason: ReasonCode::DisconnectWithWillMessage, properties: Default::default() };
    bye.properties.session_expiry_interval = Some(1);
    raw.send(&Packet::Disconnect(bye)).await;
    assert_eq!(raw.recv().await, None, "the broker closes the connection");
    // `next` waits at most 10 s (`WAIT`): far less than the asked 60 s.
    assert_eq!(watcher.next().await, "expiry/will gone");
}

/// A will user property named like the engine's will-TTL header neither
/// breaks the will nor sets its TTL: the will is published when the
/// connection drops.
#[tokio::test]
async fn a_will_user_property_cannot_pose_as_the_will_ttl() {
    let broker = Broker::start().await;
    let mut watcher = broker.mosquitto_sub(&["-V", "mqttv5", "-t", "posing/will"]).await;
    let mut c = connect(V5, "poser", 0);
    let mut will = mqtt_codec::Will {
        topic: "posing/will".into(),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Default::default(),
    };
    will.properties.user_properties.push(("x-will-ttl-ms".into(), "not a number".into()));
    c.will = Some(will);
    let mut raw = broker.raw_mqtt(c).await;
    connack(&mut raw).await;
    drop(raw);
    assert_eq!(watcher.next().await, "posing/will gone");
}

#[tokio::test]
async fn a_released_qos2_delivery_gets_its_pubrel_again_on_resume_not_a_dup_publish() {
    let broker = Broker::start().await;
    let mut c = connect(V5, "keeper", 0);
    c.clean_start = false;
    c.properties.session_expiry_interval = Some(600);
    let mut raw = broker.raw_mqtt(c.clone()).await;
    connack(&mut raw).await;
    let options = SubscriptionOptions { qos: QoS::ExactlyOnce, ..SubscriptionOptions::default() };
    let subscription = Subscription { filter: "q2/#".into(), options };
    let subscribe = Subscribe { packet_id: 1, subscriptions: vec![subscription], properties: Default::default() };
    raw.send(&Packet::Subscribe(subscribe)).await;
    assert!(matches!(raw.recv().await, Some(Packet::SubAck(_))));

    broker.mosquitto_pub(&["-q", "2", "-t", "q2/a", "-m", "once"]).await;
    let Some(Packet::Publish(first)) = raw.recv().await else { panic!("expected the PUBLISH") };
    assert_eq!(&first.payload[..], b"once");
    raw.send(&Packet::PubRec(ack(first.packet_id))).await;
    assert_eq!(raw.recv().await, Some(Packet::PubRel(ack(first.packet_id))));
    // Gone before PUBCOMP, with a clean DISCONNECT (the session stays).
    raw.send(&Packet::Disconnect(Disconnect { reason: ReasonCode::Success, properties: Default::default() })).await;
    assert_eq!(raw.recv().await, None);
    broker.wait_for_queue("mqtt.keeper", Some(0)).await;

    let mut raw = broker.raw_mqtt(c.clone()).await;
    assert!(connack(&mut raw).await.session_present);
    assert_eq!(raw.recv().await, Some(Packet::PubRel(ack(first.packet_id))), "PUBREL again, not the PUBLISH");
    raw.send(&Packet::PubComp(ack(first.packet_id))).await;
    broker.mosquitto_pub(&["-q", "2", "-t", "q2/b", "-m", "next"]).await;
    let Some(Packet::Publish(next)) = raw.recv().await else { panic!("expected the next PUBLISH") };
    assert_eq!((&next.payload[..], next.dup), (&b"next"[..], false), "the released message is not sent again");
    assert_eq!(broker.queue_stats("mqtt.keeper").await["ready"], 0);
}

#[tokio::test]
async fn the_disconnect_reason_arrives_even_when_the_client_goes_on_writing() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let broker = Broker::start_with(&["--mqtt-receive-maximum", "2"]).await;
    let mut raw = broker.raw_mqtt(connect(V5, "firehose", 0)).await;
    connack(&mut raw).await;
    let mut tcp = raw.into_tcp();
    let encoded = |packet: &Packet| {
        let mut out = bytes::BytesMut::new();
        mqtt_codec::encode(packet, V5, &mut out).expect("encodes");
        out
    };
    // Three QoS 2 publishes where two are allowed: the broker says 0x93 and closes...
    for pid in 1..=3 {
        tcp.write_all(&encoded(&Packet::Publish(qos2("flood/a", pid)))).await.expect("written");
    }
    // ...while this client, like a busy device, goes on writing for a while.
    let ping = encoded(&Packet::PingReq);
    for _ in 0..20 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        let write = tcp.write_all(&ping).await;
        assert!(write.is_ok(), "the broker reads until the client has seen the reason: {write:?}");
    }
    let mut received = Vec::new();
    let _ = tokio::time::timeout(common::WAIT, tcp.read_to_end(&mut received)).await;
    let mut rest = bytes::BytesMut::from(&received[..]);
    let mut packets = Vec::new();
    while let Ok(Some(packet)) = mqtt_codec::decode(&mut rest, V5, u32::MAX) {
        packets.push(packet);
    }
    let disconnect = Disconnect { reason: ReasonCode::ReceiveMaximumExceeded, properties: Default::default() };
    assert_eq!(packets.last(), Some(&Packet::Disconnect(disconnect)), "the reason reached the client: {packets:?}");
}
