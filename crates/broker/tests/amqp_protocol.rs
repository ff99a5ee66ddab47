//! AMQP 0-9-1 at the frame level against the real binary: the handshake,
//! bad frames closed with the right reply code, channel errors that leave
//! the connection and every other client alone, and AMQP meeting MQTT on
//! `amq.topic` (with Mosquitto's own clients).

mod common;

use amq_protocol::frame::{AMQPContentHeader, AMQPFrame};
use amq_protocol::protocol::basic::AMQPProperties;
use amq_protocol::protocol::{AMQPClass, basic, channel, connection, exchange, queue};
use amq_protocol::types::{AMQPValue, FieldTable};
use bytes::BytesMut;
use common::{Broker, within};
use hearth::amqp::frame::{PROTOCOL_HEADER, decode, encode};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A hand-driven AMQP client: frames in and out, nothing hidden.
struct Raw {
    tcp: TcpStream,
    inbox: BytesMut,
    /// Heartbeat asked for in tune-ok (0: none).
    heartbeat: u16,
}

impl Raw {
    /// Connects and does the whole handshake as `user`/`password`.
    async fn open(addr: SocketAddr) -> Self {
        let mut raw = Self::connect(addr).await;
        raw.handshake("guest", "guest").await.expect("the handshake succeeds");
        raw
    }

    async fn connect(addr: SocketAddr) -> Self {
        let tcp = within("the AMQP connection", TcpStream::connect(addr)).await.expect("the broker accepts");
        Self { tcp, inbox: BytesMut::new(), heartbeat: 0 }
    }

