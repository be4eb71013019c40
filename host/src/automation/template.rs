//! Field mapping: Qlik-style references and formulas inside block inputs.
//!
//! - `{$.GetUsers.body.items[0].name}` — a block's output (dot and index
//!   paths); `{$.Start.x}` is the trigger payload; `{$.name}` a variable;
//!   `{$.MyLoop.item}` / `{$.MyLoop.index}` an enclosing loop's item.
//! - `{item}`, `{item.email}` — the innermost loop's item.
//! - `{uppercase: $.x}`, `{default: $.x, 'n/a'}`, `{date: item.at, '%Y-%m-%d'}`
//!   — formulas (see [`super::formula`]); arguments are references, quoted
//!   text, numbers, `true`/`false`/`null` or nested `{…}`.
//!
//! A string that is exactly one `{…}` keeps the JSON type of what it
//! yields; `{…}` embedded in text is stringified. Braces that do not form a
//! reference or formula (JSON text, `{curly}` prose) are kept literally.
//! A `{name: …}` whose name is no formula is parsed as a formula call, so
//! validation reports it with a "did you mean" hint, when it has a
//! reference or nested formula among its arguments or its name is close
//! to a formula's (`{upercase: $.x}`, `{lenght: 'abc'}`); otherwise
//! (`{margin: 0}` in CSS) it is text.
//! Templates are parsed once, at validation, into this AST.

use super::bounds::{EvalBounds, EvalError, Measure, string_len};
use super::formula;
use super::nesting::{Nesting, json_depth_within, json_too_deep};
use serde_json::Value;
use weft_conditions::{PathSegment, get_path, split_path};

mod parse;
use parse::parse_string;

#[derive(Debug, Clone, PartialEq)]
pub enum Template {
    /// No references anywhere below: used as is.
    Literal(Value),
    /// A string that is exactly one expression: keeps the result's type.
    Whole(Expr),
    /// Text with embedded expressions: the result is a string.
    Text(Vec<Part>),
    Array(Vec<Template>),
    Object(Vec<Field>),
}

/// One member of an object template.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The member's name as written (`total` or `{item.category}`).
    pub name: String,
    /// The name's expressions when it has any: `{"{item.category}": …}`
    /// makes a member per category. `None` for a plain name.
    pub key: Option<Template>,
    pub value: Template,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Text(String),
    Expr(Expr),
}

#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Ref(Reference),
    Formula { name: String, args: Vec<Arg> },
}

#[derive(Debug, Clone, PartialEq)]
pub enum Arg {
    Expr(Expr),
    Literal(Value),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    pub root: RefRoot,
    /// The path below the root, as written (`body.items[0]`).
    pub path: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RefRoot {
    /// `$.Name…`: a block, a variable, or `Start`.
    Named(String),
    /// `item…`: the innermost loop's item.
    Item,
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sep = if self.path.is_empty() || self.path.starts_with('[') {
            ""
        } else {
            "."
        };
        match &self.root {
            RefRoot::Named(n) => write!(f, "$.{n}{sep}{}", self.path),
            RefRoot::Item => write!(f, "item{sep}{}", self.path),
        }
    }
}

/// What references resolve against during a run.
pub trait Scope {
    /// The value of `$.name` (block output, variable, `Start`, or loop
    /// `{item, index}`), or an explanation of why there is none.
    fn named(&self, name: &str) -> Result<&Value, String>;
    /// The innermost loop item.
    fn item(&self) -> Result<&Value, String>;
}

impl Template {
    /// Parse every string inside `value`, within the default [`Nesting`].
    pub fn parse(value: &Value) -> Result<Template, String> {
        Self::parse_with(value, &Nesting::default())
    }

    /// Parse every string inside `value`; deeper JSON than
    /// `nesting.max_json_depth` or formulas nested deeper than
    /// `nesting.max_formula_depth` are errors, found before any recursion
    /// could go that deep.
    pub fn parse_with(value: &Value, nesting: &Nesting) -> Result<Template, String> {
        if json_depth_within(value, nesting.max_json_depth).is_none() {
            return Err(json_too_deep(nesting.max_json_depth));
        }
        Self::parse_value(value, nesting.max_formula_depth)
    }

