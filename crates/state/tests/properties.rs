//! Property tests of the state machine:
//!
//! 1. random transaction sequences never panic and keep the invariants after every block;
//! 2. execution is deterministic: a replay, and a verifier's `execute_block`, reproduce the
//!    proposer's outcome exactly;
//! 3. a failed call changes nothing but its fee;
//! 4. the state root is independent of write order and of how writes are split into blocks,
//!    and equals a root computed from scratch;
//! 5. decoding untrusted transaction bytes never panics and is canonical.
//!
//! Case counts are modest so that the suite stays fast in debug builds; set `PROPTEST_CASES`
//! to run more.

mod common;

use std::collections::BTreeMap;
use std::sync::OnceLock;

use common::{TAO, id, key};
use parity_scale_codec::{Decode, Encode};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use tao_primitives::{AccountId, Hash256, NetUid};
use tao_state::block::{BlockBuilder, BlockOutcome, Header, execute_block, validate_transaction};
use tao_state::overlay::{Item, Overlay, storage_key};
use tao_state::root::{LATTICE_KEY, Lattice};
use tao_state::schema::{AccountInfo, Accounts};
use tao_state::spec::{ChainSpec, genesis_store};
use tao_state::store::{MemoryStore, Store};
use tao_types::error::InvalidTx;
use tao_types::events::Event;
use tao_types::tx::{Call, HyperparamValue, Mortality, PriceLimit, SignedTx, UnsignedTx};
use tao_types::weights::commit_hash;

// ---------------------------------------------------------------------------------------------
// Accounts and shared helpers
// ---------------------------------------------------------------------------------------------

/// Coldkeys: the six funded dev accounts (Alice is sudo and owns subnet 1, Bob owns subnet 2)
/// and two fresh derived accounts with no balance.
static COLD: [&str; 8] = [
    "//Alice",
    "//Bob",
    "//Charlie",
    "//Dave",
    "//Eve",
    "//Ferdie",
    "//Alice//x1",
    "//Bob//x2",
];

/// Hotkeys: the two genesis owner hotkeys, unowned ones, and a coldkey used as a hotkey.
static HOT: [&str; 7] = [
    "//Alice//hot",
    "//Bob//hot",
    "//Charlie//hot",
    "//Dave//hot",
    "//Eve//m1",
    "//Charlie//x3",
    "//Dave",
];

/// Every key above.
static ALL: [&str; 15] = [
    "//Alice",
    "//Bob",
    "//Charlie",
    "//Dave",
    "//Eve",
    "//Ferdie",
    "//Alice//x1",
    "//Bob//x2",
    "//Alice//hot",
    "//Bob//hot",
    "//Charlie//hot",
    "//Dave//hot",
    "//Eve//m1",
    "//Charlie//x3",
    "//Dave",
];

/// The local genesis, built once (it derives every dev key).
fn genesis() -> (MemoryStore, Hash256) {
    static GENESIS: OnceLock<(MemoryStore, Hash256)> = OnceLock::new();
    GENESIS
        .get_or_init(|| {
            let (store, genesis) = genesis_store(&ChainSpec::local()).expect("genesis");
            (store, genesis.genesis_hash)
        })
        .clone()
}

/// Genesis plus one block with stake (Charlie and Dave on subnets 1 and 2, Dave also on
/// root) and more neurons (Charlie//hot and Dave//hot on subnet 1, Dave//hot and Eve//m1 on
/// subnet 2), epochs every few blocks on subnet 1 and commit-reveal on subnet 2, so that random calls find positions to remove and move, and failing calls can
/// fail after partial writes (withdrawn stake, swaps, swap fees).
fn seeded() -> (MemoryStore, Hash256, u64) {
    static SEEDED: OnceLock<MemoryStore> = OnceLock::new();
    let (genesis, genesis_hash) = genesis();
    let store = SEEDED.get_or_init(|| {
        let mortality = Mortality {
            birth: 1,
            period: 8,
        };
        let stake = |hotkey: &str, netuid: u16, tao: u64| Call::AddStake {
            hotkey: id(hotkey),
            netuid: NetUid(netuid),
            amount_rao: tao * TAO,
            limit: None,
        };
        let register = |netuid: u16, hotkey: &str| Call::BurnedRegister {
            netuid: NetUid(netuid),
            hotkey: id(hotkey),
            limit_rao: u64::MAX,
        };
        let calls = [
            ("//Charlie", stake("//Alice//hot", 1, 100)),
            ("//Charlie", stake("//Bob//hot", 2, 100)),
            ("//Charlie", register(1, "//Charlie//hot")),
            ("//Dave", stake("//Alice//hot", 1, 50)),
            ("//Dave", stake("//Alice//hot", 0, 50)),
            ("//Dave", register(1, "//Dave//hot")),
            ("//Dave", register(2, "//Dave//hot")),
            ("//Eve", register(2, "//Eve//m1")),
            (
                "//Alice",
                Call::SetHyperparam {
                    netuid: NetUid(2),
                    value: HyperparamValue::CommitRevealEnabled(true),
                },
            ),
            (
                "//Alice",
                Call::SetHyperparam {
                    netuid: NetUid(1),
                    value: HyperparamValue::Tempo(2),
                },
            ),
        ];
        let mut nonces: BTreeMap<&str, u64> = BTreeMap::new();
        let txs: Vec<SignedTx> = calls
            .into_iter()
            .map(|(signer, call)| {
                let nonce = nonces.entry(signer).or_default();
                *nonce += 1;
                sign(signer, call, *nonce - 1, mortality, &genesis_hash)
            })
            .collect();
        let header = Header {
            height: 1,
            timestamp_ms: 1_000,
            author: Some(id("//Ferdie")),
        };
        let outcome = execute_block(&genesis, &header, &txs).expect("setup block");
        assert!(
            outcome.receipts.iter().all(|r| r.result.is_ok()),
            "{:?}",
            outcome.receipts
        );
        let mut store = genesis;
        store.apply(&outcome.changes);
        tao_state::invariants::check(&store).expect("invariants after the setup block");
        store
    });
    (store.clone(), genesis_hash, 1)
}

