//! The one place that chooses the store behind a ledger: `--database` is parsed into a
//! [`Database`], and [`open_store`] opens the backend it names with the [`Access`] a command
//! needs. Outside the backends' own tests, nothing else opens one. A store's errors say what is
//! wrong without naming a command; [`hint`] adds the command that helps, when there is one.

use std::sync::Arc;

use steadfast_store::{Clock, EventStore, StoreError};
use steadfast_store_sqlite::{OpenMode, SqliteStore};

use crate::AppError;

/// Where a ledger lives, parsed from `--database`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    Sqlite(std::path::PathBuf),
}

impl Database {
    /// A path (or `sqlite:` path) means the embedded SQLite backend. PostgreSQL URLs are
    /// recognised and refused until that backend lands.
    pub fn parse(text: &str) -> Result<Self, AppError> {
        if text.starts_with("postgres://") || text.starts_with("postgresql://") {
            return Err(AppError::Invalid(
                "PostgreSQL is not supported by this build yet; use a SQLite file path".to_owned(),
            ));
        }
        let path = text.strip_prefix("sqlite:").unwrap_or(text);
        if path.is_empty() {
            return Err(AppError::Invalid("the database path is empty".to_owned()));
        }
        Ok(Database::Sqlite(path.into()))
    }
}

/// What a command needs of the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Read only: never creates, upgrades or writes the file; works on a read-only ledger.
    Read,
    /// Read and write an existing ledger.
    Write,
    /// Read and write, creating the ledger if it is missing.
    Create,
}

/// The position of the log's last event, read without replaying anything (a progress bar's
/// total); `None` when there is no ledger yet or it cannot be read (opening will say why).
pub fn log_length(database: &Database) -> Option<u64> {
    let store = open_store(database, Access::Read, None).ok()?;
    store.head().ok().flatten().map(|h| h.position)
}

/// Opens the event store behind a database without replaying it (what `log verify` needs).
pub fn open_store(
    database: &Database,
    access: Access,
    clock: Option<Arc<dyn Clock>>,
) -> Result<Box<dyn EventStore>, AppError> {
    let mode = match access {
        Access::Read => OpenMode::ReadOnly,
        Access::Write => OpenMode::MustExist,
        Access::Create => OpenMode::CreateIfMissing,
    };
    Ok(match database {
        Database::Sqlite(path) => Box::new(match clock {
            Some(c) => SqliteStore::open_with_clock(path, mode, c)?,
            None => SqliteStore::open(path, mode)?,
        }),
    })
}

/// What to run about a store failure, when a command helps: appended to the store's own message
/// where an [`AppError::Store`] is shown.
pub(crate) fn hint(e: &StoreError) -> &'static str {
    match e {
        StoreError::Missing { .. } => {
            " (run `steadfast demo` or `steadfast import contributions FILE` to create one)"
        }
        StoreError::NotWritable { .. } => {
            ". Only writing needs that: read commands such as `steadfast contributions list` and `steadfast log verify` open the ledger read-only and need no write access"
        }
        StoreError::ReadNeedsWriteAccess { .. } => {
            "; open it once with a write command such as `steadfast import`, or read it where the directory is writable"
        }
        StoreError::NeedsUpgrade { .. } => {
            " — open it once with a write command such as `steadfast import` to upgrade"
        }
        StoreError::ChangedOutsideStore { .. } => " (run `steadfast log verify`)",
        StoreError::Conflict { .. }
        | StoreError::DuplicateKey(_)
        | StoreError::NotFound(_)
        | StoreError::Incompatible(_)
        | StoreError::Backend(_) => "",
    }
}

/// A ledger held by one serving process: while it is held, another process asking for it is
/// refused. It is an operating-system lock on a file beside the ledger (`<ledger>.serving`),
/// released when this is dropped or the process ends, however it ends.
#[derive(Debug)]
pub struct ServingLock {
    _file: std::fs::File,
}

/// Takes the serving lock of `database`, or says who holds it.
pub fn hold_for_serving(database: &Database) -> Result<ServingLock, AppError> {
    let Database::Sqlite(path) = database;
    let mut lock_path = path.clone().into_os_string();
    lock_path.push(".serving");
    let lock_path = std::path::PathBuf::from(lock_path);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(|e| {
            AppError::Invalid(format!(
                "cannot open the serving lock {}: {e}",
                lock_path.display()
            ))
        })?;
    match file.try_lock() {
        Ok(()) => Ok(ServingLock { _file: file }),
        Err(std::fs::TryLockError::WouldBlock) => Err(AppError::Conflict(format!(
            "{} is already served by another process (it holds {}); one server per ledger",
            path.display(),
            lock_path.display()
        ))),
        Err(std::fs::TryLockError::Error(e)) => Err(AppError::Invalid(format!(
            "cannot lock {}: {e}",
            lock_path.display()
        ))),
    }
}
