//! Per-topic access control with an ACL file in Mosquitto's syntax, checked
//! with Mosquitto's own clients where they can tell (messages that arrive or
//! not, SUBACK codes with `-d`) and with a raw client for exact reason codes.

mod common;

use bytes::Bytes;
use common::mqtt::{Raw, connect};
use common::{Broker, within};
use mqtt_codec::{Packet, ProtocolVersion, Publish, QoS, ReasonCode, Subscribe, Subscription, Will};
use serde_json::json;
use std::path::{Path, PathBuf};

const ACL: &str = "\
# The living room's wall panel: its own room only.
user room
topic readwrite home/livingroom/#

# The home owner's phone: everything in the home but the door lock.
user alice
topic read home/#
topic write home/livingroom/#
topic deny home/hall/door/#

user admin
topic readwrite #

# Every device may report its own state, and read its user's inbox.
pattern write devices/%c/state
pattern read inbox/%u/#
";

/// A password file with `room`, `alice` and `admin` (password: the name
/// twice), an ACL file, and a broker using both.
struct Home {
    broker: Broker,
    acl: PathBuf,
    _dir: tempfile::TempDir,
}

impl Home {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("a directory");
        let passwd = dir.path().join("passwd");
        common::mosquitto_passwd(&passwd, &[("room", "roomroom"), ("alice", "alicealice"), ("admin", "adminadmin")]);
        let acl = dir.path().join("acl");
        std::fs::write(&acl, ACL).expect("written");
        let args = ["--password-file", path(&passwd), "--acl-file", path(&acl)];
        let broker = Broker::start_with(&args).await;
        Self { broker, acl, _dir: dir }
    }

    async fn raw(&self, version: ProtocolVersion, user: &str, client_id: &str, will: Option<Will>) -> Raw {
        let mut c = connect(version, client_id, 30);
        c.username = Some(user.to_owned());
        c.password = Some(Bytes::from(format!("{user}{user}")));
        c.will = will;
        self.broker.raw_mqtt(c).await
    }

    async fn logged_in(&self, version: ProtocolVersion, user: &str, client_id: &str) -> Raw {
        let mut raw = self.raw(version, user, client_id, None).await;
        match raw.recv().await {
            Some(Packet::ConnAck(ack)) => assert_eq!(ack.reason, ReasonCode::Success, "{user} logs in"),
            other => panic!("expected CONNACK, got {other:?}"),
        }
        raw
    }

    fn creds(user: &str) -> [String; 4] {
        ["-u".into(), user.into(), "-P".into(), format!("{user}{user}")]
    }

    async fn publish(&self, user: &str, extra: &[&str]) {
        let creds = Self::creds(user);
        let creds: Vec<&str> = creds.iter().map(String::as_str).collect();
        self.broker.mosquitto_pub(&[&creds[..], extra].concat()).await;
    }

    async fn sub(&self, user: &str, extra: &[&str]) -> common::mqtt::Sub {
        let creds = Self::creds(user);
        let creds: Vec<&str> = creds.iter().map(String::as_str).collect();
        self.broker.mosquitto_sub(&[&creds[..], extra].concat()).await
    }

    async fn metric(&self, action: &str) -> u64 {
        let (_, body) = self.broker.get("/metrics").await;
        let line = format!("hearth_acl_denied_total{{action=\"{action}\"}} ");
        let found = body.lines().find_map(|l| l.strip_prefix(&line)).unwrap_or_else(|| panic!("no {line} in metrics"));
        found.parse().expect("a count")
    }
}

fn path(p: &Path) -> &str {
    p.to_str().expect("UTF-8")
}

fn subscribe(packet_id: u16, filters: &[&str]) -> Packet {
    let subscriptions = filters
        .iter()
        .map(|f| Subscription { filter: (*f).to_owned(), options: mqtt_codec::SubscriptionOptions::default() })
        .collect();
    Packet::Subscribe(Subscribe { packet_id, subscriptions, properties: Default::default() })
}

fn publish(topic: &str, qos: QoS, packet_id: u16) -> Packet {
    Packet::Publish(Publish {
        dup: false,
        qos,
        retain: false,
        topic: topic.into(),
        packet_id,
        payload: Bytes::from_static(b"open"),
        properties: Default::default(),
    })
}

