//! Which components this server accepts through its API: those signed by
//! a publisher key the operator trusts, and unsigned ones only when the
//! operator said so (`--allow-unsigned-components`).

use crate::error::ApiError;
use axum::http::StatusCode;
use serde_json::json;
use weft_host::signing::{Signature, SigningError, TrustedKeys};

/// The operator's trust settings.
#[derive(Debug, Clone, Default)]
pub struct TrustPolicy {
    pub keys: TrustedKeys,
    /// Accept components that carry no signature (shown as unsigned).
    pub allow_unsigned: bool,
}

/// Who vouches for an accepted component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Publisher {
    /// Signed by this trusted publisher.
    Signed(String),
    /// No signature; accepted because the operator allows unsigned ones.
    Unsigned,
}

impl Publisher {
    /// The publisher name shown in listings (`None`: unsigned).
    pub fn name(&self) -> Option<&str> {
        match self {
            Publisher::Signed(name) => Some(name),
            Publisher::Unsigned => None,
        }
    }
}

impl TrustPolicy {
    /// Decide on a component that declares `connector`@`version`.
    pub fn check(
        &self,
        component: &[u8],
        connector: &str,
        version: &str,
        signature: Option<&Signature>,
    ) -> Result<Publisher, ApiError> {
        let Some(signature) = signature else {
            if self.allow_unsigned {
                return Ok(Publisher::Unsigned);
            }
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "component_unsigned",
                format!(
                    "{connector}@{version} is not signed and this server accepts only signed components; sign it (`weft connector sign FILE --key KEY`) and send the signature, or start the server with --allow-unsigned-components"
                ),
            ));
        };
        match self.keys.verify(component, connector, version, signature) {
            Ok(key) => Ok(Publisher::Signed(key.publisher.clone())),
            Err(e @ SigningError::Untrusted { .. }) => {
                Err(
                    ApiError::new(StatusCode::FORBIDDEN, "component_untrusted", e.to_string())
                        .details(json!({"public_key": signature.public_key})),
                )
            }
            Err(e) => Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_signature",
                e.to_string(),
            )),
        }
    }
}
