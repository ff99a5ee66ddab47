//! Live mode: the broker that served the page, polled through its admin API.
//! Today it lists the broker's queues; the stats stream, device cards and the
//! publish / subscribe panels come next.

use std::time::Duration;

use leptos::prelude::*;
use leptos::task::spawn_local;

use crate::api;
use crate::model::{QueueInfo, Status};
use crate::queue_table::QueueTable;
use crate::status::StatusLine;

/// How often the queue list is fetched again.
const REFRESH: Duration = Duration::from_secs(1);

/// The live view of the serving broker.
#[component]
pub fn Live() -> impl IntoView {
    let queues = RwSignal::new(Vec::<QueueInfo>::new());
    let loaded = RwSignal::new(false);
    let status = RwSignal::new(Status::Loading);
    poll_queues(queues, loaded, status);
    view! {
        <section class="live panel">
            <header class="panel-head">
                <h2>"Broker queues"</h2>
                <StatusLine status=status />
            </header>
            <Show when=move || loaded.get() fallback=no_list_yet>
                <QueueTable queues=queues />
            </Show>
        </section>
    }
}

/// Before the first answer there is no list, which is not the same as an
/// empty one: say so rather than claim there are no queues.
fn no_list_yet() -> impl IntoView {
    view! {
        <p class="empty" data-testid="no-list">
            "The queue list appears here once the broker answers."
        </p>
    }
}

/// Fetches the queue list now and every [`REFRESH`], until the owner is
/// cleaned up. A request still in flight is not doubled. After an error the
/// last list stays on screen and the status line says so.
fn poll_queues(queues: RwSignal<Vec<QueueInfo>>, loaded: RwSignal<bool>, status: RwSignal<Status>) {
    let in_flight = RwSignal::new(false);
    let refresh = move || {
        if in_flight.get_untracked() {
            return;
        }
        in_flight.set(true);
        spawn_local(async move {
            match api::fetch_queues().await {
                Ok(list) => {
                    queues.set(list);
                    loaded.set(true);
                    status.set(Status::Connected);
                }
                Err(reason) if loaded.get_untracked() => {
                    status.set(Status::Error(format!("{reason} (showing the last list received)")))
                }
                Err(reason) => status.set(Status::Error(reason)),
            }
            in_flight.set(false);
        });
    };
    refresh();
    match set_interval_with_handle(refresh, REFRESH) {
        Ok(handle) => on_cleanup(move || handle.clear()),
        Err(_) => status.set(Status::Error("this browser refused a timer, so the list will not refresh".to_string())),
    }
}
