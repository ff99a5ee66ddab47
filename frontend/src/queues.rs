//! Queues drawn as FIFOs: the ready messages as chips in delivery order,
//! the consumers with their prefetch windows (filled slots are unacked
//! messages), redeliveries marked, and a chart of the last minute. A
//! message chip, or a filled slot of a consumer's window, opens that
//! message's journey in the event log.

use home_sim::{AckMode, ConsumerView, MessageChip, QueueView};
use leptos::prelude::*;

use crate::charts::QueueChart;
use crate::handle::SimHandle;

/// Chips shown per queue; the rest are counted.
const CHIPS: usize = 14;
/// Window slots drawn per consumer; a bigger prefetch is summarised.
const SLOTS: usize = 12;

/// Every queue, as a grid of cards.
#[component]
pub fn Queues(sim: SimHandle) -> impl IntoView {
    let names = Memo::new(move |_| sim.read_layout(|s| s.queue_names()));
    view! {
        <div class="queue-grid">
            // Redrawn whole only when queues come or go.
            {move || names.get().into_iter().map(|name| view! { <QueueCard sim=sim name=name /> }).collect_view()}
        </div>
    }
}

/// One queue: header, FIFO, consumers, chart.
#[component]
pub fn QueueCard(sim: SimHandle, name: String) -> impl IntoView {
    let queue = Memo::new({
        let name = name.clone();
        move |_| sim.read(|s| s.queue(&name, CHIPS).ok())
    });
    let consumers = Memo::new(move |_| {
        queue.with(|q| q.as_ref().map(|q| q.consumers.iter().map(|c| c.consumer).collect::<Vec<_>>()))
    });
    let consumers = move || consumers.get().unwrap_or_default();
    let chart_name = name.clone();
    let inspect = crate::forms::Forms::get().log_message;
    // The guided tour points at this queue while its step is about it.
    let focused = {
        let name = name.clone();
        move || {
            let on = sim
                .read_slow(|s| s.tour().is_some_and(|t| matches!(t.focus(), home_sim::Focus::Queue(q) if q == name)));
            if on { "queue-card tour-focus" } else { "queue-card" }
        }
    };
    let with = move |f: fn(&QueueView) -> String| move || queue.with(|q| q.as_ref().map(f).unwrap_or_default());
    view! {
        <article class=focused data-testid="queue-card" data-queue=name.clone()>
            <header>
                <h3 data-testid="queue-title">{name.clone()}</h3>
                <span class="counts">
                    <span class="ready" data-testid="queue-ready">{with(|q| q.ready_total.to_string())}</span>" ready · "
                    <span class="unacked" data-testid="queue-unacked">{with(|q| q.unacked_total.to_string())}</span>" unacked"
                </span>
            </header>
            <p class="bindings">{with(bindings)}</p>
            <p class="badges">{with(policy)}</p>
            <div class="fifo" aria-label="Ready messages, next out on the left">
                <span class="fifo-out" aria-hidden="true">"◀ out"</span>
                <For each=move || queue.with(|q| q.as_ref().map(|q| q.ready.clone()).unwrap_or_default())
                    key=|c| (c.message_id, c.redelivered) children=move |c| chip(c, inspect) />
                <span class="more">{with(|q| {
                    let more = q.ready_total.saturating_sub(q.ready.len() as u64);
                    if more > 0 { format!("+{more}") } else { String::new() }
                })}</span>
                <span class="fifo-empty">{with(|q| if q.ready_total == 0 { "empty".into() } else { String::new() })}</span>
            </div>
            <ul class="consumers">
                // Redrawn whole only when consumers come or go; each row follows its own memo.
                {move || consumers().into_iter().map(|c| view! { <ConsumerRow sim=sim queue=queue consumer=c /> }).collect_view()}
            </ul>
            <QueueChart sim=sim name=chart_name />
        </article>
    }
}

fn bindings(q: &QueueView) -> String {
    if q.bindings.is_empty() {
        "no bindings (dead letters arrive here)".into()
    } else {
        format!("bound to {}", q.bindings.join(", "))
    }
}

