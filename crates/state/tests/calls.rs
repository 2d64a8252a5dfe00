//! Subnets, registration, serving, staking, takes and weights through real blocks.

mod common;

use common::{SN1, TAO, TestChain, id};
use tao_primitives::{NetUid, Uid};
use tao_state::schema::{
    Cleanups, Economy, HotkeyPools, Hparams, Neurons, SubnetEconomy, Subnets, UidOf, Weights,
};
use tao_types::error::TxError;
use tao_types::params::MIN_OWNER_TEMPO;
use tao_types::tx::{Call, HyperparamValue, PriceLimit};
use tao_types::weights::commit_hash;

fn register(netuid: NetUid, hotkey: &str) -> Call {
    Call::BurnedRegister {
        netuid,
        hotkey: id(hotkey),
        limit_rao: u64::MAX,
    }
}

fn add_stake(hotkey: &str, netuid: NetUid, amount_rao: u64) -> Call {
    Call::AddStake {
        hotkey: id(hotkey),
        netuid,
        amount_rao,
        limit: None,
    }
}

fn economy(chain: &TestChain, netuid: NetUid) -> Economy {
    chain.get::<SubnetEconomy>(&netuid).unwrap()
}

#[test]
fn genesis_has_two_running_subnets_owned_by_alice_and_bob() {
    let chain = TestChain::local();
    let sn1 = chain.get::<Subnets>(&SN1).unwrap();
    assert_eq!(sn1.owner_coldkey, id("//Alice"));
    assert_eq!(sn1.first_emission_block, Some(1));
    assert_eq!(
        chain.get::<Subnets>(&NetUid(2)).unwrap().owner_coldkey,
        id("//Bob")
    );
    assert_eq!(chain.get::<Hparams>(&SN1).unwrap().tempo, 10);
    assert_eq!(chain.get::<UidOf>(&(SN1, id("//Alice//hot"))), Some(Uid(0)));
}

#[test]
fn register_network_charges_the_lock_into_the_pool_and_start_call_enables_staking() {
    let mut chain = TestChain::local();
    let before = chain.free("//Charlie");
    let receipt = chain.ok(
        "//Charlie",
        Call::RegisterNetwork {
            hotkey: id("//Charlie//hot"),
            identity: None,
        },
    );
    let netuid = NetUid(3);
    let info = chain.get::<Subnets>(&netuid).unwrap();
    assert_eq!(
        chain.free("//Charlie"),
        before - info.lock_rao - receipt.fee_rao
    );
    assert_eq!(economy(&chain, netuid).tao_reserve_rao, info.lock_rao);
    assert_eq!(
        chain.err("//Dave", add_stake("//Charlie//hot", netuid, TAO)),
        TxError::SubtokenDisabled
    );
    assert_eq!(
        chain.err("//Dave", Call::StartCall { netuid }),
        TxError::NotSubnetOwner
    );
    chain.ok("//Charlie", Call::StartCall { netuid });
    assert_eq!(
        chain.err("//Charlie", Call::StartCall { netuid }),
        TxError::FirstEmissionBlockNumberAlreadySet
    );
    chain.ok("//Dave", add_stake("//Charlie//hot", netuid, TAO));
    // The lock of the next subnet doubles.
    let receipt = chain.ok(
        "//Dave",
        Call::RegisterNetwork {
            hotkey: id("//Dave//hot"),
            identity: None,
        },
    );
    assert!(receipt.events.iter().any(|e| matches!(e, tao_types::events::Event::NetworkAdded { lock_rao, .. } if *lock_rao > info.lock_rao)));
}

