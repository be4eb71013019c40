//! Test fixture: a connector whose `describe()` waits an hour inside a host
//! call (a WASI clock subscription, via `std::thread::sleep`) before it
//! answers — where the epoch deadline cannot interrupt it. Loading it must
//! fail at the runtime's load wall-clock limit instead of hanging.
//! Written only with the public SDK.

use weft_sdk::prelude::*;

#[derive(Deserialize, JsonSchema)]
pub struct Nothing {}

fn noop(_ctx: &Context, _input: Nothing) -> Result<Value, BlockError> {
    Ok(json!({}))
}

weft_sdk::connector! {
    id: "slow-describe",
    // Evaluated inside describe(): parks the guest in a host call.
    name: {
        std::thread::sleep(std::time::Duration::from_secs(3600));
        "Slow describe"
    },
    description: "Waits an hour in describe(); test fixture for the load wall clock.",
    hosts: [],
    auth: [Auth::None],
    blocks: [
        noop => ("noop", "No-op", "Never reached: loading does not finish."),
    ],
}
