//! Password files: one `user:hash` line per user, as Mosquitto's
//! `password_file`. Hearth writes argon2id PHC strings
//! (`$argon2id$v=19$…`, `hearth passwd`) and also reads what Debian's
//! `mosquitto_passwd` writes: `$7$ITERATIONS$SALT$HASH` (PBKDF2-HMAC-SHA512)
//! and the older `$6$SALT$HASH` (SHA-512 of password then salt), salts and
//! hashes in base64. Every comparison is in constant time.

use argon2::Argon2;
use argon2::password_hash::phc::PasswordHash;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha512};
use std::collections::BTreeMap;
use std::path::Path;
use subtle::ConstantTimeEq;

/// One user's stored password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hash {
    /// An argon2 PHC string.
    Argon2(String),
    /// Mosquitto's `$7$`: PBKDF2-HMAC-SHA512.
    Pbkdf2Sha512 {
        /// Rounds.
        iterations: u32,
        /// Salt.
        salt: Vec<u8>,
        /// Derived key.
        hash: Vec<u8>,
    },
    /// Mosquitto's `$6$`: SHA-512 of the password then the salt.
    Sha512 {
        /// Salt.
        salt: Vec<u8>,
        /// Digest.
        hash: Vec<u8>,
    },
}

/// The most PBKDF2 rounds a file may ask for (a file is trusted, but a typo
/// must not make every CONNECT take minutes).
const MAX_ITERATIONS: u32 = 10_000_000;

impl Hash {
    /// Reads a stored hash; `None` if it is in no format Hearth knows.
    pub fn parse(text: &str) -> Option<Self> {
        if text.starts_with("$argon2") {
            return PasswordHash::new(text).ok().map(|_| Self::Argon2(text.to_owned()));
        }
        let b64 = |s: &str| STANDARD.decode(s).ok();
        let mut parts = text.split('$');
        match (parts.next(), parts.next()) {
            (Some(""), Some("7")) => {
                let iterations: u32 = parts.next()?.parse().ok().filter(|n| (1..=MAX_ITERATIONS).contains(n))?;
                let salt = b64(parts.next()?)?;
                let hash = b64(parts.next()?)?;
                (parts.next().is_none() && !hash.is_empty()).then_some(Self::Pbkdf2Sha512 { iterations, salt, hash })
            }
            (Some(""), Some("6")) => {
                let salt = b64(parts.next()?)?;
                let hash = b64(parts.next()?)?;
                (parts.next().is_none() && hash.len() == 64).then_some(Self::Sha512 { salt, hash })
            }
            _ => None,
        }
    }

    /// A new argon2id hash of `password` with a fresh random salt.
    pub fn new_argon2(password: &[u8]) -> Result<Self, String> {
        let hash = Argon2::default().hash_password(password).map_err(|e| e.to_string())?;
        Ok(Self::Argon2(hash.to_string()))
    }

    /// Whether `password` is the one stored (constant time in its bytes).
    pub fn verify(&self, password: &[u8]) -> bool {
        match self {
            Self::Argon2(phc) => {
                PasswordHash::new(phc).is_ok_and(|parsed| Argon2::default().verify_password(password, &parsed).is_ok())
            }
            Self::Pbkdf2Sha512 { iterations, salt, hash } => {
                let mut derived = vec![0; hash.len()];
                pbkdf2::pbkdf2_hmac::<Sha512>(password, salt, *iterations, &mut derived);
                derived.ct_eq(hash).into()
            }
            Self::Sha512 { salt, hash } => {
                let mut digest = Sha512::new();
                digest.update(password);
                digest.update(salt);
                digest.finalize().as_slice().ct_eq(hash).into()
            }
        }
    }

    /// The text stored in the file.
    pub fn to_text(&self) -> String {
        match self {
            Self::Argon2(phc) => phc.clone(),
            Self::Pbkdf2Sha512 { iterations, salt, hash } => {
                format!("$7${iterations}${}${}", STANDARD.encode(salt), STANDARD.encode(hash))
            }
            Self::Sha512 { salt, hash } => format!("$6${}${}", STANDARD.encode(salt), STANDARD.encode(hash)),
        }
    }
}

/// What is wrong with a password file.
#[derive(Debug, thiserror::Error)]
pub enum PasswdError {
    /// It cannot be read or written.
    #[error("password file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// A line is not `user:hash` with a hash Hearth knows.
    #[error(
        "password file {path}, line {line}: expected `user:hash` with an argon2id, $7$ or $6$ hash (make entries with `hearth passwd FILE USER`)"
    )]
    Line {
        /// The file.
        path: String,
        /// The line number (from 1).
        line: usize,
    },
}

