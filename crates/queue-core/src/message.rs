//! Messages and their binary-safe payloads.

use base64::Engine as _;
use bytes::Bytes;
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

/// Free-form string headers carried with a message (`content-type`, `x-death-reason`, …).
pub type Headers = BTreeMap<String, String>;

/// A published message. Shared (`Arc`) between the queues it was routed to;
/// its headers are shared with its deliveries too, so delivering a message
/// never copies them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Engine-wide id, strictly increasing in publish order.
    pub id: u64,
    /// The topic it was published to (or the queue name, for a direct publish).
    pub topic: Arc<str>,
    /// The body, any bytes.
    pub payload: Payload,
    /// Headers set by the publisher or by dead-lettering.
    pub headers: SharedHeaders,
    /// When it was published (engine milliseconds).
    pub published_at: u64,
    /// Per-message time to live, in milliseconds.
    pub ttl_ms: Option<u64>,
}

impl Message {
    /// Whether its time to live has run out at `now`.
    pub fn expired(&self, now: u64) -> bool {
        self.ttl_ms.is_some_and(|ttl| now >= self.published_at.saturating_add(ttl))
    }

    /// Bytes this message costs while the engine holds it: payload, topic,
    /// headers, and the fixed size of its records. Queue byte limits and
    /// the memory budget count this for each copy a queue holds.
    pub fn footprint(&self) -> u64 {
        const FIXED: usize = std::mem::size_of::<Message>() + 64;
        let headers: usize = self.headers.iter().map(|(k, v)| k.len() + v.len() + 48).sum();
        (FIXED + self.payload.len() + self.topic.len() + headers) as u64
    }
}

/// Headers shared by a message, its deliveries and possibly many
/// publishes: cloning them is a reference count, and no headers cost no
/// allocation at all. They read as a [`Headers`] map (`Deref`) and travel
/// on the wire as one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SharedHeaders(Option<Arc<Headers>>);

/// What empty [`SharedHeaders`] read as.
static NO_HEADERS: Headers = BTreeMap::new();

impl SharedHeaders {
    /// Shares `headers` (empty ones are not allocated).
    pub fn new(headers: Headers) -> Self {
        Self((!headers.is_empty()).then(|| Arc::new(headers)))
    }

    /// A map of one's own to change (a copy when shared).
    pub fn to_headers(&self) -> Headers {
        Headers::clone(self)
    }
}

impl std::ops::Deref for SharedHeaders {
    type Target = Headers;

    fn deref(&self) -> &Headers {
        self.0.as_deref().unwrap_or(&NO_HEADERS)
    }
}

impl From<Headers> for SharedHeaders {
    fn from(headers: Headers) -> Self {
        Self::new(headers)
    }
}

impl Serialize for SharedHeaders {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        Headers::serialize(self, serializer)
    }
}

impl<'de> Deserialize<'de> for SharedHeaders {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Headers::deserialize(deserializer).map(Self::new)
    }
}

/// A binary-safe payload.
///
/// On the wire it is a JSON string when the bytes are UTF-8 (the common case,
/// readable in logs and dev tools) and `{"base64": "…"}` otherwise, so every
/// byte sequence survives the round trip.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct Payload(pub Bytes);

impl Payload {
    /// The bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether the payload is empty (an empty retained publish clears the topic).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The payload as text, if it is UTF-8.
    pub fn as_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.0).ok()
    }
}

impl From<&str> for Payload {
    fn from(text: &str) -> Self {
        Self(Bytes::copy_from_slice(text.as_bytes()))
    }
}

impl From<String> for Payload {
    fn from(text: String) -> Self {
        Self(Bytes::from(text))
    }
}

impl From<Vec<u8>> for Payload {
    fn from(bytes: Vec<u8>) -> Self {
        Self(Bytes::from(bytes))
    }
}

impl From<&[u8]> for Payload {
    fn from(bytes: &[u8]) -> Self {
        Self(Bytes::copy_from_slice(bytes))
    }
}

impl Serialize for Payload {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(&self.0) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => {
                use serde::ser::SerializeMap;
                let mut map = serializer.serialize_map(Some(1))?;
                map.serialize_entry("base64", &base64::engine::general_purpose::STANDARD.encode(&self.0))?;
                map.end()
            }
        }
    }
}

impl<'de> Deserialize<'de> for Payload {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(PayloadVisitor)
    }
}

struct PayloadVisitor;

impl<'de> Visitor<'de> for PayloadVisitor {
    type Value = Payload;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(r#"a string, or {"base64": "…"} for binary data"#)
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Payload, E> {
        Ok(Payload::from(text))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Payload, E> {
        Ok(Payload::from(text))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Payload, A::Error> {
        let mut bytes = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key != "base64" {
                return Err(de::Error::unknown_field(&key, &["base64"]));
            }
            let text: std::borrow::Cow<'de, str> = map.next_value()?;
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(text.as_bytes())
                .map_err(|e| de::Error::custom(format!("payload.base64 is not valid base64: {e}")))?;
            bytes = Some(decoded);
        }
        bytes.map(Payload::from).ok_or_else(|| de::Error::missing_field("base64"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn shared_headers_read_and_travel_as_a_map_and_empty_ones_are_the_default() {
        let headers = SharedHeaders::new(Headers::from([("room".to_owned(), "hall".to_owned())]));
        assert_eq!(headers.get("room").map(String::as_str), Some("hall"));
        let json = serde_json::to_string(&headers).expect("headers serialize");
        assert_eq!(json, r#"{"room":"hall"}"#);
        assert_eq!(serde_json::from_str::<SharedHeaders>(&json).expect("headers deserialize"), headers);
        assert_eq!(SharedHeaders::new(Headers::new()), SharedHeaders::default());
        assert!(SharedHeaders::default().is_empty());
        let mut copy = headers.to_headers();
        copy.insert("x".into(), "y".into());
        assert_eq!(headers.len(), 1, "changing a copy leaves the shared map alone");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn every_byte_survives_the_json_round_trip() {
        let all: Vec<u8> = (0..=255).collect();
        for payload in [Payload::from("hello ünïcode"), Payload::from(all), Payload::default()] {
            let json = serde_json::to_string(&payload).expect("payload serializes");
            assert_eq!(serde_json::from_str::<Payload>(&json).expect("payload deserializes"), payload, "{json}");
        }
        assert_eq!(
            serde_json::to_string(&Payload::from(vec![0xff])).expect("payload serializes"),
            r#"{"base64":"/w=="}"#
        );
        assert!(serde_json::from_str::<Payload>(r#"{"base64":"!!"}"#).is_err());
        assert!(serde_json::from_str::<Payload>("12").is_err());
    }
}
