//! The founding scenario, shipped inside the binary from the repository's `data/` folder: the
//! party registry (the 32 Allies with their NATO accession dates, Ukraine, NATO, the EU, NSATU)
//! and the sourced 2024 dataset. Loading is idempotent: every event carries a key, so a second
//! load appends nothing.

use jiff::civil::Date;
use serde::Serialize;
use steadfast_domain::{Draft, MembershipRecorded, PartyRegistered};
use steadfast_ingest::{CsvOptions, parse_contributions, parse_memberships, parse_parties};

use crate::import::{ImportOutcome, decide_file};
use crate::{AppError, Steadfast};

/// The scenario's version, recorded as the actor of its events (`scenario:<version>`).
pub const VERSION: &str = "2024.1";
/// The date the registry entries hold from.
const REGISTERED_ON: Date = Date::constant(2024, 1, 1);

const PARTIES: &[u8] = include_bytes!("../../../data/parties.csv");
const MEMBERSHIPS: &[u8] = include_bytes!("../../../data/memberships.csv");
const CONTRIBUTIONS: &[u8] = include_bytes!("../../../data/contributions-2024.csv");

/// What loading the scenario did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ScenarioLoad {
    pub version: &'static str,
    pub parties_registered: u64,
    pub memberships_recorded: u64,
    pub contributions: ImportOutcome,
    pub events_appended: u64,
}

/// The actor name of the scenario's events.
pub fn actor() -> String {
    format!("scenario:{VERSION}")
}

/// Loads the founding scenario in one atomic batch; a no-op when it is already loaded.
pub fn load(app: &mut Steadfast) -> Result<ScenarioLoad, AppError> {
    let invalid = |e: steadfast_ingest::ErrorList| {
        AppError::Corrupt(format!("the built-in scenario is invalid:\n{e}"))
    };
    let parties = parse_parties("data/parties.csv", PARTIES).map_err(invalid)?;
    let memberships = parse_memberships("data/memberships.csv", MEMBERSHIPS).map_err(invalid)?;
    let contributions = parse_contributions(
        "data/contributions-2024.csv",
        CONTRIBUTIONS,
        CsvOptions::default(),
        &mut |_| {},
    );

    let mut draft = Draft::new(app.ledger());
    let mut load = ScenarioLoad {
        version: VERSION,
        parties_registered: 0,
        memberships_recorded: 0,
        contributions: ImportOutcome {
            file: contributions.file.clone(),
            rows: contributions.rows_read,
            ..ImportOutcome::default()
        },
        events_appended: 0,
    };
    let rule = |file: &str, line: u64, v: steadfast_domain::Violation| {
        AppError::Corrupt(format!(
            "the built-in scenario is invalid: {file}:{line}: {}",
            v.message
        ))
    };
    for p in parties {
        let registered = draft
            .register_party(PartyRegistered {
                party: p.party,
                name: p.name,
                kind: p.kind,
                registered_on: REGISTERED_ON,
            })
            .map_err(|v| rule("data/parties.csv", p.line, v))?;
        load.parties_registered += u64::from(registered);
    }
    for m in memberships {
        let recorded = draft
            .record_membership(MembershipRecorded {
                party: m.party,
                organisation: m.organisation,
                joined: m.joined,
                left: m.left,
            })
            .map_err(|v| rule("data/memberships.csv", m.line, v))?;
        load.memberships_recorded += u64::from(recorded);
    }
    let errors = decide_file(&mut draft, &contributions, &mut load.contributions);
    if !errors.0.is_empty() {
        return Err(invalid(errors));
    }
    let events = draft.into_events();
    load.events_appended = app.append(events, &actor())?;
    load.contributions.log_head = app.head().map(|h| h.hash.to_hex());
    Ok(load)
}
