//! The event log: the simulation's recent events, newest first, each
//! explained in one line, filtered by kind, queue, device or message. A
//! message filter (typed, or set by clicking a message chip) also shows the
//! message's journey: published, routed, delivered, acked or redelivered,
//! dead-lettered. Bounded: the simulation keeps the last
//! [`LOG_CAPACITY`] events and the page shows the newest [`SHOWN`] that pass.

use home_sim::log::LOG_CAPACITY;
use home_sim::{Journey, LogFilter, LogKind};
use leptos::prelude::*;

use crate::forms::Forms;
use crate::handle::SimHandle;

/// Lines shown at most.
pub const SHOWN: usize = 200;

/// The kind groups a learner filters by: (value, label, kinds).
const GROUPS: [(&str, &str, &[LogKind]); 8] = [
    ("all", "Everything", &[]),
    ("publish", "Publishes & routing", &[LogKind::Publish, LogKind::Route, LogKind::Retain]),
    ("deliver", "Deliveries & acks", &[LogKind::Deliver, LogKind::Ack]),
    ("redeliver", "Redeliveries", &[LogKind::Redeliver]),
    ("lost", "TTL, drops, dead letters", &[LogKind::Expire, LogKind::DeadLetter, LogKind::Drop]),
    ("connection", "Connections & wills", &[LogKind::Connection, LogKind::Consumer]),
    ("house", "Devices & automations", &[LogKind::Device, LogKind::Automation]),
    ("you", "Your actions & errors", &[LogKind::Control, LogKind::Queue, LogKind::Error]),
];

/// Which log kind a line is, as a CSS class.
fn kind_class(kind: LogKind) -> &'static str {
    match kind {
        LogKind::Redeliver => "line redeliver",
        LogKind::Expire | LogKind::DeadLetter | LogKind::Drop | LogKind::Error => "line lost",
        LogKind::Control | LogKind::Queue => "line you",
        LogKind::Connection => "line conn",
        _ => "line",
    }
}

/// The message id typed in the filter, if it is one.
fn message_id(text: &str) -> Option<u64> {
    text.trim().trim_start_matches('#').parse().ok()
}

/// The filterable event log, with a message's journey when filtered by one.
#[component]
pub fn EventLog(sim: SimHandle) -> impl IntoView {
    let Forms { log_group: group, log_queue: queue, log_device: device, log_message: message, .. } = Forms::get();
    let filter = move || LogFilter {
        kinds: GROUPS.iter().find(|g| g.0 == group.get()).map(|g| g.2.to_vec()).unwrap_or_default(),
        queue: Some(queue.get()).filter(|q| !q.is_empty()),
        device: Some(device.get()).filter(|d| !d.is_empty()),
        message: message_id(&message.get()),
    };
    let queues = Memo::new(move |_| sim.read_slow(|s| s.queue_names()));
    let devices =
        Memo::new(move |_| sim.read_slow(|s| s.devices().into_iter().map(|d| (d.id, d.name)).collect::<Vec<_>>()));
    let lines = Memo::new(move |_| {
        let filter = filter();
        sim.read_slow(|s| {
            s.log()
                .filtered(&filter)
                .rev()
                .take(SHOWN)
                .map(|e| (e.seq, kind_class(e.kind), e.line()))
                .collect::<Vec<_>>()
        })
    });
    view! {
        <div class="log">
            <div class="row filters wrap" role="group" aria-label="Filter the log">
                <label>"Show"
                    <select bind:value=group data-testid="log-kind">
                        {GROUPS.iter().map(|g| view! { <option value=g.0>{g.1}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Queue"
                    <select bind:value=queue data-testid="log-queue">
                        <option value="">"any"</option>
                        {move || queues.get().into_iter().map(|q| view! { <option value=q.clone()>{q.clone()}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Device"
                    <select bind:value=device>
                        <option value="">"any"</option>
                        {move || devices.get().into_iter().map(|(id, name)| view! { <option value=id>{name}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Message #"
                    <input type="text" inputmode="numeric" size="6" placeholder="any" bind:value=message data-testid="log-message" />
                </label>
            </div>
            {move || message_id(&message.get()).map(|id| view! { <JourneyPanel sim=sim id=id /> })}
            <ol class="log-lines" data-testid="log" aria-live="off">
                <For each=move || lines.get() key=|l| l.0 let:l>
                    <li class=l.1 data-testid="log-line">{l.2}</li>
                </For>
            </ol>
            {move || lines.with(Vec::is_empty).then(|| view! { <p class="empty">"Nothing matches this filter yet."</p> })}
            <p class="note">{format!("The newest {SHOWN} matching lines of the last {LOG_CAPACITY} events.")}</p>
        </div>
    }
}

/// One message's journey, step by step, as far back as the log reaches.
#[component]
fn JourneyPanel(sim: SimHandle, id: u64) -> impl IntoView {
    let journey = Memo::new(move |_| sim.read_slow(|s| s.journey(id)));
    let message = Forms::get().log_message;
    let steps = move |j: &Journey| {
        j.steps
            .iter()
            .map(|s| {
                let stage = s.stage.name();
                view! {
                    <li class=format!("step {stage}") data-testid="journey-step" data-stage=stage>
                        <span class="stage">{stage}</span>" "{s.line.clone()}
                    </li>
                }
            })
            .collect_view()
    };
    let body = move || {
        journey.with(|j| match j {
            None => view! { <p class="note">{format!("Nothing about message #{id} in the last {LOG_CAPACITY} events.")}</p> }.into_any(),
            Some(j) => view! {
                {(!j.complete).then(|| view! { <p class="note">"Its first steps have left the log."</p> })}
                <ol class="journey-steps">{steps(j)}</ol>
            }
            .into_any(),
        })
    };
    view! {
        <section class="journey" data-testid="journey" aria-label=format!("Journey of message #{id}")>
            <div class="row">
                <h3 class="grow">{format!("Journey of message #{id}")}</h3>
                <button type="button" class="small" on:click=move |_| message.set(String::new()) data-testid="journey-clear">"Clear"</button>
            </div>
            {body}
        </section>
    }
}
