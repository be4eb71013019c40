//! Runs one script: a fresh boa context per invocation (nothing survives
//! between runs), `input` and `console` as the only additions to the
//! standard built-ins, the user's code as the body of an `async` function,
//! and every way it can go wrong as a [`ScriptError`].

use crate::console;
use crate::to_json::{self, NotJson};
use boa_engine::builtins::promise::PromiseState;
use boa_engine::object::builtins::JsPromise;
use boa_engine::property::Attribute;
use boa_engine::vm::RuntimeLimits;
use boa_engine::{Context, JsError, JsValue, Script, Source, js_string};
use std::path::Path;
use weft_sdk::prelude::*;

/// Deepest JavaScript call chain: deeper recursion is a `RangeError` the
/// script can see (and catch), long before the sandbox's stack runs out.
const RECURSION_LIMIT: usize = 400;

/// Most call-stack lines an error message carries.
const BACKTRACE_LIMIT: usize = 5;

/// What goes before the user's code. On the code's first line, so a line
/// number in an error is the line of the code as written (columns on the
/// first line are shifted by this prefix's length).
const PREFIX: &str = "(async function (input) {";
/// What goes after: a newline first, so a trailing `// comment` in the code
/// does not swallow the closing brace.
const SUFFIX: &str = "\n})";

/// Why a script produced no result.
#[derive(Debug)]
pub enum ScriptError {
    /// The code does not parse.
    Syntax(String),
    /// The code threw (or its promise was rejected with) this error.
    Thrown(String),
    /// The code returned something JSON cannot hold.
    NotJson(NotJson),
    /// The code's promise was still pending when nothing was left to run:
    /// it awaited something that can never finish (there are no timers
    /// and no I/O).
    NeverSettled,
    /// The engine could not be set up (a bug, not the code's fault).
    Engine(String),
}

impl ScriptError {
    pub fn into_block_error(self) -> BlockError {
        match self {
            ScriptError::Syntax(message) => {
                BlockError::invalid_input(format!("`code` does not parse: {message}"))
                    .with_details(json!({ "path": "code" }))
            }
            ScriptError::Thrown(message) => BlockError::fatal(format!("the code threw {message}")),
            ScriptError::NotJson(e) => {
                BlockError::fatal(format!("the code's result is not JSON: {e}"))
                    .with_details(json!({ "path": e.path }))
            }
            ScriptError::NeverSettled => BlockError::fatal(
                "the code awaited a promise that never settles (there are no timers or I/O to settle it)",
            ),
            ScriptError::Engine(message) => {
                BlockError::fatal(format!("the JavaScript engine failed to start: {message}"))
            }
        }
    }
}

/// Run `code` with `input` and return its result as JSON.
pub fn run(code: &str, input: &Value) -> Result<Value, ScriptError> {
    let mut context = Context::default();
    let mut limits = RuntimeLimits::default();
    limits.set_recursion_limit(RECURSION_LIMIT);
    limits.set_backtrace_limit(BACKTRACE_LIMIT);
    context.set_runtime_limits(limits);
    console::install(&mut context).map_err(|e| ScriptError::Engine(e.to_string()))?;
    // Captured before the user's code runs, so the code cannot change
    // how its own result is read.
    let object_keys = to_json::ObjectKeys::capture(&mut context)
        .map_err(|e| ScriptError::Engine(e.to_string()))?;

    let js_input =
        JsValue::from_json(input, &mut context).map_err(|e| ScriptError::Engine(e.to_string()))?;
    context
        .register_global_property(js_string!("input"), js_input.clone(), Attribute::all())
        .map_err(|e| ScriptError::Engine(e.to_string()))?;

    let source = format!("{PREFIX}{code}{SUFFIX}");
    // Positions in errors read `(code:LINE:COLUMN)`.
    let source = Source::from_bytes(source.as_bytes()).with_path(Path::new("code"));
    let script = Script::parse(source, None, &mut context)
        .map_err(|e| ScriptError::Syntax(describe(e, &mut context)))?;
    let function = script
        .evaluate(&mut context)
        .map_err(|e| ScriptError::Thrown(describe(e, &mut context)))?;
    let function = function
        .as_callable()
        .ok_or_else(|| ScriptError::Engine("the wrapper is not a function".into()))?;
    let promise = function
        .call(&JsValue::undefined(), &[js_input], &mut context)
        .map_err(|e| ScriptError::Thrown(describe(e, &mut context)))?;
    // An async function's body runs up to its first `await` in the call;
    // the rest (and any `.then`) runs as jobs.
    context
        .run_jobs()
        .map_err(|e| ScriptError::Thrown(describe(e, &mut context)))?;
    let promise = promise
        .as_object()
        .and_then(|o| JsPromise::from_object(o).ok())
        .ok_or_else(|| ScriptError::Engine("the wrapper did not return a promise".into()))?;
    let value = match promise.state() {
        PromiseState::Fulfilled(value) => value,
        PromiseState::Rejected(reason) => {
            return Err(ScriptError::Thrown(describe(
                JsError::from_opaque(reason),
                &mut context,
            )));
        }
        PromiseState::Pending => return Err(ScriptError::NeverSettled),
    };
    to_json::convert(&value, &object_keys, &mut context).map_err(ScriptError::NotJson)
}

/// `TypeError: x is not a function at line 3, col 7` (with the call stack
/// when boa keeps one), or the thrown value itself for `throw "text"` and
/// other non-errors.
fn describe(error: JsError, context: &mut Context) -> String {
    match error.try_native(context) {
        Ok(native) => native.to_string(),
        Err(_) => match error.as_opaque() {
            Some(value) => match value.to_json(context) {
                Ok(Some(json)) => json.to_string(),
                _ => value.display().to_string(),
            },
            None => error.to_string(),
        },
    }
}
