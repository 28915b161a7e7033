//! The SQLite store passes the conformance suite; durability settings, reopening, foreign files,
//! read-only opening, concurrent creation, the append-only triggers and tampering are checked on
//! real files.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Barrier};
use std::time::SystemTime;

use steadfast_store::conformance::event;
use steadfast_store::{AppendRequest, EventLog, ManualClock, SnapshotStore, StoreError, verify};
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

fn journal_and_sync(store: &SqliteStore) -> (String, i64) {
    let mode: String = store
        .connection()
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("pragma");
    let sync: i64 = store
        .connection()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .expect("pragma");
    (mode, sync)
}

#[test]
fn opens_in_wal_with_synchronous_full() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    let store = SqliteStore::open(&path, OpenMode::CreateIfMissing).expect("open");
    assert_eq!(journal_and_sync(&store), ("wal".to_owned(), 2));
    drop(store);
    let store = SqliteStore::open(&path, OpenMode::MustExist).expect("reopen");
    assert_eq!(journal_and_sync(&store), ("wal".to_owned(), 2));
}

fn page_size(store: &SqliteStore) -> i64 {
    store
        .connection()
        .query_row("PRAGMA page_size", [], |r| r.get(0))
        .expect("pragma")
}

#[test]
fn new_ledgers_have_16_kib_pages_and_older_ones_keep_theirs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    let mut store = SqliteStore::open(&path, OpenMode::CreateIfMissing).expect("open");
    assert_eq!(page_size(&store), 16_384);
    store.append(batch(3)).expect("append");
    drop(store);
    // A ledger made with 4 KiB pages (as every build before this one made them).
    let raw = rusqlite::Connection::open(&path).expect("raw");
    raw.execute_batch(
        "PRAGMA journal_mode = DELETE; PRAGMA page_size = 4096; VACUUM; PRAGMA journal_mode = WAL;",
    )
    .expect("to 4 KiB pages");
    drop(raw);
    let mut store = SqliteStore::open(&path, OpenMode::MustExist).expect("reopen");
    assert_eq!(page_size(&store), 4_096);
    store.append(batch(2)).expect("append");
    let head = store.head().expect("head");
    assert_eq!(head.map(|h| h.position), Some(5));
    assert!(verify(&store, None, &mut |_| {}).expect("verify").is_ok());
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
    assert!(matches!(err, StoreError::Missing { .. }), "{err}");
    assert!(err.to_string().contains("no ledger at"), "{err}");
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

/// What someone with write access to the file can do before editing it: the triggers refuse
/// casual edits, not a determined editor, whom the hash chain catches.
const DROP_TRIGGERS: &str = "DROP TRIGGER events_no_update; DROP TRIGGER events_no_delete; \
     DROP TRIGGER events_insert_only_at_end;";

