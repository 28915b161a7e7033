//! Reporting periods. Frameworks report by half-year (`2024-H1` runs from 1 January to 30 June,
//! `2024-H2` from 1 July to 31 December), and the `period-average` exchange-rate policy averages
//! over the half-year an event falls in.

use std::fmt;
use std::str::FromStr;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

/// A calendar half-year.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct HalfYear {
    year: i16,
    /// 1 or 2.
    half: u8,
}

/// A half-year written other than `YYYY-H1` / `YYYY-H2`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a half-year; write it as YYYY-H1 or YYYY-H2, e.g. 2024-H2")]
pub struct HalfYearError(pub String);

impl HalfYear {
    /// The half-year `half` (1 or 2) of `year` (1900–2199, the dates the ledger accepts).
    pub fn new(year: i16, half: u8) -> Option<Self> {
        ((1900..=2199).contains(&year) && (half == 1 || half == 2))
            .then_some(HalfYear { year, half })
    }

    /// The half-year a date falls in.
    pub fn of(date: Date) -> Self {
        HalfYear {
            year: date.year(),
            half: if date.month() <= 6 { 1 } else { 2 },
        }
    }

    pub fn parse(text: &str) -> Result<Self, HalfYearError> {
        let err = || HalfYearError(text.to_owned());
        let (year, half) = text.split_once("-H").ok_or_else(err)?;
        if year.len() != 4 || !year.bytes().all(|b| b.is_ascii_digit()) {
            return Err(err());
        }
        let half = match half {
            "1" => 1,
            "2" => 2,
            _ => return Err(err()),
        };
        HalfYear::new(year.parse().map_err(|_| err())?, half).ok_or_else(err)
    }

    pub fn year(self) -> i16 {
        self.year
    }

    pub fn half(self) -> u8 {
        self.half
    }

    pub fn first_day(self) -> Date {
        Date::new(self.year, if self.half == 1 { 1 } else { 7 }, 1).expect("valid half-year")
    }

    pub fn last_day(self) -> Date {
        if self.half == 1 {
            Date::new(self.year, 6, 30)
        } else {
            Date::new(self.year, 12, 31)
        }
        .expect("valid half-year")
    }

    pub fn contains(self, date: Date) -> bool {
        HalfYear::of(date) == self
    }
}

impl fmt::Display for HalfYear {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-H{}", self.year, self.half)
    }
}

impl FromStr for HalfYear {
    type Err = HalfYearError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HalfYear::parse(s)
    }
}

impl TryFrom<String> for HalfYear {
    type Error = HalfYearError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        HalfYear::parse(&s)
    }
}

impl From<HalfYear> for String {
    fn from(h: HalfYear) -> String {
        h.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_years_parse_print_and_bound_their_dates() {
        let h = HalfYear::parse("2024-H2").unwrap();
        assert_eq!(h.to_string(), "2024-H2");
        assert_eq!(h.first_day(), Date::constant(2024, 7, 1));
        assert_eq!(h.last_day(), Date::constant(2024, 12, 31));
        assert_eq!(
            HalfYear::of(Date::constant(2024, 6, 30)).to_string(),
            "2024-H1"
        );
        assert!(h.contains(Date::constant(2024, 7, 1)));
        for bad in [
            "2024-H3", "2024H1", "24-H1", "2024-h1", "2024-H1 ", "1899-H1", "+024-H1",
        ] {
            assert!(HalfYear::parse(bad).is_err(), "{bad}");
        }
    }
}
