//! Exit codes, documented in `weft --help`, and the error type commands
//! return: a message, an optional hint on what to do next, and a code.

pub const OK: u8 = 0;
pub const BLOCK_FAILED: u8 = 1;
pub const USAGE: u8 = 2;
pub const LOAD: u8 = 3;
pub const INTERNAL: u8 = 70;

pub struct Failure {
    pub code: u8,
    pub message: String,
    pub hint: Option<String>,
}

impl Failure {
    pub fn new(code: u8, message: impl Into<String>) -> Self {
        Failure {
            code,
            message: message.into(),
            hint: None,
        }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }
}
