//! The event store contract.
//!
//! One append-only log of events, each with a header (position, stream, stream version,
//! recorded-at, effective date, actor, idempotency key, type and version) and an opaque payload.
//! Every event's hash covers the previous event's hash, its header and a digest of its payload,
//! so an edit anywhere in history breaks the chain from that point, and a reader shown a redacted
//! payload can still verify the chain from the stored digest.
//!
//! Beside the log, a backend keeps snapshot blobs: the application's projection saved at a log
//! position, a cache that losing costs only a replay.
//!
//! Backends implement the two roles, [`EventLog`] and [`SnapshotStore`] ([`EventStore`] is both,
//! on one handle); [`conformance`] is the suite each one must pass, a part per role;
//! [`MemoryStore`] is the reference implementation. This crate knows nothing of the domain's
//! event types, of SQL or of files.

mod chain;
mod clock;
pub mod conformance;
mod memory;

use std::fmt;
use std::ops::ControlFlow;

use jiff::Timestamp;
use jiff::civil::Date;

pub use chain::{
    ChainBreak, ChainHash, ChainVerifier, StreamDigest, VerifyReport, event_hash, payload_digest,
    verify,
};
pub use clock::{Clock, ManualClock, SystemClock};
pub use memory::MemoryStore;

/// An event to append; the store assigns position, stream version, recorded-at and hashes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewEvent {
    pub stream: String,
    pub effective_date: Date,
    /// Who wrote it: `local:<user>`, `scenario:<version>`.
    pub actor: String,
    /// Unique across the log when present; a retry with the same key is refused, not doubled.
    pub idempotency_key: Option<String>,
    pub event_type: String,
    pub event_version: u32,
    pub payload: Vec<u8>,
}

/// The version a stream must be at for a batch to append (optimistic concurrency).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedVersion {
    /// No check.
    Any,
    /// The stream must not exist yet.
    NoStream,
    /// The stream's last event must have this version.
    Exactly(u64),
}

impl fmt::Display for ExpectedVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExpectedVersion::Any => f.write_str("any version"),
            ExpectedVersion::NoStream => f.write_str("no stream"),
            ExpectedVersion::Exactly(v) => write!(f, "version {v}"),
        }
    }
}

/// A batch that is appended atomically: all events or none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AppendRequest {
    pub events: Vec<NewEvent>,
    /// Checked before anything is written; streams not listed are not checked.
    pub expected: Vec<(String, ExpectedVersion)>,
}

/// An event as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEvent {
    pub position: u64,
    pub stream: String,
    pub stream_version: u64,
    pub recorded_at: Timestamp,
    pub effective_date: Date,
    pub actor: String,
    pub idempotency_key: Option<String>,
    pub event_type: String,
    pub event_version: u32,
    pub payload: Vec<u8>,
    pub payload_digest: ChainHash,
    pub prev_hash: ChainHash,
    pub hash: ChainHash,
}

/// The log's last event: what every report prints it was computed at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Head {
    pub position: u64,
    pub hash: ChainHash,
    pub recorded_at: Timestamp,
}

/// What an append wrote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// Positions `first..=last`; empty when the batch was empty (`first == last + 1`).
    pub first_position: u64,
    pub last_position: u64,
    pub head: Option<Head>,
    /// The head the batch was chained onto (`None` for the first batch of a log): a writer
    /// that verified the log up to its own head can tell whether the store's head was the one
    /// it verified.
    pub chained_onto: Option<Head>,
}

impl Appended {
    /// What appending `sealed` (from [`seal_batch`]) onto the head `before` wrote; shared by
    /// the backends so they all report alike.
    pub fn of(before: Option<Head>, sealed: &[StoredEvent]) -> Self {
        Appended::through(before, sealed.last().map(StoredEvent::head))
    }

    /// What a batch chained onto `before` wrote, given its last event (`None`: it was empty).
    pub fn through(before: Option<Head>, last: Option<Head>) -> Self {
        let head = last.or(before);
        Appended {
            first_position: before.map_or(1, |h| h.position + 1),
            last_position: head.map_or(0, |h| h.position),
            head,
            chained_onto: before,
        }
    }
}

