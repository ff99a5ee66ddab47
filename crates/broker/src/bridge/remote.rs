//! The remote side of a link: one rumqttc client (MQTT 3.1.1 or 5) for one
//! connection attempt. Its event loop runs in a task of its own, never
//! cancelled mid-poll, and reports what the link needs as [`RemoteEvent`]s;
//! when the connection fails, the client is dropped, and the next attempt
//! starts a new one (the bridge, not rumqttc, redelivers what was in flight).

use super::config::{BridgeConfig, ProtocolVersion};
use bytes::Bytes;
use std::time::Duration;
use tokio::sync::mpsc;

/// Events waiting for the link before the event loop task waits.
const EVENTS: usize = 256;

/// Requests the client may queue beyond the in-flight window (subscribes,
/// acks for QoS 1 messages coming in).
const REQUEST_HEADROOM: usize = 1024;

/// How long a TCP connection and the CONNACK may take, in seconds.
const CONNECT_TIMEOUT_SECS: u64 = 5;

/// What the link hears from the remote.
#[derive(Debug)]
pub enum RemoteEvent {
    /// The remote accepted the connection.
    Connected {
        /// It still had the bridge's session.
        session_present: bool,
    },
    /// A PUBLISH was written to the socket with this packet id (0 for QoS 0),
    /// in the order the publishes were asked for.
    Written(u16),
    /// The remote acknowledged the publish with this packet id (PUBACK for
    /// QoS 1, PUBCOMP for QoS 2).
    Acked(u16),
    /// The remote answered the subscriptions (SUBACK); `refused`: how many it refused.
    Subscribed {
        /// Filters refused (failure return codes).
        refused: usize,
    },
    /// A message from the remote (boxed: the rumqttc packet kept for its ack is large).
    Message(Box<Incoming>),
    /// The connection failed or was refused; the client is done.
    Failed(String),
}

/// A message from the remote, with what acknowledging it needs.
#[derive(Debug)]
pub struct Incoming {
    /// Its topic on the remote.
    pub topic: String,
    /// Its body.
    pub payload: Bytes,
    /// The QoS it came with.
    pub qos: u8,
    /// The retain flag as it came.
    pub retain: bool,
    /// For [`Remote::ack`].
    token: Token,
}

#[derive(Debug)]
enum Token {
    V4(rumqttc::Publish),
    V5(rumqttc::v5::mqttbytes::v5::Publish),
}

/// A subscription the link asks the remote for.
pub struct Subscription {
    /// The remote filter.
    pub filter: String,
    /// Its QoS.
    pub qos: u8,
}

/// The client half: publish, subscribe, acknowledge.
pub enum Remote {
    /// MQTT 3.1.1.
    V4(rumqttc::AsyncClient),
    /// MQTT 5, and the receive maximum it announced.
    V5(rumqttc::v5::AsyncClient, usize),
}

/// Why a request could not be queued: the connection is gone or its
/// queue is full (more than the in-flight window asked for).
#[derive(Debug, thiserror::Error)]
#[error("the MQTT client took no more requests: {0}")]
pub struct Refused(String);

