//! What a simulated charger keeps across its connections — its settings (1.6 configuration
//! keys, 2.0.1 component variables), smart-charging profiles and local authorization list — and
//! its answers to the commands that read or change them.

use std::collections::BTreeMap;
use std::time::Duration;

use evgrid_model::time::format_rfc3339;
use serde_json::{json, Value};

use evgrid_ocpp::frame::Version;

/// Mains voltage used to turn amperes into watts in a composite schedule.
const VOLTS: f64 = 230.0;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Integer,
    Boolean,
    Text,
}

/// One setting: its 2.0.1 component and variable and its 1.6 key (empty where the version has
/// no such setting).
#[derive(Debug, Clone)]
struct Setting {
    component: &'static str,
    variable: &'static str,
    key: &'static str,
    kind: Kind,
    readonly: bool,
    value: String,
}

impl Setting {
    fn accepts(&self, value: &str) -> bool {
        match self.kind {
            Kind::Integer => value.trim().parse::<u32>().is_ok(),
            Kind::Boolean => matches!(value, "true" | "false"),
            Kind::Text => value.len() <= 500,
        }
    }
}

/// A simulated charger's memory.
#[derive(Debug, Clone)]
pub(super) struct Device {
    version: Version,
    settings: Vec<Setting>,
    /// Charging profiles as sent (`csChargingProfiles`), with their connector (0: the charger).
    profiles: Vec<(u32, Value)>,
    list_version: i64,
    /// Local authorization list: id tag → its info as sent.
    local_list: BTreeMap<String, Value>,
}

fn setting(
    component: &'static str,
    variable: &'static str,
    key: &'static str,
    kind: Kind,
    readonly: bool,
    value: impl Into<String>,
) -> Setting {
    Setting {
        component,
        variable,
        key,
        kind,
        readonly,
        value: value.into(),
    }
}

/// A 2.0.1 component or variable reference as the request named it: its `name`.
fn name_of(v: &Value) -> &str {
    v.get("name").and_then(Value::as_str).unwrap_or_default()
}

impl Device {
    /// Factory settings of a charger with `connectors` connectors sending meter values every
    /// `meter_interval`.
    pub(super) fn new(version: Version, connectors: u32, meter_interval: Duration) -> Self {
        use Kind::{Boolean, Integer, Text};
        let settings = vec![
            setting("OCPPCommCtrlr", "HeartbeatInterval", "HeartbeatInterval", Integer, false, "300"),
            setting(
                "SampledDataCtrlr",
                "TxUpdatedInterval",
                "MeterValueSampleInterval",
                Integer,
                false,
                meter_interval.as_secs().max(1).to_string(),
            ),
            setting("TxCtrlr", "EVConnectionTimeOut", "ConnectionTimeOut", Integer, false, "60"),
            setting("AuthCtrlr", "AuthorizeRemoteStart", "AuthorizeRemoteTxRequests", Boolean, false, "false"),
            setting("LocalAuthListCtrlr", "Enabled", "LocalAuthListEnabled", Boolean, false, "true"),
            setting("", "", "NumberOfConnectors", Integer, true, connectors.to_string()),
            setting(
                "",
                "",
                "SupportedFeatureProfiles",
                Text,
                true,
                "Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger",
            ),
            setting("SecurityCtrlr", "SecurityProfile", "", Integer, true, "1"),
            // 2.0.1: at most this many items in a GetVariables or SetVariables (any instance).
            setting("DeviceDataCtrlr", "ItemsPerMessage", "", Integer, true, "4"),
        ];
        Self {
            version,
            settings,
            profiles: Vec::new(),
            list_version: 0,
            local_list: BTreeMap::new(),
        }
    }

    fn of_version(&self) -> impl Iterator<Item = &Setting> {
        let v16 = self.version == Version::V16;
        self.settings.iter().filter(move |s| {
            if v16 {
                !s.key.is_empty()
            } else {
                !s.component.is_empty()
            }
        })
    }

