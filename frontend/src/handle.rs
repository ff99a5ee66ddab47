//! The page's one simulation, shared by every simulator component.
//!
//! [`SimHandle`] owns a [`Simulation`] (in local storage: it is not `Send`)
//! and a frame counter that views track, so a view re-reads the simulation
//! exactly when time moved or a control changed it. Controls go through
//! [`SimHandle::act`], which also keeps the URL hash in step with the
//! settings, so a copied link reproduces the set-up.

use home_sim::hash::Settings;
use home_sim::{Scenario, SimError, Simulation};
use leptos::prelude::*;

/// The seed used when the page opens without a hash.
pub const DEFAULT_SEED: u64 = 42;
/// Frames between two refreshes of the slow views.
const SLOW_FRAMES: u64 = 8;
/// Devices per extra frame between redraws: the home redraws every frame, a
/// 200-device stress scene every fifth (the simulation still steps every
/// frame), which keeps the page at 60 fps.
const DEVICES_PER_SKIP: usize = 50;

/// A cheap, copyable handle to the running simulation.
#[derive(Clone, Copy)]
pub struct SimHandle {
    sim: StoredValue<Simulation, LocalStorage>,
    frame: RwSignal<u64>,
    slow: RwSignal<u64>,
    steps: StoredValue<u64>,
    redraw_every: u64,
    /// The last control that failed, as a sentence.
    pub error: RwSignal<Option<String>>,
    sync_hash: bool,
}

impl SimHandle {
    /// Wraps `sim`; with `sync_hash` the URL hash follows its settings.
    pub fn new(sim: Simulation, sync_hash: bool) -> Self {
        let (frame, slow) = (RwSignal::new(0u64), RwSignal::new(0u64));
        let redraw_every = 1 + (sim.devices().len() / DEVICES_PER_SKIP) as u64;
        let steps = StoredValue::new(0);
        Self {
            sim: StoredValue::new_local(sim),
            frame,
            slow,
            steps,
            redraw_every,
            error: RwSignal::new(None),
            sync_hash,
        }
    }

    /// The built-in smart home with `seed`, not touching the URL (for tests).
    pub fn home(seed: u64) -> Self {
        let sim = Simulation::new(Scenario::smart_home(), seed).expect("the built-in scenario starts");
        Self::new(sim, false)
    }

    /// The simulation the page's URL hash describes, or the smart home with
    /// [`DEFAULT_SEED`]; the hash is then rewritten to the full settings.
    pub fn from_location() -> Self {
        let hash = window().location().hash().unwrap_or_default();
        let hash = hash.trim_start_matches('#');
        let from_hash = (!hash.is_empty()).then(|| {
            Settings::from_hash(hash)
                .map_err(|e| e.to_string())
                .and_then(|s| Simulation::from_settings(&s).map_err(|e| e.to_string()))
        });
        let (sim, error) = match from_hash {
            Some(Ok(sim)) => (sim, None),
            Some(Err(why)) => (
                default_sim(),
                Some(format!("The link's settings were not understood ({why}); started the default home.")),
            ),
            None => (default_sim(), None),
        };
        let handle = Self::new(sim, true);
        handle.error.set(error);
        handle.write_hash();
        handle
    }

    /// Reads the simulation, re-running the caller whenever it changes.
    pub fn read<T>(&self, f: impl FnOnce(&Simulation) -> T) -> T {
        self.frame.track();
        self.sim.with_value(f)
    }

    /// Reads, re-running the caller at most every few frames (for costly
    /// views: the log, lesson checks). A control still counts as a frame.
    pub fn read_slow<T>(&self, f: impl FnOnce(&Simulation) -> T) -> T {
        self.slow.track();
        self.sim.with_value(f)
    }

    /// Reads without tracking (for effects that run on their own schedule).
    pub fn peek<T>(&self, f: impl FnOnce(&Simulation) -> T) -> T {
        self.sim.with_value(f)
    }

    /// Advances by `real_ms` of wall time at the clock's speed; redraws
    /// every frame, or every few frames in scenes with many devices.
    pub fn step(&self, real_ms: f64) {
        self.sim.update_value(|s| s.step(real_ms));
        let steps = self.steps.try_update_value(|n| {
            *n += 1;
            *n
        });
        if !steps.unwrap_or(0).is_multiple_of(self.redraw_every) {
            return;
        }
        self.frame.update(|f| *f += 1);
        if self.frame.get_untracked().is_multiple_of(SLOW_FRAMES) {
            self.slow.update(|s| *s += 1);
        }
    }

    /// Runs a control; on error the sentence goes to [`SimHandle::error`].
    /// Redraws and rewrites the URL hash either way.
    pub fn act<T>(&self, f: impl FnOnce(&mut Simulation) -> Result<T, SimError>) -> Option<T> {
        let result = self.sim.try_update_value(f);
        self.frame.update(|f| *f += 1);
        self.slow.update(|s| *s += 1);
        self.write_hash();
        match result {
            Some(Ok(value)) => {
                self.error.set(None);
                Some(value)
            }
            Some(Err(err)) => {
                self.error.set(Some(err.to_string()));
                None
            }
            None => None,
        }
    }

    fn write_hash(&self) {
        if !self.sync_hash {
            return;
        }
        let Some(hash) = self.sim.try_with_value(|s| s.settings().to_hash()) else { return };
        let target = format!("#{hash}");
        let location = window().location();
        if location.hash().ok().as_deref() == Some(target.as_str()) {
            return;
        }
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&target));
        }
    }
}

fn default_sim() -> Simulation {
    Simulation::new(Scenario::smart_home(), DEFAULT_SEED).expect("the built-in scenario starts")
}
