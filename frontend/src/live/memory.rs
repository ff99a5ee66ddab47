//! The broker's memory budget: what is used of it, as a line and a gauge,
//! and a warning while publishers are blocked.
//!
//! The numbers come from `stats.memory` (see [`super::wire::Memory`]); a
//! broker older than the budget sends none, and then nothing is shown.

use leptos::prelude::*;

use super::state::format_bytes;
use super::wire::Memory;

/// Memory used of the budget ("12.4 MiB of 9.6 GiB", or "…, no budget"),
/// a gauge when there is a budget, and a "publishers blocked" warning while
/// the broker holds publishes. Pure: it shows whatever `memory` returns,
/// redrawn whenever what it reads changes (the session's version: about
/// once per stats frame, like the queue table).
///
/// A function over a closure rather than a component over a signal: a new
/// signal type costs the download more than this whole view.
pub fn memory_line(memory: impl Fn() -> Option<Memory> + Send + Sync + 'static) -> impl IntoView {
    move || {
        memory().map(|m| {
            view! {
                <div class="counter" title=breakdown(&m)>
                    <span class="counter-value" data-testid="live-memory">{used_of_budget(&m)}</span>
                    <span class="counter-label">"memory " {gauge(&m)}</span>
                </div>
                {m.blocked.then(blocked_warning)}
            }
        })
    }
}

/// "12.4 MiB of 9.6 GiB", or "12.4 MiB, no budget".
fn used_of_budget(m: &Memory) -> String {
    match m.limit {
        Some(limit) => format!("{} of {}", format_bytes(m.used), format_bytes(limit)),
        None => format!("{}, no budget", format_bytes(m.used)),
    }
}

/// Where the bytes are, for the tooltip.
fn breakdown(m: &Memory) -> String {
    let (q, r, b) = (format_bytes(m.queued), format_bytes(m.retained), format_bytes(m.buffered));
    format!("in queues {q}, retained {r}, in connection buffers {b}")
}

/// A meter from 0 to the budget: amber from 70 %, red from 90 % (where the
/// broker lets blocked publishers go again once memory falls below it).
/// `min` defaults to 0, and the optimum to the middle, under `low`: low is good.
fn gauge(m: &Memory) -> Option<impl IntoView + use<>> {
    let limit = m.limit?;
    let used = m.used.min(limit);
    Some(
        view! { <meter data-testid="live-memory-gauge" max=limit value=used low=limit / 10 * 7 high=limit / 10 * 9 /> },
    )
}

fn blocked_warning() -> impl IntoView {
    let why = "the memory budget is used up: the broker holds publishes until consumers drain queues";
    view! {
        <p class="status error" title=why data-testid="live-memory-blocked">"publishers blocked"</p>
    }
}
