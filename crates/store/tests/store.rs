//! The store alone, with no broker: what is written comes back after a
//! reopen, acked messages and deleted queues do not, space is reclaimed,
//! and damage costs only what follows it.
#![allow(clippy::unwrap_used)] // a test fails loudly, which is what it is for

mod common;

use common::write_synced;
use queue_core::{Message, Payload, QueueOptions, SharedHeaders, StoreOp};
use std::sync::Arc;
use store::{Change, Store, StoreConfig, StoreError};

fn message(id: u64, body: &str) -> Arc<Message> {
    Arc::new(Message {
        id,
        topic: "orders".into(),
        payload: Payload::from(body),
        headers: SharedHeaders::default(),
        published_at: 1000 + id,
        ttl_ms: None,
    })
}

fn declare(name: &str) -> Change {
    let options = QueueOptions { durable: true, ..QueueOptions::default() };
    Change::Op(StoreOp::DeclareQueue { name: name.into(), options })
}

fn append(queue: &str, seq: u64, body: &str) -> Change {
    Change::Op(StoreOp::Append { queue: queue.into(), seq, enqueued_at: 5, message: message(seq + 1, body) })
}

fn remove(queue: &str, seq: u64) -> Change {
    Change::Op(StoreOp::Remove { queue: queue.into(), seq })
}

fn open(dir: &std::path::Path) -> (Store, store::Contents) {
    Store::open(StoreConfig { dir: dir.to_owned(), segment_bytes: 64 * 1024 }).expect("store opens")
}

fn bodies(contents: &store::Contents, queue: &str) -> Vec<String> {
    let q = contents.engine.queues.iter().find(|q| q.name == queue).expect("queue recovered");
    q.messages.iter().map(|m| String::from_utf8_lossy(m.message.payload.as_bytes()).into_owned()).collect()
}

#[test]
fn what_was_synced_comes_back_and_what_was_removed_does_not() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut store, contents) = open(dir.path());
        assert!(contents.engine.queues.is_empty());
        let mut changes =
            vec![declare("orders"), Change::Op(StoreOp::Bind { queue: "orders".into(), filter: "shop/#".into() })];
        changes.extend((0..5).map(|seq| append("orders", seq, &format!("m{seq}"))));
        changes.push(remove("orders", 1));
        changes.push(Change::Op(StoreOp::Delivered { queue: "orders".into(), seq: 2 }));
        changes.push(Change::Put("mqtt/session/a".into(), b"state".to_vec()));
        changes.push(Change::Op(StoreOp::Retain { message: message(100, "on") }));
        changes.push(Change::NextId(500));
        write_synced(&mut store, changes);
    }
    let (_store, contents) = open(dir.path());
    assert_eq!(bodies(&contents, "orders"), ["m0", "m2", "m3", "m4"]);
    let q = &contents.engine.queues[0];
    assert_eq!(q.bindings, ["shop/#"]);
    assert!(q.options.durable);
    assert_eq!(q.messages[1].delivery_count, 1, "m2 was delivered once");
    assert_eq!(q.messages[0].enqueued_at, 5);
    assert_eq!(contents.kv.get("mqtt/session/a").map(Vec::as_slice), Some(&b"state"[..]));
    assert_eq!(contents.engine.retained.len(), 1);
    assert_eq!(contents.engine.next_message_id, 500);
}

#[test]
fn a_deleted_queue_stays_deleted_and_ids_keep_increasing() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut store, _) = open(dir.path());
        write_synced(&mut store, vec![declare("a"), append("a", 0, "x"), declare("b")]);
        write_synced(&mut store, vec![Change::Op(StoreOp::DeleteQueue { name: "a".into() })]);
    }
    let (store, contents) = open(dir.path());
    let names: Vec<&str> = contents.engine.queues.iter().map(|q| q.name.as_str()).collect();
    assert_eq!(names, ["b"]);
    assert_eq!(contents.engine.next_message_id, 2, "the id of the deleted message is not given again");
    drop(store);
    let (_store, contents) = open(dir.path());
    assert_eq!(contents.engine.next_message_id, 2);
}

#[test]
fn one_directory_one_store() {
    let dir = tempfile::tempdir().unwrap();
    let (_store, _) = open(dir.path());
    let err = Store::open(StoreConfig::new(dir.path())).expect_err("the lock is held");
    assert!(matches!(err, StoreError::Locked(_)), "{err}");
    assert!(err.to_string().contains("--data-dir"), "{err}");
}

#[test]
fn acked_space_is_reclaimed_and_live_records_survive_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let body = "x".repeat(1000);
    {
        let (mut store, _) = open(dir.path());
        write_synced(&mut store, vec![declare("q"), append("q", 0, "keep me")]);
        // 2000 × 1 KiB through 64 KiB segments, each acked soon after.
        for seq in 1..2000 {
            let mut changes = vec![append("q", seq, &body)];
            if seq > 1 {
                changes.push(remove("q", seq - 1));
            }
            write_synced(&mut store, changes);
        }
        write_synced(&mut store, vec![remove("q", 1999)]);
        let stats = store.stats();
        assert!(stats.segments_reclaimed > 10, "{stats:?}");
        assert!(stats.disk_bytes < 4 * 64 * 1024, "2 MB written, {} B kept", stats.disk_bytes);
        assert!(stats.compacted_bytes > 0, "the first message was copied forward: {stats:?}");
        assert_eq!(store.queue_bytes().len(), 1);
    }
    let (_store, contents) = open(dir.path());
    assert_eq!(bodies(&contents, "q"), ["keep me"]);
    assert!(contents.engine.queues[0].options.durable);
}

