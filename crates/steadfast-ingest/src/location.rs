//! Located errors: where in which file, and why.

use std::fmt;

/// A place in an input file. Lines and columns count from 1; the column of a CSV cell is the
/// cell's position in the row (what a spreadsheet shows), named by `field`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Location {
    pub file: String,
    pub line: u64,
    pub column: Option<usize>,
    pub field: Option<String>,
}

/// One problem in an input, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportError {
    pub location: Location,
    pub message: String,
}

impl ImportError {
    pub fn new(
        file: &str,
        line: u64,
        column: Option<usize>,
        field: Option<&str>,
        message: impl Into<String>,
    ) -> Self {
        ImportError {
            location: Location {
                file: file.to_owned(),
                line,
                column,
                field: field.map(str::to_owned),
            },
            message: message.into(),
        }
    }
}

impl fmt::Display for ImportError {
    /// `file:line:column: field: reason`, the form editors and CI logs link.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let l = &self.location;
        write!(f, "{}:{}", l.file, l.line)?;
        if let Some(c) = l.column {
            write!(f, ":{c}")?;
        }
        if let Some(field) = &l.field {
            write!(f, ": {field}")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ImportError {}

/// All the problems of one input, in file order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ErrorList(pub Vec<ImportError>);

impl ErrorList {
    pub fn sort(&mut self) {
        self.0.sort_by(|a, b| a.location.cmp(&b.location));
    }
}

impl fmt::Display for ErrorList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for e in &self.0 {
            writeln!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for ErrorList {}