impl StoredEvent {
    /// This event as a log head.
    pub fn head(&self) -> Head {
        self.borrowed().head()
    }

    /// This event, borrowed.
    pub fn borrowed(&self) -> StoredEventRef<'_> {
        StoredEventRef {
            position: self.position,
            stream: &self.stream,
            stream_version: self.stream_version,
            recorded_at: self.recorded_at,
            effective_date: self.effective_date,
            actor: &self.actor,
            idempotency_key: self.idempotency_key.as_deref(),
            event_type: &self.event_type,
            event_version: self.event_version,
            payload: &self.payload,
            payload_digest: self.payload_digest,
            prev_hash: self.prev_hash,
            hash: self.hash,
        }
    }
}

/// An event as stored, borrowed from where the store holds it rather than copied out: what
/// checking the chain reads, so verifying a large log allocates nothing per event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StoredEventRef<'a> {
    pub position: u64,
    pub stream: &'a str,
    pub stream_version: u64,
    pub recorded_at: Timestamp,
    pub effective_date: Date,
    pub actor: &'a str,
    pub idempotency_key: Option<&'a str>,
    pub event_type: &'a str,
    pub event_version: u32,
    pub payload: &'a [u8],
    pub payload_digest: ChainHash,
    pub prev_hash: ChainHash,
    pub hash: ChainHash,
}

impl StoredEventRef<'_> {
    /// This event as a log head.
    pub fn head(&self) -> Head {
        Head {
            position: self.position,
            hash: self.hash,
            recorded_at: self.recorded_at,
        }
    }

    /// An owned copy.
    pub fn to_stored(&self) -> StoredEvent {
        StoredEvent {
            position: self.position,
            stream: self.stream.to_owned(),
            stream_version: self.stream_version,
            recorded_at: self.recorded_at,
            effective_date: self.effective_date,
            actor: self.actor.to_owned(),
            idempotency_key: self.idempotency_key.map(str::to_owned),
            event_type: self.event_type.to_owned(),
            event_version: self.event_version,
            payload: self.payload.to_vec(),
            payload_digest: self.payload_digest,
            prev_hash: self.prev_hash,
            hash: self.hash,
        }
    }
}

/// Store failures, separated as callers must treat them differently.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("stream `{stream}` is at {actual}, the batch expected {expected}")]
    Conflict {
        stream: String,
        expected: ExpectedVersion,
        actual: String,
    },
    #[error("idempotency key `{0}` is already recorded")]
    DuplicateKey(String),
    #[error("not found: {0}")]
    NotFound(String),
    /// No log at `location`, and it was to be opened, not created.
    #[error("not found: no ledger at {location}")]
    Missing { location: String },
    /// Writing needs access this process lacks, to the file or beside it (`reason` says which).
    #[error("cannot write to {location}: {reason}")]
    NotWritable { location: String, reason: String },
    /// Even reading needs write access this process lacks: a writer is active, or left the
    /// backend something to finish or undo first (`reason` says what).
    #[error("cannot read {location} ({cause}): {reason}")]
    ReadNeedsWriteAccess {
        location: String,
        cause: String,
        reason: String,
    },
    /// The log is of an older schema than this build's, and a read-only handle may not
    /// upgrade it.
    #[error(
        "{location} has schema version {found}, older than this build's ({wanted}); it cannot be upgraded while opened read-only"
    )]
    NeedsUpgrade {
        location: String,
        found: i64,
        wanted: i64,
    },
    /// The backend refused an event the store had sealed against its own head and stream
    /// versions, under its lock: something changed the log outside the store. Nothing of the
    /// batch was written.
    #[error(
        "{location}: {refusal}; the batch was rolled back and nothing was written — the ledger was changed outside this store's lock"
    )]
    ChangedOutsideStore { location: String, refusal: String },
    #[error("{0}")]
    Incompatible(String),
    /// The message says the backend's own error; it is not also given as the source, so a
    /// front end printing the chain of causes prints it once.
    #[error("storage backend failed: {0}")]
    Backend(Box<dyn std::error::Error + Send + Sync>),
}

