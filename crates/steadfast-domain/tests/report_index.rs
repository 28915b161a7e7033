//! The fair-share scoreboard read from the report index equals the scoreboard computed by
//! walking every contribution (`scoreboard::reference`), for random logs and random views:
//! rates that arrive before, between and after the events they value, amendments (of
//! amendments), withdrawals, quantities, refused valuation bases, ineligible categories,
//! unconvertible currencies, sources cited many times, and the index revalued at random points
//! or not at all. A ledger rebuilt from its records equals it.

mod common;

use std::collections::BTreeMap;

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use proptest::prelude::*;
use rust_decimal::Decimal;
use steadfast_domain::scoreboard::reference::fair_share_report_scan;
use steadfast_domain::{
    Category, Channel, ContributionId, ContributionRegistered, ContributionState, DatasetId,
    DomainEvent, EventId, EventMeta, Exemption, FrameworkAdopted, FrameworkId, FxFixingsPublished,
    FxPolicy, HalfYear, Ledger, Money, Quantity, ReportQuery, ShareBasis, Stage, StageRecorded,
    ValuationBasis, Visibility, fair_share_report,
};

use common::{cur, date, dec, party};

const DONORS: [&str; 5] = ["DEU", "FRA", "POL", "NOR", "USA"];
const CURRENCIES: [&str; 5] = ["EUR", "USD", "GBP", "HRK", "PLN"];
const SOURCES: [&str; 5] = [
    "https://www.gov.example/a",
    "https://gov.example/b",
    "https://Gov.Example/c",
    "http://news.example/x?y",
    "https://other.example/",
];

fn framework() -> FrameworkAdopted {
    let participants = [("DEU", "5"), ("FRA", "3"), ("POL", "1"), ("NOR", "1")];
    FrameworkAdopted {
        framework: FrameworkId::parse("test-pledge").expect("id"),
        name: "Test pledge".to_owned(),
        adopted_on: date("2024-01-01"),
        target: Money::new(dec("1000000.00"), cur("EUR")).expect("target"),
        period_start: date("2024-01-01"),
        period_end: date("2024-12-31"),
        recipients: vec![party("UKR")],
        participants: participants.iter().map(|(p, _)| party(p)).collect(),
        exemptions: vec![Exemption {
            party: party("NOR"),
            in_denominator: true,
            reason: "test".to_owned(),
        }],
        eligible_categories: vec![Category::EquipmentPurchase, Category::Training],
        counting_stage: Stage::Committed,
        share_basis: ShareBasis {
            indicator: "gdp-current-usd".to_owned(),
            source: "test".to_owned(),
            dataset: "test".to_owned(),
            year: 2023,
            values: participants
                .iter()
                .map(|(p, v)| (party(p), dec(v)))
                .collect(),
        },
        valuation_preference: vec![ValuationBasis::ReplacementCost],
        reporting_periods: vec![
            HalfYear::parse("2024-H1").expect("h1"),
            HalfYear::parse("2024-H2").expect("h2"),
        ],
        counting: steadfast_domain::Counting::Literal,
    }
}

/// Day `n` counted from 2023-12-01 (to 2025-01-19 at most).
fn day(n: u16) -> Date {
    date("2023-12-01")
        .checked_add(i64::from(n).days())
        .expect("day")
}

#[derive(Debug, Clone)]
enum Op {
    /// A publication day of USD and GBP (rates in ten-thousandths).
    Fixing {
        day: u16,
        usd: u32,
        gbp: u32,
    },
    Contribution {
        donor: usize,
        recipient_ukr: bool,
        eligible: bool,
    },
    /// A stage event of the contribution `of` (modulo those registered so far).
    Stage {
        of: usize,
        stage: usize,
        day: u16,
        cents: i64,
        currency: usize,
        quantity_only: bool,
        basis: Option<bool>,
        source: Option<usize>,
    },
    /// An amendment of an earlier event of the contribution (modulo its events).
    Amend {
        of: usize,
        target: usize,
        day: u16,
        cents: i64,
    },
    Withdraw {
        of: usize,
        day: u16,
    },
    Revalue,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => (0u16..400, 10_000u32..12_000, 8_000u32..9_000)
            .prop_map(|(day, usd, gbp)| Op::Fixing { day, usd, gbp }),
        2 => (0usize..DONORS.len(), prop::bool::weighted(0.9), prop::bool::weighted(0.8))
            .prop_map(|(donor, recipient_ukr, eligible)| Op::Contribution { donor, recipient_ukr, eligible }),
        8 => (
            any::<usize>(),
            0usize..5,
            0u16..415,
            1i64..50_000_000,
            0usize..CURRENCIES.len(),
            prop::bool::weighted(0.05),
            prop::option::of(prop::bool::weighted(0.8)),
            prop::option::of(0usize..SOURCES.len()),
        )
            .prop_map(|(of, stage, day, cents, currency, quantity_only, basis, source)| Op::Stage {
                of, stage, day, cents, currency, quantity_only, basis, source,
            }),
        2 => (any::<usize>(), any::<usize>(), 0u16..415, -60_000_000i64..20_000_000)
            .prop_map(|(of, target, day, cents)| Op::Amend { of, target, day, cents }),
        1 => (any::<usize>(), 0u16..415).prop_map(|(of, day)| Op::Withdraw { of, day }),
        1 => Just(Op::Revalue),
    ]
}