impl Remote {
    /// Starts connecting to `host:port`; events arrive on the receiver, the
    /// first being [`RemoteEvent::Connected`] or [`RemoteEvent::Failed`].
    /// `max_packet` bounds packets both ways.
    pub fn connect(
        config: &BridgeConfig,
        host: &str,
        port: u16,
        max_packet: usize,
        tls: Option<rumqttc::TlsConfiguration>,
    ) -> (Self, mpsc::Receiver<RemoteEvent>, tokio::task::JoinHandle<()>) {
        let (events, rx) = mpsc::channel(EVENTS);
        let cap = usize::from(config.max_in_flight) + REQUEST_HEADROOM;
        let keep_alive = Duration::from_secs(u64::from(config.keep_alive_secs));
        let id = config.remote_client_id();
        let transport = tls.map_or_else(rumqttc::Transport::tcp, rumqttc::Transport::tls_with_config);
        match config.protocol_version {
            ProtocolVersion::V311 => {
                let mut options = rumqttc::MqttOptions::new(id, host, port);
                options
                    .set_keep_alive(keep_alive)
                    .set_clean_session(config.clean_session)
                    .set_inflight(config.max_in_flight)
                    .set_manual_acks(true)
                    .set_max_packet_size(max_packet, max_packet)
                    .set_transport(transport);
                if let Some(user) = &config.username {
                    options.set_credentials(user.clone(), config.password.clone().unwrap_or_default());
                }
                let (client, mut eventloop) = rumqttc::AsyncClient::new(options, cap);
                let mut network = rumqttc::NetworkOptions::new();
                network.set_connection_timeout(CONNECT_TIMEOUT_SECS);
                eventloop.set_network_options(network);
                let polled = futures_util::stream::unfold(eventloop, |mut eventloop| async move {
                    let event = eventloop.poll().await.map(v4_event).map_err(|err| err.to_string());
                    Some((event, eventloop))
                });
                let task = tokio::spawn(forward(polled, events));
                (Self::V4(client), rx, task)
            }
            ProtocolVersion::V5 => {
                let mut options = rumqttc::v5::MqttOptions::new(id, host, port);
                let max = u32::try_from(max_packet).unwrap_or(u32::MAX);
                options
                    .set_keep_alive(keep_alive)
                    .set_clean_start(config.clean_session)
                    .set_outgoing_inflight_upper_limit(config.max_in_flight)
                    .set_receive_maximum(Some(config.max_in_flight))
                    .set_max_packet_size(Some(max))
                    .set_manual_acks(true)
                    .set_transport(transport);
                // A persistent session outlives the connection (MQTT 5's
                // default expiry, 0, would end it with every disconnect).
                if !config.clean_session {
                    options.set_session_expiry_interval(Some(u32::MAX));
                }
                if let Some(user) = &config.username {
                    options.set_credentials(user.clone(), config.password.clone().unwrap_or_default());
                }
                let (client, mut eventloop) = rumqttc::v5::AsyncClient::new(options, cap);
                let mut network = rumqttc::NetworkOptions::new();
                network.set_connection_timeout(CONNECT_TIMEOUT_SECS);
                eventloop.options.set_network_options(network);
                let polled = futures_util::stream::unfold(eventloop, |mut eventloop| async move {
                    let event = eventloop.poll().await.map(v5_event).map_err(|err| err.to_string());
                    Some((event, eventloop))
                });
                let task = tokio::spawn(forward(polled, events));
                (Self::V5(client, usize::from(config.max_in_flight)), rx, task)
            }
        }
    }

    /// Queues a PUBLISH (without waiting: the link keeps within the window).
    pub fn publish(&self, topic: String, qos: u8, retain: bool, payload: Bytes) -> Result<(), Refused> {
        match self {
            // 3.1.1's non-blocking publish takes a Vec: one copy of the body.
            Self::V4(client) => {
                client.try_publish(topic, v4_qos(qos), retain, payload.to_vec()).map_err(|e| Refused(e.to_string()))
            }
            Self::V5(client, _) => {
                client.try_publish(topic, v5_qos(qos), retain, payload).map_err(|e| Refused(e.to_string()))
            }
        }
    }

    /// Subscribes; with MQTT 5 without the bridge's own messages coming back
    /// (no-local) and with retain flags as published.
    pub fn subscribe(&self, subscriptions: &[Subscription]) -> Result<(), Refused> {
        if subscriptions.is_empty() {
            return Ok(());
        }
        match self {
            Self::V4(client) => {
                let filters =
                    subscriptions.iter().map(|s| rumqttc::SubscribeFilter::new(s.filter.clone(), v4_qos(s.qos)));
                client.try_subscribe_many(filters).map_err(|e| Refused(e.to_string()))
            }
            Self::V5(client, _) => {
                let filters = subscriptions.iter().map(|s| {
                    let mut filter = rumqttc::v5::mqttbytes::v5::Filter::new(s.filter.clone(), v5_qos(s.qos));
                    filter.nolocal = true;
                    filter.preserve_retain = true;
                    filter
                });
                client.try_subscribe_many(filters).map_err(|e| Refused(e.to_string()))
            }
        }
    }

    /// Most QoS 1 and 2 messages the remote may send before the bridge
    /// acknowledges them: the receive maximum announced with MQTT 5; with
    /// 3.1.1, which announces none, the packet id space.
    pub fn in_window(&self) -> usize {
        match self {
            Self::V4(_) => usize::from(u16::MAX),
            Self::V5(_, window) => *window,
        }
    }

