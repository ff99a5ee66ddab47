//! AMQP message properties as engine headers and back, so that they cross
//! to MQTT and WebSocket clients and return intact:
//!
//! * the `headers` table ↔ headers of the same name (values as text;
//!   names starting `x-mqtt-` are the MQTT adapter's and are not taken);
//! * `content_type` ↔ `content-type` (MQTT 5's content type);
//! * `correlation_id` ↔ MQTT 5's correlation data, `reply_to` ↔ its
//!   response topic (as RabbitMQ's MQTT plugin maps them);
//! * `expiration` → the engine's TTL, MQTT 5's message expiry, and
//!   `x-amqp-expiration` to hand back as it was;
//! * the other properties ↔ `x-amqp-<name>`.

use crate::mqtt::properties::{hex, unhex};
use amq_protocol::protocol::basic::AMQPProperties;
use amq_protocol::types::{AMQPValue, FieldTable, LongString, ShortString};
use queue_core::message::Headers;

// The MQTT adapter's names, so that MQTT 5 clients see the same properties.
use crate::mqtt::properties::{
    CONTENT_TYPE, CORRELATION, EXPIRY as MQTT_EXPIRY, PREFIX as MQTT_PREFIX, RESPONSE_TOPIC,
};
const EXPIRATION: &str = "x-amqp-expiration";
const CONTENT_ENCODING: &str = "x-amqp-content-encoding";
const DELIVERY_MODE: &str = "x-amqp-delivery-mode";
const PRIORITY: &str = "x-amqp-priority";
const MESSAGE_ID: &str = "x-amqp-message-id";
const TIMESTAMP: &str = "x-amqp-timestamp";
const TYPE: &str = "x-amqp-type";
const USER_ID: &str = "x-amqp-user-id";
const APP_ID: &str = "x-amqp-app-id";
const CLUSTER_ID: &str = "x-amqp-cluster-id";

/// An `expiration` that is not a number of milliseconds.
#[derive(Debug, PartialEq, Eq)]
pub struct BadExpiration(pub String);

/// The headers and TTL (ms) of a publish with `properties`.
pub fn to_headers(properties: &AMQPProperties) -> Result<(Headers, Option<u64>), BadExpiration> {
    let mut headers = Headers::new();
    if let Some(table) = properties.headers() {
        for (name, value) in table {
            if !name.as_str().to_ascii_lowercase().starts_with(MQTT_PREFIX) {
                headers.insert(name.to_string(), text(value));
            }
        }
    }
    let mut put = |name: &str, value: Option<String>| {
        if let Some(value) = value {
            headers.insert(name.to_owned(), value);
        }
    };
    let short = |s: &Option<ShortString>| s.as_ref().map(|s| s.to_string());
    put(CONTENT_TYPE, short(properties.content_type()));
    put(CONTENT_ENCODING, short(properties.content_encoding()));
    put(DELIVERY_MODE, properties.delivery_mode().map(|m| m.to_string()));
    put(PRIORITY, properties.priority().map(|p| p.to_string()));
    put(CORRELATION, properties.correlation_id().as_ref().map(|c| hex(c.as_str().as_bytes())));
    put(RESPONSE_TOPIC, short(properties.reply_to()));
    put(MESSAGE_ID, short(properties.message_id()));
    put(TIMESTAMP, properties.timestamp().map(|t| t.to_string()));
    put(TYPE, short(properties.kind()));
    put(USER_ID, short(properties.user_id()));
    put(APP_ID, short(properties.app_id()));
    put(CLUSTER_ID, short(properties.cluster_id()));
    let ttl = match properties.expiration() {
        None => None,
        Some(text) => {
            let ms: u64 = text.as_str().parse().map_err(|_| BadExpiration(text.to_string()))?;
            headers.insert(EXPIRATION.to_owned(), text.to_string());
            headers.insert(MQTT_EXPIRY.to_owned(), ms.div_ceil(1000).to_string());
            Some(ms)
        }
    };
    Ok((headers, ttl))
}

/// The properties of a delivery with `headers`.
pub fn from_headers(headers: &Headers) -> AMQPProperties {
    let mut p = AMQPProperties::default();
    let mut table = FieldTable::default();
    let mut expiry_seconds = None;
    for (name, value) in headers {
        let short = || short(value);
        match name.as_str() {
            CONTENT_TYPE => p = p.with_content_type(short()),
            CONTENT_ENCODING => p = p.with_content_encoding(short()),
            DELIVERY_MODE => {
                if let Ok(mode) = value.parse() {
                    p = p.with_delivery_mode(mode);
                }
            }
            PRIORITY => {
                if let Ok(priority) = value.parse() {
                    p = p.with_priority(priority);
                }
            }
            CORRELATION => {
                if let Some(id) = unhex(value).and_then(|bytes| String::from_utf8(bytes).ok()) {
                    p = p.with_correlation_id(self::short(&id));
                }
            }
            RESPONSE_TOPIC => p = p.with_reply_to(short()),
            MESSAGE_ID => p = p.with_message_id(short()),
            TIMESTAMP => {
                if let Ok(t) = value.parse() {
                    p = p.with_timestamp(t);
                }
            }
            TYPE => p = p.with_type(short()),
            USER_ID => p = p.with_user_id(short()),
            APP_ID => p = p.with_app_id(short()),
            CLUSTER_ID => p = p.with_cluster_id(short()),
            EXPIRATION => p = p.with_expiration(short()),
            MQTT_EXPIRY => expiry_seconds = value.parse::<u64>().ok(),
            name if name.starts_with(MQTT_PREFIX) => {}
            name => {
                table.insert(self::short(name), AMQPValue::LongString(LongString::from(value.as_bytes())));
            }
        }
    }
    if p.expiration().is_none()
        && let Some(seconds) = expiry_seconds
    {
        // From an MQTT 5 publisher: its expiry, in AMQP's milliseconds.
        p = p.with_expiration(short(&seconds.saturating_mul(1000).to_string()));
    }
    if !table.inner().is_empty() {
        p = p.with_headers(table);
    }
    p
}

