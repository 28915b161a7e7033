//! The SQLite event store: one file, no server.
//!
//! Writers ([`OpenMode::CreateIfMissing`], [`OpenMode::MustExist`]) open in WAL mode with
//! `synchronous=FULL` — both are checked after being set, and the open fails if SQLite did not
//! take them — so a batch acknowledged by `append` survives a crash or power loss. Each batch is
//! one `BEGIN IMMEDIATE` transaction: all of it lands or none. The schema is versioned with
//! `PRAGMA user_version` and the file is marked with an `application_id`; both are read before
//! anything is set or written, so a foreign file is refused untouched. Triggers make the log
//! append-only at the database level (see `migrations/0002_append_only.sql`).
//!
//! Readers ([`OpenMode::ReadOnly`]) never write: not the file, not its directory, not a side
//! file where that can be avoided (see [`OpenMode::ReadOnly`]).

use std::collections::HashSet;
use std::io::Write as _;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use jiff::Timestamp;
use jiff::civil::Date;
use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, TransactionBehavior, params};
use steadfast_store::{
    AppendRequest, Appended, ChainHash, Clock, EventLog, ExpectedVersion, Head, NewEvent, Sealer,
    Snapshot, SnapshotHeader, SnapshotStore, StoreError, StoredEvent, StoredEventRef, StreamDigest,
    SystemClock, check_expectation, next_recorded_at, snapshot_mismatch, unlisted_stream,
};

/// "STDF" — marks a SQLite file as a Steadfast ledger.
const APPLICATION_ID: i64 = 0x5354_4446;

/// Schema migrations, applied in order; `user_version` records how many have run.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_events.sql"),
    include_str!("../migrations/0002_append_only.sql"),
    include_str!("../migrations/0003_snapshots.sql"),
    include_str!("../migrations/0004_insert_fails.sql"),
];

const COLUMNS: &str = "position, stream, stream_version, recorded_at_us, effective_date, actor, \
     idempotency_key, event_type, event_version, payload, payload_digest, prev_hash, hash";

/// How long a statement waits for another process's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How to open a ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenMode {
    /// Read and write; creates the file if it is missing (and initialises an existing empty one).
    /// Upgrades an older schema.
    CreateIfMissing,
    /// Read and write; the file must exist (NotFound otherwise). A 0-byte file is initialised
    /// as a new ledger. Upgrades an older schema.
    MustExist,
    /// Read only, for commands that only read. Never creates, initialises, upgrades or writes
    /// the ledger; `append` fails with an "opened read-only" error. The file must exist
    /// (NotFound otherwise) and be a ledger of exactly this build's schema: an empty or foreign
    /// file is refused as "not a Steadfast ledger", an older ledger must first be opened once by
    /// a write command, which upgrades it, and a newer one needs a newer Steadfast.
    ///
    /// When no write-ahead log (`-wal`) is beside the file — no writer has it open and the last
    /// one closed cleanly — the file is read as SQLite's `immutable`: no locks, no `-wal` or
    /// `-shm` created, so it works where neither the file nor its directory is writable and
    /// leaves the directory exactly as it was. Such a reader sees the log as it was at open;
    /// if another process writes the file while it is open, every later read fails with a
    /// "changed by another process" error (run the command again) rather than return a torn
    /// view. When a `-wal` is present (a writer is active, or did not shut down cleanly), the
    /// file is read through SQLite's ordinary locks, which sees the writer's committed events
    /// and may need to create the `-shm` beside it.
    ReadOnly,
}

/// How an open store reaches its file.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Access {
    Write,
    /// Read-only through SQLite's locks (a `-wal` was present at open).
    ReadLocked,
    /// Read-only without locks from a file no writer had open (its real path, symlinks
    /// resolved); the stamp taken at open detects any write since.
    ReadImmutable(PathBuf, FileStamp),
}

impl Access {
    fn writes(&self) -> bool {
        *self == Access::Write
    }
}

/// Enough of a file's metadata to notice that it was written (or replaced).
#[derive(Debug, Clone, PartialEq, Eq)]
struct FileStamp {
    len: u64,
    modified: Option<std::time::SystemTime>,
    #[cfg(unix)]
    inode: (u64, u64, i64, i64),
}

fn stamp(path: &Path) -> std::io::Result<FileStamp> {
    let meta = std::fs::metadata(path)?;
    Ok(FileStamp {
        len: meta.len(),
        modified: meta.modified().ok(),
        #[cfg(unix)]
        inode: {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino(), meta.ctime(), meta.ctime_nsec())
        },
    })
}

/// `ledger.sqlite` + `-wal` and the like.
fn side_file(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// A `file:` URI opening `path` read-only and immutable.
fn immutable_uri(path: &Path) -> String {
    use std::fmt::Write as _;
    let mut uri = String::from("file:");
    for &b in path.as_os_str().as_encoded_bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            uri.push(char::from(b));
        } else {
            let _ = write!(uri, "%{b:02X}");
        }
    }
    uri.push_str("?mode=ro&immutable=1");
    uri
}

/// What a file's header says it is, read with pragmas that write nothing.
#[derive(Debug, Clone, Copy)]
struct Identity {
    application_id: i64,
    user_version: i64,
    schema_objects: i64,
}

