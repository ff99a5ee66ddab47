//! Delayed wills (MQTT 5's will delay interval, and `delay_ms` of a native
//! will): a lost connection's will waits, by client id, until its delay runs
//! out; a `hello` with that client id, from the same user, cancels it.
//!
//! A will waiting is kept by a durable store ([`StoreOp::KeepWill`]) and
//! taken back at a restart ([`Recovered::wills`](super::Recovered::wills)),
//! so a broker that restarts within the delay still publishes it.

use super::{ConnId, Engine};
use crate::event::{Event, StoreOp};
use crate::limits::MAX_DELAYED_WILLS;
use crate::protocol::Will;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

/// A will waiting for its delay to run out.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Delayed {
    pub will: Arc<Will>,
    pub due: u64,
    pub user: Option<Arc<str>>,
    /// The connection it was given on (for its `WillPublished` event; 0
    /// for one taken back at a restart).
    pub conn: ConnId,
}

/// The delayed wills by client id, and their deadlines in order.
#[derive(Debug, Default)]
pub(crate) struct DelayedWills {
    by_client: BTreeMap<Arc<str>, Delayed>,
    /// (due, client id); an entry whose will was cancelled or replaced is
    /// stale and skipped.
    timers: BTreeSet<(u64, Arc<str>)>,
}

impl DelayedWills {
    pub fn len(&self) -> usize {
        self.by_client.len()
    }

    pub fn next_due(&self) -> Option<u64> {
        self.timers.first().map(|(at, _)| *at)
    }

    pub fn insert(&mut self, client_id: Arc<str>, delayed: Delayed) {
        self.timers.insert((delayed.due, client_id.clone()));
        self.by_client.insert(client_id, delayed);
    }

    /// Takes the will of `client_id` if `user` gave it.
    pub fn cancel(&mut self, client_id: &str, user: Option<&str>) -> Option<Delayed> {
        if self.by_client.get(client_id)?.user.as_deref() != user {
            return None;
        }
        self.by_client.remove(client_id)
    }

    /// Takes the next will due at or before `now`.
    pub fn pop_due(&mut self, now: u64) -> Option<(Arc<str>, Delayed)> {
        while let Some((at, _)) = self.timers.first() {
            if *at > now {
                return None;
            }
            let (at, client_id) = self.timers.pop_first()?;
            if self.by_client.get(&client_id).is_some_and(|d| d.due == at) {
                let delayed = self.by_client.remove(&client_id)?;
                return Some((client_id, delayed));
            }
        }
        None
    }

    pub fn iter(&self) -> impl Iterator<Item = (&Arc<str>, &Delayed)> {
        self.by_client.iter()
    }
}

impl Engine {
    /// Holds `will` of the lost connection `conn` for its delay, unless its
    /// client id is connected again already (a session taken over: its
    /// will waits no more) or too many wait (then it is published now).
    pub(super) fn delay_will(&mut self, conn: ConnId, client_id: &str, user: Option<Arc<str>>, will: Will, now: u64) {
        let back = self.conns.values().any(|c| c.said_hello && c.client_id == client_id && c.user == user);
        if back {
            return;
        }
        let replaces = self.delayed_wills.by_client.contains_key(client_id);
        if !replaces && self.delayed_wills.len() >= MAX_DELAYED_WILLS {
            let topic = will.topic.clone();
            self.publish_will(will, now);
            self.emit(|| Event::WillPublished { conn, topic: topic.into() });
            return;
        }
        let client_id: Arc<str> = client_id.into();
        let will = Arc::new(will);
        let due = now.saturating_add(will.delay_ms);
        self.store(StoreOp::KeepWill { client_id: client_id.clone(), will: will.clone(), due, user: user.clone() });
        self.delayed_wills.insert(client_id, Delayed { will, due, user, conn });
    }

    /// A client said hello again: its will that was waiting is not published.
    pub(super) fn cancel_will(&mut self, client_id: &str, user: Option<&str>) {
        if self.delayed_wills.cancel(client_id, user).is_some() {
            self.store(StoreOp::ForgetWill { client_id: client_id.into() });
        }
    }

    /// Publishes the delayed wills due at `now`.
    pub(super) fn publish_due_wills(&mut self, now: u64) {
        while let Some((client_id, delayed)) = self.delayed_wills.pop_due(now) {
            self.store(StoreOp::ForgetWill { client_id });
            let will = Arc::unwrap_or_clone(delayed.will);
            let topic = will.topic.clone();
            self.publish_will(will, now);
            self.emit(|| Event::WillPublished { conn: delayed.conn, topic: topic.into() });
        }
    }

    /// The wills waiting for their delay: (client id, topic, due), by client id.
    pub fn delayed_wills(&self) -> impl Iterator<Item = (&str, &str, u64)> {
        self.delayed_wills.iter().map(|(id, d)| (&**id, d.will.topic.as_str(), d.due))
    }
}
