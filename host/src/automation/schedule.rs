//! Schedules: cron expressions (the `cron` crate, with seconds; five-field
//! expressions get `0` seconds) or presets, in a time zone (`chrono-tz`).

use chrono::{DateTime, Utc};
use std::str::FromStr;
use std::time::Duration;

/// Preset names and the cron expressions they stand for.
pub const PRESETS: &[(&str, &str)] = &[
    ("every-30s", "*/30 * * * * *"),
    ("every-minute", "0 * * * * *"),
    ("every-5-minutes", "0 */5 * * * *"),
    ("every-15-minutes", "0 */15 * * * *"),
    ("hourly", "0 0 * * * *"),
    ("daily", "0 0 0 * * *"),
    ("weekly", "0 0 0 * * Mon"),
    ("monthly", "0 0 0 1 * *"),
];

#[derive(Debug, Clone)]
pub struct Schedule {
    cron: cron::Schedule,
    tz: chrono_tz::Tz,
}

impl Schedule {
    /// Parse a preset or cron expression, in `timezone` (IANA name; UTC by
    /// default).
    pub fn parse(expr: &str, timezone: Option<&str>) -> Result<Schedule, String> {
        let expr = expr.trim();
        let cron_text = match PRESETS.iter().find(|(name, _)| *name == expr) {
            Some((_, cron)) => (*cron).to_string(),
            None if expr.split_whitespace().count() == 5 => format!("0 {expr}"),
            None => expr.to_string(),
        };
        let cron = cron::Schedule::from_str(&cron_text).map_err(|e| {
            let presets: Vec<&str> = PRESETS.iter().map(|(n, _)| *n).collect();
            format!(
                "{expr:?} is not a cron expression ({e}); use \"sec min hour day month weekday\", five fields without seconds, or a preset: {}",
                presets.join(", ")
            )
        })?;
        let tz = match timezone {
            None => chrono_tz::UTC,
            Some(name) => name.parse::<chrono_tz::Tz>().map_err(|_| {
                format!("{name:?} is not an IANA time zone such as \"Europe/Berlin\"")
            })?,
        };
        Ok(Schedule { cron, tz })
    }

    /// The first fire time strictly after `t`.
    pub fn next_after(&self, t: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.cron
            .after(&t.with_timezone(&self.tz))
            .next()
            .map(|d| d.with_timezone(&Utc))
    }

    /// The shortest gap between the next few fire times.
    pub fn min_interval(&self) -> Option<Duration> {
        let times: Vec<DateTime<Utc>> = self
            .cron
            .upcoming(self.tz)
            .take(8)
            .map(|d| d.with_timezone(&Utc))
            .collect();
        times
            .windows(2)
            .filter_map(|w| (w[1] - w[0]).to_std().ok())
            .min()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    #[test]
    fn presets_cron_and_time_zones() {
        let t = Utc
            .with_ymd_and_hms(2026, 3, 1, 10, 0, 10)
            .single()
            .expect("time");
        let s = Schedule::parse("every-30s", None).expect("preset");
        assert_eq!(
            s.next_after(t),
            Utc.with_ymd_and_hms(2026, 3, 1, 10, 0, 30).single()
        );
        assert_eq!(s.min_interval(), Some(Duration::from_secs(30)));
        // Five fields: minute precision.
        let s = Schedule::parse("15 9 * * *", Some("Europe/Berlin")).expect("cron");
        // 09:15 in Berlin (UTC+1 in March) is 08:15 UTC.
        assert_eq!(
            s.next_after(t),
            Utc.with_ymd_and_hms(2026, 3, 2, 8, 15, 0).single()
        );
        let s = Schedule::parse("monthly", None).expect("preset");
        assert_eq!(
            s.next_after(t),
            Utc.with_ymd_and_hms(2026, 4, 1, 0, 0, 0).single()
        );
        assert!(Schedule::parse("every tuesday", None).is_err());
        assert!(Schedule::parse("daily", Some("Mars/Olympus")).is_err());
    }
}
