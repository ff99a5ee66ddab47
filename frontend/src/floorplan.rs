//! The floor plan: rooms with device cards, the router, the queue column and
//! the consumers, with messages drawn travelling between them.

use home_sim::Simulation;
use leptos::prelude::*;

use crate::clock::now_ms;
use crate::handle::{Card, SimHandle};
use crate::icons::device_icon;
use crate::layout::{self, CARD, CONSUMER_X, Layout, QUEUE_X, ROOM_W, ROOMS, ROUTER};
/// Cards drawn smaller than this are tiles without text (big scenes).
const TILE_SCALE: f64 = 0.5;
/// Most dots on screen at once.
const MAX_DOTS: usize = 48;
/// Most new dots per frame (the rest of a busy step is summarised by the counters).
const NEW_PER_FRAME: usize = 8;
/// How long a dot flies (real ms; matches the CSS animation).
const DOT_MS: f64 = 650.0;

/// A hop to draw: from, to, CSS class.
type Segment = ((f64, f64), (f64, f64), &'static str);

/// One message hop being drawn.
#[derive(Debug, Clone, PartialEq)]
struct Dot {
    key: u64,
    from: (f64, f64),
    to: (f64, f64),
    class: &'static str,
    born: f64,
}

/// The house, the router and the queues, with messages moving between them.
#[component]
pub fn FloorPlan(sim: SimHandle) -> impl IntoView {
    let layout = Memo::new(move |_| sim.read_layout(|s| Layout::new(&s.devices(), &s.queue_names())));
    let dots = RwSignal::new(Vec::<Dot>::new());
    let next_key = StoredValue::new(0u64);
    Effect::new(move |_| {
        let fresh = sim.read(|s| new_dots(s, &layout.get_untracked()));
        let now = now_ms();
        dots.update(|list| {
            list.retain(|d| now - d.born < DOT_MS);
            for (from, to, class) in fresh.into_iter().take(MAX_DOTS.saturating_sub(list.len())) {
                let key = next_key.get_value();
                next_key.set_value(key + 1);
                list.push(Dot { key, from, to, class, born: now });
            }
        });
    });
    let view_box = format!("0 0 {} {}", layout::WIDTH, layout::HEIGHT);
    // The dots are HTML over the drawing (positions in container-width
    // units, so they scale with it): their transform animations run on the
    // compositor instead of repainting the drawing every frame.
    let at = |v: f64| v * 100.0 / layout::WIDTH;
    view! {
        <div class="plan">
            <svg class="floorplan" viewBox=view_box role="img" aria-label="Floor plan: devices, router, queues and consumers" data-testid="floorplan">
                {rooms()}
                <Router />
                <QueueColumn sim=sim layout=layout />
                // Redrawn whole only when the layout changes (devices come or
                // go); between, each card follows its own signal.
                {move || layout.get().devices.into_iter().map(|(id, x, y, scale)| view! {
                    <DeviceCard sim=sim id=id x=x y=y scale=scale />
                }).collect_view()}
            </svg>
            <div class="dots" aria-hidden="true">
                <For each=move || dots.get() key=|d| d.key let:d>
                    <span class=d.class style=format!("left:{:.2}cqw;top:{:.2}cqw;--dx:{:.2}cqw;--dy:{:.2}cqw",
                        at(d.from.0), at(d.from.1), at(d.to.0 - d.from.0), at(d.to.1 - d.from.1)) />
                </For>
            </div>
        </div>
    }
}

/// The hops of the last step, thinned to [`NEW_PER_FRAME`] evenly spread ones.
fn new_dots(sim: &Simulation, layout: &Layout) -> Vec<Segment> {
    let list = sim.flights().list();
    let stride = list.len().div_ceil(NEW_PER_FRAME).max(1);
    list.iter()
        .step_by(stride)
        .filter_map(|f| layout.segment(&f.hop).map(|(a, b)| (a, b, layout::hop_class(&f.hop))))
        .collect()
}

fn rooms() -> impl IntoView {
    ROOMS
        .iter()
        .enumerate()
        .map(|(i, (_, label))| {
            let x = layout::room_x(i);
            view! {
                <g class="room">
                    <rect x=x y="12" width=ROOM_W height=layout::HEIGHT - 24.0 rx="10" />
                    <text x=x + 12.0 y="34" class="room-label">{*label}</text>
                </g>
            }
        })
        .collect_view()
}

#[component]
fn Router() -> impl IntoView {
    view! {
        <g class="router">
            <circle cx=layout::CONSOLE.0 cy=layout::CONSOLE.1 r="16" class="console" />
            <text x=layout::CONSOLE.0 y=layout::CONSOLE.1 - 24.0 class="node-label">"you"</text>
            <circle cx=ROUTER.0 cy=ROUTER.1 r="34" />
            <text x=ROUTER.0 y=ROUTER.1 - 2.0 class="node-label strong">"Router"</text>
            <text x=ROUTER.0 y=ROUTER.1 + 13.0 class="node-label">"topic trie"</text>
        </g>
    }
}

/// The queues as rows: name and a bar of ready (solid) and unacked (light).
#[component]
fn QueueColumn(sim: SimHandle, layout: Memo<Layout>) -> impl IntoView {
    let rows = move || {
        let l = layout.get();
        l.queues.into_iter().map(|(name, y)| (name, y, l.row_h)).collect::<Vec<_>>()
    };
    view! {
        <g class="queue-column">
            <text x=QUEUE_X.0 y="8" class="column-label">"Queues"</text>
            <text x=CONSUMER_X y="8" class="column-label middle">"Consumers"</text>
            {move || rows().into_iter().map(|(name, y, h)| view! { <QueueRow sim=sim name=name y=y h=h /> }).collect_view()}
        </g>
    }
}

/// One queue row, redrawn only when its depth or consumer count changes.
#[component]
fn QueueRow(sim: SimHandle, name: String, y: f64, h: f64) -> impl IntoView {
    let depth = Memo::new({
        let name = name.clone();
        move |_| sim.read(|s| s.queue_depth(&name))
    });
    // One closure type for every reactive attribute and text of the row
    // (fn pointers pick the value): fewer monomorphised views.
    type Depth = (u64, u64, u64);
    let show = move |f: fn(Depth) -> String| move || f(depth.get());
    let (mid, bar_y) = (y + h / 2.0, y + h - 7.0);
    // The guided tour points at this row while its step is about the queue.
    let class = {
        let name = name.clone();
        move || {
            let on = sim
                .read_slow(|s| s.tour().is_some_and(|t| matches!(t.focus(), home_sim::Focus::Queue(q) if q == name)));
            if on { "queue-row tour-focus" } else { "queue-row" }
        }
    };
    let row = name.clone();
    view! {
        <g class=class data-queue-row=row>
            <rect x=QUEUE_X.0 y=y + 1.0 width=QUEUE_X.1 height=h - 2.0 rx="5" class="queue-box" />
            <text x=QUEUE_X.0 + 8.0 y=mid - 1.0 class="queue-label">{name}</text>
            <text x=QUEUE_X.0 + QUEUE_X.1 - 8.0 y=mid - 1.0 class="queue-depth">{show(|(r, u, _)| format!("{r}·{u}"))}</text>
            <rect x=QUEUE_X.0 + 8.0 y=bar_y width=show(|(r, ..)| bar(r).to_string()) height="3" class="bar-ready" />
            <rect x=show(|(r, ..)| (QUEUE_X.0 as u64 + 8 + bar(r)).to_string()) y=bar_y width=show(|(_, u, _)| bar(u).to_string()) height="3" class="bar-unacked" />
            <circle cx=CONSUMER_X cy=mid r=show(|(.., c)| if c > 0 { "7" } else { "3" }.into()) class="consumer-node" />
            <text x=CONSUMER_X + 12.0 y=mid + 4.0 class="consumer-count">{show(|(.., c)| if c > 0 { format!("×{c}") } else { String::new() })}</text>
        </g>
    }
}

/// A depth bar's length: 2 units a message, up to 40 messages.
fn bar(n: u64) -> u64 {
    n.min(40) * 2
}

/// One device: icon, name, state from its retained message, online, pulse.
/// It redraws only when its own device changes (see [`SimHandle::card`]).
#[component]
pub fn DeviceCard(
    sim: SimHandle,
    id: String,
    x: f64,
    y: f64,
    /// Size against a full card (crowded rooms shrink their cards).
    #[prop(default = 1.0)]
    scale: f64,
) -> impl IntoView {
    let card = sim.card(&id);
    let get = {
        let card = card.clone();
        move |f: fn(&Card) -> String| {
            let card = card.clone();
            move || card.with(|c| c.as_ref().map(f).unwrap_or_default())
        }
    };
    // Too small to read (big scenes): a tile coloured by its state, its
    // words hidden by CSS, named on hover.
    let size = if scale < TILE_SCALE { "tile" } else { "card" };
    let class = get(|c| {
        let flag = |on: bool, name: &'static str| if on { name } else { "" };
        format!("device{}{}{}", flag(!c.online, " offline"), flag(c.pulse, " pulse"), flag(c.alert, " alert"))
    });
    let transform =
        if scale == 1.0 { format!("translate({x},{y})") } else { format!("translate({x},{y}) scale({scale})") };
    let kind = card.with_untracked(|c| c.as_ref().map(|c| c.kind));
    view! {
        <g class=class data-size=size data-testid="device-card" data-device=id transform=transform>
            <title>{get(|c| format!("{}: {}", c.name, c.summary))}</title>
            <rect class="pulse-ring" x="-3" y="-3" width=CARD.0 + 6.0 height=CARD.1 + 6.0 rx="11" />
            <rect class="card" width=CARD.0 height=CARD.1 rx="9" />
            <g transform="translate(9,10)" class="icon-box">{kind.map(device_icon)}</g>
            <text x="40" y="22" class="device-name" data-testid="device-name">{get(|c| c.name.clone())}</text>
            <text x="40" y="41" class="device-state" data-testid="device-state">{get(|c| c.summary.clone())}</text>
            <circle cx="44" cy="53" r="3.5" class="online-dot" />
            <text x="52" y="57" class="device-online" data-testid="device-online">
                {get(|c| if c.online { "online".into() } else { "offline (last will)".into() })}
            </text>
        </g>
    }
}
