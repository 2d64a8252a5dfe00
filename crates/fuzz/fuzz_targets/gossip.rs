//! `scripts/fuzz.sh gossip`: see `tao_fuzz::gossip`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tao_fuzz::gossip(data));
