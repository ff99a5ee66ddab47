//! The engine's frames, translated into packets for an MQTT client:
//! deliveries become PUBLISHes at the QoS the subscription and the publisher
//! agree on, confirms become PUBACK / PUBREC, and retained messages are
//! replayed at SUBSCRIBE.

use super::properties::{PUBLISHER, RETAIN, from_headers};
use super::session::{Outgoing, Pending, QOS_HEADER, Session, Step, ack, is_queue_of, publish_packet};
use mqtt_codec::{Packet, ProtocolVersion, QoS, ReasonCode, SubscriptionOptions};
use queue_core::message::Headers;
use queue_core::protocol::{ClientFrame, Delivery, ErrorCode, ServerFrame};
use queue_core::topic::matches;
use std::collections::hash_map::Entry;

impl Session {
    /// Translates a batch of frames the engine sent to this connection at
    /// `now_ms` (ms since the epoch: what is left of a message's expiry is
    /// counted from it; the session reads no clock), then settles the
    /// batch's QoS 0 deliveries ([`Self::ack_written`]).
    pub fn on_frames(&mut self, frames: Vec<ServerFrame>, now_ms: u64, out: &mut Vec<Step>) {
        out.reserve(frames.len() + 1);
        for frame in frames {
            self.on_frame(frame, now_ms, out);
        }
        self.ack_written(out);
    }

    /// Translates one frame the engine sent to this connection.
    fn on_frame(&mut self, frame: ServerFrame, now_ms: u64, out: &mut Vec<Step>) {
        let replay = matches!(&frame, ServerFrame::Deliver(d) if d.retained && d.tag.is_none());
        if !replay {
            // The replay asked for is over.
            self.replaying = None;
        }
        match frame {
            ServerFrame::Deliver(delivery) if replay => self.retained(delivery, now_ms, out),
            ServerFrame::Deliver(delivery) => self.deliver(delivery, now_ms, out),
            ServerFrame::Confirm { id, routed } => {
                let reason = if routed == 0 { ReasonCode::NoMatchingSubscribers } else { ReasonCode::Success };
                self.answer(id, reason, out);
            }
            ServerFrame::Error { id: Some(id), code, message } => {
                tracing::debug!(client = %self.client_id, ?code, %message, "engine refused a request");
                self.answer(id, reason_for(code), out);
            }
            ServerFrame::Subscribed { id, consumer, .. } => {
                if let Some(Pending::Consumer(filter)) = self.pending.remove(&id) {
                    self.shared_subscribed(&filter, consumer, out);
                }
            }
            ServerFrame::Cancelled { .. } => out.push(Step::Close(Some(ReasonCode::AdministrativeAction))),
            // Binds, unbinds, declares: answered, so no longer pending.
            ServerFrame::Ok { id } | ServerFrame::Declared { id, .. } => {
                if let Some(Pending::Retained(filter)) = self.pending.remove(&id) {
                    self.replaying = Some(filter);
                }
            }
            _ => {}
        }
    }

    /// A retained message the engine replays for the subscription being
    /// made ([`Self::replaying`]); one that comes otherwise (the engine's
    /// replay to a resumed session's consumer) is not sent: MQTT sends
    /// retained messages at SUBSCRIBE only.
    fn retained(&mut self, message: Delivery, now_ms: u64, out: &mut Vec<Step>) {
        let Some(filter) = &self.replaying else { return };
        let Some(options) = self.subs.get(filter).copied() else { return };
        let sub_id = self.sub_id(filter);
        let qos = options.qos.min(published_qos(&message.headers));
        let Some(pid) = self.packet_id_for(qos, None, 0) else { return };
        let mut publish = publish_packet(&message.topic, message.payload.0, qos, true, pid);
        if self.version == ProtocolVersion::V5 {
            // A retained message keeps its properties (MQTT 5 §3.3.1.3):
            // user properties, content type, response topic, correlation
            // data, payload format, and what is left of its expiry.
            publish.properties = from_headers(&message.headers, message.published_at, now_ms);
        }
        publish.properties.subscription_identifiers.extend(sub_id);
        out.push(Step::Send(Packet::Publish(publish)));
    }

