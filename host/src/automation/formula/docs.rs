//! `docs/formulas.md`, generated from the formula table: a test compares
//! the committed page with [`markdown`] and says how to refresh it, so the
//! reference cannot drift from the code.

use super::{FAMILIES, Formula};
use std::fmt::Write as _;

/// The command that rewrites `docs/formulas.md` from the table.
pub const BLESS: &str = "WEFT_BLESS=1 cargo test -p weft-host --release --lib formula_docs";

const INTRO: &str = "\
Formulas transform values inside an automation's templates: `{name: argument, …}`.
An argument is a reference (`$.Block.path`, `item.field`), quoted text (`'…'` or
`\"…\"`, with `\\` before a quote inside), a number, `true`, `false`, `null`, or
another formula in braces: `{uppercase: {trim: $.Start.name}}`. A template that
is exactly one formula keeps the type of its result (a number stays a number);
a formula inside longer text is written as text. Names are not case-sensitive
(`{capitalizeName: …}` is `capitalizename`). `now`, which needs no arguments, can
be written `{now}`.

Lists and objects cannot be written literally inside a template; they come from
references. The examples below give each formula's arguments as JSON values and
its result as JSON; a test evaluates every example through the template
evaluator with those values behind references (`{sum: $.A0, $.A1}`).

Notes:

- A reference to a missing value fails the formula (naming the path), except in
  `if`, `coalesce`, `default` and `type`, which receive it as `null`.
- Arithmetic is decimal: `{add: 0.1, 0.2}` is `0.3`. Numeric text counts as a
  number.
- Text positions and lengths count characters, not bytes.
- Dates are RFC 3339 text, `YYYY-MM-DD`, `YYYY-MM-DD HH:MM:SS` (local time in the
  formula's zone), Unix seconds or `now`. Zones are IANA names (`Europe/Paris`);
  UTC when omitted. Formats use `strftime` syntax (`%Y-%m-%d %H:%M`).
- Every result is bounded by `max_value_bytes` (8 MiB by default, see
  [architecture](architecture.md#host-side-limits-and-the-sandboxs-edges)); formulas that can grow their input
  (`padleft`, `repeat`, `replace`, `regexreplace`, `chunk`, `merge`, the encoders)
  are refused before they build a larger result. Regular expressions use Rust's
  `regex` syntax, run in linear time, and are limited to 1,024 bytes of pattern.
- An unknown formula name is a validation error that names the block, the field
  and the closest formula (`{upercase: $.x}`: did you mean `uppercase`?).
";

/// The whole page.
pub fn markdown() -> String {
    let mut out = String::new();
    out.push_str("# Formulas\n\n");
    let _ = writeln!(
        out,
        "<!-- Generated from host/src/automation/formula; do not edit. Refresh with: {BLESS} -->\n"
    );
    out.push_str(INTRO);
    for (family, rows) in FAMILIES {
        let _ = writeln!(out, "\n## {family}\n");
        out.push_str("| Formula | Arguments | Description | Example arguments | Result |\n");
        out.push_str("| --- | --- | --- | --- | --- |\n");
        for f in *rows {
            row(&mut out, f);
        }
    }
    out
}

fn row(out: &mut String, f: &Formula) {
    let mut name = format!("`{}`", f.name);
    if !f.aliases.is_empty() {
        let also: Vec<String> = f.aliases.iter().map(|a| format!("`{a}`")).collect();
        let _ = write!(name, " (also {})", also.join(", "));
    }
    let (args, results): (Vec<String>, Vec<String>) = f
        .examples
        .iter()
        .map(|(args, result)| (code(&example_args(args)), code(&compact(result))))
        .unzip();
    let _ = writeln!(
        out,
        "| {} | {} | {} | {} | {} |",
        name,
        cell(f.args),
        cell(f.description),
        args.join("<br>"),
        results.join("<br>")
    );
}

/// The example's arguments as JSON values separated by commas.
fn example_args(args: &str) -> String {
    match serde_json::from_str::<serde_json::Value>(args) {
        Ok(serde_json::Value::Array(items)) if items.is_empty() => "(none)".into(),
        Ok(serde_json::Value::Array(items)) => items
            .iter()
            .map(|v| v.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        _ => args.to_string(),
    }
}

fn compact(json: &str) -> String {
    serde_json::from_str::<serde_json::Value>(json)
        .map_or_else(|_| json.to_string(), |v| v.to_string())
}

/// Text safe inside a table cell.
fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// A code span safe inside a table cell.
fn code(s: &str) -> String {
    format!("`{}`", cell(s))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Named `formula_docs` so the refresh command can select it.
    #[test]
    fn formula_docs() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/formulas.md");
        let generated = markdown();
        if std::env::var_os("WEFT_BLESS").is_some() {
            std::fs::write(path, &generated).expect("write docs/formulas.md");
            return;
        }
        let committed = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/formulas.md is not what the formula table generates; refresh it with:\n    {BLESS}"
        );
    }

    #[test]
    fn the_page_has_a_row_per_formula_and_escapes_pipes() {
        let page = markdown();
        for f in super::super::all() {
            assert!(
                page.contains(&format!("| `{}`", f.name)),
                "{} has no row",
                f.name
            );
        }
        assert!(
            page.contains("list \\| object"),
            "pipes in cells are escaped"
        );
    }
}
