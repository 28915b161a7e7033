//! The SQLite store passes the conformance suite; durability settings, reopening, foreign files
//! and tampering are checked on real files.

use std::sync::Arc;

use steadfast_store::conformance::event;
use steadfast_store::{AppendRequest, EventStore, ManualClock, StoreError, verify};
use steadfast_store_sqlite::{OpenMode, SqliteStore};
use tempfile::TempDir;

fn sqlite(clock: Arc<ManualClock>) -> (SqliteStore, TempDir) {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open_with_clock(
        &dir.path().join("ledger.sqlite"),
        OpenMode::CreateIfMissing,
        clock,
    )
    .expect("open");
    (store, dir)
}

steadfast_store::conformance_suite!(sqlite);

fn batch(n: u8) -> AppendRequest {
    AppendRequest {
        events: (0..n).map(|i| event("s", None, &[i])).collect(),
        expected: Vec::new(),
    }
}

#[test]
fn opens_in_wal_with_synchronous_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        SqliteStore::open(&dir.path().join("l.sqlite"), OpenMode::CreateIfMissing).expect("open");
    let mode: String = store
        .connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("pragma");
    let sync: i64 = store
        .connection()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!((mode.as_str(), sync), ("wal", 2));
}

#[test]
fn a_reopened_ledger_has_the_same_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    let head = {
        let mut store = SqliteStore::open(&path, OpenMode::CreateIfMissing).expect("open");
        store.append(batch(3)).expect("append");
        store.head().expect("head")
    };
    let store = SqliteStore::open(&path, OpenMode::MustExist).expect("reopen");
    assert_eq!(store.head().expect("head"), head);
    assert!(
        verify(&store, head.map(|h| h.hash), &mut |_| {})
            .expect("verify")
            .is_ok()
    );
}

#[test]
fn a_missing_ledger_is_not_created_when_it_must_exist() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("absent.sqlite");
    let err = SqliteStore::open(&path, OpenMode::MustExist).expect_err("missing");
    assert!(matches!(err, StoreError::NotFound(_)));
    assert!(!path.exists());
}

#[test]
fn foreign_files_are_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "this is not a database, just some text ".repeat(200)).expect("write");
    let err = SqliteStore::open(&text, OpenMode::MustExist).expect_err("text file");
    assert!(err.to_string().contains("not a Steadfast ledger"), "{err}");

    let other = dir.path().join("other.sqlite");
    let conn = rusqlite::Connection::open(&other).expect("open");
    conn.execute_batch("CREATE TABLE t(x)").expect("create");
    drop(conn);
    let err = SqliteStore::open(&other, OpenMode::MustExist).expect_err("foreign db");
    assert!(err.to_string().contains("not a Steadfast ledger"), "{err}");
}

fn tampered(sql: &str) -> steadfast_store::ChainBreak {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    let mut store = SqliteStore::open(&path, OpenMode::CreateIfMissing).expect("open");
    store.append(batch(3)).expect("append");
    store.append(batch(2)).expect("append");
    store.connection().execute_batch(sql).expect("tamper");
    verify(&store, None, &mut |_| {})
        .expect("verify")
        .first_break
        .expect("the tampering is found")
}

#[test]
fn verify_names_the_first_edited_event() {
    let payload = tampered("UPDATE events SET payload = x'ff' WHERE position = 3");
    assert_eq!(payload.position, 3);
    let header = tampered("UPDATE events SET effective_date = '2023-01-01' WHERE position = 2");
    assert_eq!(header.position, 2);
    let deleted = tampered("DELETE FROM events WHERE position = 4");
    assert_eq!(deleted.position, 5);
}

#[test]
fn a_cut_tail_is_caught_by_the_expected_head() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut store =
        SqliteStore::open(&dir.path().join("l.sqlite"), OpenMode::CreateIfMissing).expect("open");
    store.append(batch(5)).expect("append");
    let published = store.head().expect("head").expect("some").hash;
    store
        .connection()
        .execute_batch("DELETE FROM events WHERE position = 5")
        .expect("cut");
    let honest_prefix = verify(&store, None, &mut |_| {}).expect("verify");
    assert!(
        honest_prefix.is_ok(),
        "a prefix of a chain is a valid chain"
    );
    let report = verify(&store, Some(published), &mut |_| {}).expect("verify");
    assert!(!report.is_ok());
    assert_eq!(report.events, 4);
}
