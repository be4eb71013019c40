use super::*;
use base64::Engine as _;

fn secrets(values: &[&str]) -> SecretValues {
    let mut s = SecretValues::default();
    for v in values {
        s.add(v);
    }
    s
}

fn scrubbed(text: &str, s: &SecretValues) -> String {
    scrub_text(text, s).into_owned()
}

/// JSON-escape every character as `\uXXXX` (surrogate pairs above the BMP).
fn json_escape_all(text: &str) -> String {
    let mut out = String::new();
    for unit in text.encode_utf16() {
        out.push_str(&format!("\\u{unit:04X}"));
    }
    out
}

fn percent_all(text: &str, lower: bool) -> String {
    text.bytes()
        .map(|b| match lower {
            true => format!("%{b:02x}"),
            false => format!("%{b:02X}"),
        })
        .collect()
}

#[test]
fn every_spelling_of_every_character_class_is_scrubbed() {
    let secret = "Ab9 \"'\\/+=%&<>#?;:,.!@$^*()[]{}|`~_-é😀";
    let s = secrets(&[secret]);
    let b64 = |engine: &base64::engine::GeneralPurpose, prefix: &str| {
        engine.encode(format!("{prefix}{secret}+tail"))
    };
    use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
    let form: String = url::form_urlencoded::byte_serialize(secret.as_bytes()).collect();
    let json = serde_json::to_string(secret).expect("json");
    let html: String = secret.chars().map(|c| format!("&#{};", c as u32)).collect();
    let html_hex: String = secret
        .chars()
        .map(|c| format!("&#x{:x}", c as u32))
        .collect();
    let spellings = [
        secret.to_string(),
        json.clone(),
        json_escape_all(secret),
        json_escape_all(secret).to_lowercase(),
        percent_all(secret, true),
        percent_all(secret, false),
        form.clone(),
        html,
        html_hex,
        hex::encode(secret),
        hex::encode_upper(secret),
        b64(&STANDARD, ""),
        b64(&STANDARD, "x"),
        b64(&STANDARD_NO_PAD, "xy"),
        b64(&URL_SAFE, "user:"),
        b64(&URL_SAFE_NO_PAD, "ab"),
        // base64 of a JSON body that escaped the secret, itself JSON-escaped
        serde_json::to_string(&STANDARD.encode(format!("{{\"t\":{json}}}"))).expect("json"),
    ];
    for spelled in &spellings {
        let text = format!("before {spelled} after");
        let out = scrubbed(&text, &s);
        assert!(out.contains("[redacted]"), "{spelled} → {out}");
        assert!(
            out.starts_with("before ") && out.ends_with(" after"),
            "{out}"
        );
        for leftover in [secret, json.as_str(), form.as_str()] {
            assert!(!out.contains(leftover), "{out}");
        }
    }
}

#[test]
fn mixed_spellings_within_one_occurrence() {
    let s = secrets(&["s3cr/t+key"]);
    for text in [
        r"s3\u0063r\/t+key",
        "s3%63r%2Ft%2Bkey",
        "s3%63r%2Ft+key",
        r"s\u0033%63r&#47;t+key",
        "s3cr&sol;t&plus;key",
    ] {
        assert_eq!(scrubbed(text, &s), "[redacted]", "{text}");
    }
}

#[test]
fn json_bodies_are_decoded_scrubbed_and_re_serialized() {
    let secret = "tok\"en/1+2=3";
    let s = secrets(&[secret]);
    // The secret as a key, as a value, inside text, percent-encoded inside
    // a JSON string, and in JSON inside JSON.
    let inner = serde_json::to_string(&serde_json::json!({ "t": secret })).expect("json");
    let body = serde_json::json!({
        secret: 1,
        "v": secret,
        "text": format!("Bearer {secret}!"),
        "pct": percent_all(secret, false),
        "nested": inner,
        "list": [[[secret]]],
    });
    let text = serde_json::to_vec(&body).expect("json");
    let out = scrub_body(Some("application/json; charset=utf-8"), &text, &s);
    let value: Value = serde_json::from_slice(&out).expect("still JSON");
    let shown = value.to_string();
    assert!(!shown.contains("tok"), "{shown}");
    assert_eq!(value["v"], "[redacted]");
    assert_eq!(value["text"], "Bearer [redacted]!");
    assert_eq!(value["[redacted]"], 1);
    assert_eq!(value["list"][0][0][0], "[redacted]");

    // Nothing to scrub: the body is handed back untouched, formatting too.
    let plain = b"{ \"a\" : 1.50 }";
    assert!(matches!(
        scrub_body(Some("application/json"), plain, &s),
        Cow::Borrowed(_)
    ));
}

#[test]
fn form_bodies_are_decoded_pair_by_pair() {
    let secret = "p&ss=w rd%";
    let s = secrets(&[secret]);
    let body: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("token", secret)
        .append_pair(secret, "x")
        .append_pair("q", "keep me")
        .finish();
    let out = scrub_body(
        Some("application/x-www-form-urlencoded"),
        body.as_bytes(),
        &s,
    );
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(&out).into_owned().collect();
    assert_eq!(
        pairs,
        vec![
            ("token".into(), "[redacted]".into()),
            ("[redacted]".into(), "x".into()),
            ("q".into(), "keep me".into())
        ]
    );
}

#[test]
fn unrelated_text_is_left_alone_and_not_copied() {
    let s = secrets(&["hunter2-hunter2", "k"]);
    for text in ["plain", "hunter2-hunter", "%6", "\\u006", "&#;", "aHVudGVy"] {
        let out = scrub_bytes(text.as_bytes(), &s);
        assert_eq!(&*out, text.replace('k', "[redacted]").as_bytes(), "{text}");
    }
    assert!(matches!(scrub_bytes(b"plain", &s), Cow::Borrowed(_)));
    assert!(matches!(
        scrub_bytes(b"k", &SecretValues::default()),
        Cow::Borrowed(_)
    ));
    // Bytes that are not UTF-8 around a secret survive.
    let bytes = [&[0xff, 0xfe][..], b"hunter2-hunter2", &[0x80]].concat();
    assert_eq!(
        scrub_bytes(&bytes, &s).as_ref(),
        [&[0xff, 0xfe][..], b"[redacted]", &[0x80]]
            .concat()
            .as_slice()
    );
}

#[test]
fn overlapping_secrets_become_one_redaction() {
    let s = secrets(&["abcdef", "defghi"]);
    assert_eq!(scrubbed("xabcdefghiy", &s), "x[redacted]y");
    assert_eq!(scrubbed("abcdefabcdef", &s), "[redacted]");
}

#[test]
fn scrub_json_reaches_any_depth() {
    let s = secrets(&["deep-secret"]);
    let mut v = Value::String("deep-secret".into());
    for _ in 0..10_000 {
        v = Value::Array(vec![v]);
    }
    assert!(scrub_json(&mut v, &s));
    let mut inner = &v;
    while let Value::Array(items) = inner {
        inner = &items[0];
    }
    assert_eq!(inner, "[redacted]");
    // serde_json drops deep values recursively; take it apart by hand.
    while let Value::Array(mut items) = v {
        v = items.pop().unwrap_or(Value::Null);
    }
}

#[test]
fn debug_never_shows_a_secret() {
    let s = secrets(&["hunter2"]);
    let shown = format!("{s:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
}
