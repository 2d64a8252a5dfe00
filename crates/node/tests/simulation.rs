//! Deterministic whole-network simulation: 4 or 7 validators running the real simplex +
//! marshal engines and transaction gossip over commonware's simulated network on the
//! deterministic runtime, with signed transfers submitted to their mempools. Scenarios: all
//! online, lossy and slow links, partition and heal, whole-network unclean restart, one
//! validator crashed and restarted, a proposer with a wrong state root, an equivocating
//! validator. Each run checks that every node applied consecutive heights with the same state
//! roots (finality never reverts or forks) and is reproducible from its printed seed.

use std::sync::OnceLock;
use std::time::Duration;

use commonware_consensus::simplex::elector::RoundRobin;
use commonware_cryptography::{Signer as _, ed25519};
use commonware_p2p::simulated::{self, Link, Network};
use commonware_runtime::{
    Clock, Handle, Quota, Runner as _, Spawner as _, Supervisor as _, deterministic,
};
use commonware_utils::{NZU32, NZUsize, ordered::Set};
use tao_node::app::{Chain, ChainConfig};
use tao_node::block::{Block, Digest};
use tao_node::engine::{self, Channels, EngineConfig};
use tao_node::gossip;
use tao_node::service::GOSSIP_CHANNEL;
use tao_node::storage::{CommitStore as _, RedbStore};
use tao_primitives::{AccountId, Hash256};
use tao_state::spec::ChainSpec;
use tao_types::tx::{Call, Mortality, SignedTx, UnsignedTx};

/// Validators of the standard scenarios.
mod sim;
use sim::{keys, participants, runtime, seeds};

const VALIDATORS: usize = 4;
const TARGET_HEIGHT: u64 = 20;
const NAMESPACE: &[u8] = b"tao-sim";
const QUOTA: Quota = Quota::per_second(NZU32!(10_000));

/// Block time of the simulated chain, ms (simulated time: it costs no wall time).
const BLOCK_TIME_MS: u64 = 250;

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

/// Starts one validator on the simulated network and returns its application; a
/// `byzantine` validator proposes blocks with a wrong state root.
async fn start_validator(
    context: &deterministic::Context,
    oracle: &simulated::Oracle<ed25519::PublicKey, deterministic::Context>,
    key: ed25519::PrivateKey,
    participants: Set<ed25519::PublicKey>,
    chain: Chain<RedbStore>,
    byzantine: bool,
) {
    let me = key.public_key();
    let context = context.child("validator").with_attribute("key", &me);
    let control = oracle.control(me.clone());
    let channels = Channels {
        votes: control.register(0, QUOTA).await.expect("register"),
        certificates: control.register(1, QUOTA).await.expect("register"),
        simplex_resolver: control.register(2, QUOTA).await.expect("register"),
        backfill: control.register(3, QUOTA).await.expect("register"),
        blocks: control.register(4, QUOTA).await.expect("register"),
    };
    let transactions = control
        .register(GOSSIP_CHANNEL, QUOTA)
        .await
        .expect("register");
    gossip::start(context.child("tao"), &chain, transactions);
    let config = EngineConfig::for_block_time(
        NAMESPACE,
        &format!("validator-{me}"),
        Duration::from_millis(BLOCK_TIME_MS),
    );
    let genesis = chain.genesis();
    let started = if byzantine {
        engine::start(
            context,
            &config,
            key,
            participants,
            genesis,
            sim::Forging {
                chain: chain.clone(),
                forge: wrong_state_root,
            },
            oracle.manager(),
            control,
            channels,
        )
        .await
    } else {
        engine::start(
            context,
            &config,
            key,
            participants,
            genesis,
            chain.clone(),
            oracle.manager(),
            control,
            channels,
        )
        .await
    };
    started.expect("validator starts");
}

/// The keys of `n` validators: ed25519, derived from their index.
/// A reliable link: 20 ms ± 5 ms, nothing lost.
fn good_link() -> Link {
    Link {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        success_rate: commonware_utils::probability!(1.0),
    }
}

/// Opens the application on `store` (genesis anchor proposed by validator 0).
fn open_chain(store: &RedbStore) -> Chain<RedbStore> {
    Chain::open(
        store.clone(),
        &ChainSpec::local(),
        ed25519::PrivateKey::from_seed(0).public_key(),
        ChainConfig {
            block_time_ms: BLOCK_TIME_MS,
            ..ChainConfig::default()
        },
    )
    .expect("genesis")
}

