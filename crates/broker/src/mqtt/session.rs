//! An MQTT session as the engine sees it: the pure translation between MQTT
//! packets and engine frames. No IO: [`Session::on_packet`] and
//! [`Session::on_frame`](super::outbound) turn one input into [`Step`]s that
//! the connection task carries out in order.
//!
//! The mapping follows RabbitMQ's MQTT plugin: the session owns one queue,
//! `mqtt.<client id>`, consumed by one manual-ack consumer whose prefetch is
//! the client's receive maximum; each subscription binds that queue to its
//! filter. The QoS a message was published with travels in the
//! [`QOS_HEADER`] header.

use super::lifetime::{Lifetime, QueueLimits};
use super::properties::{is_plain, to_headers};
use super::registry::Saved;
use super::shared::{Shared, is_shared, shared_queue};
use bytes::Bytes;
use mqtt_codec::{
    Ack, Disconnect, Packet, ProtocolVersion, Publish, QoS, ReasonCode, RetainHandling, SubAck, Subscribe,
    SubscriptionOptions, UnsubAck, Unsubscribe,
};
use queue_core::acl::{Acl, TopicAccess, Who};
use queue_core::limits::{MAX_BINDING_BYTES_PER_QUEUE, MAX_BINDINGS_PER_QUEUE};
use queue_core::message::{Headers, Payload, SharedHeaders};
use queue_core::protocol::{AckMode, ClientFrame, WILL_TTL_HEADER, Will};
use queue_core::queue::QueueOptions;
use queue_core::topic::validate_filter;
use rustc_hash::{FxHashMap as HashMap, FxHashSet as HashSet};
use sha2::Digest;
use std::collections::BTreeMap;
use std::num::{NonZeroU16, NonZeroU32};
use std::sync::Arc;

/// The Topic Alias Maximum announced in CONNACK: how many topic aliases a
/// client may set up on one connection.
pub const TOPIC_ALIAS_MAX: u16 = 64;

/// Header carrying the QoS an MQTT client published with (as RabbitMQ's
/// `x-mqtt-publish-qos`). Messages without it (native publishes) count as QoS 1.
pub const QOS_HEADER: &str = "x-mqtt-publish-qos";

/// One thing the connection task must do, in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// Send a frame to the engine.
    Engine(ClientFrame),
    /// Write a packet to the client.
    Send(Packet),
    /// Close the connection; with a DISCONNECT reason first (MQTT 5 only).
    Close(Option<ReasonCode>),
    /// The ACL refused a subscription to this filter: count and log it.
    Denied(String),
}

/// What an engine reply to one of the session's requests means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Pending {
    /// A QoS 1 publish: answer with PUBACK.
    PubAck(u16),
    /// A QoS 2 publish: answer with PUBREC.
    PubRec(u16),
    /// Nothing to answer (binds, unbinds).
    Nothing,
    /// A bind that asked for the retained messages of this filter: they
    /// come right after its `ok`.
    Retained(String),
    /// The session queue's own declare or consumer, made at the first
    /// subscription: if the engine refuses it, the session cannot work.
    Session,
    /// The consumer of the shared subscription to this filter.
    Consumer(String),
}

/// A delivery written to the client and not yet acknowledged by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Outgoing {
    /// The engine delivery tag to ack when the client acknowledges (none for retained replays).
    pub tag: Option<u64>,
    /// QoS 2: PUBREC seen, PUBREL sent, waiting for PUBCOMP.
    pub released: bool,
    /// The engine's id of the message (0 for a retained replay).
    pub message: u64,
}

/// What a session needs to answer for the ACL.
#[derive(Debug)]
pub struct Access {
    /// The list.
    pub acl: Arc<Acl>,
    /// The client's username (`None`: anonymous).
    pub user: Option<String>,
}

