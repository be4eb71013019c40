//! Scheduled runs. Every tick the scheduler looks at each enabled
//! automation whose run mode is `schedule`, finds the fire times that came
//! due since its last fire (kept in the store, so schedules survive
//! restarts), records the latest one *before* queueing the run — at most
//! one fire per tick, even across a crash — and queues one run. Hosts
//! sharing a database fire each tick once between them
//! ([`crate::cluster`]). Ticks
//! missed while the server was down are skipped or run once, per the
//! automation's `missed` setting.

use crate::admission::Admission;
use chrono::{DateTime, Utc};
use std::sync::Weak;
use std::time::Duration;
use weft_host::Trigger;
use weft_host::automation::document::{MissedTicks, RunMode};
use weft_host::automation::schedule::Schedule;

/// How often the scheduler wakes up.
pub const TICK: Duration = Duration::from_millis(250);

/// A due tick older than this counts as missed (the server was down).
const GRACE: Duration = Duration::from_secs(5);

/// Start the scheduler over the admission service (every scheduled run is
/// admitted like any trigger) and the fire marks `marks` (automation id →
/// last fire time, ms, big-endian).
pub fn start(admission: Weak<Admission>, marks: crate::kv::Tree) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            let Some(admission) = admission.upgrade() else {
                return;
            };
            if let Err(e) = tick(&admission, &marks, Utc::now()).await {
                tracing::error!("scheduler: {e}");
            }
        }
    });
}

async fn tick(
    admission: &Admission,
    marks: &crate::kv::Tree,
    now: DateTime<Utc>,
) -> Result<(), String> {
    for a in admission.automations().list().map_err(|e| e.to_string())? {
        if !a.enabled {
            continue;
        }
        let Ok(RunMode::Schedule {
            schedule,
            timezone,
            missed,
        }) = serde_json::from_value::<RunMode>(a.document["run_mode"].clone())
        else {
            continue;
        };
        let Ok(schedule) = Schedule::parse(&schedule, timezone.as_deref()) else {
            continue;
        };
        // Never fire for times before the automation was last saved.
        let since = marks
            .get(a.id.as_bytes())
            .ok()
            .flatten()
            .and_then(|v| {
                <[u8; 8]>::try_from(v.as_slice())
                    .ok()
                    .map(i64::from_be_bytes)
            })
            .unwrap_or(a.updated_at)
            .max(a.updated_at);
        let Some(since) = DateTime::<Utc>::from_timestamp_millis(since) else {
            continue;
        };
        let mut latest = None;
        let mut cursor = since;
        while let Some(t) = schedule.next_after(cursor) {
            if t > now {
                break;
            }
            latest = Some(t);
            cursor = t;
        }
        let Some(due) = latest else { continue };
        // Hosts sharing a database race for the tick: one row per tick
        // decides (see `crate::cluster`); alone, this host always wins.
        let won = admission
            .coordination()
            .claim_tick(&a.id, due.timestamp_millis())
            .await
            .map_err(|e| e.to_string())?;
        // Mark first: a crash after this line loses the tick, never doubles
        // it. The host that lost the race marks it too, so it stops asking.
        marks
            .insert(a.id.as_bytes(), due.timestamp_millis().to_be_bytes())
            .map_err(|e| e.to_string())?;
        marks.flush().map_err(|e| e.to_string())?;
        if !won {
            continue;
        }
        let late = (now - due).to_std().unwrap_or_default();
        if late > GRACE && missed == MissedTicks::Skip {
            tracing::info!(automation = %a.id, scheduled_for = %due, "skipping a tick missed while down");
            continue;
        }
        let trigger = Trigger::Schedule {
            scheduled_for: due.to_rfc3339(),
        };
        let input = serde_json::json!({ "scheduled_for": due.to_rfc3339() });
        if let Err(e) = admission.trigger(&a, input, trigger).await {
            tracing::warn!(automation = %a.id, "scheduled run not started: {e}");
        }
    }
    Ok(())
}
