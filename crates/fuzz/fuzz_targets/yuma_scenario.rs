//! `scripts/fuzz.sh yuma_scenario`: see `tao_fuzz::yuma_scenario`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tao_fuzz::yuma_scenario(data));
