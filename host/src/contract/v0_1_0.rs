//! Contract `weft:connector@0.1.0`: bindings, the host side of its
//! imports, and conversions to the host model.

use crate::error::{BlockErrorKind, BlockFailure, LoadError};
use crate::guest_log::LogLevel;
use crate::manifest::{AuthKind, BlockSpec, KeyLocation, Manifest};
use crate::outbound_http::allow_list::{HostPattern, PartError, PortMatch};
use crate::outbound_http::{HttpFailure, OutboundRequest};
use crate::sandbox::SandboxState;
use std::collections::HashSet;
use std::time::Duration;
use wasmtime::Store;
use wasmtime::component::{HasSelf, Linker};

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
    world: "plugin",
    imports: { default: async },
    exports: { default: async },
});

use weft::connector::{http, log, types};

pub fn add_to_linker(linker: &mut Linker<SandboxState>) -> wasmtime::Result<()> {
    Plugin::add_to_linker::<SandboxState, HasSelf<SandboxState>>(linker, |s| s)
}

impl types::Host for SandboxState {}

impl http::Host for SandboxState {
    async fn send(&mut self, request: http::Request) -> Result<http::Response, http::HttpError> {
        let request = OutboundRequest {
            method: request.method,
            url: request.url,
            headers: request.headers,
            body: request.body,
            timeout: request
                .timeout_ms
                .map(|ms| Duration::from_millis(u64::from(ms))),
        };
        match self.http.send(request).await {
            Ok(r) => Ok(http::Response {
                status: r.status,
                headers: r.headers,
                body: r.body,
            }),
            Err(HttpFailure::Denied(m)) => Err(http::HttpError::Denied(m)),
            Err(HttpFailure::Timeout) => Err(http::HttpError::Timeout),
            Err(HttpFailure::TooLarge(m)) => Err(http::HttpError::TooLarge(m)),
            Err(HttpFailure::Network(m)) => Err(http::HttpError::Network(m)),
        }
    }
}

impl log::Host for SandboxState {
    async fn log(&mut self, level: log::Level, message: String) {
        let level = match level {
            log::Level::Trace => LogLevel::Trace,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Info => LogLevel::Info,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Error => LogLevel::Error,
        };
        let at = self.elapsed_us();
        self.logs.push(level, message, at);
    }
}

pub async fn describe(
    pre: &PluginPre<SandboxState>,
    store: &mut Store<SandboxState>,
) -> wasmtime::Result<types::Manifest> {
    let plugin = pre.instantiate_async(&mut *store).await?;
    plugin
        .weft_connector_connector()
        .call_describe(&mut *store)
        .await
}

pub async fn invoke(
    pre: &PluginPre<SandboxState>,
    store: &mut Store<SandboxState>,
    block: &str,
    input: &str,
    context: &crate::runtime::InvokeContext,
) -> wasmtime::Result<Result<String, BlockFailure>> {
    let plugin = pre.instantiate_async(&mut *store).await?;
    let ctx = types::InvokeContext {
        run_id: context.run_id.clone(),
        step_id: context.step_id.clone(),
        attempt: context.attempt,
        connection: context.connection.to_string(),
    };
    let result = plugin
        .weft_connector_connector()
        .call_invoke(&mut *store, block, input, &ctx)
        .await?;
    Ok(result.map_err(block_failure))
}

fn block_failure(err: types::BlockError) -> BlockFailure {
    let (kind, info, retry_after) = match err {
        types::BlockError::InvalidInput(i) => (BlockErrorKind::InvalidInput, i, None),
        types::BlockError::Unauthorized(i) => (BlockErrorKind::Unauthorized, i, None),
        types::BlockError::NotFound(i) => (BlockErrorKind::NotFound, i, None),
        types::BlockError::Transient(i) => (BlockErrorKind::Transient, i, None),
        types::BlockError::Fatal(i) => (BlockErrorKind::Fatal, i, None),
        types::BlockError::RateLimited(r) => (
            BlockErrorKind::RateLimited,
            types::ErrorInfo {
                message: r.message,
                details: r.details,
            },
            r.retry_after_ms.map(Duration::from_millis),
        ),
    };
    BlockFailure {
        kind,
        message: info.message,
        // Details that are not JSON are kept as a string rather than lost.
        details: info
            .details
            .map(|d| serde_json::from_str(&d).unwrap_or(serde_json::Value::String(d))),
        retry_after,
    }
}

