//! The regulator's monthly report: the month's figures (the same computations as the API's
//! statistics and coverage, gathered once into [`MonthlyFigures`]) and their typesetting as a
//! few A4 pages a bureau can hand on — headline figures against targets and the last month,
//! counties, growth and utilization, faults and online rate, operators' data quality, the
//! largest townships without a public station, the siting plan, and the coverage map — in
//! Chinese by default or English, every figure with its method in one line.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use evgrid_geo::coverage::CoverageReport;
use evgrid_model::stats::{Bucket, Dimension, UsageKey};
use evgrid_model::time::{civil_from_days, days_from_civil};
use evgrid_model::{CategoryCounts, LatLng};
use evgrid_report::chart;
use evgrid_report::document::{Block, Report, TextTable};
use evgrid_report::{Canvas, Lang};
use serde::Serialize;

use super::maps::MapRequest;
use super::plan::PlanResult;
use super::statistics::{FaultSummary, Window};
use super::targets::{format_day, parse_day, today, TargetStatus};
use super::Regulator;
use crate::AppError;

/// A calendar month in the city (UTC+8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Month {
    pub year: i64,
    pub month: i64,
}

impl Month {
    /// `YYYY-MM`, if it is a real month between 2000 and 2200.
    pub fn parse(text: &str) -> Option<Self> {
        let (y, m) = text.split_once('-')?;
        if y.len() != 4 || m.len() != 2 {
            return None;
        }
        let (year, month): (i64, i64) = (y.parse().ok()?, m.parse().ok()?);
        ((2000..=2200).contains(&year) && (1..=12).contains(&month)).then_some(Self { year, month })
    }

    /// The month the city is in now.
    pub fn current() -> Self {
        let (year, month, _) = civil_from_days(parse_day(&today()).unwrap_or(0));
        Self { year, month }
    }