/// One client's session state.
#[derive(Debug)]
pub struct Session {
    /// The version the client speaks.
    pub version: ProtocolVersion,
    /// The client identifier (assigned when the client gave none).
    pub client_id: String,
    /// The session queue and its consumer exist in the engine. A clean
    /// session that no old one was found for makes them at its first
    /// subscription (an idle device that only publishes needs neither).
    pub queue_open: bool,
    /// Subscriptions: topic filter → options.
    pub(super) subs: BTreeMap<String, SubscriptionOptions>,
    /// Prefetch of each of the session's consumers (the receive maximum).
    pub prefetch: u32,
    pub(super) next_request: u64,
    pub(super) pending: HashMap<u64, Pending>,
    pub(super) outgoing: HashMap<u16, Outgoing>,
    pub(super) next_packet_id: u16,
    /// What [`Self::saved`] returns changed since the flag was cleared: a
    /// persistent session keeps it in the store.
    pub dirty: bool,
    /// Shared subscriptions, QoS 2 ids, subscription identifiers and topic
    /// aliases: `None` until one is used.
    pub(super) rare: Option<Box<Rare>>,
    /// The client's Topic Alias Maximum: how many aliases the broker may use.
    pub peer_alias_max: u16,
    /// How long the session outlives its connection; a v5 DISCONNECT may change it.
    pub lifetime: Lifetime,
    /// The bounds of the session's queues.
    pub queue_limits: QueueLimits,
    /// The Server Receive Maximum (MQTT 5): QoS 1 and 2 PUBLISHes the client
    /// may have unacknowledged.
    pub receive_max: u16,
    /// QoS 1 PUBLISHes received and not yet answered with PUBACK.
    inbound_qos1: u32,
    /// The headers of a plain PUBLISH (no properties, no retain) of each QoS.
    plain_headers: [Option<SharedHeaders>; 3],
    /// Engine tags of the current batch's deliveries to ack once it is
    /// translated (QoS 0 ones, and ones not sent).
    pub(super) unacked_qos0: Vec<u64>,
    /// The access control list and this client's username, when there is
    /// an ACL: SUBACK says what it refuses (the engine enforces it).
    pub access: Option<Arc<Access>>,
    /// The filter whose retained messages are arriving now (after its
    /// bind's `ok`, until the next frame that is not one of them).
    pub(super) replaying: Option<String>,
}

/// What most sessions never use, made when first needed: each of these
/// tables is 24 to 32 bytes of every idle connection's task.
#[derive(Debug, Default)]
pub(super) struct Rare {
    /// Shared subscriptions: `$share/…` filter → its group's queue.
    pub(super) shared: BTreeMap<String, Shared>,
    /// QoS 2 packet ids received (PUBREC sent) and not yet released.
    pub(super) incoming_qos2: HashSet<u16>,
    /// Those of `incoming_qos2` a previous connection of the session took:
    /// the Receive Maximum counts only this connection's (MQTT 5 §4.9).
    restored_qos2: HashSet<u16>,
    /// Subscription identifiers: topic filter → the id its SUBSCRIBE carried.
    pub(super) sub_ids: BTreeMap<String, NonZeroU32>,
    /// Topic aliases of this connection, both ways.
    aliases: Aliases,
}

impl Rare {
    /// Holds nothing a fresh one would not.
    fn is_unused(&self) -> bool {
        let Self { shared, incoming_qos2, restored_qos2, sub_ids, aliases } = self;
        shared.is_empty()
            && incoming_qos2.is_empty()
            && restored_qos2.is_empty()
            && sub_ids.is_empty()
            && aliases.given == 0
            && aliases.inbound.is_empty()
    }
}

/// The topic aliases of one connection (MQTT 5).
#[derive(Debug, Default)]
struct Aliases {
    /// Set up by the client: alias → topic.
    inbound: HashMap<u16, Arc<str>>,
    /// Set up by the broker: topic → alias.
    outbound: HashMap<Arc<str>, u16>,
    /// Aliases the broker has given (1 to `given`).
    given: u16,
}

impl Session {
    /// The session queue's name, made from the client id when needed (at
    /// CONNECT and SUBSCRIBE): kept, it was a string of every connection.
    pub fn queue(&self) -> String {
        queue_name(&self.client_id)
    }

