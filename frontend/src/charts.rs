//! Small per-queue charts: depth and publish / deliver / ack rates over the
//! last simulated minute, as SVG polylines over `queue_history`.

use home_sim::Bucket;
use home_sim::history::HISTORY_SECONDS;
use leptos::prelude::*;

use crate::handle::SimHandle;

const W: f64 = 240.0;
const H: f64 = 56.0;

/// `values` (oldest first, one per second) as polyline points, right-aligned
/// so the newest second sits at the right edge; `max` is the top.
pub fn points(values: &[u64], max: u64) -> String {
    let step = W / (HISTORY_SECONDS - 1) as f64;
    let offset = HISTORY_SECONDS.saturating_sub(values.len()) as f64;
    values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            let x = (offset + i as f64) * step;
            let y = H - 2.0 - (*v as f64 / max.max(1) as f64) * (H - 6.0);
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Depth and rates of queue `name` over the last minute.
#[component]
pub fn QueueChart(sim: SimHandle, name: String) -> impl IntoView {
    let history = Memo::new(move |_| sim.read_slow(|s| s.queue_history(&name)));
    let series = move |f: fn(&Bucket) -> u64| history.with(|h| h.iter().map(f).collect::<Vec<u64>>());
    let max = move || {
        history.with(|h| h.iter().map(|b| b.depth().max(b.published).max(b.delivered).max(b.acked)).max().unwrap_or(0))
    };
    let line = move |f: fn(&Bucket) -> u64| move || points(&series(f), max());
    view! {
        <figure class="chart">
            <svg viewBox=format!("0 0 {W} {H}") preserveAspectRatio="none" role="img" aria-label="Depth and rates, last 60 s">
                <line x1="0" y1=H - 1.0 x2=W y2=H - 1.0 class="axis" />
                <polyline class="series depth" points=line(Bucket::depth) />
                <polyline class="series published" points=line(|b| b.published) />
                <polyline class="series delivered" points=line(|b| b.delivered) />
                <polyline class="series acked" points=line(|b| b.acked) />
            </svg>
            <figcaption>
                <span class="key depth">"depth"</span>
                <span class="key published">"in/s"</span>
                <span class="key delivered">"out/s"</span>
                <span class="key acked">"ack/s"</span>
                <span class="peak">{move || format!("peak {}", max())}</span>
            </figcaption>
        </figure>
    }
}
