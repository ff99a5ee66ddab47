//! Known byte sequences, written by hand from the specifications and from
//! what mosquitto_pub/mosquitto_sub send, decoded and re-encoded: guards
//! against bugs an encoder and decoder could share.

use bytes::{Bytes, BytesMut};
use mqtt_codec::*;
use std::num::{NonZeroU16, NonZeroU32};

const V311: ProtocolVersion = ProtocolVersion::V311;
const V5: ProtocolVersion = ProtocolVersion::V5;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).expect("ascii"), 16).expect("hex"))
        .collect()
}

/// Decodes `wire`, checks it equals `packet`, and that encoding gives `wire` back.
fn check(version: ProtocolVersion, wire: &str, packet: Packet) {
    let bytes = hex(wire);
    let mut buf = BytesMut::from(&bytes[..]);
    assert_eq!(decode(&mut buf, version, u32::MAX), Ok(Some(packet.clone())), "{wire}");
    assert!(buf.is_empty());
    let mut out = BytesMut::new();
    encode(&packet, version, &mut out).expect("encodes");
    assert_eq!(&out[..], &bytes[..], "{wire}");
}

fn connect(version: ProtocolVersion) -> Connect {
    Connect {
        protocol: version,
        clean_start: true,
        keep_alive: 60,
        client_id: "test".into(),
        will: None,
        username: None,
        password: None,
        properties: Properties::default(),
    }
}

#[test]
fn mosquitto_pub_connect() {
    // mosquitto_pub -i test -k 60 (3.1.1) and -V 5 (empty property list).
    check(V311, "10 10 0004 4d515454 04 02 003c 0004 74657374", Packet::Connect(Box::new(connect(V311))));
    check(V5, "10 11 0004 4d515454 05 02 003c 00 0004 74657374", Packet::Connect(Box::new(connect(V5))));
}

#[test]
fn connect_with_will_and_credentials() {
    // Flags 0xEE: user, password, will retain, will QoS 1, will, clean.
    let wire = "10 1f 0004 4d515454 04 ee 000a 0001 63 0003 612f62 0003 627965 0002 7531 0002 7077";
    let packet = Connect {
        client_id: "c".into(),
        keep_alive: 10,
        will: Some(Will {
            topic: "a/b".into(),
            payload: Bytes::from_static(b"bye"),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: Properties::default(),
        }),
        username: Some("u1".into()),
        password: Some(Bytes::from_static(b"pw")),
        ..connect(V311)
    };
    check(V311, wire, Packet::Connect(Box::new(packet)));
}

#[test]
fn connack() {
    check(V311, "20 02 00 00", Packet::ConnAck(ConnAck::default()));
    check(
        V311,
        "20 02 01 05",
        Packet::ConnAck(ConnAck { session_present: true, reason: ReasonCode::NotAuthorized, ..ConnAck::default() }),
    );
    // MQTT 5: topic alias maximum 10, assigned client id "id".
    let props = Properties::from(PropertyFields {
        assigned_client_identifier: Some("id".into()),
        topic_alias_maximum: Some(10),
        ..PropertyFields::default()
    });
    check(
        V5,
        "20 0b 00 00 08 12 0002 6964 22 000a",
        Packet::ConnAck(ConnAck { properties: props, ..ConnAck::default() }),
    );
}

#[test]
fn publish() {
    let qos0 = Publish { topic: "a/b".into(), payload: Bytes::from_static(b"hi"), ..Publish::default() };
    check(V311, "30 07 0003 612f62 6869", Packet::Publish(qos0.clone()));
    check(V5, "30 08 0003 612f62 00 6869", Packet::Publish(qos0.clone()));
    let qos1 = Publish { qos: QoS::AtLeastOnce, packet_id: 1, retain: true, ..qos0.clone() };
    check(V311, "33 09 0003 612f62 0001 6869", Packet::Publish(qos1));
    // MQTT 5, QoS 2 + DUP, topic alias 1, message expiry 60, subscription identifier 300.
    let props = Properties::from(PropertyFields {
        message_expiry_interval: Some(60),
        subscription_identifiers: vec![NonZeroU32::new(300).expect("non-zero")],
        topic_alias: NonZeroU16::new(1),
        ..PropertyFields::default()
    });
    let qos2 = Publish { dup: true, qos: QoS::ExactlyOnce, packet_id: 10, properties: props, ..qos0 };
    check(V5, "3c 15 0003 612f62 000a 0b 02 0000003c 0b ac02 23 0001 6869", Packet::Publish(qos2));
}