#[tokio::test]
async fn a_room_panel_cannot_unlock_the_door_nor_listen_to_the_whole_home() {
    let home = Home::start().await;
    let mut everything = home.sub("admin", &["-t", "#", "-q", "1"]).await;
    // Mosquitto's client publishes what the panel may and may not: QoS 1 in
    // MQTT 3.1.1 is acknowledged either way (the spec has no refusal code)
    // and the forbidden one is dropped.
    home.publish("room", &["-t", "home/hall/door/lock/set", "-m", "open", "-q", "1"]).await;
    home.publish("room", &["-t", "home/livingroom/lamp/set", "-m", "on", "-q", "1"]).await;
    assert_eq!(everything.next().await, "home/livingroom/lamp/set on", "only the allowed publish arrives");
    everything.expect_silence("the door command was dropped").await;
    drop(everything);

    // SUBACK says which subscriptions were refused: 0x80 in 3.1.1, 0x87 in 5.
    for (version, refused) in
        [(ProtocolVersion::V311, ReasonCode::UnspecifiedError), (ProtocolVersion::V5, ReasonCode::NotAuthorized)]
    {
        let mut panel = home.logged_in(version, "room", "panel").await;
        panel.send(&subscribe(1, &["home/#", "home/livingroom/+/temperature"])).await;
        match panel.recv().await {
            Some(Packet::SubAck(ack)) => assert_eq!(ack.reasons, vec![refused, ReasonCode::Success], "{version:?}"),
            other => panic!("expected SUBACK, got {other:?}"),
        }
        home.publish("admin", &["-t", "home/hall/door/lock", "-m", "locked"]).await;
        home.publish("admin", &["-t", "home/livingroom/sofa/temperature", "-m", "21"]).await;
        match panel.recv().await {
            Some(Packet::Publish(p)) => assert_eq!(&*p.topic, "home/livingroom/sofa/temperature", "{version:?}"),
            other => panic!("expected the allowed message first and only, got {other:?}"),
        }
    }
    // A QoS 1 publish refused in MQTT 5 gets PUBACK 0x87.
    let mut everything = home.sub("admin", &["-t", "#", "-q", "1"]).await;
    let mut panel = home.logged_in(ProtocolVersion::V5, "room", "panel-5").await;
    panel.send(&publish("home/hall/door/lock/set", QoS::AtLeastOnce, 7)).await;
    match panel.recv().await {
        Some(Packet::PubAck(ack)) => assert_eq!((ack.packet_id, ack.reason), (7, ReasonCode::NotAuthorized)),
        other => panic!("expected PUBACK 0x87, got {other:?}"),
    }
    everything.expect_silence("nothing refused reaches anyone").await;
    assert!(home.metric("publish").await >= 2, "denied publishes are counted");
    assert!(home.metric("subscribe").await >= 2, "denied subscriptions are counted");
}

#[tokio::test]
async fn a_deny_carved_out_of_a_wider_read_holds_for_live_and_retained_messages() {
    let home = Home::start().await;
    home.publish("admin", &["-t", "home/hall/door/lock", "-m", "locked", "-r"]).await;
    home.publish("admin", &["-t", "home/kitchen/light", "-m", "on", "-r"]).await;
    let mut phone = home.sub("alice", &["-t", "home/#"]).await;
    assert_eq!(phone.next().await, "home/kitchen/light on", "only the readable retained state is replayed");
    home.publish("admin", &["-t", "home/hall/door/lock", "-m", "unlocked"]).await;
    home.publish("admin", &["-t", "home/hall/light", "-m", "off"]).await;
    assert_eq!(phone.next().await, "home/hall/light off");
    phone.expect_silence("the door lock stays hidden").await;
    assert!(home.metric("receive").await >= 1, "withheld deliveries are counted");
}

