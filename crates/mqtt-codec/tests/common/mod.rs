//! Sample packets of every type, with every property their packet allows
//! filled in (MQTT 5) or left empty (3.1.1), and a round-trip helper.
#![allow(dead_code)]

use bytes::{Bytes, BytesMut};
use mqtt_codec::*;
use std::num::{NonZeroU16, NonZeroU32};

/// Encodes then decodes `packet`, checking every byte is consumed.
pub fn round_trip(packet: &Packet, version: ProtocolVersion) -> Packet {
    let mut buf = BytesMut::new();
    encode(packet, version, &mut buf).expect("encodes");
    let decoded = decode(&mut buf, version, u32::MAX).expect("decodes").expect("whole packet");
    assert!(buf.is_empty(), "bytes left over after {:?}", packet.kind());
    decoded
}

fn nz16(v: u16) -> NonZeroU16 {
    NonZeroU16::new(v).expect("non-zero")
}

fn nz32(v: u32) -> NonZeroU32 {
    NonZeroU32::new(v).expect("non-zero")
}

fn user() -> Vec<(String, String)> {
    vec![("room".into(), "hall".into()), ("room".into(), "kitchen ✓".into())]
}

fn reason_props() -> Properties {
    Properties::from(PropertyFields {
        reason_string: Some("because".into()),
        user_properties: user(),
        ..PropertyFields::default()
    })
}

fn message_props() -> Properties {
    Properties::from(PropertyFields {
        payload_format: Some(PayloadFormat::Utf8),
        message_expiry_interval: Some(3600),
        content_type: Some("application/json".into()),
        response_topic: Some("reply/here".into()),
        correlation_data: Some(Bytes::from_static(b"\x00\x01corr")),
        user_properties: user(),
        ..PropertyFields::default()
    })
}

fn connect(version: ProtocolVersion) -> Connect {
    let v5 = version == ProtocolVersion::V5;
    let will_props =
        Properties::from(PropertyFields { will_delay_interval: Some(30), ..message_props().into_fields() });
    let props = Properties::from(PropertyFields {
        session_expiry_interval: Some(600),
        authentication_method: Some("SCRAM-SHA-1".into()),
        authentication_data: Some(Bytes::from_static(b"client-first")),
        request_problem_information: Some(false),
        request_response_information: Some(true),
        receive_maximum: Some(nz16(20)),
        topic_alias_maximum: Some(10),
        maximum_packet_size: Some(nz32(65_536)),
        user_properties: user(),
        ..PropertyFields::default()
    });
    Connect {
        protocol: version,
        clean_start: true,
        keep_alive: 60,
        client_id: "thermostat-1".into(),
        will: Some(Will {
            topic: "home/thermostat/status".into(),
            payload: Bytes::from_static(b"offline"),
            qos: QoS::AtLeastOnce,
            retain: true,
            properties: if v5 { will_props } else { Properties::default() },
        }),
        username: Some("alice".into()),
        password: Some(Bytes::from_static(b"s3cr\x00t")),
        properties: if v5 { props } else { Properties::default() },
    }
}

fn connack_props() -> Properties {
    Properties::from(PropertyFields {
        session_expiry_interval: Some(0),
        assigned_client_identifier: Some("auto-42".into()),
        server_keep_alive: Some(30),
        authentication_method: Some("SCRAM-SHA-1".into()),
        authentication_data: Some(Bytes::from_static(b"server-final")),
        response_information: Some("resp/".into()),
        server_reference: Some("other:1883".into()),
        reason_string: Some("welcome".into()),
        receive_maximum: Some(nz16(100)),
        topic_alias_maximum: Some(16),
        maximum_qos: Some(QoS::AtLeastOnce),
        retain_available: Some(true),
        user_properties: user(),
        maximum_packet_size: Some(nz32(1 << 20)),
        wildcard_subscription_available: Some(true),
        subscription_identifier_available: Some(false),
        shared_subscription_available: Some(true),
        ..PropertyFields::default()
    })
}

