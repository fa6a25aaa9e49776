//! T/CEC 102 (电动汽车充换电服务信息交换) for evgrid: the wire structures with the standard's own
//! field names (its spellings such as `SevicePrice` and `BusineHours` included), and their
//! conversion to and from the domain model, with validation that reports every problem by field.
//!
//! This crate is the only place that knows T/CEC. The envelope, crypto and the interfaces of
//! both roles build on these structures.

pub mod convert;
pub mod wire;

pub use convert::{station_from_wire, station_to_wire, ConvertOptions, Converted};
pub use wire::{ConnectorInfo, EquipmentInfo, PolicyInfo, QueryStationsInfoResult, StationInfo};
