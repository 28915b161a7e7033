//! The Kiel Institute's Ukraine Support Tracker, in the files its public website reads
//! (`data/kiel-ust-r29/` holds Release 29 and a README with the units).
//!
//! - `data_explorer.csv` (`parse_tracker`): one donor in one month, with the month's
//!   allocations in EUR billions (`total`, `financial`, `humanitarian`, `military`) and, as
//!   context, `commitments` and `to_be_allocated`. Columns come in any order; `country,iso,year,
//!   month,total,financial,humanitarian,military` are required, everything else (`gdp`,
//!   `pct_gdp`, columns of later releases) is ignored. A donor-month with no activity has no row.
//! - `release_info.csv` (`parse_tracker_release`): `release,period,date,label`, one row.
//! - `weapons.csv` (`parse_tracker_weapons`): heavy weapons by donor and category, cumulative,
//!   the donor named (not coded) and the value in euros.
//!
//! Amounts are read exactly as written, as decimals. An amount in EUR billions has at most 11
//! decimals — a euro cent, the finest amount a `Money` in EUR holds — and is below 10,000 EUR
//! billions (10^15 cents, `MAX_AMOUNT_UNITS`), so every figure converts to euros without
//! rounding; Release 29 writes 6 decimals (thousands of euros). The tracker writes strings
//! quoted and numbers bare; cells are trimmed, and what remains must be exact (`0.5`, never
//! `0,5`, `5e-1` or `NA` for an allocation).

use std::collections::HashMap;
use std::collections::hash_map::Entry;

use jiff::civil::Date;
use rust_decimal::Decimal;
use steadfast_domain::{PartyId, PartyKind};

use crate::csv_rows::{CsvRows, Header};
use crate::location::{ErrorList, ImportError};
use crate::text::{DecimalProblem, decode_utf8, parse_date, parse_plain_decimal};

/// One donor-month of `data_explorer.csv` (amounts as published: EUR billions, exact decimals).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerRow {
    pub line: u64,
    /// From the `iso` column: an ISO 3166-1 alpha-3 state, or `EU` for the EU institutions.
    pub donor: PartyId,
    /// The `country` column as written (`EU (Commission and Council)` for `EU`).
    pub country: String,
    /// The first day of the row's month.
    pub month: Date,
    /// Allocations in the month, EUR billions; `total` is exactly the sum of the other three.
    pub total: Decimal,
    pub financial: Decimal,
    pub humanitarian: Decimal,
    pub military: Decimal,
    /// Commitments of all aid types made in the month, EUR billions (0 or more); `None` when the
    /// column is absent or the cell is empty or `NA`.
    pub commitments: Option<Decimal>,
    /// Committed but not yet allocated, EUR billions, a monthly flow: negative when the month's
    /// allocations exceed its commitments (406 of Release 29's 1,079 rows). In Release 29 it is
    /// exactly `commitments - total` on every row. `None` as for `commitments`.
    pub to_be_allocated: Option<Decimal>,
}

/// A whole `data_explorer.csv`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerFile {
    /// In file order (the tracker sorts by country name, then month).
    pub rows: Vec<TrackerRow>,
    /// The earliest and the latest month of any row (first days of months).
    pub first_month: Date,
    pub last_month: Date,
    /// The file's name, for the errors a later check locates in it.
    pub file: String,
    /// The 1-based column of each column the file has, by name.
    pub columns: HashMap<&'static str, usize>,
}

/// `release_info.csv`: which release a set of tracker files is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrackerRelease {
    /// The release number, e.g. `29`.
    pub release: String,
    /// The last month of data, `MM/YYYY`, e.g. `04/2026`.
    pub period: String,
    /// The publication date.
    pub date: Date,
    pub label: String,
}

/// One donor's heavy weapons of one category in `weapons.csv`, cumulative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WeaponsRow {
    pub line: u64,
    /// The `donor` column as written, e.g. `United States`.
    pub donor_name: String,
    /// The party the name denotes (`PartyId::by_name`); `None` for a name the reference tables do
    /// not know, which is not an error.
    pub donor: Option<PartyId>,
    pub category: String,
    pub number: u64,
    /// In euros (not billions); `None` when the cell is empty or `NA`.
    pub value_eur: Option<Decimal>,
    /// The systems and their counts as written, e.g. `M777 howitzer (183); 105mm howitzer (72)`.
    pub list: String,
}

/// A cent: the finest amount in EUR billions that is a whole number of cents.
const AMOUNT_DECIMALS: usize = 11;
/// Below 10,000 EUR billions: 10^15 cents, the most a `Money` holds.
const AMOUNT_INTEGER_DIGITS: usize = 4;
/// Weapon values are in euros: at most cents, below 10^13 euros (the same bound as amounts).
const VALUE_EUR_DECIMALS: usize = 2;
const VALUE_EUR_INTEGER_DIGITS: usize = 13;

const TRACKER_REQUIRED: [&str; 8] = [
    "country",
    "iso",
    "year",
    "month",
    "total",
    "financial",
    "humanitarian",
    "military",
];
const TRACKER_OPTIONAL: [&str; 2] = ["commitments", "to_be_allocated"];
const TRACKER_LAYOUT: &str = "the tracker's data_explorer.csv has a header naming `country,iso,year,month,total,financial,humanitarian,military` (in any order; `commitments`, `to_be_allocated` and others may follow) and one row per donor and month";