/// Validate a manifest and convert it to the host model.
pub fn manifest(m: types::Manifest) -> Result<Manifest, LoadError> {
    let bad = |field: String, reason: String| LoadError::Manifest { field, reason };
    let id_ok = !m.id.is_empty()
        && m.id.len() <= 64
        && m.id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
    if !id_ok {
        return Err(bad(
            "id".into(),
            format!("{:?} must be 1-64 characters of a-z, 0-9 and -", m.id),
        ));
    }
    // Versions sit side by side and automations pin them by semver range,
    // so the version must be one.
    if let Err(e) = semver::Version::parse(&m.version) {
        return Err(bad(
            "version".into(),
            format!(
                "{:?} is not a semantic version such as 1.2.0: {e}",
                m.version
            ),
        ));
    }
    let mut seen = HashSet::new();
    let mut blocks = Vec::with_capacity(m.blocks.len());
    for (i, b) in m.blocks.into_iter().enumerate() {
        if b.id.is_empty() || !seen.insert(b.id.clone()) {
            return Err(bad(
                format!("blocks[{i}].id"),
                format!("{:?} is empty or used twice", b.id),
            ));
        }
        let schema = |text: &str, field: &str| -> Result<serde_json::Value, LoadError> {
            let v: serde_json::Value = serde_json::from_str(text)
                .map_err(|e| bad(format!("blocks[{i}].{field}"), format!("not JSON: {e}")))?;
            if !(v.is_object() || v.is_boolean()) {
                return Err(bad(
                    format!("blocks[{i}].{field}"),
                    "a JSON Schema is an object or a boolean".into(),
                ));
            }
            Ok(v)
        };
        blocks.push(BlockSpec {
            input_schema: schema(&b.input_schema, "input-schema")?,
            output_schema: schema(&b.output_schema, "output-schema")?,
            id: b.id,
            name: b.name,
            description: b.description,
        });
    }
    let mut hosts = Vec::with_capacity(m.hosts.len());
    for (i, h) in m.hosts.into_iter().enumerate() {
        let port = match h.port {
            types::PortPattern::SchemeDefault => PortMatch::SchemeDefault,
            types::PortPattern::Exact(p) => PortMatch::Exact(p),
            types::PortPattern::Any => PortMatch::Any,
        };
        let pattern = HostPattern::from_parts(&h.scheme, &h.host, port).map_err(|e| {
            let reason = match e {
                PartError::Scheme => format!("scheme {:?} must be http, https or *", h.scheme),
                PartError::Host(r) => r,
            };
            bad(format!("hosts[{i}]"), reason)
        })?;
        hosts.push(pattern);
    }
    let auth = m
        .auth
        .into_iter()
        .map(|a| match a {
            types::AuthKind::None => AuthKind::None,
            types::AuthKind::ApiKey(k) => AuthKind::ApiKey {
                location: match k.location {
                    types::KeyLocation::Header => KeyLocation::Header,
                    types::KeyLocation::Query => KeyLocation::Query,
                },
                name: k.name,
            },
            types::AuthKind::Bearer => AuthKind::Bearer,
            types::AuthKind::Basic => AuthKind::Basic,
            types::AuthKind::Oauth2Code(o) => AuthKind::OAuth2Code {
                authorize_url: o.authorize_url,
                token_url: o.token_url,
                scopes: o.scopes,
            },
            types::AuthKind::Oauth2ClientCredentials(o) => AuthKind::OAuth2ClientCredentials {
                token_url: o.token_url,
                scopes: o.scopes,
            },
        })
        .collect();
    Ok(Manifest {
        id: m.id,
        version: m.version,
        display_name: m.display_name,
        description: m.description,
        contract: "0.1.0".into(),
        blocks,
        hosts,
        auth,
    })
}

