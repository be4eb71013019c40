//! Connector blocks: which version runs, the connection's credentials,
//! the invocation in the sandbox and its retries.

use super::{Flow, Halt, Outcome, Walk};
use crate::automation::document::Retry;
use crate::automation::template::Template;
use crate::connections::ConnectionRequest;
use crate::connector_set::VersionPin;
use crate::error::{BlockErrorKind, InvokeError};
use crate::runtime::InvokeContext;
use crate::store::{FailureKind, StepFailure};
use serde_json::json;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

impl Walk<'_> {
    pub(super) async fn connector(
        &mut self,
        step: &str,
        (connector, pin): (&str, Option<&VersionPin>),
        block: &str,
        inputs: &Template,
        connection: Option<&str>,
        retry: Option<&Retry>,
    ) -> Result<Outcome, Halt> {
        let input = match self.eval(inputs, "inputs")? {
            Ok((v, _)) => v,
            Err(e) => return Ok(Outcome::plain(Err(e), None)),
        };
        // The version comes from the set the run started with; the
        // connector itself (its grant and limits) from the set as it is
        // now, so a re-grant applies from the next invocation on.
        let Some(version) =
            crate::connector_set::pick(self.started_with.version_numbers(connector), pin)
        else {
            let message = match pin {
                None => format!("connector {connector:?} is not installed"),
                Some(pin) => format!(
                    "no installed version of connector {connector:?} matches {pin} (installed: {})",
                    self.started_with
                        .versions(connector)
                        .map(|c| c.manifest().version.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            return Ok(unavailable(message, input));
        };
        let Some(c) = self.connectors.snapshot().get(connector, version).cloned() else {
            return Ok(unavailable(
                format!(
                    "connector {connector:?} version {version}, which this run started with, was removed while it was in progress"
                ),
                input,
            ));
        };
        let (fields, credentials) = match connection {
            None => (json!({}), None),
            Some(id) => {
                let Some(resolver) = self.connections else {
                    return Ok(unavailable(
                        format!(
                            "connection: {id:?} cannot be used: this engine has no connections configured"
                        ),
                        input,
                    ));
                };
                match resolver.resolve(ConnectionRequest {
                    connection_id: id,
                    connector,
                    owner: self.plan.owner.as_deref(),
                    automation_id: &self.plan.id,
                }) {
                    Ok(r) => (r.fields, Some(r.credentials)),
                    Err(e) => {
                        return Ok(unavailable(format!("connection: {}", e.message), input));
                    }
                }
            }
        };
        let max_attempts = retry.map_or(1, |r| r.max_attempts.max(1));
        let mut attempt = 1;
        let mut fuel_total = None::<u64>;
        let mut http_calls = Vec::new();
        let mut logs = Vec::new();
        loop {
            let ctx = InvokeContext {
                run_id: self.run.id.clone(),
                step_id: step.to_string(),
                attempt,
                connection: fields.clone(),
                idempotency_key: super::idempotency::idempotency_key(
                    &self.run.id,
                    step,
                    &self.loops.iter().map(|(_, i)| *i).collect::<Vec<_>>(),
                    attempt,
                ),
                deadline: Some(self.deadline),
                fuel_budget: self.fuel_left,
                credentials: credentials.clone(),
            };
            let report = tokio::select! {
                r = c.invoke(block, &input, &ctx) => r,
                _ = self.cancel.cancelled() => return Err(Halt::Stopped),
            };
            if let Some(f) = report.fuel_used {
                fuel_total = Some(fuel_total.unwrap_or(0) + f);
                if let Some(left) = self.fuel_left.as_mut() {
                    *left = left.saturating_sub(f);
                }
            }
            self.secrets.extend(&report.secrets);
            http_calls.extend(report.http_calls);
            logs.extend(report.logs);
            let kind = report.output.as_ref().err().map(failure_kind);
            let result = match report.output {
                Ok(v) => Ok(v),
                Err(err)
                    if attempt < max_attempts
                        && err.is_retryable()
                        && err
                            .retry_after()
                            .is_some_and(|after| after > self.limits.max_retry_wait) =>
                {
                    // Waiting would hold the run's concurrency slot for as
                    // long as the block asked: fail now, saying why.
                    Err(format!(
                        "{err} (it asked to be retried after {} s, longer than the longest wait allowed, {} s (max_retry_wait); not retried)",
                        err.retry_after().unwrap_or_default().as_secs(),
                        self.limits.max_retry_wait.as_secs()
                    ))
                }
                Err(err) if attempt < max_attempts && err.is_retryable() => {
                    let delay = backoff(retry, attempt, &err).min(self.limits.max_retry_wait);
                    let left = self.deadline.saturating_duration_since(Instant::now());
                    if delay < left {
                        // Without the host's slot: a rate-limited run must
                        // not keep others from running while it waits.
                        let wait = async {
                            match &self.slot {
                                Some(slot) => slot.wait_released(delay).await,
                                None => tokio::time::sleep(delay).await,
                            }
                        };
                        tokio::select! {
                            _ = wait => {}
                            _ = self.cancel.cancelled() => return Err(Halt::Stopped),
                        }
                        attempt += 1;
                        continue;
                    }
                    Err(err.to_string())
                }
                Err(err) => Err(match (&err, attempt) {
                    (_, 1) => err.to_string(),
                    _ => format!("{err} (after {attempt} attempts)"),
                }),
            };
            let failure = result.as_ref().err().map(|_| StepFailure {
                kind: kind.unwrap_or(FailureKind::Block),
                status: http_calls.iter().rev().find_map(|c| c.status),
            });
            return Ok(Outcome {
                result,
                input: Some(input),
                attempts: attempt,
                fuel_used: fuel_total,
                http_calls,
                logs,
                flow: Flow::Continue,
                child_run: None,
                connector_version: Some(c.manifest().version.clone()),
                failure,
            });
        }
    }
}

/// Exponential backoff with jitter, at least what a rate limit asked for.
fn backoff(retry: Option<&Retry>, attempt: u32, err: &InvokeError) -> Duration {
    let (base, max) = retry.map_or((500, 30_000), |r| (r.backoff_ms, r.max_backoff_ms));
    let exp = base.saturating_mul(1u64 << (attempt - 1).min(20)).min(max);
    // Jitter in [exp/2, exp], from the clock's low bits: no RNG dependency
    // needed for spreading retries apart.
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos() as u64);
    let jittered = exp / 2 + if exp > 1 { nanos % (exp / 2 + 1) } else { 0 };
    let wanted = Duration::from_millis(jittered);
    match err.retry_after() {
        Some(after) => wanted.max(after),
        None => wanted,
    }
}

/// A connector block that could not run at all.
fn unavailable(message: String, input: serde_json::Value) -> Outcome {
    let mut o = Outcome::plain(Err(message), Some(input));
    o.failure = Some(StepFailure {
        kind: FailureKind::Unavailable,
        status: None,
    });
    o
}

/// The kind of failure a connector block's error is, as later blocks read
/// it (`{$.Block.error.kind}`).
fn failure_kind(err: &InvokeError) -> FailureKind {
    match err {
        InvokeError::Block { failure, .. } => match failure.kind {
            BlockErrorKind::InvalidInput => FailureKind::InvalidInput,
            BlockErrorKind::Unauthorized => FailureKind::Unauthorized,
            BlockErrorKind::NotFound => FailureKind::NotFound,
            BlockErrorKind::RateLimited => FailureKind::RateLimited,
            BlockErrorKind::Transient => FailureKind::Transient,
            BlockErrorKind::Fatal => FailureKind::Fatal,
        },
        InvokeError::Limit { .. } => FailureKind::Limit,
        InvokeError::Trap { .. } | InvokeError::InvalidOutput { .. } => FailureKind::Crash,
        InvokeError::Connection {
            needs_authorization: true,
            ..
        } => FailureKind::Unauthorized,
        InvokeError::Connection { .. } => FailureKind::Unavailable,
        InvokeError::UnknownBlock { .. }
        | InvokeError::Host { .. }
        | InvokeError::Capacity { .. } => FailureKind::Unavailable,
    }
}
