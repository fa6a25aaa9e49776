//! Chargers connected directly by OCPP: registration (a charger is a pile of a station, its
//! connectors `CHARGER-N`), login (HTTP Basic password, salted SHA-256 stored), and the storage
//! side of the OCPP adapter.

use evgrid_model::charger::{connector_id, valid_charger_id};
use evgrid_model::{Authorization, PushId, Registration, StatusRecord};
use evgrid_model::{
    Charger, ChargingSession, Connector, ConnectorType, Equipment, EquipmentType, Fen, LatLng,
    Operator, OperatorId, Power, SessionState, SessionUpdate, Station, StationKey, StationType,
    Tariff, WattHours,
};
use evgrid_ocpp::commands::CommandStatus;
use evgrid_ocpp::csms::{Backend, BootInfo, StartedBy, StatusReport, StorageError};
use evgrid_store::StoreError;
use sha2::{Digest, Sha256};

use super::Charging;

/// Why a charger could not be registered.
#[derive(Debug, thiserror::Error)]
pub enum ChargerError {
    #[error("charger id {0:?} must be 1 to 48 letters, digits, '-', '_' or '.'")]
    BadId(String),
    #[error("a charger has 1 to 32 connectors, not {0}")]
    BadConnectors(u32),
    #[error("the password must be 16 to 40 printable characters (OCPP security profile 1)")]
    BadPassword,
    #[error("station {0} does not exist; give its position and name to create it")]
    NoStation(String),
    #[error("no charger {0:?}")]
    NotFound(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Registry(#[from] crate::AppError),
}

/// How a password rotation through the charger went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PasswordRotation {
    /// The charger took the new password (it logs in with it from its next connection).
    Accepted,
    /// The charger refused it (its status): the old password stays the only one.
    Refused(String),
    /// No answer (why): the old and the new password are both accepted until the charger logs
    /// in with the new one.
    NoAnswer(String),
    /// The charger is not connected: nothing was sent.
    Offline,
}

/// Where a new station for a charger goes.
#[derive(Debug, Clone)]
pub struct NewPlace {
    pub location: LatLng,
    pub name: String,
}

/// A charger to register.
#[derive(Debug, Clone)]
pub struct ChargerSpec {
    pub id: String,
    /// Its HTTP Basic password: every registered charger has one (a charger without one could
    /// be impersonated by anyone who knows its id).
    pub password: String,
    pub operator_id: OperatorId,
    /// The operator's name, when it is new (else its registered name stays).
    pub operator_name: Option<String>,
    pub station_id: Option<String>,
    /// Creates the station when it does not exist.
    pub place: Option<NewPlace>,
    pub connectors: u32,
    pub power_kw: u32,
    pub dc: bool,
    /// The station's time-of-use tariff (replaces the one it has); evgrid bills the charger's
    /// transactions with it.
    pub tariff: Option<Tariff>,
    /// Whether it is commissioned (in service) or its boot is answered pending or rejected
    /// until it is.
    pub registration: Registration,
}

/// The outcome of a charger's login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    Accepted(Box<Charger>),
    /// Refused, with the reason for the log (the charger only sees 401).
    Refused(String),
}

/// How a charger's connection is secured, as the server saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConnectionSecurity {
    /// It came over TLS (wss).
    pub tls: bool,
    /// The common name of the TLS client certificate it presented (verified against the
    /// platform's authority by the TLS layer).
    pub certified_as: Option<String>,
}

impl ConnectionSecurity {
    /// The OCPP security profile of the connection: 3 with a client certificate, 2 over TLS,
    /// else 1.
    pub fn profile(&self) -> u8 {
        match (self.certified_as.is_some(), self.tls) {
            (true, _) => 3,
            (false, true) => 2,
            (false, false) => 1,
        }
    }
}

/// Which unknown chargers a server accepts: as chargers of `operator`, up to `most` registered
/// without a station (each such connection would otherwise add a permanent row).
#[derive(Debug, Clone)]
pub struct UnknownChargers {
    pub operator: OperatorId,
    pub most: u32,
}

/// The bound of [`UnknownChargers::most`] unless the server is told otherwise.
pub const UNPLACED_CHARGERS_MOST: u32 = 10_000;

/// Whether a charger's password has the form OCPP's security profile 1 gives it.
fn acceptable_password(p: &str) -> bool {
    (16..=40).contains(&p.len()) && p.bytes().all(|b| b.is_ascii_graphic())
}

