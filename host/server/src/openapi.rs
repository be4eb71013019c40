//! `GET /api/v1/openapi.json`: the API's OpenAPI 3.1 document.
//!
//! The document (`host/server/openapi.json`) is written by hand rather than
//! generated from the handlers: the handlers take and return
//! `serde_json::Value`, enforce access rules in code and answer differently
//! per caller (an admin's view of a run is not its owner's), so derive
//! macros would describe little of it and would pull a schema framework
//! into every handler. A hand-written document can say what the API really
//! does — who may call what, which error codes mean what, when
//! `Retry-After` is set — in the words a client needs.
//!
//! What a hand-written document risks is drifting from the code, so the
//! tests below hold it to the code:
//!
//! * it parses, is OpenAPI 3.1, names the crate's version, gives every
//!   operation an `operationId`, tags and responses, declares every path
//!   parameter, and every `$ref` resolves inside the document;
//! * every route in [`crate::router`] is documented (the `.route("…")`
//!   calls are read from `lib.rs`), every documented operation is answered
//!   by the real router with a status the document lists for it and a
//!   documented content type (never 405, never the router's bare 404), and
//!   every method the document leaves out of a path is refused with 405;
//! * the `Error` schema's `code` enum is exactly the set of codes the
//!   crate's source passes to `ApiError::new` (read from `src/` when the
//!   tests run), each with a description.

use axum::http::header;
use axum::response::IntoResponse;

/// The document, embedded at build time.
pub const DOCUMENT: &str = include_str!("../openapi.json");

/// `GET /api/v1/openapi.json` (no authentication).
pub async fn document() -> impl IntoResponse {
    ([(header::CONTENT_TYPE, "application/json")], DOCUMENT)
}

#[cfg(test)]
mod tests {
    use super::DOCUMENT;
    use crate::{AppState, ServerConfig, router};
    use axum::body::Body;
    use axum::http::{Method, Request, StatusCode};
    use serde_json::Value;
    use std::collections::BTreeSet;
    use std::sync::Arc;
    use tower::ServiceExt as _;

    const METHODS: [&str; 8] = [
        "get", "put", "post", "delete", "options", "head", "patch", "trace",
    ];
    const ADMIN_TOKEN: &str = "wft_openapi_test_admin_token";

    fn doc() -> Value {
        serde_json::from_str(DOCUMENT).expect("openapi.json is valid JSON")
    }

    /// Every (path, method, operation) in the document, plus the
    /// path-level parameters.
    fn operations(doc: &Value) -> Vec<(String, String, Value, Vec<Value>)> {
        let mut ops = Vec::new();
        let paths = doc["paths"].as_object().expect("paths is an object");
        for (path, item) in paths {
            let item = item.as_object().expect("a path item is an object");
            let shared = item
                .get("parameters")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for (key, op) in item {
                if METHODS.contains(&key.as_str()) {
                    ops.push((path.clone(), key.clone(), op.clone(), shared.clone()));
                }
            }
        }
        ops
    }

    /// Follow a local `$ref`, if `v` is one.
    fn deref<'a>(doc: &'a Value, v: &'a Value) -> &'a Value {
        match v.get("$ref").and_then(Value::as_str) {
            Some(r) => doc
                .pointer(r.trim_start_matches('#'))
                .unwrap_or_else(|| panic!("unresolved $ref {r}")),
            None => v,
        }
    }

