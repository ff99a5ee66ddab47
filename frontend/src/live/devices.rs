//! Device cards from topics: groups the retained state of `home/#` by device.
//!
//! A device is a topic base that says it is one, by having a state or
//! availability topic under it: `home/hall/door/lock/state` and
//! `home/hall/door/lock/status` make `home/hall/door/lock` a device, and
//! every topic below a device base is one of its fields
//! (`home/sim/sensor-1/temperature` → field `temperature` of
//! `home/sim/sensor-1`). Availability topics (`status`, `availability`,
//! `online`, `lwt`, `connected`, as home-sim, Tasmota, Shelly and
//! zigbee2mqtt devices publish them, usually retained and as a last will)
//! set the online dot. A topic under no device base is its own card
//! (`home/kitchen/temperature`), so nothing is hidden or guessed together.
//!
//! `home/#` carries no units, so a number is shown with the unit its name
//! conventionally means (`celsius` and `temperature` °C, `battery` and
//! `humidity` %, `watts` and `power` W, …; see [`unit`]); other names stay
//! bare rather than guessed.

use std::collections::BTreeMap;

use super::state::DeviceState;

/// Last levels that make their parent a device: a state or an availability.
const STATE_LEAVES: [&str; 7] = ["state", "status", "availability", "online", "lwt", "connected", "$state"];

/// One device as its card shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Device {
    /// Its topic base (`home/hall/door/lock`), or the whole topic.
    pub name: String,
    /// What its last will or status says: `None` when it publishes none.
    pub online: Option<bool>,
    /// Field → value, from every topic under the base; JSON objects are
    /// spread into their keys (`{"locked":true}` → `locked` = `true`).
    pub fields: Vec<(String, String)>,
    /// The highest sequence number of its topics: changes with every message.
    pub seq: u64,
    /// Whether that last message arrived live (not as the retained replay).
    pub live: bool,
}

/// Groups topic states into devices, in topic order.
pub fn group(topics: &BTreeMap<String, DeviceState>) -> Vec<Device> {
    let bases: Vec<&str> = topics
        .keys()
        .filter_map(|t| t.rsplit_once('/'))
        .filter(|(base, leaf)| STATE_LEAVES.contains(leaf) && base.contains('/'))
        .map(|(base, _)| base)
        .collect();
    // Sorted by name, like the topics they come from.
    let mut devices: Vec<Device> = Vec::new();
    for (topic, state) in topics {
        let (name, field) = bases
            .iter()
            .filter(|b| topic.len() > b.len() && topic.starts_with(**b) && topic.as_bytes()[b.len()] == b'/')
            .max_by_key(|b| b.len())
            .map_or((topic.as_str(), ""), |b| (*b, &topic[b.len() + 1..]));
        let at = devices.binary_search_by(|d| d.name.as_str().cmp(name)).unwrap_or_else(|at| {
            devices.insert(at, Device { name: name.to_string(), ..Device::default() });
            at
        });
        let device = &mut devices[at];
        if state.seq >= device.seq {
            device.seq = state.seq;
            device.live = !state.retained;
        }
        match availability(field, &state.payload) {
            Some(online) => device.online = Some(online),
            None => spread(field, topic.rsplit('/').next().unwrap_or(""), &state.payload, &mut device.fields),
        }
    }
    devices
}

/// `Some(online)` when `field` is an availability topic whose payload says.
fn availability(field: &str, payload: &str) -> Option<bool> {
    if !STATE_LEAVES[1..].contains(&field) {
        return None;
    }
    let json = serde_json::from_str::<serde_json::Value>(payload).ok();
    let text = match json.as_ref().and_then(|v| v.get("state")).and_then(serde_json::Value::as_str) {
        Some(state) => state,
        None => payload.trim(),
    };
    match text.to_ascii_lowercase().as_str() {
        "online" | "true" | "1" | "connected" | "ready" | "up" => Some(true),
        "offline" | "false" | "0" | "disconnected" | "lost" | "down" => Some(false),
        _ => None,
    }
}

/// Adds a topic's fields: each key of a JSON object, else the payload whole
/// (named by the field, or `value` when the topic is the device itself).
/// Numbers get the [`unit`] of their key, or of the topic's last level `leaf`.
fn spread(field: &str, leaf: &str, payload: &str, fields: &mut Vec<(String, String)>) {
    if let Ok(serde_json::Value::Object(map)) = serde_json::from_str(payload) {
        for (key, value) in map {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => with_unit(n.to_string(), &key),
                other => other.to_string(),
            };
            fields.push((key, text));
        }
        return;
    }
    let name = if field.is_empty() { "value" } else { field };
    let text = if number(payload) { with_unit(payload.trim().to_string(), leaf) } else { payload.to_string() };
    fields.push((name.to_string(), text));
}

/// Whether `text` is a plain decimal number (`21.5`, `-3`, `1e3`).
fn number(text: &str) -> bool {
    let text = text.trim();
    !text.is_empty() && serde_json::from_str::<serde_json::Number>(text).is_ok()
}

fn with_unit(value: String, name: &str) -> String {
    match unit(name) {
        "" => value,
        unit => format!("{value} {unit}"),
    }
}

/// The unit a reading named `name` conventionally has, or `""` when its
/// name does not say (`level`, `brightness`: 0–255 or 0–100 by device).
pub fn unit(name: &str) -> &'static str {
    match name.to_ascii_lowercase().as_str() {
        "celsius" | "temperature" | "temp" | "temperature_c" => "°C",
        "fahrenheit" | "temperature_f" => "°F",
        "humidity" | "battery" | "position" | "percent" => "%",
        "watts" | "power" => "W",
        "voltage" | "volts" => "V",
        "current" | "amps" => "A",
        "energy" | "kwh" => "kWh",
        "ppm" | "co2" => "ppm",
        "lux" | "illuminance" => "lx",
        "pressure" | "hpa" => "hPa",
        _ => "",
    }
}
