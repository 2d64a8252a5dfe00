//! Weights: `set_weights` in the live validation order, and hash commit-reveal.

use std::collections::BTreeSet;

use tao_primitives::{AccountId, Hash256, NetUid};

use crate::ctx::Ctx;
use crate::error::TxError;
use crate::events::Event;
use crate::schema::{Neurons, UidOf, WeightCommit, WeightCommits, Weights};
use crate::stake;
use crate::weights::commit_hash;

/// Most unrevealed commits one hotkey may hold on one subnet.
pub const MAX_UNREVEALED_COMMITS: usize = 10;

/// Which checks a weight submission skips.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Path {
    /// `set_weights`: refused when commit-reveal is on; rate-limited.
    Direct,
    /// A reveal: commit-reveal already rate-limited the commit.
    Reveal,
}

/// `set_weights`, signed by the hotkey.
pub fn set_weights(
    ctx: &mut Ctx<'_>,
    hotkey: &AccountId,
    netuid: NetUid,
    uids: &[u16],
    values: &[u16],
    version_key: u64,
) -> Result<(), TxError> {
    store_weights(ctx, hotkey, netuid, uids, values, version_key, Path::Direct)
}

/// Validates and stores a weight row, in the live order (`reference/subtensor.md` §6.2).
fn store_weights(
    ctx: &mut Ctx<'_>,
    hotkey: &AccountId,
    netuid: NetUid,
    uids: &[u16],
    values: &[u16],
    version_key: u64,
    path: Path,
) -> Result<(), TxError> {
    if netuid == NetUid::ROOT {
        return Err(TxError::CanNotSetRootNetworkWeights);
    }
    let info = ctx.subnet(netuid)?;
    let params = ctx.hparams(netuid)?;
    if path == Path::Direct && params.commit_reveal_enabled {
        return Err(TxError::CommitRevealEnabled);
    }
    if uids.len() != values.len() {
        return Err(TxError::WeightVecNotEqualSize);
    }
    if uids.len() > usize::from(info.n) {
        return Err(TxError::UidsLengthExceedUidsInSubNet);
    }
    let uid = ctx
        .state
        .get::<UidOf>(&(netuid, *hotkey))?
        .ok_or(TxError::HotKeyNotRegisteredInSubNet)?;
    let is_owner = info.owner_hotkey == *hotkey;
    let threshold = ctx.globals.stake_threshold;
    if !is_owner
        && stake::weighted_stake(&ctx.state, netuid, hotkey, ctx.globals.tao_weight)? < threshold
    {
        return Err(TxError::NotEnoughStakeToSetWeights);
    }
    if params.weights_version_key != 0 && version_key < params.weights_version_key {
        return Err(TxError::IncorrectWeightVersionKey);
    }
    let mut neuron = ctx
        .state
        .get::<Neurons>(&(netuid, uid))?
        .ok_or(TxError::HotKeyNotRegisteredInSubNet)?;
    // A neuron that has not set weights since registering may set them at once.
    let too_fast = ctx.height.saturating_sub(neuron.last_update) < params.weights_rate_limit
        && neuron.last_update != neuron.registered_at;
    if path == Path::Direct && too_fast {
        return Err(TxError::SettingWeightsTooFast);
    }
    let self_weight = uids == [uid.0];
    if !self_weight && !is_owner && !neuron.validator_permit {
        return Err(TxError::NeuronNoValidatorPermit);
    }
    if uids.iter().collect::<BTreeSet<_>>().len() != uids.len() {
        return Err(TxError::DuplicateUids);
    }
    if uids.iter().any(|dest| *dest >= info.n) {
        return Err(TxError::UidVecContainInvalidOne);
    }
    let min_weights = usize::from(params.min_allowed_weights.min(info.n));
    if !self_weight && uids.len() < min_weights {
        return Err(TxError::WeightVecLengthIsLow);
    }
    let row = tao_yuma::storage::weight_row(uids, values);
    check_max_weight(&row, params.max_weight_limit)?;
    ctx.state.put::<Weights>(&(netuid, uid), &row);
    neuron.last_update = ctx.height;
    ctx.state.put::<Neurons>(&(netuid, uid), &neuron);
    ctx.emit(Event::WeightsSet { netuid, uid: uid.0 });
    Ok(())
}