    /// Recurses once per JSON level: bounded by the check above.
    fn parse_value(value: &Value, max_formula_depth: usize) -> Result<Template, String> {
        let t = match value {
            Value::String(s) => parse_string(s, max_formula_depth)?,
            Value::Array(items) => {
                let parts = items
                    .iter()
                    .map(|v| Template::parse_value(v, max_formula_depth))
                    .collect::<Result<Vec<_>, _>>()?;
                if parts.iter().all(|p| matches!(p, Template::Literal(_))) {
                    Template::Literal(value.clone())
                } else {
                    Template::Array(parts)
                }
            }
            Value::Object(map) => {
                let parts = map
                    .iter()
                    .map(|(k, v)| {
                        let key = match parse_string(k, max_formula_depth)
                            .map_err(|e| format!("in the name {k:?}: {e}"))?
                        {
                            Template::Literal(_) => None,
                            computed => Some(computed),
                        };
                        Ok(Field {
                            name: k.clone(),
                            key,
                            value: Template::parse_value(v, max_formula_depth)?,
                        })
                    })
                    .collect::<Result<Vec<_>, String>>()?;
                if parts
                    .iter()
                    .all(|f| f.key.is_none() && matches!(f.value, Template::Literal(_)))
                {
                    Template::Literal(value.clone())
                } else {
                    Template::Object(parts)
                }
            }
            other => Template::Literal(other.clone()),
        };
        Ok(t)
    }

    pub fn is_literal(&self) -> bool {
        matches!(self, Template::Literal(_))
    }

    /// Every reference, with the JSON-pointer-ish path of where it sits.
    pub fn references(&self) -> Vec<&Reference> {
        let mut out = Vec::new();
        self.collect_refs(&mut out);
        out
    }

    fn collect_refs<'a>(&'a self, out: &mut Vec<&'a Reference>) {
        match self {
            Template::Literal(_) => {}
            Template::Whole(e) => e.collect_refs(out),
            Template::Text(parts) => {
                for p in parts {
                    if let Part::Expr(e) = p {
                        e.collect_refs(out);
                    }
                }
            }
            Template::Array(items) => items.iter().for_each(|t| t.collect_refs(out)),
            Template::Object(fields) => fields.iter().for_each(|f| {
                if let Some(key) = &f.key {
                    key.collect_refs(out);
                }
                f.value.collect_refs(out);
            }),
        }
    }

    /// Formulas used, for arity checks at validation.
    pub fn formulas(&self) -> Vec<(&str, usize)> {
        let mut out = Vec::new();
        self.visit_exprs(&mut |e| {
            if let Expr::Formula { name, args } = e {
                out.push((name.as_str(), args.len()));
            }
        });
        out
    }

    fn visit_exprs<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        match self {
            Template::Literal(_) => {}
            Template::Whole(e) => e.visit(f),
            Template::Text(parts) => parts.iter().for_each(|p| {
                if let Part::Expr(e) = p {
                    e.visit(f)
                }
            }),
            Template::Array(items) => items.iter().for_each(|t| t.visit_exprs(f)),
            Template::Object(fields) => fields.iter().for_each(|field| {
                if let Some(key) = &field.key {
                    key.visit_exprs(f);
                }
                field.value.visit_exprs(f);
            }),
        }
    }

    /// Resolve against `scope` within the default [`EvalBounds`]. Errors
    /// name the expression that failed.
    pub fn eval(&self, scope: &dyn Scope) -> Result<Value, String> {
        self.eval_bounded(scope, &EvalBounds::default())
            .map(|(v, _)| v)
            .map_err(|e| e.to_string())
    }

    /// Resolve against `scope`; every value produced on the way (a
    /// reference, a formula's result, text, an array or object) is checked
    /// against `bounds` as it is made, and the run's stop and deadline
    /// before each formula. Returns the value and its measure.
    pub fn eval_bounded(
        &self,
        scope: &dyn Scope,
        bounds: &EvalBounds,
    ) -> Result<(Value, Measure), EvalError> {
        match self {
            Template::Literal(v) => {
                let m = bounds.check(v)?;
                Ok((v.clone(), m))
            }
            Template::Whole(e) => e.eval_bounded(scope, bounds),
            Template::Text(parts) => {
                let mut out = String::new();
                for p in parts {
                    match p {
                        Part::Text(t) => out.push_str(t),
                        Part::Expr(e) => {
                            out.push_str(&stringify(&e.eval_bounded(scope, bounds)?.0))
                        }
                    }
                    if out.len() > bounds.max_value_bytes {
                        return Err(EvalError::Failed(bounds.too_large(out.len())));
                    }
                }
                let v = Value::String(out);
                let m = bounds.check(&v)?;
                Ok((v, m))
            }
            Template::Array(items) => {
                let mut total = Measure {
                    bytes: 2 + items.len().saturating_sub(1),
                    depth: 1,
                };
                let mut values = Vec::with_capacity(items.len());
                for t in items {
                    let (v, m) = t.eval_bounded(scope, bounds)?;
                    total = grow(total, m, 0, bounds)?;
                    values.push(v);
                }
                Ok((Value::Array(values), total))
            }
            Template::Object(fields) => {
                let mut total = Measure {
                    bytes: 2 + fields.len().saturating_sub(1),
                    depth: 1,
                };
                let mut map = serde_json::Map::with_capacity(fields.len());
                for field in fields {
                    let name = match &field.key {
                        None => field.name.clone(),
                        Some(key) => member_name(&field.name, key.eval_bounded(scope, bounds)?.0)?,
                    };
                    let (v, m) = field.value.eval_bounded(scope, bounds)?;
                    total = grow(total, m, string_len(&name) + 1, bounds)?;
                    // A computed name that repeats another: the later
                    // member wins, as in a merge.
                    map.insert(name, v);
                }
                Ok((Value::Object(map), total))
            }
        }
    }
}

