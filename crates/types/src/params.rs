//! Chain-wide and per-subnet parameters, with the live network's defaults
//! (`reference/subtensor.md` §2.6). A chain spec can override any of them.

use parity_scale_codec::{Decode, Encode};
use serde::{Deserialize, Serialize};
use tao_primitives::AccountId;

/// One TAO in rao.
pub const RAO_PER_TAO: u64 = 1_000_000_000;

/// Shortest tempo a subnet owner may set, blocks (the live chain's `MinTempo`; sudo may set
/// any tempo from 1, as local test networks do).
pub const MIN_OWNER_TEMPO: u16 = 360;

/// Highest [`GlobalParams::base_fee_rao`]: one TAO, so a mistaken fee can always be fixed by a
/// sudo transaction that still pays it.
pub const MAX_BASE_FEE_RAO: u64 = RAO_PER_TAO;
/// Highest [`GlobalParams::byte_fee_rao`]: a largest (16 KiB) transaction then pays at most
/// 16 TAO in byte fees.
pub const MAX_BYTE_FEE_RAO: u64 = RAO_PER_TAO / 1_024;
/// Highest [`GlobalParams::weight_fee_rao`]: the heaviest transaction a default block takes
/// (0.35 s of weight) then pays at most 350 TAO in weight fees.
pub const MAX_WEIGHT_FEE_RAO: u64 = 1_000;
/// Lowest [`GlobalParams::max_block_weight`]: 10 ms, room for any constant-cost call (so a
/// sudo correction always fits a block) and a full 4 096-entry weight row.
pub const MIN_BLOCK_WEIGHT: u64 = 10_000_000;
/// Highest [`GlobalParams::max_block_weight`]: 60 s, a bound the sums of weights cannot
/// overflow near.
pub const MAX_BLOCK_WEIGHT: u64 = 60_000_000_000;
/// Highest [`GlobalParams::existential_deposit_rao`]: one TAO.
pub const MAX_EXISTENTIAL_DEPOSIT_RAO: u64 = RAO_PER_TAO;

/// Parameters that hold for the whole chain.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct GlobalParams {
    /// The account allowed to call sudo setters and `sudo` dissolve; `None` disables sudo.
    #[serde(skip)]
    pub sudo: Option<AccountId>,
    /// Fee every ordinary transaction pays, rao.
    pub base_fee_rao: u64,
    /// Fee per byte of the encoded transaction, rao.
    pub byte_fee_rao: u64,
    /// Smallest free balance an account may keep (below it the account is reaped), rao.
    pub existential_deposit_rao: u64,
    /// Smallest TAO amount of a stake operation (`DefaultMinStake`), rao.
    pub min_stake_rao: u64,
    /// Smallest lock cost of a new subnet, rao.
    pub network_min_lock_rao: u64,
    /// Blocks over which the lock cost decays back to the minimum.
    pub network_lock_reduction_interval: u64,
    /// Blocks between two subnet registrations (chain-wide).
    pub network_rate_limit: u64,
    /// Blocks a new subnet cannot be pruned.
    pub network_immunity_period: u64,
    /// Most subnets besides the root subnet.
    pub subnet_limit: u16,
    /// Blocks a subnet owner waits after registering before `start_call`.
    pub start_call_delay: u64,
    /// Weight of root stake on every subnet (`TaoWeight`), as a fraction of `u64::MAX`.
    pub tao_weight: u64,
    /// Default delegate take, u16 proportion (18 %).
    pub default_take: u16,
    /// Smallest delegate take.
    pub min_take: u16,
    /// Largest delegate take.
    pub max_take: u16,
    /// Blocks between two take increases of one hotkey.
    pub take_rate_limit: u64,
    /// Subnet owner's share of alpha emission, u16 proportion (18 %).
    pub subnet_owner_cut: u16,
    /// Most epochs that run in one block; the rest are deferred.
    pub max_epochs_per_block: u16,
    /// Blocks before an epoch in which owners cannot change hyperparameters.
    pub admin_freeze_window: u64,
    /// Tempos between two changes of one hyperparameter by a subnet owner.
    pub owner_hparam_rate_limit_tempos: u64,
    /// Smoothing of the subnet moving price (`SubnetMovingAlpha`), fraction of `u64::MAX`.
    pub subnet_moving_alpha: u64,
    /// Blocks for the moving-price smoothing to reach half strength.
    pub ema_price_halving_blocks: u64,
    /// Stake (rao of alpha) a hotkey needs to set weights (`StakeThreshold`).
    pub stake_threshold: u64,
    /// Accept loopback and private endpoints in `serve_axon` (local networks only).
    pub allow_local_endpoints: bool,
    /// Most weight a block's transactions may carry, units of 1 ns of reference work
    /// ([`crate::metering`]).
    pub max_block_weight: u64,
    /// Fee per unit of a call's weight above [`crate::metering::LIGHT_WEIGHT`], rao.
    pub weight_fee_rao: u64,
}

