//! One queue in detail: its bindings, policy and loss counters (from the
//! `stats` stream), a non-destructive peek at its first ready messages
//! (`peek`: nothing is taken, requeued or marked redelivered), and purge or
//! delete behind a confirmation. This page's own subscription queues are
//! named as such.

use leptos::prelude::*;

use super::payload::PayloadView;
use super::session::{PEEK, Session};
use super::wire::{Peeked, QueueStat};

/// A destructive action waiting for its confirmation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pending {
    Purge,
    Delete,
}

/// The queue picker and the chosen queue's details.
#[component]
pub fn QueueDetails(session: Session) -> impl IntoView {
    let chosen = RwSignal::new(String::new());
    let confirm = RwSignal::new(None::<Pending>);
    let names = Memo::new(move |_| {
        session.version.track();
        session.state.with_value(|s| s.queues.iter().map(|q| (q.name.clone(), q.own)).collect::<Vec<_>>())
    });
    let stat = Memo::new(move |_| {
        session.version.track();
        chosen.with(|c| session.state.with_value(|s| s.queue_stats.iter().find(|q| q.name == *c).cloned()))
    });
    let shown = Memo::new(move |_| stat.with(|q| q.as_ref().map(|q| q.name.clone())));
    let pick = move |ev: leptos::ev::Event| {
        chosen.set(event_target_value(&ev));
        confirm.set(None);
    };
    view! {
        <div class="queue-details" data-testid="queue-details">
            <label>"Queue "
                <select data-testid="queue-pick" on:change=pick prop:value=move || chosen.get()>
                    <option value="">"— pick one —"</option>
                    {move || names.get().into_iter().map(|(name, own)| {
                        let label = if own { format!("{name} (this page's subscription)") } else { name.clone() };
                        view! { <option value=name>{label}</option> }
                    }).collect_view()}
                </select>
            </label>
            // Built once per chosen queue; the stats that change every tick
            // are text inside it, so a button is never replaced under a click.
            {move || shown.get().map(|name| details(name, stat, session, confirm))}
            {move || session.queue_feedback.get().map(|f| {
                let (class, text) = match f {
                    Ok(text) => ("status ok", text),
                    Err(text) => ("status error", text),
                };
                view! { <p class=class role="status" data-testid="queue-result">{text}</p> }
            })}
            {move || {
                let shown = chosen.get();
                session.peeked.get().filter(|(q, _, _)| *q == shown).map(|(_, ready, messages)| peeked(ready, messages))
            }}
        </div>
    }
}

fn details(
    name: String,
    stat: Memo<Option<QueueStat>>,
    session: Session,
    confirm: RwSignal<Option<Pending>>,
) -> impl IntoView {
    let text = move |show: fn(&QueueStat) -> String| move || stat.with(|q| q.as_ref().map(show).unwrap_or_default());
    let bindings = text(|q| if q.bindings.is_empty() { "none".to_string() } else { q.bindings.join(", ") });
    let policy = text(|q| {
        if q.policy.is_empty() {
            "defaults".to_string()
        } else {
            q.policy.iter().map(|(k, v)| format!("{k} {v}")).collect::<Vec<_>>().join(", ")
        }
    });
    let losses =
        text(|q| q.losses.iter().map(|(k, v)| format!("{} {v}", k.replace('_', "-"))).collect::<Vec<_>>().join(", "));
    let counts = move || stat.with(|q| q.as_ref().map_or((0, 0), |q| (q.ready, q.unacked)));
    let (peek_name, yes_name) = (name.clone(), name);
    let ask = move |what: Pending| move |_| confirm.set(Some(what));
    let question = move || {
        confirm.get().map(|what| {
            let (asked_name, yes_name) = (yes_name.clone(), yes_name.clone());
            let text = move || {
                let (ready, unacked) = counts();
                match what {
                    Pending::Purge => format!("Drop the {ready} ready messages of {asked_name}? Unacked ones stay."),
                    Pending::Delete => {
                        format!("Delete {asked_name} and its {} messages? Its consumers are cancelled.", ready + unacked)
                    }
                }
            };
            view! {
                <p class="confirm" data-testid="queue-confirm">{text}" "
                    <button type="button" class="danger" data-testid="queue-confirm-yes" on:click=move |_| {
                        confirm.set(None);
                        match what {
                            Pending::Purge => session.purge(&yes_name),
                            Pending::Delete => session.delete(&yes_name),
                        }
                    }>"Yes"</button>
                    <button type="button" data-testid="queue-confirm-no" on:click=move |_| confirm.set(None)>"Cancel"</button>
                </p>
            }
        })
    };
    view! {
        <dl class="queue-facts">
            <dt>"Bindings"</dt><dd data-testid="queue-bindings">{bindings}</dd>
            <dt>"Policy"</dt><dd data-testid="queue-policy">{policy}</dd>
            <dt>"Counters"</dt><dd data-testid="queue-losses">{losses}</dd>
        </dl>
        <div class="queue-actions">
            <button type="button" data-testid="queue-peek" on:click=move |_| session.peek(&peek_name)>
                {format!("Peek at the first {PEEK}")}</button>
            <button type="button" data-testid="queue-purge" on:click=ask(Pending::Purge)>"Purge…"</button>
            <button type="button" data-testid="queue-delete" on:click=ask(Pending::Delete)>"Delete…"</button>
        </div>
        {question}
    }
}

fn peeked(ready: u64, messages: Vec<Peeked>) -> impl IntoView {
    let summary =
        format!("{} of {ready} ready messages, left in the queue (not taken, not marked redelivered)", messages.len());
    view! {
        <p class="hint" data-testid="peek-summary">{summary}</p>
        <ol class="peeked" data-testid="peek-list">
            {messages.into_iter().map(|m| {
                let meta = format!("#{} · {} bytes · delivered {} times before", m.message_id, m.bytes, m.delivery_count);
                view! {
                    <li data-testid="peek-row">
                        <code data-testid="peek-topic">{m.topic}</code>" "<span class="hint">{meta}</span>
                        <PayloadView payload=m.payload binary=m.binary full_len=m.bytes as usize />
                    </li>
                }
            }).collect_view()}
        </ol>
    }
}
