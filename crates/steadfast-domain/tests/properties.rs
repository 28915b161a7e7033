//! Properties of the rules over random command sequences, valid and invalid mixed.
//!
//! Commands are decided in batches (one `Draft` per batch, as an import does); only accepted
//! ones produce events, which are folded into the ledger at the end of each batch. After every
//! step, no stage total and no event's net (after its amendments) is ever negative, and the
//! draft's view of a contribution is what its events fold into; replaying every accepted event
//! into a fresh ledger gives an equal ledger.

use std::collections::{BTreeMap, HashMap};

use jiff::ToSpan;
use jiff::civil::Date;
use proptest::prelude::*;
use rust_decimal::Decimal;
use steadfast_domain::{
    Category, Channel, Condition, ContributionId, ContributionState, Currency, Decision,
    DomainEvent, Draft, EventId, EventMeta, Field, Ledger, Money, PartyId, Quantity, RecordStage,
    Stage, ValuationBasis, Visibility,
};

const CONTRIBUTIONS: usize = 3;

/// Each contribution's usual attributes: donor, category, currency and unit. Ops deviate from
/// them now and then, which the rules must refuse (or flag).
const DONORS: [&str; CONTRIBUTIONS] = ["DEU", "NLD", "DEU"];
const CATEGORIES: [Category; CONTRIBUTIONS] = [
    Category::EquipmentPurchase,
    Category::EquipmentPurchase,
    Category::InKindDonation,
];
const CURRENCIES: [&str; CONTRIBUTIONS] = ["EUR", "JPY", "USD"];
const UNITS: [&str; CONTRIBUTIONS] = ["rounds", "vehicles", "rounds"];

/// One random command, as numbers and choices resolved against the history so far.
#[derive(Debug, Clone)]
struct Op {
    contribution: usize,
    stage: Stage,
    /// Days after the step's base date (which advances by a day every other step).
    day_offset: i64,
    /// Magnitude in minor units (cents, or whole yen).
    amount: Option<i64>,
    quantity: Option<i64>,
    /// The delta of an amendment is negative.
    negative: bool,
    /// A flow event with a negative increment (which must be refused).
    sign_error: bool,
    other_currency: bool,
    other_unit: bool,
    /// Which event of the contribution an amendment names.
    target: prop::sample::Index,
    /// Name another contribution's event, or an unknown one, instead.
    foreign_target: bool,
    unknown_target: bool,
    /// Reuse an earlier event id instead of a fresh one.
    reuse_id: Option<prop::sample::Index>,
    reason: bool,
    condition: bool,
    basis: bool,
    other_category: bool,
    other_donor: bool,
}

fn stage() -> impl Strategy<Value = Stage> {
    prop_oneof![
        5 => Just(Stage::Announced),
        5 => Just(Stage::Committed),
        3 => Just(Stage::Allocated),
        5 => Just(Stage::Delivered),
        3 => Just(Stage::Confirmed),
        8 => Just(Stage::Amended),
        1 => Just(Stage::Withdrawn),
    ]
}

fn magnitude() -> impl Strategy<Value = i64> {
    prop_oneof![
        1 => Just(0i64),
        2 => 1i64..100,
        6 => 1i64..250_000,
    ]
}

fn op() -> impl Strategy<Value = Op> {
    (
        (
            0..CONTRIBUTIONS,
            stage(),
            -5i64..10,
            proptest::option::weighted(0.85, magnitude()),
            proptest::option::weighted(0.3, 0i64..40),
            prop::bool::weighted(0.5),
            prop::bool::weighted(0.05),
            prop::bool::weighted(0.04),
            prop::bool::weighted(0.04),
        ),
        (
            any::<prop::sample::Index>(),
            prop::bool::weighted(0.05),
            prop::bool::weighted(0.03),
            proptest::option::weighted(0.05, any::<prop::sample::Index>()),
            prop::bool::weighted(0.95),
            prop::bool::weighted(0.95),
            prop::bool::weighted(0.9),
            prop::bool::weighted(0.03),
            prop::bool::weighted(0.03),
        ),
    )
        .prop_map(
            |(
                (
                    contribution,
                    stage,
                    day_offset,
                    amount,
                    quantity,
                    negative,
                    sign_error,
                    other_currency,
                    other_unit,
                ),
                (
                    target,
                    foreign_target,
                    unknown_target,
                    reuse_id,
                    reason,
                    condition,
                    basis,
                    other_category,
                    other_donor,
                ),
            )| Op {
                contribution,
                stage,
                day_offset,
                amount,
                quantity,
                negative,
                sign_error,
                other_currency,
                other_unit,
                target,
                foreign_target,
                unknown_target,
                reuse_id,
                reason,
                condition,
                basis,
                other_category,
                other_donor,
            },
        )
}

