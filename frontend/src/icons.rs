//! Small line icons for device kinds (24×24, stroked in the current colour),
//! drawn as SVG so they look the same without any emoji font.

use home_sim::DeviceKind;
use leptos::prelude::*;

/// The icon of `kind`, as SVG paths for a 24×24 box.
pub fn device_icon(kind: DeviceKind) -> impl IntoView {
    let d = match kind {
        DeviceKind::Lock => "M6 11h12v9H6z M8.5 11V8a3.5 3.5 0 0 1 7 0v3 M12 15v2",
        DeviceKind::Light => "M12 3a6 6 0 0 1 3.5 10.9V17h-7v-3.1A6 6 0 0 1 12 3z M9.5 20h5",
        DeviceKind::Motion => {
            "M12 12m-2 0a2 2 0 1 0 4 0a2 2 0 1 0-4 0 M7 7a7 7 0 0 0 0 10 M17 7a7 7 0 0 1 0 10 M4.5 4.5a10.5 10.5 0 0 0 0 15 M19.5 4.5a10.5 10.5 0 0 1 0 15"
        }
        DeviceKind::Alarm => "M6 17h12l-1.8-2.6V10a4.2 4.2 0 0 0-8.4 0v4.4z M10.5 20h3 M12 3.5v1.5",
        DeviceKind::Curtains => "M3 4h18 M5 4c0 6 2 10 4 16H5z M19 4c0 6-2 10-4 16h4z",
        DeviceKind::Thermostat => "M12 12m-8 0a8 8 0 1 0 16 0a8 8 0 1 0-16 0 M12 12l3.5-3.5 M12 6v1 M6 12h1 M17 12h1",
        DeviceKind::Smoke => {
            "M12 12m-8 0a8 8 0 1 0 16 0a8 8 0 1 0-16 0 M12 12m-2.5 0a2.5 2.5 0 1 0 5 0a2.5 2.5 0 1 0-5 0"
        }
        DeviceKind::Temperature => "M10 4.5a2 2 0 0 1 4 0v9.2a4 4 0 1 1-4 0z M12 9v7",
        DeviceKind::Sensor => "M5 12h3l2-5 4 10 2-5h3",
    };
    view! { <path d=d class="icon" /> }
}
