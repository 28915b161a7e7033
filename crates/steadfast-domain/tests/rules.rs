//! The domain's rules as given/when/then scenarios, with no database.
//!
//! `given` decides commands one by one against a `Ledger` (each in its own `Draft`) and folds
//! the events they produce into it, as the application does after an append; `when` decides one
//! more command; the `then_*` helpers check the decision.

use std::str::FromStr;

use jiff::civil::Date;
use rust_decimal::Decimal;
use steadfast_domain::{
    AnomalyKind, Category, Channel, Condition, ContributionId, ContributionRegistered,
    ContributionState, Currency, Decision, DomainEvent, Draft, EventId, EventMeta, Field, Ledger,
    Money, MoneyError, PartyId, PartyKind, PartyRegistered, Quantity, RecordStage, Rejection,
    Stage, StageRecorded, Staged, ValuationBasis, Visibility,
};

// ---------------------------------------------------------------------------------------------
// Building commands

fn date(text: &str) -> Date {
    text.parse().expect("test date")
}

fn dec(text: &str) -> Decimal {
    Decimal::from_str(text).expect("test decimal")
}

fn cur(code: &str) -> Currency {
    Currency::parse(code).expect("test currency")
}

fn money(amount: &str, currency: &str) -> Money {
    Money::parse(amount, cur(currency)).expect("test amount")
}

fn eid(text: &str) -> EventId {
    EventId::parse(text).expect("test event id")
}

fn party(text: &str) -> PartyId {
    PartyId::parse(text).expect("test party id")
}

/// A stage command of contribution `contribution` from Germany to Ukraine, with no increment.
fn stage(event: &str, contribution: &str, stage: Stage, on: &str) -> RecordStage {
    RecordStage {
        event: eid(event),
        contribution: ContributionId::parse(contribution).expect("test contribution id"),
        donor: party("DEU"),
        recipient: party("UKR"),
        category: Category::EquipmentPurchase,
        channel: Channel::Bilateral,
        visibility: Visibility::Public,
        stage,
        effective_date: date(on),
        money: None,
        quantity: None,
        valuation_basis: None,
        amends: None,
        reason: None,
        condition: None,
        source_url: None,
        description: None,
        citation: None,
        dataset: Default::default(),
        source_kind: None,
    }
}

/// Shorthands for the usual shapes.
fn announced(event: &str, c: &str, on: &str, eur: &str) -> RecordStage {
    stage(event, c, Stage::Announced, on).eur(eur)
}
fn committed(event: &str, c: &str, on: &str, eur: &str) -> RecordStage {
    stage(event, c, Stage::Committed, on).eur(eur)
}
fn allocated(event: &str, c: &str, on: &str, eur: &str) -> RecordStage {
    stage(event, c, Stage::Allocated, on).eur(eur)
}
fn delivered(event: &str, c: &str, on: &str, eur: &str) -> RecordStage {
    stage(event, c, Stage::Delivered, on).eur(eur)
}
fn confirmed(event: &str, c: &str, on: &str, eur: &str) -> RecordStage {
    stage(event, c, Stage::Confirmed, on)
        .eur(eur)
        .condition(Condition::AsDescribed)
}
fn amended(event: &str, c: &str, on: &str, target: &str, eur_delta: &str) -> RecordStage {
    stage(event, c, Stage::Amended, on)
        .eur(eur_delta)
        .amends(target)
        .reason("corrected figure")
}
fn withdrawn(event: &str, c: &str, on: &str) -> RecordStage {
    stage(event, c, Stage::Withdrawn, on)
}

trait With: Sized {
    fn with(self, f: impl FnOnce(&mut RecordStage)) -> Self;
    fn eur(self, amount: &str) -> Self {
        self.money(amount, "EUR")
    }
    fn money(self, amount: &str, currency: &str) -> Self {
        let m = money(amount, currency);
        self.with(|c| c.money = Some(m))
    }
    fn no_money(self) -> Self {
        self.with(|c| c.money = None)
    }
    fn quantity(self, value: &str, unit: &str) -> Self {
        let q = Quantity {
            value: dec(value),
            unit: unit.to_owned(),
        };
        self.with(|c| c.quantity = Some(q))
    }
    fn amends(self, target: &str) -> Self {
        let t = eid(target);
        self.with(|c| c.amends = Some(t))
    }
    fn reason(self, reason: &str) -> Self {
        self.with(|c| c.reason = Some(reason.to_owned()))
    }
    fn no_reason(self) -> Self {
        self.with(|c| c.reason = None)
    }
    fn condition(self, condition: Condition) -> Self {
        self.with(|c| c.condition = Some(condition))
    }
    fn donor(self, donor: &str) -> Self {
        let p = party(donor);
        self.with(|c| c.donor = p)
    }
    fn recipient(self, recipient: &str) -> Self {
        let p = party(recipient);
        self.with(|c| c.recipient = p)
    }
    fn category(self, category: Category) -> Self {
        self.with(|c| c.category = category)
    }
    fn basis(self, basis: ValuationBasis) -> Self {
        self.with(|c| c.valuation_basis = Some(basis))
    }
    fn description(self, text: &str) -> Self {
        self.with(|c| c.description = Some(text.to_owned()))
    }
}

impl With for RecordStage {
    fn with(mut self, f: impl FnOnce(&mut RecordStage)) -> Self {
        f(&mut self);
        self
    }
}

// ---------------------------------------------------------------------------------------------
// given / when / then

/// Decides one command against the ledger; it must be accepted. Its events are folded in.
fn accept(ledger: &mut Ledger, cmd: &RecordStage) -> Vec<DomainEvent> {
    let events = match Draft::new(ledger).record_stage(cmd) {
        Ok(Decision::Record(events)) => events,
        other => panic!("expected {} to be recorded, got {other:?}", cmd.event),
    };
    for e in &events {
        ledger.apply(EventMeta::PENDING, e);
    }
    events
}

/// A ledger holding these commands, each decided and applied in turn.
fn given(cmds: &[RecordStage]) -> Ledger {
    let mut ledger = Ledger::new();
    for cmd in cmds {
        accept(&mut ledger, cmd);
    }
    ledger
}

fn when(ledger: &Ledger, cmd: &RecordStage) -> Result<Decision, Rejection> {
    Draft::new(ledger).record_stage(cmd)
}

/// The command is refused with (at least) a violation on `field`.
#[track_caller]
fn then_rejected(result: Result<Decision, Rejection>, field: Field) -> Rejection {
    match result {
        Err(violations) => {
            assert!(
                violations.iter().any(|v| v.field == Some(field)),
                "expected a violation on {field:?}, got {violations:?}"
            );
            assert!(
                violations.iter().all(|v| !v.message.is_empty()),
                "{violations:?}"
            );
            violations
        }
        Ok(decision) => panic!("expected a violation on {field:?}, got {decision:?}"),
    }
}

