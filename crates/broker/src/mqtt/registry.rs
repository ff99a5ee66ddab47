//! Which MQTT client ids are connected, so that a second connection with the
//! same id takes the session over: the first is told to leave, and the second
//! waits until the engine has forgotten it. It also keeps what a persistent
//! session remembers between connections besides its queue: the
//! subscriptions' options and the QoS 2 packet ids not yet released.

use crate::outbox::Kicker;
use mqtt_codec::SubscriptionOptions;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use store::{Change, StoreWriter};

/// How long a new connection waits for the one it takes over to leave.
const TAKEOVER_WAIT: Duration = Duration::from_secs(5);

/// Connected MQTT client ids, and the saved state of persistent sessions
/// (kept in the durable store too, when there is one).
#[derive(Debug, Clone)]
pub struct Registry {
    claims: Claims,
    saved: Arc<Mutex<HashMap<String, Saved>>>,
    store: StoreWriter,
}

/// What a persistent session keeps while its client is away (its messages
/// wait in its queue, in the engine).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Saved {
    /// Subscriptions: topic filter → options.
    pub subs: BTreeMap<String, SubscriptionOptions>,
    /// QoS 2 packet ids received and not yet released (PUBREL).
    pub incoming_qos2: rustc_hash::FxHashSet<u16>,
    /// Subscription identifiers: topic filter → identifier.
    pub sub_ids: BTreeMap<String, std::num::NonZeroU32>,
    /// QoS 2 deliveries released (PUBREL sent) and not yet completed
    /// (PUBCOMP), packet id → message id: their PUBREL is sent again on
    /// resume, and after a crash the message itself is not sent again.
    pub released: BTreeMap<u16, u64>,
}

/// [`Saved`] as the store keeps it (JSON; options as MQTT 5's options byte).
#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    subs: BTreeMap<String, u8>,
    incoming_qos2: BTreeSet<u16>,
    sub_ids: BTreeMap<String, u32>,
    released: BTreeMap<u16, u64>,
}

impl Saved {
    /// The bytes the store keeps.
    pub fn to_bytes(&self) -> Vec<u8> {
        let kept = Kept {
            subs: self.subs.iter().map(|(f, o)| (f.clone(), o.to_byte())).collect(),
            incoming_qos2: self.incoming_qos2.iter().copied().collect(),
            sub_ids: self.sub_ids.iter().map(|(f, id)| (f.clone(), id.get())).collect(),
            released: self.released.clone(),
        };
        serde_json::to_vec(&kept).unwrap_or_default()
    }

    /// A session's state from what the store kept; `None` if it does not read.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        let kept: Kept = serde_json::from_slice(bytes).ok()?;
        let mut subs = BTreeMap::new();
        for (filter, byte) in kept.subs {
            subs.insert(filter, SubscriptionOptions::from_byte(byte).ok()?);
        }
        let sub_ids =
            kept.sub_ids.into_iter().filter_map(|(f, id)| Some((f, std::num::NonZeroU32::new(id)?))).collect();
        Some(Self { subs, incoming_qos2: kept.incoming_qos2.into_iter().collect(), sub_ids, released: kept.released })
    }
}

/// The sessions' states a store kept, by client id (those that do not read
/// are dropped, and logged).
pub fn saved_sessions(kv: &BTreeMap<String, Vec<u8>>) -> HashMap<String, Saved> {
    let sessions = kv.range(SESSION_PREFIX.to_owned()..).take_while(|(k, _)| k.starts_with(SESSION_PREFIX));
    sessions
        .filter_map(|(key, bytes)| {
            let client_id = &key[SESSION_PREFIX.len()..];
            let saved = Saved::from_bytes(bytes);
            if saved.is_none() {
                tracing::warn!(client_id, "store: a session's saved state does not read; it starts without it");
            }
            Some((client_id.to_owned(), saved?))
        })
        .collect()
}

/// The store key of `client_id`'s session state.
pub fn session_key(client_id: &str) -> String {
    format!("{SESSION_PREFIX}{client_id}")
}

/// What every session key starts with.
pub const SESSION_PREFIX: &str = "mqtt/session/";

/// Claimed client ids. A key is shared with its [`Claim`]: one copy of the
/// id, not two, for every connection.
type Claims = Arc<Mutex<HashMap<Arc<str>, Entry>>>;

