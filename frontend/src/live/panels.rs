//! Live panels that only show: broker totals and rates, device cards from
//! retained `home/#` state, and the broker's connections.

use std::time::Duration;

use leptos::leptos_dom::helpers::set_interval_with_handle;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde::Deserialize;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;

use super::devices::{Device, group};
use super::session::Session;
use super::state::format_rate;

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

/// A card per device (see [`super::devices`]) with its fields, an online
/// dot from its status or last will, and a pulse when a message arrives.
#[component]
pub fn Devices(session: Session) -> impl IntoView {
    let devices = move || {
        session.version.track();
        session.state.with_value(|s| group(&s.devices))
    };
    view! {
        <Show when=move || { session.version.track(); session.state.with_value(|s| !s.devices.is_empty()) } fallback=|| view! {
            <p class="empty" data-testid="no-devices">"No device state yet: devices publish retained messages under home/…"</p>
        }>
            <div class="live-devices">
                <For each=devices key=Device::clone children=device_card />
            </div>
        </Show>
    }
}

/// One device's card. Keyed by the whole [`Device`], so it is rebuilt (and
/// pulses, if the change came live) exactly when something about it changed.
fn device_card(device: Device) -> impl IntoView {
    let (class, says) = match device.online {
        Some(true) => ("live-dot on", "online"),
        Some(false) => ("live-dot off", "offline"),
        None => ("live-dot", "no status"),
    };
    let name = device.name.clone();
    view! {
        <article class="live-device" class:offline=device.online == Some(false) class:pulse=device.live
            data-testid="live-device" data-device=name>
            <h3>
                <span class=class data-testid="live-device-online" title="from its retained status or last will">{says}</span>
                <span data-testid="live-device-name">{device.name}</span>
            </h3>
            <dl data-testid="live-device-fields">
                {device.fields.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
            </dl>
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
