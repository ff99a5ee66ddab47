//! # hearth: the broker
//!
//! A thin tokio driver around [`queue_core`]. One task owns the engine
//! ([`driver`]); each WebSocket connection has a task that decodes client
//! frames, forwards them and encodes what comes back ([`ws`]). HTTP ([`http`]) serves the dashboard at `/`, the protocol at
//! `/ws`, JSON under `/api`, Prometheus text at `/metrics` and `/healthz`.
//! MQTT 3.1.1 and 5.0 clients connect on a second listener ([`mqtt`]); their
//! connection tasks translate packets into the same engine frames, so MQTT
//! devices and WebSocket clients meet in one engine.
//!
//! [`serve`] takes its listener, config and shutdown future, so tests bind
//! port 0 and run brokers side by side. The terminal tools (`hearth pub`,
//! `hearth sub`, `hearth bench`) live in [`cli`] and [`bench`] on top of the
//! small [`client`].

pub mod amqp;
pub mod auth;
pub mod bench;
pub mod bench_mqtt;
pub mod bridge;
pub mod budget;
pub mod cli;
pub mod client;
pub mod config;
pub mod denials;
pub mod driver;
pub mod flow;
pub mod http;
pub mod lazy_read;
pub mod login;
pub mod metrics;
pub mod mqtt;
pub mod outbox;
pub mod server;
pub mod tls;
pub mod ws;

pub use config::Config;
pub use server::{Listeners, ServeError, serve};
