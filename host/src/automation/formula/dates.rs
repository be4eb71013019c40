//! Date formulas, in a time zone. Every formula that reads or writes a
//! local time takes an optional IANA time zone name (`Europe/Paris`,
//! `America/New_York`; `UTC` by default) from the `chrono-tz` database, so
//! "midnight in Paris" and "next business day in New York" are computed
//! with the zone's daylight saving rules.
//!
//! A date argument is an RFC 3339 date-time (`2024-05-01T10:00:00Z`), a
//! date (`2024-05-01`) or a date-time without an offset
//! (`2024-05-01 10:00:00`), both read as local time in the zone, a Unix
//! time in seconds, or `now`. Results are RFC 3339 text with the zone's
//! offset (`Z` for UTC), which every date formula reads back.
//!
//! Adding days, weeks, months or years moves the local calendar (10:00
//! the day before a daylight saving change is 10:00 the day after);
//! seconds, minutes and hours are elapsed time.

use super::{Formula, Limits, excerpt_json, integer, text};
use chrono::format::{Item, StrftimeItems};
use chrono::offset::LocalResult;
use chrono::{
    DateTime, Datelike, Days, Months, NaiveDate, NaiveDateTime, NaiveTime, Offset, SecondsFormat,
    TimeDelta, TimeZone, Utc,
};
use chrono_tz::Tz;
use serde_json::Value;

