//! Dashboard logins: a random token per login, kept in memory and handed to
//! the browser as an HttpOnly, SameSite=Strict cookie (Secure under TLS).
//! Nothing about the login is in a URL or in the page's storage.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The cookie's name for a broker whose HTTP listener is on `port`.
/// Browsers keep cookies per host, not per port, so each broker on a host
/// names its own; under TLS the `__Host-` prefix also makes the browser
/// refuse it without `Secure` or with a `Domain`.
pub fn cookie_name(port: u16, tls: bool) -> String {
    let prefix = if tls { "__Host-" } else { "" };
    format!("{prefix}hearth_session_{port}")
}

/// How long a login lasts without use; each use extends it.
pub const SESSION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);

/// Most logins held at once; the least recently used goes first past it.
const MAX_SESSIONS: usize = 1024;

#[derive(Debug)]
struct Login {
    user: String,
    last_used: Instant,
}

/// The logins of the dashboard, by token.
#[derive(Debug, Default)]
pub struct Sessions {
    logins: Mutex<HashMap<String, Login>>,
}

impl Sessions {
    /// A new login for `user`; returns its token (256 random bits, hex).
    pub fn create(&self, user: &str) -> Option<String> {
        let mut bytes = [0u8; 32];
        getrandom::fill(&mut bytes).ok()?;
        let token: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        let mut logins = self.logins.lock().ok()?;
        let now = Instant::now();
        logins.retain(|_, l| now.duration_since(l.last_used) < SESSION_TTL);
        if logins.len() >= MAX_SESSIONS
            && let Some(oldest) = logins.iter().min_by_key(|(_, l)| l.last_used).map(|(t, _)| t.clone())
        {
            logins.remove(&oldest);
        }
        logins.insert(token.clone(), Login { user: user.to_owned(), last_used: now });
        Some(token)
    }

    /// The user a token is logged in as (and the login is extended).
    pub fn user(&self, token: &str) -> Option<String> {
        let mut logins = self.logins.lock().ok()?;
        let login = logins.get_mut(token)?;
        let now = Instant::now();
        if now.duration_since(login.last_used) >= SESSION_TTL {
            logins.remove(token);
            return None;
        }
        login.last_used = now;
        Some(login.user.clone())
    }

    /// Ends a login.
    pub fn remove(&self, token: &str) {
        if let Ok(mut logins) = self.logins.lock() {
            logins.remove(token);
        }
    }
}

/// The session token in a `Cookie` header under the cookie `name`, if any.
pub fn token_from_cookies<'a>(header: &'a str, name: &str) -> Option<&'a str> {
    header.split(';').map(str::trim).find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_login_is_found_by_its_token_and_ends_when_removed() {
        let sessions = Sessions::default();
        let token = sessions.create("alice").expect("a token");
        assert_eq!(token.len(), 64);
        assert_eq!(sessions.user(&token).as_deref(), Some("alice"));
        assert_ne!(sessions.create("alice").expect("a token"), token, "tokens are random");
        sessions.remove(&token);
        assert_eq!(sessions.user(&token), None);
        assert_eq!(sessions.user("guess"), None);
    }

    #[test]
    fn logins_are_bounded() {
        let sessions = Sessions::default();
        let first = sessions.create("u").expect("a token");
        for _ in 0..MAX_SESSIONS {
            sessions.create("u");
        }
        assert_eq!(sessions.user(&first), None, "the least recently used went");
        assert!(sessions.logins.lock().expect("lock").len() <= MAX_SESSIONS);
    }

    #[test]
    fn the_token_is_read_from_among_other_cookies() {
        let name = cookie_name(8080, false);
        assert_eq!(name, "hearth_session_8080");
        assert_eq!(token_from_cookies("a=1; hearth_session_8080=abc; b=2", &name), Some("abc"));
        assert_eq!(token_from_cookies("hearth_session_8081=abc", &name), None, "another broker's");
        assert_eq!(token_from_cookies("", &name), None);
        assert_eq!(cookie_name(443, true), "__Host-hearth_session_443");
    }
}
