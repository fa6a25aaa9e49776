//! The simulated operator's T/CEC server: the operator-side interfaces under `/evcs/v1/`,
//! behind the same gate as evgrid's own side.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Request, Response, StatusCode};

use crate::http::reply;

use super::{unix_now, Charge, Sim};
use evgrid_tcec::business::{
    check_seq, BusinessPolicy, BusinessPolicyResult, ChargeStatusQuery, ConnectorStats,
    ConnectorStatusInfo, EquipAuth, EquipAuthResult, EquipmentStats, QueryStationStats,
    QueryStationStatus, QueryStationsInfo, StartCharge, StartChargeResult, StationStats,
    StationStatsResult, StationStatusInfo, StationStatusResult, StopCharge, StopChargeResult,
};
use evgrid_tcec::envelope::{Refusal, Ret};
use evgrid_tcec::gate::{bad_data, business, respond, verify, Checked, Verified};
use evgrid_tcec::time::{parse_china_date, parse_china_datetime};

/// The base path the simulated operators serve.
pub const BASE_PATH: &str = "/evcs/v1/";

/// The interfaces an operator platform answers (§1).
pub const OPERATOR_INTERFACES: [&str; 9] = [
    "query_token",
    "query_stations_info",
    "query_station_status",
    "query_station_stats",
    "query_equip_auth",
    "query_equip_business_policy",
    "query_start_charge",
    "query_equip_charge_status",
    "query_stop_charge",
];

/// Largest page of `query_stations_info`.
const MAX_PAGE_SIZE: i32 = 100;

pub(super) async fn serve(sim: Arc<Sim>, listener: tokio::net::TcpListener) {
    let stop = sim.stop.clone();
    crate::http::serve(sim, listener, stop, |sim, req| async move {
        answer(&sim, req).await
    })
    .await;
}

async fn answer(sim: &Arc<Sim>, req: Request<hyper::body::Incoming>) -> Response<Full<Bytes>> {
    if let Some(left) = sim.hanging() {
        // An operator that stops answering: hold the request until the window ends.
        let mut stop = sim.stop.clone();
        tokio::select! {
            _ = tokio::time::sleep(left) => {}
            _ = stop.changed() => {}
        }
    }
    let (interface, bearer, body) = match crate::http::tcec_request(req, BASE_PATH).await {
        Ok(r) => r,
        Err(not_found) => return not_found,
    };
    let mut keys = None;
    let result = match verify(
        sim.as_ref(),
        &OPERATOR_INTERFACES,
        &interface,
        bearer.as_deref(),
        &body,
        &mut keys,
    )
    .await
    {
        Ok(Checked::Answered(a)) => Ok(a),
        Ok(Checked::Verified(v)) => dispatch(sim, *v),
        Err(r) => Err(r),
    };
    sim.counters
        .requests_answered
        .fetch_add(1, Ordering::Relaxed);
    let envelope = respond(sim.as_ref(), &interface, &body, keys, result).await;
    reply(
        StatusCode::OK,
        serde_json::to_vec(&envelope).unwrap_or_default(),
    )
}

fn json<T: serde::Serialize>(v: &T) -> Result<Vec<u8>, Refusal> {
    serde_json::to_vec(v).map_err(|e| Refusal::new(Ret::SystemError, e.to_string()))
}

fn park(status: i32) -> i32 {
    if status == 1 {
        10
    } else {
        50
    }
}

fn dispatch(sim: &Arc<Sim>, v: Verified) -> Result<Vec<u8>, Refusal> {
    match v.push.interface {
        "query_stations_info" => stations_info(sim, &business(&v.data)?),
        "query_station_status" => station_status(sim, &business(&v.data)?),
        "query_station_stats" => station_stats(sim, &business(&v.data)?),
        "query_equip_auth" => equip_auth(sim, business(&v.data)?),
        "query_equip_business_policy" => business_policy(sim, business(&v.data)?),
        "query_start_charge" => start_charge(sim, business(&v.data)?),
        "query_equip_charge_status" => {
            let q: ChargeStatusQuery = business(&v.data)?;
            let st = sim.lock();
            let c = st.charges.get(&q.start_charge_seq).ok_or_else(|| {
                bad_data(format!("unknown StartChargeSeq {}", q.start_charge_seq))
            })?;
            json(&sim.charge_status(&q.start_charge_seq, c, unix_now()))
        }
        "query_stop_charge" => stop_charge(sim, business(&v.data)?),
        other => Err(Refusal::new(
            Ret::BadRequest,
            format!("{other} is not served here"),
        )),
    }
}