    pub fn previous(self) -> Self {
        if self.month == 1 {
            Self {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Self {
                month: self.month - 1,
                ..self
            }
        }
    }

    fn next(self) -> Self {
        if self.month == 12 {
            Self {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Self {
                month: self.month + 1,
                ..self
            }
        }
    }

    /// Days since 1970 of the month's first day.
    pub fn first_day(self) -> i64 {
        days_from_civil(self.year, self.month, 1)
    }

    /// Days since 1970 of the month's last day.
    pub fn last_day(self) -> i64 {
        self.next().first_day() - 1
    }

    /// The month as seconds since 1970, `[first day 00:00, next month's first day 00:00)` UTC+8.
    pub fn window(self) -> Window {
        Window {
            from: self.first_day() * 86_400 - 8 * 3600,
            to: self.next().first_day() * 86_400 - 8 * 3600,
        }
    }

    /// `2026年11月` or `November 2026`.
    pub fn name(self, lang: Lang) -> String {
        const EN: [&str; 12] = [
            "January",
            "February",
            "March",
            "April",
            "May",
            "June",
            "July",
            "August",
            "September",
            "October",
            "November",
            "December",
        ];
        match lang {
            Lang::Zh => format!("{}年{}月", self.year, self.month),
            Lang::En => format!(
                "{} {}",
                EN[usize::try_from(self.month - 1).unwrap_or(0).min(11)],
                self.year
            ),
        }
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// One county's line of the report.
#[derive(Debug, Clone, Serialize)]
pub struct CountyFigures {
    pub code: String,
    pub name_zh: String,
    pub name_pinyin: String,
    pub stations: i64,
    pub piles: CategoryCounts,
    pub planning_radius_km: f64,
    pub mean_distance_km: f64,
    pub townships_covered: usize,
    pub townships_total: usize,
    pub sessions: i64,
    pub energy_kwh: f64,
    pub online_rate: f64,
    pub faults: i64,
}

/// One operator's line: faults, online rate and data quality.
#[derive(Debug, Clone, Serialize)]
pub struct OperatorFigures {
    pub id: String,
    pub name: String,
    pub connectors: i64,
    pub online_rate: f64,
    pub faults: i64,
    pub fault_hours: f64,
    pub mttr_hours: Option<f64>,
    /// Messages accepted and refused since counting began (cumulative, not per month).
    pub accepted: u64,
    pub refused: u64,
    /// Seconds from the operator's TimeStamp to receipt, 99th percentile.
    pub latency_s_p99: Option<i64>,
    pub unreported: i64,
    pub stale: i64,
    pub missing_fields: i64,
}

/// A township without a public station.
#[derive(Debug, Clone, Serialize)]
pub struct UncoveredTownship {
    pub county_zh: String,
    pub name_zh: String,
    pub population: f64,
    pub nearest_km: f64,
}

/// One day of the month.
#[derive(Debug, Clone, Serialize)]
pub struct DayFigures {
    pub day: String,
    /// Piles registered that day (daily snapshot), when one was taken.
    pub piles: Option<i64>,
    pub sessions: i64,
    pub energy_kwh: f64,
    /// Charging time over the connectors' time that day.
    pub utilization: f64,
}

/// The siting plan's headline.
#[derive(Debug, Clone, Serialize)]
pub struct PlanHeadline {
    pub new_piles: u32,
    pub sites: usize,
    pub radius_km: f64,
    pub share_before: f64,
    pub share_after: f64,
    pub townships_before: usize,
    pub townships_after: usize,
    pub townships_total: usize,
    pub radius_before_km: f64,
    pub radius_after_km: f64,
    pub gap_pct: f64,
}

/// Everything the monthly report prints, computed once.
#[derive(Debug, Clone, Serialize)]
pub struct MonthlyFigures {
    pub month: String,
    pub previous_month: String,
    /// The last day the month's figures stand for (the month's last day, or today).
    pub as_of: String,
    /// Whether anything was recorded in the month (a snapshot, a charge or a fault).
    pub has_data: bool,
    /// Piles, stations, connectors at the month's end (today's registry for the running
    /// month; the last daily snapshot of the month for a past one).
    pub piles: Option<CategoryCounts>,
    pub stations: Option<CategoryCounts>,
    pub connectors: Option<CategoryCounts>,
    /// Piles at the end of the previous month (its last daily snapshot).
    pub piles_previous: Option<CategoryCounts>,
    /// Piles added in the month and in the previous month (end minus the end before).
    pub new_piles: Option<i64>,
    pub new_piles_previous: Option<i64>,
    pub planning_radius_km: f64,
    pub mean_distance_km: f64,
    /// Share of people within 3 km of a public station.
    pub share_within_3km: Option<f64>,
    pub townships_covered: usize,
    pub townships_total: usize,
    pub hotspots_covered: usize,
    pub hotspots_total: usize,
    pub circle_area: String,
    pub circle_radius_km: f64,
    pub circle_share: f64,
    pub sessions: i64,
    pub energy_kwh: f64,
    pub utilization: f64,
    pub online_rate: f64,
    pub faults: i64,
    pub fault_hours: f64,
    pub days: Vec<DayFigures>,
    pub counties: Vec<CountyFigures>,
    pub operators: Vec<OperatorFigures>,
    pub uncovered_townships: Vec<UncoveredTownship>,
    pub targets: Vec<TargetStatus>,
    pub plan: Option<PlanHeadline>,
    pub grid_m: f64,
}

fn sum_counts(rows: impl Iterator<Item = CategoryCounts>) -> CategoryCounts {
    rows.fold(CategoryCounts::default(), |a, b| CategoryCounts {
        public: a.public + b.public,
        dedicated: a.dedicated + b.dedicated,
        private: a.private + b.private,
    })
}

fn fault_totals(rows: &[FaultSummary]) -> (i64, i64, i64, f64) {
    rows.iter().fold((0, 0, 0, 0.0), |(c, o, f, h), r| {
        (
            c + r.connectors,
            o + r.online,
            f + r.faults,
            h + r.fault_hours,
        )
    })
}

impl Regulator {
    /// The month's figures. `coverage` is the city's coverage report (the API's, at its grid);
    /// `plan` the latest siting plan, when one was made.
    pub async fn monthly_figures(
        &self,
        month: Month,
        coverage: &CoverageReport,
        plan: Option<&PlanResult>,
    ) -> Result<MonthlyFigures, AppError> {
        let window = month.window();
        let today_days = parse_day(&today()).unwrap_or(0);
        let running = (month.first_day()..=month.last_day()).contains(&today_days);
        let as_of_days = if running {
            today_days
        } else {
            month.last_day()
        };
        let snapshots = self.store.snapshots().await?;
        let snapshot_until = |last: i64| {
            snapshots
                .iter()
                .rev()
                .find(|s| parse_day(&s.day).is_some_and(|d| d <= last))
        };
        let in_month = |day: &str| {
            parse_day(day).is_some_and(|d| (month.first_day()..=month.last_day()).contains(&d))
        };
        let by_county = self.store.breakdown(Dimension::County).await?;
        let (piles, stations, connectors) = if running {
            (
                Some(sum_counts(by_county.iter().map(|r| r.piles))),
                Some(sum_counts(by_county.iter().map(|r| r.stations))),
                Some(sum_counts(by_county.iter().map(|r| r.connectors))),
            )
        } else {
            let s = snapshots.iter().rev().find(|s| in_month(&s.day));
            (
                s.map(|s| s.piles),
                s.map(|s| s.stations),
                s.map(|s| s.connectors),
            )
        };
        let previous = month.previous();
        let piles_previous = snapshot_until(previous.last_day()).map(|s| s.piles);
        let piles_before_previous = snapshot_until(previous.previous().last_day()).map(|s| s.piles);
        let new_piles = match (piles, piles_previous) {
            (Some(a), Some(b)) => Some(a.total() - b.total()),
            _ => None,
        };
        let new_piles_previous = match (piles_previous, piles_before_previous) {
            (Some(a), Some(b)) => Some(a.total() - b.total()),
            _ => None,
        };

        // Charging in the month, by county and day.
        let usage = self
            .utilization(UsageKey::County, Bucket::Day, window)
            .await?;
        let connectors_total: i64 = self
            .store
            .connectors_by(UsageKey::County)
            .await?
            .into_iter()
            .map(|(_, n)| n)
            .sum();
        let mut by_day: BTreeMap<String, (i64, f64, f64)> = BTreeMap::new();
        let mut by_county_usage: HashMap<String, (i64, f64)> = HashMap::new();
        for r in &usage {
            let e = by_day.entry(r.bucket.clone()).or_default();
            e.0 += r.sessions;
            e.1 += r.energy_kwh;
            e.2 += r.charging_hours;
            if let Some(k) = &r.key {
                let c = by_county_usage.entry(k.clone()).or_default();
                c.0 += r.sessions;
                c.1 += r.energy_kwh;
            }
        }
        let now = evgrid_model::time::unix_now();
        let hours_of = |day: i64| {
            let start = day * 86_400 - 8 * 3600;
            ((start + 86_400).min(now) - start).clamp(0, 86_400) as f64 / 3600.0
        };
        let days: Vec<DayFigures> = (month.first_day()..=as_of_days.min(month.last_day()))
            .map(|d| {
                let day = format_day(d);
                let (sessions, energy_kwh, hours) = by_day.get(&day).copied().unwrap_or_default();
                let capacity = connectors_total as f64 * hours_of(d);
                DayFigures {
                    piles: snapshots
                        .iter()
                        .find(|s| s.day == day)
                        .map(|s| s.piles.total())
                        .or_else(|| {
                            (running && d == today_days)
                                .then(|| piles.map(|p| p.total()))
                                .flatten()
                        }),
                    day,
                    sessions,
                    energy_kwh,
                    utilization: if capacity > 0.0 {
                        (hours / capacity).min(1.0)
                    } else {
                        0.0
                    },
                }
            })
            .collect();
        let sessions: i64 = days.iter().map(|d| d.sessions).sum();
        let energy_kwh: f64 = days.iter().map(|d| d.energy_kwh).sum();
        let charging_hours: f64 = by_day.values().map(|v| v.2).sum();
        let capacity: f64 = days
            .iter()
            .filter_map(|d| parse_day(&d.day))
            .map(|d| connectors_total as f64 * hours_of(d))
            .sum();

        // Faults in the month, online rate now.
        let county_faults = self.fault_summaries(UsageKey::County, window).await?;
        let operator_faults = self.fault_summaries(UsageKey::Operator, window).await?;
        let (fault_connectors, online, faults, fault_hours) = fault_totals(&county_faults);

        let data = self.reference();
        let counties = data
            .counties
            .iter()
            .map(|c| {
                let row = by_county
                    .iter()
                    .find(|r| r.key.as_deref() == Some(c.code.as_str()));
                let cov = coverage
                    .counties
                    .iter()
                    .find(|r| r.code.as_deref() == Some(c.code.as_str()));
                let f = county_faults
                    .iter()
                    .find(|r| r.key.as_deref() == Some(c.code.as_str()));
                let (s, e) = by_county_usage.get(&c.code).copied().unwrap_or_default();
                CountyFigures {
                    code: c.code.clone(),
                    name_zh: c.name_zh.clone(),
                    name_pinyin: c.name_pinyin.clone(),
                    stations: row.map_or(0, |r| r.stations.total()),
                    piles: row.map(|r| r.piles).unwrap_or_default(),
                    planning_radius_km: cov.map_or(0.0, |r| r.planning_radius_km),
                    mean_distance_km: cov.map_or(0.0, |r| r.mean_distance_m / 1000.0),
                    townships_covered: cov.map_or(0, |r| r.townships_covered),
                    townships_total: cov.map_or(0, |r| r.townships_total),
                    sessions: s,
                    energy_kwh: e,
                    online_rate: f.map_or(0.0, |r| r.online_rate),
                    faults: f.map_or(0, |r| r.faults),
                }
            })
            .collect();

        let quality = self.live.all_data_quality().await?;
        let operators = quality
            .iter()
            .map(|q| {
                let f = operator_faults
                    .iter()
                    .find(|r| r.key.as_deref() == Some(q.operator_id.as_str()));
                OperatorFigures {
                    id: q.operator_id.clone(),
                    name: q.name.clone(),
                    connectors: q.connectors.total,
                    online_rate: f.map_or(0.0, |r| r.online_rate),
                    faults: f.map_or(0, |r| r.faults),
                    fault_hours: f.map_or(0.0, |r| r.fault_hours),
                    mttr_hours: f.and_then(|r| r.mttr_hours),
                    accepted: q.messages.accepted.values().sum(),
                    refused: q.messages.refused.values().sum(),
                    latency_s_p99: q.messages.latency_s_p99,
                    unreported: q.connectors.unreported,
                    stale: q.connectors.stale,
                    missing_fields: q.stations.missing_required_fields,
                }
            })
            .collect();

        let mut uncovered: Vec<UncoveredTownship> = coverage
            .townships
            .iter()
            .filter(|t| !t.covered)
            .map(|t| UncoveredTownship {
                county_zh: t.county_name_zh.clone(),
                name_zh: t.name_zh.clone(),
                population: t.population,
                nearest_km: t.nearest_distance_m / 1000.0,
            })
            .collect();
        uncovered.sort_by(|a, b| {
            b.population
                .total_cmp(&a.population)
                .then(a.name_zh.cmp(&b.name_zh))
        });
        uncovered.truncate(10);

        let total = &coverage.total;
        let has_data = snapshots.iter().any(|s| in_month(&s.day))
            || sessions > 0
            || faults > 0
            || (running && piles.is_some_and(|p| p.total() > 0));
        Ok(MonthlyFigures {
            month: month.to_string(),
            previous_month: previous.to_string(),
            as_of: format_day(as_of_days),
            has_data,
            piles,
            stations,
            connectors,
            piles_previous,
            new_piles,
            new_piles_previous,
            planning_radius_km: total.planning_radius_km,
            mean_distance_km: total.mean_distance_m / 1000.0,
            share_within_3km: total
                .population_within_km
                .iter()
                .find(|(k, _)| (*k - 3.0).abs() < 1e-9)
                .map(|(_, s)| *s),
            townships_covered: total.townships_covered,
            townships_total: total.townships_total,
            hotspots_covered: coverage.hotspots.iter().filter(|h| h.covered).count(),
            hotspots_total: coverage.hotspots.len(),
            circle_area: coverage.circle.area.clone(),
            circle_radius_km: coverage.circle.radius_km,
            circle_share: coverage.circle.share,
            sessions,
            energy_kwh,
            utilization: if capacity > 0.0 {
                (charging_hours / capacity).min(1.0)
            } else {
                0.0
            },
            online_rate: if fault_connectors > 0 {
                online as f64 / fault_connectors as f64
            } else {
                0.0
            },
            faults,
            fault_hours,
            days,
            counties,
            operators,
            uncovered_townships: uncovered,
            targets: self.target_statuses().await?,
            plan: plan.map(|p| PlanHeadline {
                new_piles: p.request.new_piles,
                sites: p.sites.len(),
                radius_km: p.request.radius_km,
                share_before: p.before.share_within_radius,
                share_after: p.after.share_within_radius,
                townships_before: p.before.townships_covered,
                townships_after: p.after.townships_covered,
                townships_total: p.after.townships_total,
                radius_before_km: p.before.planning_radius_km,
                radius_after_km: p.after.planning_radius_km,
                gap_pct: p.gap_pct,
            }),
            grid_m: coverage.grid_m,
        })
    }
}

/// The monthly report as a PDF with its figures: the coverage report, the figures, the maps
/// (coverage, and the plan's when `plan` is given) drawn off the async threads, typeset in
/// `lang`. `step` hears each stage's name (a progress bar).
impl Regulator {
    pub async fn monthly_pdf(
        self: &Arc<Self>,
        month: Month,
        lang: Lang,
        plan: Option<Arc<PlanResult>>,
        step: &(dyn Fn(&str) + Send + Sync),
    ) -> Result<(MonthlyFigures, Vec<u8>), AppError> {
        step(lang.pick("计算覆盖指标", "coverage figures"));
        let me = Arc::clone(self);
        let coverage = blocking(move || {
            me.coverage(
                super::coverage::DEFAULT_GRID_M,
                &evgrid_geo::coverage::CoverageOptions::default(),
            )
        })
        .await?;
        step(lang.pick("汇总本月数据", "the month's figures"));
        let figures = self
            .monthly_figures(month, &coverage, plan.as_deref())
            .await?;
        step(lang.pick("绘制地图", "drawing the maps"));
        let me = Arc::clone(self);
        let (f, p) = (figures.clone(), plan.clone());
        let (coverage_map, plan_map) = blocking(move || {
            let stations = me.public_locations();
            let uncovered: Vec<LatLng> = coverage
                .townships
                .iter()
                .filter(|t| !t.covered)
                .map(|t| t.centre)
                .collect();
            let map = me.coverage_map(&MapRequest {
                county: None,
                grid_m: coverage.grid_m,
                width: 1000,
                lang,
                title: lang.pick("公共充电覆盖", "public charging coverage"),
                as_of: &f.as_of,
                stations: &stations,
                proposed: &[],
                uncovered_townships: &uncovered,
                figures: Regulator::coverage_figures(&coverage, 3.0, lang),
            });
            let plan_map = p.map(|plan| {
                let proposed: Vec<(LatLng, u32)> =
                    plan.sites.iter().map(|s| (s.location, s.piles)).collect();
                me.coverage_map(&MapRequest {
                    county: plan.county_code.as_deref(),
                    grid_m: plan.request.grid_m,
                    width: 1000,
                    lang,
                    title: lang.pick("充电设施选址规划", "siting plan"),
                    as_of: &f.as_of,
                    stations: &stations,
                    proposed: &proposed,
                    uncovered_townships: &plan.uncovered_after,
                    figures: super::maps::plan_figures(&plan, lang),
                })
            });
            (map, plan_map)
        })
        .await?;
        step(lang.pick("排版", "typesetting"));
        let f = figures.clone();
        let pdf = blocking(move || {
            monthly_report(&f, lang, Some(coverage_map), plan_map, &today()).to_pdf()
        })
        .await??;
        Ok((figures, pdf))
    }
}

/// Runs CPU-bound work on the blocking threads.
async fn blocking<T: Send + 'static>(
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, AppError> {
    tokio::task::spawn_blocking(work)
        .await
        .map_err(|e| AppError::Background(e.to_string()))
}

/// A whole number with thousands separators: `19,000`.
pub fn thousands(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

fn pct(x: f64) -> String {
    // + 0.0 turns a negative zero (an empty sum) into 0.0%.
    format!("{:.1}%", x * 100.0 + 0.0)
}

fn km(x: f64) -> String {
    format!("{x:.2}")
}

fn opt_int(n: Option<i64>) -> String {
    n.map_or_else(|| "—".to_owned(), thousands)
}

/// The report's pages: the figures typeset in `lang`, the coverage map (and the plan's map)
/// drawn by the caller.
pub fn monthly_report(
    f: &MonthlyFigures,
    lang: Lang,
    coverage_map: Option<Canvas>,
    plan_map: Option<Canvas>,
    generated: &str,
) -> Report {
    let t = |zh: &str, en: &str| lang.pick(zh, en).to_owned();
    let month = Month::parse(&f.month).unwrap_or_else(Month::current);
    let previous = Month::parse(&f.previous_month).unwrap_or_else(|| month.previous());
    let mut b: Vec<Block> = Vec::new();
    b.push(Block::Title {
        title: format!(
            "{}{}",
            t("赣州市充电基础设施月报　", "Ganzhou charging infrastructure: monthly report, "),
            month.name(lang)
        ),
        subtitle: match lang {
            Lang::Zh => format!(
                "统计期 {month}（数据截至 {}）　·　由 evgrid 充电基础设施信息服务平台于 {generated} 生成",
                f.as_of
            ),
            Lang::En => format!(
                "Period {month} (data as of {}) · generated by the evgrid charging infrastructure platform on {generated}",
                f.as_of
            ),
        },
    });
    if !f.has_data {
        b.push(Block::Paragraph(match lang {
            Lang::Zh => format!(
                "{}没有记录到数据：平台在该月没有每日登记快照、充电记录或故障记录。以下覆盖指标按当前登记的充电设施计算，仅供参考。",
                month.name(lang)
            ),
            Lang::En => format!(
                "No data was recorded for {}: the platform holds no daily registry snapshot, charge or fault for that month. The coverage figures below are computed on the chargers registered now, for reference only.",
                month.name(lang)
            ),
        }));
    }

    // 1. Headline figures.
    b.push(Block::Heading(t("一、主要指标", "1. Headline figures")));
    let target_of = |measure_piles: bool| -> String {
        f.targets
            .iter()
            .find(|s| measure_piles && s.target.measure == "registry_piles" && s.target.value > 0.0)
            .map_or_else(
                || "—".to_owned(),
                |s| {
                    format!(
                        "{}（{}）",
                        thousands(s.target.value as i64),
                        s.target.deadline
                    )
                },
            )
    };
    let piles_total = f.piles.map(|p| p.total());
    let mut rows = vec![
        vec![
            t("充电桩总数", "Piles registered"),
            opt_int(piles_total),
            opt_int(f.piles_previous.map(|p| p.total())),
            target_of(true),
            t("月末登记在册的充电桩（每日登记快照；本月为当前登记）", "Piles registered at the month's end (daily registry snapshot; the running month: now)"),
        ],
        vec![
            t("　其中公共 / 专用 / 个人", "  public / dedicated / private"),
            f.piles.map_or_else(|| "—".into(), |p| format!("{} / {} / {}", thousands(p.public), thousands(p.dedicated), thousands(p.private))),
            f.piles_previous.map_or_else(|| "—".into(), |p| format!("{} / {} / {}", thousands(p.public), thousands(p.dedicated), thousands(p.private))),
            "—".into(),
            t("按充电站类别（T/CEC StationType）分类", "By the station's category (T/CEC StationType)"),
        ],
        vec![
            t("本月新增充电桩", "New piles in the month"),
            opt_int(f.new_piles),
            opt_int(f.new_piles_previous),
            "—".into(),
            t("月末登记数减上月末登记数", "Registered at the month's end minus at the previous month's end"),
        ],
        vec![
            t("充电站 / 充电枪", "Stations / connectors"),
            match (f.stations, f.connectors) {
                (Some(s), Some(c)) => format!("{} / {}", thousands(s.total()), thousands(c.total())),
                _ => "—".into(),
            },
            "—".into(),
            "—".into(),
            t("月末登记在册", "Registered at the month's end"),
        ],
        vec![
            t("规划服务半径（公里）", "Service radius, planning norm (km)"),
            km(f.planning_radius_km),
            "—".into(),
            "3.00".into(),
            t("√(面积 ÷ (π × 公共充电站数))，全市", "√(area ÷ (π × public stations)), whole city"),
        ],
        vec![
            t("平均实际距离（公里）", "Mean distance to a public station (km)"),
            km(f.mean_distance_km),
            "—".into(),
            "—".into(),
            format!(
                "{}{} {}",
                t("按人口加权的到最近公共充电站距离，人口网格", "Population-weighted distance to the nearest public station, population grid"),
                f.grid_m,
                t("米", "m")
            ),
        ],
        vec![
            t("3 公里内人口占比", "People within 3 km"),
            f.share_within_3km.map_or_else(|| "—".into(), pct),
            "—".into(),
            "—".into(),
            t("距最近公共充电站 3 公里内的人口 ÷ 总人口", "People within 3 km of a public station ÷ all people"),
        ],
        vec![
            t("有公共充电站的乡镇", "Townships with a public station"),
            format!("{} / {}（{}）", f.townships_covered, f.townships_total, pct(ratio(f.townships_covered, f.townships_total))),
            "—".into(),
            t("过半", "more than half"),
            t("乡镇（街道）辖区内至少有一座公共充电站", "At least one public station inside the township"),
        ],
        vec![
            t("热点覆盖", "Hot spots covered"),
            format!("{} / {}", f.hotspots_covered, f.hotspots_total),
            "—".into(),
            "—".into(),
            t("1 公里内有公共充电站的热点（交通枢纽、商圈等）", "Hot spots (hubs, shopping areas…) with a public station within 1 km"),
        ],
        vec![
            format!("{}{} {}{}", t("", ""), f.circle_area, km(f.circle_radius_km), t(" 公里充电圈", " km charging circle")),
            pct(f.circle_share),
            "—".into(),
            "100%".into(),
            t("区内到最近公共充电站不超过半径的面积占比", "Share of the area within the radius of a public station"),
        ],
        vec![
            t("充电次数 / 充电量（千瓦时）", "Charges / energy (kWh)"),
            format!("{} / {}", thousands(f.sessions), thousands(f.energy_kwh.round() as i64)),
            "—".into(),
            "—".into(),
            t("本月开始的充电会话（T/CEC 与 OCPP）", "Charging sessions started in the month (T/CEC and OCPP)"),
        ],
        vec![
            t("平均利用率", "Mean utilization"),
            format!("{:.2}%", f.utilization * 100.0 + 0.0),
            "—".into(),
            "—".into(),
            t("充电时长 ÷（充电枪数 × 本月小时数）", "Charging hours ÷ (connectors × the month's hours)"),
        ],
        vec![
            t("在线率 / 本月故障次数", "Online rate / faults in the month"),
            format!("{} / {}", pct(f.online_rate), thousands(f.faults)),
            "—".into(),
            "—".into(),
            t("在线率为生成时在线的充电枪占比；故障为本月与故障状态重叠的次数", "Online: share of connectors online when generated; faults: fault periods overlapping the month"),
        ],
    ];
    if !f.has_data {
        rows.truncate(10);
    }
    b.push(Block::Table(TextTable {
        header: vec![
            t("指标", "Figure"),
            t("本月", "This month"),
            format!("{}（{}）", t("上月", "Last month"), previous),
            t("目标", "Target"),
            t("方法", "Method"),
        ],
        rows,
        widths: vec![2.3, 1.5, 1.3, 1.2, 3.6],
        numeric: vec![false, true, true, true, false],
    }));

    // 2. Counties.
    b.push(Block::Heading(t(
        "二、各县（市、区）充电桩与覆盖",
        "2. Counties: piles and coverage",
    )));
    let mut county_rows: Vec<&CountyFigures> = f.counties.iter().collect();
    county_rows.sort_by(|a, b| {
        b.piles
            .total()
            .cmp(&a.piles.total())
            .then(a.code.cmp(&b.code))
    });
    let name = |c: &CountyFigures| match lang {
        Lang::Zh => c.name_zh.clone(),
        Lang::En => c.name_pinyin.clone(),
    };
    b.push(Block::Table(TextTable {
        header: vec![
            t("县（市、区）", "County"),
            t("公共桩", "Public piles"),
            t("全部桩", "All piles"),
            t("规划半径 km", "Radius km"),
            t("平均距离 km", "Mean dist. km"),
            t("乡镇覆盖", "Townships"),
            t("本月充电次数", "Charges"),
            t("在线率", "Online"),
            t("故障", "Faults"),
        ],
        rows: county_rows
            .iter()
            .map(|c| {
                vec![
                    name(c),
                    thousands(c.piles.public),
                    thousands(c.piles.total()),
                    km(c.planning_radius_km),
                    km(c.mean_distance_km),
                    format!("{} / {}", c.townships_covered, c.townships_total),
                    thousands(c.sessions),
                    pct(c.online_rate),
                    thousands(c.faults),
                ]
            })
            .collect(),
        widths: vec![1.6, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1, 0.9, 0.8],
        numeric: vec![false, true, true, true, true, true, true, true, true],
    }));
    b.push(Block::Note(t(
        "方法：充电桩按所在县（市、区）边界归属；规划半径与平均距离同上表；乡镇覆盖为有公共充电站的乡镇数 / 乡镇总数。",
        "Method: piles are counted in the county whose boundary holds their station; radius and distance as above; townships: with a public station / all.",
    )));
    let bars: Vec<(String, f64)> = county_rows
        .iter()
        .map(|c| (name(c), c.piles.public as f64))
        .collect();
    b.push(Block::Drawing {
        canvas: chart::bars(&bars, [40, 90, 170, 255], 500.0, |v| thousands(v as i64)),
        caption: Some(t(
            "图 1　各县（市、区）公共充电桩数",
            "Figure 1. Public piles by county",
        )),
        max_height: 330.0,
    });

    // 3. Growth and utilization.
    b.push(Block::Heading(t(
        "三、增长与利用",
        "3. Growth and utilization",
    )));
    let growth: Vec<(String, f64)> = f
        .days
        .iter()
        .filter_map(|d| d.piles.map(|p| (d.day[5..].to_owned(), p as f64)))
        .collect();
    if growth.is_empty() {
        b.push(Block::Paragraph(t(
            "本月没有每日登记快照（平台运行时每天记录一次登记规模）。",
            "No daily registry snapshot in the month (the platform records one a day while it runs).",
        )));
    } else {
        b.push(Block::Drawing {
            canvas: chart::line(&growth, [40, 90, 170, 255], (500.0, 170.0), |v| {
                thousands(v as i64)
            }),
            caption: Some(t(
                "图 2　本月每日登记充电桩数（每日登记快照）",
                "Figure 2. Piles registered each day of the month (daily snapshots)",
            )),
            max_height: 190.0,
        });
    }
    // Days before the platform recorded anything (it started within the month) are left out
    // rather than drawn as zero use.
    let first_recorded = f
        .days
        .iter()
        .position(|d| d.sessions > 0 || d.piles.is_some())
        .unwrap_or(0);
    let usage: Vec<(String, f64)> = f.days[first_recorded..]
        .iter()
        .map(|d| (d.day[5..].to_owned(), d.utilization * 100.0))
        .collect();
    let top = usage.iter().map(|(_, v)| *v).fold(0.0, f64::max);
    let decimals = chart::tick_decimals(top, 5);
    if f.sessions > 0 {
        b.push(Block::Drawing {
            canvas: chart::line(&usage, [220, 110, 20, 255], (500.0, 170.0), |v| {
                format!("{v:.decimals$}%")
            }),
            caption: Some(t(
                "图 3　每日利用率：充电时长 ÷（充电枪数 × 24 小时）",
                "Figure 3. Daily utilization: charging hours ÷ (connectors × 24 h)",
            )),
            max_height: 190.0,
        });
    } else {
        b.push(Block::Paragraph(t(
            "本月没有充电记录。",
            "No charge was recorded in the month.",
        )));
    }

    // 4. Operators: faults and data quality.
    b.push(Block::Heading(t(
        "四、运营商：故障、在线率与数据质量",
        "4. Operators: faults, online rate and data quality",
    )));
    b.push(Block::Table(TextTable {
        header: vec![
            t("运营商", "Operator"),
            t("充电枪", "Connectors"),
            t("在线率", "Online"),
            t("本月故障", "Faults"),
            t("故障时长 h", "Fault h"),
            t("平均修复 h", "MTTR h"),
            t("接收 / 拒收消息", "Accepted / refused"),
            t("延迟 p99 s", "Delay p99 s"),
            t("从未上报 / 过期", "Never / stale"),
        ],
        rows: f
            .operators
            .iter()
            .map(|o| {
                vec![
                    o.name.clone(),
                    thousands(o.connectors),
                    pct(o.online_rate),
                    thousands(o.faults),
                    format!("{:.1}", o.fault_hours),
                    o.mttr_hours
                        .map_or_else(|| "—".into(), |h| format!("{h:.1}")),
                    format!(
                        "{} / {}",
                        thousands(i64::try_from(o.accepted).unwrap_or(i64::MAX)),
                        thousands(i64::try_from(o.refused).unwrap_or(i64::MAX))
                    ),
                    o.latency_s_p99
                        .map_or_else(|| "—".into(), |s| s.to_string()),
                    format!("{} / {}", thousands(o.unreported), thousands(o.stale)),
                ]
            })
            .collect(),
        widths: vec![2.2, 1.0, 0.9, 0.9, 0.9, 0.9, 1.5, 0.9, 1.2],
        numeric: vec![false, true, true, true, true, true, true, true, true],
    }));
    b.push(Block::Note(t(
        "方法：在线率为生成时非离线的充电枪占比；故障为本月内与故障状态重叠的时段；消息数为平台开始计数以来累计（T/CEC 推送，拒收按 Ret 码）；延迟为消息 TimeStamp 到接收的秒数；过期为超过推送周期未更新状态的充电枪。",
        "Method: online = connectors not offline when generated; faults = fault periods overlapping the month; messages counted since counting began (T/CEC pushes, refusals by Ret code); delay = seconds from the message's TimeStamp to receipt; stale = connectors not updated within their push interval.",
    )));

    // 5. Coverage gaps.
    b.push(Block::Heading(t(
        "五、覆盖缺口：人口最多的无公共充电站乡镇",
        "5. Coverage gaps: the largest townships without a public station",
    )));
    if f.uncovered_townships.is_empty() {
        b.push(Block::Paragraph(t(
            "每个乡镇都有公共充电站。",
            "Every township has a public station.",
        )));
    } else {
        b.push(Block::Table(TextTable {
            header: vec![
                t("县（市、区）", "County"),
                t("乡镇", "Township"),
                t("人口", "People"),
                t("最近公共充电站 km", "Nearest public station km"),
            ],
            rows: f
                .uncovered_townships
                .iter()
                .map(|u| {
                    vec![
                        u.county_zh.clone(),
                        u.name_zh.clone(),
                        thousands(u.population.round() as i64),
                        format!("{:.1}", u.nearest_km),
                    ]
                })
                .collect(),
            widths: vec![1.5, 2.0, 1.2, 1.8],
            numeric: vec![false, false, true, true],
        }));
        b.push(Block::Note(t(
            "方法：人口为 2020 年人口普查（缺失时按县人口估算）；距离为乡镇驻地到最近公共充电站的大圆距离。",
            "Method: population from the 2020 census (estimated from the county's where missing); distance from the township's seat to the nearest public station, great circle.",
        )));
    }

    // 6. Siting plan.
    b.push(Block::Heading(t("六、选址规划", "6. Siting plan")));
    match &f.plan {
        Some(p) => b.push(Block::Paragraph(match lang {
            Lang::Zh => format!(
                "在 {} 个新站点新增 {} 个充电桩，可使 {} 公里内人口占比由 {} 提高到 {}，有公共充电站的乡镇由 {} 个增至 {} 个（共 {} 个），规划服务半径由 {} 公里缩短到 {} 公里。方法：最大覆盖选址模型（MCLP），与最优解的差距不超过 {:.1}%。",
                p.sites, thousands(i64::from(p.new_piles)), p.radius_km, pct(p.share_before), pct(p.share_after),
                p.townships_before, p.townships_after, p.townships_total, km(p.radius_before_km), km(p.radius_after_km), p.gap_pct
            ),
            Lang::En => format!(
                "{} new piles at {} new sites raise the share of people within {} km from {} to {}, the townships with a public station from {} to {} (of {}), and shorten the planning radius from {} km to {} km. Method: maximal covering location (MCLP), within {:.1}% of the optimum.",
                thousands(i64::from(p.new_piles)), p.sites, p.radius_km, pct(p.share_before), pct(p.share_after),
                p.townships_before, p.townships_after, p.townships_total, km(p.radius_before_km), km(p.radius_after_km), p.gap_pct
            ),
        })),
        None => b.push(Block::Paragraph(t(
            "本报告生成时没有已完成的选址规划。可在监管看板的“选址规划”中或用 `evgrid plan --new-piles 5000` 计算，再重新生成本报告（命令行：`evgrid report monthly --plan-new-piles 5000`）。",
            "No siting plan had been made when this report was generated. Run one on the dashboard's siting panel or with `evgrid plan --new-piles 5000`, then generate the report again (command line: `evgrid report monthly --plan-new-piles 5000`).",
        ))),
    }

    // 7. Targets.
    let targets: Vec<&TargetStatus> = f.targets.iter().filter(|s| s.target.value > 0.0).collect();
    if !targets.is_empty() {
        b.push(Block::Heading(t("七、目标进度", "7. Targets")));
        b.push(Block::Table(TextTable {
            header: vec![
                t("目标", "Target"),
                t("目标值", "Value"),
                t("当前", "Now"),
                t("进度", "Progress"),
                t("期限", "Deadline"),
                t("按趋势预计达成", "Projected"),
            ],
            rows: targets
                .iter()
                .map(|s| {
                    vec![
                        match lang {
                            Lang::Zh => s.target.name_zh.clone(),
                            Lang::En => s.target.name_en.clone(),
                        },
                        format!(
                            "{} {}",
                            thousands(s.target.value.round() as i64),
                            s.target.unit
                        ),
                        s.current
                            .map_or_else(|| "—".into(), |v| thousands(v.round() as i64)),
                        s.progress.map_or_else(|| "—".into(), pct),
                        s.target.deadline.clone(),
                        s.projected_day.clone().unwrap_or_else(|| "—".into()),
                    ]
                })
                .collect(),
            widths: vec![2.6, 1.3, 1.1, 0.9, 1.1, 1.3],
            numeric: vec![false, true, true, true, false, false],
        }));
        b.push(Block::Note(t(
            "方法：进度 =（当前 − 基数）÷（目标值 − 基数）；预计达成日按每日数据的最小二乘趋势外推。",
            "Method: progress = (now − baseline) ÷ (value − baseline); projected day from the least-squares trend of the daily figures.",
        )));
    }

    // Maps.
    if let Some(map) = coverage_map {
        b.push(Block::PageBreak);
        b.push(Block::Heading(t(
            "附图：公共充电覆盖",
            "Map: public charging coverage",
        )));
        b.push(Block::Drawing {
            canvas: map,
            caption: None,
            max_height: 640.0,
        });
    }
    if let Some(map) = plan_map {
        b.push(Block::PageBreak);
        b.push(Block::Heading(t("附图：选址规划", "Map: siting plan")));
        b.push(Block::Drawing {
            canvas: map,
            caption: None,
            max_height: 640.0,
        });
    }
    Report {
        title: format!(
            "{} {}",
            t(
                "赣州市充电基础设施月报",
                "Ganzhou charging infrastructure monthly report"
            ),
            month
        ),
        language: lang.tag().to_owned(),
        footer: format!(
            "{} {} · evgrid",
            t(
                "赣州市充电基础设施月报",
                "Ganzhou charging infrastructure monthly report"
            ),
            month
        ),
        blocks: b,
    }
}

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_and_bound_their_window() {
        let m = Month::parse("2026-11").unwrap();
        assert_eq!(m.previous().to_string(), "2026-10");
        assert_eq!(
            Month::parse("2026-01").unwrap().previous().to_string(),
            "2025-12"
        );
        assert_eq!(format_day(m.first_day()), "2026-11-01");
        assert_eq!(format_day(m.last_day()), "2026-11-30");
        let w = m.window();
        assert_eq!(w.to - w.from, 30 * 86_400);
        // 2026-11-01 00:00 in China is 2026-10-31 16:00 UTC.
        assert_eq!(w.from, 1_793_462_400);
        for bad in [
            "2026-13",
            "2026-1",
            "26-11",
            "2026-00",
            "x",
            "2026-11-01",
            "1999-12",
        ] {
            assert!(Month::parse(bad).is_none(), "{bad}");
        }
        assert_eq!(m.name(Lang::Zh), "2026年11月");
        assert_eq!(m.name(Lang::En), "November 2026");
    }

    #[test]
    fn thousands_are_separated() {
        assert_eq!(thousands(19_000), "19,000");
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(-1_234_567), "-1,234,567");
        assert_eq!(thousands(0), "0");
    }
}
