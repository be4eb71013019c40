//! Pages for every list: `limit` and an opaque `cursor`.
//!
//! A list answers at most `limit` items (default [`DEFAULT_LIMIT`], at most
//! [`MAX_LIMIT`]; a larger or zero `limit` is refused rather than quietly
//! clamped) and, when more follow, `next_cursor`: pass it back as
//! `?cursor=` with the same filters and sort to get the next page. Cursors
//! are keyset positions (the sort key and id of the last item answered),
//! not offsets, so items created or deleted between two pages neither
//! repeat nor go missing among those not yet seen. They are base64url of
//! a small JSON value: opaque to clients (the shape may change), checked
//! when they come back.

use crate::error::ApiError;
use axum::http::StatusCode;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::json;

/// Items per page unless `limit` says otherwise.
pub const DEFAULT_LIMIT: usize = 50;
/// The most items one page may ask for.
pub const MAX_LIMIT: usize = 500;
/// The longest cursor accepted (a real one is far shorter).
const MAX_CURSOR_LEN: usize = 1024;

/// The page size asked for, checked against the bounds.
pub fn limit(asked: Option<usize>) -> Result<usize, ApiError> {
    match asked {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(n) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "limit_out_of_range",
            format!(
                "limit: {n} is not between 1 and {MAX_LIMIT}; walk longer lists with next_cursor"
            ),
        )
        .details(json!({"field": "limit", "min": 1, "max": MAX_LIMIT}))),
    }
}

/// A filter's value: absent, or a non-empty string. An empty filter
/// (`?automation=`) would match nothing and is almost always a client
/// that failed to fill it in, so it is refused rather than answered with
/// an empty page.
pub fn filter(field: &'static str, value: Option<String>) -> Result<Option<String>, ApiError> {
    match value {
        Some(v) if v.is_empty() => Err(ApiError::bad_request(format!(
            "{field}: empty; leave the filter out to list everything"
        ))
        .details(json!({"field": field}))),
        v => Ok(v),
    }
}

/// Encode a position as a cursor.
pub fn encode<T: Serialize>(position: &T) -> String {
    // Serializing plain data into a Vec cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default())
}

/// The answer to a cursor this list did not hand out (junk, or a cursor
/// from another list or another sort).
pub fn invalid_cursor() -> ApiError {
    ApiError::new(
        StatusCode::BAD_REQUEST,
        "invalid_cursor",
        "cursor: not a cursor this list handed out; pass next_cursor back unchanged, with the same filters and sort, or leave cursor out to start again",
    )
    .details(json!({"field": "cursor"}))
}

/// Decode a cursor this server handed out.
pub fn decode<T: DeserializeOwned>(cursor: &str) -> Result<T, ApiError> {
    if cursor.len() > MAX_CURSOR_LEN {
        return Err(invalid_cursor());
    }
    let bytes = URL_SAFE_NO_PAD
        .decode(cursor)
        .map_err(|_| invalid_cursor())?;
    serde_json::from_slice(&bytes).map_err(|_| invalid_cursor())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_round_trip_and_junk_is_refused() {
        let c = encode(&("name", "x", 3));
        assert_eq!(
            decode::<(String, String, i32)>(&c).ok(),
            Some(("name".into(), "x".into(), 3))
        );
        for junk in ["", "!", "e30", &"A".repeat(2000)] {
            let e = decode::<(String, String, i32)>(junk).unwrap_err();
            assert_eq!(e.code, "invalid_cursor", "{junk}");
        }
        assert_eq!(filter("x", None).ok(), Some(None));
        assert_eq!(filter("x", Some("a".into())).ok(), Some(Some("a".into())));
        assert_eq!(
            filter("x", Some(String::new())).unwrap_err().code,
            "bad_request"
        );
        assert_eq!(limit(None).ok(), Some(DEFAULT_LIMIT));
        assert_eq!(limit(Some(MAX_LIMIT)).ok(), Some(MAX_LIMIT));
        assert_eq!(limit(Some(0)).unwrap_err().code, "limit_out_of_range");
        assert_eq!(
            limit(Some(MAX_LIMIT + 1)).unwrap_err().code,
            "limit_out_of_range"
        );
    }
}
