//! The frameworks TOML parser on arbitrary bytes: never a panic, every problem on a real line
//! and column, and a framework that parses is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast_ingest::parse_frameworks;

fuzz_target!(|data: &[u8]| {
    match parse_frameworks("frameworks.toml", data) {
        Ok(specs) => {
            assert!(!specs.is_empty());
            for f in &specs {
                assert!(f.line >= 1);
                assert!(f.period_start <= f.period_end);
                assert!(f.target.is_positive());
                assert!(!f.participants.is_empty() && !f.recipients.is_empty());
                assert!(f.participants.iter().all(|p| !f.recipients.contains(p)));
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty());
            for e in &errors.0 {
                assert!(e.location.line >= 1, "{e}");
                assert!(e.location.column.is_none_or(|c| c >= 1), "{e}");
            }
        }
    }
});