#[test]
fn registration_burns_rises_and_rejects_duplicates_and_foreign_hotkeys() {
    let mut chain = TestChain::local();
    let burn = economy(&chain, SN1).burn_rao;
    let before = chain.free("//Charlie");
    let receipt = chain.ok("//Charlie", register(SN1, "//Charlie//m1"));
    assert_eq!(chain.free("//Charlie"), before - burn - receipt.fee_rao);
    assert_eq!(
        chain.get::<UidOf>(&(SN1, id("//Charlie//m1"))),
        Some(Uid(1))
    );
    assert!(
        economy(&chain, SN1).burn_rao > burn,
        "the burn rises after a registration"
    );
    assert_eq!(
        chain.err("//Charlie", register(SN1, "//Charlie//m1")),
        TxError::HotKeyAlreadyRegisteredInSubNet
    );
    assert_eq!(
        chain.err("//Dave", register(NetUid(2), "//Charlie//m1")),
        TxError::NonAssociatedColdKey
    );
    assert_eq!(
        chain.err("//Dave", register(NetUid(0), "//Dave//m")),
        TxError::RegistrationNotPermittedOnRootSubnet
    );
    assert_eq!(
        chain.err("//Dave", register(NetUid(9), "//Dave//m")),
        TxError::SubnetNotExists
    );
    let limit = Call::BurnedRegister {
        netuid: SN1,
        hotkey: id("//Dave//m"),
        limit_rao: 1,
    };
    assert_eq!(
        chain.err("//Dave", limit),
        TxError::RegistrationPriceLimitExceeded
    );
}

#[test]
fn a_full_subnet_replaces_the_lowest_emission_non_immune_neuron_never_the_owner() {
    let mut chain = TestChain::local();
    chain.ok(
        "//Alice",
        Call::SetHyperparam {
            netuid: SN1,
            value: HyperparamValue::MaxAllowedUids(3),
        },
    );
    chain.ok(
        "//Alice",
        Call::SetHyperparam {
            netuid: SN1,
            value: HyperparamValue::ImmunityPeriod(1),
        },
    );
    chain.ok(
        "//Alice",
        Call::SetHyperparam {
            netuid: SN1,
            value: HyperparamValue::MinNonImmuneUids(0),
        },
    );
    chain.ok("//Charlie", register(SN1, "//Charlie//m1"));
    chain.ok("//Charlie", register(SN1, "//Charlie//m2"));
    chain.empty_blocks(2);
    chain.ok("//Dave", register(SN1, "//Dave//m3"));
    // m1 and m2 both have no emission; m1 registered first, so it goes.
    assert_eq!(chain.get::<UidOf>(&(SN1, id("//Charlie//m1"))), None);
    assert_eq!(chain.get::<UidOf>(&(SN1, id("//Dave//m3"))), Some(Uid(1)));
    assert_eq!(chain.get::<UidOf>(&(SN1, id("//Alice//hot"))), Some(Uid(0)));
    assert_eq!(chain.get::<Subnets>(&SN1).unwrap().n, 3);
}

#[test]
fn serving_checks_registration_addresses_and_rate_limit() {
    let mut chain = TestChain::local();
    chain.ok("//Charlie", register(SN1, "//Charlie//m1"));
    let serve = |ip: u128, port: u16| Call::ServeAxon {
        netuid: SN1,
        version: 1,
        ip,
        port,
        ip_type: 4,
        protocol: 0,
    };
    chain.ok("//Charlie//m1", serve(0x7f00_0001, 8091));
    let neuron = chain.get::<Neurons>(&(SN1, Uid(1))).unwrap();
    assert_eq!(neuron.axon.unwrap().port, 8091);
    // Free calls that fail are not included at all.
    assert_eq!(
        chain.free_call_error("//Charlie//m1", serve(0x7f00_0001, 0)),
        TxError::InvalidPort
    );
    assert_eq!(
        chain.free_call_error("//Dave", serve(0x0808_0808, 1)),
        TxError::HotKeyNotRegisteredInSubNet
    );
    assert_eq!(
        chain.free_call_error("//Charlie//m1", serve(0x0808_0808, 1)),
        TxError::ServingRateLimitExceeded
    );
}

