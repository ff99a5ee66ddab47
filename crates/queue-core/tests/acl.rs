//! The access control list in the engine: each request a client may make is
//! checked for the user its connection was identified as.

mod common;

use common::Harness;
use queue_core::acl::Acl;
use queue_core::protocol::{ErrorCode, ServerFrame};
use queue_core::{Input, Role};
use serde_json::json;
use std::sync::Arc;

const RULES: &str = "\
topic read public/#

user alice
topic readwrite home/livingroom/#
topic read home/#
topic deny home/hall/door/#
queue all alice.*
queue read jobs

user admin
topic readwrite #
queue all *

pattern write devices/%c/state
";

fn harness() -> Harness {
    let mut h = Harness::new();
    h.engine.set_acl(Some(Arc::new(Acl::parse(RULES).expect("the rules parse"))));
    h
}

fn login(h: &mut Harness, conn: u64, user: Option<&str>, role: Role) {
    h.connect(conn);
    h.input(Input::Identify { conn, user: user.map(str::to_owned), role });
}

fn publish(h: &mut Harness, conn: u64, id: u64, topic: &str) {
    h.send(conn, json!({"type": "publish", "id": id, "topic": topic, "payload": "x"}));
}

#[test]
fn a_user_may_publish_where_allowed_and_gets_not_authorized_elsewhere() {
    let mut h = harness();
    login(&mut h, 1, Some("alice"), Role::Client);
    publish(&mut h, 1, 1, "home/livingroom/lamp/set");
    publish(&mut h, 1, 2, "home/hall/door/lock/set");
    let frames = h.take(1);
    assert!(matches!(frames[0], ServerFrame::Confirm { id: 1, .. }), "{frames:?}");
    match &frames[1] {
        ServerFrame::Error { id: Some(2), code: ErrorCode::NotAuthorized, message } => {
            assert!(message.contains("user `alice` may not publish to `home/hall/door/lock/set`"), "{message}");
        }
        other => panic!("expected not_authorized, got {other:?}"),
    }
    assert_eq!(h.engine.counters().published, 1);
    assert_eq!(h.engine.counters().denied, 1);
    assert_eq!(h.denied.len(), 1);
    assert_eq!((h.denied[0].action, h.denied[0].user.as_deref()), ("publish", Some("alice")));
}

#[test]
fn a_subscription_wider_than_the_rules_is_refused_and_gets_nothing() {
    let mut h = harness();
    login(&mut h, 1, Some("alice"), Role::Client);
    login(&mut h, 2, Some("admin"), Role::Client);
    h.send(1, json!({"type": "subscribe", "id": 1, "topic": "#"}));
    assert_eq!(h.errors(1), vec![ErrorCode::NotAuthorized]);
    publish(&mut h, 2, 1, "home/livingroom/lamp");
    assert!(h.take(1).is_empty(), "a refused subscription receives nothing");
}

#[test]
fn a_denied_topic_inside_a_wider_read_rule_is_withheld_per_message() {
    let mut h = harness();
    login(&mut h, 1, Some("alice"), Role::Client);
    login(&mut h, 2, Some("admin"), Role::Client);
    h.send(1, json!({"type": "subscribe", "id": 1, "topic": "home/#", "ack": "auto"}));
    h.take(1);
    publish(&mut h, 2, 1, "home/hall/door/lock");
    publish(&mut h, 2, 2, "home/kitchen/light");
    let topics: Vec<String> = h.deliveries(1).into_iter().map(|d| d.topic.to_string()).collect();
    assert_eq!(topics, vec!["home/kitchen/light"]);
    let c = h.engine.counters();
    assert_eq!((c.denied, c.dropped), (1, 1), "the withheld copy is counted as denied and dropped");
    assert_eq!(h.denied.last().map(|d| d.action), Some("receive"));
}

#[test]
fn retained_state_is_replayed_only_where_the_subscriber_may_read() {
    let mut h = harness();
    login(&mut h, 2, Some("admin"), Role::Client);
    for (i, topic) in ["home/hall/door/lock", "home/kitchen/light"].into_iter().enumerate() {
        h.send(2, json!({"type": "publish", "id": i, "topic": topic, "payload": "on", "retain": true}));
    }
    login(&mut h, 1, Some("alice"), Role::Client);
    h.send(1, json!({"type": "subscribe", "id": 1, "topic": "home/#", "ack": "auto"}));
    let topics: Vec<String> = h.deliveries(1).into_iter().map(|d| d.topic.to_string()).collect();
    assert_eq!(topics, vec!["home/kitchen/light"]);
    assert!(h.engine.may_read(1, "home/kitchen/light"));
    assert!(!h.engine.may_read(1, "home/hall/door/lock"));
}

#[test]
fn anonymous_clients_get_the_rules_before_any_user_line() {
    let mut h = harness();
    h.connect(1); // never identified: anonymous
    h.send(1, json!({"type": "subscribe", "id": 1, "topic": "public/#"}));
    h.send(1, json!({"type": "subscribe", "id": 2, "topic": "home/#"}));
    publish(&mut h, 1, 3, "public/news");
    let codes: Vec<Option<ErrorCode>> = h
        .take(1)
        .into_iter()
        .filter_map(|f| match f {
            ServerFrame::Subscribed { .. } | ServerFrame::Confirm { .. } => Some(None),
            ServerFrame::Error { code, .. } => Some(Some(code)),
            _ => None,
        })
        .collect();
    assert_eq!(codes, vec![None, Some(ErrorCode::NotAuthorized), Some(ErrorCode::NotAuthorized)]);
}