/// The command is refused and every violation is on `field`.
#[track_caller]
fn then_rejected_only(result: Result<Decision, Rejection>, field: Field) {
    let violations = then_rejected(result, field);
    assert!(
        violations.iter().all(|v| v.field == Some(field)),
        "expected violations on {field:?} only, got {violations:?}"
    );
}

/// The command is accepted and produces exactly these stage events (plus a registration when the
/// contribution is new).
#[track_caller]
fn then_recorded(result: Result<Decision, Rejection>) -> Vec<DomainEvent> {
    match result {
        Ok(Decision::Record(events)) => events,
        other => panic!("expected the command to be recorded, got {other:?}"),
    }
}

/// Decides `cmd` (it must be accepted), applies it, and returns the contribution's state.
#[track_caller]
fn then_state(ledger: &mut Ledger, cmd: &RecordStage) -> ContributionState {
    accept(ledger, cmd);
    ledger
        .contribution(&cmd.contribution)
        .expect("contribution recorded")
        .clone()
}

fn total(state: &ContributionState, stage: Stage, currency: &str) -> Decimal {
    state
        .total(stage)
        .map_or(Decimal::ZERO, |t| t.amount(cur(currency)))
}

fn anomaly_kinds(state: &ContributionState) -> Vec<AnomalyKind> {
    let mut kinds: Vec<AnomalyKind> = state.anomalies().iter().map(|a| a.kind).collect();
    kinds.sort();
    kinds.dedup();
    kinds
}

fn contribution<'a>(ledger: &'a Ledger, id: &str) -> &'a ContributionState {
    ledger
        .contribution(&ContributionId::parse(id).expect("id"))
        .expect("contribution recorded")
}

// ---------------------------------------------------------------------------------------------
// Registration and idempotency

#[test]
fn a_new_contribution_produces_its_registration_then_the_stage_event() {
    let ledger = given(&[]);
    let cmd = committed("C1-a", "C1", "2024-03-01", "1000").description("Howitzers");
    let events = then_recorded(when(&ledger, &cmd));
    assert_eq!(
        events,
        vec![
            DomainEvent::ContributionRegistered(ContributionRegistered {
                contribution: cmd.contribution.clone(),
                donor: party("DEU"),
                recipient: party("UKR"),
                category: Category::EquipmentPurchase,
                channel: Channel::Bilateral,
                visibility: Visibility::Public,
                description: "Howitzers".to_owned(),
                opened_on: date("2024-03-01"),
                dataset: Default::default(),
            }),
            DomainEvent::StageRecorded(StageRecorded {
                event: cmd.event.clone(),
                contribution: cmd.contribution.clone(),
                stage: Stage::Committed,
                effective_date: date("2024-03-01"),
                money: Some(money("1000", "EUR")),
                quantity: None,
                valuation_basis: None,
                amends: None,
                reason: None,
                condition: None,
                source_url: None,
                description: Some("Howitzers".to_owned()),
                citation: None,
                source_kind: None,
            }),
        ]
    );
    // Registration sits in the contribution's stream, before its first stage event.
    assert_eq!(events[0].stream(), "contribution:C1");
    assert_eq!(events[1].stream(), "contribution:C1");
    assert_eq!(events[0].idempotency_key(), None);
    assert_eq!(events[1].idempotency_key().as_deref(), Some("event:C1-a"));
}

#[test]
fn a_later_event_of_a_known_contribution_produces_only_the_stage_event() {
    let ledger = given(&[announced("C1-a", "C1", "2024-03-01", "1000")]);
    let events = then_recorded(when(
        &ledger,
        &committed("C1-b", "C1", "2024-03-02", "1000"),
    ));
    assert_eq!(events.len(), 1);
    assert!(matches!(&events[0], DomainEvent::StageRecorded(e) if e.stage == Stage::Committed));
}

#[test]
fn within_one_draft_the_second_event_of_a_new_contribution_is_not_registered_again() {
    let ledger = given(&[]);
    let mut draft = Draft::new(&ledger);
    let first = announced("C1-a", "C1", "2024-03-01", "1000");
    let second = committed("C1-b", "C1", "2024-03-02", "900");
    assert_eq!(then_recorded(draft.record_stage(&first)).len(), 2);
    assert_eq!(then_recorded(draft.record_stage(&second)).len(), 1);
    let events = draft.into_events();
    assert_eq!(events.len(), 3);
    let mut applied = ledger.clone();
    for e in &events {
        applied.apply(EventMeta::PENDING, e);
    }
    let state = contribution(&applied, "C1");
    assert_eq!(total(state, Stage::Announced, "EUR"), dec("1000"));
    assert_eq!(total(state, Stage::Committed, "EUR"), dec("900"));
    assert_eq!(applied.events_applied(), 3);
}

#[test]
fn the_same_event_id_with_the_same_content_is_already_recorded() {
    let cmd = committed("C1-a", "C1", "2024-03-01", "1000").description("Howitzers");
    let ledger = given(std::slice::from_ref(&cmd));
    assert_eq!(when(&ledger, &cmd), Ok(Decision::AlreadyRecorded));
    // Also when the amount is written with fewer decimals: money is kept at currency scale.
    let same = cmd
        .clone()
        .with(|c| c.money = Some(Money::new(dec("1000"), cur("EUR")).expect("money")));
    assert_eq!(when(&ledger, &same), Ok(Decision::AlreadyRecorded));
    // An already-recorded command adds nothing to a draft.
    let mut draft = Draft::new(&ledger);
    assert_eq!(draft.record_stage(&cmd), Ok(Decision::AlreadyRecorded));
    assert!(draft.into_events().is_empty());
}

#[test]
fn the_same_event_id_with_different_content_is_a_conflict_on_the_event_id() {
    let cmd = committed("C1-a", "C1", "2024-03-01", "1000");
    let ledger = given(std::slice::from_ref(&cmd));
    let variants = [
        cmd.clone().eur("1001"),
        cmd.clone().with(|c| c.effective_date = date("2024-03-02")),
        cmd.clone().with(|c| c.stage = Stage::Announced),
        cmd.clone().description("other text"),
        cmd.clone().with(|c| {
            c.source_url = Some("https://example.org/x".to_owned());
        }),
        // The same stage event claimed for another contribution.
        cmd.clone()
            .with(|c| c.contribution = ContributionId::parse("C2").expect("id")),
        // The same stage event with different contribution attributes.
        cmd.clone().donor("FRA"),
        cmd.clone().category(Category::Training),
    ];
    for variant in variants {
        then_rejected_only(when(&ledger, &variant), Field::EventId);
    }
}

