//! `datetime`: Weft's standard blocks for dates and times — now, format,
//! parse and add.
//!
//! Everything is in UTC: an input with another offset is converted, and
//! every output (`iso`, formatted text) is UTC.

use chrono::format::{Item, StrftimeItems};
use chrono::{
    DateTime, Months, NaiveDate, NaiveDateTime, SecondsFormat, TimeDelta, TimeZone as _, Utc,
};
use std::fmt::Write as _;
use weft_sdk::prelude::*;

/// A point in time as the blocks take it.
#[derive(Debug, Clone, JsonSchema)]
#[schemars(untagged)]
pub enum DateTimeValue {
    /// RFC 3339 text (`2024-05-01T12:30:00Z`, `2024-05-01T14:30:00+02:00`),
    /// the same without an offset (taken as UTC), or a plain date
    /// (`2024-05-01`, midnight UTC).
    Text(String),
    /// Unix time in seconds (may have a fraction).
    Unix(f64),
}

impl<'de> Deserialize<'de> for DateTimeValue {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        match Value::deserialize(deserializer)? {
            Value::String(s) => Ok(DateTimeValue::Text(s)),
            Value::Number(n) => n
                .as_f64()
                .map(DateTimeValue::Unix)
                .ok_or_else(|| serde::de::Error::custom("unix seconds must be a finite number")),
            other => Err(serde::de::Error::custom(format!(
                "expected RFC 3339 text, a date (2024-05-01) or unix seconds, got {other}"
            ))),
        }
    }
}

impl DateTimeValue {
    /// The point in time, or an invalid-input error naming `field`.
    fn resolve(&self, field: &str) -> Result<DateTime<Utc>, BlockError> {
        match self {
            DateTimeValue::Text(s) => parse_default(s).ok_or_else(|| {
                invalid(
                    field,
                    format!(
                        "`{field}` {s:?} is not an RFC 3339 date-time (2024-05-01T12:30:00Z), a date (2024-05-01) or unix seconds"
                    ),
                )
            }),
            DateTimeValue::Unix(secs) => from_unix(*secs).ok_or_else(|| {
                invalid(
                    field,
                    format!("`{field}` {secs} is out of the supported range of unix seconds"),
                )
            }),
        }
    }
}

fn invalid(field: &str, message: String) -> BlockError {
    BlockError::invalid_input(message).with_details(json!({ "path": field }))
}

/// RFC 3339, the same without an offset (UTC), or a plain date.
fn parse_default(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(dt) = DateTime::parse_from_rfc3339(s) {
        return Some(dt.with_timezone(&Utc));
    }
    for format in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
    ] {
        if let Ok(naive) = NaiveDateTime::parse_from_str(s, format) {
            return Some(naive.and_utc());
        }
    }
    NaiveDate::parse_from_str(s, "%Y-%m-%d")
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|naive| naive.and_utc())
}

fn from_unix(secs: f64) -> Option<DateTime<Utc>> {
    if !secs.is_finite() || secs.abs() > 1e15 {
        return None;
    }
    let whole = secs.floor();
    let nanos = (((secs - whole) * 1e9).round() as u32).min(999_999_999);
    DateTime::from_timestamp(whole as i64, nanos)
}

/// The items of a strftime format, or an invalid-input error naming `field`
/// and the offending part (chrono would panic on a bad item when printing).
fn strftime_items<'a>(format: &'a str, field: &str) -> Result<Vec<Item<'a>>, BlockError> {
    let items: Vec<Item<'a>> = StrftimeItems::new(format).collect();
    if items.iter().any(|item| matches!(item, Item::Error)) {
        return Err(invalid(
            field,
            format!(
                "`{field}` {format:?} is not a valid strftime format (check each `%` specifier, e.g. %Y-%m-%d %H:%M:%S; write %% for a literal %)"
            ),
        ));
    }
    Ok(items)
}

/// Date and time as the blocks return them.
#[derive(Serialize, JsonSchema)]
pub struct Instant {
    /// RFC 3339 in UTC with `Z`, with a fraction of a second only when
    /// there is one (`2024-05-01T12:30:00Z`).
    pub iso: String,
    /// Unix time in whole seconds (rounded down).
    pub unix: i64,
}

impl From<DateTime<Utc>> for Instant {
    fn from(dt: DateTime<Utc>) -> Self {
        Instant {
            iso: dt.to_rfc3339_opts(SecondsFormat::AutoSi, true),
            unix: dt.timestamp(),
        }
    }
}

// ------------------------------------------------------------------- now

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NowInput {}

#[derive(Serialize, JsonSchema)]
pub struct NowOutput {
    /// The current time as RFC 3339 in UTC with `Z`, to the millisecond.
    pub iso: String,
    /// Unix time in whole seconds.
    pub unix: i64,
    /// Unix time in milliseconds.
    pub unix_ms: i64,
}

fn now(_ctx: &Context, _input: NowInput) -> Result<NowOutput, BlockError> {
    let unix_ms = Utc::now().timestamp_millis();
    let now = Utc
        .timestamp_millis_opt(unix_ms)
        .single()
        .ok_or_else(|| BlockError::fatal("the clock is out of range"))?;
    Ok(NowOutput {
        iso: now.to_rfc3339_opts(SecondsFormat::Millis, true),
        unix: now.timestamp(),
        unix_ms,
    })
}

// ---------------------------------------------------------------- format

const DEFAULT_FORMAT: &str = "%Y-%m-%dT%H:%M:%SZ";

