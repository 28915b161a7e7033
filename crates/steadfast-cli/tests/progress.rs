//! Progress of an import: on a terminal, a bar per phase with a percentage and the time left,
//! and a one-line summary at the end; on a pipe, nothing at all on standard error.

mod common;

use std::process::Command;

use common::{BIN, output, steadfast_in};

fn synthetic(dir: &std::path::Path, events: &str) {
    output(steadfast_in(dir).args([
        "synth", "--events", events, "--seed", "5", "--out", "big.csv",
    ]))
    .ok("synth");
}

#[test]
fn given_a_pipe_when_importing_then_nothing_is_drawn_on_standard_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic(dir.path(), "30000");
    let out = output(steadfast_in(dir.path()).args([
        "--db",
        "l.sqlite",
        "import",
        "contributions",
        "big.csv",
    ]))
    .ok("import");
    assert_eq!(out.stderr, "", "a pipe gets no progress");
    assert!(out.stdout.contains("imported big.csv"), "{}", out.stdout);
}

#[test]
fn given_a_terminal_when_importing_then_each_phase_has_a_bar_and_the_end_a_summary() {
    // `script` (util-linux) gives the import a pseudo-terminal, as a user's shell would.
    let has_script = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    assert!(
        has_script,
        "this test needs `script` from util-linux (Debian: bsdutils)"
    );
    let dir = tempfile::tempdir().expect("tempdir");
    synthetic(dir.path(), "60000");
    let command = format!("{BIN} --db l.sqlite import contributions big.csv");
    let out = Command::new("script")
        .args(["-qec", &command, "/dev/null"])
        .current_dir(dir.path())
        .env_remove("STEADFAST_DATABASE")
        .env("COLUMNS", "160")
        .output()
        .expect("script runs");
    assert!(out.status.success(), "{out:?}");
    // What the terminal received, without its control sequences.
    let raw = String::from_utf8_lossy(&out.stdout).replace('\r', "\n");
    let mut text = String::new();
    let mut escape = false;
    for c in raw.chars() {
        match (escape, c) {
            (false, '\u{1b}') => escape = true,
            (true, c) if c.is_ascii_alphabetic() => escape = false,
            (true, _) => {}
            (false, c) => text.push(c),
        }
    }
    for phase in ["reading", "checking rows against the ledger"] {
        assert!(
            text.lines()
                .any(|l| l.contains(phase) && l.contains('%') && l.contains("left")),
            "no bar with a percentage and the time left for {phase}:\n{text}"
        );
    }
    let summary = text
        .lines()
        .find(|l| l.contains("imported in"))
        .unwrap_or_else(|| panic!("no summary line:\n{text}"));
    for part in [
        "reading 60000 rows",
        "checking rows against the ledger",
        "writing",
    ] {
        assert!(summary.contains(part), "{part}: {summary}");
    }
    assert!(text.contains("imported big.csv"), "{text}");
}
