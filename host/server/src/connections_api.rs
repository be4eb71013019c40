//! `/api/v1/connections` and `/oauth/callback`. Owners create, change,
//! authorize and delete their connections; admins list every connection
//! and may delete any, but see no one else's settings beyond name,
//! connector, kind and status — and nobody, owner included, ever gets a
//! secret back.

use crate::AppState;
use crate::api::{Caller, JsonBody};
use crate::connections::oauth::{self, PENDING_TTL_MS, Pending};
use crate::connections::{
    AuthSettings, Connection, ConnectionError, ConnectionStatus, SecretMaterial, declared,
};
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use serde::Deserialize;
use serde_json::{Value, json};
use std::sync::Arc;
use weft_host::manifest::{AuthKind, KeyLocation};

impl From<ConnectionError> for ApiError {
    fn from(e: ConnectionError) -> Self {
        match e {
            ConnectionError::Changed(_) => {
                ApiError::new(StatusCode::CONFLICT, "version_conflict", e.to_string())
            }
            e => ApiError::internal(e),
        }
    }
}

/// The `auth` object of a create or update request.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AuthInput {
    kind: String,
    #[serde(default, deserialize_with = "crate::api::not_null")]
    key: Option<String>,
    #[serde(default, deserialize_with = "crate::api::not_null")]
    token: Option<String>,
    #[serde(default, deserialize_with = "crate::api::not_null")]
    username: Option<String>,
    #[serde(default, deserialize_with = "crate::api::not_null")]
    password: Option<String>,
    #[serde(default, deserialize_with = "crate::api::not_null")]
    client_id: Option<String>,
    #[serde(default, deserialize_with = "crate::api::not_null")]
    client_secret: Option<String>,
}

/// Deserialize `T` only from a JSON object: serde's derived structs also
/// take an array of their fields in order, which the document does not
/// allow and no client means.
fn object_only<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    let value = <Value as Deserialize>::deserialize(d)?;
    if !value.is_object() {
        return Err(serde::de::Error::custom("expected an object"));
    }
    serde_json::from_value(value).map_err(serde::de::Error::custom)
}

