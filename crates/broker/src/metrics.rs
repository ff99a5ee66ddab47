//! Prometheus text exposition of a [`Snapshot`].

use crate::driver::Snapshot;
use std::fmt::Write;

/// Renders counters and per-queue gauges in Prometheus' text format.
pub fn render(s: &Snapshot) -> String {
    let c = &s.stats.counters;
    let mut out = String::new();
    let totals = [
        ("published", c.published, "Messages accepted from publishers"),
        ("routed", c.routed, "Copies placed in queues by routing"),
        ("unroutable", c.unroutable, "Publishes that matched no queue"),
        ("delivered", c.delivered, "Deliveries to consumers"),
        ("acked", c.acked, "Deliveries acknowledged"),
        ("redelivered", c.redelivered, "Deliveries of messages delivered before"),
        ("dropped", c.dropped, "Copies discarded"),
        ("refused", c.refused, "Copies refused by full queues"),
        ("dead_lettered", c.dead_lettered, "Copies moved to dead-letter queues"),
        ("expired", c.expired, "Copies discarded by TTL"),
    ];
    for (name, value, help) in totals {
        metric(&mut out, &format!("hearth_messages_{name}_total"), "counter", help, value);
    }
    let m = &s.stats.memory;
    let blocked_conns = s.connections.iter().filter(|c| c.stats.blocked).count() as u64;
    let gauges = [
        ("memory_used_bytes", m.used, "Memory the broker accounts for: queued, retained and buffered bytes"),
        ("memory_limit_bytes", m.limit.unwrap_or(0), "The memory budget (0: none)"),
        ("memory_queued_bytes", m.queued, "Bytes of ready and unacked copies in queues"),
        ("memory_retained_bytes", m.retained, "Bytes of retained messages"),
        ("memory_buffered_bytes", m.buffered, "Bytes waiting in connection buffers"),
        ("publishers_blocked", u64::from(m.blocked), "1 while the memory or disk budget blocks publishers"),
        ("disk_limit_bytes", m.disk_limit.unwrap_or(0), "The disk budget for the store's files (0: none)"),
        ("connections_blocked", blocked_conns, "Connections whose publishes are held by the memory budget"),
        ("slow_consumers_cut", s.slow_consumers_cut, "Connections cut since start because they read too slowly"),
        ("connections", s.stats.connections, "Open connections"),
        ("consumers", s.stats.consumers, "Consumers across all queues"),
        ("queues", s.stats.queues.len() as u64, "Declared queues"),
        ("retained_topics", s.stats.retained, "Topics with a retained message"),
    ];
    for (name, value, help) in gauges {
        metric(&mut out, &format!("hearth_{name}"), "gauge", help, value);
    }
    if let Some(store) = &s.store {
        render_store(&mut out, store);
        let _ = writeln!(out, "# HELP hearth_queue_disk_bytes Bytes of the queue's records in the store.");
        let _ = writeln!(out, "# TYPE hearth_queue_disk_bytes gauge");
        for q in &s.stats.queues {
            let bytes = s.disk_bytes.get(q.name.as_str()).copied().unwrap_or(0);
            let _ = writeln!(out, "hearth_queue_disk_bytes{{queue=\"{}\"}} {bytes}", escape(&q.name));
        }
    }
    let name = "hearth_acl_denied_total";
    let _ = writeln!(out, "# HELP {name} Requests the access control list refused, by action.\n# TYPE {name} counter");
    for action in ["publish", "subscribe", "receive", "will", "consume", "publish_queue", "configure"] {
        let count = s.denied.get(action).copied().unwrap_or(0);
        let _ = writeln!(out, "{name}{{action=\"{action}\"}} {count}");
    }
    type Gauge = fn(&queue_core::QueueStats) -> u64;
    let per_queue: [(&str, &str, Gauge); 5] = [
        ("hearth_queue_ready", "Messages waiting for a consumer", |q| q.ready),
        ("hearth_queue_bytes", "Bytes of the queue's ready and unacked messages", |q| q.bytes),
        ("hearth_queue_dropped", "Copies the queue dropped (overflow, rejection, deletion)", |q| q.counters.dropped),
        ("hearth_queue_unacked", "Messages delivered and not yet acked", |q| q.unacked),
        ("hearth_queue_consumers", "Consumers attached", |q| q.consumers),
    ];
    for (name, help, value) in per_queue {
        let _ = writeln!(out, "# HELP {name} {help}.\n# TYPE {name} gauge");
        for q in &s.stats.queues {
            let _ = writeln!(out, "{name}{{queue=\"{}\"}} {}", escape(&q.name), value(q));
        }
    }
    out
}

