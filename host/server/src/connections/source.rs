//! Connections at run time: the [`ConnectionResolver`] the engine asks when
//! a connector block names a connection (owner, connector and status
//! checked), and the [`CredentialSource`] that turns a stored connection
//! into a credential — refreshing OAuth2 tokens shortly before they expire
//! and once after a 401, one refresh at a time per connection, and marking
//! the connection "needs authorization" when the provider refuses.

use super::oauth::{self, TokenHttp};
use super::{AuthSettings, Connection, ConnectionStatus, Connections, SecretMaterial};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};
use weft_host::connections::{
    ConnectionRefused, ConnectionRequest, ConnectionResolver, ResolvedConnection,
};
use weft_host::credentials::{
    Credential, CredentialError, CredentialFuture, CredentialSource, Secret,
};

/// Refresh an access token this long before it expires.
const REFRESH_MARGIN_MS: i64 = 60_000;

/// Connections plus what using them needs.
pub struct ConnectionService {
    pub connections: Connections,
    /// The engine, for its operator routes and the connectors' grants
    /// (set once the engine exists; weak, as the engine holds us).
    weft: OnceLock<weft_host::WeakWeft>,
    http: OnceLock<TokenHttp>,
    /// One refresh at a time per connection.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
}

impl ConnectionService {
    pub fn new(connections: Connections) -> Arc<Self> {
        Arc::new(ConnectionService {
            connections,
            weft: OnceLock::new(),
            http: OnceLock::new(),
            locks: Mutex::new(HashMap::new()),
        })
    }

    /// Attach the engine: token requests follow its operator routes and
    /// must stay within the connector's declared and granted hosts.
    pub fn attach(&self, weft: &weft_host::Weft) {
        let _ = self.weft.set(weft.downgrade());
    }

    /// The client for token requests to `token_url` on behalf of
    /// `connector`, if the connector may reach it.
    pub fn token_http(&self, connector: &str, token_url: &str) -> Result<&TokenHttp, String> {
        let weft = self.weft.get().and_then(|w| w.upgrade());
        let url = url::Url::parse(token_url)
            .map_err(|e| format!("the token URL {token_url:?} is not a URL: {e}"))?;
        let allowed = weft
            .as_ref()
            .and_then(|w| w.connector(connector))
            .is_some_and(|c| c.may_reach(&url));
        if !allowed {
            return Err(format!(
                "the token URL {token_url} is not an https URL on a host connector {connector:?} declared and the operator granted; grant it (e.g. --allow {connector}=https://{}) or fix the connector",
                url.host_str().unwrap_or("HOST")
            ));
        }
        if let Some(http) = self.http.get() {
            return Ok(http);
        }
        let runtime = weft.map(|w| w.runtime().clone());
        let http = TokenHttp::new(Arc::new(move |url: &url::Url| match &runtime {
            Some(rt) => rt.routed_url(url),
            None => url.clone(),
        }))?;
        Ok(self.http.get_or_init(|| http))
    }

    /// The resolver to give the engine.
    pub fn resolver(self: &Arc<Self>) -> Arc<dyn ConnectionResolver> {
        Arc::new(Resolver(self.clone()))
    }

    fn lock_for(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.locks.lock().unwrap_or_else(|p| p.into_inner());
        locks.entry(id.to_string()).or_default().clone()
    }

    /// Store fresh tokens on the connection and mark it ok.
    pub fn store_tokens(
        &self,
        mut c: Connection,
        mut secrets: SecretMaterial,
        tokens: oauth::Tokens,
    ) -> Result<Connection, super::ConnectionError> {
        let old = c.clone();
        secrets.access_token = Some(tokens.access_token);
        if tokens.refresh_token.is_some() {
            secrets.refresh_token = tokens.refresh_token;
        }
        c.sealed = self.connections.seal(&c.id, &secrets);
        c.expires_at = tokens
            .expires_in
            .map(|d| crate::now_ms() + i64::try_from(d.as_millis()).unwrap_or(i64::MAX / 2));
        c.status = ConnectionStatus::Ok;
        c.status_reason = None;
        c.updated_at = crate::now_ms();
        // Deleted or changed (a PATCH, a new authorization) meanwhile: the
        // newer state wins and these tokens are dropped.
        if !self.connections.replace(&old, &c)? {
            return Err(super::ConnectionError::Changed(c.id));
        }
        Ok(c)
    }

