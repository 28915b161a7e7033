//! The SQLite event store: one file, no server.
//!
//! Opened in WAL mode with `synchronous=FULL` — both are checked after being set, and the open
//! fails if SQLite did not take them — so a batch acknowledged by `append` survives a crash or
//! power loss. Each batch is one `BEGIN IMMEDIATE` transaction: all of it lands or none. The
//! schema is versioned with `PRAGMA user_version` and the file is marked with an
//! `application_id`, so a foreign SQLite file is refused rather than written into.

use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior, params};
use steadfast_store::{
    AppendRequest, Appended, ChainHash, Clock, EventStore, Head, StoreError, StoredEvent,
    SystemClock, seal_batch,
};

/// "STDF" — marks a SQLite file as a Steadfast ledger.
const APPLICATION_ID: i64 = 0x5354_4446;

/// Schema migrations, applied in order; `user_version` records how many have run.
const MIGRATIONS: &[&str] = &[include_str!("../migrations/0001_events.sql")];

const COLUMNS: &str = "position, stream, stream_version, recorded_at_us, effective_date, actor, \
     idempotency_key, event_type, event_version, payload, payload_digest, prev_hash, hash";

/// Whether opening may create a new ledger file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    CreateIfMissing,
    MustExist,
}

/// The SQLite backend.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    clock: Arc<dyn Clock>,
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

