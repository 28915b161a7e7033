//! Black-box tests of the `steadfast` binary: every test runs the real executable against a
//! fresh ledger in its own temporary directory.
//!
//! Bad inputs must be refused with located errors (`FILE:LINE:COLUMN: FIELD: reason`), all of a
//! file's errors at once, exit code 1, and nothing recorded. Happy paths cover the demo, imports,
//! listings, output formats and the hash chain.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value;

mod common;

use common::{Out, output, steadfast_in};

const HEADER: &str = "event_id,contribution_id,donor,recipient,stage,effective_date,amount,currency,category,channel,visibility,quantity,unit,valuation_basis,amends,reason,source_url,description";

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

    /// A ledger with the founding scenario loaded (so NATO, EU and NSATU are known).
    fn with_demo() -> Self {
        let ledger = Ledger::new();
        let out = ledger.run(&["demo"]);
        assert_eq!(out.code, 0, "demo failed:\n{}", out.stderr);
        ledger
    }

    /// The binary, run inside the test directory, blind to the caller's `STEADFAST_DATABASE`.
    fn command(&self) -> Command {
        steadfast_in(self.dir.path())
    }

    fn run(&self, args: &[&str]) -> Out {
        output(self.command().arg("--database").arg(&self.db).args(args))
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// Writes an input file into the test directory; returns the name to pass on the command line.
    fn write(&self, name: &str, bytes: impl AsRef<[u8]>) -> String {
        std::fs::write(self.path(name), bytes).expect("write input");
        name.to_owned()
    }

    /// Copies a file of `tests/fixtures` into the test directory.
    fn fixture(&self, name: &str) -> String {
        let source = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(name);
        self.write(name, std::fs::read(&source).expect("read fixture"))
    }

    fn import(&self, file: &str, flags: &[&str]) -> Out {
        let mut args = vec!["import", "contributions", file];
        args.extend_from_slice(flags);
        self.run(&args)
    }

    /// Writes `body` as `in.csv` and imports it.
    fn import_text(&self, body: &str) -> Out {
        let file = self.write("in.csv", body);
        self.import(&file, &[])
    }

    /// `(events verified, head hash)` from `log verify --format json`.
    fn snapshot(&self) -> (u64, String) {
        let out = self.run(&["log", "verify", "--format", "json"]);
        assert_eq!(
            out.code, 0,
            "log verify failed:\n{}{}",
            out.stdout, out.stderr
        );
        let v = out.json();
        (
            v["events_verified"].as_u64().expect("events_verified"),
            v["log_head"]["hash"].as_str().expect("head").to_owned(),
        )
    }

    /// The contribution ids `contributions list` shows with these filters.
    fn listed(&self, filters: &[&str]) -> Vec<Value> {
        let mut args = vec!["contributions", "list", "--format", "json"];
        args.extend_from_slice(filters);
        let out = self.run(&args);
        assert_eq!(out.code, 0, "list failed:\n{}", out.stderr);
        out.json()["rows"].as_array().expect("rows").clone()
    }

    /// Runs with `input` on standard input.
    fn run_with_stdin(&self, args: &[&str], input: &[u8]) -> Out {
        use std::io::Write as _;
        let mut child = self
            .command()
            .arg("--database")
            .arg(&self.db)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn steadfast");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input).expect("write stdin");
        drop(stdin);
        child.wait_with_output().expect("wait").into()
    }

    fn ids(&self, filters: &[&str]) -> Vec<String> {
        self.listed(filters)
            .iter()
            .map(|r| r["contribution"].as_str().expect("id").to_owned())
            .collect()
    }
}

/// 1-based position of a layout column.
fn col(field: &str) -> usize {
    HEADER
        .split(',')
        .position(|h| h == field)
        .unwrap_or_else(|| panic!("no column {field}"))
        + 1
}

/// The location prefix of an error about `field` on `line`: `LINE:COLUMN: FIELD`.
fn at(line: u64, field: &str) -> String {
    format!("{line}:{}: {field}", col(field))
}

/// A valid committed row of contribution `T-{n}` (event `T-{n}-a`), with some cells replaced
/// verbatim (quote them yourself).
fn row(n: u32, changes: &[(&str, &str)]) -> String {
    let (event, contribution, description) = (
        format!("T-{n}-a"),
        format!("T-{n}"),
        format!("test pledge {n}"),
    );
    let mut cells: Vec<String> = [
        event.as_str(),
        contribution.as_str(),
        "DEU",
        "UKR",
        "committed",
        "2024-07-10",
        "1000000",
        "EUR",
        "equipment-purchase",
        "bilateral",
        "public",
        "",
        "",
        "",
        "",
        "",
        "https://example.org/test",
        description.as_str(),
    ]
    .iter()
    .map(|c| (*c).to_owned())
    .collect();
    for (field, value) in changes {
        cells[col(field) - 1] = (*value).to_owned();
    }
    cells.join(",")
}

/// A CSV file: the header, then the rows.
fn csv(rows: &[String]) -> String {
    let mut text = format!("{HEADER}\n");
    for r in rows {
        text.push_str(r);
        text.push('\n');
    }
    text
}

/// Asserts a refused import: exit 1, every expected `(location, key phrase)` reported as
/// `FILE:LOCATION: …phrase…` (a phrase `a…b` needs both parts, in order), and the summary
/// counting exactly that many errors.
#[track_caller]
fn assert_refused(out: &Out, file: &str, expected: &[(String, &str)]) {
    assert_eq!(out.code, 1, "exit code; stderr:\n{}", out.stderr);
    for (location, phrase) in expected {
        let prefix = format!("{file}:{location}: ");
        assert!(
            out.stderr
                .lines()
                .any(|l| l.starts_with(&prefix) && contains_in_order(l, phrase)),
            "expected a line `{prefix}…{phrase}…` in stderr:\n{}",
            out.stderr
        );
    }
    let summary = format!("{file}: {} {SUMMARY}", expected.len());
    assert!(
        out.stderr.lines().any(|l| l == summary),
        "expected `{summary}` in stderr:\n{}",
        out.stderr
    );
}

fn contains_in_order(line: &str, phrase: &str) -> bool {
    let mut rest = line;
    phrase.split('…').all(|part| match rest.find(part) {
        Some(i) => {
            rest = &rest[i + part.len()..];
            true
        }
        None => false,
    })
}

/// Imports `rows` into a demo ledger and asserts the refusal and that nothing was recorded.
#[track_caller]
fn assert_rows_refused(rows: &[String], expected: &[(String, &str)]) {
    assert_rows_refused_text(&csv(rows), expected);
}

