//! In-process report timings over a synthetic ledger (issue 4; figures in BENCHMARKS.md).
//!
//! Builds one in-memory ledger per run: the founding scenario (parties, ECB rates, the
//! `washington-2024` framework, the 2024 dataset) on a `MemoryStore`, then a synthetic file of
//! `STEADFAST_BENCH_EVENTS` stage events (default 100,000; seed 1) generated into memory,
//! parsed and imported exactly as `steadfast import contributions` does. Then it times the
//! domain's report functions alone, on the projection already in memory (no open, no I/O, no
//! output formatting):
//!
//! - `fair_share/{event-date,period-average}/{now,as-of-2024-06-30,as-known-before-import}`:
//!   `steadfast_domain::fair_share_report` of `washington-2024` at its counting stage, counted
//!   literally; the
//!   "as known" moment is the recording time of the scenario's batch, just before the import;
//!   each read from the report index, after checking it equals the walk below;
//! - `fair_share/.../walk`: the same reports by walking every contribution
//!   (`scoreboard::reference::fair_share_report_scan`), side by side;
//! - `fair_share/.../reached`: the same views counted by stage reached (the rule
//!   `washington-2024` uses since its revision), which no index serves: a walk.
//!
//! The literal reports are asked with `Counting::Literal` whatever the framework's rule, so
//! they stay comparable with earlier runs; the scenario now also loads the tracker's release
//! (a second and third dataset), so the index reads each counted row's dataset.
//! - `gaps/event-date/now`: `steadfast_domain::gaps_report` over every contribution.
//!
//! ```sh
//! cargo bench -p steadfast-app --bench reports
//! STEADFAST_BENCH_EVENTS=1000000 CARGO_TARGET_DIR=/work/rel-target cargo bench -p steadfast-app --bench reports
//! ```

use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use jiff::civil::date;
use steadfast_app::{ImportOptions, Steadfast, import_contributions, scenario};
use steadfast_domain::scoreboard::reference::fair_share_report_scan;
use steadfast_domain::{
    Counting, FrameworkId, FxPolicy, ReportQuery, fair_share_report, gaps_report,
};
use steadfast_ingest::{CsvOptions, parse_contributions};
use steadfast_store::MemoryStore;
use steadfast_synth::{SynthOptions, write_csv};

const DEFAULT_EVENTS: u64 = 100_000;
const SEED: u64 = 1;

/// The ledger every bench reads, and the moment just before the synthetic import.
struct Fixture {
    app: Steadfast,
    before_import: jiff::Timestamp,
}

fn events_from_env() -> u64 {
    match std::env::var("STEADFAST_BENCH_EVENTS") {
        Ok(text) => text
            .replace(['_', ','], "")
            .parse()
            .unwrap_or_else(|_| panic!("STEADFAST_BENCH_EVENTS={text:?} is not a count")),
        Err(_) => DEFAULT_EVENTS,
    }
}

/// Peak resident set of this process so far (Linux; `None` elsewhere).
fn peak_rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn build(events: u64) -> Fixture {
    let started = Instant::now();
    let mut app = Steadfast::from_store(Box::new(MemoryStore::new()), &mut |_| {})
        .expect("an empty in-memory ledger opens");
    scenario::load(&mut app).expect("the founding scenario loads");
    let before_import = app
        .head()
        .expect("the scenario appended events")
        .recorded_at;
    let loaded = started.elapsed();

    let mut csv = Vec::new();
    let written = write_csv(&SynthOptions { events, seed: SEED }, &mut csv, &mut |_| {})
        .expect("writing into memory cannot fail");
    let generated = started.elapsed();
    let parsed = parse_contributions("synthetic.csv", &csv, CsvOptions::default(), &mut |_| {});
    drop(csv);
    assert!(
        parsed.errors.0.is_empty(),
        "the synthetic file parses cleanly"
    );
    let parsed_at = started.elapsed();
    let outcome = import_contributions(&mut app, &parsed, "local:bench", ImportOptions::default())
        .expect("the synthetic file imports");
    drop(parsed);
    let imported = started.elapsed();
    assert_eq!(outcome.new_stage_events, events);
    eprintln!(
        "fixture: {events} synthetic events (seed {SEED}, {} contributions, {} bytes of CSV), {} log events in memory",
        written.summary.contributions,
        written.bytes,
        app.head().map_or(0, |h| h.position),
    );
    eprintln!(
        "fixture: scenario {:.2} s, synth {:.2} s, parse {:.2} s, decide+append+fold {:.2} s; peak RSS {}",
        loaded.as_secs_f64(),
        (generated - loaded).as_secs_f64(),
        (parsed_at - generated).as_secs_f64(),
        (imported - parsed_at).as_secs_f64(),
        peak_rss_kib().map_or("unknown".to_owned(), |k| format!("{} MiB", k / 1024)),
    );
    Fixture { app, before_import }
}

fn reports(c: &mut Criterion) {
    let fixture = build(events_from_env());
    let ledger = fixture.app.ledger();
    let framework = FrameworkId::parse("washington-2024").expect("a valid framework id");
    let mut group = c.benchmark_group("fair_share");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    for (policy_name, policy) in [
        ("event-date", FxPolicy::EventDate),
        ("period-average", FxPolicy::PeriodAverage),
    ] {
        let now = ReportQuery::new(policy);
        let views = [
            ("now", now.clone()),
            (
                "as-of-2024-06-30",
                ReportQuery {
                    as_of: Some(date(2024, 6, 30)),
                    ..now.clone()
                },
            ),
            (
                "as-known-before-import",
                ReportQuery {
                    as_known_on: Some(fixture.before_import),
                    ..now.clone()
                },
            ),
        ];
        for (view_name, query) in views {
            // The index must give the walk's report, to the byte, before either is timed.
            let indexed = fair_share_report(
                ledger,
                &framework,
                None,
                Some(Counting::Literal),
                query.clone(),
            );
            let scanned = fair_share_report_scan(ledger, &framework, None, query.clone());
            assert!(
                indexed == scanned,
                "{policy_name}/{view_name}: the indexed scoreboard differs from the walk"
            );
            group.bench_function(format!("{policy_name}/{view_name}"), |b| {
                b.iter(|| {
                    fair_share_report(
                        black_box(ledger),
                        &framework,
                        None,
                        Some(Counting::Literal),
                        black_box(query.clone()),
                    )
                    .expect("the framework is recorded")
                })
            });
            // Side by side: the same report by walking every contribution (the definition).
            group.bench_function(format!("{policy_name}/{view_name}/walk"), |b| {
                b.iter(|| {
                    fair_share_report_scan(
                        black_box(ledger),
                        &framework,
                        None,
                        black_box(query.clone()),
                    )
                    .expect("the framework is recorded")
                })
            });
            // Counting by stage reached: a walk of every contribution (no index serves it).
            group.bench_function(format!("{policy_name}/{view_name}/reached"), |b| {
                b.iter(|| {
                    fair_share_report(
                        black_box(ledger),
                        &framework,
                        None,
                        Some(Counting::Reached),
                        black_box(query.clone()),
                    )
                    .expect("the framework is recorded")
                })
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("gaps");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
    group.bench_function("event-date/now", |b| {
        b.iter(|| {
            gaps_report(
                black_box(ledger),
                black_box(ReportQuery::new(FxPolicy::EventDate)),
            )
        })
    });
    group.finish();
}

criterion_group!(benches, reports);
criterion_main!(benches);
