//! The crash test: an import killed at any moment (SIGKILL, no chance to clean up) leaves the
//! ledger either exactly as it was or with the whole file recorded, never a part of it, and the
//! hash chain always verifies.
//!
//! A valid 100,000-row file (synthetic test input: 33,334 contributions, each announced,
//! committed and delivered, except the last which is only announced) is imported into a ledger
//! that already holds a small import, and the `steadfast` process is killed after various delays,
//! some fixed and some measured as fractions of how long a full import takes on this machine
//! (so that kills also land while the batch is being written and committed).

use std::fmt::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_steadfast");

const HEADER: &str = "event_id,contribution_id,donor,recipient,stage,effective_date,amount,currency,category,channel,visibility,quantity,unit,valuation_basis,amends,reason,source_url,description";

const ROWS: u64 = 100_000;
const DONORS: [&str; 10] = [
    "DEU", "USA", "GBR", "FRA", "NLD", "POL", "CAN", "NOR", "SWE", "DNK",
];
const STAGES: [&str; 3] = ["announced", "committed", "delivered"];

/// Writes the big file; returns (rows, contributions).
fn write_big_csv(path: &Path) -> (u64, u64) {
    let mut text = String::with_capacity(14 * 1024 * 1024);
    text.push_str(HEADER);
    text.push('\n');
    let mut rows = 0u64;
    let mut contributions = 0u64;
    let mut c = 0u64;
    while rows < ROWS {
        contributions += 1;
        let donor = DONORS[usize::try_from(c % 10).expect("small")];
        let month = 1 + c % 12;
        let day = 1 + (c / 12) % 25;
        let amount = 1_000 + (c * 7_919) % 9_000_000;
        for (s, stage) in STAGES.iter().enumerate() {
            if rows == ROWS {
                break;
            }
            // Deliveries are a part of the commitment.
            let amount = if *stage == "delivered" {
                amount / 2
            } else {
                amount
            };
            writeln!(
                text,
                "BIG-{c}-{s},BIG-{c},{donor},UKR,{stage},2024-{month:02}-{:02},{amount}.{:02},EUR,equipment-purchase,bilateral,public,,,,,,https://example.org/big/{c},Synthetic test package {c}",
                day + s as u64,
                c % 100,
            )
            .expect("write to string");
            rows += 1;
        }
        c += 1;
    }
    std::fs::write(path, text).expect("write big csv");
    (rows, contributions)
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(BIN)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run steadfast");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}):\n{stdout}"))
}

/// `log verify --format json`: must succeed with an intact chain; returns (events, head hash).
fn verify(db: &str) -> (u64, String) {
    let (code, stdout, stderr) = run(&["--database", db, "log", "verify", "--format", "json"]);
    assert_eq!(code, 0, "log verify failed:\n{stdout}\n{stderr}");
    let v = json(&stdout);
    assert_eq!(v["ok"], Value::Bool(true), "{v}");
    assert_eq!(v["first_break"], Value::Null, "{v}");
    let events = v["events_verified"].as_u64().expect("events_verified");
    assert_eq!(v["log_head"]["position"].as_u64(), Some(events), "{v}");
    let head = v["log_head"]["hash"]
        .as_str()
        .expect("head hash")
        .to_owned();
    (events, head)
}