fn tampered(sql: &str) -> steadfast_store::ChainBreak {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    let mut store = SqliteStore::open(&path, OpenMode::CreateIfMissing).expect("open");
    store.append(batch(3)).expect("append");
    store.append(batch(2)).expect("append");
    store
        .connection()
        .execute_batch(DROP_TRIGGERS)
        .expect("drop the triggers");
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
        .execute_batch(DROP_TRIGGERS)
        .expect("drop the triggers");
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

// ---------------------------------------------------------------------------------------------
// Helpers for checking that an open leaves files alone.

fn side(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Names and sizes of everything in a directory.
fn listing(dir: &Path) -> Vec<(String, u64)> {
    let mut entries: Vec<(String, u64)> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| {
            let e = e.expect("entry");
            let len = e.metadata().expect("metadata").len();
            (e.file_name().to_string_lossy().into_owned(), len)
        })
        .collect();
    entries.sort();
    entries
}

/// A file's bytes and modification time.
fn snapshot(path: &Path) -> (Vec<u8>, SystemTime) {
    let bytes = std::fs::read(path).expect("read");
    let modified = std::fs::metadata(path)
        .expect("metadata")
        .modified()
        .expect("mtime");
    (bytes, modified)
}

/// A plain SQLite database of another application, in the default rollback-journal mode.
fn foreign_database(path: &Path) {
    let conn = rusqlite::Connection::open(path).expect("open");
    conn.execute_batch("CREATE TABLE notes(body TEXT); INSERT INTO notes VALUES ('hello');")
        .expect("create");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(mode, "delete");
}

/// A ledger with five events, closed (so its WAL is checkpointed and removed).
fn closed_ledger(path: &Path) -> Option<steadfast_store::Head> {
    let mut store = SqliteStore::open(path, OpenMode::CreateIfMissing).expect("open");
    store.append(batch(3)).expect("append");
    store
        .append(AppendRequest {
            events: vec![event("t", Some("key-1"), b"x"), event("t", None, b"y")],
            expected: Vec::new(),
        })
        .expect("append");
    let head = store.head().expect("head");
    drop(store);
    assert!(!side(path, "-wal").exists() && !side(path, "-shm").exists());
    head
}

fn events_in(store: &SqliteStore) -> u64 {
    let mut n = 0;
    store
        .scan(0, &mut |_| {
            n += 1;
            std::ops::ControlFlow::Continue(())
        })
        .expect("scan");
    n
}

// ---------------------------------------------------------------------------------------------
// 1. A foreign file is refused untouched.

#[test]
fn refusing_a_foreign_sqlite_file_leaves_it_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("other.sqlite");
    foreign_database(&path);
    let before = snapshot(&path);
    let files = listing(dir.path());
    for mode in [
        OpenMode::MustExist,
        OpenMode::CreateIfMissing,
        OpenMode::ReadOnly,
    ] {
        let err = SqliteStore::open(&path, mode).expect_err("foreign db");
        assert!(
            matches!(err, StoreError::Incompatible(_)),
            "{mode:?}: {err}"
        );
        assert!(
            err.to_string().contains("not a Steadfast ledger"),
            "{mode:?}: {err}"
        );
        assert_eq!(snapshot(&path), before, "{mode:?} changed the file");
        assert_eq!(listing(dir.path()), files, "{mode:?} left files behind");
    }
    let conn = rusqlite::Connection::open(&path).expect("open");
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(mode, "delete", "still in its own journal mode");
}

#[test]
fn an_empty_file_is_initialised_by_a_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new.sqlite");
    std::fs::write(&path, b"").expect("touch");
    let mut store = SqliteStore::open(&path, OpenMode::MustExist).expect("a new, empty file");
    assert_eq!(journal_and_sync(&store), ("wal".to_owned(), 2));
    store.append(batch(2)).expect("append");
    assert_eq!(events_in(&store), 2);
}

// ---------------------------------------------------------------------------------------------
// 2. OpenMode::ReadOnly.

#[cfg(unix)]
#[test]
fn a_read_only_open_reads_without_writing_anything() {
    use std::os::unix::fs::PermissionsExt;

    let dir = tempfile::tempdir().expect("tempdir");
    let ledger_dir = dir.path().join("ledger");
    std::fs::create_dir(&ledger_dir).expect("mkdir");
    let path = ledger_dir.join("l.sqlite");
    let head = closed_ledger(&path);

    // Unwritable file and directory. (Tests usually run as root, which ignores these bits, so
    // the checks below on bytes, mtime and listing are what prove nothing is written.)
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    std::fs::set_permissions(&ledger_dir, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    let before = snapshot(&path);
    let files = listing(&ledger_dir);

    let result = std::panic::catch_unwind(|| {
        let mut store = SqliteStore::open(&path, OpenMode::ReadOnly).expect("open read-only");
        assert!(store.is_read_only());
        assert_eq!(events_in(&store), 5);
        assert_eq!(store.head().expect("head"), head);
        assert_eq!(store.stream_version("t").expect("version"), Some(2));
        assert_eq!(
            store
                .event_by_key("key-1")
                .expect("by key")
                .map(|e| e.position),
            Some(4)
        );
        let report = verify(&store, head.map(|h| h.hash), &mut |_| {}).expect("verify");
        assert!(report.is_ok());
        assert_eq!(listing(&ledger_dir), files, "no -wal or -shm while open");

        let err = store.append(batch(1)).expect_err("read-only");
        assert!(matches!(err, StoreError::Incompatible(_)), "{err}");
        assert!(err.to_string().contains("opened read-only"), "{err}");
        drop(store);
    });

    assert_eq!(snapshot(&path), before, "bytes or mtime changed");
    assert_eq!(listing(&ledger_dir), files, "the directory changed");
    std::fs::set_permissions(&ledger_dir, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).expect("chmod");
    if let Err(panic) = result {
        std::panic::resume_unwind(panic);
    }
    let reopened = SqliteStore::open(&path, OpenMode::MustExist).expect("still a ledger");
    assert_eq!(reopened.head().expect("head"), head);
}

#[test]
fn a_read_only_open_refuses_missing_empty_and_foreign_files_untouched() {
    let dir = tempfile::tempdir().expect("tempdir");

    let missing = dir.path().join("absent.sqlite");
    let err = SqliteStore::open(&missing, OpenMode::ReadOnly).expect_err("missing");
    assert!(matches!(err, StoreError::Missing { .. }), "{err}");
    assert!(!missing.exists());

    let empty = dir.path().join("empty.sqlite");
    std::fs::write(&empty, b"").expect("touch");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "this is not a database, just some text ".repeat(200)).expect("write");
    let foreign = dir.path().join("other.sqlite");
    foreign_database(&foreign);
    let files = listing(dir.path());
    for path in [&empty, &text, &foreign] {
        let before = snapshot(path);
        let err = SqliteStore::open(path, OpenMode::ReadOnly).expect_err("not a ledger");
        assert!(matches!(err, StoreError::Incompatible(_)), "{err}");
        assert!(err.to_string().contains("not a Steadfast ledger"), "{err}");
        assert_eq!(snapshot(path), before);
        assert_eq!(listing(dir.path()), files);
    }
}

