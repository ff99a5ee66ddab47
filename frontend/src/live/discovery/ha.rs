//! Home Assistant's MQTT discovery, read as Home Assistant reads it.
//!
//! A retained JSON config on `homeassistant/<component>/[<node_id>/]<object_id>/config`
//! describes one entity; one on `homeassistant/device/<id>/config` describes
//! a device with its entities under `cmps` (each naming its component in `p`),
//! sharing the device's `state_topic`, `command_topic` and availability.
//! Keys may be abbreviated (`stat_t`, `cmd_t`, `unit_of_meas`, `dev_cla`,
//! `avty_t`, `pl_on`, `dev` with `ids`, `mf`, `mdl`…), and a topic that starts
//! or ends with `~` has it replaced by the config's `~` base topic. An empty
//! payload on a config topic removes its entities. A value template is
//! followed when it reads the payload (`{{ value }}`) or a path into its JSON
//! (`{{ value_json.temperature | float }}`, `{{ value_json['a'].b }}`); any
//! other template shows the payload as it came.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{
    Card, Command, Field, MAX_CONFIG_BYTES, MAX_ENTITIES, MAX_NAME, MAX_TOPIC, Topics, clip, push_field, show,
};

/// Where Home Assistant looks for configs (its default `discovery_prefix`).
pub const PREFIX: &str = "homeassistant";
/// Most components one device-based config may hold.
pub const MAX_COMPONENTS: usize = 64;

/// Components whose card offers on/off.
const SWITCHABLE: [&str; 5] = ["light", "switch", "fan", "siren", "humidifier"];

/// One entity of a config.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Entity {
    /// Its component (`sensor`, `light`, …).
    pub component: String,
    /// The card it belongs on: its device's first identifier, else name, else its config topic.
    pub device: String,
    /// The device's name, if the config names one.
    pub device_name: Option<String>,
    /// The entity's own name, if it has one.
    pub name: Option<String>,
    /// Where its state arrives.
    pub state_topic: Option<String>,
    /// The JSON path its value template reads (`None`: the payload itself).
    pub value_path: Option<Vec<String>>,
    /// Its unit of measurement.
    pub unit: String,
    /// Its device class (`temperature`, `power`, …).
    pub device_class: String,
    /// On/off for lights and switches.
    pub command: Option<Command>,
    /// Availability topics with their available and not-available payloads.
    pub availability: Vec<(String, String, String)>,
}

/// Whether `topic` is where a discovery config goes.
pub fn is_config(topic: &str) -> bool {
    let levels: Vec<&str> = topic.split('/').collect();
    (levels.len() == 4 || levels.len() == 5)
        && levels[0] == PREFIX
        && levels[levels.len() - 1] == "config"
        && levels[1..levels.len() - 1].iter().all(|l| !l.is_empty() && l.bytes().all(id_byte))
}

fn id_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b == b'-'
}

/// Keeps, replaces or (empty payload) removes the entities of config `topic`.
/// A malformed or oversized payload, or one past [`MAX_ENTITIES`], is ignored.
pub fn observe(configs: &mut BTreeMap<String, Vec<Entity>>, topic: &str, payload: &str) {
    if payload.is_empty() {
        configs.remove(topic);
        return;
    }
    if payload.len() > MAX_CONFIG_BYTES {
        return;
    }
    let Some(entities) = parse(topic, payload) else { return };
    let others: usize = configs.iter().filter(|(t, _)| t.as_str() != topic).map(|(_, e)| e.len()).sum();
    if others + entities.len() <= MAX_ENTITIES {
        configs.insert(topic.to_string(), entities);
    }
}

/// The entities a config describes, or `None` when it is not one.
pub fn parse(topic: &str, payload: &str) -> Option<Vec<Entity>> {
    let Value::Object(config) = serde_json::from_str(payload).ok()? else { return None };
    let component = topic.split('/').nth(1)?;
    if component != "device" {
        return Some(vec![entity(component, &config, None, topic)?]);
    }
    let Some(Value::Object(cmps)) = get(&config, "components", "cmps") else { return None };
    let entities = cmps
        .values()
        .filter_map(Value::as_object)
        .take(MAX_COMPONENTS)
        .filter_map(|own| entity(get(own, "platform", "p")?.as_str()?, own, Some(&config), topic))
        .collect();
    Some(entities)
}

/// A config option by its full or its abbreviated name.
fn get<'a>(config: &'a Map<String, Value>, long: &str, short: &str) -> Option<&'a Value> {
    config.get(long).or_else(|| config.get(short))
}