fn contribution_id(i: usize) -> ContributionId {
    ContributionId::parse(&format!("C{i}")).expect("id")
}

/// Builds the command an op describes at step `n`; `ids` are every event id used so far.
fn command(op: &Op, n: usize, ids: &[EventId], draft: &Draft<'_>) -> RecordStage {
    let c = op.contribution;
    let stage = op.stage;
    let negative = if stage == Stage::Amended {
        op.negative
    } else {
        op.sign_error
    };
    let sign = if negative { -1 } else { 1 };
    let code = if op.other_currency {
        CURRENCIES[(c + 1) % CONTRIBUTIONS]
    } else {
        CURRENCIES[c]
    };
    let cur = Currency::parse(code).expect("currency");
    let money = op.amount.map(|units| {
        let scale = u32::from(cur.minor_units());
        Money::new(Decimal::new(sign * units, scale), cur).expect("small amount")
    });
    let unit = if op.other_unit {
        UNITS[(c + 1) % CONTRIBUTIONS]
    } else {
        UNITS[c]
    };
    let quantity = op.quantity.map(|value| Quantity {
        value: Decimal::from(sign * value),
        unit: unit.to_owned(),
    });
    let event = match &op.reuse_id {
        Some(i) if !ids.is_empty() => i.get(ids).clone(),
        _ => EventId::parse(&format!("E{n}")).expect("id"),
    };
    let own_events: Vec<EventId> = draft
        .contribution(&contribution_id(c))
        .map(|s| s.history.iter().map(|h| h.event.event.clone()).collect())
        .unwrap_or_default();
    let amends = if stage != Stage::Amended {
        None
    } else if op.unknown_target {
        Some(EventId::parse("unknown").expect("id"))
    } else if op.foreign_target || own_events.is_empty() {
        (!ids.is_empty()).then(|| op.target.get(ids).clone())
    } else {
        Some(op.target.get(&own_events).clone())
    };
    // Withdrawals carry nothing, except now and then (which must be refused).
    let (money, quantity) = if stage == Stage::Withdrawn && !op.sign_error {
        (None, None)
    } else {
        (money, quantity)
    };
    let base = Date::constant(2024, 1, 1)
        .checked_add((n as i64 / 2).days())
        .expect("date");
    let mut effective_date = base.checked_add(op.day_offset.days()).expect("date");
    // Amendments are mostly dated on or after their target.
    let target_date = amends.as_ref().and_then(|t| {
        draft
            .contribution(&contribution_id(c))
            .and_then(|s| s.entry(t))
            .map(|e| e.event.effective_date)
    });
    if let Some(d) = target_date.filter(|_| !op.sign_error) {
        effective_date = effective_date.max(d);
    }
    let donor = if op.other_donor { "FRA" } else { DONORS[c] };
    let category = if op.other_category {
        Category::Training
    } else {
        CATEGORIES[c]
    };
    RecordStage {
        event,
        contribution: contribution_id(c),
        donor: PartyId::parse(donor).expect("party"),
        recipient: PartyId::parse("UKR").expect("party"),
        category,
        channel: Channel::Bilateral,
        visibility: Visibility::Public,
        stage,
        effective_date,
        money,
        quantity,
        valuation_basis: op.basis.then_some(ValuationBasis::Declared),
        amends,
        reason: (stage == Stage::Amended && op.reason).then(|| "correction".to_owned()),
        condition: (stage == Stage::Confirmed && op.condition).then_some(Condition::AsDescribed),
        source_url: None,
        description: None,
        citation: None,
        dataset: Default::default(),
        source_kind: None,
    }
}

/// What an event stands at after its amendments: money per currency and quantity per unit.
#[derive(Debug, Default, Clone, PartialEq)]
struct Net {
    money: BTreeMap<Currency, Decimal>,
    quantity: BTreeMap<String, Decimal>,
}