const RELEASE_REQUIRED: [&str; 4] = ["release", "period", "date", "label"];
const RELEASE_LAYOUT: &str = "the tracker's release_info.csv has the header `release,period,date,label` and one row, e.g. `\"29\",\"04/2026\",\"2026-08-04\",\"Ukraine Support Tracker, Release 29 (04/2026)\"`";

const WEAPONS_REQUIRED: [&str; 5] = [
    "donor",
    "category",
    "number_of_weapons",
    "monetary_value_eur",
    "weapons_list",
];
const WEAPONS_LAYOUT: &str = "the tracker's weapons.csv has the header `donor,category,number_of_weapons,monetary_value_eur,weapons_list` and one row per donor and weapon category";

/// Parses the tracker's `data_explorer.csv`, collecting every problem of the file.
pub fn parse_tracker(file: &str, bytes: &[u8]) -> Result<TrackerFile, ErrorList> {
    let (header, mut rows) = open(file, bytes, TRACKER_LAYOUT)?;
    let columns = find_columns(
        file,
        &header,
        &TRACKER_REQUIRED,
        &TRACKER_OPTIONAL,
        TRACKER_LAYOUT,
    )
    .map_err(ErrorList)?;

    let mut errors = Vec::new();
    let mut out: Vec<TrackerRow> = Vec::new();
    let mut first_line_of: HashMap<(PartyId, Date), u64> = HashMap::new();
    while let Some((line, record)) = rows.next_row(&mut errors) {
        let before = errors.len();
        let mut cells = Cells {
            file,
            line,
            record,
            columns: &columns,
            errors: &mut errors,
        };
        let country = cells.text("country", true);
        let donor = cells.parse("iso", parse_donor);
        let year = cells.parse("year", parse_year);
        let month_number = cells.parse("month", parse_month);
        let total = cells.parse("total", parse_allocation);
        let financial = cells.parse("financial", parse_allocation);
        let humanitarian = cells.parse("humanitarian", parse_allocation);
        let military = cells.parse("military", parse_allocation);
        let commitments = cells.optional("commitments", parse_commitments);
        let to_be_allocated = cells.optional("to_be_allocated", parse_flow);
        if let (Some(total), Some(financial), Some(humanitarian), Some(military)) =
            (total, financial, humanitarian, military)
        {
            let sum = financial + humanitarian + military;
            if total != sum {
                cells.fail(
                    "total",
                    format!(
                        "`{total}` is not financial + humanitarian + military = {financial} + {humanitarian} + {military} = {sum}: the total must be exactly their sum (check the four cells of this row)"
                    ),
                );
            }
        }
        let month = year
            .zip(month_number)
            .and_then(|(y, m)| Date::new(y, m, 1).ok());
        if let (Some(donor), Some(month)) = (&donor, month) {
            match first_line_of.entry((donor.clone(), month)) {
                Entry::Occupied(first) => cells.fail(
                    "iso",
                    format!(
                        "{donor} in {}-{:02} appears twice: first on line {}; a donor has one row per month",
                        month.year(),
                        month.month(),
                        first.get()
                    ),
                ),
                Entry::Vacant(slot) => {
                    slot.insert(line);
                }
            }
        }
        let complete = (
            country,
            donor,
            month,
            total,
            financial,
            humanitarian,
            military,
        );
        if let (
            Some(country),
            Some(donor),
            Some(month),
            Some(total),
            Some(financial),
            Some(humanitarian),
            Some(military),
        ) = complete
            && errors.len() == before
        {
            out.push(TrackerRow {
                line,
                donor,
                country,
                month,
                total,
                financial,
                humanitarian,
                military,
                commitments: commitments.flatten(),
                to_be_allocated: to_be_allocated.flatten(),
            });
        }
    }
    refuse_if_any(errors)?;
    let months = out.iter().map(|r| r.month);
    let (Some(first_month), Some(last_month)) = (months.clone().min(), months.max()) else {
        return Err(no_rows(
            file,
            &header,
            "add one row per donor and month, e.g. `\"Australia\",\"AUS\",2022,2,0.002645,0,0,0.002645`",
        ));
    };
    Ok(TrackerFile {
        rows: out,
        first_month,
        last_month,
        file: file.to_owned(),
        columns: columns.iter().map(|(k, i)| (*k, i + 1)).collect(),
    })
}

/// Parses the tracker's `release_info.csv`: its one row.
pub fn parse_tracker_release(file: &str, bytes: &[u8]) -> Result<TrackerRelease, ErrorList> {
    let (header, mut rows) = open(file, bytes, RELEASE_LAYOUT)?;
    let columns =
        find_columns(file, &header, &RELEASE_REQUIRED, &[], RELEASE_LAYOUT).map_err(ErrorList)?;
    let mut errors = Vec::new();
    let mut first_row: Option<u64> = None;
    let mut out = None;
    while let Some((line, record)) = rows.next_row(&mut errors) {
        if let Some(first) = first_row {
            errors.push(ImportError::new(
                file,
                line,
                None,
                None,
                format!(
                    "a second release row: release_info.csv holds exactly one, on line {first}; remove this one"
                ),
            ));
            continue;
        }
        first_row = Some(line);
        let before = errors.len();
        let mut cells = Cells {
            file,
            line,
            record,
            columns: &columns,
            errors: &mut errors,
        };
        let release = cells.parse("release", parse_release_number);
        let period = cells.parse("period", parse_period);
        let date = cells.parse("date", parse_date);
        let label = cells.text("label", true);
        if let (Some(release), Some(period), Some(date), Some(label), true) =
            (release, period, date, label, errors.len() == before)
        {
            out = Some(TrackerRelease {
                release,
                period,
                date,
                label,
            });
        }
    }
    refuse_if_any(errors)?;
    // With no error, a row that was read was kept.
    out.ok_or_else(|| {
        no_rows(
            file,
            &header,
            "add the release's row, e.g. `\"29\",\"04/2026\",\"2026-08-04\",\"Ukraine Support Tracker, Release 29 (04/2026)\"`",
        )
    })
}