/// Every user of a password file, by name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Passwords {
    users: BTreeMap<String, Hash>,
}

impl Passwords {
    /// Reads a password file; a missing file is an error, an empty one has no users.
    pub fn load(path: &Path) -> Result<Self, PasswdError> {
        let shown = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| PasswdError::Io { path: shown.clone(), source })?;
        Self::parse(&text).map_err(|line| PasswdError::Line { path: shown, line })
    }

    /// Reads the text of a password file; `Err(line)` names a bad line.
    pub fn parse(text: &str) -> Result<Self, usize> {
        let mut users = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_end_matches('\r');
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let (user, hash) = line.split_once(':').ok_or(i + 1)?;
            let hash = Hash::parse(hash).ok_or(i + 1)?;
            if user.is_empty() {
                return Err(i + 1);
            }
            users.insert(user.to_owned(), hash);
        }
        Ok(Self { users })
    }

    /// Whether `user` exists and `password` is theirs. An unknown user
    /// costs the same time as a wrong password (a dummy hash is checked).
    pub fn check(&self, user: &str, password: &[u8]) -> bool {
        match self.users.get(user) {
            Some(hash) => hash.verify(password),
            None => {
                static DUMMY: std::sync::OnceLock<Option<Hash>> = std::sync::OnceLock::new();
                let dummy = DUMMY.get_or_init(|| Hash::new_argon2(b"no such user").ok());
                let _ = dummy.as_ref().map(|d| d.verify(password));
                false
            }
        }
    }

    /// Whether there are no users.
    pub fn is_empty(&self) -> bool {
        self.users.is_empty()
    }

    /// Removes `user`; false if there was none.
    pub fn remove(&mut self, user: &str) -> bool {
        self.users.remove(user).is_some()
    }

    /// Sets `user`'s hash (adding the user if new).
    pub fn set(&mut self, user: &str, hash: Hash) {
        self.users.insert(user.to_owned(), hash);
    }

    /// The file's text: one `user:hash` line per user, sorted.
    pub fn to_text(&self) -> String {
        self.users.iter().map(|(user, hash)| format!("{user}:{}\n", hash.to_text())).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argon2id_entries_verify_and_read_back() {
        let hash = Hash::new_argon2(b"front door").unwrap_or_else(|e| panic!("{e}"));
        assert!(hash.to_text().starts_with("$argon2id$"));
        assert!(hash.verify(b"front door"));
        assert!(!hash.verify(b"back door"));
        let mut file = Passwords::default();
        file.set("alice", hash);
        let again = Passwords::parse(&file.to_text()).expect("reads back");
        assert!(again.check("alice", b"front door"));
        assert!(!again.check("alice", b""));
        assert!(!again.check("bob", b"front door"));
    }

    #[test]
    fn mosquitto_sha512_and_pbkdf2_entries_verify() {
        // $6$: SHA-512(password || salt), built here from the definition.
        let salt = b"0123456789ab";
        let mut digest = Sha512::new();
        digest.update(b"secret");
        digest.update(salt);
        let line = format!("old:$6${}${}", STANDARD.encode(salt), STANDARD.encode(digest.finalize()));
        let mut derived = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<Sha512>(b"secret", salt, 101, &mut derived);
        let line7 = format!("new:$7$101${}${}", STANDARD.encode(salt), STANDARD.encode(derived));
        let file = Passwords::parse(&format!("# comment\n{line}\n\n{line7}\r\n")).expect("reads");
        assert!(file.check("old", b"secret") && file.check("new", b"secret"));
        assert!(!file.check("old", b"Secret") && !file.check("new", b"secre"));
    }

    #[test]
    fn bad_lines_are_named() {
        assert_eq!(Passwords::parse("ok:$6$AAAA$AAAA\n"), Err(1), "a $6$ digest must be 64 bytes");
        assert_eq!(Passwords::parse("\nnocolon\n"), Err(2));
        assert_eq!(Passwords::parse("u:$7$0$AAAA$AAAA"), Err(1), "zero rounds");
        assert_eq!(Passwords::parse("u:$7$99999999999$AAAA$AAAA"), Err(1), "rounds past the bound");
        assert_eq!(Passwords::parse("u:plaintext"), Err(1));
        assert_eq!(
            Passwords::parse(":$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhh"),
            Err(1)
        );
    }
}
