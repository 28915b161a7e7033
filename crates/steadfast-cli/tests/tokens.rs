//! `steadfast token create | list | revoke` as an administrator runs them: the token is
//! printed once, alone on the last line, never listed; a revoked token is listed as revoked.

use std::path::Path;
use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_steadfast");

fn steadfast(dir: &Path, args: &[&str]) -> Output {
    Command::new(BIN)
        .current_dir(dir)
        .env_remove("STEADFAST_DATABASE")
        .args(args)
        .output()
        .expect("runs")
}

fn stdout(output: &Output) -> String {
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout.clone()).expect("utf-8")
}

#[test]
fn a_token_is_shown_once_listed_without_its_secret_and_revoked() {
    let dir = tempfile::tempdir().expect("dir");
    stdout(&steadfast(dir.path(), &["demo"]));
    let created = stdout(&steadfast(
        dir.path(),
        &[
            "token",
            "create",
            "--role",
            "donor",
            "--party",
            "POL",
            "--name",
            "Polish liaison",
        ],
    ));
    let secret = created.lines().last().expect("a last line").to_owned();
    assert!(secret.starts_with("sf_") && secret.len() == 67, "{created}");
    let id = created
        .split_whitespace()
        .nth(1)
        .expect("the id")
        .trim_end_matches(':')
        .to_owned();
    assert!(id.starts_with("T-"), "{created}");

    let listed = stdout(&steadfast(
        dir.path(),
        &["token", "list", "--format", "json"],
    ));
    assert!(!listed.contains(&secret), "{listed}");
    let json: serde_json::Value = serde_json::from_str(&listed).expect("json");
    assert_eq!(json["rows"][0]["token"], id.as_str());
    assert_eq!(json["rows"][0]["role"], "donor");
    assert_eq!(json["rows"][0]["party"], "POL");
    assert_eq!(json["rows"][0]["status"], "active");

    let refused = steadfast(dir.path(), &["token", "create", "--role", "donor"]);
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("party") && said.contains("acts for one party"),
        "{said}"
    );

    let revoked = stdout(&steadfast(dir.path(), &["token", "revoke", &id]));
    assert!(revoked.contains("revoked"), "{revoked}");
    let again = stdout(&steadfast(dir.path(), &["token", "revoke", &id]));
    assert!(again.contains("already revoked"), "{again}");
    let table = stdout(&steadfast(dir.path(), &["token", "list"]));
    assert!(table.contains("revoked 20"), "{table}");

    let unknown = steadfast(dir.path(), &["token", "revoke", "T-000000000000"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unknown.stderr).contains("no token T-000000000000"));
}