    /// The handshake; `Err` with the close the broker sent instead.
    async fn handshake(&mut self, user: &str, password: &str) -> Result<(), connection::Close> {
        self.tcp.write_all(PROTOCOL_HEADER).await.expect("writable");
        let start = self.recv().await;
        assert!(matches!(start, AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::Start(_)))));
        let response = format!("\0{user}\0{password}");
        let mut caps = FieldTable::default();
        caps.insert("connection.blocked".into(), AMQPValue::Boolean(true));
        caps.insert("consumer_cancel_notify".into(), AMQPValue::Boolean(true));
        let mut client_properties = FieldTable::default();
        client_properties.insert("capabilities".into(), AMQPValue::FieldTable(caps));
        let start_ok = connection::StartOk {
            client_properties,
            mechanism: "PLAIN".into(),
            response: response.as_bytes().into(),
            locale: "en_US".into(),
        };
        self.send_method(0, AMQPClass::Connection(connection::AMQPMethod::StartOk(start_ok))).await;
        match self.recv().await {
            AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::Tune(tune))) => {
                assert_eq!((tune.frame_max, tune.channel_max, tune.heartbeat), (131_072, 2047, 60));
            }
            AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::Close(close))) => return Err(close),
            other => panic!("expected tune, got {other:?}"),
        }
        let tune_ok = connection::TuneOk { channel_max: 0, frame_max: 131_072, heartbeat: self.heartbeat };
        self.send_method(0, AMQPClass::Connection(connection::AMQPMethod::TuneOk(tune_ok))).await;
        let open = connection::Open { virtual_host: "/".into() };
        self.send_method(0, AMQPClass::Connection(connection::AMQPMethod::Open(open))).await;
        let open_ok = self.recv().await;
        assert!(matches!(open_ok, AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::OpenOk(_)))));
        Ok(())
    }

    async fn send(&mut self, frame: &AMQPFrame) {
        let mut out = Vec::new();
        encode(frame, &mut out);
        self.tcp.write_all(&out).await.expect("writable");
    }

    async fn send_method(&mut self, channel: u16, class: AMQPClass) {
        self.send(&AMQPFrame::Method(channel, class)).await;
    }

    /// The next frame (heartbeats skipped).
    async fn recv(&mut self) -> AMQPFrame {
        within("a frame from the broker", async {
            loop {
                if let Some(frame) = decode(&mut self.inbox, 1 << 20).expect("the broker sends valid frames") {
                    if frame != AMQPFrame::Heartbeat {
                        return frame;
                    }
                    continue;
                }
                let n = self.tcp.read_buf(&mut self.inbox).await.expect("readable");
                assert!(n > 0, "the broker closed the connection");
            }
        })
        .await
    }

    /// The next method, which must be on `channel`.
    async fn method(&mut self, channel: u16) -> AMQPClass {
        match self.recv().await {
            AMQPFrame::Method(ch, class) if ch == channel => class,
            other => panic!("expected a method on channel {channel}, got {other:?}"),
        }
    }

    /// Expects `connection.close` with `code`; answers `close-ok`, then the
    /// broker closes the socket.
    async fn expect_connection_close(&mut self, code: u16) -> String {
        let AMQPClass::Connection(connection::AMQPMethod::Close(close)) = self.method(0).await else {
            panic!("expected connection.close {code}");
        };
        assert_eq!(close.reply_code, code, "{}", close.reply_text);
        let ok = connection::AMQPMethod::CloseOk(connection::CloseOk {});
        self.send_method(0, AMQPClass::Connection(ok)).await;
        let mut rest = Vec::new();
        within("the broker to close the socket", self.tcp.read_to_end(&mut rest)).await.expect("closed cleanly");
        close.reply_text.to_string()
    }

    async fn open_channel(&mut self, channel: u16) {
        self.send_method(channel, AMQPClass::Channel(channel::AMQPMethod::Open(channel::Open {}))).await;
        assert!(matches!(self.method(channel).await, AMQPClass::Channel(channel::AMQPMethod::OpenOk(_))));
    }

    async fn declare(&mut self, channel: u16, name: &str) {
        let declare = queue::Declare { queue: name.into(), ..Default::default() };
        self.send_method(channel, AMQPClass::Queue(queue::AMQPMethod::Declare(declare))).await;
        assert!(matches!(self.method(channel).await, AMQPClass::Queue(queue::AMQPMethod::DeclareOk(_))));
    }

    async fn publish(&mut self, channel: u16, exchange: &str, key: &str, body: &[u8]) {
        let publish = basic::Publish { exchange: exchange.into(), routing_key: key.into(), ..Default::default() };
        self.send_method(channel, AMQPClass::Basic(basic::AMQPMethod::Publish(publish))).await;
        let header =
            AMQPContentHeader { class_id: 60, body_size: body.len() as u64, properties: AMQPProperties::default() };
        self.send(&AMQPFrame::Header(channel, header)).await;
        self.send(&AMQPFrame::Body(channel, body.to_vec())).await;
    }

    /// `basic.get` with auto ack: the body, or `None` when empty.
    async fn get(&mut self, channel: u16, queue: &str) -> Option<Vec<u8>> {
        let get = basic::Get { queue: queue.into(), no_ack: true };
        self.send_method(channel, AMQPClass::Basic(basic::AMQPMethod::Get(get))).await;
        match self.method(channel).await {
            AMQPClass::Basic(basic::AMQPMethod::GetEmpty(_)) => None,
            AMQPClass::Basic(basic::AMQPMethod::GetOk(_)) => {
                assert!(matches!(self.recv().await, AMQPFrame::Header(..)));
                match self.recv().await {
                    AMQPFrame::Body(_, body) => Some(body),
                    other => panic!("expected a body, got {other:?}"),
                }
            }
            other => panic!("expected get-ok or get-empty, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_client_speaking_another_protocol_version_gets_the_broker_s_header_and_is_closed() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut raw = Raw::connect(broker.amqp).await;
    raw.tcp.write_all(b"AMQP\x01\x01\x00\x0a").await.expect("writable");
    let mut answer = Vec::new();
    within("the broker's answer", raw.tcp.read_to_end(&mut answer)).await.expect("readable");
    assert_eq!(answer, PROTOCOL_HEADER, "AMQP 0-9-1 says which version it speaks, then closes");
}

#[tokio::test]
async fn an_oversized_frame_closes_the_connection_with_501_and_harms_no_other_client() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut good = Raw::open(broker.amqp).await;
    good.open_channel(1).await;
    good.declare(1, "kept").await;
    let mut bad = Raw::open(broker.amqp).await;
    // A body frame announcing 4 GiB, far over the negotiated 128 KiB.
    bad.tcp.write_all(&[3, 0, 1, 0xFF, 0xFF, 0xFF, 0xF0]).await.expect("writable");
    let text = bad.expect_connection_close(501).await;
    assert!(text.contains("frame-max"), "{text}");
    good.publish(1, "", "kept", b"still here").await;
    assert_eq!(good.get(1, "kept").await.as_deref(), Some(&b"still here"[..]));
}

#[tokio::test]
async fn unknown_frame_types_garbled_methods_and_unopened_channels_get_their_codes() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut raw = Raw::open(broker.amqp).await;
    raw.tcp.write_all(&[9, 0, 0, 0, 0, 0, 0, 0xCE]).await.expect("writable");
    raw.expect_connection_close(501).await;
    let mut raw = Raw::open(broker.amqp).await;
    // Class 0x7777, method 1: no such method.
    raw.tcp.write_all(&[1, 0, 1, 0, 0, 0, 4, 0x77, 0x77, 0, 1, 0xCE]).await.expect("writable");
    raw.expect_connection_close(502).await;
    // A basic method on channel 0, which is the connection's.
    let mut raw = Raw::open(broker.amqp).await;
    let qos = basic::Qos { prefetch_count: 1, global: false };
    raw.send_method(0, AMQPClass::Basic(basic::AMQPMethod::Qos(qos))).await;
    raw.expect_connection_close(503).await;
}

