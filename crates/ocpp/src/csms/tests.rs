//! A charger's messages against an in-memory backend: what is stored, what is answered.

use std::sync::Mutex;

use super::*;

/// A stored session update: connector, update, meter start.
type Stored = (Option<u32>, SessionUpdate, Option<WattHours>);

#[derive(Default)]
struct Memory {
    boots: Mutex<Vec<BootInfo>>,
    statuses: Mutex<Vec<StatusReport>>,
    sessions: Mutex<Vec<Stored>>,
    /// (session reference, id tag) of each authorized transaction.
    tags: Mutex<Vec<(String, String)>>,
    /// (kind, detail) of each notice.
    notices: Mutex<Vec<(String, String)>>,
    /// (reservation id, how) of each reservation the charger ended.
    ended_reservations: Mutex<Vec<(i64, String)>>,
}

impl Backend for Memory {
    async fn boot(&self, charger: &str, info: &BootInfo) -> Result<Registration, StorageError> {
        self.boots.lock().unwrap().push(info.clone());
        Ok(match charger {
            "PENDING" => Registration::Pending,
            "REJECTED" => Registration::Rejected,
            _ => Registration::Accepted,
        })
    }
    async fn status(&self, _charger: &str, report: &StatusReport) -> Result<(), StorageError> {
        if report.connector > 2 {
            return Err(StorageError::Invalid(format!(
                "no connector {}",
                report.connector
            )));
        }
        self.statuses.lock().unwrap().push(report.clone());
        Ok(())
    }
    async fn new_transaction_id(&self, _charger: &str) -> Result<i64, StorageError> {
        Ok(41 + self.sessions.lock().unwrap().len() as i64)
    }
    async fn session(
        &self,
        _charger: &str,
        connector: Option<u32>,
        register: Option<WattHours>,
        mut update: SessionUpdate,
    ) -> Result<Option<evgrid_model::Fen>, StorageError> {
        let meter_start = update.meter_start.or_else(|| {
            self.sessions
                .lock()
                .unwrap()
                .iter()
                .find(|(_, u, m)| u.session_ref == update.session_ref && m.is_some())
                .and_then(|(_, _, m)| *m)
        });
        if let Some(energy) = energy_since(register, meter_start) {
            update.energy = Some(energy);
        }
        self.sessions
            .lock()
            .unwrap()
            .push((connector, update.clone(), meter_start));
        Ok(update.energy.map(|e| evgrid_model::Fen(e.0 / 10)))
    }
    async fn notice(&self, _charger: &str, kind: &str, detail: &str) -> Result<(), StorageError> {
        self.notices
            .lock()
            .unwrap()
            .push((kind.to_owned(), detail.to_owned()));
        Ok(())
    }
    async fn transaction_started_by(
        &self,
        _charger: &str,
        session_ref: &str,
        by: StartedBy<'_>,
    ) -> Result<(), StorageError> {
        let by = match by {
            StartedBy::IdTag(tag) => tag.to_owned(),
            StartedBy::RemoteStart(id) => format!("remote start {id}"),
        };
        self.tags.lock().unwrap().push((session_ref.to_owned(), by));
        Ok(())
    }
    async fn authorize(&self, _charger: &str, token: &str) -> Result<Authorization, StorageError> {
        Ok(match token {
            "TAG1" | "EVG0123" => Authorization {
                verdict: Verdict::Accepted,
                group_id: Some("FLEET-1".into()),
                expires_at: Some(1_704_441_600),
            },
            "LOST" => Authorization::plain(Verdict::Blocked),
            "ELSEWHERE" => Authorization::plain(Verdict::NotAtThisLocation),
            _ => Authorization::unknown(),
        })
    }
    async fn reservation_ended(
        &self,
        _charger: &str,
        reservation_id: i64,
        how: &str,
    ) -> Result<(), StorageError> {
        self.ended_reservations
            .lock()
            .unwrap()
            .push((reservation_id, how.to_owned()));
        Ok(())
    }

