//! Property tests: the invariants of an epoch over random subnets.
//!
//! proptest prints the failing input and its seed (`proptest-regressions/`) on failure.

use proptest::prelude::*;
use tao_primitives::{I32F32, I64F64};
use tao_yuma::{EpochInput, EpochOutput, EpochParams, Workspace, YumaError, epoch, epoch_dense};

/// A random but valid subnet of `n` neurons, with zeros, ties, stale weights and odd params.
fn valid_input(max_n: usize) -> impl Strategy<Value = EpochInput> {
    (0..=max_n).prop_flat_map(|n| {
        let uid = 0..n.max(1) as u16;
        let row =
            proptest::collection::btree_map(uid, prop_oneof![Just(0u16), any::<u16>()], 0..=n);
        let rows =
            proptest::collection::vec(row.prop_map(|m| m.into_iter().collect::<Vec<_>>()), n);
        let stake = proptest::collection::vec(
            prop_oneof![Just(0u64), 0u64..10, 0u64..1_000_000_000_000],
            n,
        );
        let blocks = proptest::collection::vec(0u64..20, n);
        (
            params(),
            (
                10u64..40,
                0u64..40,
                prop_oneof![Just(0u64), Just(1_000_000_000u64), any::<u64>()],
            ),
            (
                stake,
                blocks.clone(),
                blocks.clone(),
                proptest::collection::vec(any::<bool>(), n),
            ),
            (rows.clone(), rows),
            (
                proptest::option::of(0..n.max(1) as u16),
                proptest::option::of(proptest::collection::vec(
                    prop_oneof![Just(u64::MAX), 0u64..20],
                    n,
                )),
            ),
        )
            .prop_map(
                move |(
                    params,
                    (current_block, last_tempo_block, emission),
                    (stake, last_update, registered, permits),
                    (weights, bonds),
                    (owner, commits),
                )| {
                    EpochInput {
                        params,
                        current_block,
                        last_tempo_block,
                        emission,
                        owner_uid: owner.filter(|o| usize::from(*o) < n),
                        stake: stake.into_iter().map(I64F64::from_num).collect(),
                        last_update,
                        block_at_registration: registered,
                        validator_permit: permits,
                        weights,
                        bonds,
                        weight_commit_blocks: commits,
                    }
                },
            )
    })
}

fn params() -> impl Strategy<Value = EpochParams> {
    (
        (
            any::<u16>(),
            prop_oneof![Just(0u16), Just(u16::MAX), any::<u16>()],
            // α = 1 and α = 0 leave the fast bond kernels to the general ones.
            prop_oneof![Just(0u64), Just(1_000_000), 0u64..=1_000_000],
        ),
        (
            any::<bool>(),
            any::<bool>(),
            any::<u16>(),
            any::<u16>(),
            any::<i16>(),
        ),
        (
            0u16..20,
            prop_oneof![Just(5_000u64), 0u64..30],
            prop_oneof![Just(0u64), 0u64..100],
        ),
    )
        .prop_map(
            |(
                (kappa, bonds_penalty, bma),
                (yuma3, liquid_alpha, a, b, steepness),
                (max_validators, cutoff, threshold),
            )| {
                EpochParams {
                    kappa,
                    bonds_penalty,
                    bonds_moving_average: bma,
                    yuma3,
                    liquid_alpha,
                    alpha_low: a.min(b),
                    alpha_high: a.max(b),
                    alpha_sigmoid_steepness: steepness,
                    max_allowed_validators: max_validators,
                    activity_cutoff: cutoff,
                    stake_threshold: threshold,
                }
            },
        )
}

fn total(values: &[I32F32]) -> I32F32 {
    values.iter().fold(I32F32::from_num(0), |a, v| a + *v)
}

