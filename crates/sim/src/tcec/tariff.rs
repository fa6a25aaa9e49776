//! Splitting a charge across time-of-use periods, as an operator itemizes its order: energy
//! shared by time spent in each period, money per period from its prices, all in integers so
//! that the periods add up to the totals exactly.

use evgrid_model::{PricePerKwh, WattHours};

use evgrid_tcec::business::ChargeDetail;
use evgrid_tcec::time::china_datetime;
use evgrid_tcec::wire::PolicyInfo;

/// Seconds since midnight of an `HHmmss` period start.
fn seconds_of_day(hhmmss: &str) -> Option<i64> {
    if hhmmss.len() != 6 || !hhmmss.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| hhmmss[r].parse::<i64>().ok();
    Some(n(0..2)? * 3600 + n(2..4)? * 60 + n(4..6)?)
}

/// One tariff period of the day: starts at `start` seconds after midnight (China time).
#[derive(Debug, Clone, Copy, PartialEq)]
struct DayPeriod {
    start: i64,
    electricity: PricePerKwh,
    service: PricePerKwh,
}

fn day_periods(policies: &[PolicyInfo]) -> Vec<DayPeriod> {
    let mut periods: Vec<DayPeriod> = policies
        .iter()
        .filter_map(|p| {
            Some(DayPeriod {
                start: seconds_of_day(&p.start_time)?,
                electricity: PricePerKwh::from_yuan_f64(p.elec_price)?,
                service: PricePerKwh::from_yuan_f64(p.sevice_price)?,
            })
        })
        .collect();
    periods.sort_by_key(|p| p.start);
    if periods.is_empty() {
        // A flat tariff when the station publishes none.
        periods.push(DayPeriod {
            start: 0,
            electricity: PricePerKwh(8000),
            service: PricePerKwh(4000),
        });
    }
    periods
}

/// The tariff in force at `at` (seconds since 1970).
fn period_at(periods: &[DayPeriod], at: i64) -> (usize, i64) {
    let local = i64::from(evgrid_model::time::china_second_of_day(at));
    let idx = periods
        .iter()
        .rposition(|p| p.start <= local)
        .unwrap_or(periods.len() - 1);
    // Seconds until the next period starts.
    let next = periods
        .iter()
        .map(|p| p.start)
        .find(|s| *s > local)
        .unwrap_or(86_400 + periods[0].start);
    (idx, next - local)
}

/// The charge from `start` to `end` (seconds since 1970) of `energy`, itemized by the
/// periods of `policies`. Energy is kept in 10 Wh steps (the 0.01 kWh of `DetailPower`).
pub fn itemize(
    start: i64,
    end: i64,
    energy: WattHours,
    policies: &[PolicyInfo],
) -> Vec<ChargeDetail> {
    let periods = day_periods(policies);
    let end = end.max(start);
    let total_steps = energy.0 / 10;
    let span = (end - start).max(1);
    let mut segments: Vec<(i64, i64, usize)> = Vec::new();
    let mut at = start;
    loop {
        let (idx, left) = period_at(&periods, at);
        let seg_end = (at + left).min(end);
        segments.push((at, seg_end, idx));
        if seg_end >= end {
            break;
        }
        at = seg_end;
    }
    let mut given = 0;
    let count = segments.len();
    segments
        .into_iter()
        .enumerate()
        .map(|(i, (from, to, idx))| {
            let steps = if i + 1 == count {
                total_steps - given
            } else {
                total_steps * (to - from) / span
            };
            given += steps;
            let wh = WattHours(steps * 10);
            let p = periods[idx];
            ChargeDetail {
                detail_start_time: china_datetime(from),
                detail_end_time: china_datetime(to),
                elec_price: p.electricity.0 as f64 / 10_000.0,
                sevice_price: p.service.0 as f64 / 10_000.0,
                detail_power: wh.kwh(),
                detail_elec_money: p.electricity.cost(wh).yuan(),
                detail_sevice_money: p.service.cost(wh).yuan(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use evgrid_model::Fen;
    use evgrid_tcec::time::parse_china_datetime;

    fn policies() -> Vec<PolicyInfo> {
        [
            ("000000", 0.3, 0.2),
            ("080000", 0.9, 0.4),
            ("220000", 0.6, 0.4),
        ]
        .into_iter()
        .map(|(t, e, s)| PolicyInfo {
            start_time: t.into(),
            elec_price: e,
            sevice_price: s,
        })
        .collect()
    }

    #[test]
    fn a_charge_across_a_boundary_is_split_and_adds_up() {
        let start = parse_china_datetime("2024-01-05 21:00:00").unwrap();
        let end = parse_china_datetime("2024-01-05 23:00:00").unwrap();
        let d = itemize(start, end, WattHours(40_000), &policies());
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].detail_end_time, "2024-01-05 22:00:00");
        assert_eq!((d[0].detail_power, d[1].detail_power), (20.0, 20.0));
        assert_eq!((d[0].elec_price, d[1].elec_price), (0.9, 0.6));
        assert_eq!(
            (d[0].detail_elec_money, d[1].detail_elec_money),
            (18.0, 12.0)
        );
        assert_eq!(d[0].detail_sevice_money, 8.0);
    }

    #[test]
    fn a_charge_across_midnight_wraps_to_the_first_period() {
        let start = parse_china_datetime("2024-01-05 23:30:00").unwrap();
        let end = parse_china_datetime("2024-01-06 00:30:00").unwrap();
        let d = itemize(start, end, WattHours(10_010), &policies());
        assert_eq!(d.len(), 2);
        assert_eq!((d[0].elec_price, d[1].elec_price), (0.6, 0.3));
        let total: f64 = d.iter().map(|x| x.detail_power).sum();
        assert!((total - 10.01).abs() < 1e-9);
    }

    #[test]
    fn money_rounds_half_up_to_the_fen() {
        assert_eq!(PricePerKwh(10_000).cost(WattHours(1_005)), Fen(101));
        assert_eq!(PricePerKwh(10_000).cost(WattHours(1_004)), Fen(100));
    }
}
