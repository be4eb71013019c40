//! The table's own checks (every example, evaluated through the template
//! path), and the edge cases and hostile inputs formulas must survive.

use super::*;
use crate::automation::bounds::EvalBounds;
use crate::automation::plan::{self, Catalog};
use crate::automation::template::{Scope, Template};
use serde_json::json;
use std::collections::HashMap;

struct Values(HashMap<String, Value>);

impl Scope for Values {
    fn named(&self, name: &str) -> Result<&Value, String> {
        self.0
            .get(name)
            .ok_or_else(|| format!("nothing named {name}"))
    }
    fn item(&self) -> Result<&Value, String> {
        Err("not in a loop".into())
    }
}

/// `{name: $.A0, $.A1, …}` with `args` behind the references, evaluated
/// by the template evaluator within `max_bytes`.
fn through_template(name: &str, args: &[Value], max_bytes: usize) -> Result<Value, String> {
    let refs: Vec<String> = (0..args.len()).map(|i| format!("$.A{i}")).collect();
    let source = if refs.is_empty() {
        format!("{{{name}}}")
    } else {
        format!("{{{name}: {}}}", refs.join(", "))
    };
    let scope = Values(
        args.iter()
            .enumerate()
            .map(|(i, v)| (format!("A{i}"), v.clone()))
            .collect(),
    );
    let template = Template::parse(&json!(source))?;
    assert!(
        !template.is_literal(),
        "{source} did not parse as a formula"
    );
    let bounds = EvalBounds {
        max_value_bytes: max_bytes,
        ..EvalBounds::default()
    };
    template
        .eval_bounded(&scope, &bounds)
        .map(|(v, _)| v)
        .map_err(|e| e.to_string())
}

fn eval(name: &str, args: Value) -> Result<Value, String> {
    let Value::Array(args) = args else {
        panic!("arguments are a JSON array")
    };
    through_template(name, &args, bounds::DEFAULT_MAX_VALUE_BYTES)
}

fn eval_within(name: &str, args: Value, max_bytes: usize) -> Result<Value, String> {
    let Value::Array(args) = args else {
        panic!("arguments are a JSON array")
    };
    through_template(name, &args, max_bytes)
}

use super::super::bounds;

#[test]
fn every_example_evaluates_to_its_result_through_the_template_path() {
    let mut checked = 0;
    for f in all() {
        assert!(!f.examples.is_empty(), "{} has no example", f.name);
        for (args, expected) in f.examples {
            let args: Vec<Value> = serde_json::from_str(args)
                .unwrap_or_else(|e| panic!("{}: example arguments {args}: {e}", f.name));
            let expected: Value = serde_json::from_str(expected)
                .unwrap_or_else(|e| panic!("{}: example result {expected}: {e}", f.name));
            assert!(
                (f.min..=f.max).contains(&args.len()),
                "{}: example has {} arguments",
                f.name,
                args.len()
            );
            let got = through_template(f.name, &args, bounds::DEFAULT_MAX_VALUE_BYTES);
            assert_eq!(got, Ok(expected.clone()), "{} {args:?}", f.name);
            for alias in f.aliases {
                let got = through_template(alias, &args, bounds::DEFAULT_MAX_VALUE_BYTES);
                assert_eq!(got, Ok(expected.clone()), "alias {alias} of {}", f.name);
            }
            checked += 1;
        }
    }
    assert!(checked >= 100, "only {checked} examples");
}

#[test]
fn names_are_unique_and_arities_sane() {
    let mut seen = std::collections::HashSet::new();
    for f in all() {
        assert!(f.min <= f.max, "{}", f.name);
        assert!(
            !f.description.is_empty() && !f.args.is_empty(),
            "{}",
            f.name
        );
        for n in std::iter::once(f.name).chain(f.aliases.iter().copied()) {
            assert!(seen.insert(n), "{n} is defined twice");
            assert!(
                n.chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
                "{n}: templates parse lowercase names"
            );
        }
    }
}

