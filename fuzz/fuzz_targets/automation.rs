#![no_main]
//! See `weft_host::fuzz_targets::automation`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| weft_host::fuzz_targets::automation(data));
