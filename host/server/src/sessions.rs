//! Browser sign-in: passwords and session cookies, beside the API tokens
//! scripts keep using.
//!
//! * **Passwords** are stored as argon2id PHC strings (the `argon2` crate,
//!   RustCrypto: memory-hard, salted, parameters inside the string so they
//!   can be raised later). A sign-in for an unknown user still verifies
//!   against a dummy hash, so timing does not tell which names exist.
//! * **Sessions** are random 256-bit ids handed out in an `HttpOnly`,
//!   `SameSite=Strict` cookie (`Secure` when the server's public URL is
//!   https), stored only as their SHA-256 with the user, a CSRF token and
//!   an expiry. Every cookie-authenticated request other than GET/HEAD
//!   must echo the CSRF token in `X-CSRF-Token` (the console keeps it in
//!   memory): `SameSite` already stops cross-site posts in current
//!   browsers, the token also covers older ones and same-site subdomains.
//! * Sign-out removes the session; revoking a user's tokens (admin) also
//!   ends their sessions.

use crate::users::token_hash;
use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use serde::{Deserialize, Serialize};

/// The session cookie's name.
pub const COOKIE: &str = "weft_session";

/// Shortest password accepted.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted: argon2 takes any length, but hashing
/// megabytes per sign-in attempt is work an attacker should not get.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// Why a password was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum PasswordError {
    #[error("the password must have at least {MIN_PASSWORD_CHARS} characters")]
    TooShort,
    #[error("the password must have at most {MAX_PASSWORD_BYTES} bytes")]
    TooLong,
}

/// Check a new password against the rules.
pub fn check_password(password: &str) -> Result<(), PasswordError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(PasswordError::TooShort);
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(PasswordError::TooLong);
    }
    Ok(())
}

/// A new random password for a user who has none yet (the first admin):
/// 20 characters from an alphabet without look-alikes, about 118 bits.
pub fn generate_password() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    const ALPHABET: &[u8] = b"abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    (0..20)
        .map(|_| {
            // Rejection sampling keeps every character equally likely.
            loop {
                let b = (OsRng.next_u32() & 0x3f) as usize;
                if b < ALPHABET.len() {
                    return ALPHABET[b] as char;
                }
            }
        })
        .collect()
}

/// Storage errors of passwords and sessions.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("session store: {0}")]
    Store(#[from] crate::kv::KvError),
    #[error("password hashing: {0}")]
    Hash(String),
    #[error(transparent)]
    Password(#[from] PasswordError),
}

/// One signed-in browser.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Session {
    pub user: String,
    /// Echoed in `X-CSRF-Token` by cookie-authenticated writes.
    pub csrf_token: String,
    /// Milliseconds since the Unix epoch.
    pub expires_at: i64,
}

/// Passwords and sessions in two tables.
#[derive(Clone)]
pub struct Sessions {
    passwords: crate::kv::Tree,
    sessions: crate::kv::Tree,
    /// How long a session lasts after sign-in.
    ttl_ms: i64,
}

/// 256 random bits from the operating system, as hex.
fn random_hex() -> String {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    hex::encode(bytes)
}

impl Sessions {
    pub fn open(
        db: &crate::kv::Tables,
        ttl: std::time::Duration,
    ) -> Result<Self, crate::kv::KvError> {
        Ok(Sessions {
            passwords: db.open_tree("passwords")?,
            sessions: db.open_tree("sessions")?,
            ttl_ms: i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
        })
    }

    /// How long a session lasts, in seconds (the cookie's `Max-Age`).
    pub fn ttl_secs(&self) -> i64 {
        self.ttl_ms / 1000
    }

    /// Set (or replace) `user`'s password.
    pub fn set_password(&self, user: &str, password: &str) -> Result<(), SessionError> {
        check_password(password)?;
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        let hash = Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map_err(|e| SessionError::Hash(e.to_string()))?
            .to_string();
        self.passwords.insert(user.as_bytes(), hash.as_bytes())?;
        self.passwords.flush()?;
        Ok(())
    }

    /// Whether `user` has a password at all.
    pub fn has_password(&self, user: &str) -> Result<bool, SessionError> {
        Ok(self.passwords.contains_key(user.as_bytes())?)
    }

