//! An OCPP-J text frame as a charger sends it: the frame, then its payload against the schema
//! of its action in both versions, as a request and as an answer.
#![no_main]

use evgrid_ocpp::frame::Frame;
use evgrid_ocpp::schema::{validate, Direction};
use evgrid_ocpp::Version;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Frame::parse(text) {
        Ok(Frame::Call {
            action, payload, ..
        }) => {
            for version in [Version::V16, Version::V201] {
                let _ = validate(version, &action, Direction::Request, &payload);
                let _ = validate(version, &action, Direction::Response, &payload);
            }
        }
        Ok(_) | Err(_) => {}
    }
    let _ = evgrid_ocpp::schema::is_date_time(text);
});
