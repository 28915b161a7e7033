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
//!
//! A snapshot stores only the ledger's records (see [`Ledger::records`]); what is folded from
//! them — the report index, the slots, the event-owner map — is rebuilt on open by
//! [`Ledger::from_records`]. How the records are encoded is [`codec`]'s business.
//!
//! The body is a sequence of parts, each a little-endian `u32` length and that many bytes of
//! MessagePack: first the frame (the ledger's records but its contributions, the stream
//! versions, the heads and the number of contributions), then the contributions' records in
//! slot order, at most [`CHUNK`] to a part. Opening reads the parts in order, hashing every
//! byte, and decodes them on [`DECODERS`] threads: decoding is most of an open's time, and the
//! parts are independent.

use std::collections::HashMap;
use std::io::{BufWriter, Read, Write};
use std::sync::mpsc::Receiver;
use std::sync::{Arc, Mutex};

use jiff::Timestamp;
use serde::Serialize;
use steadfast_domain::{ContributionRecord, ContributionState, Ledger, LedgerRecords};
use steadfast_store::{ChainHash, EventLog, Head, SnapshotHeader, SnapshotStore, StreamDigest};

use crate::AppError;

mod codec;

use codec::{ContributionIn, ContributionOut, Frame, FrameOut};

/// The snapshot format this build writes and reads. Bump the suffix whenever a projection type
/// changes shape: the encoding (MessagePack, fields by position) is compact, not self-describing enough to
/// tell an old shape from a new one.
pub const FORMAT: &str = concat!("ledger-", env!("CARGO_PKG_VERSION"), "-s14");

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

/// Contributions per part: small enough that a few parts in flight cost little memory, large
/// enough that handing one to a decoder costs nothing by comparison (about 1 MB each).
pub const CHUNK: usize = 2048;

/// Threads decoding parts while the opening thread reads and hashes them.
pub const DECODERS: usize = 2;

/// Parts read ahead of the decoders (what bounds the memory of an open beyond the state).
const IN_FLIGHT: usize = 4;

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
    store: &mut dyn SnapshotStore,
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
        encode(state, &mut buffered)
            .and_then(|()| buffered.flush().map_err(|e| e.to_string()))
            .map_err(|e| AppError::Invalid(format!("cannot encode a snapshot: {e}")))?;
    }
    let header = SnapshotHeader {
        format: FORMAT.to_owned(),
        head,
        digest: measured.digest.finish(),
        len: measured.len,
    };
    store.save_snapshot_streamed(&header, &mut |sink| {
        encode(state, sink).map_err(std::io::Error::other)
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

/// Writes the body's parts (see the module's documentation) to `out`.
fn encode(state: &StateRef<'_>, out: &mut dyn Write) -> Result<(), String> {
    let records = state.ledger.records();
    let frame = FrameOut::new(records, state.versions, &state.known_heads);
    // The frame is not held; each chunk is.
    write_part_unheld(&frame, out)?;
    let mut part = Vec::new();
    for chunk in records.contributions.chunks(CHUNK) {
        write_part(&mut part, &Chunk(chunk), out)?;
    }
    Ok(())
}

/// A part's contributions, each written as its record.
struct Chunk<'a>(&'a [ContributionState]);

impl Serialize for Chunk<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.0.iter().map(ContributionOut))
    }
}

/// Writes a part without holding its bytes: encoded once to learn its length, then again into
/// `out`, checked to be as long.
fn write_part_unheld<T: Serialize>(value: &T, out: &mut dyn Write) -> Result<(), String> {
    let mut counted = Counting {
        inner: std::io::sink(),
        len: 0,
    };
    rmp_serde::encode::write(&mut counted, value).map_err(|e| e.to_string())?;
    let len = u32::try_from(counted.len)
        .map_err(|_| format!("a part of {} bytes is too large", counted.len))?;
    out.write_all(&len.to_le_bytes())
        .map_err(|e| e.to_string())?;
    let mut written = Counting { inner: out, len: 0 };
    rmp_serde::encode::write(&mut written, value).map_err(|e| e.to_string())?;
    if written.len != counted.len {
        return Err(format!(
            "a part encoded to {} bytes, then to {}",
            counted.len, written.len
        ));
    }
    Ok(())
}

