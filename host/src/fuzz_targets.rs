//! Entry points for fuzzing. Each takes arbitrary bytes, drives one
//! parser or validator the way untrusted input reaches it, and panics only
//! when an invariant breaks (any panic, hang or stack overflow is a
//! finding). The libFuzzer targets in `fuzz/` call these, and so does the
//! stable test `host/tests/fuzz_targets.rs` (seed corpus plus seeded
//! mutations, bounded), so CI exercises them without a nightly toolchain.
//! See `fuzz/README.md`.

use crate::automation::plan::{self, Catalog};
use crate::automation::template::{Scope, Template};
use crate::connector_set::VersionPin;
use crate::manifest::{AuthKind, BlockSpec, Manifest};
use crate::outbound_http::allow_list::{AllowList, HostPattern};
use crate::scrub::{self, SecretValues};
use serde_json::{Value, json};

/// Connectors the automation target validates against: one with a block
/// whose input has a schema, one that accepts anything.
struct FuzzCatalog(Vec<Manifest>);

fn fuzz_manifest(id: &str, block: &str, schema: Value) -> Manifest {
    Manifest {
        id: id.into(),
        version: "1.0.0".into(),
        display_name: id.into(),
        description: String::new(),
        contract: "0.1.0".into(),
        blocks: vec![BlockSpec {
            id: block.into(),
            name: block.into(),
            description: String::new(),
            input_schema: schema,
            output_schema: json!(true),
        }],
        hosts: Vec::new(),
        auth: vec![AuthKind::None],
    }
}

impl Catalog for FuzzCatalog {
    fn manifest(&self, connector: &str, pin: Option<&VersionPin>) -> Option<&Manifest> {
        self.0.iter().find(|m| {
            m.id == connector
                && pin
                    .is_none_or(|p| semver::Version::parse(&m.version).is_ok_and(|v| p.matches(&v)))
        })
    }

    fn versions_of(&self, connector: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|m| m.id == connector)
            .map(|m| m.version.clone())
            .collect()
    }

    fn connector_ids(&self) -> Vec<String> {
        self.0.iter().map(|m| m.id.clone()).collect()
    }
}

/// An automation document: parsed as JSON, then validated into a plan.
pub fn automation(data: &[u8]) {
    let Ok(document) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let catalog = FuzzCatalog(vec![
        fuzz_manifest(
            "http",
            "request",
            json!({"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]}),
        ),
        fuzz_manifest("lists", "transform", json!(true)),
    ]);
    match plan::compile_json(&document, &catalog) {
        Ok(plan) => assert!(!plan.nodes.is_empty(), "a valid plan has its start block"),
        Err(errors) => {
            assert!(!errors.0.is_empty(), "a refusal says why");
            let _ = errors.to_string();
        }
    }
}

/// What references resolve to in the template target.
struct FuzzScope {
    named: Value,
    item: Value,
}

impl Scope for FuzzScope {
    fn named(&self, name: &str) -> Result<&Value, String> {
        self.named.get(name).ok_or_else(|| format!("no {name}"))
    }

    fn item(&self) -> Result<&Value, String> {
        Ok(&self.item)
    }
}

/// A field mapping: the text as one template string (and, when it is
/// JSON, as a whole input), parsed and evaluated.
pub fn template(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut inputs = vec![Value::String(text.to_string())];
    if let Ok(v) = serde_json::from_str::<Value>(text) {
        inputs.push(v);
    }
    let scope = FuzzScope {
        named: json!({
            "Start": {"name": "Ada", "n": 3, "items": [1, 2.5, "x", null, {"a": [true]}], "at": "2024-05-06T07:08:09Z"},
            "Prev": {"body": {"items": [{"name": "a"}, {"name": "b"}]}, "text": " Mixed Case "},
            "var": [1, 2, 3],
        }),
        item: json!({"email": "a@b.c", "n": 1.5}),
    };
    for input in inputs {
        let Ok(t) = Template::parse(&input) else {
            continue;
        };
        for r in t.references() {
            let _ = r.to_string();
        }
        for (name, args) in t.formulas() {
            let _ = crate::automation::formula::check(name, args);
        }
        match t.eval(&scope) {
            Ok(v) => {
                let _ = crate::automation::template::stringify(&v);
            }
            Err(e) => assert!(!e.is_empty(), "an evaluation error says why"),
        }
    }
}

/// Allow-list entries, one per line: parsed as a list and one by one; a
/// parsed pattern prints as text that parses back to the same pattern.
pub fn allow_list(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let entries: Vec<&str> = text.lines().collect();
    let list = AllowList::parse(&entries);
    let urls: Vec<url::Url> = [
        "http://example.com/",
        "https://api.example.com:8443/x",
        "http://127.0.0.1:8080/",
        "https://[::1]/",
    ]
    .iter()
    .filter_map(|u| url::Url::parse(u).ok())
    .collect();
    for entry in &entries {
        if let Ok(p) = HostPattern::parse(entry) {
            let shown = p.to_string();
            let again = HostPattern::parse(&shown)
                .unwrap_or_else(|e| panic!("{entry:?} printed as {shown:?}, which fails: {e}"));
            assert_eq!(again, p, "{entry:?} printed as {shown:?}");
            for u in &urls {
                let _ = p.matches(u);
            }
        }
    }
    if let Ok(list) = list {
        let _ = list.named_ips();
        for u in &urls {
            let _ = list.allows(u);
        }
    }
}

/// A connector's self-description, as JSON shaped like the contract's
/// `manifest` record: converted and validated as at load, then each
/// block's input schema compiled as validation does.
pub fn manifest(data: &[u8]) {
    let Ok(v) = serde_json::from_slice::<Value>(data) else {
        return;
    };
    let Ok(m) = crate::contract::v0_1_0::manifest_from_json(&v) else {
        return;
    };
    if let Ok(manifest) = crate::contract::v0_1_0::manifest(m) {
        for block in &manifest.blocks {
            if let Ok(validator) = jsonschema::validator_for(&block.input_schema) {
                let _ = validator.is_valid(&json!({"url": "https://x", "n": 1}));
            }
        }
        for h in &manifest.hosts {
            let shown = h.to_string();
            let _ = HostPattern::parse(&shown);
        }
    }
}

/// Scrubbing: the first line is a secret, the rest the text. Never
/// panics; leaves no raw secret behind (when the secret shares no
/// character with `[redacted]`, which could otherwise spell it anew).
pub fn scrub(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (secret, rest) = text.split_once('\n').unwrap_or((text, ""));
    let mut secrets = SecretValues::default();
    secrets.add(secret);
    for content_type in [
        None,
        Some("application/json"),
        Some("application/x-www-form-urlencoded"),
    ] {
        let out = scrub::scrub_body(content_type, rest.as_bytes(), &secrets);
        let clean = !secret.is_empty() && !secret.chars().any(|c| "[redacted]".contains(c));
        if clean && content_type.is_none() {
            let haystack = String::from_utf8_lossy(&out);
            assert!(
                !haystack.contains(secret),
                "{secret:?} left in {haystack:?}"
            );
        }
    }
    let mut v = Value::String(rest.to_string());
    scrub::scrub_json(&mut v, &secrets);
}