    /// A fresh session for `client_id`, speaking `version`.
    pub fn new(version: ProtocolVersion, client_id: String) -> Self {
        Self {
            version,
            queue_open: false,
            client_id,
            subs: BTreeMap::new(),
            prefetch: 100,
            next_request: 1,
            pending: HashMap::default(),
            outgoing: HashMap::default(),
            next_packet_id: 1,
            dirty: false,
            rare: None,
            peer_alias_max: 0,
            lifetime: Lifetime::Transient,
            queue_limits: QueueLimits::default(),
            receive_max: u16::MAX,
            inbound_qos1: 0,
            plain_headers: Default::default(),
            unacked_qos0: Vec::new(),
            access: None,
            replaying: None,
        }
    }

    /// Takes back what a persistent session saved when its last connection ended.
    /// QoS 2 messages it had released (PUBREL sent, no PUBCOMP yet) are
    /// released again: their PUBRELs are pushed to `out`, to be sent after
    /// CONNACK (MQTT 5 §4.4, 3.1.1 §4.4), and their packet ids stay taken.
    pub fn restore(&mut self, saved: Saved, out: &mut Vec<Step>) {
        self.subs = saved.subs;
        if !saved.incoming_qos2.is_empty() || !saved.sub_ids.is_empty() {
            let rare = self.rare();
            rare.restored_qos2.clone_from(&saved.incoming_qos2);
            rare.incoming_qos2 = saved.incoming_qos2;
            rare.sub_ids = saved.sub_ids;
        }
        for (pid, message) in saved.released {
            self.outgoing.insert(pid, Outgoing { tag: None, released: true, message });
            out.push(Step::Send(Packet::PubRel(ack(pid, ReasonCode::Success))));
        }
    }

    /// What a persistent session keeps while its client is away.
    pub fn saved(&self) -> Saved {
        let released = self.outgoing.iter().filter(|(_, o)| o.released).map(|(pid, o)| (*pid, o.message)).collect();
        Saved {
            subs: self.subs.clone(),
            incoming_qos2: self.rare.as_ref().map(|r| r.incoming_qos2.clone()).unwrap_or_default(),
            sub_ids: self.rare.as_ref().map(|r| r.sub_ids.clone()).unwrap_or_default(),
            released,
        }
    }

    /// Engine acks for the QoS 2 deliveries the client has received (PUBREC)
    /// but not completed: the client owns them, so the engine must not
    /// deliver them again; only their PUBREL is resent ([`Self::restore`]).
    pub fn settle_released(&self) -> Vec<ClientFrame> {
        let tags = self.outgoing.values().filter(|o| o.released).filter_map(|o| o.tag);
        tags.map(|tag| ClientFrame::Ack { tag, multiple: false }).collect()
    }