    /// Whether `password` is `user`'s. Unknown users and users without a
    /// password take as long as a wrong password.
    pub fn verify(&self, user: &str, password: &str) -> Result<bool, SessionError> {
        if password.len() > MAX_PASSWORD_BYTES {
            return Ok(false);
        }
        let stored = self.passwords.get(user.as_bytes())?;
        let phc = stored
            .as_deref()
            .and_then(|v| std::str::from_utf8(v).ok())
            .unwrap_or_else(|| dummy_hash());
        let Ok(parsed) = PasswordHash::new(phc) else {
            return Ok(false);
        };
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(ok && stored.is_some())
    }

    /// Start a session for `user`; returns the cookie value (shown once,
    /// stored only hashed) and the session.
    pub fn create(&self, user: &str, now_ms: i64) -> Result<(String, Session), SessionError> {
        let id = random_hex();
        let session = Session {
            user: user.to_string(),
            csrf_token: random_hex(),
            expires_at: now_ms.saturating_add(self.ttl_ms),
        };
        let bytes = serde_json::to_vec(&session).map_err(|e| SessionError::Hash(e.to_string()))?;
        self.sessions.insert(token_hash(&id).as_bytes(), bytes)?;
        self.sessions.flush()?;
        Ok((id, session))
    }

    /// The live session with cookie value `id`; an expired one is removed.
    pub fn get(&self, id: &str, now_ms: i64) -> Result<Option<Session>, SessionError> {
        let key = token_hash(id);
        let Some(bytes) = self.sessions.get(key.as_bytes())? else {
            return Ok(None);
        };
        match serde_json::from_slice::<Session>(&bytes) {
            Ok(s) if s.expires_at > now_ms => Ok(Some(s)),
            _ => {
                self.sessions.remove(key.as_bytes())?;
                Ok(None)
            }
        }
    }

    /// Sign out: forget the session with cookie value `id`.
    pub fn remove(&self, id: &str) -> Result<(), SessionError> {
        self.sessions.remove(token_hash(id).as_bytes())?;
        self.sessions.flush()?;
        Ok(())
    }

    /// End every session of `user`. Returns how many.
    pub fn end_all(&self, user: &str) -> Result<usize, SessionError> {
        let mut ended = 0;
        for entry in self.sessions.iter() {
            let (key, bytes) = entry?;
            let owner = serde_json::from_slice::<Session>(&bytes).map(|s| s.user);
            if owner.as_deref().is_ok_and(|u| u == user) {
                self.sessions.remove(key)?;
                ended += 1;
            }
        }
        self.sessions.flush()?;
        Ok(ended)
    }

