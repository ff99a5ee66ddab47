//! # hearth: the broker
//!
//! A thin tokio driver around [`queue_core`]. One task owns the engine
//! ([`driver`]); each WebSocket connection has a task that decodes client
//! frames and forwards them, and a writer that encodes what comes back
//! ([`ws`]). HTTP ([`http`]) serves the dashboard at `/`, the protocol at
//! `/ws`, JSON under `/api`, Prometheus text at `/metrics` and `/healthz`.
//!
//! [`serve`] takes its listener, config and shutdown future, so tests bind
//! port 0 and run brokers side by side. The terminal tools (`hearth pub`,
//! `hearth sub`, `hearth bench`) live in [`cli`] and [`bench`] on top of the
//! small [`client`].

pub mod bench;
pub mod cli;
pub mod client;
pub mod config;
pub mod driver;
pub mod http;
pub mod metrics;
pub mod server;
pub mod ws;

pub use config::Config;
pub use server::{ServeError, serve};
