//! `hearth pub` and `hearth sub`: talk to a broker from a terminal;
//! `hearth passwd`: manage its users.

mod passwd;
mod publish;
mod subscribe;

pub use passwd::{PasswdArgs, run_passwd};
pub use publish::{PubArgs, run_pub};
pub use subscribe::{SubArgs, run_sub};
