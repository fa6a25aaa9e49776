//! What a charger or an operator's platform says is checked against what could be true before
//! it is believed. The rule, the same for OCPP and T/CEC:
//!
//! - **Clocks**: no time more than [`CLOCK_AHEAD_TOLERANCE`] ahead of the server's is believed:
//!   it is replaced by the server's time of receipt (a `Faulted` stamped 2099 would otherwise
//!   hide every later status forever). A charger's *status* stamped more than
//!   [`CLOCK_BEHIND_TOLERANCE`] behind is stamped with the server's time too (a charger whose
//!   clock fell back to 1970 would otherwise never change status again); a session's past times
//!   are kept, since orders legitimately arrive late.
//! - **Energy and duration**: a reading is kept as the device reported it, but the session is
//!   marked *disputed* (its order is flagged for a person to look at, never silently billed) when
//!   the energy exceeds what the connector's rated power could deliver since the start (with a
//!   margin), when a register reading is below an earlier one, or when the session has lasted
//!   longer than [`MAX_SESSION_SECONDS`].

use crate::WattHours;

/// How far ahead of the server a device's clock may be (seconds) before it is not believed.
pub const CLOCK_AHEAD_TOLERANCE: i64 = 300;
/// How far behind the server a device's clock may be (seconds): a charger queues messages while
/// offline, but not for longer than a day.
pub const CLOCK_BEHIND_TOLERANCE: i64 = 86_400;
/// The longest charge believed (seconds); a session open longer is flagged.
pub const MAX_SESSION_SECONDS: i64 = 48 * 3_600;
/// The rated power assumed for a connector evgrid has no record of (a charger not yet placed on
/// a station): more than any public charger delivers today.
pub const UNKNOWN_RATED_POWER_W: i64 = 1_000_000;
/// Time added to the elapsed time before the energy bound is computed (seconds): clocks of the
/// start and of the reading may differ, and a first sample may arrive late.
const ELAPSED_MARGIN_SECONDS: i64 = 600;
/// Share added to the rated power for the energy bound (percent).
const POWER_MARGIN_PERCENT: i64 = 10;

/// The time to keep for a session time a device or platform `claimed`, received at `now` on
/// the server's clock: the claim, unless it is ahead of the server's beyond the tolerance, then
/// `now` (and `false`).
pub fn not_ahead(claimed: i64, now: i64) -> (i64, bool) {
    if claimed > now + CLOCK_AHEAD_TOLERANCE {
        (now, false)
    } else {
        (claimed, true)
    }
}

/// The time to keep for the `claimed` time of a charger's status received at `now`: the claim
/// when it is within both tolerances, else `now` (and `false`).
pub fn status_time(claimed: i64, now: i64) -> (i64, bool) {
    if claimed > now + CLOCK_AHEAD_TOLERANCE || claimed < now - CLOCK_BEHIND_TOLERANCE {
        (now, false)
    } else {
        (claimed, true)
    }
}

/// What is known of a session when a new reading of it arrives.
#[derive(Debug, Clone, Copy)]
pub struct SessionEvidence {
    /// When the session started (already checked with [`not_ahead`]).
    pub started_at: Option<i64>,
    /// When it ended, if it has (already checked with [`not_ahead`]).
    pub ended_at: Option<i64>,
    /// The energy stored before this reading.
    pub energy_before: Option<WattHours>,
    /// The energy this reading reports.
    pub energy_now: Option<WattHours>,
    /// The connector's rated power in watts, when evgrid has the connector on record.
    pub rated_power_w: Option<i64>,
    /// The server's time of receipt.
    pub now: i64,
}

/// The most energy a connector of `rated_power_w` could have delivered in `elapsed` seconds,
/// with the margins of the rule.
pub fn energy_bound(rated_power_w: Option<i64>, elapsed: i64) -> WattHours {
    let power = rated_power_w
        .filter(|p| *p > 0)
        .unwrap_or(UNKNOWN_RATED_POWER_W);
    let seconds = elapsed.clamp(0, MAX_SESSION_SECONDS) + ELAPSED_MARGIN_SECONDS;
    let wh = i128::from(power) * i128::from(seconds) * i128::from(100 + POWER_MARGIN_PERCENT)
        / (3_600 * 100);
    WattHours(i64::try_from(wh).unwrap_or(i64::MAX))
}

