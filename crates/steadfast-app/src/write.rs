//! The one way a write reaches the log: decide a whole batch against the projection, append it
//! atomically with the expected version of every stream it touches, and — if another writer got
//! in first — catch up and decide again (three attempts in all). Contribution imports,
//! rate imports and the scenario all go through here, so they share the same guarantees: all of
//! a file or none of it, no lost update, no double record.

use std::borrow::Cow;

use steadfast_domain::{DomainEvent, Ledger};
use steadfast_store::StoreError;

use crate::queries::LogHead;
use crate::{Access, AppError, Cancel, Database, Progress, Steadfast};

/// How many times a write is decided again after losing a race with another writer.
pub(crate) const MAX_ATTEMPTS: u32 = 3;

/// What a write reports; told how many events were appended and the head after them.
pub trait Recorded {
    fn recorded(&mut self, events_appended: u64, head: LogHead);
}

/// A decision: what the write would do, and the events to append.
pub type Decided<O> = Result<(O, Vec<DomainEvent>), AppError>;

/// The events of a decided write. They are walked — to find the streams the batch touches, then
/// to encode them while they are written — before the batch is known to be committed, and only
/// then handed over by value to be folded into the projection. A batch that still holds the
/// commands it was decided from (an import's rows) builds each event as it is walked rather than
/// holding a second copy of the file, and hands the commands' texts over to the projection.
pub trait Batch {
    /// The events in append order, lent or built for the caller; the same on every walk.
    fn events(&self) -> Box<dyn Iterator<Item = Cow<'_, DomainEvent>> + '_>;

    /// The same events by value, in the same order, to fold once the batch is committed; the
    /// batch is left empty.
    fn take_events(&mut self) -> Box<dyn Iterator<Item = DomainEvent> + '_>;
}

impl Batch for Vec<DomainEvent> {
    fn events(&self) -> Box<dyn Iterator<Item = Cow<'_, DomainEvent>> + '_> {
        Box::new(self.iter().map(Cow::Borrowed))
    }

    fn take_events(&mut self) -> Box<dyn Iterator<Item = DomainEvent> + '_> {
        Box::new(self.drain(..))
    }
}

/// A write as this module runs it: decided against the projection — again after a lost race —
/// and then appended as one batch.
pub trait Decide {
    type Outcome: Recorded;

    /// Decides the write against `ledger`: what it would do, or every problem. The events it
    /// decided are then [`Decide::batch`]'s.
    fn decide(&mut self, ledger: &Ledger) -> Result<Self::Outcome, AppError>;

    /// The events of the last decision.
    fn batch(&mut self) -> &mut dyn Batch;

    /// A stop request, checked between the phases of the write (opening, deciding) and while
    /// its batch is written, up to the commit; none by default.
    fn cancel(&self) -> Option<&Cancel> {
        None
    }

    /// Where the write counts how far it has come (checking, writing); none by default.
    fn progress(&self) -> Option<&Progress> {
        None
    }
}

/// `Err(Cancelled)` once the write's stop request is made.
fn stop_if_requested(cancel: Option<&Cancel>) -> Result<(), AppError> {
    match cancel {
        Some(cancel) if cancel.is_requested() => Err(AppError::Cancelled),
        _ => Ok(()),
    }
}

/// A write decided by a function that returns its events.
pub struct DecidedBy<'f, O> {
    decide: &'f mut dyn FnMut(&Ledger) -> Decided<O>,
    events: Vec<DomainEvent>,
}

impl<'f, O> DecidedBy<'f, O> {
    pub fn new(decide: &'f mut dyn FnMut(&Ledger) -> Decided<O>) -> Self {
        DecidedBy {
            decide,
            events: Vec::new(),
        }
    }
}

impl<O> std::fmt::Debug for DecidedBy<'_, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecidedBy")
            .field("events", &self.events.len())
            .finish_non_exhaustive()
    }
}