impl Default for GlobalParams {
    fn default() -> Self {
        GlobalParams {
            sudo: None,
            base_fee_rao: 100_000,
            byte_fee_rao: 1_000,
            existential_deposit_rao: 500,
            min_stake_rao: 2_000_000,
            network_min_lock_rao: 1_000 * RAO_PER_TAO,
            network_lock_reduction_interval: 14 * 7_200,
            network_rate_limit: 7_200,
            network_immunity_period: 1_296_000,
            subnet_limit: 128,
            start_call_delay: 7 * 7_200,
            tao_weight: u64::MAX / 100 * 18,
            default_take: 11_796,
            min_take: 0,
            max_take: 11_796,
            take_rate_limit: 216_000,
            subnet_owner_cut: 11_796,
            max_epochs_per_block: 2,
            admin_freeze_window: 10,
            owner_hparam_rate_limit_tempos: 2,
            subnet_moving_alpha: 55_340_232_221_129,
            ema_price_halving_blocks: 201_600,
            stake_threshold: 0,
            allow_local_endpoints: false,
            // Half the 1 s block time of local networks and the node's default (the other
            // half is left for finality), less the worst per-block work outside transactions:
            // the coinbase over 128 subnets and two epochs (`max_epochs_per_block`) of
            // 256-uid subnets measure ≈ 10 ms (`blocks` bench: 128 epochs ≈ 200 ms), bounded
            // here by 100 ms for larger subnets, and the subnet-cleanup share (≤ 50 ms,
            // `tao_state::cleanup`): 500 − 100 − 50 = 350 ms. Chains with longer blocks may
            // raise it.
            max_block_weight: 350_000_000,
            // A transfer pays ≈ 250 000 rao for ≈ 25 µs of work: 10 rao per unit.
            weight_fee_rao: 10,
        }
    }
}

impl GlobalParams {
    /// Checks the values a chain can run with, or names the first field that is out of range:
    /// fees and the existential deposit small enough that the sudo key can always pay for the
    /// next correction, takes ordered `min ≤ default ≤ max`, room for at least one subnet and
    /// one epoch per block, smoothing periods that are not zero, and a block weight budget
    /// that takes any constant-cost call (a sudo correction always fits).
    pub fn check(&self) -> Result<(), &'static str> {
        let checks = [
            (self.base_fee_rao <= MAX_BASE_FEE_RAO, "base_fee_rao"),
            (self.byte_fee_rao <= MAX_BYTE_FEE_RAO, "byte_fee_rao"),
            (
                self.existential_deposit_rao <= MAX_EXISTENTIAL_DEPOSIT_RAO,
                "existential_deposit_rao",
            ),
            (self.weight_fee_rao <= MAX_WEIGHT_FEE_RAO, "weight_fee_rao"),
            (
                (MIN_BLOCK_WEIGHT..=MAX_BLOCK_WEIGHT).contains(&self.max_block_weight),
                "max_block_weight",
            ),
            (self.min_take <= self.default_take, "min_take"),
            (self.default_take <= self.max_take, "default_take"),
            (self.subnet_limit > 0, "subnet_limit"),
            (self.max_epochs_per_block > 0, "max_epochs_per_block"),
            (
                self.ema_price_halving_blocks > 0,
                "ema_price_halving_blocks",
            ),
            (
                self.network_lock_reduction_interval > 0,
                "network_lock_reduction_interval",
            ),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, field)) => Err(field),
            None => Ok(()),
        }
    }
}

