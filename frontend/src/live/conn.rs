//! The WebSocket link to a broker: connects, decodes frames, reconnects with
//! back-off, and says honestly what state it is in.
//!
//! [`Link::open`] returns a handle; the socket, its callbacks and any pending
//! retry timer live until [`Link::close`] (live mode calls it on unmount).
//! Frames are read and written by [`super::wire`].

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

use leptos::leptos_dom::helpers::{TimeoutHandle, set_timeout_with_handle};
use leptos::prelude::*;
use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{CloseEvent, MessageEvent, WebSocket};

use super::origin::is_own;
use super::session::http_base;
use super::wire::{self, Incoming};

/// First wait before reconnecting; it doubles per failed attempt.
const FIRST_RETRY_MS: u64 = 500;
/// Longest wait between attempts.
const MAX_RETRY_MS: u64 = 10_000;

/// Where the link stands, for the status pill.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LinkState {
    /// Opening the socket (attempt number, from 1).
    Connecting(u32),
    /// Open: frames flow.
    Open,
    /// Closed or failed; the next attempt is in `retry_ms`.
    Retrying {
        /// Why it closed, for a person.
        reason: String,
        /// Milliseconds until the next attempt.
        retry_ms: u64,
    },
    /// The URL cannot be used; no retry until a new one is entered.
    Failed(String),
}

impl LinkState {
    /// The status line's text.
    pub fn text(&self, url: &str) -> String {
        match self {
            LinkState::Connecting(1) => format!("connecting to {url}…"),
            LinkState::Connecting(n) => format!("connecting to {url}… (attempt {n})"),
            LinkState::Open => format!("connected to {url}"),
            LinkState::Retrying { reason, retry_ms } => {
                format!("disconnected: {reason}; retrying in {:.1} s", *retry_ms as f64 / 1000.0)
            }
            LinkState::Failed(reason) => reason.clone(),
        }
    }

    /// A CSS class, so the pill's colour follows its meaning.
    pub fn class(&self) -> &'static str {
        match self {
            LinkState::Connecting(_) => "status loading",
            LinkState::Open => "status ok",
            LinkState::Retrying { .. } | LinkState::Failed(_) => "status error",
        }
    }
}

/// The wait before attempt `attempt + 1` after `attempt` failures.
pub fn backoff_ms(failures: u32) -> u64 {
    FIRST_RETRY_MS.saturating_mul(1 << failures.min(10)).min(MAX_RETRY_MS)
}

type Handlers = (Closure<dyn FnMut(MessageEvent)>, Closure<dyn FnMut(web_sys::Event)>, Closure<dyn FnMut(CloseEvent)>);

struct Inner {
    url: String,
    state: RwSignal<LinkState>,
    socket: RefCell<Option<WebSocket>>,
    handlers: RefCell<Option<Handlers>>,
    timer: Cell<Option<TimeoutHandle>>,
    failures: Cell<u32>,
    /// Whether the socket ever opened (a refusal only shows before).
    ever_opened: Cell<bool>,
    closed: Cell<bool>,
    on_open: Box<dyn Fn(&Link)>,
    on_frame: Box<dyn Fn(Incoming)>,
}

/// A cheap, clonable handle to one broker link.
#[derive(Clone)]
pub struct Link(Rc<Inner>);

impl Link {
    /// Connects to `url`; `on_open` runs after every (re)connect (send the
    /// subscriptions there), `on_frame` for every frame the broker sends.
    pub fn open(
        url: String,
        state: RwSignal<LinkState>,
        on_open: impl Fn(&Link) + 'static,
        on_frame: impl Fn(Incoming) + 'static,
    ) -> Self {
        let link = Link(Rc::new(Inner {
            url,
            state,
            socket: RefCell::new(None),
            handlers: RefCell::new(None),
            timer: Cell::new(None),
            failures: Cell::new(0),
            ever_opened: Cell::new(false),
            closed: Cell::new(false),
            on_open: Box::new(on_open),
            on_frame: Box::new(on_frame),
        }));
        link.connect();
        link
    }

