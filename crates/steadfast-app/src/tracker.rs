//! Importing a public tracker's release as a dataset: the Kiel Institute's Ukraine Support
//! Tracker, per donor and month (`data_explorer.csv`).
//!
//! Each donor-month's `military` figure (EUR billions) becomes one contribution of the dataset
//! with one `allocated` event in EUR, dated on the last day of its month, in the category
//! `military-unspecified`, citing the release. `commitments` and `to_be_allocated` cover every
//! kind of aid (and `to_be_allocated` is a monthly flow that is often negative): they are not
//! military stage events and are not recorded.
//!
//! A later release into the same dataset records only the differences, so every earlier release
//! stays reproducible "as known on" a moment before it: a revised donor-month is an amendment
//! whose reason names the release, a new month a new contribution, and a month that disappeared
//! is amended to zero. Importing the same file again changes nothing.

use std::collections::BTreeMap;

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;
use steadfast_domain::{
    Category, Channel, ContributionId, Currency, DatasetCoverage, DatasetId,
    DatasetReleaseRecorded, Draft, EventId, Field, Ledger, Money, PartyId, RecordStage, SourceKind,
    Stage, Visibility,
};
use steadfast_ingest::{ErrorList, ImportError, TrackerFile, TrackerRow};

use crate::queries::LogHead;
use crate::write::{Decided, DecidedBy, Recorded, write_to};
use crate::{AppError, Database};

/// The recipient of every record a tracker of support to Ukraine holds.
const RECIPIENT: &str = "UKR";

/// Which release a file is, and how to cite it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackerRelease {
    /// The release's label (`29`), or the file's SHA-256 when nothing names it.
    pub release: String,
    /// Its title as the publisher gives it.
    pub title: String,
    pub published_on: Option<Date>,
}

/// A tracker file to import, with what identifies it.
#[derive(Debug, Clone)]
pub struct TrackerImport {
    /// The file's name, for messages.
    pub file: String,
    pub dataset: DatasetId,
    pub release: TrackerRelease,
    /// The SHA-256 of the file's bytes, in hex.
    pub sha256: String,
    pub parsed: TrackerFile,
    /// The day the import is recorded on (the release event's effective date).
    pub today: Date,
}

/// What a tracker import did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrackerOutcome {
    pub file: String,
    pub dataset: DatasetId,
    pub release: String,
    pub rows: u64,
    pub donors: u64,
    /// The first and last month the file covers (`YYYY-MM`).
    pub first_month: String,
    pub last_month: String,
    /// Donor-months with a military figure new to the dataset.
    pub new_records: u64,
    /// Donor-months whose figure this release revises (amendments).
    pub revised: u64,
    /// Donor-months of the dataset that this release no longer has (amended to zero).
    pub removed: u64,
    /// Donor-months whose figure the dataset already holds.
    pub unchanged: u64,
    /// Whether the release itself was new to the dataset.
    pub new_release: bool,
    pub events_appended: u64,
    pub dry_run: bool,
    pub log_head: LogHead,
}

impl TrackerOutcome {
    /// The outcome of deciding nothing yet.
    pub fn empty(import: &TrackerImport) -> Self {
        TrackerOutcome {
            file: import.file.clone(),
            dataset: import.dataset.clone(),
            release: import.release.release.clone(),
            rows: import.parsed.rows.len() as u64,
            donors: 0,
            first_month: month_label(import.parsed.first_month),
            last_month: month_label(import.parsed.last_month),
            new_records: 0,
            revised: 0,
            removed: 0,
            unchanged: 0,
            new_release: false,
            events_appended: 0,
            dry_run: false,
            log_head: LogHead::of(None),
        }
    }

    /// Whether the import records anything.
    pub fn changes_anything(&self) -> bool {
        self.new_release || self.new_records + self.revised + self.removed > 0
    }
}

impl Recorded for TrackerOutcome {
    fn recorded(&mut self, events_appended: u64, head: LogHead) {
        self.events_appended = events_appended;
        self.log_head = head;
    }
}

