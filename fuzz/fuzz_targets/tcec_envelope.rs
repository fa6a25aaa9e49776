//! A T/CEC request or answer as it arrives: the envelope, the `Sig` and the encrypted `Data`
//! (with the fuzz test's key set), then the decrypted Data as each interface's business body.
#![no_main]

use evgrid_tcec::business::{
    ChargeOrder, ChargeStatus, CheckChargeOrders, StartChargeNotice, StopChargeNotice,
};
use evgrid_tcec::crypto::KeySet;
use evgrid_tcec::envelope::{parse_request, ResponseEnvelope};
use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fn keys() -> Option<KeySet> {
    KeySet::new("a1b2c3d4e5f6g7h8", "1234567890abcdef", "s1g2s3e4c5r6e7t8").ok()
}

/// The Data of a request whose signature verified: what each interface reads from it.
fn business(plain: &[u8]) {
    let Ok(value) = serde_json::from_slice::<Value>(plain) else {
        return;
    };
    if let Some(station) = value.get("StationInfo") {
        if let Ok(info) = evgrid_tcec::convert::parse_station_info(station) {
            let _ = evgrid_tcec::station_from_wire(
                &info,
                evgrid_tcec::ConvertOptions {
                    coords: evgrid_model::CoordSystem::Gcj02,
                },
            );
        }
    }
    if let Ok(s) = evgrid_tcec::gate::business::<ChargeStatus>(&value) {
        let _ = evgrid_tcec::business::session_from_status(&s);
    }
    if let Ok(n) = evgrid_tcec::gate::business::<StartChargeNotice>(&value) {
        let _ = evgrid_tcec::business::session_from_start(&n);
    }
    if let Ok(n) = evgrid_tcec::gate::business::<StopChargeNotice>(&value) {
        let _ = evgrid_tcec::business::session_from_stop(&n);
    }
    if let Ok(o) = evgrid_tcec::gate::business::<ChargeOrder>(&value) {
        let _ = evgrid_tcec::business::session_from_order(&o);
    }
    let _ = evgrid_tcec::gate::business::<CheckChargeOrders>(&value);
}

fuzz_target!(|data: &[u8]| {
    let Some(keys) = keys() else { return };
    if let Ok(envelope) = parse_request(data) {
        if let Ok(plain) = envelope.open(&keys) {
            business(&plain);
        }
        let _ = evgrid_tcec::time::parse_china_timestamp(&envelope.time_stamp);
    }
    if let Ok(answer) = serde_json::from_slice::<ResponseEnvelope>(data) {
        let _ = answer.open(&keys, true);
    }
    business(data);
});
