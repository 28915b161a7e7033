//! Black-box tests of the accountability reports (`report fair-share`, `report gaps`,
//! `report anomalies`) and of `fx import`: every test runs the real executable against a fresh
//! ledger in its own temporary directory.
//!
//! The reports on the founding scenario are pinned by insta snapshots (`tests/snapshots/`), with
//! the log head hash — which depends on the moment of recording — replaced by `[hash]`. Key
//! facts are also checked outside the snapshots, so that a careless `cargo insta accept` cannot
//! hide a broken figure. Update the snapshots with
//! `INSTA_UPDATE=always cargo test -p steadfast-cli --test reports` and read the diff.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rust_decimal::{Decimal, RoundingStrategy};
use serde_json::Value;

mod common;

use common::{Out, output, steadfast_in};

/// The summary line of a refused file, after `FILE: N `.
const SUMMARY: &str = "error(s); nothing from this file was recorded";

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/// A temporary directory holding one ledger (`ledger.sqlite`) and the input files of a test.
struct Ledger {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Ledger {
    fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = dir.path().join("ledger.sqlite");
        Ledger { dir, db }
    }

    /// A ledger with the founding scenario loaded.
    fn with_demo() -> Self {
        let ledger = Ledger::new();
        ledger.run(&["demo"]).ok("demo");
        ledger
    }

    /// Runs the binary inside the test directory, blind to the caller's `STEADFAST_DATABASE`.
    fn run(&self, args: &[&str]) -> Out {
        output(
            steadfast_in(self.dir.path())
                .arg("--database")
                .arg(&self.db)
                .args(args),
        )
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes an input file into the test directory; returns the name to pass on the command line.
    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        std::fs::write(self.path(name), bytes).expect("write input");
        name.to_owned()
    }

    /// Copies a file of `tests/fixtures` into the test directory (under `as_name`).
    fn fixture(&self, name: &str, as_name: &str) -> String {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        self.write(as_name, std::fs::read(&source).expect("read fixture"))
    }

    #[track_caller]
    fn import_contributions(&self, file: &str) {
        self.run(&["import", "contributions", file])
            .ok("import contributions");
    }

    /// `(events verified, head hash)` from `log verify --format json`.
    #[track_caller]
    fn head(&self) -> (u64, String) {
        let v = self
            .run(&["log", "verify", "--format", "json"])
            .ok("log verify")
            .json();
        (
            v["events_verified"].as_u64().expect("events_verified"),
            v["log_head"]["hash"].as_str().expect("head").to_owned(),
        )
    }

    /// `report fair-share --format json` with extra flags.
    #[track_caller]
    fn fair_share(&self, flags: &[&str]) -> Value {
        let mut args = vec!["report", "fair-share", "--format", "json"];
        args.extend_from_slice(flags);
        self.run(&args).ok("report fair-share").json()
    }
}

/// A file of the repository's `data/` folder.
fn data_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../data")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Replaces every run of exactly 64 hex digits (a SHA-256 hash: the log head) by `[hash]`.
fn redact_hashes(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        if run.len() == 64 {
            out.push_str("[hash]");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in text.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

#[track_caller]
fn dec(v: &Value) -> Decimal {
    let text = v
        .as_str()
        .unwrap_or_else(|| panic!("expected a decimal string, found {v}"));
    text.parse()
        .unwrap_or_else(|e| panic!("`{text}` is not a decimal: {e}"))
}

/// The row of `party` in a fair-share JSON report.
#[track_caller]
fn row<'a>(report: &'a Value, party: &str) -> &'a Value {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["party"] == party)
        .unwrap_or_else(|| panic!("no row for {party}"))
}

#[track_caller]
fn counted(report: &Value, party: &str) -> Decimal {
    dec(&row(report, party)["counted_eur"])
}

/// Asserts a refused file: exit code 1, the lines of stderr about the file are exactly
/// `expected` (each a whole line, or a prefix when it ends with `…`) followed by the summary
/// counting them, and nothing on stdout.
#[track_caller]
fn assert_fx_refused(out: &Out, file: &str, expected: &[&str]) {
    assert_eq!(
        out.code, 1,
        "exit code; stdout:\n{}\nstderr:\n{}",
        out.stdout, out.stderr
    );
    let about_file: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with(&format!("{file}:")))
        .collect();
    let summary = format!("{file}: {} {SUMMARY}", expected.len());
    assert_eq!(
        about_file.len(),
        expected.len() + 1,
        "expected {} error line(s) and `{summary}`; stderr:\n{}",
        expected.len(),
        out.stderr
    );
    for (line, want) in about_file.iter().zip(expected) {
        match want.strip_suffix('…') {
            Some(prefix) => assert!(
                line.starts_with(prefix),
                "expected a line starting `{prefix}`, found `{line}`"
            ),
            None => assert_eq!(line, want),
        }
    }
    assert_eq!(about_file.last(), Some(&summary.as_str()));
    assert!(out.stdout.is_empty(), "stdout:\n{}", out.stdout);
}

/// `fx import FILE` of `body` (written as `name`) is refused with exactly `expected`, and the
/// ledger is unchanged.
#[track_caller]
fn assert_rates_refused(ledger: &Ledger, name: &str, body: &str, expected: &[&str]) {
    let before = ledger.head();
    let file = ledger.write(name, body);
    let out = ledger.run(&["fx", "import", &file]);
    assert_fx_refused(&out, &file, expected);
    assert_eq!(ledger.head(), before, "a refused rate file changed the log");
}

/// The weekdays from `from` on, `n` of them, newest first (the ECB's order).
fn weekdays(from: jiff::civil::Date, n: usize) -> Vec<jiff::civil::Date> {
    use jiff::civil::Weekday;
    let mut days = Vec::new();
    let mut d = from;
    while days.len() < n {
        if !matches!(d.weekday(), Weekday::Saturday | Weekday::Sunday) {
            days.push(d);
        }
        d = d.tomorrow().expect("date");
    }
    days.reverse();
    days
}

/// An ECB-layout file of `days` (newest first), USD and JPY, with the ECB's trailing commas.
fn rate_file(days: &[jiff::civil::Date]) -> Vec<String> {
    let mut lines = vec!["Date,USD,JPY,".to_owned()];
    for (i, d) in days.iter().enumerate() {
        lines.push(format!("{d},1.1{:03},176.{:02},", i % 1000, i % 100));
    }
    lines
}

fn join(lines: &[String]) -> String {
    let mut text = lines.join("\n");
    text.push('\n');
    text
}

// ---------------------------------------------------------------------------------------------
// 1. The founding scenario's reports, pinned
// ---------------------------------------------------------------------------------------------

/// Runs a report on a fresh demo ledger; returns its stdout with the log head hash redacted.
fn demo_report(args: &[&str]) -> String {
    let ledger = Ledger::with_demo();
    let out = ledger.run(args).ok(&args.join(" "));
    let redacted = redact_hashes(&out.stdout);
    assert!(
        redacted.contains("[hash]"),
        "the report states no log head:\n{}",
        out.stdout
    );
    assert_ne!(redacted, out.stdout, "nothing was redacted");
    redacted
}

#[test]
fn given_the_demo_when_reporting_fair_shares_as_a_table_then_it_matches_the_snapshot() {
    insta::assert_snapshot!(
        "fair_share_table",
        demo_report(&[
            "report",
            "fair-share",
            "--framework",
            "washington-2024",
            "--dataset",
            "kiel-ust-r29",
        ])
    );
}

#[test]
fn given_the_demo_when_reporting_fair_shares_as_json_then_it_matches_the_snapshot() {
    insta::assert_snapshot!(
        "fair_share_json",
        demo_report(&[
            "report",
            "fair-share",
            "--framework",
            "washington-2024",
            "--dataset",
            "scenario-2024",
            "--format",
            "json",
        ])
    );
}

#[test]
fn given_the_demo_when_reporting_gaps_then_it_matches_the_snapshot() {
    insta::assert_snapshot!(
        "gaps_table",
        demo_report(&["report", "gaps", "--dataset", "scenario-2024"])
    );
}

