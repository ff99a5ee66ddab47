//! MQTT over WebSocket (`/mqtt`, subprotocol `mqtt`): binary WebSocket
//! messages carry the MQTT byte stream. A small pump turns the WebSocket into
//! a byte stream so the same [`serve_connection`] serves both transports.

use super::connection::serve_connection;
use crate::server::AppState;
use axum::extract::ws::{Message, WebSocket};
use futures_util::{SinkExt, StreamExt};
use std::net::SocketAddr;
use tokio::io::{AsyncReadExt, AsyncWriteExt, DuplexStream};

/// Bytes buffered between the WebSocket and the MQTT connection, each way.
const PIPE: usize = 64 * 1024;

/// Serves one upgraded `/mqtt` WebSocket until either side closes.
pub async fn serve_mqtt_socket(socket: WebSocket, state: AppState, remote: SocketAddr, cert_user: Option<String>) {
    let (mqtt_side, pump_side) = tokio::io::duplex(PIPE);
    let pump = tokio::spawn(pump(socket, pump_side));
    serve_connection(mqtt_side, state, remote, cert_user).await;
    // The connection dropped its end: the pump sees EOF, closes the socket and ends.
    let _ = pump.await;
}

/// Copies binary messages into `pipe` and what `pipe` yields back out as
/// binary messages, until either side ends.
async fn pump(socket: WebSocket, pipe: DuplexStream) {
    let (mut sink, mut stream) = socket.split();
    let (mut from_mqtt, mut to_mqtt) = tokio::io::split(pipe);
    let inbound = async {
        while let Some(Ok(message)) = stream.next().await {
            let bytes = match message {
                Message::Binary(bytes) => bytes,
                Message::Close(_) => return,
                // MQTT over WebSocket is binary only (MQTT 5 §6.0): text is a protocol error.
                Message::Text(_) => return,
                Message::Ping(_) | Message::Pong(_) => continue,
            };
            if to_mqtt.write_all(&bytes).await.is_err() {
                return;
            }
        }
    };
    let outbound = async {
        let mut buf = vec![0u8; PIPE];
        loop {
            match from_mqtt.read(&mut buf).await {
                Ok(n) if n > 0 => {
                    if sink.send(Message::Binary(buf[..n].to_vec().into())).await.is_err() {
                        return;
                    }
                }
                _ => {
                    let _ = sink.send(Message::Close(None)).await;
                    return;
                }
            }
        }
    };
    tokio::select! {
        () = inbound => {}
        () = outbound => {}
    }
}