type Oracle = simulated::Oracle<ed25519::PublicKey, deterministic::Context>;

/// Starts the simulated network of `n` validators with `link` between every two.
async fn network(context: &deterministic::Context, n: usize, link: Link) -> Oracle {
    let publics: Vec<ed25519::PublicKey> = keys(n).iter().map(|k| k.public_key()).collect();
    let (network, oracle) = Network::new_with_peers(
        context.child("network"),
        simulated::Config {
            max_size: 8 * 1024 * 1024,
            max_peers_per_set: NZUsize!(n),
            disconnect_on_block: true,
            tracked_peer_sets: NZUsize!(1),
        },
        publics.clone(),
    )
    .await;
    network.start();
    for a in 0..n {
        for b in 0..n {
            if a != b {
                set_link(&oracle, a, b, Some(link.clone())).await;
            }
        }
    }
    oracle
}

/// Puts up (`Some`) or takes down (`None`) the link from validator `a` to validator `b`.
async fn set_link(oracle: &Oracle, a: usize, b: usize, link: Option<Link>) {
    let key = |i: usize| ed25519::PrivateKey::from_seed(i as u64).public_key();
    let result = match link {
        Some(link) => oracle.add_link(key(a), key(b), link).await,
        None => oracle.remove_link(key(a), key(b)).await,
    };
    result.expect("link change");
}

/// Takes down (`None`) or restores (`Some`) every link between the validators on `side` and
/// the others, in both directions.
async fn set_partition(
    oracle: &Oracle,
    n: usize,
    side: impl Fn(usize) -> bool,
    link: Option<Link>,
) {
    for a in 0..n {
        for b in (0..n).filter(|&b| side(a) != side(b)) {
            set_link(oracle, a, b, link.clone()).await;
        }
    }
}

/// Runs validator `index` inside its own task, so that [`crash`] on the handle stops every
/// actor of it (the runtime aborts a task's descendants).
fn spawn_validator(
    context: &deterministic::Context,
    oracle: &Oracle,
    index: usize,
    chain: &Chain<RedbStore>,
) -> Handle<()> {
    let participants = participants(VALIDATORS);
    let key = keys(VALIDATORS)[index].clone();
    let (oracle, chain) = (oracle.clone(), chain.clone());
    context.child("host").spawn(move |context| async move {
        start_validator(&context, &oracle, key, participants, chain, false).await;
        futures::future::pending::<()>().await;
    })
}

/// Crashes a validator started by [`spawn_validator`]. `Handle::abort` stops the host task
/// only: its actors are aborted when the runtime next polls the host task and drops it, and
/// until then any of them already woken still runs (seed 221: validator 3's marshal finalized
/// one more block after `abort` returned). Waiting for the handle to resolve makes the crash
/// total: from then on none of the validator's tasks runs again.
async fn crash(handle: Handle<()>) {
    handle.abort();
    let _ = handle.await;
}

/// A Byzantine proposer's forgery ([`sim::Forging`]): the honest block, claiming a different
/// state root.
fn wrong_state_root(b: &Block) -> Block {
    Block::new(
        b.parent,
        b.height,
        b.timestamp_ms,
        b.proposer.clone(),
        b.author,
        Hash256([0xbb; 32]),
        b.txs.clone(),
    )
}

/// Starts the simulated network (every link `link`) and one validator per store.
async fn start_network(
    context: &deterministic::Context,
    stores: &[RedbStore],
    byzantine: Option<usize>,
    link: Link,
) -> (Vec<Chain<RedbStore>>, Oracle) {
    let n = stores.len();
    let oracle = network(context, n, link).await;
    let participants = participants(n);
    let mut chains = Vec::new();
    for (index, (key, store)) in keys(n).into_iter().zip(stores).enumerate() {
        let chain = open_chain(store);
        start_validator(
            context,
            &oracle,
            key,
            participants.clone(),
            chain.clone(),
            byzantine == Some(index),
        )
        .await;
        chains.push(chain);
    }
    (chains, oracle)
}

/// Sleeps in simulated time until `done` holds for every chain (panics after 120 s).
async fn wait_until(
    context: &deterministic::Context,
    seed: u64,
    chains: &[Chain<RedbStore>],
    done: impl Fn(&Chain<RedbStore>) -> bool,
) {
    let start = context.current();
    while !chains.iter().all(&done) {
        let elapsed = context.current().duration_since(start).unwrap_or_default();
        assert!(
            elapsed < Duration::from_secs(120),
            "seed {seed}: no progress"
        );
        context.sleep(Duration::from_millis(250)).await;
    }
}

