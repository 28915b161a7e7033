//! Importing exchange rates: the ECB reference-rate history, one log event per publication day.
//! All of a file or none of it; a day already recorded with the same rates is skipped, with
//! different rates refused (a recorded fixing is never changed, so no past report moves).

use jiff::civil::Date;
use serde::Serialize;
use steadfast_domain::fx::ECB;
use steadfast_domain::{Currency, Draft, Field, FxFixingsPublished, Ledger};
use steadfast_ingest::{EcbRates, ErrorList, ImportError};

use crate::AppError;
use crate::queries::LogHead;
use crate::write::{Decided, Recorded};

/// What a rate import did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FxImportOutcome {
    pub file: String,
    pub source: &'static str,
    /// Publication days in the file.
    pub days: u64,
    pub new_days: u64,
    pub already_recorded: u64,
    pub currencies: Vec<Currency>,
    pub first_date: Option<Date>,
    pub last_date: Option<Date>,
    pub events_appended: u64,
    pub dry_run: bool,
    pub log_head: LogHead,
}

impl FxImportOutcome {
    /// Nothing done yet for this file.
    pub fn new(file: &str, rates: &EcbRates, dry_run: bool) -> Self {
        FxImportOutcome {
            file: file.to_owned(),
            source: ECB,
            days: rates.rows.len() as u64,
            new_days: 0,
            already_recorded: 0,
            currencies: rates.currencies.clone(),
            first_date: rates.rows.first().map(|r| r.date),
            last_date: rates.rows.last().map(|r| r.date),
            events_appended: 0,
            dry_run,
            log_head: LogHead::of(None),
        }
    }
}

impl Recorded for FxImportOutcome {
    fn recorded(&mut self, events_appended: u64, head: LogHead) {
        self.events_appended = events_appended;
        self.log_head = head;
    }
}

/// Decides every publication day of a parsed file into `draft`; returns every refusal, located
/// at its line.
pub(crate) fn decide_rates(
    draft: &mut Draft<'_>,
    file: &str,
    rates: &EcbRates,
    outcome: &mut FxImportOutcome,
) -> ErrorList {
    let mut errors = Vec::new();
    for row in &rates.rows {
        let event = FxFixingsPublished {
            source: ECB.to_owned(),
            date: row.date,
            rates: row.rates.iter().copied().collect(),
        };
        match draft.record_fixings(event) {
            Ok(true) => outcome.new_days += 1,
            Ok(false) => outcome.already_recorded += 1,
            Err(refusal) => {
                for reason in refusal {
                    // The cell of the currency at fault: `Date` is column 1, then header order;
                    // a reason about no currency is about the day itself.
                    let (column, field) = match reason.field {
                        Some(Field::Rate(c)) => (
                            rates.currencies.iter().position(|h| *h == c).map(|i| i + 2),
                            c.to_string(),
                        ),
                        _ => (Some(1), "Date".to_owned()),
                    };
                    errors.push(ImportError::new(
                        file,
                        row.line,
                        column.or(Some(1)),
                        Some(&field),
                        reason.message,
                    ));
                }
            }
        }
    }
    let mut list = ErrorList(errors);
    list.sort();
    list
}

/// Decides a parsed rate file against a ledger: what importing it would do, and the events.
pub fn decide_rate_file(
    ledger: &Ledger,
    file: &str,
    rates: &EcbRates,
    dry_run: bool,
) -> Decided<FxImportOutcome> {
    let mut outcome = FxImportOutcome::new(file, rates, dry_run);
    let mut draft = Draft::new(ledger);
    let errors = decide_rates(&mut draft, file, rates, &mut outcome);
    if errors.0.is_empty() {
        Ok((outcome, draft.into_events()))
    } else {
        Err(AppError::Rejected(errors))
    }
}
