//! The dynamic-TAO staking pool of one subnet (`subtensor.md` §4.1).
//!
//! Each subnet has a TAO ↔ alpha pool. Subnets use the *dynamic* mechanism: a constant-product
//! pool (the live balancer pool with both weights at 0.5), price = TAO reserve / alpha reserve.
//! The root network (netuid 0) uses the *stable* mechanism: TAO and alpha swap 1:1 at price 1,
//! with no fee and no reserve guards ([`Mechanism`]).
//!
//! All arithmetic is integer `u128` and floors in the pool's favour, so `tao · alpha` never
//! decreases across a swap and a round trip never returns more than was put in. Fees
//! (`fee_rate / 65535` of the TAO side) go to the block author: they are returned in [`Swap`]
//! and are not kept in the pool.
//!
//! Limit prices are `I96F32` TAO per alpha, compared with [`Pool::price`] of the pool after the
//! trade. [`Pool::max_tao_in_for_limit`] and [`Pool::max_alpha_in_for_limit`] are exact: the
//! amount they return reaches the limit and one rao more would cross it.

use tao_primitives::{I96F32, NetUid};

use crate::error::TxError;
use crate::tx::PriceLimit;

/// The least either reserve of a dynamic pool may be left with by a swap (`MinimumReserve`).
pub const MIN_RESERVE: u64 = 1_000_000;

/// A swap's input may be at most this many times the input-side reserve.
pub const MAX_INPUT_TO_RESERVE_RATIO: u64 = 1_000;

/// Why a swap was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// The swap would leave the output reserve below [`MIN_RESERVE`].
    #[error("swap would leave the pool's output reserve below the minimum")]
    ReservesTooLow,
    /// The input is more than [`MAX_INPUT_TO_RESERVE_RATIO`] times the input reserve.
    #[error("swap input is too large for the pool")]
    SwapInputTooLarge,
    /// The swap would pay out nothing.
    #[error("swap input too small to buy anything")]
    InsufficientInputAmount,
    /// The pool price is already past the caller's limit price.
    #[error("the pool price is past the limit price")]
    PriceLimitExceeded,
    /// A reserve would overflow `u64`.
    #[error("pool reserve overflow")]
    Overflow,
}

/// How a pool prices swaps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mechanism {
    /// 1:1 at price 1, no fee (the root network).
    Stable,
    /// Constant product, price = TAO / alpha (every other subnet).
    #[default]
    Dynamic,
}

/// A subnet's pool reserves (`SubnetTAO`, `SubnetAlphaIn`) and mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pool {
    /// How the pool prices swaps.
    pub mechanism: Mechanism,
    /// TAO reserve in rao.
    pub tao_rao: u64,
    /// Alpha reserve.
    pub alpha: u64,
}

/// The result of a swap that went through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Swap {
    /// Paid to the trader: alpha for a buy, TAO (after the fee) for a sell.
    pub amount_out: u64,
    /// TAO (rao) owed to the block author.
    pub fee_rao: u64,
    /// The pool's reserves after the swap.
    pub pool_after: Pool,
}

/// `floor(amount · fee_rate / 65535)`.
fn fee_of(amount: u64, fee_rate: u16) -> u64 {
    let fee = u128::from(amount)
        .saturating_mul(u128::from(fee_rate))
        .checked_div(u128::from(u16::MAX))
        .unwrap_or(0);
    // fee ≤ amount, so it fits.
    u64::try_from(fee).unwrap_or(amount)
}

/// `floor(reserve_out · amount_in / (reserve_in + amount_in))`: what a constant-product pool
/// pays out. Less than `reserve_out` whenever `reserve_in > 0`.
fn constant_product_out(reserve_in: u64, reserve_out: u64, amount_in: u64) -> u64 {
    let denominator = u128::from(reserve_in).saturating_add(u128::from(amount_in));
    let out = u128::from(reserve_out)
        .saturating_mul(u128::from(amount_in))
        .checked_div(denominator)
        .unwrap_or(0);
    u64::try_from(out).unwrap_or(u64::MAX)
}

/// `floor(tao · 2^32 / alpha)` as I96F32 bits; `0` when `alpha == 0`. Exact: `tao · 2^32 < 2^96`.
fn price_bits(tao: u128, alpha: u128) -> i128 {
    let bits = (tao << 32).checked_div(alpha).unwrap_or(0);
    i128::try_from(bits).unwrap_or(i128::MAX)
}

