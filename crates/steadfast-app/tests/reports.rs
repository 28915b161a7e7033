//! The reports are projections: the same log gives the same bytes, whether the projection was
//! built while appending or by replaying the file, and a report "as known on" a moment stays
//! exactly what it was at that moment, whatever is appended later.

use std::sync::Arc;

use jiff::{SignedDuration, Timestamp};
use steadfast_app::reports;
use steadfast_app::{
    Access, Database, ImportOptions, Steadfast, import_contributions, queries::LogHead, scenario,
};
use steadfast_domain::{FrameworkId, FxPolicy, ReportQuery};
use steadfast_ingest::{CsvOptions, HEADER, parse_contributions};
use steadfast_store::ManualClock;

fn washington() -> FrameworkId {
    FrameworkId::parse("washington-2024").unwrap()
}

/// Every report, under both policies, as one JSON document.
fn all_reports(app: &Steadfast, as_known_on: Option<Timestamp>) -> String {
    let mut out = String::new();
    for policy in FxPolicy::ALL {
        let options = ReportQuery {
            as_known_on,
            ..ReportQuery::new(policy)
        };
        let fair = reports::fair_share(app, &washington(), None, None, &options).unwrap();
        out += &serde_json::to_string_pretty(&fair).unwrap();
        out += &serde_json::to_string_pretty(&reports::gaps(app, &options)).unwrap();
        out += &serde_json::to_string_pretty(&reports::anomalies(app, &options)).unwrap();
    }
    out
}

const LATER: &str = "USA-late-1,USA-late,USA,UKR,committed,2024-07-13,1082500.00,USD,equipment-purchase,bilateral,public,,,,,,https://example.org/a,A later disclosure\n\
EST-late-1,EST-late,EST,UKR,committed,2024-03-01,2500000.00,EUR,training,bilateral,public,,,,,,https://example.org/b,Another one\n";

#[test]
fn reports_replay_identically_and_stay_fixed_as_known_on_a_moment() {
    let dir = tempfile::tempdir().unwrap();
    let database = Database::Sqlite(dir.path().join("ledger.sqlite"));
    let start: Timestamp = "2026-11-01T09:00:00Z".parse().unwrap();
    let clock = ManualClock::new(start);
    let mut app = Steadfast::open(
        &database,
        Access::Create,
        Some(Arc::new(clock.clone())),
        &mut |_| {},
    )
    .unwrap();
    scenario::load(&mut app).unwrap();
    let loaded_head = app.head();
    let moment = start + SignedDuration::from_secs(30);
    let at_the_time = all_reports(&app, Some(moment));
    let now_then = all_reports(&app, None);

    // Later: more events, recorded an hour after the moment.
    clock.advance(SignedDuration::from_secs(3600));
    let csv = format!("{}\n{LATER}", HEADER.join(","));
    let parsed = parse_contributions(
        "later.csv",
        csv.as_bytes(),
        CsvOptions::default(),
        &mut |_| {},
    );
    assert!(parsed.errors.0.is_empty(), "{}", parsed.errors);
    let outcome =
        import_contributions(&mut app, &parsed, "test", ImportOptions::default()).unwrap();
    assert_eq!(outcome.new_stage_events, 2);

    assert_eq!(app.head_known_on(moment), loaded_head);
    assert_eq!(all_reports(&app, Some(moment)), at_the_time);
    assert_ne!(
        all_reports(&app, None),
        now_then,
        "the later import changes today's figures"
    );

    // The same from a fresh replay of the file.
    let current = all_reports(&app, None);
    drop(app);
    let reopened = Steadfast::open(&database, Access::Read, None, &mut |_| {}).unwrap();
    assert_eq!(all_reports(&reopened, Some(moment)), at_the_time);
    assert_eq!(all_reports(&reopened, None), current);
    assert_eq!(reopened.head_known_on(moment), loaded_head);
    assert_eq!(
        reopened.head_known_on(start - SignedDuration::from_secs(1)),
        None,
        "nothing was known before the first batch"
    );
    let before = ReportQuery {
        as_known_on: Some(start - SignedDuration::from_secs(1)),
        ..ReportQuery::new(FxPolicy::EventDate)
    };
    assert!(reports::fair_share(&reopened, &washington(), None, None, &before).is_err());
    assert_eq!(
        reports::gaps(&reopened, &before).log_head,
        LogHead::of(None)
    );
}
