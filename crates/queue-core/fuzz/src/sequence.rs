//! Arbitrary input sequences for the engine, read from bytes, and the checks
//! made after every input. Shared by the `engine` fuzz target and the
//! `frame_sequences` proptest (both `#[path]`-include this file), so it
//! depends on `queue_core` and `std` only: the bytes come from libFuzzer or
//! from proptest, and [`Choices`] turns them into decisions.
//!
//! Every input is one of `Connect`, `Disconnect`, `Tick`, `Buffered` or a
//! `Frame` of any [`ClientFrame`] variant, on one of a few connections, at a
//! time that jumps forward (up to `u64::MAX`), stands still or goes
//! backwards; the engine's configuration comes from the bytes too. Field
//! values lean to the edges: 0, 1, `u32::MAX`, `u64::MAX`, deep and long
//! topics, `$` topics, colliding queue names, tags nobody holds. Tags,
//! consumers and queue names seen in the outputs are reused, so acks and
//! unsubscribes often hit something real.
//!
//! After every input: no panic; the conservation law of `stats.rs` for every
//! queue and for the whole engine; counters never go down; connections and
//! queues agree on unacked deliveries and consumers; no consumer with room
//! is left while its queue holds ready messages; delivery tags increase per
//! connection; frames go only to connections that were (or are) open; and
//! the number of outputs is within [`output_bound`].

use queue_core::LOW_WATERMARK_PERCENT;
use queue_core::message::Headers;
use queue_core::protocol::{AckMode, ClientFrame, ServerFrame, WILL_TTL_HEADER, Will};
use queue_core::{Counters, Engine, EngineConfig, Input, Output, Overflow, QueueOptions, StatsSnapshot};
use std::collections::{BTreeMap, BTreeSet};

/// Decisions read from bytes; once they run out every decision is 0, the
/// simplest choice, so any byte string is a valid (finite) sequence.
pub struct Choices<'a> {
    data: &'a [u8],
}

impl<'a> Choices<'a> {
    pub fn new(data: &'a [u8]) -> Self {
        Self { data }
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub fn byte(&mut self) -> u8 {
        let (&first, rest) = self.data.split_first().unwrap_or((&0, &[]));
        self.data = rest;
        first
    }

    /// A number below `n` (at most 256).
    pub fn below(&mut self, n: usize) -> usize {
        usize::from(self.byte()) % n.max(1)
    }

    pub fn flag(&mut self) -> bool {
        self.byte() & 1 == 1
    }

    pub fn pick<T: Clone>(&mut self, items: &[T]) -> T {
        items[self.below(items.len())].clone()
    }

    pub fn maybe<T>(&mut self, f: impl FnOnce(&mut Self) -> T) -> Option<T> {
        if self.flag() { Some(f(self)) } else { None }
    }

    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |n, _| n << 8 | u64::from(self.byte()))
    }

    /// A u64 leaning to the edges: 0, 1, small, powers of two, u32::MAX,
    /// u64::MAX and just below it, or anything.
    pub fn edge(&mut self) -> u64 {
        match self.byte() % 10 {
            0 => 0,
            1 => 1,
            2 => u64::MAX,
            3 => u64::from(u32::MAX),
            4 => u64::MAX - u64::from(self.byte()),
            5 => 1 << self.below(64),
            6 => self.u64(),
            7 => u64::from(u32::MAX) + 1,
            _ => u64::from(self.byte()),
        }
    }

    pub fn edge_u32(&mut self) -> u32 {
        match self.byte() % 6 {
            0 => 0,
            1 => 1,
            2 => u32::MAX,
            3 => 65_535,
            4 => 65_536,
            _ => u32::from(self.byte()),
        }
    }
}

/// Connections the sequence uses: a few small ids and the largest.
const CONNS: [u64; 4] = [1, 2, 3, u64::MAX];

/// `levels` levels of `level`, joined by `/`, then `/last`.
fn deep(level: &str, levels: usize, last: &str) -> String {
    format!("{}{last}", format!("{level}/").repeat(levels))
}

/// A depth for deep topics and filters (levels before the last): a few,
/// around the engine's limit of 128 levels, or as many as fit in (and just
/// over) 65 535 bytes.
fn depth(c: &mut Choices) -> usize {
    match c.below(16) {
        0 => c.pick(&[32_767, 32_768]),
        n => [1, 2, 7, 126, 127, 128, 1000][n % 7],
    }
}

