//! The per-block coinbase arithmetic (`subtensor.md` §3.4–§3.6, §3.8 step 4).
//!
//! Pure pieces only: how the block's TAO is shared across subnets, how much of a subnet's share
//! is injected into its pool, and how its alpha emission is split between owner, miners,
//! validators and root stakers. Reading reserves and accumulating pending amounts is the
//! caller's job.
//!
//! Prices and proportions are `I96F32` as on the live chain (the live chain stores
//! `SubnetMovingPrice` as I96F32). Where the live chain keeps fractional amounts in fixed point
//! and floors only when crediting, these functions return the floored `u64`s directly.

use tao_primitives::I96F32;

fn zero() -> I96F32 {
    I96F32::from_num(0)
}

fn one() -> I96F32 {
    I96F32::from_num(1)
}

/// `a / b` in fixed point, `0` when `b` is zero or the quotient overflows.
fn safe_div(a: I96F32, b: I96F32) -> I96F32 {
    a.checked_div(b).unwrap_or_else(zero)
}

/// Clamp a proportion into `[0, 1]`.
fn unit(x: I96F32) -> I96F32 {
    x.max(zero()).min(one())
}

/// Floor a non-negative fixed-point amount into `u64` (negative → 0, too large → `u64::MAX`).
fn floor_u64(x: I96F32) -> u64 {
    x.saturating_to_num::<u64>()
}

/// The EMA smoothing factor for a subnet's moving price this block:
/// `subnet_moving_alpha · b / (b + halving_blocks)`, `b` = blocks since `start_call`.
///
/// Young subnets get a small factor, so their moving price starts near zero and only slowly
/// follows the spot price; `b + h = 0` gives `0`.
///
/// ```
/// use tao_primitives::I96F32;
/// use tao_state::economics::coinbase::moving_price_alpha;
/// let a = moving_price_alpha(I96F32::from_num(0.5), 100, 100);
/// assert_eq!(a, I96F32::from_num(0.25));
/// ```
pub fn moving_price_alpha(
    subnet_moving_alpha: I96F32,
    blocks_since_start: u64,
    halving_blocks: u64,
) -> I96F32 {
    let b = I96F32::from_num(blocks_since_start);
    let h = I96F32::from_num(halving_blocks);
    subnet_moving_alpha.saturating_mul(safe_div(b, b.saturating_add(h)))
}

/// One EMA step of the moving price: `alpha · min(spot, 1) + (1 − alpha) · prev`.
///
/// The spot price is capped at 1 TAO per alpha, as on the live chain, so no subnet's moving
/// price (and hence its emission share) can be pumped above that of the root network.
/// `alpha` is clamped into `[0, 1]`.
///
/// ```
/// use tao_primitives::I96F32;
/// use tao_state::economics::coinbase::update_moving_price;
/// let half = I96F32::from_num(0.5);
/// assert_eq!(update_moving_price(I96F32::from_num(0), I96F32::from_num(3), half), half);
/// ```
pub fn update_moving_price(prev: I96F32, spot: I96F32, alpha: I96F32) -> I96F32 {
    let alpha = unit(alpha);
    let capped_spot = spot.min(one());
    alpha
        .saturating_mul(capped_spot)
        .saturating_add(one().saturating_sub(alpha).saturating_mul(prev))
}

