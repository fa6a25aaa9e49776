//! The synthetic Ganzhou charging network: real places, invented chargers.
//!
//! Real charger locations are not public as a data set, so the demo network is synthesized
//! reproducibly (fixed seed, own generator) from the real county boundaries, township centres,
//! populations and hot spots in `data/ganzhou/`, so that its totals match what the city reports:
//! 19,000 piles, of which 13,000 public + dedicated (10,000 public in 1,400 stations, 3,000 in
//! fleet depots) and 6,000 private piles at residential compounds; public stations in more than
//! half but not all townships; a public station within 1 km of every hot spot; every point of
//! Zhangjiang New District within 2 km of one. Operators, names, addresses, telephone numbers
//! and prices are fictional and say so.
//!
//! Output: one T/CEC `query_stations_info`-shaped JSON file per operator (coordinates in GCJ-02,
//! as Chinese operators send them), a `manifest.json` and a `README.md`.

mod figures;
mod rng;
mod write;

use evgrid_geo::reference::ReferenceData;
use evgrid_geo::RegionMap;
use evgrid_model::{
    Connector, ConnectorType, Equipment, EquipmentType, LatLng, OperatorId, Power, PricePerKwh,
    Station, StationType, Tariff, TariffPeriod, Township,
};

pub use figures::Figures;
pub use rng::Rng;
pub use write::{Manifest, ManifestOperator, SynthError};

/// Public piles the city reports (of its 13,000 public + dedicated).
pub const PUBLIC_PILES: u32 = 10_000;
/// Public stations: sqrt(39,379.64 km² / (π · 1,400)) = 2.99 km planning-norm service radius.
pub const PUBLIC_STATIONS: usize = 1_400;
/// Piles in bus, sanitation, logistics and taxi depots.
pub const DEDICATED_PILES: u32 = 3_000;
/// Private piles, one per StationType 50 station.
pub const PRIVATE_PILES: u32 = 6_000;
/// Share of townships deliberately given a public station near their centre.
const TOWNSHIP_COVER_SHARE: f64 = 0.66;

/// A fictional operator of the synthetic network.
#[derive(Debug, Clone)]
pub struct SynthOperator {
    pub id: OperatorId,
    pub name_zh: String,
    pub name_en: String,
    pub service_tel: String,
    /// Electricity price of the valley, flat and peak periods, in fen/kWh.
    pub electricity_fen: [i64; 3],
    /// Service fee, fen/kWh.
    pub service_fen: i64,
}

/// The generated network.
#[derive(Debug, Clone)]
pub struct Network {
    pub seed: u64,
    pub operators: Vec<SynthOperator>,
    pub stations: Vec<Station>,
}

const OPERATORS: [(&str, &str, &str, [i64; 3], i64); 7] = [
    (
        "EVGSYN001",
        "虚构·赣江快充能源",
        "Ganjiang FastCharge Energy (fictional)",
        [33, 62, 95],
        60,
    ),
    (
        "EVGSYN002",
        "虚构·客家绿电充电网络",
        "Hakka GreenPower Charging (fictional)",
        [34, 63, 96],
        55,
    ),
    (
        "EVGSYN003",
        "虚构·脐橙城市充电服务",
        "Navel Orange City Charging (fictional)",
        [32, 61, 94],
        65,
    ),
    (
        "EVGSYN004",
        "虚构·章贡公交能源",
        "Zhanggong Transit Energy (fictional)",
        [33, 62, 95],
        25,
    ),
    (
        "EVGSYN005",
        "虚构·宋城物流充电",
        "Songcheng Fleet Charging (fictional)",
        [34, 62, 95],
        30,
    ),
    (
        "EVGSYN006",
        "虚构·赣州家充服务",
        "Ganzhou HomeCharge Services (fictional)",
        [0, 0, 0],
        0,
    ),
    (
        "EVGSYN007",
        "虚构·红都乡村充电",
        "Red Capital Rural Charging (fictional)",
        [35, 63, 97],
        45,
    ),
];

/// Time-of-use periods: valley 00-07, flat 07-10, peak 10-12, flat 12-18, peak 18-22, valley 22-24.
const TOU: [(u32, usize); 6] = [(0, 0), (7, 1), (10, 2), (12, 1), (18, 2), (22, 0)];