#[tokio::test]
async fn a_method_on_a_channel_never_opened_is_a_504_channel_error() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut raw = Raw::open(broker.amqp).await;
    let declare = queue::Declare { queue: "q".into(), ..Default::default() };
    raw.send_method(5, AMQPClass::Queue(queue::AMQPMethod::Declare(declare))).await;
    let text = raw.expect_connection_close(504).await;
    assert!(text.contains("channel.open"), "{text}");
}

#[tokio::test]
async fn a_channel_error_closes_that_channel_only_and_its_unacked_messages_go_back() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut raw = Raw::open(broker.amqp).await;
    raw.open_channel(1).await;
    raw.open_channel(2).await;
    raw.declare(1, "jobs").await;
    raw.publish(1, "", "jobs", b"job").await;
    // Channel 2 takes the job and then makes a mistake: a passive declare
    // of a queue that does not exist.
    let get = basic::Get { queue: "jobs".into(), no_ack: false };
    raw.send_method(2, AMQPClass::Basic(basic::AMQPMethod::Get(get))).await;
    assert!(matches!(raw.method(2).await, AMQPClass::Basic(basic::AMQPMethod::GetOk(_))));
    raw.recv().await;
    raw.recv().await;
    let passive = queue::Declare { queue: "nope".into(), passive: true, ..Default::default() };
    raw.send_method(2, AMQPClass::Queue(queue::AMQPMethod::Declare(passive))).await;
    let AMQPClass::Channel(channel::AMQPMethod::Close(close)) = raw.method(2).await else {
        panic!("expected channel.close");
    };
    assert_eq!((close.reply_code, close.class_id, close.method_id), (404, 50, 10), "{}", close.reply_text);
    assert!(close.reply_text.as_str().contains("NOT_FOUND"), "{}", close.reply_text);
    raw.send_method(2, AMQPClass::Channel(channel::AMQPMethod::CloseOk(channel::CloseOk {}))).await;
    // Channel 1 goes on, and the job channel 2 held is back, redelivered.
    let get = basic::Get { queue: "jobs".into(), no_ack: true };
    raw.send_method(1, AMQPClass::Basic(basic::AMQPMethod::Get(get))).await;
    let AMQPClass::Basic(basic::AMQPMethod::GetOk(ok)) = raw.method(1).await else { panic!("expected get-ok") };
    assert!(ok.redelivered);
    // Channel 2 can be opened again.
    raw.recv().await;
    raw.recv().await;
    raw.open_channel(2).await;
}