/// Share `block_emission_rao` across subnets in proportion to their moving prices.
///
/// `out[i] = floor(emission · p_i / Σ p)`, computed exactly in integers on the prices' raw
/// bits (negative prices count as zero). The floors mean `Σ out ≤ emission`; the few rao left
/// over are the caller's to recycle. All-zero prices give all zeros.
///
/// The live chain rounds each share to 2^−32 before multiplying, so its amounts can differ from
/// these by a rao. Prices above ~2^32 TAO per alpha lose low bits to keep the products in
/// `u128`; such prices are unreachable in practice.
///
/// ```
/// use tao_primitives::I96F32;
/// use tao_state::economics::coinbase::split_tao_by_price;
/// let prices = [I96F32::from_num(1), I96F32::from_num(3)];
/// assert_eq!(split_tao_by_price(1_000, &prices), vec![250, 750]);
/// ```
pub fn split_tao_by_price(block_emission_rao: u64, moving_prices: &[I96F32]) -> Vec<u64> {
    let weights: Vec<u128> = moving_prices
        .iter()
        .map(|p| u128::try_from(p.to_bits()).unwrap_or(0))
        .collect();
    let max = weights.iter().copied().max().unwrap_or(0);
    // Shift every weight below 2^(64 − ceil(log2 n)): then their sum stays below 2^64 and
    // `emission · weight` below 2^128. Realistic prices (< 2^32 TAO per alpha) need no shift.
    let count_bits = u32::try_from(weights.len())
        .unwrap_or(u32::MAX)
        .checked_next_power_of_two()
        .map_or(32, u32::trailing_zeros);
    let max_bits = u128::BITS.saturating_sub(max.leading_zeros());
    let shift = max_bits.saturating_add(count_bits).saturating_sub(64);
    let scaled: Vec<u128> = weights.iter().map(|w| w >> shift).collect();
    let total: u128 = scaled.iter().fold(0u128, |acc, w| acc.saturating_add(*w));
    let emission = u128::from(block_emission_rao);
    scaled
        .iter()
        .map(|w| {
            let part = emission.saturating_mul(*w).checked_div(total).unwrap_or(0);
            u64::try_from(part).unwrap_or(0)
        })
        .collect()
}

/// The root network's proportion in a subnet's dividends and injection cap:
/// `w / (w + alpha_issuance)` with `w = root_tao_rao · tao_weight`; `0` when both are zero.
///
/// ```
/// use tao_primitives::I96F32;
/// use tao_state::economics::coinbase::root_proportion;
/// let p = root_proportion(1_000, I96F32::from_num(0.5), 500);
/// assert_eq!(p, I96F32::from_num(0.5));
/// ```
pub fn root_proportion(root_tao_rao: u64, tao_weight: I96F32, alpha_issuance: u64) -> I96F32 {
    let weighted_root = I96F32::from_num(root_tao_rao).saturating_mul(tao_weight.max(zero()));
    let total = weighted_root.saturating_add(I96F32::from_num(alpha_issuance));
    unit(safe_div(weighted_root, total))
}

/// `TaoWeight` as stored (`u64`, a fraction of `u64::MAX`) converted to a proportion.
///
/// ```
/// use tao_primitives::I96F32;
/// use tao_state::economics::coinbase::tao_weight_from_stored;
/// assert_eq!(tao_weight_from_stored(u64::MAX), I96F32::from_num(1));
/// ```
pub fn tao_weight_from_stored(stored: u64) -> I96F32 {
    safe_div(I96F32::from_num(stored), I96F32::from_num(u64::MAX))
}

/// What one subnet receives from the block's coinbase (§3.5).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Injection {
    /// TAO added to the pool's TAO reserve.
    pub tao_in_rao: u64,
    /// Alpha added to the pool's alpha reserve (at the spot price, so the price does not move).
    pub alpha_in: u64,
    /// TAO of the subnet's share that could not be injected; the protocol buys alpha with it.
    /// `tao_in_rao + excess_tao_rao` equals the subnet's TAO emission exactly.
    pub excess_tao_rao: u64,
    /// Alpha minted for participants this block (owner, miners, validators, root).
    pub alpha_out: u64,
}

