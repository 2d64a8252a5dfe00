//! What a stake operation is expected to do, computed before it is sent: the pools' reserves
//! from the node, the chain's own swap math (`tao_types::pool`),
//! and the limit the user asked for. The only place the CLI prices trades.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

use serde::Serialize;
use tao_primitives::NetUid;
use tao_primitives::muldiv::mul_div_floor;
use tao_rpc_api::TaoApiClient;
use tao_types::pool::{Pool, PoolError};
use tao_types::pool::{limit_price, max_swap_within_ratio, subnet_pool, within_limit};
use tao_types::tx::PriceLimit;
use tao_types::views::DynamicView;

use crate::amount::{PPM, RAO, format_amount, parse_ppm};
use crate::tx::{found, rpc_error};

/// A subnet's pool as the chain prices it, with the display symbol.
#[derive(Clone, Debug)]
pub struct Market {
    netuid: NetUid,
    symbol: String,
    pool: Pool,
    fee_rate: u16,
}

impl Market {
    /// Reads a subnet's reserves and swap fee from the node.
    pub async fn read(rpc: &impl TaoApiClient, netuid: u16) -> anyhow::Result<Market> {
        let dynamic = rpc
            .subnet_info_get_dynamic_info(NetUid(netuid))
            .await
            .map_err(rpc_error)?;
        let dynamic = found(dynamic, netuid)?;
        let params = rpc
            .subnet_info_get_subnet_hyperparams(NetUid(netuid))
            .await
            .map_err(rpc_error)?;
        let fee_rate = params.map_or(0, |p| p.swap_fee_rate);
        Ok(Market::from_view(&dynamic, fee_rate))
    }

    /// The market of a dynamic-info view with this swap fee rate.
    pub fn from_view(view: &DynamicView, fee_rate: u16) -> Market {
        let netuid = NetUid(view.netuid);
        Market {
            netuid,
            symbol: view.symbol.clone(),
            pool: subnet_pool(netuid, view.tao_in_rao, view.alpha_in_rao),
            fee_rate,
        }
    }

    /// The subnet.
    pub fn netuid(&self) -> u16 {
        self.netuid.0
    }

    /// The token symbol.
    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// Spot price, rao per whole alpha.
    pub fn price_rao(&self) -> u64 {
        price_rao(&self.pool)
    }

    /// `alpha` valued at the spot price, rao (1:1 on the root subnet).
    pub fn value_rao(&self, alpha: u64) -> u64 {
        spot_value_rao(self.netuid.0, self.pool.tao_rao, self.pool.alpha, alpha)
    }
}

/// The markets of the subnets a set of positions is on, read once each.
#[derive(Debug, Default)]
pub struct Markets(BTreeMap<u16, Market>);

impl Markets {
    /// Reads the market of each of `netuids` (repeats read once).
    pub async fn read(
        rpc: &impl TaoApiClient,
        netuids: impl IntoIterator<Item = u16>,
    ) -> anyhow::Result<Markets> {
        let mut markets = BTreeMap::new();
        for netuid in netuids {
            if let Entry::Vacant(entry) = markets.entry(netuid) {
                entry.insert(Market::read(rpc, netuid).await?);
            }
        }
        Ok(Markets(markets))
    }

    /// What selling `alpha` on `netuid` now would return, rao: after price impact and the swap
    /// fee, the position sold alone (0 when the pool cannot take the sale).
    pub fn sale_value_rao(&self, netuid: u16, alpha: u64) -> u64 {
        self.0.get(&netuid).map_or(0, |market| {
            let quote = Quote::remove(market, alpha, Protection::None, false);
            if quote.refusal.is_some() {
                0
            } else {
                quote.received
            }
        })
    }

    /// The subnet's token symbol (`α` for a subnet not read).
    pub fn symbol(&self, netuid: u16) -> &str {
        self.0.get(&netuid).map_or("α", Market::symbol)
    }
}

/// `alpha` valued at a pool's spot price: `floor(alpha · tao_reserve / alpha_reserve)` rao,
/// 1:1 on the root subnet, 0 for an empty pool (the chain's `StakeView::tao_value_rao` rule).
pub fn spot_value_rao(netuid: u16, tao_reserve_rao: u64, alpha_reserve: u64, alpha: u64) -> u64 {
    if NetUid(netuid) == NetUid::ROOT {
        return alpha;
    }
    ratio(alpha, tao_reserve_rao, alpha_reserve)
}

