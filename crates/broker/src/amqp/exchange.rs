//! AMQP exchanges on the engine's topics.
//!
//! The engine routes by topic and topic filter; an exchange is a part of
//! that topic space, and a binding is a filter in it:
//!
//! * `amq.topic` **is** the topic space MQTT and WebSocket clients share, as
//!   in RabbitMQ's MQTT plugin: a routing key's words are a topic's levels,
//!   with `.` and `/` swapped (`home.hall.light` ↔ `home/hall/light`), and a
//!   binding key's `*` and `#` are MQTT's `+` and `#`;
//! * every other exchange lives under `$amq/`, which MQTT wildcards at the
//!   first level do not match: a direct exchange `orders` routes key `k` to
//!   `$amq/d/orders/k` (the key escaped into one level) and binds exactly
//!   that; a fanout exchange routes to `$amq/f/orders/k` and binds
//!   `$amq/f/orders/+`; a topic exchange routes to `$amq/t/orders/<levels>`
//!   and binds its pattern there;
//! * the default exchange (`""`) publishes straight to the queue named by
//!   the routing key, as the engine's `publish` to a queue does.
//!
//! Exchanges themselves (name, kind, flags, and which bindings were made
//! through them) are kept here, shared by every AMQP connection; the
//! bindings are the engine's. A durable exchange is also kept in the
//! store, under `amqp/exchange/<name>`, with its bindings to durable
//! queues, so that it is there again after a restart.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Mutex, PoisonError};
use store::{Change, StoreWriter};

/// The exchange every topic publish goes through.
pub const TOPIC: &str = "amq.topic";

/// Most exchanges one broker holds (a client declaring names in a loop).
pub const MAX_EXCHANGES: usize = 1024;

/// Where the non-`amq.topic` exchanges live in the topic space.
const PREFIX: &str = "$amq/";

/// Where durable exchanges are kept in the store.
const STORE_PREFIX: &str = "amqp/exchange/";

/// The kinds of exchange Hearth routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Routing key equals binding key.
    Direct,
    /// Every bound queue.
    Fanout,
    /// Binding keys are patterns (`*` one word, `#` any number).
    Topic,
}

impl Kind {
    /// The kind named `name` in `exchange.declare` (`None`: not one Hearth has).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "direct" => Some(Self::Direct),
            "fanout" => Some(Self::Fanout),
            "topic" => Some(Self::Topic),
            _ => None,
        }
    }

    /// Its name in AMQP.
    pub fn name(self) -> &'static str {
        match self {
            Self::Direct => "direct",
            Self::Fanout => "fanout",
            Self::Topic => "topic",
        }
    }

    fn letter(self) -> char {
        match self {
            Self::Direct => 'd',
            Self::Fanout => 'f',
            Self::Topic => 't',
        }
    }
}

/// One exchange.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exchange {
    /// Its kind.
    pub kind: Kind,
    /// Kept in the store, with its bindings to durable queues.
    pub durable: bool,
    /// Deleted when its last binding goes.
    pub auto_delete: bool,
    /// Bindings made through it: (queue, engine filter).
    pub bindings: BTreeSet<(String, String)>,
}

impl Exchange {
    fn builtin(kind: Kind) -> Self {
        Self { kind, durable: true, auto_delete: false, bindings: BTreeSet::new() }
    }
}

/// Why a binding key cannot be a filter.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyError {
    /// A `#` before the last word: the topic trie matches `#` only at the end.
    #[error("binding key `{0}`: Hearth matches `#` only as the last word (as MQTT does)")]
    InnerHash(String),
    /// `+` or `#` inside a word: not expressible as a topic level.
    #[error("binding key `{0}`: a word may not contain `+` or `#` (they are MQTT wildcards here)")]
    Wildcard(String),
}

/// The exchanges of one broker.
#[derive(Debug)]
pub struct Exchanges {
    map: Mutex<HashMap<String, Exchange>>,
    store: StoreWriter,
}

impl Default for Exchanges {
    fn default() -> Self {
        Self::new(StoreWriter::none(), &BTreeMap::new(), &BTreeSet::new())
    }
}

/// What `declare` found.
#[derive(Debug, PartialEq, Eq)]
pub enum Declared {
    /// Created, or there with the same kind.
    Ok,
    /// There with another kind.
    OtherKind(Kind),
    /// [`MAX_EXCHANGES`] reached.
    Full,
}

