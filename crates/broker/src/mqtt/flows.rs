//! MQTT behaviour through [`Sim`]: sessions on a real engine, a clock moved
//! by hand. Each test is a whole exchange as a client sees it.

use super::sim::Sim;
use bytes::Bytes;
use mqtt_codec::{
    Ack, Packet, ProtocolVersion, Publish, QoS, ReasonCode, RetainHandling, Subscribe, Subscription,
    SubscriptionOptions,
};
use std::num::NonZeroU16;

const V5: ProtocolVersion = ProtocolVersion::V5;

fn publish(topic: &str, qos: QoS, packet_id: u16, payload: &str) -> Publish {
    Publish {
        qos,
        topic: topic.into(),
        packet_id,
        payload: Bytes::copy_from_slice(payload.as_bytes()),
        ..Default::default()
    }
}

fn subscribe(packet_id: u16, filter: &str, options: SubscriptionOptions) -> Packet {
    let subscriptions = vec![Subscription { filter: filter.into(), options }];
    Packet::Subscribe(Subscribe { packet_id, subscriptions, properties: Default::default() })
}

fn at(qos: QoS) -> SubscriptionOptions {
    SubscriptionOptions { qos, ..Default::default() }
}

fn ack(packet_id: u16) -> Ack {
    Ack { packet_id, ..Default::default() }
}

/// The kind of each packet, and the PUBLISHes' payloads, as text.
fn summary(packets: &[Packet]) -> Vec<String> {
    let one = |p: &Packet| match p {
        Packet::Publish(p) => format!("PUBLISH {} q{} {}", p.topic, p.qos as u8, String::from_utf8_lossy(&p.payload)),
        other => format!("{:?} {}", other.kind(), packet_id(other)),
    };
    packets.iter().map(one).collect()
}

fn packet_id(packet: &Packet) -> u16 {
    match packet {
        Packet::PubAck(a) | Packet::PubRec(a) | Packet::PubRel(a) | Packet::PubComp(a) => a.packet_id,
        Packet::SubAck(s) => s.packet_id,
        Packet::Publish(p) => p.packet_id,
        _ => 0,
    }
}

fn publishes(packets: Vec<Packet>) -> Vec<Publish> {
    packets.into_iter().filter_map(|p| if let Packet::Publish(p) = p { Some(p) } else { None }).collect()
}

#[test]
fn qos_2_is_exactly_once_both_ways_even_when_the_publisher_resends() {
    let mut sim = Sim::new();
    let sub = sim.connect(V5, "sub", |_| {});
    sim.send(sub, subscribe(1, "t", at(QoS::ExactlyOnce)));
    assert_eq!(summary(&sim.take(sub)), ["SubAck 1"]);
    let publisher = sim.connect(V5, "pub", |_| {});
    sim.send(publisher, Packet::Publish(publish("t", QoS::ExactlyOnce, 7, "once")));
    assert_eq!(summary(&sim.take(publisher)), ["PubRec 7"]);
    // The PUBREC was lost: the client sends the PUBLISH again, with DUP.
    sim.send(publisher, Packet::Publish(Publish { dup: true, ..publish("t", QoS::ExactlyOnce, 7, "once") }));
    assert_eq!(summary(&sim.take(publisher)), ["PubRec 7"]);
    sim.send(publisher, Packet::PubRel(ack(7)));
    assert_eq!(summary(&sim.take(publisher)), ["PubComp 7"]);
    // After the PUBREL the id is free: a new message under it is a new message.
    sim.send(publisher, Packet::Publish(publish("t", QoS::ExactlyOnce, 7, "twice")));
    sim.send(publisher, Packet::PubRel(ack(7)));

    let got = publishes(sim.take(sub));
    let bodies: Vec<_> = got.iter().map(|p| (&p.payload[..], p.qos)).collect();
    assert_eq!(bodies, [(&b"once"[..], QoS::ExactlyOnce), (&b"twice"[..], QoS::ExactlyOnce)]);
    let (first, second) = (got[0].packet_id, got[1].packet_id);
    assert_ne!(first, second);
    sim.send(sub, Packet::PubRec(ack(first)));
    assert_eq!(summary(&sim.take(sub)), [format!("PubRel {first}")]);
    assert_eq!(sim.engine.queue_stats(&sim.session(sub).queue()).expect("queue").unacked, 2);
    sim.send(sub, Packet::PubComp(ack(first)));
    assert_eq!(sim.engine.queue_stats(&sim.session(sub).queue()).expect("queue").unacked, 1);
    // PUBREC of the other, twice (a resend): one PUBREL each, still one message.
    sim.send_all(sub, [Packet::PubRec(ack(second)), Packet::PubRec(ack(second))]);
    assert_eq!(summary(&sim.take(sub)), [format!("PubRel {second}"), format!("PubRel {second}")]);
    sim.send(sub, Packet::PubComp(ack(second)));
    let queue = sim.engine.queue_stats(&sim.session(sub).queue()).expect("queue");
    assert_eq!((queue.ready, queue.unacked, queue.counters.acked), (0, 0, 2));
    assert!(sim.take(sub).is_empty() && sim.closed(sub).is_none());
}

