//! Publish to the live broker, and follow a topic filter: the message view
//! keeps the last [`HISTORY`] messages and shows them a page at a time, so
//! it stays responsive however fast messages arrive.

use leptos::prelude::*;

use super::session::Session;
use super::state::{HISTORY, Received};

/// Messages per page of the subscribe panel.
pub const PAGE: usize = 25;

/// Topic, payload, retain, publish; the broker's confirm shows below.
#[component]
pub fn LivePublish(session: Session) -> impl IntoView {
    let topic = RwSignal::new("home/hall/light/set".to_string());
    let payload = RwSignal::new(r#"{"on":true}"#.to_string());
    let retain = RwSignal::new(false);
    let feedback = session.feedback;
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        session.publish(topic.get_untracked(), payload.get_untracked(), retain.get_untracked());
    };
    view! {
        <form class="live-publish" on:submit=submit>
            <label>"Topic" <input data-testid="live-publish-topic" spellcheck="false" bind:value=topic /></label>
            <label>"Payload" <textarea data-testid="live-publish-payload" spellcheck="false" rows="2" bind:value=payload></textarea></label>
            <label class="check"><input type="checkbox" data-testid="live-publish-retain" bind:checked=retain />" Retain (becomes the topic's state)"</label>
            <button type="submit" class="primary" data-testid="live-publish">"Publish"</button>
            {move || feedback.get().map(|f| {
                let (class, text) = match f {
                    Ok(text) => ("status ok", text),
                    Err(text) => ("status error", text),
                };
                view! { <p class=class role="status" data-testid="live-publish-result">{text}</p> }
            })}
        </form>
    }
}

/// A filter to follow and the messages it brought, newest first, paginated.
#[component]
pub fn Subscribe(session: Session) -> impl IntoView {
    let draft = RwSignal::new(session.filter.get_untracked());
    let page = RwSignal::new(0usize);
    let follow = {
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            page.set(0);
            session.follow(draft.get_untracked().trim().to_string());
        }
    };
    let counts = {
        move || {
            session.version.track();
            session.state.with_value(|state| (state.messages.len(), state.received))
        }
    };
    let rows = {
        move || {
            session.version.track();
            let page = page.get();
            session.state.with_value(|state| {
                state.messages.iter().rev().skip(page * PAGE).take(PAGE).cloned().collect::<Vec<_>>()
            })
        }
    };
    let pages = { move || counts().0.div_ceil(PAGE).max(1) };
    let summary = {
        move || {
            let (kept, received) = counts();
            let first = (page.get() * PAGE + 1).min(kept);
            let last = ((page.get() + 1) * PAGE).min(kept);
            format!("showing {first}–{last} of the last {kept} kept (at most {HISTORY}); {received} received")
        }
    };
    let older_disabled = { move || page.get() + 1 >= pages() };
    view! {
        <form class="connect" on:submit=follow>
            <label>"Filter " <input data-testid="live-filter" spellcheck="false" bind:value=draft /></label>
            <button type="submit">"Follow"</button>
            <span class="hint">"+ one level, # the rest"</span>
        </form>
        <div class="pager">
            <button data-testid="page-newer" disabled=move || page.get() == 0 on:click=move |_| page.update(|p| *p = p.saturating_sub(1))>"← Newer"</button>
            <span data-testid="messages-summary">{summary}</span>
            <button data-testid="page-older" disabled=older_disabled on:click=move |_| page.update(|p| *p += 1)>"Older →"</button>
        </div>
        <ol class="messages" data-testid="messages" aria-live="off">
            {move || rows().into_iter().map(message_row).collect_view()}
        </ol>
    }
}

fn message_row(message: Received) -> impl IntoView {
    view! {
        <li class="message" data-testid="message-row">
            <span class="seq">"#"{message.seq}</span>
            <code class="topic" data-testid="message-topic">{message.topic}</code>
            <span class="payload" data-testid="message-payload">{message.payload}</span>
            {message.retained.then(|| view! { <span class="badge">"retained"</span> })}
        </li>
    }
}
