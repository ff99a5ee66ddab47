//! Every packet type, both versions: encode → decode gives the same packet,
//! at every split point of the input, and back to back in one buffer.

mod common;

use bytes::BytesMut;
use common::{round_trip, samples};
use mqtt_codec::*;

const VERSIONS: [ProtocolVersion; 2] = [ProtocolVersion::V311, ProtocolVersion::V5];

#[test]
fn every_packet_type_round_trips_in_both_versions() {
    for version in VERSIONS {
        let packets = samples(version);
        let expected = if version == ProtocolVersion::V5 { 15 } else { 14 };
        assert_eq!(packets.len(), expected);
        for packet in packets {
            assert_eq!(round_trip(&packet, version), packet, "{version:?}");
        }
    }
}

#[test]
fn minimal_v5_packets_round_trip() {
    let v5 = ProtocolVersion::V5;
    for packet in [
        Packet::PubAck(Ack { packet_id: 1, ..Ack::default() }),
        Packet::PubRel(Ack { packet_id: 1, reason: ReasonCode::PacketIdentifierNotFound, ..Ack::default() }),
        Packet::Disconnect(Disconnect::default()),
        Packet::Auth(Auth::default()),
        Packet::ConnAck(ConnAck::default()),
    ] {
        assert_eq!(round_trip(&packet, v5), packet);
    }
}

#[test]
fn partial_input_at_every_split_point() {
    for version in VERSIONS {
        for packet in samples(version) {
            let mut wire = BytesMut::new();
            encode(&packet, version, &mut wire).expect("encodes");
            for split in 0..wire.len() {
                let mut buf = BytesMut::from(&wire[..split]);
                assert_eq!(decode(&mut buf, version, u32::MAX), Ok(None), "{:?} split {split}", packet.kind());
                assert_eq!(buf.len(), split, "partial input must not be consumed");
                buf.extend_from_slice(&wire[split..]);
                assert_eq!(decode(&mut buf, version, u32::MAX), Ok(Some(packet.clone())));
            }
        }
    }
}

#[test]
fn back_to_back_packets_decode_one_at_a_time() {
    for version in VERSIONS {
        let packets = samples(version);
        let mut buf = BytesMut::new();
        for packet in &packets {
            encode(packet, version, &mut buf).expect("encodes");
        }
        for packet in &packets {
            assert_eq!(decode(&mut buf, version, u32::MAX).as_ref(), Ok(&Some(packet.clone())));
        }
        assert_eq!(decode(&mut buf, version, u32::MAX), Ok(None));
    }
}

#[test]
fn v311_drops_v5_only_fields() {
    let v5_samples = samples(ProtocolVersion::V5);
    let v311 = ProtocolVersion::V311;
    let Packet::Disconnect(disconnect) = &v5_samples[13] else { panic!("sample order") };
    let packet = Packet::Disconnect(disconnect.clone());
    assert_eq!(round_trip(&packet, v311), Packet::Disconnect(Disconnect::default()));
    let Packet::PubAck(ack) = &v5_samples[3] else { panic!("sample order") };
    let decoded = round_trip(&Packet::PubAck(ack.clone()), v311);
    assert_eq!(decoded, Packet::PubAck(Ack { packet_id: ack.packet_id, ..Ack::default() }));
}