#[test]
fn a_read_only_open_refuses_an_older_or_newer_schema() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    let head = closed_ledger(&path);

    // As a ledger written by the first release looks: no triggers, no snapshots table,
    // schema version 1.
    let store = SqliteStore::open(&path, OpenMode::MustExist).expect("open");
    store
        .connection()
        .execute_batch(DROP_TRIGGERS)
        .expect("drop the triggers");
    store
        .connection()
        .execute_batch("DROP TABLE snapshots")
        .expect("drop the snapshots table");
    store
        .connection()
        .pragma_update(None, "user_version", 1)
        .expect("downgrade");
    drop(store);
    let err = SqliteStore::open(&path, OpenMode::ReadOnly).expect_err("older");
    assert!(
        matches!(err, StoreError::NeedsUpgrade { found: 1, wanted, .. } if wanted > 1),
        "{err}"
    );
    assert!(
        err.to_string()
            .contains("cannot be upgraded while opened read-only"),
        "{err}"
    );

    // A writer upgrades it; then it reads, and the upgrade installed the triggers.
    let store = SqliteStore::open(&path, OpenMode::MustExist).expect("upgrade");
    let refused = store
        .connection()
        .execute_batch("DELETE FROM events")
        .expect_err("append-only after the upgrade");
    assert!(refused.to_string().contains("append-only"), "{refused}");
    drop(store);
    let reader = SqliteStore::open(&path, OpenMode::ReadOnly).expect("current schema");
    assert_eq!(reader.head().expect("head"), head);
    drop(reader);

    let store = SqliteStore::open(&path, OpenMode::MustExist).expect("open");
    store
        .connection()
        .pragma_update(None, "user_version", 99)
        .expect("from the future");
    drop(store);
    for mode in [OpenMode::ReadOnly, OpenMode::MustExist] {
        let err = SqliteStore::open(&path, mode).expect_err("newer");
        assert!(err.to_string().contains("newer than this build"), "{err}");
    }
}

#[test]
fn a_read_only_open_sees_a_live_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    let mut writer = SqliteStore::open(&path, OpenMode::CreateIfMissing).expect("open");
    writer.append(batch(3)).expect("append");
    // The writer's events are in its WAL; a reader must see them.
    let reader = SqliteStore::open(&path, OpenMode::ReadOnly).expect("open read-only");
    assert_eq!(events_in(&reader), 3);
    writer.append(batch(2)).expect("append");
    assert_eq!(events_in(&reader), 5);
    assert_eq!(reader.head().expect("head"), writer.head().expect("head"));
}

#[cfg(unix)]
#[test]
fn a_read_only_open_through_a_symlink_sees_a_live_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir(dir.path().join("real")).expect("mkdir");
    let real = dir.path().join("real").join("l.sqlite");
    let link = dir.path().join("l.sqlite");
    std::os::unix::fs::symlink(&real, &link).expect("symlink");
    let mut writer = SqliteStore::open(&real, OpenMode::CreateIfMissing).expect("open");
    writer.append(batch(3)).expect("append");
    // The writer's WAL is beside the real file, not beside the link: a reader must find it.
    let reader = SqliteStore::open(&link, OpenMode::ReadOnly).expect("open read-only");
    assert_eq!(events_in(&reader), 3);
    assert_eq!(reader.head().expect("head"), writer.head().expect("head"));
}