#[test]
fn the_formulas_the_issue_asks_for_exist() {
    for name in [
        "add",
        "subtract",
        "multiply",
        "divide",
        "mod",
        "ceil",
        "floor",
        "abs",
        "min",
        "max",
        "round",
        "substr",
        "replace",
        "length",
        "startswith",
        "endswith",
        "padleft",
        "padright",
        "capitalize",
        "regexmatch",
        "regexreplace",
        "urlencode",
        "urldecode",
        "htmlencode",
        "htmldecode",
        "base64encode",
        "base64decode",
        "md5",
        "sha1",
        "sha256",
        "now",
        "dateadd",
        "datesubtract",
        "datediff",
        "startofday",
        "endofday",
        "startofweek",
        "endofweek",
        "startofmonth",
        "endofmonth",
        "date",
        "dateparse",
        "isoweek",
        "pluck",
        "sum",
        "avg",
        "unique",
        "sort",
        "first",
        "last",
        "flatten",
        "chunk",
        "indexof",
        "contains",
        "keys",
        "values",
        "merge",
        "pick",
        "omit",
        "if",
        "coalesce",
        "text",
        "number",
        "boolean",
        "jsonparse",
        "uppercase",
        "lowercase",
        "trim",
        "count",
        "json",
        "default",
        "concat",
        "join",
        "split",
    ] {
        assert!(exists(name), "{name}");
    }
}

#[test]
fn decimal_arithmetic_is_exact_and_falls_back_past_its_range() {
    assert_eq!(eval("add", json!([0.1, 0.2])), Ok(json!(0.3)));
    assert_eq!(eval("subtract", json!([1, 0.9])), Ok(json!(0.1)));
    assert_eq!(eval("multiply", json!([1.1, 1.1])), Ok(json!(1.21)));
    assert_eq!(eval("sum", json!([[0.1, 0.1, 0.1]])), Ok(json!(0.3)));
    // Past Decimal's 28 digits: binary floating point, not an error.
    assert_eq!(eval("multiply", json!([1e300, 10])), Ok(json!(1e301)));
    assert_eq!(
        eval("multiply", json!([1e300, 1e300])),
        Err("{multiply: …}: the result is not a finite number".into())
    );
    // Large integers keep their digits.
    assert_eq!(
        eval("add", json!([9007199254740993_i64, 0])),
        Ok(json!(9007199254740993_i64))
    );
    assert_eq!(eval("number", json!([u64::MAX])), Ok(json!(u64::MAX)));
}

#[test]
fn dividing_by_zero_is_an_error_naming_the_formula() {
    for (name, args) in [("divide", json!([1, 0])), ("mod", json!([1, "0.0"]))] {
        let err = eval(name, args).expect_err("by zero");
        assert!(
            err.contains(name) && err.contains("division by zero"),
            "{err}"
        );
    }
    let err = eval("add", json!([1, "one"])).expect_err("text");
    assert!(err.contains("argument 2 must be a number"), "{err}");
}

#[test]
fn huge_padding_and_repeats_are_refused_before_they_are_built() {
    for (name, args) in [
        ("padleft", json!(["x", 9_000_000_000_000_i64, "ab"])),
        ("padright", json!(["x", 1_000_000, "é"])),
        ("repeat", json!(["abc", 9_000_000_000_000_i64])),
        ("replace", json!(["a".repeat(400), "a", "bbbbbbbbbb"])),
        ("urlencode", json!(["/".repeat(500)])),
        ("htmlencode", json!(["\"".repeat(300)])),
        ("base64encode", json!(["x".repeat(800)])),
        ("concat", json!(["x".repeat(600), "y".repeat(600)])),
    ] {
        let err = eval_within(name, args, 1000).expect_err(name);
        assert!(
            err.contains(&format!("{{{name}: …}}")) && err.contains("max_value_bytes"),
            "{name}: {err}"
        );
    }
    // Just under the cap is fine, and the sizes are exact.
    let padded = eval_within("padleft", json!(["x", 998, "ab"]), 1000).expect("fits");
    assert_eq!(padded.to_string().len(), 1000);
    assert!(eval_within("padleft", json!(["x", 999, "ab"]), 1000).is_err());
    assert_eq!(
        eval_within("repeat", json!(["ab", 499]), 1000).map(|v| v.to_string().len()),
        Ok(1000)
    );
    assert!(eval("repeat", json!(["ab", -1])).is_err());
    assert!(eval("padleft", json!(["ab", 5, ""])).is_err());
}

