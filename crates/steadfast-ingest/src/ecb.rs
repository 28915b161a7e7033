//! The ECB euro foreign exchange reference rates, exactly as the ECB publishes them: the full
//! history (`eurofxref-hist.csv`) or the latest day (`eurofxref.csv`).
//!
//! History layout: a header `Date,USD,JPY,BGN,...,ZAR,` — `Date`, then ISO 4217 codes, and a
//! trailing comma that makes an empty last column — then one row per TARGET business day, newest
//! first, each ending with the same trailing comma. A cell holds the fixing in units of the
//! currency per 1 EUR (`1.0825`), or `N/A` when that currency had no fixing that day (it did not
//! exist yet, joined the euro, or was suspended). Weekends and holidays have no row.
//!
//! The daily file has the same columns (only the currencies fixed that day) with a space after
//! each comma, one row, and its date written out: `Date, USD, JPY, ..., ZAR, ` then
//! `04 November 2026, 1.1200, 176.01, ..., `.
//!
//! Cells are trimmed of surrounding whitespace before they are read, as in every other importer;
//! what remains must be exact (`1.0825`, never `1,0825`, `+1.0825` or `1.08e0`).

use std::collections::HashMap;

use jiff::civil::Date;
use rust_decimal::Decimal;
use steadfast_domain::Currency;

use crate::csv_rows::{CsvRows, Header};
use crate::location::{ErrorList, ImportError};
use crate::text::{DecimalProblem, decode_utf8, parse_date, parse_positive_decimal};

/// One business day's fixings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcbFixingRow {
    pub line: u64,
    pub date: Date,
    /// Units of each currency per 1 EUR, in header order; currencies with no fixing that day
    /// (`N/A` or an empty cell) are left out.
    pub rates: Vec<(Currency, Decimal)>,
}

/// A whole reference-rate history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EcbRates {
    /// Ascending by date (the file lists the newest first).
    pub rows: Vec<EcbFixingRow>,
    /// The currencies of the header, in its order.
    pub currencies: Vec<Currency>,
}

/// At most 10 decimals (the ECB publishes 5 significant digits, so at most 6 today).
const RATE_DECIMALS: usize = 10;
/// Below 1,000,000,000 units per euro (the highest ever published, TRL, was about 1.9 million).
const RATE_INTEGER_DIGITS: usize = 9;

const LAYOUT: &str = "the ECB reference-rate layout is a header `Date,USD,JPY,...,ZAR,` (`Date`, then ISO 4217 currency codes, then a trailing comma) and one row of fixings per business day, as in eurofxref-hist.csv or the daily eurofxref.csv";

/// Whether a header is the ECB reference-rate layout's (`Date`, then currency codes), so an
/// importer of another layout given a rate file can point to the rate import instead of
/// suggesting column names.
pub(crate) fn looks_like_ecb_rates(header: &[&str]) -> bool {
    let mut cells = header.iter().map(|c| c.trim());
    cells.next() == Some("Date")
        && cells
            .filter(|c| !c.is_empty())
            .take(3)
            .filter(|c| Currency::parse(c).is_ok())
            .count()
            >= 2
}