#[test]
fn an_event_id_twice_in_one_batch_is_refused_even_with_the_same_content() {
    let ledger = given(&[]);
    let mut draft = Draft::new(&ledger);
    let cmd = committed("C1-a", "C1", "2024-03-01", "1000");
    then_recorded(draft.record_stage(&cmd));
    then_rejected_only(draft.record_stage(&cmd), Field::EventId);
    then_rejected_only(draft.record_stage(&cmd.clone().eur("5")), Field::EventId);
}

// ---------------------------------------------------------------------------------------------
// Increments

#[test]
fn zero_and_negative_increments_are_refused_outside_amended() {
    let ledger = given(&[announced("C1-a", "C1", "2024-03-01", "1000")]);
    for flow in Stage::FLOW {
        let base = stage("C1-x", "C1", flow, "2024-03-05").condition(Condition::AsDescribed);
        let base = if flow == Stage::Confirmed {
            base
        } else {
            base.with(|c| c.condition = None)
        };
        for amount in ["0", "0.00", "-1", "-0.01", "-1000"] {
            then_rejected_only(when(&ledger, &base.clone().eur(amount)), Field::Amount);
        }
        // Also on a brand-new contribution.
        let fresh = base
            .clone()
            .with(|c| c.contribution = ContributionId::parse("C9").expect("id"));
        then_rejected_only(when(&ledger, &fresh.clone().eur("-5")), Field::Amount);
        // Quantities are positive too.
        for q in ["0", "-3"] {
            then_rejected_only(
                when(&ledger, &base.clone().quantity(q, "rounds")),
                Field::Quantity,
            );
        }
        // And a flow event carries some increment.
        then_rejected_only(when(&ledger, &base), Field::Amount);
        then_recorded(when(&ledger, &base.clone().eur("0.01")));
        then_recorded(when(&ledger, &base.clone().quantity("1", "rounds")));
    }
}

#[test]
fn a_quantity_needs_its_unit() {
    let ledger = given(&[]);
    then_rejected_only(
        when(
            &ledger,
            &announced("C1-a", "C1", "2024-03-01", "5").quantity("3", ""),
        ),
        Field::Unit,
    );
}

#[test]
fn only_an_amended_event_may_reference_another() {
    let ledger = given(&[announced("C1-a", "C1", "2024-03-01", "1000")]);
    then_rejected_only(
        when(
            &ledger,
            &committed("C1-b", "C1", "2024-03-02", "1000").amends("C1-a"),
        ),
        Field::Amends,
    );
}

// ---------------------------------------------------------------------------------------------
// Amendments

#[test]
fn an_amendment_must_name_an_existing_event_of_the_same_contribution() {
    let ledger = given(&[
        committed("C1-a", "C1", "2024-03-01", "1000"),
        committed("C2-a", "C2", "2024-03-01", "1000"),
    ]);
    // Names nothing.
    let no_target = amended("C1-x", "C1", "2024-03-02", "C1-a", "-10").with(|c| c.amends = None);
    then_rejected_only(when(&ledger, &no_target), Field::Amends);
    // Names an unknown event.
    then_rejected_only(
        when(&ledger, &amended("C1-x", "C1", "2024-03-02", "nope", "-10")),
        Field::Amends,
    );
    // Names another contribution's event.
    let v = then_rejected(
        when(&ledger, &amended("C1-x", "C1", "2024-03-02", "C2-a", "-10")),
        Field::Amends,
    );
    assert!(v.iter().any(|v| v.message.contains("C2")), "{v:?}");
    // Names an event of a contribution that does not exist yet.
    then_rejected(
        when(&ledger, &amended("C3-x", "C3", "2024-03-02", "C1-a", "-10")),
        Field::Amends,
    );
    // The right one is fine.
    then_recorded(when(
        &ledger,
        &amended("C1-x", "C1", "2024-03-02", "C1-a", "-10"),
    ));
}

#[test]
fn staging_decides_as_recording_does_and_leaves_the_events_to_the_caller() {
    let ledger = given(&[announced("C1-a", "C1", "2024-03-01", "1000")]);
    let cmds = [
        announced("C1-a", "C1", "2024-03-01", "1000"),
        committed("C1-b", "C1", "2024-03-02", "900"),
        announced("C2-a", "C2", "2024-03-01", "50"),
        amended("C2-b", "C2", "2024-03-02", "C2-a", "-10"),
        amended("C2-c", "C2", "2024-03-02", "C9-a", "-10"),
    ];
    let mut recording = Draft::new(&ledger);
    let mut staging = Draft::new(&ledger);
    let mut built = Vec::new();
    for cmd in &cmds {
        let recorded = recording.record_stage(cmd);
        let staged = staging.stage(cmd);
        match (&recorded, &staged) {
            (Ok(Decision::Record(events)), Ok(Staged::Record { opens })) => {
                let mut expected = Vec::new();
                if *opens {
                    expected.push(DomainEvent::ContributionRegistered(cmd.registration()));
                }
                expected.push(DomainEvent::StageRecorded(cmd.to_event()));
                assert_eq!(events, &expected);
                assert_eq!(cmd.clone().into_event(), cmd.to_event());
                built.extend(expected);
            }
            (Ok(Decision::AlreadyRecorded), Ok(Staged::AlreadyRecorded)) => {}
            (Err(a), Err(b)) => assert_eq!(a, b),
            _ => panic!(
                "{} decided as {recorded:?} and staged as {staged:?}",
                cmd.event
            ),
        }
    }
    assert!(staging.events().is_empty(), "staging keeps no events");
    assert_eq!(recording.into_events(), built);
}

#[test]
fn a_settled_contribution_is_handed_back_and_takes_no_later_command() {
    let ledger = given(&[announced("C1-a", "C1", "2024-03-01", "1000")]);
    let mut draft = Draft::new(&ledger);
    let c1 = ContributionId::parse("C1").expect("id");
    assert_eq!(draft.settle(&c1), None, "nothing decided for it yet");
    assert_eq!(
        draft.stage(&committed("C1-b", "C1", "2024-03-02", "900")),
        Ok(Staged::Record { opens: false })
    );
    assert_eq!(
        draft.stage(&announced("C2-a", "C2", "2024-03-01", "50")),
        Ok(Staged::Record { opens: true })
    );
    let settled = draft.settle(&c1).expect("C1 was touched");
    assert_eq!(total(&settled, Stage::Committed, "EUR"), dec("900"));
    // Deciding more for C1 now would ignore what this batch decided for it.
    let refused = draft
        .stage(&delivered("C1-c", "C1", "2024-03-03", "100"))
        .expect_err("settled");
    assert_eq!(refused.len(), 1);
    assert_eq!(refused[0].field, Some(Field::ContributionId));
    // An event already recorded is still recognised, and other contributions go on.
    assert_eq!(
        draft.stage(&announced("C1-a", "C1", "2024-03-01", "1000")),
        Ok(Staged::AlreadyRecorded)
    );
    assert_eq!(
        draft.stage(&committed("C2-b", "C2", "2024-03-02", "50")),
        Ok(Staged::Record { opens: false })
    );
    // The batch's events of a settled contribution still count as this batch's.
    let repeat = draft
        .stage(&committed("C1-b", "C1", "2024-03-02", "900"))
        .expect_err("a repeat");
    assert_eq!(refused.len(), repeat.len());
    assert_eq!(repeat[0].field, Some(Field::EventId));
}