/// A stage event with nothing but its ids, stage and date; the caller sets the rest.
fn stage_event(
    event: EventId,
    contribution: ContributionId,
    stage: Stage,
    on: Date,
) -> StageRecorded {
    StageRecorded {
        event,
        contribution,
        stage,
        effective_date: on,
        money: None,
        quantity: None,
        valuation_basis: None,
        amends: None,
        reason: None,
        condition: None,
        source_url: None,
        description: None,
        citation: None,
        source_kind: None,
    }
}

/// An event recorded for a contribution, with its value (so an amendment keeps the currency).
type Recorded = (EventId, Option<Money>);

/// A log built from the ops, with the moment each op was recorded (one minute apart).
struct Built {
    ledger: Ledger,
    moments: Vec<Timestamp>,
}

fn build(ops: &[Op], revalue_at_end: bool) -> Built {
    let mut ledger = Ledger::new();
    let start: Timestamp = "2025-02-01T00:00:00Z".parse().expect("moment");
    let mut position = 0u64;
    let mut moments = Vec::new();
    // Per contribution: its id, and its events with their values.
    let mut contributions: Vec<(ContributionId, Vec<Recorded>)> = Vec::new();
    let mut next_event = 0u32;
    let fold = |ledger: &mut Ledger, position: &mut u64, now: Timestamp, e: DomainEvent| {
        *position += 1;
        ledger.apply(
            EventMeta {
                position: *position,
                recorded_at: now,
            },
            &e,
        );
    };
    fold(
        &mut ledger,
        &mut position,
        start,
        DomainEvent::FrameworkAdopted(Box::new(framework())),
    );
    for (i, op) in ops.iter().enumerate() {
        let now = start
            .checked_add(jiff::SignedDuration::from_mins(i as i64 + 1))
            .expect("moment");
        moments.push(now);
        match op {
            Op::Fixing { day: d, usd, gbp } => {
                let d = day(*d);
                if matches!(
                    d.weekday(),
                    jiff::civil::Weekday::Saturday | jiff::civil::Weekday::Sunday
                ) {
                    continue;
                }
                let rates = BTreeMap::from([
                    (cur("USD"), Decimal::new(i64::from(*usd), 4)),
                    (cur("GBP"), Decimal::new(i64::from(*gbp), 4)),
                ]);
                fold(
                    &mut ledger,
                    &mut position,
                    now,
                    DomainEvent::FxFixingsPublished(FxFixingsPublished {
                        source: "ECB".to_owned(),
                        date: d,
                        rates,
                    }),
                );
            }
            Op::Contribution {
                donor,
                recipient_ukr,
                eligible,
            } => {
                let id = ContributionId::parse(&format!("C-{}", contributions.len() + 1))
                    .expect("contribution id");
                contributions.push((id.clone(), Vec::new()));
                fold(
                    &mut ledger,
                    &mut position,
                    now,
                    DomainEvent::ContributionRegistered(ContributionRegistered {
                        contribution: id,
                        donor: party(DONORS[*donor]),
                        recipient: party(if *recipient_ukr { "UKR" } else { "MDA" }),
                        category: if *eligible {
                            Category::EquipmentPurchase
                        } else {
                            Category::HumanitarianAid
                        },
                        channel: Channel::Bilateral,
                        visibility: Visibility::Public,
                        description: String::new(),
                        opened_on: day(0),
                        // Every third contribution in a second dataset, so views limited to
                        // datasets are checked too.
                        dataset: dataset(contributions.len().is_multiple_of(3)),
                    }),
                );
            }
            Op::Stage {
                of,
                stage,
                day: d,
                cents,
                currency,
                quantity_only,
                basis,
                source,
            } => {
                if contributions.is_empty() {
                    continue;
                }
                let k = of % contributions.len();
                next_event += 1;
                let event = EventId::parse(&format!("E-{next_event}")).expect("event id");
                let money = (!quantity_only).then(|| {
                    Money::new(Decimal::new(*cents, 2), cur(CURRENCIES[*currency])).expect("money")
                });
                contributions[k].1.push((event.clone(), money));
                let e = StageRecorded {
                    money,
                    quantity: quantity_only.then(|| Quantity {
                        value: dec("3"),
                        unit: "vehicles".to_owned(),
                    }),
                    valuation_basis: basis.map(|ok| {
                        if ok {
                            ValuationBasis::ReplacementCost
                        } else {
                            ValuationBasis::BookValue
                        }
                    }),
                    source_url: source.map(|s| SOURCES[s].to_owned()),
                    ..stage_event(
                        event,
                        contributions[k].0.clone(),
                        Stage::FLOW[*stage],
                        day(*d),
                    )
                };
                fold(
                    &mut ledger,
                    &mut position,
                    now,
                    DomainEvent::StageRecorded(e),
                );
            }
            Op::Amend {
                of,
                target,
                day: d,
                cents,
            } => {
                if contributions.is_empty() {
                    continue;
                }
                let k = of % contributions.len();
                let events = &contributions[k].1;
                if events.is_empty() {
                    continue;
                }
                let (target, money) = events[target % events.len()].clone();
                next_event += 1;
                let event = EventId::parse(&format!("E-{next_event}")).expect("event id");
                let delta = money
                    .map(|m| Money::new(Decimal::new(*cents, 2), m.currency()).expect("delta"));
                contributions[k].1.push((event.clone(), money));
                let e = StageRecorded {
                    money: delta,
                    amends: Some(target),
                    reason: Some("corrected".to_owned()),
                    ..stage_event(event, contributions[k].0.clone(), Stage::Amended, day(*d))
                };
                fold(
                    &mut ledger,
                    &mut position,
                    now,
                    DomainEvent::StageRecorded(e),
                );
            }
            Op::Withdraw { of, day: d } => {
                if contributions.is_empty() {
                    continue;
                }
                let k = of % contributions.len();
                next_event += 1;
                let event = EventId::parse(&format!("E-{next_event}")).expect("event id");
                let e = StageRecorded {
                    reason: Some("cancelled".to_owned()),
                    ..stage_event(event, contributions[k].0.clone(), Stage::Withdrawn, day(*d))
                };
                fold(
                    &mut ledger,
                    &mut position,
                    now,
                    DomainEvent::StageRecorded(e),
                );
            }
            Op::Revalue => {
                ledger.revalue();
            }
        }
    }
    if revalue_at_end {
        ledger.revalue();
    }
    Built { ledger, moments }
}

