//! Connections: how an owner's automations authenticate to a connector's
//! API. A connection holds non-secret settings (its auth kind, OAuth client
//! id and endpoints, fields such as a tenant that may fill a declared host
//! placeholder) in the clear, and its secret material — API key, token,
//! password, client secret, OAuth tokens — sealed with the server's key
//! ([`keyring`]). Secrets leave this module only as a
//! [`weft_host::credentials::Credential`] that the host adds to outgoing
//! requests; no view, log, export or error carries them.

pub mod keyring;
pub mod oauth;
pub mod source;

use keyring::{KeyError, Keyring};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::sync::Arc;
use weft_host::manifest::AuthKind;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ConnectionStatus {
    Ok,
    /// OAuth2: never authorized, or its refresh token stopped working.
    NeedsAuthorization,
    /// The access token expired and cannot be refreshed.
    Expired,
}

/// The non-secret half of a connection's auth: which kind, and the
/// endpoints and names needed to use it (copied from the connector's
/// manifest when the connection is made).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AuthSettings {
    ApiKey {
        /// `header` or `query`.
        location: String,
        name: String,
    },
    Bearer,
    Basic {
        username: String,
    },
    #[serde(rename = "oauth2-code")]
    OAuth2Code {
        client_id: String,
        authorize_url: String,
        token_url: String,
        scopes: Vec<String>,
    },
    #[serde(rename = "oauth2-client-credentials")]
    OAuth2ClientCredentials {
        client_id: String,
        token_url: String,
        scopes: Vec<String>,
    },
}

impl AuthSettings {
    /// The token endpoint of an OAuth2 kind.
    pub fn token_url(&self) -> Option<&str> {
        match self {
            AuthSettings::OAuth2Code { token_url, .. }
            | AuthSettings::OAuth2ClientCredentials { token_url, .. } => Some(token_url),
            _ => None,
        }
    }

    pub fn kind(&self) -> &'static str {
        match self {
            AuthSettings::ApiKey { .. } => "api-key",
            AuthSettings::Bearer => "bearer",
            AuthSettings::Basic { .. } => "basic",
            AuthSettings::OAuth2Code { .. } => "oauth2-code",
            AuthSettings::OAuth2ClientCredentials { .. } => "oauth2-client-credentials",
        }
    }
}

/// The secret half, sealed as one JSON document.
#[derive(Default, Serialize, Deserialize)]
pub struct SecretMaterial {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_secret: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_token: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refresh_token: Option<String>,
}

impl std::fmt::Debug for SecretMaterial {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretMaterial([redacted])")
    }
}

/// A stored connection.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Connection {
    pub id: String,
    pub owner: String,
    pub connector: String,
    pub name: String,
    pub auth: AuthSettings,
    /// Non-secret fields, e.g. `{"tenant": "acme"}`.
    #[serde(default)]
    pub fields: Value,
    /// [`SecretMaterial`] sealed with the server key.
    pub sealed: String,
    pub status: ConnectionStatus,
    /// Why the status is not ok, without secrets.
    #[serde(default)]
    pub status_reason: Option<String>,
    /// When the OAuth2 access token expires (ms since the epoch).
    #[serde(default)]
    pub expires_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
}

impl Connection {
    /// What the API shows: everything but the sealed secrets.
    pub fn view(&self) -> Value {
        json!({
            "id": self.id,
            "owner": self.owner,
            "connector": self.connector,
            "name": self.name,
            "auth_kind": self.auth.kind(),
            "auth": self.auth,
            "fields": self.fields,
            "status": self.status,
            "status_reason": self.status_reason,
            "expires_at": self.expires_at,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        })
    }

