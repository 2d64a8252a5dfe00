//! Call weights and the fee rule (ADR 017).
//!
//! A call's weight is its work in units of 1 ns on the reference machine (the project's 2-core
//! host), computed before it runs, identically by the block builder and every verifier: a
//! base per call kind plus per-item terms read from the call (weight rows) or from O(1)
//! counters of the state ([`WeightInputs`]). A block's transactions may weigh at most
//! [`GlobalParams::max_block_weight`]; a call above [`LIGHT_WEIGHT`] pays
//! [`GlobalParams::weight_fee_rao`] per unit above it ([`fee_rao`]).
//!
//! ## Derivation of the constants
//!
//! `cargo bench -p tao-state --bench calls -- kinds` dispatches one call of each kind on a
//! fresh overlay of a 256-uid started subnet, including the lattice-root work of its writes;
//! `--bench blocks` measures whole blocks. 2026-12-05, mimalloc, two runs on the 2-core host
//! shared with three other builds; the minimum of the runs is taken (µs):
//!
//! | kind | dispatch + root | | kind | dispatch + root |
//! |---|---|---|---|---|
//! | transfer | 4.1 | | set_hyperparam | 3.0 |
//! | transfer_all | 4.5 | | sudo_set_globals | 0.8 |
//! | add_stake | 12.2 | | burned_register (not full)¹ | 1.3 |
//! | remove_stake | 13.9 | | serve_axon | 3.0 |
//! | move_stake | 11.8 | | decrease_take | 1.4 |
//! | swap_stake | 12.9 | | register_network (no prune) | 13.2 |
//! | transfer_stake | 5.9 | | unstake_all, one subnet | 12.3 |
//!
//! ¹ the bench accepts a refusal for this case, so it may have measured the refusal path; it
//! is weighted with the pool and subnet operations ([`POOL_WEIGHT`], 14 µs allowed).
//!
//! * Per transaction, outside the call ([`TX_BASE_WEIGHT`]): a block of 10 000 transfers
//!   executes in 255 ms (`blocks`, README, a quieter run), 25.5 µs each, of which the call is
//!   ≈ 4 µs: ≈ 21 µs of batched signature check (≈ 19 µs), nonce, fee, receipt and hash. On
//!   2026-12-05 with other builds running the same block took 349–460 ms (two runs; 35 µs each at
//!   best), within the transfer's weight of 52 µs.
//! * Constant-cost kinds fall in three classes, each weighted at its heaviest member plus the
//!   base, × 2 for the noise of a shared machine and slower hosts: transfers
//!   ([`TRANSFER_WEIGHT`], 2 × (21 + 4.5)), small record updates ([`SMALL_WEIGHT`],
//!   2 × (21 + 3)) and pool or subnet operations ([`POOL_WEIGHT`], 2 × (21 + 14)).
//!   [`LIGHT_WEIGHT`], what the base fee pays for, is the heaviest class, so the fee of every
//!   constant-cost call is exactly what it was (no weight fee).
//! * `set_weights`: 256 → 4 096 entries measured per entry ([`WEIGHT_ENTRY_WEIGHT`], × 2).
//! * `burned_register` into a full subnet: 0.22 ms at 256 uids, 3.9 ms at 4 096 (`calls`
//!   `register_full`): ≈ 0.95 µs per uid, × 2 ([`REGISTER_UID_WEIGHT`]).
//! * `unstake_all`: 1.2 ms over 128 subnets (`calls` `unstake_all`): ≈ 9.4 µs per subnet,
//!   × 2 ([`UNSTAKE_SUBNET_WEIGHT`]), charged for every subnet the chain may hold
//!   (`subnet_limit` + root): the positions are not counted before the call runs.
//! * `register_network`: scans every subnet (free netuid, seed price, prune candidate): a
//!   term per possible subnet ([`NETWORK_SUBNET_WEIGHT`]); pruning itself only queues the
//!   subnet's cleanup, which the per-block step does within its own share.

