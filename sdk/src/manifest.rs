//! The connector's self-description: blocks with derived schemas, the
//! outbound hosts it needs, and the auth kinds it supports.

use crate::bindings::weft::connector::types as wit;
use crate::block::{BlockError, Context};
use schemars::JsonSchema;

/// An auth kind a connector supports. The host stores the secrets and adds
/// them to requests bound for the connector's hosts; the connector never
/// sees them.
#[derive(Debug, Clone)]
pub enum Auth {
    /// No credentials.
    None,
    /// An API key sent in the named header (e.g. `X-Api-Key`).
    ApiKeyHeader(&'static str),
    /// An API key sent as the named query parameter (e.g. `key`).
    ApiKeyQuery(&'static str),
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: Basic <user:password>`.
    Basic,
    /// OAuth2 authorization code flow with PKCE.
    OAuth2Code {
        authorize_url: &'static str,
        token_url: &'static str,
        scopes: &'static [&'static str],
    },
    /// OAuth2 client credentials flow.
    OAuth2ClientCredentials {
        token_url: &'static str,
        scopes: &'static [&'static str],
    },
}

impl Auth {
    fn into_wit(self) -> wit::AuthKind {
        let scopes = |s: &[&str]| s.iter().map(|s| s.to_string()).collect();
        match self {
            Auth::None => wit::AuthKind::None,
            Auth::ApiKeyHeader(name) => wit::AuthKind::ApiKey(wit::ApiKeyAuth {
                location: wit::KeyLocation::Header,
                name: name.to_string(),
            }),
            Auth::ApiKeyQuery(name) => wit::AuthKind::ApiKey(wit::ApiKeyAuth {
                location: wit::KeyLocation::Query,
                name: name.to_string(),
            }),
            Auth::Bearer => wit::AuthKind::Bearer,
            Auth::Basic => wit::AuthKind::Basic,
            Auth::OAuth2Code {
                authorize_url,
                token_url,
                scopes: s,
            } => wit::AuthKind::Oauth2Code(wit::Oauth2CodeAuth {
                authorize_url: authorize_url.to_string(),
                token_url: token_url.to_string(),
                scopes: scopes(s),
            }),
            Auth::OAuth2ClientCredentials {
                token_url,
                scopes: s,
            } => wit::AuthKind::Oauth2ClientCredentials(wit::Oauth2ClientCredentialsAuth {
                token_url: token_url.to_string(),
                scopes: scopes(s),
            }),
        }
    }
}

/// Parse an allow-list entry (`scheme://host[:port]`) into the contract's
/// structured form. The host validates patterns again on load and refuses a
/// connector whose patterns are malformed, so a mistake here surfaces as a
/// clear load error rather than a silent widening.
pub fn parse_host_pattern(entry: &str) -> wit::HostPattern {
    // No scheme: keep the entry whole with an empty scheme, which the host
    // refuses on load with a message naming the entry (never guess https).
    let (scheme, rest) = entry.split_once("://").unwrap_or(("", entry));
    let rest = rest.trim_end_matches('/');
    // A port only follows the last ':' when the host is not an IPv6 literal
    // without brackets; bracketed IPv6 keeps its ':' inside the brackets.
    let (host, port) = match rest.rfind(':') {
        Some(i) if !rest[i..].contains(']') => (&rest[..i], Some(&rest[i + 1..])),
        _ => (rest, None),
    };
    let port = match port {
        None => wit::PortPattern::SchemeDefault,
        Some("*") => wit::PortPattern::Any,
        Some(p) => match p.parse() {
            Ok(p) => wit::PortPattern::Exact(p),
            // Keep the malformed text visible to the host's validation.
            Err(_) => {
                return wit::HostPattern {
                    scheme: scheme.to_string(),
                    host: format!("{host}:{p}"),
                    port: wit::PortPattern::SchemeDefault,
                };
            }
        },
    };
    wit::HostPattern {
        scheme: scheme.to_string(),
        host: host.to_string(),
        port,
    }
}

fn schema_json<T: JsonSchema>() -> String {
    let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    serde_json::to_string(&schema).unwrap_or_else(|_| "{}".to_string())
}

/// An output type's schema, with every object that lists its properties
/// and says nothing about others marked `additionalProperties: false`.
/// Such objects come from structs, which serialize exactly their fields,
/// so the host can tell `{$.Sum.reslt}` is a typo at validation instead of
/// a failure at run time. (Maps say what their values are, and keep
/// allowing any name.)
fn output_schema_json<T: JsonSchema>() -> String {
    let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    let mut value = serde_json::to_value(&schema).unwrap_or_else(|_| serde_json::json!({}));
    close_structs(&mut value);
    serde_json::to_string(&value).unwrap_or_else(|_| "{}".to_string())
}

fn close_structs(schema: &mut serde_json::Value) {
    let serde_json::Value::Object(map) = schema else {
        return;
    };
    if map.contains_key("properties") && !map.contains_key("additionalProperties") {
        map.insert("additionalProperties".into(), false.into());
    }
    // Only where subschemas sit: a property *named* `properties` is not one.
    for (keyword, inner) in map.iter_mut() {
        match (keyword.as_str(), inner) {
            ("properties" | "$defs" | "definitions", serde_json::Value::Object(named)) => {
                named.values_mut().for_each(close_structs)
            }
            ("anyOf" | "oneOf" | "allOf", serde_json::Value::Array(list)) => {
                list.iter_mut().for_each(close_structs)
            }
            ("items" | "additionalProperties", one) => close_structs(one),
            _ => {}
        }
    }
}

/// Describe one block; the input and output types are taken from `f`.
pub fn block_spec<I, O, F>(_f: F, id: &str, name: &str, description: &str) -> wit::BlockSpec
where
    I: JsonSchema,
    O: JsonSchema,
    F: Fn(&Context, I) -> Result<O, BlockError>,
{
    wit::BlockSpec {
        id: id.to_string(),
        name: name.to_string(),
        description: description.to_string(),
        input_schema: schema_json::<I>(),
        output_schema: output_schema_json::<O>(),
    }
}

/// Assemble the manifest. Used by [`crate::connector!`].
pub fn manifest(
    id: &str,
    version: &str,
    display_name: &str,
    description: &str,
    hosts: &[&str],
    auth: Vec<Auth>,
    blocks: Vec<wit::BlockSpec>,
) -> wit::Manifest {
    wit::Manifest {
        id: id.to_string(),
        version: version.to_string(),
        display_name: display_name.to_string(),
        description: description.to_string(),
        blocks,
        hosts: hosts.iter().map(|h| parse_host_pattern(h)).collect(),
        auth: auth.into_iter().map(Auth::into_wit).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_allow_list_entries() {
        // A missing scheme is not guessed; the host refuses the empty one.
        assert_eq!(parse_host_pattern("api.example.com").scheme, "");
        let p = parse_host_pattern("https://*.example.com:8443");
        assert_eq!(
            (p.scheme.as_str(), p.host.as_str()),
            ("https", "*.example.com")
        );
        assert!(matches!(p.port, wit::PortPattern::Exact(8443)));
        let p = parse_host_pattern("http://*:*");
        assert_eq!(p.host, "*");
        assert!(matches!(p.port, wit::PortPattern::Any));
        let p = parse_host_pattern("https://{tenant}.example.com");
        assert_eq!(p.host, "{tenant}.example.com");
        assert!(matches!(p.port, wit::PortPattern::SchemeDefault));
        let p = parse_host_pattern("http://[::1]:8080");
        assert_eq!(p.host, "[::1]");
        assert!(matches!(p.port, wit::PortPattern::Exact(8080)));
    }
}