fn input_too_large(amount_in: u64, reserve_in: u64) -> bool {
    u128::from(amount_in)
        > u128::from(reserve_in).saturating_mul(u128::from(MAX_INPUT_TO_RESERVE_RATIO))
}

impl Pool {
    /// A constant-product pool.
    pub fn dynamic(tao_rao: u64, alpha: u64) -> Self {
        Self {
            mechanism: Mechanism::Dynamic,
            tao_rao,
            alpha,
        }
    }

    /// A 1:1 pool (the root network).
    pub fn stable(tao_rao: u64, alpha: u64) -> Self {
        Self {
            mechanism: Mechanism::Stable,
            tao_rao,
            alpha,
        }
    }

    /// TAO per alpha: 1 for a stable pool; `tao / alpha` (floored to 2^−32) for a dynamic pool,
    /// `0` when it holds no alpha.
    ///
    /// ```
    /// use tao_primitives::I96F32;
    /// use tao_types::pool::Pool;
    /// assert_eq!(Pool::dynamic(1_000, 4_000).price(), I96F32::from_num(0.25));
    /// assert_eq!(Pool::stable(1, 2).price(), I96F32::from_num(1));
    /// ```
    pub fn price(&self) -> I96F32 {
        match self.mechanism {
            Mechanism::Stable => I96F32::from_num(1),
            Mechanism::Dynamic => {
                I96F32::from_bits(price_bits(u128::from(self.tao_rao), u128::from(self.alpha)))
            }
        }
    }

    /// Buy alpha with `tao_in_rao`; `fee_rate / 65535` of it goes to the block author.
    ///
    /// Dynamic: `fee = floor(tao_in · r / 65535)`, `net = tao_in − fee` enters the pool and
    /// `alpha_out = floor(alpha · net / (tao + net))`. Stable: 1:1, no fee.
    ///
    /// ```
    /// use tao_types::pool::Pool;
    /// let pool = Pool::dynamic(1_000_000_000, 1_000_000_000);
    /// let swap = pool.buy(1_000_000_000, 0).unwrap();
    /// assert_eq!(swap.amount_out, 500_000_000);
    /// assert_eq!(swap.pool_after, Pool::dynamic(2_000_000_000, 500_000_000));
    /// ```
    pub fn buy(&self, tao_in_rao: u64, fee_rate: u16) -> Result<Swap, PoolError> {
        if self.mechanism == Mechanism::Stable {
            return self.stable_buy(tao_in_rao);
        }
        let fee_rao = fee_of(tao_in_rao, fee_rate);
        let net_rao = tao_in_rao.saturating_sub(fee_rao);
        if input_too_large(net_rao, self.tao_rao) {
            return Err(PoolError::SwapInputTooLarge);
        }
        let alpha_out = constant_product_out(self.tao_rao, self.alpha, net_rao);
        if alpha_out == 0 {
            return Err(PoolError::InsufficientInputAmount);
        }
        let alpha_left = self.alpha.saturating_sub(alpha_out);
        if alpha_left < MIN_RESERVE {
            return Err(PoolError::ReservesTooLow);
        }
        let tao_after = self
            .tao_rao
            .checked_add(net_rao)
            .ok_or(PoolError::Overflow)?;
        Ok(Swap {
            amount_out: alpha_out,
            fee_rao,
            pool_after: Self::dynamic(tao_after, alpha_left),
        })
    }

