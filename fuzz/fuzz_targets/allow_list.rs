#![no_main]
//! See `weft_host::fuzz_targets::allow_list`.

libfuzzer_sys::fuzz_target!(|data: &[u8]| weft_host::fuzz_targets::allow_list(data));
