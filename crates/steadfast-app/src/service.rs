//! The application service: the use cases a front end drives (the CLI today, the server
//! next), each a plain method taking who asks and a typed command or query, returning a typed
//! result or a [`ServiceError`] whose variants are what a server answers. A front end reads
//! bytes and flags and prints results; it neither parses a file nor opens a store itself.
//!
//! A [`Service`] keeps the ledger it opened (read-only until a use case writes; reopened for
//! writing then) and catches it up with the log before every query and write, so events that
//! another writer appended meanwhile are seen: one long-lived service can serve many
//! requests.

mod error;
mod records;
mod tokens;
mod types;

use steadfast_domain::framework::FrameworkAdopted;
use steadfast_domain::{Aggregate, Decision, DomainEvent, Draft, FrameworkId, Ledger, ReportQuery};
use steadfast_ingest::{CsvOptions, parse_contributions, parse_ecb_rates};

pub use error::{Problem, ServiceError};
pub use records::{DatasetView, FrameworkView, Listed, Shown};
pub use tokens::{Caller, CreateToken, CreatedToken, TOKEN_PREFIX, TokenLine, TokenList};
pub use types::{
    ChainBreak, ChainHead, FairShareQuery, Identity, ImportContributions, ImportRates,
    ImportTracker, PartiesQuery, ReconcileQuery, RecordStageEvent, Recorded, ShowContribution,
    SnapshotDiscarded, Verified, parse_date, parse_moment,
};

use crate::fx::FxImportOutcome;
use crate::import::{ImportBatch, ImportOptions, ImportOutcome};
use crate::progress::{Phase, Progress};
use crate::queries::{
    self, ContributionDetail, ContributionFilter, ContributionList, DonorTotalsReport, LogHead,
    PartyList,
};
use crate::reports::{self, AnomaliesView, FairShareView, GapsView, ReconcileView};
use crate::scenario::{self, ScenarioLoad};
use crate::snapshot::SnapshotUse;
use crate::storage::{Access, Database, log_length, open_store};
use crate::tracker::{TrackerImport, TrackerOutcome, TrackerRelease, sha256_hex};
use crate::write::{Batch, Decide, DecidedBy, decide_and_append, write_to_keeping};
use crate::{AppError, Steadfast};

/// The framework a reconciliation reads when none is named and several are recorded.
const HEADLINE: &str = "washington-2024";

/// The ledger a service holds open, and whether it was opened for writing.
#[derive(Debug)]
struct Held {
    app: Steadfast,
    writes: bool,
}

/// The use cases over one ledger.
#[derive(Debug)]
pub struct Service {
    database: Database,
    held: Option<Held>,
    discarded: Vec<SnapshotDiscarded>,
}

impl Service {
    /// A service over the ledger at `database`; nothing is opened until a use case needs it.
    pub fn new(database: Database) -> Self {
        Service {
            database,
            held: None,
            discarded: Vec::new(),
        }
    }

    /// Holds the ledger for this process alone to serve, until the lock is dropped: a second
    /// server on the same ledger is refused (`Conflict`).
    pub fn hold_for_serving(&self) -> Result<crate::ServingLock, ServiceError> {
        Ok(crate::storage::hold_for_serving(&self.database)?)
    }

    /// The position of the log's last event, without replaying it (a progress bar's total).
    pub fn log_length(&self) -> Option<u64> {
        log_length(&self.database)
    }

    /// Where the ledger is, as messages name it.
    pub fn location(&self) -> String {
        match &self.held {
            Some(held) => held.app.location(),
            None => match &self.database {
                Database::Sqlite(path) => path.display().to_string(),
            },
        }
    }

    /// The snapshots found untrustworthy (and not used) by the opens since the last call.
    pub fn take_discarded_snapshots(&mut self) -> Vec<SnapshotDiscarded> {
        std::mem::take(&mut self.discarded)
    }