/// A normalised vector sums to 1 up to one flooring unit per element, or is all zero.
fn assert_sums_to_one_or_zero(values: &[I32F32], what: &str) -> Result<(), TestCaseError> {
    let sum = total(values);
    let slack = I32F32::from_bits(values.len() as i64);
    prop_assert!(
        sum == I32F32::from_num(0)
            || (sum <= I32F32::from_num(1) && sum >= I32F32::from_num(1) - slack),
        "{what} sums to {sum}: {values:?}"
    );
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn sparse_equals_dense(input in valid_input(12)) {
        prop_assert_eq!(epoch(&input), epoch_dense(&input));
    }

    /// A reused workspace carries nothing from one epoch into the next.
    #[test]
    fn reused_workspace_equals_fresh_epochs(inputs in proptest::collection::vec(valid_input(12), 1..6)) {
        let mut workspace = Workspace::default();
        for input in &inputs {
            let fresh = Workspace::default().epoch(input);
            prop_assert_eq!(&workspace.epoch(input), &fresh);
            // `epoch` works in this thread's workspace, which every earlier case used.
            prop_assert_eq!(&epoch(input), &fresh);
        }
    }

    #[test]
    fn incentive_and_dividends_are_distributions(input in valid_input(16)) {
        let out = epoch(&input).unwrap();
        assert_sums_to_one_or_zero(&out.incentive, "incentive")?;
        assert_sums_to_one_or_zero(&out.dividends, "dividends")?;
        assert_sums_to_one_or_zero(&out.stake, "stake")?;
        assert_sums_to_one_or_zero(&out.active_stake, "active stake")?;
    }

    #[test]
    fn emission_is_paid_out_up_to_flooring(input in valid_input(16)) {
        let out = epoch(&input).unwrap();
        let n = out.n() as u128;
        let paid: u128 = out.server_emission.iter().chain(&out.validator_emission).map(|e| u128::from(*e)).sum();
        let emission = u128::from(input.emission);
        prop_assert!(paid <= emission, "paid {paid} > emission {emission}");
        if out.stake.iter().any(|s| *s > 0) {
            // One rao of flooring per neuron, plus the 2^-32 flooring of each normalised share.
            let bound = n + ((emission * n) >> 32) + 1;
            prop_assert!(emission - paid <= bound, "paid {paid} of {emission}, shortfall over {bound}");
        }
    }

    #[test]
    fn deterministic_and_independent_of_row_order(input in valid_input(12)) {
        let first = epoch(&input).unwrap();
        prop_assert_eq!(format!("{first:?}"), format!("{:?}", epoch(&input).unwrap()));
        let mut reversed = input.clone();
        reversed.weights.iter_mut().chain(reversed.bonds.iter_mut()).for_each(|row| row.reverse());
        let again = epoch(&reversed).unwrap();
        // Stored bond rows of non-permitted neurons are returned as given; compare the rest.
        prop_assert_eq!(first.bonds_dense(), again.bonds_dense());
        prop_assert_eq!(EpochOutput { bonds: vec![], ..first }, EpochOutput { bonds: vec![], ..again });
    }

    #[test]
    fn outputs_stay_in_range(input in valid_input(16)) {
        let out = epoch(&input).unwrap();
        let one = I32F32::from_num(1);
        for v in out.consensus.iter().chain(&out.incentive).chain(&out.dividends).chain(&out.validator_trust) {
            prop_assert!(*v >= 0 && *v <= one, "{v} outside [0, 1]");
        }
        prop_assert_eq!(out.bonds.len(), out.n());
        for row in &out.bonds {
            prop_assert!(row.iter().all(|(j, _)| usize::from(*j) < out.n()));
        }
        let permits = out.validator_permit.iter().filter(|p| **p).count();
        let k = usize::from(input.params.max_allowed_validators);
        prop_assert!(out.n() < k || permits <= k + usize::from(input.owner_uid.is_some()), "{permits} permits for k = {k}");
    }

    /// Arbitrary shapes and uids never panic: the epoch either runs or names the problem.
    #[test]
    fn hostile_shapes_never_panic(
        stake in proptest::collection::vec(any::<i128>(), 0..6),
        lens in proptest::collection::vec(0usize..8, 4),
        rows in proptest::collection::vec(proptest::collection::vec((any::<u16>(), any::<u16>()), 0..10), 0..8),
        uids in proptest::collection::vec(0u16..8, 0..8),
        owner in proptest::option::of(any::<u16>()),
        params in params(),
    ) {
        let input = EpochInput {
            params,
            owner_uid: owner,
            stake: stake.into_iter().map(I64F64::from_bits).collect(),
            last_update: vec![1; lens[0]],
            block_at_registration: vec![0; lens[1]],
            validator_permit: vec![true; lens[2]],
            weights: rows.clone(),
            bonds: rows.iter().map(|r| r.iter().map(|(_, v)| (uids.first().copied().unwrap_or(0), *v)).collect()).collect(),
            ..EpochInput::default()
        };
        let _ = epoch(&input);
        let _ = epoch_dense(&input);
    }
}

