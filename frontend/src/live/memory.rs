//! The broker's budgets: what is used of its memory and of its disk, each
//! as a line and a gauge, and a warning, naming the budget, while
//! publishers are blocked.
//!
//! The numbers come from `stats.memory` (see [`super::wire::Memory`]); a
//! broker older than the budget sends none, and then nothing is shown. A
//! broker that keeps nothing on disk (no store, no disk budget) shows no
//! disk line.

use leptos::prelude::*;

use super::state::format_bytes;
use super::wire::Memory;

/// The broker's low watermark, in percent of a budget: blocked publishers
/// go again once every budget is below it (`queue_core::LOW_WATERMARK_PERCENT`).
const LOW_WATERMARK_PERCENT: u64 = 90;

/// Memory used of the budget ("12.4 MiB of 9.6 GiB", or "…, no budget"),
/// disk used of its budget likewise when the broker has a store, and a
/// gauge for each budget (the warning while publishers are blocked is
/// [`blocked_line`]). Pure: it shows whatever `memory`
/// returns, redrawn whenever what it reads changes (the session's version:
/// about once per stats frame, like the queue table).
///
/// A function over a closure rather than a component over a signal: a new
/// signal type costs the download more than this whole view.
pub fn memory_line(memory: impl Fn() -> Option<Memory> + Send + Sync + 'static) -> impl IntoView {
    move || {
        memory().map(|m| {
            view! {
                <div class="counter" title=breakdown(&m)>
                    <span class="counter-value" data-testid="live-memory">{used_of_budget(m.used, m.limit)}</span>
                    <span class="counter-label">"memory " {gauge("live-memory-gauge", m.used, m.limit)}</span>
                </div>
                {disk_line(&m)}
            }
        })
    }
}

/// While the broker holds publishes, a warning naming the budget that is
/// used up; nothing otherwise. A line of its own under the counters, where
/// it has room to say which. Pure, like [`memory_line`].
pub fn blocked_line(memory: impl Fn() -> Option<Memory> + Send + Sync + 'static) -> impl IntoView {
    move || memory().filter(|m| m.blocked).map(|m| blocked_warning(held_by(&m)))
}

/// The store's files and the disk budget; nothing for a broker that keeps
/// nothing on disk.
fn disk_line(m: &Memory) -> Option<impl IntoView + use<>> {
    let shown = m.disk > 0 || m.disk_limit.is_some();
    shown.then(|| {
        view! {
            <div class="counter" title="bytes of the durable store's files on disk">
                <span class="counter-value" data-testid="live-disk">{used_of_budget(m.disk, m.disk_limit)}</span>
                <span class="counter-label">"disk " {gauge("live-disk-gauge", m.disk, m.disk_limit)}</span>
            </div>
        }
    })
}

/// "12.4 MiB of 9.6 GiB", or "12.4 MiB, no budget".
fn used_of_budget(used: u64, limit: Option<u64>) -> String {
    match limit {
        Some(limit) => format!("{} of {}", format_bytes(used), format_bytes(limit)),
        None => format!("{}, no budget", format_bytes(used)),
    }
}

/// Where the bytes are, for the tooltip.
fn breakdown(m: &Memory) -> String {
    let (q, r, b) = (format_bytes(m.queued), format_bytes(m.retained), format_bytes(m.buffered));
    format!("in queues {q}, retained {r}, in connection buffers {b}")
}

/// A meter from 0 to the budget: amber from 70 %, red from 90 % (the low
/// watermark, where the broker lets blocked publishers go again).
/// `min` defaults to 0, and the optimum to the middle, under `low`: low is good.
fn gauge(id: &'static str, used: u64, limit: Option<u64>) -> Option<impl IntoView + use<>> {
    let limit = limit?;
    let used = used.min(limit);
    let (low, high) = (limit / 10 * 7, limit / 100 * LOW_WATERMARK_PERCENT);
    Some(view! { <meter data-testid=id max=limit value=used low=low high=high /> })
}

/// The budget that holds publishers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Held {
    /// Memory (also what an older broker, with no disk budget, means).
    Memory,
    /// The disk budget.
    Disk,
    /// Both budgets.
    Both,
}

/// Which budget a blocked broker is holding publishers for: the ones used
/// up; while use falls back towards the low watermark, the ones still above
/// it (the broker unblocks once every budget is below it).
fn held_by(m: &Memory) -> Held {
    let full = |used: u64, limit: Option<u64>| limit.is_some_and(|l| used >= l);
    let above_low = |used: u64, limit: Option<u64>| limit.is_some_and(|l| used >= l / 100 * LOW_WATERMARK_PERCENT);
    let (memory, disk) = match (full(m.used, m.limit), full(m.disk, m.disk_limit)) {
        (false, false) => (above_low(m.used, m.limit), above_low(m.disk, m.disk_limit)),
        full => full,
    };
    match (memory, disk) {
        (_, false) => Held::Memory,
        (false, true) => Held::Disk,
        (true, true) => Held::Both,
    }
}

fn blocked_warning(held: Held) -> impl IntoView {
    let (what, why) = match held {
        Held::Memory => (
            "memory budget used up",
            "the memory budget is used up: the broker holds publishes until consumers drain queues",
        ),
        Held::Disk => (
            "disk budget used up",
            "the disk budget is used up: the broker holds publishes until consumers drain durable queues \
             and the store reclaims their space",
        ),
        Held::Both => (
            "memory and disk budgets used up",
            "the memory and disk budgets are used up: the broker holds publishes until consumers drain queues",
        ),
    };
    view! {
        <p class="status error" title=why data-testid="live-memory-blocked">"publishers blocked: " {what}</p>
    }
}
