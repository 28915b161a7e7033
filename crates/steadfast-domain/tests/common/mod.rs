//! Values for the domain's test files, built from text (each test binary uses some of them).
#![allow(dead_code)]

use std::str::FromStr;

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use steadfast_domain::{Currency, Money, PartyId};

pub fn date(text: &str) -> Date {
    text.parse().expect("test date")
}

pub fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).expect("test decimal")
}

pub fn cur(code: &str) -> Currency {
    Currency::parse(code).expect("test currency")
}

pub fn money(amount: &str, currency: &str) -> Money {
    Money::parse(amount, cur(currency)).expect("test amount")
}

pub fn party(text: &str) -> PartyId {
    PartyId::parse(text).expect("test party id")
}

pub fn at(text: &str) -> Timestamp {
    text.parse().expect("test timestamp")
}

/// Real ECB USD fixings (units per euro) of July 2024, from data/ecb-eurofxref-hist.csv.
pub const USD_JULY_2024: [(&str, &str); 12] = [
    ("2024-07-01", "1.0745"),
    ("2024-07-02", "1.0729"),
    ("2024-07-03", "1.0758"),
    ("2024-07-04", "1.08"),
    ("2024-07-05", "1.0824"),
    ("2024-07-08", "1.0835"),
    ("2024-07-09", "1.0814"),
    ("2024-07-10", "1.0825"),
    ("2024-07-11", "1.0855"),
    ("2024-07-12", "1.089"),
    ("2024-07-15", "1.0907"),
    ("2024-07-16", "1.0902"),
];
