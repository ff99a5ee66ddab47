//! Generated packets of every type round-trip in the version they are valid
//! for; arbitrary bytes never panic the decoder.
#![cfg(not(target_arch = "wasm32"))]

use bytes::{Bytes, BytesMut};
use mqtt_codec::*;
use proptest::collection::vec;
use proptest::option::of;
use proptest::prelude::*;
use std::num::{NonZeroU16, NonZeroU32};

fn text() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9/ éß✓$-]{0,16}"
}

fn topic() -> impl Strategy<Value = String> {
    "[a-z0-9/$]{1,16}"
}

fn bin() -> impl Strategy<Value = Bytes> {
    vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

fn qos() -> impl Strategy<Value = QoS> {
    prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce), Just(QoS::ExactlyOnce)]
}

fn users() -> impl Strategy<Value = Vec<(String, String)>> {
    vec((text(), text()), 0..3)
}

fn nz16() -> impl Strategy<Value = NonZeroU16> {
    (1..=u16::MAX).prop_map(|v| NonZeroU16::new(v).expect("non-zero"))
}

fn sub_id() -> impl Strategy<Value = NonZeroU32> {
    (1..=MAX_VARINT).prop_map(|v| NonZeroU32::new(v).expect("non-zero"))
}

fn reason_in(kind: PacketKind) -> impl Strategy<Value = ReasonCode> {
    let allowed: Vec<ReasonCode> = ReasonCode::ALL.iter().copied().filter(|c| c.allowed_in(kind)).collect();
    proptest::sample::select(allowed)
}

prop_compose! {
    fn message_props(publish: bool)(
        format in of(prop_oneof![Just(PayloadFormat::Bytes), Just(PayloadFormat::Utf8)]),
        expiry in of(any::<u32>()), content in of(text()), response in of(topic()),
        correlation in of(bin()), user_properties in users(),
        sub_ids in vec(sub_id(), 0..3), alias in of(nz16()), delay in of(any::<u32>()),
    ) -> Properties {
        Properties::from(PropertyFields {
            payload_format: format, message_expiry_interval: expiry, content_type: content,
            response_topic: response, correlation_data: correlation, user_properties,
            subscription_identifiers: if publish { sub_ids } else { vec![] },
            topic_alias: if publish { alias } else { None },
            will_delay_interval: if publish { None } else { delay },
            ..PropertyFields::default()
        })
    }
}

prop_compose! {
    fn connect_props(connack: bool)(
        session in of(any::<u32>()), method in of(text()), data in of(bin()),
        flags in (of(any::<bool>()), of(any::<bool>())), receive in of(nz16()),
        alias_max in of(any::<u16>()), max_size in of(1..=u32::MAX), user_properties in users(),
        server in (of(text()), of(any::<u16>()), of(text()), of(text()), of(text())),
        caps in (of(prop_oneof![Just(QoS::AtMostOnce), Just(QoS::AtLeastOnce)]), of(any::<bool>()),
                 of(any::<bool>()), of(any::<bool>()), of(any::<bool>())),
    ) -> Properties {
        let mut p = Properties::from(PropertyFields {
            session_expiry_interval: session, authentication_method: method, authentication_data: data,
            receive_maximum: receive, topic_alias_maximum: alias_max,
            maximum_packet_size: max_size.and_then(NonZeroU32::new), user_properties,
            ..PropertyFields::default()
        });
        if connack {
            (p.assigned_client_identifier, p.server_keep_alive, p.response_information,
             p.server_reference, p.reason_string) = server;
            (p.maximum_qos, p.retain_available, p.wildcard_subscription_available,
             p.subscription_identifier_available, p.shared_subscription_available) = caps;
        } else {
            (p.request_problem_information, p.request_response_information) = flags;
        }
        p
    }
}

prop_compose! {
    fn reason_props()(reason in of(text()), user_properties in users()) -> Properties {
        Properties::from(PropertyFields { reason_string: reason, user_properties, ..PropertyFields::default() })
    }
}

prop_compose! {
    fn will(v5: bool)(topic in topic(), payload in bin(), qos in qos(), retain in any::<bool>(),
                      props in message_props(false)) -> Will {
        Will { topic, payload, qos, retain, properties: if v5 { props } else { Properties::default() } }
    }
}

prop_compose! {
    fn connect(version: ProtocolVersion)(
        clean_start in any::<bool>(), keep_alive in any::<u16>(), client_id in text(),
        will in of(will(version == ProtocolVersion::V5)), username in of(text()), password in of(bin()),
        props in connect_props(false),
    ) -> Packet {
        let v5 = version == ProtocolVersion::V5;
        let password = if v5 || username.is_some() { password } else { None };
        let properties = if v5 { props } else { Properties::default() };
        Packet::Connect(Box::new(Connect { protocol: version, clean_start, keep_alive, client_id, will, username, password, properties }))
    }
}

prop_compose! {
    fn publish(v5: bool)(qos in qos(), dup in any::<bool>(), retain in any::<bool>(), topic in topic(),
                         id in 1..=u16::MAX, payload in bin(), props in message_props(true)) -> Packet {
        let qos0 = qos == QoS::AtMostOnce;
        Packet::Publish(Publish {
            dup: dup && !qos0, qos, retain, topic: topic.into(), packet_id: if qos0 { 0 } else { id }, payload,
            properties: if v5 { props } else { Properties::default() },
        })
    }
}

fn ack(kind: PacketKind, v5: bool) -> impl Strategy<Value = Ack> {
    (1..=u16::MAX, reason_in(kind), reason_props()).prop_map(move |(packet_id, reason, properties)| {
        if v5 { Ack { packet_id, reason, properties } } else { Ack { packet_id, ..Ack::default() } }
    })
}

