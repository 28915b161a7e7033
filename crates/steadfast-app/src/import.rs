//! Importing stage events from a parsed file: all of a file or none of it.
//!
//! Rows are decided per contribution in effective-date order (then stage order, then line),
//! whatever their order in the file, so an `amended` row may precede its target in the file
//! and a delivery reported before its commitment is flagged, not refused. Every broken rule of
//! every row is reported, located at its line and column.
//!
//! A file of a million rows is large beside the projection it feeds, so it is held once: the
//! rows are put in the order they are decided and appended, each decision notes only what it
//! does with each row (and keeps a draft of one contribution at a time), the events are built
//! from the rows as they are encoded, and once the batch is committed the rows are handed over
//! to the projection by value, their memory given back as the projection grows.

use std::borrow::Cow;
use std::collections::HashMap;

use crate::queries::LogHead;
use crate::write::{Batch, Decide, Recorded, decide_and_append, write_to, write_to_keeping};
use crate::{AppError, Cancel, Database, Phase, Progress, Steadfast};
use serde::Serialize;
use steadfast_domain::{
    ContributionId, Decision, DomainEvent, Draft, EventId, Ledger, RecordStage, Rejection, Stage,
    Staged,
};
use steadfast_ingest::{ContributionRow, ErrorList, ParsedContributions};

/// How to import.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Validate and report without writing.
    pub dry_run: bool,
    /// Stops the import if requested before its batch is committed (then nothing is written).
    pub cancel: Cancel,
    /// Counts the rows checked and the events written, for a front end to show.
    pub progress: Progress,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportOutcome {
    pub file: String,
    pub rows: u64,
    /// Rows whose event id is already recorded with the same content.
    pub already_recorded: u64,
    /// Stage events new to the ledger.
    pub new_stage_events: u64,
    /// Contributions opened by this import.
    pub new_contributions: u64,
    /// Events appended to the log (stage events plus registrations); 0 in a dry run.
    pub events_appended: u64,
    /// Anomalies flagged on the contributions this import touched.
    pub anomalies: u64,
    pub dry_run: bool,
    pub log_head: LogHead,
}

/// Decides every row of a parsed file against the ledger and appends them in one batch.
/// Returns every problem of the file (parse and rule errors) if there is any; then nothing is
/// written. Losing a race with another writer makes it catch up and decide again. The rows are
/// copied (the projection takes its copy's texts); [`import_file`] takes them instead.
pub fn import_contributions(
    app: &mut Steadfast,
    parsed: &ParsedContributions,
    actor: &str,
    options: ImportOptions,
) -> Result<ImportOutcome, AppError> {
    let dry_run = options.dry_run;
    let mut batch = ImportBatch::new(parsed.clone(), options);
    decide_and_append(app, actor, dry_run, &mut batch)
}

/// Decides a whole file against a ledger without writing: what it would do and the events to
/// append, or every problem of the file.
pub fn decide_contributions(
    ledger: &Ledger,
    parsed: &ParsedContributions,
    options: ImportOptions,
) -> Result<(ImportOutcome, Vec<DomainEvent>), AppError> {
    let mut batch = ImportBatch::new(parsed.clone(), options);
    let outcome = batch.decide(ledger)?;
    let events = batch.take_events().collect();
    Ok((outcome, events))
}

