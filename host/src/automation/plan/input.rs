//! Validation of the `input` block: its form's schema must be a usable
//! JSON Schema of bounded size, its texts templates, its timeout within
//! bounds, and the values it goes on with on timeout valid for the form.

use super::checker::{Checker, schema_message};
use super::{NodeKind, Template};
use serde_json::Value;
use std::sync::Arc;

/// How long an `input` block waits when it names no `timeout_ms`: a day.
pub const DEFAULT_INPUT_TIMEOUT_MS: u64 = 24 * 3600 * 1000;
/// The longest `timeout_ms` an `input` block may ask for: 30 days. A
/// paused run holds no slot, but its record and history stay until it
/// ends, and retention never deletes a run that has not ended.
pub const MAX_INPUT_TIMEOUT_MS: u64 = 30 * 24 * 3600 * 1000;
/// The largest form schema, as JSON text: 64 KiB. The schema is copied
/// into the paused run's record and compiled at each submission.
pub const MAX_INPUT_SCHEMA_BYTES: usize = 64 << 10;

impl Checker<'_> {
    pub(super) fn input_block(
        &mut self,
        id: &str,
        schema: &Value,
        (title, message): (Option<&Value>, Option<&Value>),
        timeout_ms: Option<u64>,
        timeout_values: Option<&Value>,
    ) -> NodeKind {
        let size = serde_json::to_vec(schema).map_or(usize::MAX, |b| b.len());
        let validator = if !schema.is_object() {
            self.errors.push(
                Some(id),
                "schema",
                "must be a JSON Schema object (e.g. {\"type\": \"object\", \"properties\": {…}})",
            );
            None
        } else if size > MAX_INPUT_SCHEMA_BYTES {
            self.errors.push(
                Some(id),
                "schema",
                format!(
                    "is {size} bytes; a form's schema may be at most {MAX_INPUT_SCHEMA_BYTES} bytes"
                ),
            );
            None
        } else {
            match jsonschema::validator_for(schema) {
                Ok(v) => Some(v),
                Err(e) => {
                    self.errors.push(
                        Some(id),
                        "schema",
                        format!("is not a valid JSON Schema: {e}"),
                    );
                    None
                }
            }
        };
        let mut text = |field: &str, value: Option<&Value>| -> Option<Template> {
            let t = self.template(id, field, value?);
            if let Template::Literal(v) = &t
                && !v.is_string()
            {
                self.errors
                    .push(Some(id), field, format!("must be text, not {v}"));
            }
            Some(t)
        };
        let title = text("title", title);
        let message = text("message", message);
        let timeout_ms = match timeout_ms {
            None => DEFAULT_INPUT_TIMEOUT_MS,
            Some(0) => {
                self.errors
                    .push(Some(id), "timeout_ms", "must be at least 1 millisecond");
                DEFAULT_INPUT_TIMEOUT_MS
            }
            Some(ms) if ms > MAX_INPUT_TIMEOUT_MS => {
                self.errors.push(
                    Some(id),
                    "timeout_ms",
                    format!(
                        "{ms} is longer than the longest wait, {MAX_INPUT_TIMEOUT_MS} ms (30 days)"
                    ),
                );
                DEFAULT_INPUT_TIMEOUT_MS
            }
            Some(ms) => ms,
        };
        if let (Some(values), Some(validator)) = (timeout_values, &validator) {
            for err in validator.iter_errors(values) {
                let pointer = err.instance_path().to_string();
                self.errors.push(
                    Some(id),
                    format!("timeout_values{}", pointer.replace('/', ".")),
                    schema_message(&err),
                );
            }
        }
        NodeKind::Input {
            schema: Arc::new(schema.clone()),
            title,
            message,
            timeout_ms,
            timeout_values: timeout_values.cloned(),
        }
    }
}

/// One way submitted values fail a form's schema.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct FormError {
    /// The field, dotted from the form's top (`comment`, `items.0.qty`);
    /// empty for the values as a whole.
    pub field: String,
    pub message: String,
}

/// Check values submitted for a form against its schema; every problem,
/// each naming its field (a missing required field names itself).
pub fn check_form_values(schema: &Value, values: &Value) -> Result<(), Vec<FormError>> {
    use jsonschema::error::ValidationErrorKind as Kind;
    let validator = jsonschema::validator_for(schema).map_err(|e| {
        vec![FormError {
            field: String::new(),
            message: format!("the form's schema is unusable: {e}"),
        }]
    })?;
    let errors: Vec<FormError> = validator
        .iter_errors(values)
        .map(|err| {
            let mut path: Vec<String> = err
                .instance_path()
                .to_string()
                .trim_start_matches('/')
                .split('/')
                .filter(|s| !s.is_empty())
                .map(|s| s.replace("~1", "/").replace("~0", "~"))
                .collect();
            if let Kind::Required { property } = err.kind()
                && let Some(name) = property.as_str()
            {
                path.push(name.to_string());
            }
            FormError {
                field: path.join("."),
                message: schema_message(&err),
            }
        })
        .collect();
    match errors.is_empty() {
        true => Ok(()),
        false => Err(errors),
    }
}