#[test]
fn regex_bombs_are_refused_and_matching_stays_linear() {
    // Compiles to far more than the size limit.
    let err = eval("regexmatch", json!(["a", "(a{1000}){1000}"])).expect_err("too big");
    assert!(err.contains("limit"), "{err}");
    let err = eval(
        "regexmatch",
        json!(["a", "a".repeat(text::MAX_PATTERN_BYTES + 1)]),
    )
    .expect_err("too long");
    assert!(err.contains("1024 bytes"), "{err}");
    let err = eval("regexreplace", json!(["a", "(", "x"])).expect_err("invalid");
    assert!(err.contains("not a valid pattern"), "{err}");
    // The classic catastrophic-backtracking pattern: linear here.
    let started = std::time::Instant::now();
    let subject = format!("{}!", "a".repeat(100_000));
    assert_eq!(
        eval("regexmatch", json!([subject, "^(a+)+$"])),
        Ok(json!(false))
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    // `$0` repeated in the replacement would multiply a long match.
    let err = eval_within(
        "regexreplace",
        json!(["a".repeat(400), "a+", "$0$0$0$0"]),
        1000,
    )
    .expect_err("expansion");
    assert!(err.contains("max_value_bytes"), "{err}");
    assert_eq!(
        eval("regexreplace", json!(["a1b22", "[0-9]+", "<$0>"])),
        Ok(json!("a<1>b<22>"))
    );
    assert_eq!(
        eval("regexextract", json!(["k=v", "(?P<key>\\w+)=", "key"])),
        Ok(json!("k"))
    );
    assert!(eval("regexextract", json!(["k=v", "(\\w+)", 5])).is_err());
}

#[test]
fn deep_and_wide_lists_stay_bounded() {
    // A list nested 40 deep, flattened "all the way": recursion follows
    // the value's (measured) depth, not the requested one.
    let mut deep = json!([1]);
    for _ in 0..40 {
        deep = json!([deep, 2]);
    }
    let flat = eval("flatten", json!([deep, 1_000_000])).expect("flatten");
    assert_eq!(flat.as_array().map(Vec::len), Some(41));
    // Chunks of one double a list of small items: refused up front.
    let items: Vec<Value> = (0..300).map(|_| json!(1)).collect();
    let err = eval_within("chunk", json!([items, 1]), 1000).expect_err("chunk");
    assert!(err.contains("max_value_bytes"), "{err}");
    assert!(eval("chunk", json!([[1], 0])).is_err());
    // Merging one object into itself is no larger than one copy.
    let big: serde_json::Map<String, Value> =
        (0..50).map(|i| (format!("k{i}"), json!("v"))).collect();
    let one = Value::Object(big);
    let size = one.to_string().len();
    assert_eq!(
        eval_within("merge", json!([one.clone(), one.clone()]), size),
        Ok(one.clone())
    );
    assert!(eval_within("merge", json!([one, {"extra": 1}]), size).is_err());
    // `unique` on many items is not quadratic.
    let many: Vec<Value> = (0..100_000).map(|i| json!(i % 1000)).collect();
    assert_eq!(
        eval("unique", json!([many])).map(|v| v.as_array().map(Vec::len)),
        Ok(Some(1000))
    );
}

#[test]
fn bad_time_zones_say_how_to_write_one() {
    let err = eval("date", json!(["2024-01-01", "%Y", "Europe/Pariss"])).expect_err("zone");
    assert!(
        err.contains("unknown time zone \"Europe/Pariss\"")
            && err.contains("did you mean `Europe/Paris`")
            && err.contains("IANA")
            && err.contains("America/New_York"),
        "{err}"
    );
    let err = eval("startofday", json!(["2024-01-01", "CEST"])).expect_err("abbreviation");
    assert!(err.contains("IANA time zone name"), "{err}");
    let err = eval("dateadd", json!(["2024-01-01", 1, "fortnight"])).expect_err("unit");
    assert!(err.contains("seconds, minutes, hours, days"), "{err}");
    let err = eval("date", json!(["yesterday"])).expect_err("date");
    assert!(err.contains("RFC 3339"), "{err}");
}

#[test]
fn dates_follow_the_zone_across_daylight_saving() {
    // 02:30 on 31 March 2024 does not exist in Paris: the next valid time.
    assert_eq!(
        eval(
            "dateparse",
            json!(["2024-03-31 02:30", "%Y-%m-%d %H:%M", "Europe/Paris"])
        ),
        Ok(json!("2024-03-31T01:00:00Z"))
    );
    // The day of the change has 23 hours, still one calendar day.
    assert_eq!(
        eval(
            "datediff",
            json!([
                "2024-03-30T12:00:00+01:00",
                "2024-03-31T12:00:00+02:00",
                "days",
                "Europe/Paris"
            ])
        ),
        Ok(json!(1))
    );
    assert_eq!(
        eval(
            "datediff",
            json!([
                "2024-03-30T12:00:00+01:00",
                "2024-03-31T12:00:00+02:00",
                "hours"
            ])
        ),
        Ok(json!(23))
    );
    assert_eq!(
        eval("endofmonth", json!(["2024-10-15", "Europe/London"])),
        Ok(json!("2024-10-31T23:59:59Z"))
    );
    assert_eq!(
        eval("dateadd", json!(["2024-01-31", -1, "years"])),
        Ok(json!("2023-01-31T00:00:00Z"))
    );
    assert!(eval("dateadd", json!(["2024-01-31", i64::MAX, "days"])).is_err());
    assert!(eval("dateadd", json!(["2024-01-31", i64::MAX, "seconds"])).is_err());
    // `{now}` alone is the current time in UTC, in RFC 3339.
    let now = eval("now", json!([])).expect("now");
    let parsed = now
        .as_str()
        .and_then(|s| chrono::DateTime::parse_from_rfc3339(s).ok())
        .map(|d| (chrono::Utc::now() - d.to_utc()).num_seconds());
    assert!(parsed.is_some_and(|age| (0..60).contains(&age)), "{now}");
    assert!(now.as_str().is_some_and(|s| s.ends_with('Z')), "{now}");
    // A bare name that is not a formula taking no arguments stays text.
    assert!(Template::parse(&json!("{uppercase}")).is_ok_and(|t| t.is_literal()));
    // `now` in a zone is the current time there.
    let now = eval("now", json!([null, "Asia/Kolkata"])).expect("now");
    assert!(now.as_str().is_some_and(|s| s.ends_with("+05:30")), "{now}");
}

#[test]
fn dates_at_the_ends_of_the_calendar_are_errors_not_panics() {
    let ends = [
        chrono::DateTime::<chrono::Utc>::MIN_UTC.timestamp(),
        chrono::DateTime::<chrono::Utc>::MAX_UTC.timestamp(),
    ];
    for at in ends {
        for name in ["startofweek", "endofweek", "endofmonth", "endofday"] {
            for zone in ["UTC", "Pacific/Kiritimati", "Pacific/Pago_Pago"] {
                // Either a date or an error that says why; never a panic.
                if let Err(e) = eval(name, json!([at, zone])) {
                    assert!(e.contains(name), "{e}");
                }
            }
        }
        for unit in ["days", "months", "hours"] {
            assert!(eval("dateadd", json!([at, if at < 0 { -1 } else { 1 }, unit])).is_err());
        }
    }
}

#[test]
fn a_date_format_that_parses_but_cannot_be_written_is_an_error() {
    // Found by the `template` fuzz target: formatting panicked.
    let now = chrono::Utc::now();
    assert!(dates::write(&now, "%:zzzz%#zzz[").is_err());
    assert!(dates::write(&now, "%#z").is_err());
    assert_eq!(
        dates::write(&now, "%Y").ok(),
        Some(now.format("%Y").to_string())
    );
    assert!(eval("date", json!(["2024-01-01", "%Q"])).is_err());
}

#[test]
fn missing_values_reach_only_the_formulas_that_take_them() {
    let scope = Values(HashMap::from([("S".to_string(), json!({"a": 1}))]));
    let run = |src: &str| Template::parse(&json!(src)).and_then(|t| t.eval(&scope));
    assert_eq!(run("{coalesce: $.S.none, $.S.a}"), Ok(json!(1)));
    assert_eq!(run("{if: $.S.none, 'yes', 'no'}"), Ok(json!("no")));
    assert_eq!(run("{type: $.S.none}"), Ok(json!("null")));
    let err = run("{uppercase: $.S.none}").expect_err("missing");
    assert!(err.contains("$.S.none"), "{err}");
}

#[test]
fn text_edge_cases() {
    assert_eq!(eval("substr", json!(["abc", 10])), Ok(json!("")));
    assert_eq!(eval("substr", json!(["abc", -10, 2])), Ok(json!("ab")));
    assert!(eval("substr", json!(["abc", 0, -1])).is_err());
    assert!(eval("replace", json!(["abc", "", "x"])).is_err());
    assert!(eval("urldecode", json!(["%FF"])).is_err());
    assert!(eval("base64decode", json!(["***"])).is_err());
    // URL-safe alphabet, no padding; bytes that are not UTF-8 are an error.
    assert_eq!(eval("base64decode", json!(["Pz4_"])), Ok(json!("?>?")));
    assert!(eval("base64decode", json!(["-_8"])).is_err());
    assert_eq!(
        eval("capitalize", json!(["o'neil-smith jr"])),
        Ok(json!("O'neil-Smith Jr"))
    );
    assert!(eval("boolean", json!(["maybe"])).is_err());
    let err = eval("jsonparse", json!(["{\"a\": "])).expect_err("bad json");
    assert!(err.contains("not JSON"), "{err}");
    assert!(eval("sort", json!([[1], null, "sideways"])).is_err());
}

#[test]
fn names_are_not_case_sensitive() {
    assert_eq!(
        eval("capitalizeName", json!(["ada lovelace"])),
        Ok(json!("Ada Lovelace"))
    );
    assert_eq!(eval("UPPERCASE", json!(["a"])), Ok(json!("A")));
}

#[test]
fn unknown_names_get_a_hint() {
    assert_eq!(suggest("upercase"), Some("uppercase"));
    assert_eq!(suggest("lenght"), Some("length"));
    assert_eq!(suggest("Uppercase"), Some("uppercase"));
    assert_eq!(suggest("a"), None);
    assert_eq!(suggest("margin"), None);
    let err = check("upercase", 1).err().unwrap_or_default();
    assert!(err.contains("did you mean `uppercase`?"), "{err}");
    let err = check("frobnicate", 1).err().unwrap_or_default();
    assert!(err.contains("docs/formulas.md"), "{err}");
}

struct NoConnectors;

impl Catalog for NoConnectors {
    fn manifest(&self, _: &str, _: Option<&crate::VersionPin>) -> Option<&crate::Manifest> {
        None
    }
    fn versions_of(&self, _: &str) -> Vec<String> {
        Vec::new()
    }
    fn connector_ids(&self) -> Vec<String> {
        Vec::new()
    }
}

fn validate(value: Value) -> Vec<plan::ValidationError> {
    let doc = json!({
        "weft": "automation/v1", "id": "t", "name": "Test",
        "blocks": [
            {"id": "Start", "type": "start"},
            {"id": "Out", "type": "output", "value": value}
        ],
        "edges": [{"from": "Start", "to": "Out"}],
    });
    match plan::compile_json(&doc, &NoConnectors) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.0,
    }
}

