//! The contributions CSV: one row per stage event.
//!
//! Layout (documented in the README): the header names exactly these columns, in any order:
//! `event_id,contribution_id,donor,recipient,stage,effective_date,amount,currency,category,
//! channel,visibility,quantity,unit,valuation_basis,amends,reason,source_url,description`,
//! and optionally `source_kind`.

use std::collections::HashMap;

use rust_decimal::Decimal;
use steadfast_domain::{
    Category, Channel, Condition, ContributionId, Currency, DatasetId, EventId, Field, Money,
    PartyId, Quantity, RecordStage, SourceKind, Stage, ValuationBasis, Visibility,
};

use crate::header::check_header_with;
use crate::location::{ErrorList, ImportError};
use crate::text::{LineCounter, decode_utf8, parse_date};

/// The columns of the import layout, in their documented order.
pub const HEADER: [&str; 18] = [
    "event_id",
    "contribution_id",
    "donor",
    "recipient",
    "stage",
    "effective_date",
    "amount",
    "currency",
    "category",
    "channel",
    "visibility",
    "quantity",
    "unit",
    "valuation_basis",
    "amends",
    "reason",
    "source_url",
    "description",
];

/// Columns a file may leave out.
pub const OPTIONAL_COLUMNS: [&str; 1] = ["source_kind"];

/// Options of a CSV import.
#[derive(Debug, Clone, Copy, Default)]
pub struct CsvOptions {
    /// Accept (and ignore) columns outside the layout instead of refusing the file.
    pub ignore_extra: bool,
}

/// A row that parsed into a command, with the line it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionRow {
    pub line: u64,
    pub command: RecordStage,
}

/// A parsed file: the good rows, every problem found, and where each column sits so later
/// (business-rule) errors can be located too.
#[derive(Debug, Clone, Default)]
pub struct ParsedContributions {
    pub file: String,
    pub rows: Vec<ContributionRow>,
    pub errors: ErrorList,
    /// 1-based column of each layout field in this file.
    pub columns: HashMap<&'static str, usize>,
    /// Data rows read (good and bad).
    pub rows_read: u64,
}

impl ParsedContributions {
    /// Puts every row's contribution in `dataset` (rows are parsed without one: a row of a
    /// recorded contribution goes to its dataset, a new contribution to `ledger`).
    pub fn in_dataset(mut self, dataset: &DatasetId) -> Self {
        for row in &mut self.rows {
            row.command.dataset = Some(dataset.clone());
        }
        self
    }

    /// An error about a field of a row, located at that field's column.
    /// Locates a rule's refusal of a row at its line and the column of the field at fault.
    pub fn reason_at(&self, line: u64, reason: steadfast_domain::Reason) -> ImportError {
        match reason.field {
            Some(field) => self.error_at(line, field, reason.message),
            None => ImportError::new(&self.file, line, None, None, reason.message),
        }
    }

    pub fn error_at(&self, line: u64, field: Field, message: impl Into<String>) -> ImportError {
        ImportError::new(
            &self.file,
            line,
            self.columns.get(field.name()).copied(),
            Some(field.name()),
            message,
        )
    }
}

const MAX_TEXT: usize = 2_000;