#[test]
fn an_amendment_may_target_an_event_decided_earlier_in_the_same_batch() {
    let ledger = given(&[]);
    let mut draft = Draft::new(&ledger);
    then_recorded(draft.record_stage(&committed("C1-a", "C1", "2024-03-01", "1000")));
    then_recorded(draft.record_stage(&amended("C1-b", "C1", "2024-03-01", "C1-a", "-400")));
    let state = draft
        .contribution(&ContributionId::parse("C1").expect("id"))
        .expect("state");
    assert_eq!(total(state, Stage::Committed, "EUR"), dec("600"));
}

#[test]
fn a_signed_delta_adds_to_the_stage_of_the_event_it_amends() {
    let mut ledger = given(&[
        announced("C1-a", "C1", "2024-03-01", "5000"),
        committed("C1-b", "C1", "2024-03-02", "1000"),
        delivered("C1-c", "C1", "2024-03-03", "300"),
    ]);
    let state = then_state(
        &mut ledger,
        &amended("C1-d", "C1", "2024-03-04", "C1-b", "-200"),
    );
    assert_eq!(total(&state, Stage::Committed, "EUR"), dec("800"));
    assert_eq!(total(&state, Stage::Announced, "EUR"), dec("5000"));
    assert_eq!(total(&state, Stage::Delivered, "EUR"), dec("300"));
    assert!(state.total(Stage::Amended).is_none(), "amended is no stage");
    let entry = state.entry(&eid("C1-d")).expect("entry");
    assert_eq!(entry.counts_as, Some(Stage::Committed));

    let state = then_state(
        &mut ledger,
        &amended("C1-e", "C1", "2024-03-05", "C1-b", "50.5"),
    );
    assert_eq!(total(&state, Stage::Committed, "EUR"), dec("850.50"));

    // An amendment of an amendment adds to the original event's stage.
    let state = then_state(
        &mut ledger,
        &amended("C1-f", "C1", "2024-03-06", "C1-d", "-0.50"),
    );
    assert_eq!(total(&state, Stage::Committed, "EUR"), dec("850"));
    assert_eq!(
        state.entry(&eid("C1-f")).expect("entry").counts_as,
        Some(Stage::Committed)
    );

    // Delivered amendments land on delivered.
    let state = then_state(
        &mut ledger,
        &amended("C1-g", "C1", "2024-03-06", "C1-c", "-100"),
    );
    assert_eq!(total(&state, Stage::Delivered, "EUR"), dec("200"));
    assert_eq!(total(&state, Stage::Committed, "EUR"), dec("850"));
}

#[test]
fn an_amendment_cannot_take_its_target_below_zero() {
    let mut ledger = given(&[committed("C1-a", "C1", "2024-03-01", "1000")]);
    then_rejected_only(
        when(
            &ledger,
            &amended("C1-x", "C1", "2024-03-02", "C1-a", "-1000.01"),
        ),
        Field::Amount,
    );
    // Down to exactly zero is allowed.
    let state = then_state(
        &mut ledger,
        &amended("C1-b", "C1", "2024-03-02", "C1-a", "-1000"),
    );
    assert_eq!(total(&state, Stage::Committed, "EUR"), dec("0"));
    // And from there, nothing more can be taken away, through the event or its amendment.
    then_rejected_only(
        when(
            &ledger,
            &amended("C1-x", "C1", "2024-03-03", "C1-a", "-0.01"),
        ),
        Field::Amount,
    );
    then_rejected_only(
        when(
            &ledger,
            &amended("C1-x", "C1", "2024-03-03", "C1-b", "-0.01"),
        ),
        Field::Amount,
    );
    // Positive deltas still work, and later reductions count against the restored net.
    then_state(
        &mut ledger,
        &amended("C1-c", "C1", "2024-03-03", "C1-b", "250"),
    );
    then_rejected_only(
        when(
            &ledger,
            &amended("C1-x", "C1", "2024-03-04", "C1-a", "-250.01"),
        ),
        Field::Amount,
    );
    let state = then_state(
        &mut ledger,
        &amended("C1-d", "C1", "2024-03-04", "C1-c", "-250"),
    );
    assert_eq!(total(&state, Stage::Committed, "EUR"), dec("0"));
}

#[test]
fn each_event_nets_separately_even_within_one_stage() {
    // Two committed events of 100 and 900: amending the 100 by -500 is refused although the
    // stage total (1000) could absorb it.
    let ledger = given(&[
        committed("C1-a", "C1", "2024-03-01", "100"),
        committed("C1-b", "C1", "2024-03-01", "900"),
    ]);
    then_rejected_only(
        when(
            &ledger,
            &amended("C1-x", "C1", "2024-03-02", "C1-a", "-500"),
        ),
        Field::Amount,
    );
    then_recorded(when(
        &ledger,
        &amended("C1-x", "C1", "2024-03-02", "C1-b", "-500"),
    ));
}

#[test]
fn an_amendment_is_in_the_currency_of_its_target() {
    let ledger = given(&[committed("C1-a", "C1", "2024-03-01", "1000")]);
    then_rejected_only(
        when(
            &ledger,
            &amended("C1-x", "C1", "2024-03-02", "C1-a", "-10").money("-10", "USD"),
        ),
        Field::Currency,
    );
    // Even a positive delta.
    then_rejected_only(
        when(
            &ledger,
            &amended("C1-x", "C1", "2024-03-02", "C1-a", "10").money("10", "GBP"),
        ),
        Field::Currency,
    );
}

#[test]
fn an_amendment_states_its_reason() {
    let ledger = given(&[committed("C1-a", "C1", "2024-03-01", "1000")]);
    let cmd = amended("C1-x", "C1", "2024-03-02", "C1-a", "-10");
    then_rejected_only(when(&ledger, &cmd.clone().no_reason()), Field::Reason);
    then_rejected_only(when(&ledger, &cmd.clone().reason("")), Field::Reason);
    then_recorded(when(&ledger, &cmd));
}

