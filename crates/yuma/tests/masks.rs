//! The epoch's masks, one at a time, on small hand-made subnets: what the live chain ignores,
//! we ignore. (The sparse and dense epochs share these masks, so `sparse == dense` cannot check
//! them; these tests do.)

use tao_primitives::{I32F32, I64F64};
use tao_yuma::{EpochInput, EpochOutput, EpochParams, epoch, epoch_dense};

/// Validators 0 (stake 3) and 1 (stake 1) weight miners 2 and 3 equally; all permitted.
fn subnet() -> EpochInput {
    EpochInput {
        params: EpochParams {
            max_allowed_validators: 2,
            ..EpochParams::default()
        },
        current_block: 100,
        last_tempo_block: 91,
        emission: 1_000_000,
        stake: [3, 1, 0, 0].map(I64F64::from_num).to_vec(),
        last_update: vec![100, 100, 0, 0],
        block_at_registration: vec![0; 4],
        validator_permit: vec![true, true, false, false],
        weights: vec![
            vec![(2, 65535), (3, 65535)],
            vec![(2, 65535), (3, 65535)],
            vec![],
            vec![],
        ],
        bonds: vec![
            vec![(2, 30000), (3, 30000)],
            vec![(2, 30000), (3, 30000)],
            vec![],
            vec![],
        ],
        ..EpochInput::default()
    }
}

fn run(input: &EpochInput) -> EpochOutput {
    let out = epoch(input).expect("valid input");
    assert_eq!(
        Ok(&out),
        epoch_dense(input).as_ref(),
        "sparse and dense disagree"
    );
    out
}

fn half() -> I32F32 {
    I32F32::from_num(0.5)
}

#[test]
fn baseline_splits_incentive_evenly() {
    let out = run(&subnet());
    assert_eq!(out.incentive[2], half());
    assert_eq!(out.incentive[3], half());
    assert_eq!(out.validator_permit, vec![true, true, false, false]);
}

#[test]
fn weights_set_before_a_miner_registered_are_ignored() {
    let mut input = subnet();
    input.block_at_registration[3] = 100; // uid 3 re-registered at the validators' update block
    let out = run(&input);
    assert_eq!(out.incentive[3], 0);
    assert_eq!(out.incentive[2], I32F32::from_num(1));
}

#[test]
fn bonds_to_a_newly_registered_miner_are_dropped() {
    let mut input = subnet();
    input.block_at_registration[3] = 91; // registered at the first block after the last epoch
    input.last_update = vec![100, 100, 0, 0];
    let fresh = run(&input).bonds_dense();
    input.block_at_registration[3] = 90; // one block earlier: the old bonds carry over
    let carried = run(&input).bonds_dense();
    assert!(
        fresh[0][3] < carried[0][3],
        "{} !< {}",
        fresh[0][3],
        carried[0][3]
    );
    assert_eq!(fresh[0][2], carried[0][2]);
}

#[test]
fn commit_older_than_the_miner_masks_its_weights() {
    let mut input = subnet();
    input.block_at_registration[3] = 50;
    input.weight_commit_blocks = Some(vec![40, u64::MAX, u64::MAX, u64::MAX]);
    let out = run(&input);
    // Validator 0 (3/4 of the stake) committed before uid 3 registered: only validator 1's
    // weight on uid 3 counts, which is less than κ, so consensus on uid 3 is 0.
    assert_eq!(out.consensus[3], 0);
    input.weight_commit_blocks = Some(vec![50, u64::MAX, u64::MAX, u64::MAX]);
    assert!(
        run(&input).consensus[3] > 0,
        "a commit in the registration block still counts"
    );
}

#[test]
fn self_weight_is_masked_except_the_owners() {
    let mut input = subnet();
    input.weights[0] = vec![(0, 65535), (2, 65535)];
    let out = run(&input);
    assert_eq!(out.incentive[0], 0, "self-weight must not count");
    input.owner_uid = Some(0);
    let out = run(&input);
    assert!(out.incentive[0] > 0, "the owner's self-weight counts");
}

#[test]
fn stake_below_the_threshold_counts_as_zero_except_the_owners() {
    let mut input = subnet();
    input.params.stake_threshold = 2;
    let out = run(&input);
    assert_eq!(out.stake[1], 0);
    assert!(!out.validator_permit[1]);
    input.owner_uid = Some(1);
    let out = run(&input);
    assert!(out.stake[1] > 0 && out.validator_permit[1]);
}

#[test]
fn inactive_validators_have_no_active_stake() {
    let mut input = subnet();
    input.params.activity_cutoff = 10;
    input.last_update[1] = 89; // 89 + 10 < 100
    let out = run(&input);
    assert!(!out.active[1]);
    assert_eq!(out.active_stake[1], 0);
    assert_eq!(out.active_stake[0], I32F32::from_num(1));
    input.last_update[1] = 90; // 90 + 10 = 100: still active
    assert!(run(&input).active[1]);
}

#[test]
fn permits_come_from_the_previous_epoch_and_go_to_the_top_k() {
    let mut input = subnet();
    input.validator_permit = vec![true, false, false, false];
    input.params.max_allowed_validators = 1;
    let out = run(&input);
    // Validator 1 had no permit: its weights and stake do not count this epoch.
    assert_eq!(out.active_stake[1], 0);
    assert_eq!(out.validator_trust[1], 0);
    // Next epoch's single permit goes to the largest stake.
    assert_eq!(out.validator_permit, vec![true, false, false, false]);
    // A row that lost its permit has its bonds cleared; one that never had one keeps them.
    assert_eq!(out.bonds[1], input.bonds[1]);
    input.validator_permit = vec![true, true, false, false];
    assert!(run(&input).bonds[1].is_empty());
}
