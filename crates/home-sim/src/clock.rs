//! The virtual clock: simulated milliseconds, a speed and a pause switch.
//! The UI feeds it real elapsed time; the simulation only ever sees virtual time.

use crate::error::SimError;

/// Slowest speed, 0.25× real time.
pub const MIN_SPEED: f64 = 0.25;
/// Fastest speed, 10× real time.
pub const MAX_SPEED: f64 = 10.0;
/// The simulated day starts at 09:00:00 so log lines read like a clock.
const DAY_START_MS: u64 = 9 * 3_600_000;

/// Virtual time plus how fast it runs against real time.
#[derive(Debug, Clone, PartialEq)]
pub struct Clock {
    now_ms: u64,
    speed: f64,
    paused: bool,
    /// Fractions of a virtual millisecond not yet spent (slow speeds, short frames).
    carry: f64,
}

impl Default for Clock {
    fn default() -> Self {
        Self { now_ms: 0, speed: 1.0, paused: false, carry: 0.0 }
    }
}

impl Clock {
    /// Virtual milliseconds since the simulation started.
    pub fn now(&self) -> u64 {
        self.now_ms
    }

    /// Moves virtual time forward (only the simulation's run loop does this).
    pub(crate) fn set_now(&mut self, now_ms: u64) {
        self.now_ms = self.now_ms.max(now_ms);
    }

    /// Speed as a multiple of real time.
    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Sets the speed; refuses values outside 0.25×–10×.
    pub fn set_speed(&mut self, speed: f64) -> Result<(), SimError> {
        if !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
            return Err(SimError::InvalidSpeed(speed));
        }
        self.speed = speed;
        Ok(())
    }

    /// Whether time is stopped for [`Clock::virtual_elapsed`].
    pub fn paused(&self) -> bool {
        self.paused
    }

    /// Stops or resumes time.
    pub fn set_paused(&mut self, paused: bool) {
        self.paused = paused;
    }

    /// How many virtual ms `real_ms` of wall time is worth at this speed
    /// (zero while paused). Fractions carry over to the next call.
    pub fn virtual_elapsed(&mut self, real_ms: f64) -> u64 {
        if self.paused || !real_ms.is_finite() || real_ms <= 0.0 {
            return 0;
        }
        let total = real_ms * self.speed + self.carry;
        let whole = total.floor();
        self.carry = total - whole;
        whole as u64
    }
}

/// Formats virtual time as a wall-clock time of the simulated day: `09:00:03.2`.
pub fn format_time(ms: u64) -> String {
    let t = DAY_START_MS + ms;
    let (h, m, s, tenth) = (t / 3_600_000 % 24, t / 60_000 % 60, t / 1000 % 60, t % 1000 / 100);
    format!("{h:02}:{m:02}:{s:02}.{tenth}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn speed_scales_real_time_and_carries_fractions() {
        let mut clock = Clock::default();
        clock.set_speed(0.25).expect("valid speed");
        let total: u64 = (0..8).map(|_| clock.virtual_elapsed(10.0)).sum();
        assert_eq!(total, 20);
        clock.set_paused(true);
        assert_eq!(clock.virtual_elapsed(1000.0), 0);
        assert_eq!(clock.set_speed(11.0), Err(SimError::InvalidSpeed(11.0)));
        assert_eq!(format_time(3_200), "09:00:03.2");
    }
}
