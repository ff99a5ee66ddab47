//! Live mode: a real broker over its WebSocket (`/ws` of the serving broker
//! by default, any `ws://`/`wss://` URL on request), with its queues, rates
//! and memory and disk budgets from the `stats` stream, its connections and
//! its durable queues' bytes on disk from the admin API, device cards
//! from the retained state of `home/#`, a publish form and a subscribe panel.
//!
//! The connection ([`conn`]) and the session glue ([`session`]) are effects
//! that live while the view is mounted; what they learn is a plain
//! [`state::LiveState`] the panels read. When this page's own broker wants
//! a login, a form takes the panels' place until the browser has one
//! ([`login`], over the requests in [`account`]); when another broker
//! refuses this page's WebSocket, [`origin`] says which flag lets it in.

mod account;
mod api;
mod charts;
mod conn;
mod connections;
mod devices;
pub mod discovery;
mod fleet;
mod login;
mod memory;
mod origin;
mod panels;
mod payload;
mod pubsub;
mod queue_details;
mod queue_disk;
mod session;
mod state;
pub mod topics;
mod tree;
pub mod wire;

use leptos::prelude::*;

pub use account::Account;
pub use conn::{LinkState, backoff_ms};
pub use connections::{ConnectionRow, connection_table};
pub use devices::{Device, group as group_devices};
pub use memory::{blocked_line, memory_line};
pub use origin::refusal_hint;
pub use queue_disk::{DiskBytes, disk_bytes_from_json, with_disk_bytes};
pub use session::http_base;
pub use state::{CHART_SAMPLES, DeviceState, HISTORY, LiveState, Received, Sample, Totals, format_bytes, format_rate};

use crate::queue_table::QueueTable;
use charts::LiveCharts;
use connections::Connections;
use fleet::{Fleet, FleetHandle};
use login::{Gate, LoginForm, UserBar, checking};
use origin::{OriginHint, is_own};
use panels::{Devices, TotalsBar};
use pubsub::{LivePublish, Subscribe};
use queue_details::QueueDetails;
use session::Session;
use tree::TopicTreePanel;

/// The filter the subscribe panel starts with: everything.
const DEFAULT_FILTER: &str = "#";

/// The serving broker's WebSocket URL: `ws(s)://HOST/ws` of this page.
pub fn default_url() -> String {
    let location = window().location();
    let secure = location.protocol().is_ok_and(|p| p == "https:");
    let host = location.host().unwrap_or_default();
    format!("{}://{host}/ws", if secure { "wss" } else { "ws" })
}

/// What live mode keeps while another tab is shown: the session (what was
/// collected, the link), the simulated devices, and which broker it follows.
/// The app shell makes one for the page's life.
#[derive(Clone, Copy)]
pub struct LiveKeep {
    session: Session,
    fleet: FleetHandle,
    /// The URL field.
    url: RwSignal<String>,
    /// The broker the view follows.
    target: RwSignal<String>,
}

impl LiveKeep {
    /// Nothing connected yet: the link opens when the Live tab is first shown.
    pub fn new() -> Self {
        Self {
            session: Session::new(DEFAULT_FILTER),
            fleet: FleetHandle::new(),
            url: RwSignal::new(default_url()),
            target: RwSignal::new(default_url()),
        }
    }
}

impl Default for LiveKeep {
    fn default() -> Self {
        Self::new()
    }
}