const LANDMARKS: [&str; 16] = [
    "商业广场",
    "政务中心",
    "客运站",
    "农贸市场",
    "体育中心",
    "加油站",
    "公共停车场",
    "医院",
    "文化中心",
    "酒店",
    "超市",
    "工业园",
    "汽车城",
    "公园",
    "学校旁",
    "物流园",
];
const ROADS: [&str; 10] = [
    "和平路",
    "建设路",
    "人民路",
    "文明大道",
    "解放路",
    "新华路",
    "红旗大道",
    "长征大道",
    "赣江路",
    "健康路",
];
const COMPOUNDS: [&str; 12] = [
    "阳光", "锦绣", "翠湖", "金域", "橙乡", "江景", "书香", "幸福", "和园", "新城", "华府", "悦府",
];

#[derive(Debug, Clone, Copy, PartialEq)]
enum PlaceKind {
    Urban,
    Town,
    Village,
}

#[derive(Debug, Clone)]
struct Place<'a> {
    township: &'a Township,
    county_name: &'a str,
    kind: PlaceKind,
    weight: f64,
}

impl PlaceKind {
    fn sigma_m(self) -> f64 {
        match self {
            PlaceKind::Urban => 2200.0,
            PlaceKind::Town => 900.0,
            PlaceKind::Village => 600.0,
        }
    }
}

struct Builder<'a> {
    rng: Rng,
    data: &'a ReferenceData,
    regions: RegionMap,
    operators: Vec<SynthOperator>,
    stations: Vec<Station>,
    next_id: Vec<u32>,
    seed: u64,
}

/// Moves `p` by (north, east) metres.
fn offset(p: LatLng, north_m: f64, east_m: f64) -> LatLng {
    let dlat = north_m / 111_195.0;
    let dlng = east_m / (111_195.0 * p.lat.to_radians().cos());
    LatLng::new(p.lat + dlat, p.lng + dlng)
}

fn places(data: &ReferenceData) -> Vec<Place<'_>> {
    // The township population estimate of the reference data is the weight (geo::population).
    evgrid_geo::population::township_populations(data)
        .into_iter()
        .map(|tp| {
            let t = &data.townships[tp.township];
            let kind = if t.kind == "街道" || t.centre_method == "county_seat_government" {
                PlaceKind::Urban
            } else if t.kind == "镇" {
                PlaceKind::Town
            } else {
                PlaceKind::Village
            };
            let county_name = data
                .county(&t.county_code)
                .map_or("", |c| c.name_zh.as_str());
            Place {
                township: t,
                county_name,
                kind,
                weight: tp.population,
            }
        })
        .collect()
}

struct PileSpec {
    dc: bool,
    kw: u32,
}

impl<'a> Builder<'a> {
    fn place_near(&mut self, centre: LatLng, sigma_m: f64, county_code: &str) -> LatLng {
        let boundary = &self.data.county_boundaries[county_code];
        for _ in 0..60 {
            let p = offset(
                centre,
                self.rng.normal() * sigma_m,
                self.rng.normal() * sigma_m,
            );
            if boundary.contains(p) {
                return p;
            }
        }
        centre
    }

    /// A point near a township centre that the region rules assign to that township.
    fn place_in_township(&mut self, t: &Township, sigma_m: f64) -> LatLng {
        for _ in 0..60 {
            let p = offset(
                t.centre,
                self.rng.normal() * sigma_m,
                self.rng.normal() * sigma_m,
            );
            if self.regions.locate(p).township_code.as_deref() == Some(t.code.as_str()) {
                return p;
            }
        }
        t.centre
    }

    fn tariff(&mut self, op: usize, service_delta: i64) -> Option<Tariff> {
        let o = &self.operators[op];
        if o.service_fen == 0 {
            return None;
        }
        let periods = TOU
            .iter()
            .map(|(hour, level)| TariffPeriod {
                start_second: hour * 3600,
                electricity: PricePerKwh::from_fen(o.electricity_fen[*level]),
                service: PricePerKwh::from_fen((o.service_fen + service_delta).max(0)),
            })
            .collect();
        Tariff::new(periods).ok()
    }

