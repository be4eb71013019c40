//! Text formulas. Positions and lengths count characters (Unicode scalar
//! values), not bytes, so `{substr: 'héllo', 1, 3}` is `"éll"`.
//!
//! Bounds: `padleft`, `padright`, `repeat`, `replace`, `regexreplace`,
//! `concat`, `join` and `split` can return far more than they were given,
//! so each computes its result's size first and refuses it over
//! `max_value_bytes`. Regular expressions use the `regex` crate, whose
//! matching time is linear in the text (no catastrophic backtracking);
//! patterns are capped at [`MAX_PATTERN_BYTES`] and compiled with size
//! limits, so a pattern such as `(a{1000}){1000}` is refused at compile.

use super::{Formula, Limits, excerpt_json, integer, list, text, text_len};
use crate::automation::bounds::string_len;
use serde_json::Value;

/// The longest regular expression pattern a formula accepts.
pub const MAX_PATTERN_BYTES: usize = 1024;
/// Memory a compiled pattern may take (the `regex` crate's size limit).
const REGEX_SIZE_LIMIT: usize = 1 << 20;
/// Memory the lazy DFA may cache while matching.
const REGEX_DFA_LIMIT: usize = 2 << 20;

pub const FORMULAS: &[Formula] = &[
    Formula {
        name: "uppercase",
        aliases: &[],
        min: 1,
        max: 1,
        args: "text",
        description: "The text in capitals.",
        examples: &[("[\"Grace\"]", "\"GRACE\"")],
        missing_is_null: false,
        eval: |a, _| Ok(Value::String(text(&a[0]).to_uppercase())),
    },
    Formula {
        name: "lowercase",
        aliases: &[],
        min: 1,
        max: 1,
        args: "text",
        description: "The text in small letters.",
        examples: &[("[\"Grace\"]", "\"grace\"")],
        missing_is_null: false,
        eval: |a, _| Ok(Value::String(text(&a[0]).to_lowercase())),
    },
    Formula {
        name: "capitalize",
        aliases: &["capitalizename"],
        min: 1,
        max: 1,
        args: "text",
        description: "Each word's first letter in capitals, the rest unchanged.",
        examples: &[("[\"ada lovelace\"]", "\"Ada Lovelace\"")],
        missing_is_null: false,
        eval: capitalize,
    },
    Formula {
        name: "trim",
        aliases: &[],
        min: 1,
        max: 1,
        args: "text",
        description: "The text without leading and trailing whitespace.",
        examples: &[("[\"  a b \"]", "\"a b\"")],
        missing_is_null: false,
        eval: |a, _| Ok(Value::String(text(&a[0]).trim().to_string())),
    },
    Formula {
        name: "length",
        aliases: &["strlen"],
        min: 1,
        max: 1,
        args: "text | list | object",
        description: "Characters in a text, items in a list, keys in an object; 0 for null.",
        examples: &[("[\"héllo\"]", "5"), ("[[1, 2, 3]]", "3")],
        missing_is_null: false,
        eval: length,
    },
    Formula {
        name: "substr",
        aliases: &["substring"],
        min: 2,
        max: 3,
        args: "text, start, length?",
        description: "`length` characters (all by default) from character `start` (0-based; negative counts from the end).",
        examples: &[
            ("[\"héllo\", 1, 3]", "\"éll\""),
            ("[\"invoice-2024\", -4]", "\"2024\""),
        ],
        missing_is_null: false,
        eval: substr,
    },
    Formula {
        name: "replace",
        aliases: &[],
        min: 3,
        max: 3,
        args: "text, search, replacement",
        description: "Every occurrence of `search` replaced (plain text, not a pattern).",
        examples: &[("[\"a-b-c\", \"-\", \" / \"]", "\"a / b / c\"")],
        missing_is_null: false,
        eval: replace,
    },
    Formula {
        name: "startswith",
        aliases: &["starts_with"],
        min: 2,
        max: 2,
        args: "text, prefix",
        description: "Whether the text starts with `prefix` (case-sensitive).",
        examples: &[("[\"INV-7\", \"INV-\"]", "true")],
        missing_is_null: false,
        eval: |a, _| Ok(Value::Bool(text(&a[0]).starts_with(&text(&a[1])))),
    },
    Formula {
        name: "endswith",
        aliases: &["ends_with"],
        min: 2,
        max: 2,
        args: "text, suffix",
        description: "Whether the text ends with `suffix` (case-sensitive).",
        examples: &[("[\"report.pdf\", \".csv\"]", "false")],
        missing_is_null: false,
        eval: |a, _| Ok(Value::Bool(text(&a[0]).ends_with(&text(&a[1])))),
    },
    Formula {
        name: "padleft",
        aliases: &["lpad"],
        min: 2,
        max: 3,
        args: "text, length, pad?",
        description: "The text widened to `length` characters by repeating `pad` (a space by default) on the left.",
        examples: &[
            ("[42, 6, \"0\"]", "\"000042\""),
            ("[\"abc\", 2]", "\"abc\""),
        ],
        missing_is_null: false,
        eval: |a, l| pad(a, l, true),
    },
    Formula {
        name: "padright",
        aliases: &["rpad"],
        min: 2,
        max: 3,
        args: "text, length, pad?",
        description: "The text widened to `length` characters by repeating `pad` (a space by default) on the right.",
        examples: &[("[\"ab\", 5, \".\"]", "\"ab...\"")],
        missing_is_null: false,
        eval: |a, l| pad(a, l, false),
    },
    Formula {
        name: "repeat",
        aliases: &[],
        min: 2,
        max: 2,
        args: "text, times",
        description: "The text repeated `times` times.",
        examples: &[("[\"ab\", 3]", "\"ababab\"")],
        missing_is_null: false,
        eval: repeat,
    },
    Formula {
        name: "concat",
        aliases: &[],
        min: 1,
        max: 16,
        args: "value, value, …",
        description: "The values as text, one after the other (null is nothing).",
        examples: &[("[\"a\", 1, null, true]", "\"a1true\"")],
        missing_is_null: false,
        eval: concat,
    },
    Formula {
        name: "split",
        aliases: &["explode"],
        min: 2,
        max: 2,
        args: "text, separator",
        description: "The text cut at each `separator` into a list of texts.",
        examples: &[("[\"a,b,,c\", \",\"]", "[\"a\", \"b\", \"\", \"c\"]")],
        missing_is_null: false,
        eval: split,
    },
    Formula {
        name: "join",
        aliases: &["implode"],
        min: 1,
        max: 2,
        args: "list, separator?",
        description: "The list's items as text, joined by `separator` (`,` by default).",
        examples: &[("[[1, \"b\", null], \"-\"]", "\"1-b-\"")],
        missing_is_null: false,
        eval: join,
    },
    Formula {
        name: "regexmatch",
        aliases: &["regex_match"],
        min: 2,
        max: 2,
        args: "text, pattern",
        description: "Whether the regular expression matches anywhere in the text (`(?i)` for any case; Rust `regex` syntax).",
        examples: &[
            ("[\"order #1234\", \"#[0-9]+\"]", "true"),
            ("[\"Hello\", \"^(?i)hello$\"]", "true"),
        ],
        missing_is_null: false,
        eval: regex_match,
    },
    Formula {
        name: "regexextract",
        aliases: &["regex_extract"],
        min: 2,
        max: 3,
        args: "text, pattern, group?",
        description: "The first match of the regular expression (or its capture `group`, by number or name); null when none.",
        examples: &[
            ("[\"order #1234\", \"#([0-9]+)\", 1]", "\"1234\""),
            ("[\"none\", \"[0-9]+\"]", "null"),
        ],
        missing_is_null: false,
        eval: regex_extract,
    },
    Formula {
        name: "regexreplace",
        aliases: &["regex_replace"],
        min: 3,
        max: 3,
        args: "text, pattern, replacement",
        description: "Every match of the regular expression replaced; `$1` or `${name}` in `replacement` is a capture group.",
        examples: &[(
            "[\"2024-05-01\", \"(\\\\d+)-(\\\\d+)-(\\\\d+)\", \"$3.$2.$1\"]",
            "\"01.05.2024\"",
        )],
        missing_is_null: false,
        eval: regex_replace,
    },
];

