//! The share-basis table: each state's GDP by year, the figures a framework's fair shares are
//! computed from (`gdp-worldbank.csv`).
//!
//! Layout: a header naming `iso3` (required), optionally `name` and `nato_accession_year`, and
//! one `gdp_<YYYY>_usd` column per year (at least one), in any order; then one row per state.
//! GDP is in current US dollars as the World Bank exports it: a positive decimal with a point
//! (`23491242727.4082`); an empty cell means no figure for that year. Cells are trimmed of
//! surrounding whitespace, as in every other importer.

use std::collections::{BTreeMap, HashMap};

use rust_decimal::Decimal;
use steadfast_domain::{PartyId, PartyKind};

use crate::csv_rows::{CsvRows, Header};
use crate::location::{ErrorList, ImportError};
use crate::text::{DecimalProblem, decode_utf8, parse_positive_decimal};

/// One state's GDP figures.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasisRow {
    pub line: u64,
    pub party: PartyId,
    /// Empty when the file has no `name` column.
    pub name: String,
    /// GDP in current US dollars by year; a year with an empty cell is absent.
    pub values: BTreeMap<i16, Decimal>,
}

/// A GDP table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasisTable {
    /// The years of the `gdp_<YYYY>_usd` columns, in header order.
    pub years: Vec<i16>,
    /// In file order.
    pub rows: Vec<BasisRow>,
}

impl BasisTable {
    /// A state's GDP for a year, if the table has a figure.
    pub fn value(&self, party: &PartyId, year: i16) -> Option<Decimal> {
        self.rows
            .iter()
            .find(|r| &r.party == party)?
            .values
            .get(&year)
            .copied()
    }
}

/// World Bank exports print about 15 significant digits: Montenegro's 2023 GDP has 5 decimals,
/// the smallest states' 7.
const GDP_DECIMALS: usize = 8;
/// Below 10^15 US dollars (world GDP is about 10^14).
const GDP_INTEGER_DIGITS: usize = 15;

const LAYOUT: &str = "the GDP table's header is `iso3,name,nato_accession_year,gdp_2023_usd,...`: `iso3`, optionally `name` and `nato_accession_year`, and one `gdp_<YYYY>_usd` column per year";

/// What a header column holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Column {
    Iso3,
    Name,
    AccessionYear,
    Gdp(i16),
}

/// Parses a GDP table, collecting every problem of the file.
pub fn parse_gdp(file: &str, bytes: &[u8]) -> Result<BasisTable, ErrorList> {
    let text = decode_utf8(file, bytes).map_err(|e| ErrorList(vec![e]))?;
    let Some((header, mut rows)) = CsvRows::open(file, text).map_err(|e| ErrorList(vec![e]))?
    else {
        return Err(ErrorList(vec![ImportError::new(
            file,
            1,
            None,
            None,
            format!("the file is empty; {LAYOUT}"),
        )]));
    };
    let columns = read_header(file, &header).map_err(ErrorList)?;
    let years: Vec<i16> = columns
        .iter()
        .filter_map(|c| match c {
            Column::Gdp(year) => Some(*year),
            _ => None,
        })
        .collect();

    let mut errors = Vec::new();
    let mut out = Vec::new();
    let mut first_line_of: HashMap<PartyId, u64> = HashMap::new();
    while let Some((line, record)) = rows.next_row(&mut errors) {
        let before = errors.len();
        let mut party = None;
        let mut name = String::new();
        let mut values = BTreeMap::new();
        for (i, column) in columns.iter().enumerate() {
            let cell = record.get(i).unwrap_or("").trim();
            let field = header.cells[i].as_str();
            let mut fail = |message: String| {
                errors.push(ImportError::new(
                    file,
                    line,
                    Some(i + 1),
                    Some(field),
                    message,
                ));
            };
            match column {
                Column::Iso3 => match PartyId::parse(cell) {
                    _ if cell.is_empty() => fail("is required".to_owned()),
                    Ok(id) if id.kind() == PartyKind::Organisation => fail(format!(
                        "`{id}` is an organisation; the GDP table lists states by ISO 3166-1 alpha-3 code"
                    )),
                    Ok(id) => match first_line_of.get(&id) {
                        Some(first) => fail(format!("{id} appears twice: first on line {first}")),
                        None => {
                            first_line_of.insert(id.clone(), line);
                            party = Some(id);
                        }
                    },
                    Err(e) => fail(e.to_string()),
                },
                Column::Name => cell.clone_into(&mut name),
                Column::AccessionYear => {
                    let year = cell.len() == 4
                        && cell.bytes().all(|b| b.is_ascii_digit())
                        && cell
                            .parse::<i16>()
                            .is_ok_and(|y| (1900..=2199).contains(&y));
                    if !cell.is_empty() && !year {
                        fail(format!(
                            "`{cell}` is not a year: write four digits between 1900 and 2199, e.g. 2009, or leave it empty"
                        ));
                    }
                }
                Column::Gdp(_) if cell.is_empty() => {}
                Column::Gdp(year) => match parse_gdp_value(cell) {
                    Ok(value) => {
                        values.insert(*year, value);
                    }
                    Err(message) => fail(message),
                },
            }
        }
        if let (Some(party), true) = (party, errors.len() == before) {
            out.push(BasisRow {
                line,
                party,
                name,
                values,
            });
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
            "the file has a header but no rows: add one row per state, e.g. `ALB,Albania,2009,23491242727.4082`",
        )]));
    }
    Ok(BasisTable { years, rows: out })
}

