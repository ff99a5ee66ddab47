//! MQTT 5 PUBLISH properties as engine headers and back, so that they
//! survive the engine and reach native clients as headers:
//!
//! * user properties ↔ headers of the same name (a repeated name keeps its
//!   last value; names starting `x-mqtt-` are the broker's own);
//! * content type ↔ `content-type`; payload format ↔ `x-mqtt-payload-format`;
//! * response topic ↔ `x-mqtt-response-topic`; correlation data ↔
//!   `x-mqtt-correlation-data` (hex);
//! * message expiry interval → the engine's TTL, and is forwarded with the
//!   time left (from `x-mqtt-message-expiry` and the publish time);
//! * the retain flag → `x-mqtt-retain`, for retain-as-published;
//! * the publisher's client id → `x-mqtt-publisher`, for no-local (MQTT 5
//!   publishers only).

use mqtt_codec::{PayloadFormat, Properties, Publish};
use queue_core::message::Headers;
use std::fmt::Write;

pub(crate) const PREFIX: &str = "x-mqtt-";
pub(crate) const CONTENT_TYPE: &str = "content-type";
const PAYLOAD_FORMAT: &str = "x-mqtt-payload-format";
pub(crate) const RESPONSE_TOPIC: &str = "x-mqtt-response-topic";
pub(crate) const CORRELATION: &str = "x-mqtt-correlation-data";
pub(crate) const EXPIRY: &str = "x-mqtt-message-expiry";
/// Header set when the message was published with the retain flag.
pub const RETAIN: &str = "x-mqtt-retain";
/// Header naming the MQTT client that published the message.
pub const PUBLISHER: &str = "x-mqtt-publisher";

/// Adds `publish`'s properties (and retain flag and publisher) to
/// `headers`; returns the engine TTL its message expiry asks for. The
/// publisher is only needed for no-local, an MQTT 5 option of the
/// publisher's own session: 3.1.1 publishes pass `None` and save a header
/// per message.
pub fn to_headers(publish: &Publish, publisher: Option<&str>, headers: &mut Headers) -> Option<u64> {
    let p = &publish.properties;
    for (name, value) in &p.user_properties {
        if !name.starts_with(PREFIX) {
            headers.insert(name.clone(), value.clone());
        }
    }
    let mut put = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            headers.insert(name.to_owned(), value);
        }
    };
    put(CONTENT_TYPE, p.content_type.clone());
    put(PAYLOAD_FORMAT, p.payload_format.map(|f| (f as u8).to_string()));
    put(RESPONSE_TOPIC, p.response_topic.clone());
    put(CORRELATION, p.correlation_data.as_ref().map(|d| hex(d)));
    put(EXPIRY, p.message_expiry_interval.map(|s| s.to_string()));
    put(RETAIN, publish.retain.then(|| "1".to_owned()));
    put(PUBLISHER, publisher.map(str::to_owned));
    p.message_expiry_interval.map(|s| u64::from(s) * 1000)
}

/// Whether `publish` gives [`to_headers`] nothing of its own to record: no
/// properties it maps, no retain flag, no TTL. Such PUBLISHes of one QoS
/// from one client all have the same headers.
pub fn is_plain(publish: &Publish) -> bool {
    let p = &publish.properties;
    !publish.retain
        && p.user_properties.is_empty()
        && p.content_type.is_none()
        && p.payload_format.is_none()
        && p.response_topic.is_none()
        && p.correlation_data.is_none()
        && p.message_expiry_interval.is_none()
}

/// The PUBLISH properties for a delivery with `headers`, published at
/// `published_at` and delivered at `now` (ms).
pub fn from_headers(headers: &Headers, published_at: u64, now: u64) -> Properties {
    let mut p = Properties::default();
    for (name, value) in headers {
        match name.as_str() {
            CONTENT_TYPE => p.content_type = Some(value.clone()),
            PAYLOAD_FORMAT => p.payload_format = (value == "1").then_some(PayloadFormat::Utf8),
            RESPONSE_TOPIC => p.response_topic = Some(value.clone()),
            CORRELATION => p.correlation_data = unhex(value).map(Into::into),
            EXPIRY => p.message_expiry_interval = value.parse::<u64>().ok().map(|s| remaining(s, published_at, now)),
            name if name.starts_with(PREFIX) => {}
            _ => p.user_properties.push((name.clone(), value.clone())),
        }
    }
    p
}