/// A node's finalized blocks applied by this process: `(height, state root, digest)`.
type Log = Vec<(u64, Hash256, Digest)>;

/// Checks that every node applied consecutive heights right after `resumed_at` (its committed
/// height when it started), that all nodes agree on every height, and that the store's
/// finalized height is the last applied one. Returns the logs.
fn check_agreement(seed: u64, chains: &[Chain<RedbStore>], resumed_at: &[u64]) -> Vec<Log> {
    let logs: Vec<Log> = chains
        .iter()
        .map(|chain| {
            chain
                .finalized()
                .iter()
                .map(|b| (b.height, b.state_root, b.digest))
                .collect()
        })
        .collect();
    let mut by_height: std::collections::BTreeMap<u64, (Hash256, Digest)> = Default::default();
    for (node, log) in logs.iter().enumerate() {
        // Finality never reverts: each height once, in order, right after the resumed height.
        for (index, (height, root, digest)) in log.iter().enumerate() {
            assert_eq!(
                *height,
                resumed_at[node] + index as u64 + 1,
                "seed {seed}: node {node} height order"
            );
            // Every node agrees on the block and state root of every height.
            let seen = by_height.entry(*height).or_insert((*root, *digest));
            assert_eq!(*seen, (*root, *digest), "seed {seed}: node {node} diverged");
        }
        let (height, _) = chains[node].committed();
        assert_eq!(
            height,
            resumed_at[node] + log.len() as u64,
            "seed {seed}: node {node} committed height"
        );
    }
    logs
}

fn nonce_of(chain: &Chain<RedbStore>, uri: &str) -> Option<u64> {
    let who = AccountId(
        tao_keys::Keypair::from_uri(uri)
            .expect("dev key")
            .public()
            .to_bytes(),
    );
    chain.read(|store| tao_state::read::account(store, &who).ok().map(|a| a.nonce))
}

fn stores(n: usize) -> Vec<RedbStore> {
    (0..n)
        .map(|_| RedbStore::in_memory().expect("redb"))
        .collect()
}

/// Runs 4 validators until each finalized `TARGET_HEIGHT` blocks and every submitted transfer;
/// returns node 0's finalized `(height, state root, block digest)` sequence, the number of
/// transfers and the runtime auditor's digest of the whole run.
fn run(seed: u64) -> (Log, usize, String) {
    runtime(seed).start(|context| async move {
        let chains = start_network(&context, &stores(VALIDATORS), None, good_link())
            .await
            .0;
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
        wait_until(&context, seed, &chains, |chain| {
            let finalized = chain.finalized();
            finalized.len() as u64 >= TARGET_HEIGHT
                && finalized.iter().map(|b| b.txs).sum::<usize>() == submitted
        })
        .await;
        let logs = check_agreement(seed, &chains, &[0; VALIDATORS]);
        // Every sender's ten transfers landed exactly once on every node.
        for chain in &chains {
            for (from, _) in SENDERS {
                assert_eq!(nonce_of(chain, from), Some(10), "seed {seed}: {from} nonce");
            }
            assert_eq!(chain.mempool_len(), 0, "seed {seed}: mempool not drained");
        }
        (logs[0].clone(), submitted, context.auditor().state())
    })
}

