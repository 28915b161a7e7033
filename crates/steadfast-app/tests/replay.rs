//! Replay equals incremental state: whatever is imported into a SQLite ledger, reopening the
//! file and replaying its log gives exactly the projection the open ledger built as it went,
//! at the same head.

use std::fmt::Write as _;
use std::path::Path;

use proptest::prelude::*;
use steadfast_app::{ImportOptions, ImportOutcome, Steadfast, import_contributions, scenario};
use steadfast_ingest::{CsvOptions, HEADER, parse_contributions};

const DONORS: [&str; 6] = ["DEU", "USA", "GBR", "NLD", "JPN", "POL"];
const CURRENCIES: [(&str, u32); 4] = [("EUR", 2), ("USD", 2), ("GBP", 2), ("JPY", 0)];
const CATEGORIES: [&str; 4] = [
    "equipment-purchase",
    "in-kind-donation",
    "training",
    "nato-trust-fund",
];
const FLOW: [&str; 5] = [
    "announced",
    "committed",
    "allocated",
    "delivered",
    "confirmed",
];

/// One stage step of a new contribution: stage, amount in minor units, days after the previous.
type Step = (usize, u64, i64);

#[derive(Debug, Clone)]
struct NewContribution {
    donor: usize,
    currency: usize,
    category: usize,
    steps: Vec<Step>,
    /// Amend one step: (which step, raise or lower, percent of its amount).
    amendment: Option<(prop::sample::Index, bool, u64)>,
    withdraw: bool,
}

#[derive(Debug, Clone)]
struct Batch {
    new: Vec<NewContribution>,
    /// Further stage events of contributions opened by earlier batches.
    extensions: Vec<(prop::sample::Index, Step)>,
    /// Import the previous batch's file again (a no-op).
    repeat_previous: bool,
}

#[derive(Debug, Clone)]
struct Plan {
    batches: Vec<Batch>,
    /// Load the founding scenario before this batch (or after the last).
    scenario_at: prop::sample::Index,
}

fn step() -> impl Strategy<Value = Step> {
    (0..FLOW.len(), 1u64..2_000_000_000, 0i64..20)
}

fn new_contribution() -> impl Strategy<Value = NewContribution> {
    (
        0..DONORS.len(),
        0..CURRENCIES.len(),
        0..CATEGORIES.len(),
        prop::collection::vec(step(), 1..5),
        proptest::option::weighted(
            0.4,
            (any::<prop::sample::Index>(), any::<bool>(), 1u64..=100),
        ),
        prop::bool::weighted(0.2),
    )
        .prop_map(
            |(donor, currency, category, steps, amendment, withdraw)| NewContribution {
                donor,
                currency,
                category,
                steps,
                amendment,
                withdraw,
            },
        )
}

fn plan() -> impl Strategy<Value = Plan> {
    let batch = (
        prop::collection::vec(new_contribution(), 1..6),
        prop::collection::vec((any::<prop::sample::Index>(), step()), 0..4),
        prop::bool::weighted(0.2),
    )
        .prop_map(|(new, extensions, repeat_previous)| Batch {
            new,
            extensions,
            repeat_previous,
        });
    (
        prop::collection::vec(batch, 1..5),
        any::<prop::sample::Index>(),
    )
        .prop_map(|(batches, scenario_at)| Plan {
            batches,
            scenario_at,
        })
}

/// A contribution as the test has written it so far.
#[derive(Debug, Clone)]
struct Known {
    id: String,
    donor: &'static str,
    currency: usize,
    category: &'static str,
    last_day: i64,
    withdrawn: bool,
}

/// Writes CSV rows in the import layout.
#[derive(Debug)]
struct Csv {
    text: String,
    rows: u64,
}

