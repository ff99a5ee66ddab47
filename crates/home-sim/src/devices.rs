//! Devices: what each kind of smart-home device reports and which commands it
//! obeys. A device's state is a small JSON object; it publishes it (retained)
//! on its state topic, announces itself on `<base>/status`, and, if it obeys
//! commands, consumes them from its own queue bound to `<base>/set`.

use crate::rng::Rng;
use crate::workers::ConsumerSettings;
use queue_core::ConnId;
use serde_json::{Map, Value, json};

/// Highest publish rate a device may be given, per second.
pub const MAX_RATE: f64 = 1000.0;

/// The kinds of device the simulator knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum DeviceKind {
    /// Front-door lock: `{"locked":true}`; obeys `{"locked":false}`.
    Lock,
    /// Curtains: `{"open":false,"position":0}`; obeys `{"open":true}`.
    Curtains,
    /// Security alarm: `{"armed":false,"state":"disarmed"}`; obeys `{"armed":true}`, `{"state":"triggered"}`.
    Alarm,
    /// Thermostat: `{"setpoint":21.0,"heating":false}`; obeys either field.
    Thermostat,
    /// A light: `{"on":false,"brightness":0}`; obeys `{"on":true}`.
    Light,
    /// Motion sensor: `{"motion":true}` events.
    Motion,
    /// Smoke detector: `{"smoke":false,"ppm":12}`.
    Smoke,
    /// Temperature sensor: `{"celsius":21.4}`.
    Temperature,
    /// A generic sensor for load tests: `{"value":0.42,"seq":17}`.
    Sensor,
}

impl DeviceKind {
    /// Every kind a learner can add to the house (not the load-test sensor).
    pub const HOUSE: [DeviceKind; 8] = [
        Self::Lock,
        Self::Curtains,
        Self::Alarm,
        Self::Thermostat,
        Self::Light,
        Self::Motion,
        Self::Smoke,
        Self::Temperature,
    ];

    /// The kind called `name` (as [`DeviceKind::as_str`] writes it).
    pub fn parse(name: &str) -> Option<Self> {
        Self::HOUSE.into_iter().chain([Self::Sensor]).find(|k| k.as_str() == name)
    }

    /// Publishes per second a new device of this kind starts with: sensors
    /// report often, the rest restate their state now and then.
    pub fn default_rate(self) -> f64 {
        match self {
            Self::Temperature | Self::Motion => 0.5,
            Self::Smoke => 0.2,
            Self::Sensor => 1.0,
            _ => 0.05,
        }
    }

    /// Whether it consumes commands from a queue of its own.
    pub fn obeys_commands(self) -> bool {
        matches!(self, Self::Lock | Self::Curtains | Self::Alarm | Self::Thermostat | Self::Light)
    }

    /// A short lower-case name (`lock`, `light`, …) for views and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lock => "lock",
            Self::Curtains => "curtains",
            Self::Alarm => "alarm",
            Self::Thermostat => "thermostat",
            Self::Light => "light",
            Self::Motion => "motion",
            Self::Smoke => "smoke",
            Self::Temperature => "temperature",
            Self::Sensor => "sensor",
        }
    }

    /// What is appended to the base topic to get the state topic.
    fn state_suffix(self) -> &'static str {
        match self {
            Self::Motion | Self::Smoke | Self::Temperature => "",
            Self::Sensor => "/telemetry",
            _ => "/state",
        }
    }

    /// The state a fresh device starts in.
    fn initial_state(self, rng: &mut Rng) -> Value {
        match self {
            Self::Lock => json!({"locked": true}),
            Self::Curtains => json!({"open": false, "position": 0}),
            Self::Alarm => json!({"armed": false, "state": "disarmed"}),
            Self::Thermostat => json!({"setpoint": 21.0, "heating": false}),
            Self::Light => json!({"on": false, "brightness": 0}),
            Self::Motion => json!({"motion": false}),
            Self::Smoke => json!({"smoke": false, "ppm": 12}),
            Self::Temperature => json!({"celsius": round1(rng.range(19.0, 22.0))}),
            Self::Sensor => json!({"value": 0.0, "seq": 0}),
        }
    }
}