/// Imports a parsed file into the ledger at `database`. The file is decided in full before
/// anything is written, and a ledger that does not exist yet is created only once the file is
/// known to be good (never by a dry run). `progress` is told how many events were replayed.
/// The rows are taken: once the batch is committed they become the projection's.
pub fn import_file(
    database: &Database,
    parsed: ParsedContributions,
    actor: &str,
    options: ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportOutcome, AppError> {
    let dry_run = options.dry_run;
    let mut batch = ImportBatch::new(parsed, options);
    write_to(database, actor, dry_run, progress, &mut batch)
}

/// [`import_file`], handing back the open ledger as well (see
/// [`write_to_keeping`]).
pub fn import_file_keeping(
    database: &Database,
    parsed: ParsedContributions,
    actor: &str,
    options: ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<(ImportOutcome, Option<Steadfast>), AppError> {
    let dry_run = options.dry_run;
    let mut batch = ImportBatch::new(parsed, options);
    write_to_keeping(database, actor, dry_run, progress, &mut batch)
}

impl Recorded for ImportOutcome {
    fn recorded(&mut self, events_appended: u64, head: LogHead) {
        self.events_appended = events_appended;
        self.log_head = head;
    }
}

impl ImportOutcome {
    /// Nothing done yet for this file.
    pub fn new(parsed: &ParsedContributions, dry_run: bool) -> Self {
        ImportOutcome {
            file: parsed.file.clone(),
            rows: parsed.rows_read,
            already_recorded: 0,
            new_stage_events: 0,
            new_contributions: 0,
            events_appended: 0,
            anomalies: 0,
            dry_run,
            log_head: LogHead::of(None),
        }
    }
}

/// What a decision does with a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Fate {
    /// Nothing: already recorded, or refused (and then the whole file is).
    Skip,
    /// Its stage event is appended.
    Record,
    /// Its contribution's registration is appended, then its stage event.
    Open,
}

/// A parsed file's rows, ready to be decided as often as a lost race requires.
#[derive(Debug)]
pub(crate) struct Rows {
    /// The file, its rows in the reverse of the order they are decided and appended (a row
    /// repeating an earlier row's event id left out), its errors with each repeat's. Reversed,
    /// so that folding them pops each row off the end and the buffer can shrink as it goes.
    parsed: ParsedContributions,
    /// What the last decision does with each row, in decision order.
    fates: Vec<Fate>,
}

impl Rows {
    /// Puts the rows in the order they are decided (stored reversed, see [`Rows::parsed`]):
    /// sorted by contribution, then effective date, stage, amendment depth (same-day amendments
    /// of amendments go after what they amend, whatever the file order) and line. An event id
    /// twice in one file is an error wherever the rows sit: each repeat is reported against the
    /// first occurrence (file order), and only the first is decided. None of this depends on
    /// the ledger, so it is done once, however many times the file is decided. The rows are
    /// moved, never copied.
    pub(crate) fn new(mut parsed: ParsedContributions) -> Self {
        let rows = &parsed.rows;
        let depth = amendment_depths(rows);
        // Each distinct contribution id is ranked once, so the sort compares integers rather
        // than strings; the line makes every key distinct, so an unstable sort gives the one
        // order.
        let mut rank: HashMap<&ContributionId, usize> = HashMap::new();
        for row in rows {
            rank.entry(&row.command.contribution).or_default();
        }
        let mut ids: Vec<&ContributionId> = rank.keys().copied().collect();
        ids.sort_unstable();
        for (i, id) in ids.into_iter().enumerate() {
            rank.insert(id, i);
        }
        let mut keys: Vec<_> = rows
            .iter()
            .enumerate()
            .map(|(i, r)| {
                (
                    rank[&r.command.contribution],
                    r.command.effective_date,
                    stage_rank(r.command.stage),
                    depth[i],
                    r.line,
                    i,
                )
            })
            .collect();
        drop(rank);
        drop(depth);
        keys.sort_unstable();
        let order: Vec<usize> = keys.into_iter().rev().map(|k| k.5).collect();
        let mut first_line_of: HashMap<&EventId, u64> = HashMap::with_capacity(rows.len());
        let mut repeated = vec![false; rows.len()];
        let mut repeats = Vec::new();
        for (i, row) in rows.iter().enumerate() {
            match first_line_of.get(&row.command.event) {
                Some(first) => {
                    repeats.push(parsed.error_at(
                        row.line,
                        steadfast_domain::Field::EventId,
                        format!(
                            "event id {} appears twice in this file (first on line {first})",
                            row.command.event
                        ),
                    ));
                    repeated[i] = true;
                }
                None => {
                    first_line_of.insert(&row.command.event, row.line);
                }
            }
        }
        drop(first_line_of);
        // Each row is moved once from its slot (`order` is a permutation), repeats left out.
        let mut slots: Vec<Option<ContributionRow>> = std::mem::take(&mut parsed.rows)
            .into_iter()
            .map(Some)
            .collect();
        let mut ordered = Vec::with_capacity(slots.len() - repeats.len());
        ordered.extend(
            order
                .into_iter()
                .filter(|&i| !repeated[i])
                .filter_map(|i| slots[i].take()),
        );
        parsed.rows = ordered;
        parsed.errors.0.extend(repeats);
        Rows {
            parsed,
            fates: Vec::new(),
        }
    }

    /// The parsed file, its rows in the reverse of the order they are decided.
    pub(crate) fn parsed(&self) -> &ParsedContributions {
        &self.parsed
    }

    /// Decides every row into `draft` with `decide`, counting into `outcome` and noting each
    /// row's fate; returns all of the file's problems (parse errors, repeats and broken rules),
    /// sorted by location. Each contribution's rows come together, so the draft settles each
    /// contribution once its last row is decided (counting its anomalies) and never holds more
    /// than one.
    pub(crate) fn decide_into<'l>(
        &mut self,
        draft: &mut Draft<'l>,
        outcome: &mut ImportOutcome,
        decide: Decider<'l>,
        decided: &mut dyn FnMut(u64),
    ) -> ErrorList {
        let parsed = &self.parsed;
        let mut errors = ErrorList(Vec::new());
        self.fates.clear();
        self.fates.reserve(parsed.rows.len());
        outcome.anomalies = 0;
        let mut current: Option<&ContributionId> = None;
        for row in parsed.rows.iter().rev() {
            let id = &row.command.contribution;
            if current != Some(id) {
                if let Some(done) = current {
                    outcome.anomalies += settle(draft, done);
                }
                current = Some(id);
            }
            let fate = match decide(draft, &row.command) {
                Ok(Staged::AlreadyRecorded) => {
                    outcome.already_recorded += 1;
                    Fate::Skip
                }
                Ok(Staged::Record { opens }) => {
                    outcome.new_stage_events += 1;
                    outcome.new_contributions += u64::from(opens);
                    if opens { Fate::Open } else { Fate::Record }
                }
                Err(violations) => {
                    for v in violations {
                        errors.0.push(parsed.reason_at(row.line, v));
                    }
                    Fate::Skip
                }
            };
            self.fates.push(fate);
            decided(self.fates.len() as u64);
        }
        if let Some(done) = current {
            outcome.anomalies += settle(draft, done);
        }
        if errors.0.is_empty() && parsed.errors.0.is_empty() {
            return errors;
        }
        errors.0.splice(0..0, parsed.errors.0.iter().cloned());
        errors.sort();
        errors
    }
}

