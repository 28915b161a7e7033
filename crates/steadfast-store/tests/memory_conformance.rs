//! The in-memory store passes the conformance suite, and verification names tampered events.

use std::sync::Arc;

use steadfast_store::conformance::event;
use steadfast_store::{AppendRequest, EventLog, ManualClock, MemoryStore, verify};

fn memory(clock: Arc<ManualClock>) -> (MemoryStore, ()) {
    (MemoryStore::with_clock(clock), ())
}

steadfast_store::conformance_suite!(memory);

fn three_events() -> MemoryStore {
    let mut store = MemoryStore::new();
    store
        .append(AppendRequest {
            events: vec![
                event("a", None, b"one"),
                event("a", None, b"two"),
                event("a", None, b"three"),
            ],
            expected: Vec::new(),
        })
        .expect("append");
    store
}

#[test]
fn an_edited_payload_is_named() {
    let mut store = three_events();
    store.events_mut()[1].payload = b"TWO".to_vec();
    let report = verify(&store, None, &mut |_| {}).expect("verify");
    let broken = report.first_break.expect("broken");
    assert_eq!(broken.position, 2);
    assert!(broken.reason.contains("payload"), "{}", broken.reason);
}

#[test]
fn an_edited_header_is_named() {
    let mut store = three_events();
    store.events_mut()[2].actor = "local:mallory".to_owned();
    let broken = verify(&store, None, &mut |_| {})
        .expect("verify")
        .first_break
        .expect("broken");
    assert_eq!(broken.position, 3);
    assert!(broken.reason.contains("header"), "{}", broken.reason);
}

#[test]
fn a_removed_event_is_named() {
    let mut store = three_events();
    store.events_mut().remove(1);
    let broken = verify(&store, None, &mut |_| {})
        .expect("verify")
        .first_break
        .expect("broken");
    assert_eq!(broken.position, 3);
}