fn random_salt() -> Result<String, StoreError> {
    crate::random_hex(8).map_err(|e| StoreError::Unknown(format!("no randomness: {e}")))
}

fn hash_with(salt: &str, password: &str) -> String {
    let digest = Sha256::digest(format!("{salt}:{password}").as_bytes());
    format!("sha256${salt}${}", crate::hex(&digest))
}

/// Whether `password` matches a stored hash (constant time in the digest comparison).
pub fn password_matches(stored: &str, password: &str) -> bool {
    let mut parts = stored.splitn(3, '$');
    let (Some("sha256"), Some(salt), Some(_)) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    let computed = hash_with(salt, password);
    computed.len() == stored.len()
        && computed
            .bytes()
            .zip(stored.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn equipment(spec: &ChargerSpec) -> Equipment {
    let power = Power::from_kw(spec.power_kw);
    let (equipment_type, connector_type, volts, amps) = if spec.dc {
        (EquipmentType::DC, ConnectorType::DC_PLUG, 750, 250)
    } else {
        (EquipmentType::AC, ConnectorType::AC_PLUG, 220, 32)
    };
    Equipment {
        id: spec.id.clone(),
        name: Some(format!("OCPP {}", spec.id)),
        equipment_type,
        power,
        manufacturer_name: None,
        model: None,
        production_date: None,
        connectors: (1..=spec.connectors)
            .map(|n| Connector {
                id: connector_id(&spec.id, n),
                name: Some(format!("{} #{n}", spec.id)),
                connector_type,
                national_standard: 2,
                power,
                voltage_upper_v: volts,
                voltage_lower_v: if spec.dc { 200 } else { 220 },
                current_a: amps,
                park_no: None,
            })
            .collect(),
    }
}

fn new_station(spec: &ChargerSpec, station_id: &str, place: &NewPlace) -> Station {
    Station {
        operator_id: spec.operator_id.clone(),
        id: station_id.to_owned(),
        name: place.name.clone(),
        station_type: StationType::PUBLIC,
        status: 50,
        location: place.location,
        address: String::new(),
        area_code: String::new(),
        equipment_owner_id: spec.operator_id.to_string(),
        country_code: "CN".into(),
        service_tel: String::new(),
        station_tel: None,
        park_nums: i32::try_from(spec.connectors).unwrap_or(0),
        construction: 255,
        site_guide: None,
        business_hours: Some("00:00-24:00".into()),
        electricity_fee_text: None,
        service_fee_text: None,
        park_fee: None,
        payment: None,
        support_order: false,
        remark: Some("directly connected by OCPP".into()),
        tariff: None,
        equipment: Vec::new(),
    }
}

impl Charging {
    /// Registers (or replaces) a directly connected charger; with a station, it becomes a pile
    /// of that station (created when `place` is given and it does not exist).
    pub async fn add_charger(&self, spec: ChargerSpec) -> Result<Charger, ChargerError> {
        if !valid_charger_id(&spec.id) {
            return Err(ChargerError::BadId(spec.id));
        }
        if !(1..=32).contains(&spec.connectors) {
            return Err(ChargerError::BadConnectors(spec.connectors));
        }
        if !acceptable_password(&spec.password) {
            return Err(ChargerError::BadPassword);
        }
        let password_hash = Some(hash_with(&random_salt()?, &spec.password));
        if let Some(station_id) = &spec.station_id {
            let key = StationKey {
                operator_id: spec.operator_id.clone(),
                station_id: station_id.clone(),
            };
            let mut station = match (self.store.station(&key).await?, &spec.place) {
                (Some(record), _) => record.station,
                (None, Some(place)) => new_station(&spec, station_id, place),
                (None, None) => return Err(ChargerError::NoStation(key.to_string())),
            };
            if let Some(tariff) = &spec.tariff {
                station.tariff = Some(tariff.clone());
            }
            station.equipment.retain(|e| e.id != spec.id);
            station.equipment.push(equipment(&spec));
            let operator = Operator {
                id: spec.operator_id.clone(),
                name: spec
                    .operator_name
                    .clone()
                    .unwrap_or_else(|| spec.operator_id.to_string()),
            };
            self.network
                .store_stations(&[operator], vec![station])
                .await?;
        }
        let mut charger = Charger::new(
            spec.id.clone(),
            spec.operator_id.clone(),
            spec.station_id.clone(),
            spec.connectors,
            password_hash,
        );
        charger.registration = spec.registration;
        self.store.put_charger(&charger).await?;
        Ok(charger)
    }

    /// Gives a connected charger a new HTTP Basic password through its own configuration
    /// (1.6 ChangeConfiguration `AuthorizationKey`, 2.0.1 SetVariables
    /// `SecurityCtrlr.BasicAuthPassword`): 40 random hex digits, never shown. The new password
    /// is accepted beside the old one from before it is sent until the charger first logs in
    /// with it; a charger that refuses it keeps the old one only.
    pub async fn rotate_charger_password(
        &self,
        hub: &evgrid_ocpp::hub::Hub,
        id: &str,
    ) -> Result<PasswordRotation, ChargerError> {
        if self.store.charger(id).await?.is_none() {
            return Err(ChargerError::NotFound(id.to_owned()));
        }
        let Some(version) = hub.locate(id).await else {
            return Ok(PasswordRotation::Offline);
        };
        let password = crate::random_hex(20)
            .map_err(|e| StoreError::Unknown(format!("no randomness: {e}")))?;
        let next = hash_with(&random_salt()?, &password);
        self.store
            .set_next_charger_password(id, Some(&next))
            .await?;
        let (action, payload) = evgrid_ocpp::commands::set_basic_auth_password(version, &password);
        let answer = hub
            .call(id, action, payload, super::charges::CALL_TIMEOUT)
            .await;
        Ok(match answer {
            Ok(answer) => match evgrid_ocpp::commands::password_set_status(version, &answer) {
                CommandStatus::Accepted => {
                    tracing::info!(charger = id, "the charger took its new password");
                    PasswordRotation::Accepted
                }
                CommandStatus::Refused(status) => {
                    self.store.set_next_charger_password(id, None).await?;
                    tracing::info!(charger = id, status, "the charger refused its new password");
                    PasswordRotation::Refused(status)
                }
            },
            // The charger may have taken it: both passwords stay valid until it logs in.
            Err(e) => PasswordRotation::NoAnswer(super::charges::command_error(id, e)),
        })
    }

    /// Commissions a charger (or takes it out of service: pending, rejected); the charger
    /// learns it at its next boot ([`Charging::ask_to_boot_again`] makes that now).
    pub async fn set_registration(
        &self,
        id: &str,
        registration: Registration,
    ) -> Result<(), ChargerError> {
        if !self
            .store
            .set_charger_registration(id, registration)
            .await?
        {
            return Err(ChargerError::NotFound(id.to_owned()));
        }
        tracing::info!(
            charger = id,
            registration = registration.as_str(),
            "registration set"
        );
        Ok(())
    }

    /// Sets the lowest OCPP security profile charger `id` may connect with (1 to 3). A charger
    /// raises itself to 3 at its first connection with a client certificate; set 2 to require
    /// TLS, or lower it again for a charger that lost its certificate.
    pub async fn set_security_profile(&self, id: &str, profile: u8) -> Result<(), ChargerError> {
        if !(1..=3).contains(&profile) {
            return Err(ChargerError::Registry(crate::AppError::Invalid(format!(
                "security profile {profile}: 1, 2 or 3"
            ))));
        }
        if !self
            .store
            .set_charger_security_profile(id, profile, false)
            .await?
        {
            return Err(ChargerError::NotFound(id.to_owned()));
        }
        tracing::info!(charger = id, profile, "security profile set");
        Ok(())
    }

    /// Tells a connected charger its new security profile (see
    /// [`evgrid_ocpp::commands::security_profile`]: 1.6 ChangeConfiguration; 2.0.1, given where
    /// to reconnect, SetNetworkProfile, the slot's priority and a Reset): the first answer that
    /// is not `Accepted`, else the last; `None` when it is not connected or nothing is to be
    /// sent (2.0.1 without a target).
    pub async fn tell_security_profile(
        &self,
        hub: &evgrid_ocpp::hub::Hub,
        id: &str,
        profile: u8,
        target: Option<&evgrid_ocpp::commands::NetworkTarget<'_>>,
    ) -> Option<Result<CommandStatus, String>> {
        let version = hub.locate(id).await?;
        let calls = evgrid_ocpp::commands::security_profile(version, profile, target);
        let mut last = None;
        for (action, payload) in calls {
            let told = hub
                .call(id, action, payload, super::charges::CALL_TIMEOUT)
                .await
                .map(|answer| evgrid_ocpp::commands::answer_status(action, &answer))
                .map_err(|e| super::charges::command_error(id, e));
            let refused = !matches!(told, Ok(CommandStatus::Accepted));
            last = Some(told);
            if refused {
                break;
            }
        }
        last
    }

    /// Asks a connected charger to boot again (TriggerMessage BootNotification), so that a
    /// new registration takes effect at once: its answer, or `None` when it is not connected.
    pub async fn ask_to_boot_again(
        &self,
        hub: &evgrid_ocpp::hub::Hub,
        id: &str,
    ) -> Option<Result<CommandStatus, String>> {
        let version = hub.locate(id).await?;
        let (action, payload) = evgrid_ocpp::commands::boot_again(version);
        Some(
            hub.call(id, action, payload, super::charges::CALL_TIMEOUT)
                .await
                .map(|answer| CommandStatus::of(&answer))
                .map_err(|e| super::charges::command_error(id, e)),
        )
    }

    /// Checks a connecting charger: known, with its password; or unknown and accepted by the
    /// `unknown` policy: registered without a station with the password it presented (trust on
    /// first use: later connections under its id must present the same), while fewer than the
    /// policy's bound of such chargers are registered.
    ///
    /// Security profiles: a charger presenting a TLS client certificate that the platform's
    /// authority signed for its id (`security.certified_as`) needs no password (profile 3), and
    /// from its first such connection on it may not connect with a password alone; a charger
    /// whose profile was set to 2 must come over TLS.
    pub async fn charger_login(
        &self,
        id: &str,
        password: Option<&str>,
        unknown: Option<&UnknownChargers>,
        security: &ConnectionSecurity,
    ) -> Result<Login, crate::AppError> {
        if let Some(name) = &security.certified_as {
            if name != id {
                return Ok(Login::Refused(format!(
                    "the client certificate is charger {name:?}'s, not {id:?}'s"
                )));
            }
            return Ok(match self.store.charger(id).await? {
                Some(mut c) => {
                    if c.security_profile < 3
                        && self.store.set_charger_security_profile(id, 3, true).await?
                    {
                        tracing::info!(
                            charger = id,
                            "connected with its client certificate: security profile 3 from now on"
                        );
                        c.security_profile = 3;
                    }
                    Login::Accepted(Box::new(c))
                }
                None => Login::Refused("unknown charger (evgrid charger add)".into()),
            });
        }
        let login = self.password_login(id, password, unknown).await?;
        match login {
            Login::Accepted(c) if c.security_profile > security.profile() => {
                Ok(Login::Refused(format!(
                    "charger {id} must connect with security profile {}; this connection is \
                     profile {}",
                    c.security_profile,
                    security.profile()
                )))
            }
            other => Ok(other),
        }
    }

    /// A charger's login by HTTP Basic password (security profiles 1 and 2).
    async fn password_login(
        &self,
        id: &str,
        password: Option<&str>,
        unknown: Option<&UnknownChargers>,
    ) -> Result<Login, crate::AppError> {
        if !valid_charger_id(id) {
            return Ok(Login::Refused(format!(
                "{id:?} is not a valid charge point id"
            )));
        }
        match self.store.charger(id).await? {
            Some(c) => match (&c.password_hash, password) {
                (None, _) => Ok(Login::Refused(format!(
                    "charger {id} was registered without a password; register it again \
                     (evgrid charger add --id {id} …) to give it one"
                ))),
                (Some(hash), Some(p)) if password_matches(hash, p) => {
                    Ok(Login::Accepted(Box::new(c)))
                }
                // The password rotated in through the charger, used for the first time: from
                // now on the only one.
                (Some(_), Some(p))
                    if c.next_password_hash
                        .as_deref()
                        .is_some_and(|next| password_matches(next, p)) =>
                {
                    let next = c.next_password_hash.clone().unwrap_or_default();
                    if self.store.promote_charger_password(id, &next).await? {
                        tracing::info!(charger = id, "the charger logged in with its new password: the old one no longer works");
                    }
                    let mut c = c;
                    c.password_hash = Some(next);
                    c.next_password_hash = None;
                    Ok(Login::Accepted(Box::new(c)))
                }
                (Some(_), Some(_)) => Ok(Login::Refused("wrong password".into())),
                (Some(_), None) => Ok(Login::Refused("no password (HTTP Basic) given".into())),
            },
            None => match (unknown, password) {
                (None, _) => Ok(Login::Refused(
                    "unknown charger (evgrid charger add)".into(),
                )),
                (Some(_), None) => Ok(Login::Refused(
                    "an unknown charger must present a password (HTTP Basic) to be registered"
                        .into(),
                )),
                (Some(_), Some(p)) if !acceptable_password(p) => Ok(Login::Refused(
                    "an unknown charger's password must be 16 to 40 printable characters".into(),
                )),
                (Some(policy), Some(p)) => {
                    let hash = hash_with(&random_salt().map_err(crate::AppError::from)?, p);
                    let c = Charger::new(id, policy.operator.clone(), None, 2, Some(hash));
                    if self
                        .store
                        .register_unplaced_charger(&c, policy.most)
                        .await?
                    {
                        tracing::info!(charger = id, "unknown charger accepted and registered with the password it presented");
                        Ok(Login::Accepted(Box::new(c)))
                    } else {
                        tracing::warn!(charger = id, most = policy.most, "unknown charger refused: as many unplaced chargers as allowed are registered");
                        Ok(Login::Refused(format!(
                            "{} chargers without a station are registered already",
                            policy.most
                        )))
                    }
                }
            },
        }
    }

    /// The storage side of one charger's OCPP connection.
    pub fn ocpp_backend(&self, charger: Charger) -> OcppBackend<'_> {
        OcppBackend {
            charging: self,
            charger,
            tariff: tokio::sync::OnceCell::new(),
        }
    }
}

/// Stores what one connected charger reports, and bills its charges: an OCPP charger reports
/// energy, not money, so each energy reading is priced with its station's time-of-use tariff
/// as it arrives (the periods it falls in), and the transaction's end makes the order.
#[derive(Debug)]
pub struct OcppBackend<'a> {
    charging: &'a Charging,
    charger: Charger,
    /// The station's tariff, read once per connection (`None`: no station or no tariff).
    tariff: tokio::sync::OnceCell<Option<Tariff>>,
}