    fn seconds(&self, key: &str, fallback: u64) -> Duration {
        let secs = self
            .settings
            .iter()
            .find(|s| s.key == key)
            .and_then(|s| s.value.parse::<u64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(fallback);
        Duration::from_secs(secs)
    }

    /// Seconds between heartbeats, as configured (HeartbeatInterval).
    pub(super) fn heartbeat_interval(&self) -> Duration {
        self.seconds("HeartbeatInterval", 300)
    }

    /// Seconds between meter values while charging, as configured.
    pub(super) fn meter_interval(&self) -> Duration {
        self.seconds("MeterValueSampleInterval", 10)
    }

    /// 1.6 GetConfiguration: the keys asked for (all when none), unknown ones listed apart.
    pub(super) fn get_configuration(&self, p: &Value) -> Value {
        let asked: Vec<&str> = p
            .get("key")
            .and_then(Value::as_array)
            .map(|keys| keys.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        let entry = |s: &Setting| json!({"key": s.key, "readonly": s.readonly, "value": s.value});
        if asked.is_empty() {
            return json!({"configurationKey": self.of_version().map(entry).collect::<Vec<_>>()});
        }
        let (mut known, mut unknown) = (Vec::new(), Vec::new());
        for key in asked {
            match self.of_version().find(|s| s.key == key) {
                Some(s) => known.push(entry(s)),
                None => unknown.push(json!(key)),
            }
        }
        let mut answer = json!({"configurationKey": known});
        if !unknown.is_empty() {
            answer["unknownKey"] = json!(unknown);
        }
        answer
    }

    /// Sets one setting: `Accepted`, `Rejected` (read-only or a bad value) or `None` when the
    /// setting does not exist.
    fn set(&mut self, find: impl Fn(&Setting) -> bool, value: &str) -> Option<&'static str> {
        let s = self.settings.iter_mut().find(|s| find(s))?;
        Some(if s.readonly || !s.accepts(value) {
            "Rejected"
        } else {
            value.clone_into(&mut s.value);
            "Accepted"
        })
    }

    /// 1.6 ChangeConfiguration.
    pub(super) fn change_configuration(&mut self, p: &Value) -> Value {
        let key = p["key"].as_str().unwrap_or_default();
        let value = p["value"].as_str().unwrap_or_default();
        let status = self
            .set(|s| !s.key.is_empty() && s.key == key, value)
            .unwrap_or("NotSupported");
        json!({ "status": status })
    }

    /// The status of a 2.0.1 variable reference: the setting, or why there is none.
    fn lookup(&self, item: &Value) -> Result<usize, &'static str> {
        if item
            .get("attributeType")
            .and_then(Value::as_str)
            .is_some_and(|t| t != "Actual")
        {
            return Err("NotSupportedAttributeType");
        }
        let component = name_of(&item["component"]);
        let variable = name_of(&item["variable"]);
        if !self.of_version().any(|s| s.component == component) {
            return Err("UnknownComponent");
        }
        self.settings
            .iter()
            .position(|s| s.component == component && s.variable == variable)
            .ok_or("UnknownVariable")
    }

    /// 2.0.1: the most items a GetVariables or SetVariables may carry (`ItemsPerMessage`).
    pub(super) fn items_per_message(&self) -> usize {
        self.settings
            .iter()
            .find(|s| s.component == "DeviceDataCtrlr" && s.variable == "ItemsPerMessage")
            .and_then(|s| s.value.parse().ok())
            .unwrap_or(usize::MAX)
    }

    /// 2.0.1 GetVariables: one result per variable asked for.
    pub(super) fn get_variables(&self, p: &Value) -> Value {
        let results: Vec<Value> = p["getVariableData"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|item| {
                let mut r = json!({"component": item["component"], "variable": item["variable"]});
                match self.lookup(item) {
                    Ok(i) => {
                        r["attributeStatus"] = json!("Accepted");
                        r["attributeValue"] = json!(self.settings[i].value);
                    }
                    Err(status) => r["attributeStatus"] = json!(status),
                }
                r
            })
            .collect();
        json!({ "getVariableResult": results })
    }

