//! What a secret looks like once a server has re-encoded it as a whole:
//! the text itself, its hex, and its base64 at any position inside a
//! longer base64 string. Escapes that spell one character at a time
//! (JSON, percent, HTML) are not listed here: they are decoded while
//! searching ([`super::spelling`]).

use base64::Engine as _;

/// How a pattern relates to the secret, which decides how far a match is
/// widened ([`super::widen`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// The match is the whole spelling.
    Whole,
    /// The base64 characters that depend only on the secret's bytes: the
    /// one character on each side that mixes in a neighbour's bits still
    /// carries a few of the secret's and is redacted with it.
    Base64Core,
}

pub(super) struct Pattern {
    pub bytes: Vec<u8>,
    pub kind: Kind,
}

/// Fewest base64 characters searched for. Shorter runs would match
/// unrelated base64 data by chance (64^-6 per position and pattern), so a
/// secret needs at least 5 bytes for its base64 form to be recognised.
pub(super) const MIN_BASE64_CORE: usize = 6;

/// Fewest secret bytes whose hex spelling is searched for.
const MIN_HEX_BYTES: usize = 4;

/// Every pattern for `secret` (not empty).
pub(super) fn of(secret: &str) -> Vec<Pattern> {
    let mut out = vec![Pattern {
        bytes: secret.as_bytes().to_vec(),
        kind: Kind::Whole,
    }];
    // A server that base64-encodes what it echoes (a request dump, a
    // token exchange) encodes the secret as it received it: as sent, or
    // inside a JSON or form body that escaped it.
    let json = serde_json::to_string(secret).unwrap_or_default();
    let json = json
        .strip_prefix('"')
        .and_then(|j| j.strip_suffix('"'))
        .unwrap_or(secret)
        .to_string();
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let mut forms = vec![secret.to_string()];
    for f in [json, form] {
        if !forms.contains(&f) {
            forms.push(f);
        }
    }
    for form in &forms {
        for core in base64_cores(form.as_bytes()) {
            out.push(Pattern {
                bytes: core,
                kind: Kind::Base64Core,
            });
        }
    }
    if secret.len() >= MIN_HEX_BYTES {
        let lower = hex::encode(secret.as_bytes());
        out.push(Pattern {
            bytes: lower.to_ascii_uppercase().into_bytes(),
            kind: Kind::Whole,
        });
        out.push(Pattern {
            bytes: lower.into_bytes(),
            kind: Kind::Whole,
        });
    }
    out
}

/// The base64 characters that encode only `bytes`, for each position the
/// bytes can take within a 3-byte group (0, 1 or 2 bytes of something
/// else before them), in the standard and the URL-safe alphabet. Padding
/// and line breaks never fall inside these characters.
pub(super) fn base64_cores(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for before in 0..3usize {
        let mut shifted = vec![0u8; before];
        shifted.extend_from_slice(bytes);
        let chars = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&shifted);
        // Character j holds bits 6j..6j+6; the secret holds bits
        // 8·before..8·(before+len).
        let start = (8 * before).div_ceil(6);
        let end = 8 * shifted.len() / 6;
        if end < start + MIN_BASE64_CORE {
            continue;
        }
        let core = chars.as_bytes()[start..end].to_vec();
        let url_safe: Vec<u8> = core
            .iter()
            .map(|c| match c {
                b'+' => b'-',
                b'/' => b'_',
                c => *c,
            })
            .collect();
        if url_safe != core {
            out.push(url_safe);
        }
        out.push(core);
    }
    out
}

/// Is `b` a base64 character of either alphabet?
pub(super) fn is_base64_char(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'-' | b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cores_are_found_at_every_alignment() {
        let secret = b"hunter2-and-more";
        let cores = base64_cores(secret);
        for prefix in [&b""[..], b"x", b"xy", b"xyz", b"user:"] {
            for engine in [
                base64::engine::general_purpose::STANDARD,
                base64::engine::general_purpose::URL_SAFE_NO_PAD,
            ] {
                let mut whole = prefix.to_vec();
                whole.extend_from_slice(secret);
                whole.extend_from_slice(b"tail");
                let encoded = engine.encode(&whole);
                assert!(
                    cores.iter().any(|c| encoded
                        .as_bytes()
                        .windows(c.len())
                        .any(|w| w == c.as_slice())),
                    "{encoded}"
                );
            }
        }
        // Too short to tell from chance: no base64 pattern.
        assert!(base64_cores(b"abcd").is_empty());
        assert!(!base64_cores(b"abcde").is_empty());
    }
}