    /// Answers the client's publish that engine request `id` carried.
    fn answer(&mut self, id: u64, reason: ReasonCode, out: &mut Vec<Step>) {
        match self.pending.remove(&id) {
            Some(Pending::PubAck(pid)) => {
                self.puback_sent();
                out.push(Step::Send(Packet::PubAck(ack(pid, reason))));
            }
            Some(Pending::PubRec(pid)) => {
                if reason.is_error() {
                    // A refused QoS 2 publish ends here (MQTT 5 §4.3.3).
                    if let Some(rare) = &mut self.rare {
                        rare.incoming_qos2.remove(&pid);
                    }
                }
                out.push(Step::Send(Packet::PubRec(ack(pid, reason))));
            }
            Some(Pending::Session) if reason.is_error() => {
                tracing::warn!(client = %self.client_id, ?reason, "the engine refused the session queue; closing");
                out.push(Step::Close(Some(reason)));
            }
            Some(Pending::Nothing | Pending::Retained(_) | Pending::Consumer(_) | Pending::Session) | None => {}
        }
    }

    fn deliver(&mut self, delivery: Delivery, now_ms: u64, out: &mut Vec<Step>) {
        if delivery.tag.is_none() {
            // Not the session's to acknowledge: nothing the engine sends.
            return;
        }
        if delivery.redelivered && self.already_released(delivery.message_id) {
            // The client received it (PUBREC) before the broker went down:
            // exactly once means it is not sent again; its PUBREL was.
            self.unacked_qos0.extend(delivery.tag);
            return;
        }
        let mut sub_ids = Vec::new();
        let granted = if is_queue_of(&delivery.queue, &self.client_id) {
            // No local: a subscription with it does not get the client's own messages.
            let own = || delivery.headers.get(PUBLISHER).is_some_and(|p| *p == self.client_id);
            let wanted = |o: &SubscriptionOptions| !(o.no_local && own());
            let matching = self.subs.iter().filter(|(filter, o)| matches(filter, &delivery.topic) && wanted(o));
            let mut best: Option<SubscriptionOptions> = None;
            for (filter, options) in matching {
                if best.is_none_or(|b| options.qos > b.qos) {
                    best = Some(*options);
                }
                sub_ids.extend(self.sub_id(filter));
            }
            best
        } else {
            self.shared_options(&delivery.queue).map(|(options, id)| {
                sub_ids.extend(id);
                options
            })
        };
        let Some(options) = granted else {
            // Unsubscribed while it was on its way: settle it, send nothing.
            self.unacked_qos0.extend(delivery.tag);
            return;
        };
        let qos = options.qos.min(published_qos(&delivery.headers));
        let Some(pid) = self.packet_id_for(qos, delivery.tag, delivery.message_id) else {
            self.unacked_qos0.extend(delivery.tag);
            return;
        };
        let retain = options.retain_as_published && delivery.headers.contains_key(RETAIN);
        let mut publish = publish_packet(&delivery.topic, delivery.payload.0, qos, retain, pid);
        publish.dup = delivery.redelivered && qos != QoS::AtMostOnce;
        if self.version == ProtocolVersion::V5 {
            publish.properties = from_headers(&delivery.headers, delivery.published_at, now_ms);
            publish.properties.subscription_identifiers = sub_ids;
            self.alias_out(&mut publish);
        }
        out.push(Step::Send(Packet::Publish(publish)));
        if qos == QoS::AtMostOnce {
            self.unacked_qos0.extend(delivery.tag);
        }
    }

    /// Acks to the engine the deliveries of this batch that need nothing
    /// from the client (QoS 0, or not sent): they are written (or dropped)
    /// before the engine reads the ack. While no QoS 1 or 2 delivery is in
    /// flight, every unacked tag up to the highest is one of these, so one
    /// `multiple` ack settles them all (and the engine refills the prefetch
    /// window once, not once per message); otherwise one ack each.
    fn ack_written(&mut self, out: &mut Vec<Step>) {
        if self.outgoing.is_empty() {
            if let Some(&tag) = self.unacked_qos0.iter().max() {
                out.push(Step::Engine(ClientFrame::Ack { tag, multiple: self.unacked_qos0.len() > 1 }));
            }
            self.unacked_qos0.clear();
        } else {
            let acks = self.unacked_qos0.drain(..).map(|tag| Step::Engine(ClientFrame::Ack { tag, multiple: false }));
            out.extend(acks);
        }
    }

    /// Whether a QoS 2 delivery of `message` restored from a saved session
    /// is released (the client has it, its PUBCOMP is awaited).
    fn already_released(&self, message: u64) -> bool {
        message != 0 && self.outgoing.values().any(|o| o.released && o.tag.is_none() && o.message == message)
    }