    /// The rare tables, made if they were not.
    pub(super) fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_default()
    }

    /// The id of the subscription identifier `filter`'s SUBSCRIBE carried.
    pub(super) fn sub_id(&self, filter: &str) -> Option<NonZeroU32> {
        self.rare.as_ref()?.sub_ids.get(filter).copied()
    }

    /// The engine request id for a new request whose reply means `pending`.
    pub(super) fn request(&mut self, pending: Pending) -> u64 {
        let id = self.next_request;
        self.next_request += 1;
        self.pending.insert(id, pending);
        id
    }

    /// Gives back the room of the tables that are empty now (an idle
    /// session keeps none of its busiest moment's capacity).
    pub fn shrink(&mut self) {
        if self.pending.is_empty() {
            self.pending = HashMap::default();
        }
        if self.outgoing.is_empty() {
            self.outgoing = HashMap::default();
        }
        if self.unacked_qos0.is_empty() {
            self.unacked_qos0 = Vec::new();
        }
        if self.rare.as_ref().is_some_and(|r| r.is_unused()) {
            self.rare = None;
        }
    }

    /// Translates one packet from the client.
    pub fn on_packet(&mut self, packet: Packet, out: &mut Vec<Step>) {
        match packet {
            Packet::Publish(publish) => self.publish(publish, out),
            Packet::PubAck(ack) | Packet::PubComp(ack) => self.settled(ack.packet_id, out),
            Packet::PubRec(ack) => self.received(ack.packet_id, out),
            Packet::PubRel(ack) => self.release(ack.packet_id, out),
            Packet::Subscribe(subscribe) => self.subscribe(subscribe, out),
            Packet::Unsubscribe(unsubscribe) => self.unsubscribe(unsubscribe, out),
            Packet::PingReq => out.push(Step::Send(Packet::PingResp)),
            Packet::Disconnect(disconnect) => self.disconnect(&disconnect, out),
            // A second CONNECT, AUTH without a method, or a server-only packet.
            _ => out.push(Step::Close(Some(ReasonCode::ProtocolError))),
        }
    }

    fn publish(&mut self, mut publish: Publish, out: &mut Vec<Step>) {
        if let Err(reason) = self.resolve_alias(&mut publish) {
            out.push(Step::Close(Some(reason)));
            return;
        }
        let pid = publish.packet_id;
        let resent =
            publish.qos == QoS::ExactlyOnce && self.rare.as_ref().is_some_and(|r| r.incoming_qos2.contains(&pid));
        if publish.qos != QoS::AtMostOnce && !resent && self.receive_max_reached() {
            out.push(Step::Close(Some(ReasonCode::ReceiveMaximumExceeded)));
            return;
        }
        let id = match publish.qos {
            QoS::AtMostOnce => None,
            QoS::AtLeastOnce => {
                self.inbound_qos1 = self.inbound_qos1.saturating_add(1);
                Some(self.request(Pending::PubAck(pid)))
            }
            QoS::ExactlyOnce if resent => {
                // A resent PUBLISH whose first copy was taken: do not publish twice.
                out.push(Step::Send(Packet::PubRec(ack(pid, ReasonCode::Success))));
                return;
            }
            QoS::ExactlyOnce => {
                self.rare().incoming_qos2.insert(pid);
                self.dirty = true;
                Some(self.request(Pending::PubRec(pid)))
            }
        };
        let (headers, ttl_ms) = self.headers_for(&publish);
        let frame = ClientFrame::Publish {
            id,
            topic: Some(publish.topic),
            queue: None,
            payload: Payload(publish.payload),
            headers,
            retain: publish.retain,
            ttl_ms,
        };
        out.push(Step::Engine(frame));
    }

    /// Whether the client already has as many QoS 1 and 2 PUBLISHes
    /// unacknowledged as the Server Receive Maximum allows (MQTT 5 §3.3.4:
    /// QoS 1 until PUBACK, QoS 2 until PUBCOMP). 3.1.1 has no such limit.
    fn receive_max_reached(&self) -> bool {
        let qos2 = self.rare.as_ref().map_or(0, |r| r.incoming_qos2.len() - r.restored_qos2.len());
        self.version == ProtocolVersion::V5 && self.inbound_qos1 as usize + qos2 >= usize::from(self.receive_max)
    }

    /// A QoS 1 PUBLISH was answered: one less in flight.
    pub(super) fn puback_sent(&mut self) {
        self.inbound_qos1 = self.inbound_qos1.saturating_sub(1);
    }

    /// The engine headers and TTL for a PUBLISH from this client. Most
    /// PUBLISHes carry no properties and no retain flag: theirs are the same
    /// for every message of a QoS, built once per session and shared.
    fn headers_for(&mut self, publish: &Publish) -> (SharedHeaders, Option<u64>) {
        let publisher = (self.version == ProtocolVersion::V5).then_some(self.client_id.as_str());
        if is_plain(publish) {
            let slot = &mut self.plain_headers[publish.qos as usize];
            let headers = slot.get_or_insert_with(|| {
                let mut headers = qos_headers(publish.qos);
                to_headers(publish, publisher, &mut headers);
                SharedHeaders::new(headers)
            });
            return (headers.clone(), None);
        }
        let mut headers = qos_headers(publish.qos);
        let ttl_ms = to_headers(publish, publisher, &mut headers);
        (SharedHeaders::new(headers), ttl_ms)
    }

    /// Applies the PUBLISH's topic alias (MQTT 5 §3.3.2.3.4): a topic with
    /// an alias sets the alias up, an empty topic uses it. An alias over the
    /// maximum is invalid; an unknown one is a protocol error.
    fn resolve_alias(&mut self, publish: &mut Publish) -> Result<(), ReasonCode> {
        let Some(alias) = publish.properties.topic_alias.take() else { return Ok(()) };
        if alias.get() > TOPIC_ALIAS_MAX {
            return Err(ReasonCode::TopicAliasInvalid);
        }
        if publish.topic.is_empty() {
            let known = self.rare.as_ref().and_then(|r| r.aliases.inbound.get(&alias.get()));
            publish.topic = known.ok_or(ReasonCode::ProtocolError)?.clone();
        } else {
            self.rare().aliases.inbound.insert(alias.get(), publish.topic.clone());
        }
        Ok(())
    }

    /// Gives an outgoing PUBLISH a topic alias if the client accepts them:
    /// the first PUBLISH on a topic sets one up (while aliases are left),
    /// later ones send an empty topic with the alias.
    pub(super) fn alias_out(&mut self, publish: &mut Publish) {
        if self.peer_alias_max == 0 {
            return;
        }
        let peer_alias_max = self.peer_alias_max;
        let aliases = &mut self.rare().aliases;
        if let Some(&alias) = aliases.outbound.get(&publish.topic) {
            publish.topic = no_topic();
            publish.properties.topic_alias = NonZeroU16::new(alias);
        } else if aliases.given < peer_alias_max {
            aliases.given += 1;
            aliases.outbound.insert(publish.topic.clone(), aliases.given);
            publish.properties.topic_alias = NonZeroU16::new(aliases.given);
        }
    }

    /// A PUBLISH that set up an alias was not sent (over the client's
    /// maximum packet size): the client never learnt the alias, so forget it.
    pub fn alias_not_sent(&mut self, publish: &Publish) {
        if let (Some(_), false, Some(rare)) = (publish.properties.topic_alias, publish.topic.is_empty(), &mut self.rare)
        {
            rare.aliases.outbound.remove(&publish.topic);
        }
    }

    /// PUBACK (QoS 1) or PUBCOMP (QoS 2): the client has the message; ack it to the engine.
    fn settled(&mut self, pid: u16, out: &mut Vec<Step>) {
        let Some(settled) = self.outgoing.remove(&pid) else { return };
        self.dirty |= settled.released;
        if let Some(tag) = settled.tag {
            out.push(Step::Engine(ClientFrame::Ack { tag, multiple: false }));
        }
    }

    /// PUBREC: the client received a QoS 2 message; release it.
    fn received(&mut self, pid: u16, out: &mut Vec<Step>) {
        let reason = match self.outgoing.get_mut(&pid) {
            Some(entry) => {
                entry.released = true;
                self.dirty = true;
                ReasonCode::Success
            }
            None => ReasonCode::PacketIdentifierNotFound,
        };
        out.push(Step::Send(Packet::PubRel(ack(pid, reason))));
    }

    /// PUBREL: the client releases a QoS 2 message it sent; complete it.
    fn release(&mut self, pid: u16, out: &mut Vec<Step>) {
        let released = self.rare.as_mut().is_some_and(|r| {
            r.restored_qos2.remove(&pid);
            r.incoming_qos2.remove(&pid)
        });
        let reason = if released {
            self.dirty = true;
            ReasonCode::Success
        } else {
            ReasonCode::PacketIdentifierNotFound
        };
        out.push(Step::Send(Packet::PubComp(ack(pid, reason))));
    }

    fn subscribe(&mut self, subscribe: Subscribe, out: &mut Vec<Step>) {
        let mut reasons = Vec::with_capacity(subscribe.subscriptions.len());
        let sub_id = subscribe.properties.subscription_identifiers.first().copied();
        for sub in subscribe.subscriptions {
            reasons.push(self.add_subscription(&sub.filter, sub.options, sub_id, out));
        }
        let suback = SubAck { packet_id: subscribe.packet_id, reasons, properties: Default::default() };
        out.push(Step::Send(Packet::SubAck(suback)));
    }

    /// Binds the session queue to `filter`, asking the engine for its
    /// retained messages as the retain handling says (they arrive after
    /// the SUBACK); returns the SUBACK reason code.
    fn add_subscription(
        &mut self,
        filter: &str,
        options: SubscriptionOptions,
        sub_id: Option<NonZeroU32>,
        out: &mut Vec<Step>,
    ) -> ReasonCode {
        let inner = if is_shared(filter) { shared_queue(filter).map(|(_, inner)| inner) } else { None };
        if !self.may(TopicAccess::Subscribe, inner.as_deref().unwrap_or(filter)) {
            out.push(Step::Denied(filter.to_owned()));
            return ReasonCode::NotAuthorized;
        }
        if is_shared(filter) {
            // Retained messages are not sent for shared subscriptions (MQTT 5 §4.8.2).
            return self.add_shared(filter, options, sub_id, out);
        }
        if validate_filter(filter).is_err() {
            return ReasonCode::TopicFilterInvalid;
        }
        // A SUBSCRIBE without an identifier removes the old one (MQTT 5 §3.8.2.1.2).
        match sub_id {
            Some(id) => self.rare().sub_ids.insert(filter.to_owned(), id),
            None => self.rare.as_mut().and_then(|r| r.sub_ids.remove(filter)),
        };
        if !self.subs.contains_key(filter) && !self.room_for(filter) {
            return ReasonCode::QuotaExceeded;
        }
        let existed = self.subs.insert(filter.to_owned(), options).is_some();
        self.dirty = true;
        let retained = match options.retain_handling {
            RetainHandling::SendAtSubscribe => true,
            RetainHandling::SendIfNew => !existed,
            RetainHandling::DoNotSend => false,
        };
        if !existed || retained {
            // Binding again what is bound changes nothing but the replay.
            self.open_queue(out);
            let id = self.request(if retained { Pending::Retained(filter.to_owned()) } else { Pending::Nothing });
            let bind = ClientFrame::Bind { id, queue: self.queue(), filter: filter.to_owned(), retained };
            out.push(Step::Engine(bind));
        }
        granted(options.qos)
    }

    /// Declares the session queue and subscribes its consumer, unless done.
    fn open_queue(&mut self, out: &mut Vec<Step>) {
        if self.queue_open {
            return;
        }
        let options = self.lifetime.queue_options(self.queue_limits);
        let (frames, _) = self.queue_frames(options, self.prefetch, Pending::Session);
        out.extend(frames.map(Step::Engine));
    }

    /// Marks the session queue open and makes the frames that declare it
    /// (with `options`) and subscribe its consumer (with `prefetch`), the
    /// replies to both meaning `pending`; and the subscribe's request id.
    pub(super) fn queue_frames(
        &mut self,
        options: QueueOptions,
        prefetch: u32,
        pending: Pending,
    ) -> ([ClientFrame; 2], u64) {
        self.queue_open = true;
        let queue = self.queue();
        let declare = ClientFrame::Declare { id: self.request(pending.clone()), queue: queue.clone(), options };
        let id = self.request(pending);
        let subscribe = ClientFrame::Subscribe {
            id,
            queue: Some(queue),
            topic: None,
            prefetch: Some(prefetch),
            ack: AckMode::Manual,
        };
        ([declare, subscribe], id)
    }

    /// Whether the ACL (if any) lets this client do `access` on `topic`.
    pub fn may(&self, access: TopicAccess, topic: &str) -> bool {
        let Some(a) = &self.access else { return true };
        a.acl.topic(Who { user: a.user.as_deref(), client_id: &self.client_id }, access, topic)
    }

    /// Whether the session queue may be bound with one more filter (the
    /// engine's bounds on a queue's bindings, checked here so the SUBACK
    /// can say so).
    fn room_for(&self, filter: &str) -> bool {
        let bytes: usize = self.subs.keys().map(String::len).sum::<usize>() + filter.len();
        self.subs.len() < MAX_BINDINGS_PER_QUEUE && bytes <= MAX_BINDING_BYTES_PER_QUEUE
    }

    fn unsubscribe(&mut self, unsubscribe: Unsubscribe, out: &mut Vec<Step>) {
        let mut reasons = Vec::with_capacity(unsubscribe.filters.len());
        for filter in unsubscribe.filters {
            if self.remove_shared(&filter, out) {
                reasons.push(ReasonCode::Success);
            } else if self.subs.remove(&filter).is_some() {
                if let Some(rare) = &mut self.rare {
                    rare.sub_ids.remove(&filter);
                }
                self.dirty = true;
                let id = self.request(Pending::Nothing);
                out.push(Step::Engine(ClientFrame::Unbind { id, queue: self.queue(), filter }));
                reasons.push(ReasonCode::Success);
            } else {
                reasons.push(ReasonCode::NoSubscriptionExisted);
            }
        }
        let unsuback = UnsubAck { packet_id: unsubscribe.packet_id, reasons, properties: Default::default() };
        out.push(Step::Send(Packet::UnsubAck(unsuback)));
    }

    /// DISCONNECT: a clean goodbye drops the will, unless MQTT 5 asks to
    /// send it. An MQTT 5 DISCONNECT may change the session expiry
    /// interval, but not from 0 (MQTT 5 §3.14.2.2.2): that is a protocol
    /// error, and, not being a clean goodbye, publishes the will.
    fn disconnect(&mut self, disconnect: &Disconnect, out: &mut Vec<Step>) {
        if let Some(seconds) = disconnect.properties.session_expiry_interval {
            if self.lifetime == Lifetime::Transient && seconds != 0 {
                out.push(Step::Close(Some(ReasonCode::ProtocolError)));
                return;
            }
            self.lifetime = Lifetime::from_expiry(seconds);
        }
        if disconnect.reason != ReasonCode::DisconnectWithWillMessage {
            out.push(Step::Engine(ClientFrame::Bye));
        }
        out.push(Step::Close(None));
    }
}

