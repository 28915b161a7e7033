//! `steadfast import tracker`, run as a user runs it: a release into a dataset, its release
//! read from `release_info.csv` beside the file, every bad cell located with nothing recorded,
//! the same file again recording nothing, and a dry run writing nothing.

mod common;

use std::path::{Path, PathBuf};

use common::{Out, output, steadfast_in};

fn release_29() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../data/kiel-ust-r29")
}

struct Dir(tempfile::TempDir);

impl Dir {
    fn new() -> Self {
        Dir(tempfile::tempdir().expect("tempdir"))
    }

    fn run(&self, args: &[&str]) -> Out {
        output(
            steadfast_in(self.0.path())
                .args(["--database", "ledger.sqlite"])
                .args(args),
        )
    }

    fn write(&self, name: &str, text: &str) -> String {
        let path = self.0.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.display().to_string()
    }

    fn ledger_exists(&self) -> bool {
        self.0.path().join("ledger.sqlite").exists()
    }
}

#[test]
fn given_release_29_when_imported_then_it_is_one_dataset_named_by_its_release_info() {
    let dir = Dir::new();
    let file = release_29().join("data_explorer.csv");
    let file = file.to_str().expect("utf-8 path");
    let dry = dir
        .run(&["import", "tracker", file, "--dataset", "kiel", "--dry-run"])
        .ok("dry run");
    assert!(dry.stdout.contains("dry run:"), "{}", dry.stdout);
    assert!(!dir.ledger_exists(), "a dry run created the ledger");

    let out = dir
        .run(&[
            "import",
            "tracker",
            file,
            "--dataset",
            "kiel",
            "--format",
            "json",
        ])
        .ok("import")
        .json();
    assert_eq!(
        out["release"], "29",
        "read from release_info.csv beside the file"
    );
    assert_eq!(out["rows"], 1079);
    assert_eq!(out["donors"], 42);
    assert_eq!(out["first_month"], "2022-01");
    assert_eq!(out["last_month"], "2026-04");
    // Every donor-month with a military figure; the months without one record nothing.
    assert_eq!(out["new_records"], 591);

    let again = dir
        .run(&["import", "tracker", file, "--dataset", "kiel"])
        .ok("again");
    assert!(again.stdout.contains("nothing new"), "{}", again.stdout);

    let listed = dir
        .run(&[
            "contributions",
            "list",
            "--dataset",
            "kiel",
            "--donor",
            "USA",
            "--format",
            "json",
        ])
        .ok("list")
        .json();
    let rows = listed["rows"].as_array().expect("rows");
    assert!(rows.iter().all(|r| r["category"] == "military-unspecified"
        && r["status"] == "allocated"
        && r["currency"] == "EUR"));
    let may = rows
        .iter()
        .find(|r| r["contribution"] == "kiel:USA:2024-05")
        .expect("the US in May 2024");
    assert_eq!(
        may["last_date"], "2024-05-31",
        "dated on the month's last day"
    );
}

