//! Rendering results: an aligned table for people, JSON and CSV for programs. CSV cells that a
//! spreadsheet would run as a formula are defused.
//!
//! On a terminal a table fits its width: each table names its optional columns, least important
//! first, and they are left out in that order until the rest fits, with a line saying which
//! (`--wide` keeps them all). Anywhere else — a pipe, a file — every column is printed, so what
//! a script reads does not depend on a window's size.

use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

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

/// The width tables must fit, decided once per run (see [`set_table_width`]): `None` prints
/// every column.
static TABLE_WIDTH: OnceLock<Option<usize>> = OnceLock::new();

/// Decides the width tables fit: none with `--wide`; else `COLUMNS` when set (so a test, or a
/// user, can ask for a width); else the terminal's when stdout is one; else none.
pub fn set_table_width(wide: bool) {
    let width = if wide {
        None
    } else if let Some(columns) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<usize>().ok())
        .filter(|c| *c > 0)
    {
        Some(columns)
    } else if std::io::stdout().is_terminal() {
        terminal_size::terminal_size_of(std::io::stdout()).map(|(w, _)| usize::from(w.0))
    } else {
        None
    };
    let _ = TABLE_WIDTH.set(width);
}

fn table_width() -> Option<usize> {
    TABLE_WIDTH.get().copied().flatten()
}

/// A rectangular result: headers, rows of cells, and which columns hold numbers.
#[derive(Debug, Default)]
pub struct Grid {
    pub headers: Vec<String>,
    pub numeric: Vec<bool>,
    pub rows: Vec<Vec<String>>,
    /// Columns that may be left out to fit a terminal, least important first.
    optional: Vec<String>,
}

/// A table as printed: its text and the optional columns left out to fit.
#[derive(Debug)]
pub struct Fitted {
    pub text: String,
    pub left_out: Vec<String>,
}

impl Grid {
    pub fn new(columns: &[(&'static str, bool)]) -> Self {
        Grid {
            headers: columns.iter().map(|c| c.0.to_owned()).collect(),
            numeric: columns.iter().map(|c| c.1).collect(),
            rows: Vec::new(),
            optional: Vec::new(),
        }
    }

    /// Names the columns that may be left out on a narrow terminal, least important first (the
    /// first is the first to go). Names that are not headers are ignored.
    pub fn optional<S: AsRef<str>>(mut self, columns: &[S]) -> Self {
        self.optional
            .extend(columns.iter().map(|c| c.as_ref().to_owned()));
        self
    }

    /// Adds a column after the existing ones (for columns known only at run time).
    pub fn add_column(&mut self, header: String, numeric: bool) {
        self.headers.push(header);
        self.numeric.push(numeric);
    }

    pub fn push(&mut self, row: Vec<String>) {
        self.rows.push(row);
    }

    /// An aligned plain-text table, numbers right-aligned: within `width` display columns if it can be made so by leaving out optional
    /// columns (in their stated order, no more than needed); every column when `width` is
    /// `None`. Widths are measured from the cells, not by rendering, so a long listing is laid
    /// out once.
    pub fn fit(&self, width: Option<usize>) -> Fitted {
        // Each column is its widest cell plus one space of padding on either side.
        let mut widths: Vec<usize> = self.headers.iter().map(|h| display_width(h)).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(display_width(cell));
            }
        }
        let mut kept = vec![true; self.headers.len()];
        let mut left_out = Vec::new();
        if let Some(width) = width {
            let mut total: usize = widths.iter().map(|w| w + 2).sum();
            for name in &self.optional {
                if total <= width {
                    break;
                }
                if let Some(i) = self.headers.iter().position(|h| h == name)
                    && kept[i]
                {
                    kept[i] = false;
                    total -= widths[i] + 2;
                    left_out.push(name.clone());
                }
            }
        }
        let pick = |cells: &[String]| -> Vec<String> {
            cells
                .iter()
                .zip(&kept)
                .filter(|(_, k)| **k)
                .map(|(c, _)| c.clone())
                .collect()
        };
        let mut table = Table::new();
        table
            .load_preset(presets::NOTHING)
            .set_style(comfy_table::TableComponent::HeaderLines, '─')
            .set_content_arrangement(ContentArrangement::Disabled)
            .set_header(pick(&self.headers));
        for row in &self.rows {
            table.add_row(pick(row));
        }
        let numeric = self.numeric.iter().zip(&kept).filter(|(_, k)| **k);
        for (i, (numeric, _)) in numeric.enumerate() {
            if *numeric && let Some(column) = table.column_mut(i) {
                column.set_cell_alignment(CellAlignment::Right);
            }
        }
        Fitted {
            text: table.to_string(),
            left_out,
        }
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

/// How many terminal columns a cell takes (`—` one, a wide character two).
fn display_width(text: &str) -> usize {
    unicode_width::UnicodeWidthStr::width(text)
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
            let width = table_width();
            let table = grid.fit(width);
            writeln!(out, "{}", table.text)?;
            if let (Some(width), false) = (width, table.left_out.is_empty()) {
                writeln!(
                    out,
                    "(left out to fit {width} columns: {}; --wide shows every column)",
                    table.left_out.join(", ")
                )?;
            }
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

    fn wide_grid() -> Grid {
        let mut grid = Grid::new(&[
            ("id", false),
            ("name", false),
            ("amount", true),
            ("note", false),
        ])
        .optional(&["note", "name"]);
        grid.push(vec![
            "A-1".to_owned(),
            "Première".to_owned(),
            "1,000.00".to_owned(),
            "a long note that takes room".to_owned(),
        ]);
        grid
    }

    fn widest_line(text: &str) -> usize {
        text.lines().map(display_width).max().unwrap_or(0)
    }

    #[test]
    fn a_table_measures_what_it_prints() {
        let grid = wide_grid();
        let all = grid.fit(None);
        assert!(all.left_out.is_empty());
        // id 5, name 10, amount 10, note 29: as comfy-table pads them.
        assert_eq!(widest_line(&all.text), 5 + 10 + 10 + 29);
    }

    #[test]
    fn optional_columns_go_in_their_order_and_only_as_needed() {
        let grid = wide_grid();
        assert!(grid.fit(Some(54)).left_out.is_empty(), "it fits");
        let narrower = grid.fit(Some(53));
        assert_eq!(narrower.left_out, ["note"]);
        assert!(!narrower.text.contains("long note"));
        assert_eq!(widest_line(&narrower.text), 25);
        let narrowest = grid.fit(Some(20));
        assert_eq!(narrowest.left_out, ["note", "name"]);
        assert!(narrowest.text.contains("1,000.00"), "numbers stay aligned");
        // What is not optional stays, even if the table is still too wide.
        assert_eq!(grid.fit(Some(1)).left_out, ["note", "name"]);
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
