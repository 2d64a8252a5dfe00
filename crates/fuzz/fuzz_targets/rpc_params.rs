//! `scripts/fuzz.sh rpc_params`: see `tao_fuzz::rpc_params`.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| tao_fuzz::rpc_params(data));
