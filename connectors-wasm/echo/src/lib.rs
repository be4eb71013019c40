//! `echo`: the smallest useful component, built against contract 0.1.0.
//! Used by the contract-version test and the runtime benchmark.

use weft_sdk::prelude::*;

#[derive(Deserialize, JsonSchema)]
pub struct EchoInput {
    /// Any JSON value; it comes back unchanged.
    pub value: Value,
}

#[derive(Serialize, JsonSchema)]
pub struct EchoOutput {
    pub value: Value,
    /// The step id the host passed in, proving the context arrives.
    pub step_id: String,
}

fn echo(ctx: &Context, input: EchoInput) -> Result<EchoOutput, BlockError> {
    Ok(EchoOutput {
        value: input.value,
        step_id: ctx.step_id.clone(),
    })
}

#[derive(Deserialize, JsonSchema)]
pub struct LogInput {
    pub lines: Vec<String>,
}

#[derive(Serialize, JsonSchema)]
pub struct LogOutput {
    pub logged: usize,
}

fn log_lines(_ctx: &Context, input: LogInput) -> Result<LogOutput, BlockError> {
    for line in &input.lines {
        log::info(line);
    }
    Ok(LogOutput {
        logged: input.lines.len(),
    })
}

#[derive(Deserialize, JsonSchema)]
pub struct FailInput {
    /// One of invalid-input, unauthorized, not-found, rate-limited, transient, fatal.
    pub kind: String,
}

fn fail(_ctx: &Context, input: FailInput) -> Result<Value, BlockError> {
    let message = format!("failing with {} on purpose", input.kind);
    Err(match input.kind.as_str() {
        "invalid-input" => BlockError::invalid_input(message),
        "unauthorized" => BlockError::unauthorized(message),
        "not-found" => BlockError::not_found(message),
        "rate-limited" => {
            BlockError::rate_limited(message, Some(std::time::Duration::from_millis(1500)))
        }
        "transient" => BlockError::transient(message),
        _ => BlockError::fatal(message).with_details(json!({ "asked": input.kind })),
    })
}

weft_sdk::connector! {
    id: "echo",
    name: "Echo",
    description: "Returns its input; logs lines; fails on request. For tests and benchmarks.",
    hosts: [],
    auth: [Auth::None],
    blocks: [
        echo => ("echo", "Echo", "Returns the input value unchanged."),
        log_lines => ("log", "Log lines", "Writes each line to the run log."),
        fail => ("fail", "Fail", "Fails with the requested error kind."),
    ],
}
