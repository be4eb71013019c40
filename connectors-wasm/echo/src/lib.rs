//! `echo`: the smallest useful component, and the test component of
//! contract 0.1.0. It is generated straight from the frozen `wit/v0.1.0`
//! rather than through the SDK (which targets the newest contract), so the
//! host's support for 0.1.0 components keeps being exercised by a real one.
//! Used by the contract-version tests and the runtime benchmark.

use schemars::JsonSchema;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

wit_bindgen::generate!({
    path: "../../wit/v0.1.0",
    world: "plugin",
});

use exports::weft::connector::connector::Guest;
use weft::connector::log::{Level, log};
use weft::connector::types::{
    AuthKind, BlockError, BlockSpec, ErrorInfo, InvokeContext, Manifest, RateLimitInfo,
};

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

fn echo(ctx: &InvokeContext, input: EchoInput) -> Result<EchoOutput, BlockError> {
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

fn log_lines(_ctx: &InvokeContext, input: LogInput) -> Result<LogOutput, BlockError> {
    for line in &input.lines {
        log(Level::Info, line);
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

fn fail(_ctx: &InvokeContext, input: FailInput) -> Result<Value, BlockError> {
    let info = |details: Option<Value>| ErrorInfo {
        message: format!("failing with {} on purpose", input.kind),
        details: details.map(|d| d.to_string()),
    };
    Err(match input.kind.as_str() {
        "invalid-input" => BlockError::InvalidInput(info(None)),
        "unauthorized" => BlockError::Unauthorized(info(None)),
        "not-found" => BlockError::NotFound(info(None)),
        "rate-limited" => BlockError::RateLimited(RateLimitInfo {
            message: info(None).message,
            details: None,
            retry_after_ms: Some(1500),
        }),
        "transient" => BlockError::Transient(info(None)),
        _ => BlockError::Fatal(info(Some(json!({ "asked": input.kind })))),
    })
}

fn schema<T: JsonSchema>() -> String {
    let schema = schemars::SchemaGenerator::default().into_root_schema_for::<T>();
    serde_json::to_string(&schema).unwrap_or_else(|_| "{}".to_string())
}

fn spec<I: JsonSchema, O: JsonSchema>(id: &str, name: &str, description: &str) -> BlockSpec {
    BlockSpec {
        id: id.into(),
        name: name.into(),
        description: description.into(),
        input_schema: schema::<I>(),
        output_schema: schema::<O>(),
    }
}

/// Decode the input (naming the offending field, as the SDK does), run the
/// block, encode its output.
fn run<I: DeserializeOwned, O: Serialize>(
    f: fn(&InvokeContext, I) -> Result<O, BlockError>,
    input: &str,
    ctx: &InvokeContext,
) -> Result<String, BlockError> {
    let mut de = serde_json::Deserializer::from_str(input);
    let input: I = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        let message = match path.as_str() {
            "." => format!("input does not match the block's schema: {}", e.inner()),
            _ => format!("input field `{path}`: {}", e.inner()),
        };
        BlockError::InvalidInput(ErrorInfo {
            message,
            details: Some(json!({ "path": path }).to_string()),
        })
    })?;
    let output = f(ctx, input)?;
    serde_json::to_string(&output).map_err(|e| {
        BlockError::Fatal(ErrorInfo {
            message: format!("could not encode output: {e}"),
            details: None,
        })
    })
}

struct Echo;

impl Guest for Echo {
    fn describe() -> Manifest {
        Manifest {
            id: "echo".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            display_name: "Echo".into(),
            description:
                "Returns its input; logs lines; fails on request. For tests and benchmarks.".into(),
            blocks: vec![
                spec::<EchoInput, EchoOutput>("echo", "Echo", "Returns the input value unchanged."),
                spec::<LogInput, LogOutput>("log", "Log lines", "Writes each line to the run log."),
                spec::<FailInput, Value>("fail", "Fail", "Fails with the requested error kind."),
            ],
            hosts: Vec::new(),
            auth: vec![AuthKind::None],
        }
    }

    fn invoke(block: String, input: String, context: InvokeContext) -> Result<String, BlockError> {
        match block.as_str() {
            "echo" => run(echo, &input, &context),
            "log" => run(log_lines, &input, &context),
            "fail" => run(fail, &input, &context),
            _ => Err(BlockError::InvalidInput(ErrorInfo {
                message: format!("connector echo has no block {block:?}"),
                details: None,
            })),
        }
    }
}

export!(Echo);
