//! Fuzz the scenario decoder the way `tao-yuma run` uses it: any text is parsed; an accepted
//! document small enough to run quickly runs every epoch and renders the report. None of it
//! may panic. Run with `cargo +nightly fuzz run scenario` from `crates/yuma/fuzz`; the same
//! checks run on stable in `tests/scenario_decoder.rs`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tao_yuma::scenario;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match scenario::parse(text) {
        Ok(parsed) if parsed.stake.len() <= 64 && parsed.epochs.len() <= 16 => {
            if let Ok(outputs) = scenario::run(&parsed) {
                let _ = scenario::report(&outputs).to_json(false);
            }
        }
        Ok(_) => {}
        Err(error) => assert!(!error.to_string().contains('\n')),
    }
});