/// The root (non-amendment) event an event adds to, following `amends` through the history.
fn root<'a>(state: &'a ContributionState, id: &'a EventId) -> Option<&'a EventId> {
    let mut id = id;
    for _ in 0..=state.history.len() {
        let entry = state.entry(id)?;
        match (entry.event.stage, &entry.event.amends) {
            (Stage::Amended, Some(target)) => id = target,
            _ => return Some(id),
        }
    }
    None
}

/// Each root event's net, computed from the history alone.
fn nets(state: &ContributionState) -> HashMap<EventId, (Stage, Net)> {
    let mut out: HashMap<EventId, (Stage, Net)> = HashMap::new();
    for h in &state.history {
        if h.event.stage == Stage::Withdrawn {
            continue;
        }
        let Some(root) = root(state, &h.event.event) else {
            continue;
        };
        let Some(root_stage) = state.entry(root).map(|e| e.event.stage) else {
            continue;
        };
        let (_, net) = out
            .entry(root.clone())
            .or_insert_with(|| (root_stage, Net::default()));
        if let Some(m) = h.event.money {
            *net.money.entry(m.currency()).or_default() += m.amount();
        }
        if let Some(q) = &h.event.quantity {
            *net.quantity.entry(q.unit.clone()).or_default() += q.value;
        }
    }
    out
}

/// The non-zero entries of a map, normalized, for comparing sums.
fn nonzero<'a, K: Clone + 'a>(
    m: impl IntoIterator<Item = (&'a K, &'a Decimal)>,
) -> Vec<(K, Decimal)> {
    m.into_iter()
        .filter(|(_, v)| !v.is_zero())
        .map(|(k, v)| (k.clone(), v.normalize()))
        .collect()
}

/// The invariants every contribution state must hold.
fn check_state(state: &ContributionState) -> Result<(), TestCaseError> {
    for (stage, totals) in &state.totals {
        prop_assert!(stage.is_flow(), "a total for {}", stage);
        for (cur, amount) in &totals.amounts {
            prop_assert!(
                *amount >= Decimal::ZERO,
                "{} {} total {} {}",
                state.info.contribution,
                stage,
                amount,
                cur
            );
        }
        for (unit, q) in &totals.quantities {
            prop_assert!(
                *q >= Decimal::ZERO,
                "{} {} quantity {} {}",
                state.info.contribution,
                stage,
                q,
                unit
            );
        }
    }
    let nets = nets(state);
    let mut by_stage: BTreeMap<Stage, Net> = BTreeMap::new();
    for (id, (stage, net)) in &nets {
        for (cur, a) in &net.money {
            prop_assert!(*a >= Decimal::ZERO, "event {} nets {} {}", id, a, cur);
        }
        for (unit, q) in &net.quantity {
            prop_assert!(*q >= Decimal::ZERO, "event {} nets {} {}", id, q, unit);
        }
        let sum = by_stage.entry(*stage).or_default();
        for (cur, a) in &net.money {
            *sum.money.entry(*cur).or_default() += *a;
        }
        for (unit, q) in &net.quantity {
            *sum.quantity.entry(unit.clone()).or_default() += *q;
        }
    }
    // The totals are exactly the sums of the events' nets, per stage.
    for stage in Stage::FLOW {
        let expected = by_stage.remove(&stage).unwrap_or_default();
        let totals = state.total(stage).cloned().unwrap_or_default();
        prop_assert_eq!(nonzero(&totals.amounts), nonzero(&expected.money));
        prop_assert_eq!(nonzero(&totals.quantities), nonzero(&expected.quantity));
    }
    for c in state.cancelled().values() {
        prop_assert!(*c >= Decimal::ZERO);
    }
    Ok(())
}

fn check_ledger(ledger: &Ledger) -> Result<(), TestCaseError> {
    for state in ledger.contributions() {
        check_state(state)?;
    }
    Ok(())
}

