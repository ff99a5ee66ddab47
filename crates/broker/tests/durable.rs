//! Durable for real: the broker is killed with SIGKILL while MQTT and
//! WebSocket publishers stream into a persistent session and a durable
//! queue, restarted on the same data directory, killed again; at the end
//! every confirmed message is delivered, a duplicate only ever as a flagged
//! redelivery (WebSocket `redelivered`, MQTT DUP), and retained state and
//! sessions are back.

mod common;

use bytes::{Bytes, BytesMut};
use common::mqtt::connect;
use common::{Broker, QUIET, WAIT, within};
use futures_util::{SinkExt, StreamExt};
use mqtt_codec::{
    Ack, Packet, ProtocolVersion, Publish, QoS, ReasonCode, Subscribe, Subscription, SubscriptionOptions,
};
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;

/// Kill rounds, and how long publishers run at most before each kill.
const ROUNDS: usize = 4;
const MAX_RUN: Duration = Duration::from_millis(400);

/// Flags for every broker here: session queues must not drop what the test counts.
const FLAGS: &[&str] = &["--mqtt-max-queued-messages", "1000000"];

/// A delay in 100 ms..MAX_RUN that differs from run to run (no rand crate needed).
fn random_delay(round: usize) -> Duration {
    let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.subsec_nanos());
    let spread = MAX_RUN.as_millis() as u64 - 100;
    Duration::from_millis(100 + (u64::from(nanos) / 7 + round as u64 * 97) % spread)
}

/// Publishes `round-N` messages to the durable queue over WebSocket, 32 in
/// flight, until the broker dies; returns the payloads it saw confirmed.
async fn ws_publisher(broker_addr: std::net::SocketAddr, round: usize) -> BTreeSet<String> {
    let mut confirmed = BTreeSet::new();
    let Ok((mut ws, _)) = tokio_tungstenite::connect_async(format!("ws://{broker_addr}/ws")).await else {
        return confirmed;
    };
    let mut sent: BTreeMap<u64, String> = BTreeMap::new();
    let mut next = 1u64;
    loop {
        while sent.len() < 32 {
            let payload = format!("ws-{round}-{next}");
            let frame = json!({"type": "publish", "id": next, "queue": "orders", "payload": payload});
            if ws.send(Message::text(frame.to_string())).await.is_err() {
                return confirmed;
            }
            sent.insert(next, payload);
            next += 1;
        }
        match ws.next().await {
            Some(Ok(Message::Text(text))) => {
                let frame: Value = serde_json::from_str(text.as_str()).expect("the broker sends JSON");
                if frame["type"] == "confirm" {
                    let id = frame["id"].as_u64().expect("a confirm has an id");
                    assert_eq!(frame["routed"], 1, "{frame}");
                    confirmed.insert(sent.remove(&id).expect("a confirm for a publish sent"));
                }
            }
            Some(Ok(_)) => {}
            _ => return confirmed,
        }
    }
}

/// Publishes `mqtt-N` QoS 1 messages on `crash/N`, 32 in flight, until the
/// broker dies; returns the payloads whose PUBACK arrived.
async fn mqtt_publisher(mqtt: std::net::SocketAddr, round: usize) -> BTreeSet<String> {
    let mut confirmed = BTreeSet::new();
    let Ok(mut tcp) = tokio::net::TcpStream::connect(mqtt).await else { return confirmed };
    let mut out = BytesMut::new();
    let hello = Packet::Connect(Box::new(connect(ProtocolVersion::V311, &format!("pub-{round}"), 0)));
    mqtt_codec::encode(&hello, ProtocolVersion::V311, &mut out).expect("encodes");
    let mut inbox = BytesMut::new();
    let mut in_flight: BTreeMap<u16, String> = BTreeMap::new();
    let mut next = 1u32;
    loop {
        while in_flight.len() < 32 {
            let pid = (next % 60_000 + 1) as u16;
            let payload = format!("mqtt-{round}-{next}");
            let publish = Publish {
                dup: false,
                qos: QoS::AtLeastOnce,
                retain: false,
                topic: format!("crash/{round}").into(),
                packet_id: pid,
                payload: Bytes::from(payload.clone()),
                properties: Default::default(),
            };
            mqtt_codec::encode(&Packet::Publish(publish), ProtocolVersion::V311, &mut out).expect("encodes");
            in_flight.insert(pid, payload);
            next += 1;
        }
        if tcp.write_all(&out).await.is_err() {
            return confirmed;
        }
        out.clear();
        match tcp.read_buf(&mut inbox).await {
            Ok(n) if n > 0 => {}
            _ => return confirmed,
        }
        while let Ok(Some(packet)) = mqtt_codec::decode(&mut inbox, ProtocolVersion::V311, u32::MAX) {
            if let Packet::PubAck(ack) = packet {
                confirmed.insert(in_flight.remove(&ack.packet_id).expect("a PUBACK for a PUBLISH sent"));
            }
        }
    }
}