/// Parses the tracker's `weapons.csv`, collecting every problem of the file; rows in file order.
pub fn parse_tracker_weapons(file: &str, bytes: &[u8]) -> Result<Vec<WeaponsRow>, ErrorList> {
    let (header, mut rows) = open(file, bytes, WEAPONS_LAYOUT)?;
    let columns =
        find_columns(file, &header, &WEAPONS_REQUIRED, &[], WEAPONS_LAYOUT).map_err(ErrorList)?;
    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut first_line_of: HashMap<(String, String), u64> = HashMap::new();
    while let Some((line, record)) = rows.next_row(&mut errors) {
        let before = errors.len();
        let mut cells = Cells {
            file,
            line,
            record,
            columns: &columns,
            errors: &mut errors,
        };
        let donor_name = cells.text("donor", true);
        let category = cells.text("category", true);
        let number = cells.parse("number_of_weapons", parse_count);
        let value_eur = cells.optional("monetary_value_eur", parse_value_eur);
        let list = cells.text("weapons_list", false);
        if let (Some(donor_name), Some(category)) = (&donor_name, &category) {
            match first_line_of.entry((donor_name.clone(), category.clone())) {
                Entry::Occupied(first) => cells.fail(
                    "category",
                    format!(
                        "{donor_name}'s `{category}` appears twice: first on line {}; a donor has one row per category",
                        first.get()
                    ),
                ),
                Entry::Vacant(slot) => {
                    slot.insert(line);
                }
            }
        }
        if let (Some(donor_name), Some(category), Some(number), Some(value_eur), Some(list), true) = (
            donor_name,
            category,
            number,
            value_eur,
            list,
            errors.len() == before,
        ) {
            out.push(WeaponsRow {
                line,
                donor: PartyId::by_name(&donor_name),
                donor_name,
                category,
                number,
                value_eur,
                list,
            });
        }
    }
    refuse_if_any(errors)?;
    if out.is_empty() {
        return Err(no_rows(
            file,
            &header,
            "add one row per donor and weapon category, e.g. `\"Australia\",\"Howitzers\",6,28672479,\"M777 howitzer (6)\"`",
        ));
    }
    Ok(out)
}

/// Decodes the file and reads up to its header; an empty file is one error.
fn open<'t>(file: &str, bytes: &'t [u8], layout: &str) -> Result<(Header, CsvRows<'t>), ErrorList> {
    let text = decode_utf8(file, bytes).map_err(|e| ErrorList(vec![e]))?;
    match CsvRows::open(file, text).map_err(|e| ErrorList(vec![e]))? {
        Some(opened) => Ok(opened),
        None => Err(ErrorList(vec![ImportError::new(
            file,
            1,
            None,
            None,
            format!("the file is empty; {layout}"),
        )])),
    }
}

/// The file's errors in file order, if it has any.
fn refuse_if_any(errors: Vec<ImportError>) -> Result<(), ErrorList> {
    if errors.is_empty() {
        return Ok(());
    }
    let mut errors = ErrorList(errors);
    errors.sort();
    Err(errors)
}

/// The one error of a file with a header and no rows.
fn no_rows(file: &str, header: &Header, example: &str) -> ErrorList {
    ErrorList(vec![ImportError::new(
        file,
        header.line,
        None,
        None,
        format!("the file has a header but no rows: {example}"),
    )])
}

/// Where each column of a layout sits (0-based). Columns may come in any order; each required
/// one must be there once, an optional one at most once; any other column is ignored.
fn find_columns(
    file: &str,
    header: &Header,
    required: &[&'static str],
    optional: &[&'static str],
    layout: &str,
) -> Result<HashMap<&'static str, usize>, Vec<ImportError>> {
    let line = header.line;
    let cells = &header.cells;
    if cells.len() == 1 && cells[0].contains(';') {
        return Err(vec![ImportError::new(
            file,
            line,
            None,
            None,
            "the file is separated by `;`; the tracker publishes comma-separated files (download it again rather than re-saving it from a spreadsheet)",
        )]);
    }
    let mut errors = Vec::new();
    let mut columns = HashMap::new();
    for (i, name) in cells.iter().enumerate() {
        let Some(known) = required.iter().chain(optional).find(|k| *k == name) else {
            continue;
        };
        match columns.entry(*known) {
            Entry::Occupied(first) => errors.push(ImportError::new(
                file,
                line,
                Some(i + 1),
                Some(known),
                format!(
                    "column `{known}` appears twice (first in column {}); remove one",
                    first.get() + 1
                ),
            )),
            Entry::Vacant(slot) => {
                slot.insert(i);
            }
        }
    }
    if !required.iter().any(|r| columns.contains_key(r)) {
        return Err(vec![ImportError::new(
            file,
            line,
            None,
            None,
            format!("this is not the layout this parser reads: {layout}"),
        )]);
    }
    for missing in required.iter().filter(|r| !columns.contains_key(*r)) {
        errors.push(ImportError::new(
            file,
            line,
            None,
            Some(missing),
            format!("the header has no `{missing}` column; {layout}"),
        ));
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(errors)
    }
}

/// The cells of one row, read by column name; problems go to the file's error list, located at
/// the cell.
struct Cells<'r> {
    file: &'r str,
    line: u64,
    record: &'r csv::StringRecord,
    columns: &'r HashMap<&'static str, usize>,
    errors: &'r mut Vec<ImportError>,
}

