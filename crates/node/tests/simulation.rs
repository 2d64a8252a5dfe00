//! Deterministic whole-network simulation: 4 validators running the real simplex + marshal
//! engines over commonware's simulated network on the deterministic runtime, with signed
//! transfers submitted to their mempools. Each run is reproducible from its printed seed.

use std::sync::OnceLock;
use std::time::Duration;

use commonware_cryptography::{Signer as _, ed25519};
use commonware_p2p::simulated::{self, Link, Network};
use commonware_runtime::{Clock, Quota, Runner as _, Supervisor as _, deterministic};
use commonware_utils::{NZU32, NZUsize, ordered::Set};
use tao_node::app::{Chain, ChainConfig};
use tao_node::block::Digest;
use tao_node::engine::{self, Channels, EngineConfig};
use tao_node::storage::RedbStore;
use tao_primitives::{AccountId, Hash256};
use tao_state::spec::ChainSpec;
use tao_state::tx::{Call, Mortality, SignedTx, UnsignedTx};

const VALIDATORS: u64 = 4;
const TARGET_HEIGHT: u64 = 20;
const NAMESPACE: &[u8] = b"tao-sim";
const QUOTA: Quota = Quota::per_second(NZU32!(10_000));

fn transfer(from: &str, to: &str, nonce: u64, amount_rao: u64, genesis_hash: &Hash256) -> SignedTx {
    let signer = tao_keys::Keypair::from_uri(from).expect("dev key");
    let dest = tao_keys::Keypair::from_uri(to).expect("dev key");
    let tx = UnsignedTx {
        signer: AccountId(signer.public().to_bytes()),
        nonce,
        mortality: Mortality {
            birth: 0,
            period: 4_096,
        },
        call: Call::Transfer {
            dest: AccountId(dest.public().to_bytes()),
            amount_rao,
        },
    };
    let signature = signer.sign(&tx.signing_payload(genesis_hash)).to_bytes();
    SignedTx { tx, signature }
}

/// Who sends to whom; each sender sends ten transfers (nonces 0..10).
const SENDERS: [(&str, &str); 3] = [
    ("//Alice", "//Bob"),
    ("//Bob", "//Charlie"),
    ("//Charlie", "//Alice"),
];

/// The signed transfers, in submission order. sr25519 signatures are randomized, so they are
/// made once per process: every run of a seed then sees exactly the same bytes.
fn transfers() -> &'static [SignedTx] {
    static TXS: OnceLock<Vec<SignedTx>> = OnceLock::new();
    TXS.get_or_init(|| {
        let genesis_hash = ChainSpec::local().genesis().expect("genesis").genesis_hash;
        (0..10u64)
            .flat_map(|nonce| {
                SENDERS
                    .map(|(from, to)| transfer(from, to, nonce, 1_000_000 + nonce, &genesis_hash))
            })
            .collect()
    })
}

/// Starts one validator on the simulated network and returns its application.
async fn start_validator(
    context: &deterministic::Context,
    oracle: &simulated::Oracle<ed25519::PublicKey, deterministic::Context>,
    key: ed25519::PrivateKey,
    participants: Set<ed25519::PublicKey>,
    spec: &ChainSpec,
    genesis_proposer: ed25519::PublicKey,
) -> Chain<RedbStore> {
    let me = key.public_key();
    let context = context.child("validator").with_attribute("key", &me);
    let store = RedbStore::in_memory().expect("redb");
    let chain =
        Chain::open(store, spec, genesis_proposer, ChainConfig::default()).expect("genesis");
    let control = oracle.control(me.clone());
    let channels = Channels {
        votes: control.register(0, QUOTA).await.expect("register"),
        certificates: control.register(1, QUOTA).await.expect("register"),
        simplex_resolver: control.register(2, QUOTA).await.expect("register"),
        backfill: control.register(3, QUOTA).await.expect("register"),
        blocks: control.register(4, QUOTA).await.expect("register"),
    };
    let config = EngineConfig::local(NAMESPACE, &format!("validator-{me}"));
    engine::start(
        context,
        &config,
        key,
        participants,
        chain.clone(),
        oracle.manager(),
        control,
        channels,
    )
    .await
    .expect("validator starts");
    chain
}

