//! What the store's tests share: waiting until a write is on disk.
#![allow(dead_code)] // each test file uses its own subset

use std::time::{Duration, Instant};
use store::{Change, Store};

/// Waits (at most 30 s) until `ticket` is synced.
pub fn wait_synced(store: &Store, ticket: u64) {
    let synced = store.synced();
    let deadline = Instant::now() + Duration::from_secs(30);
    while *synced.borrow() < ticket {
        assert!(Instant::now() < deadline, "ticket {ticket} never synced");
        std::thread::sleep(Duration::from_micros(200));
    }
}

/// Writes `changes` and waits until they are on disk.
pub fn write_synced(store: &mut Store, changes: Vec<Change>) {
    let ticket = store.write(changes);
    wait_synced(store, ticket);
}
