//! The host's model of what a connector says about itself, independent of
//! the contract version it was built against.

use crate::outbound_http::allow_list::HostPattern;
use serde::Serialize;

/// A connector's self-description, validated on load.
#[derive(Debug, Clone, Serialize)]
pub struct Manifest {
    pub id: String,
    pub version: String,
    pub display_name: String,
    pub description: String,
    /// The contract version the component targets, e.g. `0.1.0`.
    pub contract: String,
    pub blocks: Vec<BlockSpec>,
    /// Outbound destinations the connector declared.
    pub hosts: Vec<HostPattern>,
    pub auth: Vec<AuthKind>,
}

impl Manifest {
    pub fn block(&self, id: &str) -> Option<&BlockSpec> {
        self.blocks.iter().find(|b| b.id == id)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BlockSpec {
    pub id: String,
    pub name: String,
    pub description: String,
    pub input_schema: serde_json::Value,
    pub output_schema: serde_json::Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyLocation {
    Header,
    Query,
}

/// How a connector's connections authenticate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum AuthKind {
    None,
    ApiKey {
        location: KeyLocation,
        name: String,
    },
    Bearer,
    Basic,
    #[serde(rename = "oauth2-code")]
    OAuth2Code {
        authorize_url: String,
        token_url: String,
        scopes: Vec<String>,
    },
    #[serde(rename = "oauth2-client-credentials")]
    OAuth2ClientCredentials {
        token_url: String,
        scopes: Vec<String>,
    },
}
