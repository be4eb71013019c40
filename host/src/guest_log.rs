//! The `log` capability: lines a block writes go into its step record,
//! bounded so a chatty or hostile block cannot flood the history.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LogLine {
    pub level: LogLevel,
    pub message: String,
    /// Microseconds since the invocation started.
    pub at_us: u64,
}

const MAX_LINES: usize = 1000;

/// Collects one invocation's log lines.
#[derive(Debug)]
pub struct LogSink {
    pub lines: Vec<LogLine>,
    /// Lines dropped after [`MAX_LINES`].
    pub dropped: usize,
    /// Longest line kept; the rest is cut with a note of how much.
    max_line_bytes: usize,
}

impl Default for LogSink {
    fn default() -> Self {
        Self::new(crate::guest_text::GuestTextLimits::default().max_log_line_bytes)
    }
}

impl LogSink {
    pub fn new(max_line_bytes: usize) -> Self {
        LogSink {
            lines: Vec::new(),
            dropped: 0,
            max_line_bytes,
        }
    }

    pub fn push(&mut self, level: LogLevel, mut message: String, at_us: u64) {
        if self.lines.len() >= MAX_LINES {
            self.dropped += 1;
            return;
        }
        crate::run_limits::cut_string(&mut message, self.max_line_bytes);
        self.lines.push(LogLine {
            level,
            message,
            at_us,
        });
    }

    /// The lines, with a final note if any were dropped.
    pub fn finish(mut self, at_us: u64) -> Vec<LogLine> {
        if self.dropped > 0 {
            self.lines.push(LogLine {
                level: LogLevel::Warn,
                message: format!(
                    "{} further log lines dropped (limit {MAX_LINES})",
                    self.dropped
                ),
                at_us,
            });
        }
        self.lines
    }
}
