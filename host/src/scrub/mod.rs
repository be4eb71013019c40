//! Scrubbing injected secrets by meaning, not by bytes.
//!
//! A server that echoes a credential may spell it differently from how it
//! was sent: JSON-escaped (any character may be `\uXXXX`), percent-encoded
//! (either case, `+` for a space), as HTML references, base64 (standard or
//! URL-safe, padded or not, anywhere inside a longer base64 string) or
//! hex. [`SecretValues`] holds the secrets the host put on the wire, and
//! these functions replace every occurrence, in any of those spellings,
//! with `[redacted]`:
//!
//! - [`scrub_bytes`] / [`scrub_text`]: any text; escapes are decoded while
//!   searching ([`spelling`]), whole-value encodings are searched for as
//!   patterns ([`patterns`]);
//! - [`scrub_body`]: an HTTP body whose meaning is known — a JSON body is
//!   parsed and every string and key scrubbed (so escapes inside escapes
//!   are read), then re-serialized; a form body is decoded pair by pair —
//!   before the text pass above, which also covers other types;
//! - [`scrub_json`]: a JSON value in place, and [`record`]: what an
//!   invocation or a run leaves (output, errors, logs, steps, calls).
//!
//! Work is linear in the text: at most [`spelling::VIEWS`] passes, each a
//! table lookup per byte; nothing is copied when nothing matched.
//! What cannot be recognised: a secret cut into pieces, or transformed in
//! ways other than the above (reversed, encrypted, compressed — the host
//! asks for uncompressed answers when it injects a credential), and the
//! base64 or hex forms of secrets shorter than 5 and 4 bytes.

mod patterns;
pub mod record;
mod spelling;

use crate::outbound_http::redact::REDACTED;
use aho_corasick::MatchKind;
use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use patterns::Kind;
use serde_json::Value;
use spelling::{Found, Present, VIEWS};
use std::borrow::Cow;
use std::collections::BTreeSet;
use std::sync::Arc;

/// The secret values the host put on the wire (during one invocation, or
/// a whole run). `Debug` shows only how many there are.
#[derive(Clone, Default)]
pub struct SecretValues {
    secrets: BTreeSet<String>,
    matcher: Option<Arc<Matcher>>,
}

/// One automaton over every pattern of every secret.
struct Matcher {
    dfa: DFA,
    kinds: Vec<Kind>,
    longest: usize,
}

impl std::fmt::Debug for SecretValues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SecretValues({} secret(s), [redacted])",
            self.secrets.len()
        )
    }
}

impl SecretValues {
    /// Remember `secret` (an empty value is ignored: there is nothing to
    /// find).
    pub fn add(&mut self, secret: &str) {
        if !secret.is_empty() && self.secrets.insert(secret.to_string()) {
            self.rebuild();
        }
    }

    /// Remember every secret of `other`.
    pub fn extend(&mut self, other: &SecretValues) {
        let before = self.secrets.len();
        self.secrets.extend(other.secrets.iter().cloned());
        if self.secrets.len() != before {
            self.rebuild();
        }
    }

    pub fn is_empty(&self) -> bool {
        self.secrets.is_empty()
    }

    /// The secrets, for sealing them with a resumable run's private copy
    /// of an output (see [`crate::output_seal`]).
    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.secrets.iter().map(String::as_str)
    }

    fn rebuild(&mut self) {
        let mut bytes = Vec::new();
        let mut kinds = Vec::new();
        for secret in &self.secrets {
            for p in patterns::of(secret) {
                if !bytes.contains(&p.bytes) {
                    bytes.push(p.bytes);
                    kinds.push(p.kind);
                }
            }
        }
        let longest = bytes.iter().map(Vec::len).max().unwrap_or(0);
        // Standard semantics report every pattern ending at each byte,
        // which a streaming search over decoded text needs.
        let dfa = DFA::builder().match_kind(MatchKind::Standard).build(&bytes);
        self.matcher = match dfa {
            Ok(dfa) => Some(Arc::new(Matcher {
                dfa,
                kinds,
                longest,
            })),
            // Only too many states can fail; fall back to the one pattern
            // per secret that must never be missed.
            Err(_) => DFA::builder()
                .match_kind(MatchKind::Standard)
                .build(self.secrets.iter())
                .ok()
                .map(|dfa| {
                    Arc::new(Matcher {
                        kinds: vec![Kind::Whole; dfa.patterns_len()],
                        longest: self.secrets.iter().map(String::len).max().unwrap_or(0),
                        dfa,
                    })
                }),
        };
    }
}

/// `bytes` with every occurrence of a secret, in any spelling, replaced by
/// `[redacted]`. Borrowed (no copy) when nothing matched.
pub fn scrub_bytes<'a>(bytes: &'a [u8], secrets: &SecretValues) -> Cow<'a, [u8]> {
    let Some(m) = &secrets.matcher else {
        return Cow::Borrowed(bytes);
    };
    let present = Present::of(bytes);
    let mut found = Vec::new();
    for view in VIEWS.iter().filter(|v| v.needed(present)) {
        spelling::search(bytes, *view, &m.dfa, m.longest, &mut found);
    }
    if found.is_empty() {
        return Cow::Borrowed(bytes);
    }
    for f in &mut found {
        if m.kinds.get(f.pattern) == Some(&Kind::Base64Core) {
            widen(bytes, f);
        }
    }
    found.sort_by_key(|f| (f.start, f.end));
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    let mut i = 0;
    while i < found.len() {
        let start = found[i].start.max(at);
        let mut end = found[i].end;
        i += 1;
        // Overlapping and touching matches become one `[redacted]`.
        while i < found.len() && found[i].start <= end {
            end = end.max(found[i].end);
            i += 1;
        }
        if end <= at {
            continue;
        }
        out.extend_from_slice(&bytes[at..start]);
        out.extend_from_slice(REDACTED.as_bytes());
        at = end;
    }
    out.extend_from_slice(&bytes[at..]);
    Cow::Owned(out)
}

