//! The conformance suite: what every backend must do, written once — a part for each role, the
//! [`EventLog`] and the [`SnapshotStore`].
//!
//! A backend's tests invoke [`log_conformance_suite!`](crate::log_conformance_suite) and
//! [`snapshot_conformance_suite!`](crate::snapshot_conformance_suite) — or
//! [`conformance_suite!`](crate::conformance_suite) for both — with a function that makes a
//! fresh, empty store on a given clock (and a guard, such as a temporary directory, kept alive
//! for the test). Each case below becomes one `#[test]`.

use std::ops::ControlFlow;
use std::sync::Arc;

use jiff::civil::Date;
use jiff::{SignedDuration, Timestamp};

use crate::{
    AppendRequest, ChainHash, Clock, EventLog, ExpectedVersion, Head, ManualClock, NewEvent,
    Snapshot, SnapshotStore, StoreError, StoredEvent, verify,
};

/// Makes a fresh empty store on the given clock; the second value is dropped after the test.
pub trait Factory<S, G> {
    fn make(&mut self, clock: Arc<ManualClock>) -> (S, G);
}

impl<S, G, F: FnMut(Arc<ManualClock>) -> (S, G)> Factory<S, G> for F {
    fn make(&mut self, clock: Arc<ManualClock>) -> (S, G) {
        self(clock)
    }
}

/// Generates one test per conformance case of both roles, for a backend that has both.
#[macro_export]
macro_rules! conformance_suite {
    ($factory:expr) => {
        $crate::log_conformance_suite!($factory);
        $crate::snapshot_conformance_suite!($factory);
    };
    (@cases $factory:expr; $($case:ident),+ $(,)?) => {
        $(
            #[test]
            fn $case() {
                $crate::conformance::$case(&mut $factory);
            }
        )+
    };
}

/// Generates one test per conformance case of the [`EventLog`](crate::EventLog).
#[macro_export]
macro_rules! log_conformance_suite {
    ($factory:expr) => {
        $crate::conformance_suite!(@cases $factory;
            empty_store_has_no_head,
            append_assigns_positions_versions_and_chain,
            batches_share_one_recorded_at_that_never_decreases,
            expected_versions_are_enforced_atomically,
            idempotency_keys_are_unique_and_atomic,
            scan_resumes_after_a_position_and_stops_early,
            payloads_and_headers_round_trip_exactly,
            event_by_key_finds_the_event,
            verify_accepts_an_honest_log_and_checks_the_expected_head,
            empty_batch_changes_nothing,
            streamed_batches_seal_like_whole_ones,
            streamed_batches_are_atomic,
            borrowed_scans_lend_what_scans_hand_over,
        );
    };
}

/// Generates one test per conformance case of the [`SnapshotStore`](crate::SnapshotStore).
#[macro_export]
macro_rules! snapshot_conformance_suite {
    ($factory:expr) => {
        $crate::conformance_suite!(@cases $factory;
            snapshots_are_kept_per_format_replaced_and_discarded,
            snapshots_read_as_a_stream_are_what_was_saved,
            snapshots_saved_as_a_stream_are_checked_against_their_header,
        );
    };
}

fn clock() -> Arc<ManualClock> {
    Arc::new(ManualClock::new(
        Timestamp::from_second(1_735_689_600).unwrap_or(Timestamp::UNIX_EPOCH),
    ))
}

fn date(y: i16, m: i8, d: i8) -> Date {
    Date::new(y, m, d).unwrap_or(Date::MIN)
}

/// A plain event for the suite.
pub fn event(stream: &str, key: Option<&str>, payload: &[u8]) -> NewEvent {
    NewEvent {
        stream: stream.to_owned(),
        effective_date: date(2024, 7, 10),
        actor: "local:conformance".to_owned(),
        idempotency_key: key.map(str::to_owned),
        event_type: "test.happened".to_owned(),
        event_version: 1,
        payload: payload.to_vec(),
    }
}

/// A head for a snapshot to be built from: the snapshot suite needs no log, only a head with the
/// recorded-at precision a log would store.
fn head_at(position: u64, byte: u8) -> Head {
    Head {
        position,
        hash: ChainHash([byte; 32]),
        recorded_at: clock().now(),
    }
}

fn batch(events: Vec<NewEvent>) -> AppendRequest {
    AppendRequest {
        events,
        expected: Vec::new(),
    }
}

