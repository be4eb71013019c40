//! The formulas available in field mappings (`{uppercase: $.x}`), in one
//! table: every formula is a [`Formula`] row in its family's module
//! ([`math`], [`text`], [`encode`], [`dates`], [`lists`], [`objects`],
//! [`logic`]), and [`FAMILIES`] lists those modules' tables. Validation
//! ([`check`]), evaluation ([`call_bounded`]), the "did you mean" hint and
//! the reference page `docs/formulas.md` ([`docs`]) all read these rows, so
//! adding a formula is adding a row, with its description and examples;
//! the tests evaluate every example through the template path and keep
//! the reference page in step.
//!
//! Formulas run in the host, outside any sandbox, so each one is bounded
//! like the rest of host-side evaluation: a formula whose result can be
//! much larger than its arguments (`padleft`, `replace`, `repeat`,
//! `chunk`, `json`, …) computes the size first and refuses a result larger
//! than `max_value_bytes` before building it ([`Limits`]); every result is
//! measured again by the caller. Nothing loops more than its input's size:
//! regular expressions are compiled with size limits and run in linear
//! time ([`text`]).

pub mod dates;
pub mod docs;
pub mod encode;
pub mod lists;
pub mod logic;
pub mod math;
pub mod objects;
pub mod text;

#[cfg(test)]
mod tests;

use serde_json::Value;

/// One formula: what validation, evaluation and the docs know about it.
pub struct Formula {
    /// The name written in templates: `{name: …}`.
    pub name: &'static str,
    /// Other names that work the same (Qlik's spelling, or an older one).
    pub aliases: &'static [&'static str],
    /// Fewest and most arguments.
    pub min: usize,
    pub max: usize,
    /// The arguments as the docs show them (`text, start, length?`).
    pub args: &'static str,
    /// One line: what it returns.
    pub description: &'static str,
    /// `(arguments as a JSON array, result as JSON)`, evaluated by the
    /// tests exactly as written here.
    pub examples: &'static [(&'static str, &'static str)],
    /// An argument that refers to nothing (a missing path) is passed as
    /// `null` instead of failing the formula: `default`, `coalesce`, `if`.
    pub missing_is_null: bool,
    pub eval: fn(&[Value], &Limits) -> Result<Value, String>,
}

/// What a formula may produce.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// The largest result, as JSON text (`max_value_bytes`).
    pub max_bytes: usize,
}

impl Limits {
    /// Refuse a result of `at_least` bytes when it is over the cap.
    pub fn allow(&self, at_least: usize) -> Result<(), String> {
        if at_least > self.max_bytes {
            Err(format!(
                "the result would be at least {at_least} bytes, more than the limit of {} bytes (max_value_bytes)",
                self.max_bytes
            ))
        } else {
            Ok(())
        }
    }
}

/// The families, in the order the docs show them, with their rows.
pub const FAMILIES: &[(&str, &[Formula])] = &[
    ("Math", math::FORMULAS),
    ("Text", text::FORMULAS),
    ("Encoding and hashing", encode::FORMULAS),
    ("Dates", dates::FORMULAS),
    ("Lists", lists::FORMULAS),
    ("Objects", objects::FORMULAS),
    ("Conditionals and conversion", logic::FORMULAS),
];

/// Every formula, family by family.
pub fn all() -> impl Iterator<Item = &'static Formula> {
    FAMILIES.iter().flat_map(|(_, rows)| rows.iter())
}

/// The formula called `name` (or one of its aliases), in any case:
/// Qlik writes some names in camel case (`capitalizeName`).
pub fn find(name: &str) -> Option<&'static Formula> {
    let is = |known: &&str| known.eq_ignore_ascii_case(name);
    all().find(|f| is(&f.name) || f.aliases.iter().any(is))
}

pub fn exists(name: &str) -> bool {
    find(name).is_some()
}

/// Whether a missing reference is passed to `name` as `null`.
pub fn missing_is_null(name: &str) -> bool {
    find(name).is_some_and(|f| f.missing_is_null)
}