#[test]
fn an_amendment_carries_a_nonzero_delta() {
    let ledger = given(&[committed("C1-a", "C1", "2024-03-01", "1000")]);
    let cmd = amended("C1-x", "C1", "2024-03-02", "C1-a", "-10");
    then_rejected_only(when(&ledger, &cmd.clone().no_money()), Field::Amount);
    then_rejected_only(when(&ledger, &cmd.clone().eur("0")), Field::Amount);
}

#[test]
fn an_amendment_is_not_dated_before_its_target() {
    let ledger = given(&[committed("C1-a", "C1", "2024-03-10", "1000")]);
    then_rejected_only(
        when(&ledger, &amended("C1-x", "C1", "2024-03-09", "C1-a", "-10")),
        Field::Amends,
    );
    then_recorded(when(
        &ledger,
        &amended("C1-x", "C1", "2024-03-10", "C1-a", "-10"),
    ));
}

#[test]
fn an_amendment_of_what_the_target_does_not_carry_is_refused() {
    let ledger = given(&[
        committed("C1-a", "C1", "2024-03-01", "1000"),
        stage("C1-q", "C1", Stage::Delivered, "2024-03-02").quantity("10", "rounds"),
    ]);
    // A quantity delta on an amount-only event.
    then_rejected(
        when(
            &ledger,
            &amended("C1-x", "C1", "2024-03-03", "C1-a", "1")
                .no_money()
                .quantity("-1", "rounds"),
        ),
        Field::Quantity,
    );
    // An amount delta on a quantity-only event.
    then_rejected(
        when(&ledger, &amended("C1-x", "C1", "2024-03-03", "C1-q", "-1")),
        Field::Amount,
    );
}

#[test]
fn a_quantity_amendment_keeps_its_unit_and_stays_at_or_above_zero() {
    let mut ledger = given(&[stage("C1-q", "C1", Stage::Delivered, "2024-03-02")
        .quantity("10", "rounds")
        .eur("100")]);
    let qty = |value: &str, unit: &str| {
        amended("C1-x", "C1", "2024-03-03", "C1-q", "1")
            .no_money()
            .quantity(value, unit)
    };
    then_rejected_only(when(&ledger, &qty("-11", "rounds")), Field::Quantity);
    then_rejected_only(when(&ledger, &qty("-1", "shells")), Field::Unit);
    let state = then_state(&mut ledger, &qty("-4", "rounds"));
    let delivered = state.total(Stage::Delivered).expect("delivered");
    assert_eq!(delivered.quantities.get("rounds"), Some(&dec("6")));
    assert_eq!(delivered.amount(cur("EUR")), dec("100"));
}

#[test]
fn a_withdrawal_cannot_be_amended() {
    let ledger = given(&[
        committed("C1-a", "C1", "2024-03-01", "1000"),
        withdrawn("C1-w", "C1", "2024-03-05"),
    ]);
    then_rejected(
        when(&ledger, &amended("C1-x", "C1", "2024-03-04", "C1-w", "-10")),
        Field::Amends,
    );
}

// ---------------------------------------------------------------------------------------------
// Withdrawal

#[test]
fn a_withdrawal_carries_no_amount() {
    let ledger = given(&[committed("C1-a", "C1", "2024-03-01", "1000")]);
    then_rejected_only(
        when(&ledger, &withdrawn("C1-w", "C1", "2024-03-05").eur("1000")),
        Field::Amount,
    );
    then_rejected_only(
        when(
            &ledger,
            &withdrawn("C1-w", "C1", "2024-03-05").quantity("1", "rounds"),
        ),
        Field::Amount,
    );
    then_recorded(when(&ledger, &withdrawn("C1-w", "C1", "2024-03-05")));
}

#[test]
fn nothing_may_be_dated_after_a_withdrawal() {
    let ledger = given(&[
        committed("C1-a", "C1", "2024-03-01", "1000"),
        withdrawn("C1-w", "C1", "2024-03-05"),
    ]);
    for on in ["2024-03-06", "2025-01-01"] {
        then_rejected_only(
            when(&ledger, &delivered("C1-x", "C1", on, "10")),
            Field::Stage,
        );
        then_rejected_only(
            when(&ledger, &announced("C1-x", "C1", on, "10")),
            Field::Stage,
        );
        then_rejected_only(
            when(&ledger, &amended("C1-x", "C1", on, "C1-a", "-10")),
            Field::Stage,
        );
        then_rejected_only(
            when(&ledger, &confirmed("C1-x", "C1", on, "10")),
            Field::Stage,
        );
    }
    // A second withdrawal, whenever dated.
    for on in ["2024-03-04", "2024-03-05", "2024-03-07"] {
        then_rejected_only(when(&ledger, &withdrawn("C1-x", "C1", on)), Field::Stage);
    }
    // A late disclosure of something that happened before (or on the day of) the withdrawal
    // still lands.
    for on in ["2024-03-04", "2024-03-05"] {
        then_recorded(when(&ledger, &delivered("C1-x", "C1", on, "10")));
        then_recorded(when(&ledger, &amended("C1-x", "C1", on, "C1-a", "-10")));
    }
}

#[test]
fn a_late_delivery_before_the_withdrawal_reduces_what_it_cancelled() {
    let mut ledger = given(&[
        committed("C1-a", "C1", "2024-03-01", "1000"),
        withdrawn("C1-w", "C1", "2024-03-05"),
    ]);
    let cancelled = |s: &ContributionState| s.cancelled().get(&cur("EUR")).copied();
    assert_eq!(cancelled(contribution(&ledger, "C1")), Some(dec("1000")));
    let state = then_state(&mut ledger, &delivered("C1-b", "C1", "2024-03-04", "400"));
    assert_eq!(cancelled(&state), Some(dec("600")));
    assert_eq!(state.status(), Some(Stage::Withdrawn));
    assert_eq!(total(&state, Stage::Delivered, "EUR"), dec("400"));
}

#[test]
fn a_withdrawal_is_not_dated_before_the_contributions_latest_event() {
    let ledger = given(&[
        committed("C1-a", "C1", "2024-03-01", "1000"),
        delivered("C1-b", "C1", "2024-03-10", "100"),
    ]);
    then_rejected_only(
        when(&ledger, &withdrawn("C1-w", "C1", "2024-03-09")),
        Field::EffectiveDate,
    );
    // On the same day is fine (same-day events sort before a withdrawal).
    then_recorded(when(&ledger, &withdrawn("C1-w", "C1", "2024-03-10")));
}