/// Where a case starts: genesis (height 0) or the seeded state (height 1).
fn start(seeded_state: bool) -> (MemoryStore, Hash256, u64) {
    if seeded_state {
        seeded()
    } else {
        let (store, genesis_hash) = genesis();
        (store, genesis_hash, 0)
    }
}

fn account(store: &dyn Store, who: &AccountId) -> AccountInfo {
    Overlay::new(store)
        .get::<Accounts>(who)
        .expect("account decodes")
        .unwrap_or_default()
}

fn sign(
    uri: &str,
    call: Call,
    nonce: u64,
    mortality: Mortality,
    genesis_hash: &Hash256,
) -> SignedTx {
    let pair = key(uri);
    let tx = UnsignedTx {
        signer: AccountId(pair.public().to_bytes()),
        nonce,
        mortality,
        call,
    };
    let signature = pair.sign(&tx.signing_payload(genesis_hash)).to_bytes();
    SignedTx { tx, signature }
}

/// The state root recomputed from every hashed entry of `store`.
fn scratch_root(store: &MemoryStore) -> Hash256 {
    let mut lattice = Lattice::default();
    for (key, value) in store.scan_prefix(&[]) {
        if key.first() != Some(&0xff) {
            lattice.insert(&key, &value);
        }
    }
    lattice.root()
}

fn fail(what: impl std::fmt::Debug) -> TestCaseError {
    TestCaseError::fail(format!("{what:?}"))
}

/// `ProptestConfig::with_cases(n)` unless `PROPTEST_CASES` says otherwise.
fn cases(default: u32) -> ProptestConfig {
    let cases = std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|text| text.parse().ok())
        .unwrap_or(default);
    ProptestConfig {
        // The dev keys are cached per thread; forking or threads would derive them again.
        failure_persistence: None,
        ..ProptestConfig::with_cases(cases)
    }
}

// ---------------------------------------------------------------------------------------------
// Strategies
// ---------------------------------------------------------------------------------------------

/// Mostly funded coldkeys.
fn cold() -> BoxedStrategy<&'static str> {
    prop_oneof![
        6 => prop::sample::select(&COLD[..6]),
        1 => prop::sample::select(&COLD[6..]),
    ]
    .boxed()
}

/// Mostly the hotkeys registered at genesis (they exist, so their calls get further).
fn hot() -> BoxedStrategy<&'static str> {
    prop_oneof![
        1 => prop::sample::select(&HOT[..2]),
        1 => prop::sample::select(&HOT[..]),
    ]
    .boxed()
}

fn anyone() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&ALL[..])
}

fn hot_id() -> BoxedStrategy<AccountId> {
    prop_oneof![4 => hot(), 1 => cold()].prop_map(id).boxed()
}

/// Stakers: mostly two coldkeys, so that their positions are hit again.
fn staker() -> BoxedStrategy<&'static str> {
    prop_oneof![3 => prop::sample::select(&COLD[2..4]), 1 => cold()].boxed()
}

/// Validators staked to: mostly the two registered genesis hotkeys.
fn validator() -> BoxedStrategy<AccountId> {
    prop_oneof![3 => prop::sample::select(&HOT[..2]).prop_map(id), 1 => hot_id()].boxed()
}

/// Subnets 0 (root), 1 and 2 (genesis) and 3, 4 (if someone registers them).
fn netuid() -> BoxedStrategy<NetUid> {
    prop_oneof![1 => Just(0u16), 6 => 1u16..3, 2 => 3u16..5]
        .prop_map(NetUid)
        .boxed()
}

/// Rao or alpha amounts: zero, dust, ordinary, around and above the 10⁶ TAO balances, max.
fn amount() -> BoxedStrategy<u64> {
    prop_oneof![
        1 => Just(0u64),
        1 => 1u64..10_000,
        2 => 10_000u64..10 * TAO,
        3 => 10 * TAO..2_000 * TAO,
        1 => (1u64 << 40)..(1u64 << 52),
        1 => Just(u64::MAX),
    ]
    .boxed()
}

fn price_limit() -> BoxedStrategy<Option<PriceLimit>> {
    prop::option::weighted(
        0.3,
        (
            prop_oneof![Just(0u64), 1u64..TAO, TAO..100 * TAO, Just(u64::MAX)],
            any::<bool>(),
        )
            .prop_map(|(price_rao, allow_partial)| PriceLimit {
                price_rao,
                allow_partial,
            }),
    )
    .boxed()
}

