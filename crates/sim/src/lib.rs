//! The counterparts evgrid talks to, simulated: operator platforms speaking T/CEC 102 ([`tcec`])
//! and chargers speaking OCPP-J 1.6 and 2.0.1 ([`ocpp`]). The demo, the end-to-end tests and the
//! benchmarks run them; `evgrid serve` does not need them.
//!
//! They are protocol peers, so they use the adapters' wire types and frames (the other side of
//! the same standard); nothing of evgrid's application, store or server is here.

mod http;
pub mod ocpp;
pub mod superior;
pub mod tcec;
