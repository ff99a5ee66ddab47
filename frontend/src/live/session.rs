//! One live session: the link, what it subscribed to, and the state it feeds.
//!
//! [`Session`] is the glue between [`Link`] and [`LiveState`]: after every
//! (re)connect it asks for stats and subscribes to `home/#` (device cards)
//! and to the subscribe panel's filter; it routes each frame into the state
//! and marks it dirty. Views redraw from a version signal bumped at most a
//! few times a second, so thousands of messages a second cost a few redraws.

use std::time::Duration;

use leptos::leptos_dom::helpers::{IntervalHandle, set_interval_with_handle};
use leptos::prelude::*;

use super::conn::{Link, LinkState};
use super::state::LiveState;
use super::wire::{self, Incoming};

/// The topics device cards are built from.
pub const DEVICE_FILTER: &str = "home/#";
/// How often views may redraw while frames arrive.
const REDRAW: Duration = Duration::from_millis(250);
/// How often the broker sends stats.
const STATS_MS: u64 = 1000;

/// What a request was for, to route its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Devices,
    Panel,
    Publish,
}

#[derive(Default)]
struct Book {
    next_id: u64,
    /// Requests awaiting their answer, by id (a few at a time).
    pending: Vec<(u64, Purpose)>,
    devices: Option<u64>,
    panel: Option<u64>,
    dirty: bool,
}

impl Book {
    /// Removes and returns what request `id` was for, if still pending.
    fn take(&mut self, id: u64) -> Option<Purpose> {
        let at = self.pending.iter().position(|&(p, _)| p == id)?;
        Some(self.pending.swap_remove(at).1)
    }
}

/// The page's live session: a copyable handle (its parts live in the
/// reactive owner's local storage, so closures may hold it).
#[derive(Clone, Copy)]
pub struct Session {
    /// What the views show.
    pub state: StoredValue<LiveState, LocalStorage>,
    /// Bumped when `state` changed (at most every [`REDRAW`]).
    pub version: RwSignal<u64>,
    /// The link's state, for the status pill.
    pub link_state: RwSignal<LinkState>,
    /// The filter the subscribe panel follows.
    pub filter: RwSignal<String>,
    /// The last publish's outcome, for the form.
    pub feedback: RwSignal<Option<Result<String, String>>>,
    /// The broker's HTTP base (`http://HOST`), derived from the WebSocket URL.
    pub http_base: StoredValue<String, LocalStorage>,
    /// Whether the link opened since the last [`Session::connect`].
    pub reached: RwSignal<bool>,
    /// Whether the broker answers HTTP, once asked (see [`super::origin`]).
    pub answers: RwSignal<Option<bool>>,
    book: StoredValue<Book, LocalStorage>,
    link: StoredValue<Option<Link>, LocalStorage>,
    redraw: StoredValue<Option<IntervalHandle>, LocalStorage>,
}

impl Session {
    /// A session, not yet connected.
    pub fn new(filter: &str) -> Self {
        Self {
            state: StoredValue::new_local(LiveState::default()),
            version: RwSignal::new(0),
            link_state: RwSignal::new(LinkState::Connecting(1)),
            filter: RwSignal::new(filter.to_string()),
            feedback: RwSignal::new(None),
            http_base: StoredValue::new_local(String::new()),
            reached: RwSignal::new(false),
            answers: RwSignal::new(None),
            book: StoredValue::new_local(Book::default()),
            link: StoredValue::new_local(None),
            redraw: StoredValue::new_local(None),
        }
    }

    /// (Re)connects to `url`, forgetting what the last broker said.
    pub fn connect(&self, url: String) {
        self.disconnect();
        self.state.set_value(LiveState::default());
        self.book.set_value(Book::default());
        self.http_base.set_value(http_base(&url));
        self.reached.set(false);
        self.answers.set(None);
        self.version.update(|v| *v += 1);
        let this = *self;
        let link = Link::open(url, self.link_state, move |link| this.on_open(link), move |frame| this.on_frame(frame));
        self.link.set_value(Some(link));
        self.redraw.set_value(set_interval_with_handle(move || this.flush(), REDRAW).ok());
    }

    /// Closes the link and stops redrawing.
    pub fn disconnect(&self) {
        if let Some(link) = self.link.try_update_value(Option::take).flatten() {
            link.close();
        }
        if let Some(timer) = self.redraw.try_update_value(Option::take).flatten() {
            timer.clear();
        }
    }

