//! Arbitrary sequences of engine inputs (every `ClientFrame` variant, several
//! connections, jumps of time): no panic, the conservation law after every
//! input, and a bounded number of outputs per input. See `src/sequence.rs`.
//! `FUZZ_TRACE=1` prints each input as Rust before applying it.
#![no_main]

#[path = "../src/sequence.rs"]
mod sequence;

use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fuzz_target!(|data: &[u8]| {
    static TRACE: OnceLock<bool> = OnceLock::new();
    sequence::run(data, *TRACE.get_or_init(|| std::env::var_os("FUZZ_TRACE").is_some()));
});