impl Cells<'_> {
    /// The trimmed cell; `None` when the file has no such (optional) column.
    fn cell(&self, field: &str) -> Option<&str> {
        let i = *self.columns.get(field)?;
        Some(self.record.get(i).unwrap_or("").trim())
    }

    fn fail(&mut self, field: &str, message: String) {
        let column = self.columns.get(field).map(|i| i + 1);
        self.errors.push(ImportError::new(
            self.file,
            self.line,
            column,
            Some(field),
            message,
        ));
    }

    /// A text cell, kept as written (trimmed); required ones must not be empty.
    fn text(&mut self, field: &str, required: bool) -> Option<String> {
        let value = self.cell(field).unwrap_or("");
        if value.is_empty() && required {
            self.fail(field, "is required".to_owned());
            return None;
        }
        if value.chars().any(char::is_control) {
            self.fail(
                field,
                "contains a line break or another control character (a `\"` left open takes in the rows after it); write the cell on one line".to_owned(),
            );
            return None;
        }
        Some(value.to_owned())
    }

    /// A required cell, parsed; an empty one is "required".
    fn parse<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<T> {
        let value = self.cell(field).unwrap_or("");
        if value.is_empty() {
            self.fail(field, "is required".to_owned());
            return None;
        }
        match parse(value) {
            Ok(v) => Some(v),
            Err(message) => {
                self.fail(field, message);
                None
            }
        }
    }

    /// An optional cell, parsed: `Some(None)` when the column is absent or the cell is empty or
    /// `NA` (R's missing value), `None` when it is malformed.
    fn optional<T>(
        &mut self,
        field: &str,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Option<Option<T>> {
        match self.cell(field) {
            None | Some("" | "NA") => Some(None),
            Some(value) => match parse(value) {
                Ok(v) => Some(Some(v)),
                Err(message) => {
                    self.fail(field, message);
                    None
                }
            },
        }
    }
}

fn parse_donor(text: &str) -> Result<PartyId, String> {
    let id = PartyId::parse(text).map_err(|e| {
        format!(
            "{e}; the tracker codes a state by ISO 3166-1 alpha-3 and the EU institutions as `EU`"
        )
    })?;
    if id.kind() == PartyKind::Organisation && id.as_str() != "EU" {
        return Err(format!(
            "`{id}` is not a donor code of the tracker: a state is coded by ISO 3166-1 alpha-3 (DEU, USA) and the EU institutions as `EU`"
        ));
    }
    Ok(id)
}

fn parse_year(text: &str) -> Result<i16, String> {
    let four_digits = text.len() == 4 && text.bytes().all(|b| b.is_ascii_digit());
    text.parse::<i16>()
        .ok()
        .filter(|y| four_digits && (1900..=2199).contains(y))
        .ok_or_else(|| {
            format!("`{text}` is not a year: write four digits between 1900 and 2199, e.g. 2024")
        })
}

fn parse_month(text: &str) -> Result<i8, String> {
    let digits = (1..=2).contains(&text.len()) && text.bytes().all(|b| b.is_ascii_digit());
    text.parse::<i8>()
        .ok()
        .filter(|m| digits && (1..=12).contains(m))
        .ok_or_else(|| format!("`{text}` is not a month: write its number, 1 to 12"))
}

/// An amount in EUR billions of any sign, with the tracker's bounds.
fn parse_billions(text: &str) -> Result<Decimal, String> {
    parse_plain_decimal(text, AMOUNT_DECIMALS, AMOUNT_INTEGER_DIGITS).map_err(|problem| match problem {
        DecimalProblem::Malformed if text == "NA" => "`NA` is not an amount: the tracker writes 0 for a month with none, and a missing figure cannot be summed; write the figure in EUR billions".to_owned(),
        DecimalProblem::Malformed | DecimalProblem::NotPositive => format!(
            "`{text}` is not an amount: write EUR billions as a plain decimal with a point, e.g. 0.142911 (no comma, exponent or thousands separator)"
        ),
        DecimalProblem::TooManyDecimals(n) => format!(
            "`{text}` has {n} decimal places; an amount in EUR billions has at most {AMOUNT_DECIMALS} (a euro cent)"
        ),
        DecimalProblem::TooLarge => format!(
            "`{text}` is too large: an amount is below 10,000 EUR billions"
        ),
    })
}

/// An allocation: EUR billions, 0 or more.
fn parse_allocation(text: &str) -> Result<Decimal, String> {
    let value = parse_billions(text)?;
    if value.is_sign_negative() {
        return Err(format!(
            "`{text}` is negative: allocations are 0 or more EUR billions"
        ));
    }
    Ok(value)
}

/// Commitments: EUR billions, 0 or more (Release 29 has no negative one; a withdrawn
/// commitment written as a negative figure would be refused here for a person to look at).
fn parse_commitments(text: &str) -> Result<Decimal, String> {
    let value = parse_billions(text)?;
    if value.is_sign_negative() {
        return Err(format!(
            "`{text}` is negative: commitments are 0 or more EUR billions"
        ));
    }
    Ok(value)
}

