//! MQTT 3.1.1 and 5.0 on the engine, mapped as RabbitMQ's MQTT plugin maps
//! MQTT onto queues.
//!
//! Each connection task ([`connection`]) owns its socket and its MQTT
//! session state ([`session`]: packet ids, QoS 1 and 2 in flight,
//! subscriptions) and speaks to the engine task with the same
//! [`ClientFrame`](queue_core::protocol::ClientFrame)s a WebSocket client
//! sends, so MQTT devices and native clients meet in one engine:
//!
//! * the session is a queue, `mqtt.<client id>`, consumed with manual acks
//!   and a prefetch equal to the client's receive maximum; each subscription
//!   binds it to the filter. A clean session's queue is exclusive and goes
//!   with the connection; a persistent one's outlives it, collecting
//!   messages while the client is away, until the session expiry interval
//!   ([`lifetime`]);
//! * a QoS 0 delivery is acked to the engine once written (a batch with one
//!   `multiple` ack while no QoS 1 or 2 delivery is in flight), a QoS 1 one
//!   when PUBACK arrives, a QoS 2 one at PUBCOMP;
//! * a PUBLISH is an engine `publish` (with a confirm id for QoS 1 and 2,
//!   answered by PUBACK / PUBREC); its QoS rides in the
//!   [`QOS_HEADER`](session::QOS_HEADER) header;
//! * retained messages and wills are the engine's: the will is `hello`'s
//!   (its MQTT 5 properties mapped as a PUBLISH's, its delay interval as
//!   `delay_ms`: the engine holds a delayed will, and a `hello` with the
//!   client id cancels it), a clean DISCONNECT is `bye`, and retained messages are replayed at SUBSCRIBE according to the
//!   subscription's retain handling;
//! * MQTT 5 flow control: the client's receive maximum is the consumer's
//!   prefetch, and the broker's own (announced in CONNACK) bounds the QoS 1
//!   and 2 PUBLISHes a client may have unacknowledged ([`session`]);
//! * a persistent session keeps its QoS 2 deliveries released but not
//!   completed, and sends their PUBREL again on resume; a DISCONNECT may
//!   change its expiry interval ([`connection`]);
//! * MQTT 5 PUBLISH properties travel as headers ([`properties`]); message
//!   expiry is the engine's TTL;
//! * a shared subscription (`$share/group/filter`) is one queue per group
//!   and filter, consumed by every member: competing consumers ([`shared`]);
//! * MQTT 5 topic aliases (both ways) and subscription identifiers are the
//!   session's, per connection ([`session`], [`outbound`]);
//! * a second connection with the same client id takes the session over
//!   ([`registry`]).
//!
//! MQTT over WebSocket (`/mqtt`, subprotocol `mqtt`) pipes binary messages
//! into the same connection task ([`websocket`]). The codec is the
//! `mqtt-codec` crate: bytes in, packets out, no IO.

pub mod connection;
#[cfg(test)]
mod flows;
pub mod handshake;
pub mod io;
pub mod lifetime;
pub mod outbound;
pub mod properties;
pub mod registry;
pub mod session;
pub mod shared;
#[cfg(test)]
mod sim;
pub mod websocket;

pub use registry::{Registry, saved_sessions};

use crate::server::AppState;
use crate::tls::Tls;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// Accepts MQTT connections on `listener` until the broker shuts down; each
/// gets its own task, tracked so that shutdown waits for its DISCONNECT.
/// With `tls`, each connection's handshake runs first, in its own task.
pub async fn accept_loop(listener: TcpListener, state: AppState, tls: Option<Arc<Tls>>) {
    let handshakes = Arc::new(tokio::sync::Semaphore::new(crate::tls::MAX_HANDSHAKES));
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, remote)) => {
                    if let Err(err) = tcp.set_nodelay(true) {
                        tracing::warn!(%err, "cannot set TCP_NODELAY");
                    }
                    match &tls {
                        None => {
                            state.sockets.spawn(connection::serve_connection(tcp, state.clone(), remote, None));
                        }
                        Some(tls) => {
                            let Ok(permit) = handshakes.clone().try_acquire_owned() else {
                                tracing::warn!(%remote, "too many TLS handshakes in progress; connection closed");
                                continue;
                            };
                            let (tls, state2) = (tls.clone(), state.clone());
                            state.sockets.spawn(async move {
                                let accepted = tls.accept(tcp).await;
                                drop(permit);
                                match accepted {
                                    Ok((stream, cert_user)) => {
                                        connection::serve_connection(stream, state2, remote, cert_user).await;
                                    }
                                    Err(err) => tracing::debug!(%remote, %err, "MQTT TLS handshake failed"),
                                }
                            });
                        }
                    }
                }
                Err(err) => {
                    // Out of file descriptors, usually: wait instead of spinning.
                    tracing::warn!(%err, "cannot accept an MQTT connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = state.shutdown.cancelled() => return,
        }
    }
}
