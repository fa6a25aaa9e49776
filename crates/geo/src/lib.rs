//! Geography for evgrid: the in-memory spatial index (k-nearest and within-radius by great-circle
//! distance, with filters), polygons and point-in-polygon, the Ganzhou reference data, and region
//! assignment (county by polygon, township by nearest centre).
//!
//! Nothing here knows SQL, HTTP or any protocol.

pub mod coverage;
pub mod field;
pub mod index;
pub mod outline;
pub mod polygon;
pub mod population;
pub mod reference;
pub mod regions;

pub use evgrid_model::coords::{distance_m, EARTH_RADIUS_M};
pub use index::{ConnectorProfile, EntryAttrs, Filter, Hit, SpatialIndex};
pub use polygon::{MultiPolygon, Polygon};
pub use reference::{Hotspot, ReferenceData, ReferenceError};
pub use regions::{Placement, RegionMap, TownshipMethod};