    /// Sell `alpha_in` for TAO; the block author's fee is `fee_rate / 65535` of the TAO out.
    ///
    /// Dynamic: all the alpha enters the pool, `gross = floor(tao · alpha_in / (alpha +
    /// alpha_in))` leaves it, `fee = floor(gross · r / 65535)` goes to the author and the seller
    /// gets `gross − fee`. Stable: 1:1, no fee.
    ///
    /// ```
    /// use tao_types::pool::Pool;
    /// let pool = Pool::dynamic(2_000_000_000, 500_000_000);
    /// let swap = pool.sell(500_000_000, 0).unwrap();
    /// assert_eq!(swap.amount_out, 1_000_000_000);
    /// ```
    pub fn sell(&self, alpha_in: u64, fee_rate: u16) -> Result<Swap, PoolError> {
        if self.mechanism == Mechanism::Stable {
            return self.stable_sell(alpha_in);
        }
        if input_too_large(alpha_in, self.alpha) {
            return Err(PoolError::SwapInputTooLarge);
        }
        let gross_rao = constant_product_out(self.alpha, self.tao_rao, alpha_in);
        let fee_rao = fee_of(gross_rao, fee_rate);
        let net_rao = gross_rao.saturating_sub(fee_rao);
        if net_rao == 0 {
            return Err(PoolError::InsufficientInputAmount);
        }
        let tao_left = self.tao_rao.saturating_sub(gross_rao);
        if tao_left < MIN_RESERVE {
            return Err(PoolError::ReservesTooLow);
        }
        let alpha_after = self
            .alpha
            .checked_add(alpha_in)
            .ok_or(PoolError::Overflow)?;
        Ok(Swap {
            amount_out: net_rao,
            fee_rao,
            pool_after: Self::dynamic(tao_left, alpha_after),
        })
    }

    fn stable_buy(&self, tao_in_rao: u64) -> Result<Swap, PoolError> {
        if tao_in_rao == 0 {
            return Err(PoolError::InsufficientInputAmount);
        }
        let tao_after = self
            .tao_rao
            .checked_add(tao_in_rao)
            .ok_or(PoolError::Overflow)?;
        Ok(Swap {
            amount_out: tao_in_rao,
            fee_rao: 0,
            // The root's alpha reserve is bookkeeping only; the live chain saturates it.
            pool_after: Self::stable(tao_after, self.alpha.saturating_sub(tao_in_rao)),
        })
    }

    fn stable_sell(&self, alpha_in: u64) -> Result<Swap, PoolError> {
        if alpha_in == 0 {
            return Err(PoolError::InsufficientInputAmount);
        }
        let alpha_after = self
            .alpha
            .checked_add(alpha_in)
            .ok_or(PoolError::Overflow)?;
        Ok(Swap {
            amount_out: alpha_in,
            fee_rao: 0,
            pool_after: Self::stable(self.tao_rao.saturating_sub(alpha_in), alpha_after),
        })
    }

    /// Add protocol liquidity (the coinbase injection), both sides at once or neither.
    pub fn inject(&mut self, tao_rao: u64, alpha: u64) -> Result<(), PoolError> {
        let tao_after = self
            .tao_rao
            .checked_add(tao_rao)
            .ok_or(PoolError::Overflow)?;
        let alpha_after = self.alpha.checked_add(alpha).ok_or(PoolError::Overflow)?;
        self.tao_rao = tao_after;
        self.alpha = alpha_after;
        Ok(())
    }

    /// [`PoolError::PriceLimitExceeded`] unless the price is below `limit_price` (a buy with
    /// this limit can execute something).
    pub fn ensure_buy_limit(&self, limit_price: I96F32) -> Result<(), PoolError> {
        if self.price() < limit_price {
            Ok(())
        } else {
            Err(PoolError::PriceLimitExceeded)
        }
    }

    /// [`PoolError::PriceLimitExceeded`] unless the price is above `limit_price` (a sell with
    /// this limit can execute something).
    pub fn ensure_sell_limit(&self, limit_price: I96F32) -> Result<(), PoolError> {
        if self.price() > limit_price {
            Ok(())
        } else {
            Err(PoolError::PriceLimitExceeded)
        }
    }

    /// Price bits after buying with `tao_in_rao` (no guards): non-decreasing in `tao_in_rao`.
    fn price_bits_after_buy(&self, tao_in_rao: u64, fee_rate: u16) -> i128 {
        let net = tao_in_rao.saturating_sub(fee_of(tao_in_rao, fee_rate));
        let alpha_out = constant_product_out(self.tao_rao, self.alpha, net);
        let tao_after = u128::from(self.tao_rao).saturating_add(u128::from(net));
        price_bits(tao_after, u128::from(self.alpha.saturating_sub(alpha_out)))
    }

