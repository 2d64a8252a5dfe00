//! Byzantine peers in the deterministic network simulation (issue 13): one of four validators
//! proposes invalid blocks (a transaction with a bad signature, a timestamp an hour ahead, more
//! transactions than a block may hold, a wrong state root), or runs honest consensus while
//! flooding the transaction gossip channel with garbage, oversized batches and transactions
//! with invalid signatures. The three honest validators must keep finalizing, agree on every
//! height, never finalize a forged block, keep the state invariants and admit nothing forged.
//! Seeds as in `simulation.rs`: `TAO_SIM_SEED=S` replays one, `TAO_SIM_SEEDS=N` runs N.

use std::sync::OnceLock;
use std::time::Duration;

use commonware_cryptography::{Signer as _, ed25519};
use commonware_p2p::Recipients;
use commonware_p2p::simulated::{self, Link, Network};
use commonware_runtime::{
    Clock, IoBuf, Quota, Runner as _, Spawner as _, Supervisor as _, deterministic,
};
use commonware_utils::{NZU32, NZUsize};
use parity_scale_codec::Encode as _;
use tao_node::app::{Chain, ChainConfig};
use tao_node::block::{Block, MAX_BLOCK_TXS};
use tao_node::engine::{self, Channels, EngineConfig};
use tao_node::gossip::{self, MAX_BATCH_TXS};
use tao_node::service::GOSSIP_CHANNEL;
use tao_node::storage::RedbStore;
use tao_primitives::{AccountId, Hash256};
use tao_state::spec::ChainSpec;
use tao_types::tx::{Call, Mortality, SignedTx, UnsignedTx};

mod sim;
use sim::{runtime, seeds};

const VALIDATORS: usize = 4;
/// The Byzantine validator's index (not validator 0, whose key the genesis block records).
const BYZANTINE: usize = 3;
const TARGET_HEIGHT: u64 = 20;
const NAMESPACE: &[u8] = b"tao-sim-byzantine";
const QUOTA: Quota = Quota::per_second(NZU32!(10_000));
const BLOCK_TIME_MS: u64 = 250;
/// Honest transfers: `//Alice` to `//Bob`, nonces 0..TRANSFERS.
const TRANSFERS: u64 = 10;

fn keypair(uri: &str) -> tao_keys::Keypair {
    tao_keys::Keypair::from_uri(uri).expect("dev key")
}

fn account(uri: &str) -> AccountId {
    AccountId(keypair(uri).public().to_bytes())
}

fn genesis_hash() -> Hash256 {
    ChainSpec::local().genesis().expect("genesis").genesis_hash
}

fn transfer(nonce: u64) -> SignedTx {
    let tx = UnsignedTx {
        signer: account("//Alice"),
        nonce,
        mortality: Mortality {
            birth: 0,
            period: 4_096,
        },
        call: Call::Transfer {
            dest: account("//Bob"),
            amount_rao: 1_000_000 + nonce,
        },
    };
    let signature = keypair("//Alice")
        .sign(&tx.signing_payload(&genesis_hash()))
        .to_bytes();
    SignedTx { tx, signature }
}

/// The honest transfers, made once per process (sr25519 signatures are randomized, and a
/// seed must replay the same bytes).
fn transfers() -> &'static [SignedTx] {
    static TXS: OnceLock<Vec<SignedTx>> = OnceLock::new();
    TXS.get_or_init(|| (0..TRANSFERS).map(transfer).collect())
}

/// `//Charlie`'s transfer with nonce `nonce`, its signature broken (by `//Dave`'s key).
fn forged(nonce: u64) -> SignedTx {
    let tx = UnsignedTx {
        signer: account("//Charlie"),
        nonce,
        mortality: Mortality {
            birth: 0,
            period: 4_096,
        },
        call: Call::Transfer {
            dest: account("//Dave"),
            amount_rao: 7,
        },
    };
    let signature = keypair("//Dave")
        .sign(&tx.signing_payload(&genesis_hash()))
        .to_bytes();
    SignedTx { tx, signature }
}

type Oracle = simulated::Oracle<ed25519::PublicKey, deterministic::Context>;