/// Connects the persistent subscriber (3.1.1, clean session false).
async fn subscriber(broker: &Broker, subscribe: bool) -> common::mqtt::Raw {
    let mut hello = connect(ProtocolVersion::V311, "crash-sub", 0);
    hello.clean_start = false;
    let mut raw = broker.raw_mqtt(hello).await;
    assert!(matches!(raw.recv().await, Some(Packet::ConnAck(_))));
    if subscribe {
        let options = SubscriptionOptions { qos: QoS::AtLeastOnce, ..Default::default() };
        let subscriptions = vec![Subscription { filter: "crash/#".into(), options }];
        raw.send(&Packet::Subscribe(Subscribe { packet_id: 1, subscriptions, properties: Default::default() })).await;
        assert!(matches!(raw.recv().await, Some(Packet::SubAck(_))));
    }
    raw
}

/// Everything the resumed session delivers until it falls quiet: payload → DUP flags seen.
async fn drain_mqtt(raw: &mut common::mqtt::Raw) -> BTreeMap<String, Vec<bool>> {
    let mut got: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    let deadline = Instant::now() + WAIT * 3;
    while Instant::now() < deadline {
        let Ok(packet) = tokio::time::timeout(QUIET * 3, raw.recv()).await else { break };
        match packet {
            Some(Packet::Publish(p)) => {
                raw.send(&Packet::PubAck(Ack {
                    packet_id: p.packet_id,
                    reason: ReasonCode::Success,
                    properties: Default::default(),
                }))
                .await;
                got.entry(String::from_utf8_lossy(&p.payload).into_owned()).or_default().push(p.dup);
            }
            Some(_) => {}
            None => break,
        }
    }
    got
}

/// Everything the durable queue delivers until it falls quiet: payload → redelivered flags seen.
async fn drain_ws(broker: &Broker) -> BTreeMap<String, Vec<bool>> {
    let mut ws = broker.connect().await;
    ws.subscribe("orders", 500).await;
    let mut got: BTreeMap<String, Vec<bool>> = BTreeMap::new();
    while let Ok(frame) = tokio::time::timeout(QUIET * 3, ws.recv()).await {
        if frame["type"] == "deliver" {
            ws.ack(&frame).await;
            let payload = common::payload(&frame).to_owned();
            got.entry(payload).or_default().push(frame["redelivered"] == true);
        }
    }
    got
}

/// Every confirmed payload arrived; any second copy was flagged.
fn check(kind: &str, confirmed: &BTreeSet<String>, got: &BTreeMap<String, Vec<bool>>) {
    let lost: Vec<&String> = confirmed.iter().filter(|p| !got.contains_key(*p)).collect();
    assert!(
        lost.is_empty(),
        "{kind}: {} of {} confirmed messages lost, e.g. {:?}",
        lost.len(),
        confirmed.len(),
        &lost[..lost.len().min(5)]
    );
    for (payload, flags) in got {
        for flag in &flags[1..] {
            assert!(flag, "{kind}: {payload} was delivered twice without a redelivery flag: {flags:?}");
        }
    }
}

