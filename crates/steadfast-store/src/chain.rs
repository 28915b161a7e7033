//! The hash chain: how an event's hash is computed, and how a log is verified.

use std::fmt;
use std::io::Write as _;
use std::ops::ControlFlow;
use std::str::FromStr;

use jiff::Timestamp;
use sha2::{Digest, Sha256};

use crate::{EventLog, Head, StoreError, StoredEventRef};

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

/// [`payload_digest`] of bytes that arrive in pieces (a snapshot body read as a stream).
#[derive(Debug, Clone, Default)]
pub struct StreamDigest(Sha256);

impl StreamDigest {
    pub fn new() -> Self {
        StreamDigest::default()
    }

    pub fn update(&mut self, bytes: &[u8]) {
        self.0.update(bytes);
    }

    /// The digest of everything given so far.
    pub fn finish(self) -> ChainHash {
        ChainHash(self.0.finalize().into())
    }
}

fn field(h: &mut Sha256, bytes: &[u8]) {
    h.update((bytes.len() as u64).to_be_bytes());
    h.update(bytes);
}

/// The hash of an event: SHA-256 over a domain tag, the previous hash, every header field
/// (length-prefixed, so no two headers encode alike) and the payload digest.
pub fn event_hash(event: &StoredEventRef<'_>) -> ChainHash {
    let mut h = Sha256::new();
    h.update(b"steadfast-event-v1\0");
    h.update(event.prev_hash.0);
    h.update(event.position.to_be_bytes());
    field(&mut h, event.stream.as_bytes());
    h.update(event.stream_version.to_be_bytes());
    h.update(event.recorded_at.as_microsecond().to_be_bytes());
    // Spelled out rather than left to a Display impl, so the chain never depends on one; written
    // on the stack, as this runs for every event of every replay.
    let d = event.effective_date;
    let mut date = std::io::Cursor::new([0u8; 16]);
    // A year is at most 6 characters with its sign, so the 16 bytes always suffice.
    let _ = write!(date, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    let written = usize::try_from(date.position()).unwrap_or(0);
    field(&mut h, &date.get_ref()[..written]);
    field(&mut h, event.actor.as_bytes());
    match event.idempotency_key {
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

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "event {}: {}", self.position, self.reason)
    }
}

/// Checks events one after another, as they are read from the start of the log: positions
/// consecutive from 1, stream versions consecutive per stream, recorded-at never decreasing,
/// the payload digest, the link to the previous hash and the hash itself. Used by `verify` and
/// by every replay, so no figure is ever computed from a log that does not verify.
///
/// A long log can be checked in segments on several threads: a verifier made with
/// [`ChainVerifier::segment_after`] checks the events after a given head without knowing the
/// versions its streams had reached there, and [`ChainVerifier::then`] joins it to the
/// verifier of the events before, checking those versions then.
#[derive(Debug, Clone)]
pub struct ChainVerifier {
    prev: ChainHash,
    position: u64,
    last_recorded: Timestamp,
    versions: std::collections::HashMap<String, u64>,
    head: Option<Head>,
    /// For a segment: the head it starts after, and the version and position at which each
    /// stream first appears in it (checked by [`ChainVerifier::then`]).
    segment: Option<(Head, FirstVersions)>,
}

/// The version and position at which each stream first appears in a segment.
type FirstVersions = std::collections::HashMap<String, (u64, u64)>;

impl Default for ChainVerifier {
    fn default() -> Self {
        ChainVerifier {
            prev: ChainHash::GENESIS,
            position: 0,
            last_recorded: Timestamp::MIN,
            versions: std::collections::HashMap::new(),
            head: None,
            segment: None,
        }
    }
}

impl ChainVerifier {
    pub fn new() -> Self {
        ChainVerifier::default()
    }

