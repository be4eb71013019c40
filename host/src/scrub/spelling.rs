//! Reading text the way a server may have spelled it: JSON string escapes
//! of any character (`\u0041`, `\/`, surrogate pairs), percent-encoding of
//! any byte in either case (with `+` for a space in forms), and HTML
//! character references (`&#65;`, `&#x41;`, `&quot;`).
//!
//! A [`View`] decodes one family of escapes (or all at once); the search
//! runs each view that the text could need over the text, feeding the
//! decoded bytes to one automaton of every secret's patterns and mapping
//! each match back to the span of original text it was read from. Every
//! view is one pass with constant memory per byte, so scrubbing stays
//! linear in the text whatever it holds.

use aho_corasick::Anchored;
use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;

/// Which escapes a view decodes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct View {
    json: bool,
    percent: bool,
    plus_is_space: bool,
    html: bool,
}

const fn view(json: bool, percent: bool, plus_is_space: bool, html: bool) -> View {
    View {
        json,
        percent,
        plus_is_space,
        html,
    }
}

/// The text as it is, each family alone (percent twice: URI style keeps
/// `+`, form style reads it as a space), and every family at once for
/// text that mixes them.
pub(super) const VIEWS: [View; 6] = [
    view(false, false, false, false),
    view(true, false, false, false),
    view(false, true, false, false),
    view(false, true, true, false),
    view(false, false, false, true),
    view(true, true, false, true),
];

/// Which escape characters a text contains: views that would decode
/// nothing are skipped.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Present {
    backslash: bool,
    percent: bool,
    plus: bool,
    ampersand: bool,
}

impl Present {
    pub fn of(text: &[u8]) -> Self {
        Present {
            backslash: memchr::memchr(b'\\', text).is_some(),
            percent: memchr::memchr(b'%', text).is_some(),
            plus: memchr::memchr(b'+', text).is_some(),
            ampersand: memchr::memchr(b'&', text).is_some(),
        }
    }
}

impl View {
    fn is_raw(&self) -> bool {
        !(self.json || self.percent || self.html)
    }

    /// Whether this view could read `text` differently from the views
    /// before it.
    pub fn needed(&self, p: Present) -> bool {
        match (self.json, self.percent, self.html) {
            (false, false, false) => true,
            (true, false, false) => p.backslash,
            (false, true, false) if self.plus_is_space => p.percent || p.plus,
            (false, true, false) => p.percent,
            (false, false, true) => p.ampersand,
            _ => {
                [p.backslash, p.percent, p.ampersand]
                    .iter()
                    .filter(|b| **b)
                    .count()
                    > 1
            }
        }
    }

    /// Decode one unit at `text[i..]` (not empty) into `out`; returns how
    /// many bytes of text it spans.
    fn unit(&self, text: &[u8], i: usize, out: &mut Vec<u8>) -> usize {
        let rest = &text[i..];
        match rest[0] {
            b'\\' if self.json => {
                if let Some(n) = json_escape(rest, out) {
                    return n;
                }
            }
            b'%' if self.percent => {
                if let (Some(h), Some(l)) = (
                    rest.get(1).and_then(|b| hex_value(*b)),
                    rest.get(2).and_then(|b| hex_value(*b)),
                ) {
                    out.push((h << 4) | l);
                    return 3;
                }
            }
            b'+' if self.plus_is_space => {
                out.push(b' ');
                return 1;
            }
            b'&' if self.html => {
                if let Some(n) = html_reference(rest, out) {
                    return n;
                }
            }
            _ => {}
        }
        out.push(rest[0]);
        1
    }
}

