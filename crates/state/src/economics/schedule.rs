//! When subnet epochs run (`subtensor.md` §3.7, vectors §8.4).
//!
//! Two rules exist. The live rule since dynamic tempo (HEAD) anchors each subnet on the block of
//! its last epoch; the legacy rule derives the schedule from the block number and netuid and
//! runs an epoch every `tempo + 1` blocks (the known off-by-one, subtensor issue #986). Both are
//! provided so the chain can select one; the legacy one is kept for comparison with old data.

/// Most blocks a subnet may go without an epoch before one is forced, whatever its state
/// (`BlocksSinceLastStep > MAX_TEMPO_BLOCKS`): one week of 12-second blocks.
pub const MAX_TEMPO_BLOCKS: u64 = 50_400;

/// Blocks until the next automatic epoch under the HEAD rule: `last_epoch_block + tempo − block`,
/// saturating at zero. A tempo of zero disables epochs ([`u64::MAX`]).
///
/// ```
/// use tao_state::economics::schedule::blocks_until_next_epoch;
/// assert_eq!(blocks_until_next_epoch(0, 10, 5), 5);
/// assert_eq!(blocks_until_next_epoch(0, 20, 21), 0);
/// assert_eq!(blocks_until_next_epoch(0, 0, 5), u64::MAX);
/// ```
pub fn blocks_until_next_epoch(last_epoch_block: u64, tempo: u16, block: u64) -> u64 {
    if tempo == 0 {
        return u64::MAX;
    }
    last_epoch_block
        .saturating_add(u64::from(tempo))
        .saturating_sub(block)
}

/// What [`should_run_epoch`] needs to know about one subnet at one block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EpochClock {
    /// The subnet's tempo; zero disables epochs.
    pub tempo: u16,
    /// The block being built.
    pub block: u64,
    /// `LastEpochBlock`: the block of the subnet's last epoch (or its stagger anchor).
    pub last_epoch_block: u64,
    /// `PendingEpochAt`: a block at or after which an epoch is due (owner trigger or a deferral
    /// from a full block); zero when none is pending.
    pub pending_epoch_at: u64,
    /// `BlocksSinceLastStep`: blocks since the subnet's last epoch actually ran.
    pub blocks_since_last_step: u64,
}

/// Whether the subnet's epoch is due this block (HEAD rule).
///
/// Due when the tempo is non-zero and any of: a pending trigger has been reached; more than
/// [`MAX_TEMPO_BLOCKS`] passed since the last step; or `block − last_epoch_block ≥ tempo`.
/// The per-block cap on epochs (`MaxEpochsPerBlock`) is applied by the caller.
///
/// ```
/// use tao_state::economics::schedule::{should_run_epoch, EpochClock};
/// let clock = EpochClock { tempo: 10, block: 10, ..EpochClock::default() };
/// assert!(should_run_epoch(&clock));
/// assert!(!should_run_epoch(&EpochClock { block: 9, ..clock }));
/// ```
pub fn should_run_epoch(clock: &EpochClock) -> bool {
    if clock.tempo == 0 {
        return false;
    }
    let triggered = clock.pending_epoch_at > 0 && clock.block >= clock.pending_epoch_at;
    let overdue = clock.blocks_since_last_step > MAX_TEMPO_BLOCKS;
    let on_schedule = clock.block.saturating_sub(clock.last_epoch_block) >= u64::from(clock.tempo);
    triggered || overdue || on_schedule
}

/// The `LastEpochBlock` a new subnet starts with: `now − (netuid mod tempo)`, saturating.
///
/// Staggering by netuid spreads subnets registered in the same block over different epoch
/// blocks. A zero tempo gives no offset.
///
/// ```
/// use tao_state::economics::schedule::initial_last_epoch_block;
/// assert_eq!(initial_last_epoch_block(1_000, 3, 360), 997);
/// assert_eq!(initial_last_epoch_block(2, 5, 360), 0);
/// ```
pub fn initial_last_epoch_block(now: u64, netuid: u16, tempo: u16) -> u64 {
    let offset = netuid.checked_rem(tempo).unwrap_or(0);
    now.saturating_sub(u64::from(offset))
}

/// Blocks until the next epoch under the legacy rule:
/// `tempo − ((block + netuid + 1) mod (tempo + 1))`, the addition wrapping as on the live chain.
/// A tempo of zero disables epochs ([`u64::MAX`]).
///
/// ```
/// use tao_state::economics::schedule::legacy_blocks_until_next_epoch;
/// assert_eq!(legacy_blocks_until_next_epoch(1, 10, 5), 3);
/// assert_eq!(legacy_blocks_until_next_epoch(1, 10, u64::MAX), 9);
/// ```
pub fn legacy_blocks_until_next_epoch(netuid: u16, tempo: u16, block: u64) -> u64 {
    if tempo == 0 {
        return u64::MAX;
    }
    let tempo = u64::from(tempo);
    let position = block
        .wrapping_add(u64::from(netuid))
        .wrapping_add(1)
        .checked_rem(tempo.saturating_add(1))
        .unwrap_or(0);
    // position ≤ tempo, so this never saturates.
    tempo.saturating_sub(position)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn pending_trigger_and_overdue_force_an_epoch() {
        let base = EpochClock {
            tempo: 100,
            block: 1_000,
            last_epoch_block: 950,
            pending_epoch_at: 0,
            blocks_since_last_step: 50,
        };
        assert!(!should_run_epoch(&base));
        assert!(should_run_epoch(&EpochClock {
            pending_epoch_at: 1_000,
            ..base
        }));
        assert!(should_run_epoch(&EpochClock {
            pending_epoch_at: 999,
            ..base
        }));
        assert!(!should_run_epoch(&EpochClock {
            pending_epoch_at: 1_001,
            ..base
        }));
        assert!(!should_run_epoch(&EpochClock {
            blocks_since_last_step: MAX_TEMPO_BLOCKS,
            ..base
        }));
        assert!(should_run_epoch(&EpochClock {
            blocks_since_last_step: MAX_TEMPO_BLOCKS + 1,
            ..base
        }));
        // Tempo zero wins over everything.
        assert!(!should_run_epoch(&EpochClock {
            tempo: 0,
            pending_epoch_at: 1,
            ..base
        }));
    }

    proptest! {
        #[test]
        fn head_rule_agrees_with_blocks_until(last in any::<u64>(), tempo in 1u16.., block in any::<u64>()) {
            let clock = EpochClock { tempo, block, last_epoch_block: last, ..EpochClock::default() };
            // Where last + tempo does not saturate, "due" is exactly "0 blocks to go".
            if last.checked_add(u64::from(tempo)).is_some() {
                prop_assert_eq!(should_run_epoch(&clock), blocks_until_next_epoch(last, tempo, block) == 0);
            }
        }

        #[test]
        fn legacy_rule_is_bounded_by_tempo(netuid in any::<u16>(), tempo in 1u16.., block in any::<u64>()) {
            prop_assert!(legacy_blocks_until_next_epoch(netuid, tempo, block) <= u64::from(tempo));
        }
    }
}
