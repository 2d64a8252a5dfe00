//! `scripts/fuzz.sh block`: see `tao_fuzz::block`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tao_fuzz::block(data));
