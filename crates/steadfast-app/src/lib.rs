//! Steadfast's application layer: the use cases the CLI (and later the server) drive.
//!
//! A [`Steadfast`] owns an event store and the in-memory projection folded from it. Opening
//! replays the log; every successful append is folded in with the same `apply`, so the
//! in-memory state is always exactly the replay of the log. Writes go through the domain's
//! `Draft`, so nothing is appended unless the whole batch is valid.

pub mod cancel;
pub mod codec;
pub mod frameworks;
pub mod fx;
pub mod import;
pub mod progress;
pub mod queries;
pub mod reports;
pub mod scenario;
pub mod service;
pub mod snapshot;
pub mod storage;
pub mod tracker;
pub mod views;
pub mod write;

use std::ops::ControlFlow;
use std::path::Path;
use std::sync::Arc;

use steadfast_domain::{DomainEvent, EventMeta, Ledger};
use steadfast_store::{
    ChainVerifier, Clock, EventLog, EventStore, ExpectedVersion, Head, StoreError,
};
use write::Batch;

pub use cancel::Cancel;
pub use import::{
    ImportOptions, ImportOutcome, decide_contributions, import_contributions, import_file,
    import_file_keeping,
};
pub use progress::{Phase, Progress};
/// What a front end names on its command line or in a request: a date, a moment, a chain head.
pub use service::{
    ChainBreak, ChainHead, FairShareQuery, Identity, ImportContributions, ImportRates,
    ImportTracker, PartiesQuery, Problem, ReconcileQuery, RecordStageEvent, Recorded, Service,
    ServiceError, ShowContribution, SnapshotDiscarded, Verified, parse_date, parse_moment,
};
pub use storage::{Access, Database, log_length, open_store};