/// Imports `body` into a demo ledger and asserts the refusal and that nothing was recorded.
#[track_caller]
fn assert_rows_refused_text(body: &str, expected: &[(String, &str)]) {
    let ledger = Ledger::with_demo();
    let before = ledger.snapshot();
    let out = ledger.import_text(body);
    assert_refused(&out, "in.csv", expected);
    assert_eq!(ledger.snapshot(), before, "a refused file changed the log");
    let listed = ledger.ids(&[]);
    assert!(
        !listed.iter().any(|id| id.starts_with("T-")),
        "refused rows were listed: {listed:?}"
    );
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: currencies and parties
// ---------------------------------------------------------------------------------------------

#[test]
fn given_an_unknown_currency_when_imported_then_the_currency_cell_is_named_and_nothing_recorded() {
    assert_rows_refused(
        &[row(1, &[]), row(2, &[("currency", "ABC")])],
        &[(at(3, "currency"), "`ABC` is not a known ISO 4217 currency")],
    );
}

#[test]
fn given_malformed_currency_codes_when_imported_then_each_is_reported() {
    assert_rows_refused(
        &[
            row(1, &[("currency", "eur")]),
            row(2, &[("currency", "EURO")]),
        ],
        &[
            (at(2, "currency"), "`eur` is not an ISO 4217 currency code"),
            (at(3, "currency"), "`EURO` is not an ISO 4217 currency code"),
        ],
    );
}

#[test]
fn given_an_unregistered_organisation_when_imported_then_the_party_is_unknown() {
    assert_rows_refused(
        &[
            row(1, &[("donor", "OSCE")]),
            row(2, &[("recipient", "OSCE")]),
        ],
        &[
            (at(2, "donor"), "unknown party OSCE"),
            (at(3, "recipient"), "unknown party OSCE"),
        ],
    );
}

#[test]
fn given_an_unassigned_country_code_when_imported_then_it_is_refused() {
    assert_rows_refused(
        &[row(1, &[("donor", "XYZ")])],
        &[(
            at(2, "donor"),
            "`XYZ` is three letters but not an assigned ISO 3166-1 alpha-3 country code",
        )],
    );
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: amounts
// ---------------------------------------------------------------------------------------------

#[test]
fn given_a_malformed_amount_when_imported_then_it_is_not_a_decimal_amount() {
    assert_rows_refused(
        &[row(1, &[("amount", "12abc")])],
        &[(at(2, "amount"), "`12abc` is not a decimal amount")],
    );
}

#[test]
fn given_a_quoted_decimal_comma_when_imported_then_the_decimal_comma_is_named() {
    assert_rows_refused(
        &[row(1, &[("amount", "\"1000,50\"")])],
        &[(at(2, "amount"), "`1000,50` uses a decimal comma")],
    );
}

#[test]
fn given_an_unquoted_decimal_comma_when_imported_then_the_row_has_too_many_cells() {
    assert_rows_refused(
        &[row(1, &[]), row(2, &[("amount", "1000,50")])],
        &[(
            "3:19".to_owned(),
            "row has 19 cells, the header has 18…decimal comma",
        )],
    );
}

#[test]
fn given_a_semicolon_separated_file_when_imported_then_the_delimiter_is_named() {
    let ledger = Ledger::with_demo();
    let before = ledger.snapshot();
    let file = ledger.fixture("semicolon.csv");
    let out = ledger.import(&file, &[]);
    assert_refused(
        &out,
        &file,
        &[("1".to_owned(), "the file is separated by `;`")],
    );
    assert_eq!(ledger.snapshot(), before);
}

#[test]
fn given_more_decimals_than_the_currency_has_when_imported_then_each_row_is_reported() {
    assert_rows_refused(
        &[
            row(
                1,
                &[("donor", "JPN"), ("amount", "10.5"), ("currency", "JPY")],
            ),
            row(2, &[("amount", "12.345")]),
            row(
                3,
                &[("donor", "ISL"), ("amount", "1.5"), ("currency", "ISK")],
            ),
        ],
        &[
            (
                at(2, "amount"),
                "`10.5` has 1 decimal place(s) but JPY has 0",
            ),
            (
                at(3, "amount"),
                "`12.345` has 3 decimal place(s) but EUR has 2",
            ),
            (
                at(4, "amount"),
                "`1.5` has 1 decimal place(s) but ISK has 0",
            ),
        ],
    );
}

#[test]
fn given_an_amount_of_ten_to_the_fifteen_when_imported_then_it_is_too_large() {
    assert_rows_refused(
        &[row(1, &[("amount", "1000000000000000")])],
        &[(at(2, "amount"), "is too large")],
    );
}

#[test]
fn given_zero_and_negative_increments_outside_amended_when_imported_then_both_are_refused() {
    assert_rows_refused(
        &[
            row(1, &[("amount", "0")]),
            row(2, &[("stage", "delivered"), ("amount", "-5")]),
        ],
        &[
            (
                at(2, "amount"),
                "a committed event needs a positive increment, not zero",
            ),
            (at(3, "amount"), "on a delivered event"),
        ],
    );
    // "an" before a vowel: the article agrees with the stage named.
    assert_rows_refused(
        &[
            row(1, &[("stage", "announced"), ("amount", "0")]),
            row(2, &[("stage", "allocated"), ("amount", "-5")]),
        ],
        &[
            (
                at(2, "amount"),
                "an announced event needs a positive increment",
            ),
            (at(3, "amount"), "on an allocated event"),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: dates
// ---------------------------------------------------------------------------------------------

#[test]
fn given_a_malformed_date_when_imported_then_the_expected_format_is_shown() {
    assert_rows_refused(
        &[row(1, &[("effective_date", "10/07/2024")])],
        &[(at(2, "effective_date"), "write YYYY-MM-DD")],
    );
}

#[test]
fn given_impossible_dates_when_imported_then_each_is_explained() {
    assert_rows_refused(
        &[
            row(1, &[("effective_date", "2023-02-29")]),
            row(2, &[("effective_date", "2024-13-01")]),
        ],
        &[
            (at(2, "effective_date"), "month 2 of 2023 has 28 days"),
            (at(3, "effective_date"), "there is no month 13"),
        ],
    );
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: header
// ---------------------------------------------------------------------------------------------

#[test]
fn given_a_missing_column_when_imported_then_the_header_is_refused() {
    let ledger = Ledger::with_demo();
    let before = ledger.snapshot();
    let header = HEADER.replace(",amount,", ",");
    let body = format!(
        "{header}\nT-1-a,T-1,DEU,UKR,committed,2024-07-10,EUR,equipment-purchase,bilateral,public,,,,,,,,\n"
    );
    let out = ledger.import_text(&body);
    assert_refused(
        &out,
        "in.csv",
        &[("1".to_owned(), "missing column(s): amount")],
    );
    assert_eq!(ledger.snapshot(), before);
}

#[test]
fn given_a_misspelt_column_when_imported_then_the_right_name_is_suggested() {
    let ledger = Ledger::with_demo();
    let before = ledger.snapshot();
    let body = csv(&[row(1, &[])]).replacen(",amount,", ",ammount,", 1);
    let out = ledger.import_text(&body);
    assert_refused(
        &out,
        "in.csv",
        &[
            (
                format!("1:{}: ammount", col("amount")),
                "did you mean `amount`?",
            ),
            ("1".to_owned(), "missing column(s): amount"),
        ],
    );
    assert_eq!(ledger.snapshot(), before);
}

#[test]
fn given_an_extra_column_when_imported_then_it_is_refused_unless_ignore_extra() {
    let ledger = Ledger::with_demo();
    let before = ledger.snapshot();
    let body = format!("{HEADER},notes\n{},internal remark\n", row(1, &[]));
    let file = ledger.write("extra.csv", body);

    let out = ledger.import(&file, &[]);
    assert_refused(
        &out,
        &file,
        &[("1:19: notes".to_owned(), "unexpected column `notes`")],
    );
    assert!(out.stderr.contains("--ignore-extra"), "{}", out.stderr);
    assert_eq!(ledger.snapshot(), before);

    let out = ledger.import(&file, &["--ignore-extra"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(ledger.ids(&["--donor", "DEU"]).contains(&"T-1".to_owned()));
    assert!(ledger.snapshot().0 > before.0);
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: ids, references and the lifecycle
// ---------------------------------------------------------------------------------------------

#[test]
fn given_the_same_event_id_twice_in_a_file_when_imported_then_the_second_is_refused() {
    assert_rows_refused(
        &[row(1, &[]), row(1, &[])],
        &[(
            at(3, "event_id"),
            "event id T-1-a appears twice…(first on line 2)",
        )],
    );
}

#[test]
fn given_a_recorded_event_id_when_reimported_with_different_content_then_it_conflicts() {
    let ledger = Ledger::with_demo();
    assert_eq!(ledger.import_text(&csv(&[row(1, &[])])).code, 0);
    let before = ledger.snapshot();
    let out = ledger.import_text(&csv(&[row(1, &[("amount", "2000000")])]));
    assert_refused(
        &out,
        "in.csv",
        &[(
            at(2, "event_id"),
            "event id T-1-a is already recorded with different content",
        )],
    );
    assert_eq!(ledger.snapshot(), before);
}

#[test]
fn given_an_amendment_of_an_unrecorded_event_when_imported_then_amends_is_refused() {
    assert_rows_refused(
        &[
            row(1, &[]),
            row(
                2,
                &[
                    ("contribution_id", "T-1"),
                    ("stage", "amended"),
                    ("effective_date", "2024-07-20"),
                    ("amount", "-100"),
                    ("amends", "T-404-a"),
                    ("reason", "typo in the source"),
                ],
            ),
        ],
        &[(at(3, "amends"), "amends T-404-a, which is not recorded")],
    );
}

#[test]
fn given_a_withdrawn_contribution_when_a_later_event_is_imported_then_it_is_refused() {
    let ledger = Ledger::with_demo();
    let withdrawal = row(
        2,
        &[
            ("event_id", "T-1-w"),
            ("contribution_id", "T-1"),
            ("stage", "withdrawn"),
            ("effective_date", "2024-08-01"),
            ("amount", ""),
            ("currency", ""),
            ("reason", "cancelled by parliament"),
        ],
    );
    let out = ledger.import_text(&csv(&[row(1, &[]), withdrawal]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let before = ledger.snapshot();
    let late = row(
        3,
        &[
            ("event_id", "T-1-d"),
            ("contribution_id", "T-1"),
            ("stage", "delivered"),
            ("effective_date", "2024-08-05"),
            ("amount", "1000"),
        ],
    );
    let out = ledger.import_text(&csv(&[late]));
    assert_refused(
        &out,
        "in.csv",
        &[(at(2, "stage"), "no event may be dated after a withdrawal")],
    );
    assert_eq!(ledger.snapshot(), before);
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: the file itself
// ---------------------------------------------------------------------------------------------

#[test]
fn given_a_directory_or_a_missing_path_when_imported_then_it_cannot_be_read_and_no_ledger_is_made()
{
    let ledger = Ledger::new();
    std::fs::create_dir(ledger.path("folder.csv")).expect("mkdir");
    for file in ["folder.csv", "missing.csv"] {
        let out = ledger.import(file, &[]);
        assert_eq!(out.code, 1, "{file}: {}", out.stderr);
        assert!(
            out.stderr.contains(&format!("cannot read {file}")),
            "{file}: {}",
            out.stderr
        );
        assert!(!ledger.db.exists(), "{file}: a ledger was created");
    }
}

#[test]
fn given_an_empty_file_when_imported_then_a_header_is_asked_for() {
    let ledger = Ledger::with_demo();
    let before = ledger.snapshot();
    let file = ledger.write("empty.csv", "");
    let out = ledger.import(&file, &[]);
    assert_refused(
        &out,
        &file,
        &[("1".to_owned(), "the file is empty; expected a header line")],
    );
    assert_eq!(ledger.snapshot(), before);
}

#[test]
fn given_a_latin1_byte_when_imported_then_the_file_is_refused_with_a_conversion_hint() {
    let ledger = Ledger::with_demo();
    let before = ledger.snapshot();
    let mut bytes = csv(&[row(1, &[])]).into_bytes();
    bytes.extend_from_slice(b"T-2-a,T-2,DEU,UKR,committed,2024-07-10,1000,EUR,equipment-purchase,bilateral,public,,,,,,,M\xfcnchen office\n");
    let file = ledger.write("latin1.csv", bytes);
    let out = ledger.import(&file, &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("latin1.csv:3:"))
        .unwrap_or_else(|| panic!("no error on line 3:\n{}", out.stderr));
    assert!(line.contains("not UTF-8 (byte 0xFC)"), "{line}");
    assert!(line.contains("iconv"), "{line}");
    assert!(out.stderr.contains(&format!("latin1.csv: 1 {SUMMARY}")));
    assert_eq!(ledger.snapshot(), before);
}

#[test]
fn given_a_utf8_bom_when_imported_then_the_file_is_accepted() {
    let ledger = Ledger::new();
    let mut bytes = b"\xEF\xBB\xBF".to_vec();
    bytes.extend_from_slice(csv(&[row(1, &[])]).as_bytes());
    let file = ledger.write("bom.csv", bytes);
    let out = ledger.import(&file, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(ledger.ids(&[]), vec!["T-1".to_owned()]);
}

// ---------------------------------------------------------------------------------------------
// Bad inputs: reporting every error
// ---------------------------------------------------------------------------------------------

#[test]
fn given_three_bad_rows_among_good_ones_when_imported_then_all_three_are_reported_and_none_recorded()
 {
    let ledger = Ledger::with_demo();
    let before = ledger.snapshot();
    let file = ledger.fixture("three-bad-rows.csv");
    let out = ledger.import(&file, &[]);
    assert_refused(
        &out,
        &file,
        &[
            (at(3, "effective_date"), "there is no month 31"),
            (at(5, "amount"), "`3.5e6` is not a decimal amount"),
            (at(6, "channel"), "`by-air` is not a channel"),
        ],
    );
    assert_eq!(ledger.snapshot(), before);
    let ids = ledger.ids(&["--donor", "SWE"]);
    assert!(
        !ids.iter().any(|id| id.starts_with("FIX-")),
        "good rows of a refused file were recorded: {ids:?}"
    );
}

#[test]
fn given_parse_errors_and_rule_errors_in_one_file_when_imported_then_both_kinds_are_reported() {
    assert_rows_refused(
        &[
            row(1, &[("donor", "OSCE")]),
            row(2, &[("effective_date", "2024-02-30")]),
        ],
        &[
            (at(2, "donor"), "unknown party OSCE"),
            (at(3, "effective_date"), "month 2 of 2024 has 29 days"),
        ],
    );
}

#[test]
fn given_a_recorded_event_when_a_file_repeats_it_twice_then_the_duplicate_is_still_refused() {
    let ledger = Ledger::with_demo();
    assert_eq!(ledger.import_text(&csv(&[row(1, &[])])).code, 0);
    let before = ledger.snapshot();
    let out = ledger.import_text(&csv(&[row(1, &[]), row(1, &[])]));
    assert_refused(&out, "in.csv", &[(at(3, "event_id"), "appears twice")]);
    assert_eq!(ledger.snapshot(), before);
}

#[test]
fn given_windows_line_endings_when_rows_are_bad_then_the_physical_lines_are_named() {
    let rows = [
        row(1, &[]),
        row(2, &[("amount", "1.234")]),
        row(3, &[("currency", "ABC")]),
    ];
    let body = csv(&rows).replace('\n', "\r\n");
    assert_rows_refused_text(
        &body,
        &[
            (at(3, "amount"), "has 3 decimal place(s)"),
            (at(4, "currency"), "`ABC`"),
        ],
    );
}

#[test]
fn given_blank_lines_between_rows_when_rows_are_bad_then_the_physical_lines_are_named() {
    let body = format!(
        "{HEADER}\n{}\n\n{}\n\n\n{}\n",
        row(1, &[]),
        row(2, &[("amount", "1.234")]),
        row(3, &[("currency", "ABC")]),
    );
    assert_rows_refused_text(
        &body,
        &[
            (at(4, "amount"), "has 3 decimal place(s)"),
            (at(7, "currency"), "`ABC`"),
        ],
    );
}

#[test]
fn given_a_same_day_delivery_and_withdrawal_when_imported_in_one_or_two_files_then_the_outcome_is_the_same()
 {
    let commit = row(1, &[]);
    let withdraw = row(
        2,
        &[
            ("event_id", "T-1-w"),
            ("contribution_id", "T-1"),
            ("stage", "withdrawn"),
            ("effective_date", "2024-08-01"),
            ("amount", ""),
            ("currency", ""),
        ],
    );
    let deliver = row(
        3,
        &[
            ("event_id", "T-1-d"),
            ("contribution_id", "T-1"),
            ("stage", "delivered"),
            ("effective_date", "2024-08-01"),
            ("amount", "1000"),
        ],
    );
    let together = Ledger::new();
    let one_file = together.import_text(&csv(&[commit.clone(), withdraw.clone(), deliver.clone()]));

    let apart = Ledger::new();
    let first = apart.import_text(&csv(&[commit, withdraw]));
    assert_eq!(first.code, 0, "{}", first.stderr);
    let second = apart.import_text(&csv(&[deliver]));
    assert_eq!(
        one_file.code, second.code,
        "the same rows are judged differently in one file ({}) and in two ({}):\n{}{}",
        one_file.code, second.code, one_file.stderr, second.stderr
    );
}

#[test]
fn given_max_errors_two_when_four_rows_are_bad_then_two_are_printed_and_the_rest_counted() {
    let ledger = Ledger::with_demo();
    let before = ledger.snapshot();
    let rows: Vec<String> = (1..=4).map(|n| row(n, &[("amount", "12abc")])).collect();
    let file = ledger.write("in.csv", csv(&rows));
    let out = ledger.import(&file, &["--max-errors", "2"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let located: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("in.csv:") && l.contains(": amount: "))
        .collect();
    assert_eq!(
        located,
        vec![
            format!(
                "in.csv:{}: `12abc` is not a decimal amount; write digits with an optional sign and decimal point, e.g. 1250000.50",
                at(2, "amount")
            ),
            format!(
                "in.csv:{}: `12abc` is not a decimal amount; write digits with an optional sign and decimal point, e.g. 1250000.50",
                at(3, "amount")
            ),
        ]
    );
    assert!(out.stderr.contains("... and 2 more"), "{}", out.stderr);
    assert!(out.stderr.contains(&format!("in.csv: 4 {SUMMARY}")));
    assert_eq!(ledger.snapshot(), before);
}

#[test]
fn given_json_format_when_a_file_is_refused_then_stdout_holds_the_located_errors() {
    let ledger = Ledger::with_demo();
    let rows = [
        row(1, &[("currency", "ABC")]),
        row(2, &[("effective_date", "2024-13-01")]),
        row(3, &[("amount", "1.234")]),
    ];
    let file = ledger.write("in.csv", csv(&rows));
    let out = ledger.import(&file, &["--format", "json", "--max-errors", "2"]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["recorded"], Value::Bool(false));
    assert_eq!(v["more_errors"], 1);
    let errors = v["errors"].as_array().expect("errors");
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["file"], "in.csv");
    assert_eq!(errors[0]["line"], 2);
    assert_eq!(errors[0]["column"], col("currency"));
    assert_eq!(errors[0]["field"], "currency");
    assert!(
        errors[0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("`ABC` is not a known ISO 4217 currency")),
        "{v}"
    );
    assert_eq!(errors[1]["line"], 3);
    assert_eq!(errors[1]["field"], "effective_date");
}

// ---------------------------------------------------------------------------------------------
// Happy paths: demo, import, dry run
// ---------------------------------------------------------------------------------------------

#[test]
fn given_a_loaded_demo_when_demo_runs_again_then_it_is_already_loaded_and_the_head_unchanged() {
    let ledger = Ledger::new();
    let first = ledger.run(&["demo"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    assert!(
        first.stdout.contains("Loaded founding scenario"),
        "{}",
        first.stdout
    );
    let before = ledger.snapshot();
    assert!(before.0 > 0);

    let second = ledger.run(&["demo"]);
    assert_eq!(second.code, 0, "{}", second.stderr);
    assert!(
        second.stdout.contains("already loaded"),
        "{}",
        second.stdout
    );
    assert_eq!(ledger.snapshot(), before);
}

#[test]
fn given_a_valid_fixture_when_imported_twice_then_the_second_import_is_a_no_op() {
    let ledger = Ledger::new();
    let file = ledger.fixture("small-valid.csv");
    let first = ledger.import(&file, &["--format", "json"]);
    assert_eq!(first.code, 0, "{}", first.stderr);
    let v = first.json();
    assert_eq!(v["rows"], 4);
    assert_eq!(v["new_stage_events"], 4);
    assert_eq!(v["new_contributions"], 2);
    assert_eq!(v["events_appended"], 6);
    let before = ledger.snapshot();
    assert_eq!(v["log_head"]["hash"].as_str(), Some(before.1.as_str()));

    let again = ledger.import(&file, &["--format", "json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let v = again.json();
    assert_eq!(v["already_recorded"], 4);
    assert_eq!(v["new_stage_events"], 0);
    assert_eq!(v["events_appended"], 0);
    assert_eq!(ledger.snapshot(), before);
    assert_eq!(
        ledger.ids(&[]),
        vec!["FIX-DEU-1".to_owned(), "FIX-POL-1".to_owned()]
    );
}

#[test]
fn given_dry_run_when_a_valid_file_is_imported_then_nothing_is_written() {
    let ledger = Ledger::with_demo();
    let before = ledger.snapshot();
    let file = ledger.fixture("small-valid.csv");
    let out = ledger.import(&file, &["--dry-run"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("nothing was written"), "{}", out.stdout);
    assert_eq!(ledger.snapshot(), before);
    assert!(
        ledger
            .ids(&["--donor", "POL"])
            .iter()
            .all(|id| !id.starts_with("FIX-"))
    );
}

#[test]
fn given_no_database_when_dry_run_then_the_file_is_checked_and_no_database_is_created() {
    let ledger = Ledger::new();
    let file = ledger.fixture("small-valid.csv");
    let out = ledger.import(&file, &["--dry-run", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["dry_run"], true);
    assert_eq!(v["new_stage_events"], 4);
    assert_eq!(v["events_appended"], 0);
    assert!(!ledger.db.exists(), "a dry run created the database");

    // A rule broken against the (empty) ledger is still found without creating it.
    let bad = ledger.write("bad.csv", csv(&[row(1, &[("recipient", "NSATU")])]));
    let out = ledger.import(&bad, &["--dry-run"]);
    assert_refused(&out, &bad, &[(at(2, "recipient"), "unknown party NSATU")]);
    assert!(!ledger.db.exists(), "a dry run created the database");
}

#[test]
fn given_rows_out_of_date_order_when_imported_then_show_lists_history_by_date_with_running_totals()
{
    let ledger = Ledger::new();
    let file = ledger.fixture("out-of-order.csv");
    let out = ledger.import(&file, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    let out = ledger.run(&["contributions", "show", "FIX-NOR-7", "--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    let history: Vec<(String, String, String, String)> = v["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| {
            let s = |k: &str| h[k].as_str().unwrap_or_default().to_owned();
            (
                s("effective_date"),
                s("event"),
                s("amount"),
                s("running_total"),
            )
        })
        .collect();
    let expected = [
        ("2024-04-15", "FIX-NOR-7-b", "300000.00", "300000.00"),
        ("2024-05-02", "FIX-NOR-7-a", "1000000.00", "1000000.00"),
        ("2024-06-20", "FIX-NOR-7-c", "-200000.00", "800000.00"),
    ]
    .map(|(a, b, c, d)| (a.to_owned(), b.to_owned(), c.to_owned(), d.to_owned()));
    assert_eq!(history, expected);
    assert_eq!(v["history"][2]["counts_as"], "committed");
    let kinds: Vec<&str> = v["anomalies"]
        .as_array()
        .expect("anomalies")
        .iter()
        .filter_map(|a| a["kind"].as_str())
        .collect();
    assert!(kinds.contains(&"out-of-order-dates"), "{kinds:?}");

    let table = ledger.run(&["contributions", "show", "FIX-NOR-7"]);
    assert_eq!(table.code, 0, "{}", table.stderr);
    assert!(
        table.stdout.contains("out-of-order-dates: first delivered on 2024-04-15 precedes first committed on 2024-05-02"),
        "{}",
        table.stdout
    );
    assert!(table.stdout.contains("800,000.00"), "{}", table.stdout);
}

// ---------------------------------------------------------------------------------------------
// Happy paths: listings and formats
// ---------------------------------------------------------------------------------------------

#[test]
fn given_the_demo_when_listing_with_filters_then_only_matching_contributions_are_shown() {
    let ledger = Ledger::with_demo();
    let all = ledger.listed(&[]).len();

    for (flag, value, key, example) in [
        ("--donor", "DEU", "donor", "DEU-2024-03"),
        ("--donor", "NATO", "donor", "NATO-2024-01"),
        ("--category", "nato-trust-fund", "category", "SWE-2024-04"),
        ("--channel", "eu-instrument", "channel", "EU-2024-01"),
    ] {
        let rows = ledger.listed(&[flag, value]);
        assert!(
            !rows.is_empty() && rows.len() < all,
            "{flag} {value}: {}",
            rows.len()
        );
        assert!(
            rows.iter().all(|r| r[key] == value),
            "{flag} {value}: {rows:?}"
        );
        assert!(
            rows.iter().any(|r| r["contribution"] == example),
            "{flag} {value} lacks {example}"
        );
    }

    let confirmed = ledger.ids(&["--stage", "confirmed"]);
    assert!(
        confirmed.contains(&"DEU-2024-03".to_owned()),
        "{confirmed:?}"
    );
    assert!(
        !confirmed.contains(&"USA-2024-01".to_owned()),
        "{confirmed:?}"
    );
    assert!(
        ledger
            .ids(&["--stage", "amended"])
            .contains(&"NLD-2024-01".to_owned())
    );

    let window = ledger.listed(&["--from", "2024-10-20", "--to", "2024-10-31"]);
    assert!(!window.is_empty() && window.len() < all);
    for r in &window {
        let (first, last) = (r["first_date"].as_str(), r["last_date"].as_str());
        assert!(
            first <= Some("2024-10-31") && last >= Some("2024-10-20"),
            "{r}"
        );
    }
    let ids: Vec<&str> = window
        .iter()
        .filter_map(|r| r["contribution"].as_str())
        .collect();
    assert!(ids.contains(&"NATO-2024-01"), "{ids:?}");
    assert!(!ids.contains(&"USA-2024-01"), "{ids:?}");

    let both = ledger.listed(&["--donor", "USA", "--category", "equipment-purchase"]);
    assert!(!both.is_empty());
    assert!(
        both.iter()
            .all(|r| r["donor"] == "USA" && r["category"] == "equipment-purchase")
    );

    let bad = ledger.run(&["contributions", "list", "--category", "weapons"]);
    assert_eq!(
        bad.code, 2,
        "an unknown category is a usage error: {}",
        bad.stderr
    );
}

#[test]
fn given_the_demo_when_listing_as_json_and_csv_then_both_parse_and_agree() {
    let ledger = Ledger::with_demo();
    let json = ledger.listed(&["--donor", "DEU"]);

    let out = ledger.run(&["contributions", "list", "--donor", "DEU", "--format", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
    let headers = reader.headers().expect("header row").clone();
    assert_eq!(
        headers.iter().collect::<Vec<_>>(),
        [
            "contribution",
            "donor",
            "recipient",
            "category",
            "channel",
            "dataset",
            "status",
            "first",
            "last",
            "currency",
            "announced",
            "committed",
            "allocated",
            "delivered",
            "confirmed",
            "items",
            "anomalies"
        ]
    );
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    assert_eq!(records.len(), json.len());
    for (record, row) in records.iter().zip(&json) {
        assert_eq!(Some(&record[0]), row["contribution"].as_str());
        assert_eq!(&record[1], "DEU");
    }

    for args in [
        &["demo", "--format", "json"][..],
        &["log", "verify", "--format", "json"][..],
        &["contributions", "show", "DEU-2024-03", "--format", "json"][..],
    ] {
        let out = ledger.run(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        let _ = out.json();
    }
}

#[test]
fn given_formula_like_cells_when_output_as_csv_then_they_are_defused_but_numbers_are_not() {
    let ledger = Ledger::new();
    let file = ledger.fixture("formula-cells.csv");
    let out = ledger.import(&file, &[]);
    assert_eq!(out.code, 0, "{}", out.stderr);

    let out = ledger.run(&["contributions", "show", "FIX-GBR-9", "--format", "csv"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let mut reader = csv::Reader::from_reader(out.stdout.as_bytes());
    let headers = reader.headers().expect("header row").clone();
    let column = |name: &str| {
        headers
            .iter()
            .position(|h| h == name)
            .unwrap_or_else(|| panic!("no column {name}"))
    };
    let records: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("record")).collect();
    assert_eq!(records.len(), 2);
    let raw_unit = r#"=HYPERLINK("https://attacker.example","open")"#;
    assert_eq!(&records[0][column("unit")], format!("'{raw_unit}"));
    assert_eq!(&records[0][column("condition / reason")], "'@SUM(A1:A9)");
    assert_eq!(
        &records[1][column("condition / reason")],
        "'+price correction"
    );
    assert_eq!(&records[1][column("increment")], "-150000.00");
    for record in &records {
        for cell in record {
            let risky = cell.starts_with(['=', '+', '@', '\t', '\r'])
                || (cell.starts_with('-') && cell.parse::<f64>().is_err());
            assert!(!risky, "cell `{cell}` would run as a formula");
        }
    }

    // Only CSV is defused: JSON keeps the recorded text.
    let json = ledger
        .run(&["contributions", "show", "FIX-GBR-9", "--format", "json"])
        .json();
    assert_eq!(json["history"][0]["unit"], raw_unit);
}

// ---------------------------------------------------------------------------------------------
// Happy paths: the hash chain and the database location
// ---------------------------------------------------------------------------------------------

#[test]
fn given_a_wrong_expected_head_when_verifying_then_it_is_a_mismatch() {
    let ledger = Ledger::with_demo();
    let (_, head) = ledger.snapshot();
    // Not the all-zero hash: that is the empty log's head, a prefix of every log.
    let wrong = if head.starts_with("ab") { "cd" } else { "ab" }.repeat(32);

    let out = ledger.run(&["log", "verify", "--expect-head", &wrong]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("MISMATCH"), "{}", out.stdout);

    let out = ledger.run(&["log", "verify", "--expect-head", &head]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("matches"), "{}", out.stdout);
}

/// Edits the ledger file behind Steadfast's back, as anyone with write access to it can: the
/// append-only triggers are a fence against accidents, so a deliberate editor drops them first.
fn tamper(ledger: &Ledger, sql: &str) {
    let conn = rusqlite::Connection::open(&ledger.db).expect("open sqlite");
    conn.execute_batch(
        "DROP TRIGGER IF EXISTS events_no_update; DROP TRIGGER IF EXISTS events_no_delete;",
    )
    .expect("drop triggers");
    let changed = conn.execute(sql, []).expect("tamper");
    assert_eq!(changed, 1);
}

#[test]
fn given_an_edited_payload_when_verifying_then_the_broken_event_is_named() {
    let ledger = Ledger::with_demo();
    tamper(
        &ledger,
        "UPDATE events SET payload = x'00' WHERE position = 5",
    );

    let out = ledger.run(&["log", "verify"]);
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(out.stdout.contains("BROKEN at event 5"), "{}", out.stdout);

    let out = ledger.run(&["log", "verify", "--format", "json"]);
    assert_eq!(out.code, 1);
    let v = out.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["first_break"]["position"], 5);
    assert_eq!(v["events_verified"], 4);
}

#[test]
fn given_steadfast_database_or_db_when_running_then_that_ledger_is_used() {
    let ledger = Ledger::new();
    let out = output(
        ledger
            .command()
            .env("STEADFAST_DATABASE", &ledger.db)
            .arg("demo"),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(ledger.db.exists(), "STEADFAST_DATABASE was not used");
    assert!(!ledger.path("steadfast.sqlite").exists());
    let events = ledger.snapshot().0;

    let other = ledger.path("other.sqlite");
    let out = output(ledger.command().arg("--db").arg(&other).arg("demo"));
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(other.exists(), "--db was not used");

    let out = output(
        ledger
            .command()
            .env("STEADFAST_DATABASE", &ledger.db)
            .args(["log", "verify", "--format", "json"]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["events_verified"], events);
    assert!(!ledger.path("steadfast.sqlite").exists());
}

#[test]
fn given_no_database_when_listing_then_a_clear_error_and_no_file() {
    let ledger = Ledger::new();
    for args in [
        &["contributions", "list"][..],
        &["contributions", "show", "DEU-2024-01"][..],
        &["log", "verify"][..],
    ] {
        let out = ledger.run(args);
        assert_eq!(out.code, 1, "{args:?}");
        assert!(
            out.stderr.contains("no ledger at"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(
            out.stderr.contains("ledger.sqlite"),
            "{args:?}: {}",
            out.stderr
        );
        assert!(!ledger.db.exists(), "{args:?} created the database");
    }
}

#[test]
fn given_an_unknown_contribution_when_shown_then_it_is_an_error() {
    let ledger = Ledger::with_demo();
    let out = ledger.run(&["contributions", "show", "NOPE-1"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("no contribution NOPE-1"),
        "{}",
        out.stderr
    );
}

#[test]
fn given_a_commitment_without_delivery_when_listed_then_delivery_is_not_recorded_rather_than_zero()
{
    let ledger = Ledger::with_demo();
    // PRT-2024-02 is an announcement only: nothing is committed or delivered.
    let rows = ledger.listed(&["--donor", "PRT"]);
    let announced_only = rows
        .iter()
        .find(|r| r["contribution"] == "PRT-2024-02")
        .expect("PRT-2024-02 listed");
    assert_eq!(announced_only["announced"], "95000000.00");
    assert_eq!(announced_only["delivered"], Value::Null);
    assert_eq!(announced_only["committed"], Value::Null);

    let table = ledger.run(&["contributions", "list", "--donor", "PRT"]);
    let line = table
        .stdout
        .lines()
        .find(|l| l.contains("PRT-2024-02"))
        .expect("table row");
    assert_eq!(
        line.matches('—').count(),
        4,
        "the four unrecorded stages read as not recorded, not zero: {line}"
    );

    let csv = ledger.run(&["contributions", "list", "--donor", "PRT", "--format", "csv"]);
    let line = csv
        .stdout
        .lines()
        .find(|l| l.starts_with("PRT-2024-02"))
        .expect("csv row");
    assert!(line.contains(",95000000.00,,,,,"), "{line}");
}

#[test]
fn given_the_scenario_when_listing_nato_members_on_a_date_then_accession_dates_count() {
    let ledger = Ledger::with_demo();
    let members = |on: &str| -> Vec<String> {
        let out = ledger.run(&[
            "parties",
            "list",
            "--member-of",
            "NATO",
            "--on",
            on,
            "--format",
            "json",
        ]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        out.json()["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|r| r["party"].as_str().expect("party").to_owned())
            .collect()
    };
    let end_2023 = members("2023-12-31");
    assert_eq!(end_2023.len(), 31);
    assert!(end_2023.contains(&"FIN".to_owned()));
    assert!(
        !end_2023.contains(&"SWE".to_owned()),
        "Sweden joined on 2024-03-07"
    );
    let end_2024 = members("2024-12-31");
    assert_eq!(end_2024.len(), 32);
    assert!(end_2024.contains(&"SWE".to_owned()));
    assert!(
        !members("2023-04-03").contains(&"FIN".to_owned()),
        "Finland joined on 2023-04-04"
    );
    assert!(!end_2024.contains(&"UKR".to_owned()));

    let all = ledger.run(&["parties", "list"]);
    assert_eq!(all.code, 0);
    assert!(all.stdout.contains("NSATU"), "{}", all.stdout);
    assert!(all.stdout.contains("SWE") && all.stdout.contains("NATO since 2024-03-07"));
}

#[test]
fn given_a_chain_of_same_day_amendments_listed_backwards_when_imported_then_each_follows_its_target()
 {
    let ledger = Ledger::new();
    let amend = |n: &str, target: &str| {
        row(
            1,
            &[
                ("event_id", n),
                ("stage", "amended"),
                ("amount", "-10"),
                ("amends", target),
                ("reason", "corrected"),
            ],
        )
    };
    let body = csv(&[
        amend("T-1-c", "T-1-b"),
        amend("T-1-b", "T-1-a"),
        row(1, &[("amount", "100")]),
    ]);
    let out = ledger.import_text(&body);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let show = ledger.run(&["contributions", "show", "T-1", "--format", "json"]);
    let v = show.json();
    let committed = &v["totals"]["committed"]["amounts"]["EUR"];
    assert_eq!(committed, "80.00", "{v}");
}

#[test]
fn given_an_event_id_shaped_like_a_registry_key_when_imported_then_the_scenario_still_loads() {
    let ledger = Ledger::new();
    let out = ledger.import_text(&csv(&[row(1, &[("event_id", "party:NATO")])]));
    assert_eq!(out.code, 0, "{}", out.stderr);
    let demo = ledger.run(&["demo"]);
    assert_eq!(demo.code, 0, "{}", demo.stderr);
    assert!(
        demo.stdout.contains("Loaded founding scenario"),
        "{}",
        demo.stdout
    );
}

#[test]
fn given_a_ledger_holding_a_scenario_id_with_other_content_when_demo_runs_then_it_says_why() {
    let ledger = Ledger::new();
    let clash = row(
        1,
        &[("event_id", "DEU-2024-01-a"), ("contribution_id", "MINE")],
    );
    assert_eq!(ledger.import_text(&csv(&[clash])).code, 0);
    let before = ledger.snapshot();
    let demo = ledger.run(&["demo"]);
    assert_eq!(demo.code, 1);
    assert!(
        demo.stderr
            .contains("cannot load the founding scenario into this ledger"),
        "{}",
        demo.stderr
    );
    assert!(demo.stderr.contains("DEU-2024-01-a"), "{}", demo.stderr);
    assert_eq!(ledger.snapshot(), before);
}

#[test]
fn given_a_head_published_before_more_imports_when_verified_then_it_is_found_in_the_chain() {
    let ledger = Ledger::with_demo();
    let (position, published) = ledger.snapshot();
    assert_eq!(ledger.import_text(&csv(&[row(1, &[])])).code, 0);
    let out = ledger.run(&["log", "verify", "--expect-head", &published]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    let found = format!("found at position {position}; 2 event(s) appended since");
    assert!(out.stdout.contains(&found), "{found}\n{}", out.stdout);
    let v = ledger
        .run(&[
            "log",
            "verify",
            "--expect-head",
            &published,
            "--format",
            "json",
        ])
        .json();
    assert_eq!(v["expected_head_position"], position);
    assert_eq!(v["appended_since_expected"], 2);
}

#[test]
fn given_stage_and_date_filters_when_listing_then_they_apply_to_the_same_event() {
    let ledger = Ledger::new();
    let body = csv(&[
        row(
            1,
            &[("stage", "delivered"), ("effective_date", "2024-03-01")],
        ),
        row(
            1,
            &[
                ("event_id", "T-1-b"),
                ("stage", "announced"),
                ("effective_date", "2024-08-01"),
            ],
        ),
    ]);
    assert_eq!(ledger.import_text(&body).code, 0);
    assert!(
        ledger
            .ids(&["--stage", "delivered", "--from", "2024-07-01"])
            .is_empty()
    );
    assert_eq!(
        ledger.ids(&["--stage", "delivered", "--to", "2024-03-31"]),
        vec!["T-1"]
    );
    assert_eq!(ledger.ids(&["--from", "2024-07-01"]), vec!["T-1"]);
}

#[test]
fn given_csv_output_when_listing_then_the_log_head_goes_to_stderr() {
    let ledger = Ledger::with_demo();
    let (_, head) = ledger.snapshot();
    let out = ledger.run(&["contributions", "list", "--format", "csv"]);
    assert_eq!(out.code, 0);
    assert!(!out.stdout.contains("log head"), "the CSV stays rows only");
    assert!(out.stderr.contains(&head), "{}", out.stderr);
}

#[test]
fn given_an_unclosed_quote_when_imported_then_the_runaway_cell_is_explained() {
    let ledger = Ledger::with_demo();
    let body = csv(&[
        row(1, &[("description", "\"unclosed")]),
        row(2, &[]),
        row(3, &[]),
    ]);
    let out = ledger.import_text(&body);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .contains("in.csv:2:18: description: the cell spans 3 lines"),
        "{}",
        out.stderr
    );
}

#[test]
fn given_a_utf16_file_when_imported_then_the_encoding_is_named() {
    let ledger = Ledger::new();
    let mut bytes = vec![0xFF, 0xFE];
    for unit in csv(&[row(1, &[])]).encode_utf16() {
        bytes.extend_from_slice(&unit.to_le_bytes());
    }
    let file = ledger.write("utf16.csv", bytes);
    let out = ledger.import(&file, &[]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("utf16.csv:1:1: the file is UTF-16"),
        "{}",
        out.stderr
    );
    assert!(!ledger.db.exists());
}

#[test]
fn given_a_tampered_ledger_when_reading_then_no_figure_is_reported() {
    let ledger = Ledger::with_demo();
    // Raise a US drawdown from 1 bn to 9 bn in the stored payload.
    tamper(
        &ledger,
        "UPDATE events SET payload = CAST(replace(CAST(payload AS TEXT), '1000000000.00', '9000000000.00') AS BLOB) \
         WHERE idempotency_key = 'event:USA-2024-02-a'",
    );
    for args in [
        &["contributions", "list", "--donor", "USA"][..],
        &["contributions", "show", "USA-2024-02"][..],
        &["demo"][..],
    ] {
        let out = ledger.run(args);
        assert_eq!(out.code, 1, "{args:?}: {}", out.stdout);
        assert!(!out.stdout.contains("9,000,000,000"), "{}", out.stdout);
        assert!(
            out.stderr.contains("the log does not verify at event")
                && out.stderr.contains("payload was edited"),
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[test]
fn given_a_ledger_when_editing_it_with_sql_then_the_database_refuses() {
    let ledger = Ledger::with_demo();
    let conn = rusqlite::Connection::open(&ledger.db).expect("open sqlite");
    for sql in [
        "UPDATE events SET actor = 'local:mallory' WHERE position = 1",
        "DELETE FROM events WHERE position = 228",
    ] {
        let err = conn.execute(sql, []).expect_err("append-only");
        assert!(err.to_string().contains("append-only"), "{err}");
    }
}

#[test]
fn given_a_closed_ledger_when_only_reading_it_then_the_file_and_its_folder_are_untouched() {
    let ledger = Ledger::with_demo();
    let listing = |dir: &Path| -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let bytes = std::fs::read(&ledger.db).expect("read ledger");
    let files = listing(ledger.dir.path());
    for args in [
        &["contributions", "list"][..],
        &["contributions", "show", "DEU-2024-03"][..],
        &["parties", "list"][..],
        &["log", "verify"][..],
    ] {
        let out = ledger.run(args);
        assert_eq!(out.code, 0, "{args:?}: {}", out.stderr);
        assert_eq!(
            listing(ledger.dir.path()),
            files,
            "{args:?} left files behind"
        );
        assert_eq!(
            std::fs::read(&ledger.db).expect("read"),
            bytes,
            "{args:?} wrote"
        );
    }
}

/// Runs the binary with its stdout a pipe whose reader is already gone, as in `steadfast … |
/// head` once `head` has exited.
fn run_with_closed_stdout(ledger: &Ledger, args: &[&str]) -> Out {
    let (reader, writer) = std::io::pipe().expect("pipe");
    drop(reader);
    let out = ledger
        .command()
        .arg("--database")
        .arg(&ledger.db)
        .args(args)
        .stdout(writer)
        .stderr(std::process::Stdio::piped())
        .output()
        .expect("run steadfast");
    // Its stdout went to the closed pipe, so nothing was captured there.
    out.into()
}

#[test]
fn given_a_closed_output_pipe_when_reporting_then_only_the_outcome_decides_the_exit_status() {
    let ledger = Ledger::with_demo();
    let listed = run_with_closed_stdout(&ledger, &["contributions", "list"]);
    assert_eq!(listed.code, 0, "a reader that left early is no failure");
    assert!(!listed.stderr.contains("Broken pipe"), "{}", listed.stderr);

    let bad = ledger.write("bad.csv", csv(&[row(1, &[("amount", "-5")])]));
    let refused = run_with_closed_stdout(
        &ledger,
        &["import", "contributions", &bad, "--format", "json"],
    );
    assert_eq!(refused.code, 1, "a refused file still fails");
    assert!(
        refused.stderr.contains("bad.csv:2:7: amount"),
        "{}",
        refused.stderr
    );

    tamper(
        &ledger,
        "UPDATE events SET actor = 'local:mallory' WHERE position = 5",
    );
    for format in ["table", "json"] {
        let broken = run_with_closed_stdout(&ledger, &["log", "verify", "--format", format]);
        assert_eq!(broken.code, 1, "a broken chain still fails ({format})");
    }
}

#[test]
fn given_a_relative_path_starting_with_file_colon_when_used_then_it_names_that_file() {
    let ledger = Ledger::new();
    let out = output(
        ledger
            .command()
            .args(["--db", "file:q.sqlite", "demo", "--format", "json"]),
    );
    assert_eq!(out.code, 0, "{}", out.stderr);
    let appended = out.json()["scenario"]["events_appended"].clone();
    assert!(appended.as_u64().is_some_and(|n| n > 0), "{appended}");
    assert!(ledger.path("file:q.sqlite").is_file());
    assert!(!ledger.path("q.sqlite").exists(), "read as a URI");
    let verify = output(ledger.command().args([
        "--db",
        "file:q.sqlite",
        "log",
        "verify",
        "--format",
        "json",
    ]));
    assert_eq!(verify.code, 0, "{}", verify.stderr);
    assert_eq!(
        verify.json()["events_verified"],
        appended,
        "{}",
        verify.stdout
    );
}

#[test]
fn given_two_first_imports_racing_on_a_missing_ledger_when_both_finish_then_each_event_is_there_once()
 {
    let rows: Vec<String> = (1..=400).map(|n| row(n, &[])).collect();
    for _ in 0..3 {
        let ledger = Ledger::new();
        let file = ledger.write("in.csv", csv(&rows));
        let spawn = || {
            ledger
                .command()
                .arg("--database")
                .arg(&ledger.db)
                .args(["import", "contributions", &file])
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .expect("spawn")
        };
        let (a, b) = (spawn(), spawn());
        for child in [a, b] {
            let out = child.wait_with_output().expect("wait");
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        // 400 registrations and 400 stage events, once.
        assert_eq!(ledger.snapshot().0, 800);
    }
}

#[test]
fn given_a_large_file_when_imported_then_it_is_recorded_with_a_snapshot_and_the_ledger_closed_clean()
 {
    let ledger = Ledger::with_demo();
    let (before, _) = ledger.snapshot();
    // synth opens no ledger (and refuses --database).
    let synth = output(ledger.command().args([
        "synth", "--events", "60000", "--seed", "5", "--out", "big.csv",
    ]));
    assert_eq!(synth.code, 0, "{}", synth.stderr);
    let out = ledger.import("big.csv", &["--format", "json"]);
    assert_eq!(out.code, 0, "{}", out.stderr);
    let v = out.json();
    assert_eq!(v["rows"], 60000);
    assert_eq!(v["new_stage_events"], 60000);
    let appended = v["events_appended"].as_u64().expect("events_appended");
    assert_eq!(
        appended,
        60000 + v["new_contributions"].as_u64().expect("new_contributions")
    );
    // The process left its projection to the OS but closed the ledger: the write-ahead log was
    // checkpointed into the file and removed, and the chain verifies.
    for side in ["ledger.sqlite-wal", "ledger.sqlite-shm"] {
        assert!(!ledger.path(side).exists(), "{side} left behind");
    }
    let (events, head) = ledger.snapshot();
    assert_eq!(events, before + appended);
    assert_eq!(v["log_head"]["hash"].as_str(), Some(head.as_str()));
    // The snapshot saved after the commit describes exactly that head.
    let conn = rusqlite::Connection::open(&ledger.db).expect("open sqlite");
    let (position, hash): (i64, Vec<u8>) = conn
        .query_row("SELECT position, head_hash FROM snapshots", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .expect("one snapshot");
    assert_eq!(u64::try_from(position).ok(), Some(events));
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    assert_eq!(hex, head);
}

// ---------------------------------------------------------------------------------------------
// The ECB's daily file and standard input
// ---------------------------------------------------------------------------------------------

/// `examples/eurofxref.csv`: the ECB's daily file, with the figures of the history's last day.
fn daily_rates() -> Vec<u8> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/eurofxref.csv");
    std::fs::read(path).expect("read examples/eurofxref.csv")
}

#[test]
fn given_the_ecb_daily_file_when_fx_imported_then_its_day_is_recorded() {
    let ledger = Ledger::new();
    let file = ledger.write("eurofxref.csv", daily_rates());
    let out = ledger
        .run(&["fx", "import", &file, "--format", "json"])
        .ok("fx import of the daily file");
    let v = out.json();
    assert_eq!(v["days"], 1, "{v}");
    assert_eq!(v["new_days"], 1, "{v}");
    assert_eq!(v["first_date"], "2026-10-30", "{v}");
    assert_eq!(v["currencies"].as_array().map(Vec::len), Some(29), "{v}");

    // The demo loads the history, whose last day has the same figures: nothing new, no conflict.
    let demo = Ledger::with_demo();
    let file = demo.write("eurofxref.csv", daily_rates());
    let v = demo
        .run(&["fx", "import", &file, "--format", "json"])
        .ok("fx import over the history")
        .json();
    assert_eq!(v["already_recorded"], 1, "{v}");
    assert_eq!(v["events_appended"], 0, "{v}");
}

#[test]
fn given_a_dash_when_importing_then_standard_input_is_read() {
    let ledger = Ledger::new();
    let v = ledger
        .run_with_stdin(&["fx", "import", "-", "--format", "json"], &daily_rates())
        .ok("fx import -")
        .json();
    assert_eq!(v["new_days"], 1, "{v}");
    assert_eq!(v["file"], "<stdin>", "{v}");

    let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/small-valid.csv");
    let csv = std::fs::read(fixture).expect("fixture");
    let v = ledger
        .run_with_stdin(&["import", "contributions", "-", "--format", "json"], &csv)
        .ok("import contributions -")
        .json();
    assert_eq!(v["new_stage_events"], 4, "{v}");

    // Errors in what came on standard input are located there.
    let bad = ledger.run_with_stdin(&["import", "contributions", "-"], b"event_id\n");
    assert_eq!(bad.code, 1);
    assert!(bad.stderr.contains("<stdin>:1"), "{}", bad.stderr);
}

#[test]
fn given_an_ecb_rate_file_when_imported_as_contributions_then_fx_import_is_suggested() {
    let ledger = Ledger::new();
    for (name, bytes) in [
        ("eurofxref.csv", daily_rates()),
        (
            "hist.csv",
            b"Date,USD,JPY,GBP,\n2026-10-30,1.1172,175.68,0.8338,\n".to_vec(),
        ),
    ] {
        let file = ledger.write(name, bytes);
        let out = ledger.import(&file, &[]);
        assert_eq!(out.code, 1, "{}", out.stderr);
        assert!(
            out.stderr.contains("steadfast fx import"),
            "points to the rate import:\n{}",
            out.stderr
        );
        assert!(!out.stderr.contains("did you mean"), "{}", out.stderr);
        assert!(!ledger.db.exists(), "nothing was recorded");
    }
}

// ---------------------------------------------------------------------------------------------
// Tables fit the terminal
// ---------------------------------------------------------------------------------------------

/// The widest line of a table (the lines before the first blank or note line), in characters.
fn widest_table_line(stdout: &str) -> usize {
    stdout
        .lines()
        .take_while(|l| !l.is_empty() && !l.starts_with('('))
        .map(|l| l.chars().count())
        .max()
        .unwrap_or(0)
}

#[test]
fn given_an_80_column_terminal_when_reporting_then_tables_fit_and_say_what_was_left_out() {
    let ledger = Ledger::with_demo();
    let at_width = |columns: Option<&str>, args: &[&str]| -> Out {
        let mut cmd = ledger.command();
        cmd.arg("--database").arg(&ledger.db).args(args);
        if let Some(c) = columns {
            cmd.env("COLUMNS", c);
        }
        output(&mut cmd).ok("report")
    };
    for args in [
        &["contributions", "list"][..],
        &["report", "gaps"],
        &["report", "fair-share"],
        &["contributions", "show", "ROU-2024-01"],
    ] {
        // The table proper starts after any title line: skip lines until the header rule.
        let table = |out: &Out| {
            let lines: Vec<&str> = out.stdout.lines().collect();
            let rule = lines
                .iter()
                .position(|l| l.starts_with('─'))
                .expect("a header rule");
            lines[rule - 1..].join("\n")
        };
        let piped = at_width(None, args);
        let narrow = at_width(Some("80"), args);
        let wide = at_width(Some("80"), &[args, &["--wide"]].concat());
        assert!(
            widest_table_line(&table(&piped)) > 80,
            "{args:?} is wide when piped"
        );
        assert!(!piped.stdout.contains("--wide shows"), "{args:?}");
        let fitted = table(&narrow);
        assert!(
            widest_table_line(&fitted) <= 80,
            "{args:?} at 80 columns:\n{fitted}"
        );
        let note = narrow
            .stdout
            .lines()
            .find(|l| l.starts_with("(left out to fit 80 columns: "))
            .unwrap_or_else(|| panic!("{args:?} names what it left out:\n{}", narrow.stdout));
        assert!(note.ends_with("; --wide shows every column)"), "{note}");
        assert_eq!(
            wide.stdout, piped.stdout,
            "{args:?}: --wide prints every column"
        );
    }
    // The columns go in the stated order: the least important first, only as many as needed.
    let list = at_width(Some("150"), &["contributions", "list"]);
    let note = list
        .stdout
        .lines()
        .find(|l| l.starts_with("(left out"))
        .expect("a note");
    assert!(
        note.starts_with("(left out to fit 150 columns: items"),
        "{note}"
    );
    assert!(!note.contains("recipient"), "{note}");
    let header = list.stdout.lines().next().expect("header");
    for kept in [
        "contribution",
        "donor",
        "recipient",
        "currency",
        "delivered",
    ] {
        assert!(header.contains(kept), "{kept} kept: {header}");
    }
}

// ---------------------------------------------------------------------------------------------
// Completions and the man page
// ---------------------------------------------------------------------------------------------

#[test]
fn given_a_shell_when_asking_for_completions_then_the_script_covers_the_commands_and_flags() {
    let ledger = Ledger::new();
    let bash = output(ledger.command().args(["completions", "bash"])).ok("completions bash");
    assert!(bash.stdout.contains("_steadfast()"), "{}", bash.stdout);
    for word in [
        "contributions",
        "fair-share",
        "--fx-policy",
        "--wide",
        "--database",
    ] {
        assert!(bash.stdout.contains(word), "bash completes {word}");
    }
    for shell in ["zsh", "fish", "elvish", "powershell"] {
        let out = output(ledger.command().args(["completions", shell])).ok(shell);
        assert!(
            out.stdout.contains("fair-share"),
            "{shell}:\n{}",
            out.stdout
        );
    }
    let unknown = output(ledger.command().args(["completions", "tcsh"]));
    assert_eq!(unknown.code, 2, "a usage error");
    assert!(unknown.stderr.contains("bash"), "{}", unknown.stderr);
    assert!(!ledger.db.exists() && !ledger.path("steadfast.sqlite").exists());
}

#[test]
fn given_the_man_command_then_a_roff_page_describes_the_commands() {
    let ledger = Ledger::new();
    let man = output(ledger.command().arg("man")).ok("man");
    assert!(man.stdout.contains(".TH steadfast 1"), "{}", man.stdout);
    for section in [".SH NAME", ".SH SYNOPSIS", ".SH OPTIONS", ".SH SUBCOMMANDS"] {
        assert!(man.stdout.contains(section), "{section}");
    }
    // From the same definitions as --help: the global flags and every command.
    for word in [
        "\\-\\-wide",
        "\\-\\-database",
        "steadfast\\-import",
        "steadfast\\-completions",
        "steadfast\\-man",
    ] {
        assert!(man.stdout.contains(word), "{word}:\n{}", man.stdout);
    }
    assert!(!ledger.path("steadfast.sqlite").exists(), "opens no ledger");
}

#[test]
fn given_help_when_asked_then_the_fx_policy_values_are_listed() {
    let ledger = Ledger::new();
    for command in [
        &["report", "gaps", "--help"][..],
        &["report", "fair-share", "--help"],
        &["contributions", "show", "--help"],
    ] {
        let help = output(ledger.command().args(command)).ok("help");
        for value in ["event-date", "period-average"] {
            assert!(
                help.stdout.contains(value),
                "{command:?} lists {value}:\n{}",
                help.stdout
            );
        }
    }
    let wrong = output(
        ledger
            .command()
            .args(["report", "gaps", "--fx-policy", "monthly"]),
    );
    assert_eq!(wrong.code, 2);
    assert!(
        wrong.stderr.contains("event-date") && wrong.stderr.contains("period-average"),
        "{}",
        wrong.stderr
    );
}

#[test]
fn given_a_command_that_opens_no_ledger_when_database_is_given_then_it_is_refused() {
    let ledger = Ledger::new();
    let out_csv = ledger.path("s.csv");
    let out_csv = out_csv.to_str().expect("utf-8");
    let synth = ["synth", "--events", "3", "--seed", "1", "--out", out_csv];
    for (args, command) in [
        (&synth[..], "synth"),
        (&["completions", "bash"][..], "completions"),
        (&["man"][..], "man"),
    ] {
        for flag in ["--database", "--db"] {
            let out = output(ledger.command().args([flag, "x.sqlite"]).args(args));
            assert_eq!(out.code, 2, "{args:?} {flag}: {}", out.stderr);
            assert!(
                out.stderr.contains(&format!(
                    "`steadfast {command}` opens no ledger; leave out --database"
                )),
                "{}",
                out.stderr
            );
        }
    }
    assert!(!ledger.path("s.csv").exists(), "nothing written");
    // The environment's ledger is not a flag given to this command: synth still runs.
    output(
        ledger
            .command()
            .env("STEADFAST_DATABASE", "x.sqlite")
            .args(synth),
    )
    .ok("synth");
    assert!(!ledger.path("x.sqlite").exists());
}

#[test]
fn given_from_after_to_when_listing_then_it_is_an_error_naming_both() {
    let ledger = Ledger::with_demo();
    let out = ledger.run(&[
        "contributions",
        "list",
        "--from",
        "2024-05-01",
        "--to",
        "2024-01-01",
    ]);
    assert_eq!(out.code, 2, "{}", out.stderr);
    assert!(
        out.stderr
            .contains("--from 2024-05-01 is after --to 2024-01-01"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    // The same day at both ends is a range.
    let same = ledger.run(&[
        "contributions",
        "list",
        "--from",
        "2024-05-01",
        "--to",
        "2024-05-01",
    ]);
    assert_eq!(same.code, 0, "{}", same.stderr);
}

#[test]
fn given_a_file_already_recorded_when_imported_again_then_it_says_nothing_new() {
    let ledger = Ledger::new();
    let file = ledger.fixture("small-valid.csv");
    let first = ledger.import(&file, &[]).ok("first import");
    assert!(
        first.stdout.contains("imported small-valid.csv"),
        "{}",
        first.stdout
    );
    let again = ledger.import(&file, &[]).ok("second import");
    assert!(
        again
            .stdout
            .contains("nothing new in small-valid.csv: 4 row(s) already recorded"),
        "{}",
        again.stdout
    );
    assert!(!again.stdout.contains("imported"), "{}", again.stdout);

    let rates = ledger.write("eurofxref.csv", daily_rates());
    ledger.run(&["fx", "import", &rates]).ok("rates");
    let again = ledger.run(&["fx", "import", &rates]).ok("rates again");
    assert!(
        again
            .stdout
            .contains("nothing new in eurofxref.csv: 1 day(s) already recorded"),
        "{}",
        again.stdout
    );
}

#[test]
fn given_a_read_only_ledger_with_the_scenario_loaded_when_demo_runs_then_it_reports_reading_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let ledger = Ledger::with_demo();
    let before = std::fs::read(&ledger.db).expect("read");
    let chmod = |path: &Path, mode: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
    };
    // Readable by anyone, writable by no one (`chmod a-w` on the file and its folder).
    chmod(&ledger.db, 0o444);
    chmod(ledger.dir.path(), 0o555);
    // Root writes whatever the mode says: run as `nobody` then, for the mode to count.
    let root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let mut cmd = if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "nobody", "--", common::BIN]);
        c
    } else {
        Command::new(common::BIN)
    };
    cmd.current_dir(ledger.dir.path())
        .env_remove("STEADFAST_DATABASE")
        .env_remove("COLUMNS")
        .arg("--database")
        .arg(&ledger.db)
        .arg("demo");
    let out = cmd.output();
    chmod(ledger.dir.path(), 0o755);
    chmod(&ledger.db, 0o644);
    let out: Out = match out {
        Ok(out) => out.into(),
        Err(e) if root => {
            eprintln!("skipped: cannot run as nobody ({e})");
            return;
        }
        Err(e) => panic!("run steadfast: {e}"),
    };
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stdout.contains("already loaded"), "{}", out.stdout);
    assert!(
        out.stdout.contains("Fair shares of washington-2024"),
        "{}",
        out.stdout
    );
    assert_eq!(
        std::fs::read(&ledger.db).expect("read"),
        before,
        "nothing written"
    );
}
