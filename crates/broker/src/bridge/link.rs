//! One bridge's task: keeps its backlog queue declared and bound, connects
//! to the remote (fail-over across its addresses, exponential back-off with
//! jitter), and while connected moves messages both ways.
//!
//! Out: an engine consumer on the backlog queue, manual acks, prefetch
//! `max_in_flight`; each delivery becomes a PUBLISH, and is acked locally
//! once the remote has it (PUBACK, PUBCOMP; a QoS 0 one once written). When
//! the link fails the consumer goes, and what it held goes back to the
//! front of the queue for the next connection. In: each remote message is
//! published locally (with a confirm for QoS 1 and 2), and acknowledged to
//! the remote once the engine confirmed it (after the store synced it).

use super::config::{BridgeConfig, TopicRule};
use super::failover::Addresses;
use super::local::Local;
use super::remote::{Incoming, Remote, RemoteEvent, Subscription};
use super::status::{Bridge, LinkState};
use super::{BRIDGE_HEADER, backoff::Backoff};
use crate::mqtt::properties::RETAIN;
use crate::mqtt::session::QOS_HEADER;
use crate::server::AppState;
use queue_core::message::Headers;
use queue_core::protocol::{AckMode, ClientFrame, Delivery, ServerFrame};
use queue_core::queue::{Overflow, QueueOptions};
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::sync::watch;

/// Runs bridge `bridge` until the broker shuts down.
pub async fn run(state: AppState, bridge: Arc<Bridge>) {
    let config = bridge.config.clone();
    let rules = config.rules();
    let nowhere = SocketAddr::from(([0, 0, 0, 0], 0));
    let Some(mut ctl) = Local::open(&state, format!("bridge:{}", config.name), nowhere).await else { return };
    if let Err(err) = declare_backlog(&state, &mut ctl, &config, &rules).await {
        tracing::error!(bridge = %config.name, %err, "bridge: cannot set up its backlog queue; the bridge stays off");
        bridge.set(LinkState::Down, "", Some(format!("backlog queue: {err}")));
        return;
    }
    let mut addresses = Addresses::new(config.hosts(), config.round_robin);
    let mut backoff = Backoff::new(config.reconnect_min_ms, config.reconnect_max_ms);
    loop {
        let (host, port) = addresses.current();
        let address = format!("{host}:{port}");
        tracing::info!(bridge = %config.name, %address, "bridge: connecting");
        bridge.set(LinkState::Connecting, &address, None);
        bridge.tried(&address);
        let outcome = tokio::select! {
            outcome = connect_and_run(&state, &bridge, &rules, &mut ctl, &host, port) => outcome,
            () = state.shutdown.cancelled() => return,
        };
        let error = match outcome {
            Outcome::Failed(error) => {
                addresses.failed();
                error
            }
            Outcome::Lost(error) => {
                backoff.reset();
                addresses.lost();
                error
            }
        };
        let wait = backoff.next_delay(super::backoff::jitter());
        tracing::warn!(
            bridge = %config.name, %address, %error, retry_in_ms = wait.as_millis() as u64,
            "bridge: link down"
        );
        bridge.set(LinkState::Down, &address, Some(error));
        notify(&ctl, &config, false).await;
        tokio::select! {
            () = tokio::time::sleep(wait) => {}
            () = state.shutdown.cancelled() => return,
        }
    }
}

/// How a connection ended.
enum Outcome {
    /// It never came up (try the next address).
    Failed(String),
    /// It was up and went down.
    Lost(String),
}

