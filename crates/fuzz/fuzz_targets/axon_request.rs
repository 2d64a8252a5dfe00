//! `scripts/fuzz.sh axon_request`: see `tao_fuzz::axon_request`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tao_fuzz::axon_request(data));