/// The hyperparameters of one subnet. Defaults are those of a newly registered live subnet.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Hyperparams {
    /// Blocks between epochs.
    pub tempo: u16,
    /// Consensus quantile κ, u16 proportion.
    pub kappa: u16,
    /// Bond penalty β for weights above consensus, u16 proportion.
    pub bonds_penalty: u16,
    /// Bond EMA retention, millionths (900 000 keeps 90 %).
    pub bonds_moving_average: u64,
    /// Yuma 3 bonds (absolute, per-element EMA) instead of original Yuma.
    pub yuma3: bool,
    /// Liquid alpha (per-bond EMA rate from consensus distance).
    pub liquid_alpha: bool,
    /// Lowest liquid alpha, u16 proportion.
    pub alpha_low: u16,
    /// Highest liquid alpha, u16 proportion.
    pub alpha_high: u16,
    /// Steepness of the liquid-alpha sigmoid.
    pub alpha_sigmoid_steepness: i16,
    /// Most neurons (UIDs).
    pub max_allowed_uids: u16,
    /// Most validator permits.
    pub max_allowed_validators: u16,
    /// Fewest weights a validator sets (capped at the subnet size).
    pub min_allowed_weights: u16,
    /// Largest single normalised weight, u16 proportion (65 535: no limit).
    pub max_weight_limit: u16,
    /// Blocks a new neuron cannot be replaced.
    pub immunity_period: u16,
    /// Blocks without weights after which a validator is inactive.
    pub activity_cutoff: u16,
    /// Blocks between two weight updates of one neuron.
    pub weights_rate_limit: u64,
    /// Smallest weights version key accepted (0: any).
    pub weights_version_key: u64,
    /// Weights must be committed and revealed.
    pub commit_reveal_enabled: bool,
    /// Epochs after the commit's epoch in which it must be revealed.
    pub reveal_period_epochs: u64,
    /// Lowest registration burn, rao.
    pub min_burn_rao: u64,
    /// Highest registration burn, rao.
    pub max_burn_rao: u64,
    /// Blocks for the registration burn to halve.
    pub burn_half_life: u16,
    /// Burn multiplier per registration, thousandths (1 260: ×1.26).
    pub burn_increase_mult_milli: u64,
    /// Blocks between two `serve_axon`/`serve_prometheus` of one neuron.
    pub serving_rate_limit: u64,
    /// Whether new neurons may register.
    pub registration_allowed: bool,
    /// Whether stake on this subnet may be given to another coldkey.
    pub transfers_enabled: bool,
    /// Owner hotkeys kept from replacement.
    pub immune_owner_uids: u16,
    /// Fewest non-immune neurons before an immune one may be replaced.
    pub min_non_immune_uids: u16,
    /// Pool fee, u16 proportion of the input.
    pub swap_fee_rate: u16,
    /// Smallest stake (rao of alpha) a validator needs for a permit (Tao extension; 0: none).
    pub min_validator_stake: u64,
    /// What a consumer pays per query through the gateway, rao (Tao extension).
    pub query_price_rao: u64,
}

impl Default for Hyperparams {
    fn default() -> Self {
        Hyperparams {
            tempo: 360,
            kappa: 32_767,
            bonds_penalty: 65_535,
            bonds_moving_average: 900_000,
            yuma3: true,
            liquid_alpha: false,
            alpha_low: 45_875,
            alpha_high: 58_982,
            alpha_sigmoid_steepness: 1_000,
            max_allowed_uids: 256,
            max_allowed_validators: 64,
            min_allowed_weights: 1,
            max_weight_limit: u16::MAX,
            immunity_period: 5_000,
            activity_cutoff: 5_000,
            weights_rate_limit: 100,
            weights_version_key: 0,
            commit_reveal_enabled: true,
            reveal_period_epochs: 1,
            min_burn_rao: 500_000,
            max_burn_rao: 100 * RAO_PER_TAO,
            burn_half_life: 360,
            burn_increase_mult_milli: 1_260,
            serving_rate_limit: 50,
            registration_allowed: true,
            transfers_enabled: true,
            immune_owner_uids: 1,
            min_non_immune_uids: 10,
            swap_fee_rate: 33,
            min_validator_stake: 0,
            query_price_rao: 0,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_pass_and_each_bound_names_its_field() {
        assert_eq!(GlobalParams::default().check(), Ok(()));
        type Edit = fn(&mut GlobalParams);
        let edits: [(Edit, &str); 9] = [
            (
                |p| p.weight_fee_rao = MAX_WEIGHT_FEE_RAO + 1,
                "weight_fee_rao",
            ),
            (
                |p| p.max_block_weight = MIN_BLOCK_WEIGHT - 1,
                "max_block_weight",
            ),
            (|p| p.max_block_weight = u64::MAX, "max_block_weight"),
            (|p| p.base_fee_rao = MAX_BASE_FEE_RAO + 1, "base_fee_rao"),
            (|p| p.byte_fee_rao = u64::MAX, "byte_fee_rao"),
            (
                |p| p.existential_deposit_rao = u64::MAX,
                "existential_deposit_rao",
            ),
            (|p| p.min_take = p.default_take + 1, "min_take"),
            (|p| p.max_take = p.default_take - 1, "default_take"),
            (|p| p.max_epochs_per_block = 0, "max_epochs_per_block"),
        ];
        for (edit, field) in edits {
            let mut params = GlobalParams::default();
            edit(&mut params);
            assert_eq!(params.check(), Err(field));
        }
        let at_the_bounds = GlobalParams {
            base_fee_rao: MAX_BASE_FEE_RAO,
            byte_fee_rao: MAX_BYTE_FEE_RAO,
            existential_deposit_rao: MAX_EXISTENTIAL_DEPOSIT_RAO,
            weight_fee_rao: MAX_WEIGHT_FEE_RAO,
            max_block_weight: MIN_BLOCK_WEIGHT,
            ..GlobalParams::default()
        };
        assert_eq!(at_the_bounds.check(), Ok(()));
    }
}
