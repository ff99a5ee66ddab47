//! Shelly. Gen1: `shellies/<id>/relay/<n>` (`on` / `off`), its
//! `…/relay/<n>/power` (W) and `…/energy` (Wmin), `shellies/<id>/light/<n>`,
//! sensors on `shellies/<id>/sensor/<kind>`, availability on
//! `shellies/<id>/online` (`true` / `false`); a relay or light takes `on` /
//! `off` on `…/<n>/command`. Gen2: a switch's JSON status on
//! `<id>/status/switch:<n>` (`{"output":true,"apower":12.5,…}`), its
//! commands (`on` / `off`) on `<id>/command/switch:<n>`, availability on
//! `<id>/online`.

use serde_json::Value;

use super::{Card, Command, Field, MAX_NAME, Topics, clip, push_field, show};

/// The card of Shelly `id` in `cards`.
fn card<'a>(cards: &'a mut Vec<Card>, id: &str) -> Option<&'a mut Card> {
    let key = format!("shelly:{id}");
    super::card(cards, &key, || Card {
        key: key.clone(),
        name: clip(id, MAX_NAME),
        source: "Shelly",
        ..Card::default()
    })
}

fn field(label: String, value: String, unit: &str, command: Option<Command>) -> Field {
    Field { label, value, unit: unit.to_string(), command }
}

fn on_off(topic: String) -> Option<Command> {
    Some(Command { topic, on: "on".into(), off: "off".into() })
}

/// A card per Shelly heard from, Gen1 and Gen2.
pub fn cards(topics: &dyn Topics, cards: &mut Vec<Card>) {
    for (topic, payload) in topics.each() {
        if let Some(rest) = topic.strip_prefix("shellies/") {
            gen1(cards, rest, payload);
        } else if let Some((id, n)) = topic.split_once("/status/switch:") {
            gen2(cards, topics, id, n, payload);
        }
    }
}

fn gen1(cards: &mut Vec<Card>, rest: &str, payload: &str) {
    let levels: Vec<&str> = rest.split('/').collect();
    let value = clip(payload, super::MAX_VALUE);
    // The device, and its field (`None`: its availability).
    let (id, found) = match levels.as_slice() {
        [id, "online"] => (*id, None),
        [id, kind @ ("relay" | "light"), n] if n.bytes().all(|b| b.is_ascii_digit()) => {
            let command = on_off(format!("shellies/{id}/{kind}/{n}/command"));
            (*id, Some(field(format!("{kind} {n}"), value, "", command)))
        }
        [id, "relay", n, what @ ("power" | "energy")] => {
            let unit = if *what == "power" { "W" } else { "Wmin" };
            (*id, Some(field(format!("relay {n} {what}"), value, unit, None)))
        }
        [id, "sensor", kind] => {
            let unit = match *kind {
                "temperature" => "°C",
                "humidity" | "battery" => "%",
                "lux" => "lx",
                _ => "",
            };
            (*id, Some(field(clip(kind, MAX_NAME), value, unit, None)))
        }
        [id, "temperature"] => (*id, Some(field("temperature".into(), value, "°C", None))),
        _ => return,
    };
    let Some(card) = card(cards, id) else { return };
    match found {
        None => card.online = super::online_word(payload),
        Some(found) => push_field(card, found),
    }
}

fn gen2(cards: &mut Vec<Card>, topics: &dyn Topics, id: &str, n: &str, payload: &str) {
    if id.is_empty() || id.contains('/') || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
        return;
    }
    let Ok(Value::Object(status)) = serde_json::from_str::<Value>(payload) else { return };
    let online = topics.last(&format!("{id}/online")).and_then(super::online_word);
    let Some(card) = card(cards, id) else { return };
    card.online = online;
    if let Some(output) = status.get("output").and_then(Value::as_bool) {
        let command = on_off(format!("{id}/command/switch:{n}"));
        push_field(card, field(format!("switch {n}"), if output { "on" } else { "off" }.into(), "", command));
    }
    for (key, unit) in [("apower", "W"), ("voltage", "V"), ("current", "A")] {
        if let Some(v) = status.get(key).filter(|v| v.is_number()) {
            push_field(card, field(format!("switch {n} {key}"), show(v), unit, None));
        }
    }
    if let Some(t) = status.get("temperature").and_then(|t| t.get("tC")).filter(|v| v.is_number()) {
        push_field(card, field(format!("switch {n} temperature"), show(t), "°C", None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pairs: &[(&str, &str)]) -> Vec<Card> {
        super::super::cards_among(pairs, cards)
    }

    #[test]
    fn a_gen1_relay_with_power_and_availability() {
        let cards = run(&[
            ("shellies/shelly1-ab12/online", "false"),
            ("shellies/shelly1-ab12/relay/0", "on"),
            ("shellies/shelly1-ab12/relay/0/power", "42.1"),
            ("shellies/shelly1-ab12/relay/0/command", "off"),
            ("shellies/shelly1-ab12/sensor/temperature", "19.5"),
            ("shellies/announce", "{}"),
        ]);
        assert_eq!(cards.len(), 1);
        let card = &cards[0];
        assert_eq!((card.name.as_str(), card.online), ("shelly1-ab12", Some(false)));
        let shown: Vec<_> = card.fields.iter().map(|f| (f.label.as_str(), f.value.as_str(), f.unit.as_str())).collect();
        assert_eq!(shown, [("relay 0", "on", ""), ("relay 0 power", "42.1", "W"), ("temperature", "19.5", "°C")]);
        let command = card.fields[0].command.clone().unwrap();
        assert_eq!((command.topic.as_str(), command.on.as_str()), ("shellies/shelly1-ab12/relay/0/command", "on"));
    }

    #[test]
    fn cleared_topics_take_their_fields_and_then_the_card_away() {
        let one_left = run(&[("shellies/s1/relay/0", ""), ("shellies/s1/relay/0/power", "8.5")]);
        let shown: Vec<_> = one_left[0].fields.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(shown, ["relay 0 power"], "a cleared relay state is no field");
        assert!(run(&[("shellies/s1/relay/0", ""), ("shellies/s1/online", ""), ("s2/status/switch:0", "")]).is_empty());
    }

    #[test]
    fn a_gen2_switch_status() {
        let cards = run(&[
            ("shellyplus1pm-c0ff/online", "true"),
            ("shellyplus1pm-c0ff/status/switch:0", r#"{"id":0,"output":true,"apower":8.5,"temperature":{"tC":41.2}}"#),
            ("shellyplus1pm-c0ff/status/switch:x", r#"{"output":true}"#),
            ("a/b/status/switch:0", r#"{"output":true}"#),
            ("other/status/switch:1", "not json"),
        ]);
        assert_eq!(cards.len(), 1);
        assert_eq!(cards[0].online, Some(true));
        let f = &cards[0].fields;
        assert_eq!((f[0].value.as_str(), f[1].value.as_str(), f[1].unit.as_str()), ("on", "8.5", "W"));
        assert_eq!(f[0].command.clone().unwrap().topic, "shellyplus1pm-c0ff/command/switch:0");
        assert_eq!(f[2].unit, "°C");
    }
}
