//! Ctrl-C during an import: SIGINT sent to a real `steadfast import contributions` of a large
//! synthetic file, at moments spread over the run (reading, checking, writing, committing). The
//! process must either stop before the commit, exit with 130 and say that nothing was recorded
//! (and nothing was), or — once committed — finish and print its result (and all of the file is
//! there). It never exits silently, and it leaves no large write-ahead log behind.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

mod common;

use common::{BIN, Out, output};

const ROWS: u64 = 40_000;

fn steadfast(args: &[&str]) -> Out {
    output(
        Command::new(BIN)
            .args(args)
            .env_remove("STEADFAST_DATABASE")
            .stdin(Stdio::null()),
    )
}

/// `log verify`: must succeed with an intact chain; returns the number of events.
fn events_in(db: &str) -> u64 {
    let out = steadfast(&["--database", db, "log", "verify", "--format", "json"]).ok("log verify");
    let v = out.json();
    assert_eq!(v["ok"], Value::Bool(true), "{v}");
    v["events_verified"].as_u64().expect("events_verified")
}

fn wal_bytes(db: &str) -> Option<u64> {
    std::fs::metadata(format!("{db}-wal")).ok().map(|m| m.len())
}

/// Starts the import and sends it SIGINT after `delay` (unless it finished first).
fn import_interrupted_after(db: &str, file: &Path, delay: Duration) -> (Out, bool) {
    let mut child = Command::new(BIN)
        .args(["--database", db, "import", "contributions"])
        .arg(file)
        .args(["--format", "json"])
        .env_remove("STEADFAST_DATABASE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn steadfast");
    let started = Instant::now();
    let mut finished_first = false;
    while started.elapsed() < delay {
        if child.try_wait().expect("try_wait").is_some() {
            finished_first = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    if !finished_first {
        // What a terminal sends on Ctrl-C (the `kill` utility: no unsafe code in tests).
        let sent = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()
            .expect("run kill");
        assert!(sent.success(), "kill -INT failed");
    }
    let out = child.wait_with_output().expect("wait");
    let code = out.status.code();
    assert!(
        code.is_some(),
        "the import was killed by a signal after {delay:?}: {:?}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    (out.into(), finished_first)
}

fn copy(from: &Path, to: &Path) -> String {
    std::fs::copy(from, to).expect("copy ledger");
    to.to_str().expect("utf-8 path").to_owned()
}

#[test]
fn an_import_interrupted_at_any_moment_says_nothing_was_recorded_or_prints_its_result() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = |name: &str| dir.path().join(name);
    let file = |name: &str| path(name).to_str().expect("utf-8 path").to_owned();
    let synth = |rows: u64, seed: u64, name: &str| {
        let (rows, seed, out) = (rows.to_string(), seed.to_string(), file(name));
        steadfast(&["synth", "--events", &rows, "--seed", &seed, "--out", &out]).ok("synth");
    };
    synth(ROWS, 11, "big.csv");
    synth(20, 12, "small.csv");

    // A ledger that already holds something, copied before each run.
    let start = file("start.sqlite");
    steadfast(&[
        "--database",
        &start,
        "import",
        "contributions",
        &file("small.csv"),
    ])
    .ok("small import");
    let before = events_in(&start);
    assert!(wal_bytes(&start).is_none(), "closed clean");

    // How long a whole import takes here, and what it appends.
    let calibration = copy(&path("start.sqlite"), &path("calibration.sqlite"));
    let started = Instant::now();
    let whole = steadfast(&[
        "--database",
        &calibration,
        "import",
        "contributions",
        &file("big.csv"),
        "--format",
        "json",
    ])
    .ok("full import");
    let took = started.elapsed();
    let full = whole.json()["events_appended"]
        .as_u64()
        .expect("events_appended");
    assert_eq!(events_in(&calibration), before + full);

    let mut outcomes = Vec::new();
    for (i, fraction) in [0.15, 0.5, 0.7, 0.8, 0.9, 1.5].into_iter().enumerate() {
        let db = copy(&path("start.sqlite"), &path(&format!("run-{i}.sqlite")));
        let delay = took.mul_f64(fraction);
        let (out, finished_first) = import_interrupted_after(&db, &path("big.csv"), delay);
        let events = events_in(&db);
        eprintln!(
            "SIGINT after {delay:?}: exit {}, {} events{}",
            out.code,
            events - before,
            if finished_first {
                " (finished first)"
            } else {
                ""
            }
        );
        match out.code {
            130 => {
                assert!(
                    out.stderr.contains("interrupted: nothing from")
                        && out.stderr.contains("big.csv was recorded"),
                    "the interruption must say nothing was recorded:\n{}",
                    out.stderr
                );
                assert_eq!(events, before, "interrupted, yet events were recorded");
                assert!(
                    out.stdout.is_empty(),
                    "no result for nothing: {}",
                    out.stdout
                );
            }
            0 => {
                assert_eq!(
                    out.json()["events_appended"].as_u64(),
                    Some(full),
                    "the result is printed"
                );
                assert_eq!(events, before + full, "the whole file is recorded");
            }
            other => panic!(
                "exit {other} after SIGINT at {delay:?}:\nstdout:\n{}\nstderr:\n{}",
                out.stdout, out.stderr
            ),
        }
        let wal = wal_bytes(&db).unwrap_or(0);
        assert!(
            wal < 1 << 20,
            "{wal} bytes of -wal left after a normal exit"
        );
        outcomes.push(out.code);
    }
    // Early in the run the import is still reading or checking: it must stop there.
    assert_eq!(outcomes[0], 130, "{outcomes:?}");
    // Given time to finish, it finishes.
    assert_eq!(outcomes.last(), Some(&0), "{outcomes:?}");
}
