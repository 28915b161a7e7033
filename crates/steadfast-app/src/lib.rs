//! Steadfast's application layer: the use cases the CLI (and later the server) drive.
//!
//! A [`Steadfast`] owns an event store and the in-memory projection folded from it. Opening
//! replays the log; every successful append is folded in with the same `apply`, so the
//! in-memory state is always exactly the replay of the log. Writes go through the domain's
//! `Draft`, so nothing is appended unless the whole batch is valid.
//!
//! An open ledger's life, one module a step: [`storage`] opens the store, `restore` restores
//! the projection from the snapshot (its chain verified by `chain`), `replay` folds and
//! verifies the events after it, [`write`] decides a batch, `append` appends it and has
//! `replay` fold it, and [`snapshot`] saves a snapshot when one is due. [`Steadfast`] holds
//! the store and the projection and hands each step what it needs.

mod append;
pub mod cancel;
mod chain;
pub mod codec;
mod error;
pub mod frameworks;
pub mod fx;
pub mod import;
pub mod progress;
pub mod queries;
mod replay;
pub mod reports;
mod restore;
pub mod scenario;
pub mod service;
pub mod snapshot;
pub mod storage;
pub mod tracker;
pub mod views;
pub mod write;

use std::path::Path;
use std::sync::Arc;

use steadfast_domain::{DomainEvent, Ledger};
use steadfast_store::{Clock, EventLog, EventStore, Head};

use replay::Projection;
use write::Batch;

pub use cancel::Cancel;
pub use error::AppError;
pub use import::{
    ImportOptions, ImportOutcome, decide_contributions, import_contributions, import_file,
    import_file_keeping,
};
pub use progress::{Phase, Progress};
/// What a front end names on its command line or in a request: a date, a moment, a chain head.
pub use service::{
    Caller, ChainBreak, ChainHead, CreateToken, CreatedToken, FairShareQuery, Identity,
    ImportContributions, ImportRates, ImportTracker, PartiesQuery, Problem, ReconcileQuery,
    RecordStageEvent, Recorded, Service, ServiceError, ShowContribution, SnapshotDiscarded,
    TOKEN_PREFIX, TokenLine, TokenList, Verified, parse_date, parse_moment,
};
pub use storage::{Access, Database, ServingLock, hold_for_serving, log_length, open_store};

/// An open ledger: the store and its projection.
#[derive(Debug)]
pub struct Steadfast {
    store: Box<dyn EventStore>,
    projection: Projection,
    /// Whether this process may save snapshots (not when the ledger is opened read-only).
    saves_snapshots: bool,
    /// The position of the last snapshot loaded or saved (0: none).
    snapshot_at: u64,
    /// What became of the saved snapshot on open.
    snapshot_use: snapshot::SnapshotUse,
}