#[test]
fn group_commit_takes_many_batches_per_sync() {
    let dir = tempfile::tempdir().unwrap();
    let (mut store, _) = open(dir.path());
    store.write(vec![declare("q")]);
    let mut last = 0;
    for seq in 0..5000 {
        last = store.write(vec![append("q", seq, "m")]);
    }
    common::wait_synced(&store, last);
    let stats = store.stats();
    assert!(stats.syncs < 2500, "5001 batches took {} syncs", stats.syncs);
    assert_eq!(stats.batch_changes.count(), stats.syncs);
    assert_eq!(stats.batch_changes.sum, 5001.0, "every change was written once");
}

/// The newest segment file of `dir`.
fn newest_segment(dir: &std::path::Path) -> std::path::PathBuf {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files.pop().unwrap()
}

#[test]
fn a_torn_tail_is_cut_and_everything_before_it_kept() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut store, _) = open(dir.path());
        write_synced(&mut store, vec![declare("q")]);
        for seq in 0..10 {
            write_synced(&mut store, vec![append("q", seq, &format!("m{seq}"))]);
        }
    }
    let file = newest_segment(dir.path());
    let len = std::fs::metadata(&file).unwrap().len();
    // Cut the last record in half, as a power cut in the middle of a write would.
    std::fs::OpenOptions::new().write(true).open(&file).unwrap().set_len(len - 5).unwrap();
    let (store, contents) = open(dir.path());
    assert_eq!(bodies(&contents, "q"), ["m0", "m1", "m2", "m3", "m4", "m5", "m6", "m7", "m8"]);
    drop(store);
    let (_store, again) = open(dir.path());
    assert_eq!(bodies(&again, "q").len(), 9, "the cut tail was truncated once, and nothing else lost");
}

#[test]
fn a_flipped_byte_drops_only_what_follows_it() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut store, _) = open(dir.path());
        write_synced(&mut store, vec![declare("q")]);
        for seq in 0..10 {
            write_synced(&mut store, vec![append("q", seq, &format!("message number {seq}"))]);
        }
    }
    let file = newest_segment(dir.path());
    let mut data = std::fs::read(&file).unwrap();
    let at = data.windows(16).position(|w| w == b"message number 6").unwrap();
    data[at + 3] ^= 0xff;
    std::fs::write(&file, &data).unwrap();
    let (mut store, contents) = open(dir.path());
    assert_eq!(
        bodies(&contents, "q"),
        [
            "message number 0",
            "message number 1",
            "message number 2",
            "message number 3",
            "message number 4",
            "message number 5"
        ]
    );
    // And the store goes on writing after the damage.
    write_synced(&mut store, vec![append("q", 10, "after")]);
    drop(store);
    let (_store, contents) = open(dir.path());
    assert_eq!(bodies(&contents, "q").last().map(String::as_str), Some("after"));
}

#[test]
fn garbage_files_do_not_stop_the_store() {
    let dir = tempfile::tempdir().unwrap();
    {
        let (mut store, _) = open(dir.path());
        write_synced(&mut store, vec![declare("q"), append("q", 0, "kept")]);
    }
    std::fs::write(dir.path().join("99999999999999999990.seg"), b"not a segment at all").unwrap();
    let (_store, contents) = open(dir.path());
    assert_eq!(bodies(&contents, "q"), ["kept"]);
}

#[test]
fn restarts_leave_no_trail_of_segments_and_a_large_batch_still_rotates() {
    let dir = tempfile::tempdir().unwrap();
    let body = "y".repeat(1000);
    {
        let (mut store, _) = open(dir.path());
        // 512 KiB in one batch: 64 KiB segments fill and rotate inside it.
        let mut changes = vec![declare("q")];
        changes.extend((0..512).map(|seq| append("q", seq, &body)));
        write_synced(&mut store, changes);
        assert!(store.stats().segments >= 8, "{:?}", store.stats());
    }
    for _ in 0..5 {
        drop(open(dir.path()));
    }
    let (mut store, contents) = open(dir.path());
    assert_eq!(bodies(&contents, "q").len(), 512);
    let before = store.stats().segments;
    for seq in 512..520 {
        write_synced(&mut store, vec![append("q", seq, "z")]);
    }
    let after = store.stats();
    assert!(after.segments + 4 <= before, "the empty segments of five restarts are gone: {before} -> {after:?}");
    drop(store);
    let (_store, contents) = open(dir.path());
    assert_eq!(bodies(&contents, "q").len(), 520);
}
