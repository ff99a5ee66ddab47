//! Short words for a device's state, for cards: `{"locked":true}` → `Locked`.
//! Pure text from the retained JSON, so every view says the same thing.

use crate::devices::DeviceKind;
use crate::views::DeviceView;
use serde_json::Value;

impl DeviceView {
    /// Its state in a few words (`Locked`, `On · 80%`, `21.4 °C`), or
    /// `No state yet` before its first retained message, or the raw payload
    /// when it is not the JSON its kind publishes.
    pub fn summary(&self) -> String {
        let Some(text) = self.state.as_deref() else { return "No state yet".into() };
        let Ok(v) = serde_json::from_str::<Value>(text) else { return text.into() };
        describe(self.kind, &v).unwrap_or_else(|| text.into())
    }

    /// Whether the state is one a person should notice (alarm triggered,
    /// smoke, door unlocked, motion): the card is highlighted.
    pub fn alert(&self) -> bool {
        let Some(v) = self.state.as_deref().and_then(|t| serde_json::from_str::<Value>(t).ok()) else { return false };
        match self.kind {
            DeviceKind::Alarm => v["state"] == "triggered",
            DeviceKind::Smoke => v["smoke"] == true,
            DeviceKind::Lock => v["locked"] == false,
            DeviceKind::Motion => v["motion"] == true,
            _ => false,
        }
    }
}

fn describe(kind: DeviceKind, v: &Value) -> Option<String> {
    let on = |b: bool, yes: &str, no: &str| if b { yes.to_owned() } else { no.to_owned() };
    Some(match kind {
        DeviceKind::Lock => on(v["locked"].as_bool()?, "Locked", "Unlocked"),
        DeviceKind::Curtains => {
            let pos = v["position"].as_f64().unwrap_or(0.0);
            if v["open"].as_bool()? { format!("Open · {pos:.0}%") } else { "Closed".into() }
        }
        DeviceKind::Alarm => match v["state"].as_str()? {
            "triggered" => "Siren!".into(),
            state => on(v["armed"].as_bool().unwrap_or(false), "Armed", &capitalise(state)),
        },
        DeviceKind::Thermostat => {
            let heat = on(v["heating"].as_bool().unwrap_or(false), " · heating", "");
            format!("{:.1} °C{heat}", v["setpoint"].as_f64()?)
        }
        DeviceKind::Light => {
            let level = v["brightness"].as_f64().unwrap_or(0.0);
            if v["on"].as_bool()? { format!("On · {level:.0}%") } else { "Off".into() }
        }
        DeviceKind::Motion => on(v["motion"].as_bool()?, "Motion", "Still"),
        DeviceKind::Smoke => {
            let ppm = v["ppm"].as_f64().unwrap_or(0.0);
            if v["smoke"].as_bool()? { format!("SMOKE · {ppm:.0} ppm") } else { format!("Clear · {ppm:.0} ppm") }
        }
        DeviceKind::Temperature => format!("{:.1} °C", v["celsius"].as_f64()?),
        DeviceKind::Sensor => format!("{:.2}", v["value"].as_f64()?),
    })
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn card(kind: DeviceKind, state: Option<&str>) -> DeviceView {
        DeviceView {
            id: "d".into(),
            name: "D".into(),
            room: "hall".into(),
            kind,
            online: true,
            connected: true,
            state: state.map(str::to_owned),
            last_activity_ms: None,
            rate: 0.0,
            state_topic: "home/d".into(),
            consumer: None,
        }
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn summaries_read_each_kind() {
        use DeviceKind::*;
        let cases = [
            (Lock, r#"{"locked":true}"#, "Locked"),
            (Lock, r#"{"locked":false}"#, "Unlocked"),
            (Curtains, r#"{"open":true,"position":100}"#, "Open · 100%"),
            (Alarm, r#"{"armed":false,"state":"disarmed"}"#, "Disarmed"),
            (Alarm, r#"{"armed":true,"state":"triggered"}"#, "Siren!"),
            (Thermostat, r#"{"setpoint":21.0,"heating":true}"#, "21.0 °C · heating"),
            (Light, r#"{"on":true,"brightness":80}"#, "On · 80%"),
            (Motion, r#"{"motion":false}"#, "Still"),
            (Smoke, r#"{"smoke":false,"ppm":12}"#, "Clear · 12 ppm"),
            (Temperature, r#"{"celsius":21.44}"#, "21.4 °C"),
        ];
        for (kind, state, want) in cases {
            assert_eq!(card(kind, Some(state)).summary(), want, "{kind:?} {state}");
        }
        assert_eq!(card(Lock, None).summary(), "No state yet");
        assert_eq!(card(Lock, Some("garbage")).summary(), "garbage");
        assert!(card(Lock, Some(r#"{"locked":false}"#)).alert());
        assert!(!card(Light, Some(r#"{"on":true}"#)).alert());
    }
}
