//! zigbee2mqtt: each device's state is a JSON object on
//! `zigbee2mqtt/<friendly name>` (the name may hold slashes), its
//! availability on `zigbee2mqtt/<friendly name>/availability` (`online`, or
//! `{"state":"online"}`), and it takes commands on `…/set`
//! (`{"state":"ON"}`). The bridge lists its devices, with the unit of every
//! value they expose and whether their `state` can be written, retained on
//! `zigbee2mqtt/bridge/devices`.

use std::collections::BTreeMap;

use serde_json::Value;

use super::{Card, Command, Field, MAX_CONFIG_BYTES, MAX_FIELDS, MAX_NAME, MAX_Z2M_DEVICES, Topics, clip, show};

/// The base topic (zigbee2mqtt's default `base_topic`).
pub const BASE: &str = "zigbee2mqtt/";
/// Where the bridge lists its devices.
pub const DEVICES: &str = "zigbee2mqtt/bridge/devices";

/// What the bridge says about one device.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Info {
    /// The model's description ("Hue white and color ambiance E26/E27").
    pub description: String,
    /// Property → unit, from its exposes.
    pub units: BTreeMap<String, String>,
    /// The `state` values that switch it, if it can be switched.
    pub switch: Option<(String, String)>,
}

/// The devices of a `bridge/devices` payload by friendly name, or `None`
/// when it is not a list (or too big). The coordinator is not a device.
pub fn devices(payload: &str) -> Option<BTreeMap<String, Info>> {
    if payload.len() > MAX_CONFIG_BYTES {
        return None;
    }
    let Value::Array(list) = serde_json::from_str(payload).ok()? else { return None };
    let mut found = BTreeMap::new();
    for device in list.iter().filter(|d| d.get("type").and_then(Value::as_str) != Some("Coordinator")) {
        let Some(name) = device.get("friendly_name").and_then(Value::as_str) else { continue };
        let definition = device.get("definition");
        let mut info = Info {
            description: definition
                .and_then(|d| d.get("description"))
                .and_then(Value::as_str)
                .map(|s| clip(s, MAX_NAME))
                .unwrap_or_default(),
            ..Info::default()
        };
        if let Some(exposes) = definition.and_then(|d| d.get("exposes")).and_then(Value::as_array) {
            exposed(exposes, &mut info, 0);
        }
        found.insert(clip(name, MAX_NAME), info);
        if found.len() == MAX_Z2M_DEVICES {
            break;
        }
    }
    Some(found)
}

/// Reads units and the switchable `state` from exposes (and their features, two deep).
fn exposed(exposes: &[Value], info: &mut Info, depth: usize) {
    for expose in exposes.iter().take(64) {
        let property = expose.get("property").and_then(Value::as_str);
        if let (Some(p), Some(unit)) = (property, expose.get("unit").and_then(Value::as_str))
            && info.units.len() < MAX_FIELDS
        {
            info.units.insert(clip(p, MAX_NAME), clip(unit, 16));
        }
        let writable = expose.get("access").and_then(Value::as_u64).is_some_and(|a| a & 2 != 0);
        if property == Some("state") && writable {
            let word = |key: &str, default: &str| {
                expose
                    .get(key)
                    .map_or(default.to_string(), |v| v.as_str().map_or_else(|| v.to_string(), str::to_string))
            };
            info.switch = Some((clip(&word("value_on", "ON"), 16), clip(&word("value_off", "OFF"), 16)));
        }
        if depth < 2
            && let Some(features) = expose.get("features").and_then(Value::as_array)
        {
            exposed(features, info, depth + 1);
        }
    }
}

/// The friendly name a topic is the state of, if it is one.
fn state_of(topic: &str) -> Option<&str> {
    let name = topic.strip_prefix(BASE)?;
    let helper = ["/set", "/get", "/availability"].iter().any(|s| name.ends_with(s)) || name.contains("/set/");
    (!name.is_empty() && !name.starts_with("bridge/") && name != "bridge" && !helper).then_some(name)
}

/// A card per device with a JSON state (and per listed device not heard from yet).
pub fn cards(devices: &BTreeMap<String, Info>, topics: &dyn Topics, cards: &mut Vec<Card>) {
    let mut seen = Vec::new();
    for (topic, payload) in topics.each().filter(|(t, _)| t.starts_with(BASE)) {
        let Some(name) = state_of(topic) else { continue };
        let Ok(Value::Object(state)) = serde_json::from_str::<Value>(payload) else { continue };
        let info = devices.get(name);
        let switch = info.and_then(|i| i.switch.clone()).or_else(|| {
            let on_off = state.get("state").and_then(Value::as_str).is_some_and(|s| s == "ON" || s == "OFF");
            on_off.then(|| ("ON".to_string(), "OFF".to_string()))
        });
        let command = switch.map(|(on, off)| Command {
            topic: format!("{topic}/set"),
            on: serde_json::json!({"state": on}).to_string(),
            off: serde_json::json!({"state": off}).to_string(),
        });
        let fields = state
            .iter()
            .take(MAX_FIELDS)
            .map(|(key, value)| Field {
                label: clip(key, MAX_NAME),
                value: show(value),
                unit: info.and_then(|i| i.units.get(key)).cloned().unwrap_or_default(),
                command: (key == "state").then(|| command.clone()).flatten(),
            })
            .collect();
        seen.push(name.to_string());
        let card = Card {
            key: format!("z2m:{name}"),
            name: clip(name, MAX_NAME),
            source: "zigbee2mqtt",
            online: availability(topics, topic),
            fields,
            config: None,
        };
        if cards.len() < super::MAX_CARDS {
            cards.push(card);
        }
    }
    for name in devices.keys().filter(|n| !seen.contains(n)) {
        let topic = format!("{BASE}{name}");
        if let Some(card) = super::card(cards, &format!("z2m:{name}"), || Card {
            key: format!("z2m:{name}"),
            name: name.clone(),
            source: "zigbee2mqtt",
            ..Card::default()
        }) {
            card.online = availability(topics, &topic);
        }
    }
}