impl SqliteStore {
    /// Opens (or creates) a ledger on the system clock.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Self, StoreError> {
        SqliteStore::open_with_clock(path, mode, Arc::new(SystemClock))
    }

    pub fn open_with_clock(
        path: &Path,
        mode: OpenMode,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        if mode == OpenMode::MustExist && !path.exists() {
            return Err(StoreError::NotFound(format!(
                "no ledger at {} (run `steadfast demo` or `steadfast import contributions FILE` to create one)",
                path.display()
            )));
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if mode == OpenMode::CreateIfMissing {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags).map_err(|e| {
            StoreError::Incompatible(format!("cannot open {} as a ledger: {e}", path.display()))
        })?;
        let mut store = SqliteStore {
            conn,
            path: path.to_owned(),
            clock,
        };
        store.configure()?;
        store.migrate()?;
        Ok(store)
    }

    fn configure(&self) -> Result<(), StoreError> {
        let not_a_ledger = |e: rusqlite::Error| {
            StoreError::Incompatible(format!(
                "{} is not a Steadfast ledger (not a SQLite database?): {e}",
                self.path.display()
            ))
        };
        self.conn
            .busy_timeout(std::time::Duration::from_secs(10))
            .map_err(backend)?;
        let mode: String = self
            .conn
            .query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))
            .map_err(not_a_ledger)?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Incompatible(format!(
                "{}: SQLite refused WAL journal mode (got `{mode}`)",
                self.path.display()
            )));
        }
        self.conn
            .execute_batch("PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;")
            .map_err(backend)?;
        let synchronous: i64 = self
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .map_err(backend)?;
        if synchronous != 2 {
            return Err(StoreError::Incompatible(format!(
                "{}: SQLite did not take synchronous=FULL (got {synchronous}); refusing to risk acknowledged writes",
                self.path.display()
            )));
        }
        Ok(())
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let app_id: i64 = self
            .conn
            .query_row("PRAGMA application_id", [], |r| r.get(0))
            .map_err(backend)?;
        let version: i64 = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .map_err(backend)?;
        let tables: i64 = self
            .conn
            .query_row("SELECT count(*) FROM sqlite_schema", [], |r| r.get(0))
            .map_err(backend)?;
        if app_id != APPLICATION_ID && (app_id != 0 || tables > 0) {
            return Err(StoreError::Incompatible(format!(
                "{} is a SQLite database but not a Steadfast ledger; refusing to write into it",
                self.path.display()
            )));
        }
        let known = i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX);
        if version > known {
            return Err(StoreError::Incompatible(format!(
                "{} has schema version {version}, newer than this build knows ({known}); upgrade Steadfast",
                self.path.display()
            )));
        }
        let pending = usize::try_from(version).unwrap_or(0);
        if pending == MIGRATIONS.len() {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(pending) {
            tx.execute_batch(sql).map_err(backend)?;
            tx.pragma_update(None, "user_version", i64::try_from(i + 1).unwrap_or(0))
                .map_err(backend)?;
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(backend)?;
        tx.commit().map_err(backend)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The raw connection, for tests that simulate tampering or inspect pragmas.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

fn head_of(conn: &Connection) -> Result<Option<Head>, StoreError> {
    conn.prepare_cached(
        "SELECT position, hash, recorded_at_us FROM events ORDER BY position DESC LIMIT 1",
    )
    .map_err(backend)?
    .query_row([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })
    .optional()
    .map_err(backend)?
    .map(|(position, hash, recorded)| {
        Ok(Head {
            position: to_u64(position)?,
            hash: to_hash(&hash, "hash")?,
            recorded_at: to_timestamp(recorded)?,
        })
    })
    .transpose()
}

fn to_u64(v: i64) -> Result<u64, StoreError> {
    u64::try_from(v).map_err(|_| StoreError::Incompatible(format!("negative value {v} in the log")))
}

fn to_i64(v: u64) -> Result<i64, StoreError> {
    i64::try_from(v)
        .map_err(|_| StoreError::Incompatible(format!("value {v} too large for SQLite")))
}

fn to_hash(bytes: &[u8], what: &str) -> Result<ChainHash, StoreError> {
    ChainHash::from_slice(bytes)
        .ok_or_else(|| StoreError::Incompatible(format!("a stored {what} is not 32 bytes")))
}

fn to_timestamp(us: i64) -> Result<Timestamp, StoreError> {
    Timestamp::from_microsecond(us)
        .map_err(|e| StoreError::Incompatible(format!("stored recorded-at {us} is invalid: {e}")))
}

fn read_row(r: &rusqlite::Row<'_>) -> Result<Result<StoredEvent, StoreError>, rusqlite::Error> {
    let position: i64 = r.get(0)?;
    let stream: String = r.get(1)?;
    let stream_version: i64 = r.get(2)?;
    let recorded: i64 = r.get(3)?;
    let effective: String = r.get(4)?;
    let actor: String = r.get(5)?;
    let key: Option<String> = r.get(6)?;
    let event_type: String = r.get(7)?;
    let event_version: i64 = r.get(8)?;
    let payload: Vec<u8> = r.get(9)?;
    let digest: Vec<u8> = r.get(10)?;
    let prev: Vec<u8> = r.get(11)?;
    let hash: Vec<u8> = r.get(12)?;
    Ok((|| {
        Ok(StoredEvent {
            position: to_u64(position)?,
            stream,
            stream_version: to_u64(stream_version)?,
            recorded_at: to_timestamp(recorded)?,
            effective_date: effective.parse::<Date>().map_err(|e| {
                StoreError::Incompatible(format!(
                    "event {position}: stored effective date `{effective}` is invalid: {e}"
                ))
            })?,
            actor,
            idempotency_key: key,
            event_type,
            event_version: u32::try_from(event_version).map_err(|_| {
                StoreError::Incompatible(format!("event {position}: bad event version"))
            })?,
            payload,
            payload_digest: to_hash(&digest, "payload digest")?,
            prev_hash: to_hash(&prev, "previous hash")?,
            hash: to_hash(&hash, "hash")?,
        })
    })())
}

impl EventStore for SqliteStore {
    fn append(&mut self, request: AppendRequest) -> Result<Appended, StoreError> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(backend)?;
        let head = head_of(&tx)?;
        let sealed = {
            let mut version_stmt = tx
                .prepare_cached("SELECT max(stream_version) FROM events WHERE stream = ?1")
                .map_err(backend)?;
            let mut key_stmt = tx
                .prepare_cached("SELECT 1 FROM events WHERE idempotency_key = ?1")
                .map_err(backend)?;
            seal_batch(
                request,
                head,
                self.clock.as_ref(),
                &mut |stream| {
                    let v: Option<i64> = version_stmt
                        .query_row([stream], |r| r.get(0))
                        .map_err(backend)?;
                    v.map(to_u64).transpose()
                },
                &mut |key| key_stmt.exists([key]).map_err(backend),
            )?
        };
        let first_position = head.map_or(1, |h| h.position + 1);
        {
            let mut insert = tx
                .prepare_cached(&format!(
                    "INSERT INTO events ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
                ))
                .map_err(backend)?;
            for e in &sealed {
                insert
                    .execute(params![
                        to_i64(e.position)?,
                        e.stream,
                        to_i64(e.stream_version)?,
                        e.recorded_at.as_microsecond(),
                        e.effective_date.to_string(),
                        e.actor,
                        e.idempotency_key,
                        e.event_type,
                        i64::from(e.event_version),
                        e.payload,
                        e.payload_digest.0.as_slice(),
                        e.prev_hash.0.as_slice(),
                        e.hash.0.as_slice(),
                    ])
                    .map_err(|err| match err {
                        rusqlite::Error::SqliteFailure(f, _)
                            if f.code == rusqlite::ErrorCode::ConstraintViolation =>
                        {
                            StoreError::Conflict {
                                stream: e.stream.clone(),
                                expected: steadfast_store::ExpectedVersion::Any,
                                actual: "written concurrently".to_owned(),
                            }
                        }
                        other => backend(other),
                    })?;
            }
        }
        tx.commit().map_err(backend)?;
        let head = sealed
            .last()
            .map(|e| Head {
                position: e.position,
                hash: e.hash,
                recorded_at: e.recorded_at,
            })
            .or(head);
        Ok(Appended {
            first_position,
            last_position: head.map_or(0, |h| h.position),
            head,
        })
    }

    fn head(&self) -> Result<Option<Head>, StoreError> {
        head_of(&self.conn)
    }

    fn scan(
        &self,
        after: u64,
        visit: &mut dyn FnMut(StoredEvent) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM events WHERE position > ?1 ORDER BY position"
            ))
            .map_err(backend)?;
        let mut rows = stmt.query([to_i64(after)?]).map_err(backend)?;
        while let Some(row) = rows.next().map_err(backend)? {
            let event = read_row(row).map_err(backend)??;
            if visit(event).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn stream_version(&self, stream: &str) -> Result<Option<u64>, StoreError> {
        let v: Option<i64> = self
            .conn
            .prepare_cached("SELECT max(stream_version) FROM events WHERE stream = ?1")
            .map_err(backend)?
            .query_row([stream], |r| r.get(0))
            .map_err(backend)?;
        v.map(to_u64).transpose()
    }

    fn event_by_key(&self, key: &str) -> Result<Option<StoredEvent>, StoreError> {
        let mut stmt = self
            .conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM events WHERE idempotency_key = ?1"
            ))
            .map_err(backend)?;
        let row = stmt
            .query_row([key], read_row)
            .optional()
            .map_err(backend)?;
        row.transpose()
    }

    fn location(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
}
