//! Removing an API-installed connector version, and which automations
//! still need it.

use super::install::remove_component;
use super::{Connectors, Source, key};
use crate::audit::{Action, AuditLog};
use crate::automations::{Automations, StoredAutomation};
use crate::error::ApiError;
use axum::http::StatusCode;
use semver::Version;
use serde_json::{Value, json};
use weft_host::connector_set::pick;
use weft_host::{VersionPin, Weft};

/// What a removal did besides removing.
pub struct RemoveOutcome {
    /// Automations disabled because they needed the version.
    pub disabled: Vec<String>,
}

/// How often a disable is retried when the automation changed under it
/// (a run counter, a concurrent edit) before the removal gives up.
const DISABLE_ATTEMPTS: usize = 5;

impl Connectors {
    /// Remove one API-installed version. Unless `force`, refused while an
    /// automation needs it (one of its blocks runs this version now and
    /// would match none left); forced, those automations are disabled with
    /// the reason first. Automation writes wait meanwhile
    /// ([`Connectors::steady`]), so none can start needing it halfway.
    #[allow(clippy::too_many_arguments)]
    pub async fn remove(
        &self,
        weft: &Weft,
        automations: &Automations,
        audit: &AuditLog,
        id: &str,
        version: &str,
        force: bool,
        actor: &str,
    ) -> Result<RemoveOutcome, ApiError> {
        let parsed = Version::parse(version).map_err(|e| {
            ApiError::bad_request(format!("version: {version:?} is not a version: {e}"))
        })?;
        let _one_at_a_time = self.changing.write().await;
        let set = weft.connectors();
        if set.get(id, &parsed).is_none() {
            return Err(ApiError::not_found(&format!("connector {id}@{version}")));
        }
        let origin = self.origin(id, version);
        match origin.as_ref().map(|o| o.source) {
            Some(Source::Api) => {}
            Some(Source::File) | None => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "connector_not_removable",
                    format!(
                        "{id}@{version} was placed by the operator ({}); remove the file (or its --component) and restart the server",
                        origin
                            .and_then(|o| o.file)
                            .unwrap_or_else(|| "a component file".into())
                    ),
                ));
            }
            Some(Source::Bundled) => {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "connector_not_removable",
                    format!("{id}@{version} is bundled with this weft and cannot be removed"),
                ));
            }
        }
        let before: Vec<Version> = set.version_numbers(id).cloned().collect();
        let after: Vec<Version> = before.iter().filter(|v| **v != parsed).cloned().collect();
        let needing: Vec<StoredAutomation> = automations
            .list()?
            .into_iter()
            .filter(|a| needs_removed(&a.document, id, &parsed, (&before, &after)))
            .collect();
        if !needing.is_empty() && !force {
            let ids: Vec<&str> = needing.iter().map(|a| a.id.as_str()).collect();
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "connector_in_use",
                format!(
                    "{id}@{version} is the only installed version that {} need{}: {}; change their blocks' `version`, install a matching version, or remove with ?force=true to disable them",
                    if ids.len() == 1 { "this automation" } else { "these automations" },
                    if ids.len() == 1 { "s" } else { "" },
                    ids.join(", ")
                ),
            )
            .details(json!({"automations": ids})));
        }
        let reason = format!("connector {id}@{version} was removed by {actor}");
        let mut disabled = Vec::new();
        for a in needing {
            if disable(automations, &a.id, &reason)? {
                audit.record(
                    actor,
                    Action::AutomationDisable,
                    &a.id,
                    json!({"reason": reason}),
                )?;
                disabled.push(a.id);
            }
        }
        let record = self.installs.remove(key(id, version))?;
        self.installs.flush()?;
        weft.uninstall(id, &parsed)
            .map_err(|e| ApiError::not_found(&e.to_string()))?;
        if let Some(origin) = self.write_origins().remove(&key(id, version))
            && let Some(sha) = origin.sha256
        {
            remove_component(&self.installed_dir().join(format!("{sha}.wasm")));
        }
        audit.record(
            actor,
            Action::ConnectorRemove,
            &key(id, version),
            json!({"forced": force, "disabled_automations": disabled, "had_record": record.is_some()}),
        )?;
        self.write_index();
        Ok(RemoveOutcome { disabled })
    }
}