fn availability(topics: &dyn Topics, state_topic: &str) -> Option<bool> {
    let payload = topics.last(&format!("{state_topic}/availability"))?;
    let json: Option<Value> = serde_json::from_str(payload).ok();
    match json.as_ref().and_then(|v| v.get("state")).and_then(Value::as_str) {
        Some(word) => super::online_word(word),
        None => super::online_word(payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BRIDGE: &str = r#"[{"type":"Coordinator","friendly_name":"Coordinator"},
        {"type":"Router","friendly_name":"living/lamp","ieee_address":"0x1",
         "definition":{"description":"Smart bulb","exposes":[{"type":"light","features":[
            {"type":"binary","name":"state","property":"state","access":7,"value_on":"ON","value_off":"OFF"},
            {"type":"numeric","name":"brightness","property":"brightness","access":7}]}]}},
        {"type":"EndDevice","friendly_name":"bath sensor",
         "definition":{"exposes":[{"type":"numeric","property":"temperature","unit":"°C","access":1},
            {"type":"numeric","property":"humidity","unit":"%","access":1}]}}]"#;

    fn run(devices: &BTreeMap<String, Info>, pairs: &[(&str, &str)]) -> Vec<Card> {
        super::super::cards_among(pairs, |topics, found| cards(devices, topics, found))
    }

    #[test]
    fn the_bridge_list_gives_units_and_switches() {
        let devices = devices(BRIDGE).expect("a device list");
        assert_eq!(devices.keys().collect::<Vec<_>>(), ["bath sensor", "living/lamp"]);
        assert_eq!(devices["living/lamp"].switch, Some(("ON".into(), "OFF".into())));
        assert_eq!(devices["bath sensor"].switch, None, "read-only values switch nothing");
        assert_eq!(devices["bath sensor"].units["temperature"], "°C");
        for bad in ["", "{", r#"{"a":1}"#, "[1, null, {\"friendly_name\": 5}]"] {
            assert!(super::devices(bad).is_none_or(|d| d.is_empty()), "{bad:?}");
        }
        let many: Vec<String> = (0..MAX_Z2M_DEVICES + 9).map(|n| format!(r#"{{"friendly_name":"d{n}"}}"#)).collect();
        assert_eq!(super::devices(&format!("[{}]", many.join(","))).unwrap().len(), MAX_Z2M_DEVICES);
    }

    #[test]
    fn states_become_cards_with_units_availability_and_a_set_topic() {
        let devices = devices(BRIDGE).unwrap();
        let cards = run(
            &devices,
            &[
                ("zigbee2mqtt/bath sensor", r#"{"temperature":20.5,"humidity":51,"linkquality":90}"#),
                ("zigbee2mqtt/living/lamp", r#"{"state":"ON","brightness":200}"#),
                ("zigbee2mqtt/living/lamp/availability", r#"{"state":"offline"}"#),
                ("zigbee2mqtt/living/lamp/set", r#"{"state":"OFF"}"#),
                ("zigbee2mqtt/bridge/state", r#"{"state":"online"}"#),
                ("zigbee2mqtt/plain", "not json"),
            ],
        );
        assert_eq!(cards.iter().map(|c| c.name.as_str()).collect::<Vec<_>>(), ["bath sensor", "living/lamp"]);
        let t = cards[0].fields.iter().find(|f| f.label == "temperature").unwrap();
        assert_eq!((t.label.as_str(), t.value.as_str(), t.unit.as_str()), ("temperature", "20.5", "°C"));
        assert_eq!(cards[1].online, Some(false));
        let command = cards[1].fields.iter().find_map(|f| f.command.clone()).unwrap();
        assert_eq!(command.topic, "zigbee2mqtt/living/lamp/set");
        assert_eq!(command.on, r#"{"state":"ON"}"#);
    }

    #[test]
    fn without_the_bridge_list_an_on_off_state_still_switches() {
        let cards = run(&BTreeMap::new(), &[("zigbee2mqtt/plug", r#"{"state":"OFF","power":0}"#)]);
        let state = cards[0].fields.iter().find(|f| f.label == "state").unwrap();
        assert_eq!(state.command.as_ref().map(|c| c.off.as_str()), Some(r#"{"state":"OFF"}"#));
        assert!(cards[0].fields.iter().find(|f| f.label == "power").unwrap().command.is_none());
        let cards = run(&BTreeMap::new(), &[("zigbee2mqtt/door", r#"{"contact":true}"#)]);
        assert!(cards[0].fields.iter().all(|f| f.command.is_none()));
    }

    #[test]
    fn a_listed_device_not_heard_from_has_a_card() {
        let cards = run(&devices(BRIDGE).unwrap(), &[("zigbee2mqtt/bath sensor/availability", "online")]);
        assert_eq!(cards.len(), 2);
        assert_eq!(cards[0].online, Some(true));
        assert!(cards[0].fields.is_empty());
    }
}