    /// A packet id for an outgoing publish (0 for QoS 0), remembering the
    /// engine tag to ack when the client acknowledges. `None` if all 65 535
    /// ids are in flight.
    fn packet_id_for(&mut self, qos: QoS, tag: Option<u64>, message: u64) -> Option<u16> {
        if qos == QoS::AtMostOnce {
            return Some(0);
        }
        for _ in 0..u16::MAX {
            let pid = self.next_packet_id;
            self.next_packet_id = self.next_packet_id.checked_add(1).unwrap_or(1);
            if let Entry::Vacant(slot) = self.outgoing.entry(pid) {
                slot.insert(Outgoing { tag, released: false, message });
                return Some(pid);
            }
        }
        None
    }
}

/// The QoS a message was published with: its [`QOS_HEADER`], else 1.
pub fn published_qos(headers: &Headers) -> QoS {
    match headers.get(QOS_HEADER).map(String::as_str) {
        Some("0") => QoS::AtMostOnce,
        Some("2") => QoS::ExactlyOnce,
        _ => QoS::AtLeastOnce,
    }
}

/// The PUBACK / PUBREC reason for an engine error.
fn reason_for(code: ErrorCode) -> ReasonCode {
    match code {
        ErrorCode::InvalidTopic => ReasonCode::TopicNameInvalid,
        ErrorCode::QueueFull => ReasonCode::QuotaExceeded,
        ErrorCode::FrameTooLarge => ReasonCode::PacketTooLarge,
        ErrorCode::NotAuthorized => ReasonCode::NotAuthorized,
        _ => ReasonCode::ImplementationSpecificError,
    }
}

#[cfg(test)]
mod tests {
    use super::super::session::qos_headers;
    use super::*;
    use std::sync::Arc;

    /// The time the tests' frames arrive at (ms since the epoch).
    const NOW: u64 = 1_000_000;

    fn delivery(session: &Session, tag: u64, qos: QoS) -> ServerFrame {
        ServerFrame::Deliver(Delivery {
            consumer: 1,
            tag: Some(tag),
            queue: Arc::from(session.queue()),
            topic: Arc::from("t"),
            payload: Default::default(),
            headers: qos_headers(qos).into(),
            message_id: tag,
            published_at: 0,
            redelivered: false,
            delivery_count: 1,
            retained: false,
        })
    }

    fn acks(steps: &[Step]) -> Vec<(u64, bool)> {
        let acks = steps.iter().filter_map(|s| match s {
            Step::Engine(ClientFrame::Ack { tag, multiple }) => Some((*tag, *multiple)),
            _ => None,
        });
        acks.collect()
    }

    fn subscribe(packet_id: u16, filter: &str) -> Packet {
        Packet::Subscribe(mqtt_codec::Subscribe {
            packet_id,
            subscriptions: vec![mqtt_codec::Subscription {
                filter: filter.into(),
                options: SubscriptionOptions::default(),
            }],
            properties: Default::default(),
        })
    }

    /// The engine's answer to each request among `steps`, as it gives them.
    fn answers(steps: &[Step]) -> Vec<ServerFrame> {
        let answer = |s: &Step| match s {
            Step::Engine(ClientFrame::Bind { id, .. } | ClientFrame::Unbind { id, .. }) => {
                Some(ServerFrame::Ok { id: *id })
            }
            Step::Engine(ClientFrame::Declare { id, queue, .. }) => {
                Some(ServerFrame::Declared { id: *id, queue: queue.clone(), ready: 0, consumers: 0 })
            }
            Step::Engine(ClientFrame::Subscribe { id, queue, .. }) => {
                Some(ServerFrame::Subscribed { id: *id, consumer: 1, queue: queue.clone().unwrap_or_default() })
            }
            _ => None,
        };
        steps.iter().filter_map(answer).collect()
    }

    fn engine_frames(steps: &[Step]) -> Vec<&ClientFrame> {
        steps.iter().filter_map(|s| if let Step::Engine(frame) = s { Some(frame) } else { None }).collect()
    }