fn hyperparam() -> BoxedStrategy<HyperparamValue> {
    use HyperparamValue as V;
    let small = || prop_oneof![3 => 0u16..8, 1 => any::<u16>()];
    let first = prop_oneof![
        prop_oneof![0u16..30, any::<u16>()].prop_map(V::Tempo),
        any::<u16>().prop_map(V::Kappa),
        any::<u16>().prop_map(V::BondsPenalty),
        prop_oneof![0u64..1_100_000, any::<u64>()].prop_map(V::BondsMovingAverage),
        any::<bool>().prop_map(V::Yuma3),
        any::<bool>().prop_map(V::LiquidAlpha),
        (any::<u16>(), any::<u16>()).prop_map(|(low, high)| V::AlphaValues(low, high)),
        any::<i16>().prop_map(V::AlphaSigmoidSteepness),
        small().prop_map(V::MaxAllowedUids),
        small().prop_map(V::MaxAllowedValidators),
        small().prop_map(V::MinAllowedWeights),
        any::<u16>().prop_map(V::MaxWeightLimit),
        small().prop_map(V::ImmunityPeriod),
        any::<u16>().prop_map(V::ActivityCutoff),
        (0u64..4).prop_map(V::WeightsRateLimit),
    ];
    let second = prop_oneof![
        (0u64..3).prop_map(V::WeightsVersionKey),
        any::<bool>().prop_map(V::CommitRevealEnabled),
        prop_oneof![0u64..3, any::<u64>()].prop_map(V::RevealPeriodEpochs),
        amount().prop_map(V::MinBurn),
        amount().prop_map(V::MaxBurn),
        any::<u16>().prop_map(V::BurnHalfLife),
        prop_oneof![0u64..200_000, any::<u64>()].prop_map(V::BurnIncreaseMultMilli),
        (0u64..4).prop_map(V::ServingRateLimit),
        any::<bool>().prop_map(V::RegistrationAllowed),
        any::<bool>().prop_map(V::TransfersEnabled),
        small().prop_map(V::ImmuneOwnerUids),
        small().prop_map(V::MinNonImmuneUids),
        prop_oneof![0u16..12_000, any::<u16>()].prop_map(V::SwapFeeRate),
        amount().prop_map(V::MinValidatorStake),
        amount().prop_map(V::QueryPrice),
    ];
    prop_oneof![first, second].boxed()
}

/// A weight row from a small space, so that reveals sometimes match earlier commits.
#[derive(Clone, Debug)]
struct Row {
    uids: Vec<u16>,
    values: Vec<u16>,
    salt: Vec<u16>,
    version_key: u64,
}

fn row() -> BoxedStrategy<Row> {
    (1usize..3)
        .prop_flat_map(|len| {
            (
                prop::collection::vec(0u16..3, len),
                prop::collection::vec(0u16..3, len),
                prop::collection::vec(0u16..2, 1..2),
                0u64..2,
            )
        })
        .prop_map(|(uids, values, salt, version_key)| Row {
            uids,
            values,
            salt,
            version_key,
        })
        .boxed()
}

/// Uids in and out of range, with duplicates; values of any length.
fn weight_vectors() -> BoxedStrategy<(Vec<u16>, Vec<u16>)> {
    prop_oneof![4 => 0usize..4, 1 => 0usize..9]
        .prop_flat_map(|len| {
            let uid = prop_oneof![8 => 0u16..4, 1 => any::<u16>()];
            let values = prop_oneof![
                4 => prop::collection::vec(any::<u16>(), len),
                1 => prop::collection::vec(any::<u16>(), 0..7),
            ];
            (prop::collection::vec(uid, len), values)
        })
        .boxed()
}

/// An address, port and type: mostly valid IPv4, some IPv6, some garbage.
fn endpoint() -> BoxedStrategy<(u128, u16, u8)> {
    prop_oneof![
        3 => (1u128..u128::from(u32::MAX), 1u16..=u16::MAX).prop_map(|(ip, port)| (ip, port, 4)),
        1 => (any::<u128>(), any::<u16>()).prop_map(|(ip, port)| (ip, port, 6)),
        1 => (
            prop_oneof![Just(0u128), Just(0x7f00_0001), any::<u128>()],
            prop_oneof![Just(0u16), any::<u16>()],
            any::<u8>()
        ),
    ]
    .boxed()
}

