//! The application service: the use cases a front end drives (the CLI today, the server
//! next), each a plain method taking who asks and a typed command, returning a typed result
//! or a [`ServiceError`] whose variants are what a server answers. A front end reads bytes and
//! flags and prints results; it neither parses a file nor opens a store itself.

use std::fmt;

use jiff::civil::Date;
use steadfast_domain::DatasetId;
use steadfast_ingest::{CsvOptions, ImportError, parse_contributions, parse_ecb_rates};
use steadfast_store::{ChainHash, StoreError, VerifyReport};

use crate::fx::FxImportOutcome;
use crate::import::{ImportOptions, ImportOutcome, import_file_keeping};
use crate::progress::{Phase, Progress};
use crate::storage::{Access, Database, log_length, open_store};
use crate::tracker::{TrackerImport, TrackerOutcome, TrackerRelease, import_tracker, sha256_hex};
use crate::{AppError, Cancel, Steadfast};

/// A located problem of an input: file, line, column, field and why.
pub type Problem = ImportError;

/// Who asks: the actor recorded with every event a use case appends (a server will have
/// authenticated it; the CLI takes the operating-system user).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub actor: String,
}

/// Why a use case failed, one variant per answer a server gives.
#[derive(Debug)]
pub enum ServiceError {
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
            ServiceError::NotFound(_) => 404,
            ServiceError::Forbidden(_) => 403,
            ServiceError::Conflict(_) => 409,
            ServiceError::Invalid { .. } => 422,
            ServiceError::Unavailable(_) => 503,
            ServiceError::Corrupt(_) => 500,
            ServiceError::Interrupted => 499,
        }
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
            AppError::Invalid(message) => ServiceError::Invalid {
                problems: Vec::new(),
                message,
            },
            AppError::Rejected(errors) => ServiceError::Invalid {
                message: errors.to_string(),
                problems: errors.0,
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
            ServiceError::Invalid { message, .. } => f.write_str(message),
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
            ServiceError::Invalid { .. } | ServiceError::Interrupted => None,
        }
    }
}

/// Import a contributions file's bytes.
#[derive(Debug)]
pub struct ImportContributions {
    /// How the file is named in messages.
    pub file: String,
    pub bytes: Vec<u8>,
    /// The dataset its rows belong to (`ledger` when `None`).
    pub dataset: Option<DatasetId>,
    /// Ignore columns the layout does not know instead of refusing them.
    pub ignore_extra: bool,
    pub dry_run: bool,
    pub cancel: Cancel,
}

/// Import a tracker release's bytes as a dataset.
#[derive(Debug)]
pub struct ImportTracker {
    pub file: String,
    pub bytes: Vec<u8>,
    pub dataset: DatasetId,
    /// The release label, when the caller names it.
    pub release: Option<String>,
    /// The publisher's `release_info.csv` found beside the file: its name and bytes.
    pub release_info: Option<(String, Vec<u8>)>,
    /// The day the release is recorded on.
    pub today: Date,
    pub dry_run: bool,
}

/// Import a file of ECB reference rates.
#[derive(Debug)]
pub struct ImportRates {
    pub file: String,
    pub bytes: Vec<u8>,
    pub dry_run: bool,
}

/// What verifying the log found, and where the log is.
#[derive(Debug)]
pub struct Verified {
    pub location: String,
    pub report: VerifyReport,
}

/// The use cases over one ledger.
#[derive(Debug, Clone)]
pub struct Service {
    database: Database,
}

impl Service {
    pub fn new(database: Database) -> Self {
        Service { database }
    }

    /// The position of the log's last event, without replaying it (a progress bar's total).
    pub fn log_length(&self) -> Option<u64> {
        log_length(&self.database)
    }

