//! `text`: Weft's standard blocks for text — split, join, replace and
//! regular-expression matching.

use regex::Regex;
use std::collections::BTreeMap;
use weft_sdk::prelude::*;

/// Text out.
#[derive(Serialize, JsonSchema)]
pub struct TextOutput {
    /// The resulting text.
    pub text: String,
}

// ----------------------------------------------------------------- split

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SplitInput {
    /// The text to split.
    pub text: String,
    /// Where to split, e.g. `,` or `\n`. An empty separator splits the text
    /// into its characters.
    pub separator: String,
}

#[derive(Serialize, JsonSchema)]
pub struct SplitOutput {
    /// The pieces between the separators, in order (empty pieces
    /// included).
    pub parts: Vec<String>,
    /// How many pieces there are.
    pub count: usize,
}

fn split(_ctx: &Context, input: SplitInput) -> Result<SplitOutput, BlockError> {
    let parts: Vec<String> = if input.separator.is_empty() {
        input.text.chars().map(String::from).collect()
    } else {
        input
            .text
            .split(input.separator.as_str())
            .map(String::from)
            .collect()
    };
    Ok(SplitOutput {
        count: parts.len(),
        parts,
    })
}

// ------------------------------------------------------------------ join

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct JoinInput {
    /// The pieces to join. Text is used as it is; any other value (number,
    /// true/false, null, list, object) is written as JSON.
    pub parts: Vec<Value>,
    /// Put between neighbouring pieces.
    #[serde(default)]
    pub separator: String,
}

fn join(_ctx: &Context, input: JoinInput) -> Result<TextOutput, BlockError> {
    let parts: Vec<String> = input
        .parts
        .into_iter()
        .map(|part| match part {
            Value::String(s) => s,
            other => other.to_string(),
        })
        .collect();
    Ok(TextOutput {
        text: parts.join(&input.separator),
    })
}

// --------------------------------------------------------------- replace

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplaceInput {
    /// The text to change.
    pub text: String,
    /// The text to look for (literally, not a pattern); must not be empty.
    pub find: String,
    /// What to put in its place (may be empty, to delete).
    pub replace_with: String,
    /// Replace every occurrence (true) or only the first (false).
    #[serde(default = "yes")]
    pub all: bool,
}

fn yes() -> bool {
    true
}

fn replace(_ctx: &Context, input: ReplaceInput) -> Result<TextOutput, BlockError> {
    if input.find.is_empty() {
        return Err(BlockError::invalid_input("`find` must not be empty"));
    }
    let text = if input.all {
        input.text.replace(&input.find, &input.replace_with)
    } else {
        input.text.replacen(&input.find, &input.replace_with, 1)
    };
    Ok(TextOutput { text })
}

// ----------------------------------------------------------- regex-match

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegexMatchInput {
    /// The text to search.
    pub text: String,
    /// A regular expression in Rust `regex` syntax (like Perl's, without
    /// look-around or back-references), e.g. `(?P<year>\d{4})-(\d{2})`.
    /// Use `(?i)` for case-insensitive matching.
    pub pattern: String,
    /// Return every match (true) or only the first (false).
    #[serde(default)]
    pub all: bool,
}

/// One match of the pattern.
#[derive(Serialize, JsonSchema)]
pub struct RegexMatch {
    /// The matched text.
    pub text: String,
    /// The capture groups 1, 2, … in order (named ones included); null for
    /// a group that did not take part in the match.
    pub groups: Vec<Option<String>>,
    /// The named capture groups by name; null for a group that did not
    /// take part in the match.
    pub named: BTreeMap<String, Option<String>>,
}

#[derive(Serialize, JsonSchema)]
pub struct RegexMatchOutput {
    /// Whether the pattern matched at all.
    pub matched: bool,
    /// The matches: at most one unless `all` is true.
    pub matches: Vec<RegexMatch>,
}

fn regex_match(_ctx: &Context, input: RegexMatchInput) -> Result<RegexMatchOutput, BlockError> {
    let re = Regex::new(&input.pattern).map_err(|e| {
        BlockError::invalid_input(format!("`pattern` is not a valid regular expression: {e}"))
            .with_details(json!({ "path": "pattern" }))
    })?;
    let names: Vec<(usize, &str)> = re
        .capture_names()
        .enumerate()
        .filter_map(|(i, name)| name.map(|n| (i, n)))
        .collect();
    let to_match = |caps: regex::Captures<'_>| {
        let text = caps
            .get(0)
            .map(|m| m.as_str().to_string())
            .unwrap_or_default();
        let group = |i: usize| caps.get(i).map(|m| m.as_str().to_string());
        RegexMatch {
            text,
            groups: (1..caps.len()).map(group).collect(),
            named: names
                .iter()
                .map(|&(i, n)| (n.to_string(), group(i)))
                .collect(),
        }
    };
    let matches: Vec<RegexMatch> = if input.all {
        re.captures_iter(&input.text).map(to_match).collect()
    } else {
        re.captures(&input.text).map(to_match).into_iter().collect()
    };
    Ok(RegexMatchOutput {
        matched: !matches.is_empty(),
        matches,
    })
}

weft_sdk::connector! {
    id: "text",
    name: "Text",
    description: "Split, join and replace text, and match regular expressions.",
    hosts: [],
    auth: [Auth::None],
    blocks: [
        split => ("split", "Split text", "Splits text at every separator."),
        join => ("join", "Join text", "Joins pieces into one text with a separator between them."),
        replace => ("replace", "Replace text", "Replaces occurrences of a text with another."),
        regex_match => ("regex-match", "Match regular expression", "Finds matches of a regular expression and their capture groups."),
    ],
}
