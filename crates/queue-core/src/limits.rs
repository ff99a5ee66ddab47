//! Bounds on what a peer may ask of the engine.
//!
//! Every number a client sends is checked against one of these before the
//! engine keeps it or computes with it, so that no frame, however large its
//! fields, can make the engine loop, overflow or grow without bound. A value
//! past its bound is refused with an `error` frame that names the bound;
//! `docs/protocol.md` lists them. Time arithmetic on accepted values
//! saturates as well, so even `now` near `u64::MAX` cannot wrap.
//!
//! The memory a peer can make the engine hold is bounded separately: by
//! queue limits (`max_length`, `max_length_bytes`), and engine-wide by
//! [`EngineConfig::memory_limit`](crate::EngineConfig::memory_limit), above
//! which publishers are blocked.

/// Most `/`-separated levels in a topic or filter. Routing, binding and
/// unbinding walk one trie node per level, so depth is what bounds their
/// work (and the stack); real device topics use fewer than ten.
pub const MAX_TOPIC_LEVELS: usize = 128;

/// Longest duration accepted in milliseconds (TTLs, queue expiry,
/// keep-alive): MQTT's largest interval, `u32::MAX` seconds (about 136
/// years), so every MQTT value fits.
pub const MAX_DURATION_MS: u64 = u32::MAX as u64 * 1000;

/// Shortest period of a `watch` stream, in milliseconds.
pub const MIN_WATCH_INTERVAL_MS: u64 = 50;

/// Longest period of a `watch` stream, in milliseconds (one hour).
pub const MAX_WATCH_INTERVAL_MS: u64 = 3_600_000;

/// Most headers on one message.
pub const MAX_HEADERS: usize = 256;

/// Most bytes of header names and values on one message.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;

/// Most consumers one connection may hold at once.
pub const MAX_CONSUMERS_PER_CONNECTION: usize = 1024;

/// Most filters one queue may be bound with.
pub const MAX_BINDINGS_PER_QUEUE: usize = 4096;

/// Most bytes of filters one queue may be bound with (a queue's bindings
/// are kept with it and in the routing trie).
pub const MAX_BINDING_BYTES_PER_QUEUE: usize = 1024 * 1024;

/// Default for [`EngineConfig::max_queues`](crate::EngineConfig::max_queues):
/// most queues the engine holds at once.
pub const DEFAULT_MAX_QUEUES: usize = 100_000;

/// Checks a duration field named `what` against [`MAX_DURATION_MS`].
pub(crate) fn check_duration(what: &str, ms: u64) -> Result<(), crate::EngineError> {
    if ms > MAX_DURATION_MS {
        return Err(crate::EngineError::InvalidOption(format!(
            "{what} is {ms} ms; the most accepted is {MAX_DURATION_MS} ms (u32::MAX seconds)"
        )));
    }
    Ok(())
}

/// Checks a message's headers against [`MAX_HEADERS`] and [`MAX_HEADER_BYTES`].
pub(crate) fn check_headers(headers: &crate::Headers) -> Result<(), crate::EngineError> {
    if headers.len() > MAX_HEADERS {
        let n = headers.len();
        return Err(crate::EngineError::InvalidOption(format!("{n} headers; a message carries at most {MAX_HEADERS}")));
    }
    let bytes: usize = headers.iter().map(|(k, v)| k.len() + v.len()).sum();
    if bytes > MAX_HEADER_BYTES {
        return Err(crate::EngineError::InvalidOption(format!(
            "headers take {bytes} bytes; a message carries at most {MAX_HEADER_BYTES}"
        )));
    }
    Ok(())
}

/// Most delayed wills waiting at once (their clients gone, their delay
/// running). A will past it is published at once rather than held.
pub const MAX_DELAYED_WILLS: usize = 10_000;