async fn network(context: &deterministic::Context) -> Oracle {
    let publics: Vec<ed25519::PublicKey> = sim::keys(VALIDATORS)
        .iter()
        .map(|k| k.public_key())
        .collect();
    let (network, oracle) = Network::new_with_peers(
        context.child("network"),
        simulated::Config {
            max_size: 8 * 1024 * 1024,
            max_peers_per_set: NZUsize!(VALIDATORS),
            disconnect_on_block: true,
            tracked_peer_sets: NZUsize!(1),
        },
        publics.clone(),
    )
    .await;
    network.start();
    let link = Link {
        latency: Duration::from_millis(20),
        jitter: Duration::from_millis(5),
        success_rate: commonware_utils::probability!(1.0),
    };
    for a in &publics {
        for b in publics.iter().filter(|b| *b != a) {
            oracle
                .add_link(a.clone(), b.clone(), link.clone())
                .await
                .expect("link");
        }
    }
    oracle
}

fn open_chain() -> Chain<RedbStore> {
    Chain::open(
        RedbStore::in_memory().expect("redb"),
        &ChainSpec::local(),
        ed25519::PrivateKey::from_seed(0).public_key(),
        ChainConfig {
            block_time_ms: BLOCK_TIME_MS,
            ..ChainConfig::default()
        },
    )
    .expect("genesis")
}

/// What the Byzantine validator does.
#[derive(Clone, Copy, Debug)]
enum Byzantine {
    /// Proposes forged blocks, a different forgery each height ([`forge_by_height`]).
    Proposer,
    /// Runs honest consensus and floods the transaction gossip channel ([`flood`]).
    GossipFlooder,
}

/// The Byzantine proposer's forgery ([`sim::Forging`]), by height: a transaction with an
/// invalid signature, a timestamp an hour ahead, one transaction more than a block may hold,
/// or a wrong state root. Header fields stay self-consistent (digest, transaction root): only
/// checking the contents can catch them.
fn forge_by_height(b: &Block) -> Block {
    let (mut timestamp_ms, mut state_root, mut txs) = (b.timestamp_ms, b.state_root, b.txs.clone());
    match b.height % 4 {
        0 => txs.push(forged(0)),
        1 => timestamp_ms = timestamp_ms.saturating_add(3_600_000),
        2 => txs = vec![transfers()[0].clone(); MAX_BLOCK_TXS + 1],
        _ => state_root = Hash256([0xbb; 32]),
    }
    Block::new(
        b.parent,
        b.height,
        timestamp_ms,
        b.proposer.clone(),
        b.author,
        state_root,
        txs,
    )
}

/// Transactions with invalid signatures per flood batch. Each costs a receiver one signature
/// check: the flood here tests what is admitted, not how much a receiver can check (that is
/// the per-peer gossip budget's job), and stays small enough for a debug build.
const FORGED_PER_BATCH: u64 = 16;

/// Sends, every 200 ms of simulated time, to every validator: random garbage, a batch of
/// transactions with invalid signatures, and a batch one transaction longer than
/// [`MAX_BATCH_TXS`]. Until the run ends.
async fn flood(
    context: deterministic::Context,
    mut sender: impl commonware_p2p::Sender<PublicKey = ed25519::PublicKey>,
    seed: u64,
) {
    let forged_batch: Vec<Vec<u8>> = (0..FORGED_PER_BATCH)
        .map(|nonce| forged(nonce).encode())
        .collect();
    let forged_batch = forged_batch.encode();
    let too_long = vec![transfers()[0].encode(); MAX_BATCH_TXS + 1].encode();
    let mut state = seed | 1;
    loop {
        // xorshift: garbage of a length and content that vary with the seed.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let len = usize::try_from(state % 65_536).unwrap_or(0);
        let garbage: Vec<u8> = (0..len)
            .map(|i| (state >> (i % 8 * 8)) as u8 ^ i as u8)
            .collect();
        for message in [garbage, forged_batch.clone(), too_long.clone()] {
            let _ = sender.send(Recipients::All, IoBuf::from(message), false);
        }
        context.sleep(Duration::from_millis(200)).await;
    }
}