#[test]
fn a_client_over_the_receive_maximum_is_told_0x93_and_the_others_are_answered() {
    let mut sim = Sim::new();
    let publisher = sim.connect(V5, "busy", |s| s.receive_max = 2);
    // Three QoS 1 PUBLISHes in one read: the engine has answered none yet.
    let burst = (1..=3).map(|pid| Packet::Publish(publish("t", QoS::AtLeastOnce, pid, "x")));
    sim.send_all(publisher, burst);
    assert_eq!(sim.closed(publisher), Some(Some(ReasonCode::ReceiveMaximumExceeded)));
    // Within the maximum, one after another, is fine.
    let calm = sim.connect(V5, "calm", |s| s.receive_max = 2);
    for pid in 1..=5 {
        sim.send(calm, Packet::Publish(publish("t", QoS::AtLeastOnce, pid, "x")));
    }
    let acks = sim.take(calm);
    assert_eq!(acks.len(), 5);
    assert!(acks.iter().all(|a| matches!(a, Packet::PubAck(a) if a.reason == ReasonCode::NoMatchingSubscribers)));
    assert_eq!(sim.closed(calm), None);
}

#[test]
fn topic_aliases_work_both_ways_and_a_bad_one_closes_the_connection() {
    let mut sim = Sim::new();
    let sub = sim.connect(V5, "sub", |s| s.peer_alias_max = 1);
    sim.send(sub, subscribe(1, "a/#", at(QoS::AtMostOnce)));
    sim.take(sub);
    let publisher = sim.connect(V5, "pub", |_| {});
    let mut first = publish("a/long/topic", QoS::AtMostOnce, 0, "1");
    first.properties.topic_alias = NonZeroU16::new(3);
    let mut by_alias = publish("", QoS::AtMostOnce, 0, "2");
    by_alias.properties.topic_alias = NonZeroU16::new(3);
    let other = publish("a/other", QoS::AtMostOnce, 0, "3");
    sim.send_all(publisher, [first, by_alias.clone(), other, by_alias].map(Packet::Publish));
    assert_eq!(sim.closed(publisher), None);

    // The subscriber accepts one alias: the first topic gets it, the second
    // goes in full, and the first is sent by alias from then on.
    let got = publishes(sim.take(sub));
    let seen: Vec<_> = got.iter().map(|p| (&*p.topic, p.properties.topic_alias.map(|a| a.get()))).collect();
    assert_eq!(seen, [("a/long/topic", Some(1)), ("", Some(1)), ("a/other", None), ("", Some(1))]);

    let stranger = sim.connect(V5, "stranger", |_| {});
    let mut unknown = publish("", QoS::AtMostOnce, 0, "?");
    unknown.properties.topic_alias = NonZeroU16::new(9);
    sim.send(stranger, Packet::Publish(unknown));
    assert_eq!(sim.closed(stranger), Some(Some(ReasonCode::ProtocolError)));
    let greedy = sim.connect(V5, "greedy", |_| {});
    let mut too_high = publish("a/x", QoS::AtMostOnce, 0, "?");
    too_high.properties.topic_alias = NonZeroU16::new(super::session::TOPIC_ALIAS_MAX + 1);
    sim.send(greedy, Packet::Publish(too_high));
    assert_eq!(sim.closed(greedy), Some(Some(ReasonCode::TopicAliasInvalid)));
    assert!(sim.take(sub).is_empty(), "nothing from the refused publishes");
}

#[test]
fn no_local_keeps_a_clients_own_messages_from_it_and_only_those() {
    let mut sim = Sim::new();
    let lamp = sim.connect(V5, "lamp", |_| {});
    let own = SubscriptionOptions { no_local: true, ..at(QoS::AtLeastOnce) };
    sim.send(lamp, subscribe(1, "home/lamp", own));
    sim.take(lamp);
    sim.send(lamp, Packet::Publish(publish("home/lamp", QoS::AtLeastOnce, 1, "mine")));
    let other = sim.connect(V5, "phone", |_| {});
    sim.send(other, Packet::Publish(publish("home/lamp", QoS::AtLeastOnce, 1, "theirs")));
    assert_eq!(summary(&sim.take(lamp)), ["PubAck 1", "PUBLISH home/lamp q1 theirs"]);
    // The withheld copy was settled, not left unacked in the session queue.
    let queue = sim.engine.queue_stats(&sim.session(lamp).queue()).expect("queue");
    assert_eq!((queue.ready, queue.unacked), (0, 1));
}