fn publish(v5: bool) -> Publish {
    let props = Properties::from(PropertyFields {
        subscription_identifiers: vec![nz32(1), nz32(268_435_455)],
        topic_alias: Some(nz16(3)),
        ..message_props().into_fields()
    });
    Publish {
        dup: true,
        qos: QoS::ExactlyOnce,
        retain: true,
        topic: "home/hall/door/lock".into(),
        packet_id: 513,
        payload: Bytes::from_static(b"\x00\xffbinary"),
        properties: if v5 { props } else { Properties::default() },
    }
}

fn ack(v5: bool, reason: ReasonCode) -> Ack {
    if v5 {
        Ack { packet_id: 65_535, reason, properties: reason_props() }
    } else {
        Ack { packet_id: 65_535, ..Ack::default() }
    }
}

fn subscribe(v5: bool) -> Subscribe {
    let options = SubscriptionOptions {
        qos: QoS::ExactlyOnce,
        no_local: v5,
        retain_as_published: v5,
        retain_handling: if v5 { RetainHandling::DoNotSend } else { RetainHandling::SendAtSubscribe },
    };
    let props = Properties::from(PropertyFields {
        subscription_identifiers: vec![nz32(77)],
        user_properties: user(),
        ..PropertyFields::default()
    });
    Subscribe {
        packet_id: 2,
        subscriptions: vec![
            Subscription { filter: "home/+/temperature".into(), options },
            Subscription { filter: "$share/g/home/#".into(), options: SubscriptionOptions::default() },
        ],
        properties: if v5 { props } else { Properties::default() },
    }
}

/// One packet of every type that exists in `version`, richly filled.
pub fn samples(version: ProtocolVersion) -> Vec<Packet> {
    let v5 = version == ProtocolVersion::V5;
    let props = |p: Properties| if v5 { p } else { Properties::default() };
    let suback_reasons = if v5 {
        vec![ReasonCode::GrantedQoS2, ReasonCode::Success, ReasonCode::QuotaExceeded]
    } else {
        vec![ReasonCode::GrantedQoS2, ReasonCode::Success, ReasonCode::UnspecifiedError]
    };
    let connack_reason = if v5 { ReasonCode::Success } else { ReasonCode::NotAuthorized };
    let mut packets = vec![
        Packet::Connect(Box::new(connect(version))),
        Packet::ConnAck(ConnAck { session_present: true, reason: connack_reason, properties: props(connack_props()) }),
        Packet::Publish(publish(v5)),
        Packet::PubAck(ack(v5, ReasonCode::NoMatchingSubscribers)),
        Packet::PubRec(ack(v5, ReasonCode::QuotaExceeded)),
        Packet::PubRel(ack(v5, ReasonCode::PacketIdentifierNotFound)),
        Packet::PubComp(ack(v5, ReasonCode::Success)),
        Packet::Subscribe(subscribe(v5)),
        Packet::SubAck(SubAck { packet_id: 2, reasons: suback_reasons, properties: props(reason_props()) }),
        Packet::Unsubscribe(Unsubscribe {
            packet_id: 3,
            filters: vec!["home/#".into(), "a".into()],
            properties: props(Properties::from(PropertyFields {
                user_properties: user(),
                ..PropertyFields::default()
            })),
        }),
        Packet::UnsubAck(UnsubAck {
            packet_id: 3,
            reasons: if v5 { vec![ReasonCode::Success, ReasonCode::NoSubscriptionExisted] } else { vec![] },
            properties: props(reason_props()),
        }),
        Packet::PingReq,
        Packet::PingResp,
    ];
    let disconnect_props = Properties::from(PropertyFields {
        session_expiry_interval: Some(120),
        server_reference: Some("backup:1883".into()),
        ..reason_props().into_fields()
    });
    packets.push(Packet::Disconnect(Disconnect {
        reason: if v5 { ReasonCode::SessionTakenOver } else { ReasonCode::Success },
        properties: props(disconnect_props),
    }));
    if v5 {
        let auth_props = Properties::from(PropertyFields {
            authentication_method: Some("SCRAM-SHA-1".into()),
            authentication_data: Some(Bytes::from_static(b"challenge")),
            ..reason_props().into_fields()
        });
        packets.push(Packet::Auth(Auth { reason: ReasonCode::ContinueAuthentication, properties: auth_props }));
    }
    packets
}