pub const FORMULAS: &[Formula] = &[
    Formula {
        name: "now",
        aliases: &[],
        min: 0,
        max: 2,
        args: "format?, zone?",
        description: "The current time: RFC 3339 by default, or in a `strftime` format, in the zone.",
        examples: &[("[\"%Z %z\", \"UTC\"]", "\"UTC +0000\"")],
        missing_is_null: false,
        eval: now,
    },
    Formula {
        name: "date",
        aliases: &["formatdate"],
        min: 1,
        max: 3,
        args: "date, format?, zone?",
        description: "The date written in a `strftime` format (`%Y-%m-%d %H:%M`, `%G-W%V` for the ISO week), as local time in the zone.",
        examples: &[
            (
                "[\"2024-05-01T10:00:00Z\", \"%d.%m.%Y %H:%M\", \"Europe/Paris\"]",
                "\"01.05.2024 12:00\"",
            ),
            ("[0, \"%Y\"]", "\"1970\""),
        ],
        missing_is_null: false,
        eval: format,
    },
    Formula {
        name: "dateparse",
        aliases: &["parsedate"],
        min: 2,
        max: 3,
        args: "text, format, zone?",
        description: "Text read with a `strftime` format as local time in the zone (unless the format has an offset), as RFC 3339 in UTC.",
        examples: &[(
            "[\"01/05/2024 09:30\", \"%d/%m/%Y %H:%M\", \"America/New_York\"]",
            "\"2024-05-01T13:30:00Z\"",
        )],
        missing_is_null: false,
        eval: parse,
    },
    Formula {
        name: "dateadd",
        aliases: &["addtime"],
        min: 3,
        max: 4,
        args: "date, amount, unit, zone?",
        description: "The date moved by a whole `amount` of `unit`s (seconds, minutes, hours, days, weeks, months, years); months keep the day or clamp it to the month's end.",
        examples: &[
            ("[\"2024-01-31\", 1, \"month\"]", "\"2024-02-29T00:00:00Z\""),
            (
                "[\"2024-03-30T10:00:00+01:00\", 1, \"day\", \"Europe/Paris\"]",
                "\"2024-03-31T10:00:00+02:00\"",
            ),
        ],
        missing_is_null: false,
        eval: add,
    },
    Formula {
        name: "datesubtract",
        aliases: &["datesub"],
        min: 3,
        max: 4,
        args: "date, amount, unit, zone?",
        description: "The date moved back by a whole `amount` of `unit`s (as `dateadd`).",
        examples: &[(
            "[\"2024-03-01T08:00:00Z\", 36, \"hours\"]",
            "\"2024-02-28T20:00:00Z\"",
        )],
        missing_is_null: false,
        eval: subtract,
    },
    Formula {
        name: "datediff",
        aliases: &[],
        min: 3,
        max: 4,
        args: "from, to, unit, zone?",
        description: "Whole `unit`s from `from` to `to` (negative when `to` is earlier); days and longer count the local calendar.",
        examples: &[
            ("[\"2024-01-31\", \"2024-03-30\", \"months\"]", "1"),
            (
                "[\"2024-05-01T10:00:00Z\", \"2024-05-01T08:30:00Z\", \"minutes\"]",
                "-90",
            ),
        ],
        missing_is_null: false,
        eval: diff,
    },
    Formula {
        name: "startofday",
        aliases: &[],
        min: 1,
        max: 2,
        args: "date, zone?",
        description: "Local midnight at the start of the date's day in the zone.",
        examples: &[(
            "[\"2024-05-01T23:30:00Z\", \"Europe/Paris\"]",
            "\"2024-05-02T00:00:00+02:00\"",
        )],
        missing_is_null: false,
        eval: |a, _| boundary(a, Period::Day, false),
    },
    Formula {
        name: "endofday",
        aliases: &[],
        min: 1,
        max: 2,
        args: "date, zone?",
        description: "The last second (23:59:59) of the date's day in the zone.",
        examples: &[("[\"2024-05-01T10:00:00Z\"]", "\"2024-05-01T23:59:59Z\"")],
        missing_is_null: false,
        eval: |a, _| boundary(a, Period::Day, true),
    },
    Formula {
        name: "startofweek",
        aliases: &[],
        min: 1,
        max: 2,
        args: "date, zone?",
        description: "Midnight on the Monday of the date's ISO week in the zone.",
        examples: &[("[\"2024-05-01\"]", "\"2024-04-29T00:00:00Z\"")],
        missing_is_null: false,
        eval: |a, _| boundary(a, Period::Week, false),
    },
    Formula {
        name: "endofweek",
        aliases: &[],
        min: 1,
        max: 2,
        args: "date, zone?",
        description: "The last second of the Sunday of the date's ISO week in the zone.",
        examples: &[("[\"2024-05-01\"]", "\"2024-05-05T23:59:59Z\"")],
        missing_is_null: false,
        eval: |a, _| boundary(a, Period::Week, true),
    },
    Formula {
        name: "startofmonth",
        aliases: &[],
        min: 1,
        max: 2,
        args: "date, zone?",
        description: "Midnight on the first day of the date's month in the zone.",
        examples: &[(
            "[\"2024-02-15T12:00:00Z\", \"America/New_York\"]",
            "\"2024-02-01T00:00:00-05:00\"",
        )],
        missing_is_null: false,
        eval: |a, _| boundary(a, Period::Month, false),
    },
    Formula {
        name: "endofmonth",
        aliases: &[],
        min: 1,
        max: 2,
        args: "date, zone?",
        description: "The last second of the date's month in the zone.",
        examples: &[("[\"2024-02-15\"]", "\"2024-02-29T23:59:59Z\"")],
        missing_is_null: false,
        eval: |a, _| boundary(a, Period::Month, true),
    },
    Formula {
        name: "isoweek",
        aliases: &["weeknumber"],
        min: 1,
        max: 2,
        args: "date, zone?",
        description: "The ISO 8601 week number (1 to 53) of the date in the zone; `{date: d, '%G'}` is its week-based year.",
        examples: &[("[\"2021-01-03\"]", "53"), ("[\"2024-12-30\"]", "1")],
        missing_is_null: false,
        eval: iso_week,
    },
    Formula {
        name: "timestamp",
        aliases: &["unixtime"],
        min: 1,
        max: 2,
        args: "date, zone?",
        description: "The date as a Unix time in seconds.",
        examples: &[("[\"1970-01-02T00:00:00+01:00\"]", "82800")],
        missing_is_null: false,
        eval: timestamp,
    },
];

