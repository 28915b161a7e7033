//! What can go wrong in the application layer, before a front end's [`crate::ServiceError`]
//! sorts it into the answer a caller gets.

use steadfast_store::StoreError;

use crate::storage;

/// Application failures.
#[derive(Debug)]
pub enum AppError {
    /// What the store says went wrong, followed by what to do about it where that is a command
    /// to run (see [`storage::hint`]); its causes are the store error's.
    Store(StoreError),
    Corrupt(String),
    /// The request is wrong; the message says how.
    Invalid(String),
    /// No such record (as known on the moment asked about); the message says which.
    NotFound(String),
    /// The ledger moved under the request; the message says how.
    Conflict(String),
    /// The caller's role may not do this; the message says what it needs.
    Forbidden(String),
    Rejected(steadfast_ingest::ErrorList),
    /// A stop was requested (see [`Cancel`]) before the batch was committed: nothing was
    /// written.
    Cancelled,
}

impl std::fmt::Display for AppError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AppError::Store(e) => write!(f, "{e}{}", storage::hint(e)),
            AppError::Corrupt(why) => write!(f, "the ledger is corrupt: {why}"),
            AppError::Invalid(why)
            | AppError::NotFound(why)
            | AppError::Conflict(why)
            | AppError::Forbidden(why) => f.write_str(why),
            AppError::Rejected(errors) => errors.fmt(f),
            AppError::Cancelled => f.write_str("interrupted before anything was recorded"),
        }
    }
}

impl std::error::Error for AppError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            AppError::Store(e) => e.source(),
            AppError::Rejected(errors) => errors.source(),
            _ => None,
        }
    }
}

impl From<StoreError> for AppError {
    fn from(e: StoreError) -> Self {
        AppError::Store(e)
    }
}

impl From<steadfast_ingest::ErrorList> for AppError {
    fn from(errors: steadfast_ingest::ErrorList) -> Self {
        AppError::Rejected(errors)
    }
}