/// A signer and a call.
fn signed_call() -> BoxedStrategy<(&'static str, Call)> {
    let money = prop_oneof![
        3 => (cold(), anyone(), amount()).prop_map(|(s, dest, amount_rao)| (
            s,
            Call::Transfer {
                dest: id(dest),
                amount_rao
            }
        )),
        1 => (cold(), anyone()).prop_map(|(s, dest)| (s, Call::TransferAll { dest: id(dest) })),
        1 => (cold(), hot_id()).prop_map(|(s, hotkey)| (
            s,
            Call::RegisterNetwork {
                hotkey,
                identity: None
            }
        )),
        1 => (cold(), netuid()).prop_map(|(s, netuid)| (s, Call::StartCall { netuid })),
        2 => (cold(), netuid(), hyperparam())
            .prop_map(|(s, netuid, value)| (s, Call::SetHyperparam { netuid, value })),
        1 => (prop_oneof![3 => Just("//Alice"), 1 => cold()], netuid())
            .prop_map(|(s, netuid)| (s, Call::SudoDissolveNetwork { netuid })),
        3 => (
            cold(),
            netuid(),
            prop::sample::select(&HOT[..]).prop_map(id),
            prop_oneof![Just(u64::MAX), amount()]
        )
            .prop_map(|(s, netuid, hotkey, limit_rao)| (
                s,
                Call::BurnedRegister {
                    netuid,
                    hotkey,
                    limit_rao
                }
            )),
    ];
    let serving = prop_oneof![
        (hot(), netuid(), any::<u32>(), endpoint(), any::<u8>(),).prop_map(
            |(s, netuid, version, (ip, port, ip_type), protocol)| (
                s,
                Call::ServeAxon {
                    netuid,
                    version,
                    ip,
                    port,
                    ip_type,
                    protocol
                }
            )
        ),
        (hot(), netuid(), endpoint()).prop_map(|(s, netuid, (ip, port, ip_type))| (
            s,
            Call::ServePrometheus {
                netuid,
                version: 1,
                ip,
                port,
                ip_type
            }
        )),
    ];
    let staking = prop_oneof![
        3 => (staker(), validator(), netuid(), amount(), price_limit()).prop_map(
            |(s, hotkey, netuid, amount_rao, limit)| (
                s,
                Call::AddStake {
                    hotkey,
                    netuid,
                    amount_rao,
                    limit
                }
            )
        ),
        2 => (staker(), validator(), netuid(), amount(), price_limit()).prop_map(
            |(s, hotkey, netuid, alpha, limit)| (
                s,
                Call::RemoveStake {
                    hotkey,
                    netuid,
                    alpha,
                    limit
                }
            )
        ),
        1 => (staker(), validator(), validator(), netuid(), netuid(), amount()).prop_map(
            |(s, origin_hotkey, dest_hotkey, origin_netuid, dest_netuid, alpha)| (
                s,
                Call::MoveStake {
                    origin_hotkey,
                    dest_hotkey,
                    origin_netuid,
                    dest_netuid,
                    alpha
                }
            )
        ),
        1 => (staker(), validator(), netuid(), netuid(), amount(), price_limit()).prop_map(
            |(s, hotkey, origin_netuid, dest_netuid, alpha, limit)| (
                s,
                Call::SwapStake {
                    hotkey,
                    origin_netuid,
                    dest_netuid,
                    alpha,
                    limit
                }
            )
        ),
        1 => (staker(), anyone(), validator(), netuid(), netuid(), amount()).prop_map(
            |(s, dest, hotkey, origin_netuid, dest_netuid, alpha)| (
                s,
                Call::TransferStake {
                    dest_coldkey: id(dest),
                    hotkey,
                    origin_netuid,
                    dest_netuid,
                    alpha
                }
            )
        ),
        1 => (cold(), hot_id()).prop_map(|(s, hotkey)| (s, Call::UnstakeAll { hotkey })),
        1 => (staker(), validator(), any::<u16>())
            .prop_map(|(s, hotkey, take)| (s, Call::IncreaseTake { hotkey, take })),
        1 => (staker(), validator(), prop_oneof![0u16..12_000, any::<u16>()])
            .prop_map(|(s, hotkey, take)| (s, Call::DecreaseTake { hotkey, take })),
    ];
    let weights = prop_oneof![
        (hot(), netuid(), weight_vectors(), 0u64..3).prop_map(
            |(s, netuid, (uids, values), version_key)| (
                s,
                Call::SetWeights {
                    netuid,
                    uids,
                    values,
                    version_key
                }
            )
        ),
        (hot(), netuid(), row(), any::<bool>()).prop_map(|(s, netuid, row, garbage)| {
            let hash = if garbage {
                Hash256([7; 32])
            } else {
                commit_hash(
                    &id(s),
                    netuid,
                    &row.uids,
                    &row.values,
                    &row.salt,
                    row.version_key,
                )
            };
            (s, Call::CommitWeights { netuid, hash })
        }),
        (hot(), netuid(), row()).prop_map(|(s, netuid, row)| (
            s,
            Call::RevealWeights {
                netuid,
                uids: row.uids,
                values: row.values,
                salt: row.salt,
                version_key: row.version_key
            }
        )),
    ];
    prop_oneof![
        4 => money,
        1 => serving,
        5 => staking,
        2 => weights,
    ]
    .boxed()
}

/// Ways to make a transaction invalid.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tamper {
    None,
    /// Flip one bit of the signature.
    BadSignature(usize, u8),
    /// Reuse the previous nonce (only when there is one; otherwise a future nonce).
    StaleNonce,
    /// Skip nonces.
    FutureNonce(u64),
    /// Born after the block.
    FutureBirth,
    /// A zero mortality period.
    ZeroPeriod,
}

fn tamper() -> BoxedStrategy<Tamper> {
    prop_oneof![
        30 => Just(Tamper::None),
        1 => (0usize..64, 0u32..8).prop_map(|(i, bit)| Tamper::BadSignature(i, 1 << bit)),
        1 => Just(Tamper::StaleNonce),
        1 => (1u64..3).prop_map(Tamper::FutureNonce),
        1 => Just(Tamper::FutureBirth),
        1 => Just(Tamper::ZeroPeriod),
    ]
    .boxed()
}

#[derive(Clone, Debug)]
struct Action {
    signer: &'static str,
    call: Call,
    /// For stake removals and moves: replace the amount by this many thousandths of what
    /// the signer holds at the start of the block.
    fraction: Option<u64>,
    tamper: Tamper,
}

#[derive(Clone, Debug)]
struct BlockSpec {
    author: Option<&'static str>,
    gap_ms: u64,
    actions: Vec<Action>,
}

fn block_spec() -> BoxedStrategy<BlockSpec> {
    let action = (
        signed_call(),
        prop::option::weighted(0.6, 1u64..=1_000),
        tamper(),
    )
        .prop_map(|((signer, call), fraction, tamper)| Action {
            signer,
            call,
            fraction,
            tamper,
        });
    (
        prop_oneof![4 => Just(Some("//Ferdie")), 2 => cold().prop_map(Some), 1 => Just(None)],
        prop_oneof![Just(0u64), Just(1_000u64), 1u64..100_000],
        prop::collection::vec(action, 0..=8),
    )
        .prop_map(|(author, gap_ms, actions)| BlockSpec {
            author,
            gap_ms,
            actions,
        })
        .boxed()
}

// ---------------------------------------------------------------------------------------------
// Playing and replaying blocks
// ---------------------------------------------------------------------------------------------

/// One block as the proposer built it.
#[derive(Clone, Debug)]
struct Played {
    header: Header,
    /// Every transaction offered, in order.
    attempted: Vec<SignedTx>,
    /// Which of them the builder accepted.
    included: Vec<bool>,
    outcome: BlockOutcome,
}

impl Played {
    fn included_txs(&self) -> Vec<SignedTx> {
        self.attempted
            .iter()
            .zip(&self.included)
            .filter(|(_, ok)| **ok)
            .map(|(tx, _)| tx.clone())
            .collect()
    }
}

