//! Automations loaded from files when the server starts (`weft serve
//! --load`): new ones are created for the given owner, changed ones get a
//! new version with their tokens kept, identical ones are left alone — so
//! restarting with the same files is a no-op. Connection references are
//! mapped to the owner's connections as import maps them
//! ([`crate::connection_map`]). [`check`] tries a document without
//! storing it, so a caller can refuse a whole set of files when one is
//! bad instead of leaving half of them loaded.

use crate::AppState;
use crate::api::{self, Created};
use crate::error::ApiError;
use serde_json::Value;

/// What loading one document did.
pub enum Loaded {
    /// Created, with its one-time execution token and webhook path.
    Created(Box<Created>),
    /// Already stored with the same document.
    Unchanged { id: String },
    /// Stored with a different document: now at `version`.
    Updated { id: String, version: u64 },
}

/// Whether [`load`] would take `document` for `owner`: its connections
/// map, it is valid, and its id is not someone else's. Stores nothing.
pub fn check(state: &AppState, document: &Value, owner: &str) -> Result<(), ApiError> {
    let mut document = document.clone();
    crate::connection_map::map(state, &mut document, &Value::Null, owner)?;
    not_someone_elses(state, &document, owner)?;
    api::validate(state, document, owner).map(|_| ())
}

fn not_someone_elses(state: &AppState, document: &Value, owner: &str) -> Result<(), ApiError> {
    let id = document
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    match state.automations.get(id)? {
        Some(current) if current.owner != owner => Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "already_exists",
            format!(
                "automation {id:?} exists and belongs to {:?}; it was not replaced",
                current.owner
            ),
        )),
        _ => Ok(()),
    }
}

/// Load `document` for `owner`. An automation with the same id owned by
/// someone else is refused rather than taken over.
pub fn load(state: &AppState, mut document: Value, owner: &str) -> Result<Loaded, ApiError> {
    crate::connection_map::map(state, &mut document, &Value::Null, owner)?;
    not_someone_elses(state, &document, owner)?;
    let id = document
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(current) = state.automations.get(&id)? else {
        return api::create(state, document, owner).map(|c| Loaded::Created(Box::new(c)));
    };
    if document.is_object() {
        document["owner"] = Value::String(owner.to_string());
    }
    if document == current.document {
        return Ok(Loaded::Unchanged { id });
    }
    match api::replace_document(state, &current, document)? {
        Some(next) => Ok(Loaded::Updated {
            id,
            version: next.version,
        }),
        None => Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "version_conflict",
            format!("automation {id:?} changed while it was being loaded; start again"),
        )),
    }
}
