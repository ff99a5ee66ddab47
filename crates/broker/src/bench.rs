//! `hearth bench`: a load generator over real WebSocket connections (or
//! MQTT ones: [`crate::bench_mqtt`], `--protocol mqtt`).
//!
//! P publishers and C consumers per queue; one queue (competing consumers) or
//! a fan-out of K queues bound to one topic. Each payload starts with its send
//! time, so every delivery gives a latency. The run is bounded by the message
//! count and by `--duration`.

use crate::client::{BrokerUrl, Client, Socket};
use anyhow::{Context, bail};
use clap::Args;
use futures_util::{SinkExt, StreamExt};
use queue_core::protocol::{AckMode, ClientFrame, ServerFrame};
use queue_core::{Payload, QueueOptions};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// Arguments of `hearth bench`.
#[derive(Debug, Clone, Args)]
pub struct BenchArgs {
    /// The broker (`--url`).
    #[command(flatten)]
    pub broker: BrokerUrl,
    /// Publishing connections.
    #[arg(long, short = 'P', default_value_t = 1)]
    pub publishers: u32,
    /// Consuming connections per queue.
    #[arg(long, short = 'C', default_value_t = 1)]
    pub consumers: u32,
    /// Messages to publish in all.
    #[arg(long, short = 'n', default_value_t = 100_000)]
    pub messages: u64,
    /// Payload size in bytes (at least 20: the send time is written first).
    #[arg(long, short = 's', default_value_t = 64)]
    pub size: usize,
    /// Prefetch of each consumer.
    #[arg(long, short = 'p', default_value_t = 100)]
    pub prefetch: u32,
    /// Fan-out: publish to a topic bound to this many queues (0 or 1: one queue, published to directly).
    #[arg(long, default_value_t = 0)]
    pub fanout: u32,
    /// Total publish rate in messages/s (default: as fast as possible).
    #[arg(long)]
    pub rate: Option<u64>,
    /// Consumers use auto ack instead of acking each message.
    #[arg(long)]
    pub auto_ack: bool,
    /// Stop after this many seconds, whatever arrived.
    #[arg(long, default_value_t = 60)]
    pub duration: u64,
    /// Protocol to load the broker with; with `mqtt`, `--url` is the MQTT
    /// listener's host:port (any MQTT 3.1.1 broker).
    #[arg(long, value_enum, default_value_t = BenchProtocol::Ws)]
    pub protocol: BenchProtocol,
    /// MQTT only: QoS of publishes and subscriptions (0 or 1).
    #[arg(long, default_value_t = 0)]
    pub qos: u8,
    /// MQTT only: subscribers keep persistent sessions (clean session
    /// false), so QoS 1 messages go to a durable queue and each PUBACK
    /// waits for the broker's disk (Hearth, Mosquitto with persistence,
    /// RabbitMQ's MQTT plugin).
    #[arg(long)]
    pub persistent: bool,
    /// MQTT only: subscribers connect to this broker (host:port) instead of
    /// `--url`'s, to measure forwarding through a bridge between the two.
    #[arg(long)]
    pub subscribe_to: Option<String>,
}

impl BenchArgs {
    /// Publisher `p`'s part of the load: its message count (the remainder
    /// goes to the first ones) and its rate limit, if any.
    pub fn publisher_load(&self, p: u64) -> (u64, Option<u64>) {
        let publishers = u64::from(self.publishers);
        let share = self.messages / publishers + u64::from(p < self.messages % publishers);
        (share, self.rate.map(|r| (r / publishers).max(1)))
    }
}

/// The protocol `hearth bench` speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum BenchProtocol {
    /// Hearth's native WebSocket protocol.
    Ws,
    /// MQTT 3.1.1 over TCP.
    Mqtt,
}

/// The figures of one run.
#[derive(Debug, Clone)]
pub struct BenchReport {
    /// Messages published.
    pub sent: u64,
    /// Seconds from the first publish to the last.
    pub send_secs: f64,
    /// Deliveries received.
    pub delivered: u64,
    /// Deliveries expected (messages × queues).
    pub expected: u64,
    /// Seconds from the first publish to the last delivery.
    pub deliver_secs: f64,
    /// Latency percentiles in microseconds: p50, p99, max.
    pub latency_us: (u64, u64, u64),
}

/// Payload bytes taken by the send time.
pub const STAMP: usize = 20;

/// Runs the benchmark and prints a report.
pub async fn run_bench(args: BenchArgs) -> anyhow::Result<()> {
    if args.size < STAMP {
        bail!("--size must be at least {STAMP} bytes: the send time is written into the payload");
    }
    if args.publishers == 0 || args.consumers == 0 {
        bail!("--publishers and --consumers must be at least 1");
    }
    let report = match args.protocol {
        BenchProtocol::Ws => bench(&args).await?,
        BenchProtocol::Mqtt => crate::bench_mqtt::bench(&args).await?,
    };
    print_report(&args, &report);
    Ok(())
}

