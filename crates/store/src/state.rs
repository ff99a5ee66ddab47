//! What the log says, replayed in order: the durable queues with their
//! messages, the retained messages, the broker's keys, and the next id.

use crate::record::Record;
use queue_core::{Message, QueueOptions, Recovered, StoredMessage, StoredQueue};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

#[derive(Debug, Default)]
struct QueueState {
    options: Option<QueueOptions>,
    bindings: BTreeSet<String>,
    /// seq → (delivery count, enqueued at, message).
    messages: BTreeMap<u64, (u32, u64, Arc<Message>)>,
}

/// The state the records replayed so far describe.
#[derive(Debug, Default)]
pub struct State {
    queues: BTreeMap<Arc<str>, QueueState>,
    retained: BTreeMap<Arc<str>, Arc<Message>>,
    kv: BTreeMap<String, Vec<u8>>,
    next_id: u64,
}

/// What recovery found: the engine's part, and the broker's keys.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Contents {
    /// For [`queue_core::Engine::restore`].
    pub engine: Recovered,
    /// The values the broker put, by key.
    pub kv: BTreeMap<String, Vec<u8>>,
}

impl State {
    /// Applies one record.
    pub fn apply(&mut self, record: Record) {
        match record {
            Record::Declare { queue, options } => self.queues.entry(queue).or_default().options = Some(options),
            Record::DeleteQueue { queue } => {
                self.queues.remove(&queue);
            }
            Record::Bind { queue, filter } => {
                self.queues.entry(queue).or_default().bindings.insert(filter);
            }
            Record::Unbind { queue, filter } => {
                if let Some(q) = self.queues.get_mut(&queue) {
                    q.bindings.remove(&filter);
                }
            }
            Record::Append { queue, seq, delivery_count, enqueued_at, message } => {
                self.next_id = self.next_id.max(message.id.saturating_add(1));
                self.queues.entry(queue).or_default().messages.insert(seq, (delivery_count, enqueued_at, message));
            }
            Record::Remove { queue, seq } => {
                if let Some(q) = self.queues.get_mut(&queue) {
                    q.messages.remove(&seq);
                }
            }
            Record::Delivered { queue, seq } => {
                if let Some(m) = self.queues.get_mut(&queue).and_then(|q| q.messages.get_mut(&seq)) {
                    m.0 = m.0.saturating_add(1);
                }
            }
            Record::Retain { message } => {
                self.next_id = self.next_id.max(message.id.saturating_add(1));
                self.retained.insert(message.topic.clone(), message);
            }
            Record::Unretain { topic } => {
                self.retained.remove(&topic);
            }
            Record::Put { key, value } => {
                self.kv.insert(key, value);
            }
            Record::Delete { key } => {
                self.kv.remove(&key);
            }
            Record::NextId { id } => self.next_id = self.next_id.max(id),
        }
    }

    /// The id to go on from.
    pub fn next_id(&self) -> u64 {
        self.next_id
    }

    /// The replayed state, for the engine and the broker. Queues whose
    /// definition was lost (to damage) are left out.
    pub fn into_contents(self) -> Contents {
        let queues = self
            .queues
            .into_iter()
            .filter_map(|(name, q)| {
                let options = q.options?;
                let messages = q
                    .messages
                    .into_iter()
                    .map(|(seq, (delivery_count, enqueued_at, message))| StoredMessage {
                        seq,
                        delivery_count,
                        enqueued_at,
                        message: Arc::unwrap_or_clone(message),
                    })
                    .collect();
                Some(StoredQueue {
                    name: name.to_string(),
                    options,
                    bindings: q.bindings.into_iter().collect(),
                    messages,
                })
            })
            .collect();
        let retained = self.retained.into_values().map(Arc::unwrap_or_clone).collect();
        let mut kv = self.kv;
        let wills = crate::wills::take(&mut kv);
        Contents { engine: Recovered { queues, retained, next_message_id: self.next_id, wills }, kv }
    }
}