    fn fee_texts(tariff: &Option<Tariff>) -> (Option<String>, Option<String>) {
        let Some(t) = tariff else {
            return (Some("居民生活电价 (residential tariff)".into()), None);
        };
        let names = ["谷", "平", "峰", "平", "峰", "谷"];
        let mut elec = Vec::new();
        for (i, p) in t.periods.iter().enumerate() {
            let end = t.periods.get(i + 1).map_or(24, |n| n.start_second / 3600);
            elec.push(format!(
                "{}{:02}:00-{:02}:00 {}元/度",
                names.get(i).unwrap_or(&""),
                p.start_second / 3600,
                end,
                p.electricity.yuan_text()
            ));
        }
        let service = format!("{}元/度", t.periods[0].service.yuan_text());
        (Some(elec.join("; ")), Some(service))
    }

    fn pile(&mut self, station_id: &str, n: usize, spec: &PileSpec) -> Equipment {
        let id = format!("{station_id}E{n:02}");
        let national_standard = if self.rng.chance(0.06) { 1 } else { 2 };
        let connector = |i: usize, kw: u32, dc: bool| {
            let (vu, vl, amps) = if dc {
                (750, 200, kw * 1000 / 500)
            } else if kw <= 7 {
                (220, 220, 32)
            } else if kw <= 11 {
                (380, 380, 16)
            } else {
                (380, 380, 32)
            };
            Connector {
                id: format!("{id}C{i}"),
                name: Some(format!("{}号枪", i)),
                connector_type: if dc {
                    ConnectorType::DC_PLUG
                } else {
                    ConnectorType::AC_PLUG
                },
                national_standard,
                power: Power::from_kw(kw),
                voltage_upper_v: vu,
                voltage_lower_v: vl,
                current_a: amps,
                park_no: None,
            }
        };
        let connectors = if spec.dc && spec.kw >= 120 {
            vec![
                connector(1, spec.kw / 2, true),
                connector(2, spec.kw / 2, true),
            ]
        } else {
            vec![connector(1, spec.kw, spec.dc)]
        };
        Equipment {
            id,
            name: Some(format!("{n}号桩")),
            equipment_type: if spec.dc {
                EquipmentType::DC
            } else {
                EquipmentType::AC
            },
            power: Power::from_kw(spec.kw),
            manufacturer_name: Some(
                self.rng
                    .pick(&["虚构电气", "示例能源装备", "样例充电设备"])
                    .to_string(),
            ),
            model: Some(format!("{}-{}", if spec.dc { "DC" } else { "AC" }, spec.kw)),
            production_date: Some(format!(
                "20{}-{:02}-{:02}",
                self.rng.range(18, 22),
                self.rng.range(1, 12),
                self.rng.range(1, 28)
            )),
            connectors,
        }
    }

    fn next_station_id(&mut self, op: usize, prefix: char) -> String {
        self.next_id[op] += 1;
        format!("{prefix}{:06}", self.next_id[op])
    }

    #[allow(clippy::too_many_arguments)]
    fn station(
        &mut self,
        op: usize,
        prefix: char,
        name: String,
        station_type: StationType,
        location: LatLng,
        county_code: &str,
        address_place: &str,
        construction: i32,
        piles: &[PileSpec],
        service_delta: i64,
    ) {
        let id = self.next_station_id(op, prefix);
        let equipment: Vec<Equipment> = piles
            .iter()
            .enumerate()
            .map(|(i, s)| self.pile(&id, i + 1, s))
            .collect();
        let tariff = if station_type == StationType::PERSONAL {
            None
        } else {
            self.tariff(op, service_delta)
        };
        let (electricity_fee_text, service_fee_text) = Self::fee_texts(&tariff);
        let public = station_type == StationType::PUBLIC;
        let road = *self.rng.pick(&ROADS);
        let number = self.rng.range(1, 399);
        let o = &self.operators[op];
        let parks = equipment.iter().map(|e| e.connectors.len()).sum::<usize>();
        self.stations.push(Station {
            operator_id: o.id.clone(),
            id,
            name,
            station_type,
            status: 50,
            location,
            address: format!("{address_place}{road}{number}号"),
            area_code: county_code.to_owned(),
            equipment_owner_id: o.id.to_string(),
            country_code: "CN".into(),
            service_tel: o.service_tel.clone(),
            station_tel: None,
            park_nums: i32::try_from(parks).unwrap_or(i32::MAX),
            construction,
            site_guide: public.then(|| "入口处左转, 地面停车场 (synthetic)".to_owned()),
            business_hours: Some(
                if public && self.rng.chance(0.15) {
                    "07:00-22:00"
                } else {
                    "00:00-24:00"
                }
                .into(),
            ),
            electricity_fee_text,
            service_fee_text,
            park_fee: public.then(|| {
                if self.rng.chance(0.5) {
                    "充电期间免停车费2小时"
                } else {
                    "按停车场标准收费"
                }
                .to_owned()
            }),
            payment: Some(if public { "线上,刷卡" } else { "线上" }.into()),
            support_order: public && self.rng.chance(0.3),
            remark: Some(format!(
                "合成数据, 非真实充电站 (synthetic, evgrid synth seed {})",
                self.seed
            )),
            tariff,
            equipment,
        });
    }

