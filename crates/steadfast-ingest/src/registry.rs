//! The party registry files of a scenario: `parties.csv` (`party,name,kind`) and
//! `memberships.csv` (`party,organisation,joined,left`).

use jiff::civil::Date;
use steadfast_domain::{PartyId, PartyKind};

use crate::header::check_header;
use crate::location::{ErrorList, ImportError};
use crate::text::{LineCounter, decode_utf8, parse_date};

/// A party to register.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartyRow {
    pub line: u64,
    pub party: PartyId,
    pub name: String,
    pub kind: PartyKind,
}

/// A dated membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRow {
    pub line: u64,
    pub party: PartyId,
    pub organisation: PartyId,
    pub joined: Date,
    pub left: Option<Date>,
}

/// Reads a small CSV whose every row maps through `row`, collecting located errors.
fn read_rows<T>(
    file: &str,
    bytes: &[u8],
    expected: &[&'static str],
    mut row: impl FnMut(u64, &[&str], &mut Vec<ImportError>) -> Option<T>,
) -> Result<Vec<T>, ErrorList> {
    let text = decode_utf8(file, bytes).map_err(|e| ErrorList(vec![e]))?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .from_reader(text.as_bytes());
    let header = reader
        .headers()
        .map_err(|e| ErrorList(vec![ImportError::new(file, 1, None, None, e.to_string())]))?
        .clone();
    let columns = check_header(file, &header, expected, false).map_err(ErrorList)?;
    let mut out = Vec::new();
    let mut errors = Vec::new();
    let mut lines = LineCounter::new(text);
    for record in reader.records() {
        let record = match record {
            Ok(r) => r,
            Err(e) => {
                let line = e.position().map_or(0, |p| lines.line_at(p.byte()));
                errors.push(ImportError::new(file, line, None, None, e.to_string()));
                break;
            }
        };
        let line = record.position().map_or(0, |p| lines.line_at(p.byte()));
        if record.len() != header.len() {
            errors.push(ImportError::new(
                file,
                line,
                None,
                None,
                format!(
                    "row has {} cells, the header has {}",
                    record.len(),
                    header.len()
                ),
            ));
            continue;
        }
        let cells: Vec<&str> = expected
            .iter()
            .map(|name| {
                columns
                    .get(name)
                    .and_then(|c| record.get(c - 1))
                    .unwrap_or("")
                    .trim()
            })
            .collect();
        let before = errors.len();
        let value = row(line, &cells, &mut errors);
        for e in &mut errors[before..] {
            if let Some(field) = &e.location.field {
                e.location.column = columns.get(field.as_str()).copied();
            }
        }
        out.extend(value);
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(ErrorList(errors))
    }
}

fn party(
    file: &str,
    line: u64,
    field: &str,
    text: &str,
    errors: &mut Vec<ImportError>,
) -> Option<PartyId> {
    PartyId::parse(text)
        .map_err(|e| {
            errors.push(ImportError::new(
                file,
                line,
                None,
                Some(field),
                e.to_string(),
            ))
        })
        .ok()
}

/// Parses `parties.csv`.
pub fn parse_parties(file: &str, bytes: &[u8]) -> Result<Vec<PartyRow>, ErrorList> {
    read_rows(
        file,
        bytes,
        &["party", "name", "kind"],
        |line, cells, errors| {
            let id = party(file, line, "party", cells[0], errors);
            if cells[1].is_empty() {
                errors.push(ImportError::new(
                    file,
                    line,
                    None,
                    Some("name"),
                    "is required",
                ));
            }
            let kind = match cells[2] {
                "state" => Some(PartyKind::State),
                "organisation" => Some(PartyKind::Organisation),
                other => {
                    errors.push(ImportError::new(
                        file,
                        line,
                        None,
                        Some("kind"),
                        format!("`{other}` is not a party kind; expected state or organisation"),
                    ));
                    None
                }
            };
            Some(PartyRow {
                line,
                party: id?,
                name: cells[1].to_owned(),
                kind: kind?,
            })
            .filter(|p| !p.name.is_empty())
        },
    )
}

/// Parses `memberships.csv`.
pub fn parse_memberships(file: &str, bytes: &[u8]) -> Result<Vec<MembershipRow>, ErrorList> {
    read_rows(
        file,
        bytes,
        &["party", "organisation", "joined", "left"],
        |line, cells, errors| {
            let p = party(file, line, "party", cells[0], errors);
            let o = party(file, line, "organisation", cells[1], errors);
            let mut date = |field: &str, text: &str| {
                parse_date(text)
                    .map_err(|e| errors.push(ImportError::new(file, line, None, Some(field), e)))
                    .ok()
            };
            let joined = date("joined", cells[2]);
            let left = if cells[3].is_empty() {
                Some(None)
            } else {
                date("left", cells[3]).map(Some)
            };
            Some(MembershipRow {
                line,
                party: p?,
                organisation: o?,
                joined: joined?,
                left: left?,
            })
        },
    )
}
