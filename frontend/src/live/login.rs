//! Live mode's login: the form shown instead of the live view while this
//! page's own broker wants a login, and who is logged in, with "Log out".
//!
//! [`Gate`] holds what the broker said ([`Account`]); the live view asks it
//! whether to wait ([`Gate::locked`]). It learns from `GET /api/session` on
//! mount, from the form, from "Log out", and from any request to the
//! page's own broker answered 401 ([`Gate::saw`]): the login ended. The
//! form reads the password from its input when submitted and empties the
//! input at once; no signal ever holds it.

use leptos::prelude::*;
use leptos::task::spawn_local;
use wasm_bindgen::JsCast;

use super::account::{self, Account};
use super::api::Failure;
use super::origin::is_own_base;

/// What the form says when a request found the login gone.
const ENDED: &str = "Your login has ended (it expired, or the broker restarted): log in again.";

/// The page's login on its own broker: a copyable handle.
#[derive(Clone, Copy)]
pub struct Gate {
    /// What the broker said (`None`: still asking).
    pub account: RwSignal<Option<Account>>,
    /// Why the form is shown again, or why the last login failed.
    pub error: RwSignal<Option<String>>,
}

impl Gate {
    /// A gate that knows nothing yet; [`Gate::check`] asks.
    pub fn new() -> Self {
        Self { account: RwSignal::new(None), error: RwSignal::new(None) }
    }

    /// Asks the broker whether it wants a login and who is logged in.
    pub fn check(self) {
        spawn_local(async move {
            let account = account::session().await;
            self.account.try_set(Some(account));
        });
    }

    /// Whether the view of the page's own broker waits: still asking, or
    /// a login is needed.
    pub fn locked(self) -> bool {
        self.account.with(|a| a.as_ref().is_none_or(Account::locked))
    }

    /// Whether the broker has answered.
    pub fn known(self) -> bool {
        self.account.with(Option::is_some)
    }

    /// Who is logged in.
    pub fn user(self) -> Option<String> {
        self.account.with(|a| a.as_ref().and_then(|a| a.user.clone()))
    }

    /// A request to the broker at `base` failed so: a 401 from the page's
    /// own broker means the login is gone, and the form comes back.
    pub fn saw(self, base: &str, failure: &Failure) {
        if *failure == Failure::LoginRequired && is_own_base(base) {
            self.set_user(None, true);
            self.error.try_set(Some(ENDED.to_string()));
        }
    }

    /// Ends the login; the form comes back (or, where no login is
    /// required, the view stays, anonymous).
    pub fn log_out(self) {
        spawn_local(async move {
            if account::log_out().await {
                let required = self.account.with_untracked(|a| a.as_ref().is_none_or(|a| a.required));
                self.set_user(None, required);
            } else {
                // Say what is true: ask again who is logged in.
                self.check();
            }
        });
    }

    fn set_user(self, user: Option<String>, required: bool) {
        self.account.try_set(Some(Account { required, user }));
    }
}

impl Default for Gate {
    fn default() -> Self {
        Self::new()
    }
}

/// Shown while the broker has not said whether it wants a login.
pub fn checking() -> impl IntoView {
    view! { <p class="empty" data-testid="login-checking">"Asking the broker whether it wants a login…"</p> }
}

/// Username, password, "Log in", and an error line; on success the gate
/// opens and the live view takes the form's place.
#[component]
pub fn LoginForm(gate: Gate) -> impl IntoView {
    let pending = RwSignal::new(false);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let Some(form) = ev.target().and_then(|t| t.dyn_into::<web_sys::Element>().ok()) else { return };
        let (Some(user_input), Some(password_input)) = (input(&form, "username"), input(&form, "password")) else {
            return;
        };
        let user = user_input.value().trim().to_string();
        let secret = password_input.value();
        password_input.set_value("");
        pending.set(true);
        spawn_local(async move {
            let result = account::log_in(&user, &secret).await;
            drop(secret);
            pending.try_set(false);
            match result {
                Ok(user) => {
                    gate.error.try_set(None);
                    gate.set_user(Some(user), true);
                }
                Err(why) => {
                    gate.error.try_set(Some(why));
                    let _ = password_input.focus();
                }
            }
        });
    };
    let host = window().location().host().unwrap_or_default();
    view! {
        <section class="panel login" aria-labelledby="login-h">
            <h2 id="login-h">"Log in to " <code>{host}</code></h2>
            <p class="hint">"This broker shows its queues, connections and messages to its users only: \
                log in with a user of its password file (made with hearth passwd)."</p>
            <form class="login-form" data-testid="login-form" on:submit=submit>
                <label>"Username"
                    <input data-testid="login-username" name="username" autocomplete="username" required
                        spellcheck="false" autocapitalize="none" />
                </label>
                <label>"Password"
                    <input type="password" data-testid="login-password" name="password"
                        autocomplete="current-password" required />
                </label>
                <button type="submit" class="primary" data-testid="login-submit" disabled=move || pending.get()>
                    {move || if pending.get() { "Logging in…" } else { "Log in" }}
                </button>
                {move || gate.error.get().map(|error| view! {
                    <p class="status error" role="alert" data-testid="login-error">{error}</p>
                })}
            </form>
        </section>
    }
}

/// The form's input named `name`.
fn input(form: &web_sys::Element, name: &str) -> Option<web_sys::HtmlInputElement> {
    form.query_selector(&format!("input[name={name}]")).ok().flatten()?.dyn_into().ok()
}

/// "Logged in as …" and "Log out", while someone is logged in.
#[component]
pub fn UserBar(gate: Gate) -> impl IntoView {
    move || {
        gate.user().map(|user| {
            view! {
                <div class="live-user">
                    <span data-testid="live-user">"Logged in as " <strong>{user}</strong></span>
                    <button type="button" data-testid="logout" on:click=move |_| gate.log_out()>"Log out"</button>
                </div>
            }
        })
    }
}