/// The zone named by `v` (`UTC` when absent, null or empty).
pub(crate) fn zone(v: Option<&Value>) -> Result<Tz, String> {
    let name = match v {
        None | Some(Value::Null) => return Ok(Tz::UTC),
        Some(v) => text(v),
    };
    if name.is_empty() {
        return Ok(Tz::UTC);
    }
    name.parse::<Tz>().map_err(|_| {
        let hint = chrono_tz::TZ_VARIANTS
            .iter()
            .map(|z| (strsim::jaro_winkler(&name, z.name()), z.name()))
            .filter(|(score, _)| *score >= 0.85)
            .max_by(|a, b| a.0.total_cmp(&b.0))
            .map(|(_, z)| format!(" (did you mean `{z}`?)"))
            .unwrap_or_default();
        format!(
            "unknown time zone {}{hint}; write an IANA time zone name such as `Europe/Paris`, `America/New_York`, `Asia/Kolkata` or `UTC`",
            excerpt_json(&Value::String(name.clone()))
        )
    })
}

/// Local `naive` in `tz`: the earlier of two readings when the clock
/// goes back, the first time after the gap when it skips forward.
fn localize(tz: Tz, naive: NaiveDateTime) -> Result<DateTime<Tz>, String> {
    match tz.from_local_datetime(&naive) {
        LocalResult::Single(d) | LocalResult::Ambiguous(d, _) => Ok(d),
        LocalResult::None => {
            // A daylight-saving gap lasts at most a few hours.
            (1..=24)
                .filter_map(|m| naive.checked_add_signed(TimeDelta::minutes(15 * m)))
                .find_map(|later| tz.from_local_datetime(&later).earliest())
                .ok_or_else(|| format!("{naive} does not exist in {tz}"))
        }
    }
}

/// `d` when its local time is within chrono's calendar (a date a few
/// hours from its end may not be, in a zone ahead of or behind UTC, and
/// chrono panics on reading such a local time).
fn representable(d: DateTime<Tz>) -> Result<DateTime<Tz>, String> {
    d.naive_utc()
        .checked_add_offset(d.offset().fix())
        .map(|_| d)
        .ok_or_else(|| "the date is out of range".to_string())
}

/// A date argument, in `tz`.
pub(crate) fn read(v: &Value, tz: Tz) -> Result<DateTime<Tz>, String> {
    read_unchecked(v, tz).and_then(representable)
}

fn read_unchecked(v: &Value, tz: Tz) -> Result<DateTime<Tz>, String> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .and_then(|s| DateTime::from_timestamp(s, 0))
            .map(|d| d.with_timezone(&tz))
            .ok_or_else(|| format!("{n} is not a Unix time in seconds")),
        Value::String(s) if s == "now" => Ok(Utc::now().with_timezone(&tz)),
        Value::String(s) => {
            let s = s.trim();
            if let Ok(d) = DateTime::parse_from_rfc3339(s) {
                return Ok(d.with_timezone(&tz));
            }
            for f in [
                "%Y-%m-%dT%H:%M:%S%.f",
                "%Y-%m-%d %H:%M:%S%.f",
                "%Y-%m-%dT%H:%M",
                "%Y-%m-%d %H:%M",
            ] {
                if let Ok(naive) = NaiveDateTime::parse_from_str(s, f) {
                    return localize(tz, naive);
                }
            }
            if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
                return localize(tz, day.and_time(NaiveTime::MIN));
            }
            Err(format!(
                "{} is not a date: write RFC 3339 (`2024-05-01T10:00:00Z`), `2024-05-01`, `2024-05-01 10:00:00`, a Unix time or `now`",
                excerpt_json(v)
            ))
        }
        other => Err(format!("{} is not a date", excerpt_json(other))),
    }
}

/// RFC 3339 with the zone's offset, `Z` for UTC; fractions only if any.
fn rfc3339(d: DateTime<Tz>) -> Value {
    Value::String(d.to_rfc3339_opts(SecondsFormat::AutoSi, true))
}

/// `d` in the `strftime` format `fmt`, or why it cannot be written so.
pub(crate) fn write<T: TimeZone>(d: &DateTime<T>, fmt: &str) -> Result<String, String>
where
    T::Offset: std::fmt::Display,
{
    let items: Vec<Item> = StrftimeItems::new(fmt).collect();
    if items.iter().any(|i| matches!(i, Item::Error)) {
        return Err(format!("{fmt:?} is not a valid date format"));
    }
    // Items that parse may still fail to format (e.g. `%#z`, which only
    // parses); `to_string` would panic on that error, `write!` reports it.
    let mut out = String::new();
    std::fmt::Write::write_fmt(
        &mut out,
        format_args!("{}", d.format_with_items(items.into_iter())),
    )
    .map_err(|_| format!("{fmt:?} is not a date format this date can be written in"))?;
    Ok(out)
}