/// The log: what every backend keeps, append-only and hash-chained; checked by
/// [`conformance`].
pub trait EventLog: Send + fmt::Debug {
    /// Appends a batch atomically after checking every expected version; assigns consecutive
    /// positions and stream versions, one recorded-at for the whole batch (never earlier than
    /// the head's), and chains the hashes.
    fn append(&mut self, request: AppendRequest) -> Result<Appended, StoreError>;

    /// [`append`](EventLog::append) for a batch whose events are still being produced:
    /// `events` is pulled in order (by backends that write each event as it comes, so no encoded
    /// copy of the whole batch is held), and the batch is atomic all the same (the first `Err`
    /// it yields, like any other failure, leaves nothing written). Every stream the events
    /// append to must be listed in `expected` (with [`ExpectedVersion::Any`] to check nothing):
    /// an event on a stream not listed fails the batch.
    fn append_streamed(
        &mut self,
        expected: Vec<(String, ExpectedVersion)>,
        events: &mut dyn Iterator<Item = Result<NewEvent, StoreError>>,
    ) -> Result<Appended, StoreError> {
        let events: Vec<NewEvent> = events.collect::<Result<_, _>>()?;
        let listed: std::collections::HashSet<&str> =
            expected.iter().map(|(s, _)| s.as_str()).collect();
        if let Some(e) = events.iter().find(|e| !listed.contains(e.stream.as_str())) {
            return Err(unlisted_stream(&e.stream));
        }
        self.append(AppendRequest { events, expected })
    }

    /// The last event, if any.
    fn head(&self) -> Result<Option<Head>, StoreError>;

    /// Visits events with position greater than `after`, in log order, until the visitor
    /// breaks, lending each rather than handing over a copy: what checking the chain of a large
    /// log needs (a backend reading from its own buffers allocates nothing per event).
    fn scan_borrowed(
        &self,
        after: u64,
        visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StoreError>;

    /// [`scan_borrowed`](EventLog::scan_borrowed), handing over a copy of each event.
    fn scan(
        &self,
        after: u64,
        visit: &mut dyn FnMut(StoredEvent) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        self.scan_borrowed(after, &mut |event| visit(event.to_stored()))
    }

    /// The version of a stream's last event, `None` if the stream has none.
    fn stream_version(&self, stream: &str) -> Result<Option<u64>, StoreError>;

    /// The event recorded under an idempotency key.
    fn event_by_key(&self, key: &str) -> Result<Option<StoredEvent>, StoreError>;

    /// Where the data lives, for messages (`sqlite:/path/ledger.sqlite`, `memory`).
    fn location(&self) -> String;
}

/// Snapshot blobs kept beside the log: the latest one per format, each with the head it was
/// built from and the digest of its body. A cache, never part of the log: losing one costs a replay,
/// nothing else. Checked by [`conformance`].
pub trait SnapshotStore: Send + fmt::Debug {
    /// Saves a snapshot, replacing any earlier one of the same format.
    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError>;

    /// [`save_snapshot`](SnapshotStore::save_snapshot) for a body written as it is produced, so a
    /// body of hundreds of megabytes need not be held whole in memory (by backends that write
    /// it in place): `write` writes the body into the sink it is given, and it must come to
    /// `header.len` bytes with the SHA-256 digest `header.digest` — the store checks both as
    /// the bytes pass. A body that does not match, or a `write` that fails, saves nothing and
    /// leaves any earlier snapshot of the format as it was. The default collects the body and
    /// saves it whole.
    fn save_snapshot_streamed(
        &mut self,
        header: &SnapshotHeader,
        write: &mut dyn FnMut(&mut dyn std::io::Write) -> std::io::Result<()>,
    ) -> Result<(), StoreError> {
        let mut body = Vec::with_capacity(usize::try_from(header.len).unwrap_or(0));
        write(&mut body).map_err(|e| StoreError::Backend(Box::new(e)))?;
        let snapshot = Snapshot::new(&header.format, header.head, body);
        let written = snapshot.header();
        if (written.len, written.digest) != (header.len, header.digest) {
            return Err(snapshot_mismatch(header, written.len));
        }
        self.save_snapshot(&snapshot)
    }