#[test]
fn four_validators_finalize_transfers_with_equal_state_roots() {
    for seed in seeds(&[1, 2, 3]) {
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

/// Every validator stops at an arbitrary moment (no clean shutdown: the runtime is dropped with
/// all tasks mid-flight), then restarts from its storage: the marshal and simplex partitions of
/// the deterministic runtime and the redb state. Finality resumes where each store left off,
/// no height is applied twice, and all nodes keep agreeing.
#[test]
fn validators_resume_after_an_unclean_stop_of_the_whole_network() {
    for seed in seeds(&[11, 12]) {
        let stores = stores(VALIDATORS);
        let first_stores = stores.clone();
        let (stopped_at, checkpoint) = runtime(seed).start_and_recover(|context| async move {
            let chains = start_network(&context, &first_stores, None, good_link())
                .await
                .0;
            for tx in &transfers()[..SENDERS.len() * 5] {
                for chain in &chains {
                    chain.submit(tx.clone()).expect("valid transfer");
                }
            }
            wait_until(&context, seed, &chains, |chain| chain.committed().0 >= 10).await;
            check_agreement(seed, &chains, &[0; VALIDATORS]);
            // Stop between blocks at a seed-dependent moment.
            context.sleep(Duration::from_millis(37 * seed)).await;
            chains
                .iter()
                .map(|chain| chain.committed().0)
                .collect::<Vec<u64>>()
        });
        println!("seed {seed}: stopped at heights {stopped_at:?}");
        let resumed: Vec<u64> = stores
            .iter()
            .map(|store| store.finalized().map_or(0, |(height, _)| height))
            .collect();
        assert_eq!(
            resumed, stopped_at,
            "seed {seed}: store lost a committed block"
        );
        deterministic::Runner::from(checkpoint).start(|context| async move {
            let chains = start_network(&context, &stores, None, good_link()).await.0;
            for tx in &transfers()[SENDERS.len() * 5..] {
                for chain in &chains {
                    chain.submit(tx.clone()).expect("valid transfer");
                }
            }
            wait_until(&context, seed, &chains, |chain| {
                chain.committed().0 >= 25 && nonce_of(chain, "//Alice") == Some(10)
            })
            .await;
            check_agreement(seed, &chains, &resumed);
            let redelivered: Vec<u64> = chains.iter().map(|chain| chain.redelivered()).collect();
            println!("seed {seed}: blocks redelivered after restart and skipped: {redelivered:?}");
            for chain in &chains {
                for (from, _) in SENDERS {
                    assert_eq!(nonce_of(chain, from), Some(10), "seed {seed}: {from} nonce");
                }
            }
        });
    }
}

/// Validator 3 proposes every block of its views with a wrong state root: the honest three
/// reject them (the views are skipped), keep finalizing, and never finalize one of its blocks.
#[test]
fn a_proposer_with_a_wrong_state_root_is_never_finalized() {
    for seed in seeds(&[21, 22]) {
        runtime(seed).start(|context| async move {
            let byzantine = ed25519::PrivateKey::from_seed(3).public_key();
            let chains = start_network(&context, &stores(VALIDATORS), Some(3), good_link())
                .await
                .0;
            for tx in transfers() {
                for chain in &chains {
                    chain.submit(tx.clone()).expect("valid transfer");
                }
            }
            let honest = &chains[..3];
            wait_until(&context, seed, honest, |chain| {
                chain.committed().0 >= TARGET_HEIGHT
            })
            .await;
            check_agreement(seed, honest, &[0; 3]);
            for chain in honest {
                assert!(
                    chain.finalized().iter().all(|b| b.proposer != byzantine),
                    "seed {seed}: a forged block was finalized"
                );
                assert_eq!(nonce_of(chain, "//Alice"), Some(10), "seed {seed}");
            }
            println!(
                "seed {seed}: honest nodes finalized {} blocks",
                honest[0].committed().0
            );
        });
    }
}

/// Validator 3 crashes (all its actors aborted mid-flight) while the others keep finalizing,
/// then restarts from its storage, catches up through marshal backfill and re-execution, and
/// agrees with the others on every height.
#[test]
fn a_crashed_validator_restarts_and_catches_up() {
    // Seed 221 is the regression case of a crash that let the marshal write once more.
    for seed in seeds(&[31, 32, 221]) {
        runtime(seed).start(|context| async move {
            let oracle = network(&context, VALIDATORS, good_link()).await;
            let stores = stores(VALIDATORS);
            let mut chains: Vec<Chain<RedbStore>> = stores.iter().map(open_chain).collect();
            let mut handles: Vec<Handle<()>> = (0..VALIDATORS)
                .map(|index| spawn_validator(&context, &oracle, index, &chains[index]))
                .collect();
            for tx in &transfers()[..SENDERS.len() * 5] {
                for chain in &chains {
                    chain.submit(tx.clone()).expect("valid transfer");
                }
            }
            wait_until(&context, seed, &chains, |chain| chain.committed().0 >= 8).await;
            context.sleep(Duration::from_millis(41 * seed)).await;
            crash(handles.pop().expect("validator 3")).await;
            let crashed_at = stores[3].finalized().map_or(0, |(height, _)| height);
            let running = &chains[..3];
            wait_until(&context, seed, running, |chain| {
                chain.committed().0 >= crashed_at + 15
            })
            .await;
            // The crashed validator really is down: its store did not move.
            assert_eq!(
                stores[3].finalized().map_or(0, |(height, _)| height),
                crashed_at,
                "seed {seed}: validator 3 kept running"
            );
            for tx in &transfers()[SENDERS.len() * 5..] {
                for chain in running {
                    chain.submit(tx.clone()).expect("valid transfer");
                }
            }
            chains[3] = open_chain(&stores[3]);
            assert_eq!(chains[3].committed().0, crashed_at, "seed {seed}");
            handles.push(spawn_validator(&context, &oracle, 3, &chains[3]));
            let target = chains[0].committed().0 + 10;
            wait_until(&context, seed, &chains, |chain| {
                chain.committed().0 >= target && nonce_of(chain, "//Alice") == Some(10)
            })
            .await;
            check_agreement(seed, &chains, &[0, 0, 0, crashed_at]);
            println!(
                "seed {seed}: validator 3 crashed at {crashed_at}, caught up to {}",
                chains[3].committed().0
            );
        });
    }
}

/// Transfers spread over the validators, each submitted to one of them only: the others
/// learn of it through gossip (or, when gossip is lost, from the block that includes it).
fn submit_spread(chains: &[Chain<RedbStore>], txs: &[SignedTx]) {
    for (index, tx) in txs.iter().enumerate() {
        chains[index % chains.len()]
            .submit(tx.clone())
            .expect("valid transfer");
    }
}

/// Whether every sender's ten transfers are finalized on `chain`.
fn all_transfers_final(chain: &Chain<RedbStore>) -> bool {
    SENDERS
        .iter()
        .all(|(from, _)| nonce_of(chain, from) == Some(10))
}

fn heights(chains: &[Chain<RedbStore>]) -> Vec<u64> {
    chains.iter().map(|chain| chain.committed().0).collect()
}

/// Seven validators over slow, lossy links (80 ms ± 40 ms, 5 % of messages lost): views
/// time out and are skipped now and then, yet every transfer, each submitted to a single
/// validator, is finalized exactly once and all nodes agree on every height.
#[test]
fn seven_validators_over_lossy_slow_links_finalize_every_transfer() {
    for seed in seeds(&[41, 42, 43]) {
        runtime(seed).start(|context| async move {
            let lossy = Link {
                latency: Duration::from_millis(80),
                jitter: Duration::from_millis(40),
                success_rate: commonware_utils::probability!(0.95),
            };
            let (chains, _) = start_network(&context, &stores(7), None, lossy).await;
            for round in transfers().chunks(SENDERS.len()) {
                submit_spread(&chains, round);
                context.sleep(Duration::from_millis(200)).await;
            }
            wait_until(&context, seed, &chains, |chain| {
                chain.committed().0 >= TARGET_HEIGHT && all_transfers_final(chain)
            })
            .await;
            check_agreement(seed, &chains, &[0; 7]);
            println!(
                "seed {seed}: 7 validators over lossy links at heights {:?}",
                heights(&chains)
            );
        });
    }
}

/// Seven validators split 5 | 2. The majority still has a quorum (5 of 7) and keeps
/// finalizing, with the transfers gossiped among its members; the minority cannot finalize
/// anything new. After the links heal, the minority catches up and every node agrees.
#[test]
fn a_partitioned_minority_stalls_and_catches_up_after_healing() {
    for seed in seeds(&[51, 52]) {
        runtime(seed).start(|context| async move {
            let (chains, oracle) = start_network(&context, &stores(7), None, good_link()).await;
            wait_until(&context, seed, &chains, |chain| chain.committed().0 >= 5).await;
            let majority = |node: usize| node < 5;
            set_partition(&oracle, 7, majority, None).await;
            let split_at = heights(&chains);
            submit_spread(&chains[..5], transfers());
            wait_until(&context, seed, &chains[..5], |chain| {
                chain.committed().0 >= split_at[0] + 15 && all_transfers_final(chain)
            })
            .await;
            let during = heights(&chains);
            for minority in 5..7 {
                // At most what was already in flight when the links went down.
                assert!(
                    during[minority] <= split_at[minority] + 2,
                    "seed {seed}: the minority finalized while cut off: {split_at:?} -> {during:?}"
                );
            }
            set_partition(&oracle, 7, majority, Some(good_link())).await;
            let target = during[0] + 5;
            wait_until(&context, seed, &chains, |chain| {
                chain.committed().0 >= target && all_transfers_final(chain)
            })
            .await;
            check_agreement(seed, &chains, &[0; 7]);
            println!(
                "seed {seed}: split at {split_at:?}, majority reached {during:?}, healed to {:?}",
                heights(&chains)
            );
        });
    }
}

/// Four validators split 2 | 2: neither half has a quorum, so nothing finalizes while the
/// network is split; once it heals, finality resumes and every node agrees.
#[test]
fn an_even_split_halts_finality_until_the_network_heals() {
    for seed in seeds(&[61, 62]) {
        runtime(seed).start(|context| async move {
            let (chains, oracle) =
                start_network(&context, &stores(VALIDATORS), None, good_link()).await;
            wait_until(&context, seed, &chains, |chain| chain.committed().0 >= 5).await;
            let first_half = |node: usize| node < 2;
            set_partition(&oracle, VALIDATORS, first_half, None).await;
            let split_at = heights(&chains);
            submit_spread(&chains, transfers());
            context.sleep(Duration::from_secs(20)).await;
            let during = heights(&chains);
            for (node, (before, after)) in split_at.iter().zip(&during).enumerate() {
                assert!(
                    after <= &(before + 2),
                    "seed {seed}: node {node} finalized without a quorum: {split_at:?} -> {during:?}"
                );
            }
            set_partition(&oracle, VALIDATORS, first_half, Some(good_link())).await;
            let target = during.iter().max().copied().unwrap_or(0) + 10;
            wait_until(&context, seed, &chains, |chain| {
                chain.committed().0 >= target && all_transfers_final(chain)
            })
            .await;
            check_agreement(seed, &chains, &[0; VALIDATORS]);
            println!(
                "seed {seed}: split at {split_at:?}, still {during:?} after 20 s, healed to {:?}",
                heights(&chains)
            );
        });
    }
}

/// Validator 3 equivocates: whenever it leads, it signs two different proposals for the same
/// view and sends one to a single victim and the other to everyone else (commonware's
/// Byzantine `Equivocator`); it never votes for anyone else's block. The honest three never
/// finalize a block of its views, keep finalizing their own, and agree on every height.
#[test]
fn an_equivocating_validator_cannot_split_or_stop_the_honest_ones() {
    use commonware_consensus::simplex::mocks::{equivocator, relay::Relay};
    use commonware_consensus::simplex::scheme::ed25519::Scheme as Ed25519Scheme;
    use commonware_consensus::types::Epoch;
    use commonware_cryptography::Sha256;
    use std::sync::Arc;

    for seed in seeds(&[71, 72]) {
        runtime(seed).start(|context| async move {
            let oracle = network(&context, VALIDATORS, good_link()).await;
            let stores = stores(VALIDATORS);
            let participants = participants(VALIDATORS);
            let mut chains = Vec::new();
            for (index, key) in keys(VALIDATORS).into_iter().enumerate().take(3) {
                let chain = open_chain(&stores[index]);
                start_validator(
                    &context,
                    &oracle,
                    key,
                    participants.clone(),
                    chain.clone(),
                    false,
                )
                .await;
                chains.push(chain);
            }
            let byzantine = keys(VALIDATORS)[3].clone();
            let control = oracle.control(byzantine.public_key());
            let votes = control.register(0, QUOTA).await.expect("register");
            let certificates = control.register(1, QUOTA).await.expect("register");
            let scheme = Ed25519Scheme::signer(NAMESPACE, participants, byzantine.clone())
                .expect("a participant");
            equivocator::Equivocator::<_, _, RoundRobin<Sha256>, Sha256>::new(
                context.child("equivocator"),
                equivocator::Config {
                    scheme,
                    elector: RoundRobin::default(),
                    epoch: Epoch::zero(),
                    relay: Arc::new(Relay::new()),
                },
            )
            .start(votes, certificates);

            submit_spread(&chains, transfers());
            wait_until(&context, seed, &chains, |chain| {
                chain.committed().0 >= TARGET_HEIGHT && all_transfers_final(chain)
            })
            .await;
            check_agreement(seed, &chains, &[0; 3]);
            for chain in &chains {
                assert!(
                    chain
                        .finalized()
                        .iter()
                        .all(|block| block.proposer != byzantine.public_key()),
                    "seed {seed}: a block of the equivocator's views was finalized"
                );
            }
            println!(
                "seed {seed}: honest nodes at {:?} beside an equivocator",
                heights(&chains)
            );
        });
    }
}
