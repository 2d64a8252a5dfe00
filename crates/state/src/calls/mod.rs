//! The calls a transaction can make, one module per area. Each call checks everything first
//! and returns a [`TxError`] without writing; the caller also rolls back any partial writes
//! of a failing call, so a failed transaction changes nothing but its fee.

pub mod admin;
pub mod balances;
pub mod delegation;
pub mod registration;
pub mod serving;
pub mod staking;
pub mod subnets;
pub mod weights;

use tao_primitives::AccountId;

use crate::ctx::Ctx;
use crate::error::TxError;
use crate::tx::Call;

/// Executes `call` signed by `signer`.
pub fn dispatch(ctx: &mut Ctx<'_>, signer: &AccountId, call: &Call) -> Result<(), TxError> {
    match call {
        Call::Transfer { dest, amount_rao } => balances::transfer(ctx, signer, dest, *amount_rao),
        Call::TransferAll { dest } => balances::transfer_all(ctx, signer, dest),
        Call::RegisterNetwork { hotkey, identity } => {
            subnets::register_network(ctx, signer, hotkey, identity.clone())
        }
        Call::StartCall { netuid } => subnets::start_call(ctx, signer, *netuid),
        Call::SetHyperparam { netuid, value } => admin::set_hyperparam(ctx, signer, *netuid, value),
        Call::SudoDissolveNetwork { netuid } => admin::sudo_dissolve(ctx, signer, *netuid),
        Call::SudoSetGlobals { params } => admin::sudo_set_globals(ctx, signer, params),
        Call::BurnedRegister {
            netuid,
            hotkey,
            limit_rao,
        } => registration::burned_register(ctx, signer, *netuid, hotkey, *limit_rao),
        Call::ServeAxon {
            netuid,
            version,
            ip,
            port,
            ip_type,
            protocol,
        } => {
            let endpoint = serving::endpoint(*version, *ip, *port, *ip_type, *protocol);
            serving::serve(ctx, signer, *netuid, endpoint, serving::Kind::Axon)
        }
        Call::ServePrometheus {
            netuid,
            version,
            ip,
            port,
            ip_type,
        } => {
            let endpoint = serving::endpoint(*version, *ip, *port, *ip_type, 0);
            serving::serve(ctx, signer, *netuid, endpoint, serving::Kind::Prometheus)
        }
        Call::AddStake {
            hotkey,
            netuid,
            amount_rao,
            limit,
        } => staking::add_stake(ctx, signer, hotkey, *netuid, *amount_rao, *limit),
        Call::RemoveStake {
            hotkey,
            netuid,
            alpha,
            limit,
        } => staking::remove_stake(ctx, signer, hotkey, *netuid, *alpha, *limit),
        Call::MoveStake {
            origin_hotkey,
            dest_hotkey,
            origin_netuid,
            dest_netuid,
            alpha,
        } => {
            let from = staking::Position {
                coldkey: *signer,
                hotkey: *origin_hotkey,
                netuid: *origin_netuid,
            };
            let to = staking::Position {
                coldkey: *signer,
                hotkey: *dest_hotkey,
                netuid: *dest_netuid,
            };
            staking::move_position(ctx, from, to, *alpha, None)
        }
        Call::SwapStake {
            hotkey,
            origin_netuid,
            dest_netuid,
            alpha,
            limit,
        } => {
            if origin_netuid == dest_netuid {
                return Err(TxError::SameNetuid);
            }
            let from = staking::Position {
                coldkey: *signer,
                hotkey: *hotkey,
                netuid: *origin_netuid,
            };
            let to = staking::Position {
                coldkey: *signer,
                hotkey: *hotkey,
                netuid: *dest_netuid,
            };
            staking::move_position(ctx, from, to, *alpha, *limit)
        }
        Call::TransferStake {
            dest_coldkey,
            hotkey,
            origin_netuid,
            dest_netuid,
            alpha,
        } => staking::transfer_stake(
            ctx,
            signer,
            dest_coldkey,
            hotkey,
            *origin_netuid,
            *dest_netuid,
            *alpha,
        ),
        Call::UnstakeAll { hotkey } => staking::unstake_all(ctx, signer, hotkey),
        Call::IncreaseTake { hotkey, take } => {
            delegation::increase_take(ctx, signer, hotkey, *take)
        }
        Call::DecreaseTake { hotkey, take } => {
            delegation::decrease_take(ctx, signer, hotkey, *take)
        }
        Call::SetWeights {
            netuid,
            uids,
            values,
            version_key,
        } => weights::set_weights(ctx, signer, *netuid, uids, values, *version_key),
        Call::CommitWeights { netuid, hash } => {
            weights::commit_weights(ctx, signer, *netuid, *hash)
        }
        Call::RevealWeights {
            netuid,
            uids,
            values,
            salt,
            version_key,
        } => weights::reveal_weights(ctx, signer, *netuid, uids, values, salt, *version_key),
    }
}
