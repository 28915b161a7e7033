//! Importing stage events from a parsed file: all of a file or none of it.
//!
//! Rows are decided per contribution in effective-date order (then stage order, then line),
//! whatever their order in the file, so an `amended` row may precede its target in the file
//! and a delivery reported before its commitment is flagged, not refused. Every broken rule of
//! every row is reported, located at its line and column.

use std::collections::BTreeMap;

use serde::Serialize;
use steadfast_domain::{Decision, Draft, Stage};
use steadfast_ingest::{ErrorList, ParsedContributions};

use crate::{AppError, Steadfast};

/// How many times an import is decided again after losing a race with another writer.
const MAX_ATTEMPTS: u32 = 3;

/// How to import.
#[derive(Debug, Clone, Copy, Default)]
pub struct ImportOptions {
    /// Validate and report without writing.
    pub dry_run: bool,
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
    pub log_head: Option<String>,
}

/// Decides every row of a parsed file against the ledger and appends them in one batch.
/// Returns every problem of the file (parse and rule errors) if there is any; then nothing is
/// written.
pub fn import_contributions(
    app: &mut Steadfast,
    parsed: &ParsedContributions,
    actor: &str,
    options: ImportOptions,
) -> Result<ImportOutcome, AppError> {
    let mut outcome = ImportOutcome {
        file: parsed.file.clone(),
        rows: parsed.rows_read,
        dry_run: options.dry_run,
        ..ImportOutcome::default()
    };
    // Optimistic concurrency: if another writer appended to a stream this file touches between
    // our read and our write, the store refuses the batch; catch up and decide again.
    let mut attempts = 0;
    loop {
        attempts += 1;
        let mut counted = outcome.clone();
        let mut draft = Draft::new(app.ledger());
        let errors = decide_file(&mut draft, parsed, &mut counted);
        if !errors.0.is_empty() {
            return Err(AppError::Rejected(errors));
        }
        let events = draft.into_events();
        if options.dry_run {
            outcome = counted;
            break;
        }
        match app.append(events, actor) {
            Ok(appended) => {
                outcome = counted;
                outcome.events_appended = appended;
                break;
            }
            Err(AppError::Store(
                steadfast_store::StoreError::Conflict { .. }
                | steadfast_store::StoreError::DuplicateKey(_),
            )) if attempts < MAX_ATTEMPTS => {
                app.catch_up(&mut |_| {})?;
            }
            Err(e) => return Err(e),
        }
    }
    outcome.log_head = app.head().map(|h| h.hash.to_hex());
    Ok(outcome)
}

/// Decides every row of a parsed file into `draft`, counting into `outcome`; returns all of
/// the file's problems (parse errors and broken rules), sorted by location.
pub(crate) fn decide_file(
    draft: &mut Draft<'_>,
    parsed: &ParsedContributions,
    outcome: &mut ImportOutcome,
) -> ErrorList {
    let mut errors = parsed.errors.clone();
    let mut order: Vec<usize> = (0..parsed.rows.len()).collect();
    order.sort_by(|a, b| {
        let (ra, rb) = (&parsed.rows[*a], &parsed.rows[*b]);
        (
            &ra.command.contribution,
            ra.command.effective_date,
            stage_rank(ra.command.stage),
            ra.line,
        )
            .cmp(&(
                &rb.command.contribution,
                rb.command.effective_date,
                stage_rank(rb.command.stage),
                rb.line,
            ))
    });
    // An event id twice in one file is an error wherever the rows sit; report each repeat
    // against the first occurrence (file order) and decide only the first.
    let mut first_line_of: BTreeMap<&steadfast_domain::EventId, u64> = BTreeMap::new();
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
    let mut touched = std::collections::BTreeSet::new();
    for i in order {
        if repeated.contains(&i) {
            continue;
        }
        let row = &parsed.rows[i];
        touched.insert(&row.command.contribution);
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

/// Same-day events sort in the natural order of a pledge's life; a withdrawal comes last.
fn stage_rank(stage: Stage) -> u8 {
    Stage::ALL
        .iter()
        .position(|s| *s == stage)
        .and_then(|p| u8::try_from(p).ok())
        .unwrap_or(u8::MAX)
}