/// Take in the base64 character on each side of a core match, which
/// carries a few bits of the secret's first or last byte, in whatever
/// spelling it has (raw, `%2B`, `\/`, `\u002F`).
fn widen(text: &[u8], f: &mut Found) {
    let one_char = |piece: &[u8]| {
        let mut out = Vec::new();
        decode_one(piece, &mut out) && out.len() == 1 && patterns::is_base64_char(out[0])
    };
    // Longest spelling first before the match (`\u002F` ends in a base64
    // character too), shortest first after it.
    let before = &text[..f.start];
    if let Some(len) = [6, 3, 2, 1]
        .into_iter()
        .find(|&len| before.len() >= len && one_char(&before[before.len() - len..]))
    {
        f.start -= len;
    }
    let after = &text[f.end..];
    if let Some(len) = [1, 2, 3, 6]
        .into_iter()
        .find(|&len| after.len() >= len && one_char(&after[..len]))
    {
        f.end += len;
    }
}

/// Whether `piece` is exactly one unit (a character or one escape).
fn decode_one(piece: &[u8], out: &mut Vec<u8>) -> bool {
    match piece {
        [b] => {
            out.push(*b);
            true
        }
        [b'\\', b'/'] => {
            out.push(b'/');
            true
        }
        [b'%', h, l] => match (hex(*h), hex(*l)) {
            (Some(h), Some(l)) => {
                out.push((h << 4) | l);
                true
            }
            _ => false,
        },
        [b'\\', b'u', digits @ ..] if digits.len() == 4 => {
            match digits
                .iter()
                .try_fold(0u32, |acc, d| Some((acc << 4) | u32::from(hex(*d)?)))
            {
                Some(v) if v < 0x80 => {
                    out.push(v as u8);
                    true
                }
                _ => false,
            }
        }
        _ => false,
    }
}

fn hex(b: u8) -> Option<u8> {
    (b as char).to_digit(16).map(|d| d as u8)
}

/// [`scrub_bytes`] for text. Matches begin and end on character
/// boundaries, so the result is valid UTF-8.
pub fn scrub_text<'a>(text: &'a str, secrets: &SecretValues) -> Cow<'a, str> {
    match scrub_bytes(text.as_bytes(), secrets) {
        Cow::Borrowed(_) => Cow::Borrowed(text),
        Cow::Owned(bytes) => Cow::Owned(
            String::from_utf8(bytes)
                .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
        ),
    }
}

/// Scrub every string and key inside `value`, in place. Returns whether
/// anything changed. Iterative, so any depth is fine.
pub fn scrub_json(value: &mut Value, secrets: &SecretValues) -> bool {
    if secrets.is_empty() {
        return false;
    }
    let mut changed = false;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        match v {
            Value::String(s) => {
                if let Cow::Owned(clean) = scrub_text(s, secrets) {
                    *s = clean;
                    changed = true;
                }
            }
            Value::Array(items) => stack.extend(items.iter_mut()),
            Value::Object(map) => {
                let dirty = map
                    .keys()
                    .any(|k| matches!(scrub_text(k, secrets), Cow::Owned(_)));
                if dirty {
                    changed = true;
                    *map = std::mem::take(map)
                        .into_iter()
                        .map(|(k, v)| (scrub_text(&k, secrets).into_owned(), v))
                        .collect();
                }
                stack.extend(map.values_mut());
            }
            Value::Null | Value::Bool(_) | Value::Number(_) => {}
        }
    }
    changed
}

/// Scrub an HTTP body, reading it as its `content_type` says: JSON is
/// parsed and scrubbed string by string, a form pair by pair, and then the
/// text as a whole (which also covers every other type). Borrowed when
/// nothing matched.
pub fn scrub_body<'a>(
    content_type: Option<&str>,
    body: &'a [u8],
    secrets: &SecretValues,
) -> Cow<'a, [u8]> {
    if secrets.is_empty() {
        return Cow::Borrowed(body);
    }
    let media = content_type
        .map(|c| {
            c.split(';')
                .next()
                .unwrap_or("")
                .trim()
                .to_ascii_lowercase()
        })
        .unwrap_or_default();
    let first = body.iter().find(|b| !b.is_ascii_whitespace());
    let mut decoded = None;
    if media.contains("json") || matches!(first, Some(&(b'{' | b'['))) {
        if let Ok(mut value) = serde_json::from_slice::<Value>(body)
            && scrub_json(&mut value, secrets)
        {
            decoded = serde_json::to_vec(&value).ok();
        }
    } else if media == "application/x-www-form-urlencoded" {
        decoded = scrub_form(body, secrets);
    }
    match decoded {
        Some(d) => Cow::Owned(scrub_bytes(&d, secrets).into_owned()),
        None => scrub_bytes(body, secrets),
    }
}

/// A form body with every name and value scrubbed after decoding, or
/// `None` when nothing matched.
fn scrub_form(body: &[u8], secrets: &SecretValues) -> Option<Vec<u8>> {
    let mut changed = false;
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(body)
        .map(|(k, v)| {
            let k2 = scrub_text(&k, secrets);
            let v2 = scrub_text(&v, secrets);
            changed |= matches!(k2, Cow::Owned(_)) || matches!(v2, Cow::Owned(_));
            (k2.into_owned(), v2.into_owned())
        })
        .collect();
    changed.then(|| {
        url::form_urlencoded::Serializer::new(String::new())
            .extend_pairs(pairs)
            .finish()
            .into_bytes()
    })
}

#[cfg(test)]
mod tests;
