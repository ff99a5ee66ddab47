//! The wire protocol: every frame survives a JSON round trip, broken frames
//! get the right error code with the request id when it can be read, and every
//! example in `docs/protocol.md` is a real frame. Runs natively and as wasm.

use bytes::Bytes;
use queue_core::protocol::{
    AckMode, ClientFrame, Delivery, ErrorCode, FrameError, PeekedMessage, ServerFrame, Will, decode_client,
    encode_server,
};
use queue_core::{Engine, Headers, Input, Overflow, Payload, QueueOptions, SharedHeaders};
use serde_json::Value;
use std::collections::BTreeSet;
use wasm_bindgen_test::wasm_bindgen_test;

const MAX: usize = 1 << 20;

/// Every byte value, so the base64 form of a payload is exercised.
fn binary() -> Payload {
    Payload(Bytes::from((0..=255u8).collect::<Vec<u8>>()))
}

fn headers() -> Headers {
    [("content-type", "application/json"), ("x-trace", "ünï \"quoted\" \n")]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
}

/// The `type` of a client frame. Exhaustive: a new variant fails to compile here.
fn client_type(frame: &ClientFrame) -> &'static str {
    match frame {
        ClientFrame::Hello { .. } => "hello",
        ClientFrame::Declare { .. } => "declare",
        ClientFrame::Delete { .. } => "delete",
        ClientFrame::Inspect { .. } => "inspect",
        ClientFrame::Peek { .. } => "peek",
        ClientFrame::Purge { .. } => "purge",
        ClientFrame::Get { .. } => "get",
        ClientFrame::Bind { .. } => "bind",
        ClientFrame::Unbind { .. } => "unbind",
        ClientFrame::Publish { .. } => "publish",
        ClientFrame::Subscribe { .. } => "subscribe",
        ClientFrame::Unsubscribe { .. } => "unsubscribe",
        ClientFrame::Ack { .. } => "ack",
        ClientFrame::Nack { .. } => "nack",
        ClientFrame::Watch { .. } => "watch",
        ClientFrame::Unwatch { .. } => "unwatch",
        ClientFrame::Ping { .. } => "ping",
        ClientFrame::Will { .. } => "will",
        ClientFrame::Bye => "bye",
    }
}

/// The `type` of a server frame. Exhaustive: a new variant fails to compile here.
fn server_type(frame: &ServerFrame) -> &'static str {
    match frame {
        ServerFrame::Welcome { .. } => "welcome",
        ServerFrame::Ok { .. } => "ok",
        ServerFrame::Declared { .. } => "declared",
        ServerFrame::Peeked { .. } => "peeked",
        ServerFrame::Purged { .. } => "purged",
        ServerFrame::Got { .. } => "got",
        ServerFrame::Subscribed { .. } => "subscribed",
        ServerFrame::Confirm { .. } => "confirm",
        ServerFrame::Deliver(_) => "deliver",
        ServerFrame::Cancelled { .. } => "cancelled",
        ServerFrame::Stats { .. } => "stats",
        ServerFrame::Pong { .. } => "pong",
        ServerFrame::Error { .. } => "error",
        ServerFrame::Blocked { .. } => "blocked",
        ServerFrame::Unblocked => "unblocked",
    }
}

const SERVER_FRAME_TYPES: &[&str] = &[
    "welcome",
    "ok",
    "declared",
    "peeked",
    "purged",
    "got",
    "subscribed",
    "confirm",
    "deliver",
    "cancelled",
    "stats",
    "pong",
    "error",
    "blocked",
    "unblocked",
];