fn capitalize(args: &[Value], _: &Limits) -> Result<Value, String> {
    let mut out = String::new();
    let mut start = true;
    for c in text(&args[0]).chars() {
        if start && c.is_alphabetic() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        start = !c.is_alphanumeric() && c != '\'';
    }
    Ok(Value::String(out))
}

fn length(args: &[Value], _: &Limits) -> Result<Value, String> {
    Ok(Value::from(match &args[0] {
        Value::Array(a) => a.len(),
        Value::Object(o) => o.len(),
        Value::Null => 0,
        other => text(other).chars().count(),
    }))
}

fn substr(args: &[Value], _: &Limits) -> Result<Value, String> {
    let s = text(&args[0]);
    let chars = s.chars().count() as i64;
    let start = integer(&args[1], "start")?;
    let start = if start < 0 {
        (chars + start).max(0)
    } else {
        start.min(chars)
    };
    let len = match args.get(2) {
        Some(v) => integer(v, "length")?,
        None => chars,
    };
    if len < 0 {
        return Err(format!("length must not be negative, got {len}"));
    }
    Ok(Value::String(
        s.chars().skip(start as usize).take(len as usize).collect(),
    ))
}

fn replace(args: &[Value], limits: &Limits) -> Result<Value, String> {
    let (s, search, with) = (text(&args[0]), text(&args[1]), text(&args[2]));
    if search.is_empty() {
        return Err("the text to search for is empty".into());
    }
    let count = s.matches(search.as_str()).count();
    let size = (s.len() - count * search.len()).saturating_add(count.saturating_mul(with.len()));
    limits.allow(size.saturating_add(2))?;
    Ok(Value::String(s.replace(search.as_str(), &with)))
}