/// A bond to a miner the validator omits decays exactly like one it weights zero
/// (docs/adr/002-yuma3-omitted-bonds-decay.md).
#[test]
fn omitted_miner_bond_decays_like_explicit_zero() {
    let base = EpochInput {
        params: EpochParams {
            max_allowed_validators: 2,
            ..EpochParams::default()
        },
        current_block: 10,
        last_tempo_block: 9,
        emission: 1_000_000_000,
        stake: vec![
            I64F64::from_num(3),
            I64F64::from_num(1),
            I64F64::from_num(0),
            I64F64::from_num(0),
        ],
        last_update: vec![10, 10, 0, 0],
        block_at_registration: vec![0; 4],
        validator_permit: vec![true, true, false, false],
        weights: vec![vec![(2, 65535), (3, 0)], vec![(2, 65535)], vec![], vec![]],
        bonds: vec![
            vec![(2, 30000), (3, 20000)],
            vec![(2, 30000), (3, 20000)],
            vec![],
            vec![],
        ],
        ..EpochInput::default()
    };
    let out = epoch(&base).unwrap();
    let bonds = out.bonds_dense();
    assert_eq!(
        bonds[0][3], bonds[1][3],
        "omitted and explicit-zero bonds must decay alike"
    );
    assert!(
        bonds[1][3] > 0 && bonds[1][3] < 20000,
        "bond decays, not dropped: {}",
        bonds[1][3]
    );
    assert_eq!(out, epoch_dense(&base).unwrap());
}

#[test]
fn empty_and_single_neuron_subnets() {
    let empty = epoch(&EpochInput::default()).unwrap();
    assert_eq!(empty.n(), 0);
    let one = EpochInput {
        emission: 100,
        stake: vec![I64F64::from_num(5)],
        last_update: vec![0],
        block_at_registration: vec![0],
        validator_permit: vec![true],
        weights: vec![vec![(0, 65535)]],
        bonds: vec![vec![]],
        ..EpochInput::default()
    };
    let out = epoch(&one).unwrap();
    // Self-weight is masked, so the lone validator is paid by stake.
    assert_eq!(out.validator_emission, vec![100]);
    assert_eq!(out.server_emission, vec![0]);
}

#[test]
fn invalid_inputs_name_the_problem() {
    let good = EpochInput {
        stake: vec![I64F64::from_num(1); 3],
        last_update: vec![0; 3],
        block_at_registration: vec![0; 3],
        validator_permit: vec![true; 3],
        weights: vec![vec![]; 3],
        bonds: vec![vec![]; 3],
        ..EpochInput::default()
    };
    assert!(epoch(&good).is_ok());
    let check = |mutate: &dyn Fn(&mut EpochInput), expected: YumaError| {
        let mut input = good.clone();
        mutate(&mut input);
        assert_eq!(epoch(&input), Err(expected.clone()));
        assert_eq!(epoch_dense(&input), Err(expected));
    };
    check(
        &|i| i.last_update.push(0),
        YumaError::LengthMismatch {
            field: "last_update",
            expected: 3,
            actual: 4,
        },
    );
    check(
        &|i| i.bonds.pop().map(drop).unwrap_or(()),
        YumaError::LengthMismatch {
            field: "bonds",
            expected: 3,
            actual: 2,
        },
    );
    check(
        &|i| i.weights[1] = vec![(3, 1)],
        YumaError::UidOutOfRange {
            field: "weights",
            row: 1,
            uid: 3,
            n: 3,
        },
    );
    check(
        &|i| i.bonds[2] = vec![(1, 1), (1, 2)],
        YumaError::DuplicateUid {
            field: "bonds",
            row: 2,
            uid: 1,
        },
    );
    check(
        &|i| i.weights[0] = vec![(0, 1), (1, 1), (2, 1), (0, 1)],
        YumaError::RowTooLong {
            field: "weights",
            row: 0,
            len: 4,
            n: 3,
        },
    );
    check(
        &|i| i.weight_commit_blocks = Some(vec![]),
        YumaError::LengthMismatch {
            field: "weight_commit_blocks",
            expected: 3,
            actual: 0,
        },
    );
    check(
        &|i| i.params.bonds_moving_average = 1_000_001,
        YumaError::InvalidParam {
            name: "bonds_moving_average",
            reason: "must be at most 1000000 (a proportion in millionths)",
        },
    );
    check(
        &|i| (i.params.alpha_low, i.params.alpha_high) = (2, 1),
        YumaError::InvalidParam {
            name: "alpha_low",
            reason: "must not exceed alpha_high",
        },
    );
}