impl OcppBackend<'_> {
    async fn tariff(&self) -> Result<Option<&Tariff>, StorageError> {
        let tariff = self
            .tariff
            .get_or_try_init(|| async {
                let Some(station_id) = &self.charger.station_id else {
                    return Ok::<_, StorageError>(None);
                };
                let key = StationKey {
                    operator_id: self.charger.operator_id.clone(),
                    station_id: station_id.clone(),
                };
                let station = self
                    .charging
                    .store
                    .station(&key)
                    .await
                    .map_err(StorageError::from)?;
                Ok(station.and_then(|r| r.station.tariff))
            })
            .await?;
        Ok(tariff.as_ref())
    }

    /// Prices the energy this update adds since the stored session, and at the transaction's
    /// end makes the order (flagging a final reading below an earlier one, or none).
    async fn bill(
        &self,
        update: &mut SessionUpdate,
        previous: Option<&ChargingSession>,
    ) -> Result<(), StorageError> {
        let finished = update.state == Some(SessionState::Finished);
        if update.energy.is_none() && !finished {
            return Ok(());
        }
        let Some(tariff) = self.tariff().await? else {
            // Nothing to price with: the end still makes the order, energy only, flagged.
            if finished {
                update.is_order = true;
                update.dispute =
                    Some("the station has no tariff: the charge's energy is not priced".into());
            }
            return Ok(());
        };
        let now = update.ended_at.unwrap_or_else(evgrid_model::time::unix_now);
        let mut periods = previous.map(|s| s.periods.clone()).unwrap_or_default();
        let before = previous.and_then(|s| s.energy).unwrap_or(WattHours(0));
        let mut dispute = None;
        match update.energy {
            Some(after) if after.0 > before.0 => {
                let from = periods
                    .last()
                    .map(|p| p.ends_at)
                    .or_else(|| previous.and_then(|s| s.started_at))
                    .or(update.started_at)
                    .unwrap_or(now)
                    .min(now);
                tariff.accrue(&mut periods, from, now, WattHours(after.0 - before.0));
            }
            Some(after) if after.0 < before.0 => {
                update.energy = Some(before);
                dispute = Some(format!(
                    "the charger's reading ({} Wh) is below an earlier one ({} Wh); billed to the earlier one",
                    after.0, before.0
                ));
            }
            Some(_) => {}
            None => {
                update.energy = Some(before);
                dispute = Some(
                    "the charger sent no final meter reading; billed to its last reading".into(),
                );
            }
        }
        let electricity = periods.iter().map(|p| p.electricity_money.0).sum::<i64>();
        let service = periods.iter().map(|p| p.service_money.0).sum::<i64>();
        update.electricity_money = Some(Fen(electricity));
        update.service_money = Some(Fen(service));
        update.total_money = Some(Fen(electricity + service));
        update.periods = Some(periods);
        if finished {
            update.is_order = true;
        } else if let Some(d) = &dispute {
            tracing::warn!(charger = %self.charger.id, session = %update.session_ref, "{d}");
        }
        // A live finding is kept on the session too: its order will carry it.
        update.dispute = dispute;
        Ok(())
    }

    fn connector(&self, n: u32) -> Result<String, StorageError> {
        if n == 0 || n > self.charger.connectors.max(8) {
            return Err(StorageError::Invalid(format!(
                "connector {n} does not exist on charger {} ({} connectors)",
                self.charger.id, self.charger.connectors
            )));
        }
        Ok(connector_id(&self.charger.id, n))
    }
}

