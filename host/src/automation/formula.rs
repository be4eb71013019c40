//! The formulas available in field mappings, in one table: add a formula
//! by adding a row to [`FORMULAS`] and an arm to [`call`].

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;

/// Name, fewest and most arguments.
pub const FORMULAS: &[(&str, usize, usize)] = &[
    ("uppercase", 1, 1),
    ("lowercase", 1, 1),
    ("trim", 1, 1),
    ("count", 1, 1),
    ("json", 1, 1),
    ("number", 1, 1),
    ("default", 2, 16),
    ("concat", 1, 16),
    ("date", 1, 2),
    ("round", 1, 2),
    ("join", 1, 2),
    ("split", 2, 2),
];

pub fn exists(name: &str) -> bool {
    FORMULAS.iter().any(|(n, _, _)| *n == name)
}

/// Check a formula's name and argument count.
pub fn check(name: &str, args: usize) -> Result<(), String> {
    match FORMULAS.iter().find(|(n, _, _)| *n == name) {
        None => Err(format!("unknown formula {name:?}")),
        Some((_, min, max)) if args < *min || args > *max => Err(if min == max {
            format!("formula {name} takes {min} argument(s), got {args}")
        } else {
            format!("formula {name} takes {min} to {max} arguments, got {args}")
        }),
        Some(_) => Ok(()),
    }
}

fn text(v: &Value) -> String {
    super::template::stringify(v)
}

use weft_conditions::{as_number as number, is_empty};

/// A JSON number, as an integer when it is whole.
pub fn json_number(x: f64) -> Value {
    if x.fract() == 0.0 && x.abs() < 9_007_199_254_740_992.0 {
        Value::from(x as i64)
    } else {
        serde_json::Number::from_f64(x).map_or(Value::Null, Value::Number)
    }
}

fn parse_datetime(v: &Value) -> Result<DateTime<Utc>, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .ok_or_else(|| format!("{n} is not a Unix time in seconds")),
        Value::String(s) if s == "now" => Ok(Utc::now()),
        Value::String(s) => DateTime::parse_from_rfc3339(s)
            .map(|d| d.with_timezone(&Utc))
            .or_else(|_| {
                NaiveDate::parse_from_str(s, "%Y-%m-%d")
                    .map(|d| d.and_hms_opt(0, 0, 0).unwrap_or_default().and_utc())
            })
            .map_err(|_| format!("{s:?} is not an RFC 3339 date-time or a YYYY-MM-DD date")),
        other => Err(format!("{other} is not a date")),
    }
}

fn format_datetime(d: DateTime<Utc>, fmt: &str) -> Result<String, String> {
    use chrono::format::{Item, StrftimeItems};
    let items: Vec<Item> = StrftimeItems::new(fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(format!("{fmt:?} is not a valid date format"));
    }
    // Items that parse may still fail to format (e.g. `%#z`, which only
    // parses); `to_string` would panic on that error, `write!` reports it.
    let mut out = String::new();
    std::fmt::Write::write_fmt(
        &mut out,
        format_args!("{}", d.format_with_items(items.into_iter())),
    )
    .map_err(|_| format!("{fmt:?} is not a date format this date can be written in"))?;
    Ok(out)
}

/// Apply formula `name` to already-evaluated arguments, refusing a result
/// larger than `max_bytes` (as JSON text) before building it where the
/// size is known in advance: `json`, `concat`, `join` and `split` can turn
/// arguments within the cap into a result many times larger. The caller
/// checks the size of every other result.
pub fn call_bounded(name: &str, args: &[Value], max_bytes: usize) -> Result<Value, String> {
    check(name, args.len())?;
    let over = |at_least: usize| {
        Err(format!(
            "the result would be at least {at_least} bytes, more than the limit of {max_bytes} bytes (max_value_bytes)"
        ))
    };
    match name {
        "json" => {
            if let Err(e) = super::bounds::measure(&args[0], max_bytes, usize::MAX) {
                return Err(format!("the result: {e}"));
            }
        }
        "concat" => {
            let total: usize = args.iter().map(text_len).sum();
            if total > max_bytes {
                return over(total);
            }
        }
        "join" => {
            if let Some(items) = args[0].as_array() {
                let sep = args.get(1).map_or(1, text_len);
                let total = items.iter().map(text_len).sum::<usize>()
                    + sep.saturating_mul(items.len().saturating_sub(1));
                if total > max_bytes {
                    return over(total);
                }
            }
        }
        "split" => {
            let (whole, sep) = (text(&args[0]), text(&args[1]));
            let mut total = 2usize;
            let mut parts = Vec::new();
            for piece in whole.split(sep.as_str()) {
                // Each piece is at least `"",` in the result.
                total += super::bounds::string_len(piece) + 1;
                if total > max_bytes {
                    return over(total);
                }
                parts.push(Value::String(piece.to_string()));
            }
            return Ok(Value::Array(parts));
        }
        _ => {}
    }
    call(name, args)
}