/// Each bridge's state, backlog and counts, labelled by bridge (nothing
/// without bridges).
pub fn render_bridges(out: &mut String, bridges: &[crate::bridge::BridgeView]) {
    use crate::bridge::{BridgeView, LinkState};
    if bridges.is_empty() {
        return;
    }
    type Value = fn(&BridgeView) -> u64;
    let lines: [(&str, &str, &str, Value); 10] = [
        ("hearth_bridge_up", "gauge", "1 while the bridge is connected to its remote", |b| {
            u64::from(b.state == LinkState::Connected)
        }),
        ("hearth_bridge_backlog", "gauge", "Messages waiting for the remote, in flight included", |b| b.backlog),
        ("hearth_bridge_backlog_bytes", "gauge", "Bytes of messages waiting for the remote", |b| b.backlog_bytes),
        ("hearth_bridge_in_flight", "gauge", "Messages sent and not yet acknowledged by the remote", |b| b.in_flight),
        ("hearth_bridge_sent_total", "counter", "Messages the remote acknowledged", |b| b.sent),
        ("hearth_bridge_received_total", "counter", "Messages from the remote published here", |b| b.received),
        ("hearth_bridge_dropped_total", "counter", "Messages dropped from the full backlog (the oldest)", |b| {
            b.dropped
        }),
        ("hearth_bridge_loops_stopped_total", "counter", "Messages not sent back to where they came from", |b| {
            b.loops_stopped
        }),
        ("hearth_bridge_connects_total", "counter", "Connections made to the remote", |b| b.connects),
        (
            "hearth_bridge_in_dropped_total",
            "counter",
            "QoS 0 messages from the remote dropped while publishers were blocked",
            |b| b.in_dropped,
        ),
    ];
    for (name, kind, help, value) in lines {
        let _ = writeln!(out, "# HELP {name} {help}.\n# TYPE {name} {kind}");
        for b in bridges {
            let _ = writeln!(out, "{name}{{bridge=\"{}\"}} {}", escape(&b.name), value(b));
        }
    }
}

/// The durable store's gauges, counters and histograms.
fn render_store(out: &mut String, store: &store::Stats) {
    let gauges = [
        ("disk_bytes", store.disk_bytes, "Bytes of the store's segment files"),
        ("live_bytes", store.live_bytes, "Bytes of the store's records still needed"),
        ("segments", store.segments, "Segment files"),
    ];
    let counters = [
        ("syncs_total", store.syncs, "Syncs to disk (each one a group commit)"),
        ("records_total", store.records, "Records written"),
        ("segments_reclaimed_total", store.segments_reclaimed, "Segment files deleted once nothing in them was needed"),
        ("compacted_bytes_total", store.compacted_bytes, "Bytes copied forward to reclaim mostly dead segments"),
    ];
    for (kind, metrics) in [("gauge", &gauges[..]), ("counter", &counters[..])] {
        for (name, value, help) in metrics {
            metric(out, &format!("hearth_store_{name}"), kind, help, *value);
        }
    }
    histogram(out, "hearth_store_sync_seconds", "Time each sync to disk took", &store.sync_seconds);
    histogram(
        out,
        "hearth_store_batch_changes",
        "Changes written by each sync (group commit batch size)",
        &store.batch_changes,
    );
}

/// One unlabelled metric with its help and type lines.
pub fn metric(out: &mut String, name: &str, kind: &str, help: &str, value: u64) {
    let _ = writeln!(out, "# HELP {name} {help}.\n# TYPE {name} {kind}\n{name} {value}");
}

fn histogram(out: &mut String, name: &str, help: &str, h: &store::Histogram) {
    let _ = writeln!(out, "# HELP {name} {help}.\n# TYPE {name} histogram");
    let mut cumulative = 0;
    for (i, count) in h.counts.iter().enumerate() {
        cumulative += count;
        match h.bounds.get(i) {
            Some(bound) => {
                let _ = writeln!(out, "{name}_bucket{{le=\"{bound}\"}} {cumulative}");
            }
            None => {
                let _ = writeln!(out, "{name}_bucket{{le=\"+Inf\"}} {cumulative}");
            }
        }
    }
    let _ = writeln!(out, "{name}_sum {}\n{name}_count {cumulative}", h.sum);
}

/// Escapes a label value (backslash, quote, newline).
fn escape(value: &str) -> String {
    value.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