/// The SUBACK reason granting `qos`.
pub(super) fn granted(qos: QoS) -> ReasonCode {
    match qos {
        QoS::AtMostOnce => ReasonCode::Success,
        QoS::AtLeastOnce => ReasonCode::GrantedQoS1,
        QoS::ExactlyOnce => ReasonCode::GrantedQoS2,
    }
}

/// The session queue of `client_id`.
///
/// A client id is any UTF-8 string, but a queue name has at most 255 bytes
/// and no control characters, so the name is one of three shapes, each
/// injective and disjoint from the others (no two clients share a queue):
/// `mqtt.<id>` for ids of at most 200 bytes with no whitespace or control
/// character and not starting with `~` or `=` (every id accepted before,
/// so persisted sessions keep their queue); `mqtt.~<id>` with whitespace,
/// control characters and `%` percent-encoded, when that fits in 250
/// bytes; else `mqtt.=<SHA-256 of the id, hex>`.
pub fn queue_name(client_id: &str) -> String {
    if is_plain_id(client_id) {
        return format!("mqtt.{client_id}");
    }
    let mut escaped = String::from("mqtt.~");
    for c in client_id.chars() {
        if is_awkward(c) || c == '%' {
            for byte in c.encode_utf8(&mut [0; 4]).bytes() {
                escaped.push_str(&format!("%{byte:02X}"));
            }
        } else {
            escaped.push(c);
        }
        if escaped.len() > 250 {
            break;
        }
    }
    if escaped.len() <= 250 {
        return escaped;
    }
    let digest = sha2::Sha256::digest(client_id.as_bytes());
    let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
    format!("mqtt.={hex}")
}

