//! The one rule for identifiers users choose: automation ids, block ids and
//! variable names (and, on the server, user names).
//!
//! An identifier is 1 to [`MAX_LEN`] characters of ASCII letters, digits,
//! `_` and `-`. Identifiers end up in URL paths (`/hooks/{id}`,
//! `/api/v1/automations/{id}`), storage keys, references (`$.Block.field`)
//! and file names, so anything that could mean something there — `/`, `.`,
//! `%`, whitespace, control characters — is refused rather than escaped
//! everywhere it travels.

/// The longest identifier, in bytes (= characters: only ASCII is allowed).
pub const MAX_LEN: usize = 64;

/// The rule in words, for error messages and documentation.
pub const RULE: &str = "1-64 characters of ASCII letters, digits, _ and -";

/// Why a string is not an identifier.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IdentError {
    Empty,
    TooLong { len: usize },
    BadCharacter { at: usize },
}

impl std::fmt::Display for IdentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IdentError::Empty => write!(f, "must not be empty; ids are {RULE}"),
            IdentError::TooLong { len } => {
                write!(f, "is {len} bytes long; ids are {RULE}")
            }
            IdentError::BadCharacter { at } => write!(
                f,
                "has a character that is not allowed at byte {at}; ids are {RULE}"
            ),
        }
    }
}

/// Check `id` against the rule.
pub fn check(id: &str) -> Result<(), IdentError> {
    if id.is_empty() {
        return Err(IdentError::Empty);
    }
    if id.len() > MAX_LEN {
        return Err(IdentError::TooLong { len: id.len() });
    }
    match id
        .bytes()
        .position(|c| !(c.is_ascii_alphanumeric() || c == b'_' || c == b'-'))
    {
        Some(at) => Err(IdentError::BadCharacter { at }),
        None => Ok(()),
    }
}

/// `id` as it may be shown in a message: escaped, and cut after
/// [`MAX_LEN`] characters so a huge refused id is not echoed back whole.
pub fn shown(id: &str) -> String {
    let mut out: String = id
        .chars()
        .take(MAX_LEN)
        .flat_map(char::escape_debug)
        .collect();
    if id.chars().nth(MAX_LEN).is_some() {
        out.push('…');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_the_rule_and_refuses_the_rest() {
        for ok in ["a", "Start", "order-sync_2", &"x".repeat(MAX_LEN)] {
            assert_eq!(check(ok), Ok(()), "{ok}");
        }
        assert_eq!(check(""), Err(IdentError::Empty));
        assert_eq!(
            check(&"x".repeat(MAX_LEN + 1)),
            Err(IdentError::TooLong { len: MAX_LEN + 1 })
        );
        for bad in ["../../etc", "x/y", "a\0b", "a\nb", "a b", "a.b", "é", "%2F"] {
            assert!(
                matches!(check(bad), Err(IdentError::BadCharacter { .. })),
                "{bad:?}"
            );
        }
    }
}
