//! Charging: operators' charging sessions as their messages arrive (T/CEC notifications, OCPP
//! transactions), drivers' charges started through evgrid on any operator's connector
//! (`charges`) and their reservations (`reservations`), and the chargers connected directly by
//! OCPP: their registration, login and the storage of what they report, with the billing of
//! their transactions (`chargers`).

pub mod certificates;
pub mod chargers;
pub mod charges;
pub mod reservations;
pub mod tokens;

use std::sync::Arc;

use evgrid_model::{Charger, ChargerNotice, ChargingSession, PushId, SessionUpdate};
use evgrid_store::{Store, StoreError};

use crate::batch::{GroupCommit, SessionJob};
use crate::live::Live;
use crate::network::Network;
use crate::AppError;

pub use charges::{Channels, ChargeError, ChargeView};

/// Charging sessions, drivers' charges and reservations, OCPP chargers.
#[derive(Debug)]
pub struct Charging {
    store: Store,
    network: Arc<Network>,
    live: Arc<Live>,
    /// Group commit of OCPP session messages (meter values, transaction events).
    sessions: GroupCommit<SessionJob>,
    /// Whether a token the platform does not know may charge (an open deployment).
    accept_unknown_tokens: bool,
}

impl Charging {
    /// Session message group commits: groups committed and the messages in them.
    pub(crate) fn session_group_counts(&self) -> (u64, u64) {
        self.sessions.counts()
    }

    /// The store (the deployment's nodes share it).
    pub(crate) fn store(&self) -> &Store {
        &self.store
    }

    pub(crate) fn new(
        store: Store,
        network: Arc<Network>,
        live: Arc<Live>,
        accept_unknown_tokens: bool,
    ) -> Self {
        Self {
            store,
            network,
            live,
            sessions: GroupCommit::default(),
            accept_unknown_tokens,
        }
    }

    /// Merges one session message in a transaction shared with the messages that arrive at the
    /// same time; returns after the commit. `false`: the message was applied before.
    pub(crate) async fn apply_session_grouped(
        &self,
        push: PushId,
        update: SessionUpdate,
    ) -> Result<bool, StoreError> {
        self.sessions
            .run(&self.store, SessionJob { push, update })
            .await
    }

    /// A directly connected charger.
    pub async fn charger(&self, id: &str) -> Result<Option<Charger>, AppError> {
        Ok(self.store.charger(id).await?)
    }

    /// Every directly connected charger.
    pub async fn chargers(&self) -> Result<Vec<Charger>, AppError> {
        Ok(self.store.chargers().await?)
    }

    /// Removes a charger's registration (its station and history stay); whether there was one.
    pub async fn remove_charger(&self, id: &str) -> Result<bool, AppError> {
        Ok(self.store.remove_charger(id).await?)
    }

    /// A charger's latest charging sessions (most recently updated first), with periods.
    pub async fn recent_sessions_of(
        &self,
        charger: &Charger,
        limit: i64,
    ) -> Result<Vec<ChargingSession>, AppError> {
        Ok(self
            .store
            .recent_charging_sessions(&charger.operator_id, &format!("{}-", charger.id), limit)
            .await?)
    }

    /// What a charger reported about itself, newest first.
    pub async fn charger_notices(&self, id: &str) -> Result<Vec<ChargerNotice>, AppError> {
        Ok(self.store.charger_notices(id).await?)
    }

    /// An operator's charging session.
    pub async fn charging_session(
        &self,
        operator: &evgrid_model::OperatorId,
        session_ref: &str,
    ) -> Result<Option<ChargingSession>, AppError> {
        Ok(self.store.charging_session(operator, session_ref).await?)
    }
}
