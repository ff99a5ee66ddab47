//! Broken input gives the right error and the right reason code, never a panic.

use bytes::BytesMut;
use mqtt_codec::*;

const V311: ProtocolVersion = ProtocolVersion::V311;
const V5: ProtocolVersion = ProtocolVersion::V5;

fn hex(s: &str) -> Vec<u8> {
    let digits: Vec<u8> = s.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).expect("ascii"), 16).expect("hex"))
        .collect()
}

fn err(version: ProtocolVersion, wire: &str) -> DecodeError {
    let mut buf = BytesMut::from(&hex(wire)[..]);
    decode(&mut buf, version, 1 << 20).expect_err(wire)
}

#[test]
fn framing_errors_are_malformed() {
    use DecodeError::*;
    let cases = [
        (V5, "00 00", ReservedPacketType(0)),
        (V311, "f0 00", ReservedPacketType(15)),
        (V5, "41 02 0001", BadFlags { packet_type: 4, flags: 1 }),
        (V5, "60 02 0001", BadFlags { packet_type: 6, flags: 0 }),
        (V5, "c0 ff ff ff ff 01", MalformedVarInt),
        (V5, "30 80 00", MalformedVarInt),
        (V311, "c0 01 00", TrailingBytes),
        (V311, "40 03 0001 00", TrailingBytes),
        (V5, "40 04 0001 00 05", UnexpectedEof),
        (V5, "30 04 0002 c328", InvalidUtf8),
        (V5, "30 03 0001 00", NullCharacter),
        (V5, "36 00", InvalidQos),
    ];
    for (version, wire, expected) in cases {
        let got = err(version, wire);
        assert_eq!(got, expected, "{wire}");
        assert_eq!(got.reason_code(), ReasonCode::MalformedPacket, "{wire}");
    }
}

#[test]
fn protocol_violations() {
    use DecodeError::*;
    let cases = [
        (V5, "32 07 0003 612f62 0000", ZeroPacketId, ReasonCode::ProtocolError),
        (V311, "40 02 0000", ZeroPacketId, ReasonCode::ProtocolError),
        (V5, "38 05 0003 612f62", DupOnQos0, ReasonCode::ProtocolError),
        (V311, "30 02 0000", EmptyTopic, ReasonCode::ProtocolError),
        (V5, "30 03 0000 00", EmptyTopic, ReasonCode::ProtocolError),
        (V311, "30 05 0003 612f23", WildcardInTopic, ReasonCode::TopicNameInvalid),
        (V5, "30 06 0003 2b2f62 00", WildcardInTopic, ReasonCode::TopicNameInvalid),
        (V5, "30 0e 0001 61 0a 02 00000001 02 00000002", DuplicateProperty(2), ReasonCode::ProtocolError),
        (V5, "30 07 0001 61 03 23 0000", InvalidPropertyValue(0x23), ReasonCode::TopicAliasInvalid),
        (V5, "30 06 0001 61 02 01 02", InvalidPropertyValue(0x01), ReasonCode::ProtocolError),
        (V311, "82 02 0001", NoTopicFilters, ReasonCode::ProtocolError),
        (V5, "a2 03 0001 00", NoTopicFilters, ReasonCode::ProtocolError),
        (V5, "82 09 0001 00 0003 612f62 30", InvalidRetainHandling, ReasonCode::ProtocolError),
        (V311, "82 08 0001 0003 612f62 05", ReservedBitSet, ReasonCode::MalformedPacket),
        (V5, "82 09 0001 00 0003 612f62 41", ReservedBitSet, ReasonCode::MalformedPacket),
        (V5, "82 08 0001 00 0003 612f62", UnexpectedEof, ReasonCode::MalformedPacket),
    ];
    for (version, wire, expected, code) in cases {
        let got = err(version, wire);
        assert_eq!(got, expected, "{wire}");
        assert_eq!(got.reason_code(), code, "{wire}");
    }
}