/// One entity from its own options, falling back to the device-based
/// config's shared ones (`shared`).
fn entity(
    component: &str,
    own: &Map<String, Value>,
    shared: Option<&Map<String, Value>>,
    topic: &str,
) -> Option<Entity> {
    if component.is_empty() || !component.bytes().all(id_byte) {
        return None;
    }
    let option = |long: &str, short: &str| get(own, long, short).or_else(|| shared.and_then(|s| get(s, long, short)));
    let text = |long: &str, short: &str| option(long, short).and_then(Value::as_str).map(|s| clip(s, MAX_NAME));
    let base = option("~", "~").and_then(Value::as_str).unwrap_or_default();
    let topic_of = |value: Option<&Value>| value.and_then(Value::as_str).and_then(|t| expand(t, base));
    let device = option("device", "dev").and_then(Value::as_object);
    let device_name = device.and_then(|d| d.get("name")).and_then(Value::as_str).map(|s| clip(s, MAX_NAME));
    let id = device
        .and_then(|d| get(d, "identifiers", "ids"))
        .and_then(|ids| ids.as_str().or_else(|| ids.get(0)?.as_str()))
        .map(|s| clip(s, MAX_NAME));
    let template = option("value_template", "val_tpl").or_else(|| option("state_value_template", "stat_val_tpl"));
    let json_schema = option("schema", "schema").and_then(Value::as_str) == Some("json");
    let command = topic_of(option("command_topic", "cmd_t")).filter(|_| SWITCHABLE.contains(&component)).map(|t| {
        let payload = |long: &str, short: &str, default: &str| {
            let word = text(long, short).unwrap_or_else(|| default.to_string());
            if json_schema { format!(r#"{{"state":"{word}"}}"#) } else { word }
        };
        Command { topic: t, on: payload("payload_on", "pl_on", "ON"), off: payload("payload_off", "pl_off", "OFF") }
    });
    let value_path = match template.and_then(Value::as_str) {
        Some(t) => template_path(t),
        None if json_schema => Some(vec!["state".to_string()]),
        None => None,
    };
    Some(Entity {
        component: component.to_string(),
        device: id.clone().or_else(|| device_name.clone()).unwrap_or_else(|| topic.to_string()),
        device_name,
        name: text("name", "name"),
        state_topic: topic_of(option("state_topic", "stat_t")),
        value_path,
        unit: text("unit_of_measurement", "unit_of_meas").unwrap_or_default(),
        device_class: text("device_class", "dev_cla").unwrap_or_default(),
        command,
        availability: availability(&option, base),
    })
}

/// `avty_t` (with `pl_avail` / `pl_not_avail`) and each entry of `avty`.
fn availability<'a>(option: &dyn Fn(&str, &str) -> Option<&'a Value>, base: &str) -> Vec<(String, String, String)> {
    let word = |v: Option<&Value>, default: &str| v.and_then(Value::as_str).unwrap_or(default).to_string();
    let mut found = Vec::new();
    let available = word(option("payload_available", "pl_avail"), "online");
    let not_available = word(option("payload_not_available", "pl_not_avail"), "offline");
    if let Some(t) = option("availability_topic", "avty_t").and_then(Value::as_str).and_then(|t| expand(t, base)) {
        found.push((t, available.clone(), not_available.clone()));
    }
    let list = option("availability", "avty").and_then(Value::as_array).map(Vec::as_slice).unwrap_or_default();
    for entry in list.iter().filter_map(Value::as_object).take(8) {
        let Some(t) = get(entry, "topic", "t").and_then(Value::as_str).and_then(|t| expand(t, base)) else { continue };
        let on = word(get(entry, "payload_available", "pl_avail"), &available);
        let off = word(get(entry, "payload_not_available", "pl_not_avail"), &not_available);
        found.push((t, on, off));
    }
    found
}

/// A topic with `~` at its start or end replaced by `base`; `None` if too long.
fn expand(topic: &str, base: &str) -> Option<String> {
    let full = if let Some(rest) = topic.strip_prefix('~') {
        format!("{base}{rest}")
    } else if let Some(rest) = topic.strip_suffix('~') {
        format!("{rest}{base}")
    } else {
        topic.to_string()
    };
    (!full.is_empty() && full.len() <= MAX_TOPIC).then_some(full)
}

/// The JSON path a simple value template reads: `{{ value_json.a['b'] | float }}`
/// → `["a", "b"]`; `{{ value }}` → empty; anything else `None`.
fn template_path(template: &str) -> Option<Vec<String>> {
    let inner = template.trim().strip_prefix("{{")?.strip_suffix("}}")?;
    let expr = inner.split('|').next()?.trim();
    if expr == "value" {
        return Some(Vec::new());
    }
    let mut rest = expr.strip_prefix("value_json")?;
    let mut path = Vec::new();
    while !rest.is_empty() && path.len() < 8 {
        if let Some(after) = rest.strip_prefix('.') {
            let end = after.find(['.', '[']).unwrap_or(after.len());
            if !after[..end].bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return None;
            }
            path.push(after[..end].to_string());
            rest = &after[end..];
        } else if let Some(after) = rest.strip_prefix('[') {
            let end = after.find(']')?;
            path.push(after[..end].trim_matches(['\'', '"']).to_string());
            rest = &after[end + 1..];
        } else {
            return None;
        }
    }
    (rest.is_empty() && path.iter().all(|p| !p.is_empty())).then_some(path)
}

