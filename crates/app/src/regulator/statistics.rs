//! The regulator's figures ready to show: utilization and faults computed from the store's
//! sums, names for codes, and every figure as a [`Table`] for the exports (the server's
//! downloads and the CLI's workbook use the same tables).

use std::collections::HashMap;

use evgrid_geo::coverage::CoverageReport;
use evgrid_model::stats::{BreakdownRow, Bucket, Dimension, SnapshotRow, UsageKey};
use evgrid_model::CategoryCounts;
use evgrid_report::{Cell, Kind, Table};
use serde::Serialize;
use serde_json::json;

use super::targets::TargetStatus;
use super::Regulator;
use crate::AppError;

/// One group's utilization in one bucket.
#[derive(Debug, Clone, Serialize)]
pub struct UtilizationRow {
    pub key: Option<String>,
    pub name: Option<String>,
    /// `YYYY-MM-DD` (UTC+8) or the hour of the day `HH`.
    pub bucket: String,
    pub sessions: i64,
    pub energy_kwh: f64,
    pub charging_hours: f64,
    pub connectors: i64,
    /// Charging time over available time: connectors × the bucket's hours inside the window.
    pub utilization: f64,
}

/// One group's faults in a window and its online rate now.
#[derive(Debug, Clone, Serialize)]
pub struct FaultSummary {
    pub key: Option<String>,
    pub name: Option<String>,
    pub connectors: i64,
    pub online: i64,
    pub online_rate: f64,
    pub faults: i64,
    pub fault_hours: f64,
    pub repaired: i64,
    /// Mean time to repair of the faults that ended, hours; `None` before any repair.
    pub mttr_hours: Option<f64>,
}

/// A time window in seconds since 1970, `[from, to)`.
#[derive(Debug, Clone, Copy)]
pub struct Window {
    pub from: i64,
    pub to: i64,
}

impl Regulator {
    /// Names for the keys of a grouping: county names, operator names; station ids stay ids.
    pub async fn key_names(&self, by: UsageKey) -> Result<HashMap<String, String>, AppError> {
        Ok(match by {
            UsageKey::County => self
                .reference()
                .counties
                .iter()
                .map(|c| (c.code.clone(), c.name_zh.clone()))
                .collect(),
            UsageKey::Operator => self
                .store
                .operators()
                .await?
                .into_iter()
                .map(|o| (o.id.as_str().to_owned(), o.name))
                .collect(),
            UsageKey::Station => HashMap::new(),
        })
    }

    /// Utilization by group and bucket for sessions started in the window.
    pub async fn utilization(
        &self,
        by: UsageKey,
        bucket: Bucket,
        window: Window,
    ) -> Result<Vec<UtilizationRow>, AppError> {
        let now = evgrid_model::time::unix_now();
        let rows = self
            .store
            .usage(by, bucket, window.from, window.to, now)
            .await?;
        let connectors: HashMap<Option<String>, i64> =
            self.store.connectors_by(by).await?.into_iter().collect();
        let names = self.key_names(by).await?;
        let end = window.to.min(now).max(window.from);
        Ok(rows
            .into_iter()
            .map(|r| {
                let n = connectors.get(&r.key).copied().unwrap_or(0);
                let available_hours = match bucket {
                    Bucket::Day => {
                        crate::regulator::targets::parse_day(&r.bucket).map_or(24.0, |d| {
                            let start = d * 86_400 - 8 * 3600;
                            let overlap = (start + 86_400).min(end) - start.max(window.from);
                            overlap.max(0) as f64 / 3600.0
                        })
                    }
                    Bucket::Hour => ((end - window.from) as f64 / 86_400.0).ceil().max(1.0),
                };
                let charging_hours = r.charging_seconds as f64 / 3600.0;
                let capacity = n as f64 * available_hours;
                UtilizationRow {
                    name: r.key.as_ref().and_then(|k| names.get(k).cloned()),
                    key: r.key,
                    bucket: r.bucket,
                    sessions: r.sessions,
                    energy_kwh: r.energy_wh as f64 / 1000.0,
                    charging_hours,
                    connectors: n,
                    utilization: if capacity > 0.0 {
                        (charging_hours / capacity).min(1.0)
                    } else {
                        0.0
                    },
                }
            })
            .collect())
    }