    /// Checks the next event; on success it becomes the verified head.
    pub fn check(&mut self, event: &StoredEventRef<'_>) -> Result<(), ChainBreak> {
        let fail = |reason: String| ChainBreak {
            position: event.position,
            reason,
        };
        let expected_position = self.position + 1;
        if event.position != expected_position {
            return Err(fail(format!(
                "position {} where {expected_position} was expected (an event is missing or was inserted)",
                event.position
            )));
        }
        // One lookup serves both the check and the update.
        let known = self.versions.get_mut(event.stream);
        let expected_version = match (&known, &self.segment) {
            (Some(v), _) => **v + 1,
            // A segment cannot know where a stream stood before it: noted, checked on joining.
            (None, Some(_)) => event.stream_version,
            (None, None) => 1,
        };
        if event.stream_version != expected_version {
            return Err(fail(format!(
                "stream `{}` version {} where {expected_version} was expected",
                event.stream, event.stream_version
            )));
        }
        if event.recorded_at < self.last_recorded {
            return Err(fail(format!(
                "recorded at {} before the previous event ({})",
                event.recorded_at, self.last_recorded
            )));
        }
        if payload_digest(event.payload) != event.payload_digest {
            return Err(fail(
                "the payload does not match its digest (the payload was edited)".to_owned(),
            ));
        }
        if event.prev_hash != self.prev {
            return Err(fail(format!(
                "previous hash {} does not match the hash of the event before ({})",
                event.prev_hash, self.prev
            )));
        }
        let recomputed = event_hash(event);
        if recomputed != event.hash {
            return Err(fail(format!(
                "stored hash {} but the header and payload hash to {recomputed} (the header was edited)",
                event.hash
            )));
        }
        match known {
            Some(v) => *v = event.stream_version,
            None => {
                self.versions
                    .insert(event.stream.to_owned(), event.stream_version);
                if let Some((_, first)) = &mut self.segment {
                    first.insert(
                        event.stream.to_owned(),
                        (event.stream_version, event.position),
                    );
                }
            }
        }
        self.position = event.position;
        self.prev = event.hash;
        self.last_recorded = event.recorded_at;
        self.head = Some(event.head());
        Ok(())
    }

    /// Moves past a batch this process sealed and appended itself (so it need not be read back
    /// and re-hashed): `head` is the batch's last event, `streams` the version each stream in
    /// the batch ended at. Only for a batch appended right after the current head.
    pub fn advance_sealed(&mut self, head: Head, streams: impl IntoIterator<Item = (String, u64)>) {
        self.position = head.position;
        self.prev = head.hash;
        self.last_recorded = head.recorded_at;
        self.versions.extend(streams);
        self.head = Some(head);
    }

    /// A verifier for the events after `after` (a head read from the log, not yet verified)
    /// in a log checked in segments: its events are checked as usual, except that a stream's
    /// first event in the segment may have any version; [`then`](Self::then) checks those.
    pub fn segment_after(after: Head) -> Self {
        ChainVerifier {
            prev: after.hash,
            position: after.position,
            last_recorded: after.recorded_at,
            versions: std::collections::HashMap::new(),
            head: Some(after),
            segment: Some((after, std::collections::HashMap::new())),
        }
    }

    /// This verifier (which checked the log up to some head) continued by `next`, a segment
    /// that checked the events after a head: `next` must start after exactly the head this one
    /// reached, and each stream's first version in it must follow the version this one saw
    /// last (1 for a stream new in it). The first break is the one of lowest position.
    pub fn then(mut self, next: ChainVerifier) -> Result<ChainVerifier, ChainBreak> {
        let Some((start, first_versions)) = next.segment else {
            return Ok(next);
        };
        if self.head != Some(start) {
            return Err(ChainBreak {
                position: start.position,
                reason: format!(
                    "the log was checked in segments that do not meet at event {}",
                    start.position
                ),
            });
        }
        let mut broken: Option<ChainBreak> = None;
        for (stream, (version, position)) in &first_versions {
            let expected = self.versions.get(stream).map_or(1, |v| v + 1);
            if *version != expected && broken.as_ref().is_none_or(|b| *position < b.position) {
                broken = Some(ChainBreak {
                    position: *position,
                    reason: format!(
                        "stream `{stream}` version {version} where {expected} was expected"
                    ),
                });
            }
        }
        if let Some(b) = broken {
            return Err(b);
        }
        self.versions.extend(next.versions);
        self.prev = next.prev;
        self.position = next.position;
        self.last_recorded = next.last_recorded;
        self.head = next.head;
        Ok(self)
    }