    /// Record a failure, unless the connection changed meanwhile (a fresh
    /// authorization must not be overwritten by a stale refresh's failure).
    fn mark(&self, c: Connection, status: ConnectionStatus, reason: &str) {
        let mut next = c.clone();
        next.status = status;
        next.status_reason = Some(reason.to_string());
        next.updated_at = crate::now_ms();
        if let Err(e) = self.connections.replace(&c, &next) {
            tracing::error!(connection = %c.id, "cannot record connection status: {e}");
        }
    }

    /// Forget per-connection state of a deleted connection.
    pub fn forget(&self, id: &str) {
        self.locks
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(id);
    }

    /// A valid OAuth2 access token: the stored one unless `force` or it is
    /// about to expire; `rejected` is the token a 401 came back for (if
    /// another task already replaced it, that replacement is used).
    async fn access_token(
        &self,
        id: &str,
        force: bool,
        rejected: Option<&str>,
    ) -> Result<String, CredentialError> {
        let lock = self.lock_for(id);
        let _guard = lock.lock().await;
        let c = self.load(id)?;
        let secrets = self.secrets(&c)?;
        let fresh = c
            .expires_at
            .is_none_or(|at| at - crate::now_ms() > REFRESH_MARGIN_MS);
        if let Some(access) = &secrets.access_token {
            let replaced = rejected.is_some_and(|r| r != access);
            if replaced || (!force && fresh) {
                return Ok(access.clone());
            }
        }
        let client_secret = secrets.client_secret.clone();
        let Some(token_url) = c.auth.token_url() else {
            return Err(CredentialError::unavailable("not an OAuth2 connection"));
        };
        let http = self
            .token_http(&c.connector, token_url)
            .map_err(|e| CredentialError::unavailable(format!("connection {id}: {e}")))?;
        let result = match &c.auth {
            AuthSettings::OAuth2Code {
                client_id,
                token_url,
                ..
            } => {
                let Some(refresh) = secrets.refresh_token.clone() else {
                    let reason = "the access token expired and there is no refresh token";
                    self.mark(c.clone(), ConnectionStatus::NeedsAuthorization, reason);
                    return Err(needs_authorization(id, reason));
                };
                oauth::refresh(
                    http,
                    client_id,
                    client_secret.as_deref(),
                    token_url,
                    &refresh,
                )
                .await
            }
            AuthSettings::OAuth2ClientCredentials {
                client_id,
                token_url,
                scopes,
            } => {
                oauth::client_credentials(
                    http,
                    client_id,
                    client_secret.as_deref(),
                    token_url,
                    scopes,
                )
                .await
            }
            _ => return Err(CredentialError::unavailable("not an OAuth2 connection")),
        };
        match result {
            Ok(tokens) => {
                let access = tokens.access_token.clone();
                self.store_tokens(c, secrets, tokens)
                    .map_err(|e| CredentialError::unavailable(e.to_string()))?;
                tracing::info!(connection = id, "OAuth2 token refreshed");
                Ok(access)
            }
            Err(e) if e.rejected => {
                self.mark(c, ConnectionStatus::NeedsAuthorization, &e.message);
                Err(needs_authorization(id, &e.message))
            }
            Err(e) => Err(CredentialError::unavailable(format!(
                "connection {id}: {}",
                e.message
            ))),
        }
    }

    fn load(&self, id: &str) -> Result<Connection, CredentialError> {
        self.connections
            .get(id)
            .map_err(|e| CredentialError::unavailable(e.to_string()))?
            .ok_or_else(|| CredentialError::unavailable(format!("connection {id} was deleted")))
    }

    fn secrets(&self, c: &Connection) -> Result<SecretMaterial, CredentialError> {
        self.connections
            .open_secrets(c)
            .map_err(|e| CredentialError::unavailable(e.to_string()))
    }

