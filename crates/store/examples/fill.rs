//! Fills a data directory with one durable queue of N messages, as a broker
//! would have left it: `cargo run --release -p hearth-store --example fill
//! -- DIR N SIZE`. For measuring recovery (scripts/bench-recovery.sh).

use queue_core::{Message, Payload, QueueOptions, SharedHeaders, StoreOp};
use std::sync::Arc;
use std::time::{Duration, Instant};
use store::{Change, Store, StoreConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: fill DIR MESSAGES SIZE";
    let dir = args.next().expect(usage);
    let n: u64 = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let size: usize = args.next().and_then(|a| a.parse().ok()).expect(usage);
    let started = Instant::now();
    let (mut store, _) = Store::open(StoreConfig::new(&dir)).expect("the directory opens");
    let options = QueueOptions { durable: true, ..QueueOptions::default() };
    let mut last = store.write(vec![Change::Op(StoreOp::DeclareQueue { name: "filled".into(), options })]);
    let queue: Arc<str> = "filled".into();
    let payload = Payload::from(vec![b'x'; size]);
    for start in (0..n).step_by(10_000) {
        let changes = (start..n.min(start + 10_000))
            .map(|seq| {
                let message = Arc::new(Message {
                    id: seq + 1,
                    topic: queue.clone(),
                    payload: payload.clone(),
                    headers: SharedHeaders::default(),
                    published_at: 0,
                    ttl_ms: None,
                });
                Change::Op(StoreOp::Append { queue: queue.clone(), seq, enqueued_at: 0, message })
            })
            .collect();
        last = store.write(changes);
    }
    let synced = store.synced();
    while *synced.borrow() < last {
        std::thread::sleep(Duration::from_millis(5));
    }
    let stats = store.stats();
    println!(
        "{n} messages of {size} B in {dir}: {} bytes on disk, written in {:.2?}",
        stats.disk_bytes,
        started.elapsed()
    );
}
