//! The log's JSON payloads are a stored format: what this build writes for a stage event must
//! stay byte-for-byte what earlier builds wrote (dates and amounts as text), whatever compact
//! forms the projection snapshots use for the same types.

use steadfast_app::codec;
use steadfast_domain::{
    ContributionId, Currency, DomainEvent, EventId, Money, Quantity, Stage, StageRecorded,
    ValuationBasis,
};

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
    });
    let stored = codec::encode(&event, "local:test").expect("encodes");
    assert_eq!(
        String::from_utf8(stored.payload).expect("utf-8"),
        r#"{"event":"E-1","contribution":"C-1","stage":"committed","effective_date":"2024-07-10","money":{"amount":"1082500.00","currency":"USD"},"quantity":{"value":"14000","unit":"rounds"},"valuation_basis":"replacement-cost","amends":null,"reason":null,"condition":null,"source_url":"https://example.org/a","description":null}"#
    );
}