fn pad(args: &[Value], limits: &Limits, left: bool) -> Result<Value, String> {
    let s = text(&args[0]);
    let width = integer(&args[1], "length")?;
    let filler = args.get(2).map_or_else(|| " ".to_string(), text);
    if filler.is_empty() {
        return Err("the padding text is empty".into());
    }
    let have = s.chars().count() as i64;
    if width <= have {
        return Ok(Value::String(s));
    }
    // Exact size of the padding before any of it is built: whole
    // repetitions of `filler` and the first characters of one more.
    let missing = (width - have) as u64;
    let fill_chars = filler.chars().count() as u64;
    let rest: usize = filler
        .chars()
        .take((missing % fill_chars) as usize)
        .map(char::len_utf8)
        .sum();
    let pad_bytes = (missing / fill_chars)
        .saturating_mul(filler.len() as u64)
        .saturating_add(rest as u64);
    let total = usize::try_from(pad_bytes)
        .unwrap_or(usize::MAX)
        .saturating_add(s.len())
        .saturating_add(2);
    limits.allow(total)?;
    let padding: String = filler.chars().cycle().take(missing as usize).collect();
    Ok(Value::String(if left {
        padding + &s
    } else {
        s + &padding
    }))
}

fn repeat(args: &[Value], limits: &Limits) -> Result<Value, String> {
    let s = text(&args[0]);
    let times = integer(&args[1], "times")?;
    if times < 0 {
        return Err(format!("times must not be negative, got {times}"));
    }
    let times = usize::try_from(times).unwrap_or(usize::MAX);
    limits.allow(s.len().saturating_mul(times).saturating_add(2))?;
    Ok(Value::String(s.repeat(times)))
}

fn concat(args: &[Value], limits: &Limits) -> Result<Value, String> {
    limits.allow(args.iter().map(text_len).sum::<usize>().saturating_add(2))?;
    Ok(Value::String(args.iter().map(text).collect()))
}

