//! Device cards from the conventions smart homes already use on MQTT:
//! Home Assistant's MQTT discovery ([`ha`]), zigbee2mqtt ([`z2m`]),
//! Tasmota and Shelly ([`tasmota`], [`shelly`]).
//!
//! Pure: what arrives is fed in as `(topic, payload)`, what a card shows
//! comes out as plain [`Card`]s; no DOM, no clock. Discovery payloads
//! (Home Assistant configs, zigbee2mqtt's device list) are parsed once when
//! they arrive and kept in [`Discovery`]; the states they point at are read
//! from the last value of each topic when the cards are drawn. Everything a
//! peer sends is bounded: how many entities and devices are kept
//! ([`MAX_ENTITIES`], [`MAX_Z2M_DEVICES`]), how big a discovery payload may
//! be ([`MAX_CONFIG_BYTES`]) and how long a name, unit, topic or shown value
//! is ([`clip`]). Malformed JSON is ignored, never a panic.

pub mod ha;
pub mod shelly;
pub mod tasmota;
pub mod z2m;

use std::collections::BTreeMap;

/// Most Home Assistant entities kept (a config past it is ignored).
pub const MAX_ENTITIES: usize = 500;
/// Most zigbee2mqtt devices read from `zigbee2mqtt/bridge/devices`.
pub const MAX_Z2M_DEVICES: usize = 500;
/// Largest discovery payload read; a bigger one is ignored.
pub const MAX_CONFIG_BYTES: usize = 256 * 1024;
/// Longest name, label or unit kept, in characters.
pub const MAX_NAME: usize = 64;
/// Longest topic kept, in bytes (longer ones are not followed).
pub const MAX_TOPIC: usize = 256;
/// Longest value a card shows, in characters.
pub const MAX_VALUE: usize = 64;
/// Most fields one card shows.
pub const MAX_FIELDS: usize = 32;
/// Most cards built from the topic-based conventions (Tasmota, Shelly, zigbee2mqtt states).
pub const MAX_CARDS: usize = 500;

/// An on/off command a card can send: where, and what to say.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Command {
    /// The topic the device listens on.
    pub topic: String,
    /// The payload that turns it on.
    pub on: String,
    /// The payload that turns it off.
    pub off: String,
}

/// One value on a card.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Field {
    /// What it is ("Temperature", "POWER").
    pub label: String,
    /// Its last value ("—" before one arrived).
    pub value: String,
    /// Its unit ("°C"), or empty.
    pub unit: String,
    /// An on/off command, for lights, switches and relays.
    pub command: Option<Command>,
}

/// A discovered device, as its card shows it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Card {
    /// A stable key: the convention and the device's id (`ha:kitchen-plug`).
    pub key: String,
    /// Its name for a person.
    pub name: String,
    /// The convention it came from ("Home Assistant", "Tasmota", …).
    pub source: &'static str,
    /// Its availability: `None` when it publishes none.
    pub online: Option<bool>,
    /// Its values.
    pub fields: Vec<Field>,
    /// The topic its removal would clear (an HA config), if any.
    pub config: Option<String>,
}

/// The last value of a topic, as the cards read it.
pub trait Topics {
    /// The last payload on `topic`, if one is known and not cleared.
    fn last(&self, topic: &str) -> Option<&str>;
    /// Every known topic with its last payload, in topic order, less those
    /// cleared (an empty retained message takes a device's field away).
    fn each(&self) -> Box<dyn Iterator<Item = (&str, &str)> + '_>;
}

impl Topics for BTreeMap<String, String> {
    fn last(&self, topic: &str) -> Option<&str> {
        self.get(topic).map(String::as_str).filter(|p| !p.is_empty())
    }
    fn each(&self) -> Box<dyn Iterator<Item = (&str, &str)> + '_> {
        Box::new(self.iter().map(|(t, p)| (t.as_str(), p.as_str())).filter(|(_, p)| !p.is_empty()))
    }
}

/// The cards `make` finds among `pairs` (topic, last payload): how the
/// tests of each convention call it.
#[cfg(test)]
fn cards_among(pairs: &[(&str, &str)], make: impl FnOnce(&dyn Topics, &mut Vec<Card>)) -> Vec<Card> {
    let topics: BTreeMap<String, String> = pairs.iter().map(|(t, p)| (t.to_string(), p.to_string())).collect();
    let mut found = Vec::new();
    make(&topics, &mut found);
    found
}