/// Runs one benchmark and returns its figures.
pub async fn bench(args: &BenchArgs) -> anyhow::Result<BenchReport> {
    let run = crate::driver::now_ms();
    let queues = args.fanout.max(1);
    let names: Vec<String> = (0..queues).map(|i| format!("bench-{run}-{i}")).collect();
    let topic = format!("bench/{run}");
    let mut control = Client::open(&args.broker).await?;
    for name in &names {
        let id = control.next_id();
        let options = QueueOptions { auto_delete: true, ..QueueOptions::default() };
        control.request(id, &ClientFrame::Declare { id, queue: name.clone(), options }).await?;
        if args.fanout > 1 {
            let id = control.next_id();
            control
                .request(id, &ClientFrame::Bind { id, queue: name.clone(), filter: topic.clone(), retained: false })
                .await?;
        }
    }
    let expected = args.messages * u64::from(queues);
    let epoch = Instant::now();
    let delivered = Arc::new(AtomicU64::new(0));
    let done = CancellationToken::new();
    let mut consumers = Vec::new();
    for name in &names {
        for _ in 0..args.consumers {
            let socket = subscribe(&args.broker, name, args.prefetch, args.auto_ack).await?;
            let shared = (delivered.clone(), done.clone());
            consumers.push(tokio::spawn(consume(socket, epoch, shared, expected)));
        }
    }
    let target = if args.fanout > 1 { Target::Topic(topic) } else { Target::Queue(names[0].clone()) };
    let started = epoch.elapsed();
    let mut publishers = Vec::new();
    for p in 0..u64::from(args.publishers) {
        let (share, rate) = args.publisher_load(p);
        let client = Client::open(&args.broker).await?;
        publishers.push(tokio::spawn(publish(client, target.clone(), share, args.size, rate, epoch)));
    }
    let mut sent = 0;
    for publisher in publishers {
        sent += publisher.await.context("publisher task")??;
    }
    let send_secs = (epoch.elapsed() - started).as_secs_f64();
    let timeout = Duration::from_secs(args.duration);
    let _ = tokio::time::timeout(timeout, done.cancelled()).await;
    done.cancel();
    let mut results = Vec::new();
    for consumer in consumers {
        results.push(consumer.await.context("consumer task")?);
    }
    let report = report(sent, send_secs, delivered.load(Ordering::Relaxed), expected, started, results);
    let _ = control.close().await;
    Ok(report)
}

/// The figures of a run from its consumers' (latencies in ns, last delivery) pairs.
pub(crate) fn report(
    sent: u64,
    send_secs: f64,
    delivered: u64,
    expected: u64,
    started: Duration,
    consumers: Vec<(Vec<u64>, Duration)>,
) -> BenchReport {
    let mut latencies = Vec::new();
    let mut last = Duration::ZERO;
    for (lat, last_at) in consumers {
        latencies.extend(lat);
        last = last.max(last_at);
    }
    latencies.sort_unstable();
    let pick = |q: f64| latencies.get(((latencies.len() as f64 - 1.0) * q) as usize).copied().unwrap_or(0);
    BenchReport {
        sent,
        send_secs,
        delivered,
        expected,
        deliver_secs: (last.saturating_sub(started)).as_secs_f64(),
        latency_us: (pick(0.5) / 1000, pick(0.99) / 1000, latencies.last().copied().unwrap_or(0) / 1000),
    }
}

#[derive(Debug, Clone)]
enum Target {
    Queue(String),
    Topic(String),
}

async fn subscribe(broker: &BrokerUrl, queue: &str, prefetch: u32, auto_ack: bool) -> anyhow::Result<Socket> {
    let mut client = Client::open(broker).await?;
    let id = client.next_id();
    let ack = if auto_ack { AckMode::Auto } else { AckMode::Manual };
    let frame =
        ClientFrame::Subscribe { id, queue: Some(queue.to_owned()), topic: None, prefetch: Some(prefetch), ack };
    client.request(id, &frame).await?;
    Ok(client.into_socket())
}

