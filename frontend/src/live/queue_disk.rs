//! Each durable queue's bytes on disk, from the admin API.
//!
//! The stats stream says which queues are durable (their options) but not
//! how much of the store they take: `GET {base}/api/queues` lists every
//! queue with its `disk_bytes`. While the broker has a durable queue, it is
//! fetched as often as the connection list, from the broker the session is
//! connected to, and matched to the queue table by name. When the fetch
//! fails (a broker older than the store, or one on another origin that does
//! not share its API), the table keeps its durable marks without bytes.

use std::collections::BTreeMap;
use std::time::Duration;

use leptos::leptos_dom::helpers::set_interval_with_handle;
use leptos::prelude::*;
use leptos::task::spawn_local;
use serde_json::Value;

use super::api::fetch_list;
use super::login::Gate;
use super::session::Session;
use crate::model::QueueInfo;

/// How often the queue list is fetched: as often as the connection list.
const EVERY: Duration = Duration::from_secs(2);

/// Bytes on disk per queue name.
pub type DiskBytes = BTreeMap<String, u64>;

/// Reads `GET /api/queues`: each entry's `name` and `disk_bytes`; an entry
/// without a name is skipped, one without `disk_bytes` (a broker older than
/// the store) is left out, so its queues show no bytes rather than "0 B".
pub fn disk_bytes_from_json(list: &[Value]) -> DiskBytes {
    let entry = |q: &Value| Some((q.get("name")?.as_str()?.to_string(), q.get("disk_bytes")?.as_u64()?));
    // Inserted one by one, as `collect` would keep the last of equal names,
    // without the stable sort `collect` instantiates (about 4 kB of wasm).
    let mut bytes = DiskBytes::new();
    for (name, size) in list.iter().filter_map(entry) {
        bytes.insert(name, size);
    }
    bytes
}

/// The queue rows with the bytes on disk of their durable queues, when
/// `bytes` knows them. Pure: the table shows what this returns.
pub fn with_disk_bytes(mut queues: Vec<QueueInfo>, bytes: Option<&DiskBytes>) -> Vec<QueueInfo> {
    for queue in &mut queues {
        queue.disk_bytes = bytes.filter(|_| queue.durable).and_then(|b| b.get(&queue.name).copied());
    }
    queues
}

/// Polls `GET {base}/api/queues` while the broker has a durable queue, for
/// as long as the calling view is mounted; the signal holds the last answer
/// of the broker the session is connected to (`None`: none yet, or the
/// fetch failed).
pub fn poll(session: Session) -> Signal<Option<DiskBytes>> {
    let fetched = RwSignal::new(None::<(String, DiskBytes)>);
    let durable = Memo::new(move |_| {
        session.version.track();
        session.state.with_value(|s| s.queues.iter().any(|q| q.durable))
    });
    let gate = use_context::<Gate>();
    let refresh = move || {
        if !durable.get_untracked() {
            return;
        }
        let base = session.http_base.get_value();
        spawn_local(async move {
            let result = fetch_list(&format!("{base}/api/queues")).await;
            if let (Err(failure), Some(gate)) = (&result, gate) {
                gate.saw(&base, failure);
            }
            let bytes = result.ok();
            fetched.try_set(bytes.map(|list| (base, disk_bytes_from_json(&list))));
        });
    };
    // At once when the first durable queue shows up, then every few seconds.
    Effect::new(move || {
        if durable.get() {
            refresh();
        }
    });
    if let Ok(handle) = set_interval_with_handle(refresh, EVERY) {
        on_cleanup(move || handle.clear());
    }
    Signal::derive(move || {
        let base = session.http_base.get_value();
        fetched.with(|f| f.as_ref().filter(|(b, _)| *b == base).map(|(_, bytes)| bytes.clone()))
    })
}