    #[test]
    fn a_forwarded_expiry_is_what_is_left_of_it_at_the_time_given() {
        let mut session = Session::new(ProtocolVersion::V5, "c".into());
        let mut steps = Vec::new();
        session.on_packet(subscribe(1, "t"), &mut steps);
        let replies = answers(&steps);
        session.on_frames(replies, NOW, &mut steps);
        let mut expiring = |published_at: u64, now: u64| {
            let ServerFrame::Deliver(mut d) = delivery(&session, 7, QoS::AtMostOnce) else { unreachable!() };
            d.published_at = published_at;
            let mut headers = d.headers.to_headers();
            headers.insert(super::super::properties::EXPIRY.to_string(), "60".to_string());
            d.headers = headers.into();
            let mut steps = Vec::new();
            session.on_frames(vec![ServerFrame::Deliver(d)], now, &mut steps);
            steps.iter().find_map(|s| match s {
                Step::Send(Packet::Publish(p)) => Some(p.properties.message_expiry_interval),
                _ => None,
            })
        };
        assert_eq!(expiring(NOW, NOW), Some(Some(60)));
        assert_eq!(expiring(NOW - 20_500, NOW), Some(Some(40)), "20.5 s gone: 39.5 s left, rounded up");
        assert_eq!(expiring(NOW - 90_000, NOW), Some(Some(1)), "not yet dropped by the engine: at least 1 s");
        assert_eq!(expiring(NOW + 5_000, NOW), Some(Some(60)), "a clock that went back does not add time");
    }

    #[test]
    fn the_session_queue_is_made_at_the_first_subscription_and_answered_requests_are_forgotten() {
        let mut session = Session::new(ProtocolVersion::V311, "c".into());
        let mut steps = Vec::new();
        session.on_packet(subscribe(1, "a/#"), &mut steps);
        let frames = engine_frames(&steps);
        assert!(
            matches!(
                frames[..],
                [ClientFrame::Declare { .. }, ClientFrame::Subscribe { .. }, ClientFrame::Bind { .. }]
            ),
            "{frames:?}"
        );
        let replies = answers(&steps);
        steps.clear();
        session.on_frames(replies, NOW, &mut steps);
        assert!(session.pending.is_empty(), "every answered request is forgotten: {:?}", session.pending);

        // The second subscription binds only; a thousand subscribe and
        // unsubscribe rounds leave nothing pending (they once stayed for ever).
        for round in 0..1000u16 {
            steps.clear();
            session.on_packet(subscribe(round + 2, "b"), &mut steps);
            assert!(matches!(engine_frames(&steps)[..], [ClientFrame::Bind { .. }]));
            let unsubscribe = mqtt_codec::Unsubscribe {
                packet_id: round + 2,
                filters: vec!["b".into()],
                properties: Default::default(),
            };
            session.on_packet(Packet::Unsubscribe(unsubscribe), &mut steps);
            let replies = answers(&steps);
            session.on_frames(replies, NOW, &mut steps);
        }
        assert!(session.pending.is_empty(), "{} requests still pending", session.pending.len());
    }

    #[test]
    fn a_refused_session_queue_closes_the_connection() {
        let mut session = Session::new(ProtocolVersion::V5, "c".into());
        let mut steps = Vec::new();
        session.on_packet(subscribe(1, "a"), &mut steps);
        let Some(ClientFrame::Declare { id, .. }) = engine_frames(&steps).first().copied() else { panic!("{steps:?}") };
        let refused =
            ServerFrame::Error { id: Some(*id), code: ErrorCode::ResourceLocked, message: "queue in use".into() };
        steps.clear();
        session.on_frames(vec![refused], NOW, &mut steps);
        assert!(steps.iter().any(|s| matches!(s, Step::Close(Some(_)))), "{steps:?}");
    }

    #[test]
    fn a_batch_of_qos_0_deliveries_is_settled_by_one_multiple_ack_unless_qos_1_is_in_flight() {
        let mut session = Session::new(ProtocolVersion::V311, "c".into());
        let options = SubscriptionOptions { qos: QoS::AtLeastOnce, ..SubscriptionOptions::default() };
        session.subs.insert("t".into(), options);
        let mut steps = Vec::new();
        let batch = (1..=3).map(|tag| delivery(&session, tag, QoS::AtMostOnce)).collect();
        session.on_frames(batch, NOW, &mut steps);
        assert_eq!(acks(&steps), [(3, true)]);
        assert_eq!(steps.iter().filter(|s| matches!(s, Step::Send(Packet::Publish(_)))).count(), 3);

        // Tag 4 is QoS 1 and stays unacked until PUBACK: 5 and 6 are acked one by one.
        steps.clear();
        let batch = vec![delivery(&session, 4, QoS::AtLeastOnce), delivery(&session, 5, QoS::AtMostOnce)];
        session.on_frames(batch, NOW, &mut steps);
        session.on_frames(vec![delivery(&session, 6, QoS::AtMostOnce)], NOW, &mut steps);
        assert_eq!(acks(&steps), [(5, false), (6, false)]);
    }
}