/// `text` as an AMQP short string: cut to its 255 bytes (at a character).
pub fn short(text: &str) -> ShortString {
    let mut end = text.len().min(255);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    ShortString::try_new(&text[..end]).unwrap_or_default()
}

/// A header table value as text.
fn text(value: &AMQPValue) -> String {
    match value {
        AMQPValue::LongString(s) => String::from_utf8_lossy(s.as_bytes()).into_owned(),
        AMQPValue::ShortString(s) => s.to_string(),
        AMQPValue::Boolean(b) => b.to_string(),
        AMQPValue::ShortShortInt(n) => n.to_string(),
        AMQPValue::ShortShortUInt(n) => n.to_string(),
        AMQPValue::ShortInt(n) => n.to_string(),
        AMQPValue::ShortUInt(n) => n.to_string(),
        AMQPValue::LongInt(n) => n.to_string(),
        AMQPValue::LongUInt(n) => n.to_string(),
        AMQPValue::LongLongInt(n) => n.to_string(),
        AMQPValue::Float(n) => n.to_string(),
        AMQPValue::Double(n) => n.to_string(),
        AMQPValue::Timestamp(n) => n.to_string(),
        AMQPValue::ByteArray(b) => hex(b.as_slice()),
        AMQPValue::Void => String::new(),
        other => serde_json::to_string(other).unwrap_or_default(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_property_survives_the_round_trip_through_headers() {
        let mut table = FieldTable::default();
        table.insert("room".into(), AMQPValue::LongString("hall".into()));
        table.insert("count".into(), AMQPValue::LongInt(3));
        table.insert("x-mqtt-retain".into(), AMQPValue::LongString("1".into()));
        let sent = AMQPProperties::default()
            .with_content_type("application/json".into())
            .with_content_encoding("gzip".into())
            .with_headers(table)
            .with_delivery_mode(2)
            .with_priority(5)
            .with_correlation_id("req-7".into())
            .with_reply_to("amq.gen-reply".into())
            .with_expiration("60000".into())
            .with_message_id("m-1".into())
            .with_timestamp(1_700_000_000)
            .with_type("reading".into())
            .with_user_id("guest".into())
            .with_app_id("thermostat".into());
        let (headers, ttl) = to_headers(&sent).expect("valid");
        assert_eq!(ttl, Some(60_000));
        assert!(!headers.contains_key("x-mqtt-retain"), "the MQTT adapter's headers are not a publisher's");
        assert_eq!(headers[MQTT_EXPIRY], "60", "MQTT 5 subscribers see the expiry");
        let back = from_headers(&headers);
        let mut expected_table = FieldTable::default();
        expected_table.insert("count".into(), AMQPValue::LongString("3".into()));
        expected_table.insert("room".into(), AMQPValue::LongString("hall".into()));
        let expected = AMQPProperties::default()
            .with_content_type("application/json".into())
            .with_content_encoding("gzip".into())
            .with_headers(expected_table)
            .with_delivery_mode(2)
            .with_priority(5)
            .with_correlation_id("req-7".into())
            .with_reply_to("amq.gen-reply".into())
            .with_expiration("60000".into())
            .with_message_id("m-1".into())
            .with_timestamp(1_700_000_000)
            .with_type("reading".into())
            .with_user_id("guest".into())
            .with_app_id("thermostat".into());
        assert_eq!(back, expected);
    }

    #[test]
    fn an_expiration_that_is_not_milliseconds_is_refused() {
        let p = AMQPProperties::default().with_expiration("soon".into());
        assert_eq!(to_headers(&p), Err(BadExpiration("soon".into())));
        let p = AMQPProperties::default().with_expiration("-1".into());
        assert!(to_headers(&p).is_err());
    }

    #[test]
    fn mqtt_properties_arrive_as_amqp_ones() {
        let headers: Headers = [
            ("content-type", "text/plain"),
            (CORRELATION, "6162"),
            (RESPONSE_TOPIC, "reply/here"),
            (MQTT_EXPIRY, "5"),
            ("x-mqtt-publisher", "lamp"),
            ("room", "hall"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
        let p = from_headers(&headers);
        assert_eq!(p.content_type().as_ref().map(ShortString::as_str), Some("text/plain"));
        assert_eq!(p.correlation_id().as_ref().map(ShortString::as_str), Some("ab"));
        assert_eq!(p.reply_to().as_ref().map(ShortString::as_str), Some("reply/here"));
        assert_eq!(p.expiration().as_ref().map(ShortString::as_str), Some("5000"));
        let table = p.headers().as_ref().expect("user properties as headers");
        assert_eq!(table.inner().len(), 1, "the MQTT adapter's own headers stay behind");
    }

    #[test]
    fn long_texts_are_cut_at_a_character_to_fit_a_short_string() {
        let long = "é".repeat(200);
        let cut = short(&long);
        assert_eq!(cut.as_str().len(), 254);
        assert!(cut.as_str().chars().all(|c| c == 'é'));
    }
}