/// `floor(value · numerator / denominator)`, saturating; 0 when the denominator is 0.
fn ratio(value: u64, numerator: u64, denominator: u64) -> u64 {
    mul_div_floor(
        u128::from(value),
        u128::from(numerator),
        u128::from(denominator),
    )
    .map_or(0, |v| u64::try_from(v).unwrap_or(u64::MAX))
}

fn price_rao(pool: &Pool) -> u64 {
    match pool.mechanism {
        tao_types::pool::Mechanism::Stable => RAO,
        tao_types::pool::Mechanism::Dynamic => ratio(RAO, pool.tao_rao, pool.alpha),
    }
}

/// The tolerance of a trade without `--tolerance`, `--limit-price` or `--unsafe`: 0.5 %, as
/// btcli's safe staking.
pub const DEFAULT_TOLERANCE_PPM: u64 = 5_000;

/// A trade that moves a pool's price by this much or more, basis points, makes a refusal
/// call the pool thin.
const THIN_POOL_IMPACT_BPS: u64 = 1_000;

/// How far the user lets the price move: an explicit limit or a tolerance around the spot price.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Protection {
    /// No limit (the trade executes at whatever price the pool gives).
    None,
    /// Worst acceptable price, rao per whole alpha (for a swap: origin price / destination
    /// price, scaled by 10⁹).
    Limit(u64),
    /// Worst acceptable price as a fraction away from the current one, parts per million.
    TolerancePpm(u64),
}

/// Parses a tolerance: `0.005` (a fraction) or `0.5%`, into parts per million (below 100 %).
pub fn parse_tolerance(text: &str) -> Result<u64, String> {
    let ppm = parse_ppm(text)?;
    if ppm >= PPM {
        return Err(format!("{text:?}: a tolerance must be below 100%"));
    }
    Ok(ppm)
}

/// One swap through a pool.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Leg {
    /// The subnet.
    pub netuid: u16,
    /// `buy` (TAO in, alpha out) or `sell` (alpha in, TAO out).
    pub side: &'static str,
    /// Alpha bought or sold, alpha rao.
    pub alpha_rao: u64,
    /// TAO paid (buy, fee included) or received (sell, after the fee), rao.
    pub tao_rao: u64,
    /// The swap fee paid to the block author, rao.
    pub fee_rao: u64,
    /// Spot price before, rao per whole alpha.
    pub price_before_rao: u64,
    /// Spot price after, rao per whole alpha.
    pub price_after_rao: u64,
    /// Price change, basis points of the price before (positive for a buy, negative for a sell).
    pub price_impact_bps: i64,
    /// Symbol of the subnet's token (display only).
    #[serde(skip)]
    pub symbol: String,
}

/// The limit sent with the call and what it lets through at today's reserves.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct LimitQuote {
    /// The limit, rao per whole alpha (swaps: the price ratio scaled by 10⁹).
    pub price_rao: u64,
    /// Whether a partial fill is allowed.
    pub allow_partial: bool,
    /// `full`, `partial` or `refused`, at today's reserves.
    pub outcome: &'static str,
    /// The amount that would execute, in the quote's `unit_in` (JSON `executable_rao`).
    #[serde(rename = "executable_rao")]
    pub executable: u64,
}

/// The expected result of a stake operation.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Quote {
    /// `add`, `remove`, `move`, `swap` or `transfer`.
    pub operation: &'static str,
    /// Amount put in: rao for `add`, alpha rao otherwise (JSON `amount_in_rao`).
    #[serde(rename = "amount_in_rao")]
    pub amount_in: u64,
    /// Token of `amount_in`: `rao` (TAO) or `alpha`.
    pub unit_in: &'static str,
    /// What arrives: alpha on the destination subnet, or rao for `remove` (when `refusal` is
    /// set: what the whole trade would give at today's reserves), in rao of `unit_received`
    /// (JSON `received_rao`).
    #[serde(rename = "received_rao")]
    pub received: u64,
    /// Token of `received`: `rao` (TAO) or `alpha`.
    pub unit_received: &'static str,
    /// What would arrive at today's spot prices with no fee and no price impact (JSON
    /// `received_at_spot_rao`).
    #[serde(rename = "received_at_spot_rao")]
    pub received_at_spot: u64,
    /// `(received_at_spot − received) / received_at_spot`, basis points (fees and impact).
    pub slippage_bps: u64,
    /// The swaps, in order (none for a move within one subnet).
    pub legs: Vec<Leg>,
    /// The price limit, when one is sent.
    pub limit: Option<LimitQuote>,
    /// Why the chain would refuse the operation at today's reserves, if it would.
    pub refusal: Option<String>,
    /// Symbol of the destination subnet's token (display only).
    #[serde(skip)]
    pub symbol_received: String,
}