/// Parses the ECB reference-rate history, collecting every problem of the file.
pub fn parse_ecb_rates(file: &str, bytes: &[u8]) -> Result<EcbRates, ErrorList> {
    let text = decode_utf8(file, bytes).map_err(|e| ErrorList(vec![e]))?;
    let Some((header, mut rows)) = CsvRows::open(file, text).map_err(|e| ErrorList(vec![e]))?
    else {
        return Err(ErrorList(vec![ImportError::new(
            file,
            1,
            None,
            None,
            format!("the file is empty: no fixings; {LAYOUT}"),
        )]));
    };
    let columns = read_header(file, &header).map_err(ErrorList)?;
    let currencies: Vec<Currency> = columns.iter().filter_map(|c| *c).collect();

    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut first_line_of: HashMap<Date, u64> = HashMap::new();
    while let Some((line, record)) = rows.next_row(&mut errors) {
        let before = errors.len();
        let mut fail = |column: usize, field: Option<&str>, message: String| {
            errors.push(ImportError::new(file, line, Some(column), field, message));
        };
        let date_text = record.get(0).unwrap_or("").trim();
        let date = if date_text.is_empty() {
            fail(1, Some("Date"), "is required".to_owned());
            None
        } else {
            match parse_ecb_date(date_text) {
                Ok(date) => match first_line_of.get(&date) {
                    Some(first) => {
                        fail(
                            1,
                            Some("Date"),
                            format!(
                                "{date} appears twice: its fixings are already on line {first}"
                            ),
                        );
                        None
                    }
                    None => {
                        first_line_of.insert(date, line);
                        Some(date)
                    }
                },
                Err(e) => {
                    fail(1, Some("Date"), e);
                    None
                }
            }
        };
        let mut rates = Vec::with_capacity(currencies.len());
        for (i, column) in columns.iter().enumerate() {
            let cell = record.get(i + 1).unwrap_or("").trim();
            match column {
                None if cell.is_empty() => {}
                None => fail(
                    i + 2,
                    None,
                    format!(
                        "`{cell}` is in the last column, which the header leaves unnamed (the trailing comma); a rate must sit under its currency"
                    ),
                ),
                Some(_) if cell.is_empty() || cell == "N/A" => {}
                Some(currency) => match parse_rate(cell) {
                    Ok(rate) => rates.push((*currency, rate)),
                    Err(message) => fail(i + 2, Some(currency.code()), message),
                },
            }
        }
        if let (Some(date), true) = (date, errors.len() == before) {
            out.push(EcbFixingRow { line, date, rates });
        }
    }
    if !errors.is_empty() {
        let mut errors = ErrorList(errors);
        errors.sort();
        return Err(errors);
    }
    if out.is_empty() {
        return Err(ErrorList(vec![ImportError::new(
            file,
            header.line,
            None,
            None,
            "the file has a header but no fixings: add one row per business day, e.g. `2024-07-10,1.0825,...`",
        )]));
    }
    out.sort_by_key(|r| r.date);
    Ok(EcbRates {
        rows: out,
        currencies,
    })
}

/// A date as the history writes it (`2026-11-04`) or as the daily file does (`04 November
/// 2026`); either is then held to the same checks.
fn parse_ecb_date(text: &str) -> Result<Date, String> {
    if !text.contains(' ') {
        return parse_date(text);
    }
    let written_out = Date::strptime("%d %B %Y", text).map_err(|_| {
        format!(
            "`{text}` is not a date; the ECB writes 2026-11-04 in its history and 04 November 2026 in its daily file"
        )
    })?;
    parse_date(&written_out.to_string())
}

/// The currency of each column after `Date`; `None` for the empty last column.
fn read_header(file: &str, header: &Header) -> Result<Vec<Option<Currency>>, Vec<ImportError>> {
    let line = header.line;
    let first = header.cells.first().map_or("", String::as_str);
    if first != "Date" {
        let message = if header.cells.len() == 1 && first.contains(';') {
            "the file is separated by `;`; the ECB publishes it comma-separated (download eurofxref-hist.csv again rather than re-saving it from a spreadsheet)".to_owned()
        } else {
            format!(
                "this is not the ECB reference-rate layout: the first column must be `Date`, found `{first}`; {LAYOUT}"
            )
        };
        return Err(vec![ImportError::new(file, line, Some(1), None, message)]);
    }
    let mut errors = Vec::new();
    let mut columns = Vec::new();
    let mut seen: HashMap<Currency, usize> = HashMap::new();
    let last = header.cells.len() - 1;
    for (i, name) in header.cells.iter().enumerate().skip(1) {
        let column = i + 1;
        let mut fail = |field: Option<&str>, message: String| {
            errors.push(ImportError::new(file, line, Some(column), field, message));
        };
        if name.is_empty() {
            if i != last {
                fail(
                    None,
                    "a column with no name; only the last column may be empty (the trailing comma of the ECB file)".to_owned(),
                );
            }
            columns.push(None);
            continue;
        }
        match Currency::parse(name) {
            Ok(c) if c == Currency::EUR => fail(
                Some(name),
                "EUR cannot be a column: every rate is in units of a currency per 1 EUR".to_owned(),
            ),
            Ok(c) => match seen.get(&c) {
                Some(first) => fail(
                    Some(name),
                    format!("currency {c} appears twice (first in column {first})"),
                ),
                None => {
                    seen.insert(c, column);
                    columns.push(Some(c));
                    continue;
                }
            },
            Err(e) => fail(
                Some(name),
                format!("{e}; each column after `Date` names a currency"),
            ),
        }
        columns.push(None);
    }
    if errors.is_empty() && seen.is_empty() {
        errors.push(ImportError::new(
            file,
            line,
            None,
            None,
            format!("the header names no currency; {LAYOUT}"),
        ));
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(errors)
    }
}