#[test]
fn encode_refuses_what_cannot_be_sent() {
    let v5 = ProtocolVersion::V5;
    let mut out = BytesMut::from(&b"before"[..]);
    let long = "x".repeat(65_536);
    let cases: Vec<(Packet, ProtocolVersion, EncodeError)> = vec![
        (Packet::Auth(Auth::default()), ProtocolVersion::V311, EncodeError::NotInVersion),
        (Packet::Publish(Publish { topic: long.into(), ..Publish::default() }), v5, EncodeError::FieldTooLong(65_536)),
        (Packet::Publish(Publish { topic: "a/#".into(), ..Publish::default() }), v5, EncodeError::InvalidTopic),
        (Packet::Publish(Publish::default()), v5, EncodeError::InvalidTopic),
        (
            Packet::Publish(Publish { topic: "a".into(), packet_id: 1, ..Publish::default() }),
            v5,
            EncodeError::PacketIdOnQos0,
        ),
        (
            Packet::Publish(Publish { topic: "a".into(), qos: QoS::AtLeastOnce, ..Publish::default() }),
            v5,
            EncodeError::ZeroPacketId,
        ),
        (Packet::Publish(Publish { topic: "a".into(), dup: true, ..Publish::default() }), v5, EncodeError::DupOnQos0),
        (Packet::PubAck(Ack::default()), v5, EncodeError::ZeroPacketId),
        (
            Packet::PubComp(Ack { packet_id: 1, reason: ReasonCode::QuotaExceeded, ..Ack::default() }),
            v5,
            EncodeError::ReasonNotAllowed { code: 0x97, packet: "PUBCOMP" },
        ),
        (Packet::Subscribe(Subscribe { packet_id: 1, ..Subscribe::default() }), v5, EncodeError::NoTopicFilters),
        (
            Packet::Disconnect(Disconnect {
                properties: Properties::from(PropertyFields {
                    topic_alias_maximum: Some(1),
                    ..PropertyFields::default()
                }),
                ..Disconnect::default()
            }),
            v5,
            EncodeError::PropertyNotAllowed { id: 0x22, packet: "DISCONNECT" },
        ),
        (
            Packet::ConnAck(ConnAck {
                properties: Properties::from(PropertyFields {
                    maximum_qos: Some(QoS::ExactlyOnce),
                    ..PropertyFields::default()
                }),
                ..ConnAck::default()
            }),
            v5,
            EncodeError::InvalidPropertyValue(0x24),
        ),
    ];
    for (packet, version, expected) in cases {
        assert_eq!(encode(&packet, version, &mut out), Err(expected), "{packet:?}");
        assert_eq!(&out[..], b"before", "nothing written on error, nothing before it touched");
    }
}

#[test]
fn remaining_lengths_of_one_to_four_bytes_encode_after_what_is_there() {
    // A PUBLISH "t" at QoS 0 in 3.1.1: 3 bytes of topic, then the payload.
    for remaining in [0usize, 127, 128, 16_383, 16_384, 2_097_151, 2_097_152] {
        let Some(payload_len) = remaining.checked_sub(3) else { continue };
        let publish = Publish { topic: "t".into(), payload: vec![7u8; payload_len].into(), ..Publish::default() };
        let mut out = BytesMut::from(&b"ab"[..]);
        encode(&Packet::Publish(publish.clone()), ProtocolVersion::V311, &mut out).expect("encodes");
        let header = 1 + [127, 16_383, 2_097_151].iter().filter(|max| remaining > **max).count() + 1;
        assert_eq!(out.len(), 2 + header + remaining, "remaining {remaining}");
        assert_eq!(&out[..2], b"ab");
        let mut rest = out.split_off(2);
        let decoded = decode(&mut rest, ProtocolVersion::V311, u32::MAX).expect("decodes").expect("whole");
        assert_eq!(decoded, Packet::Publish(publish), "remaining {remaining}");
        assert!(rest.is_empty());
    }
}

#[test]
fn v311_connack_and_suback_codes_map_onto_reason_codes() {
    let v311 = ProtocolVersion::V311;
    let connack = |reason| Packet::ConnAck(ConnAck { reason, ..ConnAck::default() });
    // Codes 3.1.1 lacks come back as the closest one it has.
    assert_eq!(round_trip(&connack(ReasonCode::Banned), v311), connack(ReasonCode::NotAuthorized));
    assert_eq!(round_trip(&connack(ReasonCode::ServerBusy), v311), connack(ReasonCode::ServerUnavailable));
    let suback = |reasons| Packet::SubAck(SubAck { packet_id: 9, reasons, ..SubAck::default() });
    assert_eq!(round_trip(&suback(vec![ReasonCode::NotAuthorized]), v311), suback(vec![ReasonCode::UnspecifiedError]));
}