    /// The held ledger, caught up with the log, when it serves `writes`; `Ok(None)` when it
    /// must be (re)opened. A read-only ledger that cannot catch up (another process wrote the
    /// file it reads without locks) is dropped, to be reopened.
    fn caught_up(&mut self, writes: bool) -> Result<Option<&mut Steadfast>, ServiceError> {
        let usable = match &mut self.held {
            Some(held) if held.writes || !writes => match held.app.catch_up(&mut |_| {}) {
                Ok(_) => true,
                Err(_) if !held.writes => false,
                Err(e) => return Err(e.into()),
            },
            _ => false,
        };
        if usable {
            return Ok(self.held.as_mut().map(|h| &mut h.app));
        }
        // Dropped before another handle opens: a writer must not find this one in its way.
        self.held = None;
        Ok(None)
    }

    /// Notes what became of the snapshot when `app` was opened.
    fn opened(&mut self, app: Steadfast, writes: bool) -> &mut Steadfast {
        if let SnapshotUse::Discarded { reason } = app.snapshot_use() {
            self.discarded.push(SnapshotDiscarded {
                location: app.location(),
                reason: reason.clone(),
            });
        }
        &mut self.held.insert(Held { app, writes }).app
    }

    /// The ledger, caught up, opened (replayed and verified) with `access` if it is not held
    /// as it needs to be.
    fn ledger(
        &mut self,
        access: Access,
        progress: &Progress,
    ) -> Result<&mut Steadfast, ServiceError> {
        let writes = access != Access::Read;
        if self.caught_up(writes)?.is_some() {
            return Ok(&mut self.held.as_mut().expect("held").app);
        }
        progress.start(Phase::Replaying, self.log_length());
        let app = Steadfast::open(&self.database, access, None, &mut |n| progress.set(n))?;
        Ok(self.opened(app, writes))
    }

    /// Decides a write against the ledger as it stands (the held one, caught up, else opened:
    /// created only once the write is known to be good, and never by a dry run) and appends
    /// it, deciding again after a lost race.
    fn write<O: crate::write::Recorded>(
        &mut self,
        who: &Identity,
        dry_run: bool,
        progress: &Progress,
        write: &mut dyn Decide<Outcome = O>,
    ) -> Result<O, ServiceError> {
        if let Some(app) = self.caught_up(!dry_run)? {
            return Ok(decide_and_append(app, &who.actor, dry_run, write)?);
        }
        progress.start(Phase::Replaying, self.log_length());
        let (outcome, app) = write_to_keeping(
            &self.database,
            &who.actor,
            dry_run,
            &mut |n| progress.set(n),
            write,
        )?;
        if let Some(app) = app {
            self.opened(app, !dry_run);
        }
        Ok(outcome)
    }

    /// Parses a contributions file and records it whole or not at all. Rules are checked even
    /// when some rows failed to parse, so one run reports everything.
    pub fn import_contributions(
        &mut self,
        who: &Identity,
        cmd: ImportContributions,
        progress: &Progress,
    ) -> Result<ImportOutcome, ServiceError> {
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
        let mut batch = ImportBatch::new(parsed, options);
        self.write(who, cmd.dry_run, progress, &mut batch)
    }

    /// Parses a tracker release and records it as a dataset's release (only its differences
    /// from the release before). The release is the one named, else the one `release_info`
    /// gives, else the file's SHA-256.
    pub fn import_tracker(
        &mut self,
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
        let dry_run = cmd.dry_run;
        let mut decide = |ledger: &Ledger| crate::tracker::decided(ledger, &import, dry_run);
        self.write(who, dry_run, progress, &mut DecidedBy::new(&mut decide))
    }

    /// Parses a file of ECB reference rates and records the days and currencies not yet
    /// recorded (a recorded fixing is never changed).
    pub fn import_rates(
        &mut self,
        who: &Identity,
        cmd: ImportRates,
        progress: &Progress,
    ) -> Result<FxImportOutcome, ServiceError> {
        let rates = parse_ecb_rates(&cmd.file, &cmd.bytes).map_err(AppError::from)?;
        drop(cmd.bytes);
        let (file, dry_run) = (cmd.file, cmd.dry_run);
        let mut decide =
            |ledger: &Ledger| crate::fx::decide_rate_file(ledger, &file, &rates, dry_run);
        self.write(who, dry_run, progress, &mut DecidedBy::new(&mut decide))
    }

