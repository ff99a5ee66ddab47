//! Automations: consumers that turn a trigger message into commands. Each has
//! its own queue (`auto-<id>`) bound to its trigger filter; when it finishes
//! processing a delivery it may publish commands to devices' `set` topics.

use serde_json::{Value, json};

/// The rules the simulator can run. Each knows its trigger and what it does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Rule {
    /// Door unlocked → hall light on.
    DoorLight,
    /// Motion while the alarm is armed → alarm triggered (siren).
    MotionSiren,
    /// Smoke → alarm triggered and living-room curtains open.
    SmokeResponse,
    /// Temperature below / above the thermostat's setpoint → heating on / off.
    Climate,
}

/// A command an automation publishes: `topic` ← `payload`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Command {
    /// A device's `set` topic.
    pub topic: String,
    /// JSON command.
    pub payload: String,
}

/// Reads the retained state of a topic (the automation's view of the house).
pub type StateLookup<'a> = &'a dyn Fn(&str) -> Option<Value>;

const HALL_LIGHT_SET: &str = "home/hall/light/set";
const ALARM_SET: &str = "home/hall/alarm/set";
const ALARM_STATE: &str = "home/hall/alarm/state";
const CURTAINS_SET: &str = "home/living/curtains/set";
const THERMOSTAT_SET: &str = "home/living/thermostat/set";
const THERMOSTAT_STATE: &str = "home/living/thermostat/state";

impl Rule {
    /// Every rule, for pickers.
    pub const ALL: [Rule; 4] = [Rule::DoorLight, Rule::MotionSiren, Rule::SmokeResponse, Rule::Climate];

    /// Its name, for ids and links: `door-light`, `climate`.
    pub fn name(self) -> &'static str {
        match self {
            Self::DoorLight => "door-light",
            Self::MotionSiren => "motion-siren",
            Self::SmokeResponse => "smoke-response",
            Self::Climate => "climate",
        }
    }

    /// The rule called `name`.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// The topic filter its queue is bound to.
    pub fn trigger(self) -> &'static str {
        match self {
            Self::DoorLight => "home/hall/door/lock/state",
            Self::MotionSiren => "home/hall/motion",
            Self::SmokeResponse => "home/kitchen/smoke",
            Self::Climate => "home/+/temperature",
        }
    }

    /// One line saying what it does.
    pub fn describe(self) -> &'static str {
        match self {
            Self::DoorLight => "door unlocked → hall light on",
            Self::MotionSiren => "motion while the alarm is armed → siren",
            Self::SmokeResponse => "smoke → alarm and curtains open",
            Self::Climate => "temperature off the setpoint → thermostat heating on/off",
        }
    }

    /// The commands a trigger `payload` calls for, given the house's retained state.
    pub fn react(self, payload: &[u8], state: StateLookup<'_>) -> Vec<Command> {
        let Some(msg) = crate::devices::parse_json(payload) else { return Vec::new() };
        let cmd = |topic: &str, payload: Value| Command { topic: topic.into(), payload: payload.to_string() };
        match self {
            Self::DoorLight if msg["locked"] == json!(false) => vec![cmd(HALL_LIGHT_SET, json!({"on": true}))],
            Self::MotionSiren if msg["motion"] == json!(true) && alarm_armed(state) => {
                vec![cmd(ALARM_SET, json!({"state": "triggered"}))]
            }
            Self::SmokeResponse if msg["smoke"] == json!(true) => {
                vec![cmd(ALARM_SET, json!({"state": "triggered"})), cmd(CURTAINS_SET, json!({"open": true}))]
            }
            Self::Climate => {
                climate(&msg, state).map(|heat| vec![cmd(THERMOSTAT_SET, json!({"heating": heat}))]).unwrap_or_default()
            }
            _ => Vec::new(),
        }
    }
}

fn alarm_armed(state: StateLookup<'_>) -> bool {
    state(ALARM_STATE).is_some_and(|s| s["armed"] == json!(true) && s["state"] != json!("triggered"))
}

/// Heating on below setpoint − 0.5 °C, off above setpoint + 0.5 °C; `None`
/// when the thermostat already does the right thing (no command flood).
fn climate(msg: &Value, state: StateLookup<'_>) -> Option<bool> {
    let celsius = msg["celsius"].as_f64()?;
    let thermostat = state(THERMOSTAT_STATE)?;
    let setpoint = thermostat["setpoint"].as_f64()?;
    let heating = thermostat["heating"].as_bool().unwrap_or(false);
    let want = if celsius < setpoint - 0.5 {
        true
    } else if celsius > setpoint + 0.5 {
        false
    } else {
        return None;
    };
    (want != heating).then_some(want)
}

/// An automation as a scenario describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AutomationSpec {
    /// Unique id; its queue is `auto-<id>`.
    pub id: String,
    /// What it does.
    pub rule: Rule,
}

impl AutomationSpec {
    /// An automation running `rule`.
    pub fn new(id: &str, rule: Rule) -> Self {
        Self { id: id.into(), rule }
    }

    /// Its queue's name.
    pub fn queue(&self) -> String {
        format!("auto-{}", self.id)
    }
}

/// An automation while the simulation runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Automation {
    pub spec: AutomationSpec,
    /// Its consumer, unless paused.
    pub worker: Option<u32>,
    /// Times it published commands.
    pub fired: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn rules_read_the_trigger_and_the_house() {
        let armed = |t: &str| (t == ALARM_STATE).then(|| json!({"armed": true, "state": "armed"}));
        let disarmed = |_: &str| Some(json!({"armed": false, "state": "disarmed"}));
        assert_eq!(Rule::MotionSiren.react(br#"{"motion":true}"#, &armed).len(), 1);
        assert!(Rule::MotionSiren.react(br#"{"motion":true}"#, &disarmed).is_empty());
        assert!(Rule::MotionSiren.react(br#"{"motion":false}"#, &armed).is_empty());
        assert_eq!(Rule::DoorLight.react(br#"{"locked":false}"#, &armed)[0].topic, HALL_LIGHT_SET);
        assert_eq!(Rule::SmokeResponse.react(br#"{"smoke":true}"#, &armed).len(), 2);
        let cold = |_: &str| Some(json!({"setpoint": 21.0, "heating": false}));
        let cmds = Rule::Climate.react(br#"{"celsius":19.0}"#, &cold);
        assert_eq!(cmds[0].payload, r#"{"heating":true}"#);
        assert!(Rule::Climate.react(br#"{"celsius":21.2}"#, &cold).is_empty());
        assert!(Rule::Climate.react(b"garbage", &cold).is_empty());
    }
}