fn now(args: &[Value], _: &Limits) -> Result<Value, String> {
    let tz = zone(args.get(1))?;
    let d = Utc::now().with_timezone(&tz);
    match args.first().filter(|f| !f.is_null()) {
        Some(f) => write(&d, &text(f)).map(Value::String),
        None => Ok(Value::String(d.to_rfc3339_opts(SecondsFormat::Secs, true))),
    }
}

fn format(args: &[Value], _: &Limits) -> Result<Value, String> {
    let tz = zone(args.get(2))?;
    let d = read(&args[0], tz)?;
    let fmt = match args.get(1).filter(|f| !f.is_null()) {
        Some(f) => text(f),
        None if tz == Tz::UTC => "%Y-%m-%dT%H:%M:%SZ".into(),
        None => "%Y-%m-%dT%H:%M:%S%:z".into(),
    };
    write(&d, &fmt).map(Value::String)
}

fn parse(args: &[Value], _: &Limits) -> Result<Value, String> {
    let tz = zone(args.get(2))?;
    let (s, fmt) = (text(&args[0]), text(&args[1]));
    let d = if let Ok(d) = DateTime::parse_from_str(&s, &fmt) {
        d.with_timezone(&Utc)
    } else if let Ok(naive) = NaiveDateTime::parse_from_str(&s, &fmt) {
        localize(tz, naive)?.with_timezone(&Utc)
    } else if let Ok(day) = NaiveDate::parse_from_str(&s, &fmt) {
        localize(tz, day.and_time(NaiveTime::MIN))?.with_timezone(&Utc)
    } else {
        return Err(format!(
            "{} does not match the format {fmt:?}",
            excerpt_json(&args[0])
        ));
    };
    Ok(Value::String(
        d.to_rfc3339_opts(SecondsFormat::AutoSi, true),
    ))
}

#[derive(Clone, Copy, PartialEq)]
enum Unit {
    Second,
    Minute,
    Hour,
    Day,
    Week,
    Month,
    Year,
}

fn unit(v: &Value) -> Result<Unit, String> {
    let name = text(v).to_ascii_lowercase();
    Ok(match name.trim_end_matches('s') {
        "second" | "sec" => Unit::Second,
        "minute" | "min" => Unit::Minute,
        "hour" => Unit::Hour,
        "day" => Unit::Day,
        "week" => Unit::Week,
        "month" => Unit::Month,
        "year" => Unit::Year,
        _ => {
            return Err(format!(
                "{} is not a unit: use seconds, minutes, hours, days, weeks, months or years",
                excerpt_json(v)
            ));
        }
    })
}

fn shift(d: DateTime<Tz>, amount: i64, unit: Unit) -> Result<DateTime<Tz>, String> {
    let out_of_range = || {
        format!(
            "moving the date by {amount} {unit_name} is out of range",
            unit_name = unit_name(unit)
        )
    };
    let elapsed = |secs: i64| {
        amount
            .checked_mul(secs)
            .and_then(TimeDelta::try_seconds)
            .and_then(|delta| d.checked_add_signed(delta))
            .ok_or_else(out_of_range)
    };
    let tz = d.timezone();
    let local = d.naive_local();
    let moved = match unit {
        Unit::Second => return elapsed(1).and_then(representable),
        Unit::Minute => return elapsed(60).and_then(representable),
        Unit::Hour => return elapsed(3600).and_then(representable),
        Unit::Day | Unit::Week => {
            let days = if unit == Unit::Week {
                amount.checked_mul(7).ok_or_else(out_of_range)?
            } else {
                amount
            };
            let n = Days::new(days.unsigned_abs());
            if days >= 0 {
                local.checked_add_days(n)
            } else {
                local.checked_sub_days(n)
            }
        }
        Unit::Month | Unit::Year => {
            let months = if unit == Unit::Year {
                amount.checked_mul(12).ok_or_else(out_of_range)?
            } else {
                amount
            };
            let n = Months::new(u32::try_from(months.unsigned_abs()).map_err(|_| out_of_range())?);
            if months >= 0 {
                local.checked_add_months(n)
            } else {
                local.checked_sub_months(n)
            }
        }
    };
    localize(tz, moved.ok_or_else(out_of_range)?)
}