#[test]
fn a_lock_free_reader_refuses_to_read_a_file_written_under_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    closed_ledger(&path);
    let reader = SqliteStore::open(&path, OpenMode::ReadOnly).expect("open read-only");
    assert_eq!(events_in(&reader), 5);
    {
        let mut writer = SqliteStore::open(&path, OpenMode::MustExist).expect("open");
        writer.append(batch(200)).expect("append");
    } // the writer's close checkpoints into the file the reader is reading
    let err = reader.head().expect_err("the file changed");
    assert!(
        err.to_string().contains("changed by another process"),
        "{err}"
    );
    let err = reader.scan(0, &mut |_| std::ops::ControlFlow::Continue(()));
    assert!(err.is_err());
    let fresh = SqliteStore::open(&path, OpenMode::ReadOnly).expect("open again");
    assert_eq!(events_in(&fresh), 205);
}

#[test]
fn a_lock_free_reader_stops_trusting_the_file_once_a_writer_has_it_open() {
    // Even before the writer changes a byte of the file (where coarse timestamps could hide
    // the change), its `-wal` shows it is there.
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    closed_ledger(&path);
    let reader = SqliteStore::open(&path, OpenMode::ReadOnly).expect("open read-only");
    assert_eq!(events_in(&reader), 5);
    let writer = SqliteStore::open(&path, OpenMode::MustExist).expect("open writer");
    let err = reader.head().expect_err("a writer is active");
    assert!(
        err.to_string().contains("changed by another process"),
        "{err}"
    );
    drop(writer);
}

// ---------------------------------------------------------------------------------------------
// 3. Errors say what happened.

#[test]
fn a_locked_ledger_is_reported_as_locked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    closed_ledger(&path);
    let holder = rusqlite::Connection::open(&path).expect("open");
    holder
        .execute_batch("PRAGMA locking_mode = EXCLUSIVE; BEGIN EXCLUSIVE;")
        .expect("lock");
    // Both wait out the busy timeout, side by side.
    let waiting: Vec<_> = [OpenMode::MustExist, OpenMode::ReadOnly]
        .into_iter()
        .map(|mode| {
            let path = path.clone();
            std::thread::spawn(move || (mode, SqliteStore::open(&path, mode).map(drop)))
        })
        .collect();
    for handle in waiting {
        let (mode, result) = handle.join().expect("thread");
        let err = result.expect_err("locked");
        assert!(matches!(err, StoreError::Backend(_)), "{mode:?}: {err}");
        assert!(
            err.to_string()
                .contains("the ledger is locked by another process"),
            "{mode:?}: {err}"
        );
        assert!(!err.to_string().contains("not a Steadfast ledger"));
    }
    holder.execute_batch("COMMIT").expect("unlock");
}