    fn public_pile(&mut self, dc_share: f64) -> PileSpec {
        if self.rng.chance(dc_share) {
            PileSpec {
                dc: true,
                kw: *self.rng.pick(&[60, 120, 120, 160, 180, 240]),
            }
        } else {
            PileSpec {
                dc: false,
                kw: *self.rng.pick(&[7, 7, 7, 11, 22]),
            }
        }
    }
}

/// Adjusts `sizes` one unit at a time (at random, never below `min`) until they sum to `total`.
fn fit_total(rng: &mut Rng, sizes: &mut [u32], total: u32, min: u32) {
    let mut sum: u32 = sizes.iter().sum();
    while sum != total {
        let i = (rng.next_u64() % sizes.len() as u64) as usize;
        if sum < total {
            sizes[i] += 1;
            sum += 1;
        } else if sizes[i] > min {
            sizes[i] -= 1;
            sum -= 1;
        }
    }
}

/// Generates the network for a seed; the same seed always gives the same network.
pub fn generate(data: &ReferenceData, seed: u64) -> Network {
    let operators: Vec<SynthOperator> = OPERATORS
        .iter()
        .enumerate()
        .filter_map(|(i, (id, zh, en, elec, service))| {
            Some(SynthOperator {
                id: OperatorId::new(id).ok()?,
                name_zh: (*zh).into(),
                name_en: (*en).into(),
                service_tel: format!("400-000-000{}", i + 1),
                electricity_fen: *elec,
                service_fen: *service,
            })
        })
        .collect();
    let mut b = Builder {
        rng: Rng::new(seed),
        data,
        regions: RegionMap::new(data),
        next_id: vec![0; operators.len()],
        operators,
        stations: Vec::new(),
        seed,
    };
    let places = places(data);
    public_network(&mut b, &places);
    dedicated_depots(&mut b, &places);
    private_piles(&mut b, &places);
    Network {
        seed,
        operators: b.operators,
        stations: b.stations,
    }
}

/// Where each public station goes and how big it is, before piles are drawn.
struct PublicSite {
    location: LatLng,
    county: String,
    place_name: String,
    name: String,
    kind: PlaceKind,
    size: u32,
}