impl<O: Recorded> Decide for DecidedBy<'_, O> {
    type Outcome = O;

    fn decide(&mut self, ledger: &Ledger) -> Result<O, AppError> {
        let (outcome, events) = (self.decide)(ledger)?;
        self.events = events;
        Ok(outcome)
    }

    fn batch(&mut self) -> &mut dyn Batch {
        &mut self.events
    }
}

fn lost_race(e: &AppError) -> bool {
    matches!(
        e,
        AppError::Store(StoreError::Conflict { .. } | StoreError::DuplicateKey(_))
    )
}

/// Decides against the open ledger and appends (unless `dry_run`), retrying a lost race.
pub fn decide_and_append<O: Recorded>(
    app: &mut Steadfast,
    actor: &str,
    dry_run: bool,
    write: &mut dyn Decide<Outcome = O>,
) -> Result<O, AppError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut outcome = write.decide(app.ledger())?;
        if dry_run {
            outcome.recorded(0, LogHead::of(app.head()));
            return Ok(outcome);
        }
        stop_if_requested(write.cancel())?;
        let cancel = write.cancel().cloned();
        let progress = write.progress().cloned();
        match app.append_batch_unless(write.batch(), actor, cancel.as_ref(), progress.as_ref()) {
            Ok(appended) => {
                outcome.recorded(appended, LogHead::of(app.head()));
                return Ok(outcome);
            }
            Err(e) if lost_race(&e) && attempts < MAX_ATTEMPTS => {
                app.catch_up(&mut |_| {})?;
            }
            Err(e) => return Err(e),
        }
    }
}

/// Opens the ledger at `database` and writes a decided batch into it. A ledger that does not
/// exist yet is created only once the batch is known to be good, and never by a dry run.
/// `progress` is told how many events were replayed.
pub fn write_to<O: Recorded>(
    database: &Database,
    actor: &str,
    dry_run: bool,
    progress: &mut dyn FnMut(u64),
    write: &mut dyn Decide<Outcome = O>,
) -> Result<O, AppError> {
    write_to_keeping(database, actor, dry_run, progress, write).map(|(outcome, _)| outcome)
}

/// [`write_to`], handing back the open ledger as well (`None` when none was opened: a dry run
/// against a ledger that does not exist), so a caller can choose when it is closed (after
/// printing the result, say).
pub fn write_to_keeping<O: Recorded>(
    database: &Database,
    actor: &str,
    dry_run: bool,
    progress: &mut dyn FnMut(u64),
    write: &mut dyn Decide<Outcome = O>,
) -> Result<(O, Option<Steadfast>), AppError> {
    let access = if dry_run { Access::Read } else { Access::Write };
    match Steadfast::open(database, access, None, progress) {
        Ok(mut app) => {
            stop_if_requested(write.cancel())?;
            decide_and_append(&mut app, actor, dry_run, write).map(|outcome| (outcome, Some(app)))
        }
        Err(AppError::Store(StoreError::Missing { .. })) => {
            let mut outcome = write.decide(&Ledger::new())?;
            if dry_run {
                outcome.recorded(0, LogHead::of(None));
                return Ok((outcome, None));
            }
            stop_if_requested(write.cancel())?;
            let mut app = Steadfast::open(database, Access::Create, None, progress)?;
            if app.head().is_some() {
                // Another writer created the ledger meanwhile: decide against what it holds.
                return decide_and_append(&mut app, actor, dry_run, write)
                    .map(|outcome| (outcome, Some(app)));
            }
            let cancel = write.cancel().cloned();
            let progress = write.progress().cloned();
            match app.append_batch_unless(write.batch(), actor, cancel.as_ref(), progress.as_ref())
            {
                Ok(appended) => {
                    outcome.recorded(appended, LogHead::of(app.head()));
                    Ok((outcome, Some(app)))
                }
                // Another writer appended between our open and our append: catch up and decide
                // again like any write that lost a race.
                Err(e) if lost_race(&e) => {
                    app.catch_up(&mut |_| {})?;
                    decide_and_append(&mut app, actor, dry_run, write)
                        .map(|outcome| (outcome, Some(app)))
                }
                Err(e) => Err(e),
            }
        }
        Err(e) => Err(e),
    }
}
