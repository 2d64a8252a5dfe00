//! Splitting an amount among holders so that the parts add up to exactly the whole.

use tao_primitives::AccountId;

/// Splits `total` in proportion to `weights`; the rao lost to flooring go one each to the
/// largest remainders (ties: earlier entries).
pub fn largest_remainder(total: u64, weights: &[(AccountId, u64)]) -> Vec<(AccountId, u64)> {
    let sum: u128 = weights.iter().map(|(_, w)| u128::from(*w)).sum();
    if sum == 0 {
        return Vec::new();
    }
    let mut shares: Vec<(AccountId, u64, u128)> = weights
        .iter()
        .map(|(who, weight)| {
            let exact = u128::from(total).saturating_mul(u128::from(*weight));
            let floor = exact.checked_div(sum).unwrap_or(0);
            (
                *who,
                u64::try_from(floor).unwrap_or(u64::MAX),
                exact.checked_rem(sum).unwrap_or(0),
            )
        })
        .collect();
    let paid: u64 = shares
        .iter()
        .fold(0u64, |acc, (_, amount, _)| acc.saturating_add(*amount));
    let mut left = total.saturating_sub(paid);
    let mut order: Vec<usize> = (0..shares.len()).collect();
    order.sort_by(|a, b| {
        let ra = shares.get(*a).map_or(0, |s| s.2);
        let rb = shares.get(*b).map_or(0, |s| s.2);
        rb.cmp(&ra).then(a.cmp(b))
    });
    for index in order {
        if left == 0 {
            break;
        }
        if let Some(share) = shares.get_mut(index) {
            share.1 = share.1.saturating_add(1);
            left = left.saturating_sub(1);
        }
    }
    shares
        .into_iter()
        .map(|(who, amount, _)| (who, amount))
        .collect()
}
