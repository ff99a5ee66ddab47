//! An engine's durable state, through the store and back into a new engine.
#![allow(clippy::unwrap_used)] // a test fails loudly, which is what it is for

mod common;

use common::write_synced;
use queue_core::protocol::{ServerFrame, decode_client};
use queue_core::{Engine, EngineConfig, Input, Output};
use serde_json::{Value, json};
use store::{Change, Store, StoreConfig};

/// Feeds `frame` to `engine`; store ops go to `changes`, frames to the returned list.
fn send(engine: &mut Engine, now: u64, conn: u64, frame: Value, changes: &mut Vec<Change>) -> Vec<ServerFrame> {
    let frame = decode_client(&frame.to_string(), 1 << 20).expect("test frame decodes");
    engine.handle(now, Input::Frame { conn, frame });
    drain(engine, changes)
}

fn drain(engine: &mut Engine, changes: &mut Vec<Change>) -> Vec<ServerFrame> {
    let mut frames = Vec::new();
    while let Some(output) = engine.poll_output() {
        match output {
            Output::Send { frame, .. } => frames.push(frame),
            Output::Store(op) => changes.push(Change::Op(op)),
            _ => {}
        }
    }
    frames
}

fn deliveries(frames: Vec<ServerFrame>) -> Vec<queue_core::protocol::Delivery> {
    frames.into_iter().filter_map(|f| if let ServerFrame::Deliver(d) = f { Some(d) } else { None }).collect()
}

#[test]
fn a_restored_engine_has_the_durable_queues_their_messages_and_the_retained_state() {
    let dir = tempfile::tempdir().unwrap();
    let mut changes = Vec::new();
    let last_id;
    {
        let (mut store, _) = Store::open(StoreConfig::new(dir.path())).unwrap();
        let mut a = Engine::new(EngineConfig::default());
        a.handle(0, Input::Connect { conn: 1 });
        let options = json!({"durable": true, "message_ttl_ms": 60_000});
        send(&mut a, 0, 1, json!({"type":"declare","id":1,"queue":"jobs","options":options}), &mut changes);
        send(&mut a, 0, 1, json!({"type":"declare","id":2,"queue":"scratch"}), &mut changes);
        send(&mut a, 0, 1, json!({"type":"bind","id":3,"queue":"jobs","filter":"jobs/#"}), &mut changes);
        for (i, body) in ["one", "two", "three"].iter().enumerate() {
            send(&mut a, 10, 1, json!({"type":"publish","topic":format!("jobs/{i}"),"payload":body}), &mut changes);
        }
        send(&mut a, 10, 1, json!({"type":"publish","queue":"scratch","payload":"gone"}), &mut changes);
        send(
            &mut a,
            10,
            1,
            json!({"type":"publish","topic":"home/door","payload":"locked","retain":true}),
            &mut changes,
        );
        let got = deliveries(send(
            &mut a,
            20,
            1,
            json!({"type":"subscribe","id":4,"queue":"jobs","prefetch":1,"ack":"manual"}),
            &mut changes,
        ));
        assert_eq!(got.len(), 1);
        let next = deliveries(send(&mut a, 30, 1, json!({"type":"ack","tag":got[0].tag}), &mut changes));
        assert_eq!(next[0].payload.as_bytes(), b"two");
        last_id = a.next_message_id();
        changes.push(Change::NextId(last_id));
        write_synced(&mut store, std::mem::take(&mut changes));
        // The broker dies here: `two` was delivered and not acked, `three` never delivered.
    }
    let (_store, contents) = Store::open(StoreConfig::new(dir.path())).unwrap();
    let mut b = Engine::new(EngineConfig::default());
    let skipped = b.restore(1000, contents.engine);
    assert_eq!(skipped, queue_core::Skipped::default());
    assert!(b.poll_output().is_none(), "restoring writes nothing back to the store");
    assert_eq!(b.queue_stats("scratch"), None, "a queue that was not durable is gone");
    assert_eq!(b.retained().map(|m| m.topic.to_string()).collect::<Vec<_>>(), ["home/door"]);
    assert!(b.next_message_id() >= last_id);
    b.handle(1000, Input::Connect { conn: 2 });
    let got = deliveries(send(
        &mut b,
        1000,
        2,
        json!({"type":"subscribe","id":1,"queue":"jobs","ack":"manual"}),
        &mut changes,
    ));
    let seen: Vec<(String, bool, u32)> = got
        .iter()
        .map(|d| (String::from_utf8_lossy(d.payload.as_bytes()).into_owned(), d.redelivered, d.delivery_count))
        .collect();
    assert_eq!(seen, [("two".into(), true, 2), ("three".into(), false, 1)]);
    // A topic publish still reaches the restored binding, with a fresh id.
    let got =
        deliveries(send(&mut b, 1000, 2, json!({"type":"publish","topic":"jobs/4","payload":"four"}), &mut changes));
    assert_eq!(got.len(), 1);
    assert!(got[0].message_id >= last_id, "ids go on increasing");
    // The TTL counts from when the messages first entered the queue.
    b.handle(1000, Input::Disconnect { conn: 2 });
    drain(&mut b, &mut changes);
    b.handle(60_011, Input::Tick);
    drain(&mut b, &mut changes);
    let stats = b.queue_stats("jobs").unwrap();
    assert_eq!(stats.ready, 1, "`two` and `three` expired 60 s after they arrived; `four` is left");
}
