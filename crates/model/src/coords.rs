//! Coordinates. evgrid stores WGS-84; Chinese operators and map SDKs use GCJ-02 (AMap, Tencent)
//! or BD-09 (Baidu), so conversions both ways live here.
//!
//! The GCJ-02 transform is the widely published one (Krasovsky ellipsoid constants); its inverse
//! has no closed form and is solved by fixed-point iteration to below 1e-9 degrees.

use std::f64::consts::PI;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A point in decimal degrees. Which datum it is in is the caller's business; inside evgrid it
/// is always WGS-84.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct LatLng {
    pub lat: f64,
    pub lng: f64,
}

impl LatLng {
    /// A point; no validation (see [`LatLng::validate`]).
    pub const fn new(lat: f64, lng: f64) -> Self {
        Self { lat, lng }
    }

    /// Checks that the point is a finite position on Earth.
    pub fn validate(self) -> Result<Self, &'static str> {
        if !self.lat.is_finite() || !self.lng.is_finite() {
            return Err("coordinates must be finite numbers");
        }
        if !(-90.0..=90.0).contains(&self.lat) {
            return Err("latitude must be within -90..90");
        }
        if !(-180.0..=180.0).contains(&self.lng) {
            return Err("longitude must be within -180..180");
        }
        Ok(self)
    }

    /// Converts a point in `from` to WGS-84.
    pub fn to_wgs84(self, from: CoordSystem) -> Self {
        match from {
            CoordSystem::Wgs84 => self,
            CoordSystem::Gcj02 => gcj02_to_wgs84(self),
            CoordSystem::Bd09 => gcj02_to_wgs84(bd09_to_gcj02(self)),
        }
    }

    /// Converts a WGS-84 point to `to`.
    pub fn from_wgs84(self, to: CoordSystem) -> Self {
        match to {
            CoordSystem::Wgs84 => self,
            CoordSystem::Gcj02 => wgs84_to_gcj02(self),
            CoordSystem::Bd09 => gcj02_to_bd09(wgs84_to_gcj02(self)),
        }
    }
}

/// The coordinate systems operators send and map SDKs expect.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum CoordSystem {
    /// WGS-84 (GPS, GeoJSON, OpenStreetMap).
    #[default]
    Wgs84,
    /// GCJ-02, the datum of Chinese web maps (AMap, Tencent); what T/CEC operators send.
    Gcj02,
    /// BD-09, Baidu's offset on top of GCJ-02.
    Bd09,
}

impl CoordSystem {
    /// The lowercase name used on the command line and in the API.
    pub fn as_str(self) -> &'static str {
        match self {
            CoordSystem::Wgs84 => "wgs84",
            CoordSystem::Gcj02 => "gcj02",
            CoordSystem::Bd09 => "bd09",
        }
    }
}

impl fmt::Display for CoordSystem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for CoordSystem {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "wgs84" | "wgs-84" => Ok(Self::Wgs84),
            "gcj02" | "gcj-02" => Ok(Self::Gcj02),
            "bd09" | "bd-09" => Ok(Self::Bd09),
            _ => Err(format!(
                "unknown coordinate system {s:?}; expected wgs84, gcj02 or bd09"
            )),
        }
    }
}

const KRASOVSKY_A: f64 = 6_378_245.0;
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;

/// Whether GCJ-02 applies: outside this rough box of China the offset is zero by convention.
fn outside_china(p: LatLng) -> bool {
    !(72.004..=137.8347).contains(&p.lng) || !(0.8293..=55.8271).contains(&p.lat)
}

fn offset_lat(x: f64, y: f64) -> f64 {
    let mut r = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    r
}

fn offset_lng(x: f64, y: f64) -> f64 {
    let mut r = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    r += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    r += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    r += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    r
}