fn policy(q: &QueueView) -> String {
    let o = &q.options;
    let mut parts = Vec::new();
    if let Some(ttl) = o.message_ttl_ms {
        parts.push(format!("TTL {}", home_sim::views::seconds(ttl)));
    }
    if let Some(max) = o.max_length {
        parts.push(format!("max {max} ({})", overflow_name(o.overflow)));
    }
    if let Some(dl) = &o.dead_letter {
        parts.push(format!("dead letters → {dl}"));
    }
    let c = q.counters;
    let lost = c.dropped + c.expired + c.dead_lettered + c.refused;
    if lost > 0 {
        parts.push(format!("{lost} dropped/dead-lettered"));
    }
    parts.join(" · ")
}

/// `drop-oldest` / `reject-publish`.
pub fn overflow_name(o: home_sim::Overflow) -> &'static str {
    match o {
        home_sim::Overflow::DropOldest => "drop-oldest",
        home_sim::Overflow::RejectPublish => "reject-publish",
    }
}

/// A ready message; clicking it shows its journey in the event log.
fn chip(c: MessageChip, inspect: RwSignal<String>) -> impl IntoView {
    let class = if c.redelivered { "chip redelivered" } else { "chip" };
    let testid = if c.redelivered { "chip-redelivered" } else { "chip" };
    let id = c.message_id;
    view! {
        <button type="button" class=class data-testid=testid data-message=id.to_string()
            title=format!("#{id} {} {} — click for its journey", c.topic, c.payload)
            on:click=move |_| inspect.set(id.to_string())>
            {format!("#{id}")}
        </button>
    }
}

/// One consumer: its prefetch window (filled slots are unacked messages),
/// settings and a crash button. Keyed by consumer, it redraws only what changed.
#[component]
fn ConsumerRow(sim: SimHandle, queue: Memo<Option<QueueView>>, consumer: u64) -> impl IntoView {
    let row = Memo::new(move |_| {
        queue.with(|q| q.as_ref().and_then(|q| q.consumers.iter().find(|c| c.consumer == consumer).cloned()))
    });
    let Some(first) = row.get_untracked() else { return ().into_any() };
    let inspect = crate::forms::Forms::get().log_message;
    let prefetch = first.settings.prefetch as usize;
    // One closure type for every slot attribute (fn pointers pick the
    // text): fewer monomorphised views, a smaller wasm.
    type Slot = Option<(u64, bool)>;
    let attr = move |i: usize, f: fn(Slot) -> String| {
        move || f(row.with(|c| c.as_ref().and_then(|c| c.unacked.get(i).copied())))
    };
    let slots = (0..prefetch.min(SLOTS))
        .map(|i| {
            let class = attr(i, |s| match s {
                Some((_, true)) => "slot full redelivered".into(),
                Some(_) => "slot full".into(),
                None => "slot".into(),
            });
            let testid = attr(i, |s| if s.is_some_and(|s| s.1) { "slot-redelivered" } else { "slot" }.into());
            let title = attr(i, |s| {
                s.map_or("free".into(), |(id, again)| format!("#{id}{}", if again { " redelivered" } else { "" }))
            });
            // A held message, clicked, opens its journey like a chip.
            let open = move |_| {
                if let Some(id) = row.with_untracked(|c| c.as_ref().and_then(|c| c.unacked.get(i).map(|u| u.0))) {
                    inspect.set(id.to_string());
                }
            };
            view! { <span class=class data-testid=testid title=title on:click=open></span> }
        })
        .collect_view();
    let show = move |f: fn(&ConsumerView) -> String| move || row.with(|c| c.as_ref().map(f).unwrap_or_default());
    let overflow = show(|c| {
        let prefetch = c.settings.prefetch as usize;
        if prefetch > SLOTS { format!("{}/{prefetch}", c.unacked.len()) } else { String::new() }
    });
    let settings = show(|c| {
        let s = c.settings;
        let ack = if s.ack == AckMode::Manual { "manual ack" } else { "auto ack" };
        format!("prefetch {} · {ack} · {} ms", s.prefetch, s.processing_ms)
    });
    let worker = first.worker;
    let crash = move |_| {
        if let Some(id) = worker {
            sim.act(|sim| sim.apply(home_sim::Action::Crash(id)));
        }
    };
    view! {
        <li class="consumer" data-testid="consumer">
            <span class="consumer-label">{first.label}</span>
            <span class="window" title="Prefetch window: filled slots are unacked messages">{slots}{overflow}</span>
            <span class="consumer-settings">{settings}</span>
            {worker.map(|_| view! {
                <button class="small danger" data-testid="crash" on:click=crash title="Drop its connection without goodbye">"Crash"</button>
            })}
        </li>
    }
    .into_any()
}