use crate::params::GlobalParams;
use crate::tx::Call;

/// Work outside the call of every transaction: batched signature check, nonce, fee, receipt
/// (21 µs × 2).
pub const TX_BASE_WEIGHT: u64 = 42_000;
/// `transfer`, `transfer_all`: the base and ≈ 4.5 µs, × 2.
pub const TRANSFER_WEIGHT: u64 = 52_000;
/// Calls of a few reads and writes — hyperparameters, globals, `start_call`, takes, serving,
/// weight commits — the base and ≤ 3 µs, × 2; also the base of `set_weights` and
/// `reveal_weights` before their entries.
pub const SMALL_WEIGHT: u64 = 48_000;
/// Calls through a pool or a subnet's records — stake operations, registrations, the
/// dissolve's removal (its cleanup runs per block) — the base and ≤ 14 µs, × 2.
pub const POOL_WEIGHT: u64 = 70_000;
/// The weight the base and byte fees pay for: the heaviest constant-cost call
/// ([`POOL_WEIGHT`]). Only weight above it pays [`GlobalParams::weight_fee_rao`], so every
/// call whose work does not grow keeps its fee exactly.
pub const LIGHT_WEIGHT: u64 = POOL_WEIGHT;
/// Per element of a weight row (`set_weights`, `reveal_weights`: uids, values and salt):
/// 7.9 ns measured (256 → 4 096 entries), × 2 and rounded up.
pub const WEIGHT_ENTRY_WEIGHT: u64 = 20;
/// Per neuron of a full subnet a registration chooses the uid to replace among.
pub const REGISTER_UID_WEIGHT: u64 = 2_000;
/// Per subnet `unstake_all` may sell on.
pub const UNSTAKE_SUBNET_WEIGHT: u64 = 20_000;
/// Per subnet a network registration scans.
pub const NETWORK_SUBNET_WEIGHT: u64 = 2_000;

/// What a call's weight reads from the state besides the call: O(1) counters, read by the
/// state machine at the transaction's place in the block (and by clients from the views).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WeightInputs {
    /// For [`Call::BurnedRegister`]: the neurons the uid to replace is chosen among — the
    /// subnet's `n` when it is full (`n ≥ max_allowed_uids`), 0 when a new uid is appended.
    pub replace_among: u16,
}

/// The weight of `call` (see the module documentation for the terms).
pub fn call_weight(call: &Call, inputs: &WeightInputs, globals: &GlobalParams) -> u64 {
    let subnets = u64::from(globals.subnet_limit).saturating_add(1);
    let entries = |rows: &[&[u16]]| -> u64 {
        rows.iter()
            .map(|row| u64::try_from(row.len()).unwrap_or(u64::MAX))
            .fold(0u64, u64::saturating_add)
            .saturating_mul(WEIGHT_ENTRY_WEIGHT)
    };
    // Every kind is named: a new call kind does not compile until it has a weight.
    match call {
        Call::Transfer { .. } | Call::TransferAll { .. } => TRANSFER_WEIGHT,
        Call::StartCall { .. }
        | Call::SetHyperparam { .. }
        | Call::SudoSetGlobals { .. }
        | Call::ServeAxon { .. }
        | Call::ServePrometheus { .. }
        | Call::IncreaseTake { .. }
        | Call::DecreaseTake { .. }
        | Call::CommitWeights { .. } => SMALL_WEIGHT,
        Call::SudoDissolveNetwork { .. }
        | Call::AddStake { .. }
        | Call::RemoveStake { .. }
        | Call::MoveStake { .. }
        | Call::SwapStake { .. }
        | Call::TransferStake { .. } => POOL_WEIGHT,
        Call::RegisterNetwork { .. } => {
            POOL_WEIGHT.saturating_add(subnets.saturating_mul(NETWORK_SUBNET_WEIGHT))
        }
        Call::BurnedRegister { .. } => POOL_WEIGHT
            .saturating_add(u64::from(inputs.replace_among).saturating_mul(REGISTER_UID_WEIGHT)),
        Call::UnstakeAll { .. } => {
            POOL_WEIGHT.saturating_add(subnets.saturating_mul(UNSTAKE_SUBNET_WEIGHT))
        }
        Call::SetWeights { uids, values, .. } => {
            SMALL_WEIGHT.saturating_add(entries(&[uids, values]))
        }
        Call::RevealWeights {
            uids, values, salt, ..
        } => SMALL_WEIGHT.saturating_add(entries(&[uids, values, salt])),
    }
}

