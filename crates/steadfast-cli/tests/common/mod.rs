//! What the CLI's black-box test files share: running the real binary and reading what it
//! printed (each test binary uses some of it).
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_steadfast");

/// What a run of the binary produced.
#[derive(Debug)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// The run, checked to have succeeded (`what` names it in the failure).
    #[track_caller]
    pub fn ok(self, what: &str) -> Self {
        assert_eq!(
            self.code, 0,
            "{what} failed:\nstdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    #[track_caller]
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}", self.stdout))
    }
}

impl From<std::process::Output> for Out {
    fn from(out: std::process::Output) -> Self {
        Out {
            code: out.status.code().expect("exit code"),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

pub fn output(cmd: &mut Command) -> Out {
    cmd.output().expect("run steadfast").into()
}

/// The binary, run in `dir`, blind to the caller's `STEADFAST_DATABASE` and `COLUMNS` (which
/// would narrow its tables).
pub fn steadfast_in(dir: &Path) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.current_dir(dir)
        .env_remove("STEADFAST_DATABASE")
        .env_remove("COLUMNS");
    cmd
}
