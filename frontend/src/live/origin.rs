//! Which broker is this page's own, and what to say when another broker
//! refuses this page's WebSocket.
//!
//! A broker accepts WebSockets from its own pages and from the origins it
//! was started with (`--allow-origin`); it refuses any other page's with
//! HTTP 403, which a browser reports as a failed connection (code 1006),
//! exactly as if nothing listened. So when the link to another broker has
//! never opened, [`OriginHint`] asks that broker's `/healthz` with a
//! `no-cors` fetch (which tells whether something answers, not what) and
//! says which of the two it is, and the flag that lets this page in.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;
use wasm_bindgen_futures::JsFuture;
use web_sys::{RequestInit, RequestMode};

use super::conn::LinkState;
use super::session::{Session, http_base};

/// This page's origin (`http://HOST:PORT`): the broker that served it.
pub fn page_origin() -> String {
    window().location().origin().unwrap_or_default()
}

/// Whether the HTTP base `base` (see [`http_base`]) is this page's broker.
pub fn is_own_base(base: &str) -> bool {
    base == page_origin()
}

/// Whether the WebSocket URL `url` is this page's broker's.
pub fn is_own(url: &str) -> bool {
    is_own_base(&http_base(url))
}

/// The hint for a broker at `base` that never opened a WebSocket for this
/// page at `here`; `answers` is what its `/healthz` said (`None`: not yet).
pub fn refusal_hint(base: &str, here: &str, answers: Option<bool>) -> String {
    let flag = format!("--allow-origin {here}");
    match answers {
        Some(true) => format!(
            "{base} answers, but refused this page's WebSocket: it does not allow pages from {here}. \
             Start it with {flag} to let this page in."
        ),
        Some(false) => format!(
            "{base} does not answer: is it running? It must also allow pages from {here}: start it with {flag}."
        ),
        None => format!("{base} may not allow pages from {here}: if it is running, start it with {flag}."),
    }
}

/// Says why another broker's WebSocket does not open, while it has not.
#[component]
pub fn OriginHint(session: Session) -> impl IntoView {
    let failing = Memo::new(move |_| {
        let failed = session.link_state.with(|s| match s {
            LinkState::Retrying { .. } => true,
            LinkState::Connecting(attempt) => *attempt > 1,
            LinkState::Open | LinkState::Failed(_) => false,
        });
        let base = session.http_base.get_value();
        (failed && !session.reached.get() && !is_own_base(&base)).then_some(base)
    });
    // Asked again after each failed attempt until it answers: a broker
    // that was down may be up (and refusing) by now.
    Effect::new(move || {
        let retrying = session.link_state.with(|s| matches!(s, LinkState::Retrying { .. }));
        if let Some(base) = failing.get().filter(|_| retrying)
            && session.answers.get_untracked() != Some(true)
        {
            probe(session, base);
        }
    });
    move || {
        failing.get().map(|base| {
            let here = page_origin();
            let text = refusal_hint(&base, &here, session.answers.get());
            // The flag as code, so it reads (and wraps) as one thing to type.
            let flag = format!("--allow-origin {here}");
            let (before, code, after) = match text.split_once(&flag) {
                Some((before, after)) => (before.to_string(), Some(flag.clone()), after.to_string()),
                None => (text.clone(), None, String::new()),
            };
            let code = code.map(|flag| view! { <code>{flag}</code> });
            view! { <p class="banner error" role="note" data-testid="origin-hint">{before}{code}{after}</p> }
        })
    }
}

/// Asks `{base}/healthz` whether anything answers; the answer lands in
/// [`Session::answers`] if the session still follows `base`.
fn probe(session: Session, base: String) {
    spawn_local(async move {
        let init = RequestInit::new();
        init.set_mode(RequestMode::NoCors);
        let request = window().fetch_with_str_and_init(&format!("{base}/healthz"), &init);
        let answers = JsFuture::from(request).await.is_ok_and(|r| r.is_instance_of::<web_sys::Response>());
        if session.http_base.try_get_value().is_some_and(|now| now == base) {
            session.answers.try_set(Some(answers));
        }
    });
}
