//! Amounts as people type them: `1.5`, `1.5tao`, `1.5τ`, `1500000000rao` — parsed exactly, in
//! integers (no floating point), and shown as `1.500000000 τ`.

/// Rao per TAO (and alpha units per alpha).
pub const RAO: u64 = 1_000_000_000;

/// Parses an amount into rao (or alpha units): decimal TAO by default, `rao` for integers.
/// Zero is refused: no transaction moves nothing.
pub fn parse_amount(text: &str) -> Result<u64, String> {
    match parse_decimal(text)? {
        0 => Err(format!("{text:?} is zero: give an amount above 0")),
        amount => Ok(amount),
    }
}

/// Parses a decimal number of TAO (or `…rao`) into rao, zero included.
pub fn parse_decimal(text: &str) -> Result<u64, String> {
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

/// Parts per million in a whole (tolerances, takes).
pub const PPM: u64 = 1_000_000;

/// Parses a proportion into parts per million: a fraction (`0.005`) or a percentage (`0.5%`),
/// at most 6 decimals, exactly (no floating point).
pub fn parse_ppm(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let (number, scale) = match text.strip_suffix('%') {
        Some(percent) => (percent.trim(), PPM / 100),
        None => (text, PPM),
    };
    let bad =
        || format!("{text:?} is not a proportion: use a fraction (0.005) or a percentage (0.5%)");
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |s: &str| s.chars().all(|c| c.is_ascii_digit());
    if (whole.is_empty() && fraction.is_empty()) || !digits(whole) || !digits(fraction) {
        return Err(bad());
    }
    if fraction.len() > 6 {
        return Err(format!("{text:?}: at most 6 decimals"));
    }
    let whole: u64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| bad())?
    };
    let fraction: u64 = format!("{fraction:0<6}").parse().map_err(|_| bad())?;
    whole
        .checked_mul(scale)
        .and_then(|w| w.checked_add(fraction.checked_mul(scale)? / PPM))
        .ok_or_else(bad)
}

/// A `u16` proportion (takes, epoch terms) as a percentage rounded to two decimals: `11796` →
/// `18.00%`.
pub fn format_u16_percent(value: u16) -> String {
    let max = u64::from(u16::MAX);
    let hundredths = (u64::from(value) * 10_000 + max / 2) / max;
    format!("{}.{:02}%", hundredths / 100, hundredths % 100)
}

/// `1234500000` → `1.234500000` followed by `symbol`.
pub fn format_amount(rao: u64, symbol: &str) -> String {
    format!("{}.{:09} {symbol}", rao / RAO, rao % RAO)
}

/// An amount in a narrow table column: 4 decimals (truncated), `12.3456δ`.
pub fn format_short(rao: u64, symbol: &str) -> String {
    format!("{}.{:04}{symbol}", rao / RAO, rao % RAO / 100_000)
}

/// A `u16` proportion as a fraction of 65 535 with 4 decimals (rounded): 32 767 → `0.5000`.
pub fn format_proportion(value: u16) -> String {
    let ten_thousandths = (u32::from(value) * 20_000 + 65_535) / (65_535 * 2);
    format!(
        "{}.{:04}",
        ten_thousandths / 10_000,
        ten_thousandths % 10_000
    )
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
        assert_eq!(parse_decimal("0"), Ok(0));
        for zero in ["0", "0.0", "0rao", "0tao"] {
            assert!(
                parse_amount(zero).unwrap_err().contains("is zero"),
                "{zero}"
            );
        }
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
    fn proportions_parse_exactly() {
        assert_eq!(parse_ppm("0.005"), Ok(5_000));
        assert_eq!(parse_ppm("0.5%"), Ok(5_000));
        assert_eq!(parse_ppm("18%"), Ok(180_000));
        assert_eq!(parse_ppm("1"), Ok(PPM));
        assert_eq!(parse_ppm(".25"), Ok(250_000));
        for bad in ["", "%", "-1", "abc", "0.0000001", "1e-3", "1.2.3"] {
            assert!(parse_ppm(bad).is_err(), "{bad}");
        }
        assert_eq!(format_u16_percent(11_796), "18.00%");
        assert_eq!(format_u16_percent(6_553), "10.00%");
        assert_eq!(format_u16_percent(u16::MAX), "100.00%");
        assert_eq!(format_u16_percent(0), "0.00%");
    }

    #[test]
    fn formats_with_nine_decimals() {
        assert_eq!(format_amount(1_234_500_000, "τ"), "1.234500000 τ");
        assert_eq!(format_amount(1, "α"), "0.000000001 α");
        assert_eq!(format_short(12_345_678_900, "δ"), "12.3456δ");
        assert_eq!(format_proportion(32_767), "0.5000");
        assert_eq!(format_proportion(65_535), "1.0000");
        assert_eq!(format_proportion(0), "0.0000");
    }
}