    async fn credential(&self, id: &str) -> Result<Credential, CredentialError> {
        let c = self.load(id)?;
        if c.status == ConnectionStatus::NeedsAuthorization {
            return Err(needs_authorization(
                id,
                c.status_reason
                    .as_deref()
                    .unwrap_or("it was never authorized"),
            ));
        }
        let secrets = self.secrets(&c)?;
        let missing = |what: &str| {
            CredentialError::unavailable(format!(
                "connection {id} has no {what}; set it with PATCH"
            ))
        };
        Ok(match &c.auth {
            AuthSettings::ApiKey { location, name } => {
                let value = Secret::new(secrets.api_key.ok_or_else(|| missing("API key"))?);
                if location == "query" {
                    Credential::ApiKeyQuery {
                        name: name.clone(),
                        value,
                    }
                } else {
                    Credential::ApiKeyHeader {
                        name: name.clone(),
                        value,
                    }
                }
            }
            AuthSettings::Bearer => {
                Credential::Bearer(Secret::new(secrets.token.ok_or_else(|| missing("token"))?))
            }
            AuthSettings::Basic { username } => Credential::Basic {
                username: username.clone(),
                password: Secret::new(secrets.password.ok_or_else(|| missing("password"))?),
            },
            AuthSettings::OAuth2Code { .. } | AuthSettings::OAuth2ClientCredentials { .. } => {
                Credential::Bearer(Secret::new(self.access_token(id, false, None).await?))
            }
        })
    }
}

fn needs_authorization(id: &str, reason: &str) -> CredentialError {
    CredentialError::needs_authorization(format!(
        "connection {id} needs authorization ({reason}); its owner can reconnect it with POST /api/v1/connections/{id}/actions/authorize"
    ))
}

struct Resolver(Arc<ConnectionService>);

impl ConnectionResolver for Resolver {
    fn resolve(
        &self,
        request: ConnectionRequest<'_>,
    ) -> Result<ResolvedConnection, ConnectionRefused> {
        let id = request.connection_id;
        let refused = |message: String| ConnectionRefused { message };
        let c = self
            .0
            .connections
            .get(id)
            .map_err(|e| refused(format!("connection {id}: {e}")))?
            .ok_or_else(|| {
                refused(format!(
                    "connection {id:?} does not exist; create it with POST /api/v1/connections"
                ))
            })?;
        if request.owner != Some(c.owner.as_str()) {
            return Err(refused(format!(
                "connection {id:?} belongs to another user; an automation can use only its owner's connections"
            )));
        }
        if c.connector != request.connector {
            return Err(refused(format!(
                "connection {id:?} is for connector {:?}, not {:?}",
                c.connector, request.connector
            )));
        }
        Ok(ResolvedConnection {
            fields: c.fields.clone(),
            credentials: Arc::new(ConnectionCredentials {
                service: self.0.clone(),
                id: id.to_string(),
                last: Mutex::new(None),
            }),
        })
    }
}

/// The credential source for one connection in one invocation.
struct ConnectionCredentials {
    service: Arc<ConnectionService>,
    id: String,
    /// The access token handed out last, to tell a stale 401 from a fresh one.
    last: Mutex<Option<String>>,
}

impl CredentialSource for ConnectionCredentials {
    fn current(&self) -> CredentialFuture<'_, Result<Credential, CredentialError>> {
        Box::pin(async move {
            let credential = self.service.credential(&self.id).await?;
            if let Credential::Bearer(token) = &credential {
                *self.last.lock().unwrap_or_else(|p| p.into_inner()) =
                    Some(token.expose().to_string());
            }
            Ok(credential)
        })
    }

    fn refresh_after_unauthorized(
        &self,
    ) -> CredentialFuture<'_, Result<Option<Credential>, CredentialError>> {
        Box::pin(async move {
            let c = self.service.load(&self.id)?;
            if !matches!(
                c.auth,
                AuthSettings::OAuth2Code { .. } | AuthSettings::OAuth2ClientCredentials { .. }
            ) {
                return Ok(None);
            }
            let rejected = self.last.lock().unwrap_or_else(|p| p.into_inner()).clone();
            let token = self
                .service
                .access_token(&self.id, true, rejected.as_deref())
                .await?;
            Ok(Some(Credential::Bearer(Secret::new(token))))
        })
    }
}