    /// 2.0.1 SetVariables: one result per variable set.
    pub(super) fn set_variables(&mut self, p: &Value) -> Value {
        let items: Vec<Value> = p["setVariableData"].as_array().cloned().unwrap_or_default();
        let results: Vec<Value> = items
            .iter()
            .map(|item| {
                let status = match self.lookup(item) {
                    Ok(i) => {
                        let value = item["attributeValue"].as_str().unwrap_or_default();
                        let s = &self.settings[i];
                        let (component, variable) = (s.component, s.variable);
                        self.set(|s| s.component == component && s.variable == variable, value)
                            .unwrap_or("UnknownVariable")
                    }
                    Err(status) => status,
                };
                json!({"attributeStatus": status, "component": item["component"], "variable": item["variable"]})
            })
            .collect();
        json!({ "setVariableResult": results })
    }

    /// 2.0.1 NotifyReport for GetBaseReport `request_id`: every setting in one message.
    pub(super) fn report(&self, request_id: i64) -> Value {
        let data: Vec<Value> = self
            .of_version()
            .map(|s| {
                let data_type = match s.kind {
                    Kind::Integer => "integer",
                    Kind::Boolean => "boolean",
                    Kind::Text => "string",
                };
                json!({
                    "component": {"name": s.component},
                    "variable": {"name": s.variable},
                    "variableAttribute": [{"type": "Actual", "value": s.value,
                        "mutability": if s.readonly { "ReadOnly" } else { "ReadWrite" }}],
                    "variableCharacteristics": {"dataType": data_type, "supportsMonitoring": false}
                })
            })
            .collect();
        json!({"requestId": request_id, "generatedAt": format_rfc3339(evgrid_model::time::unix_now()),
               "seqNo": 0, "tbc": false, "reportData": data})
    }

    /// 1.6 SetChargingProfile on a charger with `connectors` connectors; `charging` says
    /// whether the named connector has a transaction (a TxProfile needs one).
    pub(super) fn set_charging_profile(
        &mut self,
        p: &Value,
        connectors: u32,
        charging: bool,
    ) -> Value {
        let connector = p["connectorId"]
            .as_u64()
            .and_then(|n| u32::try_from(n).ok());
        let profile = &p["csChargingProfiles"];
        let purpose = profile["chargingProfilePurpose"]
            .as_str()
            .unwrap_or_default();
        let ok = match connector {
            Some(n) if n > connectors => false,
            Some(0) => purpose != "TxProfile",
            Some(_) => purpose != "TxProfile" || charging,
            None => false,
        };
        if !ok {
            return json!({"status": "Rejected"});
        }
        let connector = connector.unwrap_or(0);
        let id = &profile["chargingProfileId"];
        let level = &profile["stackLevel"];
        // A profile replaces the one with its id, or with its stack level and purpose.
        self.profiles.retain(|(n, q)| {
            q["chargingProfileId"] != *id
                && !(*n == connector
                    && q["stackLevel"] == *level
                    && q["chargingProfilePurpose"] == profile["chargingProfilePurpose"])
        });
        self.profiles.push((connector, profile.clone()));
        json!({"status": "Accepted"})
    }

    /// 1.6 ClearChargingProfile: every profile matching all the criteria given.
    pub(super) fn clear_charging_profile(&mut self, p: &Value) -> Value {
        let before = self.profiles.len();
        self.profiles.retain(|(n, q)| {
            let matches = p.get("id").is_none_or(|id| q["chargingProfileId"] == *id)
                && p["connectorId"].as_u64().is_none_or(|c| u64::from(*n) == c)
                && p.get("chargingProfilePurpose")
                    .is_none_or(|v| q["chargingProfilePurpose"] == *v)
                && p.get("stackLevel").is_none_or(|v| q["stackLevel"] == *v);
            !matches
        });
        let status = if self.profiles.len() < before {
            "Accepted"
        } else {
            "Unknown"
        };
        json!({ "status": status })
    }