#[test]
fn stake_round_trip_through_the_pool_pays_fees_and_keeps_invariants() {
    let mut chain = TestChain::local();
    chain.ok("//Charlie", add_stake("//Alice//hot", SN1, 10 * TAO));
    let pool = chain
        .get::<HotkeyPools>(&(SN1, id("//Alice//hot")))
        .unwrap();
    assert!(pool.alpha > 0);
    let alpha = tao_state::stake::value_of(pool.total_shares, &pool);
    assert_eq!(
        chain.err(
            "//Charlie",
            Call::RemoveStake {
                hotkey: id("//Alice//hot"),
                netuid: SN1,
                alpha: alpha + 1,
                limit: None
            }
        ),
        TxError::NotEnoughStakeToWithdraw
    );
    // Unstake in the same block as a second stake: no emission in between, so the round
    // trip can only cost (fees to the author, pool rounding).
    let before = chain.free("//Dave");
    let stake = chain.sign("//Dave", add_stake("//Alice//hot", SN1, 10 * TAO));
    let unstake = chain.sign_with(
        "//Dave",
        Call::UnstakeAll {
            hotkey: id("//Alice//hot"),
        },
        1,
    );
    chain.block(&[stake, unstake]);
    let receipts = &chain.last.as_ref().unwrap().receipts;
    assert!(receipts.iter().all(|r| r.result.is_ok()), "{receipts:?}");
    let after = chain.free("//Dave");
    assert!(after < before, "a round trip costs fees and slippage");
    assert!(after > before - TAO, "but not much");
    assert_eq!(
        chain.err("//Charlie", add_stake("//Alice//hot", SN1, 1)),
        TxError::AmountTooLow
    );
    assert_eq!(
        chain.err("//Charlie", add_stake("//Nobody", SN1, TAO)),
        TxError::HotKeyAccountNotExists
    );
}

#[test]
fn limit_prices_refuse_or_truncate_trades() {
    let mut chain = TestChain::local();
    let price_rao = 1; // far below the pool price: nothing can be bought under it
    let strict = Call::AddStake {
        hotkey: id("//Alice//hot"),
        netuid: SN1,
        amount_rao: 10 * TAO,
        limit: Some(PriceLimit {
            price_rao,
            allow_partial: false,
        }),
    };
    assert_eq!(chain.err("//Charlie", strict), TxError::SlippageTooHigh);
    let reserve = economy(&chain, SN1).tao_reserve_rao;
    let generous = Call::AddStake {
        hotkey: id("//Alice//hot"),
        netuid: SN1,
        amount_rao: reserve,
        limit: Some(PriceLimit {
            price_rao: 1_100_000_000,
            allow_partial: true,
        }),
    };
    let before = chain.free("//Charlie");
    let receipt = chain.ok("//Charlie", generous);
    let spent = before - chain.free("//Charlie") - receipt.fee_rao;
    assert!(
        spent < reserve,
        "a partial fill spends less than asked: {spent}"
    );
}

#[test]
fn move_swap_and_transfer_stake() {
    let mut chain = TestChain::local();
    chain.ok("//Charlie", add_stake("//Alice//hot", SN1, 10 * TAO));
    let held = |chain: &TestChain, hotkey: &str, netuid: NetUid| {
        chain
            .get::<HotkeyPools>(&(netuid, id(hotkey)))
            .map_or(0, |p| p.alpha)
    };
    let alpha = held(&chain, "//Alice//hot", SN1);
    let half = alpha / 2;
    chain.ok(
        "//Charlie",
        Call::MoveStake {
            origin_hotkey: id("//Alice//hot"),
            dest_hotkey: id("//Bob//hot"),
            origin_netuid: SN1,
            dest_netuid: SN1,
            alpha: half,
        },
    );
    assert_eq!(held(&chain, "//Bob//hot", SN1), half);
    chain.ok(
        "//Charlie",
        Call::SwapStake {
            hotkey: id("//Bob//hot"),
            origin_netuid: SN1,
            dest_netuid: NetUid(2),
            alpha: half,
            limit: None,
        },
    );
    assert_eq!(held(&chain, "//Bob//hot", SN1), 0);
    assert!(held(&chain, "//Bob//hot", NetUid(2)) > 0);
    let same = Call::SwapStake {
        hotkey: id("//Bob//hot"),
        origin_netuid: NetUid(2),
        dest_netuid: NetUid(2),
        alpha: 1,
        limit: None,
    };
    assert_eq!(chain.err("//Charlie", same), TxError::SameNetuid);
    let rest = held(&chain, "//Alice//hot", SN1);
    chain.ok(
        "//Charlie",
        Call::TransferStake {
            dest_coldkey: id("//Dave"),
            hotkey: id("//Alice//hot"),
            origin_netuid: SN1,
            dest_netuid: SN1,
            alpha: rest,
        },
    );
    let dave = tao_state::stake::alpha_of(
        &tao_state::overlay::Overlay::new(&chain.store),
        SN1,
        &id("//Alice//hot"),
        &id("//Dave"),
    )
    .unwrap();
    assert_eq!(dave, rest);
}

