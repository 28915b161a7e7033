//! Snapshots of the projection, so opening a ledger replays only the events after the last one.
//!
//! A snapshot holds the whole in-memory state at a log position: the ledger projection, the
//! version each stream had reached (what the hash-chain verifier needs to go on checking), and
//! the heads of each recording moment (for "as known on" reports). It is written by a writer
//! after it has folded at least [`EVERY`] events since the last one, and trusted on open only if
//!
//! - its bytes still match their SHA-256 digest,
//! - the log's event at its position still has the hash it was built from, and
//! - this build can read its format (the format name changes with the build's version and
//!   with every change to the projection's shape).
//!
//! Otherwise it is discarded and the projection rebuilt from the whole log. Either way the hash
//! chain is verified from the first event, as on every open: what a snapshot saves is decoding
//! and folding the events it covers, not checking them.

use std::collections::HashMap;
use std::io::{BufReader, BufWriter, Read, Write};
use std::ops::ControlFlow;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use steadfast_domain::Ledger;
use steadfast_store::{ChainHash, EventStore, Head, SnapshotHeader, StreamDigest};

use crate::AppError;

/// The snapshot format this build writes and reads. Bump the suffix whenever a projection type
/// changes shape: the encoding (MessagePack, fields by position) is compact, not self-describing enough to
/// tell an old shape from a new one.
pub const FORMAT: &str = concat!("ledger-", env!("CARGO_PKG_VERSION"), "-s7");

/// Events folded since the last snapshot before a writer saves a new one.
pub const EVERY: u64 = 50_000;

/// What became of the saved snapshot when a ledger was opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotUse {
    /// None was saved (or none in this build's format).
    None,
    /// Loaded: only the events after this position were replayed.
    Loaded { position: u64 },
    /// Found but not trusted, for this reason; the whole log was replayed.
    Discarded { reason: String },
}

/// The state a snapshot carries.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct State {
    pub(crate) ledger: Ledger,
    pub(crate) versions: HashMap<String, u64>,
    /// `(position, hash, recorded_at in microseconds)` of each recording moment's last event.
    pub(crate) known_heads: Vec<(u64, [u8; 32], i64)>,
}

pub(crate) fn encode_heads(heads: &[Head]) -> Vec<(u64, [u8; 32], i64)> {
    heads
        .iter()
        .map(|h| (h.position, h.hash.0, h.recorded_at.as_microsecond()))
        .collect()
}

fn decode_heads(heads: &[(u64, [u8; 32], i64)]) -> Result<Vec<Head>, String> {
    heads
        .iter()
        .map(|(position, hash, us)| {
            Ok(Head {
                position: *position,
                hash: ChainHash(*hash),
                recorded_at: Timestamp::from_microsecond(*us)
                    .map_err(|e| format!("a recorded-at is out of range: {e}"))?,
            })
        })
        .collect()
}

/// Saves the state as the snapshot at `head`, encoding it twice rather than holding it: once
/// into a sink that only counts and hashes, for the length and digest the store records with
/// the body, then straight into the store, which checks both as the bytes pass. A body of
/// hundreds of megabytes is then never in memory beside the projection it encodes, for the
/// cost of a second encoding. The encoding is deterministic — the same state, walked twice,
/// writes the same bytes — and a store given other bytes than announced saves nothing.
pub(crate) fn save(
    store: &mut dyn EventStore,
    head: Head,
    state: &StateRef<'_>,
) -> Result<(), AppError> {
    let mut measured = Measuring {
        digest: StreamDigest::new(),
        len: 0,
    };
    {
        // The encoder writes a few bytes at a time; they are hashed in larger pieces.
        let mut buffered = BufWriter::with_capacity(1 << 16, &mut measured);
        rmp_serde::encode::write(&mut buffered, state)
            .map_err(|e| AppError::Invalid(format!("cannot encode a snapshot: {e}")))?;
        buffered
            .flush()
            .map_err(|e| AppError::Invalid(format!("cannot encode a snapshot: {e}")))?;
    }
    let header = SnapshotHeader {
        format: FORMAT.to_owned(),
        head,
        digest: measured.digest.finish(),
        len: measured.len,
    };
    store.save_snapshot_streamed(&header, &mut |sink| {
        rmp_serde::encode::write(sink, state).map_err(std::io::Error::other)
    })?;
    Ok(())
}

