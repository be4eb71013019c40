//! The template parser: a string's text and `{…}` expressions into
//! [`Part`]s, references and formula calls into [`Expr`]s, each formula's
//! nesting held to the limit before it recurses.

use super::*;

pub(super) fn parse_string(s: &str, max_formula_depth: usize) -> Result<Template, String> {
    if !s.contains('{') {
        return Ok(Template::Literal(Value::String(s.to_string())));
    }
    let mut parts: Vec<Part> = Vec::new();
    let mut text = String::new();
    let bytes = s.as_bytes();
    let mut i = 0;
    while i < s.len() {
        if bytes[i] == b'{'
            && let Some((expr, end)) = parse_braced(s, i, max_formula_depth)?
        {
            if !text.is_empty() {
                parts.push(Part::Text(std::mem::take(&mut text)));
            }
            parts.push(Part::Expr(expr));
            i = end;
            continue;
        }
        let ch = s[i..].chars().next().unwrap_or('\u{fffd}');
        text.push(ch);
        i += ch.len_utf8();
    }
    if !text.is_empty() {
        parts.push(Part::Text(text));
    }
    Ok(match parts.as_slice() {
        [] => Template::Literal(Value::String(String::new())),
        [Part::Text(t)] => Template::Literal(Value::String(t.clone())),
        [Part::Expr(e)] => Template::Whole(e.clone()),
        _ => Template::Text(parts),
    })
}

/// Parse `{…}` starting at `start`. `Ok(None)` when the braces are not an
/// expression (kept as text); `Err` when they clearly meant one but are
/// malformed (an unknown formula, a bad argument).
fn parse_braced(
    s: &str,
    start: usize,
    max_formula_depth: usize,
) -> Result<Option<(Expr, usize)>, String> {
    let mut p = Parser {
        s,
        i: start + 1,
        depth: 1,
        max_depth: max_formula_depth,
    };
    p.skip_ws();
    let looks_like_expr = p.peek_ref() || p.peek_formula_name().is_some();
    if !looks_like_expr {
        return Ok(None);
    }
    let expr = match p.expr() {
        Ok(e) => e,
        Err(e) => {
            // A reference-looking start followed by junk is a mistake worth
            // reporting; anything else is plain text.
            return if p.s[start + 1..].trim_start().starts_with("$.")
                || p.peek_formula_name_at(start + 1)
                    .is_some_and(formula::exists)
            {
                Err(format!("in {:?}: {e}", excerpt(&s[start..], 60)))
            } else {
                Ok(None)
            };
        }
    };
    p.skip_ws();
    if !p.eat('}') {
        return Ok(None);
    }
    if let Expr::Formula { name, args } = &expr
        && !formula::exists(name)
        && !args.iter().any(|a| matches!(a, Arg::Expr(_)))
        && formula::suggest(name).is_none()
    {
        // `{margin: 0}` in an HTML body: a formula call in form, but with
        // only literal arguments and a name like no formula's, it is text.
        return Ok(None);
    }
    Ok(Some((expr, p.i)))
}

/// The first `max` bytes of `s`, cut at a character boundary.
fn excerpt(s: &str, max: usize) -> &str {
    let mut end = s.len().min(max);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

struct Parser<'a> {
    s: &'a str,
    i: usize,
    /// Formulas open around the current position, this one included.
    depth: usize,
    /// `max_formula_depth`: checked before each nested expression, so the
    /// recursion below never goes deeper.
    max_depth: usize,
}