fn public_network(b: &mut Builder<'_>, places: &[Place<'_>]) {
    let mut sites: Vec<PublicSite> = Vec::new();
    let zj = b.data.zhangjiang.clone();
    let zj_county = b
        .regions
        .locate(zj.centre)
        .county_code
        .unwrap_or_else(|| "360702".into());
    // 1. Zhangjiang New District: the centre and a ring of six at 1.1 km; with each at most
    //    1.1 km from any point of the 2 km circle's core, every point is within 2 km.
    for i in 0..7 {
        let p = if i == 0 {
            zj.centre
        } else {
            let a = f64::from(i) * std::f64::consts::PI / 3.0;
            offset(zj.centre, 1100.0 * a.cos(), 1100.0 * a.sin())
        };
        let size = b.rng.range(10, 24);
        sites.push(PublicSite {
            location: p,
            county: zj_county.clone(),
            place_name: "章江新区".into(),
            name: format!("章江新区{}充电站", LANDMARKS[i as usize]),
            kind: PlaceKind::Urban,
            size,
        });
    }
    // 2. A station within 600 m of every hot spot.
    for h in &b.data.hotspots.clone() {
        // Up to 60 draws for a point inside the city; the hot spot itself if none is.
        let p = (0..60)
            .map(|_| {
                let bearing = b.rng.unit() * std::f64::consts::TAU;
                let d = 100.0 + b.rng.unit() * 500.0;
                offset(h.location, d * bearing.cos(), d * bearing.sin())
            })
            .find(|p| b.regions.contains(*p))
            .unwrap_or(h.location);
        let size = b.rng.range(8, 20);
        let short = h.name_zh.split('(').next().unwrap_or(&h.name_zh).to_owned();
        sites.push(PublicSite {
            location: p,
            county: h.county_code.clone(),
            place_name: short.clone(),
            name: format!("{short}充电站"),
            kind: PlaceKind::Urban,
            size,
        });
    }
    // 3. Two thirds of the townships, the populous ones more likely, get a station near
    //    their centre; the rest are left without, as in the real city.
    let mut ranked: Vec<(f64, usize)> = places
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let seat = p.township.centre_method == "county_seat_government";
            let score = if seat {
                f64::INFINITY
            } else {
                p.weight * (0.3 + b.rng.unit() * 1.4)
            };
            (score, i)
        })
        .collect();
    ranked.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let covered_count = (places.len() as f64 * TOWNSHIP_COVER_SHARE).round() as usize;
    let mut covered: Vec<usize> = ranked.iter().take(covered_count).map(|(_, i)| *i).collect();
    covered.sort_unstable();
    for &i in &covered {
        let place = &places[i];
        let p = b.place_in_township(place.township, 500.0);
        let size = match place.kind {
            PlaceKind::Urban => b.rng.range(4, 14),
            PlaceKind::Town => b.rng.range(2, 8),
            PlaceKind::Village => b.rng.range(2, 4),
        };
        let landmark = *b.rng.pick(&LANDMARKS);
        sites.push(PublicSite {
            location: p,
            county: place.township.county_code.clone(),
            place_name: format!("{}{}", place.county_name, place.township.name_zh),
            name: format!("{}{}充电站", place.township.name_zh, landmark),
            kind: place.kind,
            size,
        });
    }
    // 4. The rest by population among the covered townships, spread around their centres.
    let cumulative = rng::cumulative(covered.iter().map(|i| places[*i].weight));
    while sites.len() < PUBLIC_STATIONS {
        let place = &places[covered[b.rng.weighted(&cumulative)]];
        let p = b.place_near(
            place.township.centre,
            place.kind.sigma_m(),
            &place.township.county_code,
        );
        let size = match place.kind {
            PlaceKind::Urban => b.rng.range(4, 16),
            PlaceKind::Town => b.rng.range(2, 8),
            PlaceKind::Village => b.rng.range(2, 4),
        };
        let landmark = *b.rng.pick(&LANDMARKS);
        let n = sites.len();
        sites.push(PublicSite {
            location: p,
            county: place.township.county_code.clone(),
            place_name: format!("{}{}", place.county_name, place.township.name_zh),
            name: format!("{}{}充电站{}", place.township.name_zh, landmark, n % 7 + 1),
            kind: place.kind,
            size,
        });
    }
    let mut sizes: Vec<u32> = sites.iter().map(|s| s.size).collect();
    fit_total(&mut b.rng, &mut sizes, PUBLIC_PILES, 2);
    for (site, size) in sites.into_iter().zip(sizes) {
        let (op, dc_share, construction, delta) = match site.kind {
            PlaceKind::Village => (if b.rng.chance(0.7) { 6 } else { 1 }, 0.35, 255, -15),
            PlaceKind::Town => (*b.rng.pick(&[0, 1, 2, 6]), 0.45, 2, -5),
            PlaceKind::Urban => (
                *b.rng.pick(&[0, 0, 1, 1, 2]),
                0.6,
                *b.rng.pick(&[9, 10, 6, 2, 4]),
                0,
            ),
        };
        let piles: Vec<PileSpec> = (0..size).map(|_| b.public_pile(dc_share)).collect();
        b.station(
            op,
            'P',
            site.name,
            StationType::PUBLIC,
            site.location,
            &site.county,
            &site.place_name,
            construction,
            &piles,
            delta,
        );
    }
}

