//! The hash chain: how an event's hash is computed, and how a log is verified.

use std::fmt;
use std::ops::ControlFlow;
use std::str::FromStr;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::{EventStore, Head, StoreError, StoredEvent};

/// A SHA-256 digest, shown as 64 lower-case hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct ChainHash(pub [u8; 32]);

impl ChainHash {
    /// The previous hash of the first event.
    pub const GENESIS: ChainHash = ChainHash([0; 32]);

    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(ChainHash)
    }
}

impl fmt::Display for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}

impl fmt::Debug for ChainHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ChainHash({})", self.to_hex())
    }
}

impl FromStr for ChainHash {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bytes = hex::decode(s.trim())
            .map_err(|_| format!("`{s}` is not a hash: expected 64 hexadecimal digits"))?;
        ChainHash::from_slice(&bytes)
            .ok_or_else(|| format!("`{s}` is not a hash: expected 64 hexadecimal digits"))
    }
}

/// SHA-256 of a payload.
pub fn payload_digest(payload: &[u8]) -> ChainHash {
    ChainHash(Sha256::digest(payload).into())
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// The hash of an event: SHA-256 over a domain tag, the previous hash, every header field
/// (length-prefixed, so no two headers encode alike) and the payload digest.
pub fn event_hash(event: &StoredEvent) -> ChainHash {
    let mut h = Sha256::new();
    h.update(b"steadfast-event-v1\0");
    h.update(event.prev_hash.0);
    h.update(event.position.to_be_bytes());
    field(&mut h, event.stream.as_bytes());
    h.update(event.stream_version.to_be_bytes());
    h.update(event.recorded_at.as_microsecond().to_be_bytes());
    field(&mut h, event.effective_date.to_string().as_bytes());
    field(&mut h, event.actor.as_bytes());
    match &event.idempotency_key {
        None => h.update([0u8]),
        Some(k) => {
            h.update([1u8]);
            field(&mut h, k.as_bytes());
        }
    }
    field(&mut h, event.event_type.as_bytes());
    h.update(event.event_version.to_be_bytes());
    h.update(event.payload_digest.0);
    ChainHash(h.finalize().into())
}

/// The first place the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub position: u64,
    pub reason: String,
}

/// The outcome of verifying a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: u64,
    /// The head as recomputed (the last event that verified).
    pub head: Option<Head>,
    pub first_break: Option<ChainBreak>,
    /// Set when a head was expected and the log's head differs.
    pub expected_head: Option<ChainHash>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.first_break.is_none()
            && self
                .expected_head
                .is_none_or(|e| self.head.is_some_and(|h| h.hash == e))
    }
}

/// Recomputes the whole chain: positions consecutive from 1, stream versions consecutive per
/// stream, recorded-at never decreasing, payload digests, previous hashes and hashes. Stops at
/// the first break. `progress` is called every so often with the events checked.
pub fn verify(
    store: &dyn EventStore,
    expected_head: Option<ChainHash>,
    progress: &mut dyn FnMut(u64),
) -> Result<VerifyReport, StoreError> {
    let mut prev = ChainHash::GENESIS;
    let mut last: Option<Head> = None;
    let mut count = 0u64;
    let mut versions: std::collections::HashMap<String, u64> = std::collections::HashMap::new();
    let mut broken: Option<ChainBreak> = None;
    let mut last_recorded = Timestamp::MIN;
    store.scan(0, &mut |event| {
        let reason = check_one(&event, count + 1, &prev, last_recorded, &versions);
        if let Some(reason) = reason {
            broken = Some(ChainBreak {
                position: event.position,
                reason,
            });
            return ControlFlow::Break(());
        }
        count += 1;
        prev = event.hash;
        last_recorded = event.recorded_at;
        versions.insert(event.stream.clone(), event.stream_version);
        last = Some(Head {
            position: event.position,
            hash: event.hash,
            recorded_at: event.recorded_at,
        });
        if count.is_multiple_of(65_536) {
            progress(count);
        }
        ControlFlow::Continue(())
    })?;
    progress(count);
    if broken.is_none() {
        // The chain verified; the stored head must be its end (nothing after, nothing cut).
        let stored = store.head()?;
        if stored.map(|h| h.hash) != last.map(|h| h.hash) {
            broken = Some(ChainBreak {
                position: stored.map_or(0, |h| h.position),
                reason: "the stored head is not the end of the verified chain".to_owned(),
            });
        }
    }
    Ok(VerifyReport {
        events: count,
        head: last,
        first_break: broken,
        expected_head,
    })
}

fn check_one(
    event: &StoredEvent,
    expected_position: u64,
    prev: &ChainHash,
    last_recorded: Timestamp,
    versions: &std::collections::HashMap<String, u64>,
) -> Option<String> {
    if event.position != expected_position {
        return Some(format!(
            "position {} where {expected_position} was expected (an event is missing or was inserted)",
            event.position
        ));
    }
    let expected_version = versions.get(&event.stream).map_or(1, |v| v + 1);
    if event.stream_version != expected_version {
        return Some(format!(
            "stream `{}` version {} where {expected_version} was expected",
            event.stream, event.stream_version
        ));
    }
    if event.recorded_at < last_recorded {
        return Some(format!(
            "recorded at {} before the previous event ({last_recorded})",
            event.recorded_at
        ));
    }
    if payload_digest(&event.payload) != event.payload_digest {
        return Some("the payload does not match its digest (the payload was edited)".to_owned());
    }
    if event.prev_hash != *prev {
        return Some(format!(
            "previous hash {} does not match the hash of the event before ({prev})",
            event.prev_hash
        ));
    }
    let recomputed = event_hash(event);
    if recomputed != event.hash {
        return Some(format!(
            "stored hash {} but the header and payload hash to {recomputed} (the header was edited)",
            event.hash
        ));
    }
    None
}