#[tokio::test]
async fn acking_an_unknown_delivery_tag_is_406_and_exchange_and_queue_checks_hold() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut raw = Raw::open(broker.amqp).await;
    raw.open_channel(1).await;
    let ack = basic::Ack { delivery_tag: 99, multiple: false };
    raw.send_method(1, AMQPClass::Basic(basic::AMQPMethod::Ack(ack))).await;
    let AMQPClass::Channel(channel::AMQPMethod::Close(close)) = raw.method(1).await else { panic!("channel.close") };
    assert_eq!(close.reply_code, 406, "{}", close.reply_text);
    raw.send_method(1, AMQPClass::Channel(channel::AMQPMethod::CloseOk(channel::CloseOk {}))).await;
    raw.open_channel(1).await;
    // Redeclaring an exchange as another kind: 406, the channel closes.
    let declare = |kind: &str| exchange::Declare { exchange: "logs".into(), kind: kind.into(), ..Default::default() };
    raw.send_method(1, AMQPClass::Exchange(exchange::AMQPMethod::Declare(declare("fanout")))).await;
    assert!(matches!(raw.method(1).await, AMQPClass::Exchange(exchange::AMQPMethod::DeclareOk(_))));
    raw.send_method(1, AMQPClass::Exchange(exchange::AMQPMethod::Declare(declare("topic")))).await;
    let AMQPClass::Channel(channel::AMQPMethod::Close(close)) = raw.method(1).await else { panic!("channel.close") };
    assert_eq!(close.reply_code, 406);
    assert!(close.reply_text.as_str().contains("inequivalent arg 'type'"), "{}", close.reply_text);
    raw.send_method(1, AMQPClass::Channel(channel::AMQPMethod::CloseOk(channel::CloseOk {}))).await;
    raw.open_channel(1).await;
    // Publishing to an exchange that does not exist: 404.
    raw.publish(1, "missing", "k", b"x").await;
    let AMQPClass::Channel(channel::AMQPMethod::Close(close)) = raw.method(1).await else { panic!("channel.close") };
    assert_eq!(close.reply_code, 404, "{}", close.reply_text);
}

#[tokio::test]
async fn content_out_of_order_is_505_and_a_body_longer_than_its_header_is_501() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut raw = Raw::open(broker.amqp).await;
    raw.open_channel(1).await;
    raw.send(&AMQPFrame::Body(1, b"no header".to_vec())).await;
    raw.expect_connection_close(505).await;
    let mut raw = Raw::open(broker.amqp).await;
    raw.open_channel(1).await;
    let publish = basic::Publish { exchange: "".into(), routing_key: "q".into(), ..Default::default() };
    raw.send_method(1, AMQPClass::Basic(basic::AMQPMethod::Publish(publish))).await;
    let header = AMQPContentHeader { class_id: 60, body_size: 2, properties: AMQPProperties::default() };
    raw.send(&AMQPFrame::Header(1, header)).await;
    raw.send(&AMQPFrame::Body(1, b"too long".to_vec())).await;
    raw.expect_connection_close(501).await;
}

#[tokio::test]
async fn a_refused_login_is_403_and_a_good_one_gets_in() {
    let dir = tempfile::tempdir().expect("a directory");
    let passwd = dir.path().join("passwd");
    common::mosquitto_passwd(&passwd, &[("alice", "s3cret")]);
    let passwd = passwd.to_str().expect("UTF-8");
    let broker = Broker::start_with(&["--in-memory", "--password-file", passwd]).await;
    let mut raw = Raw::connect(broker.amqp).await;
    let close = raw.handshake("guest", "guest").await.expect_err("guest is no user here");
    assert_eq!(close.reply_code, 403, "{}", close.reply_text);
    let mut raw = Raw::connect(broker.amqp).await;
    raw.handshake("alice", "s3cret").await.expect("alice gets in");
}

