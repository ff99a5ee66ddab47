//! Tasmota, with its default full topic `%prefix%/%topic%/`: telemetry on
//! `tele/<t>/SENSOR` (JSON, a sensor's readings under its name, units
//! implied by the key: `{"AM2301":{"Temperature":21.5},"TempUnit":"C"}`),
//! relay state on `tele/<t>/STATE` (`{"POWER":"ON"}`), `stat/<t>/POWER`
//! (`ON`) and `stat/<t>/RESULT`, availability on `tele/<t>/LWT`
//! (`Online` / `Offline`), commands on `cmnd/<t>/POWER` (`ON` / `OFF`).

use serde_json::{Map, Value};

use super::{Card, Command, Field, MAX_NAME, Topics, clip, push_field, show};

/// The unit Tasmota means by a reading's key (temperatures follow `TempUnit`).
fn unit(key: &str, temp: &str, pressure: &str) -> String {
    let unit = match key {
        "Temperature" | "DewPoint" => return format!("°{temp}"),
        "Pressure" | "SeaPressure" => pressure,
        "Humidity" | "RSSI" => "%",
        "Power" => "W",
        "ApparentPower" => "VA",
        "ReactivePower" => "VAr",
        "Voltage" => "V",
        "Current" => "A",
        "Total" | "Today" | "Yesterday" => "kWh",
        "Illuminance" => "lx",
        "CarbonDioxide" | "eCO2" => "ppm",
        _ => "",
    };
    unit.to_string()
}

/// Whether `key` names a relay (`POWER`, `POWER1` … `POWER32`).
fn relay(key: &str) -> bool {
    key.strip_prefix("POWER").is_some_and(|n| n.is_empty() || (n.len() <= 2 && n.bytes().all(|b| b.is_ascii_digit())))
}

/// The device topic `<t>` of a Tasmota topic, and what follows it.
fn split(topic: &str) -> Option<(&str, &str, &str)> {
    let mut levels = topic.splitn(3, '/');
    let (prefix, device, rest) = (levels.next()?, levels.next()?, levels.next()?);
    let known = match prefix {
        "tele" => matches!(rest, "SENSOR" | "STATE" | "LWT"),
        "stat" => rest == "RESULT" || relay(rest),
        _ => false,
    };
    (known && !device.is_empty()).then_some((prefix, device, rest))
}

/// A card per Tasmota device heard from: readings with units, relays with on/off.
pub fn cards(topics: &dyn Topics, cards: &mut Vec<Card>) {
    for (topic, payload) in topics.each().filter(|(t, _)| t.starts_with("tele/") || t.starts_with("stat/")) {
        let Some((prefix, device, rest)) = split(topic) else { continue };
        let key = format!("tasmota:{device}");
        let Some(card) = super::card(cards, &key, || Card {
            key: key.clone(),
            name: clip(device, MAX_NAME),
            source: "Tasmota",
            ..Card::default()
        }) else {
            continue;
        };
        let json = serde_json::from_str::<Value>(payload).ok();
        match (prefix, rest, json) {
            (_, "LWT", _) => card.online = super::online_word(payload),
            ("tele", "SENSOR", Some(Value::Object(map))) => sensor(card, &map),
            (_, "STATE" | "RESULT", Some(Value::Object(map))) => {
                for (k, v) in map.iter().filter(|(k, _)| relay(k)) {
                    set_relay(card, device, k, &show(v));
                }
            }
            ("stat", power, _) if relay(power) => set_relay(card, device, power, &clip(payload, 8)),
            _ => {}
        }
    }
}

/// A reading per number of each sensor in a `SENSOR` payload.
fn sensor(card: &mut Card, map: &Map<String, Value>) {
    let temp = map.get("TempUnit").and_then(Value::as_str).unwrap_or("C");
    let pressure = map.get("PressureUnit").and_then(Value::as_str).unwrap_or("hPa");
    for (sensor, readings) in map {
        let Value::Object(readings) = readings else { continue };
        for (key, value) in readings.iter().filter(|(_, v)| v.is_number()) {
            let label = clip(&format!("{sensor} {key}"), MAX_NAME);
            let field = Field { label, value: show(value), unit: clip(&unit(key, temp, pressure), 8), command: None };
            replace(card, field);
        }
    }
}

