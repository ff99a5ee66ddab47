//! A simulation in a URL hash, so a copied link reproduces what the sender
//! saw: the scenario, seed, speed and pause, the virtual time, and the
//! journal of the learner's actions with their times:
//! `#scenario=home&seed=42&speed=2&paused=0&t=15300&a=3000,p,home/garage/temperature,%7B%7D,0;9000,x,7`,
//! and `tour=<step>` while the guided tour is on.
//!
//! Loading it replays the journal on a fresh simulation (each action at its
//! virtual time; see [`crate::journal`] for the actions' text) and runs on
//! to `t`: the simulation is deterministic, so the state is the sender's.
//! Journal entries are separated by `;`, each a virtual time in ms
//! followed by the action's fields.
//!
//! A long session's link also names its latest checkpoint,
//! `&base=3600000&done=110000` (virtual ms, and each lesson done then as
//! `1`/`0`): the actions before `base` are applied at once at time zero,
//! the clock jumps to `base` with those lessons done, and only the rest is
//! simulated (see [`crate::checkpoint`]), so the link opens as fast as a
//! short one whatever the session's length.

use crate::clock::{MAX_SPEED, MIN_SPEED};
use crate::error::SimError;
use crate::journal::Action;
use crate::scenario::Scenario;
use crate::simulation::Simulation;
use std::fmt::Write as _;
use thiserror::Error;

/// The most virtual time a link may ask to simulate (from `base`, or from
/// zero without one): this bounds the work of opening one. Links the page
/// writes stay within one checkpoint interval.
pub const MAX_REPLAY_MS: u64 = 24 * 60 * 60 * 1000;

/// Why a hash could not be read.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum HashError {
    /// A part is not `key=value`.
    #[error("`{0}` is not key=value")]
    Malformed(String),
    /// A key this version does not know.
    #[error("unknown setting `{0}`")]
    UnknownKey(String),
    /// A key appears twice.
    #[error("setting `{0}` appears twice")]
    Duplicate(String),
    /// A value that should be a number is not one.
    #[error("`{key}` must be a number, got `{value}`")]
    BadNumber {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
    },
    /// A flag that is not on/off.
    #[error("`{key}` must be 0/1 or on/off, got `{value}`")]
    BadFlag {
        /// The key.
        key: String,
        /// The value as written.
        value: String,
    },
    /// Speed outside 0.25–10.
    #[error("speed must be between 0.25 and 10, got {0}")]
    SpeedOutOfRange(f64),
    /// A journal entry that is not a time and an action.
    #[error("`{0}` is not a journal entry (time,action,…)")]
    BadAction(String),
    /// A journal entry earlier than the one before it, or later than `t`.
    #[error("journal entry at {0} ms is out of order")]
    OutOfOrder(u64),
    /// A `t` more than [`MAX_REPLAY_MS`] after `base`: opening the link
    /// would simulate more than a day before showing anything.
    #[error("`t` is at most {MAX_REPLAY_MS} ms (one simulated day) after `base`, got {0}")]
    TooLate(u64),
    /// A `base` later than `t`.
    #[error("`base` {0} is later than `t`")]
    BaseAfterEnd(u64),
    /// A name with characters outside `[A-Za-z0-9._-]`.
    #[error("`{0}` is not a valid name (letters, digits, `.`, `_`, `-`)")]
    BadName(String),
}

/// Everything a link carries.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// Scenario name (`home`, `stress-200-2000`).
    pub scenario: String,
    /// Seed.
    pub seed: u64,
    /// Speed, 0.25–10.
    pub speed: f64,
    /// Whether time is paused.
    pub paused: bool,
    /// Virtual time to run to (ms).
    pub at_ms: u64,
    /// The learner's actions with their virtual times, oldest first.
    pub journal: Vec<(u64, Action)>,
    /// The checkpoint the replay starts from (0: none, replay from zero).
    pub base_ms: u64,
    /// Lessons done at the checkpoint, in teaching order.
    pub done: Vec<bool>,
    /// The guided tour's step, while it is on.
    pub tour: Option<usize>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            scenario: "home".into(),
            seed: 1,
            speed: 1.0,
            paused: false,
            at_ms: 0,
            journal: Vec::new(),
            base_ms: 0,
            done: Vec::new(),
            tour: None,
        }
    }
}

impl Settings {
    /// The hash, starting with `#`.
    pub fn to_hash(&self) -> String {
        let (scenario, seed, speed) = (&self.scenario, self.seed, self.speed);
        let mut out = format!("#scenario={scenario}&seed={seed}&speed={speed}&paused={}", u8::from(self.paused));
        if self.at_ms > 0 {
            let _ = write!(out, "&t={}", self.at_ms);
        }
        if let Some(step) = self.tour {
            let _ = write!(out, "&tour={step}");
        }
        if self.base_ms > 0 {
            let done: String = self.done.iter().map(|d| if *d { '1' } else { '0' }).collect();
            let _ = write!(out, "&base={}&done={done}", self.base_ms);
        }
        for (i, (at, action)) in self.journal.iter().enumerate() {
            let _ = write!(out, "{}{at},{}", if i == 0 { "&a=" } else { ";" }, action.encode());
        }
        out
    }