/// Injection into one subnet's pool for a block (§3.5).
///
/// `alpha_in = tao_emission / spot_price`, capped at `root_prop · alpha_emission`; when capped,
/// `tao_in = alpha_in · spot_price` and the rest of the TAO is excess. A zero spot price injects
/// all the TAO and no alpha, as on the live chain. Amounts are floored; `tao_in ≤ tao_emission`.
///
/// ```
/// use tao_primitives::I96F32;
/// use tao_state::economics::coinbase::injection;
/// // Price 0.5, 100 rao: 200 alpha wanted, cap 0.1 · 1000 = 100 alpha → 50 rao in, 50 excess.
/// let inj = injection(100, I96F32::from_num(0.5), 1_000, I96F32::from_num(0.1));
/// assert_eq!((inj.tao_in_rao, inj.alpha_in, inj.excess_tao_rao, inj.alpha_out), (50, 100, 50, 1_000));
/// ```
pub fn injection(
    tao_emission_rao: u64,
    spot_price: I96F32,
    alpha_emission: u64,
    root_prop: I96F32,
) -> Injection {
    let tao_emission = I96F32::from_num(tao_emission_rao);
    // A price too small to divide by would ask for more alpha than exists: the cap takes over.
    let wanted_alpha = if spot_price > zero() {
        tao_emission
            .checked_div(spot_price)
            .unwrap_or(I96F32::max_value())
    } else {
        zero()
    };
    let cap = unit(root_prop).saturating_mul(I96F32::from_num(alpha_emission));
    let (alpha_in, tao_in) = if wanted_alpha > cap {
        (cap, cap.saturating_mul(spot_price))
    } else {
        (wanted_alpha, tao_emission)
    };
    let tao_in_rao = floor_u64(tao_in).min(tao_emission_rao);
    Injection {
        tao_in_rao,
        alpha_in: floor_u64(alpha_in),
        excess_tao_rao: tao_emission_rao.saturating_sub(tao_in_rao),
        alpha_out: alpha_emission,
    }
}

/// A subnet's block alpha emission split between its recipients (§3.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AlphaSplit {
    /// The subnet owner's cut (`PendingOwnerCut`).
    pub owner_cut: u64,
    /// Miners' share (`PendingServerEmission`).
    pub server: u64,
    /// Validators' share after the root carve-out (`PendingValidatorEmission`).
    pub validator: u64,
    /// Root stakers' share (`PendingRootAlphaDivs`, or recycled when root does not sell).
    pub root: u64,
}

/// Split `alpha_out` into owner cut, miners, validators and root (§3.6).
///
/// With `a = alpha_out − owner_cut`:
/// * `owner_cut = floor(alpha_out · owner_cut_u16 / 65535)` (18 % on the live chain);
/// * `server = floor(a / 2)`;
/// * `root = floor(root_prop · a / 2)` (clamped into the validators' half);
/// * `validator = a − server − root`.
///
/// The four parts always add up to `alpha_out` exactly. The live chain floors the validator
/// part separately and so loses up to a rao per block; here the validators get that rao, since
/// conservation matters more than matching the last rao. The owner cut is exact integer math
/// where the live chain multiplies by the Q32-rounded fraction (at most a rao apart).
///
/// ```
/// use tao_primitives::I96F32;
/// use tao_state::economics::coinbase::split_alpha_out;
/// let s = split_alpha_out(1_000_000_000, 11_796, I96F32::from_num(0.5));
/// assert_eq!(s.owner_cut + s.server + s.validator + s.root, 1_000_000_000);
/// assert_eq!((s.owner_cut, s.server), (179_995_422, 410_002_289));
/// ```
pub fn split_alpha_out(alpha_out: u64, owner_cut_u16: u16, root_prop: I96F32) -> AlphaSplit {
    let owner_cut = u128::from(alpha_out)
        .saturating_mul(u128::from(owner_cut_u16))
        .checked_div(u128::from(u16::MAX))
        .and_then(|x| u64::try_from(x).ok())
        .unwrap_or(0);
    let remaining = alpha_out.saturating_sub(owner_cut);
    let server = remaining >> 1;
    let validator_half = remaining.saturating_sub(server);
    let half = I96F32::from_num(0.5);
    let root_exact = unit(root_prop)
        .saturating_mul(I96F32::from_num(remaining))
        .saturating_mul(half);
    let root = floor_u64(root_exact).min(validator_half);
    AlphaSplit {
        owner_cut,
        server,
        validator: validator_half.saturating_sub(root),
        root,
    }
}

/// One hotkey's stake mix and epoch dividend, the input of [`split_dividends_by_stake_mix`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HotkeyDividend {
    /// The hotkey's (inherited) alpha stake on the subnet.
    pub alpha_stake: u64,
    /// The hotkey's (inherited) TAO stake on the root network, in rao.
    pub root_stake_rao: u64,
    /// Its dividend from the epoch (after childkey routing).
    pub dividend: I96F32,
}