/// The known name closest to `name`, when one is close enough to be what
/// the writer meant (`upercase` → `uppercase`, `Substring` → `substring`).
/// Short names need a closer match: `{a: 1}` suggests nothing.
pub fn suggest(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    let len = lower.chars().count();
    all()
        .flat_map(|f| std::iter::once(f.name).chain(f.aliases.iter().copied()))
        .filter_map(|known| {
            let edits = strsim::damerau_levenshtein(&lower, known);
            let similar = strsim::jaro_winkler(&lower, known);
            let close = edits <= 1 || (len >= 5 && edits <= 2) || (len >= 4 && similar >= 0.9);
            close.then_some((edits, known))
        })
        .min_by_key(|(edits, _)| *edits)
        .map(|(_, known)| known)
}

/// Why `name` is not a formula, with the closest known name.
pub fn unknown(name: &str) -> String {
    match suggest(name) {
        Some(hint) => format!("unknown formula {name:?}; did you mean `{hint}`?"),
        None => format!("unknown formula {name:?}; the formulas are listed in docs/formulas.md"),
    }
}

/// Check a formula's name and argument count.
pub fn check(name: &str, args: usize) -> Result<&'static Formula, String> {
    let f = find(name).ok_or_else(|| unknown(name))?;
    let (min, max) = (f.min, f.max);
    if args < min || args > max {
        return Err(if min == max {
            format!("formula {name} takes {min} argument(s), got {args}")
        } else {
            format!("formula {name} takes {min} to {max} arguments, got {args}")
        });
    }
    Ok(f)
}

/// Apply formula `name` to already-evaluated arguments, refusing a result
/// larger than `max_bytes` (as JSON text) before building it where it can
/// outgrow its arguments. The caller measures every result again.
pub fn call_bounded(name: &str, args: &[Value], max_bytes: usize) -> Result<Value, String> {
    let f = check(name, args.len())?;
    (f.eval)(args, &Limits { max_bytes })
}

/// Apply formula `name` within the default `max_value_bytes`.
pub fn call(name: &str, args: &[Value]) -> Result<Value, String> {
    call_bounded(name, args, super::bounds::DEFAULT_MAX_VALUE_BYTES)
}

/// How a value reads as text: strings as they are, null as nothing,
/// everything else as JSON.
pub(crate) fn text(v: &Value) -> String {
    super::template::stringify(v)
}

/// The length of `v` as text, without building the text for strings.
pub(crate) fn text_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Null => 0,
        other => other.to_string().len(),
    }
}

/// The JSON text size of `v`, stopping at the cap.
pub(crate) fn json_size(v: &Value, limits: &Limits) -> Result<usize, String> {
    super::bounds::measure(v, limits.max_bytes, usize::MAX)
        .map(|m| m.bytes)
        .map_err(|e| format!("the result: {e}"))
}

/// An argument that must be a whole number (a count, a length, a
/// position), within `i64`.
pub(crate) fn integer(v: &Value, what: &str) -> Result<i64, String> {
    let x =
        weft_conditions::as_number(v).ok_or_else(|| format!("{what} must be a number, got {v}"))?;
    if x.fract() != 0.0 || x.abs() > 9_007_199_254_740_992.0 {
        return Err(format!("{what} must be a whole number, got {v}"));
    }
    Ok(x as i64)
}

/// An argument that must be a list.
pub(crate) fn list<'a>(v: &'a Value, what: &str) -> Result<&'a [Value], String> {
    v.as_array()
        .map(Vec::as_slice)
        .ok_or_else(|| format!("{what} must be a list, got {}", excerpt_json(v)))
}

/// `v` as JSON text, cut for an error message.
pub(crate) fn excerpt_json(v: &Value) -> String {
    let mut s = match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    if s.len() > 60 {
        let mut end = 57;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
        s.push_str("...");
    }
    s
}

/// A JSON number, as an integer when it is whole.
pub fn json_number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}
