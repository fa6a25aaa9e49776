//! Operators, stations, equipment (piles), connectors and their time-of-use tariffs.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::{ChargePeriod, Fen, LatLng, OperatorId, Power, PricePerKwh, WattHours};

/// The city's three-way split of charging infrastructure.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Category {
    /// Open to every driver (T/CEC StationType 1).
    Public,
    /// Reserved for a fleet: bus, sanitation, logistics, taxi (100-103), and "other" (255).
    Dedicated,
    /// A private owner's pile at home (50).
    Private,
}

impl Category {
    /// All categories, in reporting order.
    pub const ALL: [Category; 3] = [Category::Public, Category::Dedicated, Category::Private];

    /// The lowercase name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Public => "public",
            Category::Dedicated => "dedicated",
            Category::Private => "private",
        }
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Category {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "public" => Ok(Category::Public),
            "dedicated" => Ok(Category::Dedicated),
            "private" => Ok(Category::Private),
            _ => Err(format!(
                "unknown category {s:?}; expected public, dedicated or private"
            )),
        }
    }
}

/// T/CEC `StationType` (§7.1), kept as its wire value so unknown values survive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct StationType(pub i32);

impl StationType {
    pub const PUBLIC: Self = Self(1);
    pub const PERSONAL: Self = Self(50);
    pub const BUS: Self = Self(100);
    pub const SANITATION: Self = Self(101);
    pub const LOGISTICS: Self = Self(102);
    pub const TAXI: Self = Self(103);
    pub const OTHER: Self = Self(255);

    /// Whether the standard defines this value.
    pub fn is_known(self) -> bool {
        matches!(self.0, 1 | 50 | 100..=103 | 255)
    }

    /// The city's category. "Other" (255) and unknown values count as dedicated: they are not
    /// private piles, and nothing says a driver may use them, so they do not count as public.
    pub fn category(self) -> Category {
        match self.0 {
            1 => Category::Public,
            50 => Category::Private,
            _ => Category::Dedicated,
        }
    }

    /// A short English label.
    pub fn label(self) -> &'static str {
        match self.0 {
            1 => "public",
            50 => "personal",
            100 => "bus",
            101 => "sanitation",
            102 => "logistics",
            103 => "taxi",
            255 => "other",
            _ => "unknown",
        }
    }
}

/// T/CEC `EquipmentType` (§7.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct EquipmentType(pub i32);

impl EquipmentType {
    pub const DC: Self = Self(1);
    pub const AC: Self = Self(2);
    pub const AC_DC: Self = Self(3);
    pub const WIRELESS: Self = Self(4);
    pub const OTHER: Self = Self(5);

    /// A short English label.
    pub fn label(self) -> &'static str {
        match self.0 {
            1 => "dc",
            2 => "ac",
            3 => "ac_dc",
            4 => "wireless",
            5 => "other",
            _ => "unknown",
        }
    }
}

/// T/CEC `ConnectorType` (§7.5), kept raw; unknown values read as "other".
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ConnectorType(pub i32);

impl ConnectorType {
    pub const HOUSEHOLD_SOCKET: Self = Self(1);
    pub const AC_SOCKET: Self = Self(2);
    pub const AC_PLUG: Self = Self(3);
    pub const DC_PLUG: Self = Self(4);
    pub const WIRELESS: Self = Self(5);
    pub const OTHER: Self = Self(6);

    /// The API name of the type.
    pub fn name(self) -> &'static str {
        match self.0 {
            1 => "household_socket",
            2 => "ac_socket",
            3 => "ac_plug",
            4 => "dc_plug",
            5 => "wireless",
            _ => "other",
        }
    }

    /// Parses the API name back.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "household_socket" => Self::HOUSEHOLD_SOCKET,
            "ac_socket" => Self::AC_SOCKET,
            "ac_plug" => Self::AC_PLUG,
            "dc_plug" => Self::DC_PLUG,
            "wireless" => Self::WIRELESS,
            "other" => Self::OTHER,
            _ => return None,
        })
    }

    /// All API names, for error messages and documentation.
    pub const NAMES: [&'static str; 6] = [
        "household_socket",
        "ac_socket",
        "ac_plug",
        "dc_plug",
        "wireless",
        "other",
    ];

    /// Direct or alternating current: only the DC plug (type 4) is DC.
    pub fn current(self) -> CurrentKind {
        if self == Self::DC_PLUG {
            CurrentKind::Dc
        } else {
            CurrentKind::Ac
        }
    }
}