#[test]
fn takes_rise_with_a_rate_limit_and_fall_freely() {
    let mut chain = TestChain::local();
    assert_eq!(
        chain.err(
            "//Alice",
            Call::IncreaseTake {
                hotkey: id("//Alice//hot"),
                take: 11_796
            }
        ),
        TxError::DelegateTakeTooLow
    );
    chain.ok(
        "//Alice",
        Call::DecreaseTake {
            hotkey: id("//Alice//hot"),
            take: 1_000,
        },
    );
    chain.ok(
        "//Alice",
        Call::IncreaseTake {
            hotkey: id("//Alice//hot"),
            take: 2_000,
        },
    );
    assert_eq!(
        chain.err(
            "//Alice",
            Call::IncreaseTake {
                hotkey: id("//Alice//hot"),
                take: 3_000
            }
        ),
        TxError::DelegateTxRateLimitExceeded
    );
    assert_eq!(
        chain.err(
            "//Bob",
            Call::DecreaseTake {
                hotkey: id("//Alice//hot"),
                take: 0
            }
        ),
        TxError::NonAssociatedColdKey
    );
    assert_eq!(
        chain.err(
            "//Alice",
            Call::IncreaseTake {
                hotkey: id("//Alice//hot"),
                take: 20_000
            }
        ),
        TxError::DelegateTakeTooHigh
    );
}

#[test]
fn hyperparameters_respect_origin_bounds_and_owner_limits() {
    let mut chain = TestChain::local();
    let set = |value| Call::SetHyperparam { netuid: SN1, value };
    assert_eq!(
        chain.err("//Bob", set(HyperparamValue::Kappa(1))),
        TxError::NotSubnetOwner
    );
    assert_eq!(
        chain.err("//Alice", set(HyperparamValue::RevealPeriodEpochs(0))),
        TxError::InvalidValue
    );
    // Alice is also sudo on the local chain: sudo may set anything, without rate limits.
    chain.ok("//Alice", set(HyperparamValue::MaxAllowedValidators(8)));
    chain.ok(
        "//Bob",
        Call::SetHyperparam {
            netuid: NetUid(2),
            value: HyperparamValue::Kappa(100),
        },
    );
    let again = Call::SetHyperparam {
        netuid: NetUid(2),
        value: HyperparamValue::Kappa(200),
    };
    assert_eq!(chain.err("//Bob", again), TxError::TxRateLimitExceeded);
    let sudo_only = Call::SetHyperparam {
        netuid: NetUid(2),
        value: HyperparamValue::MaxAllowedValidators(3),
    };
    assert_eq!(chain.err("//Bob", sudo_only), TxError::NotOwnerSettable);
    // An owner's tempo is at least the live minimum; sudo may go below it (local networks).
    let owner_tempo = |tempo| Call::SetHyperparam {
        netuid: NetUid(2),
        value: HyperparamValue::Tempo(tempo),
    };
    assert_eq!(
        chain.err("//Bob", owner_tempo(MIN_OWNER_TEMPO - 1)),
        TxError::InvalidValue
    );
    // Outside the admin freeze window (tempo 10 here) the minimum itself is accepted.
    let mut accepted = None;
    for _ in 0..10 {
        match chain.submit("//Bob", owner_tempo(MIN_OWNER_TEMPO)).result {
            Err(TxError::AdminActionProhibitedDuringWeightsWindow) => chain.empty_blocks(1),
            result => {
                accepted = Some(result);
                break;
            }
        }
    }
    assert_eq!(accepted, Some(Ok(())));
    chain.ok("//Alice", owner_tempo(10));
    assert_eq!(
        chain.err("//Bob", Call::SudoDissolveNetwork { netuid: SN1 }),
        TxError::BadOrigin
    );
}

#[test]
fn sudo_dissolve_pays_stakers_and_removes_the_subnet() {
    let mut chain = TestChain::local();
    chain.ok("//Charlie", add_stake("//Bob//hot", NetUid(2), 10 * TAO));
    let before = chain.free("//Charlie");
    chain.ok("//Alice", Call::SudoDissolveNetwork { netuid: NetUid(2) });
    // Gone from the live subnets at once; its stakers are paid by the next block's cleanup.
    assert!(chain.get::<Subnets>(&NetUid(2)).is_none());
    assert!(chain.get::<Cleanups>(&NetUid(2)).is_some());
    assert_eq!(chain.free("//Charlie"), before);
    chain.empty_blocks(1);
    assert!(chain.get::<Cleanups>(&NetUid(2)).is_none());
    assert!(chain.free("//Charlie") > before);
}