fn leg(market: &Market, side: &'static str, amount_in: u64) -> Result<(Leg, u64), PoolError> {
    let swap = match side {
        "buy" => market.pool.buy(amount_in, market.fee_rate)?,
        _ => market.pool.sell(amount_in, market.fee_rate)?,
    };
    let before = market.price_rao();
    let after = price_rao(&swap.pool_after);
    let (alpha, tao_rao) = match side {
        "buy" => (swap.amount_out, amount_in),
        _ => (amount_in, swap.amount_out),
    };
    let leg = Leg {
        netuid: market.netuid(),
        side,
        alpha_rao: alpha,
        tao_rao,
        fee_rao: swap.fee_rao,
        price_before_rao: before,
        price_after_rao: after,
        price_impact_bps: impact_bps(before, after),
        symbol: market.symbol().to_owned(),
    };
    Ok((leg, swap.amount_out))
}

fn impact_bps(before: u64, after: u64) -> i64 {
    if before == 0 {
        return 0;
    }
    let change = i128::from(after) - i128::from(before);
    i64::try_from(change * 10_000 / i128::from(before)).unwrap_or(i64::MAX)
}

fn slippage_bps(at_spot: u64, received: u64) -> u64 {
    if at_spot == 0 || received >= at_spot {
        return 0;
    }
    ratio(at_spot - received, 10_000, at_spot)
}

/// The limit for `protection` around `reference` (rao per alpha): above it for buys, below
/// for sells and swaps.
fn limit_for(protection: Protection, reference: u64, buying: bool) -> Option<u64> {
    match protection {
        Protection::None => None,
        Protection::Limit(price_rao) => Some(price_rao),
        Protection::TolerancePpm(ppm) => Some(if buying {
            ratio(reference, PPM + ppm, PPM)
        } else {
            ratio(reference, PPM - ppm.min(PPM), PPM)
        }),
    }
}

fn limited(
    price_rao: u64,
    allow_partial: bool,
    amount: u64,
    max_allowed: u64,
) -> (LimitQuote, Option<u64>) {
    let limit = PriceLimit {
        price_rao,
        allow_partial,
    };
    let (outcome, executable) = match within_limit(amount, max_allowed, limit) {
        Ok(executable) if executable == amount => ("full", Some(executable)),
        Ok(executable) => ("partial", Some(executable)),
        Err(_) => ("refused", None),
    };
    (
        LimitQuote {
            price_rao,
            allow_partial,
            outcome,
            executable: executable.unwrap_or(0),
        },
        executable,
    )
}

/// Marks a trade the limit refuses; [`Quote::finish`] words the reason once it is priced.
const REFUSED_BY_LIMIT: &str = "the price limit would be crossed";

/// Parts per million, rounded up to the next whole percent, as `--tolerance` takes it.
fn percent_up(ppm: u64) -> u64 {
    ppm.div_ceil(10_000)
}

impl Quote {
    /// The limit to send with the call, if any.
    pub fn price_limit(&self) -> Option<PriceLimit> {
        self.limit.as_ref().map(|l| PriceLimit {
            price_rao: l.price_rao,
            allow_partial: l.allow_partial,
        })
    }

    /// `stake add`: buy alpha with `amount_rao`.
    pub fn add(market: &Market, amount_rao: u64, protection: Protection, partial: bool) -> Quote {
        let mut quote = Quote::empty("add", amount_rao, "rao", "alpha", market.symbol());
        quote.received_at_spot = ratio(amount_rao, RAO, market.price_rao());
        let mut amount = amount_rao;
        if let Some(price_rao) = limit_for(protection, market.price_rao(), true) {
            let max = market
                .pool
                .max_tao_in_for_limit(limit_price(&price(price_rao)), market.fee_rate);
            let (limit, executable) = limited(price_rao, partial, amount_rao, max);
            quote.limit = Some(limit);
            match executable {
                Some(executable) => amount = executable,
                // Still priced in full below, so the refusal says how far the price would move.
                None => quote.refusal = Some(REFUSED_BY_LIMIT.to_owned()),
            }
        }
        match leg(market, "buy", amount) {
            Ok((leg, alpha)) => {
                quote.received = alpha;
                quote.legs.push(leg);
            }
            Err(error) => return quote.refuse(error.to_string()),
        }
        quote.finish(&[market])
    }