/// Whether `queue` is [`queue_name`]`(client_id)`, without making the name
/// for the usual, plain id (this is asked of every delivery).
pub fn is_queue_of(queue: &str, client_id: &str) -> bool {
    match queue.strip_prefix("mqtt.") {
        Some(rest) if rest == client_id => is_plain_id(client_id),
        Some(rest) if rest.starts_with(['~', '=']) => queue_name(client_id) == queue,
        _ => false,
    }
}

/// An id whose queue is `mqtt.<id>`.
fn is_plain_id(client_id: &str) -> bool {
    client_id.len() <= 200 && !client_id.starts_with(['~', '=']) && !client_id.contains(is_awkward)
}

fn is_awkward(c: char) -> bool {
    c.is_control() || c.is_whitespace()
}

/// Headers recording the QoS a message was published with.
pub fn qos_headers(qos: QoS) -> Headers {
    Headers::from([(QOS_HEADER.to_owned(), (qos as u8).to_string())])
}

/// The engine's will for an MQTT will. Its properties become headers and
/// its message expiry the will's TTL ([`WILL_TTL_HEADER`]), as for a PUBLISH.
pub fn engine_will(will: &mqtt_codec::Will) -> Will {
    let publish = Publish {
        dup: false,
        qos: will.qos,
        retain: will.retain,
        topic: will.topic.as_str().into(),
        packet_id: 0,
        payload: will.payload.clone(),
        properties: will.properties.clone(),
    };
    let mut headers = qos_headers(will.qos);
    let ttl = to_headers(&publish, None, &mut headers);
    // The engine reads this header as the will's TTL: only the expiry sets it,
    // never a user property of the same name.
    headers.remove(WILL_TTL_HEADER);
    if let Some(ttl_ms) = ttl {
        headers.insert(WILL_TTL_HEADER.to_owned(), ttl_ms.to_string());
    }
    Will {
        topic: publish.topic.to_string(),
        payload: Payload(publish.payload),
        retain: will.retain,
        headers,
        delay_ms: 0,
    }
}