fn weights(uids: Vec<u16>, values: Vec<u16>) -> Call {
    Call::SetWeights {
        netuid: SN1,
        uids,
        values,
        version_key: 0,
    }
}

#[test]
fn set_weights_validates_in_the_live_order_and_stores_a_max_upscaled_row() {
    let mut chain = TestChain::local();
    chain.ok("//Charlie", register(SN1, "//Charlie//m1"));
    chain.ok("//Charlie", register(SN1, "//Charlie//m2"));
    let owner = "//Alice//hot";
    let fails = |chain: &mut TestChain, who: &str, call: Call| chain.free_call_error(who, call);
    assert_eq!(
        fails(&mut chain, owner, weights(vec![1, 2], vec![1])),
        TxError::WeightVecNotEqualSize
    );
    assert_eq!(
        fails(&mut chain, owner, weights(vec![1, 2, 0, 1], vec![1; 4])),
        TxError::UidsLengthExceedUidsInSubNet
    );
    assert_eq!(
        fails(&mut chain, "//Dave", weights(vec![1], vec![1])),
        TxError::HotKeyNotRegisteredInSubNet
    );
    assert_eq!(
        fails(&mut chain, "//Charlie//m1", weights(vec![2], vec![1])),
        TxError::NeuronNoValidatorPermit
    );
    assert_eq!(
        fails(&mut chain, owner, weights(vec![1, 1], vec![1, 2])),
        TxError::DuplicateUids
    );
    assert_eq!(
        fails(&mut chain, owner, weights(vec![1, 7], vec![1, 2])),
        TxError::UidVecContainInvalidOne
    );
    chain.ok(owner, weights(vec![1, 2], vec![1, 2]));
    assert_eq!(
        chain.get::<Weights>(&(SN1, Uid(0))).unwrap(),
        vec![(1, 32768), (2, 65535)]
    );
    // A neuron may always weight itself.
    chain.ok("//Charlie//m1", weights(vec![1], vec![5]));
}

#[test]
fn commit_reveal_round_trip() {
    let mut chain = TestChain::local();
    chain.ok(
        "//Alice",
        Call::SetHyperparam {
            netuid: SN1,
            value: HyperparamValue::CommitRevealEnabled(true),
        },
    );
    chain.ok("//Charlie", register(SN1, "//Charlie//m1"));
    let owner = "//Alice//hot";
    let (uids, values, salt) = (vec![1u16], vec![10u16], vec![1u16, 2, 3]);
    let hash = commit_hash(&id(owner), SN1, &uids, &values, &salt, 0);
    chain.ok(owner, Call::CommitWeights { netuid: SN1, hash });
    let reveal = Call::RevealWeights {
        netuid: SN1,
        uids: uids.clone(),
        values: values.clone(),
        salt: salt.clone(),
        version_key: 0,
    };
    assert_eq!(
        chain.free_call_error(owner, reveal.clone()),
        TxError::RevealTooEarly
    );
    // One epoch later (tempo 10) the reveal is due.
    let epoch = economy(&chain, SN1).epoch_index;
    while economy(&chain, SN1).epoch_index == epoch {
        chain.empty_blocks(1);
    }
    chain.ok(owner, reveal);
    assert_eq!(
        chain.get::<Weights>(&(SN1, Uid(0))).unwrap(),
        vec![(1, 65535)]
    );
}