/// A writer that counts what passes through it.
struct Counting<W> {
    inner: W,
    len: u64,
}

impl<W: Write> Write for Counting<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.len += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Encodes `value` into the reused buffer `part`, then writes its length and bytes.
fn write_part<T: Serialize>(
    part: &mut Vec<u8>,
    value: &T,
    out: &mut dyn Write,
) -> Result<(), String> {
    part.clear();
    rmp_serde::encode::write(part, value).map_err(|e| e.to_string())?;
    let len = u32::try_from(part.len())
        .map_err(|_| format!("a part of {} bytes is too large", part.len()))?;
    out.write_all(&len.to_le_bytes())
        .and_then(|()| out.write_all(part))
        .map_err(|e| e.to_string())
}

/// The state to encode, borrowed.
#[derive(Debug)]
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
    store: &dyn EventLog,
    header: &SnapshotHeader,
    body: &mut dyn Read,
) -> Result<Restored, String> {
    check_head(store, header.head)?;
    let mut hashing = Hashing {
        inner: body,
        digest: StreamDigest::new(),
        read: 0,
    };
    let decoded = decode(&mut hashing, header.len);
    // Whatever follows what was decoded counts for the digest too.
    let rest = std::io::copy(&mut hashing, &mut std::io::sink());
    let intact =
        rest.is_ok() && hashing.read == header.len && hashing.digest.finish() == header.digest;
    if !intact {
        return Err("its bytes do not match their digest (the snapshot is damaged)".to_owned());
    }
    decoded.map_err(|e| format!("it cannot be read: {e}"))
}

/// Reads the parts of a body of `len` bytes and decodes them on [`DECODERS`] threads.
fn decode(body: &mut dyn Read, len: u64) -> Result<Restored, String> {
    let mut decoded: Vec<(usize, Result<Decoded, String>)> = Vec::new();
    let read = std::thread::scope(|scope| {
        let (parts, queue) = std::sync::mpsc::sync_channel::<(usize, Vec<u8>)>(IN_FLIGHT);
        // Only the decoders hold the queue: should they all stop, the reader's next send fails
        // instead of waiting for ever.
        let queue = Arc::new(Mutex::new(queue));
        let decoders: Vec<_> = (0..DECODERS)
            .map(|_| {
                let queue = Arc::clone(&queue);
                scope.spawn(move || {
                    let mut done = Vec::new();
                    while let Some((seq, bytes)) = next_part(&queue) {
                        done.push((seq, decode_part(seq, &bytes)));
                    }
                    done
                })
            })
            .collect();
        drop(queue);
        let read = read_parts(body, len, &mut |seq, bytes| {
            parts.send((seq, bytes)).is_ok()
        });
        drop(parts);
        for decoder in decoders {
            match decoder.join() {
                Ok(done) => decoded.extend(done),
                Err(_) => return Err("a decoder failed unexpectedly".to_owned()),
            }
        }
        read
    });
    read?;
    decoded.sort_unstable_by_key(|(seq, _)| *seq);
    let mut parts = decoded.into_iter().map(|(_, part)| part);
    let Some(Decoded::Frame(frame)) = parts.next().transpose()? else {
        return Err("it does not start with its frame".to_owned());
    };
    let count = usize::try_from(frame.contributions).unwrap_or(usize::MAX);
    let mut contributions = Vec::with_capacity(count.min(1 << 24));
    for part in parts {
        match part? {
            Decoded::Chunk(chunk) => contributions.extend(chunk),
            Decoded::Frame(_) => return Err("it has two frames".to_owned()),
        }
    }
    if contributions.len() != count {
        return Err(format!(
            "it holds {} contributions where its frame announces {count}",
            contributions.len()
        ));
    }
    let Frame {
        parties,
        frameworks,
        credentials,
        datasets,
        rates,
        events_applied,
        versions,
        known_heads,
        contributions: _,
    } = *frame;
    let records = LedgerRecords {
        parties,
        frameworks,
        credentials,
        datasets,
        rates: rates.into(),
        contributions,
        events_applied,
    };
    Ok(Restored {
        known_heads: decode_heads(&known_heads)?,
        ledger: Ledger::from_records(records)?,
        versions,
    })
}

