//! The page's one simulation, shared by every simulator component.
//!
//! [`SimHandle`] owns a [`Simulation`] (in local storage: it is not `Send`)
//! and a frame counter that views track, so a view re-reads the simulation
//! exactly when time moved or a control changed it. Device cards are finer:
//! each has a signal of its own, set only when the simulation says that
//! device changed, so a frame redraws the few cards that moved, not all of
//! them; the layout signal moves only when devices or queues come or go.
//! Controls go through [`SimHandle::act`] (with a journalled
//! [`home_sim::Action`]), which rewrites the URL hash; the hash also takes
//! the virtual time about once a second, so a copied link replays the
//! learner's actions to what the sender saw (in a long session from its
//! latest checkpoint, see [`home_sim::checkpoint`]). [`SimHandle::replace`]
//! swaps in another simulation (Reset, another scenario).

use home_sim::hash::Settings;
use home_sim::{DeviceKind, DeviceView, Scenario, SimError, Simulation};
use leptos::prelude::*;

/// The seed used when the page opens without a hash.
pub const DEFAULT_SEED: u64 = 42;
/// Frames between two refreshes of the slow views.
const SLOW_FRAMES: u64 = 8;
/// Devices per extra frame between two refreshes of the numbers and queues:
/// the home refreshes them every frame, a 200-device scene every third
/// (its cards, dots and clock still move every frame).
const DEVICES_PER_SKIP: usize = 100;
/// Wall ms between two rewrites of the URL hash while time runs.
const HASH_EVERY_MS: f64 = 1000.0;
/// A card pulses this long (virtual ms) after its device sent or received.
const PULSE_MS: u64 = 600;

/// What a device card shows, ready to draw (no JSON parsing in the view).
#[derive(Clone, PartialEq)]
pub struct Card {
    /// Name for people.
    pub name: String,
    /// Kind, for the icon.
    pub kind: DeviceKind,
    /// Its state in a few words.
    pub summary: String,
    /// Online according to its retained status.
    pub online: bool,
    /// A state a person should notice.
    pub alert: bool,
    /// It sent or received a message in the last [`PULSE_MS`] (virtual).
    pub pulse: bool,
}

impl Card {
    fn new(d: &DeviceView, now: u64) -> Self {
        Self {
            name: d.name.clone(),
            kind: d.kind,
            summary: d.summary(),
            online: d.online,
            alert: d.alert(),
            pulse: now < pulse_until(d),
        }
    }
}

/// When a device's pulse ends (0: it never pulsed).
fn pulse_until(d: &DeviceView) -> u64 {
    d.last_activity_ms.map_or(0, |t| t + PULSE_MS)
}

/// A card's signal and when its pulse ends.
type Entry = (ArcRwSignal<Option<Card>>, u64);

/// Every mounted card's signal, and how far the simulation's changes were read.
#[derive(Default)]
struct Cards {
    /// Device id → (card, when its pulse ends), sorted by id.
    list: Vec<(String, Entry)>,
    seen: u64,
    layout_seen: u64,
}

impl Cards {
    /// Where device `id`'s entry is in `list`, or where it would go.
    fn find(&self, id: &str) -> Result<usize, usize> {
        self.list.binary_search_by(|(k, _)| k.as_str().cmp(id))
    }
}

/// A cheap, copyable handle to the running simulation.
#[derive(Clone, Copy)]
pub struct SimHandle {
    sim: StoredValue<Simulation, LocalStorage>,
    frame: RwSignal<u64>,
    slow: RwSignal<u64>,
    layout: RwSignal<u64>,
    cards: StoredValue<Cards, LocalStorage>,
    frames: StoredValue<u64>,
    refresh_every: StoredValue<u64>,
    /// Wall ms since the URL hash was last written.
    since_hash: StoredValue<f64>,
    /// The last control that failed, as a sentence.
    pub error: RwSignal<Option<String>>,
    sync_hash: bool,
}