fn hex_value(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// Four hex digits, as JSON's `\uXXXX` has them.
fn hex4(digits: Option<&[u8]>) -> Option<u32> {
    let digits = digits?;
    digits
        .iter()
        .try_fold(0u32, |acc, b| Some((acc << 4) | u32::from(hex_value(*b)?)))
}

fn push_char(c: char, out: &mut Vec<u8>) {
    let mut buf = [0u8; 4];
    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
}

/// A JSON escape at the start of `s` (which begins with `\`).
fn json_escape(s: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    let simple = match *s.get(1)? {
        b'"' => b'"',
        b'\\' => b'\\',
        b'/' => b'/',
        b'b' => 0x08,
        b'f' => 0x0c,
        b'n' => b'\n',
        b'r' => b'\r',
        b't' => b'\t',
        b'u' => {
            let unit = hex4(s.get(2..6))?;
            if (0xD800..0xDC00).contains(&unit) {
                // A high surrogate counts only with its low half.
                if s.get(6..8) != Some(b"\\u") {
                    return None;
                }
                let low = hex4(s.get(8..12))?;
                if !(0xDC00..0xE000).contains(&low) {
                    return None;
                }
                let c = char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?;
                push_char(c, out);
                return Some(12);
            }
            push_char(char::from_u32(unit)?, out);
            return Some(6);
        }
        _ => return None,
    };
    out.push(simple);
    Some(2)
}

/// Named references for the ASCII characters a secret may hold (HTML5
/// names; the numeric forms cover every character).
const NAMED: &[(&[u8], char)] = &[
    (b"quot", '"'),
    (b"QUOT", '"'),
    (b"amp", '&'),
    (b"AMP", '&'),
    (b"lt", '<'),
    (b"LT", '<'),
    (b"gt", '>'),
    (b"GT", '>'),
    (b"apos", '\''),
    (b"sol", '/'),
    (b"bsol", '\\'),
    (b"plus", '+'),
    (b"equals", '='),
    (b"percnt", '%'),
    (b"num", '#'),
    (b"excl", '!'),
    (b"dollar", '$'),
    (b"lpar", '('),
    (b"rpar", ')'),
    (b"ast", '*'),
    (b"midast", '*'),
    (b"comma", ','),
    (b"period", '.'),
    (b"colon", ':'),
    (b"semi", ';'),
    (b"quest", '?'),
    (b"commat", '@'),
    (b"lsqb", '['),
    (b"lbrack", '['),
    (b"rsqb", ']'),
    (b"rbrack", ']'),
    (b"Hat", '^'),
    (b"lowbar", '_'),
    (b"UnderBar", '_'),
    (b"grave", '`'),
    (b"DiacriticalGrave", '`'),
    (b"lcub", '{'),
    (b"lbrace", '{'),
    (b"rcub", '}'),
    (b"rbrace", '}'),
    (b"verbar", '|'),
    (b"vert", '|'),
    (b"VerticalLine", '|'),
    (b"hyphen", '-'),
    (b"dash", '-'),
    (b"Tab", '\t'),
    (b"NewLine", '\n'),
    (b"nbsp", '\u{a0}'),
];

/// Digits read in a numeric reference (leading zeros included): enough
/// for any code point, and a bound on the work per `&`.
const MAX_REFERENCE_DIGITS: usize = 10;

/// An HTML character reference at the start of `s` (which begins with
/// `&`). Numeric ones may lack the `;`, as browsers accept.
fn html_reference(s: &[u8], out: &mut Vec<u8>) -> Option<usize> {
    if s.get(1) == Some(&b'#') {
        let hex = matches!(s.get(2), Some(b'x' | b'X'));
        let start = if hex { 3 } else { 2 };
        let radix = if hex { 16 } else { 10 };
        let digits = s[start..]
            .iter()
            .take(MAX_REFERENCE_DIGITS + 1)
            .take_while(|b| (**b as char).is_digit(radix))
            .count();
        if digits == 0 || digits > MAX_REFERENCE_DIGITS {
            return None;
        }
        let text = std::str::from_utf8(&s[start..start + digits]).ok()?;
        let c = char::from_u32(u32::from_str_radix(text, radix).ok()?)?;
        push_char(c, out);
        let end = start + digits;
        return Some(if s.get(end) == Some(&b';') {
            end + 1
        } else {
            end
        });
    }
    let name_len = s[1..]
        .iter()
        .take(16)
        .take_while(|b| b.is_ascii_alphanumeric())
        .count();
    if s.get(1 + name_len) != Some(&b';') {
        return None;
    }
    let name = &s[1..1 + name_len];
    let (_, c) = NAMED.iter().find(|(n, _)| *n == name)?;
    push_char(*c, out);
    Some(name_len + 2)
}

/// A match of pattern `pattern` read from `text[start..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Found {
    pub start: usize,
    pub end: usize,
    pub pattern: usize,
}

/// Every match of the automaton's patterns in `text` read through `view`.
/// `longest` is the longest pattern (the decoded bytes remembered).
pub(super) fn search(text: &[u8], view: View, dfa: &DFA, longest: usize, found: &mut Vec<Found>) {
    let Ok(mut state) = dfa.start_state(Anchored::No) else {
        return;
    };
    // Where each of the last `longest` decoded bytes began in `text`.
    let window = longest.max(1);
    let mut origin = vec![0usize; window];
    let mut decoded = 0usize;
    let mut unit = Vec::with_capacity(4);
    let mut i = 0;
    while i < text.len() {
        unit.clear();
        let len = if view.is_raw() {
            unit.push(text[i]);
            1
        } else {
            view.unit(text, i, &mut unit)
        };
        for &b in &unit {
            origin[decoded % window] = i;
            decoded += 1;
            state = dfa.next_state(Anchored::No, state, b);
            if dfa.is_match(state) {
                for k in 0..dfa.match_len(state) {
                    let pattern = dfa.match_pattern(state, k);
                    let first = decoded - dfa.pattern_len(pattern);
                    found.push(Found {
                        start: origin[first % window],
                        end: i + len,
                        pattern: pattern.as_usize(),
                    });
                }
            }
        }
        i += len;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(v: View, text: &str) -> String {
        let mut out = Vec::new();
        let mut i = 0;
        while i < text.len() {
            i += v.unit(text.as_bytes(), i, &mut out);
        }
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn views_decode_their_escapes_and_keep_the_rest() {
        let [_, json, uri, form, html, all] = VIEWS;
        assert_eq!(
            decode(json, r#"\u0041\/\"\\\u00e9\ud83d\ude00\q\u12"#),
            "A/\"\\é😀\\q\\u12"
        );
        assert_eq!(decode(json, r"\ud83d alone"), r"\ud83d alone");
        assert_eq!(decode(uri, "%41%2b%2B+%zz%4"), "A+++%zz%4");
        assert_eq!(decode(form, "a+b%20c"), "a b c");
        assert_eq!(
            decode(
                html,
                "&#65;&#x42;&#X43&#0000068;&quot;&sol;&bogus;&#;&#99999999999;"
            ),
            "ABCD\"/&bogus;&#;&#99999999999;"
        );
        assert_eq!(decode(all, r"\u0041%42&#67;"), "ABC");
    }
}
