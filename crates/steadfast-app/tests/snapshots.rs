//! Fast open: a snapshot of the projection is restored only when it matches the log, and a
//! snapshot that does not is discarded and rebuilt — never trusted. Every case compares the
//! restored projection with a full replay of the same log.

use std::path::{Path, PathBuf};

use steadfast_app::snapshot::{FORMAT, SnapshotUse};
use steadfast_app::{
    Access, AppError, Database, ImportOptions, Steadfast, import_contributions, scenario,
};
use steadfast_domain::Ledger;
use steadfast_ingest::{CsvOptions, HEADER, parse_contributions};
use steadfast_store::payload_digest;

fn open(path: &Path, access: Access) -> Result<Steadfast, AppError> {
    Steadfast::open(
        &Database::Sqlite(path.to_owned()),
        access,
        None,
        &mut |_| {},
    )
}

/// A ledger with the founding scenario (7,355 events) and a snapshot of it.
fn scenario_ledger(dir: &Path) -> PathBuf {
    let path = dir.join("ledger.sqlite");
    let mut app = open(&path, Access::Create).expect("create");
    scenario::load(&mut app).expect("scenario");
    app.save_snapshot().expect("snapshot");
    path
}

fn sql(path: &Path, statement: &str, params: impl rusqlite::Params) {
    let conn = rusqlite::Connection::open(path).expect("sqlite");
    conn.execute(statement, params).expect("sql");
}

fn snapshot_rows(path: &Path) -> i64 {
    let conn = rusqlite::Connection::open(path).expect("sqlite");
    conn.query_row("SELECT count(*) FROM snapshots", [], |r| r.get(0))
        .expect("count")
}

/// The projection a full replay gives, from a copy of the file without its snapshot.
fn replayed(path: &Path) -> Ledger {
    let dir = tempfile::tempdir().expect("tempdir");
    let copy = dir.path().join("copy.sqlite");
    std::fs::copy(path, &copy).expect("copy");
    sql(&copy, "DELETE FROM snapshots", []);
    let app = open(&copy, Access::Read).expect("open the copy");
    assert_eq!(app.snapshot_use(), &SnapshotUse::None);
    app.ledger().clone()
}

fn discarded(app: &Steadfast) -> String {
    match app.snapshot_use() {
        SnapshotUse::Discarded { reason } => reason.clone(),
        other => panic!("expected a discarded snapshot, got {other:?}"),
    }
}

/// Opened for reading, the ledger does not trust its snapshot (`because` is part of the
/// reason given) and holds exactly the projection replayed from the log.
#[track_caller]
fn assert_a_reader_rebuilds(path: &Path, because: &str, expected: &Ledger) {
    let reader = open(path, Access::Read).expect("open");
    assert!(
        discarded(&reader).contains(because),
        "{}",
        discarded(&reader)
    );
    assert_eq!(reader.ledger(), expected);
}

#[test]
fn a_writer_saves_a_snapshot_and_a_reader_restores_exactly_the_replayed_projection() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = scenario_ledger(dir.path());
    assert_eq!(snapshot_rows(&path), 1);
    let app = open(&path, Access::Read).expect("open");
    assert_eq!(app.snapshot_use(), &SnapshotUse::Loaded { position: 8556 });
    assert_eq!(app.ledger(), &replayed(&path));
    assert_eq!(app.head().map(|h| h.position), Some(8556));
}

#[test]
fn events_after_the_snapshot_are_replayed_on_top_of_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = scenario_ledger(dir.path());
    let mut app = open(&path, Access::Write).expect("open");
    let csv = format!(
        "{}\nT-1-a,T-1,DEU,UKR,committed,2024-05-02,1000.00,EUR,training,bilateral,public,,,,,,https://example.org/t,tail\n",
        HEADER.join(",")
    );
    let parsed = parse_contributions("t.csv", csv.as_bytes(), CsvOptions::default(), &mut |_| {});
    import_contributions(&mut app, &parsed, "test", ImportOptions::default()).expect("import");
    drop(app);
    let app = open(&path, Access::Read).expect("reopen");
    assert_eq!(app.snapshot_use(), &SnapshotUse::Loaded { position: 8556 });
    assert_eq!(app.head().map(|h| h.position), Some(8558));
    assert_eq!(app.ledger(), &replayed(&path));
}