/// An acknowledgement packet body.
pub(super) fn ack(packet_id: u16, reason: ReasonCode) -> Ack {
    Ack { packet_id, reason, properties: Default::default() }
}

/// A PUBLISH with no properties, sharing the engine's topic.
pub(super) fn publish_packet(topic: &Arc<str>, payload: Bytes, qos: QoS, retain: bool, packet_id: u16) -> Publish {
    Publish { dup: false, qos, retain, topic: topic.clone(), packet_id, payload, properties: Default::default() }
}

/// The empty topic of a PUBLISH that names its topic by alias (shared, so
/// aliasing allocates nothing).
fn no_topic() -> Arc<str> {
    static EMPTY: std::sync::LazyLock<Arc<str>> = std::sync::LazyLock::new(|| Arc::from(""));
    EMPTY.clone()
}

#[cfg(test)]
mod tests {
    use super::{Step, is_queue_of, queue_name};
    use std::collections::HashSet;

    #[test]
    fn a_step_is_small_to_move() {
        eprintln!(
            "Step {} ClientFrame {}",
            std::mem::size_of::<Step>(),
            std::mem::size_of::<queue_core::protocol::ClientFrame>()
        );
    }

    #[test]
    fn plain_ids_keep_the_queue_name_they_always_had() {
        assert_eq!(queue_name("thermostat"), "mqtt.thermostat");
        assert_eq!(queue_name("a/b+c#"), "mqtt.a/b+c#");
    }