impl<'a> Parser<'a> {
    fn rest(&self) -> &'a str {
        &self.s[self.i..]
    }
    fn skip_ws(&mut self) {
        while self.rest().starts_with([' ', '\t', '\n']) {
            self.i += 1;
        }
    }
    fn eat(&mut self, c: char) -> bool {
        if self.rest().starts_with(c) {
            self.i += c.len_utf8();
            true
        } else {
            false
        }
    }
    fn peek_ref(&self) -> bool {
        let r = self.rest();
        r.starts_with("$.")
            || (r.starts_with("item")
                && !r[4..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_'))
    }
    fn peek_formula_name(&self) -> Option<&'a str> {
        self.peek_formula_name_at(self.i)
    }
    /// A name followed by `:`, known as a formula or not: an unknown name
    /// is parsed like a known one so validation can report it (with a
    /// "did you mean") instead of it passing as literal text. A formula
    /// that takes no arguments can also be written bare: `{now}`.
    fn peek_formula_name_at(&self, at: usize) -> Option<&'a str> {
        let r = self.s[at..].trim_start();
        let end = r.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))?;
        let name = &r[..end];
        let bare = || {
            r[end..].trim_start().starts_with('}')
                && formula::find(name).is_some_and(|f| f.min == 0)
        };
        (end > 0 && (r[end..].starts_with(':') || bare())).then_some(name)
    }

    fn expr(&mut self) -> Result<Expr, String> {
        if self.peek_ref() {
            return self.reference().map(Expr::Ref);
        }
        let name = self
            .peek_formula_name()
            .ok_or_else(|| format!("expected a reference or formula at {:?}", self.rest()))?
            .to_string();
        self.skip_ws();
        self.i += name.len();
        let mut args = Vec::new();
        if !self.eat(':') {
            // `{now}`: the peek above only allows this for formulas that
            // take no arguments.
            return Ok(Expr::Formula { name, args });
        }
        loop {
            self.skip_ws();
            args.push(self.arg()?);
            self.skip_ws();
            if !self.eat(',') {
                break;
            }
        }
        Ok(Expr::Formula { name, args })
    }

    fn arg(&mut self) -> Result<Arg, String> {
        let r = self.rest();
        if r.starts_with('{') {
            if self.depth >= self.max_depth {
                return Err(format!(
                    "formulas are nested more than {} levels deep (the limit, max_formula_depth)",
                    self.max_depth
                ));
            }
            self.i += 1;
            self.skip_ws();
            self.depth += 1;
            let e = self.expr()?;
            self.depth -= 1;
            self.skip_ws();
            if !self.eat('}') {
                return Err("missing } after a nested expression".into());
            }
            return Ok(Arg::Expr(e));
        }
        if self.peek_ref() {
            return self.reference().map(|r| Arg::Expr(Expr::Ref(r)));
        }
        if let Some(q) = r.chars().next().filter(|c| *c == '\'' || *c == '"') {
            let mut out = String::new();
            let mut chars = r.char_indices().skip(1);
            while let Some((idx, c)) = chars.next() {
                if c == '\\' {
                    if let Some((_, n)) = chars.next() {
                        out.push(n);
                    }
                } else if c == q {
                    self.i += idx + 1;
                    return Ok(Arg::Literal(Value::String(out)));
                } else {
                    out.push(c);
                }
            }
            return Err("unterminated quoted text".into());
        }
        let end = r.find([',', '}']).unwrap_or(r.len());
        let word = r[..end].trim();
        let value = match word {
            "true" => Value::Bool(true),
            "false" => Value::Bool(false),
            "null" => Value::Null,
            w => match serde_json::from_str::<serde_json::Number>(w) {
                Ok(n) => Value::Number(n),
                Err(_) => {
                    return Err(format!(
                        "{w:?} is not a reference, quoted text, number, true, false or null"
                    ));
                }
            },
        };
        self.i += end;
        Ok(Arg::Literal(value))
    }

    fn reference(&mut self) -> Result<Reference, String> {
        let r = self.rest();
        let end = r
            .find(|c: char| c == '}' || c == ',' || c.is_whitespace())
            .unwrap_or(r.len());
        let text = &r[..end];
        self.i += end;
        let (root, path) = if let Some(rest) = text.strip_prefix("$.") {
            let name_end = rest.find(['.', '[']).unwrap_or(rest.len());
            let name = &rest[..name_end];
            if name.is_empty() {
                return Err(format!("{text:?} names nothing after $."));
            }
            (
                RefRoot::Named(name.to_string()),
                rest[name_end..].trim_start_matches('.'),
            )
        } else {
            (RefRoot::Item, text["item".len()..].trim_start_matches('.'))
        };
        if split_path(path).any(|s| matches!(s, PathSegment::Key(k) if k.contains(['[', ']']))) {
            return Err(format!("{text:?} has a malformed index"));
        }
        Ok(Reference {
            root,
            path: path.to_string(),
        })
    }
}