impl Csv {
    fn new() -> Self {
        Csv {
            text: format!("{}\n", HEADER.join(",")),
            rows: 0,
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn row(
        &mut self,
        event: &str,
        c: &Known,
        stage: &str,
        day: i64,
        amount: Option<String>,
        amends: &str,
        reason: &str,
    ) {
        let date = jiff::civil::date(2024, 1, 1)
            .checked_add(jiff::Span::new().days(day))
            .expect("date in range");
        let currency = if amount.is_some() {
            CURRENCIES[c.currency].0
        } else {
            ""
        };
        let basis = if c.category == "in-kind-donation" && amount.is_some() {
            "declared"
        } else {
            ""
        };
        let reason = if stage == "confirmed" {
            "as-described"
        } else {
            reason
        };
        writeln!(
            self.text,
            "{event},{id},{donor},UKR,{stage},{date},{amount},{currency},{category},bilateral,public,,,{basis},{amends},{reason},https://example.org/{event},\"{id}, lot {event}\"",
            id = c.id,
            donor = c.donor,
            amount = amount.unwrap_or_default(),
            category = c.category,
        )
        .expect("write to string");
        self.rows += 1;
    }
}

fn format_amount(minor: i128, currency: usize) -> String {
    let (_, scale) = CURRENCIES[currency];
    if scale == 0 {
        return minor.to_string();
    }
    let sign = if minor < 0 { "-" } else { "" };
    let abs = minor.unsigned_abs();
    format!("{sign}{}.{:02}", abs / 100, abs % 100)
}

/// Builds the CSV of one batch, valid by construction against what earlier batches wrote.
fn batch_csv(b: usize, batch: &Batch, known: &mut Vec<Known>) -> Csv {
    let mut csv = Csv::new();
    let mut opened = Vec::new();
    for (i, plan) in batch.new.iter().enumerate() {
        let mut c = Known {
            id: format!("T{b}-{i}"),
            donor: DONORS[plan.donor],
            currency: plan.currency,
            category: CATEGORIES[plan.category],
            last_day: i64::try_from(b).expect("small") * 40,
            withdrawn: false,
        };
        let mut written: Vec<(String, i64, u64)> = Vec::new();
        for (k, (stage, amount, gap)) in plan.steps.iter().enumerate() {
            c.last_day += gap;
            let event = format!("{}-{k}", c.id);
            let amount_text = format_amount(i128::from(*amount), c.currency);
            csv.row(
                &event,
                &c,
                FLOW[*stage],
                c.last_day,
                Some(amount_text),
                "",
                "",
            );
            written.push((event, c.last_day, *amount));
        }
        if let Some((which, raise, percent)) = &plan.amendment {
            let (target, day, amount) = which.get(&written).clone();
            let part = i128::from(amount) * i128::from(*percent) / 100;
            let delta = if *raise { part + 1 } else { -part };
            let delta = if delta == 0 { 1 } else { delta };
            c.last_day = c.last_day.max(day);
            csv.row(
                &format!("{}-m", c.id),
                &c,
                "amended",
                c.last_day,
                Some(format_amount(delta, c.currency)),
                &target,
                "corrected total",
            );
        }
        if plan.withdraw {
            csv.row(
                &format!("{}-w", c.id),
                &c,
                "withdrawn",
                c.last_day,
                None,
                "",
                "",
            );
            c.withdrawn = true;
        }
        opened.push(c);
    }
    let open: Vec<usize> = (0..known.len()).filter(|i| !known[*i].withdrawn).collect();
    if !open.is_empty() {
        for (k, (which, (stage, amount, gap))) in batch.extensions.iter().enumerate() {
            let c = &mut known[*which.get(&open)];
            c.last_day += gap + 1;
            let amount_text = format_amount(i128::from(*amount), c.currency);
            let c = c.clone();
            csv.row(
                &format!("X{b}-{k}"),
                &c,
                FLOW[*stage],
                c.last_day,
                Some(amount_text),
                "",
                "",
            );
        }
    }
    known.extend(opened);
    csv
}

fn import(app: &mut Steadfast, name: &str, csv: &Csv) -> ImportOutcome {
    let parsed = parse_contributions(
        name,
        csv.text.as_bytes(),
        CsvOptions::default(),
        &mut |_| {},
    );
    assert!(parsed.errors.0.is_empty(), "{name}:\n{}", parsed.errors);
    match import_contributions(app, &parsed, "local:test", ImportOptions::default()) {
        Ok(outcome) => outcome,
        Err(e) => panic!("importing {name} failed: {e}\n{}", csv.text),
    }
}

/// Reopens the file and checks the replayed projection and head against the open ledger.
fn assert_replay_equals(app: &Steadfast, path: &Path) {
    let reopened = Steadfast::open_path(path, false).expect("reopen");
    assert_eq!(reopened.head(), app.head());
    assert_eq!(
        reopened.ledger().events_applied(),
        app.head().map_or(0, |h| h.position)
    );
    assert!(reopened.ledger() == app.ledger(), "replay differs");
    let report = steadfast_store::verify(reopened.store(), None, &mut |_| {}).expect("verify");
    assert!(report.is_ok(), "{report:?}");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, ..ProptestConfig::default() })]

    #[test]
    fn replay_equals_incremental_state(plan in plan()) {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite");
        let mut app = Steadfast::open_path(&path, true).expect("create");
        let scenario_at = plan.scenario_at.index(plan.batches.len() + 1);
        let mut known = Vec::new();
        let mut previous: Option<Csv> = None;
        for (b, batch) in plan.batches.iter().enumerate() {
            if b == scenario_at {
                let load = scenario::load(&mut app).expect("scenario");
                prop_assert!(load.events_appended > 0);
            }
            let csv = batch_csv(b, batch, &mut known);
            let before = app.head().map_or(0, |h| h.position);
            let outcome = import(&mut app, &format!("batch-{b}.csv"), &csv);
            prop_assert_eq!(outcome.rows, csv.rows);
            prop_assert_eq!(outcome.already_recorded, 0);
            prop_assert_eq!(outcome.new_stage_events, csv.rows);
            prop_assert_eq!(
                outcome.events_appended,
                outcome.new_stage_events + outcome.new_contributions
            );
            prop_assert_eq!(
                app.head().map_or(0, |h| h.position),
                before + outcome.events_appended
            );
            if batch.repeat_previous
                && let Some(prev) = &previous
            {
                let again = import(&mut app, "again.csv", prev);
                prop_assert_eq!(again.events_appended, 0);
                prop_assert_eq!(again.already_recorded, prev.rows);
            }
            previous = Some(csv);
        }
        if scenario_at == plan.batches.len() {
            scenario::load(&mut app).expect("scenario");
        }
        prop_assert_eq!(app.ledger().events_applied(), app.head().map_or(0, |h| h.position));
        assert_replay_equals(&app, &path);
        // And after the ledger is reopened, further imports keep it so.
        drop(app);
        let mut app = Steadfast::open_path(&path, false).expect("reopen");
        let csv = batch_csv(plan.batches.len(), &plan.batches[0], &mut known);
        import(&mut app, "late.csv", &csv);
        assert_replay_equals(&app, &path);
    }
}

#[test]
fn the_scenario_loads_once_and_a_second_load_appends_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.sqlite");
    let mut app = Steadfast::open_path(&path, true).expect("create");
    let first = scenario::load(&mut app).expect("first load");
    assert!(first.events_appended > 0);
    assert!(first.parties_registered > 0);
    assert!(first.memberships_recorded > 0);
    assert!(first.contributions.new_stage_events > 0);
    let head = app.head();
    assert_eq!(head.map(|h| h.position), Some(first.events_appended));

    let second = scenario::load(&mut app).expect("second load");
    assert_eq!(second.events_appended, 0);
    assert_eq!(second.parties_registered, 0);
    assert_eq!(second.memberships_recorded, 0);
    assert_eq!(second.contributions.new_stage_events, 0);
    assert_eq!(
        second.contributions.already_recorded,
        first.contributions.new_stage_events
    );
    assert_eq!(app.head(), head);
    assert_replay_equals(&app, &path);

    // A reopened ledger recognises the scenario too.
    drop(app);
    let mut app = Steadfast::open_path(&path, false).expect("reopen");
    let third = scenario::load(&mut app).expect("third load");
    assert_eq!(third.events_appended, 0);
    assert_eq!(app.head(), head);
}