#[test]
fn properties_and_reasons_must_fit_their_packet() {
    let got = err(V5, "30 09 0001 61 05 11 00000001");
    assert_eq!(got, DecodeError::PropertyNotAllowed { id: 0x11, packet: "PUBLISH" });
    assert_eq!(got.reason_code(), ReasonCode::MalformedPacket);
    let got = err(V5, "40 03 0001 92");
    assert_eq!(got, DecodeError::InvalidReasonCode { code: 0x92, packet: "PUBACK" });
    assert_eq!(err(V5, "e0 01 03"), DecodeError::InvalidReasonCode { code: 0x03, packet: "DISCONNECT" });
    assert_eq!(err(V311, "20 02 00 06"), DecodeError::InvalidReasonCode { code: 6, packet: "CONNACK" });
    assert_eq!(err(V311, "20 02 02 00"), DecodeError::ReservedBitSet);
    assert_eq!(err(V5, "e0 04 00 02 0b 01"), DecodeError::PropertyNotAllowed { id: 0x0b, packet: "DISCONNECT" });
}

#[test]
fn connect_errors() {
    use DecodeError::*;
    // Level 3 (MQTT 3.1, "MQIsdp") and level 6 are refused as unsupported versions.
    let mqisdp = "10 0f 0006 4d5149736470 03 02 003c 0001 61";
    assert_eq!(err(V311, mqisdp), UnsupportedProtocolVersion { level: 3 });
    assert_eq!(err(V311, mqisdp).reason_code(), ReasonCode::UnsupportedProtocolVersion);
    assert_eq!(connect_protocol_level(&hex(mqisdp)), Ok(Some(3)));
    assert_eq!(err(V311, "10 0d 0004 4d515454 06 02 003c 0001 61"), UnsupportedProtocolVersion { level: 6 });
    assert_eq!(err(V311, "10 0d 0004 4d515458 04 02 003c 0001 61"), BadProtocolName);
    assert_eq!(err(V311, "10 0d 0004 4d515454 04 03 003c 0001 61"), ReservedBitSet);
    // Will QoS without the will flag; will QoS 3; password alone in 3.1.1.
    assert_eq!(err(V311, "10 0d 0004 4d515454 04 0a 003c 0001 61"), ReservedBitSet);
    assert_eq!(err(V311, "10 0d 0004 4d515454 04 1e 003c 0001 61"), InvalidQos);
    assert_eq!(err(V311, "10 11 0004 4d515454 04 42 003c 0001 61 0002 7077"), PasswordWithoutUsername);
    assert_eq!(err(V311, "10 0e 0004 4d515454 04 02 003c 0001 61 00"), TrailingBytes);
}

#[test]
fn connect_protocol_level_peeks_before_decoding() {
    let v5 = hex("10 11 0004 4d515454 05 02 003c 00 0004 74657374");
    for split in 0..9 {
        assert_eq!(connect_protocol_level(&v5[..split]), Ok(None), "split {split}");
    }
    assert_eq!(connect_protocol_level(&v5[..9]), Ok(Some(5)));
    assert_eq!(connect_protocol_level(&v5), Ok(Some(5)));
    assert_eq!(connect_protocol_level(&hex("c0 00")), Err(DecodeError::NotConnect));
}

#[test]
fn oversize_packets_are_refused_before_their_body_arrives() {
    // PUBLISH claiming 127 bytes: 129 in all, over a 100-byte limit; only 2 bytes here.
    let mut buf = BytesMut::from(&hex("30 7f")[..]);
    let got = decode(&mut buf, V5, 100).expect_err("too large");
    assert_eq!(got, DecodeError::PacketTooLarge { size: 129, max: 100 });
    assert_eq!(got.reason_code(), ReasonCode::PacketTooLarge);
    // Exactly at the limit is fine.
    let mut buf = BytesMut::from(&hex("c0 00")[..]);
    assert_eq!(decode(&mut buf, V5, 2), Ok(Some(Packet::PingReq)));
}
