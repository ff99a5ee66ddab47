//! Who may connect: users from a password file, and whether anonymous
//! clients are let in.

pub mod passwd;
pub mod sessions;

pub use passwd::{Hash, PasswdError, Passwords};

use queue_core::acl::{Acl, AclError};
use std::path::{Path, PathBuf};
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
    /// Replaced whole when the password file is read again (SIGHUP).
    users: Arc<std::sync::RwLock<Option<Arc<Passwords>>>>,
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
        let users = Arc::new(std::sync::RwLock::new(users.map(Arc::new)));
        Self { users, anonymous, checks, refused: Arc::default() }
    }

    /// Replaces the users (the password file was read again). Clients
    /// already connected stay; new logins are checked against these.
    pub fn set_users(&self, users: Passwords) {
        if let Ok(mut slot) = self.users.write() {
            *slot = Some(Arc::new(users));
        }
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
        let users = self.users.read().map(|users| users.clone()).unwrap_or_default();
        let Some(users) = users else {
            // No password file: a username is only a name.
            return if self.anonymous { Verdict::Allowed } else { Verdict::NotAuthorized };
        };
        let Ok(_permit) = self.checks.acquire().await else { return Verdict::BadCredentials };
        let (user, password) = (user.to_owned(), password.unwrap_or_default().to_vec());
        let ok = tokio::task::spawn_blocking(move || users.check(&user, &password)).await.unwrap_or(false);
        if ok { Verdict::Allowed } else { Verdict::BadCredentials }
    }
}

/// An ACL file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum AclFileError {
    /// It cannot be read.
    #[error("cannot read acl_file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A line is wrong.
    #[error("acl_file {path} {source}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// The line and what is wrong with it.
        source: AclError,
    },
}

/// Reads and parses an ACL file.
pub fn load_acl(path: &Path) -> Result<Acl, AclFileError> {
    let text = std::fs::read_to_string(path).map_err(|source| AclFileError::Read { path: path.to_owned(), source })?;
    Acl::parse(&text).map_err(|source| AclFileError::Parse { path: path.to_owned(), source })
}