/// A container's measure with one more element of measure `m` (and
/// `extra` bytes, an object key), checked against `bounds`.
fn grow(
    total: Measure,
    m: Measure,
    extra: usize,
    bounds: &EvalBounds,
) -> Result<Measure, EvalError> {
    let bytes = total.bytes.saturating_add(m.bytes).saturating_add(extra);
    let depth = total.depth.max(m.depth + 1);
    if bytes > bounds.max_value_bytes {
        return Err(EvalError::Failed(bounds.too_large(bytes)));
    }
    if depth > bounds.max_json_depth {
        return Err(EvalError::Failed(json_too_deep(bounds.max_json_depth)));
    }
    Ok(Measure { bytes, depth })
}

/// How a value reads inside text: strings as they are, null as nothing,
/// everything else as JSON.
/// A computed member name: text as is, numbers and booleans as written;
/// null, lists and objects are errors naming the member as written.
fn member_name(written: &str, value: Value) -> Result<String, EvalError> {
    match value {
        Value::String(s) => Ok(s),
        Value::Number(_) | Value::Bool(_) => Ok(value.to_string()),
        other => Err(EvalError::Failed(format!(
            "the member name {written:?} is {}, not text; a name must be text, a number or true/false",
            match other {
                Value::Null => "null",
                Value::Array(_) => "a list",
                _ => "an object",
            }
        ))),
    }
}