    /// Price bits after selling `alpha_in` (no guards): non-increasing in `alpha_in`.
    fn price_bits_after_sell(&self, alpha_in: u64) -> i128 {
        let gross = constant_product_out(self.alpha, self.tao_rao, alpha_in);
        let alpha_after = u128::from(self.alpha).saturating_add(u128::from(alpha_in));
        price_bits(u128::from(self.tao_rao.saturating_sub(gross)), alpha_after)
    }

    /// The largest TAO amount whose buy leaves the price at or below `limit_price`.
    ///
    /// `0` when the price is already at or above the limit (or the pool is empty);
    /// `u64::MAX` when no amount reaches it. Ignores the swap guards, which [`Pool::buy`]
    /// still applies. A stable pool never moves: `u64::MAX` if its price 1 is below the limit.
    ///
    /// ```
    /// use tao_primitives::I96F32;
    /// use tao_types::pool::Pool;
    /// let pool = Pool::dynamic(1_000_000_000, 1_000_000_000);
    /// // Price 1 → 4 means TAO 1e9 → 2e9 (alpha 1e9 → 5e8).
    /// assert_eq!(pool.max_tao_in_for_limit(I96F32::from_num(4), 0), 1_000_000_000);
    /// ```
    pub fn max_tao_in_for_limit(&self, limit_price: I96F32, fee_rate: u16) -> u64 {
        let limit = limit_price.to_bits();
        if self.price().to_bits() >= limit {
            return 0;
        }
        if self.mechanism == Mechanism::Stable {
            return u64::MAX;
        }
        if self.tao_rao == 0 || self.alpha == 0 {
            return 0;
        }
        let within = |x: u64| self.price_bits_after_buy(x, fee_rate) <= limit;
        let guess = self.buy_estimate(limit, fee_rate);
        largest_satisfying(within, guess)
    }

    /// The largest alpha amount whose sale leaves the price at or above `limit_price`.
    ///
    /// `0` when the price is already at or below the limit (or the pool is empty);
    /// `u64::MAX` when no amount reaches it. Ignores the swap guards, which [`Pool::sell`]
    /// still applies. A stable pool never moves: `u64::MAX` if its price 1 is above the limit.
    ///
    /// ```
    /// use tao_primitives::I96F32;
    /// use tao_types::pool::Pool;
    /// let pool = Pool::dynamic(2_000_000_000, 500_000_000);
    /// assert_eq!(pool.max_alpha_in_for_limit(I96F32::from_num(1), 0), 500_000_000);
    /// ```
    pub fn max_alpha_in_for_limit(&self, limit_price: I96F32, fee_rate: u16) -> u64 {
        // The sell fee is taken from the TAO after it left the pool: it does not move the price.
        let _ = fee_rate;
        let limit = limit_price.to_bits();
        if self.price().to_bits() <= limit {
            return 0;
        }
        if self.mechanism == Mechanism::Stable {
            return u64::MAX;
        }
        if self.tao_rao == 0 || self.alpha == 0 {
            return 0;
        }
        let within = |x: u64| self.price_bits_after_sell(x) >= limit;
        let guess = self.sell_estimate(limit);
        largest_satisfying(within, guess)
    }

    /// Starting point for the buy search: `tao' = sqrt(tao · alpha · limit)`, grossed up for the
    /// fee. Only a guess (square roots of the factors, integer division); the search corrects it.
    fn buy_estimate(&self, limit_bits: i128, fee_rate: u16) -> u64 {
        let k_root = (u128::from(self.tao_rao).saturating_mul(u128::from(self.alpha))).isqrt();
        let limit_root = u128::try_from(limit_bits).unwrap_or(0).isqrt(); // sqrt(limit) · 2^16
        let tao_target = k_root.saturating_mul(limit_root) >> 16;
        let net = tao_target.saturating_sub(u128::from(self.tao_rao));
        let keep = u128::from(u16::MAX.saturating_sub(fee_rate)).max(1);
        let gross = net
            .saturating_mul(u128::from(u16::MAX))
            .checked_div(keep)
            .unwrap_or(0);
        u64::try_from(gross).unwrap_or(u64::MAX)
    }