    /// `stake remove`: sell `alpha`.
    pub fn remove(market: &Market, alpha: u64, protection: Protection, partial: bool) -> Quote {
        let mut quote = Quote::empty("remove", alpha, "alpha", "rao", "τ");
        quote.received_at_spot = market.value_rao(alpha);
        let mut amount = alpha;
        if let Some(price_rao) = limit_for(protection, market.price_rao(), false) {
            let max = market
                .pool
                .max_alpha_in_for_limit(limit_price(&price(price_rao)), market.fee_rate);
            let (limit, executable) = limited(price_rao, partial, alpha, max);
            quote.limit = Some(limit);
            match executable {
                Some(executable) => amount = executable,
                // Still priced in full below, so the refusal says how far the price would move.
                None => quote.refusal = Some(REFUSED_BY_LIMIT.to_owned()),
            }
        }
        match leg(market, "sell", amount) {
            Ok((leg, tao_rao)) => {
                quote.received = tao_rao;
                quote.legs.push(leg);
            }
            Err(error) => return quote.refuse(error.to_string()),
        }
        quote.finish(&[market])
    }

    /// `stake move`/`swap`/`transfer`: `alpha` from `origin` to `dest` (the same subnet moves
    /// shares without a swap; across subnets it sells on one pool and buys on the other).
    pub fn relocate(
        operation: &'static str,
        origin: &Market,
        dest: &Market,
        alpha: u64,
        protection: Protection,
        partial: bool,
    ) -> Quote {
        let mut quote = Quote::empty(operation, alpha, "alpha", "alpha", dest.symbol());
        if origin.netuid == dest.netuid {
            quote.received = alpha;
            quote.received_at_spot = alpha;
            return quote;
        }
        quote.received_at_spot = ratio(origin.value_rao(alpha), RAO, dest.price_rao());
        let mut amount = alpha;
        let spot_ratio = ratio(origin.price_rao(), RAO, dest.price_rao());
        if let Some(price_rao) = limit_for(protection, spot_ratio, false) {
            let max = max_swap_within_ratio(
                (&origin.pool, origin.fee_rate),
                (&dest.pool, dest.fee_rate),
                alpha,
                limit_price(&price(price_rao)),
            );
            let (limit, executable) = limited(price_rao, partial, alpha, max);
            quote.limit = Some(limit);
            match executable {
                Some(executable) => amount = executable,
                // Still priced in full below, so the refusal says how far the price would move.
                None => quote.refusal = Some(REFUSED_BY_LIMIT.to_owned()),
            }
        }
        let sold = match leg(origin, "sell", amount) {
            Ok(sold) => sold,
            Err(error) => return quote.refuse(format!("subnet {}: {error}", origin.netuid())),
        };
        match leg(dest, "buy", sold.1) {
            Ok((bought, alpha_out)) => {
                quote.legs.push(sold.0);
                quote.legs.push(bought);
                quote.received = alpha_out;
            }
            Err(error) => return quote.refuse(format!("subnet {}: {error}", dest.netuid())),
        }
        quote.finish(&[origin, dest])
    }

    fn empty(
        operation: &'static str,
        amount_in: u64,
        unit_in: &'static str,
        unit_received: &'static str,
        symbol_received: &str,
    ) -> Quote {
        Quote {
            operation,
            amount_in,
            unit_in,
            received: 0,
            unit_received,
            received_at_spot: 0,
            slippage_bps: 0,
            legs: Vec::new(),
            limit: None,
            refusal: None,
            symbol_received: symbol_received.to_owned(),
        }
    }

    /// Records why the chain would refuse (the first reason found stays).
    fn refuse(mut self, why: String) -> Quote {
        self.refusal.get_or_insert(why);
        self
    }

    fn finish(mut self, pools: &[&Market]) -> Quote {
        self.slippage_bps = slippage_bps(self.received_at_spot, self.received);
        if self.refusal.as_deref() == Some(REFUSED_BY_LIMIT) {
            self.refusal = Some(self.limit_refusal(pools));
        }
        self
    }