    /// Publishes from the form; the outcome lands in [`Session::feedback`].
    pub fn publish(&self, topic: String, payload: String, retain: bool) {
        let id = self.request(Purpose::Publish);
        if !self.send(&wire::publish(Some(id), &topic, &payload, retain)) {
            self.feedback.set(Some(Err("not connected: the message was not sent".to_string())));
        }
    }

    /// Follows `filter` in the subscribe panel instead (history restarts).
    pub fn follow(&self, filter: String) {
        self.filter.set(filter);
        let old = self.book.try_update_value(|b| b.panel.take()).flatten();
        if let Some(consumer) = old {
            let id = self.next_id();
            self.send(&wire::unsubscribe(id, consumer));
        }
        self.state.update_value(|state| {
            state.messages.clear();
            state.received = 0;
        });
        self.subscribe_panel();
        self.version.update(|v| *v += 1);
    }

    fn on_open(&self, link: &Link) {
        self.reached.set(true);
        self.state.update_value(LiveState::reset_rates);
        self.book.update_value(|book| {
            book.pending.clear();
            book.devices = None;
            book.panel = None;
        });
        link.send(&wire::hello("hearth-dashboard", None));
        link.send(&wire::watch(self.next_id(), STATS_MS));
        let id = self.request(Purpose::Devices);
        link.send(&wire::subscribe(id, DEVICE_FILTER));
        self.subscribe_panel_on(link);
    }

    fn on_frame(&self, frame: Incoming) {
        match frame {
            Incoming::Stats(stats) => self.state.update_value(|s| s.apply_stats(&stats)),
            Incoming::Subscribed { id, consumer } => self.book.update_value(|book| match book.take(id) {
                Some(Purpose::Devices) => book.devices = Some(consumer),
                Some(Purpose::Panel) => book.panel = Some(consumer),
                _ => {}
            }),
            Incoming::Deliver(delivery) => {
                let (devices, panel) = self.book.with_value(|b| (b.devices, b.panel));
                self.state.update_value(|state| {
                    if devices == Some(delivery.consumer) {
                        state.apply_device(&delivery);
                    }
                    if panel == Some(delivery.consumer) {
                        state.apply_message(&delivery);
                    }
                });
            }
            Incoming::Confirm { id, routed } => {
                self.book.update_value(|b| {
                    b.take(id);
                });
                let text = match routed {
                    0 => "published; no queue took it (no subscriber matched)".to_string(),
                    1 => "published, routed to 1 queue".to_string(),
                    n => format!("published, routed to {n} queues"),
                };
                self.feedback.set(Some(Ok(text)));
            }
            Incoming::Error { id, message } => {
                let purpose = id.and_then(|id| self.book.try_update_value(|b| b.take(id)).flatten());
                if purpose == Some(Purpose::Publish) || purpose == Some(Purpose::Panel) {
                    self.feedback.set(Some(Err(message)));
                }
            }
        }
        self.book.update_value(|b| b.dirty = true);
    }

    fn flush(&self) {
        if self.book.try_update_value(|b| std::mem::take(&mut b.dirty)) == Some(true) {
            self.version.update(|v| *v += 1);
        }
    }

    fn subscribe_panel(&self) {
        if let Some(link) = self.link.with_value(Option::clone) {
            self.subscribe_panel_on(&link);
        }
    }

    fn subscribe_panel_on(&self, link: &Link) {
        let filter = self.filter.get_untracked();
        if filter.is_empty() {
            return;
        }
        let id = self.request(Purpose::Panel);
        link.send(&wire::subscribe(id, &filter));
    }

    fn send(&self, frame: &str) -> bool {
        self.link.with_value(Option::clone).is_some_and(|link| link.send(frame))
    }

    fn next_id(&self) -> u64 {
        self.book
            .try_update_value(|book| {
                book.next_id += 1;
                book.next_id
            })
            .unwrap_or_default()
    }

    fn request(&self, purpose: Purpose) -> u64 {
        let id = self.next_id();
        self.book.update_value(|b| {
            b.pending.push((id, purpose));
        });
        id
    }
}

/// `ws://HOST/ws` → `http://HOST` (and `wss` → `https`), for the admin API.
pub fn http_base(ws_url: &str) -> String {
    let (scheme, rest) = match ws_url.split_once("://") {
        Some(("wss", rest)) => ("https", rest),
        Some((_, rest)) => ("http", rest),
        None => ("http", ws_url),
    };
    let host = rest.split('/').next().unwrap_or_default();
    format!("{scheme}://{host}")
}
