//! `hearth pub` and `hearth sub`: talk to a broker from a terminal.

mod publish;
mod subscribe;

pub use publish::{PubArgs, run_pub};
pub use subscribe::{SubArgs, run_sub};
