//! An MQTT 3.1.1 load generator built on rumqttc (a client other people
//! wrote), for any broker: Hearth, Mosquitto, rumqttd. One scenario per
//! run, bounded in messages and time; prints one JSON line.
//!
//! * `q0`, `q1`: 1 publisher → 1 subscriber at QoS 0 or 1;
//! * `four-q0`, `four-q1`: 4 publishers → 4 subscribers, a topic per pair;
//! * `fanout`: 1 publisher → 10 subscribers of one topic, QoS 0;
//! * `latency-q0`, `latency-q1`: 1 → 1 at a fixed `--rate`: p50 and p99 of
//!   publish → delivery, from a timestamp in the payload.
//!
//! Delivered msg/s is counted at the subscribers, from the first delivery
//! to the last.

use anyhow::{Result, bail};
use clap::Parser;
use rumqttc::{AsyncClient, Event, EventLoop, MqttOptions, Packet, QoS};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

#[derive(Parser)]
struct Args {
    /// Broker host.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    /// Broker port.
    #[arg(long)]
    port: u16,
    /// q0 | q1 | four-q0 | four-q1 | fanout | latency-q0 | latency-q1
    #[arg(long)]
    scenario: String,
    /// Messages each publisher sends.
    #[arg(long, default_value_t = 200_000)]
    messages: u64,
    /// Payload bytes.
    #[arg(long, default_value_t = 64)]
    size: usize,
    /// Publishes per second for the latency scenarios.
    #[arg(long, default_value_t = 10_000)]
    rate: u64,
    /// Longest a run may take.
    #[arg(long, default_value_t = 60)]
    timeout_s: u64,
    /// Set TCP_NODELAY on every connection (rumqttc leaves Nagle's
    /// algorithm on by default, as most device libraries do).
    #[arg(long)]
    tcp_nodelay: bool,
}

/// An rumqttc client and its event loop, with `--tcp-nodelay` applied.
fn client(args: &Args, id: String) -> (AsyncClient, EventLoop) {
    let (client, mut eventloop) = AsyncClient::new(options(args, id), 1000);
    let mut network = rumqttc::NetworkOptions::new();
    network.set_tcp_nodelay(args.tcp_nodelay);
    eventloop.set_network_options(network);
    (client, eventloop)
}

fn options(args: &Args, id: String) -> MqttOptions {
    let mut o = MqttOptions::new(id, args.host.clone(), args.port);
    o.set_keep_alive(Duration::from_secs(30));
    o.set_max_packet_size(1 << 20, 1 << 20);
    o.set_inflight(100);
    o
}

/// Runs `eventloop` until `expect` PUBLISHes arrived, or none came for 2 s
/// after the first (a broker may drop QoS 0 for a subscriber that lags:
/// what was lost is reported); returns (first, last) and the latencies
/// (µs) from the payloads' timestamps.
async fn subscriber(
    mut eventloop: EventLoop,
    expect: u64,
    origin: Instant,
    counter: Arc<AtomicU64>,
) -> Result<(Instant, Instant, Vec<u64>)> {
    let (mut first, mut last, mut latencies, mut got) = (None, Instant::now(), Vec::new(), 0);
    while got < expect {
        let event = match tokio::time::timeout(Duration::from_secs(2), eventloop.poll()).await {
            Ok(event) => event?,
            Err(_) if first.is_some() => break,
            Err(_) => continue,
        };
        if let Event::Incoming(Packet::Publish(p)) = event {
            last = Instant::now();
            first.get_or_insert(last);
            if p.payload.len() >= 8 {
                let sent = u64::from_le_bytes(p.payload[..8].try_into().expect("8 bytes"));
                latencies.push((origin.elapsed().as_micros() as u64).saturating_sub(sent));
            }
            got += 1;
            counter.fetch_add(1, Ordering::Relaxed);
        }
    }
    Ok((first.unwrap_or(last), last, latencies))
}