fn all(store: &dyn EventLog) -> Vec<StoredEvent> {
    let mut out = Vec::new();
    store
        .scan(0, &mut |e| {
            out.push(e);
            ControlFlow::Continue(())
        })
        .expect("scan");
    out
}

pub fn empty_store_has_no_head<S: EventLog, G>(f: &mut impl Factory<S, G>) {
    let (store, _guard) = f.make(clock());
    assert_eq!(store.head().expect("head"), None);
    assert!(all(&store).is_empty());
    assert_eq!(store.stream_version("s").expect("version"), None);
    let report = verify(&store, None, &mut |_| {}).expect("verify");
    assert!(report.is_ok());
    assert_eq!(report.events, 0);
    let genesis = verify(&store, Some(ChainHash::GENESIS), &mut |_| {}).expect("verify");
    assert!(genesis.is_ok(), "the empty log's head is the all-zero hash");
    assert_eq!(genesis.expected_head_position, Some(0));
}

pub fn append_assigns_positions_versions_and_chain<S: EventLog, G>(f: &mut impl Factory<S, G>) {
    let (mut store, _guard) = f.make(clock());
    let first = store
        .append(batch(vec![event("a", None, b"1"), event("b", None, b"2")]))
        .expect("append");
    assert_eq!((first.first_position, first.last_position), (1, 2));
    let second = store
        .append(batch(vec![event("a", None, b"3")]))
        .expect("append");
    assert_eq!((second.first_position, second.last_position), (3, 3));
    assert_eq!(first.chained_onto, None);
    assert_eq!(second.chained_onto, first.head);
    let events = all(&store);
    let summary: Vec<(u64, &str, u64)> = events
        .iter()
        .map(|e| (e.position, e.stream.as_str(), e.stream_version))
        .collect();
    assert_eq!(summary, vec![(1, "a", 1), (2, "b", 1), (3, "a", 2)]);
    assert_eq!(events[0].prev_hash, ChainHash::GENESIS);
    assert_eq!(events[1].prev_hash, events[0].hash);
    assert_eq!(events[2].prev_hash, events[1].hash);
    for e in &events {
        assert_eq!(crate::event_hash(&e.borrowed()), e.hash);
        assert_eq!(crate::payload_digest(&e.payload), e.payload_digest);
    }
    assert_eq!(
        store.head().expect("head").map(|h| h.hash),
        Some(events[2].hash)
    );
    assert_eq!(store.stream_version("a").expect("v"), Some(2));
    assert_eq!(store.stream_version("b").expect("v"), Some(1));
}

pub fn batches_share_one_recorded_at_that_never_decreases<S: EventLog, G>(
    f: &mut impl Factory<S, G>,
) {
    let clock = clock();
    let (mut store, _guard) = f.make(clock.clone());
    store
        .append(batch(vec![event("a", None, b"1"), event("a", None, b"2")]))
        .expect("append");
    clock.advance(SignedDuration::from_secs(-3600));
    store
        .append(batch(vec![event("a", None, b"3")]))
        .expect("append");
    clock.advance(SignedDuration::from_secs(7200));
    store
        .append(batch(vec![event("a", None, b"4")]))
        .expect("append");
    let events = all(&store);
    assert_eq!(events[0].recorded_at, events[1].recorded_at);
    assert_eq!(
        events[2].recorded_at, events[1].recorded_at,
        "clock went back"
    );
    assert!(events[3].recorded_at > events[2].recorded_at);
    assert_eq!(events[3].recorded_at, clock.now());
}

pub fn expected_versions_are_enforced_atomically<S: EventLog, G>(f: &mut impl Factory<S, G>) {
    let (mut store, _guard) = f.make(clock());
    store
        .append(AppendRequest {
            events: vec![event("a", None, b"1")],
            expected: vec![("a".into(), ExpectedVersion::NoStream)],
        })
        .expect("new stream");
    let conflict = store.append(AppendRequest {
        events: vec![event("b", None, b"x"), event("a", None, b"2")],
        expected: vec![
            ("b".into(), ExpectedVersion::NoStream),
            ("a".into(), ExpectedVersion::NoStream),
        ],
    });
    assert!(
        matches!(conflict, Err(StoreError::Conflict { .. })),
        "{conflict:?}"
    );
    let stale = store.append(AppendRequest {
        events: vec![event("a", None, b"2")],
        expected: vec![("a".into(), ExpectedVersion::Exactly(0))],
    });
    assert!(matches!(stale, Err(StoreError::Conflict { .. })));
    assert_eq!(all(&store).len(), 1, "a refused batch writes nothing");
    assert_eq!(store.stream_version("b").expect("v"), None);
    store
        .append(AppendRequest {
            events: vec![event("a", None, b"2")],
            expected: vec![("a".into(), ExpectedVersion::Exactly(1))],
        })
        .expect("expected version matches");
    store
        .append(AppendRequest {
            events: vec![event("a", None, b"3")],
            expected: vec![("a".into(), ExpectedVersion::Any)],
        })
        .expect("any");
    assert_eq!(store.stream_version("a").expect("v"), Some(3));
}

