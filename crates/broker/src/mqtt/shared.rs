//! Shared subscriptions (`$share/<group>/<filter>`, MQTT 5 §4.8.2, also
//! accepted from 3.1.1 clients as most brokers do): every subscriber of one
//! group and filter consumes the same queue, `mqtt.share.<group>.<filter>`,
//! so the engine's competing consumers balance the messages between them.
//! The queue is auto-delete: it goes when the group's last member leaves.

use super::session::{Pending, Session, Step};
use mqtt_codec::{ReasonCode, SubscriptionOptions};
use queue_core::protocol::{AckMode, ClientFrame};
use queue_core::queue::QueueOptions;
use queue_core::topic::validate_filter;
use std::num::NonZeroU32;

/// The prefix of a shared subscription's filter.
const PREFIX: &str = "$share/";

/// One of the session's shared subscriptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Shared {
    /// The group's queue.
    pub queue: String,
    /// The subscription's options.
    pub options: SubscriptionOptions,
    /// The subscription identifier its SUBSCRIBE carried.
    pub id: Option<NonZeroU32>,
    /// The engine consumer, once subscribed.
    pub consumer: Option<u64>,
}

/// Whether `filter` names a shared subscription.
pub fn is_shared(filter: &str) -> bool {
    filter.starts_with(PREFIX)
}

/// The group's queue for `$share/<group>/<filter>`, or `None` if malformed:
/// an empty group, a group with wildcards, or an invalid filter.
pub fn shared_queue(filter: &str) -> Option<(String, String)> {
    let (group, inner) = filter.strip_prefix(PREFIX)?.split_once('/')?;
    if group.is_empty() || group.contains(['+', '#']) || validate_filter(inner).is_err() {
        return None;
    }
    Some((format!("mqtt.share.{group}.{inner}"), inner.to_owned()))
}

impl Session {
    /// Joins the shared subscription `filter`; returns the SUBACK reason code.
    pub(super) fn add_shared(
        &mut self,
        filter: &str,
        options: SubscriptionOptions,
        id: Option<NonZeroU32>,
        out: &mut Vec<Step>,
    ) -> ReasonCode {
        let Some((queue, inner)) = shared_queue(filter) else { return ReasonCode::TopicFilterInvalid };
        if let Some(existing) = self.rare.as_mut().and_then(|r| r.shared.get_mut(filter)) {
            existing.options = options;
            existing.id = id;
            return super::session::granted(options.qos);
        }
        let declare = self.request(Pending::Nothing);
        let bind = self.request(Pending::Nothing);
        let subscribe = self.request(Pending::Consumer(filter.to_owned()));
        let options_q = self.queue_limits.apply(QueueOptions { auto_delete: true, ..QueueOptions::default() });
        out.push(Step::Engine(ClientFrame::Declare { id: declare, queue: queue.clone(), options: options_q }));
        out.push(Step::Engine(ClientFrame::Bind { id: bind, queue: queue.clone(), filter: inner, retained: false }));
        let frame = ClientFrame::Subscribe {
            id: subscribe,
            queue: Some(queue.clone()),
            topic: None,
            prefetch: Some(self.prefetch),
            ack: AckMode::Manual,
        };
        out.push(Step::Engine(frame));
        self.rare().shared.insert(filter.to_owned(), Shared { queue, options, id, consumer: None });
        super::session::granted(options.qos)
    }

    /// Leaves the shared subscription `filter`; false if there was none.
    pub(super) fn remove_shared(&mut self, filter: &str, out: &mut Vec<Step>) -> bool {
        let Some(shared) = self.rare.as_mut().and_then(|r| r.shared.remove(filter)) else { return false };
        if let Some(consumer) = shared.consumer {
            let id = self.request(Pending::Nothing);
            out.push(Step::Engine(ClientFrame::Unsubscribe { id, consumer }));
        }
        true
    }

    /// The engine subscribed a shared subscription: remember its consumer,
    /// or cancel it if the client unsubscribed meanwhile.
    pub(super) fn shared_subscribed(&mut self, filter: &str, consumer: u64, out: &mut Vec<Step>) {
        match self.rare.as_mut().and_then(|r| r.shared.get_mut(filter)) {
            Some(shared) => shared.consumer = Some(consumer),
            None => {
                let id = self.request(Pending::Nothing);
                out.push(Step::Engine(ClientFrame::Unsubscribe { id, consumer }));
            }
        }
    }

    /// The options and identifier of the shared subscription consuming `queue`.
    pub(super) fn shared_options(&self, queue: &str) -> Option<(SubscriptionOptions, Option<NonZeroU32>)> {
        self.rare.as_ref()?.shared.values().find(|s| s.queue == queue).map(|s| (s.options, s.id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn share_filters_name_one_queue_per_group_and_filter() {
        assert_eq!(
            shared_queue("$share/g1/home/+/temp"),
            Some(("mqtt.share.g1.home/+/temp".into(), "home/+/temp".into()))
        );
        assert_eq!(shared_queue("$share//a"), None);
        assert_eq!(shared_queue("$share/g+/a"), None);
        assert_eq!(shared_queue("$share/g"), None);
        assert_eq!(shared_queue("$share/g/a/#/b"), None);
        assert!(is_shared("$share/g/a") && !is_shared("home/#"));
    }
}
