//! Encodings and digests of text: URL (percent) encoding as RFC 3986
//! defines it, HTML entities, base64, and MD5/SHA-1/SHA-256 as lowercase
//! hex. Encoders know their output's exact size from their input, so they
//! check it against `max_value_bytes` before encoding; decoders only
//! shrink text. The digests are for matching other systems' checksums and
//! cache keys, not for security (MD5 and SHA-1 are broken for that).

use super::{Formula, Limits, text};
use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, percent_decode_str, utf8_percent_encode};
use serde_json::Value;

pub const FORMULAS: &[Formula] = &[
    Formula {
        name: "urlencode",
        aliases: &["url_encode"],
        min: 1,
        max: 1,
        args: "text",
        description: "Percent-encoded for a URL: everything but letters, digits and `-_.~` (a space is `%20`).",
        examples: &[("[\"a b&c=d/é\"]", "\"a%20b%26c%3Dd%2F%C3%A9\"")],
        missing_is_null: false,
        eval: url_encode,
    },
    Formula {
        name: "urldecode",
        aliases: &["url_decode"],
        min: 1,
        max: 1,
        args: "text",
        description: "Percent-decoded (`%20` is a space; `+` stays `+`); an error when the bytes are not UTF-8.",
        examples: &[("[\"a%20b%26c%3Dd%2F%C3%A9\"]", "\"a b&c=d/é\"")],
        missing_is_null: false,
        eval: url_decode,
    },
    Formula {
        name: "htmlencode",
        aliases: &["html_encode", "htmlentities"],
        min: 1,
        max: 1,
        args: "text",
        description: "Safe inside HTML text and attributes: `& < > \" '` become entities.",
        examples: &[(
            "[\"<b>Tom & 'Jerry'</b>\"]",
            "\"&lt;b&gt;Tom &amp; &#x27;Jerry&#x27;&lt;/b&gt;\"",
        )],
        missing_is_null: false,
        eval: html_encode,
    },
    Formula {
        name: "htmldecode",
        aliases: &["html_decode", "htmlentitydecode"],
        min: 1,
        max: 1,
        args: "text",
        description: "HTML entities (named, decimal and hex) turned back into characters.",
        examples: &[(
            "[\"Tom &amp; Jerry &eacute; &#65;&#x42;\"]",
            "\"Tom & Jerry é AB\"",
        )],
        missing_is_null: false,
        eval: html_decode,
    },
    Formula {
        name: "base64encode",
        aliases: &["base64_encode"],
        min: 1,
        max: 1,
        args: "text",
        description: "The text's UTF-8 bytes in standard base64, with padding.",
        examples: &[("[\"user:pässword\"]", "\"dXNlcjpww6Rzc3dvcmQ=\"")],
        missing_is_null: false,
        eval: base64_encode,
    },
    Formula {
        name: "base64decode",
        aliases: &["base64_decode"],
        min: 1,
        max: 1,
        args: "text",
        description: "Base64 (standard or URL-safe alphabet, padding optional) decoded to text; an error when that is not UTF-8.",
        examples: &[("[\"dXNlcjpww6Rzc3dvcmQ\"]", "\"user:pässword\"")],
        missing_is_null: false,
        eval: base64_decode,
    },
    Formula {
        name: "md5",
        aliases: &[],
        min: 1,
        max: 1,
        args: "text",
        description: "The MD5 digest of the text's UTF-8 bytes, in lowercase hex.",
        examples: &[("[\"abc\"]", "\"900150983cd24fb0d6963f7d28e17f72\"")],
        missing_is_null: false,
        eval: |a, _| Ok(hex_digest::<md5::Md5>(&a[0])),
    },
    Formula {
        name: "sha1",
        aliases: &[],
        min: 1,
        max: 1,
        args: "text",
        description: "The SHA-1 digest of the text's UTF-8 bytes, in lowercase hex.",
        examples: &[("[\"abc\"]", "\"a9993e364706816aba3e25717850c26c9cd0d89d\"")],
        missing_is_null: false,
        eval: |a, _| Ok(hex_digest::<sha1::Sha1>(&a[0])),
    },
    Formula {
        name: "sha256",
        aliases: &[],
        min: 1,
        max: 1,
        args: "text",
        description: "The SHA-256 digest of the text's UTF-8 bytes, in lowercase hex.",
        examples: &[(
            "[\"abc\"]",
            "\"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\"",
        )],
        missing_is_null: false,
        eval: |a, _| Ok(hex_digest::<sha2::Sha256>(&a[0])),
    },
];

/// Everything but RFC 3986's unreserved characters is encoded.
const URL_ESCAPED: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

fn url_encode(args: &[Value], limits: &Limits) -> Result<Value, String> {
    let s = text(&args[0]);
    let escaped = s
        .bytes()
        .filter(|b| !(b.is_ascii_alphanumeric() || b"-_.~".contains(b)))
        .count();
    limits.allow(s.len() + 2 * escaped + 2)?;
    Ok(Value::String(
        utf8_percent_encode(&s, URL_ESCAPED).to_string(),
    ))
}

fn url_decode(args: &[Value], _: &Limits) -> Result<Value, String> {
    let s = text(&args[0]);
    let decoded = percent_decode_str(&s)
        .decode_utf8()
        .map_err(|_| "the decoded bytes are not UTF-8 text".to_string())?;
    Ok(Value::String(decoded.into_owned()))
}

fn html_encode(args: &[Value], limits: &Limits) -> Result<Value, String> {
    let s = text(&args[0]);
    // The growth of each escaped byte: `&amp;` `&lt;` `&gt;` `&quot;` `&#x27;`.
    let extra: usize = s
        .bytes()
        .map(|b| match b {
            b'&' => 4,
            b'<' | b'>' => 3,
            b'"' | b'\'' => 5,
            _ => 0,
        })
        .sum();
    limits.allow(s.len() + extra + 2)?;
    Ok(Value::String(
        html_escape::encode_quoted_attribute(&s).into_owned(),
    ))
}

fn html_decode(args: &[Value], _: &Limits) -> Result<Value, String> {
    Ok(Value::String(
        html_escape::decode_html_entities(&text(&args[0])).into_owned(),
    ))
}

fn base64_encode(args: &[Value], limits: &Limits) -> Result<Value, String> {
    let s = text(&args[0]);
    let size = base64::encoded_len(s.len(), true).unwrap_or(usize::MAX);
    limits.allow(size.saturating_add(2))?;
    Ok(Value::String(
        base64::engine::general_purpose::STANDARD.encode(s.as_bytes()),
    ))
}

fn base64_decode(args: &[Value], _: &Limits) -> Result<Value, String> {
    let config =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    let standard = GeneralPurpose::new(&base64::alphabet::STANDARD, config);
    let url_safe = GeneralPurpose::new(&base64::alphabet::URL_SAFE, config);
    let s = text(&args[0]);
    let s = s.trim();
    let bytes = standard
        .decode(s)
        .or_else(|_| url_safe.decode(s))
        .map_err(|e| format!("the text is not base64: {e}"))?;
    String::from_utf8(bytes)
        .map(Value::String)
        .map_err(|_| "the decoded bytes are not UTF-8 text".to_string())
}

fn hex_digest<D: sha2::Digest>(v: &Value) -> Value {
    Value::String(hex::encode(D::digest(text(v).as_bytes())))
}