fn dataset(other: bool) -> DatasetId {
    if other {
        DatasetId::parse("other").expect("dataset id")
    } else {
        DatasetId::ledger()
    }
}

fn query(
    policy: FxPolicy,
    as_of: Option<u16>,
    known: Option<usize>,
    moments: &[Timestamp],
) -> ReportQuery {
    ReportQuery {
        fx_policy: policy,
        as_of: as_of.map(day),
        as_known_on: known.and_then(|k| moments.get(k % moments.len().max(1)).copied()),
        datasets: Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(192))]

    #[test]
    fn the_indexed_scoreboard_equals_the_scan_for_every_view(
        ops in prop::collection::vec(op(), 1..120),
        revalue_at_end in any::<bool>(),
        views in prop::collection::vec(
            (
                prop::sample::select(FxPolicy::ALL.to_vec()),
                prop::option::of(0u16..415),
                prop::option::of(any::<usize>()),
                0usize..5,
                0usize..4,
            ),
            1..6,
        ),
    ) {
        let built = build(&ops, revalue_at_end);
        let id = FrameworkId::parse("test-pledge").expect("id");
        for (policy, as_of, known, stage, datasets) in views {
            let datasets = match datasets {
                0 => vec![],
                1 => vec![dataset(false)],
                2 => vec![dataset(true)],
                _ => vec![dataset(true), dataset(false)],
            };
            let q = query(policy, as_of, known, &built.moments).in_datasets(datasets);
            let stage = Some(Stage::FLOW[stage]);
            let indexed = fair_share_report(&built.ledger, &id, stage, None, q.clone());
            let scanned = fair_share_report_scan(&built.ledger, &id, stage, q.clone());
            prop_assert_eq!(indexed, scanned, "view {:?} at {:?}", q, stage);
        }
    }

    /// The report index, the slots and the event-owner map are caches: a ledger valued after
    /// its last fold is rebuilt from its records exactly, whatever the order of its rates,
    /// events and earlier valuations.
    #[test]
    fn a_ledger_rebuilt_from_its_records_equals_it(ops in prop::collection::vec(op(), 1..120)) {
        let mut ledger = build(&ops, true).ledger;
        ledger.revalue();
        let mut records = ledger.clone().into_records();
        records.contributions = records
            .contributions
            .into_iter()
            .map(|c| ContributionState::from_record(c.into_record()).expect("its own record"))
            .collect();
        let rebuilt = Ledger::from_records(records);
        prop_assert_eq!(rebuilt.as_ref(), Ok(&ledger));
    }
}