#[test]
fn given_a_file_with_bad_rows_when_imported_then_each_is_located_and_nothing_is_recorded() {
    let dir = Dir::new();
    let good = std::fs::read_to_string(release_29().join("data_explorer.csv")).expect("R29");
    let mut lines: Vec<String> = good.lines().take(4).map(str::to_owned).collect();
    // Line 5: a month 13; line 6: a negative military figure; line 7: a total that is not the
    // sum; line 8: an unknown code; line 9: line 2 again.
    lines.push("\"Australia\",\"AUS\",2024,13,0.1,0,0,0.1,0.1,0,1000,0.01".to_owned());
    lines.push("\"Australia\",\"AUS\",2024,11,0.1,0,0.2,-0.1,0.1,0,1000,0.01".to_owned());
    lines.push("\"Australia\",\"AUS\",2024,10,0.5,0,0,0.1,0.1,0,1000,0.01".to_owned());
    lines.push("\"Nowhere\",\"XXX\",2024,10,0.1,0,0,0.1,0.1,0,1000,0.01".to_owned());
    lines.push(lines[1].clone());
    let file = dir.write("bad.csv", &(lines.join("\n") + "\n"));
    let out = dir.run(&["import", "tracker", &file, "--dataset", "kiel"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    for needle in [
        "bad.csv:5:4: month:",
        "bad.csv:6:8: military:",
        "bad.csv:7:5: total:",
        "bad.csv:8:2: iso:",
        "bad.csv:9:2: iso:",
        "nothing from this file was recorded",
    ] {
        assert!(out.stderr.contains(needle), "{needle}:\n{}", out.stderr);
    }
    assert!(!dir.ledger_exists(), "a refused file created the ledger");

    let missing = dir.write(
        "missing.csv",
        "country,iso,year,month,total\n\"A\",\"AUS\",2024,1,0\n",
    );
    let out = dir.run(&["import", "tracker", &missing, "--dataset", "kiel"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("military"), "{}", out.stderr);
}

#[test]
fn given_no_release_info_when_imported_then_the_release_is_named_by_the_file_or_the_flag() {
    let dir = Dir::new();
    let text = std::fs::read_to_string(release_29().join("data_explorer.csv")).expect("R29");
    let file = dir.write("data_explorer.csv", &text);
    let out = dir
        .run(&[
            "import",
            "tracker",
            &file,
            "--dataset",
            "kiel",
            "--format",
            "json",
        ])
        .ok("import")
        .json();
    let release = out["release"].as_str().expect("release");
    assert_eq!(release.len(), 64, "the file's SHA-256: {release}");

    let out = dir
        .run(&[
            "import",
            "tracker",
            &file,
            "--dataset",
            "kiel-named",
            "--release",
            "29",
            "--format",
            "json",
        ])
        .ok("import named")
        .json();
    assert_eq!(out["release"], "29");
}

#[test]
fn given_the_demo_when_reconciling_then_csv_and_json_agree_and_usage_errors_exit_2() {
    let dir = Dir::new();
    dir.run(&["demo"]).ok("demo");
    let args = [
        "report",
        "reconcile",
        "--dataset",
        "scenario-2024",
        "--against",
        "kiel-ust-r29",
        "--by",
        "half-year",
    ];
    let csv = dir
        .run(&[&args[..], &["--format", "csv"]].concat())
        .ok("csv");
    let mut reader = csv::Reader::from_reader(csv.stdout.as_bytes());
    assert_eq!(
        reader
            .headers()
            .expect("headers")
            .iter()
            .collect::<Vec<_>>(),
        [
            "donor",
            "period",
            "A EUR",
            "B EUR",
            "difference EUR",
            "ratio",
            "flag"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    let json = dir
        .run(&[&args[..], &["--format", "json"]].concat())
        .ok("json")
        .json();
    let rows = json["rows"].as_array().expect("rows");
    assert_eq!(records.len(), rows.len());
    for (record, row) in records.iter().zip(rows) {
        assert_eq!(Some(&record[0]), row["donor"].as_str());
        assert_eq!(Some(&record[1]), row["period"].as_str());
        assert!(
            record[1].ends_with("-H1") || record[1].ends_with("-H2"),
            "{record:?}"
        );
        assert_eq!(Some(&record[6]), row["flag"].as_str());
    }
    assert!(csv.stderr.contains("Method"), "the method goes to stderr");

    for bad in [
        &["report", "reconcile", "--against", "kiel-ust-r29"][..],
        &[
            "report",
            "reconcile",
            "--dataset",
            "kiel-ust-r29",
            "--against",
            "kiel-ust-r29",
        ],
        &[
            "report",
            "reconcile",
            "--dataset",
            "scenario-2024",
            "--against",
            "kiel-ust-r29",
            "--tolerance",
            "150%",
        ],
    ] {
        let out = dir.run(bad);
        assert_eq!(out.code, 2, "{bad:?}: {}", out.stderr);
    }
    let unknown = dir.run(&[
        "report",
        "reconcile",
        "--dataset",
        "nope",
        "--against",
        "kiel-ust-r29",
    ]);
    assert_eq!(unknown.code, 1);
    assert!(
        unknown.stderr.contains("no dataset `nope`"),
        "{}",
        unknown.stderr
    );
}
