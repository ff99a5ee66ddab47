//! The table of queues, or the empty state when there are none.

use leptos::prelude::*;

use crate::live::format_bytes;
use crate::model::QueueInfo;

/// A row per queue: name (with a "durable" mark and its bytes on disk when
/// known, and a note on this page's own subscriptions), ready, unacked, consumers, rates in and out.
///
/// Pure: it shows whatever `queues` holds and fetches nothing.
#[component]
pub fn QueueTable(
    /// The queues to show, in order.
    #[prop(into)]
    queues: Signal<Vec<QueueInfo>>,
) -> impl IntoView {
    move || {
        let list = queues.get();
        if list.is_empty() {
            return empty_state().into_any();
        }
        // Wider than a narrow panel (six columns at 1024 px): it scrolls
        // inside its panel rather than spilling out of it.
        view! {
            <div class="table-scroll">
            <table class="queues" data-testid="queue-table">
                <thead>
                    <tr>
                        <th scope="col">"Queue"</th>
                        <th scope="col" class="num">"Ready"</th>
                        <th scope="col" class="num">"Unacked"</th>
                        <th scope="col" class="num">"Consumers"</th>
                        <th scope="col" class="num">"In/s"</th>
                        <th scope="col" class="num">"Out/s"</th>
                    </tr>
                </thead>
                <tbody>{list.into_iter().map(queue_row).collect_view()}</tbody>
            </table>
            </div>
        }
        .into_any()
    }
}

/// One queue's row (the table is redrawn when the list changes: a handful
/// of rows once a second, cheaper in code than a keyed list).
fn queue_row(queue: QueueInfo) -> impl IntoView {
    let mark = durable_mark(&queue);
    let own = queue.own.then(|| {
        view! { <div class="note" data-testid="queue-own" title="made by this page's live view (client hearth-dashboard)">"this page's own subscription"</div> }
    });
    view! {
        <tr data-testid="queue-row">
            <th scope="row"><span data-testid="queue-name">{queue.name}</span>{mark}{own}</th>
            <td class="num" data-testid="queue-ready">{queue.ready}</td>
            <td class="num" data-testid="queue-unacked">{queue.unacked}</td>
            <td class="num" data-testid="queue-consumers">{queue.consumers}</td>
            <td class="num" data-testid="queue-rate-in">{queue.rate_in}</td>
            <td class="num" data-testid="queue-rate-out">{queue.rate_out}</td>
        </tr>
    }
}

/// A durable queue's mark under its name, and its bytes on disk when
/// known; nothing for a queue that is not durable.
fn durable_mark(queue: &QueueInfo) -> Option<impl IntoView + use<>> {
    let why = "durable: the broker keeps its messages in its store, across restarts";
    let on_disk = queue.disk_bytes.map(|bytes| {
        let bytes = format_bytes(bytes);
        view! { " " <span class="counts" data-testid="queue-disk" title="bytes of its records on disk">{bytes} " on disk"</span> }
    });
    queue.durable.then(|| {
        view! { <div class="note"><span class="badge" title=why data-testid="queue-durable">"durable"</span>{on_disk}</div> }
    })
}

/// What an empty broker looks like, with the command that changes that.
fn empty_state() -> impl IntoView {
    view! {
        <p class="empty" data-testid="empty">
            "No queues yet — declare one with " <code>"hearth pub --declare --queue NAME MESSAGE"</code>
        </p>
    }
}
