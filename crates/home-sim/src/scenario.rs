//! Scenarios: the devices, automations, extra queues and consumers a
//! simulation starts with. `home` is the smart home of the lessons;
//! `empty` a house with nothing in it but the dead-letter queue (a teacher
//! builds a demo from scratch); `stress-<devices>-<rate>` is a load test.
//! [`Scenario::PICKER`] lists the ones a page offers.

use crate::automations::{AutomationSpec, Rule};
use crate::devices::{DeviceKind, DeviceSpec};
use crate::error::SimError;
use crate::workers::ConsumerSettings;
use queue_core::QueueOptions;
use queue_core::protocol::AckMode;

/// The queue every scenario declares for dead letters (policies may point at it).
pub const DEAD_LETTERS: &str = "dead-letters";

/// A queue a scenario declares besides the device and automation queues.
#[derive(Debug, Clone, PartialEq)]
pub struct QueueSpec {
    /// Its name.
    pub name: String,
    /// Topic filters it is bound with.
    pub bindings: Vec<String>,
    /// Options at declare.
    pub options: QueueOptions,
}

/// Everything a simulation starts with.
#[derive(Debug, Clone, PartialEq)]
pub struct Scenario {
    /// Name, as written in URLs: `home`, `stress-200-2000`.
    pub name: String,
    /// Devices, each its own connection.
    pub devices: Vec<DeviceSpec>,
    /// Automations, each a consumer on its own queue.
    pub automations: Vec<AutomationSpec>,
    /// Extra queues (dead letters, telemetry).
    pub queues: Vec<QueueSpec>,
    /// Extra consumers: (queue, settings).
    pub consumers: Vec<(String, ConsumerSettings)>,
    /// How devices consume their commands.
    pub device_consumer: ConsumerSettings,
    /// How automations consume their triggers.
    pub automation_consumer: ConsumerSettings,
}

impl Scenario {
    /// The scenarios a page offers: (name, label). Any `stress-<n>-<rate>`
    /// opens from a link; these are the scenes worth a click.
    pub const PICKER: [(&'static str, &'static str); 4] = [
        ("home", "Smart home (the lessons)"),
        ("empty", "Empty house"),
        ("stress-50-500", "Stress: 50 sensors, 500 msg/s"),
        ("stress-200-2000", "Stress: 200 sensors, 2 000 msg/s"),
    ];

    /// The scenario called `name`: `home`, `empty` or `stress-<devices>-<total rate>`.
    pub fn by_name(name: &str) -> Result<Self, SimError> {
        match name {
            "home" => return Ok(Self::smart_home()),
            "empty" => return Ok(Self::empty()),
            _ => {}
        }
        let unknown = || SimError::UnknownScenario(name.chars().take(64).collect());
        let rest = name.strip_prefix("stress-").ok_or_else(unknown)?;
        let (devices, rate) = rest.split_once('-').ok_or_else(unknown)?;
        let devices: usize = devices.parse().map_err(|_| unknown())?;
        let rate = crate::decimal::parse(rate).ok_or_else(unknown)?;
        if !(1..=2000).contains(&devices) || !(0.0..=100_000.0).contains(&rate) {
            return Err(unknown());
        }
        Ok(Self::stress(devices, rate))
    }

    /// The smart home: lock, curtains, alarm, thermostat, three lights,
    /// motion, smoke and two temperature sensors; four automations; a
    /// `telemetry` queue with one recorder; a dead-letter queue.
    pub fn smart_home() -> Self {
        use DeviceKind::*;
        let d = DeviceSpec::new;
        let devices = vec![
            d("door-lock", "Front-door lock", "hall", Lock, "home/hall/door/lock", 0.05),
            d("hall-light", "Hall light", "hall", Light, "home/hall/light", 0.05),
            d("hall-motion", "Hall motion sensor", "hall", Motion, "home/hall/motion", 0.5),
            d("alarm", "Security alarm", "hall", Alarm, "home/hall/alarm", 0.05),
            d("living-light", "Living-room light", "living", Light, "home/living/light", 0.05),
            d("curtains", "Living-room curtains", "living", Curtains, "home/living/curtains", 0.05),
            d("thermostat", "Thermostat", "living", Thermostat, "home/living/thermostat", 0.1),
            d("living-temp", "Living-room temperature", "living", Temperature, "home/living/temperature", 1.0),
            d("kitchen-light", "Kitchen light", "kitchen", Light, "home/kitchen/light", 0.05),
            d("kitchen-temp", "Kitchen temperature", "kitchen", Temperature, "home/kitchen/temperature", 0.5),
            d("smoke", "Smoke detector", "kitchen", Smoke, "home/kitchen/smoke", 0.2),
        ];
        let automations = vec![
            AutomationSpec::new("door-light", Rule::DoorLight),
            AutomationSpec::new("motion-siren", Rule::MotionSiren),
            AutomationSpec::new("smoke-response", Rule::SmokeResponse),
            AutomationSpec::new("climate", Rule::Climate),
        ];
        let telemetry = QueueSpec {
            name: "telemetry".into(),
            bindings: vec!["home/+/temperature".into(), "home/+/motion".into()],
            options: QueueOptions::default(),
        };
        Self {
            name: "home".into(),
            devices,
            automations,
            queues: vec![dead_letter_queue(), telemetry],
            consumers: vec![(
                "telemetry".into(),
                ConsumerSettings { prefetch: 3, ack: AckMode::Manual, processing_ms: 400 },
            )],
            device_consumer: ConsumerSettings { prefetch: 1, ack: AckMode::Manual, processing_ms: 200 },
            automation_consumer: ConsumerSettings { prefetch: 5, ack: AckMode::Manual, processing_ms: 100 },
        }
    }