#[tokio::test]
async fn patterns_give_each_client_its_own_topics() {
    let home = Home::start().await;
    let mut everything = home.sub("admin", &["-t", "devices/#", "-t", "inbox/#"]).await;
    home.publish("room", &["-i", "thermostat", "-t", "devices/thermostat/state", "-m", "20"]).await;
    home.publish("room", &["-i", "thermostat", "-t", "devices/lock/state", "-m", "spoofed"]).await;
    assert_eq!(everything.next().await, "devices/thermostat/state 20");
    // %u: alice may read her own inbox and no one else's.
    let mut inbox = home.logged_in(ProtocolVersion::V5, "alice", "phone").await;
    inbox.send(&subscribe(1, &["inbox/alice/#", "inbox/room/#"])).await;
    match inbox.recv().await {
        Some(Packet::SubAck(ack)) => assert_eq!(ack.reasons, vec![ReasonCode::Success, ReasonCode::NotAuthorized]),
        other => panic!("expected SUBACK, got {other:?}"),
    }
    everything.expect_silence("the spoofed state was dropped").await;
}

#[tokio::test]
async fn a_will_on_a_forbidden_topic_is_refused_at_connect() {
    let home = Home::start().await;
    let will = |topic: &str| Will {
        topic: topic.into(),
        payload: Bytes::from_static(b"gone"),
        qos: QoS::AtMostOnce,
        retain: false,
        properties: Default::default(),
    };
    for (version, code) in
        [(ProtocolVersion::V5, ReasonCode::NotAuthorized), (ProtocolVersion::V311, ReasonCode::NotAuthorized)]
    {
        let mut raw = home.raw(version, "room", "panel", Some(will("home/hall/door/lock/set"))).await;
        match raw.recv().await {
            Some(Packet::ConnAck(ack)) => assert_eq!(ack.reason, code, "{version:?}"),
            other => panic!("expected a refusing CONNACK, got {other:?}"),
        }
    }
    let mut raw = home.raw(ProtocolVersion::V5, "room", "panel", Some(will("home/livingroom/panel/alive"))).await;
    assert!(matches!(raw.recv().await, Some(Packet::ConnAck(ack)) if ack.reason == ReasonCode::Success));
    assert_eq!(home.metric("will").await, 2);
}

#[tokio::test]
async fn native_clients_get_not_authorized_and_a_sighup_reloads_the_rules() {
    let home = Home::start().await;
    let mut ws = home.broker.connect().await;
    ws.hello(json!({"username": "room", "password": "roomroom"})).await;
    let reply = ws.publish(json!({"topic": "home/hall/door/lock/set"}), "open").await;
    assert_eq!(reply["code"], "not_authorized", "{reply}");
    assert!(reply["message"].as_str().is_some_and(|m| m.contains("may not publish to")), "{reply}");
    let id = ws.id();
    let reply = ws.request(id, json!({"type": "declare", "id": id, "queue": "jobs"})).await;
    assert_eq!(reply["code"], "not_authorized", "queues need `queue` rules: {reply}");

    // The owner lets the panel open the door after all, and tells Hearth.
    std::fs::write(&home.acl, format!("{ACL}\nuser room\ntopic write home/hall/door/lock/set\n")).expect("written");
    let status = std::process::Command::new("kill").args(["-HUP", &home.broker.pid().to_string()]).status();
    assert!(status.expect("kill runs").success());
    within("the new rules", async {
        loop {
            let reply = ws.publish(json!({"topic": "home/hall/door/lock/set"}), "open").await;
            if reply["type"] == "confirm" {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    // A broken file on the next SIGHUP keeps the rules in force.
    std::fs::write(&home.acl, "topic sometimes home/#\n").expect("written");
    let status = std::process::Command::new("kill").args(["-HUP", &home.broker.pid().to_string()]).status();
    assert!(status.expect("kill runs").success());
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let reply = ws.publish(json!({"topic": "home/hall/door/lock/set"}), "open").await;
    assert_eq!(reply["type"], "confirm", "{reply}");
}

#[tokio::test]
async fn a_broken_acl_file_stops_the_start_naming_the_line() {
    let dir = tempfile::tempdir().expect("a directory");
    let acl = dir.path().join("acl");
    std::fs::write(&acl, "user alice\ntopic sometimes home/#\n").expect("written");
    let out = common::run_hearth(&[
        "serve",
        "--listen",
        "127.0.0.1:0",
        "--mqtt-listen",
        "127.0.0.1:0",
        "--amqp-listen",
        "127.0.0.1:0",
        "--in-memory",
        "--acl-file",
        path(&acl),
    ])
    .await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains("line 2: unknown access `sometimes`"), "{stderr}");
}
