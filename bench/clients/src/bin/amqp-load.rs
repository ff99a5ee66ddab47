//! An AMQP 0-9-1 load generator built on lapin (a client other people
//! wrote), for any broker: Hearth, RabbitMQ. One scenario per run, bounded
//! in messages and time; prints one JSON line.
//!
//! * `auto`: 1 producer → 1 consumer, transient, automatic acks;
//! * `manual`: 1 → 1, manual acks, prefetch 100;
//! * `four`: 4 producers → 4 consumers, one queue per pair, manual acks;
//! * `fanout`: 1 producer → `amq.fanout` → 10 queues, 10 consumers;
//! * `confirms`: 1 → 1 with publisher confirms, 100 unconfirmed at most;
//! * `latency`: 1 → 1 at a fixed `--rate`: the p50 and p99 of publish →
//!   delivery, from a timestamp in the payload.
//!
//! Delivered msg/s is counted at the consumers, from the first delivery to
//! the last.

use anyhow::{Context, Result, bail};
use clap::Parser;
use futures_util::StreamExt;
use lapin::options::{
    BasicAckOptions, BasicConsumeOptions, BasicPublishOptions, BasicQosOptions, ConfirmSelectOptions, QueueBindOptions,
    QueueDeclareOptions, QueueDeleteOptions,
};
use lapin::types::FieldTable;
use lapin::{BasicProperties, Channel, Connection, ConnectionProperties};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// Publishes (and acks) a client has in progress at once: lapin resolves
/// each once its IO loop has taken the frames, so awaiting them one by one
/// waits for that hand-off on every message.
const WINDOW: usize = 64;

#[derive(Parser)]
struct Args {
    /// The broker, e.g. amqp://guest:guest@127.0.0.1:5672/%2f
    #[arg(long)]
    url: String,
    /// auto | manual | four | fanout | confirms | latency
    #[arg(long)]
    scenario: String,
    /// Messages each producer publishes.
    #[arg(long, default_value_t = 200_000)]
    messages: u64,
    /// Payload bytes.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Publishes per second for `latency`.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Longest a run may take.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
}

async fn channel(url: &str) -> Result<(Connection, Channel)> {
    let conn = Connection::connect(url, ConnectionProperties::default()).await.context("connecting")?;
    let ch = conn.create_channel().await?;
    Ok((conn, ch))
}

async fn declare(ch: &Channel, queue: &str) -> Result<()> {
    let _ = ch.queue_delete(queue.into(), QueueDeleteOptions::default()).await;
    ch.queue_declare(queue.into(), QueueDeclareOptions::default(), FieldTable::default()).await?;
    Ok(())
}

/// Consumes `expect` messages from `queue`; returns (first, last) delivery
/// instants and the latencies (µs) read from the payloads' timestamps.
async fn consume(
    url: String,
    queue: String,
    expect: u64,
    manual: bool,
    origin: Instant,
    counter: Arc<AtomicU64>,
) -> Result<(Instant, Instant, Vec<u64>)> {
    let (_conn, ch) = channel(&url).await?;
    if manual {
        ch.basic_qos(100, BasicQosOptions::default()).await?;
    }
    let options = BasicConsumeOptions { no_ack: !manual, ..BasicConsumeOptions::default() };
    let mut consumer = ch.basic_consume(queue.as_str().into(), "".into(), options, FieldTable::default()).await?;
    let mut first = None;
    let mut last = Instant::now();
    let mut latencies = Vec::new();
    let mut got = 0;
    let mut acks = futures_util::stream::FuturesOrdered::new();
    while got < expect {
        let Some(delivery) = consumer.next().await else { bail!("consumer ended") };
        let delivery = delivery?;
        last = Instant::now();
        first.get_or_insert(last);
        if delivery.data.len() >= 8 {
            let sent = u64::from_le_bytes(delivery.data[..8].try_into().expect("8 bytes"));
            let now = origin.elapsed().as_micros() as u64;
            latencies.push(now.saturating_sub(sent));
        }
        if manual {
            // Each delivery acked on its own, but not waited for one by
            // one (lapin resolves an ack once its IO loop took it): up to
            // WINDOW acks in progress at once.
            let acker = delivery.acker.clone();
            acks.push_back(async move { acker.ack(BasicAckOptions::default()).await });
            while acks.len() >= WINDOW {
                acks.next().await.expect("not empty")?;
            }
        }
        got += 1;
        counter.fetch_add(1, Ordering::Relaxed);
    }
    while let Some(ack) = acks.next().await {
        ack?;
    }
    Ok((first.unwrap_or(last), last, latencies))
}

