//! The published-table parsers (ECB reference rates, the GDP share-basis table) on arbitrary
//! bytes: never a panic, every problem on a real line, and what parses is consistent.
#![no_main]

use libfuzzer_sys::fuzz_target;
use steadfast_ingest::{parse_ecb_rates, parse_gdp};

fuzz_target!(|data: &[u8]| {
    match parse_ecb_rates("rates.csv", data) {
        Ok(rates) => {
            assert!(!rates.rows.is_empty());
            assert!(rates.rows.windows(2).all(|w| w[0].date < w[1].date));
            for row in &rates.rows {
                assert!(row.line >= 2);
                assert!(row.rates.iter().all(|(_, r)| r.is_sign_positive() && !r.is_zero()));
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty());
            assert!(errors.0.iter().all(|e| e.location.line >= 1), "{errors}");
        }
    }
    match parse_gdp("gdp.csv", data) {
        Ok(table) => {
            for row in &table.rows {
                assert!(row.line >= 2);
                assert!(row.values.keys().all(|y| table.years.contains(y)));
            }
        }
        Err(errors) => {
            assert!(!errors.0.is_empty());
            assert!(errors.0.iter().all(|e| e.location.line >= 1), "{errors}");
        }
    }
});