/// One statement, so one read snapshot: read one by one, a migration committed by another
/// process in between would make a new ledger look like a foreign database.
fn identity(conn: &Connection) -> rusqlite::Result<Identity> {
    conn.query_row(
        "SELECT a.application_id, v.user_version, (SELECT count(*) FROM sqlite_schema) \
         FROM pragma_application_id AS a, pragma_user_version AS v",
        [],
        |r| {
            Ok(Identity {
                application_id: r.get(0)?,
                user_version: r.get(1)?,
                schema_objects: r.get(2)?,
            })
        },
    )
}

fn known_version() -> i64 {
    i64::try_from(MIGRATIONS.len()).unwrap_or(i64::MAX)
}

/// Refuses what is not a ledger this build can use; returns the schema version (0 for a new,
/// empty file, which only a writer accepts and initialises).
fn check_identity(path: &Path, writes: bool, found: Identity) -> Result<i64, StoreError> {
    let empty = found.application_id == 0 && found.schema_objects == 0 && found.user_version == 0;
    if found.application_id != APPLICATION_ID && !empty {
        return Err(StoreError::Incompatible(format!(
            "{} is a SQLite database but not a Steadfast ledger; refusing to {} it",
            path.display(),
            if writes { "write into" } else { "read" }
        )));
    }
    if empty && !writes {
        return Err(StoreError::Incompatible(format!(
            "{} is not a Steadfast ledger (an empty SQLite database)",
            path.display()
        )));
    }
    let known = known_version();
    if found.user_version > known {
        return Err(StoreError::Incompatible(format!(
            "{} has schema version {}, newer than this build knows ({known}); upgrade Steadfast",
            path.display(),
            found.user_version
        )));
    }
    Ok(found.user_version)
}

/// The SQLite backend.
#[derive(Debug)]
pub struct SqliteStore {
    conn: Connection,
    path: PathBuf,
    clock: Arc<dyn Clock>,
    access: Access,
    /// The checkpoint a large commit handed to another thread (see [`SqliteStore::commit`]).
    checkpointing: Option<std::thread::JoinHandle<()>>,
}

impl Drop for SqliteStore {
    fn drop(&mut self) {
        // Before the connection closes (and, the last one on the file, checkpoints what is left).
        self.wait_for_checkpoint();
        if self.access.writes() {
            self.truncate_wal();
        }
    }
}

/// How long a closing writer waits for readers before leaving the `-wal` as it is.
const CLOSE_CHECKPOINT_TIMEOUT: Duration = Duration::from_millis(500);

/// Bytes written by one commit beyond which its checkpoint runs on another thread: about the
/// 1,000 pages at which SQLite checkpoints on its own.
const BACKGROUND_CHECKPOINT_BYTES: usize = 4 << 20;

/// Commits a write transaction that wrote about `bytes`; returns whether its checkpoint was
/// left to [`SqliteStore::after_large_commit`], which the caller must then call, committed or
/// not. A large transaction is committed without SQLite's automatic checkpoint — copying the
/// write-ahead log into the file, seconds for a batch of a million events — so that it can run
/// on another thread while the caller goes on (folding what it wrote, say). The commit is
/// durable either way: it is in the synced write-ahead log when `COMMIT` returns, whoever
/// copies it into the file later, and any connection finishes a checkpoint left undone (this
/// one at the latest when it closes).
fn commit(
    tx: rusqlite::Transaction<'_>,
    bytes: usize,
    fail: Fail<'_>,
) -> (bool, Result<(), StoreError>) {
    if bytes < BACKGROUND_CHECKPOINT_BYTES {
        return (false, tx.commit().map_err(fail));
    }
    if let Err(e) = tx.pragma_update(None, "wal_autocheckpoint", 0) {
        return (false, Err(fail(e)));
    }
    (true, tx.commit().map_err(fail))
}

fn backend(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(Box::new(e))
}

fn backend_msg(message: String) -> StoreError {
    StoreError::Backend(message.into())
}

impl SqliteStore {
    /// Opens a ledger on the system clock; see [`OpenMode`] for what each mode may do.
    pub fn open(path: &Path, mode: OpenMode) -> Result<Self, StoreError> {
        SqliteStore::open_with_clock(path, mode, Arc::new(SystemClock))
    }