fn client_frames() -> Vec<ClientFrame> {
    let will = Will {
        topic: "home/hall/door/status".into(),
        payload: binary(),
        retain: true,
        headers: headers(),
        delay_ms: 1500,
    };
    let options = QueueOptions {
        durable: true,
        exclusive: true,
        auto_delete: true,
        max_length: Some(10),
        max_length_bytes: Some(65_536),
        overflow: Overflow::RejectPublish,
        message_ttl_ms: Some(60_000),
        dead_letter: Some("dead".into()),
        dead_letter_topic: None,
        max_deliveries: Some(3),
        expires_ms: Some(86_400_000),
    };
    let publish = |payload: Payload, retain| ClientFrame::Publish {
        id: Some(4),
        topic: Some("home/kitchen/temp".into()),
        queue: None,
        payload,
        headers: headers().into(),
        retain,
        ttl_ms: Some(500),
    };
    vec![
        ClientFrame::Hello {
            id: Some(1),
            client_id: Some("door".into()),
            keep_alive_ms: 30_000,
            will: Some(will.clone()),
        },
        ClientFrame::Hello { id: None, client_id: None, keep_alive_ms: 0, will: None },
        ClientFrame::Declare { id: 2, queue: "jobs".into(), options },
        ClientFrame::Declare { id: 2, queue: String::new(), options: QueueOptions::default() },
        ClientFrame::Delete { id: 3, queue: "jobs".into(), if_empty: true },
        ClientFrame::Bind { id: 3, queue: "jobs".into(), filter: "home/+/temp".into(), retained: true },
        ClientFrame::Unbind { id: 3, queue: "jobs".into(), filter: "home/#".into() },
        ClientFrame::Inspect { id: 3, queue: "jobs".into() },
        ClientFrame::Peek { id: 3, queue: "jobs".into(), limit: 10 },
        ClientFrame::Purge { id: 3, queue: "jobs".into() },
        ClientFrame::Get { id: 3, queue: "jobs".into(), ack: AckMode::Auto },
        publish(binary(), true),
        publish(Payload::from("21.5 °C"), false),
        publish(Payload::default(), true),
        ClientFrame::Publish {
            id: None,
            topic: None,
            queue: Some("jobs".into()),
            payload: Payload::from("x"),
            headers: Default::default(),
            retain: false,
            ttl_ms: None,
        },
        ClientFrame::Subscribe {
            id: 5,
            queue: Some("jobs".into()),
            topic: None,
            prefetch: Some(5),
            ack: AckMode::Manual,
        },
        ClientFrame::Subscribe { id: 5, queue: None, topic: Some("home/#".into()), prefetch: None, ack: AckMode::Auto },
        ClientFrame::Unsubscribe { id: 6, consumer: 7 },
        ClientFrame::Ack { tag: 8, multiple: false },
        ClientFrame::Ack { tag: 9, multiple: true },
        ClientFrame::Nack { tag: 10, multiple: true, requeue: false },
        ClientFrame::Nack { tag: 11, multiple: false, requeue: true },
        ClientFrame::Watch { id: 12, interval_ms: 1000 },
        ClientFrame::Unwatch { id: 13 },
        ClientFrame::Ping { id: Some(14) },
        ClientFrame::Ping { id: None },
        ClientFrame::Will { id: Some(15), will: Some(will.clone()) },
        ClientFrame::Will { id: None, will: None },
        ClientFrame::Bye,
    ]
}

/// A stats snapshot with queues, options, bindings and counters filled in.
fn snapshot() -> queue_core::StatsSnapshot {
    let mut engine = Engine::default();
    engine.handle(5, Input::Connect { conn: 1 });
    let frames = [
        ClientFrame::Declare { id: 1, queue: "dead".into(), options: QueueOptions::default() },
        ClientFrame::Declare {
            id: 2,
            queue: "jobs".into(),
            options: QueueOptions { max_length: Some(2), dead_letter: Some("dead".into()), ..QueueOptions::default() },
        },
        ClientFrame::Bind { id: 3, queue: "jobs".into(), filter: "home/#".into(), retained: false },
    ];
    for frame in frames {
        engine.handle(5, Input::Frame { conn: 1, frame });
    }
    for _ in 0..3 {
        let frame = ClientFrame::Publish {
            id: None,
            topic: Some("home/x".into()),
            queue: None,
            payload: binary(),
            headers: Default::default(),
            retain: true,
            ttl_ms: None,
        };
        engine.handle(7, Input::Frame { conn: 1, frame });
    }
    engine.stats()
}