fn split(args: &[Value], limits: &Limits) -> Result<Value, String> {
    let (whole, sep) = (text(&args[0]), text(&args[1]));
    let mut total = 2usize;
    let mut parts = Vec::new();
    for piece in whole.split(sep.as_str()) {
        // Each piece is at least `"",` in the result.
        total += string_len(piece) + 1;
        limits.allow(total)?;
        parts.push(Value::String(piece.to_string()));
    }
    Ok(Value::Array(parts))
}

fn join(args: &[Value], limits: &Limits) -> Result<Value, String> {
    let items = list(&args[0], "the first argument")?;
    let sep = args.get(1).map_or_else(|| ",".to_string(), text);
    let total = items.iter().map(text_len).sum::<usize>()
        + sep.len().saturating_mul(items.len().saturating_sub(1));
    limits.allow(total.saturating_add(2))?;
    Ok(Value::String(
        items.iter().map(text).collect::<Vec<_>>().join(&sep),
    ))
}

/// Compile `pattern` within the pattern cap and the size limits.
pub(crate) fn regex(pattern: &Value) -> Result<regex::Regex, String> {
    let p = text(pattern);
    if p.len() > MAX_PATTERN_BYTES {
        return Err(format!(
            "the pattern is {} bytes, more than the limit of {MAX_PATTERN_BYTES} bytes",
            p.len()
        ));
    }
    regex::RegexBuilder::new(&p)
        .size_limit(REGEX_SIZE_LIMIT)
        .dfa_size_limit(REGEX_DFA_LIMIT)
        .build()
        .map_err(|e| match e {
            regex::Error::CompiledTooBig(limit) => format!(
                "the pattern {} compiles to more than {limit} bytes, the limit for a pattern",
                excerpt_json(pattern)
            ),
            other => format!("{} is not a valid pattern: {other}", excerpt_json(pattern)),
        })
}

fn regex_match(args: &[Value], _: &Limits) -> Result<Value, String> {
    Ok(Value::Bool(regex(&args[1])?.is_match(&text(&args[0]))))
}

fn regex_extract(args: &[Value], _: &Limits) -> Result<Value, String> {
    let re = regex(&args[1])?;
    let s = text(&args[0]);
    let Some(caps) = re.captures(&s) else {
        return Ok(Value::Null);
    };
    let group = match args.get(2) {
        None => caps.get(0),
        Some(Value::String(name)) if name.parse::<usize>().is_err() => {
            if !re.capture_names().any(|n| n == Some(name.as_str())) {
                return Err(format!("the pattern has no group named {name:?}"));
            }
            caps.name(name)
        }
        Some(n) => {
            let i = integer(n, "group")?;
            if i < 0 || i as usize >= re.captures_len() {
                return Err(format!(
                    "the pattern has groups 0 to {}, not {i}",
                    re.captures_len() - 1
                ));
            }
            caps.get(i as usize)
        }
    };
    Ok(group.map_or(Value::Null, |m| Value::String(m.as_str().to_string())))
}

fn regex_replace(args: &[Value], limits: &Limits) -> Result<Value, String> {
    let re = regex(&args[1])?;
    let (s, with) = (text(&args[0]), text(&args[2]));
    // Each `$` in the replacement can bring in at most the whole match, so
    // a match's expansion is at most this long: checked before expanding.
    let dollars = with.matches('$').count();
    let mut out = String::new();
    let mut last = 0;
    for caps in re.captures_iter(&s) {
        let Some(m) = caps.get(0) else { continue };
        let bound = with.len().saturating_add(dollars.saturating_mul(m.len()));
        limits.allow(
            (out.len() + (m.start() - last))
                .saturating_add(bound)
                .saturating_add(2),
        )?;
        out.push_str(&s[last..m.start()]);
        caps.expand(&with, &mut out);
        last = m.end();
    }
    limits.allow((out.len() + s.len() - last).saturating_add(2))?;
    out.push_str(&s[last..]);
    Ok(Value::String(out))
}
