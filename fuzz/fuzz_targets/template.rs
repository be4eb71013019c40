#![no_main]
//! See `weft_host::fuzz_targets::template`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| weft_host::fuzz_targets::template(data));