#[tokio::main]
async fn main() -> Result<()> {
    let args = Args::parse();
    let origin = Instant::now();
    let (qos, pairs, fanout, paced) = match args.scenario.as_str() {
        "q0" => (QoS::AtMostOnce, 1, 1, false),
        "q1" => (QoS::AtLeastOnce, 1, 1, false),
        "four-q0" => (QoS::AtMostOnce, 4, 1, false),
        "four-q1" => (QoS::AtLeastOnce, 4, 1, false),
        "fanout" => (QoS::AtMostOnce, 1, 10, false),
        "latency-q0" => (QoS::AtMostOnce, 1, 1, true),
        "latency-q1" => (QoS::AtLeastOnce, 1, 1, true),
        other => bail!("unknown scenario {other}"),
    };
    let counter = Arc::new(AtomicU64::new(0));
    let run_id = std::process::id();
    let mut subscribers = Vec::new();
    for pair in 0..pairs {
        for s in 0..fanout {
            let (client, mut eventloop) = client(&args, format!("sub-{run_id}-{pair}-{s}"));
            client.subscribe(format!("load/{run_id}/{pair}"), qos).await?;
            // Until SUBACK: the subscription is in place before publishing.
            loop {
                if let Event::Incoming(Packet::SubAck(_)) = eventloop.poll().await? {
                    break;
                }
            }
            let task = subscriber(eventloop, args.messages, origin, counter.clone());
            subscribers.push((client, tokio::spawn(task)));
        }
    }
    let mut publishers = Vec::new();
    for pair in 0..pairs {
        let (client, mut eventloop) = client(&args, format!("pub-{run_id}-{pair}"));
        let (n, size, rate) = (args.messages, args.size.max(8), args.rate);
        let topic = format!("load/{run_id}/{pair}");
        let publish = tokio::spawn(async move {
            let mut body = vec![0u8; size];
            let start = Instant::now();
            for i in 0..n {
                if paced {
                    tokio::time::sleep_until((start + Duration::from_micros(i * 1_000_000 / rate)).into()).await;
                }
                body[..8].copy_from_slice(&(origin.elapsed().as_micros() as u64).to_le_bytes());
                client.publish(topic.as_str(), qos, false, body.clone()).await?;
            }
            anyhow::Ok(client)
        });
        // The event loop sends what the client queues (and reads acks).
        let drive = tokio::spawn(async move {
            loop {
                if eventloop.poll().await.is_err() {
                    return;
                }
            }
        });
        publishers.push((publish, drive));
    }
    let run = async {
        let mut spans = Vec::new();
        let mut latencies = Vec::new();
        for (_, task) in subscribers {
            let (first, last, l) = task.await??;
            spans.push((first, last));
            latencies.extend(l);
        }
        for (publish, drive) in publishers {
            publish.await??;
            drive.abort();
        }
        anyhow::Ok((spans, latencies))
    };
    let (spans, mut latencies) = match tokio::time::timeout(Duration::from_secs(args.timeout_s), run).await {
        Ok(result) => result?,
        Err(_) => bail!("timed out after {} s with {} delivered", args.timeout_s, counter.load(Ordering::Relaxed)),
    };
    let first = spans.iter().map(|s| s.0).min().expect("a subscriber");
    let last = spans.iter().map(|s| s.1).max().expect("a subscriber");
    let delivered = counter.load(Ordering::Relaxed);
    let secs = last.duration_since(first).as_secs_f64().max(1e-9);
    latencies.sort_unstable();
    let pct = |p: f64| latencies.get(((latencies.len() as f64 - 1.0) * p) as usize).copied().unwrap_or(0);
    println!(
        "{{\"scenario\":\"{}\",\"delivered\":{delivered},\"lost\":{},\"secs\":{secs:.3},\"rate\":{:.0},\"p50_us\":{},\"p99_us\":{}}}",
        args.scenario,
        args.messages * pairs * fanout - delivered,
        delivered as f64 / secs,
        pct(0.50),
        pct(0.99)
    );
    Ok(())
}