impl Exchanges {
    /// The built-in exchanges, and the durable ones `kv` (the store's
    /// values) kept; of their bindings, those still in `bound` (the
    /// recovered durable queues' (queue, filter) pairs) stay. Durable
    /// changes from now on go to `store`.
    pub fn new(store: StoreWriter, kv: &BTreeMap<String, Vec<u8>>, bound: &BTreeSet<(String, String)>) -> Self {
        let builtins =
            [("", Kind::Direct), ("amq.direct", Kind::Direct), ("amq.fanout", Kind::Fanout), (TOPIC, Kind::Topic)];
        let mut map: HashMap<String, Exchange> =
            builtins.into_iter().map(|(name, kind)| (name.to_owned(), Exchange::builtin(kind))).collect();
        let kept = kv.range(STORE_PREFIX.to_owned()..).take_while(|(k, _)| k.starts_with(STORE_PREFIX));
        for (key, value) in kept {
            let name = &key[STORE_PREFIX.len()..];
            match serde_json::from_slice::<Exchange>(value) {
                Ok(mut exchange) if map.len() < MAX_EXCHANGES => {
                    exchange.bindings.retain(|b| bound.contains(b));
                    map.entry(name.to_owned()).or_insert(exchange);
                }
                Ok(_) => tracing::warn!(name, "store: more durable exchanges than a broker holds; one skipped"),
                Err(err) => tracing::warn!(name, %err, "store: a durable exchange that does not read; skipped"),
            }
        }
        Self { map: Mutex::new(map), store }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Exchange>> {
        self.map.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Keeps `name`'s current state in the store if it is durable (gone:
    /// forgets it).
    fn keep(&self, name: &str, exchange: Option<&Exchange>) {
        if !self.store.is_some() || name.is_empty() || name.starts_with("amq.") {
            return;
        }
        let key = format!("{STORE_PREFIX}{name}");
        let change = match exchange.filter(|e| e.durable) {
            Some(e) => Change::Put(key, serde_json::to_vec(e).unwrap_or_default()),
            None => Change::Delete(key),
        };
        self.store.write(vec![change]);
    }

    /// The kind of `name`, if it exists.
    pub fn kind(&self, name: &str) -> Option<Kind> {
        self.lock().get(name).map(|e| e.kind)
    }

    /// Creates `name` or checks that it has `kind`.
    pub fn declare(&self, name: &str, kind: Kind, durable: bool, auto_delete: bool) -> Declared {
        let mut map = self.lock();
        match map.get(name) {
            Some(e) if e.kind == kind => Declared::Ok,
            Some(e) => Declared::OtherKind(e.kind),
            None if map.len() >= MAX_EXCHANGES => Declared::Full,
            None => {
                let exchange = Exchange { kind, durable, auto_delete, bindings: BTreeSet::new() };
                if durable {
                    self.keep(name, Some(&exchange));
                }
                map.insert(name.to_owned(), exchange);
                Declared::Ok
            }
        }
    }

    /// Removes `name`; returns its bindings (to undo in the engine), or
    /// `Err(true)` if `if_unused` and it has some, `Err(false)` if absent.
    pub fn delete(&self, name: &str, if_unused: bool) -> Result<BTreeSet<(String, String)>, bool> {
        let mut map = self.lock();
        match map.get(name) {
            None => Err(false),
            Some(e) if if_unused && !e.bindings.is_empty() => Err(true),
            Some(_) => {
                let gone = map.remove(name);
                if gone.as_ref().is_some_and(|e| e.durable) {
                    self.keep(name, None);
                }
                Ok(gone.map(|e| e.bindings).unwrap_or_default())
            }
        }
    }

    /// Records a binding made through `exchange` (kept with a durable
    /// exchange; after a restart, only those of durable queues are back).
    pub fn bound(&self, exchange: &str, queue: &str, filter: &str) {
        let mut map = self.lock();
        if let Some(e) = map.get_mut(exchange)
            && e.bindings.insert((queue.to_owned(), filter.to_owned()))
            && e.durable
        {
            let kept = e.clone();
            self.keep(exchange, Some(&kept));
        }
    }

    /// Forgets a binding; an auto-delete exchange left without any goes.
    pub fn unbound(&self, exchange: &str, queue: &str, filter: &str) {
        let mut map = self.lock();
        let Some(e) = map.get_mut(exchange) else { return };
        let removed = e.bindings.remove(&(queue.to_owned(), filter.to_owned()));
        if e.auto_delete && e.bindings.is_empty() {
            if map.remove(exchange).is_some_and(|e| e.durable) {
                self.keep(exchange, None);
            }
        } else if removed && e.durable {
            let kept = e.clone();
            self.keep(exchange, Some(&kept));
        }
    }

    /// Forgets every binding of a queue that is gone.
    pub fn queue_gone(&self, queue: &str) {
        let mut map = self.lock();
        let mut changed = Vec::new();
        for (name, e) in map.iter_mut() {
            let before = e.bindings.len();
            e.bindings.retain(|(q, _)| q != queue);
            if e.bindings.len() != before && e.durable {
                changed.push(name.clone());
            }
        }
        let gone: Vec<String> =
            map.iter().filter(|(_, e)| e.auto_delete && e.bindings.is_empty()).map(|(n, _)| n.clone()).collect();
        for name in &gone {
            map.remove(name);
        }
        for name in changed {
            let kept = map.get(&name).cloned();
            self.keep(&name, kept.as_ref());
        }
    }

    /// How many exchanges there are.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether there are none (never: the built-in ones stay).
    pub fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

/// Where a publish to `exchange` (of `kind`) with `key` goes: the topic
/// to route it by. `None` for the default exchange (straight to the queue).
pub fn topic_for(exchange: &str, kind: Kind, key: &str) -> Option<String> {
    if exchange.is_empty() {
        return None;
    }
    if exchange == TOPIC {
        return Some(swap(key));
    }
    let mut topic = format!("{PREFIX}{}/{}/", kind.letter(), escape(exchange));
    match kind {
        Kind::Direct | Kind::Fanout => topic.push_str(&escape(key)),
        Kind::Topic => topic.push_str(&swap(key)),
    }
    Some(topic)
}

/// The engine filter a `queue.bind` to `exchange` with `key` makes.
pub fn filter_for(exchange: &str, kind: Kind, key: &str) -> Result<String, KeyError> {
    let pattern = || -> Result<String, KeyError> {
        let words: Vec<&str> = key.split('.').collect();
        let mut levels = Vec::with_capacity(words.len());
        for (i, word) in words.iter().enumerate() {
            levels.push(match *word {
                "*" => "+".to_owned(),
                "#" if i + 1 == words.len() => "#".to_owned(),
                "#" => return Err(KeyError::InnerHash(key.to_owned())),
                w if w.contains(['+', '#']) => return Err(KeyError::Wildcard(key.to_owned())),
                w => w.replace('/', "."),
            });
        }
        Ok(levels.join("/"))
    };
    if exchange == TOPIC {
        return pattern();
    }
    let base = format!("{PREFIX}{}/{}/", kind.letter(), escape(exchange));
    Ok(match kind {
        Kind::Direct => base + &escape(key),
        Kind::Fanout => base + "+",
        Kind::Topic => base + &pattern()?,
    })
}

/// The exchange and routing key a delivered message reports, from its
/// topic and the queue it came from (a publish straight to a queue has the
/// queue's name as its topic: the default exchange).
pub fn from_topic(topic: &str, queue: &str) -> (String, String) {
    if let Some(rest) = topic.strip_prefix(PREFIX) {
        let mut parts = rest.splitn(3, '/');
        if let (Some(letter), Some(exchange), Some(key)) = (parts.next(), parts.next(), parts.next()) {
            let key = match letter {
                "t" => swap(key),
                _ => unescape(key),
            };
            return (unescape(exchange), key);
        }
    }
    if topic == queue {
        return (String::new(), topic.to_owned());
    }
    (TOPIC.to_owned(), swap(topic))
}

/// A routing key as topic levels and back: `.` and `/` change places.
fn swap(text: &str) -> String {
    text.chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect()
}

/// `text` as one topic level that no wildcard can be read into.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '%' | '/' | '+' | '#' | '\0' => out.push_str(&format!("%{:02X}", c as u32)),
            c => out.push(c),
        }
    }
    out
}