    /// Opens the ledger for queries and reports (replayed and verified).
    pub fn open(
        &self,
        access: Access,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Steadfast, ServiceError> {
        Ok(Steadfast::open(&self.database, access, None, progress)?)
    }

    /// Parses a contributions file and records it whole or not at all; hands back the open
    /// ledger too, so the caller chooses when it is closed. Rules are checked even when some
    /// rows failed to parse, so one run reports everything.
    pub fn import_contributions(
        &self,
        who: &Identity,
        cmd: ImportContributions,
        progress: &Progress,
    ) -> Result<(ImportOutcome, Option<Steadfast>), ServiceError> {
        // Rows are lines but for the header (a quoted cell may hold a line break: then the
        // count ends a little short).
        let lines = cmd.bytes.iter().filter(|b| **b == b'\n').count() as u64;
        progress.start(Phase::Reading, Some(lines.saturating_sub(1).max(1)));
        let parsed = parse_contributions(
            &cmd.file,
            &cmd.bytes,
            CsvOptions {
                ignore_extra: cmd.ignore_extra,
            },
            &mut |rows| progress.set(rows),
        );
        drop(cmd.bytes);
        let parsed = match &cmd.dataset {
            Some(d) => parsed.in_dataset(d),
            None => parsed,
        };
        if cmd.cancel.is_requested() {
            return Err(ServiceError::Interrupted);
        }
        let options = ImportOptions {
            dry_run: cmd.dry_run,
            cancel: cmd.cancel,
            progress: progress.clone(),
        };
        progress.start(Phase::Replaying, self.log_length());
        let (outcome, app) =
            import_file_keeping(&self.database, parsed, &who.actor, options, &mut |n| {
                progress.set(n)
            })?;
        Ok((outcome, app))
    }

    /// Parses a tracker release and records it as a dataset's release (only its differences
    /// from the release before). The release is the one named, else the one `release_info`
    /// gives, else the file's SHA-256.
    pub fn import_tracker(
        &self,
        who: &Identity,
        cmd: ImportTracker,
        progress: &Progress,
    ) -> Result<TrackerOutcome, ServiceError> {
        let parsed =
            steadfast_ingest::parse_tracker(&cmd.file, &cmd.bytes).map_err(AppError::from)?;
        let sha256 = sha256_hex(&cmd.bytes);
        let info = match &cmd.release_info {
            Some((name, bytes)) => {
                Some(steadfast_ingest::parse_tracker_release(name, bytes).map_err(AppError::from)?)
            }
            None => None,
        };
        let release = match (cmd.release, info) {
            (Some(label), info) => TrackerRelease {
                title: info.filter(|i| i.release == label).map_or_else(
                    || format!("Ukraine Support Tracker, release {label}"),
                    |i| i.label,
                ),
                release: label,
                published_on: None,
            },
            (None, Some(info)) => TrackerRelease {
                release: info.release,
                title: info.label,
                published_on: Some(info.date),
            },
            (None, None) => TrackerRelease {
                release: sha256.clone(),
                title: format!("Ukraine Support Tracker, file {}", &sha256[..12]),
                published_on: None,
            },
        };
        let import = TrackerImport {
            file: cmd.file,
            dataset: cmd.dataset,
            release,
            sha256,
            parsed,
            today: cmd.today,
        };
        progress.start(Phase::Replaying, self.log_length());
        Ok(import_tracker(
            &self.database,
            &import,
            &who.actor,
            cmd.dry_run,
            &mut |n| progress.set(n),
        )?)
    }

    /// Parses a file of ECB reference rates and records the days and currencies not yet
    /// recorded (a recorded fixing is never changed).
    pub fn import_rates(
        &self,
        who: &Identity,
        cmd: ImportRates,
        progress: &Progress,
    ) -> Result<FxImportOutcome, ServiceError> {
        let rates = parse_ecb_rates(&cmd.file, &cmd.bytes).map_err(AppError::from)?;
        drop(cmd.bytes);
        progress.start(Phase::Replaying, self.log_length());
        Ok(crate::write::write_to(
            &self.database,
            &who.actor,
            cmd.dry_run,
            &mut |n| progress.set(n),
            &mut crate::write::DecidedBy::new(&mut |ledger| {
                crate::fx::decide_rate_file(ledger, &cmd.file, &rates, cmd.dry_run)
            }),
        )?)
    }

    /// Verifies the log's hash chain from its first event, read-only, optionally checking
    /// that `expected_head` (a head noted earlier) is in it.
    pub fn verify(
        &self,
        expected_head: Option<ChainHash>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Verified, ServiceError> {
        let store = open_store(&self.database, Access::Read, None)?;
        let report = steadfast_store::verify(store.as_ref(), expected_head, progress)
            .map_err(AppError::from)?;
        Ok(Verified {
            location: store.location(),
            report,
        })
    }
}