/// Builds the transaction of `action` for a block at `height`, given the signer's next nonce.
fn build_tx(
    store: &dyn Store,
    action: &Action,
    next_nonce: u64,
    height: u64,
    genesis_hash: &Hash256,
) -> SignedTx {
    let mut call = action.call.clone();
    if let Some(fraction) = action.fraction {
        let coldkey = id(action.signer);
        let state = Overlay::new(store);
        let held = |netuid: &NetUid, hotkey: &AccountId| {
            tao_state::stake::alpha_of(&state, *netuid, hotkey, &coldkey).unwrap_or(0)
        };
        let part = |held: u64| (u128::from(held) * u128::from(fraction) / 1_000) as u64;
        match &mut call {
            Call::RemoveStake {
                hotkey,
                netuid,
                alpha,
                ..
            }
            | Call::SwapStake {
                hotkey,
                origin_netuid: netuid,
                alpha,
                ..
            }
            | Call::TransferStake {
                hotkey,
                origin_netuid: netuid,
                alpha,
                ..
            } => *alpha = part(held(netuid, hotkey)),
            Call::MoveStake {
                origin_hotkey,
                origin_netuid,
                alpha,
                ..
            } => *alpha = part(held(origin_netuid, origin_hotkey)),
            _ => {}
        }
    }
    let mut nonce = next_nonce;
    let mut mortality = Mortality {
        birth: height,
        period: 64,
    };
    match action.tamper {
        Tamper::StaleNonce => nonce = next_nonce.checked_sub(1).unwrap_or(1),
        Tamper::FutureNonce(skip) => nonce = next_nonce + skip,
        Tamper::FutureBirth => mortality.birth = height + 1,
        Tamper::ZeroPeriod => mortality.period = 0,
        Tamper::None | Tamper::BadSignature(..) => {}
    }
    let mut tx = sign(action.signer, call, nonce, mortality, genesis_hash);
    if let Tamper::BadSignature(index, mask) = action.tamper {
        tx.signature[index] ^= mask;
    }
    tx
}

/// Checks a block against the state after it and what a verifier computes.
fn check_block(
    parent: &MemoryStore,
    played: &Played,
    after: &MemoryStore,
) -> Result<(), TestCaseError> {
    let height = played.header.height;
    let included = played.included_txs();
    prop_assert_eq!(played.outcome.receipts.len(), included.len());
    for (receipt, tx) in played.outcome.receipts.iter().zip(&included) {
        prop_assert_eq!(receipt.signer, tx.tx.signer);
        prop_assert_eq!(receipt.tx_hash, tx.hash());
        if receipt.result.is_err() {
            prop_assert!(
                receipt
                    .events
                    .iter()
                    .all(|e| matches!(e, Event::FeePaid { .. })),
                "a failed call emitted events: {:?}",
                receipt
            );
        }
    }
    let verified = execute_block(parent, &played.header, &included).map_err(fail)?;
    prop_assert_eq!(
        &verified.changes,
        &played.outcome.changes,
        "block {}",
        height
    );
    prop_assert_eq!(verified.state_root, played.outcome.state_root);
    prop_assert_eq!(&verified.receipts, &played.outcome.receipts);
    prop_assert_eq!(&verified.block_events, &played.outcome.block_events);
    if let Err(broken) = tao_state::invariants::check(after) {
        return Err(TestCaseError::fail(format!(
            "invariant broken after block {height}: {broken}"
        )));
    }
    prop_assert_eq!(
        played.outcome.state_root,
        scratch_root(after),
        "incremental root differs from the root over the whole state after block {}",
        height
    );
    Ok(())
}

/// Plays `blocks` on a fresh genesis, building each block with a [`BlockBuilder`].
fn play(
    blocks: &[BlockSpec],
    seeded_state: bool,
) -> Result<(Vec<Played>, MemoryStore), TestCaseError> {
    let (mut store, genesis_hash, start_height) = start(seeded_state);
    let mut played = Vec::new();
    let mut timestamp_ms = start_height * 1_000;
    for (index, spec) in blocks.iter().enumerate() {
        let height = start_height + index as u64 + 1;
        timestamp_ms += spec.gap_ms;
        let header = Header {
            height,
            timestamp_ms,
            author: spec.author.map(id),
        };
        let mut attempted = Vec::new();
        let mut included = Vec::new();
        let outcome = {
            let mut builder = BlockBuilder::begin(&store, &header).map_err(fail)?;
            let mut nonces: BTreeMap<AccountId, u64> = BTreeMap::new();
            for action in &spec.actions {
                let signer = id(action.signer);
                let next = *nonces
                    .entry(signer)
                    .or_insert_with(|| account(&store, &signer).nonce);
                let tx = build_tx(&store, action, next, height, &genesis_hash);
                // What a mempool runs at submission must not panic either.
                let _ = validate_transaction(&store, &tx);
                let result = builder.apply(&tx).map(|_| ());
                match (&result, action.tamper) {
                    (Ok(()), Tamper::None) => {
                        nonces.insert(signer, next + 1);
                    }
                    (Ok(()), tamper) => {
                        return Err(TestCaseError::fail(format!(
                            "tampered transaction ({tamper:?}) accepted: {tx:?}"
                        )));
                    }
                    (Err(InvalidTx::FreeCallFailed(_)), _) if action.call.is_free() => {}
                    (Err(InvalidTx::CannotPayFee { .. }), _) => {}
                    (Err(_), tamper) if tamper != Tamper::None => {}
                    (Err(error), _) => {
                        return Err(TestCaseError::fail(format!(
                            "untampered transaction rejected with {error:?}: {tx:?}"
                        )));
                    }
                }
                included.push(result.is_ok());
                attempted.push(tx);
            }
            builder.finish().map_err(fail)?
        };
        let block = Played {
            header,
            attempted,
            included,
            outcome,
        };
        let parent = store.clone();
        store.apply(&block.outcome.changes);
        check_block(&parent, &block, &store)?;
        played.push(block);
    }
    Ok((played, store))
}

