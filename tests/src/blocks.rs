//! Calling one block of a standard component directly, for the tests that
//! hold each block to its exact outputs and invalid-input errors.

use crate::cache_dir;
use serde_json::Value;
use weft_host::{BlockErrorKind, Connector, InvokeContext, InvokeError, Runtime};

/// Load a component built from this repository.
pub async fn load(bytes: &[u8]) -> Connector {
    let rt = Runtime::builder()
        .cache_dir(cache_dir())
        .build()
        .expect("runtime");
    rt.load(bytes).await.expect("load standard block component")
}

/// Run a block that must succeed; its output.
pub async fn ok(c: &Connector, block: &str, input: Value) -> Value {
    match c
        .invoke(block, &input, &InvokeContext::default())
        .await
        .output
    {
        Ok(out) => out,
        Err(err) => panic!("{block} with {input} failed: {err}"),
    }
}

/// Runs a block that must fail with invalid-input; returns the message.
pub async fn invalid(c: &Connector, block: &str, input: Value) -> String {
    match c
        .invoke(block, &input, &InvokeContext::default())
        .await
        .output
    {
        Err(InvokeError::Block { failure, .. }) => {
            assert_eq!(
                failure.kind,
                BlockErrorKind::InvalidInput,
                "{block} with {input}: {}",
                failure.message
            );
            failure.message
        }
        Err(other) => panic!("{block} with {input}: expected invalid-input, got {other}"),
        Ok(out) => panic!("{block} with {input}: expected invalid-input, got {out}"),
    }
}
