//! Queues drawn as FIFOs: the ready messages as chips in delivery order,
//! the consumers with their prefetch windows (filled slots are unacked
//! messages), redeliveries marked, and a chart of the last minute.

use home_sim::{AckMode, MessageChip, QueueView};
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
                <For each=move || queue.with(|q| q.as_ref().map(|q| q.consumers.iter().map(|c| (c.consumer, c.settings.prefetch)).collect()).unwrap_or_else(Vec::new))
                    key=|c| *c let:c>
                    <ConsumerRow sim=sim queue=queue consumer=c.0 />
                </For>
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

/// One consumer: its prefetch window (filled slots are unacked messages),
/// settings and a crash button. Keyed by consumer, it redraws only what changed.
#[component]
fn ConsumerRow(sim: SimHandle, queue: Memo<Option<QueueView>>, consumer: u64) -> impl IntoView {
    let row = Memo::new(move |_| {
        queue.with(|q| q.as_ref().and_then(|q| q.consumers.iter().find(|c| c.consumer == consumer).cloned()))
    });
    let Some(first) = row.get_untracked() else { return ().into_any() };
    let prefetch = first.settings.prefetch as usize;
    let slot = move |i: usize| move || row.with(|c| c.as_ref().and_then(|c| c.unacked.get(i).copied()));
    let slots = (0..prefetch.min(SLOTS))
        .map(|i| {
            let class = move || match slot(i)() {
                Some((_, true)) => "slot full redelivered",
                Some(_) => "slot full",
                None => "slot",
            };
            let testid = move || if slot(i)().is_some_and(|s| s.1) { "slot-redelivered" } else { "slot" };
            let title = move || {
                slot(i)()
                    .map_or("free".into(), |(id, again)| format!("#{id}{}", if again { " redelivered" } else { "" }))
            };
            view! { <span class=class data-testid=testid title=title></span> }
        })
        .collect_view();
    let overflow = move || {
        (prefetch > SLOTS).then(|| format!("{}/{prefetch}", row.with(|c| c.as_ref().map_or(0, |c| c.unacked.len()))))
    };
    let settings = move || {
        row.with(|c| {
            c.as_ref().map(|c| {
                let s = c.settings;
                let ack = if s.ack == AckMode::Manual { "manual ack" } else { "auto ack" };
                format!("prefetch {} · {ack} · {} ms", s.prefetch, s.processing_ms)
            })
        })
    };
    let worker = first.worker;
    let crash = move |_| {
        if let Some(id) = worker {
            sim.act(|sim| sim.crash_consumer(id));
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
