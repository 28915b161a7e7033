//! The README's tour, run as a new user would: every line of its `sh` block, in order, in a
//! fresh directory holding the repository's `examples/` and `data/`, with `steadfast` the
//! binary under test. A line that fails, or a tour that no longer says what the README
//! promises, fails this test.

use std::path::{Path, PathBuf};
use std::process::Command;

fn repository() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The lines of the first `sh` block after the `## A short tour` heading.
fn tour_lines() -> Vec<String> {
    let readme = std::fs::read_to_string(repository().join("README.md")).expect("README.md");
    let tour = readme
        .split_once("## A short tour")
        .expect("the README has a tour")
        .1;
    let block = tour
        .split_once("```sh\n")
        .expect("the tour has an sh block")
        .1
        .split_once("```")
        .expect("the block ends")
        .0;
    block
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn every_line_of_the_readme_tour_works_in_order_on_a_fresh_clone() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bin = dir.path().join("bin");
    std::fs::create_dir(&bin).expect("bin dir");
    #[cfg(unix)]
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_steadfast"), bin.join("steadfast"))
        .expect("link the binary");
    let work = dir.path().join("clone");
    std::fs::create_dir(&work).expect("work dir");
    for shared in ["examples", "data"] {
        #[cfg(unix)]
        std::os::unix::fs::symlink(repository().join(shared), work.join(shared)).expect("link");
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let lines = tour_lines();
    assert!(lines.len() >= 10, "the tour is short: {lines:?}");
    // One shell runs the whole tour, so variables set by a line reach the next; each line's
    // status and output are reported with a marker.
    let mut script = String::from("set -u\n");
    for (i, line) in lines.iter().enumerate() {
        script += &format!(
            "echo '>>> {i}'\n{line}\nstatus=$?\necho \"<<< {i} $status\"\nif [ $status -ne 0 ]; then exit $status; fi\n"
        );
    }
    let out = Command::new("sh")
        .arg("-c")
        .arg(&script)
        .current_dir(&work)
        .env("PATH", path)
        .env_remove("STEADFAST_DATABASE")
        .env("COLUMNS", "100")
        .output()
        .expect("sh runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "a tour line failed:\n{stdout}\n--- stderr\n{stderr}"
    );
    let output_of = |i: usize| -> &str {
        let start = stdout
            .find(&format!(">>> {i}\n"))
            .unwrap_or_else(|| panic!("line {i} did not run"));
        let end = stdout.find(&format!("<<< {i} 0")).expect("line ended");
        &stdout[start..end]
    };
    let find = |needle: &str| {
        lines
            .iter()
            .position(|l| l.contains(needle))
            .unwrap_or_else(|| panic!("no tour line with {needle}"))
    };
    assert!(output_of(0).contains("Fair shares of washington-2024"));
    assert!(output_of(1).contains("already loaded") && output_of(1).contains("nothing changed"));
    let reimport = find("import tracker");
    assert!(
        output_of(reimport).contains("nothing new"),
        "{}",
        output_of(reimport)
    );
    let before = find("--as-known-on");
    assert!(
        output_of(before).contains("0 met") && output_of(before).contains("as known on"),
        "{}",
        output_of(before)
    );
    let now = before + 1;
    assert!(output_of(now).contains(" NLD "), "{}", output_of(now));
    assert!(
        !output_of(now).contains("0 met, 0 short"),
        "{}",
        output_of(now)
    );
}
