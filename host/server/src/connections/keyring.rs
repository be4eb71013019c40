//! The key that encrypts connection secrets at rest, and sealing with it.
//!
//! Secrets are sealed with XChaCha20-Poly1305 (the RustCrypto
//! `chacha20poly1305` crate: audited, maintained, and its 24-byte nonces are
//! safe to draw at random, so no nonce counter has to survive restarts). The
//! connection id is the associated data, so a sealed value copied onto
//! another connection does not open.
//!
//! The key comes from `WEFT_SECRET_KEY` (base64 of 32 bytes) or from
//! `secret.key` in the data directory, generated with mode 0600 on first
//! start. Sealed values name the key they were sealed with (the first bytes
//! of its SHA-256), so during a rotation both keys open values and an
//! interrupted rotation can simply be run again.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as B64;
use chacha20poly1305::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use sha2::{Digest, Sha256};
use std::path::Path;

/// File name of the key in the data directory.
pub const KEY_FILE: &str = "secret.key";
/// A rotation writes the new key here first; it becomes `secret.key` once
/// every secret is re-sealed.
pub const NEXT_KEY_FILE: &str = "secret.key.next";
/// Environment variable holding the key instead of the file.
pub const KEY_ENV: &str = "WEFT_SECRET_KEY";

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("{0}")]
    Io(String),
    #[error("{source_name} does not hold a key: {reason} (expected base64 of 32 random bytes)")]
    Malformed { source_name: String, reason: String },
    #[error(
        "a stored secret was sealed with key {0}, which is not loaded; set {KEY_ENV} or restore secret.key"
    )]
    UnknownKey(String),
    #[error(
        "a stored secret does not open with its key: it was altered or belongs to another connection"
    )]
    Tampered,
    #[error("a stored secret is not in the sealed format")]
    Format,
}

struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

impl Key {
    fn from_bytes(bytes: &[u8]) -> Key {
        Key {
            id: hex::encode(&Sha256::digest(bytes)[..4]),
            cipher: XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(bytes)),
        }
    }

    fn parse(text: &str, source_name: &str) -> Result<Key, KeyError> {
        let bytes = B64.decode(text.trim()).map_err(|e| KeyError::Malformed {
            source_name: source_name.into(),
            reason: e.to_string(),
        })?;
        if bytes.len() != 32 {
            return Err(KeyError::Malformed {
                source_name: source_name.into(),
                reason: format!("{} bytes", bytes.len()),
            });
        }
        Ok(Key::from_bytes(&bytes))
    }
}

/// The current key, plus any other key values may still be sealed with.
pub struct Keyring {
    current: Key,
    others: Vec<Key>,
}

/// A fresh random key, base64.
pub fn generate_key() -> String {
    B64.encode(XChaCha20Poly1305::generate_key(&mut OsRng))
}

