//! Fuzz targets for every decoder that reads bytes from the network (issue 13): a block from a
//! peer, a gossip batch, a submitted transaction, RPC parameters and an axon request; and the
//! Yuma scenario file decoder. Each
//! target is a function here; `fuzz_targets/*.rs` hand them to libFuzzer (`scripts/fuzz.sh`),
//! and `tests/corpus.rs` replays the committed corpus through them in every `cargo test`.
//!
//! Beyond "never panic", the targets check what the decoders promise: whatever decodes
//! re-encodes to the same bytes (one encoding per value, so two nodes cannot read one block
//! two ways), and sizes stay within the documented bounds.

use commonware_codec::{DecodeExt, Encode as _};
use parity_scale_codec::Encode as _;
use tao_node::block::Block;
use tao_types::tx::{MAX_TX_BYTES, SignedTx};

/// A block as a peer sends it: decodes canonically or not at all.
pub fn block(data: &[u8]) {
    if let Ok(block) = Block::decode(bytes::Bytes::copy_from_slice(data)) {
        assert_eq!(
            block.encode().as_ref(),
            data,
            "a block decoded from non-canonical bytes"
        );
    }
}

/// A gossip batch: bounded, and every transaction in it canonical.
pub fn gossip(data: &[u8]) {
    if let Some(txs) = tao_node::gossip::decode_batch(data) {
        assert!(txs.len() <= tao_node::gossip::MAX_BATCH_TXS);
        for tx in &txs {
            assert!(tx.encoded_size() <= MAX_TX_BYTES);
        }
    }
}

/// A transaction as `author_submitExtrinsic` receives it.
pub fn signed_tx(data: &[u8]) {
    if let Ok(tx) = SignedTx::decode_bounded(data) {
        assert_eq!(
            tx.encode(),
            data,
            "a transaction decoded from non-canonical bytes"
        );
    }
}

/// RPC parameters: an account as text, a block id, a hex-encoded transaction.
pub fn rpc_params(data: &[u8]) {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = tao_rpc_api::parse_account(text);
    }
    let _ = serde_json::from_slice::<Option<tao_rpc_api::BlockId>>(data);
    if let Ok(bytes) = serde_json::from_slice::<tao_rpc_api::Bytes>(data) {
        signed_tx(&bytes.0);
    }
}

/// An axon request: headers (one `name: value` per line up to a blank line), then a body.
pub fn axon_request(data: &[u8]) {
    let (head, body) = split_head(data);
    let mut headers = http::HeaderMap::new();
    for line in head.split(|b| *b == b'\n') {
        let Some(colon) = line.iter().position(|b| *b == b':') else {
            continue;
        };
        let (name, value) = line.split_at(colon);
        let value = value.get(1..).unwrap_or_default();
        if let (Ok(name), Ok(value)) = (
            http::HeaderName::from_bytes(name),
            http::HeaderValue::from_bytes(value),
        ) {
            headers.append(name, value);
        }
    }
    let _ = tao_axon::headers::RequestHeaders::parse(&headers);
    let verifier =
        tao_axon::btauth::Verifier::new("5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", true);
    let _ = verifier.check_headers(&headers, 1_700_000_000_000);
    let _ = verifier.verify("POST", "/Dummy", &headers, body, 1_700_000_000_000);
    if let Ok(envelope) = tao_axon::Envelope::<tao_axon::demo::Dummy>::from_json(body) {
        let _ = tao_axon::body_hash(&envelope.synapse);
        let _ = envelope.to_json();
    }
    if let Ok(text) = std::str::from_utf8(body) {
        let _ = tao_axon::signing::parse_signature(text);
    }
}

/// A Yuma scenario file as `tao-yuma run` reads it: parsed, and when small enough to run
/// quickly, run and reported; errors are one line.
pub fn yuma_scenario(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match tao_yuma::scenario::parse(text) {
        Ok(parsed) if parsed.stake.len() <= 64 && parsed.epochs.len() <= 16 => {
            if let Ok(outputs) = tao_yuma::scenario::run(&parsed) {
                let _ = tao_yuma::scenario::report(&outputs).to_json(false);
            }
        }
        Ok(_) => {}
        Err(error) => assert!(!error.to_string().contains('\n'), "{error}"),
    }
}

fn split_head(data: &[u8]) -> (&[u8], &[u8]) {
    match data.windows(2).position(|w| w == b"\n\n") {
        Some(end) => (&data[..end], &data[end + 2..]),
        None => (data, &[]),
    }
}