/// A sink that keeps nothing of what is written to it but its length and digest.
struct Measuring {
    digest: StreamDigest,
    len: u64,
}

impl Write for Measuring {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.digest.update(buf);
        self.len += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// The state to encode, borrowed (the same shape as [`State`]).
#[derive(Debug, Serialize)]
pub(crate) struct StateRef<'a> {
    pub(crate) ledger: &'a Ledger,
    pub(crate) versions: &'a HashMap<String, u64>,
    pub(crate) known_heads: Vec<(u64, [u8; 32], i64)>,
}

/// What a trusted snapshot restores.
#[derive(Debug)]
pub(crate) struct Restored {
    pub(crate) ledger: Ledger,
    pub(crate) versions: HashMap<String, u64>,
    pub(crate) known_heads: Vec<Head>,
}

/// The snapshot's state if it can be trusted (intact, built from the log's event at its
/// position, readable by this build), else why not. The chain before it is not checked here.
/// Checks and decodes a snapshot read as a stream: its head must be the log's event at its
/// position, and the bytes read must be the ones its digest was made from. The body is hashed
/// as it is decoded, so it is never held whole in memory; a state decoded from bytes that turn
/// out not to match is thrown away.
pub(crate) fn check(
    store: &dyn EventStore,
    header: &SnapshotHeader,
    body: &mut dyn Read,
) -> Result<Restored, String> {
    check_head(store, header.head)?;
    let mut hashing = Hashing {
        inner: body,
        digest: StreamDigest::new(),
        read: 0,
    };
    let decoded = {
        let mut buffered = BufReader::with_capacity(1 << 16, &mut hashing);
        let decoded: Result<State, _> = rmp_serde::from_read(&mut buffered);
        // Whatever follows what was decoded counts for the digest too.
        let rest = std::io::copy(&mut buffered, &mut std::io::sink());
        decoded.map_err(|e| (e.to_string(), rest.is_ok()))
    };
    let intact = hashing.read == header.len && hashing.digest.finish() == header.digest;
    let state = match decoded {
        _ if !intact => {
            return Err("its bytes do not match their digest (the snapshot is damaged)".to_owned());
        }
        Ok(state) => state,
        Err((e, _)) => return Err(format!("it cannot be read: {e}")),
    };
    Ok(Restored {
        known_heads: decode_heads(&state.known_heads)?,
        ledger: state.ledger,
        versions: state.versions,
    })
}

/// A reader that hashes and counts what passes through it.
struct Hashing<'a> {
    inner: &'a mut dyn Read,
    digest: StreamDigest,
    read: u64,
}

impl Read for Hashing<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.digest.update(&buf[..n]);
        self.read += n as u64;
        Ok(n)
    }
}

/// Whether the log's event at the snapshot's position is the one it was built from.
fn check_head(store: &dyn EventStore, head: Head) -> Result<(), String> {
    let position = head.position;
    let mut at = None;
    store
        .scan(position.saturating_sub(1), &mut |e| {
            at = Some(e.head());
            ControlFlow::Break(())
        })
        .map_err(|e| format!("the log cannot be read at its position: {e}"))?;
    match at {
        Some(h) if h.position == position && h == head => Ok(()),
        Some(h) if h.position == position => Err(format!(
            "the log's event {position} is not the one it was built from (hash {} where the snapshot has {})",
            h.hash, head.hash
        )),
        _ => Err(format!("the log has no event {position}")),
    }
}
