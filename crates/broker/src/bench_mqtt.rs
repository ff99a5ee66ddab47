//! `hearth bench --protocol mqtt`: the same load as the WebSocket bench, as
//! MQTT 3.1.1 over raw TCP (packets from `mqtt-codec`), so that Hearth and
//! any other MQTT broker (Mosquitto) can be measured with the same client.
//!
//! Scenarios map onto MQTT as follows: one consumer subscribes to the topic;
//! several consumers share it (`$share/…`: competing consumers, as one queue
//! in the WebSocket bench); a fan-out of K is K plain subscribers. QoS 1
//! publishers keep up to [`WINDOW`] PUBLISHes unacknowledged.

use crate::bench::{BenchArgs, BenchReport, STAMP, report};
use anyhow::{Context, bail};
use bytes::{Bytes, BytesMut};
use mqtt_codec::{
    Ack, Connect, Packet, ProtocolVersion, Publish, QoS, ReasonCode, Subscribe, Subscription, SubscriptionOptions,
    decode, encode,
};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// QoS 1 PUBLISHes a publisher keeps in flight.
const WINDOW: u32 = 100;

/// Largest packet read.
const MAX_PACKET: u32 = 1 << 20;

/// Runs one MQTT benchmark against the broker at `args.broker.url` (host:port).
pub async fn bench(args: &BenchArgs) -> anyhow::Result<BenchReport> {
    let qos = match args.qos {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        other => bail!("--qos must be 0 or 1, got {other}"),
    };
    let addr = args.broker.url.trim_start_matches("mqtt://").to_owned();
    let run = crate::driver::now_ms();
    let topic = format!("bench/{run}");
    let (subscribers, filter) = match (args.fanout, args.consumers) {
        (k, _) if k > 1 => (k, topic.clone()),
        (_, 1) => (1, topic.clone()),
        (_, c) => (c, format!("$share/bench{run}/{topic}")),
    };
    let expected = args.messages * u64::from(args.fanout.max(1));
    let epoch = Instant::now();
    let delivered = Arc::new(AtomicU64::new(0));
    let done = CancellationToken::new();
    let mut consumers = Vec::new();
    for i in 0..subscribers {
        let at = args.subscribe_to.as_deref().unwrap_or(&addr);
        let mut conn = Conn::open(at, &format!("bench-{run}-c{i}"), !args.persistent).await?;
        conn.subscribe(&filter, qos).await?;
        let shared = (delivered.clone(), done.clone());
        consumers.push(tokio::spawn(consume(conn, epoch, shared, expected)));
    }
    let started = epoch.elapsed();
    let mut publishers = Vec::new();
    for p in 0..u64::from(args.publishers) {
        let (share, rate) = args.publisher_load(p);
        let conn = Conn::open(&addr, &format!("bench-{run}-p{p}"), true).await?;
        let load = Load { topic: topic.clone(), count: share, size: args.size, rate, qos };
        publishers.push(tokio::spawn(publish(conn, load, epoch)));
    }
    let mut sent = 0;
    for publisher in publishers {
        sent += publisher.await.context("publisher task")??;
    }
    let send_secs = (epoch.elapsed() - started).as_secs_f64();
    let _ = tokio::time::timeout(Duration::from_secs(args.duration), done.cancelled()).await;
    done.cancel();
    let mut results = Vec::new();
    for consumer in consumers {
        results.push(consumer.await.context("consumer task")?);
    }
    Ok(report(sent, send_secs, delivered.load(Ordering::Relaxed), expected, started, results))
}

/// What one publisher sends.
struct Load {
    topic: String,
    count: u64,
    size: usize,
    rate: Option<u64>,
    qos: QoS,
}

/// One MQTT 3.1.1 connection: a socket and its buffers.
struct Conn {
    tcp: TcpStream,
    inbox: BytesMut,
    out: BytesMut,
}

impl Conn {
    /// Connects (a clean session or a persistent one, no keep-alive) and
    /// waits for a successful CONNACK.
    async fn open(addr: &str, client_id: &str, clean: bool) -> anyhow::Result<Self> {
        let tcp = TcpStream::connect(addr).await.with_context(|| format!("cannot reach the MQTT broker at {addr}"))?;
        tcp.set_nodelay(true)?;
        let mut conn = Self { tcp, inbox: BytesMut::with_capacity(64 * 1024), out: BytesMut::with_capacity(64 * 1024) };
        let connect = Connect {
            protocol: ProtocolVersion::V311,
            clean_start: clean,
            keep_alive: 0,
            client_id: client_id.to_owned(),
            will: None,
            username: None,
            password: None,
            properties: Default::default(),
        };
        conn.queue(&Packet::Connect(Box::new(connect)))?;
        conn.flush().await?;
        match conn.recv().await? {
            Some(Packet::ConnAck(ack)) if ack.reason == ReasonCode::Success => Ok(conn),
            other => bail!("the broker refused the connection: {other:?}"),
        }
    }