    pub fn open_with_clock(
        path: &Path,
        mode: OpenMode,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, StoreError> {
        // The bundled SQLite reads any name starting with `file:` as a URI; a relative path
        // that happens to start so is made explicit, so it always names the file it says.
        let explicit;
        let path = if path.as_os_str().as_encoded_bytes().starts_with(b"file:") {
            explicit = Path::new(".").join(path);
            explicit.as_path()
        } else {
            path
        };
        let meta = match std::fs::metadata(path) {
            Ok(meta) => Some(meta),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => {
                return Err(StoreError::Incompatible(format!(
                    "cannot open {}: {e}",
                    path.display()
                )));
            }
        };
        match &meta {
            None if mode != OpenMode::CreateIfMissing => {
                return Err(StoreError::Missing {
                    location: path.display().to_string(),
                });
            }
            Some(meta) if !meta.is_file() => {
                return Err(StoreError::Incompatible(format!(
                    "{} is not a Steadfast ledger (not a regular file)",
                    path.display()
                )));
            }
            _ => {}
        }
        if mode == OpenMode::ReadOnly {
            if meta.is_some_and(|m| m.len() == 0) {
                return Err(StoreError::Incompatible(format!(
                    "{} is not a Steadfast ledger (the file is empty)",
                    path.display()
                )));
            }
            SqliteStore::open_reader(path, clock)
        } else {
            SqliteStore::open_writer(path, mode, clock)
        }
    }

    fn open_writer(path: &Path, mode: OpenMode, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        if mode == OpenMode::CreateIfMissing
            && let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty())
            && !dir.is_dir()
        {
            return Err(StoreError::NotFound(format!(
                "cannot create {}: the directory {} does not exist",
                path.display(),
                dir.display()
            )));
        }
        let mut flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        if mode == OpenMode::CreateIfMissing {
            flags |= OpenFlags::SQLITE_OPEN_CREATE;
        }
        let conn = Connection::open_with_flags(path, flags)
            .map_err(|e| classify(path, &Access::Write, e))?;
        let mut store = SqliteStore {
            conn,
            path: path.to_owned(),
            clock,
            access: Access::Write,
            checkpointing: None,
        };
        store.conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
        // Identity first, with pragmas that write nothing: a foreign or newer file is refused
        // before anything (journal mode included) is set on it.
        let found = identity(&store.conn).map_err(|e| store.fail(e))?;
        let version = check_identity(&store.path, store.access.writes(), found)?;
        // SQLite quietly opens a file it may not write read-only; say so now, not at the first
        // append.
        if store.conn.is_readonly(rusqlite::MAIN_DB).map_err(backend)? {
            return Err(store.not_writable("attempt to write a readonly database"));
        }
        // A new ledger gets 16 KiB pages (SQLite's default is 4 KiB); set before WAL mode, which
        // fixes it, and without effect on an existing file. At 1,000,000 events, opening a
        // ledger (the chain and snapshot read whole) took 0.1-0.25 s less, warm or cold; 64 KiB
        // pages opened no faster and made the import twice as slow.
        store
            .conn
            .execute_batch("PRAGMA page_size = 16384;")
            .map_err(|e| store.fail(e))?;
        store.configure()?;
        if version != known_version() {
            store.migrate()?;
        }
        Ok(store)
    }

    /// Refuses `doing` on a store opened for reading.
    fn must_write(&self, doing: &str) -> Result<(), StoreError> {
        if self.access.writes() {
            return Ok(());
        }
        Err(StoreError::Incompatible(format!(
            "{} is opened read-only; {doing} needs it opened for writing",
            self.path.display()
        )))
    }