#[test]
fn a_withdrawal_cancels_the_undelivered_part_and_keeps_delivered_and_confirmed() {
    let mut ledger = given(&[
        announced("C1-a", "C1", "2024-03-01", "2000"),
        committed("C1-b", "C1", "2024-03-02", "1000"),
        delivered("C1-c", "C1", "2024-03-03", "300"),
        confirmed("C1-d", "C1", "2024-03-04", "250"),
    ]);
    let before = contribution(&ledger, "C1").clone();
    assert!(before.cancelled().is_empty(), "nothing cancelled yet");
    assert_eq!(before.status(), Some(Stage::Confirmed));

    let state = then_state(&mut ledger, &withdrawn("C1-w", "C1", "2024-03-05"));
    assert_eq!(state.status(), Some(Stage::Withdrawn));
    assert_eq!(state.withdrawn_on, Some(date("2024-03-05")));
    // Committed (not announced) is the pledge; what was delivered is not cancelled.
    assert_eq!(
        state.cancelled().into_iter().collect::<Vec<_>>(),
        vec![(cur("EUR"), dec("700"))]
    );
    for s in Stage::FLOW {
        assert_eq!(state.total(s), before.total(s), "{s} total changed");
    }
    let entry = state.entry(&eid("C1-w")).expect("entry");
    assert_eq!(entry.counts_as, None);
}

#[test]
fn a_withdrawal_of_an_announcement_cancels_the_announced_amount() {
    let mut ledger = given(&[announced("C1-a", "C1", "2024-03-01", "500")]);
    let state = then_state(&mut ledger, &withdrawn("C1-w", "C1", "2024-03-05"));
    assert_eq!(
        state.cancelled().into_iter().collect::<Vec<_>>(),
        vec![(cur("EUR"), dec("500"))]
    );
    assert_eq!(total(&state, Stage::Announced, "EUR"), dec("500"));
}

#[test]
fn a_withdrawal_after_full_or_excess_delivery_cancels_nothing_and_never_goes_negative() {
    let mut ledger = given(&[
        committed("C1-b", "C1", "2024-03-02", "1000"),
        delivered("C1-c", "C1", "2024-03-03", "1200"),
    ]);
    let state = then_state(&mut ledger, &withdrawn("C1-w", "C1", "2024-03-05"));
    let cancelled = state.cancelled();
    assert!(
        cancelled.values().all(|v| *v == Decimal::ZERO),
        "{cancelled:?}"
    );
    assert_eq!(total(&state, Stage::Delivered, "EUR"), dec("1200"));
    assert_eq!(total(&state, Stage::Committed, "EUR"), dec("1000"));
}

// ---------------------------------------------------------------------------------------------
// Valuation and condition

#[test]
fn an_in_kind_value_without_a_valuation_basis_is_accepted_and_flagged() {
    let mut ledger = given(&[]);
    let in_kind = committed("C1-a", "C1", "2024-03-01", "1000").category(Category::InKindDonation);
    let state = then_state(&mut ledger, &in_kind);
    assert!(
        anomaly_kinds(&state).contains(&AnomalyKind::MissingValuationBasis),
        "{:?}",
        state.anomalies()
    );
    // With a basis, or counted without an amount, or a purchase: nothing to flag.
    for (id, cmd) in [
        ("C2", in_kind.clone().basis(ValuationBasis::Declared)),
        ("C3", in_kind.clone().basis(ValuationBasis::ReplacementCost)),
        ("C4", in_kind.clone().no_money().quantity("6", "aircraft")),
        ("C5", committed("C5-a", "C5", "2024-03-01", "1000")),
    ] {
        let cmd = cmd.with(|c| {
            c.contribution = ContributionId::parse(id).expect("id");
            c.event = eid(&format!("{id}-a"));
        });
        let state = then_state(&mut ledger, &cmd);
        assert!(
            !anomaly_kinds(&state).contains(&AnomalyKind::MissingValuationBasis),
            "{id}: {:?}",
            state.anomalies()
        );
    }
}

#[test]
fn a_confirmed_receipt_without_its_condition_is_flagged_and_only_a_receipt_has_one() {
    let ledger = given(&[delivered("C1-a", "C1", "2024-03-01", "1000")]);
    let conf = confirmed("C1-b", "C1", "2024-03-02", "1000");
    let mut flagged = ledger.clone();
    let state = then_state(&mut flagged, &conf.clone().with(|c| c.condition = None));
    assert!(
        anomaly_kinds(&state).contains(&AnomalyKind::MissingCondition),
        "{:?}",
        state.anomalies()
    );
    for condition in Condition::ALL {
        then_recorded(when(&ledger, &conf.clone().condition(*condition)));
    }
    then_rejected_only(
        when(
            &ledger,
            &delivered("C1-b", "C1", "2024-03-02", "10").condition(Condition::NeedsRepair),
        ),
        Field::Reason,
    );
}

// ---------------------------------------------------------------------------------------------
// Anomalies: accepted and flagged

#[test]
fn a_complete_flow_has_no_anomalies() {
    let ledger = given(&[
        announced("C1-a", "C1", "2024-03-01", "1000"),
        committed("C1-b", "C1", "2024-03-02", "1000"),
        allocated("C1-c", "C1", "2024-03-03", "1000"),
        delivered("C1-d", "C1", "2024-03-04", "1000"),
        confirmed("C1-e", "C1", "2024-03-05", "1000"),
    ]);
    assert_eq!(contribution(&ledger, "C1").anomalies(), vec![]);
}

#[test]
fn a_skipped_stage_is_flagged() {
    let mut ledger = given(&[announced("C1-a", "C1", "2024-03-01", "1000")]);
    let state = then_state(&mut ledger, &delivered("C1-b", "C1", "2024-03-02", "1000"));
    assert_eq!(anomaly_kinds(&state), vec![AnomalyKind::SkippedStage]);
    let a = &state.anomalies()[0];
    assert!(a.message.contains("committed"), "{}", a.message);
    assert!(a.message.contains("allocated"), "{}", a.message);
    assert_eq!(state.status(), Some(Stage::Delivered));
}

#[test]
fn out_of_order_dates_are_flagged() {
    let mut ledger = given(&[committed("C1-a", "C1", "2024-03-01", "1000")]);
    let state = then_state(&mut ledger, &announced("C1-b", "C1", "2024-04-01", "1000"));
    assert_eq!(anomaly_kinds(&state), vec![AnomalyKind::OutOfOrderDates]);
}