/// Settles a contribution whose rows are all decided; returns how many anomalies it has (as
/// the batch leaves it, or as recorded when the batch adds nothing to it).
fn settle(draft: &mut Draft<'_>, id: &ContributionId) -> u64 {
    let anomalies = match draft.settle(id) {
        Some(state) => state.anomalies().len(),
        None => draft.contribution(id).map_or(0, |c| c.anomalies().len()),
    };
    anomalies as u64
}

/// How a row is decided into a draft.
pub(crate) type Decider<'l> = fn(&mut Draft<'l>, &RecordStage) -> Result<Staged, Rejection>;

/// Decides a row and keeps its events in the draft (for a write that appends the draft's
/// events, like the founding scenario).
pub(crate) fn record_into_draft(
    draft: &mut Draft<'_>,
    cmd: &RecordStage,
) -> Result<Staged, Rejection> {
    Ok(match draft.record_stage(cmd)? {
        Decision::AlreadyRecorded => Staged::AlreadyRecorded,
        Decision::Record(events) => Staged::Record {
            opens: events.len() > 1,
        },
    })
}

/// An import: a file's rows, decided (again after a lost race) into a plan of which rows to
/// append, and the batch those rows make — built from the rows as it is encoded, and folded by
/// value from them once committed.
#[derive(Debug)]
pub(crate) struct ImportBatch {
    rows: Rows,
    dry_run: bool,
    cancel: Cancel,
    progress: Progress,
}

impl ImportBatch {
    pub(crate) fn new(parsed: ParsedContributions, options: ImportOptions) -> Self {
        ImportBatch {
            rows: Rows::new(parsed),
            dry_run: options.dry_run,
            cancel: options.cancel,
            progress: options.progress,
        }
    }
}

impl Decide for ImportBatch {
    type Outcome = ImportOutcome;

    fn decide(&mut self, ledger: &Ledger) -> Result<ImportOutcome, AppError> {
        let mut outcome = ImportOutcome::new(&self.rows.parsed, self.dry_run);
        let mut draft = Draft::new(ledger);
        self.progress
            .start(Phase::Checking, Some(self.rows.parsed.rows.len() as u64));
        let progress = &self.progress;
        let errors = self
            .rows
            .decide_into(&mut draft, &mut outcome, Draft::stage, &mut |_| {
                progress.advance()
            });
        if errors.0.is_empty() {
            Ok(outcome)
        } else {
            Err(AppError::Rejected(errors))
        }
    }

    fn batch(&mut self) -> &mut dyn Batch {
        self
    }

    fn cancel(&self) -> Option<&Cancel> {
        Some(&self.cancel)
    }

    fn progress(&self) -> Option<&Progress> {
        Some(&self.progress)
    }
}

