//! Settings in a URL hash, so a copied link reproduces what the sender saw:
//! `#scenario=home&seed=42&speed=2&paused=0&rate.hall-motion=2&ttl.telemetry=5000&max.telemetry=10&overflow.telemetry=reject-publish&dlx.telemetry=dead-letters&auto.climate=off`.
//!
//! Only what differs from the scenario is written. Names are kept to
//! `[A-Za-z0-9._-]`, so no percent-encoding is needed.

use crate::clock::{MAX_SPEED, MIN_SPEED};
use crate::controls::QueuePolicy;
use crate::error::SimError;
use crate::scenario::Scenario;
use crate::simulation::Simulation;
use queue_core::Overflow;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use thiserror::Error;

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
    /// An overflow policy other than drop-oldest or reject-publish.
    #[error("overflow must be drop-oldest or reject-publish, got `{0}`")]
    BadOverflow(String),
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
    /// Device publish rates changed from the scenario's.
    pub device_rates: BTreeMap<String, f64>,
    /// Queue policies set by the learner.
    pub queue_policies: BTreeMap<String, QueuePolicy>,
    /// Automations switched on (`true`) or off (`false`).
    pub automations: BTreeMap<String, bool>,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            scenario: "home".into(),
            seed: 1,
            speed: 1.0,
            paused: false,
            device_rates: BTreeMap::new(),
            queue_policies: BTreeMap::new(),
            automations: BTreeMap::new(),
        }
    }
}

impl Settings {
    /// The hash, starting with `#`.
    pub fn to_hash(&self) -> String {
        let mut out = format!(
            "#scenario={}&seed={}&speed={}&paused={}",
            self.scenario,
            self.seed,
            self.speed,
            u8::from(self.paused)
        );
        for (device, rate) in &self.device_rates {
            let _ = write!(out, "&rate.{device}={rate}");
        }
        for (queue, p) in &self.queue_policies {
            if let Some(max) = p.max_length {
                let _ = write!(out, "&max.{queue}={max}");
            }
            if p.overflow == Overflow::RejectPublish {
                let _ = write!(out, "&overflow.{queue}=reject-publish");
            }
            if let Some(ttl) = p.ttl_ms {
                let _ = write!(out, "&ttl.{queue}={ttl}");
            }
            if let Some(dlx) = &p.dead_letter {
                let _ = write!(out, "&dlx.{queue}={dlx}");
            }
            if *p == QueuePolicy::default() {
                let _ = write!(out, "&policy.{queue}=none");
            }
        }
        for (id, on) in &self.automations {
            let _ = write!(out, "&auto.{id}={}", if *on { "on" } else { "off" });
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
        Ok(s)
    }

    fn apply(&mut self, key: &str, value: &str) -> Result<(), HashError> {
        match key.split_once('.') {
            None => self.apply_global(key, value),
            Some((kind, name)) => {
                check_name(name)?;
                self.apply_named(kind, name, value, key)
            }
        }
    }

    fn apply_global(&mut self, key: &str, value: &str) -> Result<(), HashError> {
        match key {
            "scenario" => {
                check_name(value)?;
                self.scenario = value.into();
            }
            "seed" => self.seed = number(key, value)?,
            "speed" => {
                let speed: f64 = number(key, value)?;
                if !(MIN_SPEED..=MAX_SPEED).contains(&speed) {
                    return Err(HashError::SpeedOutOfRange(speed));
                }
                self.speed = speed;
            }
            "paused" => self.paused = flag(key, value)?,
            _ => return Err(HashError::UnknownKey(clip(key))),
        }
        Ok(())
    }

    fn apply_named(&mut self, kind: &str, name: &str, value: &str, key: &str) -> Result<(), HashError> {
        fn policy<'a>(s: &'a mut Settings, name: &str) -> &'a mut QueuePolicy {
            s.queue_policies.entry(name.into()).or_default()
        }
        match kind {
            "rate" => {
                let rate: f64 = number(key, value)?;
                self.device_rates.insert(name.into(), rate);
            }
            "auto" => {
                let on = flag(key, value)?;
                self.automations.insert(name.into(), on);
            }
            "max" => policy(self, name).max_length = Some(number(key, value)?),
            "ttl" => policy(self, name).ttl_ms = Some(number(key, value)?),
            "overflow" => policy(self, name).overflow = overflow(value)?,
            "dlx" => {
                check_name(value)?;
                policy(self, name).dead_letter = Some(value.into());
            }
            "policy" if value == "none" => {
                policy(self, name);
            }
            _ => return Err(HashError::UnknownKey(clip(key))),
        }
        Ok(())
    }
}

impl Simulation {
    /// The settings a link needs to reproduce this simulation's set-up.
    pub fn settings(&self) -> Settings {
        let device_rates = self
            .devices
            .iter()
            .filter(|d| self.scenario.devices.iter().find(|s| s.id == d.spec.id).is_none_or(|s| s.rate != d.spec.rate))
            .map(|d| (d.spec.id.clone(), d.spec.rate))
            .collect();
        let automations = self
            .scenario
            .automations
            .iter()
            .filter_map(|spec| {
                let running = self.automations.iter().find(|a| a.spec.id == spec.id).map(|a| a.worker.is_some());
                (running != Some(true)).then(|| (spec.id.clone(), running.unwrap_or(false)))
            })
            .collect();
        Settings {
            scenario: self.scenario.name.clone(),
            seed: self.seed,
            speed: self.clock.speed(),
            paused: self.clock.paused(),
            device_rates,
            queue_policies: self.policies.clone(),
            automations,
        }
    }

    /// Builds the simulation a link describes: the scenario and seed, then its
    /// device rates, queue policies and automations switched off.
    pub fn from_settings(settings: &Settings) -> Result<Self, SimError> {
        let mut sim = Simulation::new(Scenario::by_name(&settings.scenario)?, settings.seed)?;
        sim.set_speed(settings.speed)?;
        sim.set_paused(settings.paused);
        for (device, rate) in &settings.device_rates {
            sim.set_device_rate(device, *rate)?;
        }
        for (queue, policy) in &settings.queue_policies {
            sim.set_queue_policy(queue, policy.clone())?;
        }
        for (id, on) in &settings.automations {
            if *on { sim.resume_automation(id)? } else { sim.pause_automation(id)? }
        }
        Ok(sim)
    }
}

fn number<T: std::str::FromStr>(key: &str, value: &str) -> Result<T, HashError> {
    value.parse().map_err(|_| HashError::BadNumber { key: clip(key), value: clip(value) })
}

fn flag(key: &str, value: &str) -> Result<bool, HashError> {
    match value {
        "1" | "on" | "true" => Ok(true),
        "0" | "off" | "false" => Ok(false),
        _ => Err(HashError::BadFlag { key: clip(key), value: clip(value) }),
    }
}

fn overflow(value: &str) -> Result<Overflow, HashError> {
    match value {
        "drop-oldest" => Ok(Overflow::DropOldest),
        "reject-publish" => Ok(Overflow::RejectPublish),
        _ => Err(HashError::BadOverflow(clip(value))),
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
