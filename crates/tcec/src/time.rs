//! Time on the T/CEC wire: China local time (Asia/Shanghai, UTC+8, no daylight saving), as the
//! envelope's 14-digit `TimeStamp` and as business times `yyyy-MM-dd HH:mm:ss`.

/// Local time in China (UTC+8, no daylight saving) as `yyyyMMddHHmmss`.
pub fn china_timestamp(unix_seconds: i64) -> String {
    let t = unix_seconds + 8 * 3600;
    let (days, secs) = (t.div_euclid(86_400), t.rem_euclid(86_400));
    let (year, month, day) = evgrid_model::time::civil_from_days(days);
    format!(
        "{year:04}{month:02}{day:02}{:02}{:02}{:02}",
        secs / 3600,
        (secs / 60) % 60,
        secs % 60
    )
}

/// Reads a `yyyyMMddHHmmss` China local time (UTC+8) as seconds since 1970.
pub fn parse_china_timestamp(text: &str) -> Option<i64> {
    if text.len() != 14 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| text[r].parse::<i64>().ok();
    let (y, m, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (hh, mm, ss) = (n(8..10)?, n(10..12)?, n(12..14)?);
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) || hh > 23 || mm > 59 || ss > 59 {
        return None;
    }
    let days = evgrid_model::time::days_from_civil(y, m, d);
    Some(days * 86_400 + hh * 3600 + mm * 60 + ss - 8 * 3600)
}

/// Business time `yyyy-MM-dd HH:mm:ss` (China local time) of seconds since 1970.
pub fn china_datetime(unix_seconds: i64) -> String {
    let t = china_timestamp(unix_seconds);
    format!(
        "{}-{}-{} {}:{}:{}",
        &t[0..4],
        &t[4..6],
        &t[6..8],
        &t[8..10],
        &t[10..12],
        &t[12..14]
    )
}

/// Reads a business time `yyyy-MM-dd HH:mm:ss` (China local time) as seconds since 1970.
pub fn parse_china_datetime(text: &str) -> Option<i64> {
    let b = text.as_bytes();
    if b.len() != 19
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b' '
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    if digits.len() != 14 {
        return None;
    }
    parse_china_timestamp(&digits)
}

/// Reads a date `yyyy-MM-dd` as the seconds since 1970 of its midnight in China.
pub fn parse_china_date(text: &str) -> Option<i64> {
    if text.len() != 10 {
        return None;
    }
    parse_china_datetime(&format!("{text} 00:00:00"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn china_time_is_utc_plus_8() {
        // 2024-01-05 08:00:04 UTC is 16:00:04 in China.
        assert_eq!(china_timestamp(1_704_441_604), "20240105160004");
        assert_eq!(china_timestamp(0), "19700101080000");
        // Across a leap day and a year end.
        assert_eq!(china_timestamp(1_709_222_400), "20240301000000");
        assert_eq!(
            china_timestamp(1_735_689_600 - 8 * 3600 - 1),
            "20241231235959"
        );
    }

    #[test]
    fn china_time_parses_back() {
        for t in [
            0,
            1_704_441_604,
            1_709_222_400,
            1_735_689_600 - 8 * 3600 - 1,
            1_900_000_000,
        ] {
            assert_eq!(parse_china_timestamp(&china_timestamp(t)), Some(t));
        }
        assert_eq!(parse_china_timestamp("20241301000000"), None);
        assert_eq!(parse_china_timestamp("2024010100000"), None);
    }

    #[test]
    fn business_times_round_trip() {
        assert_eq!(china_datetime(1_704_441_604), "2024-01-05 16:00:04");
        assert_eq!(
            parse_china_datetime("2024-01-05 16:00:04"),
            Some(1_704_441_604)
        );
        assert_eq!(parse_china_datetime("2024-01-05T16:00:04"), None);
        assert_eq!(parse_china_datetime("2024-13-05 16:00:04"), None);
        assert_eq!(
            parse_china_date("2024-01-05"),
            Some(1_704_441_604 - 16 * 3600 - 4)
        );
    }
}