#[test]
fn a_delivery_above_the_commitment_is_flagged() {
    let mut ledger = given(&[
        announced("C1-a", "C1", "2024-03-01", "100"),
        committed("C1-b", "C1", "2024-03-02", "100"),
        allocated("C1-c", "C1", "2024-03-03", "100"),
    ]);
    let state = then_state(&mut ledger, &delivered("C1-d", "C1", "2024-03-04", "150"));
    assert_eq!(
        anomaly_kinds(&state),
        vec![AnomalyKind::DeliveredAboveCommitted]
    );
    // Exactly the commitment is not an anomaly.
    let ok = given(&[
        announced("C2-a", "C2", "2024-03-01", "100"),
        committed("C2-b", "C2", "2024-03-02", "100"),
        allocated("C2-c", "C2", "2024-03-03", "100"),
        delivered("C2-d", "C2", "2024-03-04", "100"),
    ]);
    assert_eq!(anomaly_kinds(contribution(&ok, "C2")), vec![]);
}

#[test]
fn a_delivered_quantity_above_the_committed_one_is_flagged() {
    let mut ledger = given(&[
        stage("C1-a", "C1", Stage::Announced, "2024-03-01").quantity("10", "rounds"),
        stage("C1-b", "C1", Stage::Committed, "2024-03-02").quantity("10", "rounds"),
        stage("C1-c", "C1", Stage::Allocated, "2024-03-03").quantity("10", "rounds"),
    ]);
    let state = then_state(
        &mut ledger,
        &stage("C1-d", "C1", Stage::Delivered, "2024-03-04").quantity("12", "rounds"),
    );
    assert_eq!(
        anomaly_kinds(&state),
        vec![AnomalyKind::DeliveredAboveCommitted]
    );
}

#[test]
fn a_confirmation_different_from_the_delivery_is_flagged() {
    let mut ledger = given(&[
        announced("C1-a", "C1", "2024-03-01", "100"),
        committed("C1-b", "C1", "2024-03-02", "100"),
        allocated("C1-c", "C1", "2024-03-03", "100"),
        delivered("C1-d", "C1", "2024-03-04", "100"),
    ]);
    let state = then_state(&mut ledger, &confirmed("C1-e", "C1", "2024-03-05", "90"));
    assert_eq!(
        anomaly_kinds(&state),
        vec![AnomalyKind::ConfirmedDiffersFromDelivered]
    );
    // An amendment bringing the confirmation in line clears it.
    let state = then_state(
        &mut ledger,
        &amended("C1-f", "C1", "2024-03-06", "C1-e", "10"),
    );
    assert_eq!(anomaly_kinds(&state), vec![]);
}

#[test]
fn anomalies_can_combine() {
    // Delivered first (skipping announced/committed/allocated), dated before a later commitment,
    // and above it; then confirmed with less.
    let ledger = given(&[
        delivered("C1-a", "C1", "2024-03-01", "500"),
        committed("C1-b", "C1", "2024-03-10", "100"),
        confirmed("C1-c", "C1", "2024-03-11", "400"),
    ]);
    assert_eq!(
        anomaly_kinds(contribution(&ledger, "C1")),
        vec![
            AnomalyKind::SkippedStage,
            AnomalyKind::OutOfOrderDates,
            AnomalyKind::DeliveredAboveCommitted,
            AnomalyKind::ConfirmedDiffersFromDelivered,
        ]
    );
}

// ---------------------------------------------------------------------------------------------
// Parties and contribution attributes

#[test]
fn an_unregistered_organisation_is_refused_as_donor_or_recipient() {
    let ledger = given(&[]);
    then_rejected_only(
        when(
            &ledger,
            &committed("C1-a", "C1", "2024-03-01", "10").donor("ACME"),
        ),
        Field::Donor,
    );
    then_rejected_only(
        when(
            &ledger,
            &committed("C1-a", "C1", "2024-03-01", "10").recipient("NSATU"),
        ),
        Field::Recipient,
    );
    // Both at once: both are reported.
    let v = then_rejected(
        when(
            &ledger,
            &committed("C1-a", "C1", "2024-03-01", "10")
                .donor("ACME")
                .recipient("NATO"),
        ),
        Field::Donor,
    );
    assert!(v.iter().any(|v| v.field == Some(Field::Recipient)), "{v:?}");
}

#[test]
fn a_registered_organisation_is_accepted_in_the_same_batch_and_after() {
    let mut ledger = given(&[]);
    let via_nato = committed("C1-a", "C1", "2024-03-01", "10").recipient("NATO");
    let mut draft = Draft::new(&ledger);
    assert_eq!(
        draft.register_party(PartyRegistered {
            party: party("NATO"),
            name: "North Atlantic Treaty Organization".to_owned(),
            kind: PartyKind::Organisation,
            registered_on: date("2024-01-01"),
        }),
        Ok(true)
    );
    then_recorded(draft.record_stage(&via_nato));
    let events = draft.into_events();
    assert_eq!(events.len(), 3);
    for e in &events {
        ledger.apply(EventMeta::PENDING, e);
    }
    assert!(ledger.knows_party(&party("NATO")));
    then_recorded(when(
        &ledger,
        &committed("C2-a", "C2", "2024-03-01", "10").donor("NATO"),
    ));
}

#[test]
fn states_need_no_registration_but_cannot_give_to_themselves() {
    let ledger = given(&[]);
    then_recorded(when(
        &ledger,
        &committed("C1-a", "C1", "2024-03-01", "10").donor("ISL"),
    ));
    then_rejected_only(
        when(
            &ledger,
            &committed("C1-a", "C1", "2024-03-01", "10").donor("UKR"),
        ),
        Field::Recipient,
    );
}

#[test]
fn a_stage_event_must_match_its_contributions_recorded_attributes() {
    let ledger = given(&[committed("C1-a", "C1", "2024-03-01", "1000")]);
    let next = delivered("C1-b", "C1", "2024-03-02", "10");
    then_rejected_only(when(&ledger, &next.clone().donor("FRA")), Field::Donor);
    then_rejected_only(
        when(&ledger, &next.clone().category(Category::Training)),
        Field::Category,
    );
    then_rejected_only(
        when(&ledger, &next.clone().recipient("POL")),
        Field::Recipient,
    );
    then_rejected_only(
        when(
            &ledger,
            &next.clone().with(|c| c.channel = Channel::EuInstrument),
        ),
        Field::Channel,
    );
    then_rejected_only(
        when(
            &ledger,
            &next.clone().with(|c| c.visibility = Visibility::Restricted),
        ),
        Field::Visibility,
    );
    // The mismatch is caught against an earlier row of the same batch too.
    let fresh = given(&[]);
    let mut draft = Draft::new(&fresh);
    then_recorded(draft.record_stage(&committed("C1-a", "C1", "2024-03-01", "1000")));
    then_rejected_only(draft.record_stage(&next.clone().donor("FRA")), Field::Donor);
    then_recorded(draft.record_stage(&next));
}