#[test]
fn given_the_demo_when_reporting_anomalies_then_it_matches_the_snapshot() {
    insta::assert_snapshot!(
        "anomalies_table",
        demo_report(&["report", "anomalies", "--dataset", "scenario-2024"])
    );
}

#[test]
fn given_the_demo_when_reporting_fair_shares_then_the_shares_add_up_to_the_target_and_hungary_is_exempt()
 {
    let ledger = Ledger::with_demo();
    let v = ledger.fair_share(&["--framework", "washington-2024"]);
    assert_eq!(v["framework"], "washington-2024");
    assert_eq!(v["stage"], "committed");
    assert_eq!(v["fx_policy"], "event-date");
    assert_eq!(v["target_eur"], "40000000000.00");

    let rows = v["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 32, "the 32 Allies at the Washington Summit");
    let sum: Decimal = rows.iter().map(|r| dec(&r["fair_share_eur"])).sum();
    // Exactly, to the cent: the largest-remainder allocation leaves no cent behind.
    assert_eq!(sum.to_string(), "40000000000.00");
    assert_eq!(v["totals"]["fair_share_eur"], "40000000000.00");
    assert_eq!(v["totals"]["unallocated_eur"], "0.00");
    assert_eq!(v["totals"]["participants"], 32);
    for r in rows {
        assert!(dec(&r["fair_share_eur"]) >= Decimal::ZERO, "{r}");
        assert_eq!(dec(&r["fair_share_eur"]).scale(), 2, "{r}");
    }
    // Totals are sums of the rows shown.
    let counted: Decimal = rows.iter().map(|r| dec(&r["counted_eur"])).sum();
    assert_eq!(dec(&v["totals"]["counted_eur"]), counted);
    let gap: Decimal = rows.iter().map(|r| dec(&r["gap_eur"])).sum();
    assert_eq!(dec(&v["totals"]["gap_eur"]), gap);

    let hun = row(&v, "HUN");
    assert_eq!(hun["status"], "exempt");
    assert_eq!(hun["fair_share_eur"], "0.00");
    assert_eq!(hun["ratio"], Value::Null);
    assert_eq!(v["totals"]["exempt"], 1);
    let statuses = ["met", "short", "no-records", "exempt"];
    assert!(
        rows.iter()
            .all(|r| statuses.contains(&r["status"].as_str().unwrap_or(""))),
        "{v}"
    );

    // The report says how it was computed, at which head, and that it is not official.
    let head = ledger.head();
    assert_eq!(v["log_head"]["hash"].as_str(), Some(head.1.as_str()));
    assert_eq!(v["log_head"]["position"].as_u64(), Some(head.0));
    assert!(
        v["coverage"]["caveat"]
            .as_str()
            .is_some_and(|c| c.contains("not official figures")),
        "{v}"
    );
    assert!(!v["method"].as_array().expect("method").is_empty());

    // With one framework recorded, --framework may be left out; the report is the same.
    let implicit = ledger
        .run(&["report", "fair-share", "--format", "json"])
        .ok("implicit");
    let explicit = ledger
        .run(&[
            "report",
            "fair-share",
            "--framework",
            "washington-2024",
            "--format",
            "json",
        ])
        .ok("explicit");
    assert_eq!(implicit.stdout, explicit.stdout);
}

#[test]
fn given_an_unknown_framework_or_none_recorded_when_reporting_fair_shares_then_it_says_which_exist()
{
    let ledger = Ledger::with_demo();
    let out = ledger.run(&["report", "fair-share", "--framework", "madrid-2099"]);
    assert_eq!(out.code, 1);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr.contains("madrid-2099")
            && out.stderr.contains("recorded frameworks: washington-2024"),
        "{}",
        out.stderr
    );

    // A ledger made by `fx import` alone has rates but no framework.
    let bare = Ledger::new();
    let file = bare.fixture("ecb-2026-11.csv", "rates.csv");
    bare.run(&["fx", "import", &file]).ok("fx import");
    let out = bare.run(&["report", "fair-share"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("no framework is recorded in this ledger"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// 2. FX test vectors, end to end
// ---------------------------------------------------------------------------------------------

/// The mean of the ECB's USD fixings published in the second half of 2024, read from
/// data/ecb-eurofxref-hist.csv, and how many there were.
fn usd_mean_2024_h2() -> (Decimal, u32) {
    let text = data_file("ecb-eurofxref-hist.csv");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let usd = header.iter().position(|h| *h == "USD").expect("USD column");
    let (mut sum, mut count) = (Decimal::ZERO, 0u32);
    for line in lines {
        let cells: Vec<&str> = line.split(',').collect();
        let date = cells[0];
        if ("2024-07-01"..="2024-12-31").contains(&date) && cells[usd] != "N/A" {
            sum += cells[usd].parse::<Decimal>().expect("USD rate");
            count += 1;
        }
    }
    (sum / Decimal::from(count), count)
}

fn half_even_cents(d: Decimal) -> Decimal {
    let mut r = d.round_dp_with_strategy(2, RoundingStrategy::MidpointNearestEven);
    r.rescale(2);
    r
}

#[test]
fn given_usd_pledges_when_reported_then_they_convert_at_the_ecb_fixing_of_their_date_or_the_one_before()
 {
    let ledger = Ledger::with_demo();
    let before = ledger.fair_share(&[]);
    let before_avg = ledger.fair_share(&["--fx-policy", "period-average"]);

    // ALB: USD 1,082,500.00 committed on Wednesday 2024-07-10 (fixing 1.0825).
    // MNE: USD 1,089,000.00 committed on Saturday 2024-07-13 (Friday's fixing: 1.089).
    let file = ledger.fixture("fx-vectors.csv", "fx-vectors.csv");
    ledger.import_contributions(&file);

    let after = ledger.fair_share(&[]);
    let million: Decimal = "1000000.00".parse().expect("decimal");
    assert_eq!(counted(&after, "ALB") - counted(&before, "ALB"), million);
    assert_eq!(counted(&after, "MNE") - counted(&before, "MNE"), million);
    assert_eq!(
        (counted(&after, "ALB") - counted(&before, "ALB")).to_string(),
        "1000000.00",
        "exactly, to the cent"
    );
    assert_eq!(row(&after, "ALB")["events"], 1);
    // SVK: UAH 41,000,000.00 — the ECB publishes no hryvnia rate: unconverted, never zero.
    assert_eq!(counted(&after, "SVK"), counted(&before, "SVK"));
    assert_eq!(
        dec(&after["totals"]["counted_eur"]) - dec(&before["totals"]["counted_eur"]),
        million + million
    );
    let unconverted = after["unconverted"].as_array().expect("unconverted");
    assert_eq!(unconverted.len(), 1, "{unconverted:?}");
    assert_eq!(unconverted[0]["event"], "FXV-SVK-1-a");
    assert_eq!(unconverted[0]["donor"], "SVK");
    assert_eq!(unconverted[0]["currency"], "UAH");
    let reason = unconverted[0]["reason"].as_str().expect("reason");
    assert!(
        reason.starts_with("no ECB reference rate is recorded for UAH"),
        "{reason}"
    );

    // The Saturday event is listed as converted with an earlier fixing; the Wednesday one not.
    let fixings = after["earlier_fixings"]
        .as_array()
        .expect("earlier_fixings");
    let mne = fixings
        .iter()
        .find(|f| f["event"] == "FXV-MNE-1-a")
        .unwrap_or_else(|| panic!("the Saturday event is not in earlier_fixings: {fixings:?}"));
    assert_eq!(mne["contribution"], "FXV-MNE-1");
    assert_eq!(mne["effective_date"], "2024-07-13");
    assert_eq!(mne["rate_date"], "2024-07-12");
    assert_eq!(mne["rate"], "1.089");
    assert_eq!(mne["eur"], "1000000.00");
    assert_eq!(mne["amount"], "1089000.00");
    assert_eq!(mne["currency"], "USD");
    assert!(
        !fixings.iter().any(|f| f["event"] == "FXV-ALB-1-a"),
        "{fixings:?}"
    );

    // The table names the fixing date used, and the value it could not convert.
    let table = ledger.run(&["report", "fair-share"]).ok("table").stdout;
    let fixing = "FXV-MNE-1-a: 1089000.00 USD effective 2024-07-13 at the 2024-07-12 fixing (1.089) = EUR 1,000,000.00";
    assert!(
        table.lines().any(|l| l.trim() == fixing),
        "{fixing}\n{table}"
    );
    let not_converted = "FXV-SVK-1-a (SVK, 41000000.00 UAH, effective 2024-08-01): no ECB reference rate is recorded for UAH";
    assert!(
        table.lines().any(|l| l.trim().starts_with(not_converted)),
        "{not_converted}\n{table}"
    );
    let anomalies = ledger.run(&["report", "anomalies"]).ok("anomalies").stdout;
    assert!(
        anomalies.lines().any(|l| l.contains("FXV-SVK-1-a")
            && l.contains("unconverted")
            && l.contains("no ECB reference rate is recorded for UAH")),
        "{anomalies}"
    );

    // period-average: the mean of the 2024-H2 USD fixings, then rounded half-to-even to the cent.
    let (mean, fixings_in_h2) = usd_mean_2024_h2();
    assert!(
        (120..=135).contains(&fixings_in_h2),
        "{fixings_in_h2} fixings"
    );
    let alb_expected = half_even_cents("1082500.00".parse::<Decimal>().expect("d") / mean);
    let mne_expected = half_even_cents("1089000.00".parse::<Decimal>().expect("d") / mean);
    // Cross-checked independently (Python decimal, 40 digits): mean 1.0834738461538…
    assert_eq!(alb_expected.to_string(), "999101.18");
    assert_eq!(mne_expected.to_string(), "1005100.40");

    let avg = ledger.fair_share(&["--fx-policy", "period-average"]);
    assert_eq!(avg["fx_policy"], "period-average");
    let alb_avg = counted(&avg, "ALB") - counted(&before_avg, "ALB");
    assert_eq!(alb_avg, alb_expected);
    assert_ne!(
        alb_avg, million,
        "period-average must differ from event-date"
    );
    assert_eq!(
        counted(&avg, "MNE") - counted(&before_avg, "MNE"),
        mne_expected
    );
    assert!(
        !avg["earlier_fixings"]
            .as_array()
            .expect("earlier_fixings")
            .iter()
            .any(|f| f["event"] == "FXV-MNE-1-a"),
        "period-average uses no single day's fixing: {avg}"
    );
}

#[test]
fn given_a_participants_commitment_the_framework_does_not_count_when_reporting_then_it_is_listed_as_not_counted()
 {
    let ledger = Ledger::with_demo();
    let before = ledger.fair_share(&[]);
    let header = "event_id,contribution_id,donor,recipient,stage,effective_date,amount,currency,category,channel,visibility,quantity,unit,valuation_basis,amends,reason,source_url,description";
    let file = ledger.write(
        "outside.csv",
        format!(
            "{header}\n\
             NC-NOR-1-a,NC-NOR-1,NOR,UKR,committed,2024-08-01,50000000.00,EUR,financial-aid,bilateral,public,,,,,,https://example.org/nc/nor-1,Budget support: not an eligible category\n\
             NC-NOR-2-a,NC-NOR-2,NOR,UKR,committed,2025-02-01,70000000.00,EUR,equipment-purchase,bilateral,public,,,,,,https://example.org/nc/nor-2,Committed after the framework's period\n"
        ),
    );
    ledger.import_contributions(&file);
    let after = ledger.fair_share(&[]);
    assert_eq!(counted(&after, "NOR"), counted(&before, "NOR"));
    let not_counted = after["not_counted"].as_array().expect("not_counted");
    // In the period but in a category the framework does not count: listed with the reason.
    assert!(
        not_counted.iter().any(|n| n["event"] == "NC-NOR-1-a"
            && n["donor"] == "NOR"
            && n["reason"]
                .as_str()
                .is_some_and(|r| r.contains("financial-aid"))),
        "NC-NOR-1-a is at the counted stage but neither counted nor listed: {not_counted:?}"
    );
    // Outside the period it belongs to other periods' reports, not to this one's exclusions.
    assert!(
        !not_counted.iter().any(|n| n["event"] == "NC-NOR-2-a"),
        "{not_counted:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// 3. Reports as known on a past moment
// ---------------------------------------------------------------------------------------------

/// The moment just after everything recorded so far, and before anything recorded next.
fn moment_between() -> String {
    std::thread::sleep(Duration::from_millis(20));
    let t = jiff::Timestamp::now();
    std::thread::sleep(Duration::from_millis(20));
    t.to_string()
}

#[test]
fn given_a_moment_when_more_is_recorded_later_then_reports_as_known_on_it_are_byte_for_byte_the_same()
 {
    let ledger = Ledger::with_demo();
    let t = moment_between();
    let views: [&[&str]; 7] = [
        &["report", "fair-share", "--format", "json"],
        &["report", "fair-share"],
        &["report", "fair-share", "--fx-policy", "period-average"],
        &["report", "gaps", "--format", "json"],
        &["report", "gaps"],
        &["report", "anomalies", "--format", "json"],
        &[
            "report",
            "fair-share",
            "--as-of",
            "2024-06-30",
            "--format",
            "json",
        ],
    ];
    let run_all = |known_on: Option<&str>| -> Vec<String> {
        views
            .iter()
            .map(|args| {
                let mut args = args.to_vec();
                // The scenario and what this test records into the ledger, without the tracker.
                args.extend(["--dataset", "scenario-2024", "--dataset", "ledger"]);
                if let Some(t) = known_on {
                    args.extend(["--as-known-on", t]);
                }
                ledger.run(&args).ok(&args.join(" ")).stdout
            })
            .collect()
    };
    let current_then = run_all(None);
    let known_then = run_all(Some(&t));
    for text in &known_then {
        assert!(text.contains(&t), "the moment is not stated:\n{text}");
    }

    // Recorded after the moment: new contributions, a correction and a withdrawal of scenario
    // contributions, and a fixing for Saturday 2024-12-07 that changes the conversion of
    // USA-2024-08 (which used Friday's fixing until now).
    let file = ledger.fixture("small-valid.csv", "more.csv");
    ledger.import_contributions(&file);
    let file = ledger.fixture("later-corrections.csv", "corrections.csv");
    ledger.import_contributions(&file);
    // A back-filled holiday (no ECB fixing on Christmas Day): rates recorded later, too.
    let rates = ledger.write("holiday.csv", "Date,USD,\n2024-12-25,1.2000,\n");
    ledger.run(&["fx", "import", &rates]).ok("fx import");
    // The ECB publishes nothing at weekends: a Saturday rate is refused, not recorded.
    let saturday = ledger.write("saturday.csv", "Date,USD,\n2024-12-07,1.2000,\n");
    let refused = ledger.run(&["fx", "import", &saturday]);
    assert_eq!(refused.code, 1, "{}", refused.stderr);
    assert!(
        refused
            .stderr
            .contains("saturday.csv:2:1: Date: 2024-12-07 is a Saturday"),
        "{}",
        refused.stderr
    );

    let known_now = run_all(Some(&t));
    for ((args, then), now) in views.iter().zip(&known_then).zip(&known_now) {
        assert!(
            then == now,
            "{args:?} --as-known-on {t} changed after later recordings:\n--- then\n{then}\n--- now\n{now}"
        );
    }
    let current_now = run_all(None);
    for ((args, then), now) in views.iter().zip(&current_then).zip(&current_now) {
        assert_ne!(then, now, "{args:?}: later recordings changed nothing");
    }

    // As known on the moment, the figures are those the current report gave at the moment.
    let figures = |text: &str| {
        let mut v: Value = serde_json::from_str(text).expect("json");
        let object = v.as_object_mut().expect("object");
        for volatile in ["as_known_on", "method", "log_head"] {
            object.remove(volatile);
        }
        v
    };
    for i in [0, 3, 5, 6] {
        assert_eq!(figures(&known_then[i]), figures(&current_then[i]));
        assert_ne!(figures(&current_now[i]), figures(&current_then[i]));
    }
    let fair = |text: &str| serde_json::from_str::<Value>(text).expect("json");
    let (then, now) = (fair(&current_then[0]), fair(&current_now[0]));
    assert_eq!(
        counted(&now, "DEU") - counted(&then, "DEU"),
        "174000000.00".parse::<Decimal>().expect("d"),
        "the later files commit EUR 250m more for Germany and correct EUR 76m away"
    );
    assert_eq!(counted(&then, "ESP").to_string(), "1000000000.00");
    assert_eq!(
        counted(&now, "ESP").to_string(),
        "0.00",
        "withdrawn later, before any delivery"
    );
    assert_eq!(
        fair(&known_now[0])["log_head"],
        fair(&current_then[0])["log_head"],
        "as known on the moment, the head is the one current then"
    );
}

#[test]
fn given_a_moment_before_anything_was_recorded_when_reporting_then_fair_share_fails_and_gaps_are_empty()
 {
    let ledger = Ledger::with_demo();
    let out = ledger.run(&["report", "fair-share", "--as-known-on", "2020-01-01"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.is_empty(), "{}", out.stdout);
    assert!(
        out.stderr.contains(
            "no framework `washington-2024` is recorded as known on 2020-01-01T23:59:59.999999999Z"
        ),
        "{}",
        out.stderr
    );

    let gaps = ledger
        .run(&[
            "report",
            "gaps",
            "--as-known-on",
            "2020-01-01",
            "--format",
            "json",
        ])
        .ok("gaps")
        .json();
    assert_eq!(gaps["rows"], serde_json::json!([]));
    assert_eq!(gaps["log_head"]["position"], 0);
    assert_eq!(gaps["as_known_on"], "2020-01-01T23:59:59.999999999Z");

    let out = ledger.run(&["report", "gaps", "--as-known-on", "last tuesday"]);
    assert_eq!(out.code, 2, "a usage error");
    assert!(
        out.stderr.contains("`last tuesday` is not a moment"),
        "{}",
        out.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// 4. fx import
// ---------------------------------------------------------------------------------------------

#[test]
fn given_a_file_in_another_layout_when_importing_rates_then_it_is_refused_at_its_header() {
    let ledger = Ledger::with_demo();
    // The contributions layout.
    let contributions = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fx-vectors.csv"),
    )
    .expect("fixture");
    assert_rates_refused(
        &ledger,
        "contributions.csv",
        &contributions,
        &[
            "contributions.csv:1:1: this is not the ECB reference-rate layout: the first column must be `Date`, found `event_id`; the ECB reference-rate layout is a header `Date,USD,JPY,...,ZAR,`…",
        ],
    );
    // A header not starting with Date.
    assert_rates_refused(
        &ledger,
        "day-first.csv",
        "USD,Date,\n1.0825,2026-11-02,\n",
        &[
            "day-first.csv:1:1: this is not the ECB reference-rate layout: the first column must be `Date`, found `USD`…",
        ],
    );
    // Re-saved from a spreadsheet with semicolons and decimal commas.
    assert_rates_refused(
        &ledger,
        "semicolons.csv",
        "Date;USD;JPY\n2026-11-02;1,1185;175,90\n",
        &[
            "semicolons.csv:1:1: the file is separated by `;`; the ECB publishes it comma-separated…",
        ],
    );
}

#[test]
fn given_bad_rates_when_importing_then_each_is_located_and_nothing_is_recorded() {
    let ledger = Ledger::with_demo();
    // A decimal comma, quoted (one cell) and unquoted (one cell too many).
    assert_rates_refused(
        &ledger,
        "comma.csv",
        "Date,USD,JPY,\n2026-11-03,\"1,0825\",176.01,\n",
        &[
            "comma.csv:2:2: USD: `1,0825` is not a rate: write a positive decimal with a point, e.g. 1.0825 (or N/A for no fixing)",
        ],
    );
    assert_rates_refused(
        &ledger,
        "unquoted.csv",
        "Date,USD,JPY,\n2026-11-03,1,0825,176.01,\n",
        &[
            "unquoted.csv:2:5: row has 5 cells, the header has 4 (an unquoted `,` inside a cell, such as a decimal comma?)",
        ],
    );
    // Not a number, not positive.
    assert_rates_refused(
        &ledger,
        "words.csv",
        "Date,USD,JPY,\n2026-11-03,one,176.01,\n2026-11-02,1.1185,0,\n",
        &[
            "words.csv:2:2: USD: `one` is not a rate: write a positive decimal with a point, e.g. 1.0825 (or N/A for no fixing)",
            "words.csv:3:3: JPY: `0` is not a rate: a rate is above 0 (write N/A for no fixing)",
        ],
    );
    // The same date twice.
    assert_rates_refused(
        &ledger,
        "twice.csv",
        "Date,USD,JPY,\n2026-11-03,1.1200,176.01,\n2026-11-02,1.1185,175.90,\n2026-11-03,1.1200,176.01,\n",
        &["twice.csv:4:1: Date: 2026-11-03 appears twice: its fixings are already on line 2"],
    );
    // A currency code in the header that ISO 4217 does not know.
    assert_rates_refused(
        &ledger,
        "xyz.csv",
        "Date,USD,XYZ,\n2026-11-03,1.1200,176.01,\n",
        &[
            "xyz.csv:1:3: XYZ: `XYZ` is not a known ISO 4217 currency; each column after `Date` names a currency",
        ],
    );
    // Rows with too few and too many fields.
    assert_rates_refused(
        &ledger,
        "fields.csv",
        "Date,USD,JPY,\n2026-11-03,1.1200,\n2026-11-02,1.1185,175.90,,\n",
        &[
            "fields.csv:2:4: row has 3 cells, the header has 4",
            "fields.csv:3:5: row has 5 cells, the header has 4 (an unquoted `,` inside a cell, such as a decimal comma?)",
        ],
    );
    // A date that is not one.
    assert_rates_refused(
        &ledger,
        "dates.csv",
        "Date,USD,\n02/11/2026,1.1185,\n2026-02-30,1.1185,\n",
        &[
            "dates.csv:2:1: Date: `02/11/2026` is not a date; write YYYY-MM-DD, e.g. 2024-07-10",
            "dates.csv:3:1: Date: `2026-02-30` is not a real date: month 2 of 2026 has 28 days",
        ],
    );
}

#[test]
fn given_a_long_good_file_with_one_bad_line_deep_inside_when_importing_rates_then_none_of_it_is_recorded()
 {
    let ledger = Ledger::with_demo();
    let days = weekdays(jiff::civil::date(2026, 11, 2), 40);
    let mut lines = rate_file(&days);
    let bad_line = 27; // 1-based, as in the error
    let bad_date = days[bad_line - 2];
    lines[bad_line - 1] = format!("{bad_date},1.1O85,176.00,");
    let before = ledger.head();
    let file = ledger.write("deep.csv", join(&lines));
    let out = ledger.run(&["fx", "import", &file]);
    assert_fx_refused(
        &out,
        &file,
        &[&format!(
            "deep.csv:{bad_line}:2: USD: `1.1O85` is not a rate: write a positive decimal with a point, e.g. 1.0825 (or N/A for no fixing)"
        )],
    );
    assert_eq!(ledger.head(), before, "part of a refused file was recorded");

    // Corrected, all 40 days go in at once.
    lines[bad_line - 1] = format!("{bad_date},1.1085,176.00,");
    let file = ledger.write("deep.csv", join(&lines));
    let v = ledger
        .run(&["fx", "import", &file, "--format", "json"])
        .ok("fx import")
        .json();
    assert_eq!(v["days"], 40);
    assert_eq!(v["new_days"], 40);
    assert_eq!(v["events_appended"], 40);
    assert_eq!(ledger.head().0, before.0 + 40);

    // The whole published history with one corrupted line refuses to create a ledger.
    let fresh = Ledger::new();
    let history = data_file("ecb-eurofxref-hist.csv");
    let mut lines: Vec<String> = history.lines().map(str::to_owned).collect();
    assert!(
        lines[3000].starts_with("2015-02-12,1.1328,"),
        "{}",
        lines[3000]
    );
    let (date, rest) = lines[3000].split_once(',').expect("row");
    let (_, rest) = rest.split_once(',').expect("row");
    lines[3000] = format!("{date},1;3,{rest}");
    let file = fresh.write("hist.csv", join(&lines));
    let out = fresh.run(&["fx", "import", &file]);
    assert_fx_refused(
        &out,
        &file,
        &[
            "hist.csv:3001:2: USD: `1;3` is not a rate: write a positive decimal with a point, e.g. 1.0825 (or N/A for no fixing)",
        ],
    );
    assert!(!fresh.db.exists(), "a refused file created the ledger");
}

#[test]
fn given_many_bad_rows_when_importing_with_max_errors_then_the_rest_are_counted() {
    let ledger = Ledger::with_demo();
    let before = ledger.head();
    let file = ledger.write(
        "bad.csv",
        "Date,USD,\n2026-11-05,x,\n2026-11-04,y,\n2026-11-03,z,\n",
    );
    let out = ledger.run(&[
        "fx",
        "import",
        &file,
        "--max-errors",
        "1",
        "--format",
        "json",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.lines().any(|l| l
            == "bad.csv:2:2: USD: `x` is not a rate: write a positive decimal with a point, e.g. 1.0825 (or N/A for no fixing)"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("`y`"), "{}", out.stderr);
    assert!(
        out.stderr
            .lines()
            .any(|l| l == "... and 2 more error(s) (raise --max-errors to see them)"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr
            .lines()
            .any(|l| l == format!("bad.csv: 3 {SUMMARY}")),
        "{}",
        out.stderr
    );
    let v = out.json();
    assert_eq!(v["recorded"], false);
    assert_eq!(v["more_errors"], 2);
    assert_eq!(v["errors"][0]["line"], 2);
    assert_eq!(v["errors"][0]["column"], 2);
    assert_eq!(v["errors"][0]["field"], "USD");
    assert_eq!(ledger.head(), before);
}

#[test]
fn given_new_days_when_importing_rates_then_exactly_they_are_appended_once_and_never_changed() {
    let ledger = Ledger::with_demo();
    let start = ledger.head();
    let file = ledger.fixture("ecb-2026-11.csv", "rates.csv");

    // A dry run checks against the ledger and writes nothing.
    let dry = ledger
        .run(&["fx", "import", &file, "--dry-run", "--format", "json"])
        .ok("dry run")
        .json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["new_days"], 2);
    assert_eq!(dry["events_appended"], 0);
    assert_eq!(ledger.head(), start, "a dry run wrote");
    let table = ledger
        .run(&["fx", "import", &file, "--dry-run"])
        .ok("dry run")
        .stdout;
    assert!(table.contains("nothing was written"), "{table}");
    assert_eq!(ledger.head(), start, "a dry run wrote");

    let v = ledger
        .run(&["fx", "import", &file, "--format", "json"])
        .ok("fx import")
        .json();
    assert_eq!(v["source"], "ECB");
    assert_eq!(v["days"], 2);
    assert_eq!(v["first_date"], "2026-11-02");
    assert_eq!(v["last_date"], "2026-11-03");
    assert_eq!(
        v["currencies"],
        serde_json::json!(["USD", "JPY", "GBP", "CHF"])
    );
    assert_eq!(v["new_days"], 2);
    assert_eq!(v["already_recorded"], 0);
    assert_eq!(v["events_appended"], 2);
    let after = ledger.head();
    assert_eq!(after.0, start.0 + 2, "one log event per publication day");
    assert_eq!(v["log_head"]["hash"].as_str(), Some(after.1.as_str()));

    // Again: nothing new.
    let again = ledger
        .run(&["fx", "import", &file, "--format", "json"])
        .ok("re-import")
        .json();
    assert_eq!(again["already_recorded"], 2);
    assert_eq!(again["new_days"], 0);
    assert_eq!(again["events_appended"], 0);
    assert_eq!(ledger.head(), after);

    // The published history the demo loaded: every day already recorded.
    let history = ledger.write("hist.csv", data_file("ecb-eurofxref-hist.csv"));
    let v = ledger
        .run(&["fx", "import", &history, "--format", "json"])
        .ok("history")
        .json();
    assert_eq!(v["days"], 7126);
    assert_eq!(v["already_recorded"], 7126);
    assert_eq!(v["events_appended"], 0);
    assert_eq!(ledger.head(), after);

    // A recorded day with another rate is refused, dry run or not; nothing changes.
    let changed = "Date,USD,JPY,GBP,CHF,\n2026-11-03,1.1201,176.01,0.8341,0.9187,\n";
    let expected = [
        "changed.csv:2:2: USD: the ECB fixing of 2026-11-03 is already recorded as 1.1200, this file says 1.1201; a recorded fixing is never changed",
    ];
    assert_rates_refused(&ledger, "changed.csv", changed, &expected);
    let out = ledger.run(&["fx", "import", "changed.csv", "--dry-run"]);
    assert_fx_refused(&out, "changed.csv", &expected);
    // A published day of the scenario's history, as the ECB file has it but for its USD rate.
    let history = data_file("ecb-eurofxref-hist.csv");
    let mut lines = history.lines();
    let header = lines.next().expect("header");
    let july = lines
        .find(|l| l.starts_with("2024-07-10,1.0825,"))
        .expect("2024-07-10");
    assert_rates_refused(
        &ledger,
        "july.csv",
        &format!(
            "{header}\n{}\n",
            july.replacen("2024-07-10,1.0825,", "2024-07-10,1.0826,", 1)
        ),
        &[
            "july.csv:2:2: USD: the ECB fixing of 2024-07-10 is already recorded as 1.0825, this file says 1.0826; a recorded fixing is never changed",
        ],
    );
    assert_eq!(ledger.head(), after);
}

#[test]
fn given_no_ledger_when_importing_rates_then_it_is_created_only_from_a_good_file() {
    let ledger = Ledger::new();
    let bad = ledger.write("bad.csv", "Date,USD,\n2026-11-03,1.12.0,\n");
    let out = ledger.run(&["fx", "import", &bad]);
    assert_fx_refused(
        &out,
        &bad,
        &[
            "bad.csv:2:2: USD: `1.12.0` is not a rate: write a positive decimal with a point, e.g. 1.0825 (or N/A for no fixing)",
        ],
    );
    assert!(!ledger.db.exists(), "a refused file created the ledger");

    let good = ledger.fixture("ecb-2026-11.csv", "rates.csv");
    let dry = ledger
        .run(&["fx", "import", &good, "--dry-run", "--format", "json"])
        .ok("dry run")
        .json();
    assert_eq!(dry["new_days"], 2);
    assert!(!ledger.db.exists(), "a dry run created the ledger");

    let v = ledger
        .run(&["fx", "import", &good, "--format", "json"])
        .ok("fx import")
        .json();
    assert_eq!(v["events_appended"], 2);
    assert!(ledger.db.is_file(), "the ledger was not created");
    assert_eq!(ledger.head().0, 2);
}

// ---------------------------------------------------------------------------------------------
// 5. View options and formats
// ---------------------------------------------------------------------------------------------

#[test]
fn given_an_as_of_date_when_reporting_fair_shares_then_only_events_effective_by_then_count() {
    let ledger = Ledger::with_demo();
    let all = ledger.fair_share(&[]);
    let june = ledger.fair_share(&["--as-of", "2024-06-30"]);
    assert_eq!(june["as_of"], "2024-06-30");
    assert_eq!(all["as_of"], Value::Null);
    let (june_total, all_total) = (
        dec(&june["totals"]["counted_eur"]),
        dec(&all["totals"]["counted_eur"]),
    );
    assert!(
        june_total < all_total,
        "as of 2024-06-30 {june_total} is not below {all_total}"
    );
    // Fair shares do not depend on the view.
    assert_eq!(june["totals"]["fair_share_eur"], "40000000000.00");
    for party in ["DEU", "USA", "FRA", "HUN"] {
        assert_eq!(
            row(&june, party)["fair_share_eur"],
            row(&all, party)["fair_share_eur"]
        );
        assert!(counted(&june, party) <= counted(&all, party), "{party}");
    }
    let table = ledger
        .run(&["report", "fair-share", "--as-of", "2024-06-30"])
        .ok("table")
        .stdout;
    assert!(table.contains(", as of 2024-06-30:"), "{table}");
    assert!(
        table.contains("events effective on or before 2024-06-30"),
        "{table}"
    );
}

#[test]
fn given_another_stage_when_reporting_fair_shares_then_that_stage_is_counted_and_said() {
    let ledger = Ledger::with_demo();
    let committed = ledger.fair_share(&[]);
    let announced = ledger.fair_share(&["--stage", "announced"]);
    assert_eq!(committed["stage"], "committed");
    assert_eq!(announced["stage"], "announced");
    assert_ne!(
        announced["totals"]["counted_eur"],
        committed["totals"]["counted_eur"]
    );
    assert_eq!(announced["totals"]["fair_share_eur"], "40000000000.00");
    let method = announced["method"].as_array().expect("method");
    assert!(
        method.iter().any(|l| l
            .as_str()
            .is_some_and(|l| l.contains("stage announced (the framework counts committed)"))),
        "{method:?}"
    );

    let out = ledger.run(&["report", "fair-share", "--stage", "shipped"]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("shipped"), "{}", out.stderr);
    let out = ledger.run(&["report", "gaps", "--fx-policy", "monthly"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("invalid value 'monthly' for '--fx-policy <FX_POLICY>'\n  [possible values: event-date, period-average]"),
        "{}",
        out.stderr
    );
}

#[test]
fn given_csv_format_when_reporting_then_stdout_is_clean_csv_and_the_method_goes_to_stderr() {
    let ledger = Ledger::with_demo();
    let json = ledger.fair_share(&[]);

    let out = ledger
        .run(&["report", "fair-share", "--format", "csv"])
        .ok("fair-share csv");
    let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
    let headers = reader.headers().expect("header row").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "party",
            "name",
            "share",
            "fair share EUR",
            "counted EUR",
            "ratio",
            "gap EUR",
            "status",
            "events",
            "2024-H1 EUR",
            "2024-H2 EUR"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    assert_eq!(records.len(), 32, "one row per participant, no totals row");
    let rows = json["rows"].as_array().expect("rows");
    for (record, row) in records.iter().zip(rows) {
        assert_eq!(Some(&record[0]), row["party"].as_str());
        assert_eq!(Some(&record[3]), row["fair_share_eur"].as_str());
        assert_eq!(Some(&record[4]), row["counted_eur"].as_str());
        assert_eq!(Some(&record[5]), row["ratio"].as_str().or(Some("")));
    }
    let sum: Decimal = records
        .iter()
        .map(|r| r[3].parse::<Decimal>().expect("plain decimal"))
        .sum();
    assert_eq!(sum.to_string(), "40000000000.00");
    for needle in ["Method", "not official figures", "Log head: position"] {
        assert!(out.stderr.contains(needle), "{needle}:\n{}", out.stderr);
    }
    assert!(!out.stdout.contains("Method"), "{}", out.stdout);

    for (report, rows) in [("gaps", 25), ("anomalies", 51)] {
        let out = ledger
            .run(&[
                "report",
                report,
                "--dataset",
                "scenario-2024",
                "--format",
                "csv",
            ])
            .ok(report);
        let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
        assert!(reader.headers().is_ok());
        assert_eq!(
            reader
                .records()
                .collect::<Result<Vec<_>, _>>()
                .expect("records")
                .len(),
            rows,
            "{report}"
        );
        assert!(
            out.stderr.contains("Method") && out.stderr.contains("not official figures"),
            "{report}: {}",
            out.stderr
        );
    }
}

#[test]
fn given_a_fresh_ledger_when_the_demo_runs_then_it_prints_the_tracker_headline_and_the_reconciliation_once()
 {
    let ledger = Ledger::new();
    let first = ledger.run(&["demo"]).ok("demo");
    assert!(
        first.stdout.contains("Loaded founding scenario")
            && first.stdout.contains("7126 days of ECB rates")
            && first.stdout.contains("1 framework(s) and 1 revision(s)")
            && first
                .stdout
                .contains("591 donor-months of kiel-ust-r29 (release 29)"),
        "{}",
        first.stdout
    );
    assert!(
        first.stdout.contains(
            "Fair shares of washington-2024 (target EUR 40,000,000,000.00) — dataset kiel-ust-r29 (release 29); counting committed by stage reached, FX event-date:"
        ),
        "{}",
        first.stdout
    );
    // The Allies the tracker does not cover are said to be not covered, never zero.
    let mkd = first
        .stdout
        .lines()
        .find(|l| l.starts_with(" MKD "))
        .expect("MKD row");
    assert!(mkd.contains("not-covered"), "{mkd}");
    assert!(
        first.stdout.contains(
            "Reconciliation of scenario-2024 (A) against kiel-ust-r29 (B) under washington-2024, by year, tolerance 50 %:"
        ),
        "{}",
        first.stdout
    );
    let head = ledger.head();

    // The demo's scoreboard is `report fair-share --dataset kiel-ust-r29`, its reconciliation
    // `report reconcile`.
    let demo = ledger
        .run(&["demo", "--format", "json"])
        .ok("demo json")
        .json();
    assert_eq!(demo["scenario"]["events_appended"], 0);
    assert_eq!(
        demo["fair_share"],
        ledger.fair_share(&["--dataset", "kiel-ust-r29"])
    );
    let reconcile = ledger
        .run(&[
            "report",
            "reconcile",
            "--dataset",
            "scenario-2024",
            "--against",
            "kiel-ust-r29",
            "--tolerance",
            "50%",
            "--format",
            "json",
        ])
        .ok("reconcile")
        .json();
    assert_eq!(demo["reconcile"], reconcile);
    for row in reconcile["rows"].as_array().expect("rows") {
        for key in [
            "donor",
            "period",
            "a_eur",
            "b_eur",
            "difference_eur",
            "ratio",
            "flag",
        ] {
            assert!(row.get(key).is_some(), "{key} missing from {row}");
        }
    }
    assert_eq!(ledger.head(), head, "a second demo changed the log");
}

#[test]
fn given_a_weekend_value_when_showing_its_contribution_then_each_event_has_euros_and_the_rate_used()
{
    let ledger = Ledger::with_demo();
    let out = ledger
        .run(&["contributions", "show", "USA-2024-08", "--format", "json"])
        .ok("show");
    let detail: Value = serde_json::from_str(&out.stdout).expect("json");
    let line = &detail["history"][0];
    assert_eq!(line["event"], "USA-2024-08-a");
    // USD 988,000,000.00 on Saturday 2024-12-07, at Friday's fixing 1.0581.
    assert_eq!(line["eur"], "933749173.05");
    assert_eq!(line["fx"], "1.0581 (ECB 2024-12-06)");

    let out = ledger
        .run(&[
            "contributions",
            "show",
            "USA-2024-08",
            "--fx-policy",
            "period-average",
        ])
        .ok("show");
    assert!(
        out.stdout.contains("ECB fixings, 2024-H2)"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("period-average"), "{}", out.stdout);
}

// ---------------------------------------------------------------------------------------------
// 6. Rate days in more than one file, refused rate days, --as-known-on, gaps and records
// ---------------------------------------------------------------------------------------------

/// A report's JSON without what depends on the log head (the `log_head` field and the method
/// line stating it).
fn without_head(mut v: Value) -> Value {
    let object = v.as_object_mut().expect("a JSON object");
    object.remove("log_head");
    if let Some(method) = object.get_mut("method").and_then(Value::as_array_mut) {
        method.retain(|l| !l.as_str().is_some_and(|l| l.starts_with("Log head:")));
    }
    v
}

#[test]
fn given_a_short_rate_file_for_a_shipped_day_imported_first_when_the_demo_loads_then_it_reports_as_a_plain_demo()
 {
    // A new ledger whose first event is USD alone for a day of the shipped history, at its real
    // rate: the demo must add that day's other currencies, not refuse the day.
    let fresh = Ledger::new();
    let file = fresh.write("one.csv", "Date,USD,\n2024-07-10,1.0825,\n");
    let v = fresh
        .run(&["fx", "import", &file, "--format", "json"])
        .ok("fx import")
        .json();
    assert_eq!(v["new_days"], 1);
    assert_eq!(v["events_appended"], 1);
    let demo = fresh.run(&["demo"]).ok("demo after a short rate file");
    assert!(
        demo.stdout.contains("Loaded founding scenario")
            && demo.stdout.contains("7126 days of ECB rates"),
        "{}",
        demo.stdout
    );
    let plain = Ledger::with_demo();
    // The demo's events, plus the short file's one.
    assert_eq!(fresh.head().0, plain.head().0 + 1);

    // The same figures as a plain demo, under both policies, in both reports.
    for policy in ["event-date", "period-average"] {
        assert_eq!(
            without_head(fresh.fair_share(&["--fx-policy", policy])),
            without_head(plain.fair_share(&["--fx-policy", policy])),
            "{policy}"
        );
        let gaps = |l: &Ledger| {
            without_head(
                l.run(&["report", "gaps", "--fx-policy", policy, "--format", "json"])
                    .ok("gaps")
                    .json(),
            )
        };
        assert_eq!(gaps(&fresh), gaps(&plain), "{policy}");
    }
    // A shipped value of that very day converts at its fixing: USD 1,082,500.00 → 1,000,000.00.
    let vectors = fresh.fixture("fx-vectors.csv", "fx-vectors.csv");
    let before = fresh.fair_share(&[]);
    fresh.import_contributions(&vectors);
    let after = fresh.fair_share(&[]);
    assert_eq!(
        (counted(&after, "ALB") - counted(&before, "ALB")).to_string(),
        "1000000.00"
    );

    // Loaded once: again, nothing changes; the whole history again, nothing new.
    let head = fresh.head();
    let again = fresh.run(&["demo"]).ok("demo again");
    assert!(again.stdout.contains("already loaded"), "{}", again.stdout);
    let history = fresh.write("hist.csv", data_file("ecb-eurofxref-hist.csv"));
    let v = fresh
        .run(&["fx", "import", &history, "--format", "json"])
        .ok("history")
        .json();
    assert_eq!(v["already_recorded"], 7126);
    assert_eq!(v["events_appended"], 0);
    assert_eq!(fresh.head(), head);
}

#[test]
fn given_a_short_rate_file_with_another_rate_for_a_shipped_day_when_the_demo_loads_then_it_is_refused()
 {
    let ledger = Ledger::new();
    let file = ledger.write("one.csv", "Date,USD,\n2024-07-10,1.0826,\n");
    ledger.run(&["fx", "import", &file]).ok("fx import");
    let before = ledger.head();
    let out = ledger.run(&["demo"]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(
        out.stderr.contains(
            "USD: the ECB fixing of 2024-07-10 is already recorded as 1.0826, this file says 1.0825; a recorded fixing is never changed"
        ),
        "{}",
        out.stderr
    );
    assert_eq!(ledger.head(), before, "a refused demo wrote");
}

#[test]
fn given_an_empty_day_a_kuna_rate_after_2023_or_a_tiny_rate_when_importing_then_each_is_refused_at_its_cell()
 {
    let ledger = Ledger::new();
    // Each in a file of its own, into a ledger that does not exist yet.
    for (name, body, expected) in [
        (
            "empty.csv",
            "Date,USD,JPY,\n2026-11-04,N/A,N/A,\n",
            "empty.csv:2:1: Date: 2026-11-04 has no rate at all…",
        ),
        (
            "kuna.csv",
            "Date,HRK,\n2026-11-04,7.5345,\n",
            "kuna.csv:2:2: HRK: HRK joined the euro on 2023-01-01 at 7.53450 per euro; it has no reference rate on 2026-11-04",
        ),
        (
            "tiny.csv",
            "Date,USD,\n2026-11-04,0.00001,\n",
            "tiny.csv:2:2: USD: the rate 0.00001 is implausibly small (below 0.0001 per euro)",
        ),
    ] {
        let file = ledger.write(name, body);
        let out = ledger.run(&["fx", "import", &file]);
        assert_fx_refused(&out, &file, &[expected]);
        assert!(
            !ledger.db.exists(),
            "{name}: a refused file created the ledger"
        );
    }
    // All in one file: every refusal located, in line order; nothing recorded.
    let file = ledger.write(
        "multi.csv",
        "Date,HRK,USD,BGN,\n\
         2026-11-04,7.5345,1.1600,N/A,\n\
         2026-11-03,N/A,N/A,N/A,\n\
         2026-11-02,N/A,0.00001,,\n\
         2025-12-31,N/A,1.1750,1.9558,\n\
         2026-01-02,N/A,1.1700,1.9558,\n\
         2022-12-30,7.5365,1.0666,1.9558,\n",
    );
    let out = ledger.run(&["fx", "import", &file]);
    assert_fx_refused(
        &out,
        &file,
        &[
            "multi.csv:2:2: HRK: HRK joined the euro on 2023-01-01…",
            "multi.csv:3:1: Date: 2026-11-03 has no rate at all…",
            "multi.csv:4:3: USD: the rate 0.00001 is implausibly small…",
            "multi.csv:6:4: BGN: BGN joined the euro on 2026-01-01 at 1.95583 per euro; it has no reference rate on 2026-01-02",
        ],
    );
    assert!(!ledger.db.exists(), "a refused file created the ledger");
    // The smallest rate accepted, and the kuna and lev before they joined, go in.
    let file = ledger.write(
        "good.csv",
        "Date,HRK,USD,BGN,\n2025-12-31,N/A,1.1750,1.9558,\n2022-12-30,7.5365,0.0001,1.9558,\n",
    );
    let v = ledger
        .run(&["fx", "import", &file, "--format", "json"])
        .ok("good rates")
        .json();
    assert_eq!(v["new_days"], 2);
}

#[test]
fn given_a_date_and_time_without_offset_when_reporting_as_known_on_then_it_is_read_as_utc_not_the_end_of_the_day()
 {
    let ledger = Ledger::new();
    // Everything the demo records is recorded after this moment, on this UTC day or later.
    let start = jiff::Timestamp::now();
    ledger.run(&["demo"]).ok("demo");
    let gaps = |known_on: &str| {
        ledger
            .run(&[
                "report",
                "gaps",
                "--as-known-on",
                known_on,
                "--format",
                "json",
            ])
            .ok(known_on)
            .json()
    };
    assert_eq!(
        gaps("2026-11-28T00:00:01")["as_known_on"],
        "2026-11-28T00:00:01Z"
    );
    assert_eq!(
        gaps("2024-07-10")["as_known_on"],
        "2024-07-10T23:59:59.999999999Z"
    );
    assert_eq!(
        gaps("2024-07-10T12:00:00+02:00")["as_known_on"],
        "2024-07-10T10:00:00Z"
    );
    let fair = ledger.run(&[
        "report",
        "fair-share",
        "--as-known-on",
        "2026-11-28T00:00:01",
        "--format",
        "json",
    ]);
    // Known then or not (it depends on today's date), the moment is read the same way.
    if fair.code == 0 {
        assert_eq!(fair.json()["as_known_on"], "2026-11-28T00:00:01Z");
    } else {
        assert!(
            fair.stderr.contains("as known on 2026-11-28T00:00:01Z"),
            "{}",
            fair.stderr
        );
    }

    // The start of today, without an offset: before the demo was recorded, so nothing is known
    // (read as the end of the day it would hold everything).
    let today = start.to_zoned(jiff::tz::TimeZone::UTC).date();
    let midnight = format!("{today}T00:00:00");
    let v = gaps(&midnight);
    assert_eq!(v["as_known_on"], format!("{today}T00:00:00Z"));
    assert_eq!(v["log_head"]["position"], 0, "{v}");
    assert_eq!(v["rows"], serde_json::json!([]));
    let zulu = ledger
        .run(&[
            "report",
            "gaps",
            "--as-known-on",
            &format!("{midnight}Z"),
            "--format",
            "json",
        ])
        .ok("with Z");
    assert_eq!(v, zulu.json(), "without an offset is UTC");
    let out = ledger.run(&["report", "fair-share", "--as-known-on", &midnight]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stderr.contains(&format!(
            "no framework `washington-2024` is recorded as known on {today}T00:00:00Z"
        )),
        "{}",
        out.stderr
    );
}

#[test]
fn given_a_moment_out_of_range_when_reporting_then_it_is_a_usage_error_naming_the_value() {
    let ledger = Ledger::with_demo();
    for moment in ["9999-12-31T23:59:59", "9999-12-31", "9999-12-31T23:59:59Z"] {
        for report in ["gaps", "fair-share", "anomalies"] {
            let out = ledger.run(&["report", report, "--as-known-on", moment]);
            assert_eq!(out.code, 2, "{report} {moment}: {}", out.stderr);
            assert!(out.stdout.is_empty(), "{}", out.stdout);
            assert!(
                out.stderr.contains(&format!("`{moment}`")),
                "{report} {moment}: {}",
                out.stderr
            );
        }
    }
}

#[test]
fn given_a_moment_out_of_range_when_reporting_then_the_message_is_plain() {
    let ledger = Ledger::with_demo();
    for moment in ["9999-12-31T23:59:59", "9999-12-31"] {
        let out = ledger.run(&["report", "gaps", "--as-known-on", moment]);
        assert_eq!(out.code, 2);
        assert!(out.stderr.contains("outside the range"), "{}", out.stderr);
        for jargon in ["Unix timestamp", "253402207200", "overflowed"] {
            assert!(!out.stderr.contains(jargon), "{jargon}: {}", out.stderr);
        }
    }
}

#[test]
fn given_a_moment_with_an_offset_out_of_range_when_reporting_then_it_is_said_to_be_out_of_range() {
    let ledger = Ledger::with_demo();
    let out = ledger.run(&["report", "gaps", "--as-known-on", "9999-12-31T23:59:59Z"]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("outside the range") && !out.stderr.contains("is not a moment"),
        "{}",
        out.stderr
    );
}

#[test]
fn given_a_withdrawal_when_reporting_gaps_then_what_it_cancelled_is_shown_and_medians_have_no_trailing_zeros()
 {
    let ledger = Ledger::with_demo();
    let gaps_json = |l: &Ledger| {
        l.run(&["report", "gaps", "--format", "json"])
            .ok("gaps")
            .json()
    };
    let donor = |v: &Value, d: &str| -> Value {
        v["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .find(|r| r["donor"] == d)
            .unwrap_or_else(|| panic!("no row for {d}"))
            .clone()
    };
    let before = gaps_json(&ledger);
    assert_eq!(donor(&before, "ESP")["withdrawn_eur"], Value::Null);
    assert_eq!(before["totals"]["withdrawn_eur"], Value::Null);

    // ESP-2024-01 (EUR 1bn committed, nothing delivered) is withdrawn.
    let file = ledger.fixture("later-corrections.csv", "corrections.csv");
    ledger.import_contributions(&file);
    let v = gaps_json(&ledger);
    let esp = donor(&v, "ESP");
    assert_eq!(esp["withdrawn_eur"], "1000000000.00");
    assert_eq!(
        esp["committed_eur"], "1000000000.00",
        "the stage itself stays"
    );
    assert_eq!(v["totals"]["withdrawn_eur"], "1000000000.00");
    for d in ["DEU", "PRT", "USA"] {
        assert_eq!(
            donor(&v, d)["withdrawn_eur"],
            Value::Null,
            "{d}: not withdrawn"
        );
    }

    // Medians as plain numbers: "95.5", "55", never "95.50" or "55.0".
    assert_eq!(v["totals"]["median_days_to_delivered"], "95.5");
    assert_eq!(v["totals"]["median_days_to_confirmed"], "40");
    assert_eq!(donor(&v, "DEU")["median_days_to_delivered"], "55");
    assert_eq!(donor(&v, "PRT")["median_days_to_delivered"], "143");
    let mut figures: Vec<&Value> = v["rows"].as_array().expect("rows").iter().collect();
    figures.push(&v["totals"]);
    for f in figures {
        for key in ["median_days_to_delivered", "median_days_to_confirmed"] {
            match &f[key] {
                Value::Null => {}
                Value::String(s) => {
                    let d: Decimal = s.parse().expect("a decimal");
                    assert_eq!(*s, d.normalize().to_string(), "{key} of {f}");
                }
                other => panic!("{key} is neither null nor a decimal string: {other}"),
            }
        }
    }

    // The table has the column, and ESP's row shows the amount under it.
    let table = ledger.run(&["report", "gaps"]).ok("table").stdout;
    let header = table
        .lines()
        .find(|l| l.trim_start().starts_with("donor"))
        .expect("header");
    assert!(header.contains("withdrawn EUR"), "{header}");
    let esp_line = table
        .lines()
        .find(|l| l.trim_start().starts_with("ESP "))
        .expect("ESP row");
    assert_eq!(
        esp_line.matches("1,000,000,000.00").count(),
        2,
        "committed and withdrawn: {esp_line}"
    );
    // Columns are counted in characters (a dash `—` is one character of three bytes).
    let column = header.find("withdrawn EUR").expect("column") + "withdrawn EUR".len();
    let under: String = esp_line.chars().take(column).collect();
    assert!(
        under.ends_with(" 1,000,000,000.00"),
        "the amount is right-aligned under `withdrawn EUR`:\n{header}\n{esp_line}"
    );
    let all_line = table
        .lines()
        .find(|l| l.trim_start().starts_with("all "))
        .expect("all row");
    assert!(all_line.contains(" 95.5 "), "{all_line}");
    assert!(!all_line.contains("95.50"), "{all_line}");
    // CSV: the column, the plain amount and the plain medians.
    let csv_out = ledger
        .run(&["report", "gaps", "--format", "csv"])
        .ok("csv")
        .stdout;
    let mut reader = csv::Reader::from_reader(csv_out.as_bytes());
    let headers = reader.headers().expect("headers").clone();
    let at = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no `{name}` column in {headers:?}"))
    };
    let (withdrawn, days) = (at("withdrawn EUR"), at("days to delivered"));
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    let esp = records.iter().find(|r| &r[0] == "ESP").expect("ESP");
    assert_eq!(&esp[withdrawn], "1000000000.00");
    let deu = records.iter().find(|r| &r[0] == "DEU").expect("DEU");
    assert_eq!(&deu[withdrawn], "");
    assert_eq!(&deu[days], "55");
}

#[test]
fn given_a_quantity_only_commitment_when_reporting_fair_shares_then_its_record_is_shown_as_not_counted()
 {
    let ledger = Ledger::with_demo();
    // ROU's committed and delivered records (ROU-2024-01-b, -c) are quantities with no value:
    // counted by stage reached, both are records at the stage or later, and neither counts.
    let v = ledger.fair_share(&["--dataset", "scenario-2024"]);
    let rou = row(&v, "ROU");
    assert_eq!(rou["events"], 0);
    assert_eq!(rou["records"], 2);
    assert_eq!(rou["status"], "short", "a record, so not no-records");
    for r in v["rows"].as_array().expect("rows") {
        let (events, records) = (
            r["events"].as_u64().expect("events"),
            r["records"].as_u64().expect("records"),
        );
        assert!(events <= records, "{r}");
        if r["status"] != "exempt" {
            assert_eq!(r["status"] == "no-records", records == 0, "{r}");
        }
    }
    assert_eq!(row(&v, "ALB")["records"], 0);

    let table = ledger
        .run(&["report", "fair-share", "--dataset", "scenario-2024"])
        .ok("table")
        .stdout;
    let line = table
        .lines()
        .find(|l| l.trim_start().starts_with("ROU "))
        .expect("ROU row");
    assert!(line.contains(" 0 of 2 "), "{line}");
    let alb = table
        .lines()
        .find(|l| l.trim_start().starts_with("ALB "))
        .expect("ALB row");
    assert!(!alb.contains(" of "), "{alb}");
    // CSV keeps the events column a plain number.
    let csv_out = ledger
        .run(&[
            "report",
            "fair-share",
            "--dataset",
            "scenario-2024",
            "--format",
            "csv",
        ])
        .ok("csv")
        .stdout;
    let mut reader = csv::Reader::from_reader(csv_out.as_bytes());
    let events = reader
        .headers()
        .expect("headers")
        .iter()
        .position(|h| h == "events")
        .expect("events column");
    let rou = reader
        .records()
        .map(|r| r.expect("record"))
        .find(|r| &r[0] == "ROU")
        .expect("ROU");
    assert_eq!(&rou[events], "0");
}
