//! Counting by stage reached (`steadfast_domain::counting`): given a contribution's history,
//! when its value reached at a stage is computed, then each change is a dated step — checked
//! case by case and, for random histories, against the definition computed here independently.

mod common;

use common::{date, dec, money, party};

use jiff::civil::Date;
use proptest::prelude::*;
use rust_decimal::Decimal;
use steadfast_domain::counting::{Reached, reached};
use steadfast_domain::{
    Category, Channel, ContributionId, ContributionRegistered, ContributionState, EventId,
    EventMeta, Money, Stage, StageRecorded, Visibility,
};

fn contribution() -> ContributionState {
    ContributionState::new(
        ContributionRegistered {
            contribution: ContributionId::parse("c").expect("id"),
            donor: party("DEU"),
            recipient: party("UKR"),
            category: Category::InKindDonation,
            channel: Channel::Bilateral,
            visibility: Visibility::Public,
            description: String::new(),
            opened_on: date("2024-01-01"),
            dataset: Default::default(),
        },
        EventMeta::PENDING,
    )
}

fn event(
    id: &str,
    stage: Stage,
    on: Date,
    money: Option<Money>,
    amends: Option<&str>,
) -> StageRecorded {
    StageRecorded {
        event: EventId::parse(id).expect("id"),
        contribution: ContributionId::parse("c").expect("id"),
        stage,
        effective_date: on,
        money,
        quantity: None,
        valuation_basis: None,
        amends: amends.map(|a| EventId::parse(a).expect("id")),
        reason: amends.map(|_| "corrected".to_owned()),
        condition: None,
        source_url: None,
        description: None,
        source_kind: None,
        citation: None,
    }
}

/// A history built event by event, in log order.
struct History(ContributionState, u64);

impl History {
    fn new() -> Self {
        History(contribution(), 0)
    }
    fn at(mut self, id: &str, stage: Stage, on: &str, eur: &str) -> Self {
        self.push(event(id, stage, date(on), Some(money(eur, "EUR")), None));
        self
    }
    fn amend(mut self, id: &str, target: &str, on: &str, eur: &str) -> Self {
        self.push(event(
            id,
            Stage::Amended,
            date(on),
            Some(money(eur, "EUR")),
            Some(target),
        ));
        self
    }
    fn withdraw(mut self, id: &str, on: &str) -> Self {
        self.push(event(id, Stage::Withdrawn, date(on), None, None));
        self
    }
    fn push(&mut self, e: StageRecorded) {
        self.1 += 1;
        let meta = EventMeta {
            position: self.1,
            recorded_at: jiff::Timestamp::UNIX_EPOCH,
        };
        self.0.apply(meta, &e);
    }
}

/// The steps as (date, amount) pairs.
#[track_caller]
fn steps(h: &History, stage: Stage) -> Vec<(String, Decimal)> {
    match reached(&h.0, stage, &|_| true) {
        Reached::Steps(s) => s
            .into_iter()
            .map(|s| (s.date.to_string(), s.amount.normalize()))
            .collect(),
        Reached::MixedCurrencies(c) => panic!("mixed currencies {c:?}"),
    }
}

fn step(on: &str, eur: &str) -> (String, Decimal) {
    (on.to_owned(), dec(eur).normalize())
}

#[test]
fn a_delivery_without_a_commitment_counts_as_committed_from_its_date() {
    let h = History::new().at("d", Stage::Delivered, "2024-05-10", "100");
    assert_eq!(steps(&h, Stage::Committed), vec![step("2024-05-10", "100")]);
    assert_eq!(steps(&h, Stage::Announced), vec![step("2024-05-10", "100")]);
    assert_eq!(steps(&h, Stage::Confirmed), vec![]);
}

#[test]
fn a_commitment_then_its_delivery_counts_once_at_the_commitment() {
    let h = History::new()
        .at("c", Stage::Committed, "2024-02-01", "100")
        .at("d", Stage::Delivered, "2024-06-01", "100");
    assert_eq!(steps(&h, Stage::Committed), vec![step("2024-02-01", "100")]);
    assert_eq!(steps(&h, Stage::Delivered), vec![step("2024-06-01", "100")]);
}

#[test]
fn a_delivery_above_the_commitment_adds_the_excess_when_delivered() {
    let h = History::new()
        .at("c", Stage::Committed, "2024-02-01", "100")
        .at("d", Stage::Delivered, "2024-06-01", "150");
    assert_eq!(
        steps(&h, Stage::Committed),
        vec![step("2024-02-01", "100"), step("2024-06-01", "50")]
    );
}