    /// Sends a frame (made by [`super::wire`]); false when the socket is not open.
    pub fn send(&self, text: &str) -> bool {
        let socket = self.0.socket.borrow();
        match socket.as_ref() {
            Some(ws) if ws.ready_state() == WebSocket::OPEN => ws.send_with_str(text).is_ok(),
            _ => false,
        }
    }

    /// Says goodbye, closes the socket and cancels any retry, for good.
    pub fn close(&self) {
        self.0.closed.set(true);
        if let Some(timer) = self.0.timer.take() {
            timer.clear();
        }
        self.send(&wire::bye());
        self.drop_socket();
    }

    fn connect(&self) {
        let attempt = self.0.failures.get() + 1;
        self.0.state.set(LinkState::Connecting(attempt));
        let ws = match WebSocket::new(&self.0.url) {
            Ok(ws) => ws,
            Err(_) => {
                self.0
                    .state
                    .set(LinkState::Failed(format!("{} is not a WebSocket URL (ws://HOST:PORT/ws)", self.0.url)));
                return;
            }
        };
        let (on_message, on_open, on_close) = (self.clone(), self.clone(), self.clone());
        let message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| on_message.message(ev));
        let open = Closure::<dyn FnMut(web_sys::Event)>::new(move |_| on_open.opened());
        let close = Closure::<dyn FnMut(CloseEvent)>::new(move |ev: CloseEvent| on_close.closed(ev));
        ws.set_onmessage(Some(message.as_ref().unchecked_ref()));
        ws.set_onopen(Some(open.as_ref().unchecked_ref()));
        ws.set_onclose(Some(close.as_ref().unchecked_ref()));
        *self.0.socket.borrow_mut() = Some(ws);
        *self.0.handlers.borrow_mut() = Some((message, open, close));
    }

    fn opened(&self) {
        self.0.failures.set(0);
        self.0.ever_opened.set(true);
        self.0.state.set(LinkState::Open);
        (self.0.on_open)(self);
    }

    fn message(&self, ev: MessageEvent) {
        let Some(text) = ev.data().as_string() else { return };
        if let Some(frame) = wire::decode(&text) {
            (self.0.on_frame)(frame);
        }
    }

    fn closed(&self, ev: CloseEvent) {
        if self.0.closed.get() {
            return;
        }
        let reason = match (ev.code(), ev.reason()) {
            // Another broker refuses pages it does not allow with a 403,
            // which the browser reports as 1006, as if nothing listened.
            (1006, _) if !self.0.ever_opened.get() && !is_own(&self.0.url) => {
                format!("{} refused this page's WebSocket, or cannot be reached", http_base(&self.0.url))
            }
            (1006, _) => "the broker cannot be reached".to_string(),
            (code, reason) if reason.is_empty() => format!("closed by the broker (code {code})"),
            (code, reason) => format!("closed by the broker (code {code}: {reason})"),
        };
        let retry_ms = backoff_ms(self.0.failures.get());
        self.0.failures.set(self.0.failures.get() + 1);
        self.0.state.set(LinkState::Retrying { reason, retry_ms });
        let again = self.clone();
        let timer = set_timeout_with_handle(
            move || {
                again.0.timer.set(None);
                if !again.0.closed.get() {
                    again.drop_socket();
                    again.connect();
                }
            },
            Duration::from_millis(retry_ms),
        );
        self.0.timer.set(timer.ok());
    }

    /// Detaches the callbacks (they hold clones of this link) and closes.
    fn drop_socket(&self) {
        if let Some(ws) = self.0.socket.borrow_mut().take() {
            ws.set_onmessage(None);
            ws.set_onopen(None);
            ws.set_onclose(None);
            let _ = ws.close();
        }
        self.0.handlers.borrow_mut().take();
    }
}