/// The value an entity shows, from its state topic's last payload.
pub fn value(entity: &Entity, topics: &dyn Topics) -> String {
    let Some(payload) = entity.state_topic.as_deref().and_then(|t| topics.last(t)) else { return "—".to_string() };
    match entity.value_path.as_deref() {
        None | Some([]) => clip(payload, super::MAX_VALUE),
        Some(path) => {
            let json: Option<Value> = serde_json::from_str(payload).ok();
            path.iter().try_fold(json.as_ref(), |v, key| Some(v?.get(key))).flatten().map_or("—".to_string(), show)
        }
    }
}

/// What the entity's availability topics say: offline if any says so.
fn online(entity: &Entity, topics: &dyn Topics) -> Option<bool> {
    let mut said = None;
    for (topic, on, off) in &entity.availability {
        match topics.last(topic) {
            Some(p) if p == off => return Some(false),
            Some(p) if p == on => said = Some(true),
            _ => {}
        }
    }
    said
}

/// A card per device (entities grouped by device), in config-topic order.
pub fn cards(configs: &BTreeMap<String, Vec<Entity>>, topics: &dyn Topics) -> Vec<Card> {
    let mut cards: Vec<Card> = Vec::new();
    for (topic, entities) in configs {
        for e in entities {
            let key = format!("ha:{}", e.device);
            let Some(card) = super::card(&mut cards, &key, || Card {
                key: key.clone(),
                name: e.device_name.clone().or_else(|| e.name.clone()).unwrap_or_else(|| e.device.clone()),
                source: "Home Assistant",
                config: Some(topic.clone()),
                ..Card::default()
            }) else {
                continue;
            };
            let label = e.name.clone().unwrap_or_else(|| {
                if e.device_class.is_empty() { e.component.clone() } else { e.device_class.clone() }
            });
            push_field(
                card,
                Field { label, value: value(e, topics), unit: e.unit.clone(), command: e.command.clone() },
            );
            match (card.online, online(e, topics)) {
                (_, Some(false)) => card.online = Some(false),
                (None, said) => card.online = said,
                _ => {}
            }
        }
    }
    cards
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topics(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(t, p)| (t.to_string(), p.to_string())).collect()
    }

    fn one(topic: &str, payload: &str, states: &[(&str, &str)]) -> Vec<Card> {
        let mut configs = BTreeMap::new();
        observe(&mut configs, topic, payload);
        cards(&configs, &topics(states))
    }

    #[test]
    fn config_topics_are_recognised_and_others_not() {
        assert!(is_config("homeassistant/sensor/kitchen_t/config"));
        assert!(is_config("homeassistant/sensor/node-1/kitchen_t/config"));
        assert!(is_config("homeassistant/device/plug1/config"));
        assert!(!is_config("homeassistant/sensor/config"));
        assert!(!is_config("homeassistant/sensor/a/b/c/config"));
        assert!(!is_config("homeassistant/sensor/kitchen t/config"));
        assert!(!is_config("homeassistant/sensor/kitchen/state"));
        assert!(!is_config("hass/sensor/kitchen/config"));
    }

    #[test]
    fn an_abbreviated_sensor_shows_its_name_value_and_unit() {
        let config = r#"{"name":"Temperature","stat_t":"~/state","~":"kitchen/th","unit_of_meas":"°C",
            "dev_cla":"temperature","val_tpl":"{{ value_json.temperature | float }}",
            "dev":{"ids":["th-1"],"name":"Kitchen sensor"},"avty_t":"~/status"}"#;
        let states = [("kitchen/th/state", r#"{"temperature":21.5}"#), ("kitchen/th/status", "online")];
        let cards = one("homeassistant/sensor/th-1/temperature/config", config, &states);
        assert_eq!(cards.len(), 1);
        assert_eq!(cards[0].name, "Kitchen sensor");
        assert_eq!(cards[0].online, Some(true));
        let f = &cards[0].fields[0];
        assert_eq!((f.label.as_str(), f.value.as_str(), f.unit.as_str()), ("Temperature", "21.5", "°C"));
        assert_eq!(f.command, None);
    }

    #[test]
    fn long_names_work_as_well_and_a_missing_state_shows_a_dash() {
        let config = r#"{"name":"Humidity","state_topic":"bath/h","unit_of_measurement":"%",
            "availability":[{"topic":"bath/lwt","payload_available":"up","payload_not_available":"down"}]}"#;
        let cards = one("homeassistant/sensor/bath_h/config", config, &[("bath/lwt", "down")]);
        assert_eq!(cards[0].fields[0].value, "—");
        assert_eq!(cards[0].fields[0].unit, "%");
        assert_eq!(cards[0].online, Some(false));
        assert_eq!(cards[0].name, "Humidity", "no device: the entity names the card");
    }

    #[test]
    fn a_light_commands_with_its_payloads_or_ha_defaults() {
        let plain = r#"{"name":"Hall","cmd_t":"hall/light/set","stat_t":"hall/light"}"#;
        let cards = one("homeassistant/light/hall/config", plain, &[("hall/light", "ON")]);
        let command = cards[0].fields[0].command.clone().expect("a light can be switched");
        assert_eq!(
            (command.topic.as_str(), command.on.as_str(), command.off.as_str()),
            ("hall/light/set", "ON", "OFF")
        );
        assert_eq!(cards[0].fields[0].value, "ON");

        let own = r#"{"name":"Plug","cmd_t":"plug/set","pl_on":"1","pl_off":"0"}"#;
        let command = one("homeassistant/switch/plug/config", own, &[])
            .remove(0)
            .fields
            .remove(0)
            .command
            .expect("a command topic");
        assert_eq!((command.on.as_str(), command.off.as_str()), ("1", "0"));

        let json = r#"{"name":"Desk","schema":"json","cmd_t":"z/desk/set","stat_t":"z/desk"}"#;
        let cards = one("homeassistant/light/desk/config", json, &[("z/desk", r#"{"state":"OFF","brightness":3}"#)]);
        let command = cards[0].fields[0].command.clone().expect("a command topic");
        assert_eq!(command.on, r#"{"state":"ON"}"#);
        assert_eq!(cards[0].fields[0].value, "OFF");

        let sensor = r#"{"name":"T","cmd_t":"t/set","stat_t":"t"}"#;
        assert_eq!(one("homeassistant/sensor/t/config", sensor, &[]).remove(0).fields.remove(0).command, None);
    }

    #[test]
    fn a_device_based_config_makes_one_card_with_every_component() {
        let config = r#"{"dev":{"ids":"ea334450945afc","name":"Kitchen plug","mf":"Acme"},
            "o":{"name":"fw"},"stat_t":"plug/state","cmd_t":"plug/set","avty_t":"plug/avail",
            "cmps":{"pwr":{"p":"sensor","name":"Power","unit_of_meas":"W","val_tpl":"{{ value_json['power'] }}"},
                    "sw":{"p":"switch","name":"Relay","val_tpl":"{{ value_json.relay }}"},
                    "bad":{"name":"no platform"}, "also":"not an object"}}"#;
        let states = [("plug/state", r#"{"power":12.5,"relay":"ON"}"#), ("plug/avail", "online")];
        let cards = one("homeassistant/device/plug1/config", config, &states);
        assert_eq!(cards.len(), 1);
        let card = &cards[0];
        assert_eq!((card.name.as_str(), card.online), ("Kitchen plug", Some(true)));
        let shown: Vec<_> = card.fields.iter().map(|f| (f.label.as_str(), f.value.as_str(), f.unit.as_str())).collect();
        assert_eq!(shown, [("Power", "12.5", "W"), ("Relay", "ON", "")]);
        assert_eq!(card.fields[1].command.as_ref().map(|c| c.topic.as_str()), Some("plug/set"));
        assert_eq!(card.config.as_deref(), Some("homeassistant/device/plug1/config"));
    }

    #[test]
    fn entities_of_one_device_share_a_card() {
        let mut configs = BTreeMap::new();
        let dev = r#""dev":{"identifiers":["d1"],"name":"Porch"}"#;
        observe(&mut configs, "homeassistant/sensor/d1/t/config", &format!(r#"{{"name":"T","stat_t":"p/t",{dev}}}"#));
        observe(&mut configs, "homeassistant/light/d1/l/config", &format!(r#"{{"name":"L","cmd_t":"p/l/set",{dev}}}"#));
        let cards = cards(&configs, &topics(&[("p/t", "4")]));
        assert_eq!(cards.len(), 1);
        assert_eq!(cards[0].fields.len(), 2);
    }

    #[test]
    fn an_empty_payload_removes_and_malformed_ones_are_ignored() {
        let mut configs = BTreeMap::new();
        let topic = "homeassistant/sensor/t/config";
        observe(&mut configs, topic, r#"{"name":"T","stat_t":"t"}"#);
        for bad in ["{", "[1,2]", "\"text\"", "null", "\u{0}\u{ff}", r#"{"name":"T""#] {
            observe(&mut configs, topic, bad);
            assert_eq!(configs[topic][0].name.as_deref(), Some("T"), "{bad:?} keeps the last good config");
        }
        observe(&mut configs, "homeassistant/device/x/config", r#"{"cmps":"no"}"#);
        assert!(!configs.contains_key("homeassistant/device/x/config"));
        observe(&mut configs, topic, "");
        assert!(configs.is_empty());
    }

    #[test]
    fn entities_sizes_and_components_are_bounded() {
        let mut configs = BTreeMap::new();
        for n in 0..MAX_ENTITIES + 20 {
            observe(&mut configs, &format!("homeassistant/sensor/s{n}/config"), r#"{"stat_t":"s"}"#);
        }
        assert_eq!(configs.values().map(Vec::len).sum::<usize>(), MAX_ENTITIES);
        // A config already kept may still be replaced when full.
        observe(&mut configs, "homeassistant/sensor/s0/config", r#"{"name":"again","stat_t":"s"}"#);
        assert_eq!(configs["homeassistant/sensor/s0/config"][0].name.as_deref(), Some("again"));

        let long = "x".repeat(1000);
        let config = format!(r#"{{"name":"{long}","unit_of_meas":"{long}","stat_t":"{long}","cmd_t":"ok/set"}}"#);
        let e = parse("homeassistant/switch/l/config", &config).expect("a switch").remove(0);
        assert_eq!(e.name.unwrap().chars().count(), MAX_NAME + 1, "clipped, with an ellipsis");
        assert_eq!(e.unit.chars().count(), MAX_NAME + 1);
        assert_eq!(e.state_topic, None, "a topic past MAX_TOPIC is not followed");
        let huge = format!(r#"{{"name":"{}"}}"#, "y".repeat(MAX_CONFIG_BYTES));
        let mut small = BTreeMap::new();
        observe(&mut small, "homeassistant/sensor/h/config", &huge);
        assert!(small.is_empty(), "an oversized config is ignored");

        let many: Vec<String> = (0..100).map(|n| format!(r#""c{n}":{{"p":"sensor","stat_t":"s"}}"#)).collect();
        let config = format!(r#"{{"cmps":{{{}}}}}"#, many.join(","));
        assert_eq!(parse("homeassistant/device/big/config", &config).unwrap().len(), MAX_COMPONENTS);
    }

    #[test]
    fn templates_are_followed_when_simple() {
        assert_eq!(template_path("{{ value_json.temperature }}"), Some(vec!["temperature".into()]));
        assert_eq!(template_path("{{value_json['a'].b|round(1)}}"), Some(vec!["a".into(), "b".into()]));
        assert_eq!(template_path("{{ value }}"), Some(vec![]));
        assert_eq!(template_path("{{ value_json.x * 10 }}"), None);
        assert_eq!(template_path("{% if x %}"), None);
        assert_eq!(template_path("{{ value_json. }}"), None);
        let e = Entity { state_topic: Some("t".into()), value_path: Some(vec!["a".into()]), ..Entity::default() };
        assert_eq!(value(&e, &topics(&[("t", "not json")])), "—");
        assert_eq!(value(&e, &topics(&[("t", r#"{"a":{"deep":1}}"#)])), r#"{"deep":1}"#);
    }
}
