//! Amounts as people type them: `1.5`, `1.5tao`, `1.5τ`, `1500000000rao` — parsed exactly, in
//! integers (no floating point), and shown as `1.500000000 τ`.

/// Rao per TAO (and alpha units per alpha).
pub const RAO: u64 = 1_000_000_000;

/// Parses an amount into rao (or alpha units): decimal TAO by default, `rao` for integers.
pub fn parse_amount(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let lower = text.to_ascii_lowercase();
    if let Some(rao) = lower.strip_suffix("rao") {
        return rao
            .trim()
            .parse::<u64>()
            .map_err(|_| format!("{text:?}: rao amounts are whole numbers"));
    }
    let number = lower
        .strip_suffix("tao")
        .or_else(|| lower.strip_suffix('τ'))
        .or_else(|| lower.strip_suffix('α'))
        .unwrap_or(&lower)
        .trim();
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits_ok = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits_ok(whole) || !digits_ok(fraction) {
        return Err(format!(
            "{text:?} is not an amount: use 1.5, 1.5tao or 1500000000rao"
        ));
    }
    if fraction.len() > 9 {
        return Err(format!(
            "{text:?}: at most 9 decimals (1 rao = 0.000000001 τ)"
        ));
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole
            .parse()
            .map_err(|_| format!("{text:?} is too large"))?
    };
    let scale = 10u64.pow(9u32.saturating_sub(u32::try_from(fraction.len()).unwrap_or(9)));
    let fraction: u64 = if fraction.is_empty() {
        0
    } else {
        fraction.parse::<u64>().map_err(|_| format!("{text:?}"))? * scale
    };
    whole
        .checked_mul(RAO)
        .and_then(|w| w.checked_add(fraction))
        .ok_or_else(|| format!("{text:?} is too large"))
}

/// `1234500000` → `1.234500000` followed by `symbol`.
pub fn format_amount(rao: u64, symbol: &str) -> String {
    format!("{}.{:09} {symbol}", rao / RAO, rao % RAO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_form_exactly() {
        assert_eq!(parse_amount("1.5"), Ok(1_500_000_000));
        assert_eq!(parse_amount("1.5tao"), Ok(1_500_000_000));
        assert_eq!(parse_amount("1.5 TAO"), Ok(1_500_000_000));
        assert_eq!(parse_amount("2τ"), Ok(2_000_000_000));
        assert_eq!(parse_amount("1500000000rao"), Ok(1_500_000_000));
        assert_eq!(parse_amount("0.000000001"), Ok(1));
        assert_eq!(parse_amount(".25"), Ok(250_000_000));
        assert_eq!(parse_amount("7."), Ok(7_000_000_000));
        assert_eq!(parse_amount("18446744073.709551615"), Ok(u64::MAX));
        for bad in [
            "",
            ".",
            "abc",
            "1.2.3",
            "-1",
            "1e9",
            "0.0000000001",
            "1.5rao",
            "18446744074",
            "1,5",
        ] {
            assert!(parse_amount(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn formats_with_nine_decimals() {
        assert_eq!(format_amount(1_234_500_000, "τ"), "1.234500000 τ");
        assert_eq!(format_amount(1, "α"), "0.000000001 α");
    }
}
