//! The Kiel tracker parsers (`data_explorer.csv`, `release_info.csv`, `weapons.csv`) on
//! arbitrary bytes: never a panic, every problem on a real line, and what parses is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast_ingest::{parse_tracker, parse_tracker_release, parse_tracker_weapons};

fuzz_target!(|data: &[u8]| {
    match parse_tracker("data_explorer.csv", data) {
        Ok(file) => {
            assert!(!file.rows.is_empty());
            assert!(file.first_month <= file.last_month);
            for row in &file.rows {
                assert!(row.line >= 2);
                assert_eq!(row.month.day(), 1);
                assert!(file.first_month <= row.month && row.month <= file.last_month);
                assert_eq!(row.total, row.financial + row.humanitarian + row.military);
                assert!(!row.total.is_sign_negative());
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty());
            assert!(errors.0.iter().all(|e| e.location.line >= 1), "{errors}");
        }
    }
    if let Err(errors) = parse_tracker_release("release_info.csv", data) {
        assert!(!errors.0.is_empty());
        assert!(errors.0.iter().all(|e| e.location.line >= 1), "{errors}");
    }
    match parse_tracker_weapons("weapons.csv", data) {
        Ok(rows) => {
            assert!(!rows.is_empty());
            assert!(rows.iter().all(|r| r.line >= 2));
        }
        Err(errors) => {
            assert!(!errors.0.is_empty());
            assert!(errors.0.iter().all(|e| e.location.line >= 1), "{errors}");
        }
    }
});