/// The length of `v` as text, without building the text for strings.
fn text_len(v: &Value) -> usize {
    match v {
        Value::String(s) => s.len(),
        Value::Null => 0,
        other => other.to_string().len(),
    }
}

/// Apply formula `name` to already-evaluated arguments.
pub fn call(name: &str, args: &[Value]) -> Result<Value, String> {
    check(name, args.len())?;
    let a0 = &args[0];
    Ok(match name {
        "uppercase" => Value::String(text(a0).to_uppercase()),
        "lowercase" => Value::String(text(a0).to_lowercase()),
        "trim" => Value::String(text(a0).trim().to_string()),
        "count" => Value::from(match a0 {
            Value::Array(a) => a.len(),
            Value::Object(o) => o.len(),
            Value::String(s) => s.chars().count(),
            Value::Null => 0,
            _ => 1,
        }),
        "json" => Value::String(a0.to_string()),
        "number" => json_number(number(a0).ok_or_else(|| format!("{a0} is not a number"))?),
        "default" => args
            .iter()
            .find(|v| !is_empty(v))
            .cloned()
            .unwrap_or(Value::Null),
        "concat" => Value::String(args.iter().map(text).collect()),
        "date" => {
            let fmt = args
                .get(1)
                .map(text)
                .unwrap_or_else(|| "%Y-%m-%dT%H:%M:%SZ".into());
            Value::String(format_datetime(parse_datetime(a0)?, &fmt)?)
        }
        "round" => {
            let x = number(a0).ok_or_else(|| format!("{a0} is not a number"))?;
            let places = args.get(1).and_then(number).unwrap_or(0.0).clamp(0.0, 15.0) as i32;
            let factor = 10f64.powi(places);
            json_number((x * factor).round() / factor)
        }
        "join" => {
            let sep = args.get(1).map(text).unwrap_or_else(|| ",".into());
            let items = a0.as_array().ok_or_else(|| format!("{a0} is not a list"))?;
            Value::String(items.iter().map(text).collect::<Vec<_>>().join(&sep))
        }
        "split" => Value::Array(
            text(a0)
                .split(text(&args[1]).as_str())
                .map(|s| Value::String(s.to_string()))
                .collect(),
        ),
        other => return Err(format!("unknown formula {other:?}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_date_format_that_parses_but_cannot_be_written_is_an_error() {
        // Found by the `template` fuzz target: formatting panicked.
        let now = Utc::now();
        assert!(format_datetime(now, "%:zzzz%#zzz[").is_err());
        assert!(format_datetime(now, "%#z").is_err());
        assert_eq!(
            format_datetime(now, "%Y").ok(),
            Some(now.format("%Y").to_string())
        );
    }

    #[test]
    fn every_formula() {
        assert_eq!(call("trim", &[json!("  a ")]), Ok(json!("a")));
        assert_eq!(call("number", &[json!("2.50")]), Ok(json!(2.5)));
        assert_eq!(call("number", &[json!("14")]), Ok(json!(14)));
        assert_eq!(
            call("concat", &[json!("a"), json!(1), json!(null)]),
            Ok(json!("a1"))
        );
        assert_eq!(call("round", &[json!(2.345), json!(2)]), Ok(json!(2.35)));
        assert_eq!(
            call("join", &[json!([1, "b"]), json!("-")]),
            Ok(json!("1-b"))
        );
        assert_eq!(
            call("split", &[json!("a,b"), json!(",")]),
            Ok(json!(["a", "b"]))
        );
        assert_eq!(call("date", &[json!(0), json!("%Y")]), Ok(json!("1970")));
        assert_eq!(
            call("default", &[json!(""), json!([]), json!(0)]),
            Ok(json!(0))
        );
        assert!(call("date", &[json!("2024-01-01"), json!("%Q")]).is_err());
        assert!(call("uppercase", &[]).is_err());
        assert!(check("nope", 1).is_err());
        assert!(check("default", 1).is_err());
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
    }
}