#[test]
fn violations_are_reported_all_at_once_sorted_by_field() {
    let ledger = given(&[]);
    let cmd = stage("C1-a", "C1", Stage::Confirmed, "2024-03-01")
        .donor("ACME")
        .category(Category::InKindDonation)
        .eur("-5");
    let v = then_rejected(when(&ledger, &cmd), Field::Donor);
    let fields: Vec<Field> = v.iter().filter_map(|v| v.field).collect();
    for f in [Field::Donor, Field::Amount] {
        assert!(fields.contains(&f), "{f:?} missing from {fields:?}");
    }
    let mut sorted = fields.clone();
    sorted.sort();
    assert_eq!(fields, sorted);
}

// ---------------------------------------------------------------------------------------------
// Currencies

#[test]
fn jpy_and_isk_have_no_minor_units() {
    for code in ["JPY", "ISK"] {
        let c = cur(code);
        assert_eq!(c.minor_units(), 0);
        assert!(matches!(
            Money::parse("1000.5", c),
            Err(MoneyError::TooManyDecimals {
                minor_units: 0,
                decimals: 1,
                ..
            })
        ));
        assert!(matches!(
            Money::new(dec("0.1"), c),
            Err(MoneyError::TooManyDecimals { .. })
        ));
        // Trailing zeros are no decimals at all.
        assert_eq!(
            Money::new(dec("1000.000"), c).expect("whole").amount(),
            dec("1000")
        );
        assert_eq!(money("1000", code).amount().scale(), 0);
    }
    assert_eq!(money("1000", "EUR").amount().scale(), 2);
}

#[test]
fn a_yen_contribution_totals_in_whole_yen() {
    let mut ledger = given(&[committed("C1-a", "C1", "2024-03-01", "1").money("150000000", "JPY")]);
    let state = then_state(
        &mut ledger,
        &amended("C1-b", "C1", "2024-03-02", "C1-a", "1").money("-1", "JPY"),
    );
    assert_eq!(total(&state, Stage::Committed, "JPY"), dec("149999999"));
    assert_eq!(total(&state, Stage::Committed, "EUR"), Decimal::ZERO);
    then_rejected_only(
        when(&ledger, &amended("C1-c", "C1", "2024-03-02", "C1-a", "-1")),
        Field::Currency,
    );
}

// ---------------------------------------------------------------------------------------------
// Large amounts

/// An increment is below 10^15, but amendments can raise an event's net above it. The rules must
/// keep counting that net correctly: after 600e12 + 600e12, the event stands at 1.2e15, so a
/// reduction of 900e12 leaves 300e12 and must be accepted (or the raise refused).
#[test]
fn amendments_past_the_increment_limit_keep_the_net_consistent() {
    let mut ledger = given(&[committed("C1-a", "C1", "2024-03-01", "600000000000000")]);
    let raise = amended("C1-b", "C1", "2024-03-02", "C1-a", "600000000000000");
    match when(&ledger, &raise) {
        Err(violations) => {
            // Refusing the raise is a correct answer.
            assert!(
                violations.iter().any(|v| v.field == Some(Field::Amount)),
                "{violations:?}"
            );
        }
        Ok(_) => {
            let state = then_state(&mut ledger, &raise);
            assert_eq!(
                total(&state, Stage::Committed, "EUR"),
                dec("1200000000000000")
            );
            let lower = amended("C1-c", "C1", "2024-03-03", "C1-a", "-900000000000000");
            let state = then_state(&mut ledger, &lower);
            assert_eq!(
                total(&state, Stage::Committed, "EUR"),
                dec("300000000000000")
            );
        }
    }
}

/// "An amendment's delta cannot be zero" holds for amounts; a quantity-only amendment of zero is
/// the same no-op correction and must be refused too (on the quantity, or the amount).
#[test]
fn a_quantity_only_amendment_carries_a_nonzero_delta() {
    let ledger =
        given(&[stage("C1-q", "C1", Stage::Delivered, "2024-03-02").quantity("10", "rounds")]);
    let zero = amended("C1-x", "C1", "2024-03-03", "C1-q", "1")
        .no_money()
        .quantity("0", "rounds");
    let violations = match when(&ledger, &zero) {
        Err(v) => v,
        Ok(decision) => panic!("a zero quantity delta was accepted: {decision:?}"),
    };
    assert!(
        violations
            .iter()
            .any(|v| matches!(v.field, Some(Field::Quantity | Field::Amount))),
        "{violations:?}"
    );
}

/// Quantities are bounded like amounts (the CSV reader already refuses 10^15 and more). The
/// domain must refuse an out-of-range quantity with a violation, not panic: today summing two
/// huge quantities overflows `Decimal` inside `Draft::record_stage`.
#[test]
fn a_quantity_beyond_the_increment_limit_is_refused_not_a_panic() {
    let huge = Decimal::MAX.to_string();
    let outcome = std::panic::catch_unwind(|| {
        let ledger = Ledger::new();
        let mut draft = Draft::new(&ledger);
        let first = stage("C1-a", "C1", Stage::Committed, "2024-03-01").quantity(&huge, "rounds");
        let second = stage("C1-b", "C1", Stage::Committed, "2024-03-02").quantity(&huge, "rounds");
        (draft.record_stage(&first), draft.record_stage(&second))
    });
    let (first, second) = outcome.expect("deciding a huge quantity panicked");
    then_rejected(first, Field::Quantity);
    then_rejected(second, Field::Quantity);
}

#[test]
fn a_recorded_membership_is_not_silently_changed() {
    let mut ledger = Ledger::new();
    let mut draft = Draft::new(&ledger);
    let org = |id: &str, name: &str| PartyRegistered {
        party: party(id),
        name: name.to_owned(),
        kind: PartyKind::Organisation,
        registered_on: date("2024-01-01"),
    };
    draft.register_party(org("NATO", "NATO")).expect("nato");
    draft
        .register_party(PartyRegistered {
            party: party("HUN"),
            name: "Hungary".to_owned(),
            kind: PartyKind::State,
            registered_on: date("2024-01-01"),
        })
        .expect("hun");
    let joined = steadfast_domain::MembershipRecorded {
        party: party("HUN"),
        organisation: party("NATO"),
        joined: date("1999-03-12"),
        left: None,
    };
    draft.record_membership(joined.clone()).expect("membership");
    for e in draft.into_events() {
        ledger.apply(EventMeta::PENDING, &e);
    }
    let mut draft = Draft::new(&ledger);
    assert_eq!(
        draft.record_membership(joined.clone()),
        Ok(false),
        "the same: a no-op"
    );
    let ended = steadfast_domain::MembershipRecorded {
        left: Some(date("2030-01-01")),
        ..joined
    };
    let refused = draft
        .record_membership(ended)
        .expect_err("not silently changed");
    assert!(
        refused.to_string().contains("already recorded"),
        "{refused}"
    );
    assert!(draft.into_events().is_empty());
}