async fn start(dir: &Path) -> Broker {
    Broker::start_in(dir, FLAGS).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_9_at_random_moments_loses_no_confirmed_message() {
    let dir = tempfile::tempdir().expect("a data directory");
    let mut ws_confirmed = BTreeSet::new();
    let mut mqtt_confirmed = BTreeSet::new();
    {
        let broker = start(dir.path()).await;
        let mut ws = broker.connect().await;
        ws.declare("orders", json!({"durable": true})).await;
        // The persistent session exists, then its client goes away.
        drop(subscriber(&broker, true).await);
        broker.wait_for_queue("mqtt.crash-sub", Some(0)).await;
        broker.mosquitto_pub(&["-t", "home/hall/door/lock", "-m", "locked", "-r", "-q", "1"]).await;
    }
    for round in 0..ROUNDS {
        let mut broker = start(dir.path()).await;
        let ws = tokio::spawn(ws_publisher(broker.addr, round));
        let mqtt = tokio::spawn(mqtt_publisher(broker.mqtt, round));
        tokio::time::sleep(random_delay(round)).await;
        broker.kill9().await;
        let ws = within("the WebSocket publisher to notice", ws).await.expect("the publisher ran");
        let mqtt = within("the MQTT publisher to notice", mqtt).await.expect("the publisher ran");
        ws_confirmed.extend(ws);
        mqtt_confirmed.extend(mqtt);
    }
    // A loaded machine may confirm nothing in one short round, never in all.
    assert!(!ws_confirmed.is_empty() && !mqtt_confirmed.is_empty(), "publishers got confirmations before the kills");
    let broker = start(dir.path()).await;
    // The retained state of the lock is back.
    let mut sub = broker.mosquitto_sub(&["-t", "home/hall/door/lock", "-C", "1"]).await;
    assert_eq!(sub.next().await, "home/hall/door/lock locked");
    // The session is back with its subscription, and every acknowledged QoS 1 message waits in it.
    let mut raw = subscriber(&broker, false).await;
    let got = drain_mqtt(&mut raw).await;
    check("MQTT", &mqtt_confirmed, &got);
    let got = drain_ws(&broker).await;
    check("WebSocket", &ws_confirmed, &got);
    let queues = broker.get_json("/api/queues").await;
    let orders = queues.as_array().and_then(|l| l.iter().find(|q| q["name"] == "orders")).cloned();
    assert_eq!(orders.map(|q| q["options"]["durable"].clone()), Some(json!(true)));
    println!(
        "{} WebSocket and {} MQTT confirmed messages survived {ROUNDS} kills",
        ws_confirmed.len(),
        mqtt_confirmed.len()
    );
}

#[tokio::test]
async fn a_restart_keeps_durable_queues_bindings_and_acked_messages_stay_gone() {
    let dir = tempfile::tempdir().expect("a data directory");
    {
        let broker = start(dir.path()).await;
        let mut ws = broker.connect().await;
        ws.declare("thermostat", json!({"durable": true, "max_length": 100})).await;
        ws.declare("scratch", json!({})).await;
        ws.bind("thermostat", "home/+/temperature").await;
        for reading in ["20.5", "21.0", "21.5"] {
            ws.publish(json!({"topic": "home/kitchen/temperature"}), reading).await;
        }
        ws.subscribe("thermostat", 1).await;
        let first = ws.expect_type("deliver").await;
        ws.ack(&first).await;
        ws.ping().await;
    }
    let broker = start(dir.path()).await;
    let queues = broker.get_json("/api/queues").await;
    let names: Vec<&str> = queues.as_array().into_iter().flatten().filter_map(|q| q["name"].as_str()).collect();
    assert_eq!(names, ["thermostat"], "a queue that was not durable is gone");
    let stats = broker.queue_stats("thermostat").await;
    assert_eq!(stats["ready"], 2, "{stats}");
    assert_eq!(stats["options"]["max_length"], 100);
    let mut ws = broker.connect().await;
    ws.publish(json!({"topic": "home/hall/temperature"}), "19.0").await;
    ws.subscribe("thermostat", 10).await;
    let got = ws.deliveries(3).await;
    assert_eq!(common::payloads(&got), ["21.0", "21.5", "19.0"]);
    assert_eq!(got[0]["redelivered"], true, "21.0 was delivered (not acked) before the restart: {}", got[0]);
    assert!(got[1]["redelivered"].is_null(), "21.5 was never delivered: {}", got[1]);
    assert!(got[2]["message_id"].as_u64() > got[1]["message_id"].as_u64(), "ids go on increasing");
    // What the store holds is visible.
    assert!(broker.queue_stats("thermostat").await["disk_bytes"].as_u64() > Some(0));
    let overview = broker.get_json("/api/overview").await;
    assert!(overview["store"]["disk_bytes"].as_u64() > Some(0), "{overview}");
    let (_, metrics) = broker.get("/metrics").await;
    for line in [
        "hearth_store_syncs_total ",
        "hearth_store_sync_seconds_bucket{le=\"+Inf\"} ",
        "hearth_queue_disk_bytes{queue=\"thermostat\"} ",
    ] {
        assert!(metrics.contains(line), "/metrics has {line}");
    }
}

#[tokio::test]
async fn in_memory_keeps_nothing_and_says_so() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut ws = broker.connect().await;
    ws.declare("kept", json!({"durable": true})).await;
    ws.publish_to_queue("kept", "x").await;
    assert_eq!(broker.get_json("/api/overview").await["store"], Value::Null);
    assert_eq!(broker.queue_stats("kept").await["disk_bytes"], 0);
    assert!(!std::path::Path::new(hearth::config::DEFAULT_DATA_DIR).exists(), "no data directory was made");
}

