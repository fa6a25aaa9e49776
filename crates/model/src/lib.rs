//! The evgrid domain model: operators, stations, equipment ("piles"), connectors, tariffs,
//! regions, coordinates and units.
//!
//! Only plain data and the rules that belong to it live here; no protocol, SQL or HTTP.
//! The vocabulary follows T/CEC 102 (the enums keep their wire values so that nothing an operator
//! sends is lost), but the names are evgrid's own.

pub mod account;
pub mod charger;
pub mod coords;
pub mod credentials;
pub mod hours;
pub mod ids;
pub mod network;
pub mod plausibility;
pub mod quality;
pub mod region;
pub mod rng;
pub mod session;
pub mod station;
pub mod stats;
pub mod status;
pub mod superior;
pub mod time;
pub mod token;
pub mod units;
pub mod validation;
pub mod whole;

pub use account::{AuditEntry, AuditFilter, Role, User};
pub use charger::{Charger, ChargerNotice, Registration, StoredAuthority, CHARGER_NOTICES_KEPT};
pub use coords::{distance_m, CoordSystem, LatLng, EARTH_RADIUS_M};
pub use credentials::OperatorCredentials;
pub use ids::{IdError, OperatorId, StationKey};
pub use network::{
    CategoryCounts, Counts, IndexRow, PlacedStation, RegionCounts, StationListFilter,
    StationRecord, StationSummary,
};
pub use quality::{OrderCheck, PushId, StorageError, TrafficRow};
pub use region::{County, Township};
pub use session::{
    Channel, Charge, ChargePeriod, ChargePlace, ChargeStatus, ChargingSession, Reservation,
    ReservationStatus, SessionState, SessionUpdate,
};
pub use station::{
    Category, Connector, ConnectorStatus, ConnectorType, CurrentKind, Equipment, EquipmentType,
    Operator, Station, StationType, Tariff, TariffError, TariffPeriod,
};
pub use status::{StatusRecord, StatusSource};
pub use token::{Authorization, IdToken, TokenError, TokenFilter, TokenKind, TokenStatus, Verdict};
pub use units::{Fen, Power, PricePerKwh, WattHours};
pub use validation::FieldError;