/// The live view. Following this page's own broker, it waits for the
/// broker's word on logins and shows the login form while one is needed;
/// otherwise (or following another broker) its panels connect when first
/// shown and stay connected, collecting, while another tab is open.
#[component]
pub fn Live(
    /// What live mode keeps across tab switches.
    #[prop(optional)]
    keep: Option<LiveKeep>,
) -> impl IntoView {
    let gate = Gate::new();
    gate.check();
    provide_context(gate);
    let LiveKeep { session, fleet, url, target } = keep.unwrap_or_default();
    let locked = Memo::new(move |_| target.with(|t| is_own(t)) && gate.locked());
    let connect = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let was_locked = locked.get_untracked();
        let next = url.get_untracked().trim().to_string();
        target.set(next.clone());
        // Panels that stay mounted follow the new URL now; panels that
        // mount because of it connect themselves.
        if !was_locked && !locked.get_untracked() {
            session.connect(next);
        }
    };
    let link_state = session.link_state;
    let status_class = move || if locked.get() { "status loading" } else { link_state.with(LinkState::class) };
    let status = move || match (locked.get(), gate.known()) {
        (false, _) => link_state.with(|s| s.text(&target.get())),
        (true, false) => format!("asking {} whether it wants a login…", target.get()),
        (true, true) => format!("{} wants a login", target.get()),
    };
    view! {
        <div class="live">
            <section class="panel live-head">
                <form class="connect" on:submit=connect aria-label="Broker">
                    <label>"Broker "
                        <input type="url" data-testid="live-url" spellcheck="false" size="34"
                            bind:value=url />
                    </label>
                    <button type="submit">"Connect"</button>
                </form>
                <p class=status_class data-testid="status" role="status">{status}</p>
                <UserBar gate=gate />
                <OriginHint session=session />
            </section>
            {move || match (locked.get(), gate.known()) {
                (false, _) => view! { <LivePanels session=session fleet=fleet url=url target=target /> }.into_any(),
                (true, false) => checking().into_any(),
                (true, true) => view! { <LoginForm gate=gate /> }.into_any(),
            }}
        </div>
    }
}

/// Everything live mode shows of a broker; connected to `target` from its
/// first mount on (a later mount finds the session still linked).
#[component]
fn LivePanels(session: Session, fleet: FleetHandle, url: RwSignal<String>, target: RwSignal<String>) -> impl IntoView {
    session.ensure(target.get_untracked());
    let disk_bytes = queue_disk::poll(session);
    let queues = Signal::derive(move || {
        session.version.track();
        let queues = session.state.with_value(|s| s.queues.clone());
        disk_bytes.with(|bytes| with_disk_bytes(queues, bytes.as_ref()))
    });
    // A memo, so the table is only replaced when this flips.
    let has_stats = Memo::new(move |_| {
        session.version.track();
        session.state.with_value(|s| s.has_stats)
    });
    view! {
        <TotalsBar session=session />
        <div class="live-grid">
            <section class="panel" aria-labelledby="live-queues-h">
                <h2 id="live-queues-h">"Queues"</h2>
                {move || if has_stats.get() {
                    view! { <QueueTable queues=queues /><QueueDetails session=session /><LiveCharts session=session /> }
                        .into_any()
                } else {
                    no_list_yet().into_any()
                }}
            </section>
            <section class="panel" aria-labelledby="live-devices-h">
                <h2 id="live-devices-h">"Devices " <small>"home/#, Home Assistant, zigbee2mqtt, Tasmota, Shelly"</small></h2>
                <Devices session=session />
            </section>
            <section class="panel wide" aria-labelledby="live-tree-h">
                <h2 id="live-tree-h">"Topics " <small>"everything this page saw, kept across tabs"</small></h2>
                <TopicTreePanel session=session />
            </section>
            <section class="panel" aria-labelledby="live-pub-h">
                <h2 id="live-pub-h">"Publish"</h2>
                <LivePublish session=session />
            </section>
            <section class="panel" aria-labelledby="live-conns-h">
                <h2 id="live-conns-h">"Connections"</h2>
                <Connections session=session />
            </section>
            <section class="panel" aria-labelledby="live-fleet-h">
                <h2 id="live-fleet-h">"Simulated devices"</h2>
                <Fleet url=url fleet=fleet />
            </section>
            <section class="panel wide" aria-labelledby="live-sub-h">
                <h2 id="live-sub-h">"Subscribe"</h2>
                <Subscribe session=session />
            </section>
        </div>
    }
}

/// Before the first stats frame there is no list, which is not the same as
/// an empty one: say so rather than claim there are no queues.
fn no_list_yet() -> impl IntoView {
    view! {
        <p class="empty" data-testid="no-list">
            "The queue list appears here once the broker answers."
        </p>
    }
}