    /// Starting point for the sell search: `alpha' = sqrt(tao · alpha / limit)`.
    fn sell_estimate(&self, limit_bits: i128) -> u64 {
        let k_root = (u128::from(self.tao_rao).saturating_mul(u128::from(self.alpha))).isqrt();
        let limit_root = u128::try_from(limit_bits).unwrap_or(0).isqrt().max(1);
        let alpha_target = (k_root << 16).checked_div(limit_root).unwrap_or(u128::MAX);
        let x = alpha_target.saturating_sub(u128::from(self.alpha));
        u64::try_from(x).unwrap_or(u64::MAX)
    }
}

/// The largest `x` with `within(x)`, for a predicate that holds on `0..=answer` and fails above,
/// searched outward from `guess` (galloping) and then by bisection: exact in `O(log error)`
/// evaluations. `within(0)` is assumed.
fn largest_satisfying(within: impl Fn(u64) -> bool, guess: u64) -> u64 {
    // Bracket: within(lo) holds, within(hi) fails (or hi is past u64::MAX).
    let (mut lo, mut hi): (u64, u128);
    if within(guess) {
        lo = guess;
        let mut step: u64 = 1;
        loop {
            let Some(probe) = lo.checked_add(step) else {
                if within(u64::MAX) {
                    return u64::MAX;
                }
                hi = u128::from(u64::MAX);
                break;
            };
            if within(probe) {
                lo = probe;
                step = step.saturating_mul(2);
            } else {
                hi = u128::from(probe);
                break;
            }
        }
    } else {
        hi = u128::from(guess);
        let mut step: u64 = 1;
        loop {
            let probe = u64::try_from(hi).unwrap_or(u64::MAX).saturating_sub(step);
            if within(probe) {
                lo = probe;
                break;
            }
            hi = u128::from(probe);
            step = step.saturating_mul(2);
        }
    }
    // Bisect: invariant within(lo), !within(hi), lo < hi.
    while u128::from(lo).saturating_add(1) < hi {
        let mid = u128::from(lo).saturating_add(hi) >> 1;
        let mid = u64::try_from(mid).unwrap_or(u64::MAX);
        if within(mid) {
            lo = mid;
        } else {
            hi = u128::from(mid);
        }
    }
    lo
}

/// Alpha units per whole alpha (and rao per TAO): limit prices are given per whole alpha.
const UNITS: u64 = 1_000_000_000;

/// The pool of a subnet with these reserves: stable (1:1) on the root subnet, constant product
/// elsewhere. The chain and clients quoting a trade from the RPC's reserves both use this.
pub fn subnet_pool(netuid: NetUid, tao_reserve_rao: u64, alpha_reserve: u64) -> Pool {
    if netuid == NetUid::ROOT {
        Pool::stable(tao_reserve_rao, alpha_reserve)
    } else {
        Pool::dynamic(tao_reserve_rao, alpha_reserve)
    }
}

/// `price_rao` per whole alpha as the pool's price unit.
pub fn limit_price(limit: &PriceLimit) -> I96F32 {
    I96F32::from_num(limit.price_rao).saturating_div(I96F32::from_num(UNITS))
}

/// The amount to trade given the largest amount the limit allows: all of it, the allowed part
/// (with `allow_partial`), or [`TxError::SlippageTooHigh`].
pub fn within_limit(amount: u64, max_allowed: u64, limit: PriceLimit) -> Result<u64, TxError> {
    if amount <= max_allowed {
        Ok(amount)
    } else if limit.allow_partial && max_allowed > 0 {
        Ok(max_allowed)
    } else {
        Err(TxError::SlippageTooHigh)
    }
}

/// The largest alpha (≤ `alpha`) whose sale on the origin pool and purchase on the destination
/// pool (each with its fee rate) leave `origin price / destination price` at or above
/// `wanted`; pure, so clients can quote a limited swap exactly as the chain executes it.
pub fn max_swap_within_ratio(
    (origin_pool, origin_fee): (&Pool, u16),
    (dest_pool, dest_fee): (&Pool, u16),
    alpha: u64,
    wanted: I96F32,
) -> u64 {
    let acceptable = |amount: u64| -> bool {
        let Ok(sold) = origin_pool.sell(amount, origin_fee) else {
            return false;
        };
        let Ok(bought) = dest_pool.buy(sold.amount_out, dest_fee) else {
            return false;
        };
        let ratio = sold
            .pool_after
            .price()
            .checked_div(bought.pool_after.price())
            .unwrap_or(I96F32::from_num(0));
        ratio >= wanted
    };
    if acceptable(alpha) {
        return alpha;
    }
    let (mut low, mut high) = (0u64, alpha);
    while high.saturating_sub(low) > 1 {
        let mid = low.saturating_add(high.saturating_sub(low) / 2);
        if acceptable(mid) {
            low = mid
        } else {
            high = mid
        }
    }
    low
}