#[test]
fn a_damaged_snapshot_is_discarded_rebuilt_and_never_trusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = scenario_ledger(dir.path());
    let expected = replayed(&path);
    // One flipped byte in the body: the digest no longer matches.
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    let mut body: Vec<u8> = conn
        .query_row("SELECT body FROM snapshots", [], |r| r.get(0))
        .expect("body");
    drop(conn);
    let middle = body.len() / 2;
    body[middle] ^= 0x5a;
    sql(&path, "UPDATE snapshots SET body = ?1", [&body]);

    // A reader does not trust it, does not touch it, and reports from the whole log.
    assert_a_reader_rebuilds(&path, "digest", &expected);
    assert_eq!(snapshot_rows(&path), 1, "a reader never writes");

    // A writer discards it; having replayed the whole log, it saves a good one (here by
    // hand: 7,355 events are fewer than a writer snapshots on its own).
    let mut writer = open(&path, Access::Write).expect("open");
    assert!(discarded(&writer).contains("digest"));
    assert_eq!(writer.ledger(), &expected);
    assert_eq!(snapshot_rows(&path), 0, "the writer discarded it");
    writer.save_snapshot().expect("save");
    drop(writer);
    let reader = open(&path, Access::Read).expect("open");
    assert_eq!(
        reader.snapshot_use(),
        &SnapshotUse::Loaded { position: 8556 }
    );
    assert_eq!(reader.ledger(), &expected);
}

#[test]
fn a_snapshot_that_does_not_match_the_log_is_discarded() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = scenario_ledger(dir.path());
    let expected = replayed(&path);
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    let hash: Vec<u8> = conn
        .query_row("SELECT head_hash FROM snapshots", [], |r| r.get(0))
        .expect("row");
    drop(conn);

    // Built from another event at the same position (its head hash differs).
    let mut other = hash.clone();
    other[0] ^= 1;
    sql(&path, "UPDATE snapshots SET head_hash = ?1", [&other]);
    assert_a_reader_rebuilds(&path, "not the one it was built from", &expected);

    // Built at a position the log does not reach.
    sql(
        &path,
        "UPDATE snapshots SET head_hash = ?1, position = 9999",
        [&hash],
    );
    assert_a_reader_rebuilds(&path, "no event 9999", &expected);

    // A body with a matching digest that this build cannot read.
    let junk = b"not a projection".to_vec();
    sql(
        &path,
        "UPDATE snapshots SET position = 8556, body = ?1, digest = ?2",
        rusqlite::params![junk, payload_digest(&junk).0.as_slice()],
    );
    assert_a_reader_rebuilds(&path, "cannot be read", &expected);

    // Another build's format is simply not looked at.
    sql(&path, "UPDATE snapshots SET format = 'ledger-0.0.0-s0'", []);
    let app = open(&path, Access::Read).expect("open");
    assert_eq!(app.snapshot_use(), &SnapshotUse::None);
    assert_eq!(app.ledger(), &expected);
    assert_ne!(FORMAT, "ledger-0.0.0-s0");
}

#[test]
fn a_tampered_event_before_the_snapshot_is_still_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = scenario_ledger(dir.path());
    // Edit an early event's payload behind the fence (the triggers are dropped first).
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    conn.execute_batch("DROP TRIGGER events_no_update")
        .expect("drop trigger");
    let changed = conn
        .execute(
            "UPDATE events SET payload = CAST(payload || x'20' AS BLOB) WHERE position = 2",
            [],
        )
        .expect("tamper");
    assert_eq!(changed, 1);
    drop(conn);
    let Err(err) = open(&path, Access::Read) else {
        panic!("a tampered event before the snapshot must be refused");
    };
    assert!(err.to_string().contains("does not verify"), "{err}");
}

#[test]
fn a_writer_saves_a_snapshot_on_its_own_once_enough_events_were_folded() {
    use steadfast_app::snapshot::EVERY;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("big.sqlite");
    let mut app = open(&path, Access::Create).expect("create");
    let mut csv = HEADER.join(",");
    // Each row opens a contribution: two log events per row.
    let rows = EVERY / 2 + 1;
    for i in 0..rows {
        csv.push_str(&format!(
            "\nB-{i}-a,B-{i},DEU,UKR,committed,2024-05-02,10.00,EUR,training,bilateral,public,,,,,,,"
        ));
    }
    csv.push('\n');
    let parsed = parse_contributions("b.csv", csv.as_bytes(), CsvOptions::default(), &mut |_| {});
    assert!(parsed.errors.0.is_empty(), "{}", parsed.errors);
    import_contributions(&mut app, &parsed, "test", ImportOptions::default()).expect("import");
    drop(app);
    assert_eq!(snapshot_rows(&path), 1);
    let app = open(&path, Access::Read).expect("open");
    assert_eq!(
        app.snapshot_use(),
        &SnapshotUse::Loaded { position: rows * 2 }
    );
    assert_eq!(app.ledger(), &replayed(&path));
}

