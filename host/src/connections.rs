//! How a connector block's `connection` reference becomes something the
//! host can authenticate with. The engine does not store connections: an
//! embedder (the server, or a program using this library) supplies a
//! [`ConnectionResolver`], which checks that the automation may use the
//! connection and returns its non-secret fields (they fill `{field}` host
//! placeholders and are visible to the connector) and a
//! [`CredentialSource`] (never visible to the connector: the host adds
//! what it yields to requests bound for the connector's allowed hosts).

use crate::credentials::CredentialSource;
use std::sync::Arc;

/// Which connection a block asks for, and on whose behalf.
#[derive(Debug, Clone, Copy)]
pub struct ConnectionRequest<'a> {
    pub connection_id: &'a str,
    /// The connector the block belongs to; a connection made for another
    /// connector must be refused.
    pub connector: &'a str,
    /// The automation's owner; a connection of another owner must be
    /// refused.
    pub owner: Option<&'a str>,
    pub automation_id: &'a str,
}

/// A usable connection.
#[derive(Clone)]
pub struct ResolvedConnection {
    /// Non-secret fields, e.g. `{"tenant": "acme"}`.
    pub fields: serde_json::Value,
    pub credentials: Arc<dyn CredentialSource>,
}

/// Why a connection cannot be used; the message names the connection and
/// what to do, and never holds a secret.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{message}")]
pub struct ConnectionRefused {
    pub message: String,
}

/// Supplied by the embedder: looks connections up and checks access.
pub trait ConnectionResolver: Send + Sync {
    fn resolve(
        &self,
        request: ConnectionRequest<'_>,
    ) -> Result<ResolvedConnection, ConnectionRefused>;
}
