//! The state root after blocks that run many epochs, pinned: the epoch path's storage code
//! (row decoding, payouts, the lattice update) may get faster, never produce other bytes.

#![allow(
    missing_docs,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use tao_keys::Keypair;
use tao_primitives::{AccountId, NetUid, Uid};
use tao_state::block::{Header, execute_block};
use tao_state::calls;
use tao_state::ctx::Ctx;
use tao_state::overlay::Overlay;
use tao_state::schema::{Chain, Globals, Hparams, Neurons, SubnetEconomy, Subnets, Weights};
use tao_state::spec::{ChainSpec, genesis_store};
use tao_state::store::MemoryStore;
use tao_types::params::{GlobalParams, Hyperparams};

const TAO: u64 = 1_000_000_000;
const N: u16 = 96;
const VALIDATORS: u16 = 24;

fn pair(tag: u8, index: u32) -> Keypair {
    let mut seed = [tag; 32];
    seed[..4].copy_from_slice(&index.to_le_bytes());
    Keypair::from_mini_secret(seed)
}

fn account(pair: &Keypair) -> AccountId {
    AccountId(pair.public().to_bytes())
}

/// `subnets` subnets of `N` uids, validators weighting every miner (some rows also name uids
/// past the subnet's size, which the epoch ignores), as `benches/blocks.rs` builds them.
fn populated(subnets: u16, validators: &[Keypair]) -> MemoryStore {
    let mut spec = ChainSpec::local();
    spec.balances.extend(
        validators
            .iter()
            .map(|p| (p.public().to_ss58(), 1_000 * TAO)),
    );
    let (mut store, _) = genesis_store(&spec).unwrap();
    let mut state = Overlay::new(&store);
    let mut globals: GlobalParams = state.get::<Globals>(&()).unwrap().unwrap();
    globals.subnet_limit = 1_000;
    globals.max_epochs_per_block = 64;
    state.put::<Globals>(&(), &globals);
    let mut ctx = Ctx::new(state, 0, None, globals);
    let owner = AccountId([9; 32]);
    ctx.credit(&owner, 1_000_000 * TAO).unwrap();
    let first_new = ctx.state.scan::<Subnets>(&()).unwrap().len() as u16;
    for s in 0..subnets {
        let netuid = NetUid(first_new + s);
        let mut hotkey = [0u8; 32];
        hotkey[..2].copy_from_slice(&netuid.0.to_le_bytes());
        calls::subnets::register_network(&mut ctx, &owner, &AccountId(hotkey), None).unwrap();
        let params = Hyperparams {
            max_allowed_uids: N,
            weights_rate_limit: 0,
            commit_reveal_enabled: false,
            tempo: 100,
            yuma3: s % 2 == 1,
            ..Hyperparams::default()
        };
        ctx.state.put::<Hparams>(&netuid, &params);
        for uid in 1..N {
            let hotkey = if uid <= VALIDATORS {
                account(&validators[usize::from(uid - 1)])
            } else {
                account(&pair(3, u32::from(uid)))
            };
            calls::registration::put_neuron(&mut ctx, netuid, Uid(uid), &hotkey, &owner).unwrap();
        }
        for uid in 0..N {
            let mut neuron = ctx
                .state
                .get::<Neurons>(&(netuid, Uid(uid)))
                .unwrap()
                .unwrap();
            neuron.validator_permit = uid <= VALIDATORS;
            neuron.registered_at = 0;
            let hotkey = neuron.hotkey;
            ctx.state.put::<Neurons>(&(netuid, Uid(uid)), &neuron);
            if (1..=VALIDATORS).contains(&uid) {
                let row: Vec<(u16, u16)> = (VALIDATORS + 1..N + 3)
                    .filter(|m| (m + uid + s) % 7 != 0)
                    .map(|m| (m, 1 + (m * 97 + uid * 31 + s) % 65_000))
                    .collect();
                ctx.state.put::<Weights>(&(netuid, Uid(uid)), &row);
                tao_state::stake::deposit(
                    &mut ctx.state,
                    netuid,
                    &hotkey,
                    &owner,
                    1_000 * TAO + u64::from(uid) * 7_919 * u64::from(s + 1),
                )
                .unwrap();
                let mut economy = ctx.state.get::<SubnetEconomy>(&netuid).unwrap().unwrap();
                economy.alpha_out += 1_000 * TAO + u64::from(uid) * 7_919 * u64::from(s + 1);
                ctx.state.put::<SubnetEconomy>(&netuid, &economy);
            }
        }
        let mut info = ctx.subnet(netuid).unwrap();
        info.first_emission_block = Some(1);
        ctx.state.put::<Subnets>(&netuid, &info);
    }
    let mut chain = ctx.chain().unwrap();
    chain.height = 1_000;
    chain.timestamp_ms = 1_000_000;
    ctx.state.put::<Chain>(&(), &chain);
    let (state, _) = ctx.into_parts();
    store.apply(&state.into_changes().unwrap().0);
    store
}

/// Makes every subnet's epoch due in the next block.
fn make_due(store: &mut MemoryStore) {
    let mut state = Overlay::new(store);
    let height = state.get::<Chain>(&()).unwrap().unwrap().height;
    for (netuid, mut economy) in state.scan::<SubnetEconomy>(&()).unwrap() {
        if netuid != NetUid::ROOT {
            economy.last_epoch_block = (height + 1).saturating_sub(100);
            state.put::<SubnetEconomy>(&netuid, &economy);
        }
    }
    let changes = state.into_changes().unwrap().0;
    store.apply(&changes);
}

fn next_block(store: &mut MemoryStore) -> String {
    let chain = Overlay::new(store).get::<Chain>(&()).unwrap().unwrap();
    let header = Header {
        height: chain.height + 1,
        timestamp_ms: (chain.height + 1) * 1000,
        author: None,
    };
    let outcome = execute_block(store, &header, &[]).unwrap();
    store.apply(&outcome.changes);
    format!("{:?} {}", outcome.state_root, outcome.changes.writes.len())
}

#[test]
fn roots_of_epoch_blocks_are_pinned() {
    let validators: Vec<Keypair> = (0..u32::from(VALIDATORS)).map(|i| pair(5, i)).collect();
    let mut store = populated(6, &validators);
    let mut roots = Vec::new();
    for _ in 0..3 {
        make_due(&mut store);
        roots.push(next_block(&mut store));
        roots.push(next_block(&mut store));
    }
    // Taken with the code of the `metering` branch (`72eb90c`: ADR 017 stores position counts
    // and slots, so the roots moved from `ca68631`'s), before the epoch path's storage work
    // was merged onto it: that work changes no root.
    let expected = [
        "0x937f867804fa1bd8d18a6af177c84bb3d52f9f8125656c1eb083eab2d63b6d3c 924",
        "0x2b8068a3c5702c78fd9e4c77f9a6daaed17a0911e3df9caced05dc7e25f9fc8e 10",
        "0x6699f59812728115edc54ab5d452b788d0b96470b0845af4e73ce1e1edf29cc3 466",
        "0xb694647f8f967d5530651762a36d18eb4585e83ba169b00c0fb4039019567964 10",
        "0x38753c5add1270f5ca8f7cc48da374c1e6c4ae3f356e96828c3b4255c41a52e9 464",
        "0x3427a10a498d8107a54de930f330cb49169efdbd0386c9711dc511afe6d5b05e 10",
    ];
    assert_eq!(roots, expected);
}