pub fn idempotency_keys_are_unique_and_atomic<S: EventLog, G>(f: &mut impl Factory<S, G>) {
    let (mut store, _guard) = f.make(clock());
    store
        .append(batch(vec![event("a", Some("k1"), b"1")]))
        .expect("append");
    let again = store.append(batch(vec![
        event("a", Some("k2"), b"2"),
        event("a", Some("k1"), b"1"),
    ]));
    assert!(
        matches!(again, Err(StoreError::DuplicateKey(ref k)) if k == "k1"),
        "{again:?}"
    );
    let twice = store.append(batch(vec![
        event("a", Some("k3"), b"3"),
        event("b", Some("k3"), b"3"),
    ]));
    assert!(matches!(twice, Err(StoreError::DuplicateKey(_))));
    assert_eq!(all(&store).len(), 1);
    assert_eq!(store.event_by_key("k2").expect("lookup"), None);
    assert!(verify(&store, None, &mut |_| {}).expect("verify").is_ok());
}

pub fn scan_resumes_after_a_position_and_stops_early<S: EventLog, G>(f: &mut impl Factory<S, G>) {
    let (mut store, _guard) = f.make(clock());
    let events: Vec<NewEvent> = (0..10)
        .map(|i| event("s", None, format!("{i}").as_bytes()))
        .collect();
    store.append(batch(events)).expect("append");
    let mut tail = Vec::new();
    store
        .scan(7, &mut |e| {
            tail.push(e.position);
            ControlFlow::Continue(())
        })
        .expect("scan");
    assert_eq!(tail, vec![8, 9, 10]);
    let mut seen = 0;
    store
        .scan(0, &mut |_| {
            seen += 1;
            if seen == 4 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .expect("scan");
    assert_eq!(seen, 4);
    let mut none = 0;
    store
        .scan(10, &mut |_| {
            none += 1;
            ControlFlow::Continue(())
        })
        .expect("scan");
    assert_eq!(none, 0);
}

pub fn payloads_and_headers_round_trip_exactly<S: EventLog, G>(f: &mut impl Factory<S, G>) {
    let clock = clock();
    let (mut store, _guard) = f.make(clock.clone());
    let binary: Vec<u8> = (0..=255u8).collect();
    let mut odd = event("contribution:é/ü 1", Some("key with spaces ✓"), &binary);
    odd.effective_date = date(2024, 2, 29);
    odd.actor = "scenario:2024.1".to_owned();
    odd.event_type = "x.y".to_owned();
    odd.event_version = 7;
    let empty = event("e", None, b"");
    store
        .append(batch(vec![odd.clone(), empty.clone()]))
        .expect("append");
    let stored = all(&store);
    for (new, got) in [odd, empty].iter().zip(&stored) {
        assert_eq!(got.stream, new.stream);
        assert_eq!(got.effective_date, new.effective_date);
        assert_eq!(got.actor, new.actor);
        assert_eq!(got.idempotency_key, new.idempotency_key);
        assert_eq!(got.event_type, new.event_type);
        assert_eq!(got.event_version, new.event_version);
        assert_eq!(got.payload, new.payload);
        assert_eq!(got.recorded_at, clock.now());
    }
}

/// `scan_borrowed` lends exactly the events `scan` hands over, from the same position, and
/// stops when told to.
pub fn borrowed_scans_lend_what_scans_hand_over<S: EventLog, G>(f: &mut impl Factory<S, G>) {
    let (mut store, _guard) = f.make(clock());
    let binary: Vec<u8> = (0..=255u8).collect();
    let mut keyed = event("contribution:é/ü 1", Some("key with spaces ✓"), &binary);
    keyed.effective_date = date(-44, 3, 15);
    let events = vec![keyed, event("e", None, b""), event("s", None, b"{}")];
    store.append(batch(events)).expect("append");
    store
        .append(batch(vec![event("s", Some("k2"), b"[1]")]))
        .expect("append");
    for after in 0..=4 {
        let mut owned = Vec::new();
        store
            .scan(after, &mut |e| {
                owned.push(e);
                ControlFlow::Continue(())
            })
            .expect("scan");
        let mut lent = Vec::new();
        store
            .scan_borrowed(after, &mut |e| {
                lent.push(e.to_stored());
                ControlFlow::Continue(())
            })
            .expect("borrowed scan");
        assert_eq!(lent, owned, "after position {after}");
        assert_eq!(owned.len() as u64, 4 - after);
    }
    let mut seen = Vec::new();
    store
        .scan_borrowed(0, &mut |e| {
            seen.push(e.position);
            if seen.len() == 2 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            }
        })
        .expect("borrowed scan");
    assert_eq!(seen, vec![1, 2]);
}

pub fn event_by_key_finds_the_event<S: EventLog, G>(f: &mut impl Factory<S, G>) {
    let (mut store, _guard) = f.make(clock());
    store
        .append(batch(vec![
            event("a", Some("first"), b"1"),
            event("b", Some("second"), b"2"),
        ]))
        .expect("append");
    let found = store
        .event_by_key("second")
        .expect("lookup")
        .expect("found");
    assert_eq!((found.position, found.payload.as_slice()), (2, &b"2"[..]));
    assert_eq!(store.event_by_key("third").expect("lookup"), None);
}

pub fn verify_accepts_an_honest_log_and_checks_the_expected_head<S: EventLog, G>(
    f: &mut impl Factory<S, G>,
) {
    let (mut store, _guard) = f.make(clock());
    for i in 0..5u8 {
        store
            .append(batch(vec![event("a", None, &[i]), event("b", None, &[i])]))
            .expect("append");
    }
    let head = store.head().expect("head").expect("some");
    let ok = verify(&store, Some(head.hash), &mut |_| {}).expect("verify");
    assert!(ok.is_ok());
    assert_eq!(ok.events, 10);
    assert_eq!(ok.head, Some(head));
    let other = ChainHash([7; 32]);
    let mismatch = verify(&store, Some(other), &mut |_| {}).expect("verify");
    assert!(!mismatch.is_ok(), "a hash that is not in the chain");
    assert!(mismatch.first_break.is_none());
    assert_eq!(mismatch.expected_head_position, None);
    // A head published earlier stays valid as the log grows: it is a prefix of the chain.
    store
        .append(batch(vec![event("a", None, b"later")]))
        .expect("append");
    let earlier = verify(&store, Some(head.hash), &mut |_| {}).expect("verify");
    assert!(earlier.is_ok());
    assert_eq!(earlier.expected_head_position, Some(head.position));
    assert_eq!(earlier.appended_since_expected(), Some(1));
}

pub fn empty_batch_changes_nothing<S: EventLog, G>(f: &mut impl Factory<S, G>) {
    let (mut store, _guard) = f.make(clock());
    store
        .append(batch(vec![event("a", None, b"1")]))
        .expect("append");
    let before = store.head().expect("head");
    let appended = store.append(batch(Vec::new())).expect("empty batch");
    assert_eq!(appended.first_position, appended.last_position + 1);
    assert_eq!(store.head().expect("head"), before);
}

pub fn snapshots_are_kept_per_format_replaced_and_discarded<S: SnapshotStore, G>(
    f: &mut impl Factory<S, G>,
) {
    let (mut store, _guard) = f.make(clock());
    assert_eq!(store.load_snapshot("ledger-v1").expect("load"), None);
    let head = head_at(2, 1);
    let first = Snapshot::new("ledger-v1", head, b"projection at 2".to_vec());
    store.save_snapshot(&first).expect("save");
    let loaded = store
        .load_snapshot("ledger-v1")
        .expect("load")
        .expect("saved");
    assert_eq!(loaded, first);
    assert!(loaded.is_intact());
    assert_eq!(store.load_snapshot("other-v1").expect("load"), None);

    // A later snapshot of the same format replaces the earlier one; another format stays.
    let later_head = head_at(3, 2);
    let later = Snapshot::new("ledger-v1", later_head, vec![0, 1, 2, 255]);
    store.save_snapshot(&later).expect("save");
    let other = Snapshot::new("other-v1", head, Vec::new());
    store.save_snapshot(&other).expect("save");
    assert_eq!(store.load_snapshot("ledger-v1").expect("load"), Some(later));
    assert_eq!(
        store.load_snapshot("other-v1").expect("load"),
        Some(other.clone())
    );

    store.discard_snapshot("ledger-v1").expect("discard");
    assert_eq!(store.load_snapshot("ledger-v1").expect("load"), None);
    assert_eq!(store.load_snapshot("other-v1").expect("load"), Some(other));

    // A damaged body no longer matches its digest.
    let mut damaged = first.clone();
    damaged.body[0] ^= 1;
    assert!(!damaged.is_intact());
}

/// Appends `events` as a streamed batch.
fn streamed(
    store: &mut dyn EventLog,
    expected: Vec<(String, ExpectedVersion)>,
    events: Vec<Result<NewEvent, StoreError>>,
) -> Result<crate::Appended, StoreError> {
    store.append_streamed(expected, &mut events.into_iter())
}

pub fn streamed_batches_seal_like_whole_ones<S: EventLog, G>(f: &mut impl Factory<S, G>) {
    let (mut whole, _g1) = f.make(clock());
    let (mut stream, _g2) = f.make(clock());
    let first = vec![event("a", Some("k1"), b"1"), event("b", None, b"2")];
    let second = vec![
        event("a", Some("k2"), b"3"),
        event("c", Some("k3"), b"4"),
        event("a", None, b"5"),
    ];
    for (events, expected) in [
        (
            first,
            vec![
                ("a".to_owned(), ExpectedVersion::NoStream),
                ("b".to_owned(), ExpectedVersion::Any),
            ],
        ),
        (
            second,
            vec![
                ("a".to_owned(), ExpectedVersion::Exactly(1)),
                ("c".to_owned(), ExpectedVersion::Any),
            ],
        ),
    ] {
        let a = whole
            .append(AppendRequest {
                events: events.clone(),
                expected: expected.clone(),
            })
            .expect("whole");
        let b = streamed(&mut stream, expected, events.into_iter().map(Ok).collect())
            .expect("streamed");
        assert_eq!(a, b);
    }
    assert_eq!(
        all(&whole),
        all(&stream),
        "same positions, versions and hashes"
    );
    assert_eq!(stream.stream_version("a").expect("v"), Some(3));
    let empty = streamed(&mut stream, Vec::new(), Vec::new()).expect("empty batch");
    assert_eq!(empty.first_position, empty.last_position + 1);
    assert!(verify(&stream, None, &mut |_| {}).expect("verify").is_ok());
}

pub fn streamed_batches_are_atomic<S: EventLog, G>(f: &mut impl Factory<S, G>) {
    let (mut store, _guard) = f.make(clock());
    streamed(
        &mut store,
        vec![("a".to_owned(), ExpectedVersion::NoStream)],
        vec![Ok(event("a", Some("k1"), b"1"))],
    )
    .expect("first");
    let head = store.head().expect("head");
    let any = || vec![("a".to_owned(), ExpectedVersion::Any)];
    // A stale expectation, a key already recorded or repeated, an event on a stream not
    // listed and a failing producer each refuse the whole batch.
    let conflict = streamed(
        &mut store,
        vec![("a".to_owned(), ExpectedVersion::NoStream)],
        vec![Ok(event("a", Some("k2"), b"2"))],
    );
    assert!(
        matches!(conflict, Err(StoreError::Conflict { .. })),
        "{conflict:?}"
    );
    let duplicate = streamed(
        &mut store,
        any(),
        vec![
            Ok(event("a", Some("k2"), b"2")),
            Ok(event("a", Some("k1"), b"1")),
        ],
    );
    assert!(
        matches!(duplicate, Err(StoreError::DuplicateKey(ref k)) if k == "k1"),
        "{duplicate:?}"
    );
    let repeated = streamed(
        &mut store,
        any(),
        vec![
            Ok(event("a", Some("k3"), b"3")),
            Ok(event("a", Some("k3"), b"3")),
        ],
    );
    assert!(
        matches!(repeated, Err(StoreError::DuplicateKey(ref k)) if k == "k3"),
        "{repeated:?}"
    );
    let unlisted = streamed(
        &mut store,
        any(),
        vec![Ok(event("a", None, b"4")), Ok(event("b", None, b"5"))],
    );
    assert!(
        matches!(unlisted, Err(StoreError::Incompatible(ref m)) if m.contains("`b`")),
        "{unlisted:?}"
    );
    let failing = streamed(
        &mut store,
        any(),
        vec![
            Ok(event("a", None, b"6")),
            Err(StoreError::Backend("the producer failed".into())),
            Ok(event("a", None, b"7")),
        ],
    );
    assert!(
        matches!(failing, Err(StoreError::Backend(ref e)) if e.to_string() == "the producer failed"),
        "{failing:?}"
    );
    assert_eq!(store.head().expect("head"), head, "nothing was written");
    assert_eq!(all(&store).len(), 1);
    assert_eq!(store.event_by_key("k2").expect("lookup"), None);
    assert_eq!(store.stream_version("b").expect("v"), None);
    // The store still appends after all those refusals.
    streamed(
        &mut store,
        vec![("a".to_owned(), ExpectedVersion::Exactly(1))],
        vec![Ok(event("a", Some("k2"), b"2"))],
    )
    .expect("after the refusals");
    assert!(verify(&store, None, &mut |_| {}).expect("verify").is_ok());
}

pub fn snapshots_read_as_a_stream_are_what_was_saved<S: SnapshotStore, G>(
    f: &mut impl Factory<S, G>,
) {
    let (mut store, _guard) = f.make(clock());
    let mut calls = 0;
    let found = store
        .read_snapshot("ledger-v1", &mut |_, _| calls += 1)
        .expect("read");
    assert!(!found && calls == 0, "no snapshot, no call");
    let head = head_at(1, 1);
    // Larger than any one read, so the body arrives in pieces.
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
    let saved = Snapshot::new("ledger-v1", head, body);
    store.save_snapshot(&saved).expect("save");
    let mut read = None;
    let found = store
        .read_snapshot("ledger-v1", &mut |header, reader| {
            let mut bytes = Vec::new();
            let mut digest = crate::StreamDigest::new();
            reader.read_to_end(&mut bytes).expect("body reads");
            digest.update(&bytes);
            read = Some((header.clone(), bytes, digest.finish()));
        })
        .expect("read");
    assert!(found);
    let (header, bytes, digest) = read.expect("called");
    assert_eq!(header, saved.header());
    assert_eq!(header.len, 300_000);
    assert_eq!(bytes, saved.body);
    assert_eq!(digest, saved.digest, "a streamed digest is the whole one");
}

pub fn snapshots_saved_as_a_stream_are_checked_against_their_header<S: SnapshotStore, G>(
    f: &mut impl Factory<S, G>,
) {
    let (mut store, _guard) = f.make(clock());
    let head = head_at(1, 1);
    // Written in many small pieces, as an encoder writes, and larger than any one piece the
    // store passes on.
    let body: Vec<u8> = (0..300_000u32).map(|i| (i % 253) as u8).collect();
    let whole = Snapshot::new("ledger-v1", head, body.clone());
    let write_in_pieces = |bytes: Vec<u8>| {
        move |sink: &mut dyn std::io::Write| {
            for piece in bytes.chunks(7) {
                sink.write_all(piece)?;
            }
            Ok(())
        }
    };
    store
        .save_snapshot_streamed(&whole.header(), &mut write_in_pieces(body.clone()))
        .expect("save");
    assert_eq!(
        store.load_snapshot("ledger-v1").expect("load"),
        Some(whole.clone()),
        "a streamed snapshot is the one saved whole"
    );

    // A body that is not the one announced saves nothing: the earlier snapshot stays.
    let mut other = body.clone();
    other[150_000] ^= 1;
    let mut longer = body.clone();
    longer.push(0);
    let shorter = body[..body.len() - 1].to_vec();
    for wrong in [other, longer, shorter] {
        let refused =
            store.save_snapshot_streamed(&whole.header(), &mut write_in_pieces(wrong.clone()));
        assert!(refused.is_err(), "{} bytes were taken", wrong.len());
        assert_eq!(
            store.load_snapshot("ledger-v1").expect("load"),
            Some(whole.clone())
        );
    }
    let failing = store.save_snapshot_streamed(&whole.header(), &mut |sink| {
        sink.write_all(&body[..1000])?;
        Err(std::io::Error::other("the encoder failed"))
    });
    assert!(failing.is_err());
    assert_eq!(store.load_snapshot("ledger-v1").expect("load"), Some(whole));
}
