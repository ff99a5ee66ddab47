//! One live session: the link, what it subscribed to, and the state it feeds.
//!
//! [`Session`] is the glue between [`Link`] and [`LiveState`]: after every
//! (re)connect it asks for stats and subscribes to `#` (the topic tree,
//! discovered devices and the `home/…` cards) and to the subscribe panel's
//! filter; it routes each frame into the state and marks it dirty. Views
//! redraw from a version signal bumped at most a few times a second, so
//! thousands of messages a second cost a few redraws. The page keeps one
//! session for its whole life (the app shell makes it), so what it collected
//! survives a visit to the Simulator tab.

use std::collections::BTreeSet;
use std::time::Duration;

use leptos::leptos_dom::helpers::{IntervalHandle, set_interval_with_handle};
use leptos::prelude::*;

use super::conn::{Link, LinkState};
use super::state::LiveState;
use super::wire::{self, Incoming, Peeked};

/// What the page's own monitor subscription follows: everything, for the
/// topic tree and the device cards.
pub const MONITOR_FILTER: &str = "#";
/// How often views may redraw while frames arrive.
const REDRAW: Duration = Duration::from_millis(250);
/// How many messages a peek asks for.
pub const PEEK: u32 = 10;
/// How often the broker sends stats.
const STATS_MS: u64 = 1000;

/// What a request was for, to route its reply.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Purpose {
    Devices,
    Panel,
    Publish,
    Command,
    Peek,
    Purge,
    Delete,
}

#[derive(Default)]
struct Book {
    next_id: u64,
    /// Requests awaiting their answer, by id (a few at a time).
    pending: Vec<(u64, Purpose)>,
    devices: Option<u64>,
    panel: Option<u64>,
    /// What each publish, purge or delete awaiting its answer was about
    /// (a topic, a queue).
    about: Vec<(u64, String)>,
    /// The URL the link was opened to.
    url: Option<String>,
    dirty: bool,
}

