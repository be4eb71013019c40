#![no_main]
//! See `weft_host::fuzz_targets::scrub`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| weft_host::fuzz_targets::scrub(data));