    fn open_reader(path: &Path, clock: Arc<dyn Clock>) -> Result<Self, StoreError> {
        // No `-wal` (and no rollback journal): no writer has the file open and everything is
        // in the file itself, so it can be read without locks or side files. With a `-wal`,
        // committed events may live only there: read through SQLite's locks. SQLite keeps the
        // side files beside the file a symlink points to, so look there.
        let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_owned());
        let quiescent =
            !side_file(&real, "-wal").exists() && !side_file(&real, "-journal").exists();
        let access = if quiescent {
            let at_open = stamp(&real).map_err(|e| {
                StoreError::Incompatible(format!("cannot open {}: {e}", path.display()))
            })?;
            Access::ReadImmutable(real.clone(), at_open)
        } else {
            Access::ReadLocked
        };
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = if quiescent {
            Connection::open_with_flags(immutable_uri(&real), flags | OpenFlags::SQLITE_OPEN_URI)
        } else {
            Connection::open_with_flags(path, flags)
        }
        .map_err(|e| classify(path, &access, e))?;
        let store = SqliteStore {
            conn,
            path: path.to_owned(),
            clock,
            access,
            checkpointing: None,
        };
        store.conn.busy_timeout(BUSY_TIMEOUT).map_err(backend)?;
        let found = store.checked(identity(&store.conn).map_err(|e| store.fail(e)))?;
        let version = check_identity(&store.path, store.access.writes(), found)?;
        if version < known_version() {
            return Err(StoreError::NeedsUpgrade {
                location: store.path.display().to_string(),
                found: version,
                wanted: known_version(),
            });
        }
        Ok(store)
    }

    fn configure(&self) -> Result<(), StoreError> {
        let mode = self.set_wal()?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Incompatible(format!(
                "{}: SQLite refused WAL journal mode (got `{mode}`)",
                self.path.display()
            )));
        }
        // `temp_store = MEMORY` keeps any statement journal in memory. The store's inserts no
        // longer need one (they FAIL rather than ABORT: see migration 0004), but a statement
        // that may abort on its own inside a larger transaction makes SQLite save the pages it
        // touches to undo just that statement; once that journal outgrew its 64 KiB in-memory
        // start it became a temporary file (20 GB of `write()` for 1,000,000 rows before 0004).
        // It only ever undoes a failed statement within a live transaction and is never read
        // after a crash (the WAL is), so keeping it in memory changes no durability guarantee.
        self.conn
            .execute_batch(
                "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; PRAGMA temp_store = MEMORY;",
            )
            .map_err(|e| self.fail(e))?;
        let synchronous: i64 = self
            .conn
            .query_row("PRAGMA synchronous", [], |r| r.get(0))
            .map_err(|e| self.fail(e))?;
        if synchronous != 2 {
            return Err(StoreError::Incompatible(format!(
                "{}: SQLite did not take synchronous=FULL (got {synchronous}); refusing to risk acknowledged writes",
                self.path.display()
            )));
        }
        Ok(())
    }

    /// Switches to WAL (a no-op on a ledger already in it). Several processes switching the same
    /// new file at once can get SQLITE_BUSY straight away, without the busy handler (SQLite will
    /// not wait for a write lock while holding a read lock another connection may be waiting
    /// on), so the switch is retried until the busy timeout.
    fn set_wal(&self) -> Result<String, StoreError> {
        let deadline = Instant::now() + BUSY_TIMEOUT;
        let mut pause = Duration::from_millis(1);
        loop {
            match self
                .conn
                .query_row("PRAGMA journal_mode = WAL", [], |r| r.get::<_, String>(0))
            {
                Err(e)
                    if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                        && Instant::now() < deadline =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                result => return result.map_err(|e| self.fail(e)),
            }
        }
    }

    /// Brings the schema up to date in one `BEGIN IMMEDIATE` transaction. What was read before
    /// is re-read under the write lock: another process may have created or upgraded the same
    /// ledger in between (several commands starting at once on a new file).
    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let access = self.access.clone();
        let fail = |e| classify(&path, &access, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let found = identity(&tx).map_err(fail)?;
        let version = check_identity(&path, true, found)?;
        let done = usize::try_from(version).unwrap_or(0);
        if done == MIGRATIONS.len() {
            return Ok(());
        }
        for (i, sql) in MIGRATIONS.iter().enumerate().skip(done) {
            tx.execute_batch(sql).map_err(fail)?;
            tx.pragma_update(None, "user_version", i64::try_from(i + 1).unwrap_or(0))
                .map_err(fail)?;
        }
        tx.pragma_update(None, "application_id", APPLICATION_ID)
            .map_err(fail)?;
        tx.commit().map_err(fail)
    }

    /// Maps a SQLite failure to what the caller must know (locked, not writable, not a ledger).
    fn fail(&self, e: rusqlite::Error) -> StoreError {
        classify(&self.path, &self.access, e)
    }

    fn not_writable(&self, cause: &str) -> StoreError {
        not_writable(&self.path, cause)
    }

    /// For a reader without locks: fails if the file was written since it was opened, whatever
    /// the read returned — what it read may mix old and new pages.
    fn checked<T>(&self, result: Result<T, StoreError>) -> Result<T, StoreError> {
        // A writer must open the file (creating its `-wal`) before it can change it, so a
        // side file that appeared since the open means a writer came along, even where file
        // timestamps are too coarse to show its writes.
        if let Access::ReadImmutable(real, at_open) = &self.access
            && (stamp(real).ok().as_ref() != Some(at_open)
                || side_file(real, "-wal").exists()
                || side_file(real, "-journal").exists())
        {
            return Err(backend_msg(format!(
                "{} was changed by another process while this command had it open read-only; nothing read from it since is trusted — run the command again",
                self.path.display()
            )));
        }
        result
    }

    /// After [`commit`] left a transaction's checkpoint aside: restores SQLite's automatic
    /// checkpoints and, if the transaction committed, checkpoints on another thread.
    fn after_large_commit(&mut self, committed: bool) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "wal_autocheckpoint", 1000)
            .map_err(|e| self.fail(e))?;
        if committed {
            self.checkpoint_in_background();
        }
        Ok(())
    }

    fn checkpoint_in_background(&mut self) {
        self.wait_for_checkpoint();
        let path = self.path.clone();
        self.checkpointing = Some(std::thread::spawn(move || {
            // Best effort: a checkpoint left undone is finished by the next one, or at close.
            let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX;
            if let Ok(conn) = Connection::open_with_flags(&path, flags) {
                let _ = conn.busy_timeout(BUSY_TIMEOUT);
                let _ = conn.execute_batch("PRAGMA synchronous = FULL;");
                let _ = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()));
            }
        }));
    }

    /// Copies the write-ahead log into the file and truncates it to nothing. SQLite deletes the
    /// `-wal` when the last connection to the file closes, but not while another is open (a
    /// second writer, a reader under locks): then it stays as large as the largest batch ever
    /// written into it (hundreds of MB after an import of a million rows). Best effort and
    /// bounded: a reader still reading an older state keeps the log, and the next writer to
    /// close truncates it.
    fn truncate_wal(&mut self) {
        let _ = self.conn.busy_timeout(CLOSE_CHECKPOINT_TIMEOUT);
        let _ = self
            .conn
            .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()));
    }

    /// Waits for a checkpoint running on another thread, if any.
    fn wait_for_checkpoint(&mut self) {
        if let Some(running) = self.checkpointing.take() {
            let _ = running.join();
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The mode the store was opened in, as far as writing goes.
    pub fn is_read_only(&self) -> bool {
        !self.access.writes()
    }

    /// The raw connection, for tests that simulate tampering or inspect pragmas.
    #[doc(hidden)]
    pub fn connection(&self) -> &Connection {
        &self.conn
    }
}

fn not_writable(path: &Path, cause: &str) -> StoreError {
    StoreError::NotWritable {
        location: path.display().to_string(),
        reason: format!(
            "the file or its directory is not writable by this process ({cause}); SQLite writes the ledger and its -wal and -shm files beside it"
        ),
    }
}

/// Classifies a SQLite failure: only "not a database" means a foreign file; a lock held by
/// another process and a file or directory that cannot be written each get their own message.
fn classify(path: &Path, access: &Access, e: rusqlite::Error) -> StoreError {
    let not_a_database = e.sqlite_error_code() == Some(ErrorCode::NotADatabase)
        || e.to_string().contains("file is not a database");
    if not_a_database {
        return StoreError::Incompatible(format!(
            "{} is not a Steadfast ledger (not a SQLite database): {e}",
            path.display()
        ));
    }
    match e.sqlite_error_code() {
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => backend_msg(format!(
            "{}: the ledger is locked by another process ({e}); try again when it has finished",
            path.display()
        )),
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen) if access.writes() => {
            not_writable(path, &e.to_string())
        }
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen) if *access == Access::ReadLocked => {
            // Name the side file that is actually there.
            let journal = side_file(path, "-journal");
            let (found, needs) = if journal.exists() {
                (
                    journal,
                    "to roll back the interrupted write first".to_owned(),
                )
            } else {
                (
                    side_file(path, "-wal"),
                    format!("to create or open {}", side_file(path, "-shm").display()),
                )
            };
            StoreError::ReadNeedsWriteAccess {
                location: path.display().to_string(),
                cause: e.to_string(),
                reason: format!(
                    "{} is beside it, so SQLite needs write access {needs} — a writer is active or did not close cleanly",
                    found.display()
                ),
            }
        }
        Some(ErrorCode::ReadOnly | ErrorCode::CannotOpen) => StoreError::Incompatible(format!(
            "cannot read {} ({e}): check that the file is readable by this process",
            path.display()
        )),
        _ => backend(e),
    }
}

