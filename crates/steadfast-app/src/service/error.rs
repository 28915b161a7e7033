//! What a use case answers when it fails: [`ServiceError`], one variant per answer a server
//! gives, and [`Problem`], one located reason a request or a file is refused.

use std::fmt;

use serde::Serialize;
use steadfast_domain::{Field, Reason, Rejection};
use steadfast_ingest::ImportError;
use steadfast_store::StoreError;

use crate::AppError;

/// One reason a request or an input is refused: where (the file, line and column of an input;
/// the field of a request or of a row) and why. A problem of a request names its field only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub file: Option<String>,
    pub line: Option<u64>,
    pub column: Option<usize>,
    pub field: Option<String>,
    pub message: String,
}

impl Problem {
    /// A problem of one field of a request.
    pub fn at_field(field: impl Into<String>, message: impl Into<String>) -> Self {
        Problem {
            file: None,
            line: None,
            column: None,
            field: Some(field.into()),
            message: message.into(),
        }
    }
}

impl From<ImportError> for Problem {
    fn from(e: ImportError) -> Self {
        Problem {
            file: Some(e.location.file),
            line: Some(e.location.line),
            column: e.location.column,
            field: e.location.field,
            message: e.message,
        }
    }
}

impl From<Reason> for Problem {
    fn from(r: Reason) -> Self {
        Problem {
            file: None,
            line: None,
            column: None,
            field: r.field.map(|f| f.name().to_owned()),
            // A specification key is the field itself, which the problem names already; a
            // rate's currency is not in its field's name, so its message keeps it.
            message: match r.field {
                Some(Field::Key(_)) => r.message,
                _ => r.to_string(),
            },
        }
    }
}

impl fmt::Display for Problem {
    /// `file:line:column: field: reason` for an input (the form editors and CI logs link),
    /// `field: reason` for a request.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(file) = &self.file {
            write!(f, "{file}")?;
            if let Some(line) = self.line {
                write!(f, ":{line}")?;
            }
            if let Some(c) = self.column {
                write!(f, ":{c}")?;
            }
            f.write_str(": ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for Problem {}

/// Why a use case failed, one variant per answer a server gives.
#[derive(Debug)]
pub enum ServiceError {
    /// No valid credentials: a token unknown, expired or revoked (HTTP 401). The message is
    /// the same for each, so it tells a guesser nothing.
    Unauthenticated(String),
    /// No such ledger or record (HTTP 404).
    NotFound(AppError),
    /// This process may not do it: the ledger is not writable, or reading needs write access
    /// (HTTP 403).
    Forbidden(AppError),
    /// The ledger moved under the request: a stream is not at the version expected, or the key
    /// is already recorded otherwise (HTTP 409).
    Conflict(AppError),
    /// The request is wrong: every problem, located (HTTP 422). `problems` is empty when the
    /// message alone says it (an unsupported database address).
    Invalid {
        problems: Vec<Problem>,
        message: String,
    },
    /// The ledger cannot serve it now (locked by a writer, to be upgraded by one, a backend
    /// failure) or not with this build (a file of another application or a newer schema)
    /// (HTTP 503).
    Unavailable(AppError),
    /// The log does not verify or a stored event cannot be read: no figure is given (HTTP 500).
    Corrupt(AppError),
    /// The caller asked to stop before anything was recorded (HTTP 499: the client went away).
    Interrupted,
}

impl ServiceError {
    /// The HTTP status a server answers with.
    pub fn status(&self) -> u16 {
        match self {
            ServiceError::Unauthenticated(_) => 401,
            ServiceError::NotFound(_) => 404,
            ServiceError::Forbidden(_) => 403,
            ServiceError::Conflict(_) => 409,
            ServiceError::Invalid { .. } => 422,
            ServiceError::Unavailable(_) => 503,
            ServiceError::Corrupt(_) => 500,
            ServiceError::Interrupted => 499,
        }
    }

    /// No such record; `message` says which (and what there is instead).
    pub(crate) fn not_found(message: impl Into<String>) -> Self {
        ServiceError::NotFound(AppError::NotFound(message.into()))
    }

    /// The ledger moved under the request; `message` says how.
    pub(crate) fn conflict(message: impl Into<String>) -> Self {
        ServiceError::Conflict(AppError::Conflict(message.into()))
    }

    /// One field of the request is wrong; the message is the problem's own.
    pub(crate) fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        let message = message.into();
        ServiceError::Invalid {
            problems: vec![Problem::at_field(field, message.clone())],
            message,
        }
    }

    /// A command the rules refused, with every reason (each naming its field where one is at
    /// fault).
    pub(crate) fn rejected(rejection: Rejection) -> Self {
        let problems: Vec<Problem> = rejection.reasons.into_iter().map(Problem::from).collect();
        let message = problems
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join("; ");
        ServiceError::Invalid { problems, message }
    }
}

impl From<AppError> for ServiceError {
    fn from(e: AppError) -> Self {
        match e {
            AppError::Store(ref store) => match store {
                StoreError::Missing { .. } | StoreError::NotFound(_) => ServiceError::NotFound(e),
                StoreError::NotWritable { .. } | StoreError::ReadNeedsWriteAccess { .. } => {
                    ServiceError::Forbidden(e)
                }
                StoreError::Conflict { .. } | StoreError::DuplicateKey(_) => {
                    ServiceError::Conflict(e)
                }
                StoreError::ChangedOutsideStore { .. } => ServiceError::Corrupt(e),
                StoreError::NeedsUpgrade { .. }
                | StoreError::Incompatible(_)
                | StoreError::Backend(_) => ServiceError::Unavailable(e),
            },
            AppError::Corrupt(_) => ServiceError::Corrupt(e),
            AppError::NotFound(_) => ServiceError::NotFound(e),
            AppError::Conflict(_) => ServiceError::Conflict(e),
            AppError::Forbidden(_) => ServiceError::Forbidden(e),
            AppError::Invalid(message) => ServiceError::Invalid {
                problems: Vec::new(),
                message,
            },
            AppError::Rejected(errors) => ServiceError::Invalid {
                message: errors.to_string(),
                problems: errors.0.into_iter().map(Problem::from).collect(),
            },
            AppError::Cancelled => ServiceError::Interrupted,
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceError::NotFound(e)
            | ServiceError::Forbidden(e)
            | ServiceError::Conflict(e)
            | ServiceError::Unavailable(e)
            | ServiceError::Corrupt(e) => e.fmt(f),
            ServiceError::Invalid { message, .. } | ServiceError::Unauthenticated(message) => {
                f.write_str(message)
            }
            ServiceError::Interrupted => f.write_str("interrupted before anything was recorded"),
        }
    }
}

impl std::error::Error for ServiceError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ServiceError::NotFound(e)
            | ServiceError::Forbidden(e)
            | ServiceError::Conflict(e)
            | ServiceError::Unavailable(e)
            | ServiceError::Corrupt(e) => std::error::Error::source(e),
            ServiceError::Invalid { .. }
            | ServiceError::Unauthenticated(_)
            | ServiceError::Interrupted => None,
        }
    }
}