#[tokio::test]
async fn amqp_and_mqtt_meet_on_amq_topic_both_ways() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let port = broker.mqtt.port().to_string();
    // An MQTT subscriber of home/# sees an AMQP publish to amq.topic.
    let mut sub = tokio::process::Command::new("mosquitto_sub")
        .args(["-h", "127.0.0.1", "-p", &port, "-t", "home/#", "-v", "-C", "1", "-W", "10"])
        .stdout(std::process::Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("mosquitto_sub runs (cargo xtask test installs mosquitto-clients)");
    broker.wait_for_connections(1).await;
    let mut raw = Raw::open(broker.amqp).await;
    raw.open_channel(1).await;
    // The API (and the dashboard's Live tab) names each connection's protocol.
    broker.wait_for_connections(2).await;
    let connections = broker.get_json("/api/connections").await;
    let protocols: Vec<&str> =
        connections.as_array().expect("a list").iter().filter_map(|c| c["protocol"].as_str()).collect();
    assert!(protocols.contains(&"amqp") && protocols.contains(&"mqtt"), "{connections}");
    raw.publish(1, "amq.topic", "home.hall.light", b"on").await;
    let mut line = String::new();
    let mut out = sub.stdout.take().expect("piped");
    within("mosquitto_sub's line", out.read_to_string(&mut line)).await.expect("readable");
    assert_eq!(line.trim(), "home/hall/light on");
    // And back: an AMQP queue bound to amq.topic with `home.*.door` gets an MQTT publish.
    raw.declare(1, "doors").await;
    let bind = queue::Bind {
        queue: "doors".into(),
        exchange: "amq.topic".into(),
        routing_key: "home.*.door".into(),
        ..Default::default()
    };
    raw.send_method(1, AMQPClass::Queue(queue::AMQPMethod::Bind(bind))).await;
    assert!(matches!(raw.method(1).await, AMQPClass::Queue(queue::AMQPMethod::BindOk(_))));
    let status = tokio::process::Command::new("mosquitto_pub")
        .args(["-h", "127.0.0.1", "-p", &port, "-t", "home/hall/door", "-m", "locked", "-q", "1"])
        .status();
    assert!(within("mosquitto_pub", status).await.expect("runs").success());
    let get = basic::Get { queue: "doors".into(), no_ack: true };
    let body = within("the MQTT message in the AMQP queue", async {
        loop {
            raw.send_method(1, AMQPClass::Basic(basic::AMQPMethod::Get(get.clone()))).await;
            match raw.method(1).await {
                AMQPClass::Basic(basic::AMQPMethod::GetOk(ok)) => {
                    assert_eq!((ok.exchange.as_str(), ok.routing_key.as_str()), ("amq.topic", "home.hall.door"));
                    raw.recv().await;
                    let AMQPFrame::Body(_, body) = raw.recv().await else { panic!("a body") };
                    return body;
                }
                _ => tokio::time::sleep(Duration::from_millis(20)).await,
            }
        }
    })
    .await;
    assert_eq!(body, b"locked");
}

impl Raw {
    async fn confirm_select(&mut self, channel: u16) {
        let select = amq_protocol::protocol::confirm::Select { nowait: false };
        self.send_method(channel, AMQPClass::Confirm(amq_protocol::protocol::confirm::AMQPMethod::Select(select)))
            .await;
        assert!(matches!(self.method(channel).await, AMQPClass::Confirm(_)));
    }