/// The relay `key`'s field, with its `cmnd/<t>/<key>` command.
fn set_relay(card: &mut Card, device: &str, key: &str, value: &str) {
    let command = Command { topic: format!("cmnd/{device}/{key}"), on: "ON".into(), off: "OFF".into() };
    replace(
        card,
        Field { label: key.to_string(), value: value.to_string(), unit: String::new(), command: Some(command) },
    );
}

/// Sets a field by label (`stat/…/POWER` and `tele/…/STATE` both say a relay's state).
fn replace(card: &mut Card, field: Field) {
    match card.fields.iter_mut().find(|f| f.label == field.label) {
        Some(old) => *old = field,
        None => push_field(card, field),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pairs: &[(&str, &str)]) -> Vec<Card> {
        super::super::cards_among(pairs, cards)
    }

    #[test]
    fn telemetry_relays_and_lwt_make_one_card() {
        let cards = run(&[
            ("stat/plug/POWER", "ON"),
            ("tele/plug/LWT", "Online"),
            (
                "tele/plug/SENSOR",
                r#"{"Time":"2026-12-02T07:00:00","ENERGY":{"Power":12,"Voltage":231,"Total":1.5},"AM2301":{"Temperature":71.6},"TempUnit":"F"}"#,
            ),
            ("tele/plug/STATE", r#"{"Uptime":"1T00:00:00","POWER":"ON","Wifi":{"RSSI":80}}"#),
        ]);
        assert_eq!(cards.len(), 1);
        let card = &cards[0];
        assert_eq!((card.name.as_str(), card.online), ("plug", Some(true)));
        let shown: Vec<_> = card.fields.iter().map(|f| (f.label.as_str(), f.value.as_str(), f.unit.as_str())).collect();
        assert_eq!(
            shown,
            [
                ("POWER", "ON", ""),
                ("AM2301 Temperature", "71.6", "°F"),
                ("ENERGY Power", "12", "W"),
                ("ENERGY Total", "1.5", "kWh"),
                ("ENERGY Voltage", "231", "V"),
            ]
        );
        let command = card.fields[0].command.clone().unwrap();
        assert_eq!(
            (command.topic.as_str(), command.on.as_str(), command.off.as_str()),
            ("cmnd/plug/POWER", "ON", "OFF")
        );
    }

    #[test]
    fn cleared_topics_take_their_fields_and_then_the_card_away() {
        let one_left = run(&[("stat/plug/POWER", ""), ("tele/plug/SENSOR", r#"{"ENERGY":{"Power":12}}"#)]);
        let shown: Vec<_> = one_left[0].fields.iter().map(|f| f.label.as_str()).collect();
        assert_eq!(shown, ["ENERGY Power"], "a cleared relay state is no field");
        assert!(run(&[("stat/plug/POWER", ""), ("tele/plug/SENSOR", ""), ("tele/plug/LWT", "")]).is_empty());
    }

    #[test]
    fn other_topics_under_tele_and_stat_are_not_tasmota() {
        let cards = run(&[
            ("tele/plug/INFO1", "{}"),
            ("stat/plug/STATUS", "{}"),
            ("stat/plug/POWERFUL", "x"),
            ("tele//LWT", "Online"),
            ("tele/plug/SENSOR", "not json"),
        ]);
        assert_eq!(cards.len(), 1, "the malformed SENSOR payload still names its device");
        assert!(cards[0].fields.is_empty());
        assert!(run(&[("tele/plug", "Online"), ("cmnd/plug/POWER", "ON")]).is_empty());
    }

    #[test]
    fn numbered_relays_command_their_own_topics() {
        let cards = run(&[("stat/strip/POWER2", "OFF"), ("stat/strip/RESULT", r#"{"POWER1":"ON"}"#)]);
        let topics: Vec<_> = cards[0].fields.iter().map(|f| f.command.clone().unwrap().topic).collect();
        assert_eq!(topics, ["cmnd/strip/POWER2", "cmnd/strip/POWER1"]);
    }
}