#[test]
fn a_ledger_whose_side_files_cannot_be_created_is_reported_not_writable() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    closed_ledger(&path);
    // SQLite cannot create the -wal, as in a directory this process may not write (which root,
    // running the tests, always may).
    std::fs::create_dir(side(&path, "-wal")).expect("block the -wal");
    let err = SqliteStore::open(&path, OpenMode::MustExist).expect_err("no -wal");
    assert!(matches!(err, StoreError::NotWritable { .. }), "{err}");
    let message = err.to_string();
    assert!(message.contains("not writable"), "{message}");
    assert!(!message.contains("not a Steadfast ledger"), "{message}");

    let err = SqliteStore::open(&path, OpenMode::ReadOnly).expect_err("no -wal");
    assert!(
        matches!(err, StoreError::ReadNeedsWriteAccess { .. }),
        "{err}"
    );
    assert!(err.to_string().contains("-wal"), "{err}");
    assert!(!err.to_string().contains("not a Steadfast ledger"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// 4. Several processes creating the same new ledger at once.

#[test]
fn concurrent_creation_of_one_new_ledger_succeeds_for_everyone() {
    const WRITERS: usize = 8;
    for _ in 0..5 {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("new.sqlite");
        let barrier = Arc::new(Barrier::new(WRITERS));
        let threads: Vec<_> = (0..WRITERS)
            .map(|i| {
                let (path, barrier) = (path.clone(), Arc::clone(&barrier));
                std::thread::spawn(move || {
                    barrier.wait();
                    let opened = SqliteStore::open(&path, OpenMode::CreateIfMissing);
                    // Everyone reaches the second barrier, failed or not, so none waits forever.
                    barrier.wait();
                    let mut store = opened.map_err(|e| format!("writer {i}: {e}"))?;
                    store
                        .append(AppendRequest {
                            events: vec![event(&format!("s{i}"), None, &[1]); 3],
                            expected: Vec::new(),
                        })
                        .map_err(|e| format!("writer {i}: {e}"))?;
                    Ok::<_, String>(())
                })
            })
            .collect();
        for t in threads {
            t.join().expect("thread").expect("open and append");
        }
        let store = SqliteStore::open(&path, OpenMode::ReadOnly).expect("open read-only");
        let (version, app_id): (i64, i64) = store
            .connection()
            .query_row(
                "SELECT user_version, application_id FROM pragma_user_version, pragma_application_id",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
            .expect("pragma");
        assert_eq!((version, app_id), (4, 0x5354_4446));
        let schema: Vec<String> = store
            .connection()
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type IN ('table', 'trigger') ORDER BY name",
            )
            .expect("prepare")
            .query_map([], |r| r.get(0))
            .expect("query")
            .collect::<Result<_, _>>()
            .expect("rows");
        assert_eq!(
            schema,
            [
                "events",
                "events_insert_only_at_end",
                "events_no_delete",
                "events_no_update",
                "snapshots"
            ]
        );
        assert_eq!(events_in(&store), 3 * WRITERS as u64);
        let report = verify(&store, None, &mut |_| {}).expect("verify");
        assert!(report.is_ok());
    }
}

// ---------------------------------------------------------------------------------------------
// 5. Append-only at the database level.

#[test]
fn the_database_refuses_updates_deletes_and_replacements() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    let mut store = SqliteStore::open(&path, OpenMode::CreateIfMissing).expect("open");
    store.append(batch(3)).expect("append");
    let head = store.head().expect("head");
    let conn = store.connection();
    for sql in [
        "UPDATE events SET payload = x'ff' WHERE position = 2",
        "DELETE FROM events WHERE position = 3",
        "DELETE FROM events",
        "INSERT OR REPLACE INTO events SELECT * FROM events WHERE position = 1",
        "REPLACE INTO events (position, stream, stream_version, recorded_at_us, effective_date, \
         actor, idempotency_key, event_type, event_version, payload, payload_digest, prev_hash, \
         hash) SELECT 4, stream, stream_version, recorded_at_us, effective_date, actor, \
         idempotency_key, event_type, event_version, payload, payload_digest, prev_hash, hash \
         FROM events WHERE position = 3",
    ] {
        let err = conn.execute_batch(sql).expect_err(sql);
        assert!(
            err.to_string().contains("the event log is append-only"),
            "{sql}: {err}"
        );
    }
    assert_eq!(store.head().expect("head"), head);
    assert!(verify(&store, None, &mut |_| {}).expect("verify").is_ok());
    store.append(batch(2)).expect("the store still appends");
    assert_eq!(events_in(&store), 5);
}

// ---------------------------------------------------------------------------------------------
// 6. A constraint violation on insert is a backend failure, not a garbled conflict.

#[test]
fn a_constraint_violation_on_insert_is_a_clear_backend_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    let mut store = SqliteStore::open(&path, OpenMode::CreateIfMissing).expect("open");
    store.append(batch(1)).expect("append");
    let head = store.head().expect("head");
    // A schema edited behind the store's back: the batch seals fine but cannot be inserted.
    store
        .connection()
        .execute_batch("CREATE UNIQUE INDEX one_event_per_actor ON events(actor)")
        .expect("edit the schema");
    let err = store.append(batch(1)).expect_err("violates the index");
    assert!(
        matches!(err, StoreError::ChangedOutsideStore { .. }),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("nothing was written"), "{message}");
    assert!(message.contains("UNIQUE constraint failed"), "{message}");
    assert_eq!(store.head().expect("head"), head, "rolled back");
}

// ---------------------------------------------------------------------------------------------
// Large batches: the statement journal stays in memory, the checkpoint runs aside.

#[test]
fn a_writer_keeps_its_statement_journal_in_memory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let store =
        SqliteStore::open(&dir.path().join("l.sqlite"), OpenMode::CreateIfMissing).expect("open");
    let temp_store: i64 = store
        .connection()
        .query_row("PRAGMA temp_store", [], |r| r.get(0))
        .expect("pragma");
    assert_eq!(temp_store, 2, "MEMORY");
}