#[test]
fn patterns_give_each_device_its_own_topic() {
    let mut h = harness();
    login(&mut h, 1, None, Role::Adapter);
    h.send(1, json!({"type": "hello", "client_id": "thermostat"}));
    publish(&mut h, 1, 1, "devices/thermostat/state");
    publish(&mut h, 1, 2, "devices/lock/state");
    let frames = h.take(1);
    assert!(matches!(frames[1], ServerFrame::Confirm { id: 1, .. }), "{frames:?}");
    assert!(matches!(frames[2], ServerFrame::Error { id: Some(2), code: ErrorCode::NotAuthorized, .. }));
}

#[test]
fn a_will_the_user_may_not_publish_is_refused_at_hello() {
    let mut h = harness();
    login(&mut h, 1, Some("alice"), Role::Client);
    let will = json!({"topic": "home/hall/door/lock/set", "payload": "open"});
    h.send(1, json!({"type": "hello", "id": 1, "will": will}));
    assert_eq!(h.errors(1), vec![ErrorCode::NotAuthorized]);
    assert_eq!(h.denied.last().map(|d| d.action), Some("will"));
    // Nothing was set: losing the connection publishes nothing.
    login(&mut h, 2, Some("admin"), Role::Client);
    h.send(2, json!({"type": "subscribe", "id": 1, "topic": "#", "ack": "auto"}));
    h.take(2);
    h.disconnect(1);
    assert!(h.deliveries(2).is_empty());
}

#[test]
fn a_will_allowed_at_hello_but_not_when_due_is_not_published() {
    let mut h = harness();
    login(&mut h, 1, Some("alice"), Role::Client);
    let will = json!({"topic": "home/livingroom/alive", "payload": "gone"});
    h.send(1, json!({"type": "hello", "id": 1, "will": will}));
    login(&mut h, 2, Some("admin"), Role::Client);
    h.send(2, json!({"type": "subscribe", "id": 1, "topic": "#", "ack": "auto"}));
    h.take(2);
    // The rules change (a reload) before the connection is lost.
    h.engine.set_acl(Some(Arc::new(Acl::parse("user admin\ntopic readwrite #\n").expect("the rules parse"))));
    h.disconnect(1);
    assert!(h.deliveries(2).is_empty());
    assert_eq!(h.denied.last().map(|d| d.action), Some("will"));
}

#[test]
fn native_queue_operations_need_queue_rules() {
    let mut h = harness();
    login(&mut h, 1, Some("alice"), Role::Client);
    h.send(1, json!({"type": "declare", "id": 1, "queue": "alice.inbox"}));
    h.send(1, json!({"type": "declare", "id": 2, "queue": "jobs"}));
    h.send(1, json!({"type": "bind", "id": 3, "queue": "alice.inbox", "filter": "home/livingroom/#"}));
    h.send(1, json!({"type": "bind", "id": 4, "queue": "alice.inbox", "filter": "#"}));
    h.send(1, json!({"type": "publish", "id": 5, "queue": "jobs", "payload": "x"}));
    h.send(1, json!({"type": "delete", "id": 6, "queue": "alice.inbox"}));
    let outcome: Vec<(Option<u64>, bool)> = h
        .take(1)
        .into_iter()
        .filter_map(|f| match f {
            ServerFrame::Declared { id, .. } | ServerFrame::Ok { id } => Some((Some(id), true)),
            ServerFrame::Error { id, code, .. } => Some((id, code != ErrorCode::NotAuthorized)),
            _ => None,
        })
        .collect();
    assert_eq!(
        outcome,
        vec![(Some(1), true), (Some(2), false), (Some(3), true), (Some(4), false), (Some(5), false), (Some(6), true)]
    );
    let actions: Vec<&str> = h.denied.iter().map(|d| d.action).collect();
    assert_eq!(actions, vec!["configure", "subscribe", "publish_queue"]);
}

#[test]
fn an_adapter_manages_its_own_queues_but_not_its_topics() {
    let mut h = harness();
    login(&mut h, 1, Some("alice"), Role::Adapter);
    h.send(1, json!({"type": "declare", "id": 1, "queue": "mqtt.phone"}));
    h.send(1, json!({"type": "bind", "id": 2, "queue": "mqtt.phone", "filter": "home/livingroom/#"}));
    h.send(1, json!({"type": "bind", "id": 3, "queue": "mqtt.phone", "filter": "#"}));
    let errors: Vec<(Option<u64>, ErrorCode)> = h
        .take(1)
        .into_iter()
        .filter_map(|f| match f {
            ServerFrame::Error { id, code, .. } => Some((id, code)),
            _ => None,
        })
        .collect();
    assert_eq!(errors, vec![(Some(3), ErrorCode::NotAuthorized)]);
}

#[test]
fn the_broker_itself_is_not_checked_and_no_acl_means_no_checks() {
    let mut h = harness();
    login(&mut h, 1, None, Role::Internal);
    publish(&mut h, 1, 1, "home/hall/door/lock/set");
    assert!(matches!(h.take(1)[0], ServerFrame::Confirm { id: 1, .. }));
    h.engine.set_acl(None);
    h.connect(2);
    publish(&mut h, 2, 2, "anything/at/all");
    assert!(matches!(h.take(2)[0], ServerFrame::Confirm { id: 2, .. }));
    assert_eq!(h.engine.counters().denied, 0);
}