#[test]
fn publish_acks() {
    let ack = Ack { packet_id: 1, ..Ack::default() };
    check(V311, "40 02 0001", Packet::PubAck(ack.clone()));
    check(V311, "50 02 0001", Packet::PubRec(ack.clone()));
    check(V311, "62 02 0001", Packet::PubRel(ack.clone()));
    check(V311, "70 02 0001", Packet::PubComp(ack.clone()));
    check(V5, "40 02 0001", Packet::PubAck(ack.clone()));
    let no_match = Ack { reason: ReasonCode::NoMatchingSubscribers, ..ack.clone() };
    check(V5, "40 03 0001 10", Packet::PubAck(no_match));
    let with_reason = Ack {
        reason: ReasonCode::PacketIdentifierNotFound,
        properties: Properties::from(PropertyFields { reason_string: Some("x".into()), ..PropertyFields::default() }),
        ..ack
    };
    check(V5, "70 08 0001 92 04 1f 0001 78", Packet::PubComp(with_reason));
}

#[test]
fn subscribe_and_suback() {
    let sub = |options| Subscription { filter: "a/b".into(), options };
    let qos1 = SubscriptionOptions { qos: QoS::AtLeastOnce, ..SubscriptionOptions::default() };
    let v311 = Subscribe { packet_id: 1, subscriptions: vec![sub(qos1)], properties: Properties::default() };
    check(V311, "82 08 0001 0003 612f62 01", Packet::Subscribe(v311));
    // MQTT 5 options 0x2d: QoS 1, no local, retain as published, retain handling 2.
    let all = SubscriptionOptions {
        no_local: true,
        retain_as_published: true,
        retain_handling: RetainHandling::DoNotSend,
        ..qos1
    };
    let v5 = Subscribe { packet_id: 1, subscriptions: vec![sub(all)], properties: Properties::default() };
    check(V5, "82 09 0001 00 0003 612f62 2d", Packet::Subscribe(v5));
    let reasons = vec![ReasonCode::GrantedQoS1, ReasonCode::UnspecifiedError];
    check(V311, "90 04 0001 01 80", Packet::SubAck(SubAck { packet_id: 1, reasons, ..SubAck::default() }));
    let reasons = vec![ReasonCode::GrantedQoS2, ReasonCode::TopicFilterInvalid];
    check(V5, "90 05 0001 00 02 8f", Packet::SubAck(SubAck { packet_id: 1, reasons, ..SubAck::default() }));
}

#[test]
fn unsubscribe_and_unsuback() {
    let unsub = Unsubscribe { packet_id: 1, filters: vec!["a/b".into()], ..Unsubscribe::default() };
    check(V311, "a2 07 0001 0003 612f62", Packet::Unsubscribe(unsub.clone()));
    check(V5, "a2 08 0001 00 0003 612f62", Packet::Unsubscribe(unsub));
    check(V311, "b0 02 0001", Packet::UnsubAck(UnsubAck { packet_id: 1, ..UnsubAck::default() }));
    let reasons = vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted];
    check(V5, "b0 05 0001 00 00 11", Packet::UnsubAck(UnsubAck { packet_id: 1, reasons, ..UnsubAck::default() }));
}

#[test]
fn ping_disconnect_auth() {
    for version in [V311, V5] {
        check(version, "c0 00", Packet::PingReq);
        check(version, "d0 00", Packet::PingResp);
        check(version, "e0 00", Packet::Disconnect(Disconnect::default()));
    }
    let expiry = Properties::from(PropertyFields { session_expiry_interval: Some(60), ..PropertyFields::default() });
    check(
        V5,
        "e0 07 00 05 11 0000003c",
        Packet::Disconnect(Disconnect { reason: ReasonCode::Success, properties: expiry }),
    );
    check(
        V5,
        "e0 01 04",
        Packet::Disconnect(Disconnect { reason: ReasonCode::DisconnectWithWillMessage, ..Disconnect::default() }),
    );
    check(V5, "f0 00", Packet::Auth(Auth::default()));
    let method =
        Properties::from(PropertyFields { authentication_method: Some("SCRM".into()), ..PropertyFields::default() });
    check(
        V5,
        "f0 09 18 07 15 0004 5343524d",
        Packet::Auth(Auth { reason: ReasonCode::ContinueAuthentication, properties: method }),
    );
}