fn gdp_year(name: &str) -> Option<Result<i16, ()>> {
    let year = name.strip_prefix("gdp_")?.strip_suffix("_usd")?;
    let four_digits = year.len() == 4 && year.bytes().all(|b| b.is_ascii_digit());
    Some(
        year.parse::<i16>()
            .ok()
            .filter(|y| four_digits && (1900..=2199).contains(y))
            .ok_or(()),
    )
}

fn read_header(file: &str, header: &Header) -> Result<Vec<Column>, Vec<ImportError>> {
    let line = header.line;
    let cells = &header.cells;
    if cells.len() == 1 && cells[0].contains(';') {
        return Err(vec![ImportError::new(
            file,
            line,
            None,
            None,
            "the file is separated by `;`; Steadfast reads comma-separated files (export as CSV with `,` as the delimiter and `.` as the decimal point)",
        )]);
    }
    let looks_like_gdp = |c: &String| c == "iso3" || c.starts_with("gdp_");
    if !cells.iter().any(looks_like_gdp) {
        return Err(vec![ImportError::new(
            file,
            line,
            None,
            None,
            format!(
                "this is not a GDP table: the header has no `iso3` and no `gdp_<YYYY>_usd` column; {LAYOUT}"
            ),
        )]);
    }
    let mut errors = Vec::new();
    let mut columns = Vec::new();
    let mut seen: HashMap<Column, usize> = HashMap::new();
    for (i, name) in cells.iter().enumerate() {
        let mut fail = |message: String| {
            errors.push(ImportError::new(
                file,
                line,
                Some(i + 1),
                Some(name),
                message,
            ));
        };
        let column = match name.as_str() {
            "iso3" => Column::Iso3,
            "name" => Column::Name,
            "nato_accession_year" => Column::AccessionYear,
            other => match gdp_year(other) {
                Some(Ok(year)) => Column::Gdp(year),
                Some(Err(())) => {
                    fail(format!(
                        "`{other}` is not a GDP column name: write gdp_<YYYY>_usd with a year between 1900 and 2199, e.g. gdp_2023_usd"
                    ));
                    continue;
                }
                None => {
                    let hint = ["iso3", "name", "nato_accession_year", "gdp_2023_usd"]
                        .iter()
                        .map(|e| (strsim::levenshtein(e, other), *e))
                        .min()
                        .filter(|(d, _)| *d <= 3)
                        .map_or_else(
                            || format!("; {LAYOUT}"),
                            |(_, e)| format!("; did you mean `{e}`?"),
                        );
                    fail(format!("unexpected column `{other}`{hint}"));
                    continue;
                }
            },
        };
        match seen.get(&column) {
            Some(first) => fail(format!(
                "column `{name}` appears twice (first in column {first})"
            )),
            None => {
                seen.insert(column, i + 1);
            }
        }
        columns.push(column);
    }
    if !seen.contains_key(&Column::Iso3) {
        errors.push(ImportError::new(
            file,
            line,
            None,
            None,
            format!("missing column `iso3`; {LAYOUT}"),
        ));
    }
    if !seen.keys().any(|c| matches!(c, Column::Gdp(_))) && errors.is_empty() {
        errors.push(ImportError::new(
            file,
            line,
            None,
            None,
            format!("no GDP column: name one column per year, e.g. gdp_2023_usd; {LAYOUT}"),
        ));
    }
    if errors.is_empty() {
        Ok(columns)
    } else {
        Err(errors)
    }
}

