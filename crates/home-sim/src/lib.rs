//! # home-sim: the smart-home simulation
//!
//! This crate owns the simulator behind Hearth's dashboard: a smart home
//! whose devices, automations and consumers exchange messages through a real
//! [`queue_core::Engine`] under a virtual clock. It owns the devices and what
//! they publish, the automations, the teaching controls, the event log, the
//! per-queue history, the lessons and the URL-hash settings. It never touches
//! the DOM, a socket, a real clock or the OS's randomness: the page supplies
//! elapsed time, and a seed decides every jitter, so the same seed and the
//! same actions at the same virtual times give the same state.
//!
//! ## Driving it
//!
//! ```
//! use home_sim::{Scenario, Simulation};
//!
//! let mut sim = Simulation::new(Scenario::smart_home(), 42).expect("the built-in scenario starts");
//! sim.advance(5_000); // five simulated seconds
//! sim.publish("home/hall/door/lock/set", r#"{"locked":false}"#, false).expect("valid topic");
//! sim.advance(1_000);
//! let lock = sim.device("door-lock").expect("the house has a front-door lock");
//! assert_eq!(lock.state.as_deref(), Some(r#"{"locked":false}"#));
//! // A page calls `sim.step(real_ms)` each frame (speed and pause apply),
//! // redraws the cards of `devices_since(epoch)`, and reads `queue(name, limit)`,
//! // `flights()`, `log_lines(filter)`; learners' actions go through `apply`.
//! ```
//!
//! ## Modules
//!
//! [`clock`] and [`rng`] are the virtual time and seeded randomness;
//! [`devices`], [`automations`] and [`scenario`] describe the house;
//! [`simulation`] runs it (with controls in `controls`, `house` and `teacher`, views in
//! [`views`]); [`journal`] records what the learner does ([`Action`],
//! applied with `Simulation::apply`); [`log`], [`history`] and [`flights`]
//! observe it, and [`journey`](mod@journey) follows one message through them; [`lessons`](mod@lessons) teach with it, one at a time in the [`tour`]; [`hash`] writes its set-up, time
//! and journal in a URL that replays to the same state, from its latest
//! [`checkpoint`] in long sessions.
//! [`vecmap`] is the small sorted map that holds its workers, connections
//! and device topics.

pub mod automations;
pub mod checkpoint;
pub mod clock;
mod controls;
pub mod decimal;
pub mod devices;
pub mod error;
pub mod flights;
pub mod hash;
pub mod history;
mod house;
pub mod journal;
pub mod journey;
pub mod lessons;
pub mod log;
pub mod rng;
pub mod scenario;
pub mod simulation;
mod summary;
mod teacher;
pub mod tour;
pub mod vecmap;
pub mod views;
pub mod workers;

pub use automations::{AutomationSpec, Rule};
pub use controls::{MAX_PREFETCH, QueuePolicy};
pub use devices::{DeviceKind, DeviceSpec};
pub use error::SimError;
pub use flights::{Flight, Hop};
pub use history::Bucket;
pub use journal::Action;
pub use journey::{Journey, Stage, Step};
pub use lessons::{Focus, Lesson, lessons};
pub use log::{LogEntry, LogFilter, LogKind};
pub use queue_core::Overflow;
pub use queue_core::protocol::AckMode;
pub use scenario::{DEAD_LETTERS, Scenario};
pub use simulation::{Facts, Simulation};
pub use tour::TourStep;
pub use views::{AutomationView, ConsumerView, DeviceView, MessageChip, QueueView, SimSnapshot};
pub use workers::{ConsumerSettings, WorkerId};
