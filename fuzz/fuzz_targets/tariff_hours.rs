//! The tariff and opening-hours texts an operator or a command line gives: evgrid's tariff
//! (`HH:MM=E+S,…`), T/CEC's `HHMMSS` times, and opening hours at every hour of the day.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(tariff) = evgrid_model::Tariff::parse(text) {
        for second in (0..86_400).step_by(3_600) {
            let _ = tariff.period_at(second);
        }
        // Any energy over any span, as a device may claim them: taken from the input's bytes.
        let word = |at: usize| {
            let mut bytes = [0u8; 8];
            for (i, b) in data.iter().skip(at).take(8).enumerate() {
                bytes[i] = *b;
            }
            i64::from_le_bytes(bytes)
        };
        let (from, to, energy) = (word(0), word(8), word(16));
        let mut periods = Vec::new();
        tariff.accrue(&mut periods, from, to, evgrid_model::WattHours(energy));
        let _ = tariff.accrue(
            &mut periods,
            to,
            to.saturating_add(3_600),
            evgrid_model::WattHours(energy),
        );
    }
    let _ = evgrid_tcec::convert::parse_hhmmss(text);
    for second in (0..86_400).step_by(3_600) {
        let _ = evgrid_model::hours::open_at(text, second);
    }
});
