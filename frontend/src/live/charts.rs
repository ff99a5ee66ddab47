//! Per-queue charts of the live broker: depth and publish / deliver / ack
//! rates over the last minute of `stats` frames, drawn like the
//! simulator's charts (same polyline maths, same colours).

use leptos::prelude::*;

use super::session::Session;
use super::state::Sample;
use crate::charts::points;

/// What one queue's chart draws: polyline points per series and the peak.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Lines {
    name: String,
    series: [String; 4],
    peak: u64,
}

fn lines(name: &str, samples: &[Sample]) -> Lines {
    let peak = samples.iter().map(|s| s.depth.max(s.published).max(s.delivered).max(s.acked)).max().unwrap_or(0);
    let line = |f: fn(&Sample) -> u64| points(&samples.iter().map(f).collect::<Vec<_>>(), peak);
    Lines {
        name: name.to_string(),
        series: [line(|s| s.depth), line(|s| s.published), line(|s| s.delivered), line(|s| s.acked)],
        peak,
    }
}

/// A small chart per queue; each is redrawn when a stats frame arrives.
#[component]
pub fn LiveCharts(session: Session) -> impl IntoView {
    let charts = move || {
        session.version.track();
        session.state.with_value(|s| {
            s.charts
                .iter()
                .map(|(name, samples)| lines(name, &samples.iter().copied().collect::<Vec<_>>()))
                .collect::<Vec<_>>()
        })
    };
    view! { <div class="live-charts">{move || charts().into_iter().map(chart).collect_view()}</div> }
}

fn chart(lines: Lines) -> impl IntoView {
    let Lines { name, series: [depth, published, delivered, acked], peak } = lines;
    let queue = name.clone();
    view! {
        <figure class="chart" data-testid="live-chart" data-queue=queue>
            <figcaption><code>{name}</code></figcaption>
            <svg viewBox="0 0 240 56" preserveAspectRatio="none" role="img" aria-label="Depth and rates, last 60 s">
                <line x1="0" y1="55" x2="240" y2="55" class="axis" />
                <polyline class="series depth" points=depth />
                <polyline class="series published" points=published />
                <polyline class="series delivered" points=delivered />
                <polyline class="series acked" points=acked />
            </svg>
            <figcaption>
                <span class="key depth">"depth"</span>
                <span class="key published">"in/s"</span>
                <span class="key delivered">"out/s"</span>
                <span class="key acked">"ack/s"</span>
                <span class="peak" data-testid="live-chart-peak">"peak " {peak}</span>
            </figcaption>
        </figure>
    }
}