fn topic(c: &mut Choices) -> String {
    match c.below(20) {
        0..=2 => "a".into(),
        3 | 4 => "a/b".into(),
        5 => "a/b/c".into(),
        6 => "$SYS/up".into(),
        7 => "$".into(),
        8 => String::new(),
        9 => "/".into(),
        10 => "a//b".into(),
        11 => c.pick(&["a/+", "#", "a\0b"]).into(),
        12 => "ünï/çødé".into(),
        13 => deep("a", depth(c), "a"),
        14 => "x".repeat(c.pick(&[255, 65_535, 65_536])),
        _ => "b".into(),
    }
}

fn filter(c: &mut Choices) -> String {
    match c.below(22) {
        0 | 1 => "#".into(),
        2 => "+".into(),
        3 | 4 => "a/#".into(),
        5 => "a".into(),
        6 => "a/b".into(),
        7 => "+/+".into(),
        8 => "a/+/c".into(),
        9 => "$SYS/#".into(),
        10 => "+/#".into(),
        11 => deep("+", depth(c), "+"),
        12 => deep("+", depth(c), "#"),
        13 => deep("a", depth(c), "#"),
        14 => deep("a", depth(c), "a"),
        15 => c.pick(&["a/#/b", "a+", "", "#/", "a\0"]).into(),
        16 => "$".into(),
        17 => "/".into(),
        _ => "b".into(),
    }
}

fn payload(c: &mut Choices) -> queue_core::Payload {
    match c.below(6) {
        0 => queue_core::Payload::default(),
        1 => vec![0xff, 0, 0xfe].into(),
        2 => vec![b'p'; 4096].into(),
        _ => "21.5".into(),
    }
}

fn number_text(c: &mut Choices) -> String {
    match c.below(5) {
        0 => "-1".into(),
        1 => "nope".into(),
        2 => "18446744073709551616".into(),
        _ => c.edge().to_string(),
    }
}

fn headers(c: &mut Choices) -> Headers {
    let mut headers = Headers::new();
    // 0, what exhausted bytes read as, must end the loop.
    while c.below(4) == 3 {
        let (name, value) = match c.below(4) {
            0 => ("x-death-count".to_owned(), c.pick(&["0", "7", "8", "4294967295", "-1"]).to_owned()),
            1 => (WILL_TTL_HEADER.to_owned(), number_text(c)),
            2 => ("x-death-queue".to_owned(), "q".to_owned()),
            _ => ("k".to_owned(), "v".to_owned()),
        };
        headers.insert(name, value);
    }
    headers
}

fn will(c: &mut Choices) -> Will {
    let delay_ms = if c.flag() { 0 } else { c.edge() };
    Will { topic: topic(c), payload: payload(c), retain: c.flag(), headers: headers(c), delay_ms }
}

fn ack_mode(c: &mut Choices) -> AckMode {
    if c.flag() { AckMode::Auto } else { AckMode::Manual }
}

/// What the outputs have shown so far, for choosing values that hit
/// something real.
#[derive(Default)]
struct Seen {
    /// Queue names from `declared` and `subscribed` (the last few).
    names: Vec<String>,
    /// (connection, consumer) from `subscribed` (the last few).
    consumers: Vec<(u64, u64)>,
    /// The last delivery tags per connection.
    tags: BTreeMap<u64, Vec<u64>>,
}

fn remember<T: PartialEq>(list: &mut Vec<T>, item: T) {
    if !list.contains(&item) {
        if list.len() >= 8 {
            list.remove(0);
        }
        list.push(item);
    }
}

impl Seen {
    fn queue(&self, c: &mut Choices) -> String {
        match c.below(12) {
            0..=3 => "q".into(),
            4 => "dlq".into(),
            5 => String::new(),
            6 => c.pick(&["hearth.gen.1", "hearth.sub.1", "mqtt.c", "with space", "tab\t", "ünï"]).into(),
            7 => "n".repeat(c.pick(&[255, 256])),
            _ if self.names.is_empty() => "q2".into(),
            _ => c.pick(&self.names),
        }
    }