    /// Subscribes to `filter` and waits for the SUBACK.
    async fn subscribe(&mut self, filter: &str, qos: QoS) -> anyhow::Result<()> {
        let options = SubscriptionOptions { qos, ..SubscriptionOptions::default() };
        let subscription = Subscription { filter: filter.to_owned(), options };
        let subscribe = Subscribe { packet_id: 1, subscriptions: vec![subscription], properties: Default::default() };
        self.queue(&Packet::Subscribe(subscribe))?;
        self.flush().await?;
        match self.recv().await? {
            Some(Packet::SubAck(ack)) if ack.reasons.iter().all(|r| !r.is_error()) => Ok(()),
            other => bail!("the broker refused the subscription to {filter}: {other:?}"),
        }
    }

    fn queue(&mut self, packet: &Packet) -> anyhow::Result<()> {
        encode(packet, ProtocolVersion::V311, &mut self.out).context("encoding a packet")
    }

    async fn flush(&mut self) -> anyhow::Result<()> {
        if !self.out.is_empty() {
            self.tcp.write_all(&self.out).await?;
            self.out.clear();
        }
        Ok(())
    }

    /// The next decoded packet, reading as needed; `None` when the socket closes.
    async fn recv(&mut self) -> anyhow::Result<Option<Packet>> {
        loop {
            if let Some(packet) = self.decoded()? {
                return Ok(Some(packet));
            }
            if self.tcp.read_buf(&mut self.inbox).await? == 0 {
                return Ok(None);
            }
        }
    }

    /// A packet already read, if a whole one is buffered.
    fn decoded(&mut self) -> anyhow::Result<Option<Packet>> {
        Ok(decode(&mut self.inbox, ProtocolVersion::V311, MAX_PACKET)?)
    }
}

/// Publishes `load`, pacing to its rate if given; returns how many were sent.
async fn publish(mut conn: Conn, load: Load, epoch: Instant) -> anyhow::Result<u64> {
    let start = Instant::now();
    let padding = "x".repeat(load.size - STAMP);
    let mut in_flight = 0u32;
    for i in 0..load.count {
        if let Some(rate) = load.rate {
            let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
            if due > Instant::now() {
                conn.flush().await?;
                tokio::time::sleep_until(due.into()).await;
            }
        }
        while load.qos == QoS::AtLeastOnce && in_flight >= WINDOW {
            conn.flush().await?;
            in_flight -= pubacks(&mut conn).await?;
        }
        let stamp = epoch.elapsed().as_nanos() as u64;
        let payload = Bytes::from(format!("{stamp:0width$}{padding}", width = STAMP));
        let packet_id = if load.qos == QoS::AtMostOnce { 0 } else { (i % 65_535) as u16 + 1 };
        let publish = Publish {
            dup: false,
            qos: load.qos,
            retain: false,
            topic: load.topic.as_str().into(),
            packet_id,
            payload,
            properties: Default::default(),
        };
        conn.queue(&Packet::Publish(publish))?;
        in_flight += u32::from(load.qos == QoS::AtLeastOnce);
        if i % 64 == 63 {
            conn.flush().await?;
        }
    }
    conn.flush().await?;
    while in_flight > 0 {
        in_flight = in_flight.saturating_sub(pubacks(&mut conn).await?);
    }
    conn.queue(&Packet::Disconnect(Default::default()))?;
    conn.flush().await?;
    let _ = conn.tcp.shutdown().await;
    Ok(load.count)
}

/// Waits for at least one PUBACK; returns how many arrived.
async fn pubacks(conn: &mut Conn) -> anyhow::Result<u32> {
    let mut n = 0;
    loop {
        match conn.recv().await? {
            Some(Packet::PubAck(_)) => n += 1,
            Some(_) => {}
            None => bail!("the broker closed a publisher's connection"),
        }
        if n > 0 && conn.inbox.is_empty() {
            return Ok(n);
        }
    }
}

/// Reads PUBLISHes (acking QoS 1) until everything expected arrived across
/// all consumers or the run is stopped; returns latencies (ns) and when the
/// last one arrived.
async fn consume(
    mut conn: Conn,
    epoch: Instant,
    (delivered, done): (Arc<AtomicU64>, CancellationToken),
    expected: u64,
) -> (Vec<u64>, Duration) {
    let mut latencies = Vec::new();
    let mut last = Duration::ZERO;
    loop {
        let read = tokio::select! {
            read = conn.tcp.read_buf(&mut conn.inbox) => read,
            () = done.cancelled() => break,
        };
        if !matches!(read, Ok(n) if n > 0) {
            break;
        }
        while let Ok(Some(packet)) = conn.decoded() {
            let Packet::Publish(p) = packet else { continue };
            let now = epoch.elapsed();
            let sent = std::str::from_utf8(p.payload.get(..STAMP).unwrap_or_default())
                .ok()
                .and_then(|s| s.parse::<u64>().ok());
            if let Some(sent) = sent {
                latencies.push((now.as_nanos() as u64).saturating_sub(sent));
            }
            last = now;
            if p.qos == QoS::AtLeastOnce {
                let ack = Ack { packet_id: p.packet_id, reason: ReasonCode::Success, properties: Default::default() };
                let _ = conn.queue(&Packet::PubAck(ack));
            }
            if delivered.fetch_add(1, Ordering::Relaxed) + 1 >= expected {
                done.cancel();
            }
        }
        if conn.flush().await.is_err() {
            break;
        }
    }
    (latencies, last)
}
