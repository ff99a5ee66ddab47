//! The connected broker's connections, from its admin API.
//!
//! The stats stream counts connections but does not list them, so the list
//! comes from `GET /api/connections` of the broker the page is connected to
//! (its HTTP base is derived from the WebSocket URL). A broker on another
//! origin may refuse to share it with this page; then the panel says so and
//! shows the count its stats give, never another broker's list. A
//! connection whose publishes a budget (memory or disk) holds says so.

use std::time::Duration;

use leptos::leptos_dom::helpers::set_interval_with_handle;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use super::api::{Failure, fetch_list};
use super::conn::LinkState;
use super::login::Gate;
use super::session::Session;

/// How often the connection list is fetched.
const EVERY: Duration = Duration::from_secs(2);

/// A connection as `GET /api/connections` lists it (fields the table shows).
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct ConnectionRow {
    client_id: String,
    remote: String,
    /// `ws`, `mqtt`, `amqp` or `internal` (empty from older brokers).
    protocol: String,
    consumers: u64,
    unacked: u64,
    published: u64,
    /// Its publishes are held by a budget (`false` from older brokers).
    blocked: bool,
}

impl ConnectionRow {
    /// Reads one entry of the list; a missing field reads as empty, zero or `false`.
    pub fn from_json(value: &Value) -> Self {
        let text = |key: &str| value.get(key).and_then(Value::as_str).unwrap_or_default().to_string();
        let number = |key: &str| value.get(key).and_then(Value::as_u64).unwrap_or_default();
        Self {
            client_id: text("client_id"),
            remote: text("remote"),
            protocol: text("protocol"),
            consumers: number("consumers"),
            unacked: number("unacked"),
            published: number("published"),
            blocked: value.get("blocked").and_then(Value::as_bool).unwrap_or(false),
        }
    }
}

/// What the last fetch gave, for which HTTP base.
type Fetched = (String, Result<Vec<ConnectionRow>, Failure>);

/// The broker's connections, fetched every few seconds from the broker the
/// session is connected to.
#[component]
pub fn Connections(session: Session) -> impl IntoView {
    let fetched = RwSignal::new(None::<Fetched>);
    let gate = use_context::<Gate>();
    let refresh = move || {
        let base = session.http_base.get_value();
        spawn_local(async move {
            let result = fetch_list(&format!("{base}/api/connections")).await;
            if let (Err(failure), Some(gate)) = (&result, gate) {
                gate.saw(&base, failure);
            }
            let result = result.map(|list| list.iter().map(ConnectionRow::from_json).collect());
            fetched.try_set(Some((base, result)));
        });
    };
    refresh();
    if let Ok(handle) = set_interval_with_handle(refresh, EVERY) {
        on_cleanup(move || handle.clear());
    }
    move || {
        let base = session.http_base.get_value();
        match fetched.get().filter(|(b, _)| *b == base).map(|(_, r)| r) {
            None => view! { <p class="empty">"Loading connections…"</p> }.into_any(),
            Some(Err(failure)) => {
                view! { <p class="empty" data-testid="connections-error">{move || explain(session, &base, &failure)}</p> }
                    .into_any()
            }
            Some(Ok(list)) => connection_table(list).into_any(),
        }
    }
}

/// Says why there is no list, and what the stats stream knows instead.
fn explain(session: Session, base: &str, failure: &Failure) -> String {
    session.version.track();
    // Its WebSocket opened, or its `/healthz` answered: it is there.
    let there = session.link_state.with(|s| *s == LinkState::Open) || session.answers.get() == Some(true);
    let count = session.state.with_value(|s| s.has_stats.then_some(s.totals.connections));
    let why = match failure {
        Failure::Answered(what) => format!("{base}/api/connections answered {what}"),
        Failure::LoginRequired => format!("{base} wants a login, which this page cannot give it"),
        Failure::Unreadable if there => {
            let here = window().location().origin().unwrap_or_default();
            format!("{base} does not let this page read its connection list (start it with --allow-origin {here})")
        }
        Failure::Unreadable => format!("{base}/api/connections cannot be reached"),
    };
    match count {
        Some(n) => format!("No connection list: {why}. Its stats count {n} open connections."),
        None => format!("No connection list: {why}."),
    }
}

/// A row per connection; its protocol, and whether it is blocked, are
/// marked next to its client id.
/// Pure: it shows `list` (in the broker's order) and fetches nothing.
pub fn connection_table(list: Vec<ConnectionRow>) -> impl IntoView {
    view! {
        // In a half-width panel at 1024 px the table is wider than the
        // panel: it scrolls inside it rather than widening the page.
        <div class="table-scroll">
        <table class="queues connections" data-testid="connections">
            <thead><tr>
                <th scope="col">"Client"</th><th scope="col">"Address"</th>
                <th scope="col" class="num">"Consumers"</th><th scope="col" class="num">"Unacked"</th>
                <th scope="col" class="num">"Published"</th>
            </tr></thead>
            <tbody>
                {list.into_iter().map(|c| view! {
                    <tr data-testid="connection-row">
                        <th scope="row">
                            {c.client_id}" "
                            <span class="protocol" data-testid="connection-protocol">{protocol_name(&c.protocol)}</span>
                            {c.blocked.then(blocked_warning)}
                        </th>
                        <td>{c.remote}</td>
                        <td class="num">{c.consumers}</td><td class="num">{c.unacked}</td><td class="num">{c.published}</td>
                    </tr>
                }).collect_view()}
            </tbody>
        </table>
        </div>
    }
}

/// How a connection's protocol reads in the table.
fn protocol_name(protocol: &str) -> &'static str {
    match protocol {
        "ws" => "WebSocket",
        "mqtt" => "MQTT",
        "amqp" => "AMQP",
        "internal" => "broker",
        _ => "",
    }
}

fn blocked_warning() -> impl IntoView {
    let why = "the memory or disk budget is used up: the broker holds this connection's publishes";
    view! { " " <span class="status error" title=why data-testid="connection-blocked">"blocked"</span> }
}