    fn tag(&self, c: &mut Choices, conn: u64) -> u64 {
        match self.tags.get(&conn).filter(|t| !t.is_empty()) {
            Some(tags) if c.below(4) != 0 => c.pick(tags),
            _ => c.edge(),
        }
    }

    fn consumer(&self, c: &mut Choices, conn: u64) -> u64 {
        let mine: Vec<u64> = self.consumers.iter().filter(|(k, _)| *k == conn).map(|(_, id)| *id).collect();
        match c.below(4) {
            0 if !self.consumers.is_empty() => c.pick(&self.consumers).1,
            1 => c.edge(),
            _ if !mine.is_empty() => c.pick(&mine),
            _ => c.edge(),
        }
    }

    fn options(&self, c: &mut Choices) -> QueueOptions {
        if c.flag() {
            return QueueOptions::default();
        }
        let (durable, exclusive, auto_delete) = (c.flag(), c.flag(), c.flag());
        let max_length = c.maybe(Choices::edge);
        let overflow = if c.flag() { Overflow::RejectPublish } else { Overflow::DropOldest };
        let max_length_bytes = c.maybe(Choices::edge);
        let dead_letter = c.maybe(|c| self.queue(c));
        // Dead letters to a topic, when not to a queue: routed by bindings.
        let dead_letter_topic = if dead_letter.is_none() { c.maybe(topic) } else { None };
        QueueOptions {
            durable,
            exclusive,
            auto_delete,
            max_length,
            max_length_bytes,
            overflow,
            message_ttl_ms: c.maybe(Choices::edge),
            dead_letter,
            dead_letter_topic,
            max_deliveries: c.maybe(Choices::edge_u32),
            expires_ms: c.maybe(Choices::edge),
        }
    }

    fn frame(&self, c: &mut Choices, conn: u64) -> ClientFrame {
        let id = c.edge();
        match c.below(20) {
            0 => ClientFrame::Hello {
                id: c.maybe(Choices::edge),
                client_id: c.maybe(|c| c.pick(&["", "c", "a\nb", "ünï"]).to_owned()),
                keep_alive_ms: c.edge(),
                will: c.maybe(will),
            },
            1 | 2 => ClientFrame::Declare { id, queue: self.queue(c), options: self.options(c) },
            3 => ClientFrame::Delete { id, queue: self.queue(c), if_empty: c.flag() },
            4 | 5 => ClientFrame::Bind { id, queue: self.queue(c), filter: filter(c), retained: c.below(4) == 0 },
            6 => ClientFrame::Unbind { id, queue: self.queue(c), filter: filter(c) },
            7..=9 => {
                let (topic, queue) = match c.below(8) {
                    0 => (None, None),
                    1 => (Some(topic(c).into()), Some(self.queue(c))),
                    2 | 3 => (None, Some(self.queue(c))),
                    _ => (Some(topic(c).into()), None),
                };
                ClientFrame::Publish {
                    id: c.maybe(Choices::edge),
                    topic,
                    queue,
                    payload: payload(c),
                    headers: headers(c).into(),
                    retain: c.below(4) == 0,
                    ttl_ms: c.maybe(Choices::edge),
                }
            }
            10 | 11 => {
                let (queue, topic) = match c.below(6) {
                    0 => (None, None),
                    1 => (Some(self.queue(c)), Some(filter(c))),
                    2 | 3 => (None, Some(filter(c))),
                    _ => (Some(self.queue(c)), None),
                };
                ClientFrame::Subscribe { id, queue, topic, prefetch: c.maybe(Choices::edge_u32), ack: ack_mode(c) }
            }
            12 => ClientFrame::Unsubscribe { id, consumer: self.consumer(c, conn) },
            13 | 14 => ClientFrame::Ack { tag: self.tag(c, conn), multiple: c.below(4) == 0 },
            15 => ClientFrame::Nack { tag: self.tag(c, conn), multiple: c.below(4) == 0, requeue: c.flag() },
            16 => ClientFrame::Watch { id, interval_ms: c.pick(&[0, 1, 49, 50, 1000, u64::MAX, id]) },
            17 => ClientFrame::Unwatch { id },
            18 => ClientFrame::Ping { id: c.maybe(Choices::edge) },
            19 if c.flag() => ClientFrame::Will { id: c.maybe(Choices::edge), will: c.maybe(will) },
            _ => ClientFrame::Bye,
        }
    }
}