    /// Faults overlapping the window by group, with each group's online rate now.
    pub async fn fault_summaries(
        &self,
        by: UsageKey,
        window: Window,
    ) -> Result<Vec<FaultSummary>, AppError> {
        let now = evgrid_model::time::unix_now();
        let names = self.key_names(by).await?;
        Ok(self
            .store
            .faults(by, window.from, window.to, now)
            .await?
            .into_iter()
            .map(|r| FaultSummary {
                name: r.key.as_ref().and_then(|k| names.get(k).cloned()),
                key: r.key,
                connectors: r.connectors,
                online: r.online,
                online_rate: if r.connectors > 0 {
                    r.online as f64 / r.connectors as f64
                } else {
                    0.0
                },
                faults: r.faults,
                fault_hours: r.fault_seconds as f64 / 3600.0,
                repaired: r.repaired,
                mttr_hours: (r.repaired > 0)
                    .then(|| r.repair_seconds as f64 / 3600.0 / r.repaired as f64),
            })
            .collect())
    }

    /// A name for a breakdown key (county and township names, operator names, labels).
    pub async fn breakdown_names(
        &self,
        by: Dimension,
    ) -> Result<HashMap<String, String>, AppError> {
        Ok(match by {
            Dimension::County => self.key_names(UsageKey::County).await?,
            Dimension::Operator => self.key_names(UsageKey::Operator).await?,
            Dimension::Township => self
                .reference()
                .townships
                .iter()
                .map(|t| (t.code.clone(), t.name_zh.clone()))
                .collect(),
            Dimension::Category => [
                ("public", "公共 public"),
                ("dedicated", "专用 dedicated"),
                ("private", "私人 private"),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
            Dimension::Current => [
                ("dc", "直流 DC"),
                ("ac", "交流 AC"),
                ("ac_dc", "交直流一体 AC/DC"),
                ("wireless", "无线 wireless"),
                ("other", "其他 other"),
            ]
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
            Dimension::PowerClass => HashMap::new(),
            Dimension::ConnectorStandard => {
                let mut names = HashMap::new();
                for edition in ["2011", "2015", "other"] {
                    for t in 1..=6 {
                        let label =
                            format!("GB/T {edition} · {}", evgrid_model::ConnectorType(t).name());
                        names.insert(format!("{edition}:{t}"), label);
                    }
                }
                names
            }
        })
    }
}

const CATEGORY_COLUMNS: [(&str, &str); 3] = [
    ("public", "公共 public"),
    ("dedicated", "专用 dedicated"),
    ("private", "私人 private"),
];

fn counts_cells(c: &CategoryCounts) -> Vec<Cell> {
    vec![
        c.public.into(),
        c.dedicated.into(),
        c.private.into(),
        c.total().into(),
    ]
}

fn km(m: f64) -> Cell {
    (m / 1000.0).into()
}

/// The table of a breakdown: key, name, and stations/piles/connectors by category.
pub fn breakdown_table(by: &str, rows: &[BreakdownRow], names: &HashMap<String, String>) -> Table {
    let mut columns: Vec<(String, String, Kind)> = vec![
        ("key".into(), "代码 Key".into(), Kind::Text),
        ("name".into(), "名称 Name".into(), Kind::Text),
    ];
    for (what, zh) in [("stations", "站"), ("piles", "桩"), ("connectors", "枪")] {
        for (cat, title) in CATEGORY_COLUMNS {
            columns.push((
                format!("{what}_{cat}"),
                format!("{zh} {what} {title}"),
                Kind::Integer,
            ));
        }
        columns.push((
            format!("{what}_total"),
            format!("{zh} {what} 合计 total"),
            Kind::Integer,
        ));
    }
    let cols: Vec<(&str, &str, Kind)> = columns
        .iter()
        .map(|(k, t, kind)| (k.as_str(), t.as_str(), *kind))
        .collect();
    let mut t = Table::new(&format!("by {by}"), &cols);
    for r in rows {
        let mut cells: Vec<Cell> = vec![
            r.key.clone().into(),
            r.key.as_ref().and_then(|k| names.get(k).cloned()).into(),
        ];
        cells.extend(counts_cells(&r.stations));
        cells.extend(counts_cells(&r.piles));
        cells.extend(counts_cells(&r.connectors));
        t.push(cells);
    }
    t
}

/// Daily snapshots as a table.
pub fn growth_table(rows: &[SnapshotRow]) -> Table {
    let mut t = Table::new(
        "growth",
        &[
            ("day", "日期 Day", Kind::Text),
            ("stations", "站 Stations", Kind::Integer),
            ("piles_public", "公共桩 Public piles", Kind::Integer),
            ("piles_dedicated", "专用桩 Dedicated piles", Kind::Integer),
            ("piles_private", "私人桩 Private piles", Kind::Integer),
            ("piles", "桩合计 Piles", Kind::Integer),
            ("connectors", "枪 Connectors", Kind::Integer),
        ],
    );
    for r in rows {
        t.push(vec![
            r.day.clone().into(),
            r.stations.total().into(),
            r.piles.public.into(),
            r.piles.dedicated.into(),
            r.piles.private.into(),
            r.piles.total().into(),
            r.connectors.total().into(),
        ]);
    }
    t
}

/// Utilization as a table.
pub fn utilization_table(rows: &[UtilizationRow]) -> Table {
    let mut t = Table::new(
        "utilization",
        &[
            ("key", "代码 Key", Kind::Text),
            ("name", "名称 Name", Kind::Text),
            ("bucket", "时段 Day or hour", Kind::Text),
            ("sessions", "充电次数 Sessions", Kind::Integer),
            ("energy_kwh", "电量 kWh", Kind::Number),
            ("charging_hours", "充电时长 Charging hours", Kind::Number),
            ("connectors", "枪数 Connectors", Kind::Integer),
            ("utilization", "时间利用率 Utilization", Kind::Share),
        ],
    );
    for r in rows {
        t.push(vec![
            r.key.clone().into(),
            r.name.clone().into(),
            r.bucket.clone().into(),
            r.sessions.into(),
            r.energy_kwh.into(),
            r.charging_hours.into(),
            r.connectors.into(),
            r.utilization.into(),
        ]);
    }
    t
}

/// Faults as a table.
pub fn faults_table(rows: &[FaultSummary]) -> Table {
    let mut t = Table::new(
        "faults",
        &[
            ("key", "代码 Key", Kind::Text),
            ("name", "名称 Name", Kind::Text),
            ("connectors", "枪数 Connectors", Kind::Integer),
            ("online", "在线 Online", Kind::Integer),
            ("online_rate", "在线率 Online rate", Kind::Share),
            ("faults", "故障次数 Faults", Kind::Integer),
            ("fault_hours", "故障时长 Fault hours", Kind::Number),
            ("repaired", "已修复 Repaired", Kind::Integer),
            ("mttr_hours", "平均修复时间 MTTR hours", Kind::Number),
        ],
    );
    for r in rows {
        t.push(vec![
            r.key.clone().into(),
            r.name.clone().into(),
            r.connectors.into(),
            r.online.into(),
            r.online_rate.into(),
            r.faults.into(),
            r.fault_hours.into(),
            r.repaired.into(),
            r.mttr_hours.into(),
        ]);
    }
    t
}

/// Targets as a table.
pub fn targets_table(rows: &[TargetStatus]) -> Table {
    let mut t = Table::new(
        "targets",
        &[
            ("id", "代码 Id", Kind::Text),
            ("name_zh", "目标 Target", Kind::Text),
            ("name_en", "Target (English)", Kind::Text),
            ("unit", "单位 Unit", Kind::Text),
            ("value", "目标值 Value", Kind::Number),
            ("current", "当前 Current", Kind::Number),
            ("as_of", "截至 As of", Kind::Text),
            ("progress", "进度 Progress", Kind::Share),
            ("trend_per_day", "日均增长 Trend per day", Kind::Number),
            ("projected_day", "预计达成 Projected", Kind::Text),
            ("deadline", "期限 Deadline", Kind::Text),
            ("measure", "度量 Measured by", Kind::Text),
            ("parent_id", "上级 Part of", Kind::Text),
        ],
    );
    for r in rows {
        t.push(vec![
            r.target.id.clone().into(),
            r.target.name_zh.clone().into(),
            r.target.name_en.clone().into(),
            r.target.unit.clone().into(),
            r.target.value.into(),
            r.current.into(),
            r.as_of.clone().into(),
            r.progress.into(),
            r.trend_per_day.into(),
            r.projected_day.clone().into(),
            r.target.deadline.clone().into(),
            r.target.measure.clone().into(),
            r.target.parent_id.clone().into(),
        ]);
    }
    t
}

pub(crate) fn point(lat: f64, lng: f64) -> serde_json::Value {
    json!({"type": "Point", "coordinates": [lng, lat]})
}

/// Every township with its coverage (places: township centres).
pub fn townships_table(report: &CoverageReport, covered: Option<bool>) -> Table {
    let mut t = Table::new(
        "townships",
        &[
            ("code", "代码 Code", Kind::Text),
            ("name_zh", "乡镇 Township", Kind::Text),
            ("kind", "类型 Kind", Kind::Text),
            ("county_code", "县区代码 County code", Kind::Text),
            ("county", "县区 County", Kind::Text),
            ("population", "人口(估) Population", Kind::Integer),
            ("population_estimated", "人口为估算 Estimated", Kind::Text),
            ("public_stations", "公共站 Public stations", Kind::Integer),
            ("covered", "已覆盖 Covered", Kind::Text),
            ("nearest_km", "中心至最近公共站 km", Kind::Number),
            (
                "nearest_station_id",
                "最近公共站 Nearest station",
                Kind::Text,
            ),
            ("mean_km", "居民平均距离 km", Kind::Number),
        ],
    );
    for x in report
        .townships
        .iter()
        .filter(|x| covered.is_none_or(|c| c == x.covered))
    {
        t.push_place(
            vec![
                x.code.clone().into(),
                x.name_zh.clone().into(),
                x.kind.clone().into(),
                x.county_code.clone().into(),
                x.county_name_zh.clone().into(),
                (x.population.round() as i64).into(),
                x.population_estimated.into(),
                x.public_stations.into(),
                x.covered.into(),
                km(x.nearest_distance_m),
                x.nearest_station_id.clone().into(),
                km(x.mean_distance_m),
            ],
            point(x.centre.lat, x.centre.lng),
        );
    }
    t
}

/// Every hot spot with its nearest public station.
pub fn hotspots_table(report: &CoverageReport) -> Table {
    let mut t = Table::new(
        "hotspots",
        &[
            ("name_zh", "热点 Hot spot", Kind::Text),
            ("category", "类别 Category", Kind::Text),
            ("county_code", "县区代码 County code", Kind::Text),
            (
                "nearest_station_id",
                "最近公共站 Nearest station",
                Kind::Text,
            ),
            ("nearest_station_name", "站名 Station name", Kind::Text),
            ("distance_m", "距离 Distance m", Kind::Number),
            ("covered", "已覆盖 Covered", Kind::Text),
        ],
    );
    for h in &report.hotspots {
        t.push_place(
            vec![
                h.name_zh.clone().into(),
                h.category.clone().into(),
                h.county_code.clone().into(),
                h.nearest_station_id.clone().into(),
                h.nearest_station_name.clone().into(),
                h.distance_m.into(),
                h.covered.into(),
            ],
            point(h.location.lat, h.location.lng),
        );
    }
    t
}

/// The whole (the city, first) and its counties; a report of one county is that county alone.
pub fn regions_of(report: &CoverageReport) -> Vec<&evgrid_geo::coverage::RegionCoverage> {
    if report.total.code.is_some() {
        report.counties.iter().collect()
    } else {
        std::iter::once(&report.total)
            .chain(report.counties.iter())
            .collect()
    }
}

/// Service radius per county and for the whole (first row), both ways.
pub fn service_radius_table(report: &CoverageReport) -> Table {
    let mut cols: Vec<(String, String, Kind)> = [
        ("code", "代码 Code", Kind::Text),
        ("name_zh", "区域 Region", Kind::Text),
        ("area_km2", "面积 km²", Kind::Number),
        ("public_stations", "公共站 Public stations", Kind::Integer),
        (
            "planning_radius_km",
            "规划服务半径 Planning radius km",
            Kind::Number,
        ),
        ("population", "人口 Population", Kind::Integer),
        ("mean_km", "平均距离 Mean km", Kind::Number),
        ("p50_km", "中位距离 p50 km", Kind::Number),
        ("p90_km", "p90 km", Kind::Number),
    ]
    .iter()
    .map(|(k, t, kind)| ((*k).to_owned(), (*t).to_owned(), *kind))
    .collect();
    for (k, _) in &report.total.population_within_km {
        cols.push((
            format!("within_{k}km"),
            format!("{k} km 内人口占比 Within {k} km"),
            Kind::Share,
        ));
    }
    cols.push((
        "townships_covered".into(),
        "覆盖乡镇 Townships covered".into(),
        Kind::Integer,
    ));
    cols.push((
        "townships_total".into(),
        "乡镇 Townships".into(),
        Kind::Integer,
    ));
    let cols: Vec<(&str, &str, Kind)> = cols
        .iter()
        .map(|(k, t, kind)| (k.as_str(), t.as_str(), *kind))
        .collect();
    let mut t = Table::new("service radius", &cols);
    for r in regions_of(report) {
        let mut cells: Vec<Cell> = vec![
            r.code.clone().into(),
            r.name_zh.clone().into(),
            r.area_km2.into(),
            r.public_stations.into(),
            r.planning_radius_km.into(),
            (r.population.round() as i64).into(),
            km(r.mean_distance_m),
            km(r.p50_distance_m),
            km(r.p90_distance_m),
        ];
        cells.extend(r.population_within_km.iter().map(|(_, s)| Cell::from(*s)));
        cells.push(r.townships_covered.into());
        cells.push(r.townships_total.into());
        t.push(cells);
    }
    t
}

/// The charging circle's figures (and its gaps as GeoJSON geometry).
pub fn circle_table(report: &CoverageReport) -> Table {
    let c = &report.circle;
    let mut t = Table::new(
        "charging circle",
        &[
            ("area", "区域 Area", Kind::Text),
            ("area_km2", "面积 km²", Kind::Number),
            ("radius_km", "充电圈半径 Radius km", Kind::Number),
            ("share", "覆盖面积占比 Share covered", Kind::Share),
            ("gap_km2", "未覆盖面积 Gap km²", Kind::Number),
            ("max_distance_m", "最远距离 Max distance m", Kind::Number),
            ("cell_m", "网格 Cell m", Kind::Number),
        ],
    );
    t.push_place(
        vec![
            c.area.clone().into(),
            c.area_km2.into(),
            c.radius_km.into(),
            c.share.into(),
            c.gap_km2.into(),
            c.max_distance_m.into(),
            c.cell_m.into(),
        ],
        c.gaps.to_geojson(),
    );
    t
}

/// The coverage tables of a report, in workbook order.
pub fn coverage_tables(report: &CoverageReport) -> Vec<Table> {
    vec![
        service_radius_table(report),
        townships_table(report, None),
        hotspots_table(report),
        circle_table(report),
    ]
}

/// Every operator's data quality, one row each.
pub fn quality_table(reports: &[crate::live::quality::DataQuality]) -> Table {
    let mut t = Table::new(
        "data quality",
        &[
            ("operator_id", "运营商代码 OperatorID", Kind::Text),
            ("name", "运营商 Operator", Kind::Text),
            ("accepted", "接收消息 Accepted", Kind::Integer),
            ("refused", "拒收消息 Refused", Kind::Integer),
            ("refused_share", "拒收率 Refused share", Kind::Share),
            ("latency_s_p99", "延迟p99 Latency p99 s", Kind::Integer),
            ("connectors", "枪数 Connectors", Kind::Integer),
            ("unreported", "从未上报 Never reported", Kind::Integer),
            ("stale", "状态过期 Stale", Kind::Integer),
            ("stations", "站数 Stations", Kind::Integer),
            (
                "missing_required_fields",
                "缺必填字段 Missing fields",
                Kind::Integer,
            ),
            ("outside_city", "市外 Outside the city", Kind::Integer),
            ("duplicates", "疑似重复 Duplicates", Kind::Integer),
            ("pulls_ok", "拉取成功 Pulls ok", Kind::Integer),
            ("pulls_failed", "拉取失败 Pulls failed", Kind::Integer),
        ],
    );
    for q in reports {
        let accepted: u64 = q.messages.accepted.values().sum();
        let refused: u64 = q.messages.refused.values().sum();
        let all = accepted + refused;
        let int = |n: u64| Cell::Integer(i64::try_from(n).unwrap_or(i64::MAX));
        t.push(vec![
            q.operator_id.clone().into(),
            q.name.clone().into(),
            int(accepted),
            int(refused),
            if all > 0 {
                (refused as f64 / all as f64).into()
            } else {
                Cell::Empty
            },
            q.messages.latency_s_p99.into(),
            q.connectors.total.into(),
            q.connectors.unreported.into(),
            q.connectors.stale.into(),
            q.stations.total.into(),
            q.stations.missing_required_fields.into(),
            q.stations.outside_city.into(),
            q.stations.duplicates_across_operators.into(),
            q.pull.as_ref().map(|p| int(p.polls_ok)).into(),
            q.pull.as_ref().map(|p| int(p.polls_failed)).into(),
        ]);
    }
    t
}

impl Regulator {
    /// Every table of the regulator's workbook, in sheet order: coverage (service radius,
    /// townships, hot spots, charging circle), breakdowns, growth, utilization and faults of the
    /// last 7 days by county, targets and data quality.
    pub async fn regulator_tables(&self, report: &CoverageReport) -> Result<Vec<Table>, AppError> {
        let mut tables = coverage_tables(report);
        for (dim, name) in [
            (Dimension::Category, "category"),
            (Dimension::County, "county"),
            (Dimension::Operator, "operator"),
            (Dimension::PowerClass, "power class"),
            (Dimension::ConnectorStandard, "connector standard"),
            (Dimension::Current, "current"),
        ] {
            let rows = self.store.breakdown(dim).await?;
            let names = self.breakdown_names(dim).await?;
            tables.push(breakdown_table(name, &rows, &names));
        }
        tables.push(growth_table(&self.store.snapshots().await?));
        let now = evgrid_model::time::unix_now();
        let week = Window {
            from: now - 7 * 86_400,
            to: now,
        };
        tables.push(utilization_table(
            &self
                .utilization(UsageKey::County, Bucket::Day, week)
                .await?,
        ));
        tables.push(faults_table(
            &self.fault_summaries(UsageKey::County, week).await?,
        ));
        tables.push(targets_table(&self.target_statuses().await?));
        tables.push(quality_table(&self.live.all_data_quality().await?));
        Ok(tables)
    }
}
