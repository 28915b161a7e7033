//! The founding scenario, shipped inside the binary from the repository's `data/` folder: the
//! party registry (the 32 Allies with their NATO accession dates, Ukraine, NATO, the EU, NSATU),
//! the ECB reference-rate history, the `washington-2024` framework with its GDP basis and its
//! dated revision (`data/frameworks.toml`), the hand-compiled 2024 dataset (`scenario-2024`), and
//! the Kiel Ukraine Support Tracker's Release 29 (`kiel-ust-r29`). Loading is idempotent: every
//! event carries a key, so a second load appends nothing.

use jiff::civil::Date;
use serde::Serialize;
use steadfast_domain::{
    DatasetId, DatasetReleaseRecorded, Draft, Ledger, MembershipRecorded, PartyRegistered,
};
use steadfast_ingest::{
    CsvOptions, parse_contributions, parse_ecb_rates, parse_frameworks_file, parse_gdp,
    parse_memberships, parse_parties, parse_tracker, parse_tracker_release,
};

use crate::frameworks::{decide_frameworks, decide_revisions};
use crate::fx::{FxImportOutcome, decide_rates};
use crate::import::{ImportOutcome, Rows, record_into_draft};
use crate::queries::LogHead;
use crate::tracker::{TrackerImport, TrackerOutcome, TrackerRelease, decide_tracker, sha256_hex};
use crate::write::{DecidedBy, Recorded, decide_and_append};
use crate::{AppError, Steadfast};

/// The scenario's version, recorded as the actor of its events (`scenario:<version>`).
pub const VERSION: &str = "2024.3";
/// The hand-compiled dataset's id.
pub const SCENARIO_DATASET: &str = "scenario-2024";
/// The tracker release the demo loads beside it.
pub const TRACKER_DATASET: &str = "kiel-ust-r29";
/// The day this version of the scenario's dataset was recorded as a release.
const SCENARIO_RELEASED_ON: Date = Date::constant(2026, 12, 3);
/// The date the registry entries hold from.
const REGISTERED_ON: Date = Date::constant(2024, 1, 1);

const PARTIES: &[u8] = include_bytes!("../../../data/parties.csv");
const MEMBERSHIPS: &[u8] = include_bytes!("../../../data/memberships.csv");
const CONTRIBUTIONS: &[u8] = include_bytes!("../../../data/contributions-2024.csv");
const RATES: &[u8] = include_bytes!("../../../data/ecb-eurofxref-hist.csv");
const FRAMEWORKS: &[u8] = include_bytes!("../../../data/frameworks.toml");
const GDP: &[u8] = include_bytes!("../../../data/gdp-worldbank.csv");
const TRACKER: &[u8] = include_bytes!("../../../data/kiel-ust-r29/data_explorer.csv");
const TRACKER_RELEASE: &[u8] = include_bytes!("../../../data/kiel-ust-r29/release_info.csv");
const TRACKER_FILE: &str = "data/kiel-ust-r29/data_explorer.csv";

/// The scenario's own dataset: a hand-compiled sample with no declared coverage.
fn scenario_release() -> DatasetReleaseRecorded {
    DatasetReleaseRecorded {
        dataset: DatasetId::parse(SCENARIO_DATASET).expect("a valid id"),
        release: VERSION.to_owned(),
        title: "Steadfast's hand-compiled 2024 scenario".to_owned(),
        published_on: None,
        recorded_on: SCENARIO_RELEASED_ON,
        citation:
            "Steadfast, data/contributions-2024.csv (sources per row; method in data/NOTES.md)"
                .to_owned(),
        file_sha256: Some(sha256_hex(CONTRIBUTIONS)),
        coverage: None,
        stages: Vec::new(),
    }
}

/// The tracker's Release 29, shipped in `data/kiel-ust-r29/`.
pub fn tracker_import() -> Result<TrackerImport, AppError> {
    let invalid = |e: steadfast_ingest::ErrorList| {
        AppError::Corrupt(format!("the built-in tracker release is unreadable:\n{e}"))
    };
    let parsed = parse_tracker(TRACKER_FILE, TRACKER).map_err(invalid)?;
    let info = parse_tracker_release("data/kiel-ust-r29/release_info.csv", TRACKER_RELEASE)
        .map_err(invalid)?;
    Ok(TrackerImport {
        file: TRACKER_FILE.to_owned(),
        dataset: DatasetId::parse(TRACKER_DATASET).expect("a valid id"),
        release: TrackerRelease {
            release: info.release,
            title: info.label,
            published_on: Some(info.date),
        },
        sha256: sha256_hex(TRACKER),
        parsed,
        today: info.date,
    })
}

/// What loading the scenario did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioLoad {
    pub version: &'static str,
    pub parties_registered: u64,
    pub memberships_recorded: u64,
    pub rate_days_recorded: u64,
    pub frameworks_adopted: u64,
    pub frameworks_revised: u64,
    pub contributions: ImportOutcome,
    pub tracker: TrackerOutcome,
    pub events_appended: u64,
}

impl Recorded for ScenarioLoad {
    fn recorded(&mut self, events_appended: u64, head: LogHead) {
        self.events_appended = events_appended;
        self.contributions.log_head = head.clone();
        self.tracker.log_head = head;
    }
}

/// The actor name of the scenario's events.
pub fn actor() -> String {
    format!("scenario:{VERSION}")
}

impl ScenarioLoad {
    /// Whether the ledger already holds the whole scenario (loading it would append nothing).
    pub fn is_complete(&self) -> bool {
        self.parties_registered == 0
            && self.memberships_recorded == 0
            && self.rate_days_recorded == 0
            && self.frameworks_adopted == 0
            && self.frameworks_revised == 0
            && self.contributions.new_stage_events == 0
            && !self.tracker.changes_anything()
    }
}