/// Application failures.
#[derive(Debug)]
pub enum AppError {
    /// What the store says went wrong, followed by what to do about it where that is a command
    /// to run (see [`storage::hint`]); its causes are the store error's.
    Store(StoreError),
    Corrupt(String),
    Invalid(String),
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
            AppError::Invalid(why) => f.write_str(why),
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

/// Segments the chain under a snapshot is verified in, each on its own thread and handle, while
/// the snapshot is decoded: verifying is as long as decoding, and both share the cores.
const VERIFIERS: usize = 2;

/// Verifies the hash chain from the first event to `head` (which must be where it ends), in as
/// many segments as there are `stores` (handles on the same log), each on its own thread: the
/// check of each event needs only the hash stored before it, and the segments are joined by
/// [`ChainVerifier::then`], which checks the stream versions across each seam.
fn verify_chain(stores: Vec<Box<dyn EventLog>>, head: Head) -> Result<(), AppError> {
    let Some(first) = stores.first() else {
        return Err(AppError::Corrupt(
            "no handle to verify the log with".to_owned(),
        ));
    };
    let n = stores.len() as u64;
    let mut seams: Vec<u64> = (1..n)
        .map(|i| head.position * i / n)
        .filter(|seam| *seam > 0)
        .collect();
    seams.dedup();
    // Each segment starts after the head at its seam, as stored (checked when joined).
    let mut starts: Vec<Option<Head>> = vec![None];
    for seam in &seams {
        starts.push(Some(
            head_at(first.as_ref(), *seam)?.ok_or_else(|| ends_early(head))?,
        ));
    }
    let ends = seams.iter().copied().chain([head.position]);
    let segments: Vec<Segment> = std::thread::scope(|scope| {
        let running: Vec<_> = starts
            .iter()
            .zip(ends)
            .zip(stores)
            .map(|((start, end), store)| {
                let start = *start;
                scope.spawn(move || verify_segment(store.as_ref(), start, end))
            })
            .collect();
        running
            .into_iter()
            .map(|t| {
                t.join().unwrap_or_else(|_| {
                    Err(AppError::Corrupt(
                        "verifying the log failed unexpectedly".to_owned(),
                    ))
                })
            })
            .collect()
    });
    join_segments(segments, head)
}

/// [`verify_chain`] in one segment on this thread, with the store at hand.
fn verify_chain_here(store: &dyn EventLog, head: Head) -> Result<(), AppError> {
    join_segments(vec![verify_segment(store, None, head.position)], head)
}

/// A segment's verifier, or the first break in it, or why the log could not be read.
type Segment = Result<Result<ChainVerifier, steadfast_store::ChainBreak>, AppError>;

/// Joins the segments' verifiers in log order; the log verifies if they join and end at `head`.
fn join_segments(segments: Vec<Segment>, head: Head) -> Result<(), AppError> {
    let broken = |b: steadfast_store::ChainBreak| {
        AppError::Corrupt(format!(
            "the log does not verify at {b}; no figure is computed from it (run `steadfast log verify`)"
        ))
    };
    let mut joined: Option<ChainVerifier> = None;
    for segment in segments {
        let segment = segment?.map_err(broken)?;
        joined = Some(match joined {
            None => segment,
            Some(before) => before.then(segment).map_err(broken)?,
        });
    }
    if joined.and_then(|v| v.head()) != Some(head) {
        return Err(ends_early(head));
    }
    Ok(())
}

fn ends_early(head: Head) -> AppError {
    AppError::Corrupt(format!(
        "the log does not verify: it ends before event {} its snapshot was built from (run `steadfast log verify`)",
        head.position
    ))
}

/// Checks the events after `start` (from the first when `None`) up to position `end`: the
/// verifier that reached `end`, or the first break.
fn verify_segment(
    store: &dyn EventLog,
    start: Option<Head>,
    end: u64,
) -> Result<Result<ChainVerifier, steadfast_store::ChainBreak>, AppError> {
    let mut verifier = start.map_or_else(ChainVerifier::new, ChainVerifier::segment_after);
    let mut failure = None;
    store.scan_borrowed(start.map_or(0, |h| h.position), &mut |stored| {
        if let Err(broken) = verifier.check(stored) {
            failure = Some(broken);
            return ControlFlow::Break(());
        }
        if stored.position >= end {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })?;
    Ok(match failure {
        Some(broken) => Err(broken),
        None => Ok(verifier),
    })
}

/// The log's event at `position` as a head (unverified), if there is one.
fn head_at(store: &dyn EventLog, position: u64) -> Result<Option<Head>, AppError> {
    let mut at = None;
    store.scan_borrowed(position.saturating_sub(1), &mut |e| {
        at = (e.position == position).then(|| e.head());
        ControlFlow::Break(())
    })?;
    Ok(at)
}

/// Remembers `head` as the latest head of its recording moment.
fn note_head(heads: &mut Vec<Head>, head: Head) {
    match heads.last_mut() {
        Some(last) if last.recorded_at == head.recorded_at => *last = head,
        _ => heads.push(head),
    }
}

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

    /// Replays a store into a fresh projection (from its snapshot, when one can be trusted);
    /// saves a snapshot when many events had to be replayed.
    pub fn from_store(
        store: Box<dyn EventStore>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Self, AppError> {
        Steadfast::restore(store, true, &|| None, progress)
    }

    fn restore(
        store: Box<dyn EventStore>,
        saves_snapshots: bool,
        reader: &dyn Fn() -> Option<Box<dyn EventLog>>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Self, AppError> {
        let mut app = Steadfast {
            store,
            ledger: Ledger::new(),
            verifier: ChainVerifier::new(),
            known_heads: Vec::new(),
            saves_snapshots,
            snapshot_at: 0,
            snapshot_use: snapshot::SnapshotUse::None,
        };
        app.load_snapshot(reader)?;
        app.catch_up(progress)?;
        app.snapshot_if_due();
        Ok(app)
    }

    /// Starts from the saved snapshot if it can be trusted; otherwise discards it (when
    /// writable) and leaves the projection empty for a full replay. The events the snapshot
    /// covers are still verified, hash by hash (without decoding or folding them) — in
    /// [`VERIFIERS`] segments on handles from `reader`, in parallel with decoding the snapshot,
    /// when it gives them — so no figure comes from a log that does not verify.
    fn load_snapshot(
        &mut self,
        reader: &dyn Fn() -> Option<Box<dyn EventLog>>,
    ) -> Result<(), AppError> {
        let store = self.store.as_ref();
        let mut read = None;
        store.read_snapshot(snapshot::FORMAT, &mut |header, body| {
            let head = header.head;
            let handles: Option<Vec<Box<dyn EventLog>>> =
                (0..VERIFIERS).map(|_| reader()).collect();
            read = Some(match handles {
                Some(handles) => std::thread::scope(|scope| {
                    let verifying = scope.spawn(move || verify_chain(handles, head));
                    let state = snapshot::check(store, header, body);
                    let chain = verifying.join().unwrap_or_else(|_| {
                        Err(AppError::Corrupt(
                            "verifying the log failed unexpectedly".to_owned(),
                        ))
                    });
                    (head, state, Some(chain))
                }),
                None => (head, snapshot::check(store, header, body), None),
            });
        })?;
        let Some((head, state, chain)) = read else {
            return Ok(());
        };
        match state {
            Ok(state) => {
                match chain {
                    Some(result) => result?,
                    None => verify_chain_here(store, head)?,
                }
                self.ledger = state.ledger;
                self.verifier = ChainVerifier::resume(head, state.versions);
                self.known_heads = state.known_heads;
                self.snapshot_at = head.position;
                self.snapshot_use = snapshot::SnapshotUse::Loaded {
                    position: head.position,
                };
            }
            // Not trusted: the full replay that follows verifies the chain itself.
            Err(reason) => {
                if self.saves_snapshots {
                    self.store.discard_snapshot(snapshot::FORMAT)?;
                }
                self.snapshot_use = snapshot::SnapshotUse::Discarded { reason };
            }
        }
        Ok(())
    }

    /// What became of the saved snapshot when this ledger was opened.
    pub fn snapshot_use(&self) -> &snapshot::SnapshotUse {
        &self.snapshot_use
    }

    /// Saves a snapshot of the projection now (a writer only).
    pub fn save_snapshot(&mut self) -> Result<(), AppError> {
        let Some(head) = self.head() else {
            return Ok(());
        };
        let state = snapshot::StateRef {
            ledger: &self.ledger,
            versions: self.verifier.stream_versions(),
            known_heads: snapshot::encode_heads(&self.known_heads),
        };
        snapshot::save(self.store.as_mut(), head, &state)?;
        self.snapshot_at = head.position;
        Ok(())
    }

    /// Saves a snapshot if this process may and enough events were folded since the last. A
    /// failure to save costs only a longer replay next time, so it is not an error of the
    /// command that got here.
    fn snapshot_if_due(&mut self) {
        let at = self.head().map_or(0, |h| h.position);
        if self.saves_snapshots && at.saturating_sub(self.snapshot_at) >= snapshot::EVERY {
            let _ = self.save_snapshot();
        }
    }

    /// Folds into the projection every event appended after the last one it holds (by this
    /// process or another writer), verifying the hash chain as it goes: no figure is ever
    /// computed from a log that does not verify. Returns how many events were applied;
    /// `progress` is told the log position reached (a snapshot's counts as reached).
    pub fn catch_up(&mut self, progress: &mut dyn FnMut(u64)) -> Result<u64, AppError> {
        let after = self.verifier.head().map_or(0, |h| h.position);
        let mut failure = None;
        let mut count = 0u64;
        let ledger = &mut self.ledger;
        let verifier = &mut self.verifier;
        let known_heads = &mut self.known_heads;
        self.store.scan_borrowed(after, &mut |stored| {
            if let Err(broken) = verifier.check(stored) {
                failure = Some(AppError::Corrupt(format!(
                    "the log does not verify at {broken}; no figure is computed from it (run `steadfast log verify`)"
                )));
                return ControlFlow::Break(());
            }
            note_head(known_heads, stored.head());
            match codec::decode(stored) {
                Ok(event) => {
                    ledger.apply_owned(
                        EventMeta {
                            position: stored.position,
                            recorded_at: stored.recorded_at,
                        },
                        event,
                    );
                    count += 1;
                    if count.is_multiple_of(65_536) {
                        progress(after + count);
                    }
                    ControlFlow::Continue(())
                }
                Err(e) => {
                    failure = Some(e);
                    ControlFlow::Break(())
                }
            }
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        self.ledger.revalue();
        progress(after + count);
        Ok(count)
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

    /// Appends decided events as one atomic batch, expecting every touched stream to be where
    /// the projection last saw it, and folds them into the projection once the batch is
    /// committed (see [`Steadfast::append_batch`]).
    pub fn append(&mut self, mut events: Vec<DomainEvent>, actor: &str) -> Result<u64, AppError> {
        self.append_batch(&mut events, actor)
    }

    /// Appends a decided batch atomically, expecting every touched stream to be where the
    /// projection last saw it, and folds its events into the projection once the batch is
    /// committed — by value, taken from the batch, so the projection does not copy what the
    /// batch already holds. Each event is encoded as the store takes it (see
    /// [`EventLog::append_streamed`]), so no encoded copy of the whole batch is ever held. A
    /// batch that is not committed is left as it was, to be decided again.
    pub fn append_batch(&mut self, batch: &mut dyn Batch, actor: &str) -> Result<u64, AppError> {
        self.append_batch_unless(batch, actor, None, None)
    }

    /// [`Steadfast::append_batch`], stopping without writing anything if `cancel` is requested
    /// before the last event is handed to the store: it is checked as each event is encoded for
    /// the store, so a stop during a long write still lands before the commit. A request that
    /// comes later finds the batch committed and changes nothing.
    pub(crate) fn append_batch_unless(
        &mut self,
        batch: &mut dyn Batch,
        actor: &str,
        cancel: Option<&Cancel>,
        progress: Option<&Progress>,
    ) -> Result<u64, AppError> {
        // Each stream is expected where the projection last saw it, checked once per batch;
        // with the number of events on each, that is the version it ends at.
        // A decided batch keeps each stream's events together, so most events are on the
        // stream of the one before and need no lookup.
        let mut expected: Vec<(String, ExpectedVersion)> = Vec::new();
        let mut added: Vec<u64> = Vec::new();
        let mut index: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
        let mut count = 0u64;
        for event in batch.events() {
            count += 1;
            let stream = event.stream();
            if let (Some((last, _)), Some(n)) = (expected.last(), added.last_mut())
                && *last == stream
            {
                *n += 1;
                continue;
            }
            match index.get(&stream) {
                Some(&i) => added[i] += 1,
                None => {
                    index.insert(stream.clone(), expected.len());
                    expected.push((stream, self.stream_version_seen(&event)));
                    added.push(1);
                }
            }
        }
        drop(index);
        if count == 0 {
            return Ok(0);
        }
        if let Some(p) = progress {
            p.start(Phase::Writing, Some(count));
        }
        let ended_at: Option<Vec<(String, u64)>> = expected
            .iter()
            .zip(&added)
            .map(|((stream, wanted), n)| match wanted {
                ExpectedVersion::Exactly(v) => Some((stream.clone(), v + n)),
                ExpectedVersion::NoStream => Some((stream.clone(), *n)),
                ExpectedVersion::Any => None,
            })
            .collect();
        // An event that cannot be encoded, or a stop request, ends the batch (nothing is
        // written); its own error is what the caller sees.
        let mut stopped_by = None;
        let appended = {
            let mut encoded = batch.events().map(|event| {
                if let Some(p) = progress {
                    p.advance();
                }
                if cancel.is_some_and(Cancel::is_requested) {
                    stopped_by = Some(AppError::Cancelled);
                    return Err(StoreError::Backend("the write was interrupted".into()));
                }
                codec::encode(&event, actor).map_err(|e| {
                    stopped_by = Some(e);
                    StoreError::Backend("an event could not be encoded".into())
                })
            });
            self.store.append_streamed(expected, &mut encoded)
        };
        let appended = match appended {
            Ok(appended) => appended,
            Err(e) => {
                return Err(match stopped_by {
                    Some(encoding) => encoding,
                    None => e.into(),
                });
            }
        };
        match appended.head {
            // Our batch was chained right onto the head this projection verified: fold the
            // events we sealed ourselves, exactly as a replay would, without reading them back.
            Some(head) if appended.chained_onto == self.head() && ended_at.is_some() => {
                for (position, event) in (appended.first_position..).zip(batch.take_events()) {
                    self.ledger.apply_owned(
                        EventMeta {
                            position,
                            recorded_at: head.recorded_at,
                        },
                        event,
                    );
                }
                self.ledger.revalue();
                self.verifier
                    .advance_sealed(head, ended_at.into_iter().flatten());
                note_head(&mut self.known_heads, head);
            }
            // Another writer got in first (or the head changed under us): fold its events and
            // ours from the log, verified, which also catches a rewritten head.
            _ => {
                self.catch_up(&mut |_| {}).map_err(|e| {
                    AppError::Corrupt(format!(
                        "the batch was recorded (events {} to {}), but reading the ledger back failed: {e}",
                        appended.first_position, appended.last_position
                    ))
                })?;
            }
        }
        self.snapshot_if_due();
        Ok(count)
    }

    /// The version the projection believes a stream is at (the optimistic-concurrency check).
    fn stream_version_seen(&self, event: &DomainEvent) -> ExpectedVersion {
        self.ledger
            .version_of(event)
            .map_or(ExpectedVersion::NoStream, ExpectedVersion::Exactly)
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
}