/// Runs 4 validators until each finalized `TARGET_HEIGHT` blocks and every submitted transfer;
/// returns node 0's finalized `(height, state root, block digest)` sequence, the number of transfers and the
/// runtime auditor's digest of the whole run.
fn run(seed: u64) -> (Vec<(u64, Hash256, Digest)>, usize, String) {
    println!("simulation seed {seed}");
    let config = deterministic::Config::new()
        .with_seed(seed)
        .with_timeout(Some(Duration::from_secs(600)));
    deterministic::Runner::new(config).start(|context| async move {
        let keys: Vec<ed25519::PrivateKey> = (0..VALIDATORS)
            .map(ed25519::PrivateKey::from_seed)
            .collect();
        let publics: Vec<ed25519::PublicKey> = keys.iter().map(|k| k.public_key()).collect();
        let participants = Set::try_from(publics.clone()).expect("distinct keys");
        let (network, oracle) = Network::new_with_peers(
            context.child("network"),
            simulated::Config {
                max_size: 8 * 1024 * 1024,
                max_peers_per_set: NZUsize!(VALIDATORS as usize),
                disconnect_on_block: true,
                tracked_peer_sets: NZUsize!(1),
            },
            publics.clone(),
        )
        .await;
        network.start();
        for a in &publics {
            for b in &publics {
                if a != b {
                    let link = Link {
                        latency: Duration::from_millis(20),
                        jitter: Duration::from_millis(5),
                        success_rate: commonware_utils::probability!(1.0),
                    };
                    oracle
                        .add_link(a.clone(), b.clone(), link)
                        .await
                        .expect("link");
                }
            }
        }
        let spec = ChainSpec::local();
        let mut chains = Vec::new();
        for key in keys {
            chains.push(
                start_validator(
                    &context,
                    &oracle,
                    key,
                    participants.clone(),
                    &spec,
                    publics[0].clone(),
                )
                .await,
            );
        }

        // Submit transfers over time, to every validator's mempool (standing in for gossip).
        let mut submitted = 0usize;
        for round in transfers().chunks(SENDERS.len()) {
            for tx in round {
                for chain in &chains {
                    chain.submit(tx.clone()).expect("valid transfer");
                }
                submitted += 1;
            }
            context.sleep(Duration::from_millis(300)).await;
        }

        let deadline = Duration::from_secs(120);
        let start = context.current();
        loop {
            let done = chains.iter().all(|chain| {
                let finalized = chain.finalized();
                finalized.len() as u64 >= TARGET_HEIGHT
                    && finalized.iter().map(|b| b.txs).sum::<usize>() == submitted
            });
            if done {
                break;
            }
            let elapsed = context.current().duration_since(start).unwrap_or_default();
            assert!(
                elapsed < deadline,
                "seed {seed}: no progress to height {TARGET_HEIGHT}"
            );
            context.sleep(Duration::from_millis(250)).await;
        }

        let logs: Vec<Vec<(u64, Hash256, Digest)>> = chains
            .iter()
            .map(|chain| {
                chain
                    .finalized()
                    .iter()
                    .map(|b| (b.height, b.state_root, b.digest))
                    .collect()
            })
            .collect();
        for (node, log) in logs.iter().enumerate() {
            // Finality never reverts: heights 1, 2, 3, ... each exactly once.
            for (index, (height, _, _)) in log.iter().enumerate() {
                assert_eq!(
                    *height,
                    index as u64 + 1,
                    "seed {seed}: node {node} height order"
                );
            }
            // Every node agrees with node 0 on the block and state root of every height both
            // finalized.
            for (first, other) in logs[0].iter().zip(log) {
                assert_eq!(first, other, "seed {seed}: node {node} diverged");
            }
            let (height, _) = chains[node].committed();
            assert_eq!(
                height,
                log.len() as u64,
                "seed {seed}: node {node} committed height"
            );
        }
        // Every sender's ten transfers landed exactly once on every node.
        for chain in &chains {
            for (from, _) in SENDERS {
                let who = AccountId(
                    tao_keys::Keypair::from_uri(from)
                        .expect("dev key")
                        .public()
                        .to_bytes(),
                );
                let nonce =
                    chain.read(|store| tao_state::read::account(store, &who).map(|a| a.nonce));
                assert_eq!(nonce.ok(), Some(10), "seed {seed}: {from} nonce");
            }
            assert_eq!(chain.mempool_len(), 0, "seed {seed}: mempool not drained");
        }
        (logs[0].clone(), submitted, context.auditor().state())
    })
}

#[test]
fn four_validators_finalize_transfers_with_equal_state_roots() {
    for seed in [1, 2, 3] {
        let (log, txs, _) = run(seed);
        println!(
            "seed {seed}: {} blocks, {txs} transfers finalized",
            log.len()
        );
        assert!(log.len() as u64 >= TARGET_HEIGHT);
    }
}

#[test]
fn the_same_seed_gives_the_same_chain() {
    let first = run(7);
    let second = run(7);
    assert_eq!(first, second, "seed 7 is not reproducible");
}