/// Write `key` to `path` readable by the owner only, atomically.
pub fn write_key_file(path: &Path, key: &str) -> Result<(), KeyError> {
    let tmp = path.with_extension("tmp");
    let io = |e: std::io::Error| KeyError::Io(format!("cannot write {}: {e}", path.display()));
    {
        use std::io::Write as _;
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create(true).truncate(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(&tmp).map_err(io)?;
        file.write_all(key.as_bytes()).map_err(io)?;
        file.write_all(b"\n").map_err(io)?;
        file.sync_all().map_err(io)?;
    }
    std::fs::rename(&tmp, path).map_err(io)
}

/// `WEFT_SECRET_KEY`, unless unset or blank.
fn env_key() -> Option<String> {
    std::env::var(KEY_ENV).ok().filter(|k| !k.trim().is_empty())
}

fn read_key_file(path: &Path) -> Result<Option<Key>, KeyError> {
    match std::fs::read_to_string(path) {
        Ok(text) => Key::parse(&text, &path.display().to_string()).map(Some),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(KeyError::Io(format!("cannot read {}: {e}", path.display()))),
    }
}

impl Keyring {
    /// The key from `WEFT_SECRET_KEY`, else `dir/secret.key` (created on
    /// first use). A `secret.key.next` left by an interrupted rotation is
    /// loaded too, so every secret still opens.
    pub fn load(dir: &Path) -> Result<Keyring, KeyError> {
        let current = match env_key() {
            Some(text) => Key::parse(&text, KEY_ENV)?,
            None => {
                let path = dir.join(KEY_FILE);
                match read_key_file(&path)? {
                    Some(key) => key,
                    None => {
                        std::fs::create_dir_all(dir).map_err(|e| {
                            KeyError::Io(format!("cannot create {}: {e}", dir.display()))
                        })?;
                        let text = generate_key();
                        write_key_file(&path, &text)?;
                        Key::parse(&text, KEY_FILE)?
                    }
                }
            }
        };
        let others = read_key_file(&dir.join(NEXT_KEY_FILE))?
            .into_iter()
            .collect();
        Ok(Keyring { current, others })
    }

    /// A keyring from base64 keys: `current` seals, all open.
    pub fn from_keys(current: &str, others: &[&str]) -> Result<Keyring, KeyError> {
        Ok(Keyring {
            current: Key::parse(current, "key")?,
            others: others
                .iter()
                .map(|k| Key::parse(k, "key"))
                .collect::<Result<_, _>>()?,
        })
    }

    /// A ring that seals with `new` and still opens everything `old` opens.
    pub fn rotated(new: &str, old: Keyring) -> Result<Keyring, KeyError> {
        let mut others = vec![old.current];
        others.extend(old.others);
        Ok(Keyring {
            current: Key::parse(new, "new key")?,
            others,
        })
    }

    /// Does the key come from the environment rather than the file?
    pub fn from_env() -> bool {
        env_key().is_some()
    }

    /// Id of the sealing key (first 4 bytes of its SHA-256, hex).
    pub fn key_id(&self) -> &str {
        &self.current.id
    }

    /// Seal `plaintext` for the record `aad` names: `v1.KEYID.BASE64(nonce ‖ ciphertext)`.
    pub fn seal(&self, aad: &str, plaintext: &[u8]) -> String {
        let nonce = XChaCha20Poly1305::generate_nonce(&mut OsRng);
        // Encryption with a valid key and nonce cannot fail for in-memory
        // buffers; an empty result would only make `open` fail loudly.
        let ciphertext = self
            .current
            .cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .unwrap_or_default();
        let mut out = nonce.to_vec();
        out.extend_from_slice(&ciphertext);
        format!("v1.{}.{}", self.current.id, B64.encode(out))
    }

    /// Open a value sealed by [`Keyring::seal`] with any loaded key.
    pub fn open(&self, aad: &str, sealed: &str) -> Result<Vec<u8>, KeyError> {
        let mut parts = sealed.splitn(3, '.');
        let (Some("v1"), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(KeyError::Format);
        };
        let key = std::iter::once(&self.current)
            .chain(&self.others)
            .find(|k| k.id == key_id)
            .ok_or_else(|| KeyError::UnknownKey(key_id.to_string()))?;
        let bytes = B64.decode(body).map_err(|_| KeyError::Format)?;
        if bytes.len() < 24 {
            return Err(KeyError::Format);
        }
        let (nonce, ciphertext) = bytes.split_at(24);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| KeyError::Tampered)
    }

    /// Is `sealed` sealed with the current key?
    pub fn is_current(&self, sealed: &str) -> bool {
        sealed
            .split('.')
            .nth(1)
            .is_some_and(|id| id == self.current.id)
    }
}

/// The same key seals the private output copies a resumed run needs
/// (`weft_host::output_seal`): they hold what a censored block returned, or
/// the secrets a run injected, so they get the protection secrets get.
impl weft_host::OutputSeal for Keyring {
    fn seal(&self, context: &str, plaintext: &[u8]) -> String {
        Keyring::seal(self, context, plaintext)
    }

    fn open(&self, context: &str, sealed: &str) -> Result<Vec<u8>, String> {
        Keyring::open(self, context, sealed).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sealed_values_open_only_with_their_key_and_record() {
        let k1 = generate_key();
        let ring = Keyring::from_keys(&k1, &[]).expect("ring");
        let sealed = ring.seal("conn-1", b"xoxb-secret");
        assert!(!sealed.contains("xoxb"));
        assert_eq!(ring.open("conn-1", &sealed).expect("open"), b"xoxb-secret");
        assert!(matches!(
            ring.open("conn-2", &sealed),
            Err(KeyError::Tampered)
        ));
        let other = Keyring::from_keys(&generate_key(), &[]).expect("ring");
        assert!(matches!(
            other.open("conn-1", &sealed),
            Err(KeyError::UnknownKey(_))
        ));
        let mut flipped = sealed.clone();
        let last = flipped.pop().expect("char");
        flipped.push(if last == 'A' { 'B' } else { 'A' });
        assert!(ring.open("conn-1", &flipped).is_err());
        assert!(matches!(
            ring.open("conn-1", "plain"),
            Err(KeyError::Format)
        ));
    }

    #[test]
    fn a_rotation_ring_opens_both_and_seals_with_the_new() {
        let (old, new) = (generate_key(), generate_key());
        let sealed_old = Keyring::from_keys(&old, &[]).expect("ring").seal("c", b"s");
        let ring = Keyring::from_keys(&new, &[&old]).expect("ring");
        assert_eq!(ring.open("c", &sealed_old).expect("old opens"), b"s");
        assert!(!ring.is_current(&sealed_old));
        assert!(ring.is_current(&ring.seal("c", b"s")));
    }

    #[test]
    fn the_key_file_is_created_once_with_mode_0600() {
        let dir = tempfile::tempdir().expect("dir");
        // The environment wins over the file; make sure it is not set here.
        if std::env::var_os(KEY_ENV).is_some() {
            return;
        }
        let a = Keyring::load(dir.path()).expect("create");
        let b = Keyring::load(dir.path()).expect("reuse");
        assert_eq!(a.key_id(), b.key_id());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        std::fs::write(dir.path().join(KEY_FILE), "short").expect("write");
        assert!(matches!(
            Keyring::load(dir.path()),
            Err(KeyError::Malformed { .. })
        ));
    }
}