    /// The snapshot of a format, if one is saved (its body's digest not yet checked: see
    /// [`Snapshot::is_intact`]).
    fn load_snapshot(&self, format: &str) -> Result<Option<Snapshot>, StoreError>;

    /// Removes the snapshot of a format (one found not to match the log).
    fn discard_snapshot(&mut self, format: &str) -> Result<(), StoreError>;

    /// Reads the snapshot of a format without holding its body in memory: `read` gets its
    /// header and a reader over the body (the caller checks the digest as it reads). Returns
    /// `false` when no snapshot of the format is saved. The default reads it whole.
    fn read_snapshot(
        &self,
        format: &str,
        read: &mut dyn FnMut(&SnapshotHeader, &mut dyn std::io::Read),
    ) -> Result<bool, StoreError> {
        match self.load_snapshot(format)? {
            Some(snapshot) => {
                read(&snapshot.header(), &mut snapshot.body.as_slice());
                Ok(true)
            }
            None => Ok(false),
        }
    }
}

/// Both roles on one handle: what the application opens, a ledger's log and the snapshots kept
/// beside it.
pub trait EventStore: EventLog + SnapshotStore {}

impl<S: EventLog + SnapshotStore + ?Sized> EventStore for S {}

/// What a saved snapshot is, without its body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SnapshotHeader {
    pub format: String,
    pub head: Head,
    /// SHA-256 of the body.
    pub digest: ChainHash,
    /// The body's length in bytes.
    pub len: u64,
}

/// A projection saved at a log position by the application: opaque bytes in a named format,
/// with the head they were built from and a digest of the bytes. The store keeps the latest
/// one per format; the application trusts one only if its head is the log's event at that
/// position and its digest matches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// The encoding and version of `body` (`ledger-v1`): a build reads only formats it knows.
    pub format: String,
    /// The head the projection was built from (its last event).
    pub head: Head,
    /// SHA-256 of `body`, computed when the snapshot was made.
    pub digest: ChainHash,
    pub body: Vec<u8>,
}

impl Snapshot {
    /// A snapshot of `body` at `head`, with its digest.
    pub fn new(format: &str, head: Head, body: Vec<u8>) -> Self {
        Snapshot {
            format: format.to_owned(),
            head,
            digest: payload_digest(&body),
            body,
        }
    }

    /// Whether the body is still the bytes the digest was computed from.
    pub fn is_intact(&self) -> bool {
        payload_digest(&self.body) == self.digest
    }

    pub fn header(&self) -> SnapshotHeader {
        SnapshotHeader {
            format: self.format.clone(),
            head: self.head,
            digest: self.digest,
            len: self.body.len() as u64,
        }
    }
}

/// Checks expectations against current stream versions; shared by backends so they all word
/// conflicts alike.
pub fn check_expectation(
    stream: &str,
    expected: ExpectedVersion,
    actual: Option<u64>,
) -> Result<(), StoreError> {
    let ok = match expected {
        ExpectedVersion::Any => true,
        ExpectedVersion::NoStream => actual.is_none(),
        ExpectedVersion::Exactly(v) => actual == Some(v),
    };
    if ok {
        Ok(())
    } else {
        Err(StoreError::Conflict {
            stream: stream.to_owned(),
            expected,
            actual: actual.map_or_else(|| "no stream".to_owned(), |v| format!("version {v}")),
        })
    }
}

/// The recorded-at for a new batch: the clock, truncated to microseconds (the stored
/// precision), but never before the head's, so every "as known on" cut is a prefix of the log.
pub fn next_recorded_at(clock: &dyn Clock, head: Option<&Head>) -> Timestamp {
    let now = clock.now();
    let micros = now.as_microsecond();
    let now = Timestamp::from_microsecond(micros).unwrap_or(now);
    match head {
        Some(h) if h.recorded_at > now => h.recorded_at,
        _ => now,
    }
}

/// The failure of a streamed snapshot whose body is not the one its header announced
/// (`written` bytes were written).
pub fn snapshot_mismatch(header: &SnapshotHeader, written: u64) -> StoreError {
    StoreError::Incompatible(format!(
        "the snapshot body written ({written} bytes) is not the one announced ({} bytes, digest {}); nothing was saved",
        header.len, header.digest
    ))
}