/// The most outputs one input may produce in a state with these sizes.
///
/// Justification. An input touches at most the copies already in queues
/// (`messages`) plus the copies it publishes: its own publish and one will
/// per connection it loses (a keep-alive tick may lose all of them), each
/// routed to at most every queue: `messages + (connections + 1) * queues`.
/// Each copy, in each queue it visits (dead-lettering moves it on at most
/// `hops` times), costs at most: entering (`enqueued` event, store append),
/// leaving (an event and a store remove), and per delivery a `deliver`
/// frame, a `delivered` event, a store remove and a requeue event (when it
/// is handed on). A copy is delivered at most once per consumer in one
/// input (a connection losing several consumers of one queue hands it from
/// one to the next), and once more: `consumers + 1` deliveries. So a copy
/// costs at most `(hops + 1) * (5 + 4 * (consumers + 1))`. Beyond copies: a
/// subscribe replays each retained message once; each connection gets at
/// most two `stats` frames (timers run before and after the input), a
/// `close`, an error and connect/disconnect/will events; each queue and
/// consumer a declared/deleted or added/removed/cancelled output and a few
/// store operations; each publish a published/unroutable/retained event;
/// and crossing the memory budget one `blocked` output and a `blocked` or
/// `unblocked` frame per connection.
pub fn output_bound(before: &StatsSnapshot, after: &StatsSnapshot, hops: u32) -> u64 {
    let size = |s: &StatsSnapshot| {
        let messages: u64 = s.queues.iter().map(|q| q.ready + q.unacked).sum();
        (messages, s.queues.len() as u64, s.connections, s.consumers, s.retained)
    };
    let (m0, q0, c0, s0, r0) = size(before);
    let (m1, q1, c1, s1, r1) = size(after);
    let (messages, queues, conns, consumers, retained) = (m0.max(m1), q0.max(q1), c0.max(c1), s0.max(s1), r0.max(r1));
    let copies = messages + (conns + 1) * queues;
    let per_copy = (u64::from(hops) + 1) * (5 + 4 * (consumers + 1));
    // Crossing the memory budget: `Blocked` and a frame per connection.
    let blocking = 1 + conns;
    copies * per_copy + retained + 8 * (conns + 1) + 8 * (queues + consumers) + 4 * (conns + 1) + blocking
}

/// The engine under test and what its outputs showed.
pub struct Run {
    pub engine: Engine,
    now: u64,
    seen: Seen,
    counters: Counters,
    /// The last delivery tag per connection (tags only grow while it is open).
    last_tag: BTreeMap<u64, u64>,
    /// The engine's stats and open connections after the last input (time
    /// alone changes neither, so they are also those before the next).
    stats: StatsSnapshot,
    open: BTreeSet<u64>,
    trace: bool,
    /// Largest outputs / bound seen, for tuning.
    pub worst: (u64, u64),
}

impl Run {
    pub fn new(config: EngineConfig, trace: bool) -> Self {
        if trace {
            println!("let mut engine = Engine::new({config:?});");
        }
        let engine = Engine::new(config);
        Self {
            stats: engine.stats(),
            open: BTreeSet::new(),
            engine,
            now: 0,
            seen: Seen::default(),
            counters: Counters::default(),
            last_tag: BTreeMap::new(),
            trace,
            worst: (0, 1),
        }
    }

    /// The time of the next input: still, a step forward, a jump (up to
    /// the end of time), the next deadline, or backwards.
    fn time(&mut self, c: &mut Choices) -> u64 {
        let now = self.now;
        self.now = match c.below(12) {
            0..=3 => now,
            4 => now.saturating_add(1),
            5 => now.saturating_add(u64::from(c.byte())),
            6 => now.saturating_add(c.edge()),
            7 | 8 => self.engine.next_deadline().unwrap_or(now),
            9 => u64::MAX - u64::from(c.byte()),
            10 => now.saturating_sub(c.edge()),
            _ => now.saturating_add(1000 * u64::from(c.byte())),
        };
        self.now
    }

