//! What the deterministic simulations share: seeds, runtimes and validator keys.
//!
//! Seeds: each scenario runs its default seeds, `TAO_SIM_SEEDS=N` runs N from the first default
//! (a long soak: `TAO_SIM_SEEDS=200 cargo test -p tao-node --test simulation`), and
//! `TAO_SIM_SEED=S` exactly one (to replay a printed failing seed).
#![allow(dead_code)]

use std::time::Duration;

use commonware_cryptography::{Signer as _, ed25519};
use commonware_runtime::deterministic;
use commonware_utils::ordered::Set;

/// The consensus keys of `n` validators (seeds 0..n; validator 0's key is the genesis proposer).
pub fn keys(n: usize) -> Vec<ed25519::PrivateKey> {
    (0..n as u64).map(ed25519::PrivateKey::from_seed).collect()
}

/// The public keys of `n` validators, as consensus orders them.
pub fn participants(n: usize) -> Set<ed25519::PublicKey> {
    Set::try_from(keys(n).iter().map(|k| k.public_key()).collect::<Vec<_>>()).expect("keys")
}

/// The seeds to run (see the module docs).
pub fn seeds(default: &[u64]) -> Vec<u64> {
    let env = |name: &str| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
    if let Some(seed) = env("TAO_SIM_SEED") {
        return vec![seed];
    }
    let first = default.first().copied().unwrap_or(0);
    match env("TAO_SIM_SEEDS") {
        Some(count) => (first..first.saturating_add(count)).collect(),
        None => default.to_vec(),
    }
}

/// A deterministic runtime for `seed`, printed first so a failure can be replayed.
pub fn runtime(seed: u64) -> deterministic::Runner {
    println!("simulation seed {seed}");
    let config = deterministic::Config::new()
        .with_seed(seed)
        .with_timeout(Some(Duration::from_secs(600)));
    deterministic::Runner::new(config)
}