/// The fee of a transaction of `tx_bytes` bytes (its signed encoding) carrying `call` of
/// `weight`, rao: `base_fee + byte_fee · tx_bytes + weight_fee · max(0, weight −
/// LIGHT_WEIGHT)`, or 0 for a free call.
pub fn fee_rao(call: &Call, tx_bytes: usize, weight: u64, globals: &GlobalParams) -> u64 {
    if call.is_free() {
        return 0;
    }
    let bytes = u64::try_from(tx_bytes).unwrap_or(u64::MAX);
    globals
        .base_fee_rao
        .saturating_add(globals.byte_fee_rao.saturating_mul(bytes))
        .saturating_add(
            globals
                .weight_fee_rao
                .saturating_mul(weight.saturating_sub(LIGHT_WEIGHT)),
        )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::arithmetic_side_effects)]
    use super::*;
    use crate::tx::HyperparamValue;
    use tao_primitives::{AccountId, Hash256, NetUid};

    /// One call of every kind (the `match` in [`call_weight`] names them all; this list is
    /// checked against the codec indices so a new kind without a sample fails here).
    pub(crate) fn every_kind() -> Vec<Call> {
        let who = AccountId([7; 32]);
        let netuid = NetUid(1);
        vec![
            Call::Transfer {
                dest: who,
                amount_rao: 1,
            },
            Call::TransferAll { dest: who },
            Call::RegisterNetwork {
                hotkey: who,
                identity: None,
            },
            Call::StartCall { netuid },
            Call::SetHyperparam {
                netuid,
                value: HyperparamValue::Kappa(1),
            },
            Call::SudoDissolveNetwork { netuid },
            Call::SudoSetGlobals {
                params: GlobalParams::default(),
            },
            Call::BurnedRegister {
                netuid,
                hotkey: who,
                limit_rao: 1,
            },
            Call::ServeAxon {
                netuid,
                version: 1,
                ip: 1,
                port: 1,
                ip_type: 4,
                protocol: 4,
            },
            Call::ServePrometheus {
                netuid,
                version: 1,
                ip: 1,
                port: 1,
                ip_type: 4,
            },
            Call::AddStake {
                hotkey: who,
                netuid,
                amount_rao: 1,
                limit: None,
            },
            Call::RemoveStake {
                hotkey: who,
                netuid,
                alpha: 1,
                limit: None,
            },
            Call::MoveStake {
                origin_hotkey: who,
                dest_hotkey: who,
                origin_netuid: netuid,
                dest_netuid: netuid,
                alpha: 1,
            },
            Call::SwapStake {
                hotkey: who,
                origin_netuid: netuid,
                dest_netuid: netuid,
                alpha: 1,
                limit: None,
            },
            Call::TransferStake {
                dest_coldkey: who,
                hotkey: who,
                origin_netuid: netuid,
                dest_netuid: netuid,
                alpha: 1,
            },
            Call::UnstakeAll { hotkey: who },
            Call::IncreaseTake {
                hotkey: who,
                take: 1,
            },
            Call::DecreaseTake {
                hotkey: who,
                take: 1,
            },
            Call::SetWeights {
                netuid,
                uids: vec![0],
                values: vec![1],
                version_key: 0,
            },
            Call::CommitWeights {
                netuid,
                hash: Hash256([0; 32]),
            },
            Call::RevealWeights {
                netuid,
                uids: vec![0],
                values: vec![1],
                salt: vec![1],
                version_key: 0,
            },
        ]
    }

    #[test]
    fn every_call_kind_has_a_sample_and_a_weight() {
        use parity_scale_codec::Encode;
        let samples = every_kind();
        // The codec index is the first byte of a call's encoding: the samples cover every
        // index the decoder accepts.
        let mut indices: Vec<u8> = samples
            .iter()
            .map(|call| call.encode().first().copied().unwrap_or(u8::MAX))
            .collect();
        indices.sort_unstable();
        indices.dedup();
        assert_eq!(indices.len(), samples.len(), "two samples of one kind");
        for index in 0..=u8::MAX {
            let decodes = <Call as parity_scale_codec::Decode>::decode(&mut &[index][..]);
            // A kind whose index is not sampled: its decoding fails on the missing fields,
            // never with "variant doesn't exist"; find it by the error text.
            let known = match decodes {
                Ok(_) => true,
                Err(error) => !format!("{error:?} {error}").contains("variant doesn't exist"),
            };
            assert_eq!(
                known,
                indices.contains(&index),
                "call index {index}: a kind without a sample (and a checked weight)"
            );
        }
        let globals = GlobalParams::default();
        for call in &samples {
            let weight = call_weight(call, &WeightInputs::default(), &globals);
            assert!(weight > TX_BASE_WEIGHT, "{call:?}: {weight}");
            let grows = matches!(
                call,
                Call::RegisterNetwork { .. }
                    | Call::BurnedRegister { .. }
                    | Call::UnstakeAll { .. }
                    | Call::SetWeights { .. }
                    | Call::RevealWeights { .. }
            );
            // The calls of constant cost are within what the base fee pays for (the others
            // grow past it: `light_calls_pay_the_old_fee_and_heavy_ones_pay_for_their_weight`).
            assert!(grows || weight <= LIGHT_WEIGHT, "{call:?}: {weight}");
        }
    }

    #[test]
    fn light_calls_pay_the_old_fee_and_heavy_ones_pay_for_their_weight() {
        let globals = GlobalParams::default();
        let transfer = Call::TransferAll {
            dest: AccountId([1; 32]),
        };
        let weight = call_weight(&transfer, &WeightInputs::default(), &globals);
        assert_eq!(
            fee_rao(&transfer, 150, weight, &globals),
            globals.base_fee_rao + 150 * globals.byte_fee_rao
        );
        let unstake = Call::UnstakeAll {
            hotkey: AccountId([1; 32]),
        };
        let weight = call_weight(&unstake, &WeightInputs::default(), &globals);
        assert_eq!(
            weight,
            POOL_WEIGHT + 129 * UNSTAKE_SUBNET_WEIGHT,
            "subnet_limit 128 and the root subnet"
        );
        assert_eq!(
            fee_rao(&unstake, 150, weight, &globals),
            globals.base_fee_rao
                + 150 * globals.byte_fee_rao
                + globals.weight_fee_rao * 129 * UNSTAKE_SUBNET_WEIGHT
        );
        let register = Call::BurnedRegister {
            netuid: NetUid(1),
            hotkey: AccountId([1; 32]),
            limit_rao: 1,
        };
        let full = WeightInputs {
            replace_among: 4_096,
        };
        assert_eq!(
            call_weight(&register, &full, &globals),
            POOL_WEIGHT + 4_096 * REGISTER_UID_WEIGHT
        );
        let row = Call::SetWeights {
            netuid: NetUid(1),
            uids: vec![0; 100],
            values: vec![1; 100],
            version_key: 0,
        };
        assert_eq!(
            call_weight(&row, &WeightInputs::default(), &globals),
            SMALL_WEIGHT + 200 * WEIGHT_ENTRY_WEIGHT
        );
        assert_eq!(
            fee_rao(&row, 500, u64::MAX, &globals),
            0,
            "free calls stay free"
        );
    }
}