/// No normalised weight may exceed `limit` (65 535 disables the check).
fn check_max_weight(row: &[(u16, u16)], limit: u16) -> Result<(), TxError> {
    if limit == u16::MAX {
        return Ok(());
    }
    let sum: u64 = row.iter().map(|(_, w)| u64::from(*w)).sum();
    let max = row.iter().map(|(_, w)| u64::from(*w)).max().unwrap_or(0);
    if max.saturating_mul(u64::from(u16::MAX)) > u64::from(limit).saturating_mul(sum) {
        return Err(TxError::MaxWeightExceeded);
    }
    Ok(())
}

/// Commits to a weight row by its [`commit_hash`].
pub fn commit_weights(
    ctx: &mut Ctx<'_>,
    hotkey: &AccountId,
    netuid: NetUid,
    hash: Hash256,
) -> Result<(), TxError> {
    if netuid == NetUid::ROOT {
        return Err(TxError::CanNotSetRootNetworkWeights);
    }
    let params = ctx.hparams(netuid)?;
    if !params.commit_reveal_enabled {
        return Err(TxError::CommitRevealDisabled);
    }
    ctx.state
        .get::<UidOf>(&(netuid, *hotkey))?
        .ok_or(TxError::HotKeyNotRegisteredInSubNet)?;
    let epoch = ctx.economy(netuid)?.epoch_index;
    let mut commits = live_commits(ctx, netuid, hotkey, epoch, params.reveal_period_epochs)?;
    if commits
        .last()
        .is_some_and(|last| ctx.height.saturating_sub(last.block) < params.weights_rate_limit)
    {
        return Err(TxError::CommittingWeightsTooFast);
    }
    if commits.len() >= MAX_UNREVEALED_COMMITS {
        return Err(TxError::TooManyUnrevealedCommits);
    }
    commits.push(WeightCommit {
        hash,
        block: ctx.height,
        epoch,
    });
    ctx.state.put::<WeightCommits>(&(netuid, *hotkey), &commits);
    ctx.emit(Event::WeightsCommitted {
        netuid,
        hotkey: *hotkey,
    });
    Ok(())
}

/// Reveals a committed row in the epoch `reveal_period_epochs` after its commit; the row is
/// then validated like `set_weights` (without its rate limit) and stored.
#[allow(clippy::too_many_arguments)] // the call's fields, passed through
pub fn reveal_weights(
    ctx: &mut Ctx<'_>,
    hotkey: &AccountId,
    netuid: NetUid,
    uids: &[u16],
    values: &[u16],
    salt: &[u16],
    version_key: u64,
) -> Result<(), TxError> {
    let params = ctx.hparams(netuid)?;
    if !params.commit_reveal_enabled {
        return Err(TxError::CommitRevealDisabled);
    }
    let epoch = ctx.economy(netuid)?.epoch_index;
    let stored = ctx
        .state
        .get_or_default::<WeightCommits>(&(netuid, *hotkey))?;
    if stored.is_empty() {
        return Err(TxError::NoWeightsCommitFound);
    }
    let hash = commit_hash(hotkey, netuid, uids, values, salt, version_key);
    let position = stored
        .iter()
        .position(|commit| commit.hash == hash)
        .ok_or(TxError::InvalidRevealCommitHashNotMatch)?;
    let commit = stored
        .get(position)
        .cloned()
        .ok_or(TxError::InvalidRevealCommitHashNotMatch)?;
    let reveal_epoch = commit.epoch.saturating_add(params.reveal_period_epochs);
    if epoch < reveal_epoch {
        return Err(TxError::RevealTooEarly);
    }
    if epoch > reveal_epoch {
        return Err(TxError::ExpiredWeightCommit);
    }
    store_weights(ctx, hotkey, netuid, uids, values, version_key, Path::Reveal)?;
    // The revealed commit and every older one are done.
    let remaining: Vec<WeightCommit> = stored
        .into_iter()
        .skip(position.saturating_add(1))
        .collect();
    if remaining.is_empty() {
        ctx.state.remove::<WeightCommits>(&(netuid, *hotkey));
    } else {
        ctx.state
            .put::<WeightCommits>(&(netuid, *hotkey), &remaining);
    }
    Ok(())
}

/// A hotkey's commits that can still be revealed (expired ones dropped).
fn live_commits(
    ctx: &Ctx<'_>,
    netuid: NetUid,
    hotkey: &AccountId,
    epoch: u64,
    reveal_period: u64,
) -> Result<Vec<WeightCommit>, TxError> {
    let commits = ctx
        .state
        .get_or_default::<WeightCommits>(&(netuid, *hotkey))?;
    Ok(commits
        .into_iter()
        .filter(|c| c.epoch.saturating_add(reveal_period) >= epoch)
        .collect())
}
