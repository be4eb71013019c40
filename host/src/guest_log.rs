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
const MAX_LINE_BYTES: usize = 8192;

/// Collects one invocation's log lines.
#[derive(Debug, Default)]
pub struct LogSink {
    pub lines: Vec<LogLine>,
    /// Lines dropped after [`MAX_LINES`].
    pub dropped: usize,
}

impl LogSink {
    pub fn push(&mut self, level: LogLevel, mut message: String, at_us: u64) {
        if self.lines.len() >= MAX_LINES {
            self.dropped += 1;
            return;
        }
        if message.len() > MAX_LINE_BYTES {
            let mut cut = MAX_LINE_BYTES;
            while !message.is_char_boundary(cut) {
                cut -= 1;
            }
            message.truncate(cut);
            message.push_str("… (truncated)");
        }
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