fn unit_name(u: Unit) -> &'static str {
    match u {
        Unit::Second => "seconds",
        Unit::Minute => "minutes",
        Unit::Hour => "hours",
        Unit::Day => "days",
        Unit::Week => "weeks",
        Unit::Month => "months",
        Unit::Year => "years",
    }
}

fn moved(args: &[Value], sign: i64) -> Result<Value, String> {
    let tz = zone(args.get(3))?;
    let d = read(&args[0], tz)?;
    let amount = integer(&args[1], "the amount")?;
    let amount = amount
        .checked_mul(sign)
        .ok_or("the amount is out of range")?;
    Ok(rfc3339(shift(d, amount, unit(&args[2])?)?))
}

fn add(args: &[Value], _: &Limits) -> Result<Value, String> {
    moved(args, 1)
}

fn subtract(args: &[Value], _: &Limits) -> Result<Value, String> {
    moved(args, -1)
}

fn diff(args: &[Value], _: &Limits) -> Result<Value, String> {
    let tz = zone(args.get(3))?;
    let (from, to) = (read(&args[0], tz)?, read(&args[1], tz)?);
    let u = unit(&args[2])?;
    let n = match u {
        Unit::Second | Unit::Minute | Unit::Hour => {
            let secs = (to - from).num_seconds();
            secs / match u {
                Unit::Second => 1,
                Unit::Minute => 60,
                _ => 3600,
            }
        }
        // Local calendar time: a day is a day across a clock change.
        Unit::Day => (to.naive_local() - from.naive_local()).num_days(),
        Unit::Week => (to.naive_local() - from.naive_local()).num_days() / 7,
        Unit::Month | Unit::Year => {
            let months = whole_months(from.naive_local(), to.naive_local());
            if u == Unit::Year { months / 12 } else { months }
        }
    };
    Ok(Value::from(n))
}

/// Whole calendar months from `a` to `b`, truncated towards zero.
fn whole_months(a: NaiveDateTime, b: NaiveDateTime) -> i64 {
    if b < a {
        return -whole_months(b, a);
    }
    let mut m = (b.year() as i64 - a.year() as i64) * 12 + (b.month() as i64 - a.month() as i64);
    // One less when the last month is not complete (Jan 31 → Mar 30).
    while m > 0
        && u32::try_from(m)
            .ok()
            .and_then(|n| a.checked_add_months(Months::new(n)))
            .is_none_or(|reached| reached > b)
    {
        m -= 1;
    }
    m
}

#[derive(Clone, Copy)]
enum Period {
    Day,
    Week,
    Month,
}

fn boundary(args: &[Value], period: Period, end: bool) -> Result<Value, String> {
    let tz = zone(args.get(1))?;
    let d = read(&args[0], tz)?;
    let day = d.date_naive();
    let first = match period {
        Period::Day => Some(day),
        Period::Week => {
            day.checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
        }
        Period::Month => day.with_day(1),
    }
    .ok_or("the date is out of range")?;
    if !end {
        return Ok(rfc3339(localize(tz, first.and_time(NaiveTime::MIN))?));
    }
    let next = match period {
        Period::Day => first.checked_add_days(Days::new(1)),
        Period::Week => first.checked_add_days(Days::new(7)),
        Period::Month => first.checked_add_months(Months::new(1)),
    }
    .ok_or("the date is out of range")?;
    let last = next.and_time(NaiveTime::MIN) - TimeDelta::seconds(1);
    Ok(rfc3339(localize(tz, last)?))
}

fn iso_week(args: &[Value], _: &Limits) -> Result<Value, String> {
    let tz = zone(args.get(1))?;
    Ok(Value::from(read(&args[0], tz)?.iso_week().week()))
}

fn timestamp(args: &[Value], _: &Limits) -> Result<Value, String> {
    let tz = zone(args.get(1))?;
    Ok(Value::from(read(&args[0], tz)?.timestamp()))
}
