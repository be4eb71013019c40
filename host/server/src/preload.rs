//! Automations loaded from files when the server starts (`weft serve
//! --load`): new ones are created for the given owner, changed ones get a
//! new version with their tokens kept, identical ones are left alone — so
//! restarting with the same files is a no-op.

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

/// Load `document` for `owner`. An automation with the same id owned by
/// someone else is refused rather than taken over.
pub fn load(state: &AppState, mut document: Value, owner: &str) -> Result<Loaded, ApiError> {
    let id = document
        .get("id")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let Some(current) = state.automations.get(&id)? else {
        return api::create(state, document, owner).map(|c| Loaded::Created(Box::new(c)));
    };
    if current.owner != owner {
        return Err(ApiError::new(
            axum::http::StatusCode::CONFLICT,
            "already_exists",
            format!(
                "automation {id:?} exists and belongs to {:?}; it was not replaced",
                current.owner
            ),
        ));
    }
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