#[test]
fn sudo_sets_globals_and_a_full_chain_prunes_the_cheapest_subnet() {
    let mut chain = TestChain::local();
    let mut globals = chain.get::<tao_state::schema::Globals>(&()).unwrap();
    globals.subnet_limit = 2;
    let set = Call::SudoSetGlobals {
        params: globals.clone(),
    };
    assert_eq!(chain.err("//Bob", set.clone()), TxError::BadOrigin);
    // A fee nobody could pay would also make its own correction unpayable: refused.
    let mut unpayable = globals.clone();
    unpayable.base_fee_rao = u64::MAX;
    assert_eq!(
        chain.err("//Alice", Call::SudoSetGlobals { params: unpayable }),
        TxError::InvalidValue
    );
    chain.ok("//Alice", set);
    // Two subnets exist and none is immune on the local chain: the one with the lowest
    // moving price (ties: registered first) makes room.
    let prices = |chain: &TestChain| {
        (
            economy(chain, SN1).moving_price_bits,
            economy(chain, NetUid(2)).moving_price_bits,
        )
    };
    let (p1, p2) = prices(&chain);
    let victim = if p2 < p1 { NetUid(2) } else { SN1 };
    chain.ok(
        "//Charlie",
        Call::RegisterNetwork {
            hotkey: id("//Charlie//hot"),
            identity: None,
        },
    );
    // The victim is being cleaned: the new subnet takes another free netuid.
    assert!(chain.get::<Subnets>(&victim).is_none());
    assert!(chain.get::<Cleanups>(&victim).is_some());
    let info = chain.get::<Subnets>(&NetUid(3)).unwrap();
    assert_eq!(info.owner_coldkey, id("//Charlie"));
    chain.empty_blocks(1);
    assert!(
        chain.get::<Cleanups>(&victim).is_none(),
        "cleaned in a block"
    );
    globals.network_immunity_period = 1_000_000;
    chain.ok("//Alice", Call::SudoSetGlobals { params: globals });
    let refused = Call::RegisterNetwork {
        hotkey: id("//Dave//hot"),
        identity: None,
    };
    assert_eq!(chain.err("//Dave", refused), TxError::SubnetLimitReached);
}

#[test]
fn register_network_with_identity_and_owner_set_validator_minimum_and_query_price() {
    let mut chain = TestChain::local();
    let identity = tao_types::tx::SubnetIdentity {
        name: b"forecast".to_vec(),
        ..Default::default()
    };
    chain.ok(
        "//Charlie",
        Call::RegisterNetwork {
            hotkey: id("//Charlie//hot"),
            identity: Some(identity.clone()),
        },
    );
    assert_eq!(
        chain.get::<Subnets>(&NetUid(3)).unwrap().identity,
        Some(identity)
    );
    // A minimum validator stake above everyone's stake leaves only the owner with a permit.
    chain.ok("//Dave", register(SN1, "//Dave//v"));
    chain.ok("//Dave", add_stake("//Dave//v", SN1, 5 * TAO));
    let run_epoch = |chain: &mut TestChain| {
        let epoch = economy(chain, SN1).epoch_index;
        while economy(chain, SN1).epoch_index == epoch {
            chain.empty_blocks(1);
        }
    };
    run_epoch(&mut chain);
    let uid = chain.get::<UidOf>(&(SN1, id("//Dave//v"))).unwrap();
    assert!(chain.get::<Neurons>(&(SN1, uid)).unwrap().validator_permit);
    chain.ok(
        "//Alice",
        Call::SetHyperparam {
            netuid: SN1,
            value: HyperparamValue::MinValidatorStake(1_000 * TAO),
        },
    );
    chain.ok(
        "//Alice",
        Call::SetHyperparam {
            netuid: SN1,
            value: HyperparamValue::QueryPrice(1_000),
        },
    );
    assert_eq!(chain.get::<Hparams>(&SN1).unwrap().query_price_rao, 1_000);
    run_epoch(&mut chain);
    assert!(!chain.get::<Neurons>(&(SN1, uid)).unwrap().validator_permit);
}

#[test]
fn a_new_subnet_is_priced_like_the_others_and_emits_while_prices_warm_up() {
    let mut chain = TestChain::local();
    chain.empty_blocks(20);
    chain.ok(
        "//Charlie",
        Call::RegisterNetwork {
            hotkey: id("//Charlie//hot"),
            identity: None,
        },
    );
    let netuid = NetUid(3);
    chain.ok("//Charlie", Call::StartCall { netuid });
    let price = |e: &Economy| e.tao_reserve_rao as f64 / e.alpha_reserve as f64;
    let (new, old) = (economy(&chain, netuid), economy(&chain, SN1));
    let ratio = price(&new) / price(&old);
    assert!(
        (0.1..10.0).contains(&ratio),
        "new pool priced at {ratio}× subnet 1"
    );
    chain.empty_blocks(3);
    assert_eq!(
        economy(&chain, netuid).alpha_out_emission,
        TAO,
        "one alpha per block"
    );
}
