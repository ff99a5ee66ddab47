//! Simulated devices against the real broker: N sensors, each its own
//! WebSocket connection with a client id and a last will, publishing a
//! retained temperature every second, so real traffic flows through the
//! real broker and shows up in every live panel. The app shell keeps them
//! ([`FleetHandle`]), so they run on while another tab is shown.

use std::time::Duration;

use leptos::leptos_dom::helpers::{IntervalHandle, set_interval_with_handle};
use leptos::prelude::*;

use super::conn::{Link, LinkState};
use super::wire;

/// How often each simulated device publishes.
const EVERY: Duration = Duration::from_secs(1);
/// Most devices one page may start.
const MAX_DEVICES: u32 = 200;

/// The topic base of simulated device `n`.
pub fn device_base(n: u32) -> String {
    format!("home/sim/sensor-{n}")
}

/// The page's simulated devices: made once by the app shell, so they keep
/// publishing while the Simulator tab is shown.
#[derive(Clone, Copy)]
pub struct FleetHandle {
    states: RwSignal<Vec<RwSignal<LinkState>>>,
    links: StoredValue<Vec<Link>, LocalStorage>,
    timer: StoredValue<Option<IntervalHandle>, LocalStorage>,
}

impl Default for FleetHandle {
    fn default() -> Self {
        Self::new()
    }
}

impl FleetHandle {
    /// No devices yet.
    pub fn new() -> Self {
        Self {
            states: RwSignal::new(Vec::new()),
            links: StoredValue::new_local(Vec::new()),
            timer: StoredValue::new_local(None),
        }
    }

    /// Says "offline" for each device and closes its connection.
    pub fn stop(&self) {
        if let Some(handle) = self.timer.try_update_value(Option::take).flatten() {
            handle.clear();
        }
        for (i, link) in (0u32..).zip(self.links.try_update_value(std::mem::take).unwrap_or_default()) {
            // A clean goodbye discards the will, so say "offline" first.
            link.send(&wire::publish(None, &format!("{}/status", device_base(i)), "offline", true));
            link.close();
        }
        self.states.try_set(Vec::new());
    }

    /// Starts `n` devices (at most [`MAX_DEVICES`]) against `url`, after stopping any.
    pub fn start(&self, url: &str, n: u32) {
        self.stop();
        let n = n.min(MAX_DEVICES);
        let mut signals = Vec::new();
        let mut started = Vec::new();
        for i in 0..n {
            let state = RwSignal::new(LinkState::Connecting(1));
            let hello = move |link: &Link| {
                let status = format!("{}/status", device_base(i));
                link.send(&wire::hello(&format!("sim-sensor-{i}"), Some((&status, "offline"))));
                link.send(&wire::publish(None, &status, "online", true));
            };
            started.push(Link::open(url.to_string(), state, hello, |_| {}));
            signals.push(state);
        }
        self.links.set_value(started);
        self.states.set(signals);
        let tick = StoredValue::new(0u64);
        let links = self.links;
        let publish_all = move || {
            let t = tick.try_update_value(|t| {
                *t += 1;
                *t
            });
            links.with_value(|links| {
                for (i, link) in (0u64..).zip(links) {
                    let tenths = 180 + (t.unwrap_or(0) * 7 + i * 13) % 60;
                    let payload = format!(r#"{{"celsius":{}.{}}}"#, tenths / 10, tenths % 10);
                    link.send(&wire::publish(None, &format!("{}/temperature", device_base(i as u32)), &payload, true));
                }
            });
        };
        self.timer.set_value(set_interval_with_handle(publish_all, EVERY).ok());
    }

    /// (connected, started).
    fn counts(&self) -> (usize, usize) {
        self.states.with(|s| (s.iter().filter(|st| st.with(|st| *st == LinkState::Open)).count(), s.len()))
    }
}

/// A form to start and stop N simulated devices, and how many are connected.
#[component]
pub fn Fleet(
    /// The broker's WebSocket URL.
    url: RwSignal<String>,
    /// The devices, kept by the app shell.
    fleet: FleetHandle,
) -> impl IntoView {
    let count = RwSignal::new("5".to_string());
    let start = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let n = count.with_untracked(|c| c.trim().parse::<u32>().unwrap_or(1));
        fleet.start(url.get_untracked().trim(), n);
    };
    view! {
        <form class="connect" on:submit=start>
            <label>"Devices " <input type="number" min="1" max=MAX_DEVICES.to_string() data-testid="fleet-count"
                bind:value=count /></label>
            <button type="submit" class="primary" data-testid="fleet-start">"Start"</button>
            <button type="button" data-testid="fleet-stop" on:click=move |_| fleet.stop()>"Stop"</button>
        </form>
        <p class="hint" data-testid="fleet-status">
            {move || {
                let (connected, started) = fleet.counts();
                format!("{connected} of {started} simulated devices connected")
            }}
        </p>
        <p class="hint">"Each is its own connection (client id sim-sensor-N, last will on home/sim/sensor-N/status) publishing a retained temperature every second. They keep running while the Simulator tab is open."</p>
    }
}
