//! MQTT protocol rules through the real `hearth` binary, with a raw client
//! for what well-behaved clients never send: malformed and oversize packets,
//! unsupported versions, silence past the keep-alive, session takeover.
//! A `mosquitto_sub` alongside proves the rest of the broker is unaffected.

mod common;

use common::Broker;
use common::mqtt::connect;
use mqtt_codec::{ConnAck, Disconnect, Packet, ProtocolVersion, ReasonCode};

const V5: ProtocolVersion = ProtocolVersion::V5;
const V311: ProtocolVersion = ProtocolVersion::V311;

/// Reads the CONNACK a raw client expects first.
async fn connack(raw: &mut common::mqtt::Raw) -> ConnAck {
    match raw.recv().await {
        Some(Packet::ConnAck(connack)) => connack,
        other => panic!("expected CONNACK, got {other:?}"),
    }
}

#[tokio::test]
async fn a_malformed_packet_closes_only_its_connection_with_reason_malformed() {
    let broker = Broker::start().await;
    let mut bystander = broker.mosquitto_sub(&["-t", "home/#"]).await;
    let mut raw = broker.raw_mqtt(connect(V5, "broken", 0)).await;
    assert_eq!(connack(&mut raw).await.reason, ReasonCode::Success);

    raw.send_bytes(&[0x36, 0x00]).await; // PUBLISH with QoS 3
    let disconnect =
        Packet::Disconnect(Disconnect { reason: ReasonCode::MalformedPacket, properties: Default::default() });
    assert_eq!(raw.recv().await, Some(disconnect));
    assert_eq!(raw.recv().await, None, "the broker closes the connection");

    broker.mosquitto_pub(&["-t", "home/still", "-m", "fine"]).await;
    assert_eq!(bystander.next().await, "home/still fine");
}

#[tokio::test]
async fn a_3_1_1_protocol_violation_closes_the_connection_without_a_reason() {
    let broker = Broker::start().await;
    let mut raw = broker.raw_mqtt(connect(V311, "twice", 0)).await;
    assert_eq!(connack(&mut raw).await.reason, ReasonCode::Success);
    raw.send(&Packet::Connect(Box::new(connect(V311, "twice", 0)))).await;
    assert_eq!(raw.recv().await, None, "a second CONNECT closes the connection");
}

#[tokio::test]
async fn an_oversize_packet_closes_the_connection_with_packet_too_large() {
    let broker = Broker::start_with(&["--max-frame-bytes", "4096"]).await;
    let mut raw = broker.raw_mqtt(connect(V5, "big", 0)).await;
    let ack = connack(&mut raw).await;
    assert_eq!(ack.properties.maximum_packet_size.map(|m| m.get()), Some(4096), "announced in CONNACK");
    // A PUBLISH header announcing 10 000 bytes: refused before the body arrives.
    raw.send_bytes(&[0x30, 0x90, 0x4E]).await;
    let disconnect =
        Packet::Disconnect(Disconnect { reason: ReasonCode::PacketTooLarge, properties: Default::default() });
    assert_eq!(raw.recv().await, Some(disconnect));
}

#[tokio::test]
async fn an_unsupported_protocol_version_is_refused_with_the_right_connack_code() {
    let broker = Broker::start().await;
    // MQTT 3.1 (level 3, name "MQIsdp"): 3.1.1's "unacceptable protocol version", code 1.
    let mut tcp = tokio::net::TcpStream::connect(broker.mqtt).await.expect("connects");
    let connect_31 =
        [0x10, 0x11, 0x00, 0x06, b'M', b'Q', b'I', b's', b'd', b'p', 3, 0x02, 0x00, 0x3C, 0x00, 0x03, b'o', b'l', b'd'];
    tokio::io::AsyncWriteExt::write_all(&mut tcp, &connect_31).await.expect("sent");
    let mut reply = Vec::new();
    common::within("the refusal", tokio::io::AsyncReadExt::read_to_end(&mut tcp, &mut reply)).await.expect("read");
    assert_eq!(reply, [0x20, 0x02, 0x00, 0x01]);
}

#[tokio::test]
async fn an_empty_client_id_is_assigned_one_in_5_and_refused_for_a_persistent_3_1_1_session() {
    let broker = Broker::start().await;
    let mut raw = broker.raw_mqtt(connect(V5, "", 0)).await;
    let ack = connack(&mut raw).await;
    assert_eq!(ack.reason, ReasonCode::Success);
    let assigned = ack.properties.into_fields().assigned_client_identifier.expect("an assigned client id");
    assert!(assigned.starts_with("hearth-auto-"), "{assigned}");

    let mut persistent = connect(V311, "", 0);
    persistent.clean_start = false;
    let mut raw = broker.raw_mqtt(persistent).await;
    assert_eq!(connack(&mut raw).await.reason, ReasonCode::ClientIdentifierNotValid);
}

#[tokio::test]
async fn a_second_connection_with_the_same_client_id_takes_the_session_over() {
    let broker = Broker::start().await;
    let mut first = broker.raw_mqtt(connect(V5, "thermostat", 0)).await;
    assert_eq!(connack(&mut first).await.reason, ReasonCode::Success);
    let mut second = broker.raw_mqtt(connect(V5, "thermostat", 0)).await;
    let taken = Packet::Disconnect(Disconnect { reason: ReasonCode::SessionTakenOver, properties: Default::default() });
    assert_eq!(first.recv().await, Some(taken));
    assert_eq!(first.recv().await, None);
    assert_eq!(connack(&mut second).await.reason, ReasonCode::Success);
    second.send(&Packet::PingReq).await;
    assert_eq!(second.recv().await, Some(Packet::PingResp));
}