    /// Signs what says `CN=<charger>`, as a chain that names it.
    async fn sign_certificate(
        &self,
        charger: &str,
        csr: &str,
    ) -> Result<Result<String, String>, StorageError> {
        Ok(if csr.contains(&format!("CN={charger}")) {
            Ok(format!(
                "-----BEGIN CERTIFICATE-----\nfor {charger}\n-----END CERTIFICATE-----\n"
            ))
        } else {
            Err("the request's common name is not the charger's id".into())
        })
    }
}

async fn answer(c: &mut Connection, m: &Memory, text: &str) -> Value {
    match c.on_text(m, text).await {
        Outcome::Reply(r) => serde_json::from_str(&r).unwrap(),
        other => panic!("no reply: {other:?}"),
    }
}

#[tokio::test]
async fn a_16_charge_is_stored_from_start_to_stop() {
    let m = Memory::default();
    let mut c = Connection::new("CP1", Version::V16);
    let boot = answer(
        &mut c,
        &m,
        r#"[2,"1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]"#,
    )
    .await;
    assert_eq!(
        (boot[0].as_i64(), boot[2]["status"].as_str()),
        (Some(3), Some("Accepted"))
    );
    assert_eq!(m.boots.lock().unwrap()[0].vendor, "V");
    answer(&mut c, &m, r#"[2,"2","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Preparing"}]"#).await;
    assert_eq!(
        m.statuses.lock().unwrap()[0].status,
        ConnectorStatus::Occupied
    );
    let start = answer(&mut c, &m, r#"[2,"3","StartTransaction",{"connectorId":1,"idTag":"TAG1","meterStart":1000,"timestamp":"2024-01-05T08:00:00Z"}]"#).await;
    let tx = start[2]["transactionId"].as_i64().unwrap();
    answer(&mut c, &m, &format!(r#"[2,"4","MeterValues",{{"connectorId":1,"transactionId":{tx},"meterValue":[{{"timestamp":"2024-01-05T08:10:00Z","sampledValue":[{{"value":"6.5","unit":"kWh"}},{{"value":"55","measurand":"SoC","unit":"Percent"}}]}}]}}]"#)).await;
    let stop = answer(&mut c, &m, &format!(r#"[2,"5","StopTransaction",{{"transactionId":{tx},"meterStop":9000,"timestamp":"2024-01-05T08:30:00Z","reason":"Remote"}}]"#)).await;
    assert_eq!(stop[0], 3);
    let sessions = m.sessions.lock().unwrap();
    assert_eq!(sessions[0].2, Some(WattHours(1000)));
    assert_eq!(sessions[1].1.energy, Some(WattHours(5500)));
    assert_eq!(sessions[1].1.soc, Some(55.0));
    assert_eq!(sessions[2].1.energy, Some(WattHours(8000)));
    assert_eq!(sessions[2].1.state, Some(SessionState::Finished));
    assert_eq!(sessions[2].1.stop_reason, Some(1));
    assert_eq!(sessions[2].1.session_ref, format!("CP1:{tx}"));
    assert_eq!(
        *m.tags.lock().unwrap(),
        vec![(format!("CP1:{tx}"), "TAG1".to_owned())]
    );
}

#[tokio::test]
async fn a_201_transaction_event_series_is_stored() {
    let m = Memory::default();
    let mut c = Connection::new("CS2", Version::V201);
    let started = r#"[2,"a","TransactionEvent",{"eventType":"Started","timestamp":"2024-01-05T08:00:00Z","triggerReason":"Authorized","seqNo":0,
        "transactionInfo":{"transactionId":"T-9","chargingState":"Charging","remoteStartId":7},"evse":{"id":1,"connectorId":1},
        "idToken":{"idToken":"EVG0123","type":"Central"},
        "meterValue":[{"timestamp":"2024-01-05T08:00:00Z","sampledValue":[{"value":2000}]}]}]"#;
    let first = answer(&mut c, &m, started).await;
    assert_eq!(first[0], 3);
    // E01.FR.12: an event with an id token is answered with the token's status; no cost yet.
    assert_eq!(first[2]["idTokenInfo"]["status"], "Accepted", "{first}");
    assert!(first[2].get("totalCost").is_none(), "{first}");
    let ended = r#"[2,"b","TransactionEvent",{"eventType":"Ended","timestamp":"2024-01-05T09:00:00Z","triggerReason":"RemoteStop","seqNo":1,
        "transactionInfo":{"transactionId":"T-9","stoppedReason":"Remote"},
        "meterValue":[{"timestamp":"2024-01-05T09:00:00Z","sampledValue":[{"value":12.5,"unitOfMeasure":{"unit":"kWh"}}]}]}]"#;
    let last = answer(&mut c, &m, ended).await;
    assert_eq!(last[0], 3);
    // I02: the end tells the charger the total cost (the test backend's: 10,500 Wh → 1,050
    // fen), in yuan; no id token in the event, no idTokenInfo.
    assert_eq!(last[2]["totalCost"], 10.5, "{last}");
    assert!(last[2].get("idTokenInfo").is_none(), "{last}");
    {
        let sessions = m.sessions.lock().unwrap();
        assert_eq!(
            (sessions[0].0, sessions[0].2),
            (Some(1), Some(WattHours(2000)))
        );
        assert_eq!(sessions[1].1.energy, Some(WattHours(10_500)));
        assert_eq!(sessions[1].1.state, Some(SessionState::Finished));
    }
    // Started by a remote start whose event names no id token: the remoteStartId tells.
    let remote = r#"[2,"c","TransactionEvent",{"eventType":"Started","timestamp":"2024-01-05T10:00:00Z","triggerReason":"RemoteStart","seqNo":0,
        "transactionInfo":{"transactionId":"T-10","chargingState":"Charging","remoteStartId":42},"evse":{"id":1,"connectorId":1}}]"#;
    assert_eq!(answer(&mut c, &m, remote).await[0], 3);
    assert_eq!(
        *m.tags.lock().unwrap(),
        vec![
            ("CS2:T-9".to_owned(), "EVG0123".to_owned()),
            ("CS2:T-10".to_owned(), "remote start 42".to_owned())
        ]
    );
}