impl SimHandle {
    /// Wraps `sim`; with `sync_hash` the URL hash follows its settings.
    pub fn new(sim: Simulation, sync_hash: bool) -> Self {
        let cards = Cards { seen: sim.device_epoch(), layout_seen: sim.layout_version(), ..Cards::default() };
        Self {
            frames: StoredValue::new(0),
            refresh_every: StoredValue::new(refresh_every(&sim)),
            since_hash: StoredValue::new(0.0),
            sim: StoredValue::new_local(sim),
            frame: RwSignal::new(0),
            slow: RwSignal::new(0),
            layout: RwSignal::new(0),
            cards: StoredValue::new_local(cards),
            error: RwSignal::new(None),
            sync_hash,
        }
    }

    /// The built-in smart home with `seed`, not touching the URL (for tests).
    pub fn home(seed: u64) -> Self {
        let sim = Simulation::new(Scenario::smart_home(), seed).expect("the built-in scenario starts");
        Self::new(sim, false)
    }

    /// The simulation the page's URL hash describes (its journal replayed to
    /// its time), or the smart home with `DEFAULT_SEED`; the hash is then
    /// rewritten in full.
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

    /// Reads the simulation, re-running the caller whenever it changes
    /// (every frame; every few frames in scenes with hundreds of devices).
    pub fn read<T>(&self, f: impl FnOnce(&Simulation) -> T) -> T {
        self.frame.track();
        self.sim.with_value(f)
    }

    /// Reads, re-running the caller at most every few frames (for costly
    /// views: the log, lesson checks, charts). A control still counts as a frame.
    pub fn read_slow<T>(&self, f: impl FnOnce(&Simulation) -> T) -> T {
        self.slow.track();
        self.sim.with_value(f)
    }

    /// Reads, re-running the caller only when devices or queues come or go
    /// (the drawing's layout, the lists of queues).
    pub fn read_layout<T>(&self, f: impl FnOnce(&Simulation) -> T) -> T {
        self.layout.track();
        self.sim.with_value(f)
    }

    /// Reads without tracking (for effects that run on their own schedule).
    pub fn peek<T>(&self, f: impl FnOnce(&Simulation) -> T) -> T {
        self.sim.with_value(f)
    }

    /// Device `id`'s card: set only when that device changes, `None` once
    /// it is removed.
    pub fn card(&self, id: &str) -> ArcRwSignal<Option<Card>> {
        if let Some(Some(card)) = self.cards.try_with_value(|c| c.find(id).ok().map(|at| c.list[at].1.0.clone())) {
            return card;
        }
        let (view, now) = self.peek(|s| (s.device(id).ok(), s.now()));
        let until = view.as_ref().map_or(0, pulse_until);
        let card = ArcRwSignal::new(view.map(|d| Card::new(&d, now)));
        self.cards.update_value(|c| match c.find(id) {
            Ok(at) => c.list[at].1 = (card.clone(), until),
            Err(at) => c.list.insert(at, (id.to_string(), (card.clone(), until))),
        });
        card
    }

    /// Advances by `real_ms` of wall time at the clock's speed, then redraws.
    /// About once a second the URL hash takes the new virtual time.
    pub fn step(&self, real_ms: f64) {
        self.sim.update_value(|s| s.step(real_ms));
        let since = self.since_hash.try_update_value(|t| {
            *t += real_ms;
            *t
        });
        if since.unwrap_or(0.0) >= HASH_EVERY_MS {
            self.write_hash();
        }
        let n = self.frames.try_update_value(|n| {
            *n += 1;
            *n
        });
        if n.unwrap_or(0).is_multiple_of(self.refresh_every.get_value()) {
            self.redraw(false);
        } else {
            self.sync_cards();
        }
    }