    /// Drop expired sessions (at every sign-in, so abandoned sessions do
    /// not pile up). Returns how many.
    pub fn sweep(&self, now_ms: i64) -> Result<usize, SessionError> {
        let mut removed = 0;
        for entry in self.sessions.iter() {
            let (key, bytes) = entry?;
            let live =
                serde_json::from_slice::<Session>(&bytes).is_ok_and(|s| s.expires_at > now_ms);
            if !live {
                self.sessions.remove(key)?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}

/// Why `weft user set-password` could not set a password.
#[derive(Debug, thiserror::Error)]
pub enum OfflineError {
    #[error(
        "cannot open the server's store (is `weft serve` running on this --data-dir? stop it first): {0}"
    )]
    Open(#[from] crate::kv::KvError),
    #[error("there is no user {0:?}; create it with POST /api/v1/users")]
    NoSuchUser(String),
    #[error(transparent)]
    Session(#[from] SessionError),
}

/// Set `user`'s console password in the server store under `data_dir`
/// (the server stopped), ending their sessions: `weft user set-password`.
pub fn set_password_offline(
    data_dir: &std::path::Path,
    user: &str,
    password: &str,
) -> Result<(), OfflineError> {
    let db = crate::kv::Tables::Sled(
        sled::open(data_dir.join("server")).map_err(crate::kv::KvError::from)?,
    );
    let users = crate::users::Users::open(&db)?;
    if users.get(user)?.is_none() {
        return Err(OfflineError::NoSuchUser(user.to_string()));
    }
    let sessions = Sessions::open(&db, std::time::Duration::from_secs(0))?;
    sessions.set_password(user, password)?;
    sessions.end_all(user)?;
    db.flush()?;
    Ok(())
}

/// An argon2id hash of a random password nobody knows, with the same
/// parameters as real ones, verified against when the user has no
/// password so that such sign-ins cost the same.
fn dummy_hash() -> &'static str {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DUMMY.get_or_init(|| {
        let salt = SaltString::generate(&mut argon2::password_hash::rand_core::OsRng);
        Argon2::default()
            .hash_password(random_hex().as_bytes(), &salt)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

/// The `Set-Cookie` value that starts a session (`secure` behind https).
pub fn set_cookie(id: &str, max_age_secs: i64, secure: bool) -> String {
    format!(
        "{COOKIE}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age_secs}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends it.
pub fn clear_cookie(secure: bool) -> String {
    set_cookie("", 0, secure)
}

/// The session cookie's value in a `Cookie` header, if present.
pub fn cookie_value(header: &str) -> Option<&str> {
    header.split(';').find_map(|pair| {
        let (name, value) = pair.trim().split_once('=')?;
        (name == COOKIE && !value.is_empty()).then_some(value)
    })
}

/// Compare two secrets in time that does not depend on where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sessions() -> (tempfile::TempDir, Sessions) {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = crate::kv::Tables::Sled(sled::open(dir.path()).expect("sled"));
        let s = Sessions::open(&db, std::time::Duration::from_secs(60)).expect("open");
        (dir, s)
    }

    #[test]
    fn a_password_verifies_only_itself_and_is_stored_hashed() {
        let (_dir, s) = sessions();
        assert!(matches!(
            s.set_password("ann", "short"),
            Err(SessionError::Password(PasswordError::TooShort))
        ));
        s.set_password("ann", "correct horse battery").expect("set");
        assert!(s.verify("ann", "correct horse battery").expect("verify"));
        assert!(!s.verify("ann", "correct horse batterY").expect("verify"));
        assert!(!s.verify("bob", "correct horse battery").expect("verify"));
        let stored = s.passwords.get("ann").expect("get").expect("stored");
        let stored = String::from_utf8_lossy(&stored);
        assert!(stored.starts_with("$argon2id$"), "{stored}");
        assert!(!stored.contains("correct horse"));
    }

    #[test]
    fn sessions_expire_end_on_sign_out_and_with_their_user() {
        let (_dir, s) = sessions();
        let (id, session) = s.create("ann", 1_000).expect("create");
        assert_eq!(s.get(&id, 2_000).expect("get"), Some(session.clone()));
        assert_eq!(s.get(&id, 1_000 + 60_000).expect("get"), None, "expired");
        let (id, _) = s.create("ann", 1_000).expect("create");
        s.remove(&id).expect("remove");
        assert_eq!(s.get(&id, 2_000).expect("get"), None, "signed out");
        let (a, _) = s.create("ann", 1_000).expect("create");
        let (b, _) = s.create("bob", 1_000).expect("create");
        assert_eq!(s.end_all("ann").expect("end"), 1);
        assert_eq!(s.get(&a, 2_000).expect("get"), None);
        assert!(s.get(&b, 2_000).expect("get").is_some());
        assert_eq!(s.sweep(1_000 + 60_000).expect("sweep"), 1, "bob's, expired");
        assert_eq!(s.sessions.len().expect("len"), 0);
    }

    #[test]
    fn the_cookie_is_found_among_others_and_compared_in_constant_time() {
        assert_eq!(cookie_value("a=1; weft_session=abc; b=2"), Some("abc"));
        assert_eq!(cookie_value("weft_session="), None);
        assert_eq!(cookie_value("other=abc"), None);
        assert!(same_secret("abc", "abc"));
        assert!(!same_secret("abc", "abd"));
        assert!(!same_secret("abc", "abcd"));
        let cookie = set_cookie("id", 60, true);
        assert!(
            cookie.contains("HttpOnly")
                && cookie.contains("SameSite=Strict")
                && cookie.ends_with("; Secure")
        );
    }
}