    /// No devices, automations or consumers: only the dead-letter queue.
    /// Devices, queues, bindings and consumers are added from the page.
    pub fn empty() -> Self {
        Self {
            name: "empty".into(),
            devices: Vec::new(),
            automations: Vec::new(),
            queues: vec![dead_letter_queue()],
            consumers: Vec::new(),
            ..Self::smart_home()
        }
    }

    /// A load test: `devices` sensors, spread over the home's three rooms,
    /// publishing `total_rate` messages per simulated second in all on
    /// `home/stress/sensor-<n>/telemetry`, into one `telemetry` queue shared
    /// by four consumers.
    pub fn stress(devices: usize, total_rate: f64) -> Self {
        const ROOMS: [&str; 3] = ["hall", "living", "kitchen"];
        let rate = if devices == 0 { 0.0 } else { total_rate / devices as f64 };
        let devices: Vec<DeviceSpec> = (0..devices)
            .map(|n| {
                let id = format!("sensor-{n}");
                let base = format!("home/stress/{id}");
                let room = ROOMS[n % ROOMS.len()];
                DeviceSpec::new(&id, &format!("Sensor {n}"), room, DeviceKind::Sensor, &base, rate)
            })
            .collect();
        let telemetry = QueueSpec {
            name: "telemetry".into(),
            bindings: vec!["home/stress/+/telemetry".into()],
            options: QueueOptions::default(),
        };
        let fast = ConsumerSettings { prefetch: 50, ack: AckMode::Manual, processing_ms: 1 };
        Self {
            name: format!("stress-{}-{total_rate}", devices.len()),
            devices,
            automations: Vec::new(),
            queues: vec![dead_letter_queue(), telemetry],
            consumers: (0..4).map(|_| ("telemetry".to_owned(), fast)).collect(),
            device_consumer: ConsumerSettings::default(),
            automation_consumer: ConsumerSettings::default(),
        }
    }
}

fn dead_letter_queue() -> QueueSpec {
    QueueSpec { name: DEAD_LETTERS.into(), bindings: Vec::new(), options: QueueOptions::default() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use wasm_bindgen_test::wasm_bindgen_test;

    #[wasm_bindgen_test(unsupported = test)]
    fn scenarios_are_found_by_name() {
        assert_eq!(Scenario::by_name("home").map(|s| s.devices.len()), Ok(11));
        let empty = Scenario::by_name("empty").expect("the empty house");
        assert!(empty.devices.is_empty() && empty.automations.is_empty() && empty.consumers.is_empty());
        assert_eq!(empty.queues.len(), 1, "only the dead letters");
        for (name, _) in Scenario::PICKER {
            assert_eq!(Scenario::by_name(name).map(|s| s.name), Ok(name.to_string()), "the picker's {name} opens");
        }
        let stress = Scenario::by_name("stress-200-2000").expect("stress scenario");
        assert_eq!(stress.name, "stress-200-2000");
        assert_eq!(stress.devices.len(), 200);
        assert!((stress.devices[0].rate - 10.0).abs() < 1e-9);
        for bad in ["", "office", "stress-", "stress-x-1", "stress-0-5", "stress-10--1"] {
            assert!(matches!(Scenario::by_name(bad), Err(SimError::UnknownScenario(_))), "{bad}");
        }
    }
}