    pub fn next_input(&mut self, c: &mut Choices) -> (u64, Input) {
        let now = self.time(c);
        let conn = c.pick(&CONNS);
        let input = match c.below(17) {
            0 => Input::Connect { conn },
            1 => Input::Disconnect { conn },
            2 => Input::Tick,
            3 => Input::Buffered { bytes: c.edge() },
            4 => Input::Disk { bytes: c.edge() },
            // A frame from a connection that is not open is ignored: open it
            // first, mostly.
            _ if !self.open.contains(&conn) && c.below(4) != 0 => Input::Connect { conn },
            _ => Input::Frame { conn, frame: self.seen.frame(c, conn) },
        };
        (now, input)
    }

    /// Applies one input, drains its outputs and checks everything.
    pub fn apply(&mut self, now: u64, input: Input) {
        if self.trace {
            println!("engine.handle({now}, {input:?});");
        }
        // Timers run first: a connection may be closed, then connected again.
        let reconnect = match input {
            Input::Connect { conn } => Some(conn),
            _ => None,
        };
        self.engine.handle(now, input);
        let mut outputs: u64 = 0;
        let mut sent_to = BTreeSet::new();
        let mut closed = BTreeSet::new();
        while let Some(output) = self.engine.poll_output() {
            outputs += 1;
            match output {
                Output::Send { conn, frame } => {
                    sent_to.insert(conn);
                    self.frame(conn, frame);
                }
                Output::Close { conn } => {
                    closed.insert(conn);
                    self.last_tag.remove(&conn);
                }
                Output::Event(_) | Output::Store(_) | Output::Blocked(_) | Output::Denied(_) => {}
            }
        }
        let after = self.engine.stats();
        let open_after: BTreeSet<u64> = self.engine.connections().iter().map(|c| c.id).collect();
        let (before, open_before) = (&self.stats, &self.open);
        let bound = output_bound(before, &after, self.engine.config().max_dead_letter_hops);
        assert!(outputs <= bound, "{outputs} outputs for one input, more than the bound {bound}");
        if outputs * self.worst.1 > self.worst.0 * bound {
            self.worst = (outputs, bound);
        }
        let known: BTreeSet<u64> = open_before.union(&open_after).copied().collect();
        assert!(sent_to.is_subset(&known), "frames for connections never open: {sent_to:?} vs {known:?}");
        assert!(closed.is_subset(open_before), "closed a connection that was not open: {closed:?}");
        let reopened = |conn: &u64| open_after.contains(conn) && Some(*conn) != reconnect;
        assert!(!closed.iter().any(reopened), "closed connections still open: {closed:?}");
        self.last_tag.retain(|conn, _| open_after.contains(conn));
        self.seen.tags.retain(|conn, _| open_after.contains(conn));
        self.seen.consumers.retain(|(conn, _)| open_after.contains(conn));
        self.check(&after);
        (self.stats, self.open) = (after, open_after);
    }

    fn frame(&mut self, conn: u64, frame: ServerFrame) {
        match frame {
            ServerFrame::Deliver(d) => {
                if let Some(tag) = d.tag {
                    let last = self.last_tag.insert(conn, tag).unwrap_or(0);
                    assert!(tag > last, "tag {tag} after tag {last} on connection {conn}");
                    remember(self.seen.tags.entry(conn).or_default(), tag);
                }
            }
            ServerFrame::Subscribed { consumer, queue, .. } => {
                remember(&mut self.seen.consumers, (conn, consumer));
                remember(&mut self.seen.names, queue);
            }
            ServerFrame::Declared { queue, .. } => remember(&mut self.seen.names, queue),
            _ => {}
        }
    }

    fn check(&mut self, stats: &StatsSnapshot) {
        check_engine(&self.engine, stats, &self.counters);
        self.counters = stats.counters;
    }
}

