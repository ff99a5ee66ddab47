//! Delayed wills, kept as broker keys: `mqtt/will/<client id>` holds the
//! will, when it is due and its user, as JSON. (The name is older than
//! delayed wills of native clients; it stays so that a data directory
//! written before keeps its wills.)

use queue_core::StoredWill;
use queue_core::protocol::Will;
use std::collections::BTreeMap;

/// What every delayed will's key starts with.
pub const PREFIX: &str = "mqtt/will/";

#[derive(serde::Serialize, serde::Deserialize)]
struct Kept {
    will: Will,
    /// When it is due (engine ms: since the Unix epoch).
    due_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    user: Option<String>,
}

/// The key of `client_id`'s delayed will.
pub fn key(client_id: &str) -> String {
    format!("{PREFIX}{client_id}")
}

/// The value kept for a delayed will.
pub fn encode(will: &Will, due: u64, user: Option<&str>) -> Vec<u8> {
    let kept = Kept { will: will.clone(), due_ms: due, user: user.map(str::to_owned) };
    // A will serializes: its headers are a map of strings.
    serde_json::to_vec(&kept).unwrap_or_default()
}

/// Takes the delayed wills out of the broker's keys (one that does not
/// read is logged and dropped).
pub fn take(kv: &mut BTreeMap<String, Vec<u8>>) -> Vec<StoredWill> {
    let keys: Vec<String> =
        kv.range(PREFIX.to_owned()..).take_while(|(k, _)| k.starts_with(PREFIX)).map(|(k, _)| k.clone()).collect();
    let mut wills = Vec::with_capacity(keys.len());
    for key in keys {
        let Some(bytes) = kv.remove(&key) else { continue };
        let client_id = key[PREFIX.len()..].to_owned();
        match serde_json::from_slice::<Kept>(&bytes) {
            Ok(kept) => wills.push(StoredWill { client_id, will: kept.will, due: kept.due_ms, user: kept.user }),
            Err(err) => tracing::warn!(client_id, %err, "store: a delayed will does not read; it is not published"),
        }
    }
    wills
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_kept_will_reads_back_and_leaves_the_other_keys() {
        let will = Will {
            topic: "status/plug".into(),
            payload: "offline".into(),
            retain: true,
            headers: Default::default(),
            delay_ms: 5000,
        };
        let mut kv = BTreeMap::new();
        kv.insert(key("plug"), encode(&will, 42, Some("ann")));
        kv.insert(key("broken"), b"{".to_vec());
        kv.insert("mqtt/session/plug".to_owned(), b"x".to_vec());
        let wills = take(&mut kv);
        assert_eq!(
            wills,
            vec![StoredWill { client_id: "plug".into(), will, due: 42, user: Some("ann".into()) }],
            "the broken one is dropped"
        );
        assert_eq!(kv.keys().collect::<Vec<_>>(), ["mqtt/session/plug"]);
    }

    #[test]
    fn a_will_kept_before_wills_had_a_user_reads() {
        let old = br#"{"will":{"topic":"status/plug","payload":"offline","retain":false},"due_ms":7}"#;
        let mut kv = BTreeMap::from([(key("plug"), old.to_vec())]);
        let wills = take(&mut kv);
        assert_eq!((wills[0].due, wills[0].user.as_deref(), wills[0].will.delay_ms), (7, None, 0));
    }
}
