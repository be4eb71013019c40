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

/// A component the trust policy let through, before it is loaded: who
/// vouches for it and, when signed, which connector and version the
/// signature is for (the loaded manifest must say the same).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vouched {
    pub publisher: Publisher,
    signed_as: Option<(String, String)>,
}

impl Vouched {
    /// Refuse a component whose manifest is not what was signed.
    pub fn require(&self, connector: &str, version: &str) -> Result<(), ApiError> {
        match &self.signed_as {
            Some((id, v)) if (id.as_str(), v.as_str()) != (connector, version) => {
                Err(ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_signature",
                    SigningError::Mismatch {
                        signed: format!("{id}@{v}"),
                        actual: format!("{connector}@{version}"),
                    }
                    .to_string(),
                ))
            }
            _ => Ok(()),
        }
    }
}

impl TrustPolicy {
    /// Decide on a component from its bytes and signature alone, before
    /// any of it is compiled or run: an untrusted component never reaches
    /// the compiler. The signature covers the SHA-256 of these bytes and
    /// the connector id and version it claims; [`Vouched::require`] then
    /// holds the loaded manifest to that claim.
    pub fn check(
        &self,
        component: &[u8],
        signature: Option<&Signature>,
    ) -> Result<Vouched, ApiError> {
        let Some(signature) = signature else {
            if self.allow_unsigned {
                return Ok(Vouched {
                    publisher: Publisher::Unsigned,
                    signed_as: None,
                });
            }
            return Err(ApiError::new(
                StatusCode::FORBIDDEN,
                "component_unsigned",
                "the component is not signed and this server accepts only signed components; sign it (`weft connector sign FILE --key KEY`) and send the signature, or start the server with --allow-unsigned-components",
            ));
        };
        let (connector, version) = (&signature.connector, &signature.version);
        match self.keys.verify(component, connector, version, signature) {
            Ok(key) => Ok(Vouched {
                publisher: Publisher::Signed(key.publisher.clone()),
                signed_as: Some((connector.clone(), version.clone())),
            }),
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