/// Why the reading cannot be believed as it is (one sentence per finding, `; ` between them),
/// or `None` when it is plausible.
pub fn implausibility(e: &SessionEvidence) -> Option<String> {
    let mut findings = Vec::new();
    let elapsed = e
        .started_at
        .map(|s| e.ended_at.unwrap_or(e.now).min(e.now) - s);
    if let Some(energy) = e.energy_now {
        let bound = energy_bound(e.rated_power_w, elapsed.unwrap_or(MAX_SESSION_SECONDS));
        if energy.0 > bound.0 {
            let power = e.rated_power_w.map_or("an unknown rating".to_owned(), |p| {
                format!("{} kW", p / 1000)
            });
            findings.push(format!(
                "{} Wh reported is more than the connector ({power}) could deliver in {} s (at most {} Wh)",
                energy.0,
                elapsed.unwrap_or(MAX_SESSION_SECONDS).max(0),
                bound.0
            ));
        }
        if energy.0 < 0 {
            findings.push(format!("a negative energy reading ({} Wh)", energy.0));
        }
        if let Some(before) = e.energy_before {
            if energy.0 < before.0 {
                findings.push(format!(
                    "a reading ({} Wh) below an earlier one ({} Wh)",
                    energy.0, before.0
                ));
            }
        }
    }
    if let Some(elapsed) = elapsed {
        if elapsed > MAX_SESSION_SECONDS {
            findings.push(format!(
                "the session has lasted {} h, longer than the {} h any charge is believed to last",
                elapsed / 3_600,
                MAX_SESSION_SECONDS / 3_600
            ));
        }
    }
    (!findings.is_empty()).then(|| findings.join("; "))
}

/// `first` and `second` as one dispute text (either may be absent); a finding already in
/// `first` is not repeated.
pub fn join_disputes(first: Option<&str>, second: Option<&str>) -> Option<String> {
    match (first, second) {
        (Some(a), Some(b)) if a.contains(b) => Some(a.to_owned()),
        (Some(a), Some(b)) => Some(format!("{a}; {b}")),
        (Some(a), None) => Some(a.to_owned()),
        (None, Some(b)) => Some(b.to_owned()),
        (None, None) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_790_000_000;

    fn evidence(started_ago: Option<i64>, before: Option<i64>, now_wh: i64) -> SessionEvidence {
        SessionEvidence {
            started_at: started_ago.map(|a| NOW - a),
            ended_at: None,
            energy_before: before.map(WattHours),
            energy_now: Some(WattHours(now_wh)),
            rated_power_w: Some(60_000),
            now: NOW,
        }
    }

    #[test]
    fn a_clock_far_ahead_or_behind_gives_way_to_the_servers() {
        assert_eq!(status_time(NOW - 60, NOW), (NOW - 60, true));
        assert_eq!(status_time(NOW + 200, NOW), (NOW + 200, true));
        // 2099-01-01
        assert_eq!(status_time(4_070_908_800, NOW), (NOW, false));
        assert_eq!(status_time(0, NOW), (NOW, false));
        assert_eq!(status_time(NOW - 2 * 86_400, NOW), (NOW, false));
        // A session's past is history; only its future is not believed.
        assert_eq!(not_ahead(0, NOW), (0, true));
        assert_eq!(not_ahead(4_070_908_800, NOW), (NOW, false));
    }

    #[test]
    fn energy_within_the_connectors_power_is_believed() {
        // 60 kW for one hour: 60 kWh, and 10 minutes and 10 % of margin.
        assert_eq!(
            implausibility(&evidence(Some(3_600), Some(1_000), 60_000)),
            None
        );
        assert_eq!(energy_bound(Some(60_000), 3_600), WattHours(77_000));
    }

    #[test]
    fn energy_beyond_the_connectors_power_is_flagged() {
        // The attack seen: 900,000 kWh two minutes after the start.
        let why = implausibility(&evidence(Some(120), Some(0), 900_000_000)).unwrap_or_default();
        assert!(
            why.contains("more than the connector (60 kW) could deliver"),
            "{why}"
        );
        // Just over the bound.
        assert!(implausibility(&evidence(Some(3_600), None, 77_001)).is_some());
    }

    #[test]
    fn a_register_going_back_and_a_session_too_long_are_flagged() {
        let back = implausibility(&evidence(Some(600), Some(5_000), 4_000)).unwrap_or_default();
        assert!(back.contains("below an earlier one (5000 Wh)"), "{back}");
        let long = implausibility(&evidence(Some(50 * 3_600), None, 10)).unwrap_or_default();
        assert!(long.contains("lasted 50 h"), "{long}");
    }

    #[test]
    fn a_connector_without_a_rating_is_bounded_by_the_fastest_charger() {
        let e = SessionEvidence {
            rated_power_w: None,
            ..evidence(Some(120), None, 200_000)
        };
        assert_eq!(implausibility(&e), None);
        let e = SessionEvidence {
            energy_now: Some(WattHours(300_000)),
            ..e
        };
        assert!(implausibility(&e).is_some());
    }

    #[test]
    fn disputes_join_without_repeating() {
        assert_eq!(join_disputes(Some("a"), Some("a")), Some("a".into()));
        assert_eq!(join_disputes(Some("a"), Some("b")), Some("a; b".into()));
        assert_eq!(join_disputes(None, Some("b")), Some("b".into()));
        assert_eq!(join_disputes(None, None), None);
    }
}