/// A `manifest` record from JSON shaped like the WIT record (kebab-case
/// names; `port` is `"default"`, `"any"` or a number; an auth kind is its
/// name or `{"api-key": {…}}`), for feeding the validator above
/// arbitrary manifests ([`crate::fuzz_targets::manifest`]). Missing
/// fields are empty; a wrong shape is `Err`.
#[doc(hidden)]
pub fn manifest_from_json(v: &serde_json::Value) -> Result<types::Manifest, String> {
    use serde_json::Value;
    fn text(v: &Value, key: &str) -> Result<String, String> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(other) => Ok(other.to_string()),
        }
    }
    fn list<'v>(v: &'v Value, key: &str) -> Result<&'v [Value], String> {
        match v.get(key) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(items)) => Ok(items),
            Some(_) => Err(format!("{key} is not a list")),
        }
    }
    fn strings(v: &Value, key: &str) -> Result<Vec<String>, String> {
        list(v, key)?
            .iter()
            .map(|s| s.as_str().map(str::to_string).ok_or("not text".to_string()))
            .collect()
    }
    let blocks = list(v, "blocks")?
        .iter()
        .map(|b| {
            Ok(types::BlockSpec {
                id: text(b, "id")?,
                name: text(b, "name")?,
                description: text(b, "description")?,
                input_schema: text(b, "input-schema")?,
                output_schema: text(b, "output-schema")?,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let hosts = list(v, "hosts")?
        .iter()
        .map(|h| {
            let port = match h.get("port") {
                None | Some(Value::Null) => types::PortPattern::SchemeDefault,
                Some(Value::String(s)) if s == "any" => types::PortPattern::Any,
                Some(Value::String(s)) if s == "default" => types::PortPattern::SchemeDefault,
                Some(p) => types::PortPattern::Exact(
                    p.as_u64()
                        .and_then(|p| u16::try_from(p).ok())
                        .ok_or("bad port")?,
                ),
            };
            Ok(types::HostPattern {
                scheme: text(h, "scheme")?,
                host: text(h, "host")?,
                port,
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    let auth = list(v, "auth")?
        .iter()
        .map(|a| {
            Ok(match a {
                Value::String(s) if s == "none" => types::AuthKind::None,
                Value::String(s) if s == "bearer" => types::AuthKind::Bearer,
                Value::String(s) if s == "basic" => types::AuthKind::Basic,
                Value::Object(o) if o.contains_key("api-key") => {
                    let k = &o["api-key"];
                    types::AuthKind::ApiKey(types::ApiKeyAuth {
                        location: match k.get("location").and_then(Value::as_str) {
                            Some("query") => types::KeyLocation::Query,
                            _ => types::KeyLocation::Header,
                        },
                        name: text(k, "name")?,
                    })
                }
                Value::Object(o) if o.contains_key("oauth2-code") => {
                    let k = &o["oauth2-code"];
                    types::AuthKind::Oauth2Code(types::Oauth2CodeAuth {
                        authorize_url: text(k, "authorize-url")?,
                        token_url: text(k, "token-url")?,
                        scopes: strings(k, "scopes")?,
                    })
                }
                Value::Object(o) if o.contains_key("oauth2-client-credentials") => {
                    let k = &o["oauth2-client-credentials"];
                    types::AuthKind::Oauth2ClientCredentials(types::Oauth2ClientCredentialsAuth {
                        token_url: text(k, "token-url")?,
                        scopes: strings(k, "scopes")?,
                    })
                }
                other => return Err(format!("unknown auth kind {other}")),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(types::Manifest {
        id: text(v, "id")?,
        version: text(v, "version")?,
        display_name: text(v, "display-name")?,
        description: text(v, "description")?,
        blocks,
        hosts,
        auth,
    })
}