fn stations_info(sim: &Sim, q: &QueryStationsInfo) -> Result<Vec<u8>, Refusal> {
    let page_no = q.page_no.unwrap_or(1);
    let page_size = q.page_size.unwrap_or(10);
    if page_no < 1 {
        return Err(bad_data(format!("PageNo {page_no} must be 1 or more")));
    }
    if !(1..=MAX_PAGE_SIZE).contains(&page_size) {
        return Err(bad_data(format!(
            "PageSize {page_size} must be 1 to {MAX_PAGE_SIZE}"
        )));
    }
    let since = match q.last_query_time.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => Some(parse_china_datetime(t).ok_or_else(|| {
            bad_data(format!(
                "LastQueryTime {t:?} is not a time yyyy-MM-dd HH:mm:ss"
            ))
        })?),
        None => None,
    };
    // Every station was last changed when the simulator started.
    let changed: Vec<&evgrid_tcec::wire::StationInfo> =
        if since.is_some_and(|t| t >= sim.started_unix) {
            Vec::new()
        } else {
            sim.op.stations.iter().collect()
        };
    let size = usize::try_from(page_size).unwrap_or(10);
    let page_count = changed.len().div_ceil(size).max(1);
    let first = usize::try_from(page_no - 1)
        .unwrap_or(0)
        .saturating_mul(size);
    let items: Vec<_> = changed.iter().skip(first).take(size).collect();
    json(&serde_json::json!({
        "PageNo": page_no,
        "PageCount": page_count,
        "ItemSize": changed.len(),
        "StationInfos": items,
    }))
}

fn station_status(sim: &Sim, q: &QueryStationStatus) -> Result<Vec<u8>, Refusal> {
    if q.station_ids.is_empty() || q.station_ids.len() > 50 {
        return Err(bad_data(format!(
            "StationIDs has {} entries; 1 to 50 are allowed",
            q.station_ids.len()
        )));
    }
    let st = sim.lock();
    let infos: Vec<StationStatusInfo> = q
        .station_ids
        .iter()
        .filter_map(|id| sim.station_index.get(id).map(|i| (id, *i)))
        .map(|(id, i)| StationStatusInfo {
            station_id: id.clone(),
            connector_status_infos: sim.op.stations[i]
                .equipment_infos
                .iter()
                .flat_map(|e| &e.connector_infos)
                .map(|c| {
                    let status = st.statuses.get(&c.connector_id).copied().unwrap_or(0);
                    ConnectorStatusInfo {
                        connector_id: c.connector_id.clone(),
                        status,
                        park_status: Some(park(status)),
                        lock_status: Some(0),
                    }
                })
                .collect(),
        })
        .collect();
    json(&StationStatusResult {
        total: i32::try_from(infos.len()).unwrap_or(0),
        station_status_infos: infos,
    })
}

/// Energy a connector delivered on a day, in 100 Wh steps: reproducible from its id and date.
fn daily_energy(connector_id: &str, day: i64) -> i64 {
    let h = connector_id
        .bytes()
        .fold(day.unsigned_abs().wrapping_mul(0x9E37_79B9), |h, b| {
            h.wrapping_mul(1_099_511_628_211).wrapping_add(u64::from(b))
        });
    i64::try_from(h % 1500).unwrap_or(0) * 100
}

fn station_stats(sim: &Sim, q: &QueryStationStats) -> Result<Vec<u8>, Refusal> {
    let station = sim
        .station_index
        .get(&q.station_id)
        .map(|i| &sim.op.stations[*i])
        .ok_or_else(|| bad_data(format!("unknown StationID {}", q.station_id)))?;
    let start = parse_china_date(&q.start_time).ok_or_else(|| {
        bad_data(format!(
            "StartTime {:?} is not a date yyyy-MM-dd",
            q.start_time
        ))
    })?;
    let end = parse_china_date(&q.end_time)
        .ok_or_else(|| bad_data(format!("EndTime {:?} is not a date yyyy-MM-dd", q.end_time)))?;
    if end < start || (end - start) / 86_400 > 366 {
        return Err(bad_data(
            "EndTime must be on or after StartTime, within a year",
        ));
    }
    let days: Vec<i64> = (0..=(end - start) / 86_400)
        .map(|d| start / 86_400 + d)
        .collect();
    let kwh = |wh: i64| wh as f64 / 1000.0;
    let mut station_wh = 0;
    let equipment: Vec<EquipmentStats> = station
        .equipment_infos
        .iter()
        .map(|e| {
            let connectors: Vec<(String, i64)> = e
                .connector_infos
                .iter()
                .map(|c| {
                    let wh = days.iter().map(|d| daily_energy(&c.connector_id, *d)).sum();
                    (c.connector_id.clone(), wh)
                })
                .collect();
            let equipment_wh: i64 = connectors.iter().map(|c| c.1).sum();
            station_wh += equipment_wh;
            EquipmentStats {
                equipment_id: e.equipment_id.clone(),
                equipment_electricity: kwh(equipment_wh),
                connector_stats_infos: connectors
                    .into_iter()
                    .map(|(id, wh)| ConnectorStats {
                        connector_id: id,
                        connector_electricity: kwh(wh),
                    })
                    .collect(),
            }
        })
        .collect();
    json(&StationStatsResult {
        station_stats: StationStats {
            station_id: q.station_id.clone(),
            start_time: q.start_time.clone(),
            end_time: q.end_time.clone(),
            station_electricity: kwh(station_wh),
            equipment_stats_infos: equipment,
        },
    })
}