    /// What an admin sees of another user's connection.
    pub fn admin_view(&self) -> Value {
        json!({
            "id": self.id,
            "owner": self.owner,
            "connector": self.connector,
            "name": self.name,
            "auth_kind": self.auth.kind(),
            "status": self.status,
            "expires_at": self.expires_at,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("store: {0}")]
    Store(#[from] crate::kv::KvError),
    #[error("connection {id}: {source}")]
    Key {
        id: String,
        #[source]
        source: KeyError,
    },
    #[error("connection {0} is corrupt in the store")]
    Corrupt(String),
    #[error("connection {0} was changed or deleted at the same time; try again")]
    Changed(String),
}

/// The connections tree and the key its secrets are sealed with.
#[derive(Clone)]
pub struct Connections {
    tree: crate::kv::Tree,
    keyring: Arc<Keyring>,
}

impl Connections {
    pub fn open(db: &crate::kv::Tables, keyring: Arc<Keyring>) -> Result<Self, crate::kv::KvError> {
        Ok(Connections {
            tree: db.open_tree("connections")?,
            keyring,
        })
    }

    pub fn get(&self, id: &str) -> Result<Option<Connection>, ConnectionError> {
        match self.tree.get(id.as_bytes())? {
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| ConnectionError::Corrupt(id.into())),
            None => Ok(None),
        }
    }

    pub fn list(&self) -> Result<Vec<Connection>, ConnectionError> {
        self.tree
            .iter()
            .map(|item| {
                let (k, v) = item?;
                serde_json::from_slice(&v)
                    .map_err(|_| ConnectionError::Corrupt(String::from_utf8_lossy(&k).into()))
            })
            .collect()
    }

    /// Replace `old` with `new` only if the stored record is still `old`
    /// (not changed or deleted meanwhile, e.g. by a PATCH or a delete
    /// during a token refresh). Flushed. Returns whether it was written.
    pub fn replace(&self, old: &Connection, new: &Connection) -> Result<bool, ConnectionError> {
        let encode = |c: &Connection| {
            serde_json::to_vec(c).map_err(|_| ConnectionError::Corrupt(c.id.clone()))
        };
        let swapped = self
            .tree
            .compare_and_swap(old.id.as_bytes(), Some(encode(old)?), Some(encode(new)?))?
            .is_ok();
        self.tree.flush()?;
        Ok(swapped)
    }

    /// Insert or replace, flushed: a token exchange must not be lost.
    pub fn put(&self, connection: &Connection) -> Result<(), ConnectionError> {
        let bytes = serde_json::to_vec(connection)
            .map_err(|_| ConnectionError::Corrupt(connection.id.clone()))?;
        self.tree.insert(connection.id.as_bytes(), bytes)?;
        self.tree.flush()?;
        Ok(())
    }

    pub fn delete(&self, id: &str) -> Result<bool, ConnectionError> {
        let existed = self.tree.remove(id.as_bytes())?.is_some();
        self.tree.flush()?;
        Ok(existed)
    }

    /// The key secrets are sealed with (webhook signing secrets use it too).
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    /// The key, shared (the engine seals resumable runs' outputs with it).
    pub fn shared_keyring(&self) -> Arc<Keyring> {
        self.keyring.clone()
    }

    /// Seal `secrets` for the connection `id`.
    pub fn seal(&self, id: &str, secrets: &SecretMaterial) -> String {
        let plain = serde_json::to_vec(secrets).unwrap_or_default();
        self.keyring.seal(id, &plain)
    }

    /// Open a connection's secrets.
    pub fn open_secrets(&self, c: &Connection) -> Result<SecretMaterial, ConnectionError> {
        let plain = self
            .keyring
            .open(&c.id, &c.sealed)
            .map_err(|source| ConnectionError::Key {
                id: c.id.clone(),
                source,
            })?;
        serde_json::from_slice(&plain).map_err(|_| ConnectionError::Corrupt(c.id.clone()))
    }

    /// Re-seal every connection with `new` (which must also hold the
    /// current key). Values already sealed with the new key are skipped,
    /// so an interrupted rotation can run again. Returns how many changed.
    pub fn reseal_all(&self, new: &Keyring) -> Result<usize, ConnectionError> {
        let mut changed = 0;
        for mut c in self.list()? {
            if new.is_current(&c.sealed) {
                continue;
            }
            let plain = new
                .open(&c.id, &c.sealed)
                .map_err(|source| ConnectionError::Key {
                    id: c.id.clone(),
                    source,
                })?;
            c.sealed = new.seal(&c.id, &plain);
            self.put(&c)?;
            changed += 1;
        }
        Ok(changed)
    }
}

/// The auth kind the connector declares with this name, if any.
pub fn declared<'a>(kinds: &'a [AuthKind], kind: &str) -> Option<&'a AuthKind> {
    kinds.iter().find(|k| {
        matches!(
            (k, kind),
            (AuthKind::ApiKey { .. }, "api-key")
                | (AuthKind::Bearer, "bearer")
                | (AuthKind::Basic, "basic")
                | (AuthKind::OAuth2Code { .. }, "oauth2-code")
                | (
                    AuthKind::OAuth2ClientCredentials { .. },
                    "oauth2-client-credentials"
                )
        )
    })
}