fn dedicated_depots(b: &mut Builder<'_>, places: &[Place<'_>]) {
    // (type, piles in the class, depots per ordinary county, extra depots in the central city)
    let classes: [(StationType, u32, u32, u32, &str); 4] = [
        (StationType::BUS, 1_300, 2, 6, "公交场站"),
        (StationType::TAXI, 800, 1, 10, "出租车充电场站"),
        (StationType::LOGISTICS, 600, 1, 8, "物流园充电场站"),
        (StationType::SANITATION, 300, 1, 4, "环卫车辆充电场站"),
    ];
    let seats: Vec<&Place<'_>> = places
        .iter()
        .filter(|p| p.township.centre_method == "county_seat_government")
        .collect();
    let central = b.data.zhangjiang.centre;
    for (station_type, total, per_county, central_extra, label) in classes {
        let mut depots: Vec<(LatLng, String, String)> = Vec::new();
        for seat in &seats {
            for _ in 0..per_county {
                let p = b.place_near(seat.township.centre, 3000.0, &seat.township.county_code);
                depots.push((
                    p,
                    seat.township.county_code.clone(),
                    format!("{}{}", seat.county_name, seat.township.name_zh),
                ));
            }
        }
        for _ in 0..central_extra {
            let p = b.place_near(central, 5000.0, "360702");
            depots.push((p, "360702".into(), "章贡区".into()));
        }
        let mut sizes: Vec<u32> = depots.iter().map(|_| b.rng.range(8, 30)).collect();
        fit_total(&mut b.rng, &mut sizes, total, 4);
        for (n, ((p, county, place_name), size)) in depots.into_iter().zip(sizes).enumerate() {
            let placed = b.regions.locate(p);
            let county = placed.county_code.unwrap_or(county);
            let (op, construction) = match station_type {
                StationType::BUS | StationType::SANITATION => (3, 6),
                StationType::TAXI => (if n % 2 == 0 { 4 } else { 0 }, 6),
                _ => (4, 5),
            };
            let piles: Vec<PileSpec> = (0..size)
                .map(|_| match station_type {
                    StationType::BUS => PileSpec {
                        dc: true,
                        kw: *b.rng.pick(&[120, 160, 240]),
                    },
                    StationType::TAXI => PileSpec {
                        dc: true,
                        kw: *b.rng.pick(&[60, 120]),
                    },
                    StationType::LOGISTICS if b.rng.chance(0.6) => PileSpec { dc: true, kw: 60 },
                    StationType::SANITATION if b.rng.chance(0.5) => PileSpec { dc: true, kw: 60 },
                    _ => PileSpec {
                        dc: false,
                        kw: *b.rng.pick(&[7, 22]),
                    },
                })
                .collect();
            let name = format!("{place_name}{label}{}", n + 1);
            b.station(
                op,
                'D',
                name,
                station_type,
                p,
                &county,
                &place_name,
                construction,
                &piles,
                -25,
            );
        }
    }
}

fn private_piles(b: &mut Builder<'_>, places: &[Place<'_>]) {
    // Private piles cluster in towns and cities: urban places weigh three times their people.
    let cumulative = rng::cumulative(places.iter().map(|p| {
        p.weight
            * match p.kind {
                PlaceKind::Urban => 3.0,
                PlaceKind::Town => 1.0,
                PlaceKind::Village => 0.3,
            }
    }));
    let mut made = 0;
    let mut compound_no = 0;
    while made < PRIVATE_PILES {
        let place = &places[b.rng.weighted(&cumulative)];
        let centre = b.place_near(
            place.township.centre,
            place.kind.sigma_m(),
            &place.township.county_code,
        );
        compound_no += 1;
        let compound = format!(
            "{}{}{}小区",
            place.township.name_zh,
            b.rng.pick(&COMPOUNDS),
            compound_no
        );
        let n = b.rng.range(3, 25).min(PRIVATE_PILES - made);
        for i in 0..n {
            let p = b.place_near(centre, 80.0, &place.township.county_code);
            let op = if b.rng.chance(0.8) { 5 } else { 1 };
            let kw = if b.rng.chance(0.85) { 7 } else { 11 };
            let county = b
                .regions
                .locate(p)
                .county_code
                .unwrap_or_else(|| place.township.county_code.clone());
            let place_name = format!("{}{}", place.county_name, place.township.name_zh);
            b.station(
                op,
                'H',
                format!("{compound}私人充电桩{:03}", i + 1),
                StationType::PERSONAL,
                p,
                &county,
                &place_name,
                1,
                &[PileSpec { dc: false, kw }],
                0,
            );
        }
        made += n;
    }
}

#[cfg(test)]
mod tests;