/// Seconds left of an expiry of `seconds` (at least 1: it has not expired yet).
fn remaining(seconds: u64, published_at: u64, now: u64) -> u32 {
    let left_ms = seconds.saturating_mul(1000).saturating_sub(now.saturating_sub(published_at));
    u32::try_from(left_ms.div_ceil(1000).max(1)).unwrap_or(u32::MAX)
}

/// `bytes` as lowercase hex (correlation data in a header).
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// The bytes of lowercase or uppercase hex `text`, if it is hex.
pub(crate) fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn the_expiry_left_saturates_for_the_largest_header_value() {
        // Found by the `mqtt_session` fuzz target: `seconds * 1000` overflowed.
        assert_eq!(remaining(u64::MAX, 5, 5), u32::MAX);
        assert_eq!(remaining(u64::MAX, 0, u64::MAX), 1);
        assert_eq!(remaining(10, 1_000, 4_500), 7);
        assert_eq!(remaining(1, 0, 5_000), 1, "not expired yet reads as 1 s");
    }

    #[test]
    fn a_plain_publish_adds_nothing_but_its_publisher_and_any_property_makes_it_not_plain() {
        let plain =
            super::super::session::publish_packet(&"a".into(), Bytes::new(), mqtt_codec::QoS::AtMostOnce, false, 0);
        assert!(is_plain(&plain));
        let mut headers = Headers::new();
        assert_eq!(to_headers(&plain, Some("lamp"), &mut headers), None);
        assert_eq!(headers, Headers::from([(PUBLISHER.to_owned(), "lamp".to_owned())]));
        let retained = Publish { retain: true, ..plain.clone() };
        let mut expiring = plain.clone();
        expiring.properties.message_expiry_interval = Some(1);
        let mut typed = plain.clone();
        typed.properties.content_type = Some("text/plain".into());
        let mut tagged = plain;
        tagged.properties.user_properties.push(("k".into(), "v".into()));
        assert!([retained, expiring, typed, tagged].iter().all(|p| !is_plain(p)));
    }

    #[test]
    fn properties_survive_the_round_trip_through_headers() {
        let mut publish = super::super::session::publish_packet(
            &"a/b".into(),
            Bytes::from_static(b"x"),
            mqtt_codec::QoS::AtLeastOnce,
            true,
            1,
        );
        let p = &mut publish.properties;
        p.user_properties = vec![("room".into(), "hall".into()), ("x-mqtt-qos".into(), "ignored".into())];
        p.content_type = Some("application/json".into());
        p.payload_format = Some(PayloadFormat::Utf8);
        p.response_topic = Some("reply/me".into());
        p.correlation_data = Some(Bytes::from_static(&[0, 0xAB, 7]));
        p.message_expiry_interval = Some(10);
        let mut headers = Headers::new();
        assert_eq!(to_headers(&publish, Some("lamp"), &mut headers), Some(10_000));
        assert_eq!(
            (headers["room"].as_str(), headers[RETAIN].as_str(), headers[PUBLISHER].as_str()),
            ("hall", "1", "lamp")
        );
        let back = from_headers(&headers, 1_000, 4_500);
        assert_eq!(back.user_properties, [("room".to_owned(), "hall".to_owned())]);
        assert_eq!(back.content_type.as_deref(), Some("application/json"));
        assert_eq!(back.payload_format, Some(PayloadFormat::Utf8));
        assert_eq!(back.response_topic.as_deref(), Some("reply/me"));
        assert_eq!(back.correlation_data.as_deref(), Some(&[0, 0xAB, 7][..]));
        assert_eq!(back.message_expiry_interval, Some(7), "10 s less the 3.5 s it waited, rounded up");
        assert_eq!(unhex("zz"), None);
    }
}
