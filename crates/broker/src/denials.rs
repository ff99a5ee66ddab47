//! Requests the access control list refused: counted by action for
//! `/metrics`, and logged at most once a second (a client retrying a
//! forbidden publish in a loop must not fill the disk with log lines).

use queue_core::Denial;
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Most one log line per this long; the others are summed into the next.
const LOG_EVERY: Duration = Duration::from_secs(1);

/// Denials since start.
#[derive(Debug, Default)]
pub struct Denials {
    by_action: BTreeMap<&'static str, u64>,
    last_logged: Option<Instant>,
    unlogged: u64,
}

impl Denials {
    /// Counts one denial and logs it unless one was logged in the last second.
    pub fn record(&mut self, denial: &Denial) {
        *self.by_action.entry(denial.action).or_default() += 1;
        let now = Instant::now();
        if self.last_logged.is_some_and(|at| now.duration_since(at) < LOG_EVERY) {
            self.unlogged += 1;
            return;
        }
        let user = denial.user.as_deref().unwrap_or("(anonymous)");
        let (action, resource, client) = (denial.action, &denial.resource, &denial.client_id);
        let also = std::mem::take(&mut self.unlogged);
        tracing::warn!(user, client, action, resource, unlogged_before = also, "denied by the ACL");
        self.last_logged = Some(now);
    }

    /// Denials since start, by action (`publish`, `subscribe`, ...).
    pub fn by_action(&self) -> BTreeMap<&'static str, u64> {
        self.by_action.clone()
    }
}