    /// The last event that verified.
    pub fn head(&self) -> Option<Head> {
        self.head
    }

    /// A verifier resuming after a head already verified (a snapshot's), with the version each
    /// stream had reached there: the events after it are checked as if the whole log had been.
    pub fn resume(head: Head, versions: std::collections::HashMap<String, u64>) -> Self {
        ChainVerifier {
            prev: head.hash,
            position: head.position,
            last_recorded: head.recorded_at,
            versions,
            head: Some(head),
            segment: None,
        }
    }

    /// The version each stream has reached at the verified head.
    pub fn stream_versions(&self) -> &std::collections::HashMap<String, u64> {
        &self.versions
    }
}

/// The outcome of verifying a log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: u64,
    /// The head as recomputed (the last event that verified).
    pub head: Option<Head>,
    pub first_break: Option<ChainBreak>,
    /// The head the caller expected (e.g. one published earlier), if any.
    pub expected_head: Option<ChainHash>,
    /// Where the expected head sits in the verified chain; `None` if it is not in it. A head
    /// published earlier is found before the current head when events were appended since.
    pub expected_head_position: Option<u64>,
}

impl VerifyReport {
    pub fn is_ok(&self) -> bool {
        self.first_break.is_none()
            && (self.expected_head.is_none() || self.expected_head_position.is_some())
    }

    /// Events appended after the expected head, when it was found.
    pub fn appended_since_expected(&self) -> Option<u64> {
        self.expected_head_position
            .map(|p| self.head.map_or(0, |h| h.position).saturating_sub(p))
    }
}

