//! Units that must never be floating point inside evgrid: money per kWh and rated power.
//!
//! T/CEC sends prices in yuan with 4 decimals (0.0001 yuan = 0.01 fen) and power in kW with one
//! decimal; both are kept as integers in their smallest unit so nothing is rounded on the way in.

use std::fmt;

use serde::{Deserialize, Serialize};

/// A price per kWh in hundredths of a fen (0.0001 yuan), the precision of T/CEC's `ElecPrice`.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct PricePerKwh(pub i64);

impl PricePerKwh {
    /// From whole fen per kWh.
    pub const fn from_fen(fen: i64) -> Self {
        Self(fen * 100)
    }

    /// From a decimal yuan string such as `"0.6123"` (at most 4 decimals).
    pub fn parse_yuan(text: &str) -> Option<Self> {
        parse_fixed(text, 4).map(Self)
    }

    /// From a JSON number in yuan. The number is read from its shortest decimal text, so
    /// `0.6123` becomes exactly 6123; more than 4 decimals is refused.
    pub fn from_yuan_f64(yuan: f64) -> Option<Self> {
        if !yuan.is_finite() {
            return None;
        }
        Self::parse_yuan(&format!("{yuan}"))
    }

    /// Whole fen when the price has no fraction of a fen.
    pub fn whole_fen(self) -> Option<i64> {
        (self.0 % 100 == 0).then_some(self.0 / 100)
    }

    /// The price in fen as text with up to two decimals, e.g. `"61.23"` or `"35"`.
    pub fn fen_text(self) -> String {
        format_fixed(self.0, 2)
    }

    /// Money in fen for `energy` at this price, rounded half up
    /// (Wh × 0.0001 yuan/kWh = 10⁻⁵ fen).
    pub fn cost(self, energy: WattHours) -> Fen {
        // In 128 bits: no energy a device claims overflows it (found by fuzzing); the result
        // is kept within i64.
        let fen = (i128::from(energy.0) * i128::from(self.0) + 50_000).div_euclid(100_000);
        Fen(i64::try_from(fen).unwrap_or(if fen < 0 { i64::MIN } else { i64::MAX }))
    }

    /// The price in yuan with four decimals, as T/CEC writes it, e.g. `"0.6123"`.
    pub fn yuan_text(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let v = self.0.unsigned_abs();
        format!("{sign}{}.{:04}", v / 10_000, v % 10_000)
    }
}

impl fmt::Display for PricePerKwh {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} fen/kWh", self.fen_text())
    }
}

/// Rated power in watts.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Power(pub u32);

impl Power {
    /// From whole kilowatts.
    pub const fn from_kw(kw: u32) -> Self {
        Self(kw * 1000)
    }

    /// From a kW number as sent on the wire (up to 3 decimals kept exactly).
    pub fn from_kw_f64(kw: f64) -> Option<Self> {
        if !kw.is_finite() || kw < 0.0 {
            return None;
        }
        let watts = parse_fixed(&format!("{kw}"), 3)?;
        u32::try_from(watts).ok().map(Self)
    }

    /// Kilowatts as text, e.g. `"7"` or `"7.5"`.
    pub fn kw_text(self) -> String {
        format_fixed(i64::from(self.0), 3)
    }

    /// Kilowatts as a number, for display and JSON only.
    pub fn kw(self) -> f64 {
        f64::from(self.0) / 1000.0
    }
}

/// An amount of money in fen (0.01 yuan), the precision of T/CEC's money fields.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct Fen(pub i64);

impl Fen {
    /// From a JSON number in yuan with at most 2 decimals, read exactly.
    pub fn from_yuan_f64(yuan: f64) -> Option<Self> {
        if !yuan.is_finite() {
            return None;
        }
        parse_fixed(&format!("{yuan}"), 2).map(Self)
    }

    /// Yuan as text with two decimals, e.g. `"12.30"`.
    pub fn yuan_text(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let v = self.0.unsigned_abs();
        format!("{sign}{}.{:02}", v / 100, v % 100)
    }

    /// Yuan as a number, for the wire and display only.
    pub fn yuan(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

/// Energy in watt-hours.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, Default,
)]
pub struct WattHours(pub i64);

impl WattHours {
    /// From a kWh number as sent on the wire (up to 3 decimals kept exactly).
    pub fn from_kwh_f64(kwh: f64) -> Option<Self> {
        if !kwh.is_finite() || kwh < 0.0 {
            return None;
        }
        parse_fixed(&format!("{kwh}"), 3).map(Self)
    }