/// A rejection for taking an event below zero must agree with the event's net as the history
/// tells it.
fn check_below_zero_rejection(
    draft: &Draft<'_>,
    cmd: &RecordStage,
    violations: &[steadfast_domain::Reason],
) -> Result<(), TestCaseError> {
    let below_zero = violations
        .iter()
        .any(|v| v.message.contains("below zero") && v.field == Some(Field::Amount));
    if !below_zero {
        return Ok(());
    }
    let (Some(state), Some(target), Some(delta)) = (
        draft.contribution(&cmd.contribution),
        cmd.amends.as_ref(),
        cmd.money,
    ) else {
        return Err(TestCaseError::fail(format!(
            "below-zero rejection without a target: {violations:?}"
        )));
    };
    let root = root(state, target).expect("target in history").clone();
    let net = nets(state)
        .remove(&root)
        .map(|(_, n)| n)
        .unwrap_or_default();
    let stands = net
        .money
        .get(&delta.currency())
        .copied()
        .unwrap_or_default();
    prop_assert!(
        stands + delta.amount() < Decimal::ZERO,
        "{} refused as below zero but {} stands at {} and the delta is {}",
        cmd.event,
        root,
        stands,
        delta
    );
    Ok(())
}

fn batches() -> impl Strategy<Value = Vec<Vec<Op>>> {
    prop::collection::vec(prop::collection::vec(op(), 1..12), 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn totals_and_nets_never_go_negative_and_replay_equals_incremental(batches in batches()) {
        let mut ledger = Ledger::new();
        let mut accepted: Vec<DomainEvent> = Vec::new();
        let mut ids: Vec<EventId> = Vec::new();
        let mut n = 0usize;
        for batch in &batches {
            let mut draft = Draft::new(&ledger);
            for op in batch {
                n += 1;
                let cmd = command(op, n, &ids, &draft);
                if !ids.contains(&cmd.event) {
                    ids.push(cmd.event.clone());
                }
                let before = draft.events().len();
                match draft.record_stage(&cmd) {
                    Ok(Decision::Record(events)) => {
                        prop_assert!(!events.is_empty() && events.len() <= 2);
                        prop_assert_eq!(&draft.events()[before..], &events[..]);
                    }
                    Ok(Decision::AlreadyRecorded) => {
                        prop_assert_eq!(draft.events().len(), before);
                    }
                    Err(violations) => {
                        prop_assert!(!violations.is_empty());
                        prop_assert_eq!(draft.events().len(), before, "a refused command left events");
                        check_below_zero_rejection(&draft, &cmd, &violations)?;
                    }
                }
                if let Some(state) = draft.contribution(&cmd.contribution) {
                    check_state(state)?;
                }
            }
            let events = draft.into_events();
            // What the draft saw is what its events fold into.
            let mut next = ledger.clone();
            for e in &events {
                next.apply(EventMeta::PENDING, e);
            }
            let mut check = Draft::new(&next);
            for i in 0..CONTRIBUTIONS {
                let id = contribution_id(i);
                prop_assert_eq!(check.contribution(&id), next.contribution(&id));
            }
            // Re-deciding every accepted stage command of the batch now finds it recorded.
            for e in &events {
                if let DomainEvent::StageRecorded(s) = e {
                    let info = &next.contribution(&s.contribution).expect("state").info;
                    let cmd = RecordStage {
                        event: s.event.clone(),
                        contribution: s.contribution.clone(),
                        donor: info.donor.clone(),
                        recipient: info.recipient.clone(),
                        category: info.category,
                        channel: info.channel,
                        visibility: info.visibility,
                        stage: s.stage,
                        effective_date: s.effective_date,
                        money: s.money,
                        quantity: s.quantity.clone(),
                        valuation_basis: s.valuation_basis,
                        amends: s.amends.clone(),
                        reason: s.reason.clone(),
                        condition: s.condition,
                        source_url: s.source_url.clone(),
                        description: s.description.clone(),
                    citation: None, dataset: Default::default(), source_kind: None,};
                    prop_assert_eq!(check.record_stage(&cmd), Ok(Decision::AlreadyRecorded));
                }
            }
            prop_assert!(check.into_events().is_empty());
            ledger = next;
            accepted.extend(events);
            check_ledger(&ledger)?;
            prop_assert_eq!(ledger.events_applied(), accepted.len() as u64);
        }
        let mut replayed = Ledger::new();
        for e in &accepted {
            replayed.apply(EventMeta::PENDING, e);
        }
        prop_assert_eq!(&replayed, &ledger);
        // Registrations come once per contribution, before its stage events.
        let mut registered = std::collections::HashSet::new();
        for e in &accepted {
            match e {
                DomainEvent::ContributionRegistered(r) => {
                    prop_assert!(registered.insert(r.contribution.clone()));
                }
                DomainEvent::StageRecorded(s) => {
                    prop_assert!(registered.contains(&s.contribution));
                }
                _ => {}
            }
        }
    }
}