    /// Acknowledges a message from the remote (PUBACK for QoS 1; nothing for QoS 0).
    pub fn ack(&self, message: &Incoming) -> Result<(), Refused> {
        match (self, &message.token) {
            (Self::V4(client), Token::V4(publish)) => client.try_ack(publish).map_err(|e| Refused(e.to_string())),
            (Self::V5(client, _), Token::V5(publish)) => client.try_ack(publish).map_err(|e| Refused(e.to_string())),
            _ => Ok(()),
        }
    }
}

fn v4_qos(qos: u8) -> rumqttc::QoS {
    match qos {
        0 => rumqttc::QoS::AtMostOnce,
        1 => rumqttc::QoS::AtLeastOnce,
        _ => rumqttc::QoS::ExactlyOnce,
    }
}

fn v5_qos(qos: u8) -> rumqttc::v5::mqttbytes::QoS {
    use rumqttc::v5::mqttbytes::QoS;
    match qos {
        0 => QoS::AtMostOnce,
        1 => QoS::AtLeastOnce,
        _ => QoS::ExactlyOnce,
    }
}

fn v4_event(event: rumqttc::Event) -> Option<RemoteEvent> {
    use rumqttc::{Event, Outgoing, Packet};
    match event {
        Event::Incoming(Packet::ConnAck(ack)) => Some(RemoteEvent::Connected { session_present: ack.session_present }),
        Event::Incoming(Packet::PubAck(ack)) => Some(RemoteEvent::Acked(ack.pkid)),
        Event::Incoming(Packet::PubComp(comp)) => Some(RemoteEvent::Acked(comp.pkid)),
        Event::Incoming(Packet::SubAck(ack)) => {
            let refused =
                ack.return_codes.iter().filter(|c| matches!(c, rumqttc::SubscribeReasonCode::Failure)).count();
            Some(RemoteEvent::Subscribed { refused })
        }
        Event::Incoming(Packet::Publish(publish)) => Some(RemoteEvent::Message(Box::new(Incoming {
            topic: publish.topic.clone(),
            payload: publish.payload.clone(),
            qos: publish.qos as u8,
            retain: publish.retain,
            token: Token::V4(publish),
        }))),
        Event::Outgoing(Outgoing::Publish(pkid)) => Some(RemoteEvent::Written(pkid)),
        _ => None,
    }
}

fn v5_event(event: rumqttc::v5::Event) -> Option<RemoteEvent> {
    use rumqttc::Outgoing;
    use rumqttc::v5::Event;
    use rumqttc::v5::mqttbytes::v5::Packet;
    match event {
        Event::Incoming(Packet::ConnAck(ack)) => Some(RemoteEvent::Connected { session_present: ack.session_present }),
        Event::Incoming(Packet::PubAck(ack)) => Some(RemoteEvent::Acked(ack.pkid)),
        Event::Incoming(Packet::PubComp(comp)) => Some(RemoteEvent::Acked(comp.pkid)),
        Event::Incoming(Packet::SubAck(ack)) => {
            use rumqttc::v5::mqttbytes::v5::SubscribeReasonCode as Code;
            let granted = |c: &Code| matches!(c, Code::Success(_));
            Some(RemoteEvent::Subscribed { refused: ack.return_codes.iter().filter(|c| !granted(c)).count() })
        }
        Event::Incoming(Packet::Publish(publish)) => {
            // A topic that is not UTF-8 cannot be a local topic: refused here.
            let topic = String::from_utf8(publish.topic.to_vec()).ok()?;
            Some(RemoteEvent::Message(Box::new(Incoming {
                topic,
                payload: publish.payload.clone(),
                qos: publish.qos as u8,
                retain: publish.retain,
                token: Token::V5(publish),
            })))
        }
        Event::Outgoing(Outgoing::Publish(pkid)) => Some(RemoteEvent::Written(pkid)),
        _ => None,
    }
}

/// Passes what the remote's event loop yields to the bridge as events,
/// until the remote fails (its last event) or the bridge stops listening.
async fn forward(
    polled: impl futures_util::Stream<Item = Result<Option<RemoteEvent>, String>>,
    events: mpsc::Sender<RemoteEvent>,
) {
    use futures_util::StreamExt;
    let mut polled = std::pin::pin!(polled);
    while let Some(event) = polled.next().await {
        let (event, failed) = match event {
            Ok(event) => (event, false),
            Err(err) => (Some(RemoteEvent::Failed(err)), true),
        };
        if let Some(event) = event
            && events.send(event).await.is_err()
        {
            return;
        }
        if failed {
            return;
        }
    }
}