fn unescape(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok());
        match (bytes[i], hex.and_then(|h| u8::from_str_radix(h, 16).ok())) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;
    use queue_core::topic::matches;

    #[test]
    fn amq_topic_is_the_mqtt_topic_space_with_dots_for_slashes() {
        assert_eq!(topic_for(TOPIC, Kind::Topic, "home.hall.light").as_deref(), Some("home/hall/light"));
        assert_eq!(filter_for(TOPIC, Kind::Topic, "home.*.light"), Ok("home/+/light".to_owned()));
        assert_eq!(filter_for(TOPIC, Kind::Topic, "home.#"), Ok("home/#".to_owned()));
        assert_eq!(filter_for(TOPIC, Kind::Topic, "#"), Ok("#".to_owned()));
        assert_eq!(from_topic("home/hall/light", "q"), (TOPIC.to_owned(), "home.hall.light".to_owned()));
        // A slash in a word is a dot in the level, and back.
        assert_eq!(topic_for(TOPIC, Kind::Topic, "a/b.c").as_deref(), Some("a.b/c"));
        assert_eq!(from_topic("a.b/c", "q").1, "a/b.c");
    }

    #[test]
    fn a_hash_inside_a_key_or_wildcards_inside_words_are_refused_with_the_reason() {
        assert!(matches!(filter_for(TOPIC, Kind::Topic, "a.#.b"), Err(KeyError::InnerHash(_))));
        assert!(matches!(filter_for(TOPIC, Kind::Topic, "a.b+c"), Err(KeyError::Wildcard(_))));
        assert!(matches!(filter_for("logs", Kind::Topic, "x#"), Err(KeyError::Wildcard(_))));
        // A direct key may hold anything: it is one escaped level.
        assert!(filter_for("logs", Kind::Direct, "a.#/+%").is_ok());
    }

    #[test]
    fn direct_exchanges_route_exact_keys_only_and_report_them_back() {
        let bound = filter_for("orders", Kind::Direct, "eu.new").expect("a key");
        let hit = topic_for("orders", Kind::Direct, "eu.new").expect("a topic");
        assert!(matches(&bound, &hit));
        for other in ["eu", "eu.new.x", "EU.new", ""] {
            assert!(!matches(&bound, &topic_for("orders", Kind::Direct, other).expect("a topic")), "{other}");
        }
        // Keys with wildcard characters and slashes stay literal.
        let odd = "a/+/#%";
        let t = topic_for("orders", Kind::Direct, odd).expect("a topic");
        assert!(matches(&filter_for("orders", Kind::Direct, odd).expect("a key"), &t));
        assert!(!matches(&filter_for("orders", Kind::Direct, "a").expect("a key"), &t));
        assert_eq!(from_topic(&t, "q"), ("orders".to_owned(), odd.to_owned()));
        // Another direct exchange with the same key is another topic.
        assert!(!matches(&bound, &topic_for("orders2", Kind::Direct, "eu.new").expect("a topic")));
    }

    #[test]
    fn fanout_ignores_the_key_and_topic_exchanges_match_patterns_in_their_own_space() {
        let all = filter_for("logs", Kind::Fanout, "ignored").expect("a key");
        for key in ["", "info", "a.b/c"] {
            let t = topic_for("logs", Kind::Fanout, key).expect("a topic");
            assert!(matches(&all, &t), "{key}");
            assert_eq!(from_topic(&t, "q"), ("logs".to_owned(), key.to_owned()));
        }
        let pattern = filter_for("events", Kind::Topic, "*.critical").expect("a key");
        assert!(matches(&pattern, &topic_for("events", Kind::Topic, "kern.critical").expect("a topic")));
        assert!(!matches(&pattern, &topic_for("events", Kind::Topic, "kern.info").expect("a topic")));
        assert!(!matches(&pattern, "kern/critical"), "not amq.topic's space");
        // MQTT's `#` and `+` at the first level do not see `$amq/`.
        assert!(!matches("#", &topic_for("events", Kind::Topic, "a").expect("a topic")));
        assert!(!matches("+/#", &topic_for("logs", Kind::Fanout, "a").expect("a topic")));
    }

    #[test]
    fn the_default_exchange_goes_to_the_queue_and_reports_its_name() {
        assert_eq!(topic_for("", Kind::Direct, "hello"), None);
        assert_eq!(from_topic("hello", "hello"), (String::new(), "hello".to_owned()));
    }

    #[test]
    fn the_registry_declares_checks_kinds_and_cleans_auto_delete_exchanges() {
        let x = Exchanges::default();
        assert_eq!(x.kind("amq.fanout"), Some(Kind::Fanout));
        assert_eq!(x.declare("logs", Kind::Fanout, false, true), Declared::Ok);
        assert_eq!(x.declare("logs", Kind::Fanout, true, false), Declared::Ok);
        assert_eq!(x.declare("logs", Kind::Topic, false, false), Declared::OtherKind(Kind::Fanout));
        x.bound("logs", "q1", "f");
        assert_eq!(x.delete("logs", true), Err(true));
        x.queue_gone("q1");
        assert_eq!(x.kind("logs"), None, "auto-delete: gone with its last binding");
        assert_eq!(x.delete("nope", false), Err(false));
        for i in 0..MAX_EXCHANGES {
            x.declare(&format!("x{i}"), Kind::Direct, false, false);
        }
        assert_eq!(x.declare("one-more", Kind::Direct, false, false), Declared::Full);
        assert_eq!(x.len(), MAX_EXCHANGES);
    }
}