type Fail<'a> = &'a dyn Fn(rusqlite::Error) -> StoreError;

fn head_of(conn: &Connection, fail: Fail<'_>) -> Result<Option<Head>, StoreError> {
    conn.prepare_cached(
        "SELECT position, hash, recorded_at_us FROM events ORDER BY position DESC LIMIT 1",
    )
    .map_err(fail)?
    .query_row([], |r| {
        Ok((
            r.get::<_, i64>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, i64>(2)?,
        ))
    })
    .optional()
    .map_err(fail)?
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
    Ok(read_row_borrowed(r)?.map(|event| event.to_stored()))
}

/// A row of the log, borrowed from SQLite's own buffers (valid until the statement steps on).
fn read_row_borrowed<'r>(
    r: &'r rusqlite::Row<'_>,
) -> Result<Result<StoredEventRef<'r>, StoreError>, rusqlite::Error> {
    use rusqlite::types::Type;
    let text = |i: usize| -> Result<&'r str, rusqlite::Error> {
        r.get_ref(i)?
            .as_str()
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Text, Box::new(e)))
    };
    let blob = |i: usize| -> Result<&'r [u8], rusqlite::Error> {
        r.get_ref(i)?
            .as_blob()
            .map_err(|e| rusqlite::Error::FromSqlConversionFailure(i, Type::Blob, Box::new(e)))
    };
    let position: i64 = r.get(0)?;
    let stream = text(1)?;
    let stream_version: i64 = r.get(2)?;
    let recorded: i64 = r.get(3)?;
    let effective = text(4)?;
    let actor = text(5)?;
    let key = r
        .get_ref(6)?
        .as_str_or_null()
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(6, Type::Text, Box::new(e)))?;
    let event_type = text(7)?;
    let event_version: i64 = r.get(8)?;
    let payload = blob(9)?;
    let digest = blob(10)?;
    let prev = blob(11)?;
    let hash = blob(12)?;
    Ok((|| {
        Ok(StoredEventRef {
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
            payload_digest: to_hash(digest, "payload digest")?,
            prev_hash: to_hash(prev, "previous hash")?,
            hash: to_hash(hash, "hash")?,
        })
    })())
}

/// Seals `events` one at a time and inserts each into the open transaction `tx`; returns the
/// last event written (`None` for an empty batch) and the bytes of payload. One statement per
/// event (a multi-row INSERT copies every row once more through its VALUES co-routine). `OR
/// FAIL`, with the fence's `RAISE(FAIL)` (migration 0004), spares SQLite a statement journal of
/// every page each insert touches: a refused insert has written nothing (the trigger runs and
/// the unique constraints are checked before the row is), and a refusal rolls back the whole
/// batch. On any failure — of the producer, of sealing, of an insert — it returns the error;
/// the caller's transaction then rolls back, so nothing of the batch is written.
fn write_sealed(
    tx: &Connection,
    path: &Path,
    mut sealer: Sealer,
    events: &mut dyn Iterator<Item = Result<NewEvent, StoreError>>,
) -> Result<(Option<Head>, usize), StoreError> {
    let fail = |e| classify(path, &Access::Write, e);
    let mut insert = tx
        .prepare_cached(&format!(
            "INSERT OR FAIL INTO events ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
        ))
        .map_err(fail)?;
    let mut last = None;
    let mut bytes = 0;
    for item in events {
        // Every stream was looked up and checked before sealing began.
        let e = sealer.seal(item?, &mut |s| Err(unlisted_stream(s)))?;
        bytes += e.payload.len();
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
            .map_err(|err| refused(tx, path, &e, err))?;
        last = Some(e.head());
    }
    Ok((last, bytes))
}

