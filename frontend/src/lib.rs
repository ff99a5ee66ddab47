//! Hearth's dashboard, a Leptos client-side app compiled to wasm.
//!
//! It owns what a person sees in the browser; it never decides anything about
//! queues itself (that is `queue-core`'s job, run by `home-sim` in the page
//! and by the broker live). [`App`] opens on the simulator: a smart home from
//! `home-sim` driven by animation frames ([`Simulator`]), drawn as a floor
//! plan ([`FloorPlan`]), queues as FIFOs ([`QueueCard`]), with controls,
//! lessons and an event log, and a teacher's tools ([`SceneBar`]: scenario,
//! Reset, Copy link; [`BindForm`]: a queue bound to a filter). The Live tab connects to a broker's WebSocket
//! ([`Live`]): queues, rates and durable queues' bytes on disk
//! ([`QueueTable`], [`with_disk_bytes`]), the memory and disk budgets
//! ([`memory_line`], [`blocked_line`]), connections ([`connection_table`]), device cards, publish
//! and subscribe, all fed through a plain [`LiveState`]; behind a login form
//! when the page's own broker wants one ([`Account`]), and saying which
//! `--allow-origin` another broker needs to let the page in ([`refusal_hint`]).
//!
//! Components are small functions over [`SimHandle`] or plain data, so tests
//! mount them with a hand-driven simulation and no broker.

mod charts;
mod clock;
mod controls;
mod floorplan;
mod forms;
mod handle;
mod icons;
mod layout;
mod lessons;
mod live;
mod log;
mod model;
mod queue_table;
mod queues;
mod shell;
mod simulator;
mod status;
mod teacher;

pub use clock::{ClockBar, Counters};
pub use controls::{Controls, PublishForm};
pub use floorplan::{DeviceCard, FloorPlan};
pub use forms::Forms;
pub use handle::SimHandle;
pub use lessons::Lessons;
pub use live::{
    Account, CHART_SAMPLES, ConnectionRow, Device, DeviceState, DiskBytes, HISTORY, LinkState, Live, LiveState,
    Received, Sample, Totals, backoff_ms, blocked_line, connection_table, disk_bytes_from_json, format_bytes,
    format_rate, group_devices, http_base, memory_line, refusal_hint, wire, with_disk_bytes,
};
pub use log::EventLog;
pub use model::{QueueInfo, Status};
pub use queue_table::QueueTable;
pub use queues::{QueueCard, Queues};
pub use shell::App;
pub use simulator::Simulator;
pub use status::StatusLine;
pub use teacher::{BindForm, SceneBar};
