//! A larger guest stack for this component than the 128 KiB the other
//! components get (connectors-wasm/build.rs): the JavaScript parser and
//! compiler recurse once per level of nesting in the user's code, and
//! ordinary scripts (a callback in a callback in an object literal) need
//! more than 128 KiB. wasm-ld takes the last `-z stack-size`, and cargo
//! passes a build script's link arguments after RUSTFLAGS.

fn main() {
    if std::env::var("CARGO_CFG_TARGET_FAMILY").as_deref() == Ok("wasm") {
        println!("cargo:rustc-link-arg=-zstack-size={}", 1 << 20);
    }
}
