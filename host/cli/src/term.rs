//! Text from guests (block errors, log lines, URLs a block asked for)
//! printed for a person: control characters are shown escaped, so an
//! escape sequence or carriage return a block returns cannot rewrite the
//! operator's terminal or fake lines of output.

use std::borrow::Cow;

/// `text` with every control character (C0, DEL, C1 — newlines too)
/// written as a Rust-style escape (`\u{1b}`, `\r`, `\n`).
pub fn safe(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// Like [`safe`], but keeps newlines: for Weft's own messages, which may
/// list several problems one per line while quoting guest text.
pub fn safe_lines(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.split('\n').map(safe).collect::<Vec<_>>().join("\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(safe("plain ünïcode"), "plain ünïcode");
        assert_eq!(
            safe("a\u{1b}[2Jb\rc\nd\u{9b}e\u{7f}"),
            "a\\u{1b}[2Jb\\rc\\nd\\u{9b}e\\u{7f}"
        );
    }

    #[test]
    fn messages_keep_their_lines_but_not_escape_sequences() {
        assert_eq!(safe_lines("one\ntwo"), "one\ntwo");
        assert_eq!(safe_lines("a\u{1b}[2Jb\nc\rd"), "a\\u{1b}[2Jb\nc\\rd");
    }
}