#[cfg(test)]
#[allow(clippy::arithmetic_side_effects, clippy::unwrap_used)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn guards() {
        let pool = Pool::dynamic(10_000_000, 10_000_000);
        assert_eq!(pool.buy(0, 0), Err(PoolError::InsufficientInputAmount));
        assert_eq!(
            pool.buy(10_000_000_001, 0),
            Err(PoolError::SwapInputTooLarge)
        );
        assert_eq!(pool.buy(10_000_000_000, 0), Err(PoolError::ReservesTooLow));
        assert_eq!(
            pool.sell(10_000_000_001, 0),
            Err(PoolError::SwapInputTooLarge)
        );
        assert_eq!(pool.sell(1, 0), Err(PoolError::InsufficientInputAmount));
        let full = Pool::dynamic(u64::MAX, u64::MAX);
        assert_eq!(full.buy(u64::MAX, 0), Err(PoolError::Overflow));
        assert_eq!(full.sell(u64::MAX, 0), Err(PoolError::Overflow));
        let mut p = Pool::dynamic(1, 1);
        assert_eq!(p.inject(u64::MAX, 0), Err(PoolError::Overflow));
        assert_eq!(p, Pool::dynamic(1, 1));
        p.inject(2, 3).unwrap();
        assert_eq!(p, Pool::dynamic(3, 4));
    }

    #[test]
    fn fee_goes_to_the_author_not_the_pool() {
        let pool = Pool::dynamic(1_000_000_000_000, 1_000_000_000_000);
        let buy = pool.buy(65_535_000, 33).unwrap();
        assert_eq!(buy.fee_rao, 33_000);
        assert_eq!(
            buy.pool_after.tao_rao,
            1_000_000_000_000 + 65_535_000 - 33_000
        );
        let sell = pool.sell(65_535_000, 33).unwrap();
        let gross = pool.tao_rao - sell.pool_after.tao_rao;
        assert_eq!(sell.fee_rao, gross * 33 / 65_535);
        assert_eq!(sell.amount_out + sell.fee_rao, gross);
    }

    #[test]
    fn stable_pool_is_one_to_one() {
        let pool = Pool::stable(100, 5);
        let buy = pool.buy(10, 500).unwrap();
        assert_eq!((buy.amount_out, buy.fee_rao), (10, 0));
        assert_eq!(buy.pool_after, Pool::stable(110, 0));
        let sell = pool.sell(10, 500).unwrap();
        assert_eq!(sell.amount_out, 10);
        assert_eq!(pool.max_tao_in_for_limit(I96F32::from_num(2), 0), u64::MAX);
        assert_eq!(pool.max_tao_in_for_limit(I96F32::from_num(1), 0), 0);
        assert_eq!(
            pool.max_alpha_in_for_limit(I96F32::from_num(0.5), 0),
            u64::MAX
        );
        assert_eq!(
            pool.ensure_buy_limit(I96F32::from_num(1)),
            Err(PoolError::PriceLimitExceeded)
        );
        assert_eq!(pool.ensure_sell_limit(I96F32::from_num(0.5)), Ok(()));
    }

    #[test]
    fn limits_past_the_price_give_zero() {
        let pool = Pool::dynamic(1_000_000_000, 1_000_000_000);
        assert_eq!(pool.max_tao_in_for_limit(I96F32::from_num(1), 0), 0);
        assert_eq!(pool.max_tao_in_for_limit(I96F32::from_num(-3), 0), 0);
        assert_eq!(pool.max_alpha_in_for_limit(I96F32::from_num(1), 0), 0);
        assert_eq!(pool.max_alpha_in_for_limit(I96F32::from_num(2), 0), 0);
        // Selling can never push the price below zero.
        assert_eq!(
            pool.max_alpha_in_for_limit(I96F32::from_num(0), 0),
            u64::MAX
        );
        assert_eq!(
            Pool::dynamic(0, 5).max_alpha_in_for_limit(I96F32::from_num(-1), 0),
            0
        );
    }

    fn pool_strategy() -> impl Strategy<Value = Pool> {
        prop_oneof![
            (
                MIN_RESERVE..=1_000_000_000_000_000u64,
                MIN_RESERVE..=1_000_000_000_000_000u64
            ),
            (any::<u64>(), any::<u64>()),
        ]
        .prop_map(|(t, a)| Pool::dynamic(t, a))
    }

    fn limit_strategy() -> impl Strategy<Value = I96F32> {
        prop_oneof![
            (0i128..(1i128 << 48)).prop_map(I96F32::from_bits),
            any::<i128>().prop_map(I96F32::from_bits),
        ]
    }

    proptest! {
        #[test]
        fn k_never_decreases(pool in pool_strategy(), amount in any::<u64>(), fee in any::<u16>()) {
            let k = u128::from(pool.tao_rao) * u128::from(pool.alpha);
            if let Ok(s) = pool.buy(amount, fee) {
                let p = s.pool_after;
                prop_assert!(u128::from(p.tao_rao) * u128::from(p.alpha) >= k);
                prop_assert!(p.price() >= pool.price());
                prop_assert!(p.alpha >= MIN_RESERVE);
            }
            if let Ok(s) = pool.sell(amount, fee) {
                let p = s.pool_after;
                prop_assert!(u128::from(p.tao_rao) * u128::from(p.alpha) >= k);
                prop_assert!(p.price() <= pool.price());
                prop_assert!(p.tao_rao >= MIN_RESERVE);
            }
        }

        #[test]
        fn round_trip_never_profits(pool in pool_strategy(), tao in any::<u64>(), fee in any::<u16>()) {
            if let Ok(b) = pool.buy(tao, fee)
                && let Ok(s) = b.pool_after.sell(b.amount_out, fee)
            {
                prop_assert!(s.amount_out <= tao);
                prop_assert!(s.amount_out + s.fee_rao + b.fee_rao <= tao);
            }
        }

        #[test]
        fn max_tao_in_is_exact(pool in pool_strategy(), limit in limit_strategy(), fee in any::<u16>()) {
            let x = pool.max_tao_in_for_limit(limit, fee);
            if x > 0 {
                prop_assert!(pool.price_bits_after_buy(x, fee) <= limit.to_bits());
                if x < u64::MAX {
                    prop_assert!(pool.price_bits_after_buy(x + 1, fee) > limit.to_bits());
                }
            } else {
                prop_assert!(pool.price() >= limit || pool.tao_rao == 0 || pool.alpha == 0
                    || pool.price_bits_after_buy(1, fee) > limit.to_bits());
            }
        }

        #[test]
        fn max_alpha_in_is_exact(pool in pool_strategy(), limit in limit_strategy(), fee in any::<u16>()) {
            let x = pool.max_alpha_in_for_limit(limit, fee);
            if x > 0 {
                prop_assert!(pool.price_bits_after_sell(x) >= limit.to_bits());
                if x < u64::MAX {
                    prop_assert!(pool.price_bits_after_sell(x + 1) < limit.to_bits());
                }
            } else {
                prop_assert!(pool.price() <= limit || pool.tao_rao == 0 || pool.alpha == 0
                    || pool.price_bits_after_sell(1) < limit.to_bits());
            }
        }

        #[test]
        fn limited_buy_respects_the_limit(pool in pool_strategy(), limit in limit_strategy(), fee in any::<u16>()) {
            let x = pool.max_tao_in_for_limit(limit, fee);
            if let Ok(s) = pool.buy(x, fee) {
                prop_assert!(s.pool_after.price() <= limit);
            }
        }

        #[test]
        fn no_panic_on_any_input(t in any::<u64>(), a in any::<u64>(), x in any::<u64>(), fee in any::<u16>(), l in any::<i128>()) {
            for pool in [Pool::dynamic(t, a), Pool::stable(t, a)] {
                let _ = pool.buy(x, fee);
                let _ = pool.sell(x, fee);
                let _ = pool.price();
                let _ = pool.max_tao_in_for_limit(I96F32::from_bits(l), fee);
                let _ = pool.max_alpha_in_for_limit(I96F32::from_bits(l), fee);
            }
        }
    }
}
