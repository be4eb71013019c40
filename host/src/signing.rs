//! Signed components: how a connector's publisher vouches for a component
//! and how an operator checks it.
//!
//! A publisher holds an ed25519 key pair ([`KeyPair`], from
//! `weft connector keygen`). `weft connector sign` writes a [`Signature`]
//! beside the component (`FILE.wasm.sig`, JSON): it covers the SHA-256 of
//! the component's bytes *and* the connector id and version its manifest
//! declares, so a signature for `acme-tasks@1.0.0` cannot be replayed onto
//! other bytes nor reused to pass off a different version. An operator
//! lists the public keys it trusts under a publisher name ([`TrustedKeys`]);
//! [`TrustedKeys::verify`] answers which publisher signed, or why not.
//!
//! ed25519 comes from `ed25519-dalek` (RustCrypto's maintained
//! implementation); nothing here is hand-rolled cryptography.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

/// The format tag written into every signature file.
pub const FORMAT: &str = "weft-signature-v1";

/// A publisher's key pair as stored in a key file (keep it secret).
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyPair {
    /// The 32-byte ed25519 secret key, base64.
    pub secret_key: String,
    /// The matching public key, base64: what operators trust.
    pub public_key: String,
}

impl KeyPair {
    /// A new key pair from the operating system's random source.
    pub fn generate() -> Result<KeyPair, SigningError> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| SigningError::Random(e.to_string()))?;
        let key = SigningKey::from_bytes(&seed);
        Ok(KeyPair {
            secret_key: STANDARD.encode(key.to_bytes()),
            public_key: STANDARD.encode(key.verifying_key().to_bytes()),
        })
    }

    fn signing_key(&self) -> Result<SigningKey, SigningError> {
        let bytes: [u8; 32] = decode_fixed(&self.secret_key, "secret_key")?;
        let key = SigningKey::from_bytes(&bytes);
        if STANDARD.encode(key.verifying_key().to_bytes()) != self.public_key.trim() {
            return Err(SigningError::Malformed(
                "the key file's public_key does not belong to its secret_key".into(),
            ));
        }
        Ok(key)
    }

    /// Sign a component whose manifest says `connector`@`version`.
    pub fn sign(
        &self,
        component: &[u8],
        connector: &str,
        version: &str,
    ) -> Result<Signature, SigningError> {
        let key = self.signing_key()?;
        let sha256 = hex::encode(Sha256::digest(component));
        let signature = key.sign(&message(&sha256, connector, version));
        Ok(Signature {
            format: FORMAT.to_string(),
            sha256,
            connector: connector.to_string(),
            version: version.to_string(),
            public_key: self.public_key.trim().to_string(),
            signature: STANDARD.encode(signature.to_bytes()),
        })
    }
}

/// A detached signature (`FILE.wasm.sig`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Signature {
    pub format: String,
    /// SHA-256 of the component, hex.
    pub sha256: String,
    /// The manifest's connector id and version, as signed.
    pub connector: String,
    pub version: String,
    /// The signer's public key, base64 (which trusted key to check).
    pub public_key: String,
    /// The ed25519 signature, base64.
    pub signature: String,
}

/// Why a signature was not accepted.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum SigningError {
    #[error("malformed signature or key: {0}")]
    Malformed(String),
    #[error("the signature is for {signed}, but the component is {actual}; sign this build again")]
    Mismatch { signed: String, actual: String },
    #[error("the signature does not verify: the component or its signature was changed")]
    Invalid,
    #[error(
        "the component is signed by a key this server does not trust ({public_key}); an operator can trust it with --trusted-key NAME={public_key}"
    )]
    Untrusted { public_key: String },
    #[error("cannot get random bytes for a key: {0}")]
    Random(String),
}

/// The bytes that are signed: a domain tag, then the three facts, so no
/// signature made for another purpose or another component can pass.
fn message(sha256: &str, connector: &str, version: &str) -> Vec<u8> {
    format!("{FORMAT}\n{sha256}\n{connector}\n{version}\n").into_bytes()
}

fn decode_fixed<const N: usize>(text: &str, what: &str) -> Result<[u8; N], SigningError> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|e| SigningError::Malformed(format!("{what}: not base64: {e}")))?;
    bytes
        .try_into()
        .map_err(|_| SigningError::Malformed(format!("{what}: expected {N} bytes")))
}

/// A public key an operator trusts, under the publisher name it shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrustedKey {
    pub publisher: String,
    key: VerifyingKey,
    encoded: String,
}

