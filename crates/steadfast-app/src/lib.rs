//! Steadfast's application layer: the use cases the CLI (and later the server) drive.
//!
//! A [`Steadfast`] owns an event store and the in-memory projection folded from it. Opening
//! replays the log; every successful append is folded in with the same `apply`, so the
//! in-memory state is always exactly the replay of the log. Writes go through the domain's
//! `Draft`, so nothing is appended unless the whole batch is valid.
//!
//! An open ledger's life, one module a step: [`storage`] opens the store, [`open`] restores the
//! snapshot (its chain verified by [`chain`]), [`replay`] folds and verifies the events after
//! it, [`write`] decides a batch, and [`append`] appends it, folds it and saves a snapshot
//! when one is due.

mod append;
pub mod cancel;
mod chain;
pub mod codec;
mod error;
pub mod frameworks;
pub mod fx;
pub mod import;
mod open;
pub mod progress;
pub mod queries;
mod replay;
pub mod reports;
pub mod scenario;
pub mod service;
pub mod snapshot;
pub mod storage;
pub mod tracker;
pub mod write;

use steadfast_domain::Ledger;
use steadfast_store::{ChainVerifier, EventStore, Head};

pub use cancel::Cancel;
pub use error::AppError;
pub use import::{
    ImportOptions, ImportOutcome, decide_contributions, import_contributions, import_file,
    import_file_keeping,
};
pub use progress::{Phase, Progress};
pub use service::{
    Identity, ImportContributions, ImportRates, ImportTracker, Problem, Service, ServiceError,
    Verified,
};
/// What a front end names on its command line or in a request: a date, a chain head.
pub use steadfast_ingest::parse_date;
pub use steadfast_store::{ChainHash, VerifyReport};
pub use storage::{Access, Database, log_length, open_store};

/// An open ledger: the store and its projection.
#[derive(Debug)]
pub struct Steadfast {
    store: Box<dyn EventStore>,
    ledger: Ledger,
    /// Checks every event folded into `ledger`; its head is the projection's head.
    verifier: ChainVerifier,
    /// The head after each distinct recording moment, in log order (recording times never go
    /// back), so a report "as known on" a moment can name the head it was computed at.
    known_heads: Vec<Head>,
    /// Whether this process may save snapshots (not when the ledger is opened read-only).
    saves_snapshots: bool,
    /// The position of the last snapshot loaded or saved (0: none).
    snapshot_at: u64,
    /// What became of the saved snapshot on open.
    snapshot_use: snapshot::SnapshotUse,
}

impl Steadfast {
    /// What became of the saved snapshot when this ledger was opened.
    pub fn snapshot_use(&self) -> &snapshot::SnapshotUse {
        &self.snapshot_use
    }

    pub fn ledger(&self) -> &Ledger {
        &self.ledger
    }

    /// The head of the log as far as the projection has folded and verified it.
    pub fn head(&self) -> Option<Head> {
        self.verifier.head()
    }

    /// The head of the log as it stood at `moment`: the last event recorded at or before it
    /// (`None` if nothing was recorded by then).
    pub fn head_known_on(&self, moment: jiff::Timestamp) -> Option<Head> {
        let known = self
            .known_heads
            .partition_point(|h| h.recorded_at <= moment);
        known.checked_sub(1).map(|i| self.known_heads[i])
    }

    pub fn store(&self) -> &dyn EventStore {
        self.store.as_ref()
    }

    pub fn location(&self) -> String {
        self.store.location()
    }
}