/// Disable automation `id` with `reason`, retrying when it changed
/// between reading and writing. False: it is gone or disabled already.
fn disable(automations: &Automations, id: &str, reason: &str) -> Result<bool, ApiError> {
    for _ in 0..DISABLE_ATTEMPTS {
        let Some(current) = automations.get(id)? else {
            return Ok(false);
        };
        if !current.enabled {
            return Ok(false);
        }
        let next = StoredAutomation {
            enabled: false,
            disabled_reason: Some(reason.to_string()),
            version: current.version + 1,
            updated_at: crate::now_ms(),
            ..current.clone()
        };
        if automations.replace(&current, &next)? {
            return Ok(true);
        }
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "version_conflict",
        format!(
            "automation {id:?} kept changing while it was being disabled; the version was not removed (automations disabled before this one stay disabled), try again"
        ),
    ))
}

/// Does a block of this automation document run `removed` of connector
/// `id` now (given the versions installed `before` the removal), and match
/// none of those left `after` it? An automation whose pin matched nothing
/// already is not one this removal breaks.
fn needs_removed(
    document: &Value,
    id: &str,
    removed: &Version,
    (before, after): (&[Version], &[Version]),
) -> bool {
    let blocks = document.get("blocks").and_then(Value::as_array);
    blocks.into_iter().flatten().any(|b| {
        if b.get("type").and_then(Value::as_str) != Some("connector")
            || b.get("connector").and_then(Value::as_str) != Some(id)
        {
            return false;
        }
        let pin = match b.get("version").and_then(Value::as_str) {
            None => None,
            Some(text) => match VersionPin::parse(text) {
                Ok(pin) => Some(pin),
                Err(_) => return false,
            },
        };
        pick(before.iter(), pin.as_ref()) == Some(removed)
            && pick(after.iter(), pin.as_ref()).is_none()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn doc(pin: Option<&str>) -> Value {
        let mut block = json!({"id": "B", "type": "connector", "connector": "acme", "block": "x"});
        if let Some(p) = pin {
            block["version"] = json!(p);
        }
        json!({"blocks": [{"id": "Start", "type": "start"}, block]})
    }

    fn v(text: &str) -> Version {
        Version::parse(text).expect("version")
    }

    /// `needs_removed` with the versions left once `removed` goes.
    fn needs(document: &Value, id: &str, removed: &Version, before: &[Version]) -> bool {
        let after: Vec<Version> = before.iter().filter(|v| *v != removed).cloned().collect();
        needs_removed(document, id, removed, (before, &after))
    }

    #[test]
    fn only_automations_this_removal_breaks_need_the_version() {
        let before = [v("1.0.0"), v("2.0.0")];
        // Pinned to the removed version, nothing else matches: needed.
        assert!(needs(&doc(Some("2.0.0")), "acme", &v("2.0.0"), &before));
        // Unpinned: 1.0.0 is left to run.
        assert!(!needs(&doc(None), "acme", &v("2.0.0"), &before));
        // A range that still matches another version.
        assert!(!needs(&doc(Some(">=1")), "acme", &v("2.0.0"), &before));
        // Pinned to another version: unaffected.
        assert!(!needs(&doc(Some("1.0.0")), "acme", &v("2.0.0"), &before));
        // Already matching nothing before the removal: not this removal's doing.
        assert!(!needs(&doc(Some("3.0.0")), "acme", &v("2.0.0"), &before));
        // The last version, unpinned: needed.
        assert!(needs(&doc(None), "acme", &v("1.0.0"), &[v("1.0.0")]));
        // Another connector's block.
        assert!(!needs(&doc(Some("2.0.0")), "other", &v("2.0.0"), &before));
    }
}
