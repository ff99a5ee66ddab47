//! Live panels: broker totals, rates, memory and disk, and device cards
//! from retained `home/#` state and from the discovery conventions.

use leptos::prelude::*;

use super::devices::{Device, group};
use super::discovery::{Card, Command, Field};
use super::memory::{blocked_line, memory_line};
use super::session::Session;
use super::state::{LiveState, format_rate};

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

/// A card per device: the `home/…` topics grouped by [`super::devices`],
/// then the devices discovered from Home Assistant, zigbee2mqtt, Tasmota
/// and Shelly topics ([`super::discovery`]), each with its online dot, its
/// values with their units, on/off for what can be switched, and Dismiss
/// for a card whose device is offline.
#[component]
pub fn Devices(session: Session) -> impl IntoView {
    let homes = Memo::new(move |_| {
        session.version.track();
        session.state.with_value(|s| {
            let mut homes = group(&s.devices);
            homes.retain(|d| !(d.online == Some(false) && s.dismissed.contains(&home_key(&d.name))));
            homes
        })
    });
    // Its own memo: the discovered cards are redrawn only when one changed.
    let found = Memo::new(move |_| {
        session.version.track();
        session.state.with_value(LiveState::discovered)
    });
    // A memo, so the list below is only replaced when this flips.
    let any = Memo::new(move |_| homes.with(|h| !h.is_empty()) || found.with(|f| !f.is_empty()));
    let feedback = session.command_feedback;
    move || {
        if !any.get() {
            let none = "No device state yet: devices publish retained messages under home/…, or announce themselves \
                        the Home Assistant, zigbee2mqtt, Tasmota or Shelly way";
            return view! { <p class="empty" data-testid="no-devices">{none}</p> }.into_any();
        }
        view! {
            {move || feedback.get().map(|f| {
                let (class, text) = match f {
                    Ok(text) => ("status ok", text),
                    Err(text) => ("status error", text),
                };
                view! { <p class=class role="status" data-testid="live-command-result">{text}</p> }
            })}
            <div class="live-devices">
                <For each=move || homes.get() key=Device::clone children=move |d| device_card(d, session) />
                {move || found.get().into_iter().map(|c| discovered_card(c, session)).collect_view()}
            </div>
        }
        .into_any()
    }
}

fn home_key(name: &str) -> String {
    format!("home:{name}")
}

/// The online dot's class and words.
fn dot(online: Option<bool>) -> (&'static str, &'static str) {
    match online {
        Some(true) => ("live-dot on", "online"),
        Some(false) => ("live-dot off", "offline"),
        None => ("live-dot", "no status"),
    }
}

/// Dismiss, on an offline card.
fn dismiss(session: Session, offline: bool, key: String) -> impl IntoView {
    offline.then(|| {
        view! {
            <button type="button" class="dismiss" data-testid="live-device-dismiss" title="Hide this card while the device stays offline"
                on:click=move |_| session.dismiss(key.clone())>"Dismiss"</button>
        }
    })
}

/// One device's card. Keyed by the whole [`Device`], so it is rebuilt (and
/// pulses, if the change came live) exactly when something about it changed.
fn device_card(device: Device, session: Session) -> impl IntoView {
    let (class, says) = dot(device.online);
    let short = device.name.strip_prefix("home/").unwrap_or(&device.name).to_string();
    let offline = device.online == Some(false);
    let key = home_key(&device.name);
    let name = device.name;
    view! {
        <article class="live-device" class:offline=offline class:pulse=device.live
            data-testid="live-device" title=name.clone() data-device=name>
            <h3>
                <span class=class data-testid="live-device-online" title="from its retained status or last will">{says}</span>
                <span data-testid="live-device-name">{short}</span>
            </h3>
            <dl data-testid="live-device-fields">
                {device.fields.into_iter().map(|(k, v)| view! { <dt>{k}</dt><dd>{v}</dd> }).collect_view()}
            </dl>
            {dismiss(session, offline, key)}
        </article>
    }
}

/// A discovered device's card: its values with units, and on/off buttons
/// that publish the convention's payloads to the device's command topic.
fn discovered_card(card: Card, session: Session) -> impl IntoView {
    let (class, says) = dot(card.online);
    let offline = card.online == Some(false);
    let Card { key, name, source, fields, .. } = card;
    let (title, data) = (key.clone(), key.clone());
    view! {
        <article class="live-device discovered" class:offline=offline data-testid="live-device" title=title
            data-device=data data-source=source>
            <h3>
                <span class=class data-testid="live-device-online" title="from its availability topic">{says}</span>
                <span data-testid="live-device-name">{name}</span>
            </h3>
            <p class="source" data-testid="live-device-source">{source}</p>
            <dl data-testid="live-device-fields">
                {fields.into_iter().map(|f| field(f, session)).collect_view()}
            </dl>
            {dismiss(session, offline, key)}
        </article>
    }
}

fn field(field: Field, session: Session) -> impl IntoView {
    let Field { label, value, unit, command } = field;
    let shown = if unit.is_empty() || value == "—" { value } else { format!("{value} {unit}") };
    let buttons = command.map(|Command { topic, on, off }| {
        let on_topic = topic.clone();
        view! {
            <span class="switch">
                <button type="button" data-testid="live-device-on" on:click=move |_| session.command(&on_topic, &on)>"On"</button>
                <button type="button" data-testid="live-device-off" on:click=move |_| session.command(&topic, &off)>"Off"</button>
            </span>
        }
    });
    view! { <dt>{label}</dt><dd><span data-testid="live-device-value">{shown}</span>{buttons}</dd> }
}