/// [`object_only`] for an optional field.
fn optional_object<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: serde::de::DeserializeOwned,
{
    object_only(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateBody {
    connector: String,
    name: String,
    #[serde(deserialize_with = "object_only")]
    auth: AuthInput,
    #[serde(default, deserialize_with = "crate::api::not_null")]
    fields: Option<Value>,
}

fn required(value: Option<String>, field: &str, kind: &str) -> Result<String, ApiError> {
    value
        .filter(|v| !v.is_empty())
        .ok_or_else(|| ApiError::bad_request(format!("auth.{field}: required for kind {kind}")))
}

/// Settings from the connector's declaration, secrets from the request.
fn auth_parts(
    declared_kind: &AuthKind,
    input: AuthInput,
) -> Result<(AuthSettings, SecretMaterial, ConnectionStatus), ApiError> {
    let kind = input.kind.clone();
    // A field that is sent is sent with a value, also the ones a kind
    // leaves optional: an empty client secret is a mistake, not "none".
    for (field, value) in [
        ("key", &input.key),
        ("token", &input.token),
        ("username", &input.username),
        ("password", &input.password),
        ("client_id", &input.client_id),
        ("client_secret", &input.client_secret),
    ] {
        if value.as_deref().is_some_and(str::is_empty) {
            return Err(ApiError::bad_request(format!(
                "auth.{field}: empty; leave it out or give a value"
            ))
            .details(json!({"field": format!("auth.{field}")})));
        }
    }
    let mut secrets = SecretMaterial::default();
    let settings = match declared_kind {
        AuthKind::ApiKey { location, name } => {
            secrets.api_key = Some(required(input.key, "key", &kind)?);
            AuthSettings::ApiKey {
                location: match location {
                    KeyLocation::Header => "header".into(),
                    KeyLocation::Query => "query".into(),
                },
                name: name.clone(),
            }
        }
        AuthKind::Bearer => {
            secrets.token = Some(required(input.token, "token", &kind)?);
            AuthSettings::Bearer
        }
        AuthKind::Basic => {
            secrets.password = Some(required(input.password, "password", &kind)?);
            AuthSettings::Basic {
                username: required(input.username, "username", &kind)?,
            }
        }
        AuthKind::OAuth2Code {
            authorize_url,
            token_url,
            scopes,
        } => {
            secrets.client_secret = input.client_secret;
            AuthSettings::OAuth2Code {
                client_id: required(input.client_id, "client_id", &kind)?,
                authorize_url: authorize_url.clone(),
                token_url: token_url.clone(),
                scopes: scopes.clone(),
            }
        }
        AuthKind::OAuth2ClientCredentials { token_url, scopes } => {
            secrets.client_secret = Some(required(input.client_secret, "client_secret", &kind)?);
            AuthSettings::OAuth2ClientCredentials {
                client_id: required(input.client_id, "client_id", &kind)?,
                token_url: token_url.clone(),
                scopes: scopes.clone(),
            }
        }
        AuthKind::None => {
            return Err(invalid_connection(
                "auth.kind",
                "this connector needs no connection".into(),
            ));
        }
    };
    let status = if matches!(settings, AuthSettings::OAuth2Code { .. }) {
        ConnectionStatus::NeedsAuthorization
    } else {
        ConnectionStatus::Ok
    };
    Ok((settings, secrets, status))
}

fn check_fields(fields: &Value) -> Result<(), ApiError> {
    match fields {
        Value::Object(map)
            if map
                .values()
                .all(|v| v.is_string() || v.is_number() || v.is_boolean()) =>
        {
            Ok(())
        }
        _ => Err(ApiError::bad_request(
            "fields: an object of plain values (e.g. {\"tenant\": \"acme\"}); secrets belong in auth",
        )),
    }
}

/// A well-formed connection request that does not fit this server's
/// connectors (422, as a document that does not fit its blocks is): which
/// connectors are installed and which auth kinds each declares is the
/// server's configuration, which no request schema can know.
fn invalid_connection(field: &str, message: String) -> ApiError {
    ApiError::new(
        StatusCode::UNPROCESSABLE_ENTITY,
        "invalid_connection",
        format!("{field}: {message}"),
    )
    .details(json!({"field": field}))
}

/// A connection's name is for people: no control characters, and at least
/// one character that is not white space. (openapi.json spells the same
/// rule as a pattern.)
fn check_name(name: &str) -> Result<(), ApiError> {
    if name.chars().any(char::is_control) || name.chars().all(char::is_whitespace) {
        return Err(ApiError::bad_request(
            "name: required, with something besides white space and no control characters",
        )
        .details(json!({"field": "name"})));
    }
    Ok(())
}

fn declared_kind(state: &AppState, connector: &str, kind: &str) -> Result<AuthKind, ApiError> {
    let c = state.weft.connector(connector).ok_or_else(|| {
        invalid_connection(
            "connector",
            format!("no connector {connector:?} is installed"),
        )
    })?;
    let kinds = &c.manifest().auth;
    declared(kinds, kind).cloned().ok_or_else(|| {
        let names: Vec<String> = kinds
            .iter()
            .map(|k| {
                serde_json::to_value(k)
                    .ok()
                    .and_then(|v| v["kind"].as_str().map(str::to_string))
                    .unwrap_or_default()
            })
            .collect();
        invalid_connection(
            "auth.kind",
            format!(
                "connector {connector:?} does not declare {kind:?}; it declares {}",
                names.join(", ")
            ),
        )
    })
}

pub async fn create(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    JsonBody(body): JsonBody<CreateBody>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    check_name(&body.name)?;
    let fields = body.fields.unwrap_or_else(|| json!({}));
    check_fields(&fields)?;
    let kind = declared_kind(&state, &body.connector, &body.auth.kind)?;
    let (auth, secrets, status) = auth_parts(&kind, body.auth)?;
    let id = format!("conn_{}", uuid::Uuid::now_v7().simple());
    let now = crate::now_ms();
    let connection = Connection {
        sealed: state.connections.connections.seal(&id, &secrets),
        id,
        owner: caller.0.name.clone(),
        connector: body.connector,
        name: body.name,
        auth,
        fields,
        status,
        status_reason: (status == ConnectionStatus::NeedsAuthorization)
            .then(|| "not authorized yet".to_string()),
        expires_at: None,
        created_at: now,
        updated_at: now,
    };
    state.connections.connections.put(&connection)?;
    Ok((StatusCode::CREATED, Json(connection.view())))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    #[serde(default)]
    connector: Option<String>,
    #[serde(default)]
    limit: Option<usize>,
    #[serde(default)]
    cursor: Option<String>,
}

/// `GET /api/v1/connections`: oldest first (ids are time-ordered), in
/// pages; the cursor is the last id answered.
pub async fn list(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, ApiError> {
    let limit = crate::paging::limit(q.limit)?;
    let connector = crate::paging::filter("connector", q.connector)?;
    let after: Option<String> = q.cursor.as_deref().map(crate::paging::decode).transpose()?;
    let mut visible: Vec<Connection> = state
        .connections
        .connections
        .list()?
        .into_iter()
        .filter(|c| c.owner == caller.0.name || caller.is_admin())
        .filter(|c| connector.as_deref().is_none_or(|k| c.connector == k))
        .filter(|c| after.as_deref().is_none_or(|a| c.id.as_str() > a))
        .collect();
    visible.sort_by(|a, b| a.id.cmp(&b.id));
    let more = visible.len() > limit;
    visible.truncate(limit);
    let next_cursor = more
        .then(|| visible.last().map(|c| crate::paging::encode(&c.id)))
        .flatten();
    let items: Vec<Value> = visible
        .iter()
        .map(|c| {
            if c.owner == caller.0.name {
                c.view()
            } else {
                c.admin_view()
            }
        })
        .collect();
    Ok(Json(
        json!({ "items": items, "limit": limit, "next_cursor": next_cursor }),
    ))
}

/// The caller's own connection (others get 404, existence does not leak).
fn own(state: &AppState, caller: &Caller, id: &str) -> Result<Connection, ApiError> {
    match state.connections.connections.get(id)? {
        Some(c) if c.owner == caller.0.name => Ok(c),
        _ => Err(ApiError::not_found(&format!("connection {id:?}"))),
    }
}

pub async fn get(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    match state.connections.connections.get(&id)? {
        Some(c) if c.owner == caller.0.name => Ok(Json(c.view())),
        Some(c) if caller.is_admin() => Ok(Json(c.admin_view())),
        _ => Err(ApiError::not_found(&format!("connection {id:?}"))),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UpdateBody {
    #[serde(default, deserialize_with = "crate::api::not_null")]
    name: Option<String>,
    #[serde(default, deserialize_with = "crate::api::not_null")]
    fields: Option<Value>,
    /// New secrets of the same kind (e.g. a rotated API key).
    #[serde(default, deserialize_with = "optional_object")]
    auth: Option<AuthInput>,
}

pub async fn update(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<UpdateBody>,
) -> Result<Json<Value>, ApiError> {
    let mut c = own(&state, &caller, &id)?;
    if let Some(name) = body.name {
        check_name(&name)?;
        c.name = name;
    }
    if let Some(fields) = body.fields {
        check_fields(&fields)?;
        c.fields = fields;
    }
    if let Some(input) = body.auth {
        if input.kind != c.auth.kind() {
            return Err(invalid_connection(
                "auth.kind",
                format!(
                    "this connection uses {}; make a new connection to change the kind",
                    c.auth.kind()
                ),
            ));
        }
        let kind = declared_kind(&state, &c.connector, &input.kind)?;
        let (auth, secrets, status) = auth_parts(&kind, input)?;
        c.auth = auth;
        c.sealed = state.connections.connections.seal(&c.id, &secrets);
        c.status = status;
        c.status_reason = None;
        c.expires_at = None;
    }
    c.updated_at = crate::now_ms();
    state.connections.connections.put(&c)?;
    Ok(Json(c.view()))
}

pub async fn delete(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<StatusCode, ApiError> {
    match state.connections.connections.get(&id)? {
        Some(c) if c.owner == caller.0.name || caller.is_admin() => {
            state.connections.connections.delete(&id)?;
            state.connections.forget(&id);
            Ok(StatusCode::NO_CONTENT)
        }
        _ => Err(ApiError::not_found(&format!("connection {id:?}"))),
    }
}

/// Start the OAuth2 authorization-code flow: answers with the URL to open.
pub async fn authorize(
    State(state): State<Arc<AppState>>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Value>, ApiError> {
    let c = own(&state, &caller, &id)?;
    let AuthSettings::OAuth2Code {
        client_id,
        authorize_url,
        token_url,
        scopes,
    } = &c.auth
    else {
        return Err(ApiError::bad_request(format!(
            "connection {id:?} uses {}; only oauth2-code connections are authorized in a browser",
            c.auth.kind()
        )));
    };
    // Fail now rather than after the browser round trip.
    state
        .connections
        .token_http(&c.connector, token_url)
        .map_err(ApiError::bad_request)?;
    if !authorize_url.starts_with("https://") {
        return Err(ApiError::bad_request(format!(
            "connector {:?} declares a non-https authorize URL; refusing to send users there",
            c.connector
        )));
    }
    forget_expired_authorizations(&state);
    let redirect_uri = format!("{}/oauth/callback", state.public_url());
    let (url, csrf_state, verifier) =
        oauth::authorize_url(client_id, authorize_url, token_url, scopes, &redirect_uri)
            .map_err(|e| ApiError::internal(format!("the connector's OAuth2 URLs: {e}")))?;
    let pending = Pending {
        connection_id: c.id.clone(),
        verifier,
        redirect_uri,
        created_at: crate::now_ms(),
    };
    state.oauth_pending.insert(
        csrf_state.as_bytes(),
        serde_json::to_vec(&pending).map_err(ApiError::internal)?,
    )?;
    Ok(Json(json!({
        "authorize_url": url,
        "expires_in": PENDING_TTL_MS / 1000,
    })))
}

/// Drop authorizations whose callback never came, so abandoned attempts do
/// not pile up in the store.
fn forget_expired_authorizations(state: &AppState) {
    let now = crate::now_ms();
    for (key, value) in state.oauth_pending.iter().flatten() {
        let live = serde_json::from_slice::<Pending>(&value)
            .is_ok_and(|p| now - p.created_at <= PENDING_TTL_MS);
        if !live {
            let _ = state.oauth_pending.remove(key);
        }
    }
}

#[derive(Deserialize)]
pub struct CallbackQuery {
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    state: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

/// `GET /oauth/callback`: where the provider sends the browser back. The
/// state must match an authorization started here (once, within 10
/// minutes); the code is exchanged with its PKCE verifier.
pub async fn callback(
    State(state): State<Arc<AppState>>,
    headers: axum::http::HeaderMap,
    Query(q): Query<CallbackQuery>,
) -> axum::response::Response {
    use axum::response::IntoResponse;
    let result = finish_authorization(&state, q).await;
    // A browser (the console's authorize window) goes back to the
    // console's connections page, which says how it went; API clients
    // get the JSON answer.
    let browser = headers
        .get(axum::http::header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"));
    if !browser {
        return result.into_response();
    }
    let query = match &result {
        Ok(Json(answer)) => format!(
            "authorized={}",
            url::form_urlencoded::byte_serialize(
                answer["connection"]["id"]
                    .as_str()
                    .unwrap_or_default()
                    .as_bytes()
            )
            .collect::<String>()
        ),
        Err(e) => format!(
            "oauth_error={}",
            url::form_urlencoded::byte_serialize(e.message.as_bytes()).collect::<String>()
        ),
    };
    axum::response::Redirect::to(&format!("/connections?{query}")).into_response()
}

/// Check the callback and exchange its code for tokens.
async fn finish_authorization(state: &AppState, q: CallbackQuery) -> Result<Json<Value>, ApiError> {
    // The shape of the callback is checked before its state is used up,
    // so a malformed request cannot spend an authorization in progress.
    for (field, value) in [("state", &q.state), ("code", &q.code), ("error", &q.error)] {
        if value.as_deref().is_some_and(str::is_empty) {
            return Err(ApiError::bad_request(format!(
                "{field}: empty; the provider sends a non-empty value or leaves the parameter out"
            ))
            .details(json!({"field": field})));
        }
    }
    let Some(csrf) = q.state else {
        return Err(ApiError::bad_request(
            "state: missing from the callback; it must carry the state of the authorize URL",
        )
        .details(json!({"field": "state"})));
    };
    let state_invalid = || {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "oauth_state_invalid",
            "this authorization is unknown, used or expired; start again with POST /api/v1/connections/{id}/actions/authorize",
        )
    };
    // An unknown state is answered as such whatever else the request
    // says: the rest only means something for an authorization in
    // progress.
    let live = |bytes: &[u8]| -> Option<Pending> {
        serde_json::from_slice::<Pending>(bytes)
            .ok()
            .filter(|p| crate::now_ms() - p.created_at <= PENDING_TTL_MS)
    };
    if state
        .oauth_pending
        .get(csrf.as_bytes())?
        .and_then(|b| live(&b))
        .is_none()
    {
        return Err(state_invalid());
    }
    // RFC 6749 §4.1.2: the provider answers with a code, or with an error.
    let answer = match (q.error, q.code) {
        (Some(error), _) => Err(error),
        (None, Some(code)) => Ok(code),
        (None, None) => {
            return Err(ApiError::bad_request(
                "code: missing from the callback, and no error either",
            )
            .details(json!({"field": "code"})));
        }
    };
    // Used up here, once: of two callbacks with the same state only the
    // one that removes it goes on.
    let pending: Pending = state
        .oauth_pending
        .remove(csrf.as_bytes())?
        .and_then(|bytes| live(&bytes))
        .ok_or_else(state_invalid)?;
    let connections = &state.connections;
    let c = connections
        .connections
        .get(&pending.connection_id)?
        .ok_or_else(|| ApiError::not_found("the connection being authorized"))?;
    let code = match answer {
        Ok(code) => code,
        Err(error) => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                "oauth_denied",
                format!(
                    "the provider did not authorize connection {}: {error}",
                    c.id
                ),
            ));
        }
    };
    let AuthSettings::OAuth2Code {
        client_id,
        token_url,
        ..
    } = &c.auth
    else {
        return Err(ApiError::bad_request("the connection is not oauth2-code"));
    };
    let secrets = connections.connections.open_secrets(&c)?;
    let http = connections
        .token_http(&c.connector, token_url)
        .map_err(|e| ApiError::new(StatusCode::BAD_GATEWAY, "oauth_exchange_failed", e))?;
    let tokens = oauth::exchange_code(
        http,
        client_id,
        secrets.client_secret.as_deref(),
        token_url,
        &pending.redirect_uri,
        &code,
        &pending.verifier,
    )
    .await
    .map_err(|e| {
        ApiError::new(
            StatusCode::BAD_GATEWAY,
            "oauth_exchange_failed",
            format!("connection {}: {}", c.id, e.message),
        )
    })?;
    let c = connections.store_tokens(c, secrets, tokens)?;
    Ok(Json(json!({
        "connection": c.view(),
        "message": "connected; you can close this window",
    })))
}