    #[test]
    fn any_id_gets_a_valid_queue_name_of_its_own() {
        let long = "x".repeat(65_535);
        let ids = [
            "clean retained",
            "clean%20retained",
            "~clean retained",
            "tab\there",
            "=abc",
            "~",
            "=",
            "Ünïcödé 💡",
            long.as_str(),
            "xx",
            &long[1..],
        ];
        let names: HashSet<String> = ids.iter().map(|id| queue_name(id)).collect();
        assert_eq!(names.len(), ids.len(), "no two ids share a queue: {names:?}");
        for (id, name) in ids.iter().map(|id| (id, queue_name(id))) {
            // What the engine accepts as a queue name.
            let valid = name.len() <= 255 && !name.contains(|c: char| c.is_control() || c.is_whitespace());
            assert!(valid, "{id:?} -> {name:?}");
        }
        assert_eq!(queue_name("clean retained"), "mqtt.~clean%20retained");
        // `is_queue_of` answers as comparing with the made name does.
        for queue in ids.iter().map(|id| queue_name(id)).chain(["mqtt.~".into(), "mqtt.".into(), "shared".into()]) {
            for id in ids {
                assert_eq!(is_queue_of(&queue, id), queue == queue_name(id), "{queue:?} of {id:?}");
            }
        }
    }
}
