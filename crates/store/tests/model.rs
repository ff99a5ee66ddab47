//! The store against a model: arbitrary sequences of changes, with tiny
//! segments so that rotation, deletion and compaction happen all the time,
//! and reopens in between; what comes back is always what the model says.

#![allow(clippy::unwrap_used)] // a test fails loudly, which is what it is for

mod common;

use common::write_synced;
use proptest::prelude::*;
use queue_core::{Message, Payload, QueueOptions, SharedHeaders, StoreOp};
use std::collections::BTreeMap;
use std::sync::Arc;
use store::{Change, Store, StoreConfig};

#[derive(Debug, Clone)]
enum Step {
    Declare(u8),
    DeleteQueue(u8),
    Append(u8, u16),
    Remove(u8, u8),
    Delivered(u8, u8),
    Retain(u8, u16),
    Unretain(u8),
    Put(u8, u16),
    Delete(u8),
    Reopen,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        1 => (0..3u8).prop_map(Step::Declare),
        1 => (0..3u8).prop_map(Step::DeleteQueue),
        8 => (0..3u8, 0..600u16).prop_map(|(q, n)| Step::Append(q, n)),
        6 => (0..3u8, any::<u8>()).prop_map(|(q, i)| Step::Remove(q, i)),
        2 => (0..3u8, any::<u8>()).prop_map(|(q, i)| Step::Delivered(q, i)),
        1 => (0..4u8, 0..300u16).prop_map(|(t, n)| Step::Retain(t, n)),
        1 => (0..4u8).prop_map(Step::Unretain),
        1 => (0..4u8, 0..300u16).prop_map(|(k, n)| Step::Put(k, n)),
        1 => (0..4u8).prop_map(Step::Delete),
        1 => Just(Step::Reopen),
    ]
}

/// What should be on disk.
#[derive(Debug, Default, PartialEq)]
struct Model {
    /// queue → seq → (delivery count, payload length).
    queues: BTreeMap<String, BTreeMap<u64, (u32, usize)>>,
    retained: BTreeMap<String, usize>,
    kv: BTreeMap<String, Vec<u8>>,
    next_seq: BTreeMap<String, u64>,
}

fn message(id: u64, topic: &str, len: usize) -> Arc<Message> {
    Arc::new(Message {
        id,
        topic: topic.into(),
        payload: Payload::from(vec![b'p'; len]),
        headers: SharedHeaders::default(),
        published_at: 0,
        ttl_ms: None,
    })
}

fn open(dir: &std::path::Path) -> (Store, store::Contents) {
    Store::open(StoreConfig { dir: dir.to_owned(), segment_bytes: 4096 }).unwrap()
}

fn seen(contents: &store::Contents) -> Model {
    let mut m = Model::default();
    for q in &contents.engine.queues {
        let messages = q.messages.iter().map(|s| (s.seq, (s.delivery_count, s.message.payload.len()))).collect();
        m.queues.insert(q.name.clone(), messages);
    }
    m.retained = contents.engine.retained.iter().map(|r| (r.topic.to_string(), r.payload.len())).collect();
    m.kv = contents.kv.clone();
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn what_comes_back_is_what_was_written(steps in prop::collection::vec(step(), 1..120)) {
        let dir = tempfile::tempdir().unwrap();
        let (mut store, _) = open(dir.path());
        let mut model = Model::default();
        let mut id = 0;
        for step in steps {
            let name = |q: u8| format!("q{q}");
            let change = match step {
                Step::Declare(q) => {
                    model.queues.entry(name(q)).or_default();
                    let options = QueueOptions { durable: true, ..QueueOptions::default() };
                    Change::Op(StoreOp::DeclareQueue { name: name(q).into(), options })
                }
                Step::DeleteQueue(q) => {
                    model.queues.remove(&name(q));
                    model.next_seq.remove(&name(q));
                    Change::Op(StoreOp::DeleteQueue { name: name(q).into() })
                }
                Step::Append(q, n) => {
                    let Some(messages) = model.queues.get_mut(&name(q)) else { continue };
                    let seq = model.next_seq.entry(name(q)).or_default();
                    messages.insert(*seq, (0, usize::from(n)));
                    id += 1;
                    let op = StoreOp::Append { queue: name(q).into(), seq: *seq, enqueued_at: 0, message: message(id, "t", n.into()) };
                    *seq += 1;
                    Change::Op(op)
                }
                Step::Remove(q, i) | Step::Delivered(q, i) => {
                    let Some(messages) = model.queues.get_mut(&name(q)) else { continue };
                    let Some(&seq) = messages.keys().nth(usize::from(i) % messages.len().max(1)) else { continue };
                    if matches!(step, Step::Remove(..)) {
                        messages.remove(&seq);
                        Change::Op(StoreOp::Remove { queue: name(q).into(), seq })
                    } else {
                        messages.get_mut(&seq).unwrap().0 += 1;
                        Change::Op(StoreOp::Delivered { queue: name(q).into(), seq })
                    }
                }
                Step::Retain(t, n) => {
                    model.retained.insert(format!("t/{t}"), n.into());
                    id += 1;
                    Change::Op(StoreOp::Retain { message: message(id, &format!("t/{t}"), n.into()) })
                }
                Step::Unretain(t) => {
                    model.retained.remove(&format!("t/{t}"));
                    Change::Op(StoreOp::Unretain { topic: format!("t/{t}").into() })
                }
                Step::Put(k, n) => {
                    model.kv.insert(format!("k{k}"), vec![7; n.into()]);
                    Change::Put(format!("k{k}"), vec![7; n.into()])
                }
                Step::Delete(k) => {
                    model.kv.remove(&format!("k{k}"));
                    Change::Delete(format!("k{k}"))
                }
                Step::Reopen => {
                    drop(store);
                    let (again, contents) = open(dir.path());
                    store = again;
                    prop_assert_eq!(&seen(&contents), &Model { next_seq: BTreeMap::new(), ..clone_of(&model) });
                    prop_assert!(id == 0 || contents.engine.next_message_id > id, "ids keep increasing");
                    continue;
                }
            };
            write_synced(&mut store, vec![change]);
        }
        drop(store);
        let (_store, contents) = open(dir.path());
        prop_assert_eq!(seen(&contents), Model { next_seq: BTreeMap::new(), ..clone_of(&model) });
    }
}

fn clone_of(m: &Model) -> Model {
    Model { queues: m.queues.clone(), retained: m.retained.clone(), kv: m.kv.clone(), next_seq: m.next_seq.clone() }
}