/// Direct or alternating current, the first filter a driver sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum CurrentKind {
    Dc,
    Ac,
}

impl CurrentKind {
    /// `"dc"` or `"ac"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CurrentKind::Dc => "dc",
            CurrentKind::Ac => "ac",
        }
    }
}

impl FromStr for CurrentKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "dc" => Ok(CurrentKind::Dc),
            "ac" => Ok(CurrentKind::Ac),
            _ => Err(format!("unknown current {s:?}; expected dc or ac")),
        }
    }
}

/// One connector status for every protocol (T/CEC §7.6 and OCPP map onto it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConnectorStatus {
    Offline,
    Available,
    Occupied,
    Charging,
    Reserved,
    Faulted,
    Unknown,
}

impl ConnectorStatus {
    /// The lowercase name used in the API and the store.
    pub fn as_str(self) -> &'static str {
        match self {
            ConnectorStatus::Offline => "offline",
            ConnectorStatus::Available => "available",
            ConnectorStatus::Occupied => "occupied",
            ConnectorStatus::Charging => "charging",
            ConnectorStatus::Reserved => "reserved",
            ConnectorStatus::Faulted => "faulted",
            ConnectorStatus::Unknown => "unknown",
        }
    }

    /// From the name; anything else reads as unknown.
    pub fn from_name(name: &str) -> Self {
        match name {
            "offline" => ConnectorStatus::Offline,
            "available" => ConnectorStatus::Available,
            "occupied" => ConnectorStatus::Occupied,
            "charging" => ConnectorStatus::Charging,
            "reserved" => ConnectorStatus::Reserved,
            "faulted" => ConnectorStatus::Faulted,
            _ => ConnectorStatus::Unknown,
        }
    }
}

/// A charging operator (运营商), known by its organisation code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Operator {
    pub id: OperatorId,
    pub name: String,
}

/// A connector (gun / socket).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Connector {
    /// The operator's connector id (`ConnectorID`, unique within the operator).
    pub id: String,
    pub name: Option<String>,
    pub connector_type: ConnectorType,
    /// GB/T 20234 edition: 1 = 2011, 2 = 2015.
    pub national_standard: i32,
    pub power: Power,
    pub voltage_upper_v: u32,
    pub voltage_lower_v: u32,
    pub current_a: u32,
    pub park_no: Option<String>,
}

/// A pile (charging equipment); the city counts piles, not connectors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Equipment {
    /// The operator's equipment id (`EquipmentID`, unique within the operator).
    pub id: String,
    pub name: Option<String>,
    pub equipment_type: EquipmentType,
    pub power: Power,
    pub manufacturer_name: Option<String>,
    pub model: Option<String>,
    pub production_date: Option<String>,
    pub connectors: Vec<Connector>,
}

/// One time-of-use period; it runs until the next period's start (or midnight).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct TariffPeriod {
    /// Start, seconds after local midnight (Asia/Shanghai).
    pub start_second: u32,
    pub electricity: PricePerKwh,
    pub service: PricePerKwh,
}

/// Why a tariff was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TariffError {
    #[error("a tariff needs 1 to 32 periods, got {0}")]
    PeriodCount(usize),
    #[error("the first period must start at 00:00:00")]
    FirstNotMidnight,
    #[error("period starts must increase strictly and stay within the day")]
    NotIncreasing,
    #[error("prices cannot be negative")]
    Negative,
    #[error("a price above {} yuan/kWh is not a charging price", MAX_PRICE.0 / 10_000)]
    TooHigh,
}

/// The longest span [`Tariff::accrue`] shares energy over, seconds (a week).
pub const ACCRUE_SPAN_MOST: i64 = 7 * 86_400;

/// The highest price per kWh (electricity or service) a tariff may have: 100 yuan, two orders
/// of magnitude above any charging price, so that no price times any energy overflows.
pub const MAX_PRICE: PricePerKwh = PricePerKwh(1_000_000);

/// A time-of-use tariff (peak / flat / valley, ...): up to 32 periods as T/CEC `SumPeriod` allows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Tariff {
    pub periods: Vec<TariffPeriod>,
}

