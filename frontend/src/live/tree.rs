//! The topic tree panel: every topic the page saw, level by level, with its
//! last value, message count, time and a retained mark; a selected topic's
//! history with timestamps, its payload formatted, and a chart of its
//! numbers over time. Pause freezes what is shown (collection goes on);
//! Resume shows everything again.

use leptos::prelude::*;

use super::payload::PayloadView;
use super::session::Session;
use super::topics::{MAX_ROWS, Point, Row, TOPIC_HISTORY, TopicTree};

const W: f64 = 240.0;
const H: f64 = 56.0;

/// `numbers` (oldest first, at times `at`) as polyline points over the
/// chart's width from the first time to the last, scaled between their
/// lowest and highest value.
pub fn polyline(points: &[(f64, f64)]) -> String {
    let (Some(first), Some(last)) = (points.first(), points.last()) else { return String::new() };
    let span = (last.0 - first.0).max(1.0);
    let low = points.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let high = points.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    let range = (high - low).max(f64::EPSILON);
    points
        .iter()
        .map(|(at, v)| {
            let x = if points.len() == 1 { W } else { (at - first.0) / span * W };
            let y = if high == low { H / 2.0 } else { H - 3.0 - (v - low) / range * (H - 6.0) };
            format!("{x:.1},{y:.1}")
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A number as people write it: `10`, `11.5` (serde_json's shortest form,
/// without a trailing `.0`).
pub fn decimal(value: f64) -> String {
    let text = serde_json::Number::from_f64(value).map_or_else(|| "—".to_string(), |n| n.to_string());
    text.strip_suffix(".0").map(str::to_string).unwrap_or(text)
}

/// Local wall-clock time of `at` (ms since the epoch): `07:41:05.123`.
fn clock(at: f64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(at));
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        date.get_hours(),
        date.get_minutes(),
        date.get_seconds(),
        date.get_milliseconds()
    )
}

/// The tree, its pause, and the selected topic's details.
#[component]
pub fn TopicTreePanel(session: Session) -> impl IntoView {
    let paused = RwSignal::new(false);
    let frozen = StoredValue::new_local(None::<TopicTree>);
    let open = session.open_topics;
    let selected = session.selected_topic;
    let shown = Memo::new(move |_| {
        if !paused.get() {
            session.version.track();
        }
        open.with(|open| read(session, frozen, |t| t.rows(open)))
    });
    let summary = move || {
        if !paused.get() {
            session.version.track();
        }
        let (topics, messages, evicted) = read(session, frozen, |t| (t.len(), t.messages, t.evicted));
        let evicted = if evicted > 0 { format!("; {evicted} older topics let go") } else { String::new() };
        format!("{topics} topics, {messages} messages{evicted}")
    };
    let toggle_pause = move |_| {
        if paused.get_untracked() {
            frozen.set_value(None);
            paused.set(false);
        } else {
            frozen.set_value(Some(session.state.with_value(|s| s.tree.clone())));
            paused.set(true);
        }
    };
    let expand_all = move |_| {
        let branches: Vec<String> =
            read(session, frozen, |t| t.iter().flat_map(|(topic, _)| prefixes(topic)).collect());
        open.update(|o| o.extend(branches));
    };
    view! {
        <div class="tree-bar">
            <span data-testid="tree-summary">{summary}</span>
            <button type="button" data-testid="tree-pause" aria-pressed=move || paused.get().to_string()
                on:click=toggle_pause>{move || if paused.get() { "Resume" } else { "Pause" }}</button>
            <button type="button" data-testid="tree-expand" on:click=expand_all>"Expand all"</button>
            <button type="button" data-testid="tree-collapse" on:click=move |_| open.set(Default::default())>"Collapse"</button>
        </div>
        <div class="tree-split">
            <ul class="tree" data-testid="tree" aria-live="off">
                {move || shown.get().0.into_iter().map(|row| tree_row(row, session)).collect_view()}
                {move || (shown.get().1 > 0).then(|| view! {
                    <li class="hint">{format!("{} more rows (at most {MAX_ROWS} at once): collapse a branch", shown.get().1)}</li>
                })}
            </ul>
            {move || selected.get().map(|topic| view! { <TopicDetail session=session topic=topic paused=paused frozen=frozen /> })}
        </div>
    }
}

/// Reads the tree shown: the frozen copy while paused, else the live one.
fn read<T>(session: Session, frozen: StoredValue<Option<TopicTree>, LocalStorage>, f: impl Fn(&TopicTree) -> T) -> T {
    match frozen.with_value(|t| t.as_ref().map(&f)) {
        Some(value) => value,
        None => session.state.with_value(|s| f(&s.tree)),
    }
}

/// The prefixes of a topic that have children below them.
fn prefixes(topic: &str) -> Vec<String> {
    topic.match_indices('/').map(|(at, _)| topic[..at].to_string()).collect()
}

fn tree_row(row: Row, session: Session) -> impl IntoView {
    let Row { path, label, depth, topics, branch, open, value } = row;
    let indent = format!("padding-left: {:.1}rem", depth as f64 * 0.9);
    let toggle_path = path.clone();
    let select_path = path.clone();
    let is_selected = session.selected_topic.with_untracked(|s| s.as_deref() == Some(path.as_str()));
    view! {
        <li class="tree-row" class:selected=is_selected data-testid="tree-row" data-topic=path style=indent>
            {branch.then(|| view! {
                <button type="button" class="tree-toggle" data-testid="tree-toggle" aria-expanded=open.to_string()
                    on:click=move |_| session.open_topics.update(|o| if !o.remove(&toggle_path) { o.insert(toggle_path.clone()); })>
                    {if open { "▾" } else { "▸" }}
                </button>
            })}
            <button type="button" class="tree-label" data-testid="tree-label"
                on:click=move |_| session.selected_topic.set(Some(select_path.clone()))>{label}</button>
            {(branch && !open).then(|| view! { <span class="hint">{format!("{topics} topics")}</span> })}
            {value.map(|v| view! {
                <code class="tree-value" data-testid="tree-value">{v.last}</code>
                <span class="tree-count" data-testid="tree-count" title="messages">{v.count}</span>
                <span class="tree-time" data-testid="tree-time">{clock(v.at)}</span>
                {v.retained.then(|| view! { <span class="badge" data-testid="tree-retained">"retained"</span> })}
            })}
        </li>
    }
}

/// One topic: its last payload formatted, a chart of its numbers, its history.
#[component]
fn TopicDetail(
    session: Session,
    topic: String,
    paused: RwSignal<bool>,
    frozen: StoredValue<Option<TopicTree>, LocalStorage>,
) -> impl IntoView {
    let name = topic.clone();
    let entry = Memo::new(move |_| {
        if !paused.get() {
            session.version.track();
        }
        read(session, frozen, |t| {
            t.get(&topic).map(|e| (e.last.clone(), e.binary, e.last_len, e.count, e.history.clone()))
        })
    });
    view! {
        <section class="tree-detail" data-testid="tree-detail" aria-label="Topic">
            <h3><code data-testid="tree-detail-topic">{name}</code>
                <button type="button" class="close" on:click=move |_| session.selected_topic.set(None)>"Close"</button></h3>
            {move || match entry.get() {
                None => view! { <p class="empty">"No message on this topic is kept (a branch, or let go)."</p> }.into_any(),
                Some((last, binary, len, count, history)) => {
                    let numbers: Vec<(f64, f64)> = history.iter().filter_map(|p| Some((p.at, p.number?))).collect();
                    view! {
                        <p class="hint" data-testid="tree-detail-count">{format!("{count} messages; the last {} kept (at most {TOPIC_HISTORY})", history.len())}</p>
                        <PayloadView payload=last binary=binary full_len=len />
                        {(numbers.len() >= 2).then(|| chart(&numbers))}
                        <ol class="tree-history" data-testid="tree-history">
                            {history.into_iter().rev().map(history_row).collect_view()}
                        </ol>
                    }.into_any()
                }
            }}
        </section>
    }
}

fn chart(numbers: &[(f64, f64)]) -> impl IntoView {
    let low = numbers.iter().map(|p| p.1).fold(f64::INFINITY, f64::min);
    let high = numbers.iter().map(|p| p.1).fold(f64::NEG_INFINITY, f64::max);
    view! {
        <figure class="chart" data-testid="tree-chart">
            <svg viewBox=format!("0 0 {W} {H}") preserveAspectRatio="none" role="img" aria-label="Values over time">
                <polyline class="series depth" points=polyline(numbers) />
            </svg>
            <figcaption><span data-testid="tree-chart-range">{format!("{} … {}", decimal(low), decimal(high))}</span>
                {format!(" over the last {} numbers", numbers.len())}</figcaption>
        </figure>
    }
}

fn history_row(point: Point) -> impl IntoView {
    view! {
        <li data-testid="tree-history-row">
            <span class="tree-time">{clock(point.at)}</span>
            <code>{super::discovery::clip(&point.payload, 120)}</code>
            {point.retained.then(|| view! { <span class="badge">"retained"</span> })}
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_polyline_spans_the_chart_and_its_range() {
        assert_eq!(polyline(&[]), "");
        assert_eq!(polyline(&[(5.0, 3.0)]), "240.0,28.0");
        assert_eq!(polyline(&[(0.0, 1.0), (10.0, 1.0)]), "0.0,28.0 240.0,28.0");
        assert_eq!(polyline(&[(0.0, -5.0), (5.0, 5.0), (10.0, 0.0)]), "0.0,53.0 120.0,3.0 240.0,28.0");
    }

    #[test]
    fn decimals_drop_a_trailing_zero_only() {
        assert_eq!(
            (decimal(10.0), decimal(11.5), decimal(-0.25), decimal(f64::NAN)),
            ("10".into(), "11.5".into(), "-0.25".into(), "—".into())
        );
    }

    #[test]
    fn only_levels_with_children_are_prefixes() {
        assert_eq!(prefixes("a/b/c"), ["a", "a/b"]);
        assert!(prefixes("a").is_empty());
    }
}
