//! Arbitrary bytes into `decode` for both versions: it must never panic, and
//! whatever decodes must re-encode and decode to an equal packet.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use mqtt_codec::{ProtocolVersion, decode, encode};

fuzz_target!(|data: &[u8]| {
    for version in [ProtocolVersion::V311, ProtocolVersion::V5] {
        let mut buf = BytesMut::from(data);
        while let Ok(Some(packet)) = decode(&mut buf, version, u32::MAX) {
            let mut wire = BytesMut::new();
            encode(&packet, version, &mut wire).expect("a decoded packet re-encodes");
            let again = decode(&mut wire, version, u32::MAX).expect("re-decodes").expect("whole");
            assert_eq!(again, packet);
            assert!(wire.is_empty());
        }
    }
});
