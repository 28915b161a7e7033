//! Importing stage events from a parsed file: all of a file or none of it.
//!
//! Rows are decided per contribution in effective-date order (then stage order, then line),
//! whatever their order in the file, so an `amended` row may precede its target in the file
//! and a delivery reported before its commitment is flagged, not refused. Every broken rule of
//! every row is reported, located at its line and column.

use std::collections::HashMap;

use crate::queries::LogHead;
use crate::write::{Recorded, decide_and_append, write_to, write_to_keeping};
use crate::{AppError, Database, Steadfast};
use serde::Serialize;
use steadfast_domain::{Decision, DomainEvent, Draft, Ledger, Stage};
use steadfast_ingest::{ErrorList, ParsedContributions};

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Validate and report without writing.
    pub dry_run: bool,
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
/// written. Losing a race with another writer makes it catch up and decide again.
pub fn import_contributions(
    app: &mut Steadfast,
    parsed: &ParsedContributions,
    actor: &str,
    options: ImportOptions,
) -> Result<ImportOutcome, AppError> {
    decide_and_append(app, actor, options.dry_run, &mut |ledger| {
        decide_contributions(ledger, parsed, options)
    })
}

/// Decides a whole file against a ledger without writing: what it would do and the events to
/// append, or every problem of the file.
pub fn decide_contributions(
    ledger: &Ledger,
    parsed: &ParsedContributions,
    options: ImportOptions,
) -> Result<(ImportOutcome, Vec<DomainEvent>), AppError> {
    let mut outcome = ImportOutcome::new(parsed, options.dry_run);
    let mut draft = Draft::new(ledger);
    let errors = decide_file(&mut draft, parsed, &mut outcome);
    if errors.0.is_empty() {
        Ok((outcome, draft.into_events()))
    } else {
        Err(AppError::Rejected(errors))
    }
}

/// Imports a parsed file into the ledger at `database`. The file is decided in full before
/// anything is written, and a ledger that does not exist yet is created only once the file is
/// known to be good (never by a dry run). `progress` is told how many events were replayed.
pub fn import_file(
    database: &Database,
    parsed: &ParsedContributions,
    actor: &str,
    options: ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<ImportOutcome, AppError> {
    write_to(database, actor, options.dry_run, progress, &mut |ledger| {
        decide_contributions(ledger, parsed, options)
    })
}

/// [`import_file`], handing back the open ledger as well (see
/// [`write_to_keeping`](crate::write::write_to_keeping)).
pub fn import_file_keeping(
    database: &Database,
    parsed: &ParsedContributions,
    actor: &str,
    options: ImportOptions,
    progress: &mut dyn FnMut(u64),
) -> Result<(ImportOutcome, Option<Steadfast>), AppError> {
    write_to_keeping(database, actor, options.dry_run, progress, &mut |ledger| {
        decide_contributions(ledger, parsed, options)
    })
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

/// Decides every row of a parsed file into `draft`, counting into `outcome`; returns all of
/// the file's problems (parse errors and broken rules), sorted by location.
pub(crate) fn decide_file(
    draft: &mut Draft<'_>,
    parsed: &ParsedContributions,
    outcome: &mut ImportOutcome,
) -> ErrorList {
    let mut errors = parsed.errors.clone();
    // Same-day amendments of amendments go after what they amend, whatever the file order.
    let depth = amendment_depths(parsed);
    // Sorted by contribution, then effective date, stage, amendment depth and line. Each
    // distinct contribution id is ranked once, so the sort compares integers rather than
    // strings; the line makes every key distinct, so an unstable sort gives the one order.
    let mut rank: HashMap<&steadfast_domain::ContributionId, usize> = HashMap::new();
    for row in &parsed.rows {
        rank.entry(&row.command.contribution).or_default();
    }
    let mut ids: Vec<&steadfast_domain::ContributionId> = rank.keys().copied().collect();
    ids.sort_unstable();
    for (i, id) in ids.into_iter().enumerate() {
        rank.insert(id, i);
    }
    let mut keys: Vec<_> = parsed
        .rows
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
    keys.sort_unstable();
    let order: Vec<usize> = keys.into_iter().map(|k| k.5).collect();
    // An event id twice in one file is an error wherever the rows sit; report each repeat
    // against the first occurrence (file order) and decide only the first.
    let mut first_line_of: HashMap<&steadfast_domain::EventId, u64> =
        HashMap::with_capacity(parsed.rows.len());
    let mut repeated = std::collections::HashSet::new();
    for (i, row) in parsed.rows.iter().enumerate() {
        match first_line_of.get(&row.command.event) {
            Some(first) => {
                errors.0.push(parsed.error_at(
                    row.line,
                    steadfast_domain::Field::EventId,
                    format!(
                        "event id {} appears twice in this file (first on line {first})",
                        row.command.event
                    ),
                ));
                repeated.insert(i);
            }
            None => {
                first_line_of.insert(&row.command.event, row.line);
            }
        }
    }
    // The order keeps each contribution's rows together: one entry per contribution.
    let mut touched: Vec<&steadfast_domain::ContributionId> = Vec::new();
    for i in order {
        if repeated.contains(&i) {
            continue;
        }
        let row = &parsed.rows[i];
        if touched.last() != Some(&&row.command.contribution) {
            touched.push(&row.command.contribution);
        }
        match draft.record_stage(&row.command) {
            Ok(Decision::AlreadyRecorded) => outcome.already_recorded += 1,
            Ok(Decision::Record(events)) => {
                outcome.new_stage_events += 1;
                outcome.new_contributions += events.len() as u64 - 1;
            }
            Err(violations) => {
                for v in violations {
                    errors.0.push(parsed.error_at(row.line, v.field, v.message));
                }
            }
        }
    }
    outcome.anomalies = touched
        .iter()
        .filter_map(|id| draft.contribution(id))
        .map(|c| c.anomalies().len() as u64)
        .sum();
    errors.sort();
    errors
}

/// For each row, how many `amends` links lead from it to a row that amends nothing, following
/// links within the file only (0 for rows that amend nothing or amend a stored event). A cycle
/// is cut where it closes; the rules then report it. Linear in the number of rows.
fn amendment_depths(parsed: &ParsedContributions) -> Vec<usize> {
    let by_id: HashMap<&steadfast_domain::EventId, usize> = parsed
        .rows
        .iter()
        .enumerate()
        .map(|(i, r)| (&r.command.event, i))
        .collect();
    let mut depth: Vec<Option<usize>> = vec![None; parsed.rows.len()];
    let mut on_walk = vec![false; parsed.rows.len()];
    for start in 0..parsed.rows.len() {
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
            match parsed.rows[current]
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