/// Publishes `count` messages, pacing to `rate` per second if given.
async fn publish(
    mut client: Client,
    target: Target,
    count: u64,
    size: usize,
    rate: Option<u64>,
    epoch: Instant,
) -> anyhow::Result<u64> {
    let (topic, queue) = match target {
        Target::Queue(q) => (None, Some(q)),
        Target::Topic(t) => (Some(t), None),
    };
    let start = Instant::now();
    let padding = "x".repeat(size - STAMP);
    for i in 0..count {
        if let Some(rate) = rate {
            let due = start + Duration::from_secs_f64(i as f64 / rate as f64);
            if due > Instant::now() {
                client.flush().await?;
                tokio::time::sleep_until(due.into()).await;
            }
        }
        let stamp = epoch.elapsed().as_nanos() as u64;
        let payload = Payload::from(format!("{stamp:0width$}{padding}", width = STAMP));
        let frame = ClientFrame::Publish {
            id: None,
            topic: topic.as_deref().map(Into::into),
            queue: queue.clone(),
            payload,
            headers: Default::default(),
            retain: false,
            ttl_ms: None,
        };
        client.feed(&frame).await?;
        if i % 64 == 63 {
            client.flush().await?;
        }
    }
    client.flush().await?;
    client.close().await?;
    Ok(count)
}

/// Reads deliveries until everything expected arrived (across all consumers)
/// or the run is stopped; returns latencies (ns) and when the last one arrived.
async fn consume(
    socket: Socket,
    epoch: Instant,
    (delivered, done): (Arc<AtomicU64>, CancellationToken),
    expected: u64,
) -> (Vec<u64>, Duration) {
    let (mut sink, mut stream) = socket.split();
    let (acks, mut pending) = mpsc::unbounded_channel::<u64>();
    let writer = tokio::spawn(async move {
        while let Some(tag) = pending.recv().await {
            let mut frame = ClientFrame::Ack { tag, multiple: false };
            loop {
                let text = serde_json::to_string(&frame).unwrap_or_default();
                if sink.feed(Message::Text(text.into())).await.is_err() {
                    return;
                }
                match pending.try_recv() {
                    Ok(tag) => frame = ClientFrame::Ack { tag, multiple: false },
                    Err(_) => break,
                }
            }
            if sink.flush().await.is_err() {
                return;
            }
        }
        let _ = sink.close().await;
    });
    let mut latencies = Vec::new();
    let mut last = Duration::ZERO;
    loop {
        let message = tokio::select! {
            m = stream.next() => m,
            () = done.cancelled() => break,
        };
        let Some(Ok(Message::Text(text))) = message else {
            if matches!(message, Some(Ok(_))) {
                continue;
            }
            break;
        };
        let Ok(ServerFrame::Deliver(d)) = serde_json::from_str::<ServerFrame>(text.as_str()) else { continue };
        let now = epoch.elapsed();
        let sent = d.payload.as_str().and_then(|p| p.get(..STAMP)).and_then(|s| s.parse::<u64>().ok());
        if let Some(sent) = sent {
            latencies.push((now.as_nanos() as u64).saturating_sub(sent));
        }
        last = now;
        if let Some(tag) = d.tag {
            let _ = acks.send(tag);
        }
        if delivered.fetch_add(1, Ordering::Relaxed) + 1 >= expected {
            done.cancel();
        }
    }
    drop(acks);
    let _ = tokio::time::timeout(Duration::from_secs(2), writer).await;
    (latencies, last)
}

fn print_report(args: &BenchArgs, r: &BenchReport) {
    let shape = if args.fanout > 1 {
        format!("{} publisher(s) → topic → {} queues × {} consumer(s)", args.publishers, args.fanout, args.consumers)
    } else {
        format!("{} publisher(s) → 1 queue → {} consumer(s)", args.publishers, args.consumers)
    };
    let ack = match args.protocol {
        BenchProtocol::Mqtt => format!("MQTT QoS {}", args.qos),
        BenchProtocol::Ws if args.auto_ack => "auto ack".to_owned(),
        BenchProtocol::Ws => "manual ack".to_owned(),
    };
    println!("hearth bench: {shape}, {} messages of {} B, prefetch {}, {ack}", args.messages, args.size, args.prefetch);
    let rate = |n: u64, secs: f64| if secs > 0.0 { n as f64 / secs } else { 0.0 };
    println!("sent       {:>10} in {:>7.3} s  {:>10.0} msg/s", r.sent, r.send_secs, rate(r.sent, r.send_secs));
    println!(
        "delivered  {:>10} in {:>7.3} s  {:>10.0} msg/s{}",
        r.delivered,
        r.deliver_secs,
        rate(r.delivered, r.deliver_secs),
        if r.delivered < r.expected { format!("  (INCOMPLETE: {} expected)", r.expected) } else { String::new() }
    );
    let (p50, p99, max) = r.latency_us;
    println!(
        "latency    p50 {:.2} ms  p99 {:.2} ms  max {:.2} ms",
        p50 as f64 / 1e3,
        p99 as f64 / 1e3,
        max as f64 / 1e3
    );
}