fn server_frames() -> Vec<ServerFrame> {
    let delivery = |payload: Payload, tag| Delivery {
        consumer: 3,
        tag,
        queue: "jobs".into(),
        topic: "home/kitchen/temp".into(),
        payload,
        headers: headers().into(),
        message_id: 42,
        published_at: 1_700_000_000_000,
        redelivered: tag.is_some(),
        delivery_count: 2,
        retained: tag.is_none(),
    };
    vec![
        ServerFrame::Welcome {
            id: Some(1),
            connection: 7,
            client_id: "door".into(),
            protocol: 1,
            keep_alive_ms: 30_000,
        },
        ServerFrame::Welcome { id: None, connection: 8, client_id: "conn-8".into(), protocol: 1, keep_alive_ms: 0 },
        ServerFrame::Ok { id: 2 },
        ServerFrame::Declared { id: 3, queue: "hearth.gen.1".into(), ready: 4, consumers: 1 },
        ServerFrame::Peeked { id: 3, queue: "jobs".into(), ready: 0, messages: vec![] },
        ServerFrame::Peeked {
            id: 3,
            queue: "jobs".into(),
            ready: 7,
            messages: vec![
                PeekedMessage {
                    message_id: 4,
                    topic: "home/a".into(),
                    payload: binary(),
                    bytes: 9000,
                    truncated: true,
                    headers: SharedHeaders::default(),
                    published_at: 12,
                    delivery_count: 1,
                    expires_at: Some(99),
                },
                PeekedMessage {
                    message_id: 5,
                    topic: "home/b".into(),
                    payload: Payload::from("on"),
                    bytes: 2,
                    truncated: false,
                    headers: SharedHeaders::default(),
                    published_at: 13,
                    delivery_count: 0,
                    expires_at: None,
                },
            ],
        },
        ServerFrame::Purged { id: 3, messages: 12 },
        ServerFrame::Got { id: 3, delivery: None, ready: 0 },
        ServerFrame::Subscribed { id: 5, consumer: 3, queue: "jobs".into() },
        ServerFrame::Confirm { id: 6, routed: 0 },
        ServerFrame::Deliver(delivery(binary(), Some(17))),
        ServerFrame::Deliver(delivery(Payload::from("on"), None)),
        ServerFrame::Cancelled { consumer: 3, reason: "queue `jobs` was deleted".into() },
        ServerFrame::Stats { id: Some(9), stats: Box::new(snapshot()) },
        ServerFrame::Stats { id: None, stats: Box::new(snapshot()) },
        ServerFrame::Pong { id: Some(10) },
        ServerFrame::Pong { id: None },
        ServerFrame::Blocked { reason: "memory budget used up".into() },
        ServerFrame::Unblocked,
        ServerFrame::Error { id: Some(11), code: ErrorCode::QueueNotFound, message: "no queue named `x`".into() },
        ServerFrame::Error { id: None, code: ErrorCode::Malformed, message: "not valid JSON".into() },
    ]
}

#[wasm_bindgen_test(unsupported = test)]
fn every_client_frame_survives_the_round_trip() {
    let frames = client_frames();
    for frame in &frames {
        let json = serde_json::to_string(frame).expect("client frames serialize");
        assert_eq!(&decode_client(&json, MAX).expect("own output decodes"), frame, "{json}");
    }
    let covered: BTreeSet<&str> = frames.iter().map(client_type).collect();
    let all: BTreeSet<&str> = queue_core::protocol::CLIENT_FRAME_TYPES.iter().copied().collect();
    assert_eq!(covered, all);
}

#[wasm_bindgen_test(unsupported = test)]
fn every_server_frame_survives_the_round_trip() {
    let frames = server_frames();
    for frame in &frames {
        let json = encode_server(frame);
        let back: ServerFrame = serde_json::from_str(&json).expect("own output decodes");
        assert_eq!(&back, frame, "{json}");
    }
    let covered: BTreeSet<&str> = frames.iter().map(server_type).collect();
    assert_eq!(covered, SERVER_FRAME_TYPES.iter().copied().collect());
}