/// The citation of a release, as each of its records gives it.
pub fn citation(release: &TrackerRelease) -> String {
    format!("Kiel Institute for the World Economy, {}", release.title)
}

/// The longest dataset id a tracker import takes: its records' ids are built from it
/// (`<dataset>:<donor>:<YYYY-MM>:<release>`) and an id has at most 64 characters.
pub const MAX_DATASET_ID: usize = 32;

/// The contribution that holds one donor-month of a dataset, and its first event.
fn ids(dataset: &DatasetId, donor: &PartyId, month: Date) -> (ContributionId, EventId) {
    let text = format!("{dataset}:{donor}:{}", month_label(month));
    // Both parse: the dataset id is a token of at most MAX_DATASET_ID characters (checked
    // before any row is read), a donor id is at most 4 letters and the rest is fixed.
    let contribution = ContributionId::parse(&text).expect("a tracker contribution id is valid");
    let event = EventId::parse(&format!("{text}:allocated")).expect("a tracker event id is valid");
    (contribution, event)
}

/// A short, id-safe name of a release for the ids of its amendments.
fn release_tag(release: &TrackerRelease, sha256: &str) -> String {
    let plain = release.release.len() <= 16
        && release
            .release
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if plain {
        format!("r{}", release.release)
    } else {
        format!("sha-{}", &sha256[..sha256.len().min(12)])
    }
}

fn last_day(month: Date) -> Date {
    month.last_of_month()
}

fn month_label(month: Date) -> String {
    format!("{:04}-{:02}", month.year(), month.month())
}

/// EUR billions, as published, in euros (exact: the parser refuses anything finer than a cent).
fn euros(billions: Decimal) -> Result<Money, String> {
    let amount = billions
        .checked_mul(Decimal::from(1_000_000_000u64))
        .ok_or_else(|| format!("{billions} billion is out of range"))?;
    eur(amount.normalize())
}

/// An amount in euros (a signed delta for an amendment).
fn eur(amount: Decimal) -> Result<Money, String> {
    Money::new(amount, Currency::EUR).map_err(|e| e.to_string())
}

/// A donor-month already in the dataset: its first event and its value now.
struct Held {
    first_event: EventId,
    net_eur: Decimal,
}

/// The donor-months the dataset holds, as the ledger (and the draft) knows them.
fn held(ledger: &Ledger, dataset: &DatasetId) -> BTreeMap<ContributionId, Held> {
    let mut out = BTreeMap::new();
    for state in ledger.contributions() {
        if &state.info.dataset != dataset {
            continue;
        }
        let Some(first) = state
            .history
            .iter()
            .find(|e| e.event.stage == Stage::Allocated)
        else {
            continue;
        };
        let net = state
            .net_of(&first.event.event)
            .money
            .map_or(Decimal::ZERO, |m| m.amount());
        out.insert(
            state.info.contribution.clone(),
            Held {
                first_event: first.event.event.clone(),
                net_eur: net,
            },
        );
    }
    out
}