    /// Reads a hash (with or without the `#`); missing keys take defaults.
    pub fn from_hash(hash: &str) -> Result<Self, HashError> {
        let mut s = Settings::default();
        let mut seen = std::collections::BTreeSet::new();
        for part in hash.trim_start_matches('#').split('&').filter(|p| !p.is_empty()) {
            let (key, value) = part.split_once('=').ok_or_else(|| HashError::Malformed(clip(part)))?;
            if !seen.insert(key) {
                return Err(HashError::Duplicate(clip(key)));
            }
            s.apply(key, value)?;
        }
        if let Some((at, _)) = s.journal.last().filter(|(at, _)| *at > s.at_ms) {
            return Err(HashError::OutOfOrder(*at));
        }
        if s.base_ms > s.at_ms {
            return Err(HashError::BaseAfterEnd(s.base_ms));
        }
        if s.at_ms - s.base_ms > MAX_REPLAY_MS {
            return Err(HashError::TooLate(s.at_ms));
        }
        Ok(s)
    }

    fn apply(&mut self, key: &str, value: &str) -> Result<(), HashError> {
        match key {
            "scenario" => {
                check_name(value)?;
                self.scenario = value.into();
            }
            "seed" => self.seed = number(key, value)?,
            "speed" => {
                let speed = crate::decimal::parse(value).ok_or_else(|| bad_number(key, value))?;
                if !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
                    return Err(HashError::SpeedOutOfRange(speed));
                }
                self.speed = speed;
            }
            "paused" => self.paused = flag(key, value)?,
            "t" => self.at_ms = number(key, value)?,
            "base" => self.base_ms = number(key, value)?,
            "tour" => {
                let step: usize = number(key, value)?;
                if step >= crate::lessons::lessons().len() {
                    return Err(bad_number(key, value));
                }
                self.tour = Some(step);
            }
            "done" => {
                let bad = || HashError::BadFlag { key: clip(key), value: clip(value) };
                if value.len() > 64 {
                    return Err(bad());
                }
                self.done =
                    value.chars().map(|c| flag(key, &c.to_string())).collect::<Result<_, _>>().map_err(|_| bad())?;
            }
            "a" => self.journal = journal(value)?,
            _ => return Err(HashError::UnknownKey(clip(key))),
        }
        Ok(())
    }
}

/// Reads `time,action;time,action…`, times never going back.
fn journal(text: &str) -> Result<Vec<(u64, Action)>, HashError> {
    let mut out: Vec<(u64, Action)> = Vec::new();
    for entry in text.split(';').filter(|e| !e.is_empty()) {
        let bad = || HashError::BadAction(clip(entry));
        let (at, action) = entry.split_once(',').ok_or_else(bad)?;
        let at: u64 = at.parse().map_err(|_| bad())?;
        let action = Action::decode(action).ok_or_else(bad)?;
        if out.last().is_some_and(|(before, _)| *before > at) {
            return Err(HashError::OutOfOrder(at));
        }
        out.push((at, action));
    }
    Ok(out)
}

impl Simulation {
    /// What a link needs to reproduce this simulation as it is now.
    pub fn settings(&self) -> Settings {
        Settings {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
            speed: self.clock.speed(),
            paused: self.clock.paused(),
            at_ms: self.now(),
            journal: self.journal.clone(),
            base_ms: self.checkpoint.at_ms,
            done: if self.checkpoint.at_ms > 0 { self.checkpoint.lessons.clone() } else { Vec::new() },
            tour: self.tour,
        }
    }

    /// Builds the simulation a link describes: the scenario and seed; with
    /// a checkpoint, the actions before it at once and a jump to it (see
    /// [`crate::checkpoint`]); then each later action replayed at its
    /// virtual time, and time run on to the link's `t`.
    pub fn from_settings(settings: &Settings) -> Result<Self, SimError> {
        let mut sim = Simulation::new(Scenario::by_name(&settings.scenario)?, settings.seed)?;
        sim.set_speed(settings.speed)?;
        sim.set_paused(settings.paused);
        let base = settings.base_ms;
        let split = if base > 0 { settings.journal.partition_point(|(at, _)| *at < base) } else { 0 };
        let (before, after) = settings.journal.split_at(split);
        if base > 0 {
            for (_, action) in before {
                let _ = sim.apply(action.clone());
            }
            // Journalled at zero; the link keeps their real times.
            sim.journal = before.to_vec();
            sim.resume_at(base, &settings.done);
        }
        for (at, action) in after {
            sim.advance(at.saturating_sub(sim.now()));
            // A refusal replays as it happened the first time: same log line, no change.
            let _ = sim.apply(action.clone());
        }
        sim.advance(settings.at_ms.saturating_sub(sim.now()));
        sim.set_tour(settings.tour);
        Ok(sim)
    }
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, HashError> {
    value.parse().map_err(|_| bad_number(key, value))
}

fn bad_number(key: &str, value: &str) -> HashError {
    HashError::BadNumber { key: clip(key), value: clip(value) }
}

fn flag(key: &str, value: &str) -> Result<bool, HashError> {
    match value {
        "1" | "on" | "true" => Ok(true),
        "0" | "off" | "false" => Ok(false),
        _ => Err(HashError::BadFlag { key: clip(key), value: clip(value) }),
    }
}

fn check_name(name: &str) -> Result<(), HashError> {
    let ok = !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok { Ok(()) } else { Err(HashError::BadName(clip(name))) }
}

/// Keeps error messages short whatever a link holds.
fn clip(text: &str) -> String {
    text.chars().take(64).collect()
}
