//! Which MQTT client ids are connected, so that a second connection with the
//! same id takes the session over: the first is told to leave, and the second
//! waits until the engine has forgotten it. It also keeps what a persistent
//! session remembers between connections besides its queue: the
//! subscriptions' options and the QoS 2 packet ids not yet released.

use mqtt_codec::SubscriptionOptions;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// How long a new connection waits for the one it takes over to leave.
const TAKEOVER_WAIT: Duration = Duration::from_secs(5);

/// Connected MQTT client ids, and the saved state of persistent sessions.
#[derive(Debug, Default, Clone)]
pub struct Registry {
    claims: Arc<Mutex<HashMap<String, Entry>>>,
    saved: Arc<Mutex<HashMap<String, Saved>>>,
    /// Delayed wills waiting to be published, by client id: cancelled when
    /// the client connects again in time.
    wills: Arc<Mutex<HashMap<String, (u64, CancellationToken)>>>,
}

/// What a persistent session keeps while its client is away (its messages
/// wait in its queue, in the engine).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Saved {
    /// Subscriptions: topic filter → options.
    pub subs: BTreeMap<String, SubscriptionOptions>,
    /// QoS 2 packet ids received and not yet released (PUBREL).
    pub incoming_qos2: HashSet<u16>,
    /// Subscription identifiers: topic filter → identifier.
    pub sub_ids: BTreeMap<String, std::num::NonZeroU32>,
    /// Packet ids of QoS 2 deliveries released (PUBREL sent) and not yet
    /// completed (PUBCOMP): their PUBREL is sent again on resume.
    pub released: BTreeSet<u16>,
}

#[derive(Debug, Clone)]
struct Entry {
    conn: u64,
    /// Cancelled to ask the holder to leave.
    kick: CancellationToken,
    /// Cancelled by the holder once the engine has its disconnect.
    gone: CancellationToken,
}

/// A connection's hold on its client id. Dropping it (after the engine was
/// told of the disconnect) releases the id and lets a successor proceed.
#[derive(Debug)]
pub struct Claim {
    registry: Registry,
    client_id: String,
    conn: u64,
    /// Cancelled when another connection takes the session over.
    pub kicked: CancellationToken,
    gone: CancellationToken,
}

impl Registry {
    /// Claims `client_id` for `conn`, taking it from any connection holding
    /// it: that one is asked to leave, and this waits (bounded) until it has.
    pub async fn claim(&self, client_id: &str, conn: u64) -> Claim {
        let entry = Entry { conn, kick: CancellationToken::new(), gone: CancellationToken::new() };
        let previous = {
            let mut claims = self.lock();
            if let Some((_, will)) = self.wills.lock().unwrap_or_else(PoisonError::into_inner).remove(client_id) {
                // Back before its will delay ran out: the will is not published.
                will.cancel();
            }
            claims.insert(client_id.to_owned(), entry.clone())
        };
        if let Some(previous) = previous {
            previous.kick.cancel();
            if tokio::time::timeout(TAKEOVER_WAIT, previous.gone.cancelled()).await.is_err() {
                tracing::warn!(client_id, "the session's previous connection did not leave in time");
            }
        }
        Claim { registry: self.clone(), client_id: client_id.to_owned(), conn, kicked: entry.kick, gone: entry.gone }
    }

    /// Registers a delayed will of `conn`, which held `client_id`; returns
    /// the token a new connection with that id cancels, or `None` if one
    /// has already claimed the id (then the will is not published).
    pub fn delay_will(&self, client_id: &str, conn: u64) -> Option<CancellationToken> {
        let claims = self.lock();
        if claims.get(client_id).is_some_and(|e| e.conn != conn) {
            return None;
        }
        let token = CancellationToken::new();
        let previous = self
            .wills
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(client_id.to_owned(), (conn, token.clone()));
        if let Some((_, previous)) = previous {
            previous.cancel();
        }
        drop(claims);
        Some(token)
    }

    /// Forgets the delayed will of `conn`, which held `client_id`, once it has run.
    pub fn will_done(&self, client_id: &str, conn: u64) {
        let mut wills = self.wills.lock().unwrap_or_else(PoisonError::into_inner);
        if wills.get(client_id).is_some_and(|(c, _)| *c == conn) {
            wills.remove(client_id);
        }
    }

    /// Saves a persistent session's state when its connection ends.
    pub fn save(&self, client_id: &str, saved: Saved) {
        self.saved.lock().unwrap_or_else(PoisonError::into_inner).insert(client_id.to_owned(), saved);
    }

    /// Takes the saved state of `client_id`'s session, if any.
    pub fn take_saved(&self, client_id: &str) -> Option<Saved> {
        self.saved.lock().unwrap_or_else(PoisonError::into_inner).remove(client_id)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Entry>> {
        self.claims.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut map = self.registry.lock();
        if map.get(&self.client_id).is_some_and(|e| e.conn == self.conn) {
            map.remove(&self.client_id);
        }
        self.gone.cancel();
    }
}
