//! `/metrics` in Prometheus' text format: HTTP requests by route and status with their
//! durations, OCPP connections and messages by action, T/CEC messages by operator, interface
//! and `Ret`, the operators' message delay, group commits (groups and jobs: their ratio is the
//! group size) and the database's connections. Counters live in memory since the process
//! started (per node: Prometheus adds the nodes up).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// OCPP actions counted by name (1.6 and 2.0.1 have about 100); the rest count as "other".
const MAX_ACTIONS: usize = 128;

/// Upper bounds of the request duration histogram, seconds.
const BUCKETS: [f64; 11] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// One route's requests: counts by status, and the duration histogram.
#[derive(Debug, Default)]
struct RouteStats {
    by_status: BTreeMap<u16, u64>,
    /// Requests at or under each bound of [`BUCKETS`], then all.
    buckets: [u64; BUCKETS.len() + 1],
    seconds: f64,
}

/// The counters the server keeps.
#[derive(Debug, Default)]
pub struct Metrics {
    /// (method, route template) → stats.
    http: Mutex<BTreeMap<(String, String), RouteStats>>,
    /// OCPP CALLs received, by action.
    ocpp_calls: Mutex<BTreeMap<String, u64>>,
    ocpp_frames: AtomicU64,
}

impl Metrics {
    fn record_request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let mut http = self
            .http
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let stats = http
            .entry((method.to_owned(), route.to_owned()))
            .or_default();
        *stats.by_status.entry(status).or_default() += 1;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                stats.buckets[i] += 1;
            }
        }
        stats.buckets[BUCKETS.len()] += 1;
        stats.seconds += seconds;
    }

    /// Counts one OCPP frame from a charger (the action when it is a CALL).
    pub fn record_ocpp_frame(&self, text: &str) {
        self.ocpp_frames.fetch_add(1, Ordering::Relaxed);
        if let Some(action) = call_action(text) {
            let mut calls = self
                .ocpp_calls
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            // Action names as OCPP spells them, and at most MAX_ACTIONS of them: a charger
            // sending made-up actions cannot grow the map (they count as "other").
            let known = action.len() <= 64
                && action.bytes().all(|b| b.is_ascii_alphanumeric())
                && (calls.contains_key(action) || calls.len() < MAX_ACTIONS);
            let key = if known { action } else { "other" };
            *calls.entry(key.to_owned()).or_default() += 1;
        }
    }
}

/// The action of an OCPP-J CALL (`[2, "id", "Action", {...}]`), read without parsing the rest.
fn call_action(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix('[')?.trim_start();
    let rest = rest
        .strip_prefix('2')?
        .trim_start()
        .strip_prefix(',')?
        .trim_start();
    let rest = rest.strip_prefix('"')?;
    let rest = &rest[rest.find('"')? + 1..];
    let rest = rest
        .trim_start()
        .strip_prefix(',')?
        .trim_start()
        .strip_prefix('"')?;
    Some(&rest[..rest.find('"')?])
}

/// Middleware: times every request to a route and counts it by route template and status.
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    // Standard methods by name; any other (a client may send anything) as "other".
    let method = match request.method().as_str() {
        m @ ("GET" | "POST" | "PUT" | "PATCH" | "DELETE" | "HEAD" | "OPTIONS") => m.to_owned(),
        _ => "other".to_owned(),
    };
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.record_request(
        &method,
        &route,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

fn escape(label: &str) -> String {
    label
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The metrics in Prometheus' text exposition format (public: counts only, no personal data).
#[utoipa::path(get, path = "/metrics", tag = "system",
    responses((status = 200, description = "Prometheus text format 0.0.4", content_type = "text/plain")))]