#[test]
fn revaluing_serves_the_same_figures_from_the_cache() {
    // A committed USD value whose rate arrives after it: before revaluing, the report converts
    // it on the fly; after, it reads the cache; both give the scan's figures.
    let ops = vec![
        Op::Contribution {
            donor: 0,
            recipient_ukr: true,
            eligible: true,
        },
        Op::Stage {
            of: 0,
            stage: 1,
            day: 222, // 2024-07-10, a Wednesday
            cents: 108_250_000,
            currency: 1,
            quantity_only: false,
            basis: None,
            source: Some(0),
        },
        Op::Fixing {
            day: 222,
            usd: 10_825,
            gbp: 8_500,
        },
    ];
    let id = FrameworkId::parse("test-pledge").expect("id");
    let q = ReportQuery::new(FxPolicy::EventDate);
    let mut built = build(&ops, false);
    let before = fair_share_report(&built.ledger, &id, None, None, q.clone()).expect("report");
    assert_eq!(built.ledger.revalue(), 1);
    assert_eq!(built.ledger.revalue(), 0, "nothing left stale");
    let after = fair_share_report(&built.ledger, &id, None, None, q.clone()).expect("report");
    assert_eq!(before, after);
    assert_eq!(
        after,
        fair_share_report_scan(&built.ledger, &id, None, q.clone()).expect("scan")
    );
    let deu = after
        .rows
        .iter()
        .find(|r| r.party == party("DEU"))
        .expect("DEU");
    assert_eq!(deu.counted, dec("1000000.00"));
}

#[test]
fn a_late_fixing_reaches_cached_values_up_to_a_week_later_across_the_half_year() {
    // A USD value of Monday 2024-07-01 takes the fixing of Friday 2024-06-28 when July 1 has
    // none. The value was cached with the 2024-06-27 fixing; the 2024-06-28 one, recorded
    // later, falls in another half-year than the value but must still replace it.
    let ops = vec![
        Op::Contribution {
            donor: 0,
            recipient_ukr: true,
            eligible: true,
        },
        Op::Stage {
            of: 0,
            stage: 1,
            day: 213, // 2024-07-01
            cents: 100_000_000,
            currency: 1,
            quantity_only: false,
            basis: None,
            source: None,
        },
        Op::Fixing {
            day: 209, // 2024-06-27
            usd: 10_000,
            gbp: 8_500,
        },
        Op::Revalue,
        Op::Fixing {
            day: 210, // 2024-06-28
            usd: 12_500,
            gbp: 8_500,
        },
    ];
    let id = FrameworkId::parse("test-pledge").expect("id");
    let q = ReportQuery::new(FxPolicy::EventDate);
    let built = build(&ops, false);
    let report = fair_share_report(&built.ledger, &id, None, None, q.clone()).expect("report");
    assert_eq!(
        report,
        fair_share_report_scan(&built.ledger, &id, None, q.clone()).expect("scan")
    );
    let deu = report
        .rows
        .iter()
        .find(|r| r.party == party("DEU"))
        .expect("DEU");
    assert_eq!(deu.counted, dec("800000.00"), "USD 1,000,000 at 1.25");
    assert_eq!(report.earlier_fixings[0].rate_date, date("2024-06-28"));
}
