//! Every committed corpus input (`crates/fuzz/corpus/<target>/`) and a valid seed per target
//! go through the fuzz targets on every `cargo test`, so a crash the fuzzer once found stays
//! fixed. `TAO_FUZZ_WRITE_SEEDS=1` writes the seeds into the corpus directories.

use std::path::PathBuf;

use commonware_codec::{DecodeExt as _, Encode as _};
use commonware_cryptography::{Signer as _, ed25519, sha256};
use parity_scale_codec::Encode as _;
use tao_node::block::Block;
use tao_primitives::{AccountId, Hash256};
use tao_types::tx::{Call, Mortality, SignedTx, UnsignedTx};

type Target = fn(&[u8]);

const TARGETS: [(&str, Target); 6] = [
    ("block", tao_fuzz::block),
    ("gossip", tao_fuzz::gossip),
    ("signed_tx", tao_fuzz::signed_tx),
    ("rpc_params", tao_fuzz::rpc_params),
    ("axon_request", tao_fuzz::axon_request),
    ("yuma_scenario", tao_fuzz::yuma_scenario),
];

fn transfer(nonce: u64) -> SignedTx {
    SignedTx {
        tx: UnsignedTx {
            signer: AccountId([1; 32]),
            nonce,
            mortality: Mortality {
                birth: 0,
                period: 64,
            },
            call: Call::Transfer {
                dest: AccountId([2; 32]),
                amount_rao: 1_000,
            },
        },
        signature: [7; 64],
    }
}

/// One valid input per target (what the fuzzer mutates first).
fn seed(target: &str) -> Vec<u8> {
    match target {
        "block" => Block::new(
            sha256::Digest([1; 32]),
            5,
            1_700_000_000_000,
            ed25519::PrivateKey::from_seed(1).public_key(),
            Some(AccountId([2; 32])),
            Hash256([3; 32]),
            vec![transfer(0), transfer(1)],
        )
        .encode()
        .to_vec(),
        "gossip" => {
            parity_scale_codec::Encode::encode(&vec![transfer(0).encode(), transfer(1).encode()])
        }
        "signed_tx" => transfer(3).encode(),
        "yuma_scenario" => std::fs::read(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../yuma/examples/clipping.json"),
        )
        .unwrap(),
        "rpc_params" => format!("\"0x{}\"", hex::encode(transfer(4).encode())).into_bytes(),
        _ => b"bt_header_dendrite_hotkey: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\n\
bt_header_dendrite_nonce: 1700000000000000000\nname: Dummy\ntimeout: 12\n\
x-bittensor-sender: 5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY\n\n\
{\"dummy_input\": 3, \"dummy_output\": null, \"name\": \"Dummy\", \"timeout\": 12.0}"
            .to_vec(),
    }
}

fn corpus(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

#[test]
fn seeds_decode_and_the_corpus_replays() {
    assert!(
        Block::decode(bytes::Bytes::from(seed("block"))).is_ok(),
        "the block seed must decode"
    );
    assert_eq!(
        tao_node::gossip::decode_batch(&seed("gossip")).map(|b| b.len()),
        Some(2)
    );
    assert!(SignedTx::decode_bounded(&seed("signed_tx")).is_ok());
    let write = std::env::var_os("TAO_FUZZ_WRITE_SEEDS").is_some();
    for (name, target) in TARGETS {
        let seed = seed(name);
        target(&seed);
        let dir = corpus(name);
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("seed"), &seed).unwrap();
        }
        let mut replayed = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            target(&std::fs::read(&path).unwrap());
            replayed += 1;
        }
        assert!(replayed > 0, "{}: no corpus", dir.display());
    }
}