fn autocheckpoint(store: &SqliteStore) -> i64 {
    store
        .connection()
        .query_row("PRAGMA wal_autocheckpoint", [], |r| r.get(0))
        .expect("pragma")
}

/// A batch of `n` events of `size` bytes each, on streams `big-0`, `big-1`, ...
fn big_batch(tag: &str, n: usize, size: usize) -> AppendRequest {
    AppendRequest {
        events: (0..n)
            .map(|i| {
                let key = format!("{tag}-{i}");
                event(&format!("big-{}", i % 7), Some(&key), &vec![b'x'; size])
            })
            .collect(),
        expected: Vec::new(),
    }
}

#[test]
fn a_large_commit_is_checkpointed_aside_and_the_ledger_closes_clean() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    let mut store = SqliteStore::open(&path, OpenMode::CreateIfMissing).expect("open");
    // 6 MB of payloads: past the point where the checkpoint is handed to another thread.
    store.append(big_batch("a", 1_500, 4_000)).expect("append");
    assert_eq!(
        autocheckpoint(&store),
        1000,
        "automatic checkpoints restored"
    );
    let head = store.head().expect("head");
    // Writing goes on while the checkpoint runs: a snapshot, then a small batch.
    let body: Vec<u8> = (0..5_000_000u32).map(|i| (i % 251) as u8).collect();
    let snapshot = steadfast_store::Snapshot::new("ledger-v1", head.expect("a head"), body.clone());
    store.save_snapshot(&snapshot).expect("save");
    assert_eq!(autocheckpoint(&store), 1000);
    store.append(batch(2)).expect("append");
    let head = store.head().expect("head");
    drop(store);
    assert!(
        !side(&path, "-wal").exists() && !side(&path, "-shm").exists(),
        "closed clean: everything checkpointed into the file"
    );
    let reader = SqliteStore::open(&path, OpenMode::ReadOnly).expect("read");
    assert_eq!(reader.head().expect("head"), head);
    assert_eq!(events_in(&reader), 1_502);
    assert!(verify(&reader, None, &mut |_| {}).expect("verify").is_ok());
    let loaded = reader
        .load_snapshot("ledger-v1")
        .expect("load")
        .expect("saved");
    assert_eq!(loaded, snapshot);
    assert!(loaded.is_intact());
}

#[test]
fn a_writer_closing_beside_another_connection_leaves_no_large_wal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    // Another writer keeps the file open, so SQLite does not delete the `-wal` when the first
    // closes, as it does for the last connection.
    let other = SqliteStore::open(&path, OpenMode::CreateIfMissing).expect("open");
    let mut store = SqliteStore::open(&path, OpenMode::MustExist).expect("open");
    store.append(big_batch("a", 1_500, 4_000)).expect("append");
    let written = std::fs::metadata(side(&path, "-wal")).map_or(0, |m| m.len());
    assert!(
        written > 5_000_000,
        "the batch went through the log: {written}"
    );
    let head = store.head().expect("head");
    drop(store);
    let left = std::fs::metadata(side(&path, "-wal")).map_or(0, |m| m.len());
    assert_eq!(left, 0, "the closing writer truncated the write-ahead log");
    assert_eq!(other.head().expect("head"), head, "and lost nothing");
    drop(other);
    assert!(!side(&path, "-wal").exists(), "the last one removes it");
}

#[test]
fn a_large_batch_with_a_duplicate_key_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    let mut store = SqliteStore::open(&path, OpenMode::CreateIfMissing).expect("open");
    store.append(big_batch("a", 10, 10)).expect("append");
    let head = store.head().expect("head");
    // The key recorded before sits at the end of a batch of thousands.
    let mut request = big_batch("b", 3_000, 2_000);
    request.events.push(event("late", Some("a-3"), b"again"));
    let err = store.append(request).expect_err("duplicate");
    assert!(
        matches!(err, StoreError::DuplicateKey(ref k) if k == "a-3"),
        "{err:?}"
    );
    assert_eq!(store.head().expect("head"), head, "rolled back");
    assert_eq!(store.event_by_key("b-0").expect("lookup"), None);
    assert_eq!(autocheckpoint(&store), 1000);
    store
        .append(big_batch("c", 3, 10))
        .expect("the store goes on");
}