/// Why SQLite refused to insert a sealed event. The append-only trigger and the unique
/// constraints refuse an idempotency key already recorded (before this batch or earlier in it):
/// that is the caller's duplicate. Anything else the schema refuses cannot come from this
/// store, which seals under the write lock against the current head and stream versions.
fn refused(conn: &Connection, path: &Path, e: &StoredEvent, err: rusqlite::Error) -> StoreError {
    if err.sqlite_error_code() != Some(ErrorCode::ConstraintViolation) {
        return classify(path, &Access::Write, err);
    }
    if let Some(key) = &e.idempotency_key {
        let recorded = conn
            .prepare_cached("SELECT 1 FROM events WHERE idempotency_key = ?1")
            .and_then(|mut stmt| stmt.exists([key]));
        match recorded {
            Ok(true) => return StoreError::DuplicateKey(key.clone()),
            Ok(false) => {}
            Err(other) => return classify(path, &Access::Write, other),
        }
    }
    StoreError::ChangedOutsideStore {
        location: path.display().to_string(),
        refusal: format!(
            "SQLite refused to insert event {} (stream `{}`, version {}): {err}",
            e.position, e.stream, e.stream_version
        ),
    }
}

impl SqliteStore {
    /// Saves the snapshot `header` describes, its body written by `write`. The row goes in with
    /// a zero-filled body of the right length, which is then written in place through
    /// incremental blob I/O: bound as a parameter, a body of hundreds of megabytes would be
    /// held whole and copied twice more (SQLite's own copy of the parameter, then the record
    /// built from it) before reaching the file. The digest goes in with the row, never after:
    /// updating any column rewrites the whole record, body included. One transaction, so no
    /// reader ever sees the row without its body, and a body that fails, does not come to
    /// `header.len` bytes or (when `check`) does not match `header.digest` leaves the earlier
    /// snapshot in place.
    fn put_snapshot(
        &mut self,
        header: &SnapshotHeader,
        check: bool,
        write: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<(), StoreError> {
        self.must_write("saving a snapshot")?;
        let path = self.path.clone();
        let fail = |e| classify(&path, &Access::Write, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        tx.prepare_cached(
            "INSERT OR REPLACE INTO snapshots (format, position, head_hash, recorded_at_us, digest, body) \
             VALUES (?1, ?2, ?3, ?4, ?5, zeroblob(?6))",
        )
        .map_err(fail)?
        .execute(params![
            header.format,
            to_i64(header.head.position)?,
            header.head.hash.0.as_slice(),
            header.head.recorded_at.as_microsecond(),
            header.digest.0.as_slice(),
            to_i64(header.len)?,
        ])
        .map_err(fail)?;
        let row = tx.last_insert_rowid();
        {
            let blob = tx
                .blob_open(rusqlite::MAIN_DB, "snapshots", "body", row, false)
                .map_err(fail)?;
            let mut sink = BlobSink {
                blob,
                digest: check.then(StreamDigest::new),
                written: 0,
            };
            // Encoders write a few bytes at a time; the blob is written in larger pieces.
            let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut sink);
            write(&mut buffered)
                .and_then(|()| buffered.flush())
                .map_err(|e| {
                    backend_msg(format!(
                        "{}: writing the snapshot failed: {e}; nothing was saved",
                        path.display()
                    ))
                })?;
            drop(buffered);
            let digest = sink.digest.map(StreamDigest::finish);
            if sink.written != header.len || digest.is_some_and(|d| d != header.digest) {
                return Err(snapshot_mismatch(header, sink.written));
            }
        }
        let bytes = usize::try_from(header.len).unwrap_or(usize::MAX);
        let (deferred, committed) = commit(tx, bytes, &fail);
        if deferred {
            self.after_large_commit(committed.is_ok())?;
        }
        committed
    }
}

/// Where a snapshot body is written: the blob, counted (and hashed, when checked) as it goes.
/// Writing past the blob's end writes nothing (`write_all` then fails), so a body longer than
/// announced fails.
struct BlobSink<'a> {
    blob: rusqlite::blob::Blob<'a>,
    digest: Option<StreamDigest>,
    written: u64,
}

impl std::io::Write for BlobSink<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.blob.write(buf)?;
        if let Some(digest) = &mut self.digest {
            digest.update(&buf[..n]);
        }
        self.written += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.blob.flush()
    }
}