#[tokio::test]
async fn the_disk_budget_blocks_publishers_until_acks_let_the_store_reclaim_space() {
    let broker = Broker::start_with(&["--disk-limit", "1MiB"]).await;
    let mut publisher = broker.connect().await;
    publisher.declare("archive", json!({"durable": true})).await;
    let payload = "d".repeat(1024);
    let mut confirms = 0;
    within("the `blocked` frame", async {
        loop {
            for _ in 0..20 {
                let id = publisher.id();
                publisher.send(json!({"type": "publish", "id": id, "queue": "archive", "payload": payload})).await;
            }
            let id = publisher.id();
            publisher.send(json!({"type": "ping", "id": id})).await;
            loop {
                let frame = publisher.recv().await;
                match frame["type"].as_str() {
                    Some("confirm") => confirms += 1,
                    Some("blocked") => {
                        let reason = frame["reason"].as_str().unwrap_or_default();
                        assert!(reason.contains("disk budget"), "{frame}");
                        return;
                    }
                    Some("pong") => break,
                    _ => {}
                }
            }
        }
    })
    .await;
    let overview = broker.get_json("/api/overview").await;
    assert!(overview["memory"]["disk"].as_u64() >= Some(1 << 20), "{overview}");
    assert_eq!(overview["memory"]["blocked"], true, "{overview}");
    // A publish now is held, unconfirmed.
    let id = publisher.id();
    publisher.send(json!({"type": "publish", "id": id, "queue": "archive", "payload": "held"})).await;
    // A consumer drains and acks; the store deletes dead segments; publishers go on.
    let mut consumer = broker.connect().await;
    consumer.subscribe("archive", 100).await;
    let mut acked = 0;
    within("the archive to drain", async {
        while acked < confirms {
            let delivery = consumer.expect_type("deliver").await;
            consumer.ack(&delivery).await;
            acked += 1;
        }
    })
    .await;
    within("`unblocked` and the held confirm", async {
        let mut seen = (false, false);
        while seen != (true, true) {
            let frame = publisher.recv().await;
            match frame["type"].as_str() {
                Some("unblocked") => seen.0 = true,
                Some("confirm") if frame["id"] == id => seen.1 = true,
                _ => {}
            }
        }
    })
    .await;
    let overview = broker.get_json("/api/overview").await;
    assert!(overview["memory"]["disk"].as_u64() < Some(900 << 10), "{overview}");
    assert!(overview["store"]["segments_reclaimed"].as_u64() > Some(0), "{overview}");
}

