//! What every contract version's module shares: the host side of the
//! `http` and `log` imports, describing a component, block errors and the
//! manifest validation. The generated types of two versions are distinct
//! Rust types even where their WIT is identical (and wasmtime's `with`
//! remapping cannot help: a remapped interface is registered in the linker
//! under the old version's name, and records cannot be remapped at all), so
//! the code is written once here, as a macro expanded in each version's
//! module over that version's `types`, `http` and `log` modules.

/// Expands, in a contract module that has `bindgen!` output and
/// `use weft::connector::{http, log, types};` in scope, to:
/// `add_to_linker`, the `types`/`http`/`log` host traits for
/// [`crate::sandbox::SandboxState`], `describe`, `block_failure`,
/// `manifest` (validation and conversion to the host model, which records
/// `$version` as the manifest's contract) and `manifest_from_json`.
macro_rules! contract_glue {
    ($version:literal) => {
        pub fn add_to_linker(
            linker: &mut wasmtime::component::Linker<crate::sandbox::SandboxState>,
        ) -> wasmtime::Result<()> {
            Plugin::add_to_linker::<
                crate::sandbox::SandboxState,
                wasmtime::component::HasSelf<crate::sandbox::SandboxState>,
            >(linker, |s| s)
        }

        impl types::Host for crate::sandbox::SandboxState {}

        impl http::Host for crate::sandbox::SandboxState {
            async fn send(
                &mut self,
                request: http::Request,
            ) -> Result<http::Response, http::HttpError> {
                let request = crate::outbound_http::OutboundRequest {
                    method: request.method,
                    url: request.url,
                    headers: request.headers,
                    body: request.body,
                    timeout: request
                        .timeout_ms
                        .map(|ms| std::time::Duration::from_millis(u64::from(ms))),
                };
                match self.http.send(request).await {
                    Ok(r) => Ok(http::Response {
                        status: r.status,
                        headers: r.headers,
                        body: r.body,
                    }),
                    Err(crate::outbound_http::HttpFailure::Denied(m)) => {
                        Err(http::HttpError::Denied(m))
                    }
                    Err(crate::outbound_http::HttpFailure::Timeout) => {
                        Err(http::HttpError::Timeout)
                    }
                    Err(crate::outbound_http::HttpFailure::TooLarge(m)) => {
                        Err(http::HttpError::TooLarge(m))
                    }
                    Err(crate::outbound_http::HttpFailure::Network(m)) => {
                        Err(http::HttpError::Network(m))
                    }
                }
            }
        }

        impl log::Host for crate::sandbox::SandboxState {
            async fn log(&mut self, level: log::Level, message: String) {
                let level = match level {
                    log::Level::Trace => crate::guest_log::LogLevel::Trace,
                    log::Level::Debug => crate::guest_log::LogLevel::Debug,
                    log::Level::Info => crate::guest_log::LogLevel::Info,
                    log::Level::Warn => crate::guest_log::LogLevel::Warn,
                    log::Level::Error => crate::guest_log::LogLevel::Error,
                };
                let at = self.elapsed_us();
                self.logs.push(level, message, at);
            }
        }

        pub async fn describe(
            pre: &PluginPre<crate::sandbox::SandboxState>,
            store: &mut wasmtime::Store<crate::sandbox::SandboxState>,
        ) -> wasmtime::Result<types::Manifest> {
            let plugin = pre.instantiate_async(&mut *store).await?;
            plugin
                .weft_connector_connector()
                .call_describe(&mut *store)
                .await
        }

        pub(crate) fn block_failure(err: types::BlockError) -> crate::error::BlockFailure {
            let (kind, info, retry_after) = match err {
                types::BlockError::InvalidInput(i) => {
                    (crate::error::BlockErrorKind::InvalidInput, i, None)
                }
                types::BlockError::Unauthorized(i) => {
                    (crate::error::BlockErrorKind::Unauthorized, i, None)
                }
                types::BlockError::NotFound(i) => (crate::error::BlockErrorKind::NotFound, i, None),
                types::BlockError::Transient(i) => {
                    (crate::error::BlockErrorKind::Transient, i, None)
                }
                types::BlockError::Fatal(i) => (crate::error::BlockErrorKind::Fatal, i, None),
                types::BlockError::RateLimited(r) => (
                    crate::error::BlockErrorKind::RateLimited,
                    types::ErrorInfo {
                        message: r.message,
                        details: r.details,
                    },
                    r.retry_after_ms.map(std::time::Duration::from_millis),
                ),
            };
            crate::error::BlockFailure {
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
        pub fn manifest(
            m: types::Manifest,
        ) -> Result<crate::manifest::Manifest, crate::error::LoadError> {
            let bad =
                |field: String, reason: String| crate::error::LoadError::Manifest { field, reason };
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
            let mut seen = std::collections::HashSet::new();
            let mut blocks = Vec::with_capacity(m.blocks.len());
            for (i, b) in m.blocks.into_iter().enumerate() {
                if b.id.is_empty() || !seen.insert(b.id.clone()) {
                    return Err(bad(
                        format!("blocks[{i}].id"),
                        format!("{:?} is empty or used twice", b.id),
                    ));
                }
                let schema = |text: &str,
                              field: &str|
                 -> Result<serde_json::Value, crate::error::LoadError> {
                    let v: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                        bad(format!("blocks[{i}].{field}"), format!("not JSON: {e}"))
                    })?;
                    if !(v.is_object() || v.is_boolean()) {
                        return Err(bad(
                            format!("blocks[{i}].{field}"),
                            "a JSON Schema is an object or a boolean".into(),
                        ));
                    }
                    Ok(v)
                };
                blocks.push(crate::manifest::BlockSpec {
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
                    types::PortPattern::SchemeDefault => {
                        crate::outbound_http::allow_list::PortMatch::SchemeDefault
                    }
                    types::PortPattern::Exact(p) => {
                        crate::outbound_http::allow_list::PortMatch::Exact(p)
                    }
                    types::PortPattern::Any => crate::outbound_http::allow_list::PortMatch::Any,
                };
                let pattern = crate::outbound_http::allow_list::HostPattern::from_parts(
                    &h.scheme, &h.host, port,
                )
                .map_err(|e| {
                    let reason = match e {
                        crate::outbound_http::allow_list::PartError::Scheme => {
                            format!("scheme {:?} must be http, https or *", h.scheme)
                        }
                        crate::outbound_http::allow_list::PartError::Host(r) => r,
                    };
                    bad(format!("hosts[{i}]"), reason)
                })?;
                hosts.push(pattern);
            }
            let auth = m
                .auth
                .into_iter()
                .map(|a| match a {
                    types::AuthKind::None => crate::manifest::AuthKind::None,
                    types::AuthKind::ApiKey(k) => crate::manifest::AuthKind::ApiKey {
                        location: match k.location {
                            types::KeyLocation::Header => crate::manifest::KeyLocation::Header,
                            types::KeyLocation::Query => crate::manifest::KeyLocation::Query,
                        },
                        name: k.name,
                    },
                    types::AuthKind::Bearer => crate::manifest::AuthKind::Bearer,
                    types::AuthKind::Basic => crate::manifest::AuthKind::Basic,
                    types::AuthKind::Oauth2Code(o) => crate::manifest::AuthKind::OAuth2Code {
                        authorize_url: o.authorize_url,
                        token_url: o.token_url,
                        scopes: o.scopes,
                    },
                    types::AuthKind::Oauth2ClientCredentials(o) => {
                        crate::manifest::AuthKind::OAuth2ClientCredentials {
                            token_url: o.token_url,
                            scopes: o.scopes,
                        }
                    }
                })
                .collect();
            Ok(crate::manifest::Manifest {
                id: m.id,
                version: m.version,
                display_name: m.display_name,
                description: m.description,
                contract: $version.into(),
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
                        Some(Value::String(s)) if s == "default" => {
                            types::PortPattern::SchemeDefault
                        }
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
                            types::AuthKind::Oauth2ClientCredentials(
                                types::Oauth2ClientCredentialsAuth {
                                    token_url: text(k, "token-url")?,
                                    scopes: strings(k, "scopes")?,
                                },
                            )
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
    };
}

pub(crate) use contract_glue;
