//! Opening hours as operators write them (T/CEC `BusineHours` is free text): "00:00-24:00",
//! "07:00-22:00", "24小时", "08:00-12:00,14:00-22:00", "22:00-06:00" (past midnight).

/// Whether a station with these opening hours is open `second` seconds after local midnight:
/// `None` when the text says nothing this reader understands (shown as unknown, never as open).
pub fn open_at(text: &str, second: u32) -> Option<bool> {
    let t = text.trim();
    if t.is_empty() {
        return None;
    }
    let lower = t.to_lowercase();
    if ["24小时", "24h", "全天", "全年无休", "24 hours", "always"]
        .iter()
        .any(|w| lower.contains(w))
    {
        return Some(true);
    }
    let normalized: String = t
        .chars()
        .map(|c| match c {
            '～' | '~' | '—' | '–' | '至' | '到' => '-',
            '：' => ':',
            ',' | '，' | ';' | '；' | '、' | '/' => ' ',
            c => c,
        })
        .collect();
    let mut ranges = Vec::new();
    for part in normalized.split_whitespace() {
        let Some((a, b)) = part.split_once('-') else {
            continue;
        };
        if let (Some(a), Some(b)) = (clock(a), clock(b)) {
            ranges.push((a, b));
        }
    }
    if ranges.is_empty() {
        return None;
    }
    Some(ranges.iter().any(|&(a, b)| {
        if a < b {
            (a..b).contains(&second)
        } else if a > b {
            second >= a || second < b
        } else {
            true // "00:00-00:00": the whole day
        }
    }))
}

/// Seconds after midnight of `HH:MM` (24:00 allowed).
fn clock(text: &str) -> Option<u32> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u32, u32) = (h.parse().ok()?, m.get(..2).unwrap_or(m).parse().ok()?);
    // The product only once the hour is known to be small (found by fuzzing: "2242426:2"
    // overflowed before the check).
    (h < 24 && m < 60 || h == 24 && m == 0).then(|| h * 3600 + m * 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: u32 = 3600;

    #[test]
    fn common_forms() {
        assert_eq!(open_at("00:00-24:00", 3 * H), Some(true));
        assert_eq!(open_at("24小时营业", 3 * H), Some(true));
        assert_eq!(open_at("07:00-22:00", 6 * H), Some(false));
        assert_eq!(open_at("07:00-22:00", 7 * H), Some(true));
        assert_eq!(open_at("07:00-22:00", 22 * H), Some(false));
        assert_eq!(open_at("08:00-12:00，14:00～22:00", 13 * H), Some(false));
        assert_eq!(open_at("08:00-12:00，14:00～22:00", 15 * H), Some(true));
        assert_eq!(open_at("22:00-06:00", 23 * H), Some(true));
        assert_eq!(open_at("22:00-06:00", 12 * H), Some(false));
        assert_eq!(open_at("周一至周五", 12 * H), None);
        assert_eq!(open_at("", 12 * H), None);
        assert_eq!(open_at("25:00-26:00", 12 * H), None);
    }

    /// Found by the `tariff_hours` fuzz target: an hour too large to multiply panicked (with
    /// overflow checks) instead of being no time at all.
    #[test]
    fn an_hour_too_large_to_multiply_is_not_a_time() {
        assert_eq!(open_at("22\u{1}\0\0-2242426:2", 12 * H), None);
        assert_eq!(open_at("4294967295:00-08:00", 12 * H), None);
    }
}