    /// kWh as text with three decimals, e.g. `"12.345"`.
    pub fn kwh_text(self) -> String {
        let sign = if self.0 < 0 { "-" } else { "" };
        let v = self.0.unsigned_abs();
        format!("{sign}{}.{:03}", v / 1000, v % 1000)
    }

    /// Kilowatt-hours as a number, for the wire and display only.
    pub fn kwh(self) -> f64 {
        self.0 as f64 / 1000.0
    }
}

/// Parses a decimal like `-12.345` into an integer scaled by 10^decimals; refuses more decimals
/// than asked for, exponents, and anything that is not a plain decimal.
fn parse_fixed(text: &str, decimals: u32) -> Option<i64> {
    let text = text.trim();
    let (neg, body) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (int_part, frac_part) = body.split_once('.').unwrap_or((body, ""));
    if int_part.is_empty() && frac_part.is_empty() {
        return None;
    }
    if !int_part.bytes().all(|b| b.is_ascii_digit())
        || !frac_part.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let frac_trimmed = frac_part.trim_end_matches('0');
    if frac_trimmed.len() > decimals as usize {
        return None;
    }
    let scale = 10_i64.pow(decimals);
    let int_value: i64 = if int_part.is_empty() {
        0
    } else {
        int_part.parse().ok()?
    };
    let mut frac_value: i64 = 0;
    for (i, b) in frac_trimmed.bytes().enumerate() {
        frac_value += i64::from(b - b'0') * 10_i64.pow(decimals - 1 - i as u32);
    }
    let v = int_value.checked_mul(scale)?.checked_add(frac_value)?;
    Some(if neg { -v } else { v })
}

/// Formats an integer scaled by 10^decimals without trailing zeros.
fn format_fixed(value: i64, decimals: u32) -> String {
    let scale = 10_i64.pow(decimals).unsigned_abs();
    let sign = if value < 0 { "-" } else { "" };
    let v = value.unsigned_abs();
    let (int_part, frac) = (v / scale, v % scale);
    if frac == 0 {
        return format!("{sign}{int_part}");
    }
    let frac_text = format!("{frac:0width$}", width = decimals as usize);
    format!("{sign}{int_part}.{}", frac_text.trim_end_matches('0'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_keep_four_decimals_of_yuan_exactly() {
        assert_eq!(PricePerKwh::from_yuan_f64(0.6123), Some(PricePerKwh(6123)));
        assert_eq!(PricePerKwh::from_yuan_f64(0.35), Some(PricePerKwh(3500)));
        assert_eq!(PricePerKwh::from_yuan_f64(1.0), Some(PricePerKwh(10_000)));
        assert_eq!(PricePerKwh::from_yuan_f64(0.61234), None);
        assert_eq!(PricePerKwh(6123).fen_text(), "61.23");
        assert_eq!(PricePerKwh(3500).fen_text(), "35");
        assert_eq!(PricePerKwh(6123).yuan_text(), "0.6123");
        assert_eq!(PricePerKwh::from_fen(35).whole_fen(), Some(35));
        assert_eq!(PricePerKwh(6123).whole_fen(), None);
    }

    #[test]
    fn power_in_watts() {
        assert_eq!(Power::from_kw_f64(7.0), Some(Power(7000)));
        assert_eq!(Power::from_kw_f64(120.5), Some(Power(120_500)));
        assert_eq!(Power::from_kw_f64(-1.0), None);
        assert_eq!(Power(7500).kw_text(), "7.5");
        assert_eq!(Power(60_000).kw_text(), "60");
    }

    #[test]
    fn money_and_energy_are_exact() {
        assert_eq!(Fen::from_yuan_f64(12.3), Some(Fen(1230)));
        assert_eq!(Fen::from_yuan_f64(0.07), Some(Fen(7)));
        assert_eq!(Fen::from_yuan_f64(0.005), None);
        assert_eq!(Fen(1230).yuan_text(), "12.30");
        assert_eq!(WattHours(12_345).kwh_text(), "12.345");
        assert_eq!(WattHours(5).kwh_text(), "0.005");
        assert_eq!(WattHours::from_kwh_f64(12.34), Some(WattHours(12_340)));
        assert_eq!(WattHours::from_kwh_f64(-1.0), None);
    }

    #[test]
    fn parse_fixed_refuses_garbage() {
        assert_eq!(parse_fixed("1e3", 2), None);
        assert_eq!(parse_fixed("", 2), None);
        assert_eq!(parse_fixed(".", 2), None);
        assert_eq!(parse_fixed("1.2.3", 2), None);
        assert_eq!(parse_fixed("-0.5", 2), Some(-50));
    }
}
