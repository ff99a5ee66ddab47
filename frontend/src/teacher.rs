//! A teacher's tools: the scene bar (pick a scenario, Reset, Copy link) and
//! the bind form (declare a queue and bind it to a topic filter, so a `#`
//! queue shows fan-out). The simulation decides; these only ask it.

use home_sim::{Action, Scenario, SimError, Simulation};
use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::{JsFuture, js_sys::Promise, spawn_local};

use crate::forms::Forms;
use crate::handle::SimHandle;

#[wasm_bindgen]
extern "C" {
    /// `navigator.clipboard.writeText(text)`; throws where there is no clipboard.
    #[wasm_bindgen(catch, js_namespace = ["navigator", "clipboard"], js_name = writeText)]
    fn write_text(text: &str) -> Result<Promise, JsValue>;
}

/// A fresh simulation of `scenario` with the running one's seed, speed and pause.
fn switched(sim: &Simulation, scenario: &str) -> Result<Simulation, SimError> {
    let mut next = Simulation::new(Scenario::by_name(scenario)?, sim.seed())?;
    next.set_speed(sim.clock().speed())?;
    next.set_paused(sim.clock().paused());
    Ok(next)
}

/// Scenario picker, Reset and Copy link, above the drawing.
#[component]
pub fn SceneBar(sim: SimHandle) -> impl IntoView {
    let forms = Forms::get();
    let current = Memo::new(move |_| sim.read_layout(|s| s.scenario_name().to_string()));
    let copied = RwSignal::new(None::<(bool, String)>);
    let start = move |next: Result<Simulation, SimError>| match next {
        Ok(next) => {
            forms.forget_picks(&next);
            sim.replace(next);
            copied.set(None);
        }
        Err(err) => sim.error.set(Some(err.to_string())),
    };
    let pick = move |ev: leptos::ev::Event| {
        let name = event_target_value(&ev);
        start(sim.peek(|s| switched(s, &name)));
    };
    let reset = move |_| start(sim.peek(Simulation::restarted));
    let copy = move |_| {
        let link = sim.link();
        copied.set(Some((false, link.clone())));
        let Ok(promise) = write_text(&link) else { return };
        spawn_local(async move {
            let ok = JsFuture::from(promise).await.is_ok();
            copied.set(Some((ok, link)));
        });
    };
    let options = move || {
        let now = current.get();
        let mut list: Vec<(String, String)> =
            Scenario::PICKER.iter().map(|(n, l)| (n.to_string(), l.to_string())).collect();
        if !list.iter().any(|(n, _)| *n == now) {
            list.push((now.clone(), now.clone()));
        }
        list.into_iter()
            .map(|(name, label)| {
                let selected = name == now;
                view! { <option value=name selected=selected>{label}</option> }
            })
            .collect_view()
    };
    view! {
        <div class="scene" role="group" aria-label="Scene">
            <label>"Scenario "
                <select on:change=pick data-testid="scenario">{options}</select>
            </label>
            <button type="button" on:click=reset data-testid="reset" title="Start this scenario again from zero: actions and progress are cleared">"Reset"</button>
            <button type="button" on:click=copy data-testid="copy-link" title="Copy a link that opens this simulation as it is now">"Copy link"</button>
            {move || copied.get().map(|(ok, link)| {
                let text = if ok { "Link copied" } else { "Copy this link from the address bar" };
                view! { <span class="note" data-testid="link-note" data-link=link>{text}</span> }
            })}
        </div>
    }
}

/// Declare a queue (if new) and bind it to a topic filter.
#[component]
pub fn BindForm(sim: SimHandle) -> impl IntoView {
    let Forms { bind_queue, bind_filter, queue, .. } = Forms::get();
    let bind = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let (q, f) = (bind_queue.get_untracked().trim().to_string(), bind_filter.get_untracked().trim().to_string());
        if sim.act(|s| s.apply(Action::Bind(q.clone(), f))).is_some() {
            // The queue form turns to the queue just bound (add a consumer, a policy).
            queue.set(q);
        }
    };
    view! {
        <form class="group bind" on:submit=bind aria-labelledby="bind-h">
            <h3 id="bind-h">"Bind a queue"</h3>
            <p class="note">"A new name declares the queue. In a filter " <code>"+"</code> " matches one level, " <code>"#"</code> " the rest; every queue whose filter matches a topic gets its own copy, so a queue on " <code>"#"</code> " sees everything (fan-out)."</p>
            <div class="row">
                <label>"Queue"<input type="text" bind:value=bind_queue data-testid="bind-queue" spellcheck="false" /></label>
                <label>"Filter"<input type="text" bind:value=bind_filter data-testid="bind-filter" spellcheck="false" placeholder="home/+/temperature" /></label>
                <button type="submit" data-testid="bind">"Bind"</button>
            </div>
        </form>
    }
}