/// Publishes `n` messages to `exchange`/`key`; with `confirms`, at most 100
/// are unconfirmed; with `rate`, paced to it.
#[allow(clippy::too_many_arguments)]
async fn produce(
    url: String,
    exchange: String,
    key: String,
    n: u64,
    size: usize,
    confirms: bool,
    rate: Option<u64>,
    origin: Instant,
) -> Result<()> {
    let (_conn, ch) = channel(&url).await?;
    if confirms {
        ch.confirm_select(ConfirmSelectOptions::default()).await?;
    }
    // Up to WINDOW publishes in progress at once (each with its own body),
    // as a program publishing a stream would do; one at a time when paced.
    let (ch, exchange, key) = (&ch, exchange.as_str(), key.as_str());
    let start = Instant::now();
    let publishes = futures_util::stream::iter(0..n).map(|i| async move {
        if let Some(rate) = rate {
            let due = start + Duration::from_micros(i * 1_000_000 / rate);
            tokio::time::sleep_until(due.into()).await;
        }
        let mut body = vec![0u8; size.max(8)];
        body[..8].copy_from_slice(&(origin.elapsed().as_micros() as u64).to_le_bytes());
        let options = BasicPublishOptions::default();
        ch.basic_publish(exchange.into(), key.into(), options, &body, BasicProperties::default()).await
    });
    let mut publishes = publishes.buffered(if rate.is_some() { 1 } else { WINDOW });
    // With confirms, at most 100 unconfirmed (awaited in order).
    let mut pending = std::collections::VecDeque::new();
    while let Some(confirm) = publishes.next().await {
        let confirm = confirm?;
        if confirms {
            pending.push_back(confirm);
            if pending.len() >= 100 {
                pending.pop_front().expect("not empty").await?;
            }
        }
    }
    for confirm in pending {
        confirm.await?;
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let origin = Instant::now();
    let (_conn, setup) = channel(&args.url).await?;
    let counter = Arc::new(AtomicU64::new(0));
    let n = args.messages;
    // (queue, exchange, routing key) per consumer; producers per pair.
    let (queues, producers): (Vec<String>, Vec<(String, String)>) = match args.scenario.as_str() {
        "auto" | "manual" | "confirms" | "latency" => (vec!["load.0".into()], vec![(String::new(), "load.0".into())]),
        "four" => (
            (0..4).map(|i| format!("load.{i}")).collect(),
            (0..4).map(|i| (String::new(), format!("load.{i}"))).collect(),
        ),
        "fanout" => ((0..10).map(|i| format!("load.{i}")).collect(), vec![("amq.fanout".into(), String::new())]),
        other => bail!("unknown scenario {other}"),
    };
    for queue in &queues {
        declare(&setup, queue).await?;
        if args.scenario == "fanout" {
            let options = QueueBindOptions::default();
            setup
                .queue_bind(queue.as_str().into(), "amq.fanout".into(), "".into(), options, FieldTable::default())
                .await?;
        }
    }
    let manual = matches!(args.scenario.as_str(), "manual" | "four");
    // Each consumer gets every message its producer (or the fanout) sends.
    let per_consumer = n;
    let mut consumers = Vec::new();
    for queue in &queues {
        let task = consume(args.url.clone(), queue.clone(), per_consumer, manual, origin, counter.clone());
        consumers.push(tokio::spawn(task));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    let confirms = args.scenario == "confirms";
    let rate = (args.scenario == "latency").then_some(args.rate);
    let mut tasks = Vec::new();
    for (exchange, key) in producers {
        tasks.push(tokio::spawn(produce(args.url.clone(), exchange, key, n, args.size, confirms, rate, origin)));
    }
    let run = async {
        for task in tasks {
            task.await??;
        }
        let mut spans = Vec::new();
        let mut latencies = Vec::new();
        for task in consumers {
            let (first, last, l) = task.await??;
            spans.push((first, last));
            latencies.extend(l);
        }
        anyhow::Ok((spans, latencies))
    };
    let (spans, mut latencies) = match tokio::time::timeout(Duration::from_secs(args.timeout_s), run).await {
        Ok(result) => result?,
        Err(_) => bail!("timed out after {} s with {} delivered", args.timeout_s, counter.load(Ordering::Relaxed)),
    };
    let first = spans.iter().map(|s| s.0).min().expect("a consumer");
    let last = spans.iter().map(|s| s.1).max().expect("a consumer");
    let delivered = counter.load(Ordering::Relaxed);
    let secs = last.duration_since(first).as_secs_f64().max(1e-9);
    latencies.sort_unstable();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0);
    println!(
        "{{\"scenario\":\"{}\",\"delivered\":{delivered},\"secs\":{secs:.3},\"rate\":{:.0},\"p50_us\":{},\"p99_us\":{}}}",
        args.scenario,
        delivered as f64 / secs,
        pct(0.50),
        pct(0.99)
    );
    for queue in &queues {
        let _ = setup.queue_delete(queue.as_str().into(), QueueDeleteOptions::default()).await;
    }
    Ok(())
}