    /// Runs a control; on error the sentence goes to [`SimHandle::error`].
    /// Redraws and rewrites the URL hash either way.
    pub fn act<T>(&self, f: impl FnOnce(&mut Simulation) -> Result<T, SimError>) -> Option<T> {
        let result = self.sim.try_update_value(f);
        self.redraw(true);
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

    /// Puts `sim` in place of the running simulation (Reset, another
    /// scenario): every card re-reads its device (a device the new one lacks
    /// goes blank), the layout is redrawn, and the URL hash describes `sim`.
    pub fn replace(&self, sim: Simulation) {
        self.refresh_every.set_value(refresh_every(&sim));
        let (epoch, now) = (sim.device_epoch(), sim.now());
        self.cards.update_value(|c| {
            c.seen = epoch;
            // Never a real version: the next sync redraws the layout.
            c.layout_seen = u64::MAX;
            for (id, (card, until)) in &mut c.list {
                let view = sim.device(id).ok();
                *until = view.as_ref().map_or(0, pulse_until);
                card.set(view.map(|d| Card::new(&d, now)));
            }
        });
        self.sim.set_value(sim);
        self.error.set(None);
        self.redraw(true);
        self.write_hash();
    }

    /// The page's address as it is now, with the hash brought up to date:
    /// the link that reproduces this simulation.
    pub fn link(&self) -> String {
        self.write_hash();
        window().location().href().unwrap_or_default()
    }

    /// Tells the views what changed: the cards of devices that changed or
    /// stopped pulsing, the layout if devices or queues came or went, the
    /// frame (cheap views re-read), and now and then the slow views.
    fn redraw(&self, slow_too: bool) {
        self.sync_cards();
        self.frame.update(|f| *f += 1);
        if slow_too || self.frame.get_untracked().is_multiple_of(SLOW_FRAMES) {
            self.slow.update(|s| *s += 1);
        }
    }

    fn sync_cards(&self) {
        let seen = self.cards.with_value(|c| c.seen);
        let Some((epoch, layout, now, changed)) = self.sim.try_with_value(|s| {
            let changed = if seen == s.device_epoch() { Vec::new() } else { s.devices_since(seen) };
            (s.device_epoch(), s.layout_version(), s.now(), changed)
        }) else {
            return;
        };
        let relayout = self.cards.try_update_value(|c| {
            c.seen = epoch;
            for d in changed {
                if let Ok(at) = c.find(&d.id) {
                    let (card, until) = &mut c.list[at].1;
                    *until = pulse_until(&d);
                    card.set(Some(Card::new(&d, now)));
                }
            }
            for (_, (card, until)) in &mut c.list {
                if *until != 0 && now >= *until {
                    *until = 0;
                    card.update(|c| {
                        if let Some(c) = c.as_mut() {
                            c.pulse = false;
                        }
                    });
                }
            }
            std::mem::replace(&mut c.layout_seen, layout) != layout
        });
        if relayout == Some(true) {
            self.forget_removed_cards();
            self.layout.update(|l| *l += 1);
        }
    }

    /// Cards of removed devices go blank and leave the registry.
    fn forget_removed_cards(&self) {
        self.sim.with_value(|s| {
            self.cards.update_value(|c| {
                c.list.retain(|(id, (card, _))| {
                    let keep = s.device(id).is_ok();
                    if !keep {
                        card.set(None);
                    }
                    keep
                });
            });
        });
    }

    /// Rewrites the URL hash to the simulation as it is now: its set-up,
    /// the learner's journal and the virtual time (replace, not push: the
    /// back button still leaves the page).
    fn write_hash(&self) {
        self.since_hash.set_value(0.0);
        if !self.sync_hash {
            return;
        }
        let Some(target) = self.sim.try_with_value(|s| s.settings().to_hash()) else { return };
        if window().location().hash().ok().as_deref() == Some(target.as_str()) {
            return;
        }
        if let Ok(history) = window().history() {
            let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&target));
        }
    }
}

/// Frames per refresh of the numbers and queues for `sim`'s device count.
fn refresh_every(sim: &Simulation) -> u64 {
    1 + (sim.devices().len() / DEVICES_PER_SKIP) as u64
}

fn default_sim() -> Simulation {
    Simulation::new(Scenario::smart_home(), DEFAULT_SEED).expect("the built-in scenario starts")
}
