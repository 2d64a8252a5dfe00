//! Metagraphs built by hand for tests and benchmarks (no node needed).
#![allow(dead_code)]

use tao_keys::{Keypair, PublicKey};
use tao_sdk::{Metagraph, Neuron, Target};
use tao_types::params::Hyperparams;
use tao_types::views::{DynamicView, EndpointView};

/// The pool and schedule of a subnet in these tests.
pub fn dynamic(netuid: u16) -> DynamicView {
    let zero = format!("0x{}", "0".repeat(64));
    serde_json::from_value(serde_json::json!({
        "netuid": netuid, "name": "", "symbol": "α", "owner_coldkey": zero, "owner_hotkey": zero,
        "registered_at": 0, "tempo": 10, "last_epoch_block": 0, "blocks_since_last_step": 0,
        "blocks_until_next_epoch": 10, "epoch_index": 0, "tao_in_rao": 1, "alpha_in_rao": 1,
        "alpha_out_rao": 0, "price_rao_per_alpha": 1_000_000_000, "moving_price_rao_per_alpha": 0,
        "pending_owner_cut_rao": 0, "pending_server_emission_rao": 0,
        "pending_validator_emission_rao": 0, "pending_root_emission_rao": 0,
        "tao_in_emission_rao": 0, "alpha_out_emission_rao": 0, "subnet_volume_rao": 0
    }))
    .expect("a DynamicView")
}

/// A neuron with a hotkey, stake and (optionally) an axon on 127.0.0.1.
pub fn neuron(uid: u16, hotkey: PublicKey, permit: bool, port: Option<u16>) -> Neuron {
    Neuron {
        uid,
        hotkey,
        coldkey: hotkey,
        alpha_stake: if permit { 1_000_000_000_000 } else { 0 },
        alpha_value_rao: 0,
        consensus: 0,
        incentive: 0,
        dividends: 0,
        validator_trust: 0,
        emission: 0,
        validator_permit: permit,
        active: true,
        last_update: 0,
        registered_at: 0,
        axon: port.map(|port| EndpointView {
            block: 1,
            version: 1,
            ip: "127.0.0.1".into(),
            port,
            ip_type: 4,
            protocol: 4,
        }),
    }
}

/// A metagraph of these neurons.
pub fn graph(neurons: Vec<Neuron>) -> Metagraph {
    Metagraph::new(1, 100, neurons, Hyperparams::default(), dynamic(1))
}

/// Every neuron but uid 0 (the validator) as a target of round 1.
pub fn miner_targets(graph: &Metagraph) -> Vec<Target> {
    graph
        .neurons
        .iter()
        .skip(1)
        .map(|n| Target {
            uid: n.uid,
            hotkey: n.hotkey,
            round: 1,
        })
        .collect()
}

/// The keypair of test account `i`.
pub fn key(i: usize) -> Keypair {
    Keypair::from_uri(&format!("//Test{i}")).expect("a dev key")
}

/// The JSON a node sends for a subnet of `n` neurons.
pub fn metagraph_json(n: u16) -> String {
    let graph = graph(
        (0..n)
            .map(|uid| {
                let mut bytes = [7u8; 32];
                bytes[..2].copy_from_slice(&uid.to_le_bytes());
                let key = tao_keys::PublicKey::from_bytes(bytes);
                neuron(uid, key, uid < 64, Some(8091))
            })
            .collect(),
    );
    let accounts = |f: fn(&Neuron) -> [u8; 32]| -> Vec<String> {
        graph
            .neurons
            .iter()
            .map(|neuron| tao_keys::PublicKey::from_bytes(f(neuron)).to_ss58())
            .collect()
    };
    let column = |f: fn(&Neuron) -> serde_json::Value| -> Vec<serde_json::Value> {
        graph.neurons.iter().map(f).collect()
    };
    serde_json::json!({
        "netuid": 1, "block": 100, "n": n,
        "uids": column(|x| x.uid.into()),
        "hotkeys": accounts(|x| x.hotkey.to_bytes()),
        "coldkeys": accounts(|x| x.coldkey.to_bytes()),
        "stake_rao": column(|x| x.alpha_stake.into()),
        "consensus": column(|_| 1234.into()),
        "incentive": column(|_| 2345.into()),
        "dividends": column(|_| 3456.into()),
        "validator_trust": column(|_| 4567.into()),
        "emission_rao": column(|_| 1_000_000_000u64.into()),
        "active": column(|x| x.active.into()),
        "last_update": column(|_| 99.into()),
        "registered_at": column(|_| 1.into()),
        "validator_permit": column(|x| x.validator_permit.into()),
        "axons": column(|x| serde_json::to_value(&x.axon).unwrap_or_default()),
        "hyperparams": graph.hyperparams,
        "dynamic": graph.dynamic,
    })
    .to_string()
}