#[derive(Debug, Clone)]
struct Entry {
    conn: u64,
    /// Asks the holder to leave, and says when it has (once the engine has
    /// its disconnect).
    kicker: Kicker,
}

/// A connection's hold on its client id. Dropping it (after the engine was
/// told of the disconnect) releases the id and lets a successor proceed.
#[derive(Debug)]
pub struct Claim {
    claims: Claims,
    client_id: Arc<str>,
    conn: u64,
    /// The holder's mailbox: kicked when another connection takes the
    /// session over, told when the holder has left.
    kicker: Kicker,
}

impl Default for Registry {
    fn default() -> Self {
        Self::new(StoreWriter::none(), HashMap::new())
    }
}

impl Registry {
    /// A registry that keeps sessions' state in `store`, starting from
    /// what a restart recovered.
    pub fn new(store: StoreWriter, saved: HashMap<String, Saved>) -> Self {
        Self { claims: Arc::default(), saved: Arc::new(Mutex::new(saved)), store }
    }

    /// Keeps a connected persistent session's state in the store (it
    /// changed: a subscription, a QoS 2 exchange), so that a crash does not
    /// lose it.
    pub fn persist(&self, client_id: &str, saved: &Saved) {
        if self.store.is_some() {
            self.store.write(vec![Change::Put(session_key(client_id), saved.to_bytes())]);
        }
    }

    /// Forgets a session's state in the store (the session ended).
    pub fn forget(&self, client_id: &str) {
        if self.store.is_some() {
            self.store.write(vec![Change::Delete(session_key(client_id))]);
        }
    }
    /// Claims `client_id` for `conn` (whose mailbox `kicker` ends it),
    /// taking it from any connection holding it: that one is asked to
    /// leave, and this waits (bounded) until it has.
    pub async fn claim(&self, client_id: &str, conn: u64, kicker: Kicker) -> Claim {
        let entry = Entry { conn, kicker };
        let key: Arc<str> = Arc::from(client_id);
        let previous = {
            let mut claims = self.lock();
            claims.insert(key.clone(), entry.clone())
        };
        if let Some(previous) = previous {
            previous.kicker.kick();
            if tokio::time::timeout(TAKEOVER_WAIT, previous.kicker.gone()).await.is_err() {
                tracing::warn!(client_id, "the session's previous connection did not leave in time");
            }
        }
        Claim { claims: self.claims.clone(), client_id: key, conn, kicker: entry.kicker }
    }

    /// Saves a persistent session's state when its connection ends.
    pub fn save(&self, client_id: &str, saved: Saved) {
        self.persist(client_id, &saved);
        self.saved.lock().unwrap_or_else(PoisonError::into_inner).insert(client_id.to_owned(), saved);
    }

    /// Takes the saved state of `client_id`'s session, if any.
    pub fn take_saved(&self, client_id: &str) -> Option<Saved> {
        self.saved.lock().unwrap_or_else(PoisonError::into_inner).remove(client_id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Arc<str>, Entry>> {
        self.claims.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut map = self.claims.lock().unwrap_or_else(PoisonError::into_inner);
        if map.get(&*self.client_id).is_some_and(|e| e.conn == self.conn) {
            map.remove(&*self.client_id);
        }
        self.kicker.leave();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use mqtt_codec::{QoS, RetainHandling};

    #[test]
    fn a_session_state_reads_back_as_it_was_kept() {
        let mut saved = Saved::default();
        let options = SubscriptionOptions {
            qos: QoS::AtLeastOnce,
            no_local: true,
            retain_as_published: true,
            retain_handling: RetainHandling::DoNotSend,
        };
        saved.subs.insert("home/+/temperature".into(), options);
        saved.subs.insert("a b/#".into(), SubscriptionOptions::default());
        saved.sub_ids.insert("home/+/temperature".into(), std::num::NonZeroU32::MIN);
        saved.incoming_qos2.insert(65_535);
        saved.released.insert(7, 42);
        assert_eq!(Saved::from_bytes(&saved.to_bytes()), Some(saved.clone()));
        let mut kv = BTreeMap::new();
        kv.insert(session_key("dev 1"), saved.to_bytes());
        kv.insert(session_key("broken"), b"{not json".to_vec());
        kv.insert("other/key".into(), saved.to_bytes());
        let sessions = saved_sessions(&kv);
        assert_eq!(sessions.len(), 1, "only readable session keys: {sessions:?}");
        assert_eq!(sessions.get("dev 1"), Some(&saved));
    }
}