/// A device as a scenario describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct DeviceSpec {
    /// Unique id, also its command queue's name: `hall-light`.
    pub id: String,
    /// Name for people: `Hall light`.
    pub name: String,
    /// Room, for the floor plan: `hall`.
    pub room: String,
    /// What it is.
    pub kind: DeviceKind,
    /// Topic prefix: `home/hall/light`.
    pub base: String,
    /// Periodic publishes per second (sensor readings, state reports); 0 = only on change.
    pub rate: f64,
}

impl DeviceSpec {
    /// A device spec.
    pub fn new(id: &str, name: &str, room: &str, kind: DeviceKind, base: &str, rate: f64) -> Self {
        Self { id: id.into(), name: name.into(), room: room.into(), kind, base: base.into(), rate }
    }

    /// Where it publishes its state (retained): `home/hall/light/state`, `home/hall/motion`.
    pub fn state_topic(&self) -> String {
        format!("{}{}", self.base, self.kind.state_suffix())
    }

    /// Where it says `online`, and its last will says `offline` (retained).
    pub fn status_topic(&self) -> String {
        format!("{}/status", self.base)
    }

    /// Where commands for it are published: `home/hall/light/set`.
    pub fn command_topic(&self) -> String {
        format!("{}/set", self.base)
    }
}

/// A device while the simulation runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Device {
    pub spec: DeviceSpec,
    /// Its connection while online.
    pub conn: Option<ConnId>,
    /// The device's own idea of its state (what it will publish next).
    pub state: Value,
    pub next_publish_at: u64,
    /// Last time it sent or received a message (for pulses).
    pub last_activity: Option<u64>,
    /// Its command consumer, if it obeys commands and is online.
    pub worker: Option<u32>,
    /// How it consumes commands (kept across reconnects).
    pub consumer: ConsumerSettings,
    pub published: u64,
    /// The simulation's change stamp when it last changed (see `Simulation::touch`).
    pub version: u64,
}

impl Device {
    pub fn new(spec: DeviceSpec, rng: &mut Rng) -> Self {
        let state = spec.kind.initial_state(rng);
        let consumer = ConsumerSettings::default();
        Self {
            spec,
            conn: None,
            state,
            next_publish_at: u64::MAX,
            last_activity: None,
            worker: None,
            consumer,
            published: 0,
            version: 0,
        }
    }

    /// Schedules the next periodic publish after `now`, jittered ±25 %.
    pub fn schedule(&mut self, now: u64, rng: &mut Rng) {
        self.next_publish_at = if self.spec.rate > 0.0 && self.conn.is_some() {
            let interval = 1000.0 / self.spec.rate * rng.range(0.75, 1.25);
            now + (interval.round() as u64).max(1)
        } else {
            u64::MAX
        };
    }

    /// Takes a new reading (sensors) and returns the payload to publish.
    pub fn read(&mut self, rng: &mut Rng, heating: bool) -> String {
        let s = &mut self.state;
        match self.spec.kind {
            DeviceKind::Temperature => {
                let c = s["celsius"].as_f64().unwrap_or(20.0);
                let drift = if heating { 0.15 } else { -0.08 };
                s["celsius"] = json!(round1(c + drift + rng.range(-0.1, 0.1)));
            }
            DeviceKind::Motion => s["motion"] = json!(rng.chance(0.4)),
            DeviceKind::Smoke => s["ppm"] = json!((rng.range(8.0, 16.0)) as u64),
            DeviceKind::Sensor => {
                let seq = s["seq"].as_u64().unwrap_or(0) + 1;
                *s = json!({"value": round1(rng.range(0.0, 100.0)), "seq": seq});
            }
            _ => {}
        }
        self.state.to_string()
    }