impl Backend for OcppBackend<'_> {
    async fn boot(&self, charger: &str, info: &BootInfo) -> Result<Registration, StorageError> {
        let registration = self
            .charging
            .store
            .charger_booted(
                charger,
                &info.vendor,
                &info.model,
                info.serial.as_deref(),
                info.firmware.as_deref(),
                info.version,
            )
            .await
            .map_err(StorageError::from)?
            // Removed while connected: no longer the platform's charger.
            .unwrap_or(Registration::Rejected);
        if registration != Registration::Accepted {
            tracing::info!(
                charger,
                registration = registration.as_str(),
                "boot of a charger not commissioned"
            );
        }
        Ok(registration)
    }

    async fn status(&self, _charger: &str, report: &StatusReport) -> Result<(), StorageError> {
        // A status stamped far ahead (2099) would hide every later one: the server's time.
        let (observed_at, believed) = evgrid_model::plausibility::status_time(
            report.observed_at,
            evgrid_model::time::unix_now(),
        );
        if !believed {
            tracing::warn!(charger = %self.charger.id, connector = report.connector, claimed = report.observed_at, "the charger's clock is implausible: its status is stamped with the server's time");
        }
        let record = StatusRecord {
            connector_id: self.connector(report.connector)?,
            status: report.status,
            raw_status: 0,
            park_status: None,
            lock_status: None,
            observed_at,
            source: evgrid_model::StatusSource::Ocpp,
        };
        self.charging
            .live
            .put_status(&self.charger.operator_id, record)
            .await
            .map_err(StorageError::from)
    }

    async fn new_transaction_id(&self, charger: &str) -> Result<i64, StorageError> {
        self.charging
            .store
            .new_transaction_id(charger)
            .await
            .map_err(StorageError::from)
    }

    async fn session(
        &self,
        _charger: &str,
        connector: Option<u32>,
        register: Option<evgrid_model::WattHours>,
        mut update: SessionUpdate,
    ) -> Result<Option<Fen>, StorageError> {
        let store = &self.charging.store;
        let previous = store
            .charging_session(&self.charger.operator_id, &update.session_ref)
            .await
            .map_err(StorageError::from)?;
        let meter_start = update
            .meter_start
            .or_else(|| previous.as_ref().and_then(|s| s.meter_start));
        if let Some(energy) = evgrid_ocpp::csms::energy_since(register, meter_start) {
            update.energy = Some(energy);
        }
        update.connector_id = match (connector, &previous) {
            (Some(n), _) => self.connector(n)?,
            (None, Some(s)) => s.connector_id.clone(),
            // A transaction that starts before its EVSE is known (2.0.1): bound later.
            (None, None) if update.started_at.is_some() => {
                evgrid_model::charger::unbound_connector_id(&self.charger.id)
            }
            (None, None) => {
                return Err(StorageError::Invalid(format!(
                    "unknown transaction {}",
                    update.session_ref
                )))
            }
        };
        // The charger's clock is checked before its times price anything.
        let replaced_times = update.check_times(evgrid_model::time::unix_now());
        if previous
            .as_ref()
            .is_none_or(|s| s.order_received_at.is_none())
        {
            self.bill(&mut update, previous.as_ref()).await?;
        }
        update.dispute = evgrid_model::plausibility::join_disputes(
            update.dispute.as_deref(),
            replaced_times.as_deref(),
        );
        // An OCPP message has no push key of its own: the session reference and the time of
        // the message make one, so a repeated message is not applied twice.
        let key_time = update
            .ended_at
            .or(update.started_at)
            .unwrap_or_default()
            .to_string();
        let push = PushId {
            operator_id: self.charger.operator_id.clone(),
            interface: "ocpp",
            time_stamp: key_time,
            seq: format!(
                "{}:{}:{}",
                update.session_ref,
                update.state.map_or("-", SessionState::as_str),
                update.energy.map_or(-1, |e| e.0)
            ),
        };
        // What the session costs after this message: billed now, else as stored.
        let cost = update
            .total_money
            .or_else(|| previous.as_ref().and_then(|s| s.total_money));
        self.charging
            .apply_session_grouped(push, update)
            .await
            .map_err(StorageError::from)?;
        Ok(cost)
    }

    async fn reservation_ended(
        &self,
        _charger: &str,
        reservation_id: i64,
        how: &str,
    ) -> Result<(), StorageError> {
        let ended = self
            .charging
            .store
            .end_reservation_of_charger(
                self.charger.operator_id.as_str(),
                &format!("{}-", self.charger.id),
                reservation_id,
                &format!("the charger reports the reservation {}", how.to_lowercase()),
            )
            .await
            .map_err(StorageError::from)?;
        tracing::info!(charger = %self.charger.id, reservation_id, how, ended, "reservation status update");
        Ok(())
    }

    async fn sign_certificate(
        &self,
        _charger: &str,
        csr: &str,
    ) -> Result<Result<String, String>, StorageError> {
        // Signed for the charger this connection logged in as, whatever the frame says.
        match self
            .charging
            .sign_charger_certificate(&self.charger.id, csr)
            .await
        {
            Ok(signed) => Ok(signed.map(|s| s.chain_pem)),
            Err(crate::AppError::Store(e)) => Err(StorageError::from(e)),
            Err(e) => Err(StorageError::Invalid(e.to_string())),
        }
    }

    async fn authorize(&self, _charger: &str, token: &str) -> Result<Authorization, StorageError> {
        let authorization = self
            .charging
            .authorize(&self.charger, token)
            .await
            .map_err(|e| StorageError::Failed(e.to_string()))?;
        tracing::debug!(charger = %self.charger.id, token, verdict = ?authorization.verdict, "id token asked about");
        Ok(authorization)
    }

    async fn notice(&self, charger: &str, kind: &str, detail: &str) -> Result<(), StorageError> {
        self.charging
            .store
            .add_charger_notice(charger, evgrid_model::time::unix_now(), kind, detail)
            .await
            .map_err(StorageError::from)
    }

    async fn transaction_started_by(
        &self,
        _charger: &str,
        session_ref: &str,
        by: StartedBy<'_>,
    ) -> Result<(), StorageError> {
        let store = &self.charging.store;
        let operator = &self.charger.operator_id;
        let linked = match by {
            StartedBy::IdTag(tag) => {
                store
                    .token_started(tag, operator, session_ref, evgrid_model::time::unix_now())
                    .await
                    .map_err(StorageError::from)?;
                store.link_charge(operator, tag, session_ref).await
            }
            StartedBy::RemoteStart(id) => match super::charges::id_tag_prefix_of_remote_start(id) {
                Some(prefix) => {
                    store
                        .link_charge_by_prefix(operator, &prefix, session_ref)
                        .await
                }
                None => Ok(false),
            },
        }
        .map_err(StorageError::from)?;
        if linked {
            tracing::info!(charger = %self.charger.id, session = session_ref, "a driver's remote start began its transaction");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_salted_and_checked() {
        let h = hash_with("abcd", "a-long-password-1");
        assert!(password_matches(&h, "a-long-password-1"));
        assert!(!password_matches(&h, "a-long-password-2"));
        assert_ne!(h, hash_with("abce", "a-long-password-1"));
        assert!(!password_matches("plain", "plain"));
    }
}
