//! Hyperparameters (owner or sudo) and sudo-only chain administration.

use tao_primitives::{AccountId, NetUid};

use crate::ctx::Ctx;
use crate::error::TxError;
use crate::events::Event;
use crate::params::{GlobalParams, Hyperparams, MIN_OWNER_TEMPO};
use crate::schema::{Globals, HparamLastSet, Hparams};
use crate::tx::HyperparamValue;

/// Who is asking.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Origin {
    Sudo,
    Owner,
}

/// Sets one hyperparameter. Sudo may set any within its bounds at any time; the subnet owner
/// may set the owner-settable ones, once per `owner_hparam_rate_limit_tempos` tempos each,
/// and not in the last `admin_freeze_window` blocks before an epoch.
pub fn set_hyperparam(
    ctx: &mut Ctx<'_>,
    signer: &AccountId,
    netuid: NetUid,
    value: &HyperparamValue,
) -> Result<(), TxError> {
    let info = ctx.subnet(netuid)?;
    let origin = if ctx.globals.sudo == Some(*signer) {
        Origin::Sudo
    } else if info.owner_coldkey == *signer {
        Origin::Owner
    } else {
        return Err(TxError::NotSubnetOwner);
    };
    let mut params = ctx.hparams(netuid)?;
    let name = value.name();
    if origin == Origin::Owner {
        if !owner_settable(value) {
            return Err(TxError::NotOwnerSettable);
        }
        if matches!(value, HyperparamValue::Tempo(tempo) if *tempo < MIN_OWNER_TEMPO) {
            return Err(TxError::InvalidValue);
        }
        check_owner_window(ctx, netuid, &params, name)?;
    }
    apply(&mut params, value, info.n)?;
    ctx.state.put::<Hparams>(&netuid, &params);
    if origin == Origin::Owner {
        ctx.state
            .put::<HparamLastSet>(&(netuid, name.as_bytes().to_vec()), &ctx.height);
    }
    ctx.emit(Event::HyperparamSet {
        netuid,
        name: name.as_bytes().to_vec(),
    });
    Ok(())
}

/// Sudo replaces the chain-wide parameters (takes effect from the next block).
pub fn sudo_set_globals(
    ctx: &mut Ctx<'_>,
    signer: &AccountId,
    params: &GlobalParams,
) -> Result<(), TxError> {
    ensure_sudo(ctx, signer)?;
    params.check().map_err(|_| TxError::InvalidValue)?;
    ctx.state.put::<Globals>(&(), params);
    ctx.emit(Event::GlobalsSet);
    Ok(())
}

/// Sudo dissolves a subnet.
pub fn sudo_dissolve(ctx: &mut Ctx<'_>, signer: &AccountId, netuid: NetUid) -> Result<(), TxError> {
    ensure_sudo(ctx, signer)?;
    if netuid == NetUid::ROOT {
        return Err(TxError::RegistrationNotPermittedOnRootSubnet);
    }
    ctx.subnet(netuid)?;
    super::subnets::remove_subnet(ctx, netuid)
}

fn ensure_sudo(ctx: &Ctx<'_>, signer: &AccountId) -> Result<(), TxError> {
    if ctx.globals.sudo == Some(*signer) {
        Ok(())
    } else {
        Err(TxError::BadOrigin)
    }
}

fn check_owner_window(
    ctx: &Ctx<'_>,
    netuid: NetUid,
    params: &Hyperparams,
    name: &str,
) -> Result<(), TxError> {
    let tempo = u64::from(params.tempo);
    let last = ctx
        .state
        .get::<HparamLastSet>(&(netuid, name.as_bytes().to_vec()))?;
    let limit = ctx
        .globals
        .owner_hparam_rate_limit_tempos
        .saturating_mul(tempo);
    if last.is_some_and(|block| ctx.height.saturating_sub(block) < limit) {
        return Err(TxError::TxRateLimitExceeded);
    }
    let next_epoch = ctx.economy(netuid)?.last_epoch_block.saturating_add(tempo);
    if next_epoch.saturating_sub(ctx.height) <= ctx.globals.admin_freeze_window {
        return Err(TxError::AdminActionProhibitedDuringWeightsWindow);
    }
    Ok(())
}

/// Parameters the live chain lets owners set (`O/R` in `reference/subtensor.md` §1.8), plus
/// Tao's per-subnet validator minimum and query price.
fn owner_settable(value: &HyperparamValue) -> bool {
    use HyperparamValue as V;
    !matches!(
        value,
        V::MaxAllowedValidators(_)
            | V::WeightsRateLimit(_)
            | V::ActivityCutoff(_)
            | V::MaxWeightLimit(_)
    )
}

fn bounded<T: PartialOrd>(value: T, low: T, high: T) -> Result<T, TxError> {
    if value < low || value > high {
        Err(TxError::InvalidValue)
    } else {
        Ok(value)
    }
}