fn default_format() -> String {
    DEFAULT_FORMAT.to_string()
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FormatInput {
    /// The point in time: RFC 3339 text, a date (`2024-05-01`) or unix
    /// seconds.
    pub datetime: DateTimeValue,
    /// A strftime format, e.g. `%d.%m.%Y %H:%M` or `%A, %B %e` (see
    /// chrono's strftime reference). Times are printed in UTC.
    #[serde(default = "default_format")]
    pub format: String,
}

#[derive(Serialize, JsonSchema)]
pub struct FormatOutput {
    /// The formatted date and time.
    pub text: String,
}

fn format(_ctx: &Context, input: FormatInput) -> Result<FormatOutput, BlockError> {
    let items = strftime_items(&input.format, "format")?;
    let dt = input.datetime.resolve("datetime")?;
    let mut text = String::new();
    write!(text, "{}", dt.format_with_items(items.iter())).map_err(|_| {
        invalid(
            "format",
            format!("`format` {:?} cannot be printed", input.format),
        )
    })?;
    Ok(FormatOutput { text })
}

// ----------------------------------------------------------------- parse

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ParseInput {
    /// The text to read, e.g. `01.05.2024 14:30` or `2024-05-01T14:30:00+02:00`.
    pub text: String,
    /// A strftime format the text follows, e.g. `%d.%m.%Y %H:%M`. Without a
    /// time the result is midnight; without an offset (`%z`) the time is
    /// taken as UTC. Omit to read RFC 3339 or a plain date (`2024-05-01`).
    #[serde(default)]
    pub format: Option<String>,
}

fn parse(_ctx: &Context, input: ParseInput) -> Result<Instant, BlockError> {
    let Some(format) = &input.format else {
        return parse_default(&input.text).map(Instant::from).ok_or_else(|| {
            invalid(
                "text",
                format!(
                    "`text` {:?} is not an RFC 3339 date-time (2024-05-01T12:30:00Z) or a date (2024-05-01); give a `format` for other layouts",
                    input.text
                ),
            )
        });
    };
    strftime_items(format, "format")?;
    let text = input.text.as_str();
    // Most specific first: with an offset, then a naive date-time (UTC),
    // then a date alone. Report the first error that is not merely
    // "the format has no offset/time".
    use chrono::format::ParseErrorKind::NotEnough;
    let with_offset = DateTime::parse_from_str(text, format).map(|dt| dt.with_timezone(&Utc));
    let err = match with_offset {
        Ok(dt) => return Ok(dt.into()),
        Err(e) => e,
    };
    let naive = NaiveDateTime::parse_from_str(text, format).map(|n| n.and_utc());
    let err = match naive {
        Ok(dt) => return Ok(dt.into()),
        Err(e) if err.kind() == NotEnough => e,
        Err(_) => err,
    };
    let date = NaiveDate::parse_from_str(text, format)
        .ok()
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|n| n.and_utc());
    match date {
        Some(dt) => Ok(dt.into()),
        None => Err(invalid(
            "text",
            format!("`text` {text:?} does not match `format` {format:?}: {err}"),
        )),
    }
}

// ------------------------------------------------------------------- add

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AddInput {
    /// The starting point: RFC 3339 text, a date (`2024-05-01`) or unix
    /// seconds.
    pub datetime: DateTimeValue,
    /// Seconds to add (negative to subtract).
    #[serde(default)]
    pub seconds: Option<i64>,
    /// Minutes to add (negative to subtract).
    #[serde(default)]
    pub minutes: Option<i64>,
    /// Hours to add (negative to subtract).
    #[serde(default)]
    pub hours: Option<i64>,
    /// Days to add (negative to subtract).
    #[serde(default)]
    pub days: Option<i64>,
    /// Calendar months to add (negative to subtract), applied first. The
    /// day is clamped to the month's last day (Jan 31 + 1 month = Feb 29 in
    /// a leap year).
    #[serde(default)]
    pub months: Option<i64>,
}

fn add(_ctx: &Context, input: AddInput) -> Result<Instant, BlockError> {
    let mut dt = input.datetime.resolve("datetime")?;
    let out_of_range = |field: &str| {
        invalid(
            field,
            format!("adding `{field}` takes the date out of the supported range"),
        )
    };
    if let Some(months) = input.months.filter(|m| *m != 0) {
        let count = u32::try_from(months.unsigned_abs()).map_err(|_| out_of_range("months"))?;
        dt = if months > 0 {
            dt.checked_add_months(Months::new(count))
        } else {
            dt.checked_sub_months(Months::new(count))
        }
        .ok_or_else(|| out_of_range("months"))?;
    }
    for (field, value, unit) in [
        ("days", input.days, 86_400i64),
        ("hours", input.hours, 3_600),
        ("minutes", input.minutes, 60),
        ("seconds", input.seconds, 1),
    ] {
        let Some(value) = value.filter(|v| *v != 0) else {
            continue;
        };
        let delta = value
            .checked_mul(unit)
            .and_then(TimeDelta::try_seconds)
            .ok_or_else(|| out_of_range(field))?;
        dt = dt
            .checked_add_signed(delta)
            .ok_or_else(|| out_of_range(field))?;
    }
    Ok(dt.into())
}

weft_sdk::connector! {
    id: "datetime",
    name: "Date and time",
    description: "The current time, and formatting, parsing and shifting dates and times (UTC).",
    hosts: [],
    auth: [Auth::None],
    blocks: [
        now => ("now", "Now", "The current date and time in UTC."),
        format => ("format", "Format date", "Writes a date and time with a strftime format."),
        parse => ("parse", "Parse date", "Reads a date and time from text, optionally with a strftime format."),
        add => ("add", "Add to date", "Adds (or subtracts) months, days, hours, minutes and seconds."),
    ],
}
