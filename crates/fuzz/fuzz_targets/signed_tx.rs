//! `scripts/fuzz.sh signed_tx`: see `tao_fuzz::signed_tx`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tao_fuzz::signed_tx(data));
