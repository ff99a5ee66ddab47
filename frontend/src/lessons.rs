//! Guided lessons: each with its explanation, task, and a check that marks
//! it done (and keeps it done) once the learner has done the task.

use home_sim::lessons;
use leptos::prelude::*;

use crate::handle::SimHandle;

/// The six lessons, the first one not yet done opened.
#[component]
pub fn Lessons(sim: SimHandle) -> impl IntoView {
    let all = lessons();
    // Done stays done: each run keeps what earlier runs found.
    let done = Memo::new(move |before: Option<&Vec<bool>>| {
        let now: Vec<bool> = sim.read_slow(|s| all.iter().map(|l| l.check(s)).collect());
        before.map_or(now.clone(), |b| b.iter().zip(&now).map(|(b, n)| *b || *n).collect())
    });
    let current = move || done.with(|d| d.iter().position(|x| !*x));
    // One closure type for every reactive text and attribute (fn pointers
    // pick the value): fewer monomorphised views, a smaller wasm.
    let show = move |i: usize, f: fn(&[bool], usize) -> String| move || done.with(|d| f(d, i));
    view! {
        <div class="lessons">
            <div class="progress" data-testid="lessons-progress">
                <span>{show(0, |d, _| format!("{} of {} done", d.iter().filter(|x| **x).count(), d.len()))}</span>
                <progress max=all.len() value=show(0, |d, _| d.iter().filter(|x| **x).count().to_string())></progress>
            </div>
            <ol class="lesson-list">
                {all.iter().enumerate().map(|(i, lesson)| {
                    view! {
                        <li class=show(i, |d, i| if d[i] { "lesson done" } else { "lesson" }.into()) data-testid="lesson" data-lesson=lesson.id>
                            <details open=move || current() == Some(i)>
                                <summary>
                                    <span class="lesson-n">{i + 1}</span>
                                    <span class="lesson-title">{lesson.title}</span>
                                    <span class="lesson-status" data-testid="lesson-status">{show(i, |d, i| if d[i] { "✓ done" } else { "to do" }.into())}</span>
                                </summary>
                                <p>{lesson.explanation}</p>
                                <p class="task"><strong>"Task: "</strong>{lesson.task}</p>
                            </details>
                        </li>
                    }
                }).collect_view()}
            </ol>
        </div>
    }
}
