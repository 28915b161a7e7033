//! The scenario's registry parsers on arbitrary bytes: never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast_ingest::{parse_memberships, parse_parties};

fuzz_target!(|data: &[u8]| {
    let _ = parse_parties("parties.csv", data);
    let _ = parse_memberships("memberships.csv", data);
});