    /// Expects `basic.ack` for publish `seq`.
    async fn expect_ack(&mut self, channel: u16, seq: u64) {
        match self.method(channel).await {
            AMQPClass::Basic(basic::AMQPMethod::Ack(ack)) => assert_eq!(ack.delivery_tag, seq),
            other => panic!("expected basic.ack {seq}, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn a_confirmed_persistent_message_in_a_durable_queue_survives_kill_9() {
    let dir = tempfile::tempdir().expect("a data directory");
    let mut broker = Broker::start_in(dir.path(), &[]).await;
    let mut raw = Raw::open(broker.amqp).await;
    raw.open_channel(1).await;
    let declare = queue::Declare { queue: "orders".into(), durable: true, ..Default::default() };
    raw.send_method(1, AMQPClass::Queue(queue::AMQPMethod::Declare(declare))).await;
    assert!(matches!(raw.method(1).await, AMQPClass::Queue(queue::AMQPMethod::DeclareOk(_))));
    raw.confirm_select(1).await;
    for (seq, body) in [(1, &b"first"[..]), (2, b"second")] {
        raw.publish(1, "", "orders", body).await;
        raw.expect_ack(1, seq).await;
    }
    broker.kill9().await;
    let broker = Broker::start_in(dir.path(), &[]).await;
    let mut raw = Raw::open(broker.amqp).await;
    raw.open_channel(1).await;
    assert_eq!(raw.get(1, "orders").await.as_deref(), Some(&b"first"[..]));
    assert_eq!(raw.get(1, "orders").await.as_deref(), Some(&b"second"[..]));
    assert_eq!(raw.get(1, "orders").await, None);
}

#[tokio::test]
async fn the_memory_budget_sends_connection_blocked_and_unblocked() {
    let broker = Broker::start_with(&["--in-memory", "--memory-limit", "1MiB"]).await;
    let mut raw = Raw::open(broker.amqp).await;
    raw.open_channel(1).await;
    raw.declare(1, "pile").await;
    let body = vec![7u8; 64 * 1024];
    let blocked = within("connection.blocked", async {
        loop {
            raw.publish(1, "", "pile", &body).await;
            if let Ok(frame) = tokio::time::timeout(Duration::from_millis(5), raw.recv()).await {
                return frame;
            }
        }
    })
    .await;
    let AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::Blocked(b))) = blocked else {
        panic!("expected connection.blocked, got {blocked:?}");
    };
    assert!(b.reason.as_str().contains("memory"), "{}", b.reason);
    // Another connection purges the pile: the publisher is let go.
    let mut other = Raw::open(broker.amqp).await;
    other.open_channel(1).await;
    within("connection.unblocked", async {
        loop {
            // Purged again and again: what the gate held arrives meanwhile.
            let purge = queue::Purge { queue: "pile".into(), nowait: false };
            other.send_method(1, AMQPClass::Queue(queue::AMQPMethod::Purge(purge))).await;
            assert!(matches!(other.method(1).await, AMQPClass::Queue(queue::AMQPMethod::PurgeOk(_))));
            if let Ok(frame) = tokio::time::timeout(Duration::from_millis(50), raw.recv()).await
                && matches!(frame, AMQPFrame::Method(0, AMQPClass::Connection(connection::AMQPMethod::Unblocked(_))))
            {
                return;
            }
        }
    })
    .await;
}

#[tokio::test]
async fn heartbeats_flow_both_ways_and_a_silent_peer_is_closed() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut raw = Raw::connect(broker.amqp).await;
    raw.heartbeat = 1;
    // Before the handshake: the broker counts the peer's silence from its end.
    let started = std::time::Instant::now();
    raw.handshake("guest", "guest").await.expect("in");
    // The broker beats every half second of its silence...
    let mut head = [0u8; 8];
    within("a heartbeat", raw.tcp.read_exact(&mut head)).await.expect("readable");
    assert_eq!(head, [8, 0, 0, 0, 0, 0, 0, 0xCE]);
    // ...and closes a peer silent for two intervals.
    let mut rest = Vec::new();
    within("the broker to close a silent peer", raw.tcp.read_to_end(&mut rest)).await.expect("closed");
    assert!(started.elapsed() >= Duration::from_millis(1950), "closed after {:?}", started.elapsed());
    assert!(rest.chunks(8).all(|beat| beat == [8, 0, 0, 0, 0, 0, 0, 0xCE]), "only heartbeats before the close");
}