/// Recomputes the whole chain and stops at the first break. With `expected_head`, also checks
/// that the chain contains that hash: a head published earlier must still be in the log (events
/// appended since are fine; a rewritten or cut history is not). `progress` is called every so
/// often with the number of events checked.
pub fn verify(
    store: &dyn EventLog,
    expected_head: Option<ChainHash>,
    progress: &mut dyn FnMut(u64),
) -> Result<VerifyReport, StoreError> {
    let mut verifier = ChainVerifier::new();
    let mut count = 0u64;
    let mut broken: Option<ChainBreak> = None;
    // The empty log is a prefix of every log: its head (the all-zero hash) is at position 0.
    let mut expected_head_position = (expected_head == Some(ChainHash::GENESIS)).then_some(0);
    store.scan_borrowed(0, &mut |event| {
        if let Err(b) = verifier.check(event) {
            broken = Some(b);
            return ControlFlow::Break(());
        }
        if expected_head == Some(event.hash) {
            expected_head_position = Some(event.position);
        }
        count += 1;
        if count.is_multiple_of(65_536) {
            progress(count);
        }
        ControlFlow::Continue(())
    })?;
    progress(count);
    Ok(VerifyReport {
        events: count,
        head: verifier.head(),
        first_break: broken,
        expected_head,
        expected_head_position,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::StoredEvent;

    fn sample() -> StoredEvent {
        StoredEvent {
            position: 42,
            stream: "contribution:DEU-2024-01".to_owned(),
            stream_version: 3,
            recorded_at: Timestamp::from_microsecond(1_735_689_600_123_456).expect("moment"),
            effective_date: jiff::civil::date(2024, 2, 29),
            actor: "local:ana".to_owned(),
            idempotency_key: Some("event:DEU-2024-01-c".to_owned()),
            event_type: "stage.recorded".to_owned(),
            event_version: 2,
            payload: b"{\"amount\":\"1000.00\"}".to_vec(),
            payload_digest: payload_digest(b"{\"amount\":\"1000.00\"}"),
            prev_hash: ChainHash([7; 32]),
            hash: ChainHash::GENESIS,
        }
    }

    /// A sealed chain of events on the given streams and versions (hashes all correct).
    fn chain(streams: &[(&str, u64)]) -> Vec<StoredEvent> {
        let mut prev = ChainHash::GENESIS;
        let mut out = Vec::new();
        for (i, (stream, version)) in streams.iter().enumerate() {
            let mut e = sample();
            e.position = i as u64 + 1;
            e.stream = (*stream).to_owned();
            e.stream_version = *version;
            e.payload = format!("{{\"n\":{i}}}").into_bytes();
            e.payload_digest = payload_digest(&e.payload);
            e.prev_hash = prev;
            e.hash = event_hash(&e.borrowed());
            prev = e.hash;
            out.push(e);
        }
        out
    }

    /// Verifies `events` in two segments split after `split` events, joined.
    fn in_segments(events: &[StoredEvent], split: usize) -> Result<ChainVerifier, ChainBreak> {
        let mut first = ChainVerifier::new();
        for e in &events[..split] {
            first.check(&e.borrowed())?;
        }
        let Some(after) = split.checked_sub(1).map(|i| events[i].head()) else {
            let mut whole = ChainVerifier::new();
            for e in events {
                whole.check(&e.borrowed())?;
            }
            return Ok(whole);
        };
        let mut second = ChainVerifier::segment_after(after);
        for e in &events[split..] {
            second.check(&e.borrowed())?;
        }
        first.then(second)
    }

    #[test]
    fn a_chain_checked_in_segments_is_checked_as_a_whole() {
        let honest = chain(&[("a", 1), ("b", 1), ("a", 2), ("c", 1), ("b", 2), ("a", 3)]);
        let mut whole = ChainVerifier::new();
        for e in &honest {
            whole.check(&e.borrowed()).expect("honest");
        }
        for split in 0..=honest.len() {
            let joined = in_segments(&honest, split).expect("honest in segments");
            assert_eq!(joined.head(), whole.head(), "split after {split}");
            assert_eq!(joined.stream_versions(), whole.stream_versions(), "{split}");
        }
        // Stream `a` skips version 2 at event 3; wherever the log is split, that is the break.
        let gap = chain(&[("a", 1), ("b", 1), ("a", 3), ("c", 1), ("b", 2)]);
        for split in 0..=gap.len() {
            let broken = in_segments(&gap, split).expect_err("a gap");
            assert_eq!(broken.position, 3, "split after {split}: {broken}");
        }
        // A stream new in the second segment must start at version 1.
        let late = chain(&[("a", 1), ("b", 2)]);
        assert_eq!(
            in_segments(&late, 1).expect_err("b starts at 2").position,
            2
        );
        // Segments that do not meet are refused.
        let mut first = ChainVerifier::new();
        first.check(&honest[0].borrowed()).expect("first");
        let second = ChainVerifier::segment_after(honest[1].head());
        assert!(first.then(second).is_err());
    }

    /// The chain's definition, pinned: a ledger written by any earlier build must verify.
    #[test]
    fn the_event_hash_is_what_it_always_was() {
        let event = sample();
        assert_eq!(
            event_hash(&event.borrowed()).to_hex(),
            "004b06d9784417685dfddbb9f5f3930220110cb5273ddcfd01caba6ebd85ee34"
        );
        let mut keyless = event;
        keyless.idempotency_key = None;
        keyless.effective_date = jiff::civil::date(-44, 3, 15);
        assert_eq!(
            event_hash(&keyless.borrowed()).to_hex(),
            "94fabc89425c93c85bdb8807d2d85884a393e10143fb0b128ce7e7fb81bbdd9b"
        );
    }
}