impl Steadfast {
    /// Opens a database and replays it; `progress` is told how many events have been replayed.
    pub fn open(
        database: &Database,
        access: Access,
        clock: Option<Arc<dyn Clock>>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Self, AppError> {
        let store = open_store(database, access, clock)?;
        // A second, read-only handle verifies the chain under a snapshot while this one decodes
        // it (two cores, half the wait); without one the chain is verified first.
        let reader = || {
            let log: Box<dyn EventLog> = open_store(database, Access::Read, None).ok()?;
            Some(log)
        };
        Steadfast::restore(store, access != Access::Read, &reader, progress)
    }

    /// Opens a SQLite ledger for writing (creating it if `create`), without progress.
    pub fn open_path(path: &Path, create: bool) -> Result<Self, AppError> {
        let access = if create {
            Access::Create
        } else {
            Access::Write
        };
        Steadfast::open(
            &Database::Sqlite(path.to_owned()),
            access,
            None,
            &mut |_| {},
        )
    }

    /// Replays a store into a fresh projection (from its snapshot, when one can be trusted);
    /// saves a snapshot when many events had to be replayed.
    pub fn from_store(
        store: Box<dyn EventStore>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Self, AppError> {
        Steadfast::restore(store, true, &|| None, progress)
    }

    fn restore(
        mut store: Box<dyn EventStore>,
        saves_snapshots: bool,
        reader: &dyn Fn() -> Option<Box<dyn EventLog>>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Self, AppError> {
        let (mut projection, snapshot_use) =
            restore::restore(store.as_mut(), saves_snapshots, reader)?;
        projection.catch_up(store.as_ref(), progress)?;
        let snapshot_at = match snapshot_use {
            snapshot::SnapshotUse::Loaded { position } => position,
            _ => 0,
        };
        let mut app = Steadfast {
            store,
            projection,
            saves_snapshots,
            snapshot_at,
            snapshot_use,
        };
        app.snapshot_if_due();
        Ok(app)
    }

    /// Folds into the projection every event appended after the last one it holds (by this
    /// process or another writer), verifying the hash chain as it goes: no figure is ever
    /// computed from a log that does not verify. Returns how many events were applied;
    /// `progress` is told the log position reached (a snapshot's counts as reached).
    pub fn catch_up(&mut self, progress: &mut dyn FnMut(u64)) -> Result<u64, AppError> {
        self.projection.catch_up(self.store.as_ref(), progress)
    }

    /// Appends decided events as one atomic batch, expecting every touched stream to be where
    /// the projection last saw it, and folds them into the projection once the batch is
    /// committed (see [`Steadfast::append_batch`]).
    pub fn append(&mut self, mut events: Vec<DomainEvent>, actor: &str) -> Result<u64, AppError> {
        self.append_batch(&mut events, actor)
    }

    /// Appends a decided batch atomically and folds it into the projection once it is
    /// committed (see `append::append`); a batch that is not committed is left as it was, to be
    /// decided again.
    pub fn append_batch(&mut self, batch: &mut dyn Batch, actor: &str) -> Result<u64, AppError> {
        self.append_batch_unless(batch, actor, None, None)
    }

    /// [`Steadfast::append_batch`], stopping without writing anything if `cancel` is requested
    /// before the last event is handed to the store; `progress` counts the events written.
    pub(crate) fn append_batch_unless(
        &mut self,
        batch: &mut dyn Batch,
        actor: &str,
        cancel: Option<&Cancel>,
        progress: Option<&Progress>,
    ) -> Result<u64, AppError> {
        let appended = append::append(
            self.store.as_mut(),
            &mut self.projection,
            batch,
            actor,
            cancel,
            progress,
        )?;
        self.snapshot_if_due();
        Ok(appended)
    }

    /// Saves a snapshot of the projection now (a writer only).
    pub fn save_snapshot(&mut self) -> Result<(), AppError> {
        let Some(head) = self.projection.head() else {
            return Ok(());
        };
        let state = snapshot::StateRef {
            ledger: &self.projection.ledger,
            versions: self.projection.verifier.stream_versions(),
            known_heads: snapshot::encode_heads(&self.projection.known_heads),
        };
        snapshot::save(self.store.as_mut(), head, &state)?;
        self.snapshot_at = head.position;
        Ok(())
    }

    /// Saves a snapshot if this process may and enough events were folded since the last. A
    /// failure to save costs only a longer replay next time, so it is not an error of the
    /// command that got here.
    fn snapshot_if_due(&mut self) {
        let at = self.projection.head().map_or(0, |h| h.position);
        if self.saves_snapshots && at.saturating_sub(self.snapshot_at) >= snapshot::EVERY {
            let _ = self.save_snapshot();
        }
    }

    /// What became of the saved snapshot when this ledger was opened.
    pub fn snapshot_use(&self) -> &snapshot::SnapshotUse {
        &self.snapshot_use
    }

    pub fn ledger(&self) -> &Ledger {
        &self.projection.ledger
    }

    /// The head of the log as far as the projection has folded and verified it.
    pub fn head(&self) -> Option<Head> {
        self.projection.head()
    }

    /// The head of the log as it stood at `moment`: the last event recorded at or before it
    /// (`None` if nothing was recorded by then).
    pub fn head_known_on(&self, moment: jiff::Timestamp) -> Option<Head> {
        self.projection.head_known_on(moment)
    }

    pub fn store(&self) -> &dyn EventStore {
        self.store.as_ref()
    }

    pub fn location(&self) -> String {
        self.store.location()
    }
}
