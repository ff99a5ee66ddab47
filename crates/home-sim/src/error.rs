//! What a simulation control can refuse, as sentences a learner can act on.

use thiserror::Error;

/// A refused control. The simulation is unchanged when one is returned.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum SimError {
    /// No device has this id.
    #[error("no device `{0}` in this simulation")]
    UnknownDevice(String),
    /// No queue has this name.
    #[error("no queue `{0}` in this simulation")]
    UnknownQueue(String),
    /// No consumer has this id (it may have crashed).
    #[error("no consumer #{0} (it may have crashed or been removed)")]
    UnknownConsumer(u32),
    /// No automation has this id.
    #[error("no automation `{0}` in this simulation")]
    UnknownAutomation(String),
    /// The scenario name is not one this crate knows.
    #[error("unknown scenario `{0}`; try `home`, `empty` or `stress-200-2000`")]
    UnknownScenario(String),
    /// A room name with characters other than lower-case letters, digits and `-`.
    #[error("`{0}` is not a room name (lower-case letters, digits and -)")]
    BadRoom(String),
    /// A queue name the bind form does not accept.
    #[error("`{0}` is not a queue name (1-64 letters, digits, `.`, `_`, `-`)")]
    BadQueueName(String),
    /// A consumer that belongs to a device or an automation.
    #[error("{0} cannot be removed on its own: {1}")]
    NotRemovable(String, String),
    /// An id is already taken.
    #[error("`{0}` is already in use; pick another id")]
    DuplicateId(String),
    /// A publish rate out of range.
    #[error("a publish rate must be between 0 and {max} messages per second, got {rate}")]
    InvalidRate {
        /// The rate asked for.
        rate: f64,
        /// The highest allowed.
        max: f64,
    },
    /// A prefetch out of range.
    #[error("prefetch must be between 1 and 1000, got {0}")]
    InvalidPrefetch(u32),
    /// A speed out of range.
    #[error("speed must be between 0.25× and 10×, got {0}")]
    InvalidSpeed(f64),
    /// The device is already in the asked state (online or offline).
    #[error("device `{0}` is already {1}")]
    DeviceAlready(String, &'static str),
    /// The engine refused the request; its explanation follows.
    #[error("the engine refused: {0}")]
    Engine(String),
}
