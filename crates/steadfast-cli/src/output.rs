//! Rendering results: an aligned table for people, JSON and CSV for programs. CSV cells that a
//! spreadsheet would run as a formula are defused.

use std::io::Write;

use comfy_table::{CellAlignment, ContentArrangement, Table, presets};
use rust_decimal::Decimal;
use serde::Serialize;

/// The output formats every listing supports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// An aligned table (the default).
    Table,
    /// Pretty-printed JSON with decimals as strings.
    Json,
    /// Comma-separated values with a header row.
    Csv,
}

/// A rectangular result: headers, rows of cells, and which columns hold numbers.
#[derive(Debug, Default)]
pub struct Grid {
    pub headers: Vec<String>,
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
}

impl Grid {
    pub fn new(columns: &[(&'static str, bool)]) -> Self {
        Grid {
            headers: columns.iter().map(|c| c.0.to_owned()).collect(),
            numeric: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
        }
    }

    /// Adds a column after the existing ones (for columns known only at run time).
    pub fn add_column(&mut self, header: String, numeric: bool) {
        self.headers.push(header);
        self.numeric.push(numeric);
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// An aligned plain-text table, numbers right-aligned.
    pub fn to_table(&self) -> String {
        let mut table = Table::new();
        table
            .load_preset(presets::NOTHING)
            .set_style(comfy_table::TableComponent::HeaderLines, '─')
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(self.headers.clone());
        for row in &self.rows {
            table.add_row(row.clone());
        }
        for (i, numeric) in self.numeric.iter().enumerate() {
            if *numeric && let Some(column) = table.column_mut(i) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        table.to_string()
    }

    /// CSV with formula-looking cells defused; numbers are written plain.
    pub fn to_csv(&self) -> anyhow::Result<String> {
        let mut writer = csv::Writer::from_writer(Vec::new());
        writer.write_record(&self.headers)?;
        for row in &self.rows {
            writer.write_record(row.iter().map(|c| csv_safe(c)))?;
        }
        Ok(String::from_utf8(writer.into_inner()?)?)
    }
}

/// Prefixes `'` to a cell a spreadsheet would evaluate (leading `=`, `+`, `-`, `@`, tab or
/// carriage return), unless it is simply a number such as `-150.00`.
pub fn csv_safe(cell: &str) -> String {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    if risky && cell.parse::<Decimal>().is_err() {
        format!("'{cell}")
    } else {
        cell.to_owned()
    }
}

/// Writes a report in the chosen format: JSON from the serializable value, or the grid as a
/// table or CSV, with `footer` lines after a table only.
pub fn emit<T: Serialize>(
    format: Format,
    value: &T,
    grid: &Grid,
    footer: &[String],
) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, value)?;
            writeln!(out)?;
        }
        Format::Csv => {
            write!(out, "{}", grid.to_csv()?)?;
            // The rows stay clean for spreadsheets; the notes under them (method, caveat, the
            // head they were computed at) go to stderr, so they still come with every report.
            let mut err = std::io::stderr().lock();
            for line in footer {
                writeln!(err, "{line}")?;
            }
        }
        Format::Table => {
            writeln!(out, "{}", grid.to_table())?;
            for line in footer {
                writeln!(out, "{line}")?;
            }
        }
    }
    Ok(())
}

/// An amount cell: grouped digits in a table, plain digits in CSV, and a dash in a table (empty
/// in CSV) where nothing is recorded — never a 0 that was not recorded.
pub fn amount_cell(amount: Option<Decimal>, format: Format) -> String {
    match (amount, format) {
        (Some(a), Format::Table) => grouped(a),
        (Some(a), _) => a.to_string(),
        (None, Format::Table) => "—".to_owned(),
        (None, _) => String::new(),
    }
}

/// A decimal with thousands separators for tables ("1,400,000,000.00").
pub fn grouped(value: Decimal) -> String {
    let text = value.to_string();
    let (sign, digits) = match text.strip_prefix('-') {
        Some(rest) => ("-", rest),
        None => ("", text.as_str()),
    };
    let (int_part, frac) = match digits.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (digits, None),
    };
    let mut grouped = String::new();
    for (i, ch) in int_part.chars().enumerate() {
        if i > 0 && (int_part.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formulas_are_defused_but_numbers_are_not() {
        assert_eq!(csv_safe("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(csv_safe("+1+1"), "'+1+1");
        assert_eq!(csv_safe("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(csv_safe("-2+3"), "'-2+3");
        assert_eq!(csv_safe("-150.00"), "-150.00");
        assert_eq!(csv_safe("DEU"), "DEU");
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(
            grouped(Decimal::new(140_000_000_000, 2)),
            "1,400,000,000.00"
        );
        assert_eq!(grouped(Decimal::new(-15_000, 0)), "-15,000");
        assert_eq!(grouped(Decimal::new(999, 0)), "999");
    }
}
