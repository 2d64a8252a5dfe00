//! The read API (`tao_state::read`) over a hand-built state: every query, the not-found cases,
//! nominator values as a share pool grows, netuid/uid ordering across the little-endian key
//! encoding, JSON shape, and a full 256-uid metagraph.

use tao_primitives::{AccountId, NetUid, Uid};
use tao_state::overlay::Overlay;
use tao_state::read;
use tao_state::schema::{
    AccountInfo, Accounts, Bonds, Chain, ChainInfo, Delegate, Delegates, Economy, Endpoint,
    Globals, HotkeyOwner, HotkeyPools, Hparams, Neuron, Neurons, OwnedHotkeys, SharePool,
    StakeIndex, StakeShares, SubnetEconomy, SubnetInfo, Subnets, UidOf, Weights,
};
use tao_state::store::MemoryStore;
use tao_types::params::{GlobalParams, Hyperparams, RAO_PER_TAO};
use tao_types::tx::SubnetIdentity;
use tao_types::views::{AccountView, ColdkeyStake, NominatorStake, SubnetStake};

const TAO: u64 = RAO_PER_TAO;
const SHARES_PER_ALPHA: u128 = 1 << 32;
const HEIGHT: u64 = 1_000;

fn key(tag: u8) -> AccountId {
    AccountId([tag; 32])
}

/// Owner coldkey of subnet 1 and of hotkeys 10, 11, 12.
const OWNER: u8 = 1;
/// A coldkey that nominates hotkey 11.
const NOMINATOR: u8 = 2;
/// A second nominator.
const NOMINATOR_2: u8 = 3;

