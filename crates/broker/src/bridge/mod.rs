//! Bridges to other MQTT brokers, as Mosquitto's bridge: an edge Hearth
//! feeds a cluster (or any broker) it does not run, and keeps working while
//! the uplink is down.
//!
//! A bridge is a client of the engine, not a special case in it ([`link`]):
//!
//! * what goes **out** waits in an ordinary engine queue,
//!   `hearth.bridge.<name>` (durable with the store on; bounded by
//!   `max_backlog_messages` and `max_backlog_bytes`, dropping the oldest),
//!   bound to the local filter of every `out` and `both` rule. While the
//!   link is up an internal engine consumer takes it with manual acks and a
//!   prefetch of `max_in_flight`, and acks each message only once the remote
//!   has it (PUBACK / PUBCOMP; QoS 0 once written): a dead link leaves the
//!   messages in the queue, and a drain sends at most `max_in_flight` ahead;
//! * what comes **in** (`in` and `both` rules: remote subscriptions) is
//!   published locally by the broker itself: the bridge is trusted, the
//!   local ACL is not consulted;
//! * `both` does not loop: on the remote, MQTT 5's no-local keeps the
//!   bridge's own publishes from coming back; locally, what came in carries
//!   [`BRIDGE_HEADER`] and is not sent out again by the same bridge;
//! * the remote side is rumqttc ([`remote`]), over TCP or TLS; the state of
//!   each link ([`status`]) is in `/api/bridges`, `/metrics` and the
//!   retained `$SYS/broker/connection/<name>/state`.
//!
//! The config (`[[bridge]]`, Mosquitto-shaped `topic` rules) is in [`config`].

pub mod backoff;
pub mod config;
pub mod failover;
pub mod link;
pub mod local;
pub mod remote;
pub mod status;

pub use config::{BridgeConfig, Direction, ProtocolVersion, TopicRule};
pub use status::{Bridge, BridgeView, Bridges, LinkState};

use crate::server::AppState;

/// The header marking a message that came in by a bridge (its value: the
/// bridge's name), so that the bridge does not send it back out. Under the
/// adapter's reserved prefix: no client can set it, and MQTT 5 subscribers
/// do not see it as a user property.
pub const BRIDGE_HEADER: &str = "x-mqtt-bridge";

/// Starts every configured bridge's task (tracked with the connections,
/// ended by the broker's shutdown).
pub fn spawn_all(state: &AppState) {
    for bridge in state.bridges.0.iter() {
        tracing::info!(
            bridge = %bridge.config.name, addresses = ?bridge.config.addresses, topics = ?bridge.config.topics,
            "bridge: starting"
        );
        state.sockets.spawn(link::run(state.clone(), bridge.clone()));
    }
}