#[tokio::test]
async fn queue_delete_checks_if_unused_and_if_empty_and_reports_the_count() {
    let broker = Broker::start_with(&["--in-memory"]).await;
    let mut raw = Raw::open(broker.amqp).await;
    raw.open_channel(1).await;
    raw.declare(1, "jobs").await;
    raw.publish(1, "", "jobs", b"a").await;
    raw.publish(1, "", "jobs", b"b").await;
    let delete = |if_unused, if_empty| queue::Delete { queue: "jobs".into(), if_unused, if_empty, nowait: false };
    raw.send_method(1, AMQPClass::Queue(queue::AMQPMethod::Delete(delete(false, true)))).await;
    let AMQPClass::Channel(channel::AMQPMethod::Close(close)) = raw.method(1).await else { panic!("channel.close") };
    assert_eq!(close.reply_code, 406, "{}", close.reply_text);
    raw.send_method(1, AMQPClass::Channel(channel::AMQPMethod::CloseOk(channel::CloseOk {}))).await;
    raw.open_channel(1).await;
    raw.send_method(1, AMQPClass::Queue(queue::AMQPMethod::Delete(delete(true, false)))).await;
    let AMQPClass::Queue(queue::AMQPMethod::DeleteOk(ok)) = raw.method(1).await else { panic!("delete-ok") };
    assert_eq!(ok.message_count, 2);
    // Deleting it again is not an error.
    raw.send_method(1, AMQPClass::Queue(queue::AMQPMethod::Delete(delete(false, false)))).await;
    let AMQPClass::Queue(queue::AMQPMethod::DeleteOk(ok)) = raw.method(1).await else { panic!("delete-ok") };
    assert_eq!(ok.message_count, 0);
}

#[tokio::test]
async fn a_durable_exchange_and_its_bindings_survive_a_restart_and_a_transient_one_does_not() {
    let dir = tempfile::tempdir().expect("a data directory");
    let mut broker = Broker::start_in(dir.path(), &[]).await;
    let mut raw = Raw::open(broker.amqp).await;
    raw.open_channel(1).await;
    for (name, durable) in [("orders", true), ("scratch", false)] {
        let declare = exchange::Declare { exchange: name.into(), kind: "direct".into(), durable, ..Default::default() };
        raw.send_method(1, AMQPClass::Exchange(exchange::AMQPMethod::Declare(declare))).await;
        assert!(matches!(raw.method(1).await, AMQPClass::Exchange(exchange::AMQPMethod::DeclareOk(_))));
    }
    let declare = queue::Declare { queue: "eu".into(), durable: true, ..Default::default() };
    raw.send_method(1, AMQPClass::Queue(queue::AMQPMethod::Declare(declare))).await;
    assert!(matches!(raw.method(1).await, AMQPClass::Queue(queue::AMQPMethod::DeclareOk(_))));
    let bind =
        queue::Bind { queue: "eu".into(), exchange: "orders".into(), routing_key: "eu".into(), ..Default::default() };
    raw.send_method(1, AMQPClass::Queue(queue::AMQPMethod::Bind(bind))).await;
    assert!(matches!(raw.method(1).await, AMQPClass::Queue(queue::AMQPMethod::BindOk(_))));
    // A sync point: once this is confirmed, what came before is on disk.
    raw.confirm_select(1).await;
    raw.publish(1, "orders", "eu", b"before").await;
    raw.expect_ack(1, 1).await;
    broker.kill9().await;
    let broker = Broker::start_in(dir.path(), &[]).await;
    let mut raw = Raw::open(broker.amqp).await;
    raw.open_channel(1).await;
    // Not declared again: the exchange and its binding are back.
    raw.publish(1, "orders", "eu", b"after").await;
    assert_eq!(raw.get(1, "eu").await.as_deref(), Some(&b"before"[..]));
    assert_eq!(raw.get(1, "eu").await.as_deref(), Some(&b"after"[..]));
    // It still knows its binding: if-unused refuses to delete it.
    let delete = exchange::Delete { exchange: "orders".into(), if_unused: true, nowait: false };
    raw.send_method(1, AMQPClass::Exchange(exchange::AMQPMethod::Delete(delete))).await;
    let AMQPClass::Channel(channel::AMQPMethod::Close(close)) = raw.method(1).await else { panic!("channel.close") };
    assert_eq!(close.reply_code, 406, "{}", close.reply_text);
    raw.send_method(1, AMQPClass::Channel(channel::AMQPMethod::CloseOk(channel::CloseOk {}))).await;
    raw.open_channel(1).await;
    // The transient exchange is gone.
    raw.publish(1, "scratch", "eu", b"x").await;
    let AMQPClass::Channel(channel::AMQPMethod::Close(close)) = raw.method(1).await else { panic!("channel.close") };
    assert_eq!(close.reply_code, 404, "{}", close.reply_text);
}