/// Declares the backlog queue (durable, bounded, dropping the oldest) with
/// a binding per `out` rule, and removes bindings no rule asks for now.
async fn declare_backlog(
    state: &AppState,
    ctl: &mut Local,
    config: &BridgeConfig,
    rules: &[TopicRule],
) -> Result<(), String> {
    let queue = config.queue();
    let options = QueueOptions {
        durable: true,
        max_length: Some(config.max_backlog_messages),
        max_length_bytes: Some(config.max_backlog_bytes),
        overflow: Overflow::DropOldest,
        ..QueueOptions::default()
    };
    // A queue left by an earlier run takes today's limits.
    let (reply, answer) = tokio::sync::oneshot::channel();
    let open = crate::driver::Command::OpenSession {
        conn: ctl.conn,
        queue: queue.clone(),
        clean: false,
        options: options.clone(),
        reply,
    };
    state.commands.send(open).await.map_err(|_| "the broker is shutting down".to_owned())?;
    let _ = answer.await;
    ctl.request(1, ClientFrame::Declare { id: 1, queue: queue.clone(), options }).await?;
    let wanted: Vec<String> = rules.iter().filter(|r| r.direction.outward()).map(TopicRule::local_filter).collect();
    let (reply, snapshot) = tokio::sync::oneshot::channel();
    state.commands.send(crate::driver::Command::Snapshot(reply)).await.map_err(|_| "shutting down".to_owned())?;
    let bound = snapshot
        .await
        .ok()
        .and_then(|s| s.stats.queues.into_iter().find(|q| q.name == queue))
        .map(|q| q.bindings)
        .unwrap_or_default();
    for (n, filter) in bound.iter().filter(|f| !wanted.contains(f)).enumerate() {
        let id = 100 + n as u64;
        ctl.request(id, ClientFrame::Unbind { id, queue: queue.clone(), filter: filter.clone() }).await?;
    }
    for (n, filter) in wanted.into_iter().enumerate() {
        let id = 10_000 + n as u64;
        ctl.request(id, ClientFrame::Bind { id, queue: queue.clone(), filter, retained: false }).await?;
    }
    Ok(())
}

/// Publishes the link's state, retained, on its status topic.
async fn notify(ctl: &Local, config: &BridgeConfig, up: bool) {
    if !config.notifications {
        return;
    }
    let headers = Headers::from([(QOS_HEADER.to_owned(), "1".to_owned()), (RETAIN.to_owned(), "1".to_owned())]);
    let frame = ClientFrame::Publish {
        id: None,
        topic: Some(config.status_topic().into()),
        queue: None,
        payload: if up { "1" } else { "0" }.into(),
        headers: headers.into(),
        retain: true,
        ttl_ms: None,
    };
    ctl.send(frame).await;
}

/// TLS for the link, if a CA is given (its files are read at each attempt,
/// so a renewed certificate is picked up).
fn tls(config: &BridgeConfig) -> Result<Option<rumqttc::TlsConfiguration>, String> {
    let Some(ca) = &config.tls_ca_file else { return Ok(None) };
    let read = |path: &std::path::Path| std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()));
    let client_auth = match (&config.tls_cert_file, &config.tls_key_file) {
        (Some(cert), Some(key)) => Some((read(cert)?, read(key)?)),
        _ => None,
    };
    Ok(Some(rumqttc::TlsConfiguration::Simple { ca: read(ca)?, alpn: None, client_auth }))
}