prop_compose! {
    fn subscribe(v5: bool)(id in 1..=u16::MAX, filters in vec((topic(), qos(), any::<bool>(), any::<bool>(), 0..3u8), 1..4),
                           sub_id in of(sub_id()), user_properties in users()) -> Packet {
        let subscriptions = filters.into_iter().map(|(filter, qos, no_local, rap, rh)| {
            let retain_handling = [RetainHandling::SendAtSubscribe, RetainHandling::SendIfNew, RetainHandling::DoNotSend][usize::from(rh)];
            let options = if v5 {
                SubscriptionOptions { qos, no_local, retain_as_published: rap, retain_handling }
            } else {
                SubscriptionOptions { qos, ..SubscriptionOptions::default() }
            };
            Subscription { filter, options }
        }).collect();
        let properties = if v5 {
            Properties::from(PropertyFields { subscription_identifiers: sub_id.into_iter().collect(), user_properties, ..PropertyFields::default() })
        } else { Properties::default() };
        Packet::Subscribe(Subscribe { packet_id: id, subscriptions, properties })
    }
}

fn packet(version: ProtocolVersion) -> BoxedStrategy<Packet> {
    let v5 = version == ProtocolVersion::V5;
    let props = move |p: Properties| if v5 { p } else { Properties::default() };
    let suback_reason = if v5 {
        reason_in(PacketKind::SubAck).boxed()
    } else {
        proptest::sample::select(vec![
            ReasonCode::Success,
            ReasonCode::GrantedQoS1,
            ReasonCode::GrantedQoS2,
            ReasonCode::UnspecifiedError,
        ])
        .boxed()
    };
    let connack_reason = if v5 {
        reason_in(PacketKind::ConnAck).boxed()
    } else {
        proptest::sample::select((0..6).map(|c| ReasonCode::from_v311_connack(c).expect("0-5")).collect::<Vec<_>>())
            .boxed()
    };
    let mut choices = vec![
        connect(version).boxed(),
        (any::<bool>(), connack_reason, connect_props(true))
            .prop_map(move |(session_present, reason, p)| {
                Packet::ConnAck(ConnAck { session_present, reason, properties: props(p) })
            })
            .boxed(),
        publish(v5).boxed(),
        ack(PacketKind::PubAck, v5).prop_map(Packet::PubAck).boxed(),
        ack(PacketKind::PubRec, v5).prop_map(Packet::PubRec).boxed(),
        ack(PacketKind::PubRel, v5).prop_map(Packet::PubRel).boxed(),
        ack(PacketKind::PubComp, v5).prop_map(Packet::PubComp).boxed(),
        subscribe(v5).boxed(),
        (1..=u16::MAX, vec(suback_reason, 1..4), reason_props())
            .prop_map(move |(packet_id, reasons, p)| {
                Packet::SubAck(SubAck { packet_id, reasons, properties: props(p) })
            })
            .boxed(),
        (1..=u16::MAX, vec(text(), 1..4), users())
            .prop_map(move |(packet_id, filters, user_properties)| {
                let p = Properties::from(PropertyFields { user_properties, ..PropertyFields::default() });
                Packet::Unsubscribe(Unsubscribe { packet_id, filters, properties: props(p) })
            })
            .boxed(),
        (1..=u16::MAX, vec(reason_in(PacketKind::UnsubAck), 1..4), reason_props())
            .prop_map(move |(packet_id, reasons, p)| {
                Packet::UnsubAck(UnsubAck {
                    packet_id,
                    reasons: if v5 { reasons } else { vec![] },
                    properties: props(p),
                })
            })
            .boxed(),
        Just(Packet::PingReq).boxed(),
        Just(Packet::PingResp).boxed(),
        (reason_in(PacketKind::Disconnect), reason_props(), of(any::<u32>()), of(text()))
            .prop_map(move |(reason, p, expiry, server)| {
                let p = Properties::from(PropertyFields {
                    session_expiry_interval: expiry,
                    server_reference: server,
                    ..p.into_fields()
                });
                let reason = if v5 { reason } else { ReasonCode::Success };
                Packet::Disconnect(Disconnect { reason, properties: props(p) })
            })
            .boxed(),
    ];
    if v5 {
        choices.push(
            (reason_in(PacketKind::Auth), reason_props(), of(text()), of(bin()))
                .prop_map(|(reason, p, method, data)| {
                    let properties = Properties::from(PropertyFields {
                        authentication_method: method,
                        authentication_data: data,
                        ..p.into_fields()
                    });
                    Packet::Auth(Auth { reason, properties })
                })
                .boxed(),
        );
    }
    proptest::strategy::Union::new(choices).boxed()
}

fn version() -> impl Strategy<Value = ProtocolVersion> {
    prop_oneof![Just(ProtocolVersion::V311), Just(ProtocolVersion::V5)]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn generated_packets_round_trip((version, packet) in version().prop_flat_map(|v| (Just(v), packet(v)))) {
        let mut buf = BytesMut::new();
        encode(&packet, version, &mut buf).expect("generated packets are encodable");
        let split = buf.len() / 2;
        let mut partial = BytesMut::from(&buf[..split]);
        prop_assert_eq!(decode(&mut partial, version, u32::MAX), Ok(None));
        prop_assert_eq!(decode(&mut buf, version, u32::MAX), Ok(Some(packet)));
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in vec(any::<u8>(), 0..64), version in version(), max in 0..128u32) {
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(packet)) = decode(&mut buf, version, max) {
            let mut wire = BytesMut::new();
            prop_assert!(encode(&packet, version, &mut wire).is_ok());
        }
        let _ = connect_protocol_level(&bytes);
    }
}