#[test]
fn an_announcement_alone_has_not_reached_commitment() {
    let h = History::new().at("a", Stage::Announced, "2024-02-01", "300");
    assert_eq!(steps(&h, Stage::Committed), vec![]);
    assert_eq!(steps(&h, Stage::Announced), vec![step("2024-02-01", "300")]);
}

#[test]
fn a_confirmation_without_a_delivery_counts_as_delivered() {
    let h = History::new()
        .at("c", Stage::Committed, "2024-02-01", "100")
        .at("r", Stage::Confirmed, "2024-09-01", "80");
    assert_eq!(steps(&h, Stage::Delivered), vec![step("2024-09-01", "80")]);
    assert_eq!(steps(&h, Stage::Committed), vec![step("2024-02-01", "100")]);
}

#[test]
fn an_amendment_applies_at_the_date_of_the_event_it_corrects() {
    let h = History::new()
        .at("c", Stage::Committed, "2024-02-01", "100")
        .amend("c-fix", "c", "2024-11-01", "-40");
    assert_eq!(steps(&h, Stage::Committed), vec![step("2024-02-01", "60")]);
}

#[test]
fn a_withdrawal_caps_the_stages_before_delivery_from_its_own_date() {
    let h = History::new()
        .at("c", Stage::Committed, "2024-02-01", "100")
        .at("d", Stage::Delivered, "2024-03-01", "30")
        .withdraw("w", "2024-08-01");
    assert_eq!(
        steps(&h, Stage::Committed),
        vec![step("2024-02-01", "100"), step("2024-08-01", "-70")]
    );
    // What was delivered stands.
    assert_eq!(steps(&h, Stage::Delivered), vec![step("2024-03-01", "30")]);
}

#[test]
fn stages_in_two_currencies_have_no_running_value() {
    let mut h = History::new().at("c", Stage::Committed, "2024-02-01", "100");
    h.push(event(
        "d",
        Stage::Delivered,
        date("2024-03-01"),
        Some(money("120", "USD")),
        None,
    ));
    assert!(matches!(
        reached(&h.0, Stage::Committed, &|_| true),
        Reached::MixedCurrencies(_)
    ));
    // Below the stage, other currencies do not matter.
    let mut h = History::new().at("d", Stage::Delivered, "2024-03-01", "100");
    h.push(event(
        "a",
        Stage::Announced,
        date("2024-01-01"),
        Some(money("120", "USD")),
        None,
    ));
    assert_eq!(steps(&h, Stage::Committed), vec![step("2024-03-01", "100")]);
}

// ---------------------------------------------------------------------------------------------
// Properties, against the definition computed here independently.

/// One generated event: stage (0-4 flow, 5 amendment of an earlier flow event, 6 withdrawal),
/// day of 2024, amount in whole euros (an amendment's may be negative).
#[derive(Debug, Clone)]
struct Op {
    stage: u8,
    day: u16,
    amount: i64,
    target: usize,
}

fn op() -> impl Strategy<Value = Op> {
    (0u8..7, 0u16..360, -500i64..1000, any::<usize>()).prop_map(|(stage, day, amount, target)| Op {
        stage,
        day,
        amount,
        target,
    })
}

fn day(n: u16) -> Date {
    date("2024-01-01")
        .checked_add(jiff::Span::new().days(i64::from(n)))
        .expect("in range")
}

/// Builds a history from ops: flow increments are positive, amendments target an earlier flow
/// event; returns it with the (stage, date, net amount) of each root flow event.
fn build(ops: &[Op], allow_negative: bool, allow_withdrawal: bool) -> History {
    let mut h = History::new();
    let mut flows: Vec<String> = Vec::new();
    for (i, o) in ops.iter().enumerate() {
        let id = format!("e{i}");
        match o.stage {
            s @ 0..=4 => {
                let eur = o.amount.unsigned_abs().max(1).to_string();
                h = h.at(
                    &id,
                    Stage::FLOW[usize::from(s)],
                    &day(o.day).to_string(),
                    &eur,
                );
                flows.push(id);
            }
            5 if !flows.is_empty() => {
                let amount = if allow_negative {
                    o.amount
                } else {
                    o.amount.abs()
                };
                let target = flows[o.target % flows.len()].clone();
                h = h.amend(&id, &target, &day(o.day).to_string(), &amount.to_string());
            }
            6 if allow_withdrawal => {
                h = h.withdraw(&id, &day(o.day).to_string());
            }
            _ => {}
        }
    }
    h
}

