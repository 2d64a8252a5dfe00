//! What the deterministic simulations share: seeds, runtimes, validator keys, and a Byzantine
//! proposer that forges the blocks its honest chain builds.
//!
//! Seeds: each scenario runs its default seeds, `TAO_SIM_SEEDS=N` runs N from the first default
//! (a long soak: `TAO_SIM_SEEDS=200 cargo test -p tao-node --test simulation`), and
//! `TAO_SIM_SEED=S` exactly one (to replay a printed failing seed).
#![allow(dead_code)]

use std::time::Duration;

use commonware_actor::Feedback;
use commonware_consensus::marshal::{Update, ancestry::Ancestry};
use commonware_consensus::{Application, Reporter};
use commonware_cryptography::{Digested, Digestible as _, Signer as _, ed25519};
use commonware_runtime::deterministic;
use commonware_utils::ordered::Set;
use tao_node::app::{Chain, ConsensusContext, SigningScheme};
use tao_node::block::Block;
use tao_node::storage::RedbStore;

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

/// A Byzantine proposer: builds the block its honest `chain` would, proposes `forge` of it,
/// and otherwise behaves honestly (verifies, finalizes).
#[derive(Clone)]
pub struct Forging {
    /// The validator's own, honest chain.
    pub chain: Chain<RedbStore>,
    /// What it makes of each honest block before proposing it.
    pub forge: fn(&Block) -> Block,
}

impl Application<deterministic::Context> for Forging {
    type SigningScheme = SigningScheme;
    type Context = ConsensusContext;
    type Block = Block;
    type Input = ();

    async fn propose(
        &mut self,
        context: (deterministic::Context, ConsensusContext),
        ancestry: impl Ancestry<Block>,
        input: (),
    ) -> Option<Digested<Block>> {
        let honest = self.chain.propose(context, ancestry, input).await?;
        let forged = (self.forge)(honest.inner());
        let digest = forged.digest();
        Some(Digested::precomputed(forged, digest))
    }

    async fn verify(
        &mut self,
        context: (deterministic::Context, ConsensusContext),
        ancestry: impl Ancestry<Block>,
    ) -> bool {
        self.chain.verify(context, ancestry).await
    }
}

impl Reporter for Forging {
    type Activity = Update<Block>;

    fn report(&mut self, activity: Update<Block>) -> Feedback {
        self.chain.report(activity)
    }
}