async fn start_validator(
    context: &deterministic::Context,
    oracle: &Oracle,
    index: usize,
    chain: &Chain<RedbStore>,
    byzantine: Option<Byzantine>,
    seed: u64,
) {
    let key = sim::keys(VALIDATORS)[index].clone();
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
    match byzantine {
        Some(Byzantine::GossipFlooder) => {
            let sender = transactions.0;
            context
                .child("flood")
                .spawn(move |context| flood(context, sender, seed));
        }
        _ => gossip::start(context.child("tao"), chain, transactions),
    }
    let config = EngineConfig::for_block_time(
        NAMESPACE,
        &format!("validator-{me}"),
        Duration::from_millis(BLOCK_TIME_MS),
    );
    let genesis = chain.genesis();
    let started = match byzantine {
        Some(Byzantine::Proposer) => {
            engine::start(
                context,
                &config,
                key,
                sim::participants(VALIDATORS),
                genesis,
                sim::Forging {
                    chain: chain.clone(),
                    forge: forge_by_height,
                },
                oracle.manager(),
                control,
                channels,
            )
            .await
        }
        _ => {
            engine::start(
                context,
                &config,
                key,
                sim::participants(VALIDATORS),
                genesis,
                chain.clone(),
                oracle.manager(),
                control,
                channels,
            )
            .await
        }
    };
    started.expect("validator starts");
}

/// Runs the network with validator [`BYZANTINE`] doing `byzantine`, submits the honest
/// transfers to validator 0 only (gossip must carry them), and checks the honest validators.
fn run(seed: u64, byzantine: Byzantine) {
    runtime(seed).start(|context| async move {
        let oracle = network(&context).await;
        let chains: Vec<Chain<RedbStore>> = (0..VALIDATORS).map(|_| open_chain()).collect();
        for (index, chain) in chains.iter().enumerate() {
            let role = (index == BYZANTINE).then_some(byzantine);
            start_validator(&context, &oracle, index, chain, role, seed).await;
        }
        let honest = chains.get(..BYZANTINE).expect("honest validators");
        for tx in transfers() {
            honest[0].submit(tx.clone()).expect("valid transfer");
            context.sleep(Duration::from_millis(100)).await;
        }
        let start = context.current();
        let done = |chain: &Chain<RedbStore>| {
            let (height, _) = chain.committed();
            let nonce =
                chain.read(|s| tao_state::read::account(s, &account("//Alice")).map(|a| a.nonce));
            height >= TARGET_HEIGHT && nonce == Ok(TRANSFERS)
        };
        while !honest.iter().all(done) {
            let elapsed = context.current().duration_since(start).unwrap_or_default();
            assert!(
                elapsed < Duration::from_secs(120),
                "seed {seed} ({byzantine:?}): honest validators stalled at {:?}",
                honest.iter().map(|c| c.committed().0).collect::<Vec<_>>()
            );
            context.sleep(Duration::from_millis(250)).await;
        }
        check_honest(seed, byzantine, honest);
    });
}

fn check_honest(seed: u64, byzantine: Byzantine, honest: &[Chain<RedbStore>]) {
    let liar = sim::keys(VALIDATORS)[BYZANTINE].public_key();
    let mut by_height = std::collections::BTreeMap::new();
    for (node, chain) in honest.iter().enumerate() {
        for (index, block) in chain.finalized().iter().enumerate() {
            assert_eq!(
                block.height,
                index as u64 + 1,
                "seed {seed}: node {node} order"
            );
            let seen = by_height
                .entry(block.height)
                .or_insert((block.digest, block.state_root));
            assert_eq!(
                *seen,
                (block.digest, block.state_root),
                "seed {seed} ({byzantine:?}): node {node} diverged at {}",
                block.height
            );
            if matches!(byzantine, Byzantine::Proposer) {
                assert!(
                    block.proposer != liar,
                    "seed {seed}: a forged block was finalized at {}",
                    block.height
                );
            }
        }
        assert_eq!(
            chain.read(tao_state::invariants::check),
            Ok(()),
            "seed {seed}: node {node} invariants"
        );
        // Nothing forged was admitted; every honest transfer was included.
        assert_eq!(chain.mempool_len(), 0, "seed {seed}: node {node} mempool");
        let charlie = chain.read(|s| tao_state::read::account(s, &account("//Charlie")));
        assert_eq!(
            charlie.map(|a| a.nonce),
            Ok(0),
            "seed {seed}: a forged tx ran"
        );
    }
}

#[test]
fn a_proposer_of_invalid_blocks_cannot_stop_or_fool_the_honest_ones() {
    for seed in seeds(&[1, 2]) {
        run(seed, Byzantine::Proposer);
    }
}

#[test]
fn a_gossip_flood_of_garbage_and_forged_transactions_changes_nothing() {
    for seed in seeds(&[1, 2]) {
        run(seed, Byzantine::GossipFlooder);
    }
}