#[test]
fn an_unknown_formula_is_a_validation_error_naming_block_and_field() {
    let errors = validate(json!({"title": "Hi {upercase: $.Start.name}"}));
    assert!(
        errors.iter().any(|e| e.block.as_deref() == Some("Out")
            && e.field == "value"
            && e.message
                .contains("unknown formula \"upercase\"; did you mean `uppercase`?")),
        "{errors:#?}"
    );
    // Nested inside a known formula, with only literal arguments.
    let errors = validate(json!("{lowercase: {lenght: 'abc'}}"));
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("did you mean `length`?")),
        "{errors:#?}"
    );
    // Braces that are text stay text: CSS, JSON, prose.
    for text in [
        "p {margin: 0}",
        "{\"a\": 1}",
        "{a: 1}",
        "set {curly} braces",
    ] {
        assert_eq!(validate(json!(text)), Vec::new(), "{text}");
    }
    // And a known formula validates.
    assert_eq!(validate(json!("{padleft: $.Start.n, 5, '0'}")), Vec::new());
}

#[test]
fn results_past_the_cap_are_refused_before_they_are_built() {
    let big = json!("x\"".repeat(40));
    assert!(call_bounded("json", std::slice::from_ref(&big), 100).is_err());
    assert!(call_bounded("json", std::slice::from_ref(&big), 1000).is_ok());
    assert!(call_bounded("concat", &[big.clone(), big.clone()], 100).is_err());
    let err = call_bounded("split", &[json!("a".repeat(500)), json!("")], 100)
        .expect_err("split into hundreds of pieces");
    assert!(err.contains("max_value_bytes"), "{err}");
    assert_eq!(
        call_bounded("split", &[json!("a,b"), json!(",")], 100),
        Ok(json!(["a", "b"]))
    );
    assert!(call_bounded("join", &[json!(vec!["aaaa"; 50]), json!("--")], 100).is_err());
    assert!(call("uppercase", &[]).is_err());
    assert!(check("default", 1).is_err());
}
