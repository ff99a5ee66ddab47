//! AMQP 0-9-1 on the engine, so that RabbitMQ's clients (pika, amqplib,
//! lapin, the Java and .NET clients) work against Hearth unchanged.
//!
//! * An AMQP queue is an engine queue: AMQP, MQTT and WebSocket clients see
//!   each other's messages and the same queues.
//! * Exchanges are parts of the engine's topic space ([`exchange`]):
//!   `amq.topic` is the topic space MQTT uses (`home.hall.light` ↔
//!   `home/hall/light`), the default exchange publishes to a queue by name.
//! * Each connection task ([`connection`]) owns its socket; its
//!   [`session::Session`] is a state machine that turns AMQP methods into
//!   engine frames and engine replies into AMQP methods, keeping AMQP's
//!   per-channel delivery tags, consumer tags and confirm numbers.
//! * Message properties travel as engine headers ([`properties`]).
//!
//! The codec is `amq-protocol` (from the lapin project), framed with a
//! size check before parsing ([`frame`]).

pub mod connection;
pub mod exchange;
pub mod frame;
pub mod properties;
pub mod session;

pub use exchange::Exchanges;

use crate::server::AppState;
use std::time::Duration;
use tokio::net::TcpListener;

/// Accepts AMQP connections on `listener` until the broker shuts down;
/// each gets its own task, tracked so that shutdown waits for its close.
pub async fn accept_loop(listener: TcpListener, state: AppState) {
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, remote)) => {
                    if let Err(err) = tcp.set_nodelay(true) {
                        tracing::warn!(%err, "cannot set TCP_NODELAY");
                    }
                    state.sockets.spawn(connection::serve_connection(tcp, state.clone(), remote));
                }
                Err(err) => {
                    tracing::warn!(%err, "cannot accept an AMQP connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = state.shutdown.cancelled() => return,
        }
    }
}