/// The newest segment file holding `needle`, and where.
fn find_in_segments(dir: &Path, needle: &[u8]) -> (std::path::PathBuf, usize) {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the data directory is readable")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "seg"))
        .collect();
    files.sort();
    files
        .into_iter()
        .rev()
        .find_map(|f| {
            let data = std::fs::read(&f).expect("a segment is readable");
            data.windows(needle.len()).position(|w| w == needle).map(|at| (f, at))
        })
        .unwrap_or_else(|| panic!("no segment holds {:?}", String::from_utf8_lossy(needle)))
}

async fn ledger(broker: &Broker) -> Vec<String> {
    let ready = broker.queue_stats("ledger").await["ready"].as_u64().expect("a count");
    let mut ws = broker.connect().await;
    ws.subscribe("ledger", 100).await;
    let got = ws.deliveries(ready as usize).await;
    common::payloads(&got).into_iter().map(str::to_owned).collect()
}

#[tokio::test]
async fn damaged_and_torn_store_files_cost_only_what_follows_the_damage_and_say_so() {
    let dir = tempfile::tempdir().expect("a data directory");
    let logs = tempfile::tempdir().expect("a log directory");
    {
        let broker = start(dir.path()).await;
        let mut ws = broker.connect().await;
        ws.declare("ledger", json!({"durable": true})).await;
        for i in 0..10 {
            ws.publish_to_queue("ledger", &format!("entry {i}")).await;
        }
    }
    // A flipped byte inside `entry 7`: it and what follows it in its segment are dropped.
    let (file, at) = find_in_segments(dir.path(), b"entry 7");
    let mut data = std::fs::read(&file).expect("readable");
    data[at + 2] ^= 0x20;
    std::fs::write(&file, &data).expect("writable");
    let log = logs.path().join("flipped.log");
    let broker = Broker::start_logged(dir.path(), FLAGS, &log).await;
    let kept = ledger(&broker).await;
    assert_eq!(kept, (0..7).map(|i| format!("entry {i}")).collect::<Vec<_>>());
    let text = std::fs::read_to_string(&log).expect("the log is readable");
    assert!(
        text.contains("damaged or torn tail") && text.contains(&*file.to_string_lossy()),
        "the log says what was dropped: {text}"
    );
    assert!(text.contains("dropped_bytes"), "{text}");
    // The broker goes on writing after the damage; then a torn tail (a write cut short).
    let mut ws = broker.connect().await;
    for i in 10..13 {
        ws.publish_to_queue("ledger", &format!("entry {i}")).await;
    }
    drop(ws);
    drop(broker);
    let (file, _) = find_in_segments(dir.path(), b"entry 12");
    let len = std::fs::metadata(&file).expect("a size").len();
    std::fs::OpenOptions::new().write(true).open(&file).expect("writable").set_len(len - 3).expect("cut");
    let log = logs.path().join("torn.log");
    let broker = Broker::start_logged(dir.path(), FLAGS, &log).await;
    assert_eq!(broker.get("/healthz").await.0, 200);
    let kept = ledger(&broker).await;
    let mut expected: Vec<String> = (0..7).map(|i| format!("entry {i}")).collect();
    expected.extend(["entry 10".into(), "entry 11".into()]);
    assert_eq!(kept, expected, "everything before the torn record is back");
    let text = std::fs::read_to_string(&log).expect("the log is readable");
    assert!(text.contains("damaged or torn tail"), "{text}");
}