/// Replays exactly the offered transactions on a fresh genesis; everything must match.
fn replay(played: &[Played], seeded_state: bool) -> Result<MemoryStore, TestCaseError> {
    let (mut store, _, _) = start(seeded_state);
    for block in played {
        let outcome = {
            let mut builder = BlockBuilder::begin(&store, &block.header).map_err(fail)?;
            let mut included = Vec::new();
            for tx in &block.attempted {
                included.push(builder.apply(tx).is_ok());
            }
            prop_assert_eq!(&included, &block.included, "block {}", block.header.height);
            builder.finish().map_err(fail)?
        };
        prop_assert_eq!(&outcome, &block.outcome, "block {}", block.header.height);
        store.apply(&outcome.changes);
    }
    Ok(store)
}

proptest! {
    #![proptest_config(cases(128))]

    /// Properties 1 and 2: random blocks never panic, keep the invariants, and execute the
    /// same way when replayed and when verified.
    #[test]
    fn random_blocks_keep_invariants_and_replay_identically(
        blocks in prop::collection::vec(block_spec(), 1..=8),
        seeded_state in prop::bool::weighted(0.75),
    ) {
        let (played, store) = play(&blocks, seeded_state)?;
        let replayed = replay(&played, seeded_state)?;
        prop_assert!(replayed == store, "replay reached a different state");
    }
}

// ---------------------------------------------------------------------------------------------
// A failed call changes nothing but its fee
// ---------------------------------------------------------------------------------------------

/// Calls that always fail, for the signer they are paired with.
fn failing_call() -> BoxedStrategy<(&'static str, Call)> {
    let non_alice = prop::sample::select(vec!["//Bob", "//Charlie", "//Dave", "//Eve", "//Ferdie"]);
    let non_owner = prop::sample::select(vec!["//Charlie", "//Dave", "//Eve", "//Ferdie"]);
    let funded = prop::sample::select(&COLD[..6]);
    prop_oneof![
        // More than anyone holds.
        (funded.clone(), anyone(), (1u64 << 51)..=u64::MAX).prop_map(|(s, dest, amount_rao)| (
            s,
            Call::Transfer {
                dest: id(dest),
                amount_rao
            }
        )),
        // Below the existential deposit, to an account that does not exist.
        (
            funded.clone(),
            1u64..500,
            prop::sample::select(vec!["//Alice//x1", "//Bob//x2"])
        )
            .prop_map(|(s, amount_rao, dest)| (
                s,
                Call::Transfer {
                    dest: id(dest),
                    amount_rao
                }
            )),
        // Stake on a subnet that does not exist.
        (funded.clone(), hot_id(), 5u16..100, amount(), price_limit()).prop_map(
            |(s, hotkey, netuid, amount_rao, limit)| (
                s,
                Call::AddStake {
                    hotkey,
                    netuid: NetUid(netuid),
                    amount_rao,
                    limit
                }
            )
        ),
        // Take changes by someone who does not own the hotkey.
        (non_alice.clone(), any::<u16>(), any::<bool>()).prop_map(|(s, take, up)| {
            let hotkey = id("//Alice//hot");
            (
                s,
                if up {
                    Call::IncreaseTake { hotkey, take }
                } else {
                    Call::DecreaseTake { hotkey, take }
                },
            )
        }),
        // Unstaking dust leaves a position below the minimum: fails after the withdrawal.
        (1u64..100_000, prop::sample::select(vec![1u16, 2])).prop_map(|(alpha, netuid)| (
            "//Charlie",
            Call::RemoveStake {
                hotkey: id(if netuid == 1 {
                    "//Alice//hot"
                } else {
                    "//Bob//hot"
                }),
                netuid: NetUid(netuid),
                alpha,
                limit: None
            }
        )),
        // Moving dust: fails after the withdrawal (and, across subnets, after a sale).
        (1u64..100_000, any::<bool>()).prop_map(|(alpha, across)| (
            "//Charlie",
            Call::MoveStake {
                origin_hotkey: id("//Alice//hot"),
                dest_hotkey: id("//Bob//hot"),
                origin_netuid: NetUid(1),
                dest_netuid: NetUid(if across { 2 } else { 1 }),
                alpha
            }
        )),
        // Unstaking what one does not hold.
        (
            prop::sample::select(vec!["//Dave", "//Eve"]),
            hot_id(),
            netuid(),
            1u64..u64::MAX
        )
            .prop_map(|(s, hotkey, netuid, alpha)| (
                s,
                Call::RemoveStake {
                    hotkey,
                    netuid,
                    alpha,
                    limit: None
                }
            )),
        // A swap no price can satisfy.
        (1u64..50 * TAO).prop_map(|alpha| (
            "//Charlie",
            Call::SwapStake {
                hotkey: id("//Alice//hot"),
                origin_netuid: NetUid(1),
                dest_netuid: NetUid(2),
                alpha,
                limit: Some(PriceLimit {
                    price_rao: u64::MAX,
                    allow_partial: false
                })
            }
        )),
        // Owner and sudo calls by others.
        (
            non_owner.clone(),
            prop::sample::select(vec![1u16, 2]),
            hyperparam()
        )
            .prop_map(|(s, netuid, value)| (
                s,
                Call::SetHyperparam {
                    netuid: NetUid(netuid),
                    value
                }
            )),
        (non_alice.clone(), netuid())
            .prop_map(|(s, netuid)| (s, Call::SudoDissolveNetwork { netuid })),
        (non_owner.clone(), prop::sample::select(vec![1u16, 2])).prop_map(|(s, netuid)| (
            s,
            Call::StartCall {
                netuid: NetUid(netuid)
            }
        )),
        // Someone else's hotkey.
        non_owner.clone().prop_map(|s| (
            s,
            Call::RegisterNetwork {
                hotkey: id("//Alice//hot"),
                identity: None
            }
        )),
        (non_owner, prop::sample::select(vec![1u16, 2])).prop_map(|(s, netuid)| (
            s,
            Call::BurnedRegister {
                netuid: NetUid(netuid),
                hotkey: id("//Bob//hot"),
                limit_rao: u64::MAX
            }
        )),
    ]
    .boxed()
}

