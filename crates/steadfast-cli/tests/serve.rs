//! `steadfast serve` as a user runs it: it says where it listens, answers, refuses a second
//! server on the same ledger, takes its settings from the file, the environment and the flags
//! (refusing bad ones with their source), and stops cleanly on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::process::{Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_steadfast");

fn steadfast(dir: &Path) -> Command {
    let mut command = Command::new(BIN);
    command.current_dir(dir).env_remove("STEADFAST_DATABASE");
    for name in steadfast_server::settings::ENVIRONMENT {
        command.env_remove(name);
    }
    command
}

fn http_get(address: &str, path: &str) -> String {
    let mut stream = TcpStream::connect(address).expect("connect");
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("read");
    answer
}

#[test]
fn a_served_ledger_answers_refuses_a_second_server_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let demo = steadfast(dir.path()).arg("demo").output().expect("demo");
    assert!(
        demo.status.success(),
        "{}",
        String::from_utf8_lossy(&demo.stderr)
    );

    let mut server = steadfast(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("first line");
    let address = line
        .trim()
        .strip_prefix("listening on http://")
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"))
        .to_owned();

    let health = http_get(&address, "/healthz");
    assert!(health.starts_with("HTTP/1.1 200"), "{health}");
    let head = http_get(&address, "/api/v1/log/head");
    assert!(head.contains("\"position\":"), "{head}");

    let second = steadfast(dir.path())
        .args(["serve", "--listen", "127.0.0.1:0"])
        .output()
        .expect("second");
    assert_eq!(second.status.code(), Some(1));
    let said = String::from_utf8_lossy(&second.stderr);
    assert!(
        said.contains("is already served by another process"),
        "{said}"
    );
    assert_eq!(
        said.matches("already served").count(),
        1,
        "said once: {said}"
    );

    let killed = Command::new("kill")
        .args(["-TERM", &server.id().to_string()])
        .status()
        .expect("kill");
    assert!(killed.success());
    let status = server.wait().expect("wait");
    assert!(status.success(), "{status:?}");
    let mut log = String::new();
    server
        .stderr
        .take()
        .expect("stderr")
        .read_to_string(&mut log)
        .expect("log");
    // Structured logs: one JSON object a line, the request's id on each request's line.
    assert!(
        log.lines()
            .all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()),
        "{log}"
    );
    assert!(log.contains("\"id\":\"req-"), "{log}");
    assert!(log.contains("stopping"), "{log}");
}

#[test]
fn settings_come_from_the_file_the_environment_and_the_flags_and_bad_ones_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let example = steadfast(dir.path())
        .args(["config", "example"])
        .output()
        .expect("example");
    assert!(example.status.success());
    let text = String::from_utf8_lossy(&example.stdout);
    assert!(text.contains("listen = \"127.0.0.1:8080\""), "{text}");

    // The file speaks first; the environment overrides it: both refused with their source.
    std::fs::write(
        dir.path().join("steadfast.toml"),
        "listen = \"0.0.0.0:8080\"\n",
    )
    .expect("toml");
    let refused = steadfast(dir.path()).arg("serve").output().expect("serve");
    assert_eq!(refused.status.code(), Some(1));
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("listen: 0.0.0.0:8080 is not a loopback address"),
        "{said}"
    );

    let refused = steadfast(dir.path())
        .arg("serve")
        .env("STEADFAST_REQUEST_TIMEOUT_SECONDS", "soon")
        .output()
        .expect("serve");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("STEADFAST_REQUEST_TIMEOUT_SECONDS: `soon` is not a number of seconds"),
        "{said}"
    );

    std::fs::write(dir.path().join("steadfast.toml"), "port = 8080\n").expect("toml");
    let refused = steadfast(dir.path()).arg("serve").output().expect("serve");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        said.contains("steadfast.toml") && said.contains("port"),
        "{said}"
    );

    // A flag overrides the file and the environment; no ledger there is said by its path.
    std::fs::write(
        dir.path().join("steadfast.toml"),
        "listen = \"0.0.0.0:8080\"\n",
    )
    .expect("toml");
    let refused = steadfast(dir.path())
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--database",
            "absent.sqlite",
        ])
        .env("STEADFAST_LISTEN", "0.0.0.0:9")
        .output()
        .expect("serve");
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(said.contains("absent.sqlite"), "{said}");
    assert!(!said.contains("loopback"), "{said}");
}
