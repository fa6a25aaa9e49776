//! A station file as an import reads it: the first byte picks the format (T/CEC JSON, CSV,
//! GeoJSON), the rest is the file's text.
#![no_main]

use evgrid_tcec::files::{parse_station_text, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((first, rest)) = data.split_first() else {
        return;
    };
    let format = match first % 3 {
        0 => Format::Tcec,
        1 => Format::Csv,
        _ => Format::Geojson,
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let _ = parse_station_text("fuzz", format, text, None);
});
