//! `steadfast synth`, black-box: the real binary writes a synthetic ledger that the real binary
//! imports (into a new ledger and into the founding scenario) and reports on; it never
//! replaces a file without `--force` and never touches a ledger.

use std::path::Path;

mod common;

use common::{Out, output, steadfast_in};

/// Runs the binary in `dir` with `db` as its ledger, blind to the caller's `STEADFAST_DATABASE`.
fn run(dir: &Path, db: &str, args: &[&str]) -> Out {
    output(steadfast_in(dir).arg("--db").arg(db).args(args))
}

/// Runs `synth` with a ledger named in the environment (a `--database` flag it refuses), to
/// show that it opens none.
fn synth(dir: &Path, events: &str, seed: &str, out: &str, more: &[&str]) -> Out {
    let mut args = vec!["synth", "--events", events, "--seed", seed, "--out", out];
    args.extend_from_slice(more);
    output(
        steadfast_in(dir)
            .env("STEADFAST_DATABASE", "unused.sqlite")
            .args(&args),
    )
}

#[test]
fn a_synthetic_file_imports_into_a_new_ledger_and_onto_the_demo() {
    let dir = tempfile::tempdir().unwrap();
    let out = synth(dir.path(), "5000", "11", "s.csv", &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let summary = out.json();
    assert_eq!(summary["rows"], 5000);
    assert_eq!(summary["file"], "s.csv");
    let bytes = std::fs::metadata(dir.path().join("s.csv")).unwrap().len();
    assert_eq!(summary["bytes"].as_u64(), Some(bytes));
    let planted: u64 = summary["anomalies"]
        .as_object()
        .expect("anomalies")
        .values()
        .map(|v| v.as_u64().expect("count"))
        .sum();
    assert!(planted > 0, "{summary}");
    assert!(
        !dir.path().join("unused.sqlite").exists(),
        "synth opened a ledger"
    );

    // Into a ledger that does not exist yet: the import creates it.
    let import = run(
        dir.path(),
        "new.sqlite",
        &["import", "contributions", "s.csv", "--format", "json"],
    );
    assert_eq!(import.code, 0, "{}{}", import.stdout, import.stderr);
    let outcome = import.json();
    assert_eq!(outcome["new_stage_events"], 5000);
    assert_eq!(outcome["new_contributions"], summary["contributions"]);
    assert!(outcome["anomalies"].as_u64().unwrap() >= planted);

    let gaps = run(
        dir.path(),
        "new.sqlite",
        &["report", "gaps", "--format", "json"],
    );
    assert_eq!(gaps.code, 0, "{}", gaps.stderr);
    let gaps = gaps.json();
    assert!(gaps.is_object(), "{gaps}");
    assert!(gaps.to_string().contains("\"USA\""), "{gaps}");

    // Onto the founding scenario: no id clashes, no organisation needed.
    let demo = run(dir.path(), "demo.sqlite", &["demo", "--format", "json"]);
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    let import = run(
        dir.path(),
        "demo.sqlite",
        &["import", "contributions", "s.csv", "--format", "json"],
    );
    assert_eq!(import.code, 0, "{}{}", import.stdout, import.stderr);
    assert_eq!(import.json()["new_stage_events"], 5000);
}

#[test]
fn an_existing_file_is_kept_unless_forced() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.csv");
    std::fs::write(&path, "precious").unwrap();
    let out = synth(dir.path(), "50", "1", "s.csv", &[]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");

    let forced = synth(dir.path(), "50", "1", "s.csv", &["--force"]);
    assert_eq!(forced.code, 0, "{}", forced.stderr);
    assert!(forced.stdout.contains("rows"), "{}", forced.stdout);
    let first = std::fs::read(&path).unwrap();
    assert!(first.starts_with(b"event_id,contribution_id,"));

    // Forced again with the same seed: the same bytes.
    let again = synth(dir.path(), "50", "1", "s.csv", &["--force"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_eq!(std::fs::read(&path).unwrap(), first);
}

#[test]
fn the_summary_comes_as_json_csv_or_a_table() {
    let dir = tempfile::tempdir().unwrap();
    let json = synth(dir.path(), "300", "5", "a.csv", &["--format", "json"]).json();
    for field in [
        "file",
        "bytes",
        "seed",
        "rows",
        "contributions",
        "donors",
        "currencies",
        "first_date",
        "last_date",
        "amendments",
        "withdrawals",
        "late_disclosures",
    ] {
        assert!(!json[field].is_null(), "no {field} in {json}");
    }
    for kind in [
        "skipped-stage",
        "out-of-order-dates",
        "delivered-above-committed",
        "confirmed-differs-from-delivered",
    ] {
        assert!(json["anomalies"][kind].is_u64(), "no {kind} in {json}");
    }
    assert_eq!(json["seed"], 5);
    assert_eq!(json["first_date"], "2022-02-24");

    let csv = synth(dir.path(), "300", "5", "b.csv", &["--format", "csv"]);
    assert_eq!(csv.code, 0, "{}", csv.stderr);
    assert!(csv.stdout.starts_with("measure,value\n"), "{}", csv.stdout);
    assert!(csv.stdout.contains("\nrows,300\n"), "{}", csv.stdout);

    let table = synth(dir.path(), "300", "5", "c.csv", &[]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(table.stdout.contains("contributions with skipped-stage"));

    // Same seed and count, same bytes, whatever the summary's format.
    let a = std::fs::read(dir.path().join("a.csv")).unwrap();
    assert_eq!(a, std::fs::read(dir.path().join("b.csv")).unwrap());
    assert_eq!(a, std::fs::read(dir.path().join("c.csv")).unwrap());

    let zero = synth(dir.path(), "0", "5", "d.csv", &[]);
    assert_eq!(zero.code, 2, "{}", zero.stderr);
    assert!(!dir.path().join("d.csv").exists());
}