/// A monthly flow in EUR billions, of either sign.
fn parse_flow(text: &str) -> Result<Decimal, String> {
    parse_billions(text)
}

fn parse_release_number(text: &str) -> Result<String, String> {
    if text.bytes().all(|b| b.is_ascii_digit()) && text.len() <= 4 {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not a release number: write the tracker's release as a whole number, e.g. 29"
        ))
    }
}

fn parse_period(text: &str) -> Result<String, String> {
    let well_formed = text.split_once('/').is_some_and(|(month, year)| {
        parse_month(month).is_ok() && month.len() == 2 && parse_year(year).is_ok()
    });
    if well_formed {
        Ok(text.to_owned())
    } else {
        Err(format!(
            "`{text}` is not a period: write the last month of data as MM/YYYY, e.g. 04/2026"
        ))
    }
}

fn parse_count(text: &str) -> Result<u64, String> {
    text.bytes()
        .all(|b| b.is_ascii_digit())
        .then(|| text.parse::<u64>().ok())
        .flatten()
        .ok_or_else(|| format!("`{text}` is not a number of weapons: write a whole number, e.g. 6"))
}

fn parse_value_eur(text: &str) -> Result<Decimal, String> {
    let value = parse_plain_decimal(text, VALUE_EUR_DECIMALS, VALUE_EUR_INTEGER_DIGITS).map_err(
        |problem| match problem {
            DecimalProblem::Malformed | DecimalProblem::NotPositive => format!(
                "`{text}` is not a value: write euros (not billions) as a plain decimal with a point, e.g. 28672479, or NA when unknown"
            ),
            DecimalProblem::TooManyDecimals(n) => format!(
                "`{text}` has {n} decimal places; a value in euros has at most {VALUE_EUR_DECIMALS} (a cent)"
            ),
            DecimalProblem::TooLarge => {
                format!("`{text}` is too large: a value is below 10,000 billion euros")
            }
        },
    )?;
    if value.is_sign_negative() {
        return Err(format!("`{text}` is negative: a value is 0 or more euros"));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DATA_EXPLORER: &[u8] = include_bytes!("../../../data/kiel-ust-r29/data_explorer.csv");
    const RELEASE_INFO: &[u8] = include_bytes!("../../../data/kiel-ust-r29/release_info.csv");
    const WEAPONS: &[u8] = include_bytes!("../../../data/kiel-ust-r29/weapons.csv");

    const HEADER: &str = "\"country\",\"iso\",\"year\",\"month\",\"total\",\"financial\",\"humanitarian\",\"military\",\"commitments\",\"to_be_allocated\"\n";

    fn messages<T: std::fmt::Debug>(result: Result<T, ErrorList>) -> Vec<String> {
        result
            .expect_err("expected errors")
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn dec(text: &str) -> Decimal {
        text.parse().expect("decimal")
    }

    #[test]
    fn given_release_29_when_parsed_then_every_donor_month_is_read() {
        let file = parse_tracker("data_explorer.csv", DATA_EXPLORER).expect("valid");
        assert_eq!(file.rows.len(), 1079);
        let donors: std::collections::BTreeSet<&str> =
            file.rows.iter().map(|r| r.donor.as_str()).collect();
        assert_eq!(donors.len(), 42, "41 states and the EU");
        assert!(donors.contains("EU") && donors.contains("USA") && donors.contains("TWN"));
        assert_eq!(file.first_month, Date::constant(2022, 1, 1));
        assert_eq!(file.last_month, Date::constant(2026, 4, 1));
        assert_eq!(
            file.rows.iter().map(|r| r.line).collect::<Vec<_>>(),
            (2..=1080).collect::<Vec<u64>>(),
            "file order, one row a line"
        );
        let first = &file.rows[0];
        assert_eq!(
            (first.donor.as_str(), first.country.as_str(), first.month),
            ("AUS", "Australia", Date::constant(2022, 2, 1))
        );
        assert_eq!(
            (first.total, first.military, first.commitments),
            (dec("0.002645"), dec("0.002645"), Some(dec("0.002645")))
        );
        let eu = file.rows.iter().find(|r| r.donor.as_str() == "EU");
        assert_eq!(
            eu.map(|r| r.country.as_str()),
            Some("EU (Commission and Council)")
        );
        let negative_flows = file
            .rows
            .iter()
            .filter(|r| r.to_be_allocated.is_some_and(|d| d.is_sign_negative()))
            .count();
        assert_eq!(negative_flows, 406);
        // What the columns mean, as Release 29 has them: to_be_allocated is the month's
        // commitments less its allocations, and no commitment is negative.
        for row in &file.rows {
            assert_eq!(
                row.to_be_allocated,
                row.commitments.map(|c| c - row.total),
                "line {}",
                row.line
            );
        }
        let all_months: Decimal = file.rows.iter().map(|r| r.total).sum();
        assert_eq!(all_months, dec("358.399501"));
    }

    /// The sum is computed from the text itself, apart from the parser: the tracker quotes
    /// strings and leaves numbers bare, and no R29 cell holds a comma.
    #[test]
    fn given_release_29_when_usa_2024_military_is_summed_then_it_equals_the_cells() {
        let text = std::str::from_utf8(DATA_EXPLORER).expect("utf-8");
        let mut lines = text.lines();
        let header: Vec<&str> = lines
            .next()
            .expect("header")
            .split(',')
            .map(|c| c.trim_matches('"'))
            .collect();
        let at = |name: &str| header.iter().position(|c| *c == name).expect(name);
        let (iso, year, military) = (at("iso"), at("year"), at("military"));
        let mut from_text = Decimal::ZERO;
        let mut cells_read = 0;
        for line in lines {
            let cells: Vec<&str> = line.split(',').map(|c| c.trim_matches('"')).collect();
            if cells[iso] == "USA" && cells[year] == "2024" {
                from_text += dec(cells[military]);
                cells_read += 1;
            }
        }
        assert_eq!(cells_read, 11, "the file has no US row for January 2024");

        let file = parse_tracker("data_explorer.csv", DATA_EXPLORER).expect("valid");
        let parsed: Decimal = file
            .rows
            .iter()
            .filter(|r| r.donor.as_str() == "USA" && r.month.year() == 2024)
            .map(|r| r.military)
            .sum();
        assert_eq!(parsed, from_text);
        assert_eq!(parsed, dec("20.140971"));
    }

    #[test]
    fn given_columns_in_another_order_unquoted_and_extra_when_parsed_then_they_are_read_by_name() {
        let text = "military,iso,notes,country,month,year,humanitarian,financial,total\n\
            0.75,DEU,anything,Germany,03,2024,0.25,0.5,1.5\n";
        let file = parse_tracker("t.csv", text.as_bytes()).expect("valid");
        let row = &file.rows[0];
        assert_eq!(row.month, Date::constant(2024, 3, 1));
        assert_eq!((row.military, row.total), (dec("0.75"), dec("1.5")));
        assert_eq!((row.commitments, row.to_be_allocated), (None, None));
        assert_eq!((file.first_month, file.last_month), (row.month, row.month));
    }

    #[test]
    fn given_empty_or_na_context_cells_when_parsed_then_they_are_none() {
        let text = format!(
            "{HEADER}\"Germany\",\"DEU\",2024,3,1.5,0.5,0.25,0.75,,NA\n\"Germany\",\"DEU\",2024,4,0,0,0,0,0.1,-0.00000000001\n"
        );
        let file = parse_tracker("t.csv", text.as_bytes()).expect("valid");
        assert_eq!(
            (file.rows[0].commitments, file.rows[0].to_be_allocated),
            (None, None)
        );
        assert_eq!(
            file.rows[1].to_be_allocated,
            Some(dec("-0.00000000001")),
            "a cent, negative"
        );
    }

    #[test]
    fn given_every_kind_of_bad_row_when_parsed_then_each_is_located_in_one_run() {
        let text = format!(
            "{HEADER}\
            \"Germany\",\"DEU\",2024,3,1.5,0.5,0.25,0.75,2,0.5\n\
            \"Germany\",\"DEU\",2024,13,1.5,0.5,0.25,0.75,2,0.5\n\
            \"Germany\",\"DEU\",24,4,1.5,0.5,0.25,0.75,2,0.5\n\
            \"Germany\",\"DEU\",2024,5,-1,0.5,0.25,0.75,2,0.5\n\
            \"Germany\",\"DEU\",2024,6,1.5,,0.25,0.75,2,0.5\n\
            \"Germany\",\"DEU\",2024,7,1.5,0.5,NA,0.75,2,0.5\n\
            \"Germany\",\"DEU\",2024,8,1.5,0.5,0.25,\"1,5\",2,0.5\n\
            \"Germany\",\"DEU\",2024,9,1e-3,0.5,0.25,0.75,2,0.5\n\
            \"Germany\",\"DEU\",2024,10,1.5,0.5,0.25,0.7,2,0.5\n\
            \"Atlantis\",\"XYZ\",2024,3,1.5,0.5,0.25,0.75,2,0.5\n\
            \"NATO\",\"NATO\",2024,3,1.5,0.5,0.25,0.75,2,0.5\n\
            \"Germany\",\"DEU\",2024,3,0,0,0,0,0,0\n\
            \"Germany\",\"DEU\",2024,11,0.000000000001,0.000000000001,0,0,0,0\n\
            \"Germany\",\"DEU\",2024,12,1.5,0.5,0.25,0.75,-2,-3.5\n\
            \"Germany\",\"DEU\",2025,1,1.5,0.5,0.25,0.75,2\n\
            \"\",\"deu\",2025,2,10000,0.5,0.25,0.75,2,0.5\n"
        );
        assert_eq!(
            messages(parse_tracker("t.csv", text.as_bytes())),
            [
                "t.csv:3:4: month: `13` is not a month: write its number, 1 to 12",
                "t.csv:4:3: year: `24` is not a year: write four digits between 1900 and 2199, e.g. 2024",
                "t.csv:5:5: total: `-1` is negative: allocations are 0 or more EUR billions",
                "t.csv:6:6: financial: is required",
                "t.csv:7:7: humanitarian: `NA` is not an amount: the tracker writes 0 for a month with none, and a missing figure cannot be summed; write the figure in EUR billions",
                "t.csv:8:8: military: `1,5` is not an amount: write EUR billions as a plain decimal with a point, e.g. 0.142911 (no comma, exponent or thousands separator)",
                "t.csv:9:5: total: `1e-3` is not an amount: write EUR billions as a plain decimal with a point, e.g. 0.142911 (no comma, exponent or thousands separator)",
                "t.csv:10:5: total: `1.5` is not financial + humanitarian + military = 0.5 + 0.25 + 0.7 = 1.45: the total must be exactly their sum (check the four cells of this row)",
                "t.csv:11:2: iso: `XYZ` is three letters but not an assigned ISO 3166-1 alpha-3 country code; the tracker codes a state by ISO 3166-1 alpha-3 and the EU institutions as `EU`",
                "t.csv:12:2: iso: `NATO` is not a donor code of the tracker: a state is coded by ISO 3166-1 alpha-3 (DEU, USA) and the EU institutions as `EU`",
                "t.csv:13:2: iso: DEU in 2024-03 appears twice: first on line 2; a donor has one row per month",
                "t.csv:14:5: total: `0.000000000001` has 12 decimal places; an amount in EUR billions has at most 11 (a euro cent)",
                "t.csv:14:6: financial: `0.000000000001` has 12 decimal places; an amount in EUR billions has at most 11 (a euro cent)",
                "t.csv:15:9: commitments: `-2` is negative: commitments are 0 or more EUR billions",
                "t.csv:16:10: row has 9 cells, the header has 10",
                "t.csv:17:1: country: is required",
                "t.csv:17:2: iso: `deu` is not a party id: use an ISO 3166-1 alpha-3 country code (DEU, UKR) or a registered organisation code (NATO, EU, NSATU) in capitals; the tracker codes a state by ISO 3166-1 alpha-3 and the EU institutions as `EU`",
                "t.csv:17:5: total: `10000` is too large: an amount is below 10,000 EUR billions",
            ]
        );
    }

    #[test]
    fn given_a_header_without_a_required_column_when_parsed_then_the_column_is_named() {
        let text = "country,iso,year,month,total,humanitarian,military\nGermany,DEU,2024,3,1,0,1\n";
        assert_eq!(
            messages(parse_tracker("t.csv", text.as_bytes())),
            [format!(
                "t.csv:1: financial: the header has no `financial` column; {TRACKER_LAYOUT}"
            )]
        );
        let twice = "country,iso,year,month,total,financial,humanitarian,military,total\n";
        assert_eq!(
            messages(parse_tracker("t.csv", twice.as_bytes())),
            ["t.csv:1:9: total: column `total` appears twice (first in column 5); remove one"]
        );
        let weapons = b"donor,category\nAustralia,Tanks\n";
        assert_eq!(
            messages(parse_tracker("t.csv", weapons)),
            [format!(
                "t.csv:1: this is not the layout this parser reads: {TRACKER_LAYOUT}"
            )]
        );
        let semicolons = b"country;iso;year;month\nGermany;DEU;2024;3\n";
        let e = messages(parse_tracker("t.csv", semicolons));
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("t.csv:1: the file is separated by `;`"),
            "{e:?}"
        );
    }

    #[test]
    fn given_an_empty_a_header_only_or_a_latin1_file_when_parsed_then_one_error_says_so() {
        for text in ["", "\u{feff}", "\n \n"] {
            assert_eq!(
                messages(parse_tracker("t.csv", text.as_bytes())),
                [format!("t.csv:1: the file is empty; {TRACKER_LAYOUT}")],
                "{text:?}"
            );
        }
        let e = messages(parse_tracker("t.csv", HEADER.as_bytes()));
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("t.csv:1: the file has a header but no rows:"),
            "{e:?}"
        );
        let latin1 = format!("{HEADER}\"T\u{fc}rkiye\",").into_bytes();
        let latin1: Vec<u8> = latin1
            .into_iter()
            .flat_map(|b| if b == 0xC3 { None } else { Some(b) })
            .map(|b| if b == 0xBC { 0xFC } else { b })
            .collect();
        let e = messages(parse_tracker("t.csv", &latin1));
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("t.csv:2:3: the file is not UTF-8 (byte 0xFC)"),
            "{e:?}"
        );
    }

    #[test]
    fn given_release_29_info_when_parsed_then_it_is_release_29_of_4_august_2026() {
        let release = parse_tracker_release("release_info.csv", RELEASE_INFO).expect("valid");
        assert_eq!(
            release,
            TrackerRelease {
                release: "29".to_owned(),
                period: "04/2026".to_owned(),
                date: Date::constant(2026, 8, 4),
                label: "Ukraine Support Tracker, Release 29 (04/2026)".to_owned(),
            }
        );
    }

    #[test]
    fn given_a_bad_release_info_when_parsed_then_every_problem_is_located() {
        let text = "release,period,date,label\n29b,4/2026,2026-08-32,\n30,05/2026,2026-09-01,R30\n";
        assert_eq!(
            messages(parse_tracker_release("r.csv", text.as_bytes())),
            [
                "r.csv:2:1: release: `29b` is not a release number: write the tracker's release as a whole number, e.g. 29",
                "r.csv:2:2: period: `4/2026` is not a period: write the last month of data as MM/YYYY, e.g. 04/2026",
                "r.csv:2:3: date: `2026-08-32` is not a real date: month 8 of 2026 has 31 days",
                "r.csv:2:4: label: is required",
                "r.csv:3: a second release row: release_info.csv holds exactly one, on line 2; remove this one",
            ]
        );
        let e = messages(parse_tracker_release(
            "r.csv",
            b"release,period,date,label\n",
        ));
        assert_eq!(e.len(), 1);
        assert!(
            e[0].starts_with("r.csv:1: the file has a header but no rows"),
            "{e:?}"
        );
        assert_eq!(
            messages(parse_tracker_release(
                "r.csv",
                b"release,date\n29,2026-08-04\n"
            )),
            [
                format!("r.csv:1: period: the header has no `period` column; {RELEASE_LAYOUT}"),
                format!("r.csv:1: label: the header has no `label` column; {RELEASE_LAYOUT}"),
            ]
        );
    }

    #[test]
    fn given_release_29_weapons_when_parsed_then_every_donor_is_a_known_party() {
        let rows = parse_tracker_weapons("weapons.csv", WEAPONS).expect("valid");
        assert_eq!(rows.len(), 61);
        let unmapped: Vec<&str> = rows
            .iter()
            .filter(|r| r.donor.is_none())
            .map(|r| r.donor_name.as_str())
            .collect();
        assert!(unmapped.is_empty(), "{unmapped:?}");
        let donors: std::collections::BTreeSet<&str> = rows
            .iter()
            .filter_map(|r| r.donor.as_ref().map(PartyId::as_str))
            .collect();
        assert_eq!(donors.len(), 24);
        for code in ["USA", "GBR", "CZE", "DEU"] {
            assert!(donors.contains(code), "{code}");
        }
        let first = &rows[0];
        assert_eq!(
            (
                first.line,
                first.donor_name.as_str(),
                first.category.as_str(),
                first.number,
                first.value_eur,
                first.list.as_str()
            ),
            (
                2,
                "Australia",
                "Howitzers",
                6,
                Some(dec("28672479")),
                "M777 howitzer (6)"
            )
        );
        // The tracker files every value, so the euros add up.
        let total: Decimal = rows.iter().filter_map(|r| r.value_eur).sum();
        assert_eq!(total, dec("17949980893"));
    }

    #[test]
    fn given_weapons_with_unknown_names_missing_values_and_bad_cells_when_parsed_then_each_is_handled()
     {
        let good = "donor,category,number_of_weapons,monetary_value_eur,weapons_list\n\
            Atlantis,Tanks,3,NA,\n\
            \"EU (Commission and Council)\",Tanks,1,,\"T-72 (1)\"\n";
        let rows = parse_tracker_weapons("w.csv", good.as_bytes()).expect("valid");
        assert_eq!(
            rows[0].donor, None,
            "an unknown name is no party, not an error"
        );
        assert_eq!(rows[0].value_eur, None);
        assert_eq!(rows[1].donor.as_ref().map(PartyId::as_str), Some("EU"));
        assert_eq!(rows[1].value_eur, None);

        let bad = "donor,category,number_of_weapons,monetary_value_eur,weapons_list\n\
            Norway,Tanks,8,15963068,Leopard-2A4 (8)\n\
            Norway,Tanks,1,1,x\n\
            ,MLRS,-1,1.5e6,x\n\
            Norway,IFV,2.5,12.345,x\n\
            Norway,HIMARS,1,-5,x\n";
        assert_eq!(
            messages(parse_tracker_weapons("w.csv", bad.as_bytes())),
            [
                "w.csv:3:2: category: Norway's `Tanks` appears twice: first on line 2; a donor has one row per category",
                "w.csv:4:1: donor: is required",
                "w.csv:4:3: number_of_weapons: `-1` is not a number of weapons: write a whole number, e.g. 6",
                "w.csv:4:4: monetary_value_eur: `1.5e6` is not a value: write euros (not billions) as a plain decimal with a point, e.g. 28672479, or NA when unknown",
                "w.csv:5:3: number_of_weapons: `2.5` is not a number of weapons: write a whole number, e.g. 6",
                "w.csv:5:4: monetary_value_eur: `12.345` has 3 decimal places; a value in euros has at most 2 (a cent)",
                "w.csv:6:4: monetary_value_eur: `-5` is negative: a value is 0 or more euros",
            ]
        );
    }

    fn check(result: Result<impl Sized, ErrorList>) -> Result<(), TestCaseError> {
        if let Err(errors) = result {
            prop_assert!(!errors.0.is_empty(), "an Err with no errors");
            for e in &errors.0 {
                prop_assert!(e.location.line >= 1, "{}", e);
                prop_assert!(e.location.column.is_none_or(|c| c >= 1), "{}", e);
                prop_assert!(!e.to_string().is_empty());
            }
        }
        Ok(())
    }

    fn check_all(bytes: &[u8]) -> Result<(), TestCaseError> {
        if let Ok(file) = parse_tracker("t.csv", bytes) {
            prop_assert!(!file.rows.is_empty());
            prop_assert!(file.first_month <= file.last_month);
            for row in &file.rows {
                prop_assert!(row.line >= 2);
                prop_assert_eq!(row.total, row.financial + row.humanitarian + row.military);
                prop_assert!(!row.total.is_sign_negative());
                prop_assert_eq!(row.month.day(), 1);
            }
        }
        check(parse_tracker("t.csv", bytes))?;
        check(parse_tracker_release("r.csv", bytes))?;
        check(parse_tracker_weapons("w.csv", bytes))?;
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        #[test]
        fn given_arbitrary_bytes_when_parsed_then_no_parser_panics(
            bytes in proptest::collection::vec(any::<u8>(), 0..1024),
        ) {
            check_all(&bytes)?;
        }

        #[test]
        fn given_the_head_of_release_29_with_bytes_changed_when_parsed_then_no_parser_panics(
            edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
            cut in 200usize..1200,
        ) {
            let mut bytes = DATA_EXPLORER[..cut].to_vec();
            for (at, byte) in edits {
                let at = at.index(bytes.len());
                bytes[at] = byte;
            }
            check_all(&bytes)?;
        }
    }
}