fn equip_auth(sim: &Sim, q: EquipAuth) -> Result<Vec<u8>, Refusal> {
    check_seq("EquipAuthSeq", &q.equip_auth_seq).map_err(bad_data)?;
    let status = sim
        .status_of(&q.connector_id)
        .ok_or_else(|| bad_data(format!("unknown ConnectorID {}", q.connector_id)))?;
    // Idle or plugged in: ready (the driver plugs in before starting).
    let ready = matches!(status, 1 | 2);
    json(&EquipAuthResult {
        equip_auth_seq: q.equip_auth_seq,
        connector_id: q.connector_id,
        succ_stat: i32::from(!ready),
        fail_reason: if ready { 0 } else { 2 },
    })
}

fn business_policy(sim: &Sim, q: BusinessPolicy) -> Result<Vec<u8>, Refusal> {
    check_seq("EquipBizSeq", &q.equip_biz_seq).map_err(bad_data)?;
    let policies = sim
        .connectors
        .get(&q.connector_id)
        .map(|(i, _, _)| sim.op.stations[*i].policy_infos.clone().unwrap_or_default());
    let (succ, fail, policies) = match policies {
        Some(p) => (0, 0, p),
        None => (1, 1, Vec::new()),
    };
    json(&BusinessPolicyResult {
        equip_biz_seq: q.equip_biz_seq,
        connector_id: q.connector_id,
        succ_stat: succ,
        fail_reason: fail,
        sum_period: i32::try_from(policies.len()).unwrap_or(0),
        policy_infos: policies,
    })
}

fn start_charge(sim: &Arc<Sim>, q: StartCharge) -> Result<Vec<u8>, Refusal> {
    check_seq("StartChargeSeq", &q.start_charge_seq).map_err(bad_data)?;
    if !q.start_charge_seq.starts_with(&sim.op.platform_operator_id) {
        return Err(bad_data(
            "StartChargeSeq must begin with the caller's OperatorID",
        ));
    }
    let (fail, stat) = {
        let mut st = sim.lock();
        if let Some(existing) = st.charges.get(&q.start_charge_seq) {
            // The same order again: answer as before, never start twice.
            (0, existing.state)
        } else if st
            .charges
            .values()
            .any(|c| c.connector_id == q.connector_id && c.state < 4)
        {
            // Another order is charging on this connector.
            (3, 5)
        } else {
            match (
                sim.connectors.get(&q.connector_id),
                st.statuses.get(&q.connector_id).copied(),
            ) {
                (None, _) | (_, None) => (1, 5),
                (Some(_), Some(0)) => (2, 5),
                (Some(_), Some(s)) if !matches!(s, 1 | 2) => (3, 5),
                (Some(&(station, power, dc)), Some(_)) => {
                    let soc = dc.then(|| 20.0 + st.rng.below(20) as f64);
                    st.charges.insert(
                        q.start_charge_seq.clone(),
                        Charge {
                            connector_id: q.connector_id.clone(),
                            station,
                            state: 1,
                            started_at: unix_now(),
                            ended_at: None,
                            energy: evgrid_model::WattHours(0),
                            exact_wh: 0.0,
                            soc,
                            power_kw: if dc { power.min(120.0) } else { power.min(7.0) },
                            stop_requested: false,
                            stop_reason: 0,
                        },
                    );
                    st.statuses.insert(q.connector_id.clone(), 2);
                    sim.counters.charges_started.fetch_add(1, Ordering::Relaxed);
                    tokio::spawn(sim.clone().run_charge(q.start_charge_seq.clone()));
                    (0, 1)
                }
            }
        }
    };
    json(&StartChargeResult {
        start_charge_seq: q.start_charge_seq,
        start_charge_seq_stat: stat,
        connector_id: q.connector_id,
        succ_stat: i32::from(fail != 0),
        fail_reason: fail,
    })
}

fn stop_charge(sim: &Sim, q: StopCharge) -> Result<Vec<u8>, Refusal> {
    check_seq("StartChargeSeq", &q.start_charge_seq).map_err(bad_data)?;
    let mut st = sim.lock();
    let (succ, fail, stat) = match st.charges.get_mut(&q.start_charge_seq) {
        None => (1, 1, 5),
        Some(c) if c.connector_id != q.connector_id => (1, 1, c.state),
        Some(c) if c.state == 4 || c.stop_requested => (1, 3, c.state),
        Some(c) => {
            c.stop_requested = true;
            c.stop_reason = 1;
            (0, 0, 3)
        }
    };
    json(&StopChargeResult {
        start_charge_seq: q.start_charge_seq,
        start_charge_seq_stat: stat,
        succ_stat: succ,
        fail_reason: fail,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn daily_energy_is_reproducible_and_bounded() {
        assert_eq!(daily_energy("C1", 19_000), daily_energy("C1", 19_000));
        assert!((0..150_000).contains(&daily_energy("C1", 19_001)));
    }
}