pub fn stringify(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

impl Expr {
    fn collect_refs<'a>(&'a self, out: &mut Vec<&'a Reference>) {
        self.visit(&mut |e| {
            if let Expr::Ref(r) = e {
                out.push(r);
            }
        });
    }

    fn visit<'a>(&'a self, f: &mut impl FnMut(&'a Expr)) {
        f(self);
        if let Expr::Formula { args, .. } = self {
            for a in args {
                if let Arg::Expr(e) = a {
                    e.visit(f);
                }
            }
        }
    }

    /// Resolve within `bounds` (see [`Template::eval_bounded`]).
    pub fn eval_bounded(
        &self,
        scope: &dyn Scope,
        bounds: &EvalBounds,
    ) -> Result<(Value, Measure), EvalError> {
        match self {
            Expr::Ref(r) => {
                let root = match &r.root {
                    RefRoot::Named(n) => scope.named(n),
                    RefRoot::Item => scope.item(),
                }
                .map_err(|why| format!("{{{r}}}: {why}"))?;
                let found = get_path(root, &r.path)
                    .ok_or_else(|| format!("{{{r}}}: no value at path {:?}", r.path))?;
                // Measured before it is copied: a value too large or too
                // deep here is refused without the copy.
                let m = bounds.check(found).map_err(|e| format!("{{{r}}}: {e}"))?;
                Ok((found.clone(), m))
            }
            Expr::Formula { name, args } => {
                let mut values = Vec::with_capacity(args.len());
                for a in args {
                    values.push(match a {
                        Arg::Literal(v) => v.clone(),
                        // A missing value is an argument like any other for
                        // formulas such as `default`.
                        Arg::Expr(e) => match e.eval_bounded(scope, bounds) {
                            Ok((v, _)) => v,
                            Err(EvalError::Failed(_)) if formula::missing_is_null(name) => {
                                Value::Null
                            }
                            Err(err) => return Err(err),
                        },
                    });
                }
                bounds.interrupted()?;
                let v = formula::call_bounded(name, &values, bounds.max_value_bytes)
                    .map_err(|e| format!("{{{name}: …}}: {e}"))?;
                let m = bounds
                    .check(&v)
                    .map_err(|e| format!("{{{name}: …}}: {e}"))?;
                Ok((v, m))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use std::collections::HashMap;

    struct TestScope {
        named: HashMap<String, Value>,
        item: Option<Value>,
    }

    impl Scope for TestScope {
        fn named(&self, name: &str) -> Result<&Value, String> {
            self.named
                .get(name)
                .ok_or_else(|| format!("nothing named {name}"))
        }
        fn item(&self) -> Result<&Value, String> {
            self.item
                .as_ref()
                .ok_or_else(|| "not in a loop".to_string())
        }
    }

    fn scope() -> TestScope {
        TestScope {
            named: HashMap::from([
                (
                    "Get".to_string(),
                    json!({"body": {"items": [{"name": "ada", "n": 3}]}, "status": 200}),
                ),
                (
                    "Start".to_string(),
                    json!({"user": "Grace", "tags": ["a", "b"]}),
                ),
                ("count".to_string(), json!(7)),
            ]),
            item: Some(json!({"email": "x@y.z", "n": 2})),
        }
    }

    fn eval(v: Value) -> Result<Value, String> {
        Template::parse(&v)?.eval(&scope())
    }

    #[test]
    fn whole_references_keep_their_type() {
        assert_eq!(eval(json!("{$.Get.status}")), Ok(json!(200)));
        assert_eq!(
            eval(json!("{$.Get.body.items[0]}")),
            Ok(json!({"name": "ada", "n": 3}))
        );
        assert_eq!(eval(json!("{$.Start.tags}")), Ok(json!(["a", "b"])));
        assert_eq!(eval(json!("{item.n}")), Ok(json!(2)));
        assert_eq!(eval(json!("{ $.count }")), Ok(json!(7)));
    }

    #[test]
    fn embedded_references_are_stringified() {
        assert_eq!(
            eval(json!("Hi {$.Start.user}, {$.count} new")),
            Ok(json!("Hi Grace, 7 new"))
        );
        assert_eq!(
            eval(json!("tags={$.Start.tags}")),
            Ok(json!("tags=[\"a\",\"b\"]"))
        );
        assert_eq!(
            eval(json!({"to": "{item.email}", "list": ["{$.count}", 1]})),
            Ok(json!({"to": "x@y.z", "list": [7, 1]}))
        );
    }

    #[test]
    fn braces_in_data_do_not_break_parsing() {
        assert_eq!(eval(json!("{\"a\": 1}")), Ok(json!("{\"a\": 1}")));
        assert_eq!(
            eval(json!("set {curly} braces {")),
            Ok(json!("set {curly} braces {"))
        );
        assert_eq!(eval(json!("{} and {$.count}")), Ok(json!("{} and 7")));
        assert!(
            Template::parse(&json!("{items}"))
                .expect("parse")
                .is_literal()
        );
    }

    #[test]
    fn formulas_nest() {
        assert_eq!(eval(json!("{uppercase: $.Start.user}")), Ok(json!("GRACE")));
        assert_eq!(
            eval(json!("{lowercase: {uppercase: $.Start.user}}")),
            Ok(json!("grace"))
        );
        assert_eq!(
            eval(json!("{default: $.Start.missing, 'fallback'}")),
            Ok(json!("fallback"))
        );
        assert_eq!(eval(json!("{count: $.Start.tags}")), Ok(json!(2)));
        assert_eq!(
            eval(json!("{json: $.Start.tags}")),
            Ok(json!("[\"a\",\"b\"]"))
        );
        assert_eq!(
            eval(json!("{date: '2024-05-01T10:00:00Z', '%d.%m.%Y'}")),
            Ok(json!("01.05.2024"))
        );
        assert_eq!(
            eval(json!("n={default: $.nope.x, 'it'}")),
            Ok(json!("n=it"))
        );
    }

    #[test]
    fn missing_paths_are_clear_errors() {
        let err = eval(json!("{$.Get.body.nope}")).expect_err("missing");
        assert!(
            err.contains("$.Get.body.nope") && err.contains("no value"),
            "{err}"
        );
        let err = eval(json!("{$.Ghost.x}")).expect_err("unknown root");
        assert!(err.contains("nothing named Ghost"), "{err}");
        let err = Template::parse(&json!("{uppercase: 'unterminated}")).expect_err("bad formula");
        assert!(err.contains("unterminated"), "{err}");
    }

    #[test]
    fn references_are_collected() {
        let t = Template::parse(
            &json!({"a": "{$.Get.status}", "b": ["x {item.email}", "{default: $.count, 1}"]}),
        )
        .expect("parse");
        let refs: Vec<String> = t.references().iter().map(|r| r.to_string()).collect();
        assert_eq!(refs, ["$.Get.status", "item.email", "$.count"]);
    }
}