    /// Records one stage event of a contribution (opening the contribution with its first),
    /// decided by the rules against the ledger as it stands. A command the rules refuse is
    /// [`ServiceError::Invalid`] with a problem per rule broken, each naming its field; the same
    /// event again records nothing (`new` is false); an `expected_version` the contribution is
    /// no longer at is a [`ServiceError::Conflict`].
    pub fn record_stage(
        &mut self,
        who: &Identity,
        cmd: RecordStageEvent,
        progress: &Progress,
    ) -> Result<Recorded, ServiceError> {
        let RecordStageEvent {
            command,
            expected_version,
        } = cmd;
        let id = command.contribution.clone();
        let mut decide = |ledger: &Ledger| {
            let at = ledger.contribution(&id).map_or(0, Aggregate::version);
            if let Some(expected) = expected_version
                && expected != at
            {
                return Err(ServiceError::conflict(format!(
                    "contribution {id} is at version {at}, not {expected}: it changed since it was read"
                )));
            }
            let mut draft = Draft::new(ledger);
            let new = match draft.record_stage(&command) {
                Ok(Decision::Record(_)) => true,
                Ok(Decision::AlreadyRecorded) => false,
                Err(rejection) => return Err(ServiceError::rejected(rejection)),
            };
            let events = draft.into_events();
            let stream_version = at + events.len() as u64;
            Ok((recorded(new, stream_version), events))
        };
        self.decided_write(who, progress, &mut decide)
    }

    /// Adopts a framework: its rules and share-basis figures as given. Adopting the very same
    /// rules again records nothing (`new` is false); different rules under a recorded id, or
    /// rules the domain refuses, are [`ServiceError::Invalid`].
    pub fn adopt_framework(
        &mut self,
        who: &Identity,
        cmd: FrameworkAdopted,
        progress: &Progress,
    ) -> Result<Recorded, ServiceError> {
        let id = cmd.framework.clone();
        let mut decide = |ledger: &Ledger| {
            let mut draft = Draft::new(ledger);
            let new = draft
                .adopt_framework(cmd.clone())
                .map_err(ServiceError::rejected)?;
            let events = draft.into_events();
            let before = ledger.framework(&id).map_or(0, Aggregate::version);
            let stream_version = before + events.len() as u64;
            Ok((recorded(new, stream_version), events))
        };
        self.decided_write(who, progress, &mut decide)
    }

    /// Writes what `decide` decides (again after a lost race); its own refusal is the answer.
    fn decided_write(
        &mut self,
        who: &Identity,
        progress: &Progress,
        decide: &mut dyn FnMut(&Ledger) -> Decided,
    ) -> Result<Recorded, ServiceError> {
        let mut write = Deciding {
            decide,
            events: Vec::new(),
            refused: None,
        };
        let written = self.write(who, false, progress, &mut write);
        match write.refused.take() {
            Some(refused) => Err(refused),
            None => written,
        }
    }