impl Batch for ImportBatch {
    fn events(&self) -> Box<dyn Iterator<Item = Cow<'_, DomainEvent>> + '_> {
        let rows = self.rows.parsed.rows.iter().rev();
        Box::new(rows.zip(&self.rows.fates).flat_map(|(row, fate)| {
            let cmd = &row.command;
            let opening = (*fate == Fate::Open).then(|| cmd.registration());
            let stage = (*fate != Fate::Skip).then(|| cmd.to_event());
            events_of(opening, stage).map(Cow::Owned)
        }))
    }

    fn take_events(&mut self) -> Box<dyn Iterator<Item = DomainEvent> + '_> {
        let rows = &mut self.rows.parsed.rows;
        let fates = std::mem::take(&mut self.rows.fates);
        Box::new(fates.into_iter().flat_map(move |fate| {
            let row = rows.pop();
            release_spare(rows);
            row.into_iter().flat_map(move |row| {
                let cmd = row.command;
                let opening = (fate == Fate::Open).then(|| cmd.registration());
                let stage = (fate != Fate::Skip).then(|| cmd.into_event());
                events_of(opening, stage)
            })
        }))
    }
}

/// Gives back the spare half of a buffer being emptied from its end, so the memory of the rows
/// folded so far goes to the projection they are folded into rather than waiting for the last
/// row. Halving keeps it linear even where the allocator copies to shrink (where it can shrink
/// in place — a large buffer mapped on its own, say — nothing is copied).
fn release_spare<T>(items: &mut Vec<T>) {
    const SMALL: usize = 1 << 12;
    if items.capacity() > SMALL && items.len() < items.capacity() / 2 {
        items.shrink_to_fit();
    }
}

/// A row's events: its contribution's registration when it opens it, then its stage event.
fn events_of(
    opening: Option<steadfast_domain::ContributionRegistered>,
    stage: Option<steadfast_domain::StageRecorded>,
) -> impl Iterator<Item = DomainEvent> {
    let opening = opening.map(DomainEvent::ContributionRegistered);
    opening
        .into_iter()
        .chain(stage.map(DomainEvent::StageRecorded))
}

/// For each row, how many `amends` links lead from it to a row that amends nothing, following
/// links within the file only (0 for rows that amend nothing or amend a stored event). A cycle
/// is cut where it closes; the rules then report it. Linear in the number of rows.
fn amendment_depths(rows: &[ContributionRow]) -> Vec<usize> {
    let by_id: HashMap<&EventId, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, r)| (&r.command.event, i))
        .collect();
    let mut depth: Vec<Option<usize>> = vec![None; rows.len()];
    let mut on_walk = vec![false; rows.len()];
    for start in 0..rows.len() {
        let mut chain = Vec::new();
        let mut current = start;
        let base = loop {
            if let Some(d) = depth[current] {
                break d + 1; // the last row of `chain` amends `current`
            }
            if on_walk[current] {
                break 0; // a cycle: the rules refuse it; any order will do
            }
            on_walk[current] = true;
            chain.push(current);
            match rows[current]
                .command
                .amends
                .as_ref()
                .and_then(|t| by_id.get(t))
            {
                Some(next) => current = *next,
                None => break 0,
            }
        };
        // `chain` runs from `start` towards the root: its last row sits at `base`.
        for (k, row) in chain.iter().rev().enumerate() {
            depth[*row] = Some(base + k);
            on_walk[*row] = false;
        }
    }
    depth.into_iter().map(Option::unwrap_or_default).collect()
}

/// Same-day events sort in the natural order of a pledge's life; a withdrawal comes last.
fn stage_rank(stage: Stage) -> u8 {
    Stage::ALL
        .iter()
        .position(|s| *s == stage)
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::release_spare;

    #[test]
    fn a_buffer_emptied_from_its_end_gives_back_its_spare_half() {
        let mut rows: Vec<u64> = (0..100_000).collect();
        let mut capacities = Vec::new();
        while let Some(last) = rows.pop() {
            assert_eq!(last, rows.len() as u64);
            release_spare(&mut rows);
            assert!(
                rows.capacity() <= (2 * rows.len() + 1).max(1 << 12),
                "{} for {}",
                rows.capacity(),
                rows.len()
            );
            if capacities.last() != Some(&rows.capacity()) {
                capacities.push(rows.capacity());
            }
        }
        // Halving: a handful of reallocations, not one per row.
        assert!(capacities.len() < 20, "{capacities:?}");
    }
}
