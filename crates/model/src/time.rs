//! Calendar arithmetic without a time-zone database: civil dates from days since 1970 and back
//! (Howard Hinnant's algorithms), RFC 3339 in UTC. Protocol adapters build their wire formats
//! (T/CEC's China local time, OCPP's RFC 3339) on these.

/// Now, in seconds since 1970 (UTC); 0 if the clock is before 1970.
pub fn unix_now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// (year, month, day) of a day number (days since 1970-01-01).
pub fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    (yoe + era * 400 + i64::from(month <= 2), month, day)
}

/// The day number (days since 1970-01-01) of a civil date.
pub fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Seconds since 1970 as RFC 3339 UTC, e.g. `2024-01-05T08:00:04Z`.
pub fn format_rfc3339(unix_seconds: i64) -> String {
    let (y, m, d, h, mi, s) = civil_time(unix_seconds);
    format!("{y:04}-{m:02}-{d:02}T{h:02}:{mi:02}:{s:02}Z")
}

/// Year, month, day, hour, minute, second of seconds since 1970 (UTC).
fn civil_time(unix_seconds: i64) -> (i64, i64, i64, i64, i64, i64) {
    let (days, secs) = (
        unix_seconds.div_euclid(86_400),
        unix_seconds.rem_euclid(86_400),
    );
    let (y, m, d) = civil_from_days(days);
    (y, m, d, secs / 3600, (secs / 60) % 60, secs % 60)
}

/// Seconds after local midnight in the city (Asia/Shanghai, UTC+8 all year): where a
/// time-of-use tariff or opening hours stand at `unix_seconds`.
pub fn china_second_of_day(unix_seconds: i64) -> u32 {
    // Without an addition that could overflow at the ends of the range (found by fuzzing).
    u32::try_from((unix_seconds.rem_euclid(86_400) + 8 * 3600) % 86_400).unwrap_or(0)
}

/// China local time (Asia/Shanghai, UTC+8 all year) as `YYYY-MM-DD HH:MM:SS`, for people.
pub fn format_china_local(unix_seconds: i64) -> String {
    let (y, m, d, h, mi, s) = civil_time(unix_seconds + 8 * 3600);
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// The China (UTC+8) calendar day of a time, `YYYY-MM-DD`: the day statistics and snapshots
/// are kept by.
pub fn china_day(unix_seconds: i64) -> String {
    format_china_local(unix_seconds)[..10].to_owned()
}

/// Reads an RFC 3339 date-time (any offset, fraction ignored) as seconds since 1970.
pub fn parse_rfc3339(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || b[13] != b':' || b[16] != b':' {
        return None;
    }
    let n = |r: std::ops::Range<usize>| -> Option<i64> {
        let s = text.get(r)?;
        s.bytes()
            .all(|c| c.is_ascii_digit())
            .then(|| s.parse().ok())?
    };
    let (y, mo, d) = (n(0..4)?, n(5..7)?, n(8..10)?);
    let (h, mi, s) = (n(11..13)?, n(14..16)?, n(17..19)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut rest = text.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let digits = frac.bytes().take_while(u8::is_ascii_digit).count();
        rest = frac.get(digits..)?;
    }
    let offset = match rest {
        "Z" | "z" => 0,
        o if o.len() == 6 && (o.starts_with('+') || o.starts_with('-')) && &o[3..4] == ":" => {
            let hours: i64 = o.get(1..3)?.parse().ok()?;
            let minutes: i64 = o.get(4..6)?.parse().ok()?;
            let sign = if o.starts_with('-') { -1 } else { 1 };
            sign * (hours * 3600 + minutes * 60)
        }
        _ => return None,
    };
    Some(days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s - offset)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_second_of_day_is_utc_plus_8() {
        assert_eq!(china_second_of_day(0), 8 * 3600);
        assert_eq!(china_second_of_day(16 * 3600), 0);
        assert_eq!(china_second_of_day(-1), 8 * 3600 - 1);
    }

    #[test]
    fn china_local_time_is_utc_plus_8_across_midnight() {
        assert_eq!(format_china_local(1_704_441_604), "2024-01-05 16:00:04");
        assert_eq!(format_china_local(1_704_470_400), "2024-01-06 00:00:00");
    }

    #[test]
    fn rfc3339_round_trips() {
        assert_eq!(format_rfc3339(1_704_441_604), "2024-01-05T08:00:04Z");
        assert_eq!(parse_rfc3339("2024-01-05T08:00:04Z"), Some(1_704_441_604));
        assert_eq!(
            parse_rfc3339("2024-01-05T16:00:04.250+08:00"),
            Some(1_704_441_604)
        );
        assert_eq!(parse_rfc3339("2024-01-05 08:00:04"), None);
        for t in [0, 951_782_400, 1_709_222_400, 4_102_444_799] {
            assert_eq!(parse_rfc3339(&format_rfc3339(t)), Some(t));
        }
    }
}