impl Tariff {
    /// Validates and builds a tariff.
    pub fn new(periods: Vec<TariffPeriod>) -> Result<Self, TariffError> {
        if periods.is_empty() || periods.len() > 32 {
            return Err(TariffError::PeriodCount(periods.len()));
        }
        if periods[0].start_second != 0 {
            return Err(TariffError::FirstNotMidnight);
        }
        if periods
            .windows(2)
            .any(|w| w[1].start_second <= w[0].start_second)
            || periods.iter().any(|p| p.start_second >= 86_400)
        {
            return Err(TariffError::NotIncreasing);
        }
        if periods
            .iter()
            .any(|p| p.electricity.0 < 0 || p.service.0 < 0)
        {
            return Err(TariffError::Negative);
        }
        // Found by fuzzing: 688888888888060 yuan/kWh made money overflow.
        if periods
            .iter()
            .any(|p| p.electricity > MAX_PRICE || p.service > MAX_PRICE)
        {
            return Err(TariffError::TooHigh);
        }
        Ok(Self { periods })
    }

    /// Reads a tariff written as `HH:MM=ELECTRICITY+SERVICE` periods in yuan per kWh, separated
    /// by commas, e.g. `00:00=0.33+0.60,08:00=0.95+0.60,22:00=0.33+0.60` (China time; the first
    /// period starts at 00:00).
    pub fn parse(text: &str) -> Result<Self, String> {
        let periods = text
            .split(',')
            .map(|part| {
                let part = part.trim();
                let bad = || format!("{part:?} is not HH:MM=ELECTRICITY+SERVICE (yuan/kWh)");
                let (time, prices) = part.split_once('=').ok_or_else(bad)?;
                let (h, m) = time.split_once(':').ok_or_else(bad)?;
                let (h, m): (u32, u32) =
                    (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
                if h > 23 || m > 59 {
                    return Err(bad());
                }
                let (e, sv) = prices.split_once('+').ok_or_else(bad)?;
                Ok(TariffPeriod {
                    start_second: h * 3600 + m * 60,
                    electricity: PricePerKwh::parse_yuan(e.trim()).ok_or_else(bad)?,
                    service: PricePerKwh::parse_yuan(sv.trim()).ok_or_else(bad)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        Self::new(periods).map_err(|e| e.to_string())
    }

    /// The period in force at `second` after local midnight.
    pub fn period_at(&self, second: u32) -> Option<&TariffPeriod> {
        self.periods.iter().rev().find(|p| p.start_second <= second)
    }

    /// The period in force at `at` (seconds since 1970) and the span of that period's window on
    /// that day, `[start, end)` in seconds since 1970 (China time, UTC+8 all year).
    fn window_at(&self, at: i64) -> Option<(&TariffPeriod, i64, i64)> {
        let local = i64::from(crate::time::china_second_of_day(at));
        let midnight = at - local;
        let i = self
            .periods
            .iter()
            .rposition(|p| i64::from(p.start_second) <= local)?;
        let end = self
            .periods
            .get(i + 1)
            .map_or(86_400, |p| i64::from(p.start_second));
        let p = &self.periods[i];
        Some((
            p,
            midnight.saturating_add(i64::from(p.start_second)),
            midnight.saturating_add(end),
        ))
    }

    /// Adds `energy` charged between `from` and `to` (seconds since 1970) to a session's
    /// itemized `periods`: shared across the tariff windows it spans by the time spent in each
    /// (integer Wh, the remainder to the last window), merged into the last period when it is
    /// the same window, and each touched period's money recomputed from its energy. This is how
    /// evgrid bills a charge whose charger reports energy but no money (OCPP). A span longer
    /// than [`ACCRUE_SPAN_MOST`] is billed as its last part of that length (a charger's clock
    /// may claim 1970; such a session is flagged by the plausibility rule anyway), so the
    /// periods stay few.
    pub fn accrue(&self, periods: &mut Vec<ChargePeriod>, from: i64, to: i64, energy: WattHours) {
        let to = to.max(from);
        let from = from.max(to.saturating_sub(ACCRUE_SPAN_MOST));
        let span = to.saturating_sub(from).max(1);
        let mut at = from;
        let mut given = 0;
        loop {
            let Some((price, window_start, window_end)) = self.window_at(at) else {
                return;
            };
            let piece_end = window_end.min(to);
            // In 128 bits: a device's energy times seconds may not fit in 64 (a share is never
            // more than the energy, so it fits back).
            let share = if piece_end >= to {
                energy.0.saturating_sub(given)
            } else {
                i64::try_from(
                    i128::from(energy.0) * i128::from(piece_end.saturating_sub(at))
                        / i128::from(span),
                )
                .unwrap_or(energy.0)
            };
            given = given.saturating_add(share);
            match periods.last_mut() {
                Some(last)
                    if last.starts_at >= window_start
                        && last.ends_at <= window_end
                        && last.electricity_price == price.electricity
                        && last.service_price == price.service =>
                {
                    last.ends_at = last.ends_at.max(piece_end);
                    last.energy = WattHours(last.energy.0.saturating_add(share));
                }
                _ => periods.push(ChargePeriod {
                    starts_at: at,
                    ends_at: piece_end,
                    electricity_price: price.electricity,
                    service_price: price.service,
                    energy: WattHours(share),
                    electricity_money: Fen(0),
                    service_money: Fen(0),
                }),
            }
            if let Some(last) = periods.last_mut() {
                last.electricity_money = last.electricity_price.cost(last.energy);
                last.service_money = last.service_price.cost(last.energy);
            }
            if piece_end >= to {
                return;
            }
            at = piece_end;
        }
    }
}

/// A charging station (充电站) as the registry holds it. Coordinates are WGS-84.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Station {
    pub operator_id: OperatorId,
    /// The operator's own station id (`StationID`).
    pub id: String,
    pub name: String,
    pub station_type: StationType,
    /// T/CEC `StationStatus` (0 unknown, 1 building, 5 closed, 6 maintenance, 50 in use).
    pub status: i32,
    pub location: LatLng,
    pub address: String,
    /// GB/T 2260 division code the operator reported (`AreaCode`).
    pub area_code: String,
    pub equipment_owner_id: String,
    pub country_code: String,
    pub service_tel: String,
    pub station_tel: Option<String>,
    pub park_nums: i32,
    /// T/CEC `Construction` (site type), raw.
    pub construction: i32,
    pub site_guide: Option<String>,
    pub business_hours: Option<String>,
    pub electricity_fee_text: Option<String>,
    pub service_fee_text: Option<String>,
    pub park_fee: Option<String>,
    pub payment: Option<String>,
    pub support_order: bool,
    pub remark: Option<String>,
    pub tariff: Option<Tariff>,
    pub equipment: Vec<Equipment>,
}

impl Station {
    /// The city's category for this station.
    pub fn category(&self) -> Category {
        self.station_type.category()
    }

    /// Number of connectors over all piles.
    pub fn connector_count(&self) -> usize {
        self.equipment.iter().map(|e| e.connectors.len()).sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Found by the `tariff_hours` fuzz target: a price of 688,888,888,888,060 yuan/kWh was
    /// accepted and the money of a charge at it overflowed.
    #[test]
    fn a_price_too_high_to_multiply_is_refused() {
        let err = Tariff::parse("00:00=0.5+0688888888888060").unwrap_err();
        assert!(err.contains("100 yuan/kWh"), "{err}");
        assert!(Tariff::parse("00:00=99.9999+100").is_ok());
    }

    /// Found by fuzzing the same target: energy and spans a device may claim overflowed the
    /// sharing of energy over tariff windows; a charge said to start in 1970 made a period per
    /// window for 56 years.
    #[test]
    fn any_claimed_energy_and_span_is_shared_without_overflow_and_within_a_week() {
        let tariff = Tariff::parse("00:00=0.33+0.60,08:00=0.95+0.60,22:00=0.33+0.60").unwrap();
        let mut periods = Vec::new();
        tariff.accrue(&mut periods, i64::MIN, i64::MAX, WattHours(i64::MAX));
        tariff.accrue(&mut periods, 0, 1_790_000_000, WattHours(i64::MAX));
        assert!(periods.len() <= 64, "{} periods", periods.len());
        let mut periods = Vec::new();
        tariff.accrue(&mut periods, 0, 1_790_000_000, WattHours(10_000));
        let energy: i64 = periods.iter().map(|p| p.energy.0).sum();
        assert_eq!(energy, 10_000);
        assert!(periods.len() <= 3 * 8, "{} periods", periods.len());
    }

    #[test]
    fn station_types_map_to_the_city_categories() {
        assert_eq!(StationType::PUBLIC.category(), Category::Public);
        assert_eq!(StationType::PERSONAL.category(), Category::Private);
        for t in 100..=103 {
            assert_eq!(StationType(t).category(), Category::Dedicated);
        }
        assert_eq!(StationType::OTHER.category(), Category::Dedicated);
    }

    #[test]
    fn energy_accrues_into_the_windows_it_spans() {
        let p = |s, e| TariffPeriod {
            start_second: s,
            electricity: PricePerKwh::from_fen(e),
            service: PricePerKwh::from_fen(40),
        };
        // Valley until 08:00 China time (00:00 UTC), then 90 fen.
        let tariff = Tariff::new(vec![p(0, 30), p(8 * 3600, 90)]).unwrap();
        let eight = 1_704_412_800; // 2024-01-05 08:00:00 China time
        let mut periods = Vec::new();
        tariff.accrue(&mut periods, eight - 1800, eight - 600, WattHours(2_000));
        tariff.accrue(&mut periods, eight - 600, eight + 600, WattHours(3_001));
        tariff.accrue(&mut periods, eight + 600, eight + 1200, WattHours(1_000));
        assert_eq!(periods.len(), 2, "{periods:?}");
        assert_eq!(periods[0].energy, WattHours(2_000 + 1_500));
        assert_eq!(periods[1].energy, WattHours(1_501 + 1_000));
        assert_eq!((periods[0].ends_at, periods[1].starts_at), (eight, eight));
        assert_eq!(periods[1].ends_at, eight + 1200);
        assert_eq!(periods[0].electricity_money, Fen(105)); // 3.5 kWh × 30 fen
        assert_eq!(periods[1].electricity_money, Fen(225)); // 2.501 kWh × 90 fen = 225.09
        assert_eq!(periods[1].service_money, Fen(100)); // 2.501 × 40 = 100.04
        let total: i64 = periods.iter().map(|p| p.energy.0).sum();
        assert_eq!(total, 6_001);
    }

    #[test]
    fn tariffs_read_from_text() {
        let t = Tariff::parse("00:00=0.33+0.60, 08:00=0.95+0.6").unwrap();
        assert_eq!(t.periods.len(), 2);
        assert_eq!(t.periods[1].start_second, 8 * 3600);
        assert_eq!(t.periods[1].electricity, PricePerKwh::from_fen(95));
        assert_eq!(t.periods[1].service, PricePerKwh::from_fen(60));
        for bad in [
            "",
            "08:00=0.9+0.6",
            "00:00=0.9",
            "24:00=1+1",
            "00:00=x+1",
            "00:00=1+1,00:00=1+1",
        ] {
            assert!(Tariff::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn tariffs_must_cover_the_day_in_order() {
        let p = |s, e| TariffPeriod {
            start_second: s,
            electricity: PricePerKwh::from_fen(e),
            service: PricePerKwh::from_fen(40),
        };
        let t = Tariff::new(vec![p(0, 30), p(8 * 3600, 90), p(22 * 3600, 30)]).unwrap();
        assert_eq!(
            t.period_at(9 * 3600).unwrap().electricity,
            PricePerKwh::from_fen(90)
        );
        assert_eq!(
            t.period_at(23 * 3600).unwrap().electricity,
            PricePerKwh::from_fen(30)
        );
        assert_eq!(Tariff::new(vec![]), Err(TariffError::PeriodCount(0)));
        assert_eq!(
            Tariff::new(vec![p(60, 1)]),
            Err(TariffError::FirstNotMidnight)
        );
        assert_eq!(
            Tariff::new(vec![p(0, 1), p(0, 2)]),
            Err(TariffError::NotIncreasing)
        );
    }

    #[test]
    fn connector_names_round_trip() {
        for name in ConnectorType::NAMES {
            assert_eq!(ConnectorType::from_name(name).unwrap().name(), name);
        }
        assert_eq!(ConnectorType::DC_PLUG.current(), CurrentKind::Dc);
        assert_eq!(ConnectorType::AC_PLUG.current(), CurrentKind::Ac);
    }
}