fn parse_gdp_value(text: &str) -> Result<Decimal, String> {
    parse_positive_decimal(text, GDP_DECIMALS, GDP_INTEGER_DIGITS).map_err(|problem| match problem {
        DecimalProblem::Malformed => format!(
            "`{text}` is not an amount: write a positive decimal in US dollars with a point and no separators, e.g. 23491242727.4082 (or leave the cell empty)"
        ),
        DecimalProblem::TooManyDecimals(n) => {
            format!("`{text}` has {n} decimal places; at most {GDP_DECIMALS}")
        }
        DecimalProblem::NotPositive => {
            format!("`{text}` is not a GDP: a GDP is above 0 (leave the cell empty when there is no figure)")
        }
        DecimalProblem::TooLarge => {
            format!("`{text}` is too large: a GDP must be below 10^15 US dollars")
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GDP: &[u8] = include_bytes!("../../../data/gdp-worldbank.csv");

    fn messages(result: Result<BasisTable, ErrorList>) -> Vec<String> {
        result
            .expect_err("expected errors")
            .0
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    fn party(id: &str) -> PartyId {
        PartyId::parse(id).expect("party")
    }

    #[test]
    fn the_shipped_table_parses() {
        let table = parse_gdp("gdp-worldbank.csv", GDP).expect("valid");
        assert_eq!(table.years, [2023, 2024]);
        assert_eq!(table.rows.len(), 33);
        assert_eq!(
            table.value(&party("ALB"), 2023),
            Some("23491242727.4082".parse().expect("decimal"))
        );
        assert_eq!(
            table.value(&party("MNE"), 2023),
            Some("7643318276.40347".parse().expect("decimal"))
        );
        assert_eq!(
            table.value(&party("NLD"), 2023),
            Some(Decimal::from(1_135_475_867_551_i64))
        );
        assert_eq!(table.value(&party("ALB"), 2022), None);
        assert_eq!(table.value(&party("JPN"), 2023), None);
        let ukr = table
            .rows
            .iter()
            .find(|r| r.party == party("UKR"))
            .expect("UKR");
        assert_eq!((ukr.line, ukr.name.as_str()), (34, "Ukraine"));
    }

    #[test]
    fn columns_may_come_in_any_order_and_cells_may_be_empty() {
        let text = "gdp_2024_usd, iso3 ,gdp_2022_usd\n1.5,DEU,\n,FRA,2\n";
        let table = parse_gdp("g.csv", text.as_bytes()).expect("valid");
        assert_eq!(table.years, [2024, 2022]);
        assert_eq!(table.rows[0].name, "");
        assert_eq!(table.value(&party("DEU"), 2024), Some(Decimal::new(15, 1)));
        assert_eq!(table.value(&party("DEU"), 2022), None);
        assert_eq!(table.value(&party("FRA"), 2022), Some(Decimal::from(2)));
    }

    #[test]
    fn header_errors_are_located() {
        assert_eq!(
            messages(parse_gdp(
                "g.csv",
                b"iso3,nmae,gdp_23_usd,gdp_2023_usd,gdp_2023_usd,iso3\n"
            )),
            [
                "g.csv:1:2: nmae: unexpected column `nmae`; did you mean `name`?",
                "g.csv:1:3: gdp_23_usd: `gdp_23_usd` is not a GDP column name: write gdp_<YYYY>_usd with a year between 1900 and 2199, e.g. gdp_2023_usd",
                "g.csv:1:5: gdp_2023_usd: column `gdp_2023_usd` appears twice (first in column 4)",
                "g.csv:1:6: iso3: column `iso3` appears twice (first in column 1)",
            ]
        );
        assert_eq!(
            messages(parse_gdp("g.csv", b"iso3,name\nDEU,Germany\n")),
            [format!(
                "g.csv:1: no GDP column: name one column per year, e.g. gdp_2023_usd; {LAYOUT}"
            )]
        );
        assert_eq!(
            messages(parse_gdp("g.csv", b"name,gdp_2023_usd\nGermany,1\n")),
            [format!("g.csv:1: missing column `iso3`; {LAYOUT}")]
        );
        let other = b"event_id,contribution_id,donor,recipient\nA,B,DEU,UKR\n";
        assert_eq!(
            messages(parse_gdp("c.csv", other)),
            [format!(
                "c.csv:1: this is not a GDP table: the header has no `iso3` and no `gdp_<YYYY>_usd` column; {LAYOUT}"
            )]
        );
        assert_eq!(
            messages(parse_gdp("g.csv", b"")),
            [format!("g.csv:1: the file is empty; {LAYOUT}")]
        );
        assert_eq!(
            messages(parse_gdp("g.csv", b"iso3,gdp_2023_usd\n")),
            [
                "g.csv:1: the file has a header but no rows: add one row per state, e.g. `ALB,Albania,2009,23491242727.4082`"
            ]
        );
    }

    #[test]
    fn row_errors_are_located() {
        let text = "iso3,name,nato_accession_year,gdp_2023_usd\n\
            NATO,NATO,,1\n\
            DEU,Germany,49,\"4,562,207,532,490\"\n\
            FRA,France,1949,0\n\
            ESP,Spain,1982,1.123456789\n\
            ITA,Italy,1949,1000000000000000\n\
            deu,Germany,,1\n\
            ,Nobody,,1\n\
            POL,Poland,1999,1\n\
            POL,Poland,1999,1\n\
            ZZZ,Nowhere,,-5\n";
        assert_eq!(
            messages(parse_gdp("g.csv", text.as_bytes())),
            [
                "g.csv:2:1: iso3: `NATO` is an organisation; the GDP table lists states by ISO 3166-1 alpha-3 code",
                "g.csv:3:3: nato_accession_year: `49` is not a year: write four digits between 1900 and 2199, e.g. 2009, or leave it empty",
                "g.csv:3:4: gdp_2023_usd: `4,562,207,532,490` is not an amount: write a positive decimal in US dollars with a point and no separators, e.g. 23491242727.4082 (or leave the cell empty)",
                "g.csv:4:4: gdp_2023_usd: `0` is not a GDP: a GDP is above 0 (leave the cell empty when there is no figure)",
                "g.csv:5:4: gdp_2023_usd: `1.123456789` has 9 decimal places; at most 8",
                "g.csv:6:4: gdp_2023_usd: `1000000000000000` is too large: a GDP must be below 10^15 US dollars",
                "g.csv:7:1: iso3: `deu` is not a party id: use an ISO 3166-1 alpha-3 country code (DEU, UKR) or a registered organisation code (NATO, EU, NSATU) in capitals",
                "g.csv:8:1: iso3: is required",
                "g.csv:10:1: iso3: POL appears twice: first on line 9",
                "g.csv:11:1: iso3: `ZZZ` is three letters but not an assigned ISO 3166-1 alpha-3 country code",
                "g.csv:11:4: gdp_2023_usd: `-5` is not an amount: write a positive decimal in US dollars with a point and no separators, e.g. 23491242727.4082 (or leave the cell empty)",
            ]
        );
    }
}
