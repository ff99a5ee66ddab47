//! Guided lessons: each with its explanation, its task, and next to the task
//! the controls it needs (the same forms as the Controls tab, with the same
//! values), so the learner never has to flip tabs. Progress is the
//! simulation's own ([`home_sim::Simulation::lessons_done`]): a lesson once
//! done stays done across tab switches, reloads and copied links. The
//! guided tour shows one lesson at a time, with Back and Next, while the
//! page highlights the part its task is about; its step is the
//! simulation's too, so it survives the same.

use home_sim::{Simulation, lessons};
use leptos::either::Either;
use leptos::prelude::*;

use crate::controls::{ConsumerControls, DeviceControls, PublishForm, QueueControls};
use crate::handle::SimHandle;

/// The six lessons; the first one not yet done is open, with its controls.
#[component]
pub fn Lessons(sim: SimHandle) -> impl IntoView {
    let all = lessons();
    let done = Memo::new(move |_| sim.read_slow(|s| s.lessons_done().to_vec()));
    let count = Memo::new(move |_| done.with(|d| d.iter().filter(|x| **x).count()));
    // The lesson the learner opened; `None` follows the first one not done.
    let picked = RwSignal::new(None::<usize>);
    Effect::new(move |_| {
        count.track();
        picked.set(None);
    });
    let open = Memo::new(move |_| picked.get().or_else(|| done.with(|d| d.iter().position(|x| !*x))));
    // One closure type for every reactive text and attribute (fn pointers
    // pick the value): fewer monomorphised views, a smaller wasm.
    let show = move |i: usize, f: fn(&[bool], usize) -> String| move || done.with(|d| f(d, i));
    let tour = Memo::new(move |_| sim.read_slow(|s| s.tour().map(|t| t.index)));
    let start = move |_| {
        sim.act(|s| {
            s.start_tour();
            Ok(())
        });
    };
    view! {
        <div class="lessons">
            <div class="progress" data-testid="lessons-progress">
                <span>{show(0, |d, _| format!("{} of {} done", d.iter().filter(|x| **x).count(), d.len()))}</span>
                <progress max=all.len() value=show(0, |d, _| d.iter().filter(|x| **x).count().to_string())></progress>
            </div>
            {move || match tour.get() {
                Some(index) => view! { <TourCard sim=sim index=index /> }.into_any(),
                None => view! {
            <button type="button" class="tour-start" on:click=start data-testid="tour-start">"Take the guided tour"</button>
            <ol class="lesson-list">
                {all.iter().enumerate().map(|(i, lesson)| {
                    let toggle = move |ev: leptos::ev::MouseEvent| {
                        ev.prevent_default();
                        picked.set(Some(if open.get_untracked() == Some(i) { usize::MAX } else { i }));
                    };
                    view! {
                        <li class=show(i, |d, i| if d[i] { "lesson done" } else { "lesson" }.into()) data-testid="lesson" data-lesson=lesson.id>
                            <details open=move || open.get() == Some(i)>
                                <summary on:click=toggle>
                                    <span class="lesson-n">{i + 1}</span>
                                    <span class="lesson-title">{lesson.title}</span>
                                    <span class="lesson-status" data-testid="lesson-status">{show(i, |d, i| if d[i] { "✓ done" } else { "to do" }.into())}</span>
                                </summary>
                                <p>{rich(lesson.explanation)}</p>
                                <p class="task" data-testid="lesson-task"><strong>"Task: "</strong>{rich(lesson.task)}</p>
                                {move || (open.get() == Some(i)).then(|| view! {
                                    <div class="lesson-controls" data-testid="lesson-controls">{controls_for(sim, lesson.id)}</div>
                                })}
                            </details>
                        </li>
                    }
                }).collect_view()}
            </ol>
                }.into_any(),
            }}
        </div>
    }
}

/// The tour's step: one lesson with its controls, Back, Next and End.
#[component]
fn TourCard(sim: SimHandle, index: usize) -> impl IntoView {
    let (lesson, total) = (&lessons()[index], lessons().len());
    let done = Memo::new(move |_| sim.read_slow(|s| s.lessons_done()[index]));
    let go = move |f: fn(&mut Simulation)| {
        move |_| {
            sim.act(|s| {
                f(s);
                Ok(())
            });
        }
    };
    view! {
        <section class="tour" data-testid="tour" data-lesson=lesson.id>
            <div class="row">
                <span class="grow tour-step" data-testid="tour-step">{format!("Guided tour · step {} of {total}", index + 1)}</span>
                <button type="button" class="small" on:click=go(Simulation::end_tour) data-testid="tour-end">"End tour"</button>
            </div>
            <h3>{lesson.title}</h3>
            <p>{rich(lesson.explanation)}</p>
            <p class="task" data-testid="lesson-task"><strong>"Task: "</strong>{rich(lesson.task)}</p>
            <div class="lesson-controls" data-testid="lesson-controls">{controls_for(sim, lesson.id)}</div>
            <p class="note tour-status" data-testid="tour-status">{move || if done.get() {
                "✓ Done. Go on to the next step."
            } else {
                "To do: the highlighted part of the page shows what happens."
            }}</p>
            <div class="row">
                <button type="button" on:click=go(Simulation::tour_back) disabled=index == 0 data-testid="tour-back">"Back"</button>
                <button type="button" class=move || if done.get() { "primary" } else { "" } on:click=go(Simulation::tour_next)
                    disabled=index + 1 == total data-testid="tour-next">"Next"</button>
            </div>
        </section>
    }
}

/// The forms lesson `id`'s task is done with.
fn controls_for(sim: SimHandle, id: &str) -> AnyView {
    match id {
        "fifo-routing" => view! { <PublishForm sim=sim /> }.into_any(),
        "competing-consumers" => view! { <QueueControls sim=sim /> }.into_any(),
        "acks-redelivery" | "prefetch-backpressure" => view! { <ConsumerControls sim=sim /> }.into_any(),
        "ttl-dead-letters" => view! { <ConsumerControls sim=sim /><QueueControls sim=sim /> }.into_any(),
        _ => view! { <DeviceControls sim=sim /> }.into_any(),
    }
}

/// A lesson's text with its `backticked` parts as code.
fn rich(text: &'static str) -> impl IntoView {
    text.split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { Either::Left(view! { <code>{part}</code> }) } else { Either::Right(part) })
        .collect_view()
}
