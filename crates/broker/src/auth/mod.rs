//! Who may connect: users from a password file, and whether anonymous
//! clients are let in.

pub mod passwd;

pub use passwd::{Hash, PasswdError, Passwords};

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::Semaphore;

/// Password checks running at once: a slow hash costs tens of ms and MiB of
/// memory, and a flood of CONNECTs with wrong passwords must not take the
/// machine (the others wait their turn).
const CHECKS_AT_ONCE: usize = 2;

/// What a client presented, and what the broker made of it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Let in (as this user, or anonymous).
    Allowed,
    /// A username with a wrong password (or an unknown user).
    BadCredentials,
    /// No credentials, and anonymous clients are not allowed.
    NotAuthorized,
}

/// The broker's access policy for connections.
#[derive(Debug, Clone)]
pub struct Auth {
    users: Option<Arc<Passwords>>,
    anonymous: bool,
    checks: Arc<Semaphore>,
    /// Logins refused since start (`hearth_logins_refused_total`).
    refused: Arc<AtomicU64>,
}

impl Auth {
    /// A policy: `users` (none: no password file) and whether clients
    /// without credentials are let in.
    pub fn new(users: Option<Passwords>, anonymous: bool) -> Self {
        let checks = Arc::new(Semaphore::new(CHECKS_AT_ONCE));
        Self { users: users.map(Arc::new), anonymous, checks, refused: Arc::default() }
    }

    /// Everyone in, no passwords (tests and the old behaviour).
    pub fn open() -> Self {
        Self::new(None, true)
    }

    /// Whether clients must say who they are.
    pub fn required(&self) -> bool {
        !self.anonymous
    }

    /// Logins refused since start.
    pub fn refused(&self) -> u64 {
        self.refused.load(Ordering::Relaxed)
    }

    /// Checks a client's username and password (off the runtime's threads,
    /// a few at a time); refusals are counted.
    pub async fn check(&self, username: Option<&str>, password: Option<&[u8]>) -> Verdict {
        let verdict = self.verdict(username, password).await;
        if verdict != Verdict::Allowed {
            self.refused.fetch_add(1, Ordering::Relaxed);
        }
        verdict
    }

    async fn verdict(&self, username: Option<&str>, password: Option<&[u8]>) -> Verdict {
        let Some(user) = username else {
            return if self.anonymous { Verdict::Allowed } else { Verdict::NotAuthorized };
        };
        let Some(users) = self.users.clone() else {
            // No password file: a username is only a name.
            return if self.anonymous { Verdict::Allowed } else { Verdict::NotAuthorized };
        };
        let Ok(_permit) = self.checks.acquire().await else { return Verdict::BadCredentials };
        let (user, password) = (user.to_owned(), password.unwrap_or_default().to_vec());
        let ok = tokio::task::spawn_blocking(move || users.check(&user, &password)).await.unwrap_or(false);
        if ok { Verdict::Allowed } else { Verdict::BadCredentials }
    }
}
