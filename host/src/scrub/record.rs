//! Scrubbing what an invocation or a run leaves behind. A secret that got
//! past the HTTP capability's scrubbing in a spelling it did not know, and
//! that a block decoded (say, a later block base64-decoding a value), is
//! whole again here, and is caught before anything is stored or returned.

use super::{SecretValues, scrub_json, scrub_text};
use crate::error::InvokeError;
use crate::guest_log::LogLine;
use crate::outbound_http::HttpCall;
use crate::runtime::InvokeReport;
use crate::store::{RunRecord, StepRecord};
use std::borrow::Cow;

fn text(s: &mut String, secrets: &SecretValues) {
    if let Cow::Owned(clean) = scrub_text(s, secrets) {
        *s = clean;
    }
}

fn opt_text(s: &mut Option<String>, secrets: &SecretValues) {
    if let Some(s) = s {
        text(s, secrets);
    }
}

/// Every text an error carries.
pub fn error(e: &mut InvokeError, secrets: &SecretValues) {
    match e {
        InvokeError::Block { failure, .. } => {
            text(&mut failure.message, secrets);
            if let Some(details) = &mut failure.details {
                scrub_json(details, secrets);
            }
        }
        InvokeError::Trap { message, .. }
        | InvokeError::Host { message, .. }
        | InvokeError::Connection { message, .. }
        | InvokeError::Capacity { message, .. } => text(message, secrets),
        InvokeError::InvalidOutput { reason, .. } => text(reason, secrets),
        InvokeError::UnknownBlock { .. } | InvokeError::Limit { .. } => {}
    }
}

fn logs(lines: &mut [LogLine], secrets: &SecretValues) {
    for line in lines {
        text(&mut line.message, secrets);
    }
}

/// A recorded call: scrubbed once as it was made; again here with a
/// run's secrets, which may include ones learnt later.
fn call(c: &mut HttpCall, secrets: &SecretValues) {
    text(&mut c.url, secrets);
    opt_text(&mut c.error, secrets);
    for (_, v) in c
        .request_headers
        .iter_mut()
        .chain(c.response_headers.iter_mut())
    {
        text(v, secrets);
    }
    opt_text(&mut c.request_body, secrets);
    opt_text(&mut c.response_body, secrets);
}

/// An invocation's output, error and logs, with the secrets it injected.
pub fn report(r: &mut InvokeReport) {
    let secrets = std::mem::take(&mut r.secrets);
    if secrets.is_empty() {
        return;
    }
    match &mut r.output {
        Ok(v) => {
            scrub_json(v, &secrets);
        }
        Err(e) => error(e, &secrets),
    }
    logs(&mut r.logs, &secrets);
    r.secrets = secrets;
}

/// A step, before it is stored or shown.
pub fn step(s: &mut StepRecord, secrets: &SecretValues) {
    if secrets.is_empty() {
        return;
    }
    for v in [&mut s.input, &mut s.output].into_iter().flatten() {
        scrub_json(v, secrets);
    }
    opt_text(&mut s.error, secrets);
    for c in &mut s.http_calls {
        call(c, secrets);
    }
    logs(&mut s.logs, secrets);
}

/// A run's result, before it is stored or returned.
pub fn run(r: &mut RunRecord, secrets: &SecretValues) {
    if secrets.is_empty() {
        return;
    }
    scrub_json(&mut r.output, secrets);
    opt_text(&mut r.error, secrets);
    for w in &mut r.warnings {
        text(w, secrets);
    }
}