/// What discovery payloads said: Home Assistant entities and zigbee2mqtt devices.
#[derive(Clone, Debug, Default)]
pub struct Discovery {
    /// Home Assistant entities by config topic (a device-based config holds several).
    pub ha: BTreeMap<String, Vec<ha::Entity>>,
    /// zigbee2mqtt devices by friendly name, from `zigbee2mqtt/bridge/devices`.
    pub z2m: BTreeMap<String, z2m::Info>,
}

impl Discovery {
    /// Takes a message: discovery payloads are parsed and kept (or, empty,
    /// removed); every other topic is left to [`cards`]. True when it was one.
    pub fn observe(&mut self, topic: &str, payload: &str) -> bool {
        if ha::is_config(topic) {
            ha::observe(&mut self.ha, topic, payload);
            true
        } else if topic == z2m::DEVICES {
            if let Some(devices) = z2m::devices(payload) {
                self.z2m = devices;
            }
            true
        } else {
            false
        }
    }

    /// How many Home Assistant entities are kept.
    pub fn entities(&self) -> usize {
        self.ha.values().map(Vec::len).sum()
    }
}

/// Every discovered device's card: Home Assistant's first (by device), then
/// zigbee2mqtt's, Tasmota's and Shelly's, each in name order.
pub fn cards(discovery: &Discovery, topics: &dyn Topics) -> Vec<Card> {
    let mut cards = ha::cards(&discovery.ha, topics);
    let mut rest = Vec::new();
    z2m::cards(&discovery.z2m, topics, &mut rest);
    tasmota::cards(topics, &mut rest);
    shelly::cards(topics, &mut rest);
    rest.truncate(MAX_CARDS);
    cards.append(&mut rest);
    cards
}

/// `text` cut to `max` characters (an ellipsis marks a cut).
pub fn clip(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text.to_string(),
        Some((at, _)) => format!("{}…", &text[..at]),
    }
}

/// A JSON value as a card shows it: strings bare, the rest as JSON, clipped.
pub fn show(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::String(s) => clip(s, MAX_VALUE),
        other => clip(&other.to_string(), MAX_VALUE),
    }
}

/// The card of `key` in `cards`, added (with `make`) if new; `None` once
/// [`MAX_CARDS`] are there.
fn card<'a>(cards: &'a mut Vec<Card>, key: &str, make: impl FnOnce() -> Card) -> Option<&'a mut Card> {
    let at = match cards.iter().position(|c| c.key == key) {
        Some(at) => at,
        None if cards.len() >= MAX_CARDS => return None,
        None => {
            cards.push(make());
            cards.len() - 1
        }
    };
    cards.get_mut(at)
}

/// Adds `field` to `card` unless it is full.
fn push_field(card: &mut Card, field: Field) {
    if card.fields.len() < MAX_FIELDS {
        card.fields.push(field);
    }
}

/// "online"/"offline" and their kin, as availability payloads say them.
fn online_word(payload: &str) -> Option<bool> {
    match payload.trim().to_ascii_lowercase().as_str() {
        "online" | "true" | "1" | "connected" => Some(true),
        "offline" | "false" | "0" | "disconnected" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_counts_characters_and_marks_the_cut() {
        assert_eq!(clip("21.5", 4), "21.5");
        assert_eq!(clip("°C°C°C", 2), "°C…");
        assert_eq!(clip("", 0), "");
    }

    #[test]
    fn conventions_come_together_and_other_topics_make_no_card() {
        let mut topics = BTreeMap::new();
        let mut discovery = Discovery::default();
        let config = r#"{"name":"Temp","stat_t":"ha/t","unit_of_meas":"°C","uniq_id":"t1"}"#;
        assert!(discovery.observe("homeassistant/sensor/t1/config", config));
        assert!(!discovery.observe("ha/t", "21"));
        topics.insert("ha/t".to_string(), "21".to_string());
        topics.insert("tele/plug/LWT".to_string(), "Online".to_string());
        topics.insert("shellies/sh1/relay/0".to_string(), "on".to_string());
        topics.insert("random/topic".to_string(), "5".to_string());
        let sources: Vec<_> = cards(&discovery, &topics).iter().map(|c| c.source).collect();
        assert_eq!(sources, ["Home Assistant", "Tasmota", "Shelly"]);
    }

    #[test]
    fn topic_based_cards_are_bounded() {
        let mut topics = BTreeMap::new();
        for n in 0..MAX_CARDS + 50 {
            topics.insert(format!("tele/plug-{n:04}/LWT"), "Online".to_string());
        }
        assert_eq!(cards(&Discovery::default(), &topics).len(), MAX_CARDS);
    }
}