/// The failure of a streamed batch with an event on a stream it did not list.
pub fn unlisted_stream(stream: &str) -> StoreError {
    StoreError::Incompatible(format!(
        "the batch appends to stream `{stream}` without listing it among its expected versions; nothing was written"
    ))
}

/// Seals events one at a time, in log order, onto a head: positions after it, the next version
/// of each event's stream, one recorded-at for the batch, the payload digest and the chained
/// hash. [`seal_batch`] is this after its checks; a backend that writes while it seals feeds it
/// events as they come.
#[derive(Debug)]
pub struct Sealer {
    recorded_at: Timestamp,
    prev: ChainHash,
    position: u64,
    /// The version each stream seen so far has reached (0: none before the batch).
    versions: std::collections::HashMap<String, u64>,
}

impl Sealer {
    /// A sealer for a batch onto `head` recorded at `recorded_at` (see [`next_recorded_at`]).
    pub fn new(head: Option<Head>, recorded_at: Timestamp) -> Self {
        Sealer {
            recorded_at,
            prev: head.map_or(ChainHash::GENESIS, |h| h.hash),
            position: head.map_or(0, |h| h.position),
            versions: std::collections::HashMap::new(),
        }
    }

    /// Tells the sealer the version `stream` is at before the batch (`None`: no event yet), so
    /// it need not ask.
    pub fn knows(&mut self, stream: String, version: Option<u64>) {
        self.versions.insert(stream, version.unwrap_or(0));
    }

    /// Seals the next event; `stream_version` is asked for the version of a stream the sealer
    /// has not seen yet.
    pub fn seal(
        &mut self,
        event: NewEvent,
        stream_version: &mut dyn FnMut(&str) -> Result<Option<u64>, StoreError>,
    ) -> Result<StoredEvent, StoreError> {
        let version = match self.versions.get_mut(&event.stream) {
            Some(v) => {
                *v += 1;
                *v
            }
            None => {
                let v = stream_version(&event.stream)?.map_or(1, |v| v + 1);
                self.versions.insert(event.stream.clone(), v);
                v
            }
        };
        self.position += 1;
        let mut stored = StoredEvent {
            position: self.position,
            stream: event.stream,
            stream_version: version,
            recorded_at: self.recorded_at,
            effective_date: event.effective_date,
            actor: event.actor,
            idempotency_key: event.idempotency_key,
            event_type: event.event_type,
            event_version: event.event_version,
            payload_digest: payload_digest(&event.payload),
            payload: event.payload,
            prev_hash: self.prev,
            hash: ChainHash::GENESIS,
        };
        stored.hash = event_hash(&stored.borrowed());
        self.prev = stored.hash;
        Ok(stored)
    }
}

/// Turns a request into the events to store: checks every expectation and idempotency key,
/// then assigns positions after the head, stream versions, one recorded-at, digests and the
/// chained hashes. Backends call it inside their transaction and write what it returns, so all
/// backends seal alike.
pub fn seal_batch(
    request: AppendRequest,
    head: Option<Head>,
    clock: &dyn Clock,
    stream_version: &mut dyn FnMut(&str) -> Result<Option<u64>, StoreError>,
    key_exists: &mut dyn FnMut(&str) -> Result<bool, StoreError>,
) -> Result<Vec<StoredEvent>, StoreError> {
    for (stream, expected) in &request.expected {
        check_expectation(stream, *expected, stream_version(stream)?)?;
    }
    let mut keys = std::collections::HashSet::new();
    for event in &request.events {
        if let Some(key) = &event.idempotency_key
            && (!keys.insert(key.as_str()) || key_exists(key)?)
        {
            return Err(StoreError::DuplicateKey(key.clone()));
        }
    }
    let mut sealer = Sealer::new(head, next_recorded_at(clock, head.as_ref()));
    let mut sealed = Vec::with_capacity(request.events.len());
    for event in request.events {
        sealed.push(sealer.seal(event, stream_version)?);
    }
    Ok(sealed)
}
