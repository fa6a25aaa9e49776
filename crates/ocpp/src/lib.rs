//! OCPP-J for evgrid: the RPC framing (CALL, CALLRESULT, CALLERROR), validation of every payload
//! against the official JSON schemas of OCPP 1.6J and 2.0.1 (vendored under `schemas/`), and the
//! central system's side of a charger connection ([`csms`]), transport-free: the server crate
//! carries the frames over WebSocket, a [`csms::Backend`] stores what the chargers report.
//!
//! This crate is the only place that knows OCPP.

pub mod commands;
pub mod csms;
pub mod frame;
pub mod hub;
pub mod schema;
pub mod session;

pub use frame::{ErrorCode, Frame, FrameError, Version};

/// The `Authorization` header value a charger sends under security profile 1 (HTTP Basic, the
/// user being the charge point id).
pub fn basic_authorization(charger: &str, password: &str) -> String {
    use base64::Engine;
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(format!("{charger}:{password}"))
    )
}