/// The next part for a decoder, `None` once the reader is done. The lock is held only while
/// waiting for it.
fn next_part(queue: &Mutex<Receiver<(usize, Vec<u8>)>>) -> Option<(usize, Vec<u8>)> {
    queue.lock().ok()?.recv().ok()
}

/// A decoded part.
enum Decoded {
    Frame(Box<Frame>),
    /// Each folded from its record here, on the decoder's thread.
    Chunk(Vec<ContributionState>),
}

fn decode_part(seq: usize, bytes: &[u8]) -> Result<Decoded, String> {
    let decoded = if seq == 0 {
        rmp_serde::from_slice(bytes)
            .map(|frame| Decoded::Frame(Box::new(frame)))
            .map_err(|e| e.to_string())
    } else {
        rmp_serde::from_slice::<Vec<ContributionIn>>(bytes)
            .map_err(|e| e.to_string())
            .and_then(|chunk| {
                chunk
                    .into_iter()
                    .map(|c| {
                        ContributionRecord::try_from(c).and_then(ContributionState::from_record)
                    })
                    .collect()
            })
            .map(Decoded::Chunk)
    };
    decoded.map_err(|e| format!("part {seq}: {e}"))
}

/// Reads the parts of a body of `len` bytes in order, handing each to `take` (which says
/// whether to go on). A length that runs past the body is refused before anything is
/// allocated for it.
fn read_parts(
    body: &mut dyn Read,
    len: u64,
    take: &mut dyn FnMut(usize, Vec<u8>) -> bool,
) -> Result<(), String> {
    let mut at = 0u64;
    let mut seq = 0;
    while at < len {
        let mut prefix = [0u8; 4];
        body.read_exact(&mut prefix).map_err(|e| e.to_string())?;
        let size = u32::from_le_bytes(prefix);
        at += 4;
        if u64::from(size) > len - at.min(len) {
            return Err(format!(
                "part {seq} claims {size} bytes, past the end of the body"
            ));
        }
        let mut bytes = vec![0; size as usize];
        body.read_exact(&mut bytes).map_err(|e| e.to_string())?;
        at += u64::from(size);
        if !take(seq, bytes) {
            return Err("the decoders stopped early".to_owned());
        }
        seq += 1;
    }
    Ok(())
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
fn check_head(store: &dyn EventLog, head: Head) -> Result<(), String> {
    let position = head.position;
    let at = crate::chain::head_at(store, position)
        .map_err(|e| format!("the log cannot be read at its position: {e}"))?;
    match at {
        Some(h) if h == head => Ok(()),
        Some(h) => Err(format!(
            "the log's event {position} is not the one it was built from (hash {} where the snapshot has {})",
            h.hash, head.hash
        )),
        None => Err(format!("the log has no event {position}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(of: &[&[u8]]) -> Vec<u8> {
        let mut body = Vec::new();
        for part in of {
            body.extend_from_slice(&(part.len() as u32).to_le_bytes());
            body.extend_from_slice(part);
        }
        body
    }

    fn read_all(body: &[u8], len: u64) -> Result<Vec<(usize, Vec<u8>)>, String> {
        let mut got = Vec::new();
        read_parts(&mut &body[..], len, &mut |seq, bytes| {
            got.push((seq, bytes));
            true
        })?;
        Ok(got)
    }

    #[test]
    fn parts_are_read_in_order_and_a_length_past_the_body_is_refused() {
        let body = parts(&[b"frame", b"", b"chunk"]);
        let len = body.len() as u64;
        assert_eq!(
            read_all(&body, len),
            Ok(vec![
                (0, b"frame".to_vec()),
                (1, Vec::new()),
                (2, b"chunk".to_vec())
            ])
        );
        // A part that claims more than what is left: refused before anything is allocated.
        let mut lying = parts(&[b"frame"]);
        lying.extend_from_slice(&u32::MAX.to_le_bytes());
        let err = read_all(&lying, lying.len() as u64).expect_err("past the end");
        assert!(err.contains("part 1 claims 4294967295 bytes"), "{err}");
        // A body cut inside a length prefix or a part.
        assert!(read_all(&body[..body.len() - 2], len).is_err());
        assert!(read_all(&body[..6], len).is_err());
    }
}