async fn connect_and_run(
    state: &AppState,
    bridge: &Bridge,
    rules: &[TopicRule],
    ctl: &mut Local,
    host: &str,
    port: u16,
) -> Outcome {
    let config = &bridge.config;
    let tls = match tls(config) {
        Ok(tls) => tls,
        Err(err) => return Outcome::Failed(err),
    };
    let (remote, mut events, task) = Remote::connect(config, host, port, state.config.max_frame_bytes, tls);
    // The event loop task ends with its client; abort it whatever happens.
    let _abort = AbortOnDrop(task);
    match events.recv().await {
        Some(RemoteEvent::Connected { session_present }) => {
            tracing::info!(bridge = %config.name, host, port, session_present, "bridge: connected");
        }
        Some(RemoteEvent::Failed(err)) => return Outcome::Failed(err),
        _ => return Outcome::Failed("the remote did not answer CONNECT".into()),
    }
    Bridge::count(&bridge.connects);
    let subscriptions: Vec<Subscription> = rules
        .iter()
        .filter(|r| r.direction.inward())
        .map(|r| Subscription { filter: r.remote_filter(), qos: r.qos })
        .collect();
    if let Err(err) = remote.subscribe(&subscriptions) {
        return Outcome::Lost(err.to_string());
    }
    // Connected once the remote holds the subscriptions: from then on what
    // is published there comes in.
    let mut early = Vec::new();
    while !subscriptions.is_empty() {
        match events.recv().await {
            Some(RemoteEvent::Subscribed { refused }) => {
                if refused > 0 {
                    tracing::warn!(bridge = %config.name, refused, "bridge: the remote refused some subscriptions (its ACL?)");
                }
                break;
            }
            Some(RemoteEvent::Failed(err)) => return Outcome::Lost(err),
            Some(event) => early.push(event),
            None => return Outcome::Lost("the MQTT client stopped".into()),
        }
    }
    let peer = format!("{host}:{port}").parse().unwrap_or(SocketAddr::from(([0, 0, 0, 0], port)));
    let mut out = None;
    if rules.iter().any(|r| r.direction.outward()) {
        let Some(mut consumer) = Local::open(state, format!("bridge:{}:out", config.name), peer).await else {
            return Outcome::Lost("the broker is shutting down".into());
        };
        let subscribe = ClientFrame::Subscribe {
            id: 1,
            queue: Some(config.queue()),
            topic: None,
            prefetch: Some(u32::from(config.max_in_flight)),
            ack: AckMode::Manual,
        };
        if let Err(err) = consumer.request(1, subscribe).await {
            return Outcome::Lost(format!("cannot consume the backlog queue: {err}"));
        }
        out = Some(consumer);
    }
    bridge.set(LinkState::Connected, &format!("{host}:{port}"), None);
    notify(ctl, config, true).await;
    let mut link = Link {
        bridge,
        rules,
        remote,
        written: VecDeque::new(),
        in_flight: HashMap::new(),
        confirms: HashMap::new(),
        next_confirm: 1,
        blocked: state.blocked.clone(),
        parked: VecDeque::new(),
        acks: Vec::new(),
    };
    for event in early {
        if let Some(error) = link.on_remote(event, ctl).await {
            return Outcome::Lost(error);
        }
    }
    link.flush_acks(out.as_ref()).await;
    let error = link.run(&mut events, ctl, out.as_mut()).await;
    Outcome::Lost(error)
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// What woke a link up.
enum Step {
    Remote(Option<RemoteEvent>),
    Out(Option<Vec<ServerFrame>>),
    Ctl(Option<Vec<ServerFrame>>),
    /// The memory budget's gate changed (false: it is gone).
    Gate(bool),
}

/// One connection's state.
struct Link<'a> {
    bridge: &'a Bridge,
    rules: &'a [TopicRule],
    remote: Remote,
    /// Local tags of publishes asked for and not yet written, with their QoS.
    written: VecDeque<(u64, u8)>,
    /// Packet id → local tag, written and awaiting the remote's ack.
    in_flight: HashMap<u16, u64>,
    /// Confirm id → remote message awaiting the engine's confirm.
    confirms: HashMap<u64, Box<Incoming>>,
    next_confirm: u64,
    /// The memory budget blocks publishers (the broker's gate).
    blocked: watch::Receiver<bool>,
    /// QoS 1 and 2 messages from the remote held, unacknowledged, while
    /// publishers are blocked (the remote's window bounds them).
    parked: VecDeque<Box<Incoming>>,
    /// Acks for the engine, sent together after each wake-up.
    acks: Vec<ClientFrame>,
}

/// Remote events handled in one go before the acks they make are sent.
const EVENT_BATCH: usize = 256;