/// Writes `value` into `params` after checking its bounds; `n` is the subnet's size.
fn apply(params: &mut Hyperparams, value: &HyperparamValue, n: u16) -> Result<(), TxError> {
    use HyperparamValue as V;
    match *value {
        V::Tempo(v) => params.tempo = bounded(v, 1, 50_400)?,
        V::Kappa(v) => params.kappa = v,
        V::BondsPenalty(v) => params.bonds_penalty = v,
        V::BondsMovingAverage(v) => params.bonds_moving_average = bounded(v, 0, 1_000_000)?,
        V::Yuma3(v) => params.yuma3 = v,
        V::LiquidAlpha(v) => params.liquid_alpha = v,
        V::AlphaValues(low, high) => {
            // Live bounds: 0.01 ≤ low ≤ high ≤ 1 and high ≥ 0.8·65535 is not required here;
            // an inverted range would make the sigmoid decrease.
            params.alpha_low = bounded(low, 655, high)?;
            params.alpha_high = high;
        }
        V::AlphaSigmoidSteepness(v) => params.alpha_sigmoid_steepness = bounded(v, 0, i16::MAX)?,
        V::MaxAllowedUids(v) => params.max_allowed_uids = bounded(v, n.max(1), 4_096)?,
        V::MaxAllowedValidators(v) => {
            params.max_allowed_validators = bounded(v, 1, params.max_allowed_uids)?
        }
        V::MinAllowedWeights(v) => params.min_allowed_weights = v,
        V::MaxWeightLimit(v) => params.max_weight_limit = v,
        V::ImmunityPeriod(v) => params.immunity_period = v,
        V::ActivityCutoff(v) => params.activity_cutoff = bounded(v, 1, u16::MAX)?,
        V::WeightsRateLimit(v) => params.weights_rate_limit = v,
        V::WeightsVersionKey(v) => params.weights_version_key = v,
        V::CommitRevealEnabled(v) => params.commit_reveal_enabled = v,
        V::RevealPeriodEpochs(v) => params.reveal_period_epochs = bounded(v, 1, 100)?,
        V::MinBurn(v) => params.min_burn_rao = bounded(v, 0, params.max_burn_rao)?,
        V::MaxBurn(v) => params.max_burn_rao = bounded(v, params.min_burn_rao, u64::MAX)?,
        V::BurnHalfLife(v) => params.burn_half_life = bounded(v, 1, u16::MAX)?,
        V::BurnIncreaseMultMilli(v) => {
            params.burn_increase_mult_milli = bounded(v, 1_000, 100_000)?
        }
        V::ServingRateLimit(v) => params.serving_rate_limit = v,
        V::RegistrationAllowed(v) => params.registration_allowed = v,
        V::TransfersEnabled(v) => params.transfers_enabled = v,
        V::ImmuneOwnerUids(v) => params.immune_owner_uids = bounded(v, 1, params.max_allowed_uids)?,
        V::MinNonImmuneUids(v) => params.min_non_immune_uids = v,
        V::SwapFeeRate(v) => params.swap_fee_rate = bounded(v, 0, 10_000)?,
        V::MinValidatorStake(v) => params.min_validator_stake = v,
        V::QueryPrice(v) => params.query_price_rao = v,
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_parses_back_to_its_variant() {
        let samples = [
            ("tempo", "10"),
            ("kappa", "1"),
            ("bonds_penalty", "1"),
            ("bonds_moving_average", "1"),
            ("yuma3", "true"),
            ("liquid_alpha", "off"),
            ("alpha_values", "1000,2000"),
            ("alpha_sigmoid_steepness", "5"),
            ("max_allowed_uids", "9"),
            ("max_allowed_validators", "9"),
            ("min_allowed_weights", "1"),
            ("max_weight_limit", "1"),
            ("immunity_period", "1"),
            ("activity_cutoff", "1"),
            ("weights_rate_limit", "1"),
            ("weights_version_key", "1"),
            ("commit_reveal_enabled", "1"),
            ("reveal_period_epochs", "1"),
            ("min_burn", "1"),
            ("max_burn", "1"),
            ("burn_half_life", "1"),
            ("burn_increase_mult", "1200"),
            ("serving_rate_limit", "1"),
            ("registration_allowed", "false"),
            ("transfers_enabled", "0"),
            ("immune_owner_uids", "1"),
            ("min_non_immune_uids", "1"),
            ("swap_fee_rate", "1"),
            ("min_validator_stake", "1"),
            ("query_price", "1"),
        ];
        for (name, value) in samples {
            let parsed = HyperparamValue::parse(name, value);
            assert_eq!(
                parsed.as_ref().map(HyperparamValue::name),
                Ok(name),
                "{name}"
            );
        }
        assert!(HyperparamValue::parse("tempo", "-1").is_err());
        assert!(HyperparamValue::parse("yuma3", "maybe").is_err());
        assert!(HyperparamValue::parse("alpha_values", "5").is_err());
        assert!(HyperparamValue::parse("nope", "1").is_err());
    }
}