#[tokio::test]
async fn bad_frames_are_answered_and_nothing_is_stored() {
    let m = Memory::default();
    for (version, text, code) in [
        (
            Version::V16,
            "[2, \"1\", \"Heartbeat\"",
            "FormationViolation",
        ),
        (Version::V201, "{not json", "FormatViolation"),
        (Version::V16, r#"[2,"2","Dance",{}]"#, "NotImplemented"),
        (
            Version::V16,
            r#"[2,"3","StatusNotification",{"connectorId":"one","errorCode":"NoError","status":"Available"}]"#,
            "TypeConstraintViolation",
        ),
        (
            Version::V16,
            r#"[2,"4","StatusNotification",{"connectorId":1,"status":"Available"}]"#,
            "OccurenceConstraintViolation",
        ),
        (
            Version::V201,
            r#"[2,"4b","BootNotification",{"reason":"PowerUp"}]"#,
            "OccurrenceConstraintViolation",
        ),
        (
            Version::V16,
            r#"[2,"5","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Dancing"}]"#,
            "PropertyConstraintViolation",
        ),
        (
            Version::V16,
            r#"[2,"6","StatusNotification",{"connectorId":9,"errorCode":"NoError","status":"Available"}]"#,
            "PropertyConstraintViolation",
        ),
        (
            Version::V201,
            r#"[5,"7","Heartbeat",{}]"#,
            "MessageTypeNotSupported",
        ),
        (Version::V16, r#"[2,"8"]"#, "ProtocolError"),
        (
            Version::V16,
            r#"[2,"9","GetConfiguration",{}]"#,
            "NotSupported",
        ),
    ] {
        let mut c = Connection::new("CP1", version);
        let reply = answer(&mut c, &m, text).await;
        assert_eq!(reply[0], 4, "{text}");
        assert_eq!(reply[2], code, "{text}: {reply}");
    }
    let mut c = Connection::new("CP1", Version::V16);
    let big = format!(
        r#"[2,"10","DataTransfer",{{"vendorId":"x","data":"{}"}}]"#,
        "x".repeat(MAX_FRAME_BYTES)
    );
    let reply = answer(&mut c, &m, &big).await;
    assert_eq!(
        (reply[1].as_str(), reply[2].as_str()),
        (Some("10"), Some("FormationViolation"))
    );
    assert!(m.statuses.lock().unwrap().is_empty());
    assert!(m.sessions.lock().unwrap().is_empty());
}

#[tokio::test]
async fn answers_to_commands_are_matched_and_checked() {
    let m = Memory::default();
    let mut c = Connection::new("CP1", Version::V16);
    let (id, text) = c
        .call(
            "RemoteStartTransaction",
            json!({"idTag": "T", "connectorId": 1}),
        )
        .unwrap();
    assert!(text.contains("RemoteStartTransaction"));
    assert!(c.busy());
    let out = c
        .on_text(&m, &format!(r#"[3,"{id}",{{"status":"Accepted"}}]"#))
        .await;
    assert_eq!(
        out,
        Outcome::Answer {
            id: id.clone(),
            result: Ok(json!({"status": "Accepted"}))
        }
    );
    assert!(!c.busy());
    assert!(
        c.call("RemoteStartTransaction", json!({"connectorId": 1}))
            .is_err(),
        "idTag is required"
    );
    let (id, _) = c.call("Reset", json!({"type": "Soft"})).unwrap();
    let out = c
        .on_text(&m, &format!(r#"[4,"{id}","InternalError","boom",{{}}]"#))
        .await;
    assert_eq!(
        out,
        Outcome::Answer {
            id,
            result: Err(("InternalError".into(), "boom".into()))
        }
    );
}

#[tokio::test]
async fn what_a_charger_reports_about_itself_is_kept() {
    let m = Memory::default();
    let mut c = Connection::new("CP1", Version::V16);
    for (i, text) in [r#"{"status":"Installed"}"#, r#"{"status":"Uploaded"}"#]
        .iter()
        .enumerate()
    {
        let action = [
            "FirmwareStatusNotification",
            "DiagnosticsStatusNotification",
        ][i];
        let a = answer(&mut c, &m, &format!(r#"[2,"{i}","{action}",{text}]"#)).await;
        assert_eq!(a[0], 3, "{a}");
    }
    let mut c = Connection::new("CS1", Version::V201);
    let a = answer(
        &mut c,
        &m,
        r#"[2,"9","SecurityEventNotification",{"type":"InvalidCsmsCertificate","timestamp":"2026-11-26T08:00:00Z","techInfo":"expired"}]"#,
    )
    .await;
    assert_eq!(a[0], 3, "{a}");
    // A notice that breaks the schema is refused and not kept.
    let bad = answer(
        &mut c,
        &m,
        r#"[2,"10","SecurityEventNotification",{"type":"X"}]"#,
    )
    .await;
    assert_eq!(bad[0], 4, "{bad}");
    assert_eq!(
        *m.notices.lock().unwrap(),
        [
            (
                "FirmwareStatusNotification".to_owned(),
                "Installed".to_owned()
            ),
            (
                "DiagnosticsStatusNotification".to_owned(),
                "Uploaded".to_owned()
            ),
            (
                "SecurityEventNotification".to_owned(),
                "InvalidCsmsCertificate: expired".to_owned()
            ),
        ]
    );
}

/// Issue 20 item 3: the charger-initiated messages evgrid used to answer NotSupported are
/// accepted (each payload checked against its schema), kept as the charger's notices, and
/// answered as the schema of their answer requires.
#[tokio::test]
async fn every_charger_initiated_message_is_accepted_and_kept() {
    let m = Memory::default();
    let mut c = Connection::new("CS3", Version::V201);
    let now = "2026-12-04T08:00:00Z";
    let messages = [
        ("ReportChargingProfiles", r#"{"requestId":1,"chargingLimitSource":"CSO","evseId":1,"chargingProfile":[{"id":1,"stackLevel":0,"chargingProfilePurpose":"TxDefaultProfile","chargingProfileKind":"Absolute","chargingSchedule":[{"id":1,"chargingRateUnit":"W","chargingSchedulePeriod":[{"startPeriod":0,"limit":7000}]}]}]}"#.to_owned()),
        ("NotifyChargingLimit", r#"{"chargingLimit":{"chargingLimitSource":"EMS"},"evseId":1}"#.to_owned()),
        ("ClearedChargingLimit", r#"{"chargingLimitSource":"EMS","evseId":1}"#.to_owned()),
        ("NotifyEVChargingNeeds", r#"{"evseId":1,"chargingNeeds":{"requestedEnergyTransfer":"DC"}}"#.to_owned()),
        ("NotifyEVChargingSchedule", format!(r#"{{"timeBase":"{now}","evseId":1,"chargingSchedule":{{"id":1,"chargingRateUnit":"W","chargingSchedulePeriod":[{{"startPeriod":0,"limit":11000}}]}}}}"#)),
        ("NotifyCustomerInformation", format!(r#"{{"data":"card 1234","seqNo":0,"generatedAt":"{now}","requestId":5}}"#)),
        ("NotifyDisplayMessages", r#"{"requestId":6}"#.to_owned()),
        ("PublishFirmwareStatusNotification", r#"{"status":"Published","location":["http://cs3.local/fw.bin"],"requestId":7}"#.to_owned()),
        ("ReservationStatusUpdate", r#"{"reservationId":8,"reservationUpdateStatus":"Expired"}"#.to_owned()),
        ("GetCertificateStatus", r#"{"ocspRequestData":{"hashAlgorithm":"SHA256","issuerNameHash":"a","issuerKeyHash":"b","serialNumber":"1","responderURL":"http://ocsp.local"}}"#.to_owned()),
        ("Get15118EVCertificate", r#"{"iso15118SchemaVersion":"urn:iso:15118:2:2013:MsgDef","action":"Install","exiRequest":"AA=="}"#.to_owned()),
    ];
    for (i, (action, payload)) in messages.iter().enumerate() {
        let a = answer(&mut c, &m, &format!(r#"[2,"n{i}","{action}",{payload}]"#)).await;
        assert_eq!(a[0], 3, "{action}: {a}");
        validate(Version::V201, action, Direction::Response, &a[2])
            .unwrap_or_else(|v| panic!("{action} answer {}: {v}", a[2]));
    }
    let mut c16 = Connection::new("CP3", Version::V16);
    let signed = answer(
        &mut c16,
        &m,
        r#"[2,"s1","SignedFirmwareStatusNotification",{"status":"SignatureVerified","requestId":3}]"#,
    )
    .await;
    assert_eq!(signed[0], 3, "{signed}");
    let kept = m.notices.lock().unwrap();
    assert_eq!(kept.len(), messages.len() + 1);
    assert!(kept
        .iter()
        .any(|(kind, detail)| kind == "ReservationStatusUpdate"
            && detail == "reservation 8: Expired"));
    assert_eq!(
        *m.ended_reservations.lock().unwrap(),
        [(8, "Expired".to_owned())],
        "the reservation is ended, not only noted"
    );
    assert!(
        kept.iter()
            .any(|(kind, detail)| kind == "PublishFirmwareStatusNotification"
                && detail == "Published")
    );
}

/// Issue 20 item 3: the charging limit and the EV's needs a charger reported are read back per
/// connector, the newest first, a cleared limit replacing the one it clears.
#[tokio::test]
async fn charging_limits_and_ev_needs_are_read_back_per_connector() {
    let m = Memory::default();
    let mut c = Connection::new("CS4", Version::V201);
    let messages = [
        (
            "NotifyChargingLimit",
            r#"{"chargingLimit":{"chargingLimitSource":"EMS","isGridCritical":true},"evseId":1}"#,
        ),
        (
            "NotifyChargingLimit",
            r#"{"chargingLimit":{"chargingLimitSource":"SO"},"evseId":2}"#,
        ),
        (
            "NotifyEVChargingNeeds",
            r#"{"evseId":2,"chargingNeeds":{"requestedEnergyTransfer":"DC","dcChargingParameters":{"evMaxCurrent":200,"evMaxVoltage":500,"energyAmount":30000}}}"#,
        ),
        (
            "ClearedChargingLimit",
            r#"{"chargingLimitSource":"EMS","evseId":1}"#,
        ),
    ];
    for (i, (action, payload)) in messages.iter().enumerate() {
        let a = answer(&mut c, &m, &format!(r#"[2,"l{i}","{action}",{payload}]"#)).await;
        assert_eq!(a[0], 3, "{action}: {a}");
    }
    // As the store gives them back: newest first.
    let notices: Vec<evgrid_model::ChargerNotice> = m
        .notices
        .lock()
        .unwrap()
        .iter()
        .enumerate()
        .rev()
        .map(|(i, (kind, detail))| evgrid_model::ChargerNotice {
            at: 1_800_000_000 + i64::try_from(i).unwrap(),
            kind: kind.clone(),
            detail: detail.clone(),
        })
        .collect();
    let first = connector_conditions(&notices, 1);
    assert_eq!(first["charging_limit"]["kind"], "ClearedChargingLimit");
    assert_eq!(first["charging_limit"]["cleared"], true);
    assert_eq!(first["charging_limit"]["source"], "EMS");
    assert!(first["ev_charging_needs"].is_null(), "{first}");
    let second = connector_conditions(&notices, 2);
    assert_eq!(second["charging_limit"]["source"], "SO");
    assert_eq!(second["charging_limit"]["at"], 1_800_000_001);
    assert_eq!(second["ev_charging_needs"]["transfer"], "DC");
    assert_eq!(second["ev_charging_needs"]["energy_wh"], 30000);
    assert_eq!(second["ev_charging_needs"]["max_current_a"], 200);
    let third = connector_conditions(&notices, 3);
    assert!(third["charging_limit"].is_null() && third["ev_charging_needs"].is_null());
    // A limit for the whole charger (no EVSE) reaches every connector.
    let whole = [evgrid_model::ChargerNotice {
        at: 1_800_000_010,
        kind: "NotifyChargingLimit".into(),
        detail: r#"{"evse":null,"source":"CSO","grid_critical":null,"schedules":0}"#.into(),
    }];
    assert_eq!(
        connector_conditions(&whole, 3)["charging_limit"]["source"],
        "CSO"
    );
}

/// A02/A03, TC_074: a certificate signing request is answered at once, and the signed chain
/// follows as the platform's own CertificateSigned CALL; a refused one is Rejected.
#[tokio::test]
async fn a_signed_certificate_follows_the_signing_request() {
    let m = Memory::default();
    for version in [Version::V16, Version::V201] {
        let mut c = Connection::new("CP5", version);
        let typed = if version == Version::V201 {
            r#","certificateType":"ChargingStationCertificate""#
        } else {
            ""
        };
        let a = answer(
            &mut c,
            &m,
            &format!(r#"[2,"s1","SignCertificate",{{"csr":"CN=CP5"{typed}}}]"#),
        )
        .await;
        assert_eq!(a[2]["status"], "Accepted", "{a}");
        let (action, payload) = c.next_follow_up().expect("CertificateSigned follows");
        assert_eq!(action, "CertificateSigned");
        assert!(payload["certificateChain"]
            .as_str()
            .unwrap()
            .contains("for CP5"));
        validate(version, action, Direction::Request, &payload).unwrap();
        if version == Version::V201 {
            assert_eq!(payload["certificateType"], "ChargingStationCertificate");
        }
        let refused = answer(
            &mut c,
            &m,
            r#"[2,"s2","SignCertificate",{"csr":"CN=OTHER"}]"#,
        )
        .await;
        assert_eq!(refused[2]["status"], "Rejected", "{refused}");
        validate(version, "SignCertificate", Direction::Response, &refused[2]).unwrap();
        assert!(c.next_follow_up().is_none());
    }
    let mut c = Connection::new("CP5", Version::V201);
    let v2g = answer(
        &mut c,
        &m,
        r#"[2,"s3","SignCertificate",{"csr":"CN=CP5","certificateType":"V2GCertificate"}]"#,
    )
    .await;
    assert_eq!(v2g[2]["status"], "Rejected", "{v2g}");
    let kept = m.notices.lock().unwrap();
    assert!(kept
        .iter()
        .any(|(k, d)| k == "SignCertificate" && d.starts_with("signed")));
    assert!(kept
        .iter()
        .any(|(k, d)| k == "SignCertificate" && d.contains("ISO 15118")));
}

#[tokio::test]
async fn token_verdicts_are_answered_as_each_version_spells_them() {
    let m = Memory::default();
    let mut v16 = Connection::new("CP1", Version::V16);
    let mut v201 = Connection::new("CP2", Version::V201);
    let ask16 = |tag: &str| format!(r#"[2,"a","Authorize",{{"idTag":"{tag}"}}]"#);
    let ask201 = |tag: &str, kind: &str| {
        format!(r#"[2,"b","Authorize",{{"idToken":{{"idToken":"{tag}","type":"{kind}"}}}}]"#)
    };
    let a = answer(&mut v16, &m, &ask16("TAG1")).await;
    assert_eq!(
        a[2]["idTagInfo"],
        json!({"status": "Accepted", "parentIdTag": "FLEET-1", "expiryDate": "2024-01-05T08:00:00Z"})
    );
    for (tag, v16_status, v201_status) in [
        ("LOST", "Blocked", "Blocked"),
        ("NOBODY", "Invalid", "Unknown"),
        ("ELSEWHERE", "Invalid", "NotAtThisLocation"),
    ] {
        let a = answer(&mut v16, &m, &ask16(tag)).await;
        assert_eq!(a[2]["idTagInfo"], json!({"status": v16_status}), "{tag}");
        let a = answer(&mut v201, &m, &ask201(tag, "ISO14443")).await;
        assert_eq!(a[2]["idTokenInfo"], json!({"status": v201_status}), "{tag}");
    }
    let a = answer(&mut v201, &m, &ask201("TAG1", "ISO14443")).await;
    assert_eq!(
        a[2]["idTokenInfo"],
        json!({"status": "Accepted", "groupIdToken": {"idToken": "FLEET-1", "type": "Central"},
               "cacheExpiryDateTime": "2024-01-05T08:00:00Z"})
    );
    // A charger that needs no authorization is not asked about a token.
    let a = answer(&mut v201, &m, &ask201("", "NoAuthorization")).await;
    assert_eq!(a[2]["idTokenInfo"], json!({"status": "Accepted"}));
    // A 1.6 transaction of a blocked card is kept, and the charger told; its stop without a
    // tag carries no idTagInfo.
    let start = answer(&mut v16, &m, r#"[2,"s","StartTransaction",{"connectorId":1,"idTag":"LOST","meterStart":0,"timestamp":"2024-01-05T08:00:00Z"}]"#).await;
    assert_eq!(start[2]["idTagInfo"]["status"], "Blocked");
    let tx = start[2]["transactionId"].as_i64().unwrap();
    assert!(m
        .sessions
        .lock()
        .unwrap()
        .iter()
        .any(|(_, u, _)| u.session_ref == format!("CP1:{tx}")));
    let stop = answer(&mut v16, &m, &format!(r#"[2,"t","StopTransaction",{{"transactionId":{tx},"meterStop":10,"timestamp":"2024-01-05T08:10:00Z"}}]"#)).await;
    assert_eq!(stop[2], json!({}));
    let stop = answer(&mut v16, &m, &format!(r#"[2,"u","StopTransaction",{{"transactionId":{tx},"idTag":"TAG1","meterStop":10,"timestamp":"2024-01-05T08:10:00Z"}}]"#)).await;
    assert_eq!(stop[2]["idTagInfo"]["status"], "Accepted");
}

#[tokio::test]
async fn a_charger_not_yet_commissioned_boots_pending_or_rejected_and_may_not_charge() {
    let m = Memory::default();
    let boot = r#"[2,"1","BootNotification",{"chargePointVendor":"V","chargePointModel":"M"}]"#;
    let start = r#"[2,"2","StartTransaction",{"connectorId":1,"idTag":"TAG1","meterStart":0,"timestamp":"2024-01-05T08:00:00Z"}]"#;
    let heartbeat = r#"[2,"3","Heartbeat",{}]"#;
    let mut pending = Connection::new("PENDING", Version::V16);
    let a = answer(&mut pending, &m, boot).await;
    assert_eq!(
        (a[2]["status"].as_str(), a[2]["interval"].as_i64()),
        (Some("Pending"), Some(PENDING_RETRY_SECONDS))
    );
    assert_eq!(pending.registration(), Some(Registration::Pending));
    let a = answer(&mut pending, &m, start).await;
    assert_eq!(
        (a[0].as_i64(), a[2].as_str()),
        (Some(4), Some("SecurityError")),
        "{a}"
    );
    assert!(
        m.sessions.lock().unwrap().is_empty(),
        "nothing of a refused start is stored"
    );
    let a = answer(&mut pending, &m, heartbeat).await;
    assert_eq!(a[0], 3, "a pending charger still proves it lives");
    let mut rejected = Connection::new("REJECTED", Version::V201);
    let a = answer(&mut rejected, &m, r#"[2,"1","BootNotification",{"reason":"PowerUp","chargingStation":{"model":"M","vendorName":"V"}}]"#).await;
    assert_eq!(
        (a[2]["status"].as_str(), a[2]["interval"].as_i64()),
        (Some("Rejected"), Some(REJECTED_RETRY_SECONDS))
    );
    let a = answer(&mut rejected, &m, heartbeat).await;
    assert_eq!(a[2], "SecurityError", "{a}");
    // Once commissioned, the next boot is accepted and the charger charges.
    let mut accepted = Connection::new("CP1", Version::V16);
    let a = answer(&mut accepted, &m, boot).await;
    assert_eq!(a[2]["status"], "Accepted");
    let a = answer(&mut accepted, &m, start).await;
    assert_eq!(a[0], 3);
}

/// A 2.0.1 TransactionEvent of transaction `tx` with sequence number `seq` and register `wh`.
fn event(kind: &str, tx: &str, seq: i64, wh: i64) -> String {
    format!(
        r#"[2,"e{seq}","TransactionEvent",{{"eventType":"{kind}","timestamp":"2024-01-05T08:00:00Z","triggerReason":"MeterValuePeriodic","seqNo":{seq},
        "transactionInfo":{{"transactionId":"{tx}","chargingState":"Charging"}},"evse":{{"id":1,"connectorId":1}},
        "meterValue":[{{"timestamp":"2024-01-05T08:00:00Z","sampledValue":[{{"value":{wh}}}]}}]}}]"#
    )
}

#[tokio::test]
async fn a_gap_in_sequence_numbers_asks_for_the_transactions_status_and_the_cost_is_sent_while_it_runs(
) {
    let m = Memory::default();
    let mut c = Connection::new("CS3", Version::V201);
    answer(&mut c, &m, &event("Started", "T-1", 0, 1000)).await;
    assert!(c.next_follow_up().is_none(), "nothing to say at the start");
    answer(&mut c, &m, &event("Updated", "T-1", 1, 3000)).await;
    // The running cost (the test backend: 2,000 Wh → 200 fen), once.
    let (action, payload) = c.next_follow_up().unwrap();
    assert_eq!(
        (action, &payload),
        (
            "CostUpdated",
            &json!({"totalCost": 2.0, "transactionId": "T-1"})
        )
    );
    assert!(c.next_follow_up().is_none());
    // Event 2 never came: the charger is asked for the transaction's status; the cost is not
    // sent again within a minute.
    answer(&mut c, &m, &event("Updated", "T-1", 3, 5000)).await;
    assert_eq!(
        c.next_follow_up(),
        Some(("GetTransactionStatus", json!({"transactionId": "T-1"})))
    );
    assert!(c.next_follow_up().is_none());
    // A repeated or late event is no gap.
    answer(&mut c, &m, &event("Updated", "T-1", 2, 5000)).await;
    assert!(c.next_follow_up().is_none());
    // A charger that refuses CostUpdated is not sent it again.
    let (id, _) = c
        .call(
            "CostUpdated",
            json!({"totalCost": 1.0, "transactionId": "T-1"}),
        )
        .unwrap();
    let refused = format!(r#"[4,"{id}","NotSupported","no",{{}}]"#);
    assert!(matches!(
        c.on_text(&m, &refused).await,
        Outcome::Answer { .. }
    ));
    answer(&mut c, &m, &event("Started", "T-2", 0, 0)).await;
    answer(&mut c, &m, &event("Updated", "T-2", 1, 4000)).await;
    assert!(c.next_follow_up().is_none());
    // Every follow-up the platform sends is valid for the charger's version.
    for (action, payload) in [
        (
            "CostUpdated",
            json!({"totalCost": 2.0, "transactionId": "T-1"}),
        ),
        ("GetTransactionStatus", json!({"transactionId": "T-1"})),
    ] {
        assert!(c.call(action, payload).is_ok(), "{action}");
    }
}
