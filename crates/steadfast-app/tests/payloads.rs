//! The log's JSON payloads are a stored format: what this build writes for a stage event must
//! stay byte-for-byte what it wrote for its version (dates and amounts as text), whatever
//! compact forms the projection snapshots use for the same types; and what earlier versions
//! wrote is still read, upcast to the current shape.

use steadfast_app::codec;
use steadfast_domain::{
    ContributionId, Currency, DomainEvent, EventId, Money, Quantity, Stage, StageRecorded,
    ValuationBasis,
};
use steadfast_store::StoredEventRef;

#[test]
fn a_stage_event_payload_is_the_text_it_always_was() {
    let event = DomainEvent::StageRecorded(StageRecorded {
        event: EventId::parse("E-1").expect("id"),
        contribution: ContributionId::parse("C-1").expect("id"),
        stage: Stage::Committed,
        effective_date: "2024-07-10".parse().expect("date"),
        money: Some(
            Money::parse("1082500.00", Currency::parse("USD").expect("USD")).expect("money"),
        ),
        quantity: Some(Quantity {
            value: "14000".parse().expect("quantity"),
            unit: "rounds".to_owned(),
        }),
        valuation_basis: Some(ValuationBasis::ReplacementCost),
        amends: None,
        reason: None,
        condition: None,
        source_url: Some("https://example.org/a".to_owned()),
        description: None,
        citation: None,
        source_kind: None,
    });
    let stored = codec::encode(&event, "local:test").expect("encodes");
    assert_eq!(stored.event_version, 2);
    assert_eq!(
        String::from_utf8(stored.payload.clone()).expect("utf-8"),
        r#"{"event":"E-1","contribution":"C-1","stage":"committed","effective_date":"2024-07-10","money":{"amount":"1082500.00","currency":"USD"},"quantity":{"value":"14000","unit":"rounds"},"valuation_basis":"replacement-cost","amends":null,"reason":null,"condition":null,"source_url":"https://example.org/a","description":null,"source_kind":null,"citation":null}"#
    );
    // Version 1 (before source kinds and citations) reads as the same event.
    let v1 = r#"{"event":"E-1","contribution":"C-1","stage":"committed","effective_date":"2024-07-10","money":{"amount":"1082500.00","currency":"USD"},"quantity":{"value":"14000","unit":"rounds"},"valuation_basis":"replacement-cost","amends":null,"reason":null,"condition":null,"source_url":"https://example.org/a","description":null}"#;
    let read = codec::decode(&StoredEventRef {
        position: 7,
        stream: "contribution:C-1",
        stream_version: 2,
        recorded_at: jiff::Timestamp::UNIX_EPOCH,
        effective_date: "2024-07-10".parse().expect("date"),
        actor: "local:test",
        idempotency_key: Some("event:E-1"),
        event_type: steadfast_domain::event_types::STAGE_RECORDED,
        event_version: 1,
        payload: v1.as_bytes(),
        payload_digest: steadfast_store::ChainHash::GENESIS,
        prev_hash: steadfast_store::ChainHash::GENESIS,
        hash: steadfast_store::ChainHash::GENESIS,
    })
    .expect("a version 1 payload reads");
    assert_eq!(read, event);
}

#[test]
fn a_version_1_registration_belongs_to_the_ledger_dataset() {
    let v1 = r#"{"contribution":"C-1","donor":"DEU","recipient":"UKR","category":"training","channel":"bilateral","visibility":"public","description":"","opened_on":"2024-07-10"}"#;
    let read = codec::decode(&StoredEventRef {
        position: 1,
        stream: "contribution:C-1",
        stream_version: 1,
        recorded_at: jiff::Timestamp::UNIX_EPOCH,
        effective_date: "2024-07-10".parse().expect("date"),
        actor: "local:test",
        idempotency_key: None,
        event_type: steadfast_domain::event_types::CONTRIBUTION_REGISTERED,
        event_version: 1,
        payload: v1.as_bytes(),
        payload_digest: steadfast_store::ChainHash::GENESIS,
        prev_hash: steadfast_store::ChainHash::GENESIS,
        hash: steadfast_store::ChainHash::GENESIS,
    })
    .expect("a version 1 payload reads");
    match read {
        DomainEvent::ContributionRegistered(r) => {
            assert_eq!(r.dataset, steadfast_domain::DatasetId::ledger());
        }
        other => panic!("{other:?}"),
    }
}

fn stored<'a>(event_type: &'a str, event_version: u32, payload: &'a str) -> StoredEventRef<'a> {
    StoredEventRef {
        position: 3,
        stream: "contribution:C-1",
        stream_version: 1,
        recorded_at: jiff::Timestamp::UNIX_EPOCH,
        effective_date: "2024-07-10".parse().expect("date"),
        actor: "local:test",
        idempotency_key: None,
        event_type,
        event_version,
        payload: payload.as_bytes(),
        payload_digest: steadfast_store::ChainHash::GENESIS,
        prev_hash: steadfast_store::ChainHash::GENESIS,
        hash: steadfast_store::ChainHash::GENESIS,
    }
}

#[test]
fn an_unknown_version_or_a_payload_with_more_after_it_is_refused_by_position() {
    let v2 = r#"{"contribution":"C-1","donor":"DEU","recipient":"UKR","category":"training","channel":"bilateral","visibility":"public","description":"","opened_on":"2024-07-10","dataset":"ledger"}"#;
    let registered = steadfast_domain::event_types::CONTRIBUTION_REGISTERED;
    let read = codec::decode(&stored(registered, 2, v2)).expect("version 2 reads");
    assert_eq!(read.schema(), (registered, 2));

    let unknown = codec::decode(&stored(registered, 3, v2)).expect_err("no version 3 yet");
    assert!(
        unknown
            .to_string()
            .contains("event 3 has type `contribution.registered` version 3"),
        "{unknown}"
    );
    let trailing = format!("{v2} {{}}");
    let refused = codec::decode(&stored(registered, 2, &trailing)).expect_err("trailing");
    assert!(
        refused
            .to_string()
            .contains("event 3 (contribution.registered v2) has an unreadable payload"),
        "{refused}"
    );
}
