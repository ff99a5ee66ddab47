//! Live panels that only show: broker totals and rates, device cards from
//! retained `home/#` state, and the broker's connections.

use std::time::Duration;

use leptos::leptos_dom::helpers::set_interval_with_handle;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::session::Session;
use super::state::{DeviceState, format_rate};

/// How often the connection list is fetched.
const CONNECTIONS_EVERY: Duration = Duration::from_secs(2);

/// Connections, consumers, retained topics and broker-wide rates.
#[component]
pub fn TotalsBar(session: Session) -> impl IntoView {
    let totals = move || {
        session.version.track();
        session.state.with_value(|s| s.totals.clone())
    };
    let item = move |label: &'static str, id: &'static str, get: fn(&super::Totals) -> String| {
        view! {
            <div class="counter">
                <span class="counter-value" data-testid=id>{move || get(&totals())}</span>
                <span class="counter-label">{label}</span>
            </div>
        }
    };
    view! {
        <div class="counters live-totals">
            {item("published / s", "live-publish-rate", |t| format_rate(t.publish_rate))}
            {item("delivered / s", "live-deliver-rate", |t| format_rate(t.deliver_rate))}
            {item("acked / s", "live-ack-rate", |t| format_rate(t.ack_rate))}
            {item("published", "live-published", |t| t.published.to_string())}
            {item("connections", "live-connections", |t| t.connections.to_string())}
            {item("consumers", "live-consumers", |t| t.consumers.to_string())}
            {item("retained topics", "live-retained", |t| t.retained.to_string())}
        </div>
    }
}

/// A card per `home/…` topic with its last payload.
#[component]
pub fn Devices(session: Session) -> impl IntoView {
    let devices = move || {
        session.version.track();
        session.state.with_value(|s| s.devices.iter().map(|(t, d)| (t.clone(), d.clone())).collect::<Vec<_>>())
    };
    view! {
        <Show when=move || !devices().is_empty() fallback=|| view! {
            <p class="empty" data-testid="no-devices">"No device state yet: devices publish retained messages under home/…"</p>
        }>
            <div class="live-devices">
                <For each=devices key=|(t, d)| (t.clone(), d.payload.clone()) children=device_card />
            </div>
        </Show>
    }
}

fn device_card((topic, state): (String, DeviceState)) -> impl IntoView {
    let offline = state.payload.eq_ignore_ascii_case("offline");
    view! {
        <article class="live-device" class:offline=offline data-testid="live-device">
            <h3 data-testid="live-device-topic">{topic}</h3>
            <p class="device-state" data-testid="live-device-state">{state.payload}</p>
            <p class="hint">{if state.retained { "retained state" } else { "live update" }}</p>
        </article>
    }
}

/// A connection as `GET /api/connections` lists it (fields the table shows).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Deserialize)]
#[serde(default)]
struct ConnectionRow {
    client_id: String,
    remote: String,
    consumers: u64,
    unacked: u64,
    published: u64,
}

/// The broker's connections, fetched from its admin API every few seconds.
#[component]
pub fn Connections(session: Session) -> impl IntoView {
    let rows = RwSignal::new(None::<Result<Vec<ConnectionRow>, String>>);
    let refresh = move || {
        let url = format!("{}/api/connections", session.http_base.get_value());
        spawn_local(async move { rows.set(Some(fetch_connections(&url).await)) });
    };
    refresh();
    if let Ok(handle) = set_interval_with_handle(refresh, CONNECTIONS_EVERY) {
        on_cleanup(move || handle.clear());
    }
    move || {
        match rows.get() {
        None => view! { <p class="empty">"Loading connections…"</p> }.into_any(),
        Some(Err(why)) => view! { <p class="empty" data-testid="connections-error">{why}</p> }.into_any(),
        Some(Ok(list)) => view! {
            <table class="queues" data-testid="connections">
                <thead><tr>
                    <th scope="col">"Client"</th><th scope="col">"Address"</th>
                    <th scope="col" class="num">"Consumers"</th><th scope="col" class="num">"Unacked"</th>
                    <th scope="col" class="num">"Published"</th>
                </tr></thead>
                <tbody>
                    <For each=move || list.clone() key=ConnectionRow::clone children=|c| view! {
                        <tr data-testid="connection-row">
                            <th scope="row">{c.client_id}</th><td>{c.remote}</td>
                            <td class="num">{c.consumers}</td><td class="num">{c.unacked}</td><td class="num">{c.published}</td>
                        </tr>
                    } />
                </tbody>
            </table>
        }.into_any(),
    }
    }
}

async fn fetch_connections(url: &str) -> Result<Vec<ConnectionRow>, String> {
    let unreachable = |_| format!("no connection list: {url} cannot be read from this page");
    let response = JsFuture::from(window().fetch_with_str(url)).await.map_err(unreachable)?;
    let response: web_sys::Response = response.dyn_into().map_err(unreachable)?;
    if !response.ok() {
        return Err(format!("no connection list: {url} answered {}", response.status()));
    }
    let text = JsFuture::from(response.text().map_err(unreachable)?).await.map_err(unreachable)?;
    serde_json::from_str(&text.as_string().unwrap_or_default()).map_err(|e| format!("unreadable connection list: {e}"))
}