#[tokio::test]
async fn a_client_silent_for_one_and_a_half_keep_alives_is_disconnected_and_its_will_sent() {
    let broker = Broker::start().await;
    let mut watcher = broker.mosquitto_sub(&["-t", "devices/#"]).await;
    let mut sleepy = connect(V5, "sleepy", 1);
    sleepy.will = Some(mqtt_codec::Will {
        topic: "devices/sleepy".into(),
        payload: "gone".into(),
        qos: mqtt_codec::QoS::AtMostOnce,
        retain: false,
        properties: Default::default(),
    });
    let mut raw = broker.raw_mqtt(sleepy).await;
    assert_eq!(connack(&mut raw).await.reason, ReasonCode::Success);
    let started = std::time::Instant::now();
    let timeout =
        Packet::Disconnect(Disconnect { reason: ReasonCode::KeepAliveTimeout, properties: Default::default() });
    assert_eq!(raw.recv().await, Some(timeout));
    let waited = started.elapsed();
    assert!(waited >= std::time::Duration::from_millis(1400), "closed after {waited:?}, before 1.5 × 1 s");
    assert_eq!(watcher.next().await, "devices/sleepy gone");
}

#[tokio::test]
async fn mqtt_over_websocket_at_slash_mqtt_meets_mqtt_over_tcp() {
    use futures_util::{SinkExt, StreamExt};
    use tokio_tungstenite::tungstenite::{Message, client::IntoClientRequest};
    let broker = Broker::start().await;
    let mut request = format!("ws://{}/mqtt", broker.addr).into_client_request().expect("a valid request");
    request.headers_mut().insert("Sec-WebSocket-Protocol", "mqtt".parse().expect("a header value"));
    let (mut ws, response) =
        common::within("the /mqtt handshake", tokio_tungstenite::connect_async(request)).await.expect("upgrades");
    assert_eq!(response.headers()["sec-websocket-protocol"], "mqtt");

    let encode = |packet: &Packet| {
        let mut out = bytes::BytesMut::new();
        mqtt_codec::encode(packet, V5, &mut out).expect("encodes");
        Message::binary(out.to_vec())
    };
    ws.send(encode(&Packet::Connect(Box::new(connect(V5, "browser", 30))))).await.expect("sent");
    let subscribe = mqtt_codec::Subscribe {
        packet_id: 1,
        subscriptions: vec![mqtt_codec::Subscription { filter: "home/#".into(), options: Default::default() }],
        properties: Default::default(),
    };
    ws.send(encode(&Packet::Subscribe(subscribe))).await.expect("sent");
    let mut packets = Vec::new();
    let mut inbox = bytes::BytesMut::new();
    let mut published = false;
    loop {
        while let Some(packet) = mqtt_codec::decode(&mut inbox, V5, u32::MAX).expect("decodes") {
            packets.push(packet);
        }
        if packets.len() == 2 && !published {
            // Subscribed (SUBACK seen): now publish over TCP.
            broker.mosquitto_pub(&["-t", "home/den/light", "-m", "on"]).await;
            published = true;
        }
        if packets.len() >= 3 {
            break;
        }
        match common::within("a binary message", ws.next()).await {
            Some(Ok(Message::Binary(bytes))) => inbox.extend_from_slice(&bytes),
            other => panic!("expected a binary message, got {other:?}"),
        }
    }
    assert!(matches!(&packets[0], Packet::ConnAck(ack) if ack.reason == ReasonCode::Success), "{packets:?}");
    assert!(matches!(&packets[1], Packet::SubAck(_)), "{packets:?}");
    match &packets[2] {
        Packet::Publish(p) => assert_eq!((&*p.topic, &p.payload[..]), ("home/den/light", &b"on"[..])),
        other => panic!("expected the PUBLISH, got {other:?}"),
    }
}

#[tokio::test]
async fn any_utf8_client_id_is_accepted_and_keeps_a_session_of_its_own() {
    let broker = Broker::start().await;
    // The id a widely used conformance suite connects with, a long one, and others.
    let long = "d".repeat(2000);
    for id in ["clean retained", "Küche 💡 sensor", long.as_str(), "clean%20retained"] {
        let mut raw = broker.raw_mqtt(connect(V5, id, 0)).await;
        assert_eq!(connack(&mut raw).await.reason, ReasonCode::Success, "{id:?}");
    }
    // Two persistent sessions whose ids differ by an escape do not mix.
    for id in ["living room", "living%20room"] {
        let mut sub = broker.mosquitto_sub(&["-i", id, "-c", "-q", "1", "-t", &format!("to/{id}")]).await;
        sub.child.kill().await.expect("killed");
    }
    broker.mosquitto_pub(&["-t", "to/living room", "-q", "1", "-m", "for the room"]).await;
    broker.mosquitto_pub(&["-t", "to/living%20room", "-q", "1", "-m", "for the other"]).await;
    for (id, expected) in
        [("living room", "to/living room for the room"), ("living%20room", "to/living%20room for the other")]
    {
        let mut back = broker.mosquitto_sub_resume(&["-i", id, "-c", "-q", "1", "-t", &format!("to/{id}")]).await;
        assert_eq!(back.next().await, expected, "{id:?} gets its own queued message");
        back.expect_silence("and only that").await;
    }
}
