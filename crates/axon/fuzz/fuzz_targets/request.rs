//! Fuzz the axon's request parsing: the input is split into a header block and a body at the
//! first blank line; header lines are `name: value`. Run with
//! `cargo +nightly fuzz run request` from `crates/axon/fuzz`.

#![no_main]

use libfuzzer_sys::fuzz_target;
use serde::{Deserialize, Serialize};
use tao_axon::headers::RequestHeaders;
use tao_axon::{Envelope, Synapse, body_hash};

#[derive(Clone, Debug, Serialize, Deserialize)]
struct Dummy {
    dummy_input: i64,
    dummy_output: Option<i64>,
}

impl Synapse for Dummy {
    const NAME: &'static str = "Dummy";
    const REQUIRED_FIELDS: &'static [&'static str] = &["dummy_input"];
    const HASH_FIELDS: &'static [&'static str] = &["dummy_input"];
}

fuzz_target!(|data: &[u8]| {
    let split = data.windows(2).position(|w| w == b"\n\n").unwrap_or(data.len());
    let (head, body) = data.split_at(split);
    let mut map = http::HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else { continue };
        let (name, value) = line.split_at(colon);
        if let (Ok(n), Ok(v)) = (
            http::HeaderName::from_bytes(name),
            http::HeaderValue::from_bytes(value[1..].trim_ascii()),
        ) {
            map.append(n, v);
        }
    }
    let _ = RequestHeaders::parse(&map);
    if let Ok(env) = Envelope::<Dummy>::from_json(body) {
        let _ = body_hash(&env.synapse);
        let _ = env.to_json();
    }
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = tao_axon::signing::parse_signature(text);
    }
});