impl EventLog for SqliteStore {
    fn append(&mut self, request: AppendRequest) -> Result<Appended, StoreError> {
        // Streams the batch does not list are looked up like the listed ones, only not checked.
        let AppendRequest {
            events,
            mut expected,
        } = request;
        let mut listed: HashSet<String> = expected.iter().map(|(s, _)| s.clone()).collect();
        for e in &events {
            if !listed.contains(&e.stream) {
                listed.insert(e.stream.clone());
                expected.push((e.stream.clone(), ExpectedVersion::Any));
            }
        }
        self.append_streamed(expected, &mut events.into_iter().map(Ok))
    }

    /// One `BEGIN IMMEDIATE` transaction: the head and every listed stream's version are read
    /// and checked under the write lock, then each event is sealed and inserted as it comes,
    /// and the transaction commits only once all of them are in.
    fn append_streamed(
        &mut self,
        expected: Vec<(String, ExpectedVersion)>,
        events: &mut dyn Iterator<Item = Result<NewEvent, StoreError>>,
    ) -> Result<Appended, StoreError> {
        self.must_write("appending")?;
        let path = self.path.clone();
        let fail = |e| classify(&path, &Access::Write, e);
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(fail)?;
        let head = head_of(&tx, &fail)?;
        let mut sealer = Sealer::new(head, next_recorded_at(self.clock.as_ref(), head.as_ref()));
        {
            let mut version_stmt = tx
                .prepare_cached("SELECT max(stream_version) FROM events WHERE stream = ?1")
                .map_err(fail)?;
            for (stream, wanted) in expected {
                let version: Option<i64> = version_stmt
                    .query_row([&stream], |r| r.get(0))
                    .map_err(fail)?;
                let version = version.map(to_u64).transpose()?;
                check_expectation(&stream, wanted, version)?;
                sealer.knows(stream, version);
            }
        }
        let (last, bytes) = write_sealed(&tx, &path, sealer, events)?;
        let (deferred, committed) = commit(tx, bytes, &fail);
        if deferred {
            self.after_large_commit(committed.is_ok())?;
        }
        committed?;
        Ok(Appended::through(head, last))
    }

    fn head(&self) -> Result<Option<Head>, StoreError> {
        self.checked(head_of(&self.conn, &|e| self.fail(e)))
    }

    fn scan_borrowed(
        &self,
        after: u64,
        visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let fail = |e| self.fail(e);
        let result = (|| {
            let mut stmt = self
                .conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM events WHERE position > ?1 ORDER BY position"
                ))
                .map_err(fail)?;
            let mut rows = stmt.query([to_i64(after)?]).map_err(fail)?;
            while let Some(row) = rows.next().map_err(fail)? {
                let event = read_row_borrowed(row).map_err(fail)??;
                if visit(&event).is_break() {
                    break;
                }
            }
            Ok(())
        })();
        self.checked(result)
    }

    fn stream_version(&self, stream: &str) -> Result<Option<u64>, StoreError> {
        let fail = |e| self.fail(e);
        let result = (|| {
            let v: Option<i64> = self
                .conn
                .prepare_cached("SELECT max(stream_version) FROM events WHERE stream = ?1")
                .map_err(fail)?
                .query_row([stream], |r| r.get(0))
                .map_err(fail)?;
            v.map(to_u64).transpose()
        })();
        self.checked(result)
    }

    fn event_by_key(&self, key: &str) -> Result<Option<StoredEvent>, StoreError> {
        let fail = |e| self.fail(e);
        let result = (|| {
            let mut stmt = self
                .conn
                .prepare_cached(&format!(
                    "SELECT {COLUMNS} FROM events WHERE idempotency_key = ?1"
                ))
                .map_err(fail)?;
            let row = stmt.query_row([key], read_row).optional().map_err(fail)?;
            row.transpose()
        })();
        self.checked(result)
    }

    fn location(&self) -> String {
        format!("sqlite:{}", self.path.display())
    }
}

