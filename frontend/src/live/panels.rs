//! Live panels that only show: broker totals, rates, memory and disk, and device
//! cards from retained `home/#` state.

use leptos::prelude::*;

use super::devices::{Device, group};
use super::memory::{blocked_line, memory_line};
use super::session::Session;
use super::state::format_rate;

/// Connections, consumers, retained topics, broker-wide rates, memory and
/// disk, and under them the warning while publishers are blocked.
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
            {memory_line(move || totals().memory)}
        </div>
        {blocked_line(move || totals().memory)}
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
    // A memo, so the list below is only replaced when this flips.
    let any = Memo::new(move |_| {
        session.version.track();
        session.state.with_value(|s| !s.devices.is_empty())
    });
    move || {
        if !any.get() {
            let none = "No device state yet: devices publish retained messages under home/…";
            return view! { <p class="empty" data-testid="no-devices">{none}</p> }.into_any();
        }
        view! {
            <div class="live-devices">
                <For each=devices key=Device::clone children=device_card />
            </div>
        }
        .into_any()
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
    let short = device.name.strip_prefix("home/").unwrap_or(&device.name).to_string();
    let name = device.name;
    view! {
        <article class="live-device" class:offline=device.online == Some(false) class:pulse=device.live
            data-testid="live-device" title=name.clone() data-device=name>
            <h3>
                <span class=class data-testid="live-device-online" title="from its retained status or last will">{says}</span>
                <span data-testid="live-device-name">{short}</span>
            </h3>
            <dl data-testid="live-device-fields">
                {device.fields.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
            </dl>
        </article>
    }
}