    /// 1.6 GetCompositeSchedule: for the next `duration` seconds, the lowest limit of the
    /// profiles in force on the connector (per purpose the highest stack level; a TxProfile
    /// overrides the TxDefaultProfile; the charger's own ChargePointMaxProfile caps both).
    /// Schedules count from now (their start and recurrence are not simulated).
    pub(super) fn composite_schedule(&self, p: &Value) -> Value {
        let connector = p["connectorId"].as_u64().unwrap_or(0);
        let duration = p["duration"].as_i64().unwrap_or(0).max(0);
        let mut chosen: BTreeMap<&str, &Value> = BTreeMap::new();
        for (n, q) in &self.profiles {
            if u64::from(*n) != connector && *n != 0 {
                continue;
            }
            let purpose = q["chargingProfilePurpose"].as_str().unwrap_or_default();
            let level = q["stackLevel"].as_i64().unwrap_or(0);
            if chosen
                .get(purpose)
                .is_none_or(|c| c["stackLevel"].as_i64().unwrap_or(0) <= level)
            {
                chosen.insert(purpose, q);
            }
        }
        if chosen.contains_key("TxProfile") {
            chosen.remove("TxDefaultProfile");
        }
        let Some(first) = chosen.values().next() else {
            return json!({"status": "Rejected"});
        };
        let unit = p
            .get("chargingRateUnit")
            .and_then(Value::as_str)
            .or_else(|| first["chargingSchedule"]["chargingRateUnit"].as_str())
            .unwrap_or("A")
            .to_owned();
        // Each profile's (start, limit in `unit`) periods.
        let schedules: Vec<Vec<(i64, f64)>> = chosen
            .values()
            .map(|q| {
                let schedule = &q["chargingSchedule"];
                let own = schedule["chargingRateUnit"].as_str().unwrap_or("A");
                schedule["chargingSchedulePeriod"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|period| {
                        let phases = period["numberPhases"].as_f64().unwrap_or(3.0);
                        let limit = period["limit"].as_f64().unwrap_or(0.0);
                        let limit = match (own, unit.as_str()) {
                            ("A", "W") => limit * VOLTS * phases,
                            ("W", "A") => limit / (VOLTS * phases),
                            _ => limit,
                        };
                        (period["startPeriod"].as_i64().unwrap_or(0), limit)
                    })
                    .collect()
            })
            .collect();
        let mut starts: Vec<i64> = schedules
            .iter()
            .flatten()
            .map(|(s, _)| *s)
            .chain([0])
            .filter(|s| *s < duration.max(1))
            .collect();
        starts.sort_unstable();
        starts.dedup();
        let mut periods: Vec<Value> = Vec::new();
        let mut last: Option<f64> = None;
        for start in starts {
            let limit = schedules
                .iter()
                .filter_map(|s| {
                    s.iter()
                        .rev()
                        .find(|(from, _)| *from <= start)
                        .map(|(_, l)| *l)
                })
                .fold(f64::INFINITY, f64::min);
            if !limit.is_finite() {
                continue;
            }
            let limit = (limit * 10.0).round() / 10.0;
            if last != Some(limit) {
                periods.push(json!({"startPeriod": start, "limit": limit}));
                last = Some(limit);
            }
        }
        if periods.is_empty() {
            return json!({"status": "Rejected"});
        }
        let now = format_rfc3339(evgrid_model::time::unix_now());
        json!({"status": "Accepted", "connectorId": connector, "scheduleStart": now,
               "chargingSchedule": {"duration": duration, "startSchedule": now,
                                    "chargingRateUnit": unit, "chargingSchedulePeriod": periods}})
    }

    /// SendLocalList (1.6 `listVersion` and `idTag`, 2.0.1 `versionNumber` and `idToken`): a
    /// full list replaces the list; a differential one, newer than the list, adds the entries
    /// with their info and removes those without.
    pub(super) fn send_local_list(&mut self, p: &Value) -> Value {
        let v16 = self.version == Version::V16;
        let version = p[if v16 { "listVersion" } else { "versionNumber" }]
            .as_i64()
            .unwrap_or(0);
        let full = p["updateType"] == "Full";
        if !full && version <= self.list_version {
            return json!({"status": "VersionMismatch"});
        }
        if full {
            self.local_list.clear();
        }
        for entry in p["localAuthorizationList"].as_array().into_iter().flatten() {
            let (tag, info) = if v16 {
                (entry["idTag"].as_str(), entry.get("idTagInfo"))
            } else {
                (
                    entry["idToken"]["idToken"].as_str(),
                    entry.get("idTokenInfo"),
                )
            };
            let Some(tag) = tag else { continue };
            match info {
                Some(info) => {
                    self.local_list.insert(tag.to_owned(), info.clone());
                }
                None => {
                    self.local_list.remove(tag);
                }
            }
        }
        self.list_version = version;
        json!({"status": "Accepted"})
    }