impl TrustedKey {
    /// Parse `NAME=BASE64KEY`, as given to `--trusted-key`.
    pub fn parse(text: &str) -> Result<TrustedKey, SigningError> {
        let (name, key) = text.split_once('=').ok_or_else(|| {
            SigningError::Malformed(format!(
                "{text:?}: expected NAME=PUBLIC_KEY (the public_key of `weft connector keygen`)"
            ))
        })?;
        let name = name.trim();
        if name.is_empty() {
            return Err(SigningError::Malformed(format!(
                "{text:?}: the publisher name is empty"
            )));
        }
        // base64's `=` padding follows the first `=`, so take the rest whole.
        let bytes: [u8; 32] = decode_fixed(key, "public key")?;
        let key = VerifyingKey::from_bytes(&bytes)
            .map_err(|e| SigningError::Malformed(format!("public key: {e}")))?;
        Ok(TrustedKey {
            publisher: name.to_string(),
            encoded: STANDARD.encode(key.to_bytes()),
            key,
        })
    }

    /// The key, base64, as `weft connector keygen` printed it.
    pub fn public_key(&self) -> &str {
        &self.encoded
    }
}

/// The publishers an operator trusts.
#[derive(Debug, Clone, Default)]
pub struct TrustedKeys(pub Vec<TrustedKey>);

impl TrustedKeys {
    /// Who signed `component`, which declares `connector`@`version`.
    pub fn verify(
        &self,
        component: &[u8],
        connector: &str,
        version: &str,
        signature: &Signature,
    ) -> Result<&TrustedKey, SigningError> {
        if signature.format != FORMAT {
            return Err(SigningError::Malformed(format!(
                "format {:?} is not {FORMAT:?}",
                signature.format
            )));
        }
        let sha256 = hex::encode(Sha256::digest(component));
        let actual = format!("{connector}@{version} with SHA-256 {sha256}");
        let signed = format!(
            "{}@{} with SHA-256 {}",
            signature.connector, signature.version, signature.sha256
        );
        if signed != actual {
            return Err(SigningError::Mismatch { signed, actual });
        }
        let trusted = self
            .0
            .iter()
            .find(|k| k.encoded == signature.public_key.trim())
            .ok_or_else(|| SigningError::Untrusted {
                public_key: signature.public_key.trim().to_string(),
            })?;
        let bytes: [u8; 64] = decode_fixed(&signature.signature, "signature")?;
        let sig = ed25519_dalek::Signature::from_bytes(&bytes);
        // Strict: refuses the weak and non-canonical encodings that plain
        // ed25519 verification lets through (signature malleability).
        trusted
            .key
            .verify_strict(&message(&sha256, connector, version), &sig)
            .map_err(|_| SigningError::Invalid)?;
        Ok(trusted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn trust(pair: &KeyPair) -> TrustedKeys {
        TrustedKeys(vec![
            TrustedKey::parse(&format!("acme={}", pair.public_key)).expect("parses"),
        ])
    }

    #[test]
    fn a_signature_verifies_only_for_its_bytes_id_version_and_key() {
        let pair = KeyPair::generate().expect("key");
        let sig = pair.sign(b"component", "tasks", "1.0.0").expect("signs");
        let keys = trust(&pair);
        let who = keys.verify(b"component", "tasks", "1.0.0", &sig);
        assert_eq!(who.map(|k| k.publisher.as_str()), Ok("acme"));
        assert!(matches!(
            keys.verify(b"componenT", "tasks", "1.0.0", &sig),
            Err(SigningError::Mismatch { .. })
        ));
        assert!(matches!(
            keys.verify(b"component", "tasks", "2.0.0", &sig),
            Err(SigningError::Mismatch { .. })
        ));
        let other = KeyPair::generate().expect("key");
        assert!(matches!(
            trust(&other).verify(b"component", "tasks", "1.0.0", &sig),
            Err(SigningError::Untrusted { .. })
        ));
        // A signature made by another key but claiming this one's name.
        let mut forged = other.sign(b"component", "tasks", "1.0.0").expect("signs");
        forged.public_key = pair.public_key.clone();
        assert_eq!(
            keys.verify(b"component", "tasks", "1.0.0", &forged),
            Err(SigningError::Invalid)
        );
    }

    #[test]
    fn trusted_keys_parse_name_equals_key() {
        let pair = KeyPair::generate().expect("key");
        assert!(TrustedKey::parse(&format!("acme={}", pair.public_key)).is_ok());
        assert!(TrustedKey::parse(&pair.public_key).is_err());
        assert!(TrustedKey::parse("acme=bm90IGEga2V5").is_err());
        assert!(TrustedKey::parse(&format!("={}", pair.public_key)).is_err());
    }
}
