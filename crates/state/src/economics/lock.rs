//! Subnet registration lock cost (`subtensor.md` §5.4).
//!
//! Each subnet registration doubles the price, which then falls linearly back by the last lock
//! amount over `reduction_interval_blocks`, never below the minimum:
//!
//! `cost = max(min_lock, last_lock · m − (last_lock / interval) · (now − last_lock_block))`
//!
//! with `m = 1` before the first registration (`last_lock_block == 0`) and `2` after. All steps
//! saturate (a future `last_lock_block` counts as zero elapsed blocks) and `x / 0 = 0`, as on
//! the live chain.

/// The TAO (rao) locked to register a subnet at `current_block`.
///
/// ```
/// use tao_state::economics::lock::network_lock_cost_rao;
/// // Doubled right after a registration, back to the last lock one interval later.
/// assert_eq!(network_lock_cost_rao(1_000, 100, 100, 10, 50), 2_000);
/// assert_eq!(network_lock_cost_rao(1_000, 100, 150, 10, 50), 1_000);
/// ```
pub fn network_lock_cost_rao(
    last_lock_rao: u64,
    last_lock_block: u64,
    current_block: u64,
    min_lock_rao: u64,
    reduction_interval_blocks: u64,
) -> u64 {
    let mult: u64 = if last_lock_block == 0 { 1 } else { 2 };
    // Integer rao per block; the live chain divides first, so a lock smaller than the interval
    // does not decay at all.
    let decay_per_block_rao = last_lock_rao
        .checked_div(reduction_interval_blocks)
        .unwrap_or(0);
    let elapsed_blocks = current_block.saturating_sub(last_lock_block);
    last_lock_rao
        .saturating_mul(mult)
        .saturating_sub(decay_per_block_rao.saturating_mul(elapsed_blocks))
        .max(min_lock_rao)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const TAO: u64 = 1_000_000_000;

    #[test]
    fn before_any_registration_the_last_lock_is_not_doubled() {
        assert_eq!(
            network_lock_cost_rao(100 * TAO, 0, 0, TAO, 14 * 7200),
            100 * TAO
        );
        // Decays from genesis at last_lock / interval per block.
        assert_eq!(network_lock_cost_rao(100, 0, 3, 0, 10), 70);
    }

    #[test]
    fn decays_linearly_to_the_floor() {
        let (last, at, min, interval) = (1_000 * TAO, 10_000, 100 * TAO, 1_000);
        assert_eq!(
            network_lock_cost_rao(last, at, at, min, interval),
            2_000 * TAO
        );
        assert_eq!(
            network_lock_cost_rao(last, at, at + 500, min, interval),
            1_500 * TAO
        );
        assert_eq!(
            network_lock_cost_rao(last, at, at + 1_000, min, interval),
            1_000 * TAO
        );
        assert_eq!(
            network_lock_cost_rao(last, at, at + 1_900, min, interval),
            100 * TAO
        );
        assert_eq!(
            network_lock_cost_rao(last, at, u64::MAX, min, interval),
            100 * TAO
        );
    }

    #[test]
    fn edge_cases_saturate() {
        // Zero interval: no decay (x / 0 = 0).
        assert_eq!(network_lock_cost_rao(1_000, 5, 1_000_000, 0, 0), 2_000);
        // Doubling saturates.
        assert_eq!(network_lock_cost_rao(u64::MAX, 5, 5, 0, 1), u64::MAX);
        // A block before the last lock counts as no time passed.
        assert_eq!(network_lock_cost_rao(1_000, 50, 10, 0, 10), 2_000);
        // Lock below the interval: integer per-block decay is zero.
        assert_eq!(network_lock_cost_rao(9, 1, 1_000, 0, 10), 18);
        // Floor above the computed cost.
        assert_eq!(network_lock_cost_rao(0, 0, 0, 7, 10), 7);
    }

    proptest! {
        #[test]
        fn never_below_min_and_non_increasing_in_time(
            last in any::<u64>(), at in any::<u64>(), now in any::<u64>(),
            min in any::<u64>(), interval in any::<u64>(), later in any::<u64>(),
        ) {
            let cost = network_lock_cost_rao(last, at, now, min, interval);
            prop_assert!(cost >= min);
            let now2 = now.saturating_add(later);
            prop_assert!(network_lock_cost_rao(last, at, now2, min, interval) <= cost);
        }
    }
}
