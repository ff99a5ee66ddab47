//! Arbitrary sequences of every client frame, on several connections, with
//! edge-case field values and jumps of time: the engine must not panic, must
//! keep the conservation law after every input, and must answer each input
//! with a number of outputs bounded by the size of its state. The generator
//! and the checks are the `engine` fuzz target's (`fuzz/src/sequence.rs`);
//! here proptest supplies the bytes. Native only (proptest).
#![cfg(not(target_arch = "wasm32"))]

#[path = "../fuzz/src/sequence.rs"]
#[allow(dead_code)]
mod sequence;

use proptest::prelude::*;

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES").ok().and_then(|n| n.parse().ok()).unwrap_or(1000)
}

proptest! {
    // 1000 cases of up to 1 KiB keep a debug run to a few seconds;
    // `PROPTEST_CASES=100000` searches harder. Failing cases are printed
    // (shrunk), not saved: replay one with `replay` below to see its inputs.
    #![proptest_config(ProptestConfig { cases: cases(), failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_frame_sequences_conserve_copies_with_bounded_outputs(
        data in prop::collection::vec(any::<u8>(), 0..1024),
    ) {
        sequence::run(&data, false);
    }
}

/// Replays a byte file (a fuzz artifact, or a failing case's bytes) and
/// prints its inputs as Rust:
/// `HEARTH_REPLAY=path cargo test -p queue-core --test frame_sequences -- --ignored --nocapture`.
#[test]
#[ignore = "needs HEARTH_REPLAY=<file>"]
fn replay() {
    let path = std::env::var("HEARTH_REPLAY").expect("HEARTH_REPLAY names a file of fuzz bytes");
    let data = std::fs::read(path).expect("HEARTH_REPLAY is readable");
    sequence::run(&data, true);
}