    /// GetLocalListVersion.
    pub(super) fn local_list_version(&self) -> Value {
        if self.version == Version::V16 {
            json!({ "listVersion": self.list_version })
        } else {
            json!({ "versionNumber": self.list_version })
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use evgrid_ocpp::schema::{validate, Direction};

    fn valid(version: Version, action: &str, direction: Direction, v: &Value) {
        validate(version, action, direction, v).unwrap_or_else(|e| panic!("{action} {v}: {e}"));
    }

    #[test]
    fn configuration_is_read_changed_and_guarded() {
        let mut d = Device::new(Version::V16, 2, Duration::from_secs(10));
        let all = d.get_configuration(&json!({}));
        valid(Version::V16, "GetConfiguration", Direction::Response, &all);
        assert_eq!(all["configurationKey"].as_array().unwrap().len(), 7);
        for (key, value, status) in [
            ("HeartbeatInterval", "60", "Accepted"),
            ("HeartbeatInterval", "soon", "Rejected"),
            ("NumberOfConnectors", "4", "Rejected"),
            ("NoSuchKey", "1", "NotSupported"),
        ] {
            let a = d.change_configuration(&json!({"key": key, "value": value}));
            valid(Version::V16, "ChangeConfiguration", Direction::Response, &a);
            assert_eq!(a["status"], status, "{key}={value}");
        }
        assert_eq!(d.heartbeat_interval(), Duration::from_secs(60));
        let some = d.get_configuration(&json!({"key": ["HeartbeatInterval", "NoSuchKey"]}));
        valid(Version::V16, "GetConfiguration", Direction::Response, &some);
        assert_eq!(some["configurationKey"][0]["value"], "60");
        assert_eq!(some["unknownKey"], json!(["NoSuchKey"]));
    }

    #[test]
    fn variables_are_read_set_and_reported() {
        let mut d = Device::new(Version::V201, 1, Duration::from_secs(10));
        let asked = json!({"getVariableData": [
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "Nope"}},
            {"component": {"name": "Nope"}, "variable": {"name": "HeartbeatInterval"}},
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}, "attributeType": "MaxSet"}]});
        valid(Version::V201, "GetVariables", Direction::Request, &asked);
        let got = d.get_variables(&asked);
        valid(Version::V201, "GetVariables", Direction::Response, &got);
        let statuses: Vec<&str> = got["getVariableResult"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["attributeStatus"].as_str().unwrap())
            .collect();
        assert_eq!(
            statuses,
            [
                "Accepted",
                "UnknownVariable",
                "UnknownComponent",
                "NotSupportedAttributeType"
            ]
        );
        assert_eq!(got["getVariableResult"][0]["attributeValue"], "300");
        let set = json!({"setVariableData": [
            {"attributeValue": "30", "component": {"name": "SampledDataCtrlr"}, "variable": {"name": "TxUpdatedInterval"}},
            {"attributeValue": "2", "component": {"name": "SecurityCtrlr"}, "variable": {"name": "SecurityProfile"}}]});
        valid(Version::V201, "SetVariables", Direction::Request, &set);
        let answer = d.set_variables(&set);
        valid(Version::V201, "SetVariables", Direction::Response, &answer);
        assert_eq!(
            answer["setVariableResult"][0]["attributeStatus"],
            "Accepted"
        );
        assert_eq!(
            answer["setVariableResult"][1]["attributeStatus"],
            "Rejected"
        );
        assert_eq!(d.meter_interval(), Duration::from_secs(30));
        let report = d.report(7);
        valid(Version::V201, "NotifyReport", Direction::Request, &report);
        assert_eq!(report["reportData"].as_array().unwrap().len(), 7);
    }

    #[test]
    fn profiles_make_the_composite_schedule_and_are_cleared() {
        let mut d = Device::new(Version::V16, 2, Duration::from_secs(10));
        let none = d.composite_schedule(&json!({"connectorId": 1, "duration": 3600}));
        valid(
            Version::V16,
            "GetCompositeSchedule",
            Direction::Response,
            &none,
        );
        assert_eq!(none["status"], "Rejected");
        let profile = |id: i64, purpose: &str, periods: Value| {
            json!({"connectorId": if purpose == "ChargePointMaxProfile" { 0 } else { 1 },
                   "csChargingProfiles": {"chargingProfileId": id, "stackLevel": 0,
                     "chargingProfilePurpose": purpose, "chargingProfileKind": "Relative",
                     "chargingSchedule": {"chargingRateUnit": "A", "chargingSchedulePeriod": periods}}})
        };
        let default = profile(
            1,
            "TxDefaultProfile",
            json!([{"startPeriod": 0, "limit": 32.0}, {"startPeriod": 1800, "limit": 10.0}]),
        );
        let cap = profile(
            2,
            "ChargePointMaxProfile",
            json!([{"startPeriod": 0, "limit": 16.0}]),
        );
        for p in [&default, &cap] {
            valid(Version::V16, "SetChargingProfile", Direction::Request, p);
            assert_eq!(d.set_charging_profile(p, 2, false)["status"], "Accepted");
        }
        let tx = profile(3, "TxProfile", json!([{"startPeriod": 0, "limit": 6.0}]));
        assert_eq!(
            d.set_charging_profile(&tx, 2, false)["status"],
            "Rejected",
            "a TxProfile needs a transaction"
        );
        let c = d.composite_schedule(&json!({"connectorId": 1, "duration": 3600}));
        valid(
            Version::V16,
            "GetCompositeSchedule",
            Direction::Response,
            &c,
        );
        assert_eq!(
            c["chargingSchedule"]["chargingSchedulePeriod"],
            json!([{"startPeriod": 0, "limit": 16.0}, {"startPeriod": 1800, "limit": 10.0}])
        );
        let w = d.composite_schedule(
            &json!({"connectorId": 1, "duration": 600, "chargingRateUnit": "W"}),
        );
        assert_eq!(
            w["chargingSchedule"]["chargingSchedulePeriod"],
            json!([{"startPeriod": 0, "limit": 11040.0}])
        );
        let cleared =
            d.clear_charging_profile(&json!({"chargingProfilePurpose": "ChargePointMaxProfile"}));
        valid(
            Version::V16,
            "ClearChargingProfile",
            Direction::Response,
            &cleared,
        );
        assert_eq!(cleared["status"], "Accepted");
        assert_eq!(
            d.clear_charging_profile(&json!({"id": 2}))["status"],
            "Unknown"
        );
        let c = d.composite_schedule(&json!({"connectorId": 1, "duration": 3600}));
        assert_eq!(
            c["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"],
            32.0
        );
    }

    #[test]
    fn the_local_list_keeps_its_version() {
        for version in [Version::V16, Version::V201] {
            let mut d = Device::new(version, 1, Duration::from_secs(10));
            let (v, entry) = match version {
                Version::V16 => (
                    "listVersion",
                    json!({"idTag": "CARD1", "idTagInfo": {"status": "Accepted"}}),
                ),
                Version::V201 => (
                    "versionNumber",
                    json!({"idToken": {"idToken": "CARD1", "type": "ISO14443"}, "idTokenInfo": {"status": "Accepted"}}),
                ),
            };
            let full = json!({v: 3, "updateType": "Full", "localAuthorizationList": [entry]});
            valid(version, "SendLocalList", Direction::Request, &full);
            let a = d.send_local_list(&full);
            valid(version, "SendLocalList", Direction::Response, &a);
            assert_eq!(a["status"], "Accepted");
            assert_eq!(d.local_list.len(), 1);
            let stale = json!({v: 2, "updateType": "Differential"});
            assert_eq!(d.send_local_list(&stale)["status"], "VersionMismatch");
            let answer = d.local_list_version();
            valid(version, "GetLocalListVersion", Direction::Response, &answer);
            assert_eq!(answer[v], 3);
        }
    }
}