/// The engine's own account must add up (`old`: its counters before the
/// input; none may go down).
pub fn check_engine(engine: &Engine, stats: &StatsSnapshot, old: &Counters) {
    let c = stats.counters;
    let mut live = 0;
    let (mut unacked, mut consumers) = (0, 0);
    for q in &stats.queues {
        let k = q.counters;
        let left = k.acked + k.dropped + k.expired + k.dead_lettered;
        assert_eq!(k.enqueued, q.ready + q.unacked + left, "conservation in queue {}: {q:?}", q.name);
        assert!(k.redelivered <= k.delivered && k.acked <= k.delivered, "queue {}: {k:?}", q.name);
        live += q.ready + q.unacked;
        unacked += q.unacked;
        consumers += q.consumers;
        if q.ready > 0 && q.consumers > 0 {
            no_stall(engine, &q.name);
        }
    }
    assert_eq!(c.routed, live + c.acked + c.dropped + c.expired, "global conservation: {c:?}");
    check_memory(stats);
    assert!(c.redelivered <= c.delivered && c.acked <= c.delivered, "{c:?}");
    assert_eq!(consumers, stats.consumers);
    let conns = engine.connections();
    assert_eq!(conns.len() as u64, stats.connections);
    assert_eq!(conns.iter().map(|k| k.unacked).sum::<u64>(), unacked, "unacked: queues vs connections");
    assert_eq!(conns.iter().map(|k| k.consumers).sum::<u64>(), consumers, "consumers: queues vs connections");
    let grew = [
        (old.published, c.published),
        (old.routed, c.routed),
        (old.unroutable, c.unroutable),
        (old.delivered, c.delivered),
        (old.acked, c.acked),
        (old.redelivered, c.redelivered),
        (old.dropped, c.dropped),
        (old.refused, c.refused),
        (old.dead_lettered, c.dead_lettered),
        (old.expired, c.expired),
    ];
    assert!(grew.iter().all(|(a, b)| a <= b), "a counter went down: {old:?} -> {c:?}");
}

/// Memory accounting adds up, and blocking follows the watermarks.
fn check_memory(stats: &StatsSnapshot) {
    let m = stats.memory;
    let queued: u64 = stats.queues.iter().map(|q| q.bytes).sum();
    assert_eq!(m.queued, queued, "memory: queued bytes vs the queues' bytes");
    assert_eq!(m.used, m.queued.saturating_add(m.retained).saturating_add(m.buffered), "{m:?}");
    for q in stats.queues.iter().filter(|q| q.ready + q.unacked == 0) {
        assert_eq!(q.bytes, 0, "empty queue {} holds bytes", q.name);
    }
    if stats.retained == 0 {
        assert_eq!(m.retained, 0, "no retained message, yet retained bytes");
    }
    // Blocked while either budget is used up; unblocked once both are under their low watermark.
    let budgets = [(m.used, m.limit), (m.disk, m.disk_limit)];
    let over = budgets.iter().any(|(used, limit)| limit.is_some_and(|limit| *used >= limit));
    let under =
        budgets.iter().all(|(used, limit)| limit.is_none_or(|limit| *used < limit / 100 * LOW_WATERMARK_PERCENT));
    if m.blocked {
        assert!(!under, "still blocked under both low watermarks: {m:?}");
    } else {
        assert!(!over, "not blocked at a limit: {m:?}");
    }
}

/// A queue holding ready messages has no consumer with room (it would
/// have been handed one).
fn no_stall(engine: &Engine, name: &str) {
    let contents = engine.queue_contents(name, 0).expect("a listed queue has contents");
    for k in &contents.consumers {
        let room = k.ack == AckMode::Auto || (k.unacked.len() as u64) < u64::from(k.prefetch);
        assert!(!room, "consumer {} of {name} has room while the queue holds ready messages", k.id);
    }
}

/// Runs the whole sequence `data` describes. With `trace`, prints each
/// input as Rust before applying it (a reproducer).
pub fn run(data: &[u8], trace: bool) -> Run {
    let mut c = Choices::new(data);
    let config = EngineConfig {
        observe: c.flag(),
        memory_limit: c.pick(&[None, None, Some(0), Some(1), Some(20_000), Some(u64::MAX)]),
        disk_limit: c.pick(&[None, None, Some(0), Some(20_000), Some(u64::MAX)]),
        max_queues: c.pick(&[EngineConfig::default().max_queues, 0, 2]),
        ..EngineConfig::default()
    };
    let mut run = Run::new(config, trace);
    while !c.is_empty() {
        let (now, input) = run.next_input(&mut c);
        run.apply(now, input);
    }
    if trace {
        println!("// largest outputs / bound: {} / {}", run.worst.0, run.worst.1);
    }
    run
}