    /// How far the whole trade moves the limited price (the price for `add` and `remove`,
    /// the origin/destination ratio for swaps), parts per million of today's.
    fn price_move_ppm(&self) -> u64 {
        let Some(first) = self.legs.first() else {
            return 0;
        };
        let (before, after) = match self.legs.get(1) {
            None => (
                u128::from(first.price_before_rao),
                u128::from(first.price_after_rao),
            ),
            // origin/destination: (o_after / d_after) / (o_before / d_before).
            Some(bought) => (
                u128::from(first.price_before_rao) * u128::from(bought.price_after_rao),
                u128::from(first.price_after_rao) * u128::from(bought.price_before_rao),
            ),
        };
        let moved = before.abs_diff(after);
        mul_div_floor(moved, u128::from(PPM), before)
            .map_or(u64::MAX, |v| u64::try_from(v).unwrap_or(u64::MAX))
    }

    /// Why the limit refuses the trade and which flag accepts it.
    fn limit_refusal(&self, pools: &[&Market]) -> String {
        let moved_ppm = self.price_move_ppm();
        let legs = self.legs.iter();
        let mut why = format!(
            "the trade would move the price by {}.{:02}%, past your limit (slippage {}.{:02}%)",
            moved_ppm / 10_000,
            moved_ppm % 10_000 / 100,
            self.slippage_bps / 100,
            self.slippage_bps % 100,
        );
        for (leg, market) in legs.zip(pools) {
            if leg.price_impact_bps.unsigned_abs() >= THIN_POOL_IMPACT_BPS {
                why.push_str(&format!(
                    "; subnet {}'s pool is thin (it holds {} and {}), so a trade this size moves \
                     its price a lot",
                    market.netuid(),
                    format_amount(market.pool.tao_rao, "τ"),
                    format_amount(market.pool.alpha, market.symbol()),
                ));
            }
        }
        let percent = percent_up(moved_ppm);
        let accept = if percent < 100 {
            format!("--tolerance {percent}% (or --unsafe for no limit at all)")
        } else {
            "--unsafe (no limit at all)".to_owned()
        };
        why.push_str(&format!(
            ". To accept that price pass {accept}; --allow-partial trades only what fits; or \
             trade a smaller amount"
        ));
        why
    }

    /// The quote as lines for people.
    pub fn table(&self) -> comfy_table::Table {
        let mut t = crate::output::table(&["expected", ""]);
        for leg in &self.legs {
            let verb = if leg.side == "buy" { "buy" } else { "sell" };
            let price_unit = format!("τ/{}", leg.symbol);
            t.add_row(vec![
                format!("{verb} on subnet {}", leg.netuid),
                format!(
                    "{} for {} (fee {}); price {} → {} ({}{}.{:02}%)",
                    format_amount(leg.alpha_rao, &leg.symbol),
                    format_amount(leg.tao_rao, "τ"),
                    format_amount(leg.fee_rao, "τ"),
                    format_amount(leg.price_before_rao, &price_unit),
                    format_amount(leg.price_after_rao, &price_unit),
                    if leg.price_impact_bps < 0 { "-" } else { "+" },
                    leg.price_impact_bps.unsigned_abs() / 100,
                    leg.price_impact_bps.unsigned_abs() % 100,
                ),
            ]);
        }
        let symbol = if self.unit_received == "rao" {
            "τ"
        } else {
            self.symbol_received.as_str()
        };
        t.add_row(vec![
            "you receive".to_owned(),
            format!(
                "{} (at spot {}; slippage {}.{:02}%)",
                format_amount(self.received, symbol),
                format_amount(self.received_at_spot, symbol),
                self.slippage_bps / 100,
                self.slippage_bps % 100
            ),
        ]);
        if let Some(limit) = &self.limit {
            let unit = match self.legs.as_slice() {
                [leg] => format!("τ/{}", leg.symbol),
                _ => "(origin price / destination price)".to_owned(),
            };
            t.add_row(vec![
                "price limit".to_owned(),
                format!(
                    "{} ({}{})",
                    format_amount(limit.price_rao, &unit),
                    limit.outcome,
                    if limit.allow_partial {
                        ", partial fills allowed"
                    } else {
                        ""
                    }
                ),
            ]);
        }
        t
    }
}