pub async fn metrics(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    let m = &state.metrics;
    {
        let http = m
            .http
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        out.push_str("# HELP evgrid_http_requests_total HTTP requests by method, route and status.\n# TYPE evgrid_http_requests_total counter\n");
        for ((method, route), s) in http.iter() {
            for (status, n) in &s.by_status {
                let _ = writeln!(
                    out,
                    "evgrid_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
        }
        out.push_str("# HELP evgrid_http_request_duration_seconds HTTP request durations by method and route.\n# TYPE evgrid_http_request_duration_seconds histogram\n");
        for ((method, route), s) in http.iter() {
            let labels = format!("method=\"{method}\",route=\"{}\"", escape(route));
            for (i, bound) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "evgrid_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {}",
                    s.buckets[i]
                );
            }
            let all = s.buckets[BUCKETS.len()];
            let _ = writeln!(
                out,
                "evgrid_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {all}"
            );
            let _ = writeln!(
                out,
                "evgrid_http_request_duration_seconds_sum{{{labels}}} {}",
                s.seconds
            );
            let _ = writeln!(
                out,
                "evgrid_http_request_duration_seconds_count{{{labels}}} {all}"
            );
        }
    }
    let _ = writeln!(
        out,
        "# HELP evgrid_ocpp_connections OCPP chargers connected to this node.\n# TYPE evgrid_ocpp_connections gauge\nevgrid_ocpp_connections {}",
        state.ocpp.hub.connected()
    );
    let _ = writeln!(
        out,
        "# HELP evgrid_ocpp_frames_total OCPP frames received from chargers.\n# TYPE evgrid_ocpp_frames_total counter\nevgrid_ocpp_frames_total {}",
        m.ocpp_frames.load(Ordering::Relaxed)
    );
    out.push_str("# HELP evgrid_ocpp_calls_total OCPP CALLs received from chargers, by action.\n# TYPE evgrid_ocpp_calls_total counter\n");
    for (action, n) in m
        .ocpp_calls
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .iter()
    {
        let _ = writeln!(out, "evgrid_ocpp_calls_total{{action=\"{action}\"}} {n}");
    }
    out.push_str("# HELP evgrid_tcec_messages_total T/CEC requests from operators since counting began: accepted by interface (ret 0), refused by Ret.\n# TYPE evgrid_tcec_messages_total counter\n");
    for (operator, interface, ret, n) in state.app.live().message_totals() {
        let _ = writeln!(
            out,
            "evgrid_tcec_messages_total{{operator=\"{}\",interface=\"{}\",ret=\"{ret}\"}} {n}",
            escape(&operator),
            escape(&interface)
        );
    }
    out.push_str("# HELP evgrid_group_commit_groups_total Group commits by kind.\n# TYPE evgrid_group_commit_groups_total counter\n");
    let commits = state.app.group_commits();
    for (kind, groups, _) in &commits {
        let _ = writeln!(
            out,
            "evgrid_group_commit_groups_total{{kind=\"{kind}\"}} {groups}"
        );
    }
    out.push_str("# HELP evgrid_group_commit_jobs_total Jobs committed in groups by kind (jobs / groups = the mean group size).\n# TYPE evgrid_group_commit_jobs_total counter\n");
    for (kind, _, jobs) in &commits {
        let _ = writeln!(
            out,
            "evgrid_group_commit_jobs_total{{kind=\"{kind}\"}} {jobs}"
        );
    }
    let (open, idle) = state.app.database_connections();
    let _ = writeln!(
        out,
        "# HELP evgrid_db_connections Database connections of this node's read pool.\n# TYPE evgrid_db_connections gauge\nevgrid_db_connections{{state=\"open\"}} {open}\nevgrid_db_connections{{state=\"idle\"}} {idle}"
    );
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_action_of_a_call_is_read_from_its_head() {
        assert_eq!(
            call_action(r#"[2,"19","BootNotification",{"a":1}]"#),
            Some("BootNotification")
        );
        assert_eq!(call_action(r#" [ 2 , "x\"" , "Heartbeat", {}]"#), None);
        assert_eq!(
            call_action(r#"[2, "abc", "Heartbeat", {}]"#),
            Some("Heartbeat")
        );
        assert_eq!(call_action(r#"[3,"19",{}]"#), None);
        assert_eq!(call_action("not json"), None);
    }

    #[test]
    fn made_up_actions_do_not_grow_the_counts() {
        let m = Metrics::default();
        for i in 0..1000 {
            m.record_ocpp_frame(&format!(r#"[2,"{i}","Made{i}",{{}}]"#));
        }
        m.record_ocpp_frame(r#"[2,"x","Heart beat",{}]"#);
        let calls = m.ocpp_calls.lock().unwrap();
        assert!(calls.len() <= MAX_ACTIONS + 1);
        assert_eq!(calls.values().sum::<u64>(), 1001);
        assert_eq!(calls["other"], 1001 - MAX_ACTIONS as u64);
    }

    #[test]
    fn requests_fall_into_their_buckets() {
        let m = Metrics::default();
        m.record_request("GET", "/healthz", 200, 0.003);
        m.record_request("GET", "/healthz", 200, 0.3);
        m.record_request("GET", "/healthz", 404, 20.0);
        let http = m.http.lock().unwrap();
        let s = &http[&("GET".to_owned(), "/healthz".to_owned())];
        assert_eq!(s.by_status[&200], 2);
        assert_eq!(s.buckets[0], 1, "0.005 s");
        assert_eq!(s.buckets[6], 2, "0.5 s");
        assert_eq!(s.buckets[BUCKETS.len() - 1], 2, "10 s");
        assert_eq!(s.buckets[BUCKETS.len()], 3, "all");
    }
}