/// A busy subnet: every neuron active and permitted, most weights set, bonds everywhere.
fn busy_input() -> impl Strategy<Value = EpochInput> {
    (4usize..40, params(), any::<u64>()).prop_flat_map(|(n, params, seed)| {
        let row = proptest::collection::vec(any::<u16>(), n);
        (
            proptest::collection::vec(row.clone(), n),
            proptest::collection::vec(row, n),
            proptest::collection::vec(1u64..1000, n),
        )
            .prop_map(move |(w, b, stake)| {
                let sparse = |m: Vec<Vec<u16>>, skip: u64| -> Vec<Vec<(u16, u16)>> {
                    m.into_iter()
                        .enumerate()
                        .map(|(i, r)| {
                            r.into_iter()
                                .enumerate()
                                .filter(|(j, _)| (seed >> ((i + j) % 64)) & skip != 0)
                                .map(|(j, v)| (j as u16, v))
                                .collect()
                        })
                        .collect()
                };
                EpochInput {
                    params: EpochParams {
                        max_allowed_validators: n as u16,
                        ..params.clone()
                    },
                    current_block: 5,
                    last_tempo_block: 4,
                    emission: 1_000_000_000,
                    owner_uid: None,
                    stake: stake.into_iter().map(I64F64::from_num).collect(),
                    last_update: vec![5; n],
                    block_at_registration: vec![0; n],
                    validator_permit: vec![true; n],
                    weights: sparse(w, 3),
                    bonds: sparse(b, 1),
                    weight_commit_blocks: None,
                }
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn sparse_equals_dense_on_busy_subnets(input in busy_input()) {
        prop_assert_eq!(epoch(&input), epoch_dense(&input));
    }
}

/// A wider subnet (64 to 199 columns, often more than one consensus block of 128),
/// validators weighting random subsets of miners with spread, tied, zero and maximal values,
/// some miners registered recently (masked weights, dropped bonds), zero and equal stakes.
fn wide_input() -> impl Strategy<Value = EpochInput> {
    (64usize..200, 1usize..48, params(), any::<u64>()).prop_flat_map(
        |(n, validators, params, seed)| {
            let value = prop_oneof![
                any::<u16>(),
                Just(0u16),
                Just(u16::MAX),
                (0u16..4).prop_map(|x| x * 16_000),
            ];
            let row = proptest::collection::vec(value, n);
            let stake = prop_oneof![Just(0u64), Just(1_000u64), 1u64..1_000_000];
            (
                proptest::collection::vec(row.clone(), validators),
                proptest::collection::vec(row, validators),
                proptest::collection::vec(stake, n),
                proptest::collection::vec(prop_oneof![9 => Just(0u64), 1 => 0u64..8], n),
            )
                .prop_map(move |(w, b, stake, registered)| {
                    let sparse = |m: &[Vec<u16>], salt: u64| -> Vec<Vec<(u16, u16)>> {
                        (0..n)
                            .map(|i| {
                                m.get(i).map_or_else(Vec::new, |r| {
                                    r.iter()
                                        .enumerate()
                                        .filter(|(j, _)| {
                                            let h = (i as u64 * 131 + *j as u64 * 7 + salt)
                                                .wrapping_mul(seed | 1);
                                            (h >> 61) != 0 // keeps about 7 in 8
                                        })
                                        .map(|(j, v)| (j as u16, *v))
                                        .collect()
                                })
                            })
                            .collect()
                    };
                    EpochInput {
                        params: EpochParams {
                            max_allowed_validators: validators as u16,
                            ..params.clone()
                        },
                        current_block: 10,
                        last_tempo_block: 5,
                        emission: 1_000_000_000,
                        owner_uid: None,
                        stake: stake.into_iter().map(I64F64::from_num).collect(),
                        last_update: (0..n).map(|i| if i < validators { 9 } else { 0 }).collect(),
                        block_at_registration: registered,
                        validator_permit: (0..n).map(|i| i < validators).collect(),
                        weights: sparse(&w, 1),
                        bonds: sparse(&b, 2),
                        weight_commit_blocks: None,
                    }
                })
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Several consensus blocks, and a second epoch whose stored bonds line up with the
    /// weights exactly (the steady state the sparse sweeps special-case).
    #[test]
    fn sparse_equals_dense_on_wide_subnets(input in wide_input()) {
        let first = epoch(&input).unwrap();
        prop_assert_eq!(&first, &epoch_dense(&input).unwrap());
        let steady = EpochInput { bonds: first.bonds.clone(), ..input };
        let mut workspace = Workspace::default();
        let second = workspace.epoch(&steady).unwrap();
        prop_assert_eq!(&second, &epoch_dense(&steady).unwrap());
        prop_assert_eq!(workspace.epoch(&steady).unwrap(), second);
        // Stored bonds on exactly the weighted miners, all carried over.
        let aligned = EpochInput {
            bonds: steady.weights.iter().map(|row| row.iter().map(|&(j, v)| (j, v.rotate_left(3))).collect()).collect(),
            block_at_registration: vec![0; steady.stake.len()],
            ..steady
        };
        prop_assert_eq!(workspace.epoch(&aligned).unwrap(), epoch_dense(&aligned).unwrap());
        // Near the steady state: some bonds decayed away, the rest line up with the weights.
        let subset = EpochInput {
            bonds: aligned.bonds.iter().map(|row| row.iter().copied().filter(|&(j, v)| (j ^ v) % 5 != 0).collect()).collect(),
            ..aligned
        };
        prop_assert_eq!(workspace.epoch(&subset).unwrap(), epoch_dense(&subset).unwrap());
    }
}
