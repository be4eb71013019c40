//! Contract `weft:connector@0.1.0`: bindings, the host side of its
//! imports, and conversions to the host model (shared with the other
//! versions through [`super::shared::contract_glue`]).

use crate::error::BlockFailure;
use crate::sandbox::SandboxState;
use wasmtime::Store;

wasmtime::component::bindgen!({
    path: "../wit/v0.1.0",
    world: "plugin",
    imports: { default: async },
    exports: { default: async },
});

use weft::connector::{http, log, types};

super::shared::contract_glue!("0.1.0");

/// 0.1.0 has no idempotency key: the context's key is not passed on.
pub async fn invoke(
    pre: &PluginPre<SandboxState>,
    store: &mut Store<SandboxState>,
    block: &str,
    input: &str,
    context: &crate::runtime::InvokeContext,
) -> wasmtime::Result<Result<String, BlockFailure>> {
    let plugin = pre.instantiate_async(&mut *store).await?;
    let ctx = types::InvokeContext {
        run_id: context.run_id.clone(),
        step_id: context.step_id.clone(),
        attempt: context.attempt,
        connection: context.connection.to_string(),
    };
    let result = plugin
        .weft_connector_connector()
        .call_invoke(&mut *store, block, input, &ctx)
        .await?;
    Ok(result.map_err(block_failure))
}