/// `import contributions FILE --format json`: must succeed; returns the outcome.
fn import(db: &str, file: &Path) -> Value {
    let file = file.to_str().expect("utf-8 path");
    let (code, stdout, stderr) = run(&[
        "--database",
        db,
        "import",
        "contributions",
        file,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "import failed:\n{stdout}\n{stderr}");
    json(&stdout)
}

/// Starts the big import and kills it after `delay`; returns whether it had already finished
/// (and with which exit code).
fn import_killed_after(db: &str, file: &Path, delay: Duration) -> Option<i32> {
    let mut child = Command::new(BIN)
        .args(["--database", db, "import", "contributions"])
        .arg(file)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn steadfast");
    let started = Instant::now();
    // Poll rather than sleep, so a finished child is noticed (and not "killed" after the fact).
    while started.elapsed() < delay {
        if let Some(status) = child.try_wait().expect("try_wait") {
            return Some(status.code().unwrap_or(-1));
        }
        std::thread::sleep(Duration::from_millis(5).min(delay));
    }
    // SIGKILL on Unix: no destructor, no rollback, no checkpoint runs.
    child.kill().expect("kill");
    let status = child.wait().expect("wait");
    if status.success() { Some(0) } else { None }
}

/// Copies a closed ledger file (and its write-ahead log, should one be left).
fn copy_ledger(from: &Path, to: &Path) {
    std::fs::copy(from, to).expect("copy ledger");
    for suffix in ["-wal", "-shm"] {
        let mut src = from.as_os_str().to_owned();
        src.push(suffix);
        let mut dst = to.as_os_str().to_owned();
        dst.push(suffix);
        if Path::new(&src).exists() {
            std::fs::copy(&src, &dst).expect("copy ledger sidecar");
        }
    }
}

/// Kills the big import after `delay`, then checks the ledger holds the pre-import events (at
/// the pre-import head) or all of the file. Returns whether the file is recorded.
fn kill_and_check(
    db: &str,
    big: &Path,
    delay: Duration,
    (pre_events, pre_head): (u64, &str),
    full: u64,
    already_recorded: bool,
) -> bool {
    let finished = import_killed_after(db, big, delay);
    // How much the killed process had written to the write-ahead log (for the record).
    let wal = std::fs::metadata(format!("{db}-wal")).map_or(0, |m| m.len());
    let (events, head) = verify(db);
    eprintln!(
        "kill after {delay:?}: {wal} bytes of WAL left, {events} events, {}",
        match finished {
            Some(code) => format!("finished first with exit code {code}"),
            None => "killed".to_owned(),
        }
    );
    if events == pre_events {
        assert!(
            !already_recorded,
            "events disappeared after a kill at {delay:?}"
        );
        assert_eq!(head, pre_head, "a kill at {delay:?} changed the head");
        if let Some(code) = finished {
            assert_ne!(
                code, 0,
                "an import that finished at {delay:?} recorded nothing"
            );
        }
        false
    } else {
        assert_eq!(
            events,
            pre_events + full,
            "a kill at {delay:?} left part of the file recorded"
        );
        true
    }
}

#[test]
fn an_import_killed_at_any_moment_records_all_of_the_file_or_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db_path = dir.path().join("ledger.sqlite");
    let db = db_path.to_str().expect("utf-8 path").to_owned();

    // A non-empty ledger to start from.
    let small = dir.path().join("small.csv");
    std::fs::write(
        &small,
        format!(
            "{HEADER}\n\
             S-1-a,S-1,DEU,UKR,announced,2024-01-10,1000000,EUR,equipment-purchase,bilateral,public,,,,,,,Small package\n\
             S-1-b,S-1,DEU,UKR,committed,2024-01-20,1000000,EUR,equipment-purchase,bilateral,public,,,,,,,Small package\n\
             S-2-a,S-2,NOR,UKR,delivered,2024-02-01,500,NOK,in-kind-donation,bilateral,public,,,declared,,,,\n"
        ),
    )
    .expect("write small csv");
    let small_outcome = import(&db, &small);
    assert_eq!(small_outcome["events_appended"].as_u64(), Some(5));
    let (pre_events, pre_head) = verify(&db);
    assert_eq!(pre_events, 5);

    let big = dir.path().join("big.csv");
    let (rows, contributions) = write_big_csv(&big);
    assert_eq!(rows, ROWS);
    let full = rows + contributions;
    assert_eq!(full, 133_334);

    // A copy of the ledger as it stands before the big import, to start other runs from.
    let snapshot = dir.path().join("pre-import.sqlite");
    copy_ledger(&db_path, &snapshot);
    let fresh_copy = |name: &str| {
        let path = dir.path().join(name);
        copy_ledger(&snapshot, &path);
        path.to_str().expect("utf-8 path").to_owned()
    };

    // How long a whole import takes here, on a copy.
    let calib = fresh_copy("calibration.sqlite");
    let started = Instant::now();
    let outcome = import(&calib, &big);
    let whole = started.elapsed();
    assert_eq!(outcome["events_appended"].as_u64(), Some(full));
    assert_eq!(verify(&calib).0, pre_events + full);

    // Kills after fixed delays, all on the same ledger.
    let mut recorded = false;
    for delay in [50, 300, 1_000, 2_000].map(Duration::from_millis) {
        recorded |= kill_and_check(&db, &big, delay, (pre_events, &pre_head), full, recorded);
    }

    // Kills late in the run, where the batch is being written and committed: each on a fresh
    // copy of the pre-import ledger so that every one of them can still land mid-write.
    for (i, fraction) in [0.55, 0.7, 0.76, 0.8, 0.84, 0.9].into_iter().enumerate() {
        let copy = fresh_copy(&format!("kill-{i}.sqlite"));
        let delay = whole.mul_f64(fraction);
        kill_and_check(&copy, &big, delay, (pre_events, &pre_head), full, false);
    }

    // Whatever the kills left, a full run completes the file, and a second run is a no-op.
    let outcome = import(&db, &big);
    let appended = outcome["events_appended"]
        .as_u64()
        .expect("events_appended");
    assert_eq!(appended, if recorded { 0 } else { full });
    let (events, head) = verify(&db);
    assert_eq!(events, pre_events + full);

    let again = import(&db, &big);
    assert_eq!(again["events_appended"].as_u64(), Some(0), "{again}");
    assert_eq!(again["already_recorded"].as_u64(), Some(rows), "{again}");
    assert_eq!(again["new_stage_events"].as_u64(), Some(0), "{again}");
    assert_eq!(verify(&db), (events, head));
}