    /// Verifies the log's hash chain from its first event, read-only, optionally checking
    /// that `expected_head` (a head noted earlier) is in it.
    pub fn verify(
        &self,
        expected_head: Option<ChainHead>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Verified, ServiceError> {
        let store = open_store(&self.database, Access::Read, None)?;
        let report = steadfast_store::verify(store.as_ref(), expected_head.map(|h| h.0), progress)
            .map_err(AppError::from)?;
        Ok(Verified::of(store.location(), &report))
    }

    /// The head of the log as this service has read and verified it.
    pub fn log_head(
        &mut self,
        _who: &Identity,
        progress: &Progress,
    ) -> Result<LogHead, ServiceError> {
        let app = self.ledger(Access::Read, progress)?;
        Ok(LogHead::of(app.head()))
    }

    /// Loads the founding scenario (once: a ledger that holds it already is only read, so a
    /// read-only ledger can still be shown) and says what loading did.
    pub fn load_demo(
        &mut self,
        _who: &Identity,
        progress: &Progress,
    ) -> Result<ScenarioLoad, ServiceError> {
        // Any failure to read (no ledger yet, a schema to upgrade) is left to the writer to
        // report.
        if let Ok(app) = self.ledger(Access::Read, progress)
            && let Ok(load) = scenario::check(app)
            && load.is_complete()
        {
            return Ok(load);
        }
        self.held = None;
        let app = self.ledger(Access::Create, progress)?;
        Ok(scenario::load(app)?)
    }

    /// The fair-share scoreboard of the named framework, or of the only one recorded.
    pub fn fair_share(
        &mut self,
        who: &Identity,
        query: FairShareQuery,
        progress: &Progress,
    ) -> Result<FairShareView, ServiceError> {
        who.must_see_everything("the fair-share scoreboard")?;
        let app = self.ledger(Access::Read, progress)?;
        let ids = reports::framework_ids(app.ledger());
        let id = match (query.framework, ids.as_slice()) {
            (Some(id), _) => id,
            (None, [only]) => only.clone(),
            (None, _) => {
                return Err(ServiceError::invalid_field(
                    "framework",
                    format!("name a framework with --framework; {}", listed(&ids)),
                ));
            }
        };
        reports::fair_share(app, &id, query.stage, query.counting, &query.view).map_err(|e| match e
        {
            AppError::NotFound(message) if !ids.contains(&id) => {
                ServiceError::not_found(format!("{message}; {}", listed(&ids)))
            }
            AppError::Invalid(message) => ServiceError::invalid_field("stage", message),
            e => e.into(),
        })
    }

    /// Per donor: euros at each stage and the median days to delivery and to confirmation.
    pub fn gaps(
        &mut self,
        who: &Identity,
        query: ReportQuery,
        progress: &Progress,
    ) -> Result<GapsView, ServiceError> {
        who.must_see_everything("the gaps report")?;
        let app = self.ledger(Access::Read, progress)?;
        Ok(reports::gaps(app, &query))
    }

    /// Every anomaly, contribution by contribution.
    pub fn anomalies(
        &mut self,
        who: &Identity,
        query: ReportQuery,
        progress: &Progress,
    ) -> Result<AnomaliesView, ServiceError> {
        who.must_see_everything("the anomalies report")?;
        let app = self.ledger(Access::Read, progress)?;
        Ok(reports::anomalies(app, &query))
    }

    /// What a framework counts in one dataset against another, per donor and period.
    pub fn reconcile(
        &mut self,
        who: &Identity,
        query: ReconcileQuery,
        progress: &Progress,
    ) -> Result<ReconcileView, ServiceError> {
        who.must_see_everything("the reconciliation")?;
        if query.a == query.b {
            return Err(ServiceError::invalid_field(
                "against",
                format!(
                    "--dataset and --against name the same dataset `{}`",
                    query.a
                ),
            ));
        }
        if query.tolerance.is_sign_negative() || query.tolerance > rust_decimal::Decimal::ONE {
            return Err(ServiceError::invalid_field(
                "tolerance",
                format!(
                    "`{}` is not a tolerance between 0% and 100%",
                    query.tolerance
                ),
            ));
        }
        let app = self.ledger(Access::Read, progress)?;
        let ids = reports::framework_ids(app.ledger());
        let framework = match (query.framework, ids.as_slice()) {
            (Some(id), _) => id,
            (None, [only]) => only.clone(),
            (None, _) => match ids.iter().find(|i| i.as_str() == HEADLINE) {
                Some(id) => id.clone(),
                None => {
                    return Err(ServiceError::invalid_field(
                        "framework",
                        format!(
                            "name a framework with --framework; recorded frameworks: {}",
                            ids.iter()
                                .map(ToString::to_string)
                                .collect::<Vec<_>>()
                                .join(", ")
                        ),
                    ));
                }
            },
        };
        reports::reconcile(
            app,
            &framework,
            query.counting,
            &query.a,
            &query.b,
            query.by,
            query.tolerance,
            &query.view,
        )
        .map_err(ServiceError::from)
    }

    /// The contributions a filter keeps, one row per contribution and currency.
    pub fn contributions(
        &mut self,
        who: &Identity,
        filter: ContributionFilter,
        progress: &Progress,
    ) -> Result<ContributionList, ServiceError> {
        if let (Some(from), Some(to)) = (filter.from, filter.to)
            && from > to
        {
            return Err(ServiceError::invalid_field(
                "to",
                format!("--from {from} is after --to {to}: no date is in that range (swap them?)"),
            ));
        }
        let app = self.ledger(Access::Read, progress)?;
        let ledger = app.ledger();
        let mut list = queries::list(ledger, app.head(), &filter);
        list.rows.retain(|r| {
            ledger
                .contribution(&r.contribution)
                .is_some_and(|c| who.sees(&c.info))
        });
        Ok(list)
    }

    /// One contribution's story: its stage history with running totals, sources and
    /// anomalies.
    pub fn contribution(
        &mut self,
        who: &Identity,
        query: ShowContribution,
        progress: &Progress,
    ) -> Result<ContributionDetail, ServiceError> {
        let app = self.ledger(Access::Read, progress)?;
        // One the caller may not see is not found, exactly as one that does not exist.
        let visible = app
            .ledger()
            .contribution(&query.id)
            .is_some_and(|c| who.sees(&c.info));
        visible
            .then(|| queries::show(app.ledger(), app.head(), &query.id, query.fx_policy))
            .flatten()
            .ok_or_else(|| {
                // The ledger's path is not said: a server's callers have no business with it.
                ServiceError::not_found(format!("no contribution {} is recorded", query.id))
            })
    }

    /// The registered parties and their dated memberships.
    pub fn parties(
        &mut self,
        _who: &Identity,
        query: PartiesQuery,
        progress: &Progress,
    ) -> Result<PartyList, ServiceError> {
        let app = self.ledger(Access::Read, progress)?;
        Ok(queries::parties(
            app.ledger(),
            app.head(),
            query.member_of.as_ref(),
            query.on,
        ))
    }

    /// Per-donor totals by stage, per currency (unconverted).
    pub fn donor_totals(
        &mut self,
        who: &Identity,
        progress: &Progress,
    ) -> Result<DonorTotalsReport, ServiceError> {
        who.must_see_everything("the donor totals")?;
        let app = self.ledger(Access::Read, progress)?;
        Ok(queries::donor_totals(app.ledger(), app.head()))
    }
}

/// A use case's decision: what it will record and the events to append, or its refusal.
type Decided = Result<(Recorded, Vec<DomainEvent>), ServiceError>;

/// A write decided by a use case of this module, whose refusal is kept as it was given (with
/// its problems and fields) while the write path carries only its message.
struct Deciding<'f> {
    decide: &'f mut dyn FnMut(&Ledger) -> Decided,
    events: Vec<DomainEvent>,
    refused: Option<ServiceError>,
}

impl Decide for Deciding<'_> {
    type Outcome = Recorded;

    fn decide(&mut self, ledger: &Ledger) -> Result<Recorded, AppError> {
        match (self.decide)(ledger) {
            Ok((outcome, events)) => {
                self.events = events;
                Ok(outcome)
            }
            Err(refused) => {
                let message = refused.to_string();
                self.refused = Some(refused);
                Err(AppError::Invalid(message))
            }
        }
    }

    fn batch(&mut self) -> &mut dyn Batch {
        &mut self.events
    }
}

/// What a write will have recorded, before it is appended.
fn recorded(new: bool, stream_version: u64) -> Recorded {
    Recorded {
        new,
        events_appended: 0,
        stream_version,
        log_head: LogHead::of(None),
    }
}

/// The frameworks recorded, for a message that names one that is not.
fn listed(ids: &[FrameworkId]) -> String {
    if ids.is_empty() {
        "no framework is recorded in this ledger (`steadfast demo` loads washington-2024)"
            .to_owned()
    } else {
        format!(
            "recorded frameworks: {}",
            ids.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )
    }
}