/// Loads the founding scenario in one atomic batch; a no-op when it is already loaded. A
/// concurrent loader that wins the race makes this one catch up and find nothing to do.
pub fn load(app: &mut Steadfast) -> Result<ScenarioLoad, AppError> {
    load_or_check(app, false)
}

/// What loading the scenario would do, writing nothing: works on a ledger opened read-only, so
/// a ledger that already holds the scenario can be reported on without write access.
pub fn check(app: &mut Steadfast) -> Result<ScenarioLoad, AppError> {
    load_or_check(app, true)
}

fn load_or_check(app: &mut Steadfast, dry_run: bool) -> Result<ScenarioLoad, AppError> {
    let invalid = |e: steadfast_ingest::ErrorList| {
        AppError::Corrupt(format!("the built-in scenario is unreadable:\n{e}"))
    };
    let parties = parse_parties("data/parties.csv", PARTIES).map_err(invalid)?;
    let memberships = parse_memberships("data/memberships.csv", MEMBERSHIPS).map_err(invalid)?;
    let rates = parse_ecb_rates("data/ecb-eurofxref-hist.csv", RATES).map_err(invalid)?;
    let frameworks_file =
        parse_frameworks_file("data/frameworks.toml", FRAMEWORKS).map_err(invalid)?;
    let frameworks = frameworks_file.frameworks;
    let revisions = frameworks_file.revisions;
    let gdp = parse_gdp("data/gdp-worldbank.csv", GDP).map_err(invalid)?;
    let contributions = parse_contributions(
        "data/contributions-2024.csv",
        CONTRIBUTIONS,
        CsvOptions::default(),
        &mut |_| {},
    )
    .in_dataset(&DatasetId::parse(SCENARIO_DATASET).expect("a valid id"));
    let tracker = tracker_import()?;
    let clash = |file: &str, line: u64, v: steadfast_domain::Rejection| {
        AppError::Invalid(format!(
            "cannot load the founding scenario into this ledger: {file}:{line}: {v}"
        ))
    };
    let mut contributions = Rows::new(contributions);
    let mut decide = |ledger: &Ledger| {
        let mut draft = Draft::new(ledger);
        let mut load = ScenarioLoad {
            version: VERSION,
            parties_registered: 0,
            memberships_recorded: 0,
            rate_days_recorded: 0,
            frameworks_adopted: 0,
            frameworks_revised: 0,
            contributions: ImportOutcome::new(contributions.parsed(), false),
            tracker: TrackerOutcome::empty(&tracker),
            events_appended: 0,
        };
        for p in &parties {
            let registered = draft
                .register_party(PartyRegistered {
                    party: p.party.clone(),
                    name: p.name.clone(),
                    kind: p.kind,
                    registered_on: REGISTERED_ON,
                })
                .map_err(|v| clash("data/parties.csv", p.line, v))?;
            load.parties_registered += u64::from(registered);
        }
        for m in &memberships {
            let recorded = draft
                .record_membership(MembershipRecorded {
                    party: m.party.clone(),
                    organisation: m.organisation.clone(),
                    joined: m.joined,
                    left: m.left,
                })
                .map_err(|v| clash("data/memberships.csv", m.line, v))?;
            load.memberships_recorded += u64::from(recorded);
        }
        let mut rate_outcome = FxImportOutcome::new("data/ecb-eurofxref-hist.csv", &rates, false);
        let mut errors = decide_rates(
            &mut draft,
            "data/ecb-eurofxref-hist.csv",
            &rates,
            &mut rate_outcome,
        );
        load.rate_days_recorded = rate_outcome.new_days;
        // A framework's basis figures come from the dataset it names; the scenario ships one.
        for spec in &frameworks {
            if spec.share_basis.dataset != "gdp-worldbank.csv" {
                return Err(AppError::Corrupt(format!(
                    "data/frameworks.toml:{}: framework {} names the basis dataset `{}`, which the scenario does not ship (it has gdp-worldbank.csv)",
                    spec.line, spec.id, spec.share_basis.dataset
                )));
            }
        }
        errors.0.extend(
            decide_frameworks(
                &mut draft,
                "data/frameworks.toml",
                &frameworks,
                &gdp,
                &mut load.frameworks_adopted,
            )
            .0,
        );
        errors.0.extend(
            decide_revisions(
                &mut draft,
                "data/frameworks.toml",
                &revisions,
                &mut load.frameworks_revised,
            )
            .0,
        );
        if let Err(problems) = draft.record_dataset_release(scenario_release()) {
            errors.0.extend(problems.into_iter().map(|p| {
                steadfast_ingest::ImportError::new(
                    "data/contributions-2024.csv",
                    1,
                    None,
                    None,
                    p.message,
                )
            }));
        }
        errors.0.extend(
            contributions
                .decide_into(
                    &mut draft,
                    &mut load.contributions,
                    record_into_draft,
                    &mut |_| {},
                )
                .0,
        );
        match decide_tracker(&mut draft, ledger, &tracker, false) {
            Ok(outcome) => load.tracker = outcome,
            Err(e) => errors.0.extend(e.0),
        }
        if !errors.0.is_empty() {
            // The scenario is valid on an empty ledger (a test says so); a refusal here means
            // this ledger already holds different events under the scenario's ids.
            return Err(AppError::Invalid(format!(
                "cannot load the founding scenario into this ledger, which already records different events under its ids:\n{errors}"
            )));
        }
        Ok((load, draft.into_events()))
    };
    decide_and_append(app, &actor(), dry_run, &mut DecidedBy::new(&mut decide))
}
