//! The contributions CSV parser on arbitrary bytes: it must never panic, and every problem it
//! reports must be located on a real line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast_ingest::{CsvOptions, parse_contributions};

fuzz_target!(|data: &[u8]| {
    for ignore_extra in [false, true] {
        let parsed = parse_contributions("f.csv", data, CsvOptions { ignore_extra }, &mut |_| {});
        for e in &parsed.errors.0 {
            assert!(e.location.line >= 1, "{e}");
        }
        for row in &parsed.rows {
            assert!(row.line >= 2);
        }
    }
});