/// A store whose batches never commit: it takes every event of a batch (so the whole batch is
/// encoded and sealed as usual), then fails as a disk would at the commit.
#[derive(Debug)]
struct NeverCommits(steadfast_store::MemoryStore);

impl steadfast_store::EventLog for NeverCommits {
    fn append(
        &mut self,
        request: steadfast_store::AppendRequest,
    ) -> Result<steadfast_store::Appended, steadfast_store::StoreError> {
        self.append_streamed(request.expected, &mut request.events.into_iter().map(Ok))
    }
    fn append_streamed(
        &mut self,
        _expected: Vec<(String, steadfast_store::ExpectedVersion)>,
        events: &mut dyn Iterator<
            Item = Result<steadfast_store::NewEvent, steadfast_store::StoreError>,
        >,
    ) -> Result<steadfast_store::Appended, steadfast_store::StoreError> {
        for event in events {
            event?;
        }
        Err(steadfast_store::StoreError::Backend(
            "disk I/O error at commit".into(),
        ))
    }
    fn head(&self) -> Result<Option<steadfast_store::Head>, steadfast_store::StoreError> {
        self.0.head()
    }
    fn scan_borrowed(
        &self,
        after: u64,
        visit: &mut dyn FnMut(&steadfast_store::StoredEventRef<'_>) -> std::ops::ControlFlow<()>,
    ) -> Result<(), steadfast_store::StoreError> {
        self.0.scan_borrowed(after, visit)
    }
    fn stream_version(&self, stream: &str) -> Result<Option<u64>, steadfast_store::StoreError> {
        self.0.stream_version(stream)
    }
    fn event_by_key(
        &self,
        key: &str,
    ) -> Result<Option<steadfast_store::StoredEvent>, steadfast_store::StoreError> {
        self.0.event_by_key(key)
    }
    fn location(&self) -> String {
        "never-commits".to_owned()
    }
}

impl steadfast_store::SnapshotStore for NeverCommits {
    fn save_snapshot(
        &mut self,
        snapshot: &steadfast_store::Snapshot,
    ) -> Result<(), steadfast_store::StoreError> {
        self.0.save_snapshot(snapshot)
    }
    fn load_snapshot(
        &self,
        format: &str,
    ) -> Result<Option<steadfast_store::Snapshot>, steadfast_store::StoreError> {
        self.0.load_snapshot(format)
    }
    fn discard_snapshot(&mut self, format: &str) -> Result<(), steadfast_store::StoreError> {
        self.0.discard_snapshot(format)
    }
}

#[test]
fn a_batch_that_does_not_commit_saves_no_snapshot_and_leaves_the_projection_alone() {
    use steadfast_app::snapshot::EVERY;
    let store = NeverCommits(steadfast_store::MemoryStore::new());
    let mut app = Steadfast::from_store(Box::new(store), &mut |_| {}).expect("open");
    let mut csv = HEADER.join(",");
    // More than enough events for a snapshot to fall due, were the batch committed.
    let rows = EVERY / 2 + 1;
    for i in 0..rows {
        csv.push_str(&format!(
            "\nB-{i}-a,B-{i},DEU,UKR,committed,2024-05-02,10.00,EUR,training,bilateral,public,,,,,,,"
        ));
    }
    csv.push('\n');
    let parsed = parse_contributions("b.csv", csv.as_bytes(), CsvOptions::default(), &mut |_| {});
    assert!(parsed.errors.0.is_empty(), "{}", parsed.errors);
    let err = import_contributions(&mut app, &parsed, "test", ImportOptions::default())
        .expect_err("the batch never commits");
    assert!(
        err.to_string().contains("disk I/O error at commit"),
        "{err}"
    );
    assert_eq!(app.head(), None, "nothing folded");
    assert_eq!(app.ledger(), &Ledger::new());
    assert_eq!(app.store().head().expect("head"), None);
    assert_eq!(
        app.store().load_snapshot(FORMAT).expect("load"),
        None,
        "no snapshot of a batch that did not commit"
    );
}