/// Reads a CSV file's bytes into stage commands, collecting every problem.
/// `progress` is told the number of data rows read every few thousand rows.
pub fn parse_contributions(
    file: &str,
    bytes: &[u8],
    options: CsvOptions,
    progress: &mut dyn FnMut(u64),
) -> ParsedContributions {
    let mut out = ParsedContributions {
        file: file.to_owned(),
        ..ParsedContributions::default()
    };
    let text = match decode_utf8(file, bytes) {
        Ok(t) => t,
        Err(e) => {
            out.errors.0.push(e);
            return out;
        }
    };
    if text.trim().is_empty() {
        out.errors.0.push(ImportError::new(
            file,
            1,
            None,
            None,
            format!(
                "the file is empty; expected a header line: {}",
                HEADER.join(",")
            ),
        ));
        return out;
    }
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .has_headers(true)
        .from_reader(text.as_bytes());
    let header = match reader.headers() {
        Ok(h) => h.clone(),
        Err(e) => {
            out.errors.0.push(ImportError::new(
                file,
                1,
                None,
                None,
                format!("unreadable header: {e}"),
            ));
            return out;
        }
    };
    let names: Vec<&str> = header.iter().collect();
    if crate::ecb::looks_like_ecb_rates(&names) {
        out.errors.0.push(ImportError::new(
            file,
            1,
            None,
            None,
            "this is an ECB reference-rate file (`Date`, then currency codes), not stage events; import it with `steadfast fx import FILE`",
        ));
        return out;
    }
    out.columns = match check_header_with(
        file,
        &header,
        &HEADER,
        &OPTIONAL_COLUMNS,
        options.ignore_extra,
    ) {
        Ok(c) => c,
        Err(errors) => {
            out.errors.0.extend(errors);
            return out;
        }
    };
    let width = header.len();
    let mut lines = LineCounter::new(text);
    let mut record = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut record) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                out.errors.0.push(ImportError::new(
                    file,
                    line,
                    None,
                    None,
                    format!("unreadable row: {e}"),
                ));
                // A CSV syntax error (an unbalanced quote) desynchronises the rest of the file.
                break;
            }
        }
        out.rows_read += 1;
        if out.rows_read.is_multiple_of(4096) {
            progress(out.rows_read);
        }
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        if record.len() == 1 && record.get(0).is_some_and(|c| c.trim().is_empty()) {
            out.rows_read -= 1;
            continue; // a blank line
        }
        if record.len() != width {
            // Point at the first cell too many, or at the first one missing.
            let column = record.len().min(width) + 1;
            let hint = if record.len() > width {
                " (an unquoted `,` inside a cell — a decimal comma such as 1250000,50, or a description with a comma that needs quotes?)"
            } else {
                ""
            };
            out.errors.0.push(ImportError::new(
                file,
                line,
                Some(column),
                None,
                format!(
                    "row has {} cells, the header has {width}{hint}",
                    record.len()
                ),
            ));
            continue;
        }
        match parse_row(&out, &record, line) {
            Ok(command) => out.rows.push(ContributionRow { line, command }),
            Err(errors) => out.errors.0.extend(errors),
        }
    }
    progress(out.rows_read);
    out
}

struct Cells<'a> {
    parsed: &'a ParsedContributions,
    record: &'a csv::StringRecord,
    line: u64,
    errors: Vec<ImportError>,
}

impl Cells<'_> {
    fn text(&mut self, field: Field) -> &str {
        let column = self.parsed.columns.get(field.name()).copied().unwrap_or(0);
        let value = self.record.get(column.wrapping_sub(1)).unwrap_or("").trim();
        if value.chars().count() > MAX_TEXT {
            self.fail(field, format!("longer than {MAX_TEXT} characters"));
            return "";
        }
        if value.contains('\n') {
            let lines = value.matches('\n').count() + 1;
            self.fail(
                field,
                format!(
                    "the cell spans {lines} lines: line breaks are not accepted inside cells, and a `\"` that is never closed takes in the rows after it (they are not checked until it is fixed)"
                ),
            );
            return "";
        }
        if value.chars().any(char::is_control) {
            self.fail(
                field,
                "contains a control character (a tab or carriage return inside a cell?)",
            );
            return "";
        }
        value
    }

    fn optional(&mut self, field: Field) -> Option<String> {
        let v = self.text(field);
        (!v.is_empty()).then(|| v.to_owned())
    }

    fn required(&mut self, field: Field) -> Option<String> {
        let v = self.optional(field);
        if v.is_none() && !self.has_error(field) {
            self.fail(field, "is required");
        }
        v
    }

    fn has_error(&self, field: Field) -> bool {
        self.errors
            .iter()
            .any(|e| e.location.field.as_deref() == Some(field.name()))
    }

    fn fail(&mut self, field: Field, message: impl Into<String>) {
        let e = self.parsed.error_at(self.line, field, message);
        self.errors.push(e);
    }

    fn parse<T, E: std::fmt::Display>(
        &mut self,
        field: Field,
        required: bool,
        parse: impl FnOnce(&str) -> Result<T, E>,
    ) -> Option<T> {
        let text = if required {
            self.required(field)?
        } else {
            self.optional(field)?
        };
        match parse(&text) {
            Ok(v) => Some(v),
            Err(e) => {
                self.fail(field, e.to_string());
                None
            }
        }
    }
}

fn parse_quantity_value(text: &str) -> Result<Decimal, String> {
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let (int_part, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !int_part.is_empty()
        && int_part.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.contains('.') && frac.is_empty())
        && int_part.trim_start_matches('0').len() <= 15
        && frac.len() <= 6;
    if !ok {
        return Err(format!(
            "`{text}` is not a quantity; write a number below 10^15 with at most 6 decimals and a decimal point, e.g. 14000 or 2.5"
        ));
    }
    text.parse::<Decimal>()
        .map(|d| d.normalize())
        .map_err(|_| format!("`{text}` is not a quantity"))
}