/// WGS-84 → GCJ-02.
pub fn wgs84_to_gcj02(p: LatLng) -> LatLng {
    if outside_china(p) {
        return p;
    }
    let dlat = offset_lat(p.lng - 105.0, p.lat - 35.0);
    let dlng = offset_lng(p.lng - 105.0, p.lat - 35.0);
    let rad_lat = p.lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlng = (dlng * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    LatLng::new(p.lat + dlat, p.lng + dlng)
}

/// GCJ-02 → WGS-84, by fixed-point iteration of the forward transform (error < 1e-9°).
pub fn gcj02_to_wgs84(g: LatLng) -> LatLng {
    if outside_china(g) {
        return g;
    }
    let mut w = g;
    for _ in 0..30 {
        let f = wgs84_to_gcj02(w);
        let (dlat, dlng) = (f.lat - g.lat, f.lng - g.lng);
        w = LatLng::new(w.lat - dlat, w.lng - dlng);
        if dlat.abs() < 1e-10 && dlng.abs() < 1e-10 {
            break;
        }
    }
    w
}

const BD_X_PI: f64 = PI * 3000.0 / 180.0;

/// GCJ-02 → BD-09.
pub fn gcj02_to_bd09(p: LatLng) -> LatLng {
    let (x, y) = (p.lng, p.lat);
    let z = (x * x + y * y).sqrt() + 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) + 0.000003 * (x * BD_X_PI).cos();
    LatLng::new(z * theta.sin() + 0.006, z * theta.cos() + 0.0065)
}

/// BD-09 → GCJ-02.
pub fn bd09_to_gcj02(p: LatLng) -> LatLng {
    let (x, y) = (p.lng - 0.0065, p.lat - 0.006);
    let z = (x * x + y * y).sqrt() - 0.00002 * (y * BD_X_PI).sin();
    let theta = y.atan2(x) - 0.000003 * (x * BD_X_PI).cos();
    LatLng::new(z * theta.sin(), z * theta.cos())
}

/// Mean Earth radius in metres (IUGG), the sphere on which evgrid measures distances.
pub const EARTH_RADIUS_M: f64 = 6_371_008.8;

/// Great-circle distance in metres (haversine).
pub fn distance_m(a: LatLng, b: LatLng) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlng = (b.lng - a.lng).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlng / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * h.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcj02_offset_in_ganzhou_is_a_few_hundred_metres() {
        let w = LatLng::new(25.8306, 114.9328);
        let g = wgs84_to_gcj02(w);
        let d = distance_m(w, g);
        assert!((100.0..1000.0).contains(&d), "offset {d} m");
    }

    #[test]
    fn gcj02_round_trip_within_a_metre_over_ganzhou() {
        // A grid over the city's bounding box and a margin around it.
        for i in 0..=40 {
            for j in 0..=40 {
                let w = LatLng::new(
                    24.4 + 2.5 * f64::from(i) / 40.0,
                    113.5 + 3.0 * f64::from(j) / 40.0,
                );
                let back = gcj02_to_wgs84(wgs84_to_gcj02(w));
                assert!(distance_m(w, back) < 1.0, "{w:?} -> {back:?}");
                let back_bd = LatLng::from_wgs84(w, CoordSystem::Bd09).to_wgs84(CoordSystem::Bd09);
                assert!(distance_m(w, back_bd) < 1.0, "bd09 {w:?} -> {back_bd:?}");
            }
        }
    }

    #[test]
    fn outside_china_is_unchanged() {
        let paris = LatLng::new(48.8566, 2.3522);
        assert_eq!(wgs84_to_gcj02(paris), paris);
        assert_eq!(gcj02_to_wgs84(paris), paris);
    }

    #[test]
    fn distance_matches_known_value() {
        // One degree of latitude on the mean sphere.
        let d = distance_m(LatLng::new(25.0, 115.0), LatLng::new(26.0, 115.0));
        assert!((d - 111_195.08).abs() < 1.0, "{d}");
    }

    #[test]
    fn validate_rejects_impossible_points() {
        assert!(LatLng::new(91.0, 0.0).validate().is_err());
        assert!(LatLng::new(0.0, 181.0).validate().is_err());
        assert!(LatLng::new(f64::NAN, 0.0).validate().is_err());
        assert!(LatLng::new(25.8, 114.9).validate().is_ok());
    }
}