#[test]
fn retained_state_keeps_its_properties_counts_down_its_expiry_and_obeys_retain_handling() {
    let mut sim = Sim::new();
    let sensor = sim.connect(V5, "sensor", |_| {});
    let mut state = Publish { retain: true, ..publish("home/hall/temp", QoS::AtLeastOnce, 1, "21.5") };
    state.properties.content_type = Some("text/plain".into());
    state.properties.user_properties.push(("unit".into(), "celsius".into()));
    state.properties.message_expiry_interval = Some(10);
    sim.send(sensor, Packet::Publish(state));
    sim.advance(4_000);

    let panel = sim.connect(V5, "panel", |_| {});
    sim.send(panel, subscribe(1, "home/#", at(QoS::AtLeastOnce)));
    let got = sim.take(panel);
    assert_eq!(summary(&got), ["SubAck 1", "PUBLISH home/hall/temp q1 21.5"]);
    let retained = &publishes(got)[0];
    assert!(retained.retain, "a replay at SUBSCRIBE has RETAIN set");
    assert_eq!(retained.properties.content_type.as_deref(), Some("text/plain"));
    assert_eq!(retained.properties.user_properties, [("unit".into(), "celsius".into())]);
    assert_eq!(retained.properties.message_expiry_interval, Some(6), "10 s less the 4 that passed");

    // Subscribing again: SendIfNew sends nothing, DoNotSend nothing ever,
    // SendAtSubscribe sends it again.
    let if_new = SubscriptionOptions { retain_handling: RetainHandling::SendIfNew, ..at(QoS::AtLeastOnce) };
    sim.send(panel, subscribe(2, "home/#", if_new));
    let never = SubscriptionOptions { retain_handling: RetainHandling::DoNotSend, ..at(QoS::AtLeastOnce) };
    sim.send(panel, subscribe(3, "home/hall/#", never));
    assert_eq!(summary(&sim.take(panel)), ["SubAck 2", "SubAck 3"]);
    sim.send(panel, subscribe(4, "home/#", at(QoS::AtMostOnce)));
    assert_eq!(summary(&sim.take(panel)), ["SubAck 4", "PUBLISH home/hall/temp q0 21.5"]);

    // Past its expiry the state is gone for new subscribers.
    sim.advance(7_000);
    let late = sim.connect(V5, "late", |_| {});
    sim.send(late, subscribe(1, "home/#", at(QoS::AtLeastOnce)));
    assert_eq!(summary(&sim.take(late)), ["SubAck 1"]);
}

#[test]
fn a_message_that_waited_in_the_queue_arrives_with_what_is_left_of_its_expiry() {
    let mut sim = Sim::new();
    // Room for one unacknowledged delivery: the second message waits.
    let phone = sim.connect(V5, "phone", |s| {
        s.lifetime = super::lifetime::Lifetime::Persistent(None);
        s.prefetch = 1;
    });
    sim.send(phone, subscribe(1, "alerts", at(QoS::AtLeastOnce)));
    sim.take(phone);
    let siren = sim.connect(V5, "siren", |_| {});
    let mut first = publish("alerts", QoS::AtLeastOnce, 1, "first");
    first.properties.message_expiry_interval = Some(60);
    let mut second = publish("alerts", QoS::AtLeastOnce, 2, "second");
    second.properties.message_expiry_interval = Some(60);
    sim.send_all(siren, [first, second].map(Packet::Publish));
    let got = publishes(sim.take(phone));
    assert_eq!(summary(&got.iter().cloned().map(Packet::Publish).collect::<Vec<_>>()), ["PUBLISH alerts q1 first"]);
    assert_eq!(got[0].properties.message_expiry_interval, Some(60), "sent at once");
    sim.advance(25_000);
    assert!(sim.take(phone).is_empty(), "the window is full");
    sim.send(phone, Packet::PubAck(ack(got[0].packet_id)));
    let next = publishes(sim.take(phone));
    assert_eq!(next.len(), 1);
    assert_eq!(&next[0].payload[..], b"second");
    assert_eq!(next[0].properties.message_expiry_interval, Some(35), "60 s less the 25 it waited");
    // One that outlives its expiry in the queue is never sent.
    let mut brief = publish("alerts", QoS::AtLeastOnce, 3, "stale");
    brief.properties.message_expiry_interval = Some(5);
    sim.send(siren, Packet::Publish(brief));
    sim.advance(6_000);
    sim.send(phone, Packet::PubAck(ack(next[0].packet_id)));
    assert!(sim.take(phone).is_empty(), "expired while waiting");
}
