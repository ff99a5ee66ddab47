//! Reconnect delays: exponential, capped, with jitter, so that many edge
//! brokers cut off together do not all come back in the same instant.

use std::time::Duration;

/// Delays that double from `min_ms` up to `max_ms`.
#[derive(Debug, Clone)]
pub struct Backoff {
    min_ms: u64,
    max_ms: u64,
    failures: u32,
}

impl Backoff {
    /// Starts at `min_ms`.
    pub fn new(min_ms: u64, max_ms: u64) -> Self {
        Self { min_ms, max_ms: max_ms.max(min_ms), failures: 0 }
    }

    /// Back to the shortest delay (the link was up).
    pub fn reset(&mut self) {
        self.failures = 0;
    }

    /// The next delay: the ceiling `min · 2^failures` (saturating, capped at
    /// the max), then a point drawn from its upper half by `random` ("equal
    /// jitter"): never below half the ceiling, never above it.
    pub fn next_delay(&mut self, random: u64) -> Duration {
        let factor = 1u64.checked_shl(self.failures).unwrap_or(u64::MAX);
        let ceiling = self.min_ms.saturating_mul(factor).min(self.max_ms);
        self.failures = self.failures.saturating_add(1).min(63);
        let half = ceiling / 2;
        let spread = ceiling - half;
        Duration::from_millis(half + random.checked_rem(spread.saturating_add(1)).unwrap_or(0))
    }
}

/// A random number for [`Backoff::next_delay`] (0 if the OS has none to give).
pub fn jitter() -> u64 {
    getrandom::u64().unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delays_double_within_jitter_and_stop_at_the_cap() {
        let mut b = Backoff::new(100, 1000);
        let ceilings = [100, 200, 400, 800, 1000, 1000];
        for ceiling in ceilings {
            let low = b.clone().next_delay(0).as_millis() as u64;
            let high = b.next_delay(u64::MAX - 1).as_millis() as u64;
            assert!(low >= ceiling / 2 && high <= ceiling && low <= high, "{ceiling}: {low}..{high}");
        }
        for _ in 0..200 {
            assert!(b.next_delay(u64::MAX).as_millis() <= 1000, "saturates, never overflows");
        }
        b.reset();
        assert!(b.next_delay(7).as_millis() <= 100);
        let mut huge = Backoff::new(u64::MAX / 2, u64::MAX);
        assert!(huge.next_delay(u64::MAX).as_millis() > 0);
    }
}