/// One hotkey's dividend paid from each pool.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DividendSplit {
    /// Alpha from the validator pool (`PendingValidatorEmission`).
    pub alpha: u64,
    /// Alpha from the root pool (`PendingRootAlphaDivs`), for the hotkey's root stakers.
    pub root: u64,
}

/// Split each hotkey's dividend by its stake mix, then rescale each side to its pool (§3.8
/// step 4).
///
/// Per hotkey `r = root·w / (alpha + root·w)`; its dividend splits into a root part `d·r` and an
/// alpha part `d − d·r`. The alpha parts are rescaled to sum to `validator_pool`, the root parts
/// to `root_pool`, in I96F32 as the live chain does, then floored — so each side sums to at most
/// its pool, short by the flooring and the 2^−32 rounding of each share (about `pool / 2^32` rao
/// per hotkey). Output is in input order.
///
/// ```
/// use tao_primitives::I96F32;
/// use tao_state::economics::coinbase::{split_dividends_by_stake_mix, HotkeyDividend};
/// let hk = |alpha_stake, root_stake_rao, d: u64| HotkeyDividend {
///     alpha_stake, root_stake_rao, dividend: I96F32::from_num(d) };
/// // tao_weight 1: the first hotkey is all alpha, the second half and half, so their alpha
/// // parts are 5 and 5 and the second takes the whole root pool.
/// let out = split_dividends_by_stake_mix(
///     300, 100, I96F32::from_num(1), &[hk(10, 0, 5), hk(5, 5, 10)]);
/// assert_eq!((out[0].alpha, out[0].root, out[1].alpha, out[1].root), (150, 0, 150, 100));
/// ```
pub fn split_dividends_by_stake_mix(
    validator_pool: u64,
    root_pool: u64,
    tao_weight: I96F32,
    hotkeys: &[HotkeyDividend],
) -> Vec<DividendSplit> {
    let parts: Vec<(I96F32, I96F32)> = hotkeys
        .iter()
        .map(|h| {
            let alpha = I96F32::from_num(h.alpha_stake);
            let root_alpha =
                I96F32::from_num(h.root_stake_rao).saturating_mul(tao_weight.max(zero()));
            let root_prop = unit(safe_div(root_alpha, alpha.saturating_add(root_alpha)));
            let root_div = h.dividend.max(zero()).saturating_mul(root_prop);
            (h.dividend.max(zero()).saturating_sub(root_div), root_div)
        })
        .collect();
    let total_alpha = parts.iter().fold(zero(), |acc, p| acc.saturating_add(p.0));
    let total_root = parts.iter().fold(zero(), |acc, p| acc.saturating_add(p.1));
    let alpha_pool = I96F32::from_num(validator_pool);
    let root_pool = I96F32::from_num(root_pool);
    parts
        .iter()
        .map(|(alpha_div, root_div)| DividendSplit {
            alpha: floor_u64(alpha_pool.saturating_mul(safe_div(*alpha_div, total_alpha))),
            root: floor_u64(root_pool.saturating_mul(safe_div(*root_div, total_root))),
        })
        .collect()
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn price(bits: i128) -> I96F32 {
        I96F32::from_bits(bits)
    }

    #[test]
    fn split_tao_all_zero_or_negative_prices_pay_nothing() {
        assert_eq!(split_tao_by_price(1_000, &[zero(), zero()]), vec![0, 0]);
        assert_eq!(split_tao_by_price(1_000, &[price(-5), zero()]), vec![0, 0]);
        assert_eq!(split_tao_by_price(1_000, &[]), Vec::<u64>::new());
        assert_eq!(
            split_tao_by_price(1_000, &[price(-5), one()]),
            vec![0, 1_000]
        );
    }

    #[test]
    fn split_tao_survives_huge_prices() {
        let out = split_tao_by_price(u64::MAX, &[I96F32::max_value(), I96F32::max_value(), one()]);
        assert!(out.iter().map(|x| u128::from(*x)).sum::<u128>() <= u128::from(u64::MAX));
        assert_eq!(out[0], out[1]);
        assert!(out[0] >= u64::MAX / 2 - 1);
    }

    #[test]
    fn injection_with_zero_price_or_zero_cap() {
        let inj = injection(100, zero(), 1_000, one());
        assert_eq!(
            (inj.tao_in_rao, inj.alpha_in, inj.excess_tao_rao),
            (100, 0, 0)
        );
        // Root proportion 0: nothing can be injected, all TAO buys alpha.
        let inj = injection(100, one(), 1_000, zero());
        assert_eq!(
            (inj.tao_in_rao, inj.alpha_in, inj.excess_tao_rao),
            (0, 0, 100)
        );
        // Tiny price: would need astronomically much alpha; the cap binds.
        let inj = injection(u64::MAX, price(1), 1_000, one());
        assert_eq!(inj.alpha_in, 1_000);
        assert_eq!(inj.tao_in_rao + inj.excess_tao_rao, u64::MAX);
    }

    #[test]
    fn update_moving_price_caps_spot_and_clamps_alpha() {
        let p = update_moving_price(I96F32::from_num(0.2), I96F32::from_num(5), one());
        assert_eq!(p, one());
        let p = update_moving_price(
            I96F32::from_num(0.2),
            I96F32::from_num(5),
            I96F32::from_num(-1),
        );
        assert_eq!(p, I96F32::from_num(0.2));
        assert_eq!(moving_price_alpha(one(), 0, 0), zero());
    }

    proptest! {
        #[test]
        fn split_tao_never_exceeds_emission(
            emission in any::<u64>(),
            prices in proptest::collection::vec(any::<i128>(), 0..20),
        ) {
            let prices: Vec<I96F32> = prices.into_iter().map(I96F32::from_bits).collect();
            let out = split_tao_by_price(emission, &prices);
            prop_assert_eq!(out.len(), prices.len());
            let sum: u128 = out.iter().map(|x| u128::from(*x)).sum();
            prop_assert!(sum <= u128::from(emission));
        }

        #[test]
        fn alpha_split_conserves(alpha_out in any::<u64>(), cut in any::<u16>(), rp in any::<i128>()) {
            let s = split_alpha_out(alpha_out, cut, I96F32::from_bits(rp));
            let sum = u128::from(s.owner_cut) + u128::from(s.server) + u128::from(s.validator) + u128::from(s.root);
            prop_assert_eq!(sum, u128::from(alpha_out));
            prop_assert!(s.server <= s.validator + s.root);
        }

        #[test]
        fn injection_conserves_tao(
            tao in any::<u64>(), price_bits in any::<i128>(), alpha_emission in any::<u64>(), rp in any::<i128>(),
        ) {
            let inj = injection(tao, I96F32::from_bits(price_bits), alpha_emission, I96F32::from_bits(rp));
            prop_assert_eq!(u128::from(inj.tao_in_rao) + u128::from(inj.excess_tao_rao), u128::from(tao));
            prop_assert!(inj.alpha_in <= alpha_emission);
            prop_assert_eq!(inj.alpha_out, alpha_emission);
        }

        #[test]
        fn dividend_split_never_exceeds_pools(
            vpool in any::<u64>(), rpool in any::<u64>(), w in 0u64..,
            hks in proptest::collection::vec((any::<u64>(), any::<u64>(), any::<u64>()), 0..8),
        ) {
            let input: Vec<HotkeyDividend> = hks.iter().map(|(a, r, d)| HotkeyDividend {
                alpha_stake: *a, root_stake_rao: *r, dividend: I96F32::from_num(*d) }).collect();
            let out = split_dividends_by_stake_mix(vpool, rpool, tao_weight_from_stored(w), &input);
            let a: u128 = out.iter().map(|x| u128::from(x.alpha)).sum();
            let r: u128 = out.iter().map(|x| u128::from(x.root)).sum();
            prop_assert!(a <= u128::from(vpool));
            prop_assert!(r <= u128::from(rpool));
        }
    }
}
