//! The app shell: header with the name, the mode tabs and the theme toggle.

use leptos::prelude::*;

use crate::handle::SimHandle;
use crate::live::{Live, LiveKeep};
use crate::simulator::Simulator;

/// Where the theme choice is remembered.
const THEME_KEY: &str = "hearth-theme";

/// The two modes.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Simulator,
    Live,
}

/// The dashboard: opens on a running simulated home.
#[component]
pub fn App() -> impl IntoView {
    let sim = SimHandle::from_location();
    let mode = RwSignal::new(Mode::Simulator);
    // Made once: the live session and its simulated devices outlive a tab switch.
    let keep = LiveKeep::new();
    let tab = move |which: Mode, label: &'static str, id: &'static str| {
        view! {
            <button role="tab" class="tab" data-testid=id aria-selected=move || (mode.get() == which).to_string()
                on:click=move |_| mode.set(which)>{label}</button>
        }
    };
    view! {
        <div class="app">
            <header class="topbar">
                <div class="brand">
                    <svg viewBox="0 0 24 24" class="logo" aria-hidden="true"><path d="M3 11l9-7 9 7v9a1 1 0 0 1-1 1h-5v-6h-6v6H4a1 1 0 0 1-1-1z" /></svg>
                    <h1>"Hearth"</h1>
                    <span class="tagline">"message queues for the smart home"</span>
                </div>
                <nav role="tablist" class="tabs" aria-label="Mode">
                    {tab(Mode::Simulator, "Simulator", "tab-simulator")}
                    {tab(Mode::Live, "Live", "tab-live")}
                </nav>
                <ThemeToggle />
            </header>
            <main class="hearth">
                {move || match mode.get() {
                    Mode::Simulator => view! { <Simulator sim=sim /> }.into_any(),
                    Mode::Live => view! { <Live keep=keep /> }.into_any(),
                }}
            </main>
        </div>
    }
}

/// Light / dark: starts from the remembered choice, else the system's.
#[component]
fn ThemeToggle() -> impl IntoView {
    let dark = RwSignal::new(initial_dark());
    Effect::new(move |_| {
        let theme = if dark.get() { "dark" } else { "light" };
        if let Some(root) = document().document_element() {
            let _ = root.set_attribute("data-theme", theme);
        }
    });
    let toggle = move |_| {
        dark.update(|d| *d = !*d);
        if let Ok(Some(store)) = window().local_storage() {
            let _ = store.set_item(THEME_KEY, if dark.get_untracked() { "dark" } else { "light" });
        }
    };
    view! {
        <button class="theme" on:click=toggle data-testid="theme" aria-pressed=move || dark.get().to_string()
            aria-label="Dark theme">
            {move || if dark.get() { "☾ Dark" } else { "☀ Light" }}
        </button>
    }
}

fn initial_dark() -> bool {
    let stored = window().local_storage().ok().flatten().and_then(|s| s.get_item(THEME_KEY).ok().flatten());
    match stored.as_deref() {
        Some("dark") => true,
        Some("light") => false,
        _ => window().match_media("(prefers-color-scheme: dark)").ok().flatten().is_some_and(|m| m.matches()),
    }
}
