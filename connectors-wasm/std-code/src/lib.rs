//! `code`: Weft's custom code block — a user-written JavaScript function
//! body run by [boa](https://boajs.dev), a JavaScript engine written in
//! Rust and compiled into this component, so the script lives inside the
//! same WebAssembly sandbox as every other block: the block's fuel, memory
//! and wall-clock limits apply, and it has no network, files, environment
//! or timers. Input and output are JSON. docs/custom-code.md describes the
//! language for users.
//!
//! The roles are split: [`script`] runs the code in a fresh engine,
//! [`to_json`] turns its result into JSON (refusing what JSON cannot
//! hold), [`console`] sends `console.log` to the block's log.

mod console;
mod script;
mod to_json;

use weft_sdk::prelude::*;

/// Largest script accepted, in bytes of UTF-8 source. A script is code a
/// person writes; anything larger is data pasted in the wrong place, and
/// parsing it would only spend the block's fuel.
pub const MAX_CODE_BYTES: usize = 256 << 10;

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RunInput {
    /// JavaScript: the body of an `async` function, so `return` gives the
    /// block's result and `await` works. The value handed in is the
    /// variable `input`. At most 256 KiB. Passed to the engine exactly as
    /// written: `{…}` in it is JavaScript, never a Weft reference or
    /// formula (hand data in through `input`).
    #[schemars(extend("x-weft-verbatim" = true))]
    pub code: String,
    /// Any JSON value, visible to the code as `input` (null when left
    /// out).
    #[serde(default)]
    pub input: Value,
}

#[derive(Serialize, JsonSchema)]
pub struct RunOutput {
    /// What the code returned, as JSON.
    pub result: Value,
}

fn run(_ctx: &Context, input: RunInput) -> Result<RunOutput, BlockError> {
    if input.code.len() > MAX_CODE_BYTES {
        return Err(BlockError::invalid_input(format!(
            "`code` is {} bytes; the limit is {MAX_CODE_BYTES} bytes",
            input.code.len()
        ))
        .with_details(json!({ "path": "code", "limit_bytes": MAX_CODE_BYTES })));
    }
    let result =
        script::run(&input.code, &input.input).map_err(script::ScriptError::into_block_error)?;
    Ok(RunOutput { result })
}

weft_sdk::connector! {
    id: "code",
    name: "Custom code",
    description: "Run your own JavaScript on JSON, sandboxed like every other block.",
    hosts: [],
    auth: [Auth::None],
    blocks: [
        run => ("run", "Run JavaScript", "Runs a JavaScript function body on `input` and returns what it returns, as JSON."),
    ],
}