#[tokio::test]
async fn a_delayed_will_waiting_at_a_crash_is_published_after_the_restart() {
    let dir = tempfile::tempdir().expect("a data directory");
    let mut hello = connect(ProtocolVersion::V5, "plug", 0);
    hello.clean_start = false;
    hello.properties.session_expiry_interval = Some(600);
    let mut will = mqtt_codec::Will {
        topic: "status/plug".into(),
        payload: Bytes::from_static(b"offline"),
        qos: QoS::AtLeastOnce,
        retain: true,
        properties: Default::default(),
    };
    will.properties.will_delay_interval = Some(2);
    hello.will = Some(will);
    let lost;
    {
        let mut broker = start(dir.path()).await;
        let mut device = broker.raw_mqtt(hello).await;
        assert!(matches!(device.recv().await, Some(Packet::ConnAck(_))));
        drop(device); // lost without DISCONNECT: the will waits 2 s
        broker.wait_for_queue("mqtt.plug", Some(0)).await;
        lost = Instant::now();
        tokio::time::sleep(Duration::from_millis(300)).await;
        broker.kill9().await;
    }
    let broker = start(dir.path()).await;
    let mut sub = broker.mosquitto_sub(&["-t", "status/plug", "-q", "1"]).await;
    assert_eq!(sub.next().await, "status/plug offline");
    assert!(lost.elapsed() >= Duration::from_millis(1900), "not before its delay: {:?}", lost.elapsed());
}

#[tokio::test]
async fn a_qos_2_delivery_the_client_received_before_a_crash_is_not_sent_again() {
    let dir = tempfile::tempdir().expect("a data directory");
    let hello = || {
        let mut c = connect(ProtocolVersion::V311, "once", 0);
        c.clean_start = false;
        c
    };
    let options = SubscriptionOptions { qos: QoS::ExactlyOnce, ..Default::default() };
    let subscriptions = vec![Subscription { filter: "vault/#".into(), options }];
    let subscribe = Packet::Subscribe(Subscribe { packet_id: 1, subscriptions, properties: Default::default() });
    let released;
    {
        let mut broker = start(dir.path()).await;
        let mut raw = broker.raw_mqtt(hello()).await;
        assert!(matches!(raw.recv().await, Some(Packet::ConnAck(_))));
        raw.send(&subscribe).await;
        assert!(matches!(raw.recv().await, Some(Packet::SubAck(_))));
        broker.mosquitto_pub(&["-t", "vault/open", "-m", "exactly once", "-q", "2"]).await;
        let Some(Packet::Publish(p)) = raw.recv().await else { panic!("the QoS 2 delivery") };
        assert_eq!(&p.payload[..], b"exactly once");
        raw.send(&Packet::PubRec(Ack {
            packet_id: p.packet_id,
            reason: ReasonCode::Success,
            properties: Default::default(),
        }))
        .await;
        assert!(matches!(raw.recv().await, Some(Packet::PubRel(r)) if r.packet_id == p.packet_id));
        released = p.packet_id;
        // No PUBCOMP: the broker dies first (after it has had time to keep the session's state).
        tokio::time::sleep(Duration::from_millis(300)).await;
        broker.kill9().await;
    }
    let broker = start(dir.path()).await;
    let mut raw = broker.raw_mqtt(hello()).await;
    assert!(matches!(raw.recv().await, Some(Packet::ConnAck(c)) if c.session_present));
    assert!(matches!(raw.recv().await, Some(Packet::PubRel(r)) if r.packet_id == released), "the PUBREL again");
    let again = tokio::time::timeout(QUIET * 3, raw.recv()).await;
    assert!(again.is_err(), "the message the client has must not come again: {again:?}");
    raw.send(&Packet::PubComp(Ack {
        packet_id: released,
        reason: ReasonCode::Success,
        properties: Default::default(),
    }))
    .await;
    broker.wait_for_queue("mqtt.once", Some(1)).await;
    assert_eq!(broker.queue_stats("mqtt.once").await["ready"], 0, "nothing left to deliver");
}
