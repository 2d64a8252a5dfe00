//! How weights and bonds are stored on chain as `u16`.
//!
//! * Weights are stored **row max-upscaled**: the largest value a validator submits becomes
//!   65 535 and the others keep their ratio to it (rounded).
//! * Original-Yuma bonds are stored column max-upscaled; Yuma 3 bonds as `floor(b · 65535)`
//!   proportions. Both are produced by the epoch itself ([`crate::EpochOutput::bonds`]).

use tao_primitives::{I32F32, SafeDiv};

/// Scales `values` so the largest becomes 65 535, rounding to nearest (ties away from zero),
/// bit-identical to the live chain's `vec_u16_max_upscale_to_u16`. All-zero input stays zero.
///
/// ```
/// assert_eq!(tao_yuma::storage::max_upscale_u16(&[1, 2, 4]), vec![16384, 32768, 65535]);
/// ```
pub fn max_upscale_u16(values: &[u16]) -> Vec<u16> {
    let u16_max = I32F32::from_num(u16::MAX);
    let Some(max) = values.iter().max().map(|m| I32F32::from_num(*m)) else {
        return Vec::new();
    };
    if max == I32F32::from_bits(0) {
        return vec![0; values.len()];
    }
    // The live chain divides first for large maxima (to stay inside I32F32) and multiplies
    // first otherwise; the two orders round differently, so both are kept.
    let large = max > I32F32::from_num(32_768);
    let scale = u16_max.safe_div(max);
    values
        .iter()
        .map(|v| {
            let v = I32F32::from_num(*v);
            let scaled = if large {
                v.saturating_mul(scale)
            } else {
                v.saturating_mul(u16_max).safe_div(max)
            };
            scaled.round().saturating_to_num::<u16>()
        })
        .collect()
}

/// Stores one `set_weights` submission: pairs each uid with its max-upscaled value.
pub fn weight_row(uids: &[u16], values: &[u16]) -> Vec<(u16, u16)> {
    uids.iter().copied().zip(max_upscale_u16(values)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_upscale_matches_live_examples() {
        // Vector A's weights: 65535·[1/4, 1/2, 3/4, 1] submitted as integers.
        assert_eq!(
            max_upscale_u16(&[16383, 32767, 49149, 65535]),
            vec![16383, 32767, 49149, 65535]
        );
        assert_eq!(
            max_upscale_u16(&[1, 2, 3, 4]),
            vec![16384, 32768, 49151, 65535]
        );
        assert_eq!(max_upscale_u16(&[0, 0]), vec![0, 0]);
        assert_eq!(max_upscale_u16(&[]), Vec::<u16>::new());
        assert_eq!(max_upscale_u16(&[7]), vec![65535]);
        assert_eq!(max_upscale_u16(&[1, 65535]), vec![1, 65535]);
    }
}