fn parse_rate(text: &str) -> Result<Decimal, String> {
    parse_positive_decimal(text, RATE_DECIMALS, RATE_INTEGER_DIGITS).map_err(|problem| match problem {
        DecimalProblem::Malformed => format!(
            "`{text}` is not a rate: write a positive decimal with a point, e.g. 1.0825 (or N/A for no fixing)"
        ),
        DecimalProblem::TooManyDecimals(n) => format!(
            "`{text}` has {n} decimal places; a rate has at most {RATE_DECIMALS}"
        ),
        DecimalProblem::NotPositive => {
            format!("`{text}` is not a rate: a rate is above 0 (write N/A for no fixing)")
        }
        DecimalProblem::TooLarge => format!(
            "`{text}` is too large for a rate: it must be below 1,000,000,000 units per euro"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HISTORY: &[u8] = include_bytes!("../../../data/ecb-eurofxref-hist.csv");

    fn messages(result: Result<EcbRates, ErrorList>) -> Vec<String> {
        result
            .expect_err("expected errors")
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn rate(rates: &EcbRates, date: Date, code: &str) -> Option<Decimal> {
        let currency = Currency::parse(code).expect("code");
        rates
            .rows
            .iter()
            .find(|r| r.date == date)?
            .rates
            .iter()
            .find(|(c, _)| *c == currency)
            .map(|(_, r)| *r)
    }

    #[test]
    fn the_published_history_parses() {
        let rates = parse_ecb_rates("eurofxref-hist.csv", HISTORY).expect("valid");
        assert_eq!(rates.rows.len(), 7126);
        assert_eq!(rates.currencies.len(), 41);
        assert_eq!(rates.currencies[0].code(), "USD");
        assert!(rates.rows.windows(2).all(|w| w[0].date < w[1].date));
        assert_eq!(rates.rows[0].date, Date::constant(1999, 1, 4));
        assert_eq!(
            rates.rows[0].line, 7127,
            "the oldest row is the file's last line"
        );
        let july_10 = Date::constant(2024, 7, 10);
        assert_eq!(rate(&rates, july_10, "USD"), Some(Decimal::new(10825, 4)));
        assert_eq!(
            rates
                .rows
                .iter()
                .find(|r| r.date == july_10)
                .map(|r| r.line),
            Some(592)
        );
        // A Saturday: no row.
        assert!(
            !rates
                .rows
                .iter()
                .any(|r| r.date == Date::constant(2024, 7, 13))
        );
        // The króna had no fixing from 10 December 2008 to the end of January 2018.
        assert!(rate(&rates, Date::constant(2008, 12, 9), "ISK").is_some());
        let gap = rates.rows.iter().filter(|r| {
            r.date >= Date::constant(2008, 12, 10) && r.date < Date::constant(2018, 2, 1)
        });
        let isk = Currency::parse("ISK").expect("ISK");
        assert!(gap.clone().count() > 2000);
        assert!(gap.flat_map(|r| &r.rates).all(|(c, _)| *c != isk));
        assert!(rate(&rates, Date::constant(2018, 2, 1), "ISK").is_some());
        // N/A is left out: the Cyprus pound left with the euro in 2008.
        assert_eq!(rate(&rates, july_10, "CYP"), None);
    }

    const DAILY: &[u8] = include_bytes!("../../../examples/eurofxref.csv");

    #[test]
    fn the_daily_file_parses_to_the_same_fixings_as_its_day_in_the_history() {
        let daily = parse_ecb_rates("eurofxref.csv", DAILY).expect("the daily file is valid");
        assert_eq!(daily.rows.len(), 1);
        let day = &daily.rows[0];
        assert_eq!(day.date, Date::constant(2026, 10, 30));
        assert_eq!(day.line, 2);
        assert_eq!(
            daily.currencies.len(),
            29,
            "only the currencies fixed that day"
        );
        let history = parse_ecb_rates("hist.csv", HISTORY).expect("valid");
        let same_day = history
            .rows
            .iter()
            .find(|r| r.date == day.date)
            .expect("in the history");
        assert_eq!(day.rates, same_day.rates);
    }

    #[test]
    fn a_written_out_date_is_held_to_the_same_checks() {
        let parse = |date: &str| {
            parse_ecb_rates("d.csv", format!("Date, USD, \n{date}, 1.1, \n").as_bytes())
        };
        let rates = parse("4 November 2026").expect("one digit day");
        assert_eq!(rates.rows[0].date, Date::constant(2026, 11, 4));
        let m = messages(parse("31 November 2026"));
        assert!(m[0].contains("d.csv:2:1: Date:"), "{m:?}");
        assert!(m[0].contains("04 November 2026"), "{m:?}");
        let m = messages(parse("04 November 1850"));
        assert!(m[0].contains("outside the years"), "{m:?}");
    }

    #[test]
    fn a_rate_header_is_told_apart_from_other_layouts() {
        assert!(looks_like_ecb_rates(&["Date", " USD", " JPY", " "]));
        assert!(looks_like_ecb_rates(&["Date", "USD", "JPY", ""]));
        assert!(!looks_like_ecb_rates(&["Date", "USD"]));
        assert!(!looks_like_ecb_rates(&["date", "USD", "JPY"]));
        assert!(!looks_like_ecb_rates(&[
            "event_id",
            "contribution_id",
            "donor"
        ]));
        assert!(!looks_like_ecb_rates(&["Date", "amount", "currency"]));
    }

    #[test]
    fn a_small_file_parses_in_ascending_order_with_na_and_trailing_commas() {
        let text = "Date,USD,JPY,ISK,\n2024-07-11,1.0855,175.39,N/A,\r\n\n  \n2024-07-10, 1.0825 ,174.79,,\n";
        let rates = parse_ecb_rates("r.csv", text.as_bytes()).expect("valid");
        let codes: Vec<&str> = rates.currencies.iter().map(Currency::code).collect();
        assert_eq!(codes, ["USD", "JPY", "ISK"]);
        assert_eq!(
            rates
                .rows
                .iter()
                .map(|r| (r.date, r.line))
                .collect::<Vec<_>>(),
            [
                (Date::constant(2024, 7, 10), 5),
                (Date::constant(2024, 7, 11), 2)
            ]
        );
        assert_eq!(rates.rows[0].rates.len(), 2, "an empty cell is no fixing");
        assert_eq!(rates.rows[1].rates.len(), 2, "N/A is no fixing");
        // Without the trailing commas too.
        let plain = "Date,USD\n2024-07-10,1.0825\n";
        assert_eq!(
            parse_ecb_rates("r.csv", plain.as_bytes()).map(|r| r.rows.len()),
            Ok(1)
        );
    }

    #[test]
    fn another_layout_gets_one_error() {
        let contributions = b"event_id,contribution_id,donor\nA,B,DEU\nC,D,FRA\n";
        assert_eq!(
            messages(parse_ecb_rates("c.csv", contributions)),
            [format!(
                "c.csv:1:1: this is not the ECB reference-rate layout: the first column must be `Date`, found `event_id`; {LAYOUT}"
            )]
        );
        let semicolons = b"Date;USD;JPY\n2024-07-10;1,0825;174,79\n";
        let e = messages(parse_ecb_rates("s.csv", semicolons));
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("s.csv:1:1: the file is separated by `;`"),
            "{e:?}"
        );
    }

    #[test]
    fn empty_and_header_only_files_have_no_fixings() {
        for text in ["", "\u{feff}", "\n \n"] {
            let e = messages(parse_ecb_rates("r.csv", text.as_bytes()));
            assert_eq!(e.len(), 1);
            assert!(
                e[0].starts_with("r.csv:1: the file is empty: no fixings;"),
                "{e:?}"
            );
        }
        assert_eq!(
            messages(parse_ecb_rates("r.csv", b"\nDate,USD,\n")),
            [
                "r.csv:2: the file has a header but no fixings: add one row per business day, e.g. `2024-07-10,1.0825,...`"
            ]
        );
        assert_eq!(
            messages(parse_ecb_rates("r.csv", b"Date,\n2024-07-10,\n")),
            [format!("r.csv:1: the header names no currency; {LAYOUT}")]
        );
    }

    #[test]
    fn header_errors_are_located_in_their_column() {
        let text = "Date,USD,XYZ,,EUR,usd,USD,\n2024-07-10,1,1,,1,1,1,\n";
        assert_eq!(
            messages(parse_ecb_rates("r.csv", text.as_bytes())),
            [
                "r.csv:1:3: XYZ: `XYZ` is not a known ISO 4217 currency; each column after `Date` names a currency",
                "r.csv:1:4: a column with no name; only the last column may be empty (the trailing comma of the ECB file)",
                "r.csv:1:5: EUR: EUR cannot be a column: every rate is in units of a currency per 1 EUR",
                "r.csv:1:6: usd: `usd` is not an ISO 4217 currency code (three capital letters, e.g. EUR, USD, JPY); each column after `Date` names a currency",
                "r.csv:1:7: USD: currency USD appears twice (first in column 2)",
            ]
        );
    }

    #[test]
    fn every_row_error_is_located() {
        let text = "Date,USD,JPY,\n\
            2024-07-12,1,0825,174.79,\n\
            2024-07-11,1.0855,\n\
            2024-07-10,1.0825,174.79,x\n\
            2024-07-09,-1.08,1e2,\n\
            2024-07-08,0,1000000000,\n\
            2024-07-05,1.12345678901,1.000,\n\
            2024-07-10,1.0825,174.79,\n\
            2024-02-30,1.0825,174.79,\n\
            10/07/2024,1.0825,174.79,\n\
            ,1.0825,174.79,\n";
        assert_eq!(
            messages(parse_ecb_rates("r.csv", text.as_bytes())),
            [
                "r.csv:2:5: row has 5 cells, the header has 4 (an unquoted `,` inside a cell, such as a decimal comma?)",
                "r.csv:3:4: row has 3 cells, the header has 4",
                "r.csv:4:4: `x` is in the last column, which the header leaves unnamed (the trailing comma); a rate must sit under its currency",
                "r.csv:5:2: USD: `-1.08` is not a rate: write a positive decimal with a point, e.g. 1.0825 (or N/A for no fixing)",
                "r.csv:5:3: JPY: `1e2` is not a rate: write a positive decimal with a point, e.g. 1.0825 (or N/A for no fixing)",
                "r.csv:6:2: USD: `0` is not a rate: a rate is above 0 (write N/A for no fixing)",
                "r.csv:6:3: JPY: `1000000000` is too large for a rate: it must be below 1,000,000,000 units per euro",
                "r.csv:7:2: USD: `1.12345678901` has 11 decimal places; a rate has at most 10",
                "r.csv:8:1: Date: 2024-07-10 appears twice: its fixings are already on line 4",
                "r.csv:9:1: Date: `2024-02-30` is not a real date: month 2 of 2024 has 29 days",
                "r.csv:10:1: Date: `10/07/2024` is not a date; write YYYY-MM-DD, e.g. 2024-07-10",
                "r.csv:11:1: Date: is required",
            ]
        );
        let comma = "Date,USD,\n2024-07-10,\"1,0825\",\n";
        assert_eq!(
            messages(parse_ecb_rates("r.csv", comma.as_bytes())),
            [
                "r.csv:2:2: USD: `1,0825` is not a rate: write a positive decimal with a point, e.g. 1.0825 (or N/A for no fixing)"
            ]
        );
    }

    #[test]
    fn encoding_and_quoting_problems_are_single_located_errors() {
        let latin1 = b"Date,USD,\n2024-07-10,1.08\xE9,\n";
        let e = messages(parse_ecb_rates("r.csv", latin1));
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("r.csv:2:16: the file is not UTF-8"),
            "{e:?}"
        );
    }
}