    /// Applies a command; returns whether it was understood. Unknown fields
    /// are ignored; a payload that is not a JSON object is not understood.
    pub fn obey(&mut self, payload: &[u8]) -> bool {
        let Some(Value::Object(command)) = parse_json(payload) else { return false };
        let Value::Object(state) = &mut self.state else { return false };
        let changed = merge_known(state, &command);
        match self.spec.kind {
            DeviceKind::Alarm => settle_alarm(state, &command),
            DeviceKind::Curtains => {
                let open = state.get("open").and_then(Value::as_bool).unwrap_or(false);
                state.insert("position".into(), json!(if open { 100 } else { 0 }));
            }
            DeviceKind::Light => {
                let on = state.get("on").and_then(Value::as_bool).unwrap_or(false);
                state.insert("brightness".into(), json!(if on { 80 } else { 0 }));
            }
            _ => {}
        }
        changed || self.spec.kind == DeviceKind::Alarm
    }
}

/// Copies the fields of `command` that `state` already has, if the types agree.
fn merge_known(state: &mut Map<String, Value>, command: &Map<String, Value>) -> bool {
    let mut changed = false;
    for (key, value) in command {
        if let Some(old) = state.get_mut(key) {
            let same_type = (old.is_boolean() && value.is_boolean())
                || (old.is_number() && value.is_number())
                || (old.is_string() && value.is_string());
            if same_type {
                *old = value.clone();
                changed = true;
            }
        }
    }
    changed
}

/// Keeps the alarm's `armed` and `state` consistent after a command.
fn settle_alarm(state: &mut Map<String, Value>, command: &Map<String, Value>) {
    let armed = state.get("armed").and_then(Value::as_bool).unwrap_or(false);
    let triggered = command.get("state").and_then(Value::as_str) == Some("triggered");
    let label = match (triggered, armed, command.contains_key("armed")) {
        (true, _, _) => "triggered",
        (false, true, true) => "armed",
        (false, false, _) => "disarmed",
        (false, true, false) => state.get("state").and_then(Value::as_str).unwrap_or("armed"),
    };
    let label = label.to_owned();
    state.insert("state".into(), json!(label));
}

/// `payload` parsed as JSON, `None` if it is not UTF-8 JSON: the same answer
/// as `serde_json::from_slice`, through the `&str` reader the dashboard
/// already carries, so its wasm holds one JSON value parser, not two.
pub(crate) fn parse_json(payload: &[u8]) -> Option<Value> {
    serde_json::from_str(std::str::from_utf8(payload).ok()?).ok()
}

fn round1(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    fn device(kind: DeviceKind) -> Device {
        Device::new(DeviceSpec::new("d", "D", "hall", kind, "home/hall/d", 1.0), &mut Rng::new(1))
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn commands_change_known_fields_only() {
        let mut light = device(DeviceKind::Light);
        assert!(light.obey(br#"{"on":true,"colour":"red"}"#));
        assert_eq!(light.state, json!({"on": true, "brightness": 80}));
        assert!(!light.obey(b"not json"));
        assert!(!light.obey(br#"{"on":"yes"}"#));
        let mut alarm = device(DeviceKind::Alarm);
        alarm.obey(br#"{"armed":true}"#);
        assert_eq!(alarm.state["state"], "armed");
        alarm.obey(br#"{"state":"triggered"}"#);
        assert_eq!(alarm.state["state"], "triggered");
        alarm.obey(br#"{"armed":false}"#);
        assert_eq!(alarm.state["state"], "disarmed");
    }

    #[wasm_bindgen_test(unsupported = test)]
    fn topics_follow_the_base() {
        let lock = DeviceSpec::new("door", "Door", "hall", DeviceKind::Lock, "home/hall/door/lock", 0.1);
        assert_eq!(lock.state_topic(), "home/hall/door/lock/state");
        assert_eq!(lock.status_topic(), "home/hall/door/lock/status");
        assert_eq!(lock.command_topic(), "home/hall/door/lock/set");
        let temp = DeviceSpec::new("t", "T", "living", DeviceKind::Temperature, "home/living/temperature", 1.0);
        assert_eq!(temp.state_topic(), "home/living/temperature");
    }
}