/// Applies the writes `write` makes through an overlay.
fn commit(store: &mut MemoryStore, write: impl FnOnce(&mut Overlay<'_>)) {
    let mut overlay = Overlay::new(store);
    write(&mut overlay);
    let (changes, _) = overlay.into_changes().unwrap();
    store.apply(&changes);
}

fn add_subnet(state: &mut Overlay<'_>, netuid: NetUid, owner: AccountId, owner_hotkey: AccountId) {
    state.put::<Subnets>(
        &netuid,
        &SubnetInfo {
            owner_coldkey: owner,
            owner_hotkey,
            registered_at: 10,
            lock_rao: 1_000 * TAO,
            first_emission_block: None,
            n: 0,
            symbol: "β".as_bytes().to_vec(),
            identity: None,
        },
    );
    state.put::<Hparams>(
        &netuid,
        &Hyperparams {
            tempo: 100,
            ..Hyperparams::default()
        },
    );
    state.put::<SubnetEconomy>(
        &netuid,
        &Economy {
            tao_reserve_rao: 1_000 * TAO,
            alpha_reserve: 4_000 * TAO,
            burn_rao: 500_000,
            last_epoch_block: 950,
            ..Economy::default()
        },
    );
}

fn add_neuron(
    state: &mut Overlay<'_>,
    netuid: NetUid,
    uid: u16,
    hotkey: AccountId,
    owner: AccountId,
) {
    state.put::<Neurons>(
        &(netuid, Uid(uid)),
        &Neuron {
            hotkey,
            registered_at: 100 + u64::from(uid),
            last_update: 200 + u64::from(uid),
            consensus: uid,
            incentive: uid.wrapping_mul(2),
            dividends: uid.wrapping_mul(3),
            validator_trust: uid.wrapping_mul(4),
            emission: u64::from(uid) * 1_000,
            active: uid.is_multiple_of(2),
            validator_permit: !uid.is_multiple_of(2),
            ..Neuron::default()
        },
    );
    state.put::<UidOf>(&(netuid, hotkey), &Uid(uid));
    state.put::<HotkeyOwner>(&hotkey, &owner);
    state.put::<OwnedHotkeys>(&(owner, hotkey), &());
}

/// A position of `shares` for `coldkey` in `hotkey`'s pool (the pool itself is written apart).
fn add_position(
    state: &mut Overlay<'_>,
    netuid: NetUid,
    hotkey: AccountId,
    coldkey: AccountId,
    shares: u128,
) {
    state.put::<StakeShares>(&(netuid, hotkey, coldkey), &shares);
    state.put::<StakeIndex>(&(coldkey, hotkey, netuid), &());
}

/// Chain at height 1 000; subnet 1 (3 neurons, hotkeys 10–12 owned by coldkey 1) with a full
/// economy; hotkey 11 staked by its owner (200 alpha) and coldkey 2 (100 alpha), plus 50 root
/// alpha from coldkey 2; hotkey 12 staked by its owner only; hotkey 10 a delegate by record.
fn fixture() -> MemoryStore {
    let mut store = MemoryStore::default();
    let (sn, root) = (NetUid(1), NetUid::ROOT);
    commit(&mut store, |state| {
        state.put::<Chain>(
            &(),
            &ChainInfo {
                height: HEIGHT,
                last_lock_rao: 2_000 * TAO,
                last_lock_block: 900,
                ..ChainInfo::default()
            },
        );
        state.put::<Globals>(
            &(),
            &GlobalParams {
                network_min_lock_rao: 100 * TAO,
                network_lock_reduction_interval: 1_000,
                ..GlobalParams::default()
            },
        );
        state.put::<Accounts>(
            &key(OWNER),
            &AccountInfo {
                nonce: 7,
                free_rao: 42 * TAO,
            },
        );

        add_subnet(state, sn, key(OWNER), key(10));
        let mut info = state.get::<Subnets>(&sn).unwrap().unwrap();
        info.n = 3;
        info.first_emission_block = Some(20);
        info.identity = Some(SubnetIdentity {
            name: b"forecast".to_vec(),
            repo: b"https://example.invalid/forecast".to_vec(),
            contact: vec![0xff, b'x'],
            ..SubnetIdentity::default()
        });
        state.put::<Subnets>(&sn, &info);
        state.put::<SubnetEconomy>(
            &sn,
            &Economy {
                tao_reserve_rao: 1_000 * TAO,
                alpha_reserve: 4_000 * TAO,
                alpha_out: 900 * TAO,
                moving_price_bits: 1 << 30, // 0.25
                pending_owner_cut: 1,
                pending_server: 2,
                pending_validator: 3,
                pending_root: 4,
                last_epoch_block: 950,
                epoch_index: 9,
                burn_rao: 750_000,
                tao_in_emission_rao: 5,
                alpha_out_emission: 6,
                volume_rao: u128::from(u64::MAX) + 1,
            },
        );
        for (uid, hotkey) in [(0u16, 10u8), (1, 11), (2, 12)] {
            add_neuron(state, sn, uid, key(hotkey), key(OWNER));
        }
        let mut served = state.get::<Neurons>(&(sn, Uid(1))).unwrap().unwrap();
        served.axon = Some(Endpoint {
            block: 300,
            version: 7,
            ip: 0x7f00_0001,
            port: 8091,
            ip_type: 4,
            protocol: 4,
        });
        served.prometheus = Some(Endpoint {
            block: 301,
            ip: 1,
            port: 9090,
            ip_type: 6,
            ..Endpoint::default()
        });
        state.put::<Neurons>(&(sn, Uid(1)), &served);
        state.put::<Weights>(&(sn, Uid(1)), &vec![(0, 65_535), (2, 100)]);
        state.put::<Bonds>(&(sn, Uid(1)), &vec![(2, 30_000)]);

        state.put::<HotkeyPools>(
            &(sn, key(11)),
            &SharePool {
                alpha: 300 * TAO,
                total_shares: u128::from(300 * TAO) * SHARES_PER_ALPHA,
            },
        );
        add_position(
            state,
            sn,
            key(11),
            key(OWNER),
            u128::from(200 * TAO) * SHARES_PER_ALPHA,
        );
        add_position(
            state,
            sn,
            key(11),
            key(NOMINATOR),
            u128::from(100 * TAO) * SHARES_PER_ALPHA,
        );
        state.put::<HotkeyPools>(
            &(root, key(11)),
            &SharePool {
                alpha: 50 * TAO,
                total_shares: u128::from(50 * TAO) * SHARES_PER_ALPHA,
            },
        );
        add_position(
            state,
            root,
            key(11),
            key(NOMINATOR),
            u128::from(50 * TAO) * SHARES_PER_ALPHA,
        );
        state.put::<HotkeyPools>(
            &(sn, key(12)),
            &SharePool {
                alpha: 10 * TAO,
                total_shares: u128::from(10 * TAO) * SHARES_PER_ALPHA,
            },
        );
        add_position(
            state,
            sn,
            key(12),
            key(OWNER),
            u128::from(10 * TAO) * SHARES_PER_ALPHA,
        );
        state.put::<Delegates>(
            &key(10),
            &Delegate {
                take: 1_000,
                last_increase_block: 5,
            },
        );
    });
    store
}

#[test]
fn accounts_read_balance_and_nonce_and_default_to_zero() {
    let store = fixture();
    assert_eq!(
        read::account(&store, &key(OWNER)).unwrap(),
        AccountView {
            free_rao: 42 * TAO,
            nonce: 7
        }
    );
    assert_eq!(
        read::account(&store, &key(99)).unwrap(),
        AccountView::default()
    );
}

#[test]
fn subnet_info_reports_identity_schedule_and_burn() {
    let store = fixture();
    let view = read::subnet_info(&store, NetUid(1)).unwrap().unwrap();
    assert_eq!(view.netuid, 1);
    assert_eq!(view.owner_coldkey, key(OWNER));
    assert_eq!(view.owner_hotkey, key(10));
    assert_eq!(view.symbol, "β");
    let identity = view.identity.unwrap();
    assert_eq!(identity.name, "forecast");
    assert_eq!(
        identity.contact, "\u{fffd}x",
        "invalid UTF-8 is replaced, not an error"
    );
    assert_eq!(
        (view.registered_at, view.lock_rao, view.n),
        (10, 1_000 * TAO, 3)
    );
    assert_eq!((view.max_allowed_uids, view.tempo), (256, 100));
    assert!(view.started);
    assert_eq!(view.first_emission_block, Some(20));
    assert_eq!(view.burn_rao, 750_000);
    assert_eq!(view.last_epoch_block, 950);
    // last epoch 950 + tempo 100 − height 1 000.
    assert_eq!(view.blocks_until_next_epoch, 50);

    assert_eq!(read::subnet_info(&store, NetUid(2)).unwrap(), None);
    assert_eq!(read::subnet_hyperparams(&store, NetUid(2)).unwrap(), None);
    assert_eq!(read::dynamic_info(&store, NetUid(2)).unwrap(), None);
    assert_eq!(read::registration_burn(&store, NetUid(2)).unwrap(), None);
    assert_eq!(read::metagraph(&store, NetUid(2)).unwrap(), None);
    assert_eq!(
        read::registration_burn(&store, NetUid(1)).unwrap(),
        Some(750_000)
    );
    let hparams = read::subnet_hyperparams(&store, NetUid(1))
        .unwrap()
        .unwrap();
    assert_eq!(
        hparams,
        Hyperparams {
            tempo: 100,
            ..Hyperparams::default()
        }
    );
}

#[test]
fn subnets_are_listed_in_numeric_netuid_order() {
    let mut store = fixture();
    // 256 encodes as [0x00, 0x01] and sorts before 1 ([0x01, 0x00]) in the store.
    commit(&mut store, |state| {
        add_subnet(state, NetUid(256), key(4), key(40));
        add_subnet(state, NetUid(2), key(5), key(50));
    });
    let netuids: Vec<u16> = read::subnets_info(&store)
        .unwrap()
        .iter()
        .map(|view| view.netuid)
        .collect();
    assert_eq!(netuids, vec![1, 2, 256]);
    let fresh = read::subnet_info(&store, NetUid(2)).unwrap().unwrap();
    assert!(!fresh.started);
    assert_eq!(fresh.identity, None);

    assert!(
        read::subnets_info(&MemoryStore::default())
            .unwrap()
            .is_empty()
    );
}

#[test]
fn dynamic_info_prices_the_pool_in_rao_per_alpha() {
    let store = fixture();
    let view = read::dynamic_info(&store, NetUid(1)).unwrap().unwrap();
    assert_eq!(view.name, "forecast");
    assert_eq!(view.symbol, "β");
    assert_eq!(
        (view.owner_coldkey, view.owner_hotkey),
        (key(OWNER), key(10))
    );
    assert_eq!(
        (view.tao_in_rao, view.alpha_in_rao, view.alpha_out_rao),
        (1_000 * TAO, 4_000 * TAO, 900 * TAO)
    );
    // 1 000 TAO / 4 000 alpha = 0.25 TAO per alpha.
    assert_eq!(view.price_rao_per_alpha, 250_000_000);
    assert_eq!(view.moving_price_rao_per_alpha, 250_000_000);
    assert_eq!(
        (
            view.pending_owner_cut_rao,
            view.pending_server_emission_rao,
            view.pending_validator_emission_rao,
            view.pending_root_emission_rao
        ),
        (1, 2, 3, 4)
    );
    assert_eq!(
        (view.tao_in_emission_rao, view.alpha_out_emission_rao),
        (5, 6)
    );
    assert_eq!(view.subnet_volume_rao, u128::from(u64::MAX) + 1);
    assert_eq!((view.last_epoch_block, view.epoch_index), (950, 9));
    assert_eq!(
        (view.blocks_since_last_step, view.blocks_until_next_epoch),
        (50, 50)
    );
    assert_eq!((view.registered_at, view.tempo), (10, 100));
}

#[test]
fn neurons_carry_owner_stake_nominators_endpoints_weights_and_bonds() {
    let store = fixture();
    let all = read::neurons(&store, NetUid(1)).unwrap();
    assert_eq!(all.iter().map(|n| n.uid).collect::<Vec<_>>(), vec![0, 1, 2]);

    let one = read::neuron(&store, NetUid(1), Uid(1)).unwrap().unwrap();
    assert_eq!(all.get(1), Some(&one));
    assert_eq!(
        (one.hotkey, one.coldkey, one.netuid),
        (key(11), key(OWNER), 1)
    );
    assert_eq!(one.stake_rao, 300 * TAO);
    assert_eq!(
        one.nominators,
        vec![
            ColdkeyStake {
                coldkey: key(OWNER),
                alpha_rao: 200 * TAO
            },
            ColdkeyStake {
                coldkey: key(NOMINATOR),
                alpha_rao: 100 * TAO
            },
        ]
    );
    let axon = one.axon.as_ref().unwrap();
    assert_eq!(
        (
            axon.ip.as_str(),
            axon.port,
            axon.version,
            axon.ip_type,
            axon.protocol
        ),
        ("127.0.0.1", 8091, 7, 4, 4)
    );
    assert_eq!(axon.block, 300);
    let prometheus = one.prometheus.as_ref().unwrap();
    assert_eq!(
        (prometheus.ip.as_str(), prometheus.port, prometheus.ip_type),
        ("::1", 9090, 6)
    );
    assert_eq!(one.weights, vec![(0, 65_535), (2, 100)]);
    assert_eq!(one.bonds, vec![(2, 30_000)]);
    assert_eq!(
        (
            one.consensus,
            one.incentive,
            one.dividends,
            one.validator_trust
        ),
        (1, 2, 3, 4)
    );
    assert_eq!(
        (one.emission_rao, one.last_update, one.registered_at),
        (1_000, 201, 101)
    );
    assert!(one.validator_permit && !one.active);

    let zero = all.first().unwrap();
    assert_eq!(
        (zero.stake_rao, zero.axon.as_ref(), zero.prometheus.as_ref()),
        (0, None, None)
    );
    assert!(zero.nominators.is_empty() && zero.weights.is_empty() && zero.bonds.is_empty());

    assert_eq!(read::neuron(&store, NetUid(1), Uid(3)).unwrap(), None);
    assert_eq!(read::neuron(&store, NetUid(7), Uid(0)).unwrap(), None);
    assert!(read::neurons(&store, NetUid(7)).unwrap().is_empty());
}

#[test]
fn nominator_values_follow_the_pool_as_it_grows() {
    let mut store = fixture();
    // Dividends double the pool's alpha; shares stay as they were.
    commit(&mut store, |state| {
        let mut pool = state
            .get::<HotkeyPools>(&(NetUid(1), key(11)))
            .unwrap()
            .unwrap();
        pool.alpha = 600 * TAO;
        state.put::<HotkeyPools>(&(NetUid(1), key(11)), &pool);
    });
    let one = read::neuron(&store, NetUid(1), Uid(1)).unwrap().unwrap();
    assert_eq!(one.stake_rao, 600 * TAO);
    let values: Vec<u64> = one.nominators.iter().map(|n| n.alpha_rao).collect();
    assert_eq!(values, vec![400 * TAO, 200 * TAO]);

    let stakes = read::stake_info_for_coldkey(&store, &key(NOMINATOR)).unwrap();
    let on_subnet = stakes.iter().find(|s| s.netuid == 1).unwrap();
    assert_eq!(on_subnet.alpha_rao, 200 * TAO);
    assert_eq!(on_subnet.tao_value_rao, 50 * TAO);
}

#[test]
fn stake_info_lists_positions_by_netuid_with_spot_value() {
    let store = fixture();
    let stakes = read::stake_info_for_coldkey(&store, &key(NOMINATOR)).unwrap();
    assert_eq!(stakes.len(), 2);
    let root = stakes.first().unwrap();
    assert_eq!(
        (root.netuid, root.hotkey, root.coldkey),
        (0, key(11), key(NOMINATOR))
    );
    // Root alpha is worth its amount in TAO; hotkey 11 has no uid on the root subnet.
    assert_eq!(
        (root.alpha_rao, root.tao_value_rao, root.registered),
        (50 * TAO, 50 * TAO, false)
    );
    let sn = stakes.get(1).unwrap();
    assert_eq!(
        (sn.netuid, sn.hotkey, sn.alpha_rao),
        (1, key(11), 100 * TAO)
    );
    assert_eq!(sn.tao_value_rao, 25 * TAO, "100 alpha at 0.25 TAO");
    assert!(sn.registered);

    let owner = read::stake_info_for_coldkey(&store, &key(OWNER)).unwrap();
    let hotkeys: Vec<AccountId> = owner.iter().map(|s| s.hotkey).collect();
    assert_eq!(hotkeys, vec![key(11), key(12)]);
    assert!(
        read::stake_info_for_coldkey(&store, &key(99))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn delegates_are_recorded_or_nominated_hotkeys() {
    let mut store = fixture();
    let delegates = read::delegates(&store).unwrap();
    // 10: a record and no stake; 11: nominated by coldkey 2; 12: only its owner's stake.
    let hotkeys: Vec<AccountId> = delegates.iter().map(|d| d.hotkey).collect();
    assert_eq!(hotkeys, vec![key(10), key(11)]);

    let recorded = delegates.first().unwrap();
    assert_eq!((recorded.owner, recorded.take), (key(OWNER), 1_000));
    assert!(recorded.nominators.is_empty() && recorded.total_stake_by_subnet.is_empty());
    assert_eq!(recorded.registrations, vec![1]);
    assert!(recorded.validator_permits.is_empty(), "uid 0 has no permit");

    let nominated = delegates.get(1).unwrap();
    assert_eq!(
        nominated.take,
        GlobalParams::default().default_take,
        "no record: default take"
    );
    assert_eq!(nominated.registrations, vec![1]);
    assert_eq!(nominated.validator_permits, vec![1]);
    assert_eq!(
        nominated.total_stake_by_subnet,
        vec![
            SubnetStake {
                netuid: 0,
                alpha_rao: 50 * TAO
            },
            SubnetStake {
                netuid: 1,
                alpha_rao: 300 * TAO
            }
        ]
    );
    assert_eq!(
        nominated.nominators,
        vec![
            NominatorStake {
                coldkey: key(OWNER),
                netuid: 1,
                alpha_rao: 200 * TAO
            },
            NominatorStake {
                coldkey: key(NOMINATOR),
                netuid: 0,
                alpha_rao: 50 * TAO
            },
            NominatorStake {
                coldkey: key(NOMINATOR),
                netuid: 1,
                alpha_rao: 100 * TAO
            },
        ]
    );

    // A second outside coldkey joins hotkey 11's pool on subnet 1: 150 alpha at the pool's
    // price of 1 alpha per 2^32 shares.
    commit(&mut store, |state| {
        let mut pool = state
            .get::<HotkeyPools>(&(NetUid(1), key(11)))
            .unwrap()
            .unwrap();
        pool.alpha += 150 * TAO;
        pool.total_shares += u128::from(150 * TAO) * SHARES_PER_ALPHA;
        state.put::<HotkeyPools>(&(NetUid(1), key(11)), &pool);
        add_position(
            state,
            NetUid(1),
            key(11),
            key(NOMINATOR_2),
            u128::from(150 * TAO) * SHARES_PER_ALPHA,
        );
    });
    let delegates = read::delegates(&store).unwrap();
    let nominated = delegates.get(1).unwrap();
    let coldkeys: Vec<(AccountId, u16, u64)> = nominated
        .nominators
        .iter()
        .map(|n| (n.coldkey, n.netuid, n.alpha_rao))
        .collect();
    assert_eq!(
        coldkeys,
        vec![
            (key(OWNER), 1, 200 * TAO),
            (key(NOMINATOR), 0, 50 * TAO),
            (key(NOMINATOR), 1, 100 * TAO),
            (key(NOMINATOR_2), 1, 150 * TAO),
        ]
    );
    assert_eq!(
        read::neuron(&store, NetUid(1), Uid(1))
            .unwrap()
            .unwrap()
            .nominators
            .len(),
        3
    );

    assert!(read::delegates(&MemoryStore::default()).unwrap().is_empty());
}

#[test]
fn lock_cost_decays_from_the_doubled_last_lock() {
    let store = fixture();
    // 2 × 2 000 TAO − (2 000 TAO / 1 000 blocks) × (1 001 − 900) blocks.
    assert_eq!(
        read::lock_cost(&store).unwrap(),
        4_000 * TAO - 2 * TAO * 101
    );
    // An uninitialised store: the default minimum lock.
    assert_eq!(
        read::lock_cost(&MemoryStore::default()).unwrap(),
        GlobalParams::default().network_min_lock_rao
    );
}

#[test]
fn metagraph_of_256_uids_matches_the_neurons() {
    let mut store = fixture();
    let netuid = NetUid(3);
    commit(&mut store, |state| {
        add_subnet(state, netuid, key(OWNER), key(10));
        // Written in reverse to show the order comes from the uids, not the writes.
        for uid in (0..256u16).rev() {
            let mut hotkey = [0u8; 32];
            hotkey[..2].copy_from_slice(&uid.to_be_bytes());
            hotkey[31] = 0xee;
            let hotkey = AccountId(hotkey);
            add_neuron(state, netuid, uid, hotkey, key(100 + (uid % 7) as u8));
            state.put::<HotkeyPools>(
                &(netuid, hotkey),
                &SharePool {
                    alpha: u64::from(uid) * TAO,
                    total_shares: u128::from(u64::from(uid) * TAO) * SHARES_PER_ALPHA,
                },
            );
            if uid.is_multiple_of(3) {
                let mut neuron = state.get::<Neurons>(&(netuid, Uid(uid))).unwrap().unwrap();
                neuron.axon = Some(Endpoint {
                    ip: u128::from(0x0a00_0000u32 + u32::from(uid)),
                    port: 8_000 + uid,
                    ip_type: 4,
                    ..Endpoint::default()
                });
                state.put::<Neurons>(&(netuid, Uid(uid)), &neuron);
            }
        }
    });
    let graph = read::metagraph(&store, netuid).unwrap().unwrap();
    let neurons = read::neurons(&store, netuid).unwrap();
    assert_eq!((graph.netuid, graph.block, graph.n), (3, HEIGHT, 256));
    assert_eq!(graph.uids, (0..256).collect::<Vec<u16>>());
    assert_eq!(neurons.len(), 256);
    for (i, neuron) in neurons.iter().enumerate() {
        assert_eq!(graph.uids[i], neuron.uid);
        assert_eq!(graph.hotkeys[i], neuron.hotkey);
        assert_eq!(graph.coldkeys[i], neuron.coldkey);
        assert_eq!(graph.stake_rao[i], neuron.stake_rao);
        assert_eq!(graph.consensus[i], neuron.consensus);
        assert_eq!(graph.incentive[i], neuron.incentive);
        assert_eq!(graph.dividends[i], neuron.dividends);
        assert_eq!(graph.validator_trust[i], neuron.validator_trust);
        assert_eq!(graph.emission_rao[i], neuron.emission_rao);
        assert_eq!(graph.active[i], neuron.active);
        assert_eq!(graph.last_update[i], neuron.last_update);
        assert_eq!(graph.registered_at[i], neuron.registered_at);
        assert_eq!(graph.validator_permit[i], neuron.validator_permit);
        assert_eq!(graph.axons[i], neuron.axon);
    }
    assert_eq!(graph.stake_rao[255], 255 * TAO);
    assert_eq!(graph.coldkeys[8], key(101));
    assert_eq!(graph.axons[3].as_ref().unwrap().ip, "10.0.0.3");
    assert_eq!(graph.axons[4], None);
    assert_eq!(graph.hyperparams.tempo, 100);
    assert_eq!(
        graph.dynamic,
        read::dynamic_info(&store, netuid).unwrap().unwrap()
    );
    assert_eq!(graph.dynamic.price_rao_per_alpha, 250_000_000);
}

#[test]
fn uids_above_255_sort_numerically() {
    let mut store = fixture();
    let netuid = NetUid(4);
    commit(&mut store, |state| {
        add_subnet(state, netuid, key(OWNER), key(10));
        for uid in [257u16, 1, 256, 0] {
            add_neuron(state, netuid, uid, key(200 + (uid % 50) as u8), key(OWNER));
        }
    });
    let graph = read::metagraph(&store, netuid).unwrap().unwrap();
    assert_eq!(graph.uids, vec![0, 1, 256, 257]);
    let uids: Vec<u16> = read::neurons(&store, netuid)
        .unwrap()
        .iter()
        .map(|n| n.uid)
        .collect();
    assert_eq!(uids, vec![0, 1, 256, 257]);
}

#[test]
fn views_round_trip_through_json_with_ss58_accounts() {
    let store = fixture();
    let neuron = read::neuron(&store, NetUid(1), Uid(1)).unwrap().unwrap();
    let json = serde_json::to_value(&neuron).unwrap();
    let ss58 = |byte: u8| tao_keys::PublicKey::from_bytes([byte; 32]).to_ss58();
    assert_eq!(json["hotkey"], ss58(0x0b));
    assert_eq!(json["nominators"][1]["coldkey"], ss58(0x02));
    assert_eq!(json["axon"]["ip"], "127.0.0.1");
    assert_eq!(json["weights"][1], serde_json::json!([2, 100]));
    assert_eq!(
        serde_json::from_value::<tao_types::views::NeuronView>(json).unwrap(),
        neuron
    );

    let graph = read::metagraph(&store, NetUid(1)).unwrap().unwrap();
    let text = serde_json::to_string(&graph).unwrap();
    assert_eq!(
        serde_json::from_str::<tao_types::views::MetagraphView>(&text).unwrap(),
        graph
    );
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(json["coldkeys"][0], ss58(0x01));
    assert_eq!(json["dynamic"]["price_rao_per_alpha"], 250_000_000);
    assert_eq!(json["hyperparams"]["tempo"], 100);

    for delegate in read::delegates(&store).unwrap() {
        let text = serde_json::to_string(&delegate).unwrap();
        assert_eq!(
            serde_json::from_str::<tao_types::views::DelegateView>(&text).unwrap(),
            delegate
        );
    }
    let stake = read::stake_info_for_coldkey(&store, &key(NOMINATOR)).unwrap();
    let text = serde_json::to_string(&stake).unwrap();
    assert_eq!(
        serde_json::from_str::<Vec<tao_types::views::StakeView>>(&text).unwrap(),
        stake
    );
    let subnets = read::subnets_info(&store).unwrap();
    let text = serde_json::to_string(&subnets).unwrap();
    assert_eq!(
        serde_json::from_str::<Vec<tao_types::views::SubnetView>>(&text).unwrap(),
        subnets
    );

    let bad = text.replacen(&ss58(0x01), "5NotAnAddress", 1);
    assert!(serde_json::from_str::<Vec<tao_types::views::SubnetView>>(&bad).is_err());
}
