//! Weft's bundled WASM components — the generic `http` connector, service
//! connectors such as `slack`, the standard blocks and the test
//! components — compiled for `wasm32-wasip2` by this crate's build script
//! and embedded as bytes.
//!
//! The component crates themselves live in the sub-directories; each is an
//! ordinary connector written with the public `weft-sdk` (contract 0.2.0),
//! except `echo`: the test component of contract 0.1.0, generated straight
//! from the frozen `wit/v0.1.0`.

include!(concat!(env!("OUT_DIR"), "/components.rs"));

/// The bytes of a bundled component by crate name (`weft-connector-http`).
pub fn by_name(name: &str) -> Option<&'static [u8]> {
    ALL.iter().find(|(n, _)| *n == name).map(|(_, b)| *b)
}

/// What every `weft` command and `weft serve` ship with: the standard
/// blocks, the generic `http` connector and the service connectors
/// ([`SLACK`]) — not the test fixtures (`echo`, `hostile`, the template
/// builds), which only tests and `weft connector invoke NAME` reach.
pub fn bundled() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    standard().chain(std::iter::once(("weft-connector-slack", SLACK)))
}

/// The generic `http` connector and the standard blocks: what an embedder
/// starting from nothing most likely wants (service connectors such as
/// [`SLACK`] are added on purpose from [`ALL`] or [`by_name`]).
pub fn standard() -> impl Iterator<Item = (&'static str, &'static [u8])> {
    ALL.iter()
        .filter(|(name, _)| name.starts_with("weft-std-") || *name == "weft-connector-http")
        .copied()
}
