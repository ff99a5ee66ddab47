//! Engine throughput: publish → deliver → ack through [`Engine::handle`], with
//! frames built in Rust (the broker decodes JSON in its connection tasks, in
//! parallel with the engine, so JSON is not the engine's cost).
//!
//! Run with `cargo bench -p queue-core --bench engine -- --warm-up-time 1 --measurement-time 3`;
//! figures go into `docs/benchmarks.md`.
#![allow(missing_docs)]

use bytes::Bytes;
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use queue_core::protocol::{AckMode, ClientFrame, ServerFrame};
use queue_core::{Engine, EngineConfig, Input, Output, Payload, QueueOptions};
use std::hint::black_box;

/// Messages per measured batch.
const BATCH: u64 = 10_000;
/// Queues in the fan-out benchmark.
const FAN_OUT: u64 = 10;
const PUBLISHER: u64 = 1;

fn frame(engine: &mut Engine, conn: u64, frame: ClientFrame) {
    engine.handle(0, Input::Frame { conn, frame });
}

fn declare(engine: &mut Engine, queue: &str) {
    let options = QueueOptions::default();
    frame(engine, PUBLISHER, ClientFrame::Declare { id: 1, queue: queue.into(), options });
}

fn subscribe(engine: &mut Engine, conn: u64, queue: &str) {
    engine.handle(0, Input::Connect { conn });
    let subscribe = ClientFrame::Subscribe {
        id: 2,
        queue: Some(queue.into()),
        topic: None,
        prefetch: Some(100),
        ack: AckMode::Manual,
    };
    frame(engine, conn, subscribe);
}

/// An engine with `queues` queues bound to `home/+/temp`, one consumer each
/// (connection 100 + i, prefetch 100, manual ack), and a publisher.
fn setup(queues: u64) -> Engine {
    let mut engine = Engine::new(EngineConfig::default());
    engine.handle(0, Input::Connect { conn: PUBLISHER });
    for i in 0..queues {
        let name = format!("q{i}");
        declare(&mut engine, &name);
        let bind = ClientFrame::Bind { id: 3, queue: name.clone(), filter: "home/+/temp".into(), retained: false };
        frame(&mut engine, PUBLISHER, bind);
        subscribe(&mut engine, 100 + i, &name);
    }
    while engine.poll_output().is_some() {}
    engine
}

/// Publishes `frame_for()` `BATCH` times; after each publish, acks every
/// delivery it caused. Returns the number of deliveries (for a sanity check).
fn run(
    engine: &mut Engine,
    payload: &Payload,
    topic: Option<&str>,
    queue: Option<&str>,
    acks: &mut Vec<(u64, u64)>,
) -> u64 {
    let mut delivered = 0;
    for _ in 0..BATCH {
        let publish = ClientFrame::Publish {
            id: None,
            topic: topic.map(Into::into),
            queue: queue.map(str::to_owned),
            payload: payload.clone(),
            headers: Default::default(),
            retain: false,
            ttl_ms: None,
        };
        frame(engine, PUBLISHER, publish);
        drain(engine, acks);
        for (conn, tag) in acks.drain(..) {
            delivered += 1;
            frame(engine, conn, ClientFrame::Ack { tag, multiple: false });
        }
        drain(engine, acks);
    }
    delivered
}

/// Collects the (connection, tag) of every delivery; drops other outputs.
fn drain(engine: &mut Engine, acks: &mut Vec<(u64, u64)>) {
    while let Some(output) = engine.poll_output() {
        if let Output::Send { conn, frame: ServerFrame::Deliver(d) } = output {
            acks.extend(d.tag.map(|tag| (conn, tag)));
            black_box(d);
        }
    }
}

fn benches(c: &mut Criterion) {
    let payload = Payload(Bytes::from_static(br#"{"celsius":21.5}"#));
    let mut group = c.benchmark_group("engine");
    group.throughput(Throughput::Elements(BATCH));
    group.bench_function("publish_deliver_ack/1_queue", |b| {
        let mut acks = Vec::new();
        b.iter_batched_ref(
            || setup(1),
            |engine| assert_eq!(run(engine, &payload, None, Some("q0"), &mut acks), BATCH),
            BatchSize::PerIteration,
        );
    });
    group.bench_function("publish_deliver_ack/topic_fan_out_10", |b| {
        let mut acks = Vec::new();
        b.iter_batched_ref(
            || setup(FAN_OUT),
            |engine| assert_eq!(run(engine, &payload, Some("home/kitchen/temp"), None, &mut acks), BATCH * FAN_OUT),
            BatchSize::PerIteration,
        );
    });
    group.finish();
}

criterion_group!(engine, benches);
criterion_main!(engine);