fn post_value(
    parent: &MemoryStore,
    writes: &BTreeMap<Vec<u8>, Option<Vec<u8>>>,
    key: &[u8],
) -> Option<Vec<u8>> {
    match writes.get(key) {
        Some(value) => value.clone(),
        None => parent.get(key),
    }
}

fn decode_account(bytes: Option<Vec<u8>>) -> AccountInfo {
    bytes.map_or_else(AccountInfo::default, |bytes| {
        AccountInfo::decode(&mut bytes.as_slice()).expect("account decodes")
    })
}

proptest! {
    #![proptest_config(cases(128))]

    /// Property 3: the block with one failing call differs from the empty block only in the
    /// signer's account (nonce + 1, balance − fee) and the author's balance (+ fee).
    #[test]
    fn a_failed_call_changes_nothing_but_its_fee(
        (signer, call) in failing_call(),
        author in prop::sample::select(&COLD[..6]),
        with_stake in any::<bool>(),
    ) {
        let (parent, genesis_hash, height) = start(with_stake);
        let header = Header {
            height: height + 1,
            timestamp_ms: (height + 1) * 1_000,
            author: Some(id(author)),
        };
        let signer_id = id(signer);
        let nonce = account(&parent, &signer_id).nonce;
        let mortality = Mortality { birth: header.height, period: 4 };
        let tx = sign(signer, call, nonce, mortality, &genesis_hash);
        let empty = execute_block(&parent, &header, &[]).map_err(fail)?;
        let one = execute_block(&parent, &header, std::slice::from_ref(&tx)).map_err(fail)?;
        let receipt = &one.receipts[0];
        prop_assert!(receipt.result.is_err(), "the call succeeded: {:?}", receipt);
        let fee = receipt.fee_rao;
        prop_assert!(fee > 0);

        let empty_writes: BTreeMap<_, _> = empty.changes.writes.iter().cloned().collect();
        let one_writes: BTreeMap<_, _> = one.changes.writes.iter().cloned().collect();
        let signer_key = storage_key::<Accounts>(&signer_id);
        let author_id = id(author);
        let author_key = storage_key::<Accounts>(&author_id);
        for key in empty_writes.keys().chain(one_writes.keys()) {
            if *key == signer_key || *key == author_key || key.as_slice() == LATTICE_KEY {
                continue;
            }
            prop_assert_eq!(
                post_value(&parent, &empty_writes, key),
                post_value(&parent, &one_writes, key),
                "a failed {:?} changed key {:?}",
                receipt.result,
                key
            );
        }
        let before = decode_account(post_value(&parent, &empty_writes, &signer_key));
        let after = decode_account(post_value(&parent, &one_writes, &signer_key));
        prop_assert_eq!(after.nonce, before.nonce + 1);
        if signer_id == author_id {
            prop_assert_eq!(after.free_rao, before.free_rao);
        } else {
            prop_assert_eq!(after.free_rao, before.free_rao - fee);
            let author_before = decode_account(post_value(&parent, &empty_writes, &author_key));
            let author_after = decode_account(post_value(&parent, &one_writes, &author_key));
            prop_assert_eq!(author_after.nonce, author_before.nonce);
            prop_assert_eq!(author_after.free_rao, author_before.free_rao + fee);
        }
        let mut after_store = parent.clone();
        after_store.apply(&one.changes);
        prop_assert_eq!(one.state_root, scratch_root(&after_store));
        prop_assert!(tao_state::invariants::check(&after_store).is_ok());
    }
}

// ---------------------------------------------------------------------------------------------
// The state root is order-independent and incremental
// ---------------------------------------------------------------------------------------------

/// A raw test item: hashed into the root.
struct Raw;
impl Item for Raw {
    const PREFIX: &'static [u8] = b"proptest/raw/";
    type Key = Vec<u8>;
    type Value = Vec<u8>;
}

/// A metadata test item: under `0xff`, never hashed.
struct Meta;
impl Item for Meta {
    const PREFIX: &'static [u8] = b"\xffproptest/meta/";
    type Key = Vec<u8>;
    type Value = Vec<u8>;
}

#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Slot {
    Raw(Vec<u8>),
    Meta(Vec<u8>),
}

fn write(overlay: &mut Overlay<'_>, slot: &Slot, value: &Option<Vec<u8>>) {
    match (slot, value) {
        (Slot::Raw(key), Some(value)) => overlay.put::<Raw>(key, value),
        (Slot::Raw(key), None) => overlay.remove::<Raw>(key),
        (Slot::Meta(key), Some(value)) => overlay.put::<Meta>(key, value),
        (Slot::Meta(key), None) => overlay.remove::<Meta>(key),
    }
}

/// Runs `writes` in one block on `store`; returns the block's root.
fn block_of(store: &mut MemoryStore, writes: &[(Slot, Option<Vec<u8>>)]) -> Hash256 {
    let (changes, lattice) = {
        let mut overlay = Overlay::new(&*store);
        for (slot, value) in writes {
            write(&mut overlay, slot, value);
        }
        overlay.into_changes().expect("lattice decodes")
    };
    store.apply(&changes);
    lattice.root()
}

fn slot() -> impl Strategy<Value = Slot> {
    let key = prop::collection::vec(0u8..4, 0..3);
    prop_oneof![4 => key.clone().prop_map(Slot::Raw), 1 => key.prop_map(Slot::Meta)]
}

fn value() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(any::<u8>(), 0..6)
}

