//! Simulator mode: the clock, the floor plan, the queues, and a side panel
//! with lessons, controls and the event log. The frame loop lives here, so it
//! stops when the learner switches to live mode.

use leptos::prelude::*;

use crate::clock::{ClockBar, Counters, run_frames};
use crate::controls::Controls;
use crate::floorplan::FloorPlan;
use crate::forms::Forms;
use crate::handle::SimHandle;
use crate::lessons::Lessons;
use crate::log::EventLog;
use crate::queues::Queues;
use crate::teacher::SceneBar;

/// The side panel's tabs.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Side {
    Lessons,
    Controls,
    Log,
}

/// The whole simulator, driven by animation frames while mounted.
#[component]
pub fn Simulator(sim: SimHandle) -> impl IntoView {
    run_frames(move |ms| sim.step(ms));
    // The forms' values live here, above the tabs, so a tab switch keeps them.
    Forms::provide();
    let side = RwSignal::new(Side::Lessons);
    // The guided tour points at the devices while its step is about them.
    let plan_class = move || {
        let on = sim.read_slow(|s| s.tour().is_some_and(|t| t.focus() == home_sim::Focus::Devices));
        if on { "panel plan-panel tour-focus" } else { "panel plan-panel" }
    };
    // A clicked message chip opens the log on that message's journey.
    let inspect = Forms::get().log_message;
    Effect::new(move |first: Option<()>| {
        let message = inspect.get();
        if first.is_some() && !message.is_empty() {
            side.set(Side::Log);
        }
    });
    let tab = move |which: Side, label: &'static str, id: &'static str| {
        view! {
            <button role="tab" class="subtab" data-testid=id aria-selected=move || (side.get() == which).to_string()
                on:click=move |_| side.set(which)>{label}</button>
        }
    };
    view! {
        <div class="simulator">
            <div class="toolbar">
                <ClockBar sim=sim />
                <SceneBar sim=sim />
                <Counters sim=sim />
            </div>
            {move || sim.error.get().map(|e| view! { <p class="banner error" role="alert" data-testid="sim-error">{e}</p> })}
            <div class="sim-grid">
                <div class="sim-main">
                    <section class=plan_class aria-label="Floor plan" data-testid="plan-panel">
                        <FloorPlan sim=sim />
                        <Legend />
                    </section>
                    <section class="panel" aria-labelledby="queues-h">
                        <h2 id="queues-h">"Queues"</h2>
                        <Queues sim=sim />
                    </section>
                </div>
                <aside class="panel side">
                    <div role="tablist" class="subtabs" aria-label="Side panel">
                        {tab(Side::Lessons, "Lessons", "side-lessons")}
                        {tab(Side::Controls, "Controls", "side-controls")}
                        {tab(Side::Log, "Event log", "side-log")}
                    </div>
                    <div class="side-body" role="tabpanel">
                        {move || match side.get() {
                            Side::Lessons => view! { <Lessons sim=sim /> }.into_any(),
                            Side::Controls => view! { <Controls sim=sim /> }.into_any(),
                            Side::Log => view! { <EventLog sim=sim /> }.into_any(),
                        }}
                    </div>
                </aside>
            </div>
        </div>
    }
}

#[component]
fn Legend() -> impl IntoView {
    view! {
        <p class="legend" aria-label="Legend">
            <span class="key publish">"publish"</span>
            <span class="key route">"route"</span>
            <span class="key deliver">"deliver"</span>
            <span class="key redeliver">"redeliver"</span>
            <span class="key dead">"dead letter / drop"</span>
            <span class="hint">"queue rows: ready·unacked · cards pulse on traffic"</span>
        </p>
    }
}