fn parse_url(text: &str) -> Result<String, String> {
    let ok = (text.starts_with("https://") || text.starts_with("http://"))
        && text.len() > "https://".len()
        && !text.chars().any(char::is_whitespace);
    if ok {
        Ok(text.to_owned())
    } else {
        Err(format!("`{text}` is not an http(s) URL"))
    }
}

fn parse_row(
    parsed: &ParsedContributions,
    record: &csv::StringRecord,
    line: u64,
) -> Result<RecordStage, Vec<ImportError>> {
    let mut c = Cells {
        parsed,
        record,
        line,
        errors: Vec::new(),
    };
    let event = c.parse(Field::EventId, true, EventId::parse);
    let contribution = c.parse(Field::ContributionId, true, ContributionId::parse);
    let donor = c.parse(Field::Donor, true, PartyId::parse);
    let recipient = c.parse(Field::Recipient, true, PartyId::parse);
    let stage = c.parse(Field::Stage, true, Stage::parse);
    let effective_date = c.parse(Field::EffectiveDate, true, parse_date);
    let currency = c.parse(Field::Currency, false, Currency::parse);
    let amount_text = c.optional(Field::Amount);
    let money = match (amount_text, currency) {
        (Some(text), Some(cur)) => match Money::parse(&text, cur) {
            Ok(m) => Some(m),
            Err(e) => {
                c.fail(Field::Amount, e.to_string());
                None
            }
        },
        (Some(text), None) => {
            if !c.has_error(Field::Currency) {
                c.fail(
                    Field::Currency,
                    format!("amount `{text}` needs its currency"),
                );
            }
            None
        }
        (None, _) => None,
    };
    let category = c.parse(Field::Category, true, Category::parse);
    let channel = c.parse(Field::Channel, true, Channel::parse);
    let visibility = c.parse(Field::Visibility, true, Visibility::parse);
    let quantity_value = c.parse(Field::Quantity, false, parse_quantity_value);
    let unit = c.optional(Field::Unit);
    let quantity = match (quantity_value, unit) {
        (Some(value), Some(unit)) => Some(Quantity { value, unit }),
        (Some(_), None) => {
            c.fail(Field::Unit, "a quantity needs its unit");
            None
        }
        (None, Some(unit)) => {
            if !c.has_error(Field::Quantity) {
                c.fail(
                    Field::Quantity,
                    format!("unit `{unit}` is given without a quantity"),
                );
            }
            None
        }
        (None, None) => None,
    };
    let valuation_basis = c.parse(Field::ValuationBasis, false, ValuationBasis::parse);
    let amends = c.parse(Field::Amends, false, EventId::parse);
    let reason_text = c.optional(Field::Reason);
    let (reason, condition) = match (stage, reason_text) {
        (Some(Stage::Confirmed), Some(text)) => match Condition::parse(&text) {
            Ok(cond) => (None, Some(cond)),
            Err(e) => {
                c.fail(
                    Field::Reason,
                    format!("on a confirmed row `reason` holds the condition received: {e}"),
                );
                (None, None)
            }
        },
        (_, text) => (text, None),
    };
    let source_url = c.parse(Field::SourceUrl, false, parse_url);
    let description = c.optional(Field::Description);
    let source_kind = c.parse(Field::SourceKind, false, SourceKind::parse);
    if !c.errors.is_empty() {
        return Err(c.errors);
    }
    match (
        event,
        contribution,
        donor,
        recipient,
        stage,
        effective_date,
        category,
        channel,
        visibility,
    ) {
        (
            Some(event),
            Some(contribution),
            Some(donor),
            Some(recipient),
            Some(stage),
            Some(effective_date),
            Some(category),
            Some(channel),
            Some(visibility),
        ) => Ok(RecordStage {
            event,
            contribution,
            donor,
            recipient,
            category,
            channel,
            visibility,
            stage,
            effective_date,
            money,
            quantity,
            valuation_basis,
            amends,
            reason,
            condition,
            source_url,
            description,
            source_kind,
            citation: None,
            dataset: None,
        }),
        _ => Err(vec![ImportError::new(
            &parsed.file,
            line,
            None,
            None,
            "row is incomplete",
        )]),
    }
}
