//! Caps on text a guest hands the host: a block's error message and
//! details, and its log lines. They go into the step, the run record, the
//! API's answers and the operator's terminal, so a block returning a
//! 40 MB message must not put 40 MB in each; what is cut is replaced by a
//! note saying how much.

use crate::error::InvokeError;
use crate::run_limits::cut_string;
use serde::{Deserialize, Serialize};

/// Caps on guest text, set with
/// [`crate::RuntimeBuilder::guest_text_limits`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GuestTextLimits {
    /// Longest error message a block's error keeps (`max_error_message_bytes`).
    pub max_error_message_bytes: usize,
    /// Largest error details, as JSON text (`max_error_details_bytes`);
    /// larger details are kept as their text, cut.
    pub max_error_details_bytes: usize,
    /// Longest log line (`max_log_line_bytes`).
    pub max_log_line_bytes: usize,
}

impl Default for GuestTextLimits {
    fn default() -> Self {
        GuestTextLimits {
            max_error_message_bytes: 8 << 10,
            max_error_details_bytes: 64 << 10,
            max_log_line_bytes: 8 << 10,
        }
    }
}

impl GuestTextLimits {
    /// Cut the guest-provided text in `error` to these limits.
    pub fn cap_error(&self, error: &mut InvokeError) {
        let max = self.max_error_message_bytes;
        match error {
            InvokeError::Block { failure, .. } => {
                cut_string(&mut failure.message, max);
                let too_large = failure.details.as_ref().is_some_and(|d| {
                    crate::automation::bounds::measure(d, self.max_error_details_bytes, usize::MAX)
                        .is_err()
                });
                if too_large && let Some(details) = failure.details.take() {
                    let mut text = details.to_string();
                    cut_string(&mut text, self.max_error_details_bytes);
                    failure.details = Some(serde_json::Value::String(text));
                }
            }
            InvokeError::Trap { message, .. }
            | InvokeError::Host { message, .. }
            | InvokeError::Connection { message, .. }
            | InvokeError::Capacity { message, .. } => cut_string(message, max),
            InvokeError::InvalidOutput { reason, .. } => cut_string(reason, max),
            InvokeError::UnknownBlock { .. } | InvokeError::Limit { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{BlockErrorKind, BlockFailure};
    use serde_json::json;

    #[test]
    fn messages_and_details_are_cut_with_a_note() {
        let limits = GuestTextLimits {
            max_error_message_bytes: 10,
            max_error_details_bytes: 20,
            max_log_line_bytes: 10,
        };
        let mut e = InvokeError::Block {
            connector: "c".into(),
            block: "b".into(),
            failure: BlockFailure {
                kind: BlockErrorKind::Fatal,
                message: "m".repeat(100),
                details: Some(json!({"big": "d".repeat(100)})),
                retry_after: None,
            },
        };
        limits.cap_error(&mut e);
        let InvokeError::Block { failure, .. } = e else {
            panic!("still a block error")
        };
        assert!(
            failure
                .message
                .starts_with("mmmmmmmmmm… [90 more bytes cut"),
            "{}",
            failure.message
        );
        let details = failure.details.expect("kept");
        let text = details.as_str().expect("as text");
        assert!(text.contains("more bytes cut"), "{text}");
    }
}
