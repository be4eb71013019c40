//! Scheduled runs. Every tick the scheduler looks at each enabled
//! automation whose run mode is `schedule`, finds the fire times that came
//! due since its last fire (kept in the store, so schedules survive
//! restarts), records the latest one *before* queueing the run — at most
//! one fire per tick, even across a crash — and queues one run. Ticks
//! missed while the server was down are skipped or run once, per the
//! automation's `missed` setting.

use crate::AppState;
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

pub fn start(state: Weak<AppState>) {
    tokio::spawn(async move {
        let mut interval = tokio::time::interval(TICK);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            interval.tick().await;
            let Some(state) = state.upgrade() else { return };
            if let Err(e) = tick(&state, Utc::now()).await {
                tracing::error!("scheduler: {e}");
            }
        }
    });
}

async fn tick(state: &AppState, now: DateTime<Utc>) -> Result<(), String> {
    for a in state.automations.list().map_err(|e| e.to_string())? {
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
        let since = state
            .schedule_marks
            .get(a.id.as_bytes())
            .ok()
            .flatten()
            .and_then(|v| v.as_ref().try_into().ok().map(i64::from_be_bytes))
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
        // Mark first: a crash after this line loses the tick, never doubles it.
        state
            .schedule_marks
            .insert(a.id.as_bytes(), &due.timestamp_millis().to_be_bytes())
            .map_err(|e| e.to_string())?;
        state.schedule_marks.flush().map_err(|e| e.to_string())?;
        let late = (now - due).to_std().unwrap_or_default();
        if late > GRACE && missed == MissedTicks::Skip {
            tracing::info!(automation = %a.id, scheduled_for = %due, "skipping a tick missed while down");
            continue;
        }
        let plan = match state.plan(&a) {
            Ok(p) => p,
            Err(e) => {
                tracing::warn!(automation = %a.id, "scheduled run not started: {}", e.message);
                continue;
            }
        };
        let trigger = Trigger {
            kind: "schedule".into(),
            detail: serde_json::json!({ "scheduled_for": due.to_rfc3339() }),
        };
        let record = weft_host::new_record(
            &plan,
            serde_json::json!({ "scheduled_for": due.to_rfc3339() }),
            trigger,
        );
        if let Err(e) = state.enqueue(&record, &a).await {
            tracing::error!(automation = %a.id, "cannot queue scheduled run: {}", e.message);
        }
    }
    Ok(())
}