/// Decides a tracker file into `draft`: the release, then every donor-month that is new,
/// revised or gone. Returns every problem, located at its row; nothing is decided for a file
/// with any.
pub fn decide_tracker(
    draft: &mut Draft<'_>,
    ledger: &Ledger,
    import: &TrackerImport,
    dry_run: bool,
) -> Result<TrackerOutcome, ErrorList> {
    let parsed = &import.parsed;
    let file = &import.file;
    if import.dataset.as_str().len() > MAX_DATASET_ID {
        return Err(ErrorList(vec![ImportError::new(
            file,
            1,
            None,
            None,
            format!(
                "the dataset id `{}` is too long to name its records: choose one of at most {MAX_DATASET_ID} characters",
                import.dataset
            ),
        )]));
    }
    let mut errors = Vec::new();
    let mut outcome = TrackerOutcome {
        dry_run,
        ..TrackerOutcome::empty(import)
    };
    let mut donors: Vec<PartyId> = parsed.rows.iter().map(|r| r.donor.clone()).collect();
    donors.sort();
    donors.dedup();
    outcome.donors = donors.len() as u64;
    let citation = citation(&import.release);
    let release = DatasetReleaseRecorded {
        dataset: import.dataset.clone(),
        release: import.release.release.clone(),
        title: import.release.title.clone(),
        published_on: import.release.published_on,
        recorded_on: import.today,
        citation: citation.clone(),
        file_sha256: Some(import.sha256.clone()),
        coverage: Some(DatasetCoverage {
            parties: donors,
            from: parsed.first_month,
            to: last_day(parsed.last_month),
        }),
        stages: vec![Stage::Allocated],
    };
    match draft.record_dataset_release(release) {
        Ok(new) => outcome.new_release = new,
        Err(problems) => {
            for p in problems {
                errors.push(ImportError::new(file, 1, None, None, p.message));
            }
        }
    }
    let mut holding = held(ledger, &import.dataset);
    let tag = release_tag(&import.release, &import.sha256);
    for row in &parsed.rows {
        let (id, first_event) = ids(&import.dataset, &row.donor, row.month);
        let value = match euros(row.military) {
            Ok(v) => v,
            Err(message) => {
                errors.push(locate(parsed, row, Some(Field::Amount), message));
                continue;
            }
        };
        let command = match holding.remove(&id) {
            None if value.is_zero() => None,
            None => Some(record(import, &citation, row, &id, value, Err(first_event))),
            Some(h) if h.net_eur == value.amount() => None,
            Some(h) => Some(record(
                import,
                &citation,
                row,
                &id,
                match eur(value.amount() - h.net_eur) {
                    Ok(delta) => delta,
                    Err(message) => {
                        errors.push(locate(parsed, row, Some(Field::Amount), message));
                        continue;
                    }
                },
                Ok((
                    &h,
                    &tag,
                    format!(
                        "{}: revised from EUR {} to EUR {}",
                        import.release.title,
                        h.net_eur.normalize(),
                        value.amount().normalize()
                    ),
                )),
            )),
        };
        let Some(command) = command else {
            outcome.unchanged += u64::from(!value.is_zero());
            continue;
        };
        match command.stage {
            Stage::Amended => outcome.revised += 1,
            _ => outcome.new_records += 1,
        }
        if let Err(violations) = draft.record_stage(&command) {
            for v in violations {
                errors.push(locate(parsed, row, v.field, v.message));
            }
        }
    }
    // What the dataset holds that this release no longer has goes to zero.
    for (id, h) in holding {
        if h.net_eur.is_zero() {
            continue;
        }
        let Some(state) = ledger.contribution(&id) else {
            continue;
        };
        let command = RecordStage {
            event: amendment_id(&h.first_event, &tag),
            contribution: id.clone(),
            donor: state.info.donor.clone(),
            recipient: state.info.recipient.clone(),
            category: state.info.category,
            channel: state.info.channel,
            visibility: state.info.visibility,
            stage: Stage::Amended,
            effective_date: state.info.opened_on,
            money: Some(match eur(-h.net_eur) {
                Ok(delta) => delta,
                Err(message) => {
                    errors.push(ImportError::new(
                        file,
                        1,
                        None,
                        None,
                        format!("{id}: {message}"),
                    ));
                    continue;
                }
            }),
            quantity: None,
            valuation_basis: None,
            amends: Some(h.first_event.clone()),
            reason: Some(format!(
                "{}: no longer has this donor-month (was EUR {})",
                import.release.title,
                h.net_eur.normalize()
            )),
            condition: None,
            source_url: None,
            description: None,
            source_kind: Some(SourceKind::Other),
            citation: Some(citation.clone()),
            dataset: Some(import.dataset.clone()),
        };
        outcome.removed += 1;
        if let Err(violations) = draft.record_stage(&command) {
            for v in violations {
                errors.push(ImportError::new(
                    file,
                    1,
                    None,
                    v.field.map(Field::name),
                    format!("{id}: {}", v.message),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(outcome)
    } else {
        let mut list = ErrorList(errors);
        list.sort();
        Err(list)
    }
}

/// A signed amount in euros.
fn amendment_id(first: &EventId, tag: &str) -> EventId {
    // The first event's id is `<contribution>:allocated`; an amendment is `<contribution>:<tag>`
    // (a tag is at most 17 id-safe characters, so the id fits as the first one did).
    let base = first.as_str().trim_end_matches(":allocated");
    EventId::parse(&format!("{base}:{tag}")).expect("a tracker amendment id is valid")
}

fn locate(
    parsed: &TrackerFile,
    row: &TrackerRow,
    field: Option<Field>,
    message: String,
) -> ImportError {
    let name = match field {
        Some(Field::Donor | Field::ContributionId | Field::EventId) => "iso",
        _ => "military",
    };
    ImportError::new(
        &parsed.file,
        row.line,
        parsed.columns.get(name).copied(),
        Some(name),
        message,
    )
}

/// The command recording a donor-month: its first event, or an amendment of it.
fn record(
    import: &TrackerImport,
    citation: &str,
    row: &TrackerRow,
    id: &ContributionId,
    money: Money,
    amends: Result<(&Held, &str, String), EventId>,
) -> RecordStage {
    let channel = if row.donor.as_str() == "EU" {
        Channel::EuInstrument
    } else {
        Channel::Bilateral
    };
    let recipient = PartyId::parse(RECIPIENT).unwrap_or_else(|_| row.donor.clone());
    let (event, stage, amends, reason) = match amends {
        Err(first_event) => (first_event, Stage::Allocated, None, None),
        Ok((held, tag, reason)) => (
            amendment_id(&held.first_event, tag),
            Stage::Amended,
            Some(held.first_event.clone()),
            Some(reason),
        ),
    };
    RecordStage {
        event,
        contribution: id.clone(),
        donor: row.donor.clone(),
        recipient,
        category: Category::MilitaryUnspecified,
        channel,
        visibility: Visibility::Public,
        stage,
        effective_date: last_day(row.month),
        money: Some(money),
        quantity: None,
        valuation_basis: None,
        amends,
        reason,
        condition: None,
        source_url: None,
        description: Some(format!(
            "Military allocations of {} in {} as the tracker publishes them",
            row.country,
            month_label(row.month)
        )),
        source_kind: Some(SourceKind::Other),
        citation: Some(citation.to_owned()),
        dataset: Some(import.dataset.clone()),
    }
}

/// The tracker write decided against `ledger`: what it does and its events.
pub(crate) fn decided(
    ledger: &Ledger,
    import: &TrackerImport,
    dry_run: bool,
) -> Decided<TrackerOutcome> {
    let mut draft = Draft::new(ledger);
    let outcome =
        decide_tracker(&mut draft, ledger, import, dry_run).map_err(AppError::Rejected)?;
    Ok((outcome, draft.into_events()))
}

/// Imports a tracker file into the ledger at `database`, all of it or none; a ledger that does
/// not exist yet is created only once the file is known good (never by a dry run).
pub fn import_tracker(
    database: &Database,
    import: &TrackerImport,
    actor: &str,
    dry_run: bool,
    progress: &mut dyn FnMut(u64),
) -> Result<TrackerOutcome, AppError> {
    let mut decide = |ledger: &Ledger| decided(ledger, import, dry_run);
    write_to(
        database,
        actor,
        dry_run,
        progress,
        &mut DecidedBy::new(&mut decide),
    )
}

/// The SHA-256 of a file's bytes, in hex: a release's label when nothing else names it.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(bytes))
}

/// [`import_tracker`] into an open ledger.
pub fn record_tracker(
    app: &mut crate::Steadfast,
    import: &TrackerImport,
    actor: &str,
    dry_run: bool,
) -> Result<TrackerOutcome, AppError> {
    let mut decide = |ledger: &Ledger| decided(ledger, import, dry_run);
    crate::write::decide_and_append(app, actor, dry_run, &mut DecidedBy::new(&mut decide))
}