#[wasm_bindgen_test(unsupported = test)]
fn payloads_are_strings_when_utf8_and_base64_otherwise() {
    let text = ClientFrame::Ping { id: None };
    assert_eq!(serde_json::to_string(&text).expect("serializes"), r#"{"type":"ping"}"#);
    let frame = ServerFrame::Deliver(Delivery {
        consumer: 1,
        tag: None,
        queue: "q".into(),
        topic: "t".into(),
        payload: Payload::from(vec![0, 159, 146, 150]),
        headers: Default::default(),
        message_id: 1,
        published_at: 0,
        redelivered: false,
        delivery_count: 1,
        retained: false,
    });
    let json: Value = serde_json::from_str(&encode_server(&frame)).expect("valid JSON");
    assert_eq!(json["payload"], serde_json::json!({"base64": "AJ+Slg=="}));
    let publish = decode_client(r#"{"type":"publish","topic":"t","payload":"ünï"}"#, MAX).expect("decodes");
    assert!(matches!(publish, ClientFrame::Publish { payload, .. } if payload.as_str() == Some("ünï")));
}

/// Decodes `text`, expecting an error with `code` and `id` whose message holds `hint`.
fn refused(text: &str, max: usize, code: ErrorCode, id: Option<u64>, hint: &str) -> FrameError {
    let err = decode_client(text, max).expect_err(text);
    assert_eq!((err.code, err.id), (code, id), "{text}: {}", err.message);
    assert!(err.message.contains(hint), "{text}: message `{}` lacks `{hint}`", err.message);
    assert_eq!(err.to_frame(), ServerFrame::Error { id, code, message: err.message.clone() });
    err
}

#[wasm_bindgen_test(unsupported = test)]
fn text_that_is_not_json_is_malformed() {
    refused(r#"{"type":"ping""#, MAX, ErrorCode::Malformed, None, "not valid JSON");
    refused("", MAX, ErrorCode::Malformed, None, "not valid JSON");
    refused(r#"{"type":"ping"} trailing"#, MAX, ErrorCode::Malformed, None, "trailing");
}

#[wasm_bindgen_test(unsupported = test)]
fn json_that_is_not_an_object_is_malformed() {
    refused("[1,2]", MAX, ErrorCode::Malformed, None, "not an array");
    refused("42", MAX, ErrorCode::Malformed, None, "JSON object");
    refused(r#""ping""#, MAX, ErrorCode::Malformed, None, "not a string");
    refused("null", MAX, ErrorCode::Malformed, None, "not null");
}

#[wasm_bindgen_test(unsupported = test)]
fn a_missing_or_unknown_type_is_named_with_the_types_expected() {
    refused(r#"{"id":5}"#, MAX, ErrorCode::InvalidFrame, Some(5), "no `type`");
    refused(r#"{"type":7,"id":6}"#, MAX, ErrorCode::InvalidFrame, Some(6), "must be a string");
    let err = refused(r#"{"type":"launch","id":7}"#, MAX, ErrorCode::UnknownType, Some(7), "`launch`");
    assert!(err.message.contains("subscribe"), "lists the known types: {}", err.message);
}

#[wasm_bindgen_test(unsupported = test)]
fn bad_missing_and_unknown_fields_are_invalid_frames_with_the_id() {
    refused(r#"{"type":"declare","id":3,"queue":5}"#, MAX, ErrorCode::InvalidFrame, Some(3), "expected a string");
    refused(r#"{"type":"declare","queue":"a"}"#, MAX, ErrorCode::InvalidFrame, None, "missing field `id`");
    refused(r#"{"type":"ack"}"#, MAX, ErrorCode::InvalidFrame, None, "missing field `tag`");
    refused(
        r#"{"type":"ping","id":1,"colour":"red"}"#,
        MAX,
        ErrorCode::InvalidFrame,
        Some(1),
        "unknown field `colour`",
    );
    let bad_option = r#"{"type":"declare","id":2,"queue":"a","options":{"overflow":"drop"}}"#;
    refused(bad_option, MAX, ErrorCode::InvalidFrame, Some(2), "drop-oldest");
    let bad_base64 = r#"{"type":"publish","id":4,"topic":"a","payload":{"base64":"!!"}}"#;
    refused(bad_base64, MAX, ErrorCode::InvalidFrame, Some(4), "base64");
    let bad_will = r#"{"type":"hello","id":8,"will":{"topic":"a","colour":1}}"#;
    refused(bad_will, MAX, ErrorCode::InvalidFrame, Some(8), "unknown field `colour`");
}

#[wasm_bindgen_test(unsupported = test)]
fn an_oversized_frame_is_refused_before_it_is_decoded_but_keeps_its_id() {
    let big = format!(r#"{{"type":"publish","id":9,"topic":"a","payload":"{}"}}"#, "x".repeat(2000));
    let err = refused(&big, 1024, ErrorCode::FrameTooLarge, Some(9), "at most 1024");
    assert!(err.message.contains(&big.len().to_string()), "{}", err.message);
    refused(&"[".repeat(2000), 1024, ErrorCode::FrameTooLarge, None, "max-frame-bytes");
    assert!(decode_client(&big, big.len()).is_ok(), "a frame of exactly the limit is accepted");
}

/// The fenced code blocks of `docs/protocol.md` whose info string is `lang`.
fn doc_blocks(lang: &str) -> Vec<String> {
    let doc = include_str!("../../../docs/protocol.md");
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in doc.lines() {
        match (&mut current, line.trim_start().strip_prefix("```")) {
            (None, Some(info)) if info.trim() == lang => current = Some(String::new()),
            (Some(_), Some("")) => blocks.extend(current.take()),
            (Some(block), _) => {
                block.push_str(line);
                block.push('\n');
            }
            (None, _) => {}
        }
    }
    blocks
}

/// Every JSON value in the doc's blocks tagged `lang`.
fn doc_values(lang: &str) -> Vec<Value> {
    let mut values = Vec::new();
    for block in doc_blocks(lang) {
        for value in serde_json::Deserializer::from_str(&block).into_iter::<Value>() {
            values.push(value.unwrap_or_else(|e| panic!("```{lang} block is not JSON ({e}):\n{block}")));
        }
    }
    values
}

#[wasm_bindgen_test(unsupported = test)]
fn every_client_example_in_the_docs_decodes_and_every_type_has_one() {
    let mut covered = BTreeSet::new();
    for value in doc_values("json client") {
        let frame = decode_client(&value.to_string(), MAX).unwrap_or_else(|e| panic!("{value}: {e}"));
        covered.insert(client_type(&frame));
    }
    assert_eq!(covered, queue_core::protocol::CLIENT_FRAME_TYPES.iter().copied().collect());
}

#[wasm_bindgen_test(unsupported = test)]
fn every_server_example_in_the_docs_is_exactly_what_the_broker_sends() {
    let mut covered = BTreeSet::new();
    for value in doc_values("json server") {
        let frame: ServerFrame = serde_json::from_value(value.clone()).unwrap_or_else(|e| panic!("{value}: {e}"));
        let canonical = serde_json::to_value(&frame).expect("serializes");
        assert_eq!(canonical, value, "the example differs from what the broker would send");
        covered.insert(server_type(&frame));
    }
    assert_eq!(covered, SERVER_FRAME_TYPES.iter().copied().collect());
}

#[wasm_bindgen_test(unsupported = test)]
fn the_docs_show_broken_frames_that_really_are_refused() {
    let broken = doc_blocks("text invalid");
    assert!(!broken.is_empty());
    for text in broken.iter().flat_map(|b| b.lines()).filter(|l| !l.trim().is_empty()) {
        assert!(decode_client(text, MAX).is_err(), "{text} decodes");
    }
}

#[wasm_bindgen_test(unsupported = test)]
fn the_docs_explain_every_error_code() {
    let doc = include_str!("../../../docs/protocol.md");
    let codes = [
        ErrorCode::Malformed,
        ErrorCode::UnknownType,
        ErrorCode::InvalidFrame,
        ErrorCode::FrameTooLarge,
        ErrorCode::InvalidTopic,
        ErrorCode::InvalidFilter,
        ErrorCode::InvalidQueueName,
        ErrorCode::InvalidOption,
        ErrorCode::QueueNotFound,
        ErrorCode::PreconditionFailed,
        ErrorCode::ResourceLocked,
        ErrorCode::QueueNotEmpty,
        ErrorCode::QueueFull,
        ErrorCode::UnknownConsumer,
        ErrorCode::UnknownDeliveryTag,
        ErrorCode::ProtocolViolation,
        ErrorCode::TooManyConnections,
        ErrorCode::KeepAliveTimeout,
        ErrorCode::LimitReached,
        ErrorCode::ReservedHeader,
        ErrorCode::BadCredentials,
        ErrorCode::NotAuthorized,
    ];
    for code in codes {
        let name = serde_json::to_value(code).expect("serializes");
        let row = format!("| `{}` |", name.as_str().expect("a string"));
        assert!(doc.contains(&row), "docs/protocol.md has no table row for {row}");
    }
}