    fn collect_refs(v: &Value, at: &str, out: &mut Vec<(String, String)>) {
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    if k == "$ref"
                        && let Some(r) = child.as_str()
                    {
                        out.push((at.to_string(), r.to_string()));
                    }
                    collect_refs(child, &format!("{at}/{k}"), out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    collect_refs(child, &format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn document_is_well_formed() {
        let doc = doc();
        let version = doc["openapi"].as_str().expect("openapi field");
        assert!(version.starts_with("3.1."), "not OpenAPI 3.1: {version}");
        assert_eq!(doc["info"]["title"], "Weft API");
        assert_eq!(
            doc["info"]["version"],
            env!("CARGO_PKG_VERSION"),
            "info.version must be the crate version"
        );

        let declared_tags: BTreeSet<&str> = doc["tags"]
            .as_array()
            .expect("top-level tags")
            .iter()
            .filter_map(|t| t["name"].as_str())
            .collect();
        let mut ids = BTreeSet::new();
        let ops = operations(&doc);
        assert!(!ops.is_empty());
        for (path, method, op, shared) in &ops {
            let at = format!("{} {path}", method.to_uppercase());
            let id = op["operationId"]
                .as_str()
                .unwrap_or_else(|| panic!("{at}: no operationId"));
            assert!(
                ids.insert(id.to_string()),
                "{at}: duplicate operationId {id}"
            );
            let tags = op["tags"]
                .as_array()
                .unwrap_or_else(|| panic!("{at}: no tags"));
            assert!(!tags.is_empty(), "{at}: no tags");
            for t in tags {
                let t = t.as_str().expect("tag is a string");
                assert!(declared_tags.contains(t), "{at}: tag {t} is not declared");
            }
            let responses = op["responses"]
                .as_object()
                .unwrap_or_else(|| panic!("{at}: no responses"));
            assert!(!responses.is_empty(), "{at}: no responses");
            for (status, r) in responses {
                assert!(
                    status.len() == 3 && status.parse::<u16>().is_ok(),
                    "{at}: response key {status} is not a status code"
                );
                assert!(
                    deref(&doc, r)["description"].is_string(),
                    "{at} {status}: no description"
                );
            }
            // Every `{param}` in the template is a declared path parameter.
            let params: Vec<&Value> = shared
                .iter()
                .chain(op["parameters"].as_array().into_iter().flatten())
                .map(|p| deref(&doc, p))
                .collect();
            for segment in path.split('/') {
                if let Some(name) = segment.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    assert!(
                        params.iter().any(|p| p["in"] == "path"
                            && p["name"] == name
                            && p["required"] == true),
                        "{at}: path parameter {name} is not declared"
                    );
                }
            }
        }

        let mut refs = Vec::new();
        collect_refs(&doc, "#", &mut refs);
        assert!(!refs.is_empty());
        for (at, r) in refs {
            let pointer = r
                .strip_prefix('#')
                .unwrap_or_else(|| panic!("{at}: $ref {r} points outside the document"));
            assert!(
                doc.pointer(pointer).is_some(),
                "{at}: $ref {r} does not resolve"
            );
        }
    }

    /// The `.route("…")` paths in `lib.rs`.
    fn routed_paths() -> BTreeSet<String> {
        let source = include_str!("lib.rs");
        let mut paths = BTreeSet::new();
        for (i, _) in source.match_indices(".route(") {
            let rest = source[i + ".route(".len()..].trim_start();
            let literal = rest.strip_prefix('"').unwrap_or_else(|| {
                panic!("a .route( call whose path is not a literal: {rest:.60}")
            });
            let end = literal.find('"').expect("closing quote");
            paths.insert(literal[..end].to_string());
        }
        paths
    }

    #[test]
    fn every_route_is_documented() {
        let doc = doc();
        let documented: BTreeSet<String> = doc["paths"]
            .as_object()
            .expect("paths")
            .keys()
            .cloned()
            .collect();
        let routed = routed_paths();
        assert!(routed.len() > 5, "lib.rs routes not found: {routed:?}");
        let missing: Vec<_> = routed.difference(&documented).collect();
        assert!(
            missing.is_empty(),
            "routes not in openapi.json: {missing:?}"
        );
        let extra: Vec<_> = documented.difference(&routed).collect();
        assert!(extra.is_empty(), "openapi.json paths not routed: {extra:?}");
    }

    async fn app() -> (axum::Router, tempfile::TempDir) {
        let dir = tempfile::tempdir().expect("temp dir");
        let runtime = weft_host::Runtime::builder()
            .max_concurrent_instances(1)
            .build()
            .expect("runtime");
        let weft = weft_host::Weft::builder()
            .runtime(runtime)
            .sled(dir.path().join("history"))
            .build()
            .await
            .expect("weft");
        let config = ServerConfig {
            admin_token: Some(ADMIN_TOKEN.into()),
            ..ServerConfig::default()
        };
        let state = AppState::open(weft, &dir.path().join("server"), config).expect("state");
        state.bootstrap_admin().expect("admin");
        (router(Arc::new(state)), dir)
    }

    fn request(method: &str, path: &str, body: bool) -> Request<Body> {
        let uri: String = path
            .split('/')
            .map(|s| if s.starts_with('{') { "dummy" } else { s })
            .collect::<Vec<_>>()
            .join("/");
        let builder = Request::builder()
            .method(Method::from_bytes(method.to_uppercase().as_bytes()).expect("method"))
            .uri(uri)
            .header("authorization", format!("Bearer {ADMIN_TOKEN}"))
            .header("x-execution-token", "dummy");
        if body {
            builder
                .header("content-type", "application/json")
                .body(Body::from("{}"))
        } else {
            builder.body(Body::empty())
        }
        .expect("request")
    }

    #[tokio::test]
    async fn every_documented_operation_is_served() {
        let doc = doc();
        let codes = error_enum(&doc);
        let (app, _dir) = app().await;
        for (path, method, op, _) in operations(&doc) {
            let at = format!("{} {path}", method.to_uppercase());
            let req = request(&method, &path, op.get("requestBody").is_some());
            let resp = app.clone().oneshot(req).await.expect("infallible");
            let status = resp.status();
            let content_type = resp
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(|ct| ct.split(';').next().unwrap_or_default().trim().to_string());
            let bytes = axum::body::to_bytes(resp.into_body(), 1 << 24)
                .await
                .expect("body");
            assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{at}: not routed");
            if status == StatusCode::NOT_FOUND {
                assert!(
                    !bytes.is_empty(),
                    "{at}: the router's fallback 404 (no such route)"
                );
            }
            let documented = deref(&doc, &op["responses"][status.as_str()]);
            assert!(
                documented.is_object(),
                "{at}: answered {status}, which the document does not list"
            );
            if let Some(content) = documented.get("content").and_then(Value::as_object) {
                let ct = content_type.unwrap_or_default();
                assert!(
                    content.contains_key(&ct) || content.contains_key("*/*"),
                    "{at}: {status} answered {ct:?}, documented {:?}",
                    content.keys().collect::<Vec<_>>()
                );
                if ct == "application/json" && !status.is_success() {
                    let body: Value = serde_json::from_slice(&bytes).expect("JSON error");
                    let code = body["error"]["code"].as_str().expect("error.code");
                    assert!(codes.contains(code), "{at}: undocumented code {code}");
                }
            }
            if path == "/api/v1/openapi.json" {
                assert_eq!(
                    serde_json::from_slice::<Value>(&bytes).expect("JSON"),
                    doc,
                    "the served document is the file"
                );
            }
        }
    }

    #[tokio::test]
    async fn undocumented_methods_are_not_served() {
        let doc = doc();
        let (app, _dir) = app().await;
        for (path, item) in doc["paths"].as_object().expect("paths") {
            // HEAD and OPTIONS are left out: axum answers HEAD for GET routes.
            for method in ["get", "put", "post", "delete", "patch"] {
                if item.get(method).is_some() {
                    continue;
                }
                let resp = app
                    .clone()
                    .oneshot(request(method, path, true))
                    .await
                    .expect("infallible");
                assert_eq!(
                    resp.status(),
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{} {path} is served but not documented",
                    method.to_uppercase()
                );
            }
        }
    }

    fn error_enum(doc: &Value) -> BTreeSet<String> {
        doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]["code"]["enum"]
            .as_array()
            .expect("Error.error.code enum")
            .iter()
            .map(|c| c.as_str().expect("code is a string").to_string())
            .collect()
    }

    /// The first two arguments of the call whose `(` ends `source[..start]`.
    fn first_two_args(source: &str, start: usize) -> (String, Option<String>) {
        let mut args = vec![String::new()];
        let mut depth = 0usize;
        let mut chars = source[start..].chars();
        while let Some(c) = chars.next() {
            match c {
                '"' => {
                    let current = args.last_mut().expect("arg");
                    current.push('"');
                    while let Some(s) = chars.next() {
                        current.push(s);
                        if s == '\\' {
                            current.extend(chars.next());
                        } else if s == '"' {
                            break;
                        }
                    }
                    continue;
                }
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' if depth == 0 => break,
                ')' | ']' | '}' => depth -= 1,
                ',' if depth == 0 => {
                    if args.len() == 2 {
                        break;
                    }
                    args.push(String::new());
                    continue;
                }
                _ => {}
            }
            args.last_mut().expect("arg").push(c);
        }
        let mut args = args.into_iter().map(|a| a.trim().to_string());
        (args.next().unwrap_or_default(), args.next())
    }

    /// Every code the crate's source passes to `ApiError::new` (and, in
    /// `error.rs`, to `Self::new`), read from `src/` as it is now.
    fn source_codes() -> BTreeSet<String> {
        let mut files = Vec::new();
        let mut dirs = vec![std::path::PathBuf::from(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/src"
        ))];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("read src") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("openapi.rs")
                {
                    files.push(path);
                }
            }
        }
        let mut codes = BTreeSet::new();
        for file in files {
            let source = std::fs::read_to_string(&file).expect("read source");
            let mut needles = vec!["ApiError::new("];
            if file.ends_with("error.rs") {
                needles.push("Self::new(");
            }
            for needle in needles {
                for (i, _) in source.match_indices(needle) {
                    let line_start = source[..i].rfind('\n').map_or(0, |n| n + 1);
                    if source[line_start..i].contains("//") {
                        continue;
                    }
                    let (_, code) = first_two_args(&source, i + needle.len());
                    let code = code.unwrap_or_default();
                    let literal = code
                        .strip_prefix('"')
                        .and_then(|c| c.strip_suffix('"'))
                        .unwrap_or_else(|| {
                            panic!(
                                "{}: the error code {code:?} is not a string literal; write \
                                 codes as literals so this test can check them against \
                                 openapi.json",
                                file.display()
                            )
                        });
                    codes.insert(literal.to_string());
                }
            }
        }
        codes
    }

    #[test]
    fn error_codes_match_the_source() {
        let doc = doc();
        let documented = error_enum(&doc);
        let used = source_codes();
        assert!(used.len() > 5, "codes not found in the source: {used:?}");
        let undocumented: Vec<_> = used.difference(&documented).collect();
        assert!(
            undocumented.is_empty(),
            "codes the server answers with but openapi.json does not list: {undocumented:?}"
        );
        let unused: Vec<_> = documented.difference(&used).collect();
        assert!(
            unused.is_empty(),
            "codes openapi.json lists but the source never uses: {unused:?}"
        );
        let described = doc["components"]["schemas"]["Error"]["properties"]["error"]["properties"]
            ["code"]["x-enumDescriptions"]
            .as_object()
            .expect("x-enumDescriptions");
        let described: BTreeSet<String> = described
            .iter()
            .filter(|(_, d)| d.as_str().is_some_and(|d| !d.is_empty()))
            .map(|(k, _)| k.clone())
            .collect();
        assert_eq!(described, documented, "every code needs one description");
    }

    /// Point a generated schema's `$ref`s (`#/$defs/X`) at the components
    /// they are embedded as.
    fn embed_refs(v: &Value) -> Value {
        match v {
            Value::Object(map) => Value::Object(
                map.iter()
                    .map(|(k, child)| match (k.as_str(), child.as_str()) {
                        ("$ref", Some(r)) if r.starts_with("#/$defs/") => {
                            let def = &r["#/$defs/".len()..];
                            (
                                k.clone(),
                                Value::String(format!(
                                    "#/components/schemas/{}",
                                    embedded_name(def)
                                )),
                            )
                        }
                        _ => (k.clone(), embed_refs(child)),
                    })
                    .collect(),
            ),
            Value::Array(items) => Value::Array(items.iter().map(embed_refs).collect()),
            other => other.clone(),
        }
    }

    /// The component a definition of `docs/automation.schema.json` is
    /// embedded as: `Automation` + its name, except the two the API
    /// already had under their own names.
    fn embedded_name(def: &str) -> String {
        match def {
            "RunMode" | "ConnectionRef" => def.to_string(),
            other => format!("Automation{other}"),
        }
    }

    /// The automation document's schema, generated from the engine's types
    /// (`docs/automation.schema.json`), is embedded in the document, so
    /// that a client (and schemathesis) sees every block type and field:
    /// each definition equal but for where its `$ref`s point, and
    /// `AutomationDocument` with exactly the document's fields.
    #[test]
    fn automation_schema_is_embedded() {
        let doc = doc();
        let generated = weft_host::automation::document::json_schema();
        let schemas = &doc["components"]["schemas"];
        let defs = generated["$defs"].as_object().expect("$defs");
        assert!(defs.len() > 10, "{defs:?}");
        for (def, schema) in defs {
            // Hand-kept and tighter than the engine's type: `auth_kind` is
            // one of the `AuthKind`s (or empty), not any string.
            if def == "ConnectionRef" {
                continue;
            }
            let name = embedded_name(def);
            let mut embedded = schemas[&name].clone();
            if def == "RunMode"
                && let Some(map) = embedded.as_object_mut()
            {
                // The API's RunMode keeps its own description.
                map.remove("description");
            }
            assert_eq!(
                embedded,
                embed_refs(schema),
                "components.schemas.{name} is not docs/automation.schema.json's $defs.{def}; \
                 copy it over with its $refs pointing at #/components/schemas/Automation…"
            );
        }
        let document = &schemas["AutomationDocument"];
        let fields = |v: &Value| -> BTreeSet<String> {
            v["properties"]
                .as_object()
                .map(|p| p.keys().cloned().collect())
                .unwrap_or_default()
        };
        assert_eq!(
            fields(document),
            fields(&generated),
            "AutomationDocument's fields"
        );
        assert_eq!(
            document["required"], generated["required"],
            "AutomationDocument's required fields"
        );
        // The identifier rule is stated wherever a user picks an id.
        let rule = "^[A-Za-z0-9_-]{1,64}$";
        assert_eq!(generated["properties"]["id"]["pattern"], rule);
        assert_eq!(document["properties"]["id"]["pattern"], rule);
        assert_eq!(defs["Block"]["properties"]["id"]["pattern"], rule);
        assert_eq!(defs["Edge"]["properties"]["from"]["pattern"], rule);
        assert_eq!(
            generated["properties"]["variables"]["propertyNames"]["pattern"],
            rule
        );
    }

    #[test]
    fn argument_scanner() {
        let src = r#"x(StatusCode::CONFLICT, "a_b", format!("{}, {}", f(1, 2), "x")) y"#;
        assert_eq!(
            first_two_args(src, 2),
            ("StatusCode::CONFLICT".into(), Some("\"a_b\"".into()))
        );
        assert_eq!(
            first_two_args("x(e.status(), \"bad\")", 2),
            ("e.status()".into(), Some("\"bad\"".into()))
        );
        assert_eq!(first_two_args("x(only)", 2), ("only".into(), None));
    }
}
