//! The simulator's clock: a `requestAnimationFrame` loop that feeds wall
//! time into the simulation (cancelled when its owner is cleaned up), and the
//! toolbar to play, pause, step and change speed.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use home_sim::clock::format_time;
use leptos::leptos_dom::helpers::{AnimationFrameRequestHandle, request_animation_frame_with_handle};
use leptos::prelude::*;
use send_wrapper::SendWrapper;

use crate::handle::SimHandle;

/// Longest wall-time gap fed to one step (a hidden tab resumes smoothly).
const MAX_FRAME_MS: f64 = 100.0;
/// Virtual time of one press on "step".
const STEP_MS: u64 = 100;
/// The speeds offered.
const SPEEDS: [f64; 7] = [0.25, 0.5, 1.0, 2.0, 4.0, 6.0, 10.0];

struct FrameLoop {
    alive: Cell<bool>,
    handle: Cell<Option<AnimationFrameRequestHandle>>,
    last: Cell<Option<f64>>,
    on_frame: RefCell<Box<dyn FnMut(f64)>>,
}

/// Calls `on_frame(elapsed_ms)` on every animation frame until the current
/// owner is cleaned up (then the pending frame is cancelled).
pub fn run_frames(on_frame: impl FnMut(f64) + 'static) {
    let lp = Rc::new(FrameLoop {
        alive: Cell::new(true),
        handle: Cell::new(None),
        last: Cell::new(None),
        on_frame: RefCell::new(Box::new(on_frame)),
    });
    next_frame(lp.clone());
    let lp = SendWrapper::new(lp);
    on_cleanup(move || {
        lp.alive.set(false);
        if let Some(h) = lp.handle.take() {
            h.cancel();
        }
    });
}

fn next_frame(lp: Rc<FrameLoop>) {
    let again = lp.clone();
    let handle = request_animation_frame_with_handle(move || {
        if !again.alive.get() {
            return;
        }
        let now = now_ms();
        let elapsed = again.last.replace(Some(now)).map_or(0.0, |t| (now - t).clamp(0.0, MAX_FRAME_MS));
        (again.on_frame.borrow_mut())(elapsed);
        next_frame(again);
    });
    lp.handle.set(handle.ok());
}

/// Milliseconds from the page's performance clock.
pub fn now_ms() -> f64 {
    window().performance().map_or(0.0, |p| p.now())
}

/// Play / pause, single step, speed, and the simulated time.
#[component]
pub fn ClockBar(sim: SimHandle) -> impl IntoView {
    let paused = move || sim.read_slow(|s| s.clock().paused());
    let toggle = move |_| {
        let now = sim.peek(|s| s.clock().paused());
        sim.act(|s| {
            s.set_paused(!now);
            Ok(())
        });
    };
    let step = move |_| {
        sim.act(|s| {
            s.set_paused(true);
            s.advance(STEP_MS);
            Ok(())
        });
    };
    let set_speed = move |ev| {
        if let Some(speed) = home_sim::decimal::parse(&event_target_value(&ev)) {
            sim.act(|s| s.set_speed(speed));
        }
    };
    view! {
        <div class="clock" role="group" aria-label="Simulation clock">
            <button class="primary play" data-testid="play" on:click=toggle aria-pressed=move || (!paused()).to_string()>
                {move || if paused() { "▶ Play" } else { "❚❚ Pause" }}
            </button>
            <button on:click=step title="Advance 100 ms of simulated time">"Step"</button>
            <label class="speed">
                "Speed "
                <select on:change=set_speed data-testid="speed">
                    {SPEEDS.iter().map(|s| {
                        let selected = move || sim.read_slow(|sim| (sim.clock().speed() - s).abs() < 1e-9);
                        view! { <option value=s.to_string() selected=selected>{format!("{s}×")}</option> }
                    }).collect_view()}
                </select>
            </label>
            <span class="sim-time" data-testid="sim-time" title="Simulated time of day">
                {move || sim.read(|s| format_time(s.now()))}
            </span>
        </div>
    }
}

/// Counters that show the simulation moving.
#[component]
pub fn Counters(sim: SimHandle) -> impl IntoView {
    let counters = Memo::new(move |_| sim.read(|s| s.stats().counters));
    let item = move |label: &'static str, id: &'static str, get: fn(&queue_core::Counters) -> u64| {
        view! {
            <div class="counter">
                <span class="counter-value" data-testid=id>{move || counters.with(get)}</span>
                <span class="counter-label">{label}</span>
            </div>
        }
    };
    view! {
        <div class="counters">
            {item("published", "counter-published", |c| c.published)}
            {item("delivered", "counter-delivered", |c| c.delivered)}
            {item("acked", "counter-acked", |c| c.acked)}
            {item("redelivered", "counter-redelivered", |c| c.redelivered)}
            {item("dead-lettered", "counter-dead", |c| c.dead_lettered)}
        </div>
    }
}
