//! Hearth's dashboard, a Leptos client-side app compiled to wasm.
//!
//! It owns what a person sees in the browser; it never decides anything about
//! queues itself (that is `queue-core`'s job, and the broker's). Today it
//! monitors the broker that served it: [`App`] polls `GET /api/queues` every
//! second and shows the answer with [`QueueTable`] and [`StatusLine`].
//!
//! Views are small functions over plain data ([`QueueInfo`], [`Status`]), so
//! tests mount them with fixed values and no broker.

mod api;
mod app;
mod model;
mod queue_table;
mod status;

pub use app::App;
pub use model::{QueueInfo, Status};
pub use queue_table::QueueTable;
pub use status::StatusLine;
