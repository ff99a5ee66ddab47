//! Queues drawn as FIFOs: the ready messages as chips in delivery order,
//! the consumers with their prefetch windows (filled slots are unacked
//! messages), redeliveries marked, and a chart of the last minute.

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
    let names = Memo::new(move |_| sim.read(|s| s.queue_names()));
    view! {
        <div class="queue-grid">
            <For each=move || names.get() key=|n| n.clone() let:name>
                <QueueCard sim=sim name=name />
            </For>
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
    let chart_name = name.clone();
    let with = move |f: fn(&QueueView) -> String| move || queue.with(|q| q.as_ref().map(f).unwrap_or_default());
    view! {
        <article class="queue-card" data-testid="queue-card" data-queue=name.clone()>
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
                    key=|c| (c.message_id, c.redelivered) children=chip />
                <span class="more">{move || queue.with(|q| q.as_ref().and_then(|q| {
                    let more = q.ready_total.saturating_sub(q.ready.len() as u64);
                    (more > 0).then(|| format!("+{more}"))
                }))}</span>
                {move || queue.with(|q| q.as_ref().is_some_and(|q| q.ready_total == 0)).then(|| view! { <span class="fifo-empty">"empty"</span> })}
            </div>
            <ul class="consumers">
                {move || queue.with(|q| q.as_ref().map(|q| q.consumers.clone()).unwrap_or_default())
                    .into_iter().map(|c| consumer(sim, c)).collect_view()}
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

fn chip(c: MessageChip) -> impl IntoView {
    let class = if c.redelivered { "chip redelivered" } else { "chip" };
    let testid = if c.redelivered { "chip-redelivered" } else { "chip" };
    view! {
        <span class=class data-testid=testid title=format!("#{} {} {}", c.message_id, c.topic, c.payload)>
            {format!("#{}", c.message_id)}
        </span>
    }
}

fn consumer(sim: SimHandle, c: ConsumerView) -> impl IntoView {
    let s = c.settings;
    let ack = if s.ack == AckMode::Manual { "manual ack" } else { "auto ack" };
    let prefetch = s.prefetch as usize;
    let slots = (0..prefetch.min(SLOTS))
        .map(|i| match c.unacked.get(i) {
            Some((id, true)) => view! { <span class="slot full redelivered" data-testid="slot-redelivered" title=format!("#{id} redelivered")></span> },
            Some((id, false)) => view! { <span class="slot full" data-testid="slot" title=format!("#{id}")></span> },
            None => view! { <span class="slot" data-testid="slot" title="free".to_string()></span> },
        })
        .collect_view();
    let overflow = (prefetch > SLOTS).then(|| format!("{}/{prefetch}", c.unacked.len()));
    let worker = c.worker;
    let crash = move |_| {
        if let Some(id) = worker {
            sim.act(|sim| sim.crash_consumer(id));
        }
    };
    view! {
        <li class="consumer" data-testid="consumer">
            <span class="consumer-label">{c.label.clone()}</span>
            <span class="window" title="Prefetch window: filled slots are unacked messages">{slots}{overflow}</span>
            <span class="consumer-settings">{format!("prefetch {} · {ack} · {} ms", s.prefetch, s.processing_ms)}</span>
            {worker.map(|_| view! {
                <button class="small danger" data-testid="crash" on:click=crash title="Drop its connection without goodbye">"Crash"</button>
            })}
        </li>
    }
}
