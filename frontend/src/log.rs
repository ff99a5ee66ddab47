//! The event log: the simulation's recent events, newest first, each
//! explained in one line, filtered by kind, queue or device. Bounded: the
//! simulation keeps 500 entries and the page shows the newest [`SHOWN`].

use home_sim::{LogFilter, LogKind};
use leptos::prelude::*;

use crate::handle::SimHandle;

/// Lines shown at most.
pub const SHOWN: usize = 60;

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

/// The filterable event log.
#[component]
pub fn EventLog(sim: SimHandle) -> impl IntoView {
    let group = RwSignal::new("all".to_string());
    let queue = RwSignal::new(String::new());
    let device = RwSignal::new(String::new());
    let filter = move || LogFilter {
        kinds: GROUPS.iter().find(|g| g.0 == group.get()).map(|g| g.2.to_vec()).unwrap_or_default(),
        queue: Some(queue.get()).filter(|q| !q.is_empty()),
        device: Some(device.get()).filter(|d| !d.is_empty()),
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
            <div class="row filters" role="group" aria-label="Filter the log">
                <label>"Show"
                    <select bind:value=group data-testid="log-kind">
                        {GROUPS.iter().map(|g| view! { <option value=g.0>{g.1}</option> }).collect_view()}
                    </select>
                </label>
                <label>"Queue"
                    <select bind:value=queue>
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
            </div>
            <ol class="log-lines" data-testid="log" aria-live="off">
                {move || lines.get().into_iter().map(|(_, class, line)| view! { <li class=class data-testid="log-line">{line}</li> }).collect_view()}
            </ol>
            {move || lines.with(Vec::is_empty).then(|| view! { <p class="empty">"Nothing matches this filter yet."</p> })}
        </div>
    }
}