impl Book {
    /// Removes and returns what request `id` was about, if it was about something.
    fn about(&mut self, id: u64) -> Option<String> {
        let at = self.about.iter().position(|(p, _)| *p == id)?;
        Some(self.about.swap_remove(at).1)
    }

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
    /// The last command from a device card: what was sent, or why not.
    pub command_feedback: RwSignal<Option<Result<String, String>>>,
    /// The last peek's answer: the queue, its ready count, its first messages.
    pub peeked: RwSignal<Option<(String, u64, Vec<Peeked>)>>,
    /// The last purge's or delete's outcome.
    pub queue_feedback: RwSignal<Option<Result<String, String>>>,
    /// The broker's HTTP base (`http://HOST`), derived from the WebSocket URL.
    pub http_base: StoredValue<String, LocalStorage>,
    /// Whether the link opened since the last [`Session::connect`].
    pub reached: RwSignal<bool>,
    /// Whether the broker answers HTTP, once asked (see [`super::origin`]).
    pub answers: RwSignal<Option<bool>>,
    /// The topic tree's open branches (kept across tab switches).
    pub open_topics: RwSignal<BTreeSet<String>>,
    /// The topic whose details the tree shows.
    pub selected_topic: RwSignal<Option<String>>,
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
            command_feedback: RwSignal::new(None),
            peeked: RwSignal::new(None),
            queue_feedback: RwSignal::new(None),
            http_base: StoredValue::new_local(String::new()),
            reached: RwSignal::new(false),
            answers: RwSignal::new(None),
            open_topics: RwSignal::new(BTreeSet::new()),
            selected_topic: RwSignal::new(None),
            book: StoredValue::new_local(Book::default()),
            link: StoredValue::new_local(None),
            redraw: StoredValue::new_local(None),
        }
    }

    /// Connects to `url` unless already linked to it (what was collected stays).
    pub fn ensure(&self, url: String) {
        let linked = self.link.with_value(Option::is_some);
        if !linked || self.book.with_value(|b| b.url.as_deref() != Some(url.as_str())) {
            self.connect(url);
        }
    }

    /// (Re)connects to `url`, forgetting what the last broker said.
    pub fn connect(&self, url: String) {
        self.disconnect();
        self.state.set_value(LiveState::default());
        self.book.set_value(Book { url: Some(url.clone()), ..Book::default() });
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
        self.book.update_value(|b| b.about.push((id, topic.clone())));
        if !self.send(&wire::publish(Some(id), &topic, &payload, retain)) {
            self.feedback.set(Some(Err("not connected: the message was not sent".to_string())));
        }
    }

    /// Sends a device card's command (not retained, as Home Assistant sends them).
    pub fn command(&self, topic: &str, payload: &str) {
        let id = self.request(Purpose::Command);
        let said = if self.send(&wire::publish(Some(id), topic, payload, false)) {
            Ok(format!("sent {payload} to {topic}"))
        } else {
            Err("not connected: the command was not sent".to_string())
        };
        self.command_feedback.set(Some(said));
    }

    /// Peeks at a queue's first [`PEEK`] ready messages; the answer lands in [`Session::peeked`].
    pub fn peek(&self, queue: &str) {
        let id = self.request(Purpose::Peek);
        if !self.send(&wire::peek(id, queue, PEEK)) {
            self.queue_feedback.set(Some(Err("not connected".to_string())));
        }
    }

    /// Purges a queue's ready messages (the page asked for a confirmation first).
    pub fn purge(&self, queue: &str) {
        self.queue_request(Purpose::Purge, queue, wire::purge);
    }

    /// Deletes a queue (the page asked for a confirmation first).
    pub fn delete(&self, queue: &str) {
        self.queue_request(Purpose::Delete, queue, wire::delete);
    }

    fn queue_request(&self, purpose: Purpose, queue: &str, frame: fn(u64, &str) -> String) {
        let id = self.request(purpose);
        self.book.update_value(|b| b.about.push((id, queue.to_string())));
        if !self.send(&frame(id, queue)) {
            self.queue_feedback.set(Some(Err("not connected".to_string())));
        }
    }

    /// Forgets a dismissed card while its device stays offline.
    pub fn dismiss(&self, key: String) {
        self.state.update_value(|s| {
            s.dismissed.insert(key);
        });
        self.version.update(|v| *v += 1);
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
            book.about.clear();
            book.devices = None;
            book.panel = None;
        });
        self.state.update_value(|s| s.own_queues.clear());
        link.send(&wire::hello("hearth-dashboard", None));
        link.send(&wire::watch(self.next_id(), STATS_MS));
        let id = self.request(Purpose::Devices);
        link.send(&wire::subscribe(id, MONITOR_FILTER));
        self.subscribe_panel_on(link);
    }

    fn on_frame(&self, frame: Incoming) {
        match frame {
            Incoming::Stats(stats) => self.state.update_value(|s| s.apply_stats(&stats)),
            Incoming::Subscribed { id, consumer, queue } => {
                let purpose = self.book.try_update_value(|book| {
                    let purpose = book.take(id);
                    match purpose {
                        Some(Purpose::Devices) => book.devices = Some(consumer),
                        Some(Purpose::Panel) => book.panel = Some(consumer),
                        _ => {}
                    }
                    purpose
                });
                if matches!(purpose, Some(Some(Purpose::Devices | Purpose::Panel))) {
                    self.state.update_value(|s| s.own_queues.push(queue));
                }
            }
            Incoming::Peeked { id, queue, ready, messages } => {
                self.book.update_value(|b| {
                    b.take(id);
                });
                self.peeked.set(Some((queue, ready, messages)));
            }
            Incoming::Purged { id, messages } => {
                let queue = self.book.try_update_value(|b| b.take(id).and(b.about(id))).flatten();
                let text = format!("purged {messages} ready messages from {}", queue.unwrap_or_default());
                self.queue_feedback.set(Some(Ok(text)));
            }
            Incoming::Done { id } => {
                let done = self.book.try_update_value(|b| (b.take(id), b.about(id)));
                if let Some((Some(Purpose::Delete), Some(queue))) = done {
                    if self.peeked.with_untracked(|p| p.as_ref().is_some_and(|(q, _, _)| *q == queue)) {
                        self.peeked.set(None);
                    }
                    self.queue_feedback.set(Some(Ok(format!("deleted {queue}"))));
                }
            }
            Incoming::Deliver(delivery) => {
                let (devices, panel) = self.book.with_value(|b| (b.devices, b.panel));
                self.state.update_value(|state| {
                    if devices == Some(delivery.consumer) {
                        state.apply_monitor(&delivery, js_sys::Date::now());
                    }
                    if panel == Some(delivery.consumer) {
                        state.apply_message(&delivery);
                    }
                });
            }
            Incoming::Confirm { id, routed } => {
                let (purpose, own) = self
                    .book
                    .try_update_value(|b| {
                        let own = b.about(id).map_or(0, |t| self.own_queues(b, &t));
                        (b.take(id), own)
                    })
                    .unwrap_or((None, 0));
                if purpose == Some(Purpose::Publish) {
                    self.feedback.set(Some(Ok(routed_text(routed.saturating_sub(own)))));
                }
            }
            Incoming::Error { id, message } => {
                let purpose = id.and_then(|id| self.book.try_update_value(|b| b.take(id)).flatten());
                match purpose {
                    Some(Purpose::Publish | Purpose::Panel) => self.feedback.set(Some(Err(message))),
                    Some(Purpose::Command) => self.command_feedback.set(Some(Err(message))),
                    Some(Purpose::Peek | Purpose::Purge | Purpose::Delete) => {
                        self.queue_feedback.set(Some(Err(message)));
                    }
                    _ => {}
                }
            }
        }
        self.book.update_value(|b| b.dirty = true);
    }

    /// How many of this page's own subscriptions a publish on `topic` reached.
    fn own_queues(&self, book: &Book, topic: &str) -> u64 {
        let panel = book.panel.is_some() && self.filter.with_untracked(|f| queue_core::topic::matches(f, topic));
        u64::from(book.devices.is_some()) + u64::from(panel)
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

/// What the publish form says after a confirm, counting other clients'
/// queues only (the page's own subscriptions are left out).
pub fn routed_text(routed: u64) -> String {
    match routed {
        0 => "published; no other subscriber's queue took it".to_string(),
        1 => "published, routed to 1 queue (not counting this page's own)".to_string(),
        n => format!("published, routed to {n} queues (not counting this page's own)"),
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
