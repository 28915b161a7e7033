//! Reading a published CSV table row by row (the ECB rates, the GDP table): the header is the
//! first line that is not blank, rows come with their physical line numbers, blank lines are
//! skipped, a row of the wrong width is reported and skipped, and a CSV syntax error (an
//! unbalanced quote) is reported and ends the read, because it desynchronises the rest.

use crate::location::ImportError;
use crate::text::LineCounter;

/// The header of a table: its line and its cells, trimmed.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub(crate) line: u64,
    pub(crate) cells: Vec<String>,
}

/// The rows after a header.
#[derive(Debug)]
pub(crate) struct CsvRows<'t> {
    file: String,
    reader: csv::Reader<&'t [u8]>,
    lines: LineCounter<'t>,
    record: csv::StringRecord,
    width: usize,
    done: bool,
}

impl<'t> CsvRows<'t> {
    /// Reads up to the header. `Ok(None)` when the text holds nothing but blank lines.
    pub(crate) fn open(file: &str, text: &'t str) -> Result<Option<(Header, Self)>, ImportError> {
        let mut rows = CsvRows {
            file: file.to_owned(),
            reader: csv::ReaderBuilder::new()
                .flexible(true)
                .has_headers(false)
                .from_reader(text.as_bytes()),
            lines: LineCounter::new(text),
            record: csv::StringRecord::new(),
            width: 0,
            done: false,
        };
        match rows.read()? {
            None => Ok(None),
            Some(line) => {
                let cells: Vec<String> = rows.record.iter().map(|c| c.trim().to_owned()).collect();
                rows.width = cells.len();
                Ok(Some((Header { line, cells }, rows)))
            }
        }
    }

    /// The next non-blank record and its line, or the error that ends the read.
    fn read(&mut self) -> Result<Option<u64>, ImportError> {
        loop {
            match self.reader.read_record(&mut self.record) {
                Ok(false) => return Ok(None),
                Ok(true) => {}
                Err(e) => {
                    let line = e.position().map_or(1, |p| self.lines.line_at(p.byte()));
                    return Err(ImportError::new(
                        &self.file,
                        line.max(1),
                        None,
                        None,
                        format!("unreadable row: {e}"),
                    ));
                }
            }
            let blank =
                self.record.len() == 1 && self.record.get(0).is_some_and(|c| c.trim().is_empty());
            if !blank {
                let line = self
                    .record
                    .position()
                    .map_or(1, |p| self.lines.line_at(p.byte()));
                return Ok(Some(line.max(1)));
            }
        }
    }

    /// The next data row with as many cells as the header, with its line. Rows of another width
    /// and a syntax error are reported into `errors`.
    pub(crate) fn next_row(
        &mut self,
        errors: &mut Vec<ImportError>,
    ) -> Option<(u64, &csv::StringRecord)> {
        while !self.done {
            let line = match self.read() {
                Ok(Some(line)) => line,
                Ok(None) => break,
                Err(e) => {
                    errors.push(e);
                    break;
                }
            };
            let found = self.record.len();
            if found == self.width {
                return Some((line, &self.record));
            }
            // Point at the first cell too many, or at the first one missing.
            let hint = if found > self.width {
                " (an unquoted `,` inside a cell, such as a decimal comma?)"
            } else {
                ""
            };
            errors.push(ImportError::new(
                &self.file,
                line,
                Some(found.min(self.width) + 1),
                None,
                format!("row has {found} cells, the header has {}{hint}", self.width),
            ));
        }
        self.done = true;
        None
    }
}