impl SnapshotStore for SqliteStore {
    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.put_snapshot(&snapshot.header(), false, &mut |sink| {
            sink.write_all(&snapshot.body)
        })
    }

    fn save_snapshot_streamed(
        &mut self,
        header: &SnapshotHeader,
        write: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<(), StoreError> {
        self.put_snapshot(header, true, write)
    }

    fn load_snapshot(&self, format: &str) -> Result<Option<Snapshot>, StoreError> {
        let mut loaded = None;
        self.read_snapshot(format, &mut |header, body| {
            let mut bytes = Vec::with_capacity(usize::try_from(header.len).unwrap_or(0));
            loaded = Some(body.read_to_end(&mut bytes).map(|_| Snapshot {
                format: header.format.clone(),
                head: header.head,
                digest: header.digest,
                body: bytes,
            }));
        })?;
        loaded
            .transpose()
            .map_err(|e| StoreError::Backend(Box::new(e)))
    }

    fn read_snapshot(
        &self,
        format: &str,
        read: &mut dyn FnMut(&SnapshotHeader, &mut dyn std::io::Read),
    ) -> Result<bool, StoreError> {
        let fail = |e| self.fail(e);
        let result = (|| {
            let row = self
                .conn
                .prepare_cached(
                    "SELECT rowid, position, head_hash, recorded_at_us, digest, length(body) FROM snapshots WHERE format = ?1",
                )
                .map_err(fail)?
                .query_row([format], |r| {
                    Ok((
                        r.get::<_, i64>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Vec<u8>>(2)?,
                        r.get::<_, i64>(3)?,
                        r.get::<_, Vec<u8>>(4)?,
                        r.get::<_, i64>(5)?,
                    ))
                })
                .optional()
                .map_err(fail)?;
            let Some((rowid, position, hash, recorded, digest, len)) = row else {
                return Ok(false);
            };
            let header = SnapshotHeader {
                format: format.to_owned(),
                head: Head {
                    position: to_u64(position)?,
                    hash: to_hash(&hash, "snapshot head hash")?,
                    recorded_at: to_timestamp(recorded)?,
                },
                digest: to_hash(&digest, "snapshot digest")?,
                len: to_u64(len)?,
            };
            // SQLite's incremental blob I/O: the body is read from the file in pieces, never
            // copied whole into memory.
            let mut body = self
                .conn
                .blob_open(rusqlite::MAIN_DB, "snapshots", "body", rowid, true)
                .map_err(fail)?;
            read(&header, &mut body);
            Ok(true)
        })();
        self.checked(result)
    }

    fn discard_snapshot(&mut self, format: &str) -> Result<(), StoreError> {
        if !self.access.writes() {
            return Ok(());
        }
        let fail = |e| self.fail(e);
        self.conn
            .execute("DELETE FROM snapshots WHERE format = ?1", [format])
            .map_err(fail)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    //! Classification of failures a test running as root cannot provoke on a real file (root
    //! may write anything); the rest are provoked for real in `tests/sqlite.rs`.

    use super::*;

    fn failure(code: i32, message: &str) -> rusqlite::Error {
        rusqlite::Error::SqliteFailure(rusqlite::ffi::Error::new(code), Some(message.to_owned()))
    }

    #[test]
    fn a_read_only_file_or_directory_is_not_writable_for_a_writer() {
        let path = Path::new("/srv/ledger.sqlite");
        for (code, message) in [
            (
                rusqlite::ffi::SQLITE_READONLY,
                "attempt to write a readonly database",
            ),
            (
                rusqlite::ffi::SQLITE_READONLY_DIRECTORY,
                "attempt to write a readonly database",
            ),
            (
                rusqlite::ffi::SQLITE_CANTOPEN,
                "unable to open database file",
            ),
        ] {
            let err = classify(path, &Access::Write, failure(code, message));
            assert!(matches!(err, StoreError::NotWritable { .. }), "{err}");
            let text = err.to_string();
            assert!(text.contains("not writable"), "{text}");
            assert!(!text.contains("not a Steadfast ledger"), "{text}");
        }
    }

    #[test]
    fn only_not_a_database_means_not_a_ledger() {
        let path = Path::new("/srv/ledger.sqlite");
        let err = classify(
            path,
            &Access::Write,
            failure(rusqlite::ffi::SQLITE_NOTADB, "file is not a database"),
        );
        assert!(err.to_string().contains("not a Steadfast ledger"), "{err}");
        for code in [rusqlite::ffi::SQLITE_BUSY, rusqlite::ffi::SQLITE_LOCKED] {
            for access in [Access::Write, Access::ReadLocked] {
                let err = classify(path, &access, failure(code, "database is locked"));
                assert!(matches!(err, StoreError::Backend(_)), "{err}");
                assert!(
                    err.to_string()
                        .contains("the ledger is locked by another process"),
                    "{err}"
                );
            }
        }
        let err = classify(
            path,
            &Access::Write,
            failure(rusqlite::ffi::SQLITE_IOERR, "disk I/O error"),
        );
        assert!(matches!(err, StoreError::Backend(_)), "{err}");
        assert!(!err.to_string().contains("not a Steadfast ledger"), "{err}");
    }

    #[test]
    fn an_unreadable_file_is_reported_to_a_reader() {
        let path = Path::new("/srv/ledger.sqlite");
        let err = classify(
            path,
            &Access::ReadLocked,
            failure(
                rusqlite::ffi::SQLITE_CANTOPEN,
                "unable to open database file",
            ),
        );
        assert!(
            matches!(err, StoreError::ReadNeedsWriteAccess { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("cannot read"), "{err}");
        assert!(err.to_string().contains("ledger.sqlite-wal"), "{err}");
    }

    #[test]
    fn a_reader_blocked_by_a_rollback_journal_is_told_about_the_journal() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ledger.sqlite");
        std::fs::write(side_file(&path, "-journal"), b"hot").expect("journal");
        let err = classify(
            &path,
            &Access::ReadLocked,
            failure(
                rusqlite::ffi::SQLITE_READONLY,
                "attempt to write a readonly database",
            ),
        )
        .to_string();
        assert!(err.contains("ledger.sqlite-journal"), "{err}");
        assert!(!err.contains("-wal"), "{err}");
    }

    #[test]
    fn the_immutable_uri_escapes_the_path() {
        assert_eq!(
            immutable_uri(Path::new("/tmp/a b/l?#%.sqlite")),
            "file:/tmp/a%20b/l%3F%23%25.sqlite?mode=ro&immutable=1"
        );
    }
}