impl Link<'_> {
    /// Moves messages until the link fails; returns why.
    async fn run(
        &mut self,
        events: &mut tokio::sync::mpsc::Receiver<RemoteEvent>,
        ctl: &mut Local,
        mut out: Option<&mut Local>,
    ) -> String {
        loop {
            let parked = !self.parked.is_empty();
            let step = tokio::select! {
                event = events.recv() => Step::Remote(event),
                frames = recv_or_pending(out.as_deref_mut()) => Step::Out(frames),
                frames = ctl.recv() => Step::Ctl(frames),
                changed = self.blocked.changed(), if parked => Step::Gate(changed.is_ok()),
            };
            let error = match step {
                Step::Remote(Some(event)) => self.on_remote_batch(event, events, ctl).await,
                Step::Remote(None) => Some("the MQTT client stopped".to_owned()),
                Step::Out(Some(frames)) => self.on_deliveries(frames),
                Step::Out(None) => Some("the engine closed the bridge's consumer".to_owned()),
                Step::Ctl(Some(frames)) => self.on_confirms(frames),
                Step::Ctl(None) => Some("the engine closed the bridge's connection".to_owned()),
                Step::Gate(true) => self.unpark(ctl).await,
                Step::Gate(false) => Some("the broker is shutting down".to_owned()),
            };
            self.flush_acks(out.as_deref()).await;
            if let Some(error) = error {
                return error;
            }
        }
    }

    /// `event` and the events already waiting behind it (up to
    /// [`EVENT_BATCH`]): their acks go to the engine in one command.
    async fn on_remote_batch(
        &mut self,
        event: RemoteEvent,
        events: &mut tokio::sync::mpsc::Receiver<RemoteEvent>,
        ctl: &Local,
    ) -> Option<String> {
        let mut next = Some(event);
        let mut handled = 0;
        while let Some(event) = next {
            if let Some(error) = self.on_remote(event, ctl).await {
                return Some(error);
            }
            handled += 1;
            next = if handled < EVENT_BATCH { events.try_recv().ok() } else { None };
        }
        None
    }

    /// Sends the acks gathered so far, as one command.
    async fn flush_acks(&mut self, out: Option<&Local>) {
        if self.acks.is_empty() {
            return;
        }
        let acks = std::mem::take(&mut self.acks);
        if let Some(out) = out {
            out.send_all(acks).await;
        }
    }

    async fn on_remote(&mut self, event: RemoteEvent, ctl: &Local) -> Option<String> {
        match event {
            RemoteEvent::Written(pkid) => {
                let (tag, qos) = self.written.pop_front()?;
                if qos == 0 {
                    self.acked(tag);
                } else {
                    self.in_flight.insert(pkid, tag);
                }
            }
            RemoteEvent::Acked(pkid) => {
                if let Some(tag) = self.in_flight.remove(&pkid) {
                    self.acked(tag);
                }
            }
            RemoteEvent::Message(message) => return self.on_arrival(message, ctl).await,
            RemoteEvent::Failed(err) => return Some(err),
            RemoteEvent::Connected { .. } | RemoteEvent::Subscribed { .. } => {}
        }
        None
    }

    /// The remote has the message delivered with `tag`: ack it here (with
    /// the next [`Link::flush_acks`]).
    fn acked(&mut self, tag: u64) {
        Bridge::count(&self.bridge.sent);
        self.acks.push(ClientFrame::Ack { tag, multiple: false });
    }

    /// A remote message: published now, or, while the memory budget blocks
    /// publishers, held unacknowledged (QoS 1 and 2: the remote keeps the
    /// rest of its window) or dropped and counted (QoS 0, as the remote
    /// itself may drop them).
    async fn on_arrival(&mut self, message: Box<Incoming>, ctl: &Local) -> Option<String> {
        if !*self.blocked.borrow() && self.parked.is_empty() {
            return self.on_message(message, ctl).await;
        }
        if message.qos == 0 {
            Bridge::count(&self.bridge.in_dropped);
            return None;
        }
        let window = self.remote.in_window();
        if self.parked.len() + self.confirms.len() >= window {
            return Some(format!("the remote sent more than {window} messages without their acknowledgements"));
        }
        self.parked.push_back(message);
        None
    }

    /// Publishes what was held, once publishers are let go.
    async fn unpark(&mut self, ctl: &Local) -> Option<String> {
        while !*self.blocked.borrow() {
            let message = self.parked.pop_front()?;
            if let Some(error) = self.on_message(message, ctl).await {
                return Some(error);
            }
        }
        None
    }

    /// A remote message, published locally by the first `in` rule it matches.
    async fn on_message(&mut self, message: Box<Incoming>, ctl: &Local) -> Option<String> {
        let rule = self.rules.iter().filter(|r| r.direction.inward()).find_map(|r| r.to_local(&message.topic));
        let Some(topic) = rule else {
            // A subscription from an earlier session, or a filter overlap: not ours.
            return self.remote.ack(&message).err().map(|e| e.to_string());
        };
        Bridge::count(&self.bridge.received);
        let mut headers = Headers::from([
            (QOS_HEADER.to_owned(), message.qos.to_string()),
            (BRIDGE_HEADER.to_owned(), self.bridge.config.name.clone()),
        ]);
        if message.retain {
            headers.insert(RETAIN.to_owned(), "1".to_owned());
        }
        let id = (message.qos > 0).then(|| {
            self.next_confirm += 1;
            self.next_confirm
        });
        let frame = ClientFrame::Publish {
            id,
            topic: Some(topic.into()),
            queue: None,
            payload: queue_core::message::Payload(message.payload.clone()),
            headers: headers.into(),
            retain: message.retain,
            ttl_ms: None,
        };
        if !ctl.send(frame).await {
            return Some("the broker is shutting down".into());
        }
        if let Some(id) = id {
            self.confirms.insert(id, message);
        }
        None
    }

    /// The engine's answers to publishes from the remote: acknowledge them there.
    fn on_confirms(&mut self, frames: Vec<ServerFrame>) -> Option<String> {
        for frame in frames {
            let (id, refused) = match frame {
                ServerFrame::Confirm { id, .. } => (id, None),
                ServerFrame::Error { id: Some(id), message, .. } => (id, Some(message)),
                _ => continue,
            };
            let Some(message) = self.confirms.remove(&id) else { continue };
            if let Some(why) = refused {
                // Refused for good (a bad topic): acked, or the remote would resend it forever.
                tracing::warn!(bridge = %self.bridge.config.name, topic = %message.topic, %why, "bridge: a message from the remote was refused locally");
            }
            if let Err(err) = self.remote.ack(&message) {
                return Some(err.to_string());
            }
        }
        None
    }

    /// Deliveries from the backlog queue: each goes out by the first `out`
    /// rule it matches; one that came in by this bridge is not sent back.
    fn on_deliveries(&mut self, frames: Vec<ServerFrame>) -> Option<String> {
        for frame in frames {
            let ServerFrame::Deliver(delivery) = frame else { continue };
            let Some(tag) = delivery.tag else { continue };
            match self.outgoing(&delivery) {
                Some((topic, qos, retain)) => {
                    if let Err(err) = self.remote.publish(topic, qos, retain, delivery.payload.0.clone()) {
                        return Some(err.to_string());
                    }
                    self.written.push_back((tag, qos));
                }
                None => self.acks.push(ClientFrame::Ack { tag, multiple: false }),
            }
        }
        None
    }

    /// The remote topic, QoS and retain flag for a delivery (`None`: not to send).
    fn outgoing(&self, delivery: &Delivery) -> Option<(String, u8, bool)> {
        if delivery.headers.get(BRIDGE_HEADER).is_some_and(|name| *name == self.bridge.config.name) {
            Bridge::count(&self.bridge.loops_stopped);
            return None;
        }
        let (rule, topic) = self
            .rules
            .iter()
            .filter(|r| r.direction.outward())
            .find_map(|r| Some((r, r.to_remote(&delivery.topic)?)))?;
        // As a subscriber would get it: at most the rule's QoS (native publishes count as QoS 1).
        let published = delivery.headers.get(QOS_HEADER).and_then(|q| q.parse::<u8>().ok()).unwrap_or(1);
        let retain = delivery.headers.contains_key(RETAIN);
        Some((topic, rule.qos.min(published), retain))
    }
}

/// The next frames of `local`, or never without one.
async fn recv_or_pending(local: Option<&mut Local>) -> Option<Vec<ServerFrame>> {
    match local {
        Some(local) => local.recv().await,
        None => std::future::pending().await,
    }
}