/// N_s(t) by the definition: the net of each root event at `s` effective by `t` (never below
/// zero after its amendments), capped by delivered from a withdrawal's date for the stages
/// before delivery.
fn n(h: &History, s: Stage, t: Date) -> Decimal {
    n_with(h, s, t, true)
}

/// [`n`], with or without the withdrawal's cap (the stage's own total).
fn n_with(h: &History, s: Stage, t: Date, capped: bool) -> Decimal {
    let state = &h.0;
    let net_at = |stage: Stage| -> Decimal {
        state
            .history
            .iter()
            .filter(|e| e.event.stage == stage && e.event.effective_date <= t)
            .map(|root| {
                let mut v = root.event.money.map(|m| m.amount()).unwrap_or_default();
                for a in &state.history {
                    if a.event.stage == Stage::Amended
                        && state.root_entry(a).event.event == root.event.event
                    {
                        v += a.event.money.map(|m| m.amount()).unwrap_or_default();
                    }
                }
                v.max(Decimal::ZERO)
            })
            .sum()
    };
    let value = net_at(s);
    let withdrawn = state
        .history
        .iter()
        .any(|e| e.event.stage == Stage::Withdrawn && e.event.effective_date <= t);
    if capped && withdrawn && s < Stage::Delivered {
        value.min(net_at(Stage::Delivered))
    } else {
        value
    }
}

fn reached_by(h: &History, s: Stage, t: Date) -> Decimal {
    match reached(&h.0, s, &|_| true) {
        Reached::Steps(steps) => steps.iter().filter(|x| x.date <= t).map(|x| x.amount).sum(),
        Reached::MixedCurrencies(_) => unreachable!("one currency"),
    }
}

proptest! {
    #[test]
    fn reached_is_the_running_maximum_of_the_later_stages(
        ops in prop::collection::vec(op(), 0..24),
        s in 0usize..5,
        t in 0u16..366,
    ) {
        let h = build(&ops, true, true);
        let stage = Stage::FLOW[s];
        let t = day(t.min(365));
        let expected = Stage::FLOW
            .iter()
            .filter(|x| **x >= stage)
            .map(|x| n(&h, *x, t))
            .max()
            .unwrap_or_default();
        let got = reached_by(&h, stage, t);
        prop_assert_eq!(got, expected);
        // Never below the stage's own net, never above the largest stage total.
        prop_assert!(got >= n(&h, stage, t));
        let largest = Stage::FLOW
            .iter()
            .map(|x| n_with(&h, *x, t, false))
            .max()
            .unwrap_or_default();
        prop_assert!(got <= largest);
    }

    #[test]
    fn reached_never_goes_down_without_negative_amendments_or_withdrawals(
        ops in prop::collection::vec(op(), 0..24),
        s in 0usize..5,
    ) {
        let h = build(&ops, false, false);
        match reached(&h.0, Stage::FLOW[s], &|_| true) {
            Reached::Steps(steps) => {
                for x in steps {
                    prop_assert!(x.amount > Decimal::ZERO, "{:?}", x);
                }
            }
            Reached::MixedCurrencies(_) => prop_assert!(false),
        }
    }

    #[test]
    fn reached_equals_literal_when_every_stage_is_recorded_in_order(
        commitments in prop::collection::vec((0u16..300, 1i64..1000), 1..6),
        delivered_share in prop::collection::vec(0u8..=100, 1..6),
    ) {
        // Each commitment is delivered later in part: deliveries never run ahead of what was
        // committed, so the value reached at committed is simply what was committed.
        let mut h = History::new();
        for (i, (d, eur)) in commitments.iter().enumerate() {
            h = h.at(&format!("c{i}"), Stage::Committed, &day(*d).to_string(), &eur.to_string());
        }
        for (i, ((d, eur), share)) in commitments.iter().zip(&delivered_share).enumerate() {
            let part = eur * i64::from(*share) / 100;
            if part > 0 {
                h = h.at(&format!("d{i}"), Stage::Delivered, &day(*d + 30).to_string(), &part.to_string());
            }
        }
        for t in [0u16, 60, 120, 200, 300, 365] {
            let t = day(t);
            prop_assert_eq!(reached_by(&h, Stage::Committed, t), n(&h, Stage::Committed, t));
        }
    }
}
