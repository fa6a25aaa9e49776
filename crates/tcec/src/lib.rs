//! T/CEC 102 (电动汽车充换电服务信息交换) for evgrid: the wire structures with the standard's own
//! field names (its spellings such as `SevicePrice` and `BusineHours` included), and their
//! conversion to and from the domain model, with validation that reports every problem by field.
//!
//! Also the message security of part 4: AES-128-CBC `Data`, HMAC-MD5 `Sig` ([`crypto`]), and
//! the request and response envelopes with their `Ret` codes ([`envelope`]), tested against the
//! vectors in `tests/fixtures/tcec102-vectors.json` (copied from the project's shared specs).
//!
//! This crate is the only place that knows T/CEC. The interfaces of both roles build on these.

pub mod business;
pub mod client;
pub mod convert;
pub mod credentials;
pub mod crypto;
pub mod envelope;
pub mod files;
pub mod gate;
pub mod platform;
pub mod supervision;
pub mod time;
pub mod wire;

pub use convert::{station_from_wire, station_to_wire, ConvertOptions, Converted};
pub use wire::{ConnectorInfo, EquipmentInfo, PolicyInfo, QueryStationsInfoResult, StationInfo};