fn price(price_rao: u64) -> PriceLimit {
    PriceLimit {
        price_rao,
        allow_partial: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn market(netuid: u16, tao: u64, alpha: u64) -> Market {
        Market {
            netuid: NetUid(netuid),
            symbol: "α".into(),
            pool: subnet_pool(NetUid(netuid), tao, alpha),
            fee_rate: 0,
        }
    }

    #[test]
    fn tolerances_parse_as_fractions_or_percentages() {
        assert_eq!(parse_tolerance("0.005"), Ok(5_000));
        assert_eq!(parse_tolerance("0.5%"), Ok(5_000));
        assert_eq!(parse_tolerance("5%"), Ok(50_000));
        assert_eq!(parse_tolerance("0"), Ok(0));
        for bad in ["", "%", "-1", "1", "100%", "abc", "0.0000001", "1e-3"] {
            assert!(parse_tolerance(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_buy_is_quoted_with_the_pool_math() {
        // 1 000 τ : 1 000 α, buy with 1 000 τ: half the alpha, price ×4.
        let pool = market(1, 1_000 * RAO, 1_000 * RAO);
        let quote = Quote::add(&pool, 1_000 * RAO, Protection::None, false);
        assert_eq!(quote.received, 500 * RAO);
        assert_eq!(quote.received_at_spot, 1_000 * RAO);
        assert_eq!(quote.slippage_bps, 5_000);
        assert_eq!(quote.legs[0].price_after_rao, 4 * RAO);
        assert_eq!(quote.legs[0].price_impact_bps, 30_000);
        assert!(quote.refusal.is_none());
    }

    #[test]
    fn limits_refuse_or_fill_partly() {
        let pool = market(1, 1_000 * RAO, 1_000 * RAO);
        // Price may rise at most to 4 τ/α: exactly 1 000 τ fits.
        let fits = Quote::add(&pool, 1_000 * RAO, Protection::Limit(4 * RAO), false);
        assert_eq!(fits.limit.as_ref().map(|l| l.outcome), Some("full"));
        let refused = Quote::add(&pool, 2_000 * RAO, Protection::Limit(4 * RAO), false);
        assert_eq!(refused.limit.as_ref().map(|l| l.outcome), Some("refused"));
        assert!(refused.refusal.is_some());
        // Priced in full anyway, to show how far past the limit it goes.
        // (3 000 τ : 333.33… α, so 9 τ/α floored.)
        assert_eq!(refused.legs[0].price_after_rao, 9 * RAO - 1);
        let partial = Quote::add(&pool, 2_000 * RAO, Protection::Limit(4 * RAO), true);
        // The chain's search is exact on floored prices: a few rao past 1 000 τ still fit.
        let executable = partial.limit.as_ref().map_or(0, |l| l.executable);
        assert!(
            (1_000 * RAO..1_000 * RAO + 1_000).contains(&executable),
            "{executable}"
        );
        assert_eq!(partial.legs[0].tao_rao, executable);
        // A 1 % tolerance on a sell of 10 % of the pool is refused.
        let sell = Quote::remove(&pool, 100 * RAO, Protection::TolerancePpm(10_000), false);
        assert_eq!(sell.limit.as_ref().map(|l| l.price_rao), Some(990_000_000));
        let why = sell.refusal.unwrap_or_default();
        // 1 000 τ : 1 100 α after the sale: the price falls 17.36 %.
        assert!(why.contains("move the price by 17.35%"), "{why}");
        assert!(why.contains("pass --tolerance 18% (or --unsafe"), "{why}");
        assert!(why.contains("subnet 1's pool is thin"), "{why}");
    }

    #[test]
    fn moves_within_a_subnet_do_not_swap() {
        let one = market(1, 1_000 * RAO, 1_000 * RAO);
        let two = market(2, 1_000 * RAO, 2_000 * RAO);
        let same = Quote::relocate("move", &one, &one, 5 * RAO, Protection::None, false);
        assert_eq!((same.received, same.legs.len()), (5 * RAO, 0));
        let across = Quote::relocate("swap", &one, &two, RAO, Protection::None, false);
        assert_eq!(across.legs.len(), 2);
        // 1 α on subnet 1 is worth 1 τ, which buys about 2 α on subnet 2.
        assert_eq!(across.received_at_spot, 2 * RAO);
        assert!(across.received < 2 * RAO && across.received > 19 * RAO / 10);
        assert_eq!(spot_value_rao(0, 5, 7, 11), 11);
    }
}