/// Initial entries, final writes (one per slot, `None` deletes), the final writes shuffled,
/// junk values for some written slots, and where to split the shuffled writes.
#[allow(clippy::type_complexity)]
fn root_case() -> impl Strategy<
    Value = (
        BTreeMap<Slot, Vec<u8>>,
        Vec<(Slot, Option<Vec<u8>>)>,
        Vec<(Slot, Option<Vec<u8>>)>,
        Vec<(usize, Option<Vec<u8>>)>,
        usize,
    ),
> {
    (
        prop::collection::btree_map(slot(), value(), 0..10),
        prop::collection::btree_map(slot(), prop::option::of(value()), 0..14),
    )
        .prop_flat_map(|(initial, writes)| {
            let writes: Vec<_> = writes.into_iter().collect();
            let len = writes.len();
            (
                Just(initial),
                Just(writes.clone()),
                Just(writes).prop_shuffle(),
                prop::collection::vec((0..len.max(1), prop::option::of(value())), 0..6),
                0..=len,
            )
        })
}

proptest! {
    #![proptest_config(cases(256))]

    /// Property 4: the same final writes, in key order, shuffled with junk overwritten and
    /// rolled back, or split across two blocks, give the same root, the same store, and the
    /// root computed from scratch over the final store.
    #[test]
    fn state_root_is_order_independent_and_incremental(
        (initial, writes, shuffled, junk, split) in root_case()
    ) {
        let mut base = MemoryStore::default();
        let initial: Vec<_> = initial.into_iter().map(|(slot, v)| (slot, Some(v))).collect();
        block_of(&mut base, &initial);
        prop_assert_eq!(
            Lattice::from_bytes(&base.get(LATTICE_KEY).expect("lattice")).expect("lattice").root(),
            scratch_root(&base)
        );
        // Junk only touches slots that the final writes set again.
        let junk: Vec<(Slot, Option<Vec<u8>>)> = junk
            .into_iter()
            .filter_map(|(index, value)| writes.get(index).map(|(slot, _)| (slot.clone(), value)))
            .collect();

        // In key order.
        let mut in_order = base.clone();
        let root_in_order = block_of(&mut in_order, &writes);

        // Shuffled, after junk, with a rolled-back stretch of more junk in between.
        let mut shuffled_store = base.clone();
        let (changes, lattice) = {
            let mut overlay = Overlay::new(&shuffled_store);
            for (slot, value) in &junk {
                write(&mut overlay, slot, value);
            }
            let checkpoint = overlay.checkpoint();
            for (slot, value) in junk.iter().rev() {
                write(&mut overlay, slot, &value.as_ref().map(|v| [v.as_slice(), b"x"].concat()));
            }
            for (slot, _) in &initial {
                write(&mut overlay, slot, &None);
            }
            overlay.rollback(checkpoint);
            for (slot, value) in &shuffled {
                write(&mut overlay, slot, value);
            }
            overlay.into_changes().expect("lattice decodes")
        };
        shuffled_store.apply(&changes);
        let root_shuffled = lattice.root();

        // Split across two blocks, the junk landing in the first.
        let mut split_store = base.clone();
        let (first, second) = shuffled.split_at(split);
        let first: Vec<_> = junk.iter().cloned().chain(first.iter().cloned()).collect();
        block_of(&mut split_store, &first);
        let root_split = block_of(&mut split_store, second);

        prop_assert_eq!(root_in_order, root_shuffled);
        prop_assert_eq!(root_in_order, root_split);
        prop_assert!(in_order == shuffled_store, "shuffled writes reached another store");
        prop_assert!(in_order == split_store, "split writes reached another store");
        prop_assert_eq!(root_in_order, scratch_root(&in_order));
    }
}

// ---------------------------------------------------------------------------------------------
// Decoding untrusted bytes
// ---------------------------------------------------------------------------------------------

fn any_tx() -> BoxedStrategy<SignedTx> {
    (
        signed_call(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        prop::collection::vec(any::<u8>(), 64),
    )
        .prop_map(
            |((signer, call), nonce, birth, period, signature)| SignedTx {
                tx: UnsignedTx {
                    signer: id(signer),
                    nonce,
                    mortality: Mortality { birth, period },
                    call,
                },
                signature: signature.try_into().expect("64 bytes"),
            },
        )
        .boxed()
}

proptest! {
    #![proptest_config(cases(512))]

    /// Property 5a: arbitrary bytes (and valid encodings with arbitrary tails) never panic,
    /// and whatever decodes re-encodes to the same bytes.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(
        bytes in prop::collection::vec(any::<u8>(), 0..=20 * 1024),
        tx in any_tx(),
        cut in any::<prop::sample::Index>(),
        tail in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        if let Ok(decoded) = SignedTx::decode_bounded(&bytes) {
            prop_assert_eq!(decoded.encode(), bytes);
        }
        let mut spliced = tx.encode();
        spliced.truncate(cut.index(spliced.len() + 1));
        spliced.extend_from_slice(&tail);
        if let Ok(decoded) = SignedTx::decode_bounded(&spliced) {
            prop_assert_eq!(decoded.encode(), spliced);
        }
    }

    /// Property 5b: a valid encoding with one byte changed either fails to decode or decodes
    /// to a transaction that encodes to exactly those bytes.
    #[test]
    fn a_flipped_byte_is_rejected_or_canonical(
        tx in any_tx(),
        at in any::<prop::sample::Index>(),
        mask in 1u8..=255,
    ) {
        let bytes = tx.encode();
        prop_assert_eq!(SignedTx::decode_bounded(&bytes).map_err(fail)?, tx);
        let mut flipped = bytes.clone();
        let index = at.index(flipped.len());
        flipped[index] ^= mask;
        if let Ok(decoded) = SignedTx::decode_bounded(&flipped) {
            prop_assert_eq!(decoded.encode(), flipped);
        }
    }
}
