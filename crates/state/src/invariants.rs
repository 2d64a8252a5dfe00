//! Conservation laws every state must satisfy; tests run [`check`] after every block.
//!
//! * TAO: `total_issuance = Σ free balances + Σ pool TAO reserves` exactly. Those are the only
//!   places TAO can be: locks and registration burns go into pools, stake is pool TAO, fees go
//!   to the block author or are recycled (which lowers issuance).
//! * Alpha, per subnet: the alpha held by stakers (`alpha_out`) equals the sum of its hotkey
//!   pools.
//! * Shares, per hotkey pool: the shares of its nominators sum to the pool's total, and their
//!   values never exceed its alpha.
//! * Positions, per subnet: the stored count and the dense slot list match the positions.
//! * A dissolved subnet being cleaned holds its undistributed TAO and its stakers' alpha in
//!   its cleanup record: both count as above until paid.

use std::collections::BTreeMap;

use tao_primitives::{AccountId, NetUid};

use crate::overlay::Overlay;
use crate::schema::{
    Accounts, Chain, Cleanups, HotkeyPools, PositionCount, PositionSlots, SlotOfPosition,
    StakeShares, SubnetEconomy,
};
use crate::stake::value_of;
use crate::store::Store;

/// Checks every invariant; the error says which one broke and by how much.
pub fn check(store: &dyn Store) -> Result<(), String> {
    let state = Overlay::new(store);
    let fail = |e: crate::error::StateError| e.to_string();
    let chain = state
        .get::<Chain>(&())
        .map_err(fail)?
        .ok_or("no chain info")?;
    let free: u128 = state
        .scan::<Accounts>(&())
        .map_err(fail)?
        .iter()
        .map(|(_, a)| u128::from(a.free_rao))
        .sum();
    let economies = state.scan::<SubnetEconomy>(&()).map_err(fail)?;
    let pools: u128 = economies
        .iter()
        .map(|(_, e)| u128::from(e.tao_reserve_rao))
        .sum();
    let cleanups = state.scan::<Cleanups>(&()).map_err(fail)?;
    let cleaning: u128 = cleanups
        .iter()
        .map(|(_, c)| u128::from(crate::cleanup::tao_left(c)))
        .sum();
    if u128::from(chain.total_issuance_rao) != free.saturating_add(pools).saturating_add(cleaning) {
        return Err(format!(
            "TAO not conserved: issuance {} != free {free} + pools {pools} + cleanups {cleaning}",
            chain.total_issuance_rao
        ));
    }
    let hotkey_pools = state.scan::<HotkeyPools>(&()).map_err(fail)?;
    let mut staked: BTreeMap<NetUid, u128> = BTreeMap::new();
    for ((netuid, _), pool) in &hotkey_pools {
        let entry = staked.entry(*netuid).or_default();
        *entry = entry.saturating_add(u128::from(pool.alpha));
    }
    for (netuid, economy) in &economies {
        let held = staked.get(netuid).copied().unwrap_or(0);
        if held != u128::from(economy.alpha_out) {
            return Err(format!(
                "subnet {netuid}: alpha_out {} != Σ hotkey pools {held}",
                economy.alpha_out
            ));
        }
    }
    for (netuid, cleanup) in &cleanups {
        let held = staked.get(netuid).copied().unwrap_or(0);
        if held != u128::from(crate::cleanup::alpha_left(cleanup)) {
            return Err(format!(
                "subnet {netuid} (being cleaned): alpha left {} != Σ hotkey pools {held}",
                crate::cleanup::alpha_left(cleanup)
            ));
        }
    }
    let shares = state.scan::<StakeShares>(&()).map_err(fail)?;
    let mut positions: BTreeMap<NetUid, u64> = BTreeMap::new();
    for ((netuid, _, _), _) in &shares {
        let entry = positions.entry(*netuid).or_default();
        *entry = entry.saturating_add(1);
    }
    let counted: BTreeMap<NetUid, u64> = state
        .scan::<PositionCount>(&())
        .map_err(fail)?
        .into_iter()
        .collect();
    if counted != positions {
        return Err(format!(
            "stake position counts {counted:?} != positions held {positions:?}"
        ));
    }
    let slots = state.scan::<PositionSlots>(&()).map_err(fail)?;
    if slots.len() != shares.len() {
        return Err(format!(
            "{} position slots for {} positions",
            slots.len(),
            shares.len()
        ));
    }
    for ((netuid, slot), (hotkey, coldkey)) in &slots {
        let back = state
            .get::<SlotOfPosition>(&(*netuid, *hotkey, *coldkey))
            .map_err(fail)?;
        if back != Some(*slot) || !state.contains::<StakeShares>(&(*netuid, *hotkey, *coldkey)) {
            return Err(format!(
                "position slot {slot} on {netuid} does not match its position"
            ));
        }
    }
    let pool_of: BTreeMap<(NetUid, AccountId), crate::schema::SharePool> =
        hotkey_pools.iter().cloned().collect();
    let mut by_pool: BTreeMap<(NetUid, AccountId), (u128, u128)> = BTreeMap::new();
    for ((netuid, hotkey, _), amount) in &shares {
        let pool = pool_of
            .get(&(*netuid, *hotkey))
            .copied()
            .unwrap_or_default();
        let entry = by_pool.entry((*netuid, *hotkey)).or_default();
        entry.0 = entry.0.saturating_add(*amount);
        entry.1 = entry.1.saturating_add(u128::from(value_of(*amount, &pool)));
    }
    for ((netuid, hotkey), pool) in &hotkey_pools {
        let (sum_shares, sum_values) = by_pool
            .get(&(*netuid, *hotkey))
            .copied()
            .unwrap_or_default();
        if sum_shares != pool.total_shares {
            return Err(format!(
                "pool {hotkey:?} on {netuid}: Σ shares {sum_shares} != total {}",
                pool.total_shares
            ));
        }
        if sum_values > u128::from(pool.alpha) {
            return Err(format!(
                "pool {hotkey:?} on {netuid}: Σ values {sum_values} > alpha {}",
                pool.alpha
            ));
        }
    }
    Ok(())
}
