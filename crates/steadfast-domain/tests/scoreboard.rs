//! The accountability reports — fair-share scoreboard, gaps, anomalies — as given/when/then
//! scenarios over small hand-built ledgers, with no database.
//!
//! `Log` writes a ledger the way the application does: each command is decided by a `Draft` and
//! its events are folded into the `Ledger` with their position and the moment they were
//! recorded, so "as known on" cuts see exactly what the log held then. Exchange rates are real
//! ECB reference rates (data/ecb-eurofxref-hist.csv).
//!
//! The framework of every scenario: EUR 1,000,000.00 for UKR over 2024, counted at
//! `committed`, shared by GDP among DEU (4000), FRA (3000) and POL (1000); ISL (30) is exempt
//! and out of the denominator — fair shares DEU 500,000.00, FRA 375,000.00, POL 125,000.00.

mod common;

use common::{USD_JULY_2024, at, cur, date, dec, money, party};
use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use jiff::civil::Date;
use proptest::prelude::*;
use rust_decimal::Decimal;
use steadfast_domain::fx::to_euros;
use steadfast_domain::scoreboard::median_days;
use steadfast_domain::{
    AnomalyKind, AnomalyRowKind, Category, Channel, Condition, ContributionId, Decision,
    DomainEvent, Draft, EventId, EventMeta, Exemption, FairShareReport, FairShareRow,
    FrameworkAdopted, FrameworkId, FxFixingsPublished, FxPolicy, HalfYear, Ledger, RecordStage,
    ReportError, ReportQuery, ShareBasis, ShareStatus, Stage, ValuationBasis, Visibility,
    anomalies_report, fair_share_report, gaps_report,
};

// ---------------------------------------------------------------------------------------------
// Building values and commands

fn eid(text: &str) -> EventId {
    EventId::parse(text).expect("test event id")
}

fn cid(text: &str) -> ContributionId {
    ContributionId::parse(text).expect("test contribution id")
}

fn framework_id() -> FrameworkId {
    FrameworkId::parse("test-pledge").expect("framework id")
}

/// A stage command of `contribution` from `donor` to Ukraine, equipment purchase, no increment.
fn stage(event: &str, contribution: &str, donor: &str, stage: Stage, on: &str) -> RecordStage {
    RecordStage {
        event: eid(event),
        contribution: cid(contribution),
        donor: party(donor),
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

fn announced(event: &str, c: &str, donor: &str, on: &str) -> RecordStage {
    stage(event, c, donor, Stage::Announced, on)
}
fn committed(event: &str, c: &str, donor: &str, on: &str) -> RecordStage {
    stage(event, c, donor, Stage::Committed, on)
}
fn delivered(event: &str, c: &str, donor: &str, on: &str) -> RecordStage {
    stage(event, c, donor, Stage::Delivered, on)
}
fn confirmed(event: &str, c: &str, donor: &str, on: &str) -> RecordStage {
    stage(event, c, donor, Stage::Confirmed, on)
        .with(|s| s.condition = Some(Condition::AsDescribed))
}
fn amended(event: &str, c: &str, donor: &str, on: &str, target: &str) -> RecordStage {
    let t = eid(target);
    stage(event, c, donor, Stage::Amended, on).with(|s| {
        s.amends = Some(t);
        s.reason = Some("corrected figure".to_owned());
    })
}
fn withdrawn(event: &str, c: &str, donor: &str, on: &str) -> RecordStage {
    stage(event, c, donor, Stage::Withdrawn, on)
}

trait With: Sized {
    fn with(self, f: impl FnOnce(&mut RecordStage)) -> Self;
    fn eur(self, amount: &str) -> Self {
        self.money(amount, "EUR")
    }
    fn usd(self, amount: &str) -> Self {
        self.money(amount, "USD")
    }
    fn money(self, amount: &str, currency: &str) -> Self {
        let m = money(amount, currency);
        self.with(|c| c.money = Some(m))
    }
    fn category(self, category: Category) -> Self {
        self.with(|c| c.category = category)
    }
    fn recipient(self, recipient: &str) -> Self {
        let p = party(recipient);
        self.with(|c| c.recipient = p)
    }
    fn basis(self, basis: ValuationBasis) -> Self {
        self.with(|c| c.valuation_basis = Some(basis))
    }
    fn source(self, url: &str) -> Self {
        self.with(|c| c.source_url = Some(url.to_owned()))
    }
}

impl With for RecordStage {
    fn with(mut self, f: impl FnOnce(&mut RecordStage)) -> Self {
        f(&mut self);
        self
    }
}

/// The scenarios' framework (see the module documentation).
fn test_pledge() -> FrameworkAdopted {
    FrameworkAdopted {
        framework: framework_id(),
        name: "Test pledge for Ukraine".to_owned(),
        adopted_on: date("2024-07-10"),
        target: money("1000000.00", "EUR"),
        period_start: date("2024-01-01"),
        period_end: date("2024-12-31"),
        recipients: vec![party("UKR")],
        participants: vec![party("POL"), party("ISL"), party("FRA"), party("DEU")],
        exemptions: vec![Exemption {
            party: party("ISL"),
            in_denominator: false,
            reason: "no armed forces".to_owned(),
        }],
        eligible_categories: vec![
            Category::EquipmentPurchase,
            Category::InKindDonation,
            Category::Training,
        ],
        counting_stage: Stage::Committed,
        share_basis: ShareBasis {
            indicator: "gdp-current-usd".to_owned(),
            source: "test".to_owned(),
            dataset: "test".to_owned(),
            year: 2023,
            values: BTreeMap::from([
                (party("DEU"), dec("4000")),
                (party("FRA"), dec("3000")),
                (party("POL"), dec("1000")),
                (party("ISL"), dec("30")),
            ]),
        },
        valuation_preference: vec![
            ValuationBasis::ReplacementCost,
            ValuationBasis::ContractPrice,
        ],
        reporting_periods: vec![
            HalfYear::parse("2024-H1").expect("half"),
            HalfYear::parse("2024-H2").expect("half"),
        ],
        counting: steadfast_domain::Counting::Literal,
    }
}

// ---------------------------------------------------------------------------------------------
// given / when / then

/// A log being written, one batch per call, each stamped with the current moment.
struct Log {
    ledger: Ledger,
    position: u64,
    now: Timestamp,
}

/// The moment the scenarios' framework and rates are recorded.
const ADOPTED_AT: &str = "2024-07-20T12:00:00Z";

impl Log {
    /// An empty log.
    fn empty() -> Self {
        Log {
            ledger: Ledger::new(),
            position: 0,
            now: at(ADOPTED_AT),
        }
    }

    /// A log holding the scenarios' framework and the USD fixings of July 2024, recorded at
    /// `ADOPTED_AT`; later records are stamped at the same moment unless `at` says otherwise.
    fn new() -> Self {
        let mut log = Log::empty();
        log.adopt(test_pledge()).fixings("USD", &USD_JULY_2024);
        log
    }

    fn at(&mut self, moment: &str) -> &mut Self {
        self.now = at(moment);
        self
    }

    fn apply(&mut self, events: Vec<DomainEvent>) {
        for e in events {
            self.position += 1;
            let meta = EventMeta {
                position: self.position,
                recorded_at: self.now,
            };
            self.ledger.apply(meta, &e);
        }
    }

    fn adopt(&mut self, framework: FrameworkAdopted) -> &mut Self {
        let mut draft = Draft::new(&self.ledger);
        assert_eq!(draft.adopt_framework(framework), Ok(true));
        let events = draft.into_events();
        self.apply(events);
        self
    }

    fn fixings(&mut self, currency: &str, days: &[(&str, &str)]) -> &mut Self {
        for (day, rate) in days {
            let mut draft = Draft::new(&self.ledger);
            let recorded = draft.record_fixings(FxFixingsPublished {
                source: "ECB".to_owned(),
                date: date(day),
                rates: BTreeMap::from([(cur(currency), dec(rate))]),
            });
            assert_eq!(recorded, Ok(true), "fixing {currency} {day}");
            let events = draft.into_events();
            self.apply(events);
        }
        self
    }

    /// Decides the commands (each must be accepted) and folds their events in.
    fn given(&mut self, cmds: &[RecordStage]) -> &mut Self {
        for cmd in cmds {
            let mut draft = Draft::new(&self.ledger);
            match draft.record_stage(cmd) {
                Ok(Decision::Record(_)) => {}
                other => panic!("expected {} to be recorded, got {other:?}", cmd.event),
            }
            let events = draft.into_events();
            self.apply(events);
        }
        self
    }
}

fn query(policy: FxPolicy) -> ReportQuery {
    ReportQuery::new(policy)
}

fn event_date() -> ReportQuery {
    query(FxPolicy::EventDate)
}

fn as_of(on: &str) -> ReportQuery {
    ReportQuery {
        as_of: Some(date(on)),
        ..event_date()
    }
}

fn as_known_on(moment: &str) -> ReportQuery {
    ReportQuery {
        as_known_on: Some(at(moment)),
        ..event_date()
    }
}

/// The scoreboard of the scenarios' framework at its counting stage.
#[track_caller]
fn when_scored(log: &Log, q: ReportQuery) -> FairShareReport {
    fair_share_report(&log.ledger, &framework_id(), None, None, q).expect("report")
}

#[track_caller]
fn row<'a>(report: &'a FairShareReport, p: &str) -> &'a FairShareRow {
    report
        .rows
        .iter()
        .find(|r| r.party == party(p))
        .unwrap_or_else(|| panic!("no row for {p} in {:?}", report.rows))
}

#[track_caller]
fn then_counted(report: &FairShareReport, p: &str, eur: &str, events: u64) {
    let r = row(report, p);
    assert_eq!(r.counted.to_string(), eur, "{r:?}");
    assert_eq!(r.events, events, "{r:?}");
}

// ---------------------------------------------------------------------------------------------
// What counts

/// DEU's one counted value among every kind of record that must not count.
fn deu_and_the_records_that_must_not_count() -> Vec<RecordStage> {
    vec![
        // Counted: committed, in the period, eligible, to UKR.
        committed("deu-1-c", "deu-1", "DEU", "2024-03-01").eur("100000.00"),
        // Another stage of the same contribution.
        announced("deu-1-a", "deu-1", "DEU", "2024-02-01").eur("999.00"),
        delivered("deu-1-d", "deu-1", "DEU", "2024-05-01").eur("50000.00"),
        // Outside the period, on either side.
        committed("deu-2-c", "deu-2", "DEU", "2023-12-31").eur("7.00"),
        committed("deu-3-c", "deu-3", "DEU", "2025-01-01").eur("8.00"),
        // An ineligible category.
        committed("deu-4-c", "deu-4", "DEU", "2024-04-01")
            .eur("9.00")
            .category(Category::FinancialAid),
        // A recipient outside the framework.
        committed("deu-5-c", "deu-5", "DEU", "2024-04-01")
            .eur("10.00")
            .recipient("MDA"),
        // A donor outside the framework.
        committed("gbr-1-c", "gbr-1", "GBR", "2024-04-01").eur("11.00"),
        // POL's only record is not eligible: POL has no record at the stage.
        committed("pol-1-c", "pol-1", "POL", "2024-04-01")
            .eur("12.00")
            .category(Category::HumanitarianAid),
        // FRA: USD 1,082,500.00 on 2024-07-10 at 1.0825 is EUR 1,000,000.00.
        committed("fra-1-c", "fra-1", "FRA", "2024-07-10")
            .usd("1082500.00")
            .source("https://example.org/fra-1"),
        // ISL is exempt but may still give.
        committed("isl-1-c", "isl-1", "ISL", "2024-04-01").eur("12345.00"),
    ]
}

#[test]
fn only_committed_in_period_eligible_values_to_the_recipient_by_a_participant_count() {
    let mut log = Log::new();
    log.given(&deu_and_the_records_that_must_not_count());
    let report = when_scored(&log, event_date());
    assert_eq!(report.stage, Stage::Committed);

    let deu = row(&report, "DEU");
    assert_eq!(deu.fair_share.to_string(), "500000.00");
    then_counted(&report, "DEU", "100000.00", 1);
    assert_eq!(deu.status, ShareStatus::Short);
    assert_eq!(deu.gap.to_string(), "400000.00");
    assert_eq!(deu.ratio, Some(dec("0.2")));

    let fra = row(&report, "FRA");
    assert_eq!(fra.fair_share.to_string(), "375000.00");
    then_counted(&report, "FRA", "1000000.00", 1);
    assert_eq!(fra.status, ShareStatus::Met);
    assert_eq!(fra.gap.to_string(), "0.00");
    let ratio = fra.ratio.expect("a ratio");
    assert_eq!(ratio.round_dp(6), dec("2.666667"));

    let pol = row(&report, "POL");
    assert_eq!(pol.fair_share.to_string(), "125000.00");
    then_counted(&report, "POL", "0.00", 0);
    assert_eq!(pol.status, ShareStatus::NoRecords);
    assert_eq!(pol.gap.to_string(), "125000.00");
    assert_eq!(pol.ratio, Some(Decimal::ZERO));

    let isl = row(&report, "ISL");
    assert_eq!(isl.status, ShareStatus::Exempt);
    assert_eq!(isl.fair_share.to_string(), "0.00");
    assert_eq!(isl.share, Decimal::ZERO);
    assert_eq!(isl.ratio, None);
    assert_eq!(isl.gap.to_string(), "0.00");

    // Rows in party-id order, one per participant and no one else (GBR gave, but is not one).
    let parties: Vec<&str> = report.rows.iter().map(|r| r.party.as_str()).collect();
    assert_eq!(parties, ["DEU", "FRA", "ISL", "POL"]);

    let t = &report.totals;
    assert_eq!(t.fair_share.to_string(), "1000000.00");
    assert_eq!(t.unallocated.to_string(), "0.00");
    assert_eq!(t.gap.to_string(), "525000.00");
    assert_eq!(
        (t.participants, t.met, t.short, t.no_records, t.exempt),
        (4, 1, 1, 1, 1)
    );
    assert!(report.unconverted.is_empty(), "{:?}", report.unconverted);
    // The ineligible categories are listed, so a reader sees what the rules left out.
    let left_out: Vec<(&str, bool)> = report
        .not_counted
        .iter()
        .map(|n| (n.event.as_str(), n.reason.contains("category")))
        .collect();
    assert_eq!(left_out, [("deu-4-c", true), ("pol-1-c", true)]);
    assert!(
        report.earlier_fixings.is_empty(),
        "{:?}",
        report.earlier_fixings
    );
    assert_eq!(report.coverage.sources, 1);
    assert!(report.coverage.donors >= 2 && report.coverage.events >= 2);
}

#[test]
fn another_stage_counts_only_the_values_at_that_stage() {
    let mut log = Log::new();
    log.given(&deu_and_the_records_that_must_not_count());
    let report = fair_share_report(
        &log.ledger,
        &framework_id(),
        Some(Stage::Delivered),
        None,
        event_date(),
    )
    .expect("report");
    assert_eq!(report.stage, Stage::Delivered);
    then_counted(&report, "DEU", "50000.00", 1);
    then_counted(&report, "FRA", "0.00", 0);
    assert_eq!(row(&report, "FRA").status, ShareStatus::NoRecords);
    let report = fair_share_report(
        &log.ledger,
        &framework_id(),
        Some(Stage::Announced),
        None,
        event_date(),
    )
    .expect("report");
    then_counted(&report, "DEU", "999.00", 1);
}

#[test]
fn a_stage_that_accumulates_nothing_and_an_unknown_framework_are_refused() {
    let log = Log::new();
    for s in [Stage::Amended, Stage::Withdrawn] {
        assert_eq!(
            fair_share_report(&log.ledger, &framework_id(), Some(s), None, event_date()),
            Err(ReportError::NotAFlowStage(s))
        );
    }
    let other = FrameworkId::parse("no-such-pledge").expect("id");
    assert!(matches!(
        fair_share_report(&log.ledger, &other, None, None, event_date()),
        Err(ReportError::UnknownFramework(id, _)) if id == other
    ));
}

#[test]
fn counting_exactly_the_fair_share_is_met_with_no_gap_and_a_ratio_of_one() {
    let mut log = Log::new();
    log.given(&[
        committed("pol-1-c", "pol-1", "POL", "2024-03-01").eur("100000.00"),
        committed("pol-2-c", "pol-2", "POL", "2024-09-01").eur("24999.99"),
    ]);
    let report = when_scored(&log, event_date());
    let pol = row(&report, "POL");
    assert_eq!(pol.status, ShareStatus::Short);
    assert_eq!(pol.gap.to_string(), "0.01");
    log.given(&[committed("pol-3-c", "pol-3", "POL", "2024-12-31").eur("0.01")]);
    let report = when_scored(&log, event_date());
    let pol = row(&report, "POL");
    then_counted(&report, "POL", "125000.00", 3);
    assert_eq!(pol.status, ShareStatus::Met);
    assert_eq!(pol.gap.to_string(), "0.00");
    assert_eq!(pol.ratio, Some(Decimal::ONE));
    // More than the fair share: still met, the gap stays zero (never negative).
    log.given(&[committed("pol-4-c", "pol-4", "POL", "2024-12-31").eur("50000.00")]);
    let report = when_scored(&log, event_date());
    assert_eq!(row(&report, "POL").gap.to_string(), "0.00");
    assert_eq!(row(&report, "POL").ratio, Some(dec("1.4")));
}

#[test]
fn an_exemption_inside_the_denominator_leaves_its_share_unallocated_in_the_totals() {
    let mut pledge = test_pledge();
    pledge.exemptions[0].in_denominator = true;
    // 4000 : 3000 : 1000 : 30 of 1,000,000.00 — 8030 in all.
    let mut log = Log::empty();
    log.adopt(pledge);
    let report = when_scored(&log, event_date());
    let fair: Vec<String> = report
        .rows
        .iter()
        .map(|r| r.fair_share.to_string())
        .collect();
    // Exact shares 498132.00498…, 373599.00373…, 3735.99003… (ISL) and 124533.00124…: the
    // floors leave one cent, which goes to the largest remainder (DEU); ISL's 3735.99 stays
    // unallocated.
    assert_eq!(fair, ["498132.01", "373599.00", "0.00", "124533.00"]);
    assert_eq!(report.totals.unallocated.to_string(), "3735.99");
    assert_eq!(
        report.totals.fair_share + report.totals.unallocated,
        dec("1000000.00")
    );
    assert_eq!(row(&report, "ISL").status, ShareStatus::Exempt);
    assert!(!row(&report, "ISL").share.is_zero());
}

#[test]
fn counted_values_are_split_by_reporting_period_by_the_date_they_count_from() {
    let mut log = Log::new();
    log.given(&[
        committed("deu-1-c", "deu-1", "DEU", "2024-03-01").eur("100.00"),
        committed("deu-2-c", "deu-2", "DEU", "2024-12-15").eur("1000.00"),
        // Dated 2025, it corrects a 2024-H2 figure.
        amended("deu-2-x", "deu-2", "DEU", "2025-01-20", "deu-2-c").eur("-200.00"),
        committed("deu-3-c", "deu-3", "DEU", "2024-06-30").eur("0.50"),
    ]);
    let report = when_scored(&log, event_date());
    let h1 = HalfYear::parse("2024-H1").expect("half");
    let h2 = HalfYear::parse("2024-H2").expect("half");
    let deu = row(&report, "DEU");
    assert_eq!(
        deu.by_period.get(&h1).map(ToString::to_string).as_deref(),
        Some("100.50")
    );
    assert_eq!(
        deu.by_period.get(&h2).map(ToString::to_string).as_deref(),
        Some("800.00")
    );
    assert_eq!(
        deu.by_period.values().copied().sum::<Decimal>(),
        deu.counted
    );
    // A participant with nothing counted has every reporting period at zero.
    let fra = row(&report, "FRA");
    assert_eq!(fra.by_period.len(), 2);
    assert!(
        fra.by_period.values().all(Decimal::is_zero),
        "{:?}",
        fra.by_period
    );
}

// ---------------------------------------------------------------------------------------------
// Amendments

#[test]
fn an_amendment_dated_next_year_of_a_commitment_in_the_period_counts_in_the_period() {
    let mut log = Log::new();
    log.given(&[
        committed("deu-1-c", "deu-1", "DEU", "2024-12-15").eur("100000.00"),
        amended("deu-1-x", "deu-1", "DEU", "2025-01-20", "deu-1-c").eur("-20000.00"),
    ]);
    let report = when_scored(&log, event_date());
    // One event counted: the commitment, as corrected.
    then_counted(&report, "DEU", "80000.00", 1);
    // As of the end of 2024, the correction had not happened yet.
    let report = when_scored(&log, as_of("2024-12-31"));
    then_counted(&report, "DEU", "100000.00", 1);
}

#[test]
fn an_amendment_dated_in_the_period_of_a_commitment_before_it_does_not_count() {
    let mut log = Log::new();
    log.given(&[
        committed("deu-1-c", "deu-1", "DEU", "2023-12-20").eur("50000.00"),
        amended("deu-1-x", "deu-1", "DEU", "2024-02-01", "deu-1-c").eur("10000.00"),
        committed("deu-2-c", "deu-2", "DEU", "2024-03-01").eur("1000.00"),
    ]);
    let report = when_scored(&log, event_date());
    then_counted(&report, "DEU", "1000.00", 1);
}

#[test]
fn an_amendment_of_an_amendment_counts_from_the_original_events_date() {
    let mut log = Log::new();
    log.given(&[
        committed("deu-1-c", "deu-1", "DEU", "2024-12-15").eur("100000.00"),
        amended("deu-1-x", "deu-1", "DEU", "2025-01-20", "deu-1-c").eur("-20000.00"),
        amended("deu-1-y", "deu-1", "DEU", "2025-02-20", "deu-1-x").eur("5000.00"),
    ]);
    let report = when_scored(&log, event_date());
    then_counted(&report, "DEU", "85000.00", 1);
}

#[test]
fn an_amendment_converts_at_the_rate_of_the_corrected_events_date() {
    let mut log = Log::new();
    log.given(&[
        committed("fra-1-c", "fra-1", "FRA", "2024-07-10").usd("1082500.00"),
        // Dated 2024-07-12 (1.089), but it corrects 2024-07-10's figure: 108,250.00 / 1.0825.
        amended("fra-1-x", "fra-1", "FRA", "2024-07-12", "fra-1-c").usd("108250.00"),
    ]);
    let report = when_scored(&log, event_date());
    then_counted(&report, "FRA", "1100000.00", 1);
    assert!(
        report.earlier_fixings.is_empty(),
        "{:?}",
        report.earlier_fixings
    );
}

// ---------------------------------------------------------------------------------------------
// as of, as known on

#[test]
fn as_of_keeps_only_events_effective_on_or_before_the_date() {
    let mut log = Log::new();
    log.given(&[
        committed("deu-1-c", "deu-1", "DEU", "2024-03-01").eur("100.00"),
        committed("deu-2-c", "deu-2", "DEU", "2024-06-30").eur("20.00"),
        committed("deu-3-c", "deu-3", "DEU", "2024-09-01").eur("3.00"),
    ]);
    then_counted(&when_scored(&log, as_of("2024-06-29")), "DEU", "100.00", 1);
    then_counted(&when_scored(&log, as_of("2024-06-30")), "DEU", "120.00", 2);
    then_counted(&when_scored(&log, as_of("2024-12-31")), "DEU", "123.00", 3);
    let before = when_scored(&log, as_of("2024-02-29"));
    then_counted(&before, "DEU", "0.00", 0);
    assert_eq!(row(&before, "DEU").status, ShareStatus::NoRecords);
}

#[test]
fn as_known_on_keeps_only_events_recorded_by_then_and_needs_the_framework_known() {
    let mut log = Log::new();
    log.at("2024-08-01T10:00:00Z")
        .given(&[committed("deu-1-c", "deu-1", "DEU", "2024-03-01").eur("100.00")])
        // A late disclosure: effective in March, recorded in September.
        .at("2024-09-01T10:00:00Z")
        .given(&[committed("deu-2-c", "deu-2", "DEU", "2024-03-02").eur("20.00")]);
    then_counted(
        &when_scored(&log, as_known_on("2024-08-01T10:00:00Z")),
        "DEU",
        "100.00",
        1,
    );
    then_counted(
        &when_scored(&log, as_known_on("2024-08-31T23:59:59Z")),
        "DEU",
        "100.00",
        1,
    );
    then_counted(
        &when_scored(&log, as_known_on("2024-09-01T10:00:00Z")),
        "DEU",
        "120.00",
        2,
    );
    then_counted(&when_scored(&log, event_date()), "DEU", "120.00", 2);
    // Before the framework was recorded there is nothing to score against.
    let err = fair_share_report(
        &log.ledger,
        &framework_id(),
        None,
        None,
        as_known_on("2024-07-20T11:59:59Z"),
    )
    .expect_err("framework unknown then");
    assert!(matches!(&err, ReportError::UnknownFramework(id, _) if *id == framework_id()));
    assert!(err.to_string().contains("test-pledge"), "{err}");
    // At the very moment it was recorded, it is known.
    assert!(
        fair_share_report(
            &log.ledger,
            &framework_id(),
            None,
            None,
            as_known_on(ADOPTED_AT)
        )
        .is_ok()
    );
}

#[test]
fn as_known_on_converts_with_the_fixings_known_then() {
    let mut log = Log::empty();
    log.adopt(test_pledge())
        .fixings("USD", &USD_JULY_2024[..7]) // up to 2024-07-09
        .given(&[committed("fra-1-c", "fra-1", "FRA", "2024-07-10").usd("1082500.00")])
        .at("2024-07-25T12:00:00Z")
        .fixings("USD", &USD_JULY_2024[7..]); // 2024-07-10 onwards
    let then = when_scored(&log, as_known_on(ADOPTED_AT));
    // 1,082,500.00 / 1.0814 (2024-07-09), and the report says which date it used.
    then_counted(&then, "FRA", "1001017.20", 1);
    assert_eq!(then.earlier_fixings.len(), 1, "{:?}", then.earlier_fixings);
    let e = &then.earlier_fixings[0];
    assert_eq!(
        (e.effective_date, e.rate_date),
        (date("2024-07-10"), date("2024-07-09"))
    );
    assert_eq!(e.rate, dec("1.0814"));
    let now = when_scored(&log, event_date());
    then_counted(&now, "FRA", "1000000.00", 1);
    assert!(now.earlier_fixings.is_empty(), "{:?}", now.earlier_fixings);
}

// ---------------------------------------------------------------------------------------------
// Unconverted, not counted, earlier fixings

#[test]
fn a_value_without_a_rate_is_listed_with_its_reason_and_not_counted_as_anything() {
    let mut log = Log::new();
    log.given(&[
        committed("deu-1-c", "deu-1", "DEU", "2024-03-01").eur("100.00"),
        // No USD fixing within 7 days of mid-November.
        committed("deu-2-c", "deu-2", "DEU", "2024-11-15").usd("5000.00"),
        // No CAD fixing at all.
        committed("deu-3-c", "deu-3", "DEU", "2024-07-10").money("7000.00", "CAD"),
    ]);
    let report = when_scored(&log, event_date());
    then_counted(&report, "DEU", "100.00", 1);
    assert_eq!(report.unconverted.len(), 2, "{:?}", report.unconverted);
    let usd = report
        .unconverted
        .iter()
        .find(|u| u.event == eid("deu-2-c"))
        .expect("the USD value listed");
    assert_eq!(usd.donor, party("DEU"));
    assert_eq!(usd.stage, Stage::Committed);
    assert_eq!(usd.effective_date, date("2024-11-15"));
    assert_eq!((usd.amount, usd.currency), (dec("5000.00"), cur("USD")));
    assert!(
        usd.reason.contains("USD") && usd.reason.contains("2024-11-15"),
        "{}",
        usd.reason
    );
    let cad = report
        .unconverted
        .iter()
        .find(|u| u.event == eid("deu-3-c"))
        .expect("the CAD value listed");
    assert!(cad.reason.contains("CAD"), "{}", cad.reason);

    // Under period-average the November USD value has the July fixings of its half-year.
    let report = when_scored(&log, query(FxPolicy::PeriodAverage));
    assert_eq!(report.unconverted.len(), 1, "{:?}", report.unconverted);
    assert_eq!(report.unconverted[0].event, eid("deu-3-c"));
    assert_eq!(row(&report, "DEU").events, 2);
}

#[test]
fn a_party_whose_only_values_are_unconverted_has_nothing_counted() {
    let mut log = Log::new();
    log.given(&[committed("pol-1-c", "pol-1", "POL", "2024-11-15").usd("125000.00")]);
    let report = when_scored(&log, event_date());
    let pol = row(&report, "POL");
    assert_eq!(pol.counted.to_string(), "0.00");
    assert_eq!(pol.gap.to_string(), "125000.00");
    assert_eq!(
        pol.status,
        ShareStatus::Short,
        "a record with no rate is still a record: short, not no-records"
    );
    assert_eq!(report.unconverted.len(), 1);
}

#[test]
fn values_on_a_valuation_basis_the_framework_does_not_accept_are_listed_not_counted() {
    let mut log = Log::new();
    log.given(&[
        committed("deu-1-c", "deu-1", "DEU", "2024-03-01")
            .eur("100.00")
            .category(Category::InKindDonation)
            .basis(ValuationBasis::ReplacementCost),
        committed("deu-2-c", "deu-2", "DEU", "2024-03-01")
            .eur("20.00")
            .category(Category::InKindDonation)
            .basis(ValuationBasis::ContractPrice),
        committed("deu-3-c", "deu-3", "DEU", "2024-03-01")
            .eur("3000.00")
            .category(Category::InKindDonation)
            .basis(ValuationBasis::BookValue),
    ]);
    let report = when_scored(&log, event_date());
    then_counted(&report, "DEU", "120.00", 2);
    assert_eq!(report.not_counted.len(), 1, "{:?}", report.not_counted);
    let n = &report.not_counted[0];
    assert_eq!(
        (n.event.clone(), n.donor.clone()),
        (eid("deu-3-c"), party("DEU"))
    );
    assert!(n.reason.contains("book-value"), "{}", n.reason);
}

#[test]
fn an_amendment_of_a_value_the_framework_does_not_accept_is_not_counted_either() {
    let mut log = Log::new();
    log.given(&[
        committed("deu-1-c", "deu-1", "DEU", "2024-03-01")
            .eur("100.00")
            .category(Category::InKindDonation)
            .basis(ValuationBasis::ReplacementCost),
        committed("deu-3-c", "deu-3", "DEU", "2024-03-01")
            .eur("3000.00")
            .category(Category::InKindDonation)
            .basis(ValuationBasis::BookValue),
        // Corrects the book-value figure down by 1,000.00: the book value is still refused.
        amended("deu-3-x", "deu-3", "DEU", "2024-04-01", "deu-3-c")
            .eur("-1000.00")
            .category(Category::InKindDonation),
    ]);
    let report = when_scored(&log, event_date());
    // Only the replacement-cost value counts; the correction must not (it would count
    // -1,000.00 of a value that is not counted at all, leaving DEU at -900.00).
    then_counted(&report, "DEU", "100.00", 1);
    // The book-value event is listed once, as corrected: its correction goes with it.
    let listed: Vec<&str> = report
        .not_counted
        .iter()
        .map(|n| n.event.as_str())
        .collect();
    assert_eq!(listed, ["deu-3-c"]);
}

#[test]
fn a_contribution_corrected_to_nothing_counts_nothing_not_a_stray_cent() {
    let mut log = Log::empty();
    log.adopt(test_pledge())
        .fixings("JPY", &[("2024-07-10", "174.79")])
        .given(&[
            // JPY 2 at 174.79 is EUR 0.01; each correction of -1 alone would be EUR -0.01.
            committed("pol-1-c", "pol-1", "POL", "2024-07-10").money("2", "JPY"),
            amended("pol-1-x", "pol-1", "POL", "2024-07-11", "pol-1-c").money("-1", "JPY"),
            amended("pol-1-y", "pol-1", "POL", "2024-07-12", "pol-1-c").money("-1", "JPY"),
        ]);
    let report = when_scored(&log, event_date());
    assert_eq!(row(&report, "POL").counted.to_string(), "0.00");
    assert_eq!(row(&report, "POL").status, ShareStatus::Short);
    let gaps = gaps_report(&log.ledger, event_date());
    let pol = gaps
        .rows
        .iter()
        .find(|r| r.donor == party("POL"))
        .expect("POL");
    assert_eq!(pol.stages[&Stage::Committed].to_string(), "0.00");
}

#[test]
fn a_weekend_value_names_the_date_of_the_fixing_it_used() {
    let mut log = Log::new();
    log.given(&[
        // Saturday: Friday 2024-07-12's 1.089.
        committed("fra-1-c", "fra-1", "FRA", "2024-07-13").usd("1089000.00"),
        // A fixing day: not listed.
        committed("fra-2-c", "fra-2", "FRA", "2024-07-10").usd("1082.50"),
    ]);
    let report = when_scored(&log, event_date());
    then_counted(&report, "FRA", "1001000.00", 2);
    assert_eq!(
        report.earlier_fixings.len(),
        1,
        "{:?}",
        report.earlier_fixings
    );
    let e = &report.earlier_fixings[0];
    assert_eq!(e.event, eid("fra-1-c"));
    assert_eq!(e.effective_date, date("2024-07-13"));
    assert_eq!(e.rate_date, date("2024-07-12"));
    assert_eq!(e.rate, dec("1.089"));
    assert_eq!(e.eur.to_string(), "1000000.00");
    assert_eq!((e.amount, e.currency), (dec("1089000.00"), cur("USD")));
    // Period-average uses no single fixing: nothing to list.
    let report = when_scored(&log, query(FxPolicy::PeriodAverage));
    assert!(
        report.earlier_fixings.is_empty(),
        "{:?}",
        report.earlier_fixings
    );
}

// ---------------------------------------------------------------------------------------------
// Withdrawals

#[test]
fn a_withdrawn_contribution_counts_at_committed_no_more_than_it_delivered() {
    let mut log = Log::new();
    log.given(&[
        committed("deu-1-c", "deu-1", "DEU", "2024-02-01").eur("300000.00"),
        delivered("deu-1-d", "deu-1", "DEU", "2024-04-01").eur("120000.00"),
        withdrawn("deu-1-w", "deu-1", "DEU", "2024-05-01"),
        // Withdrawn with nothing delivered: counts nothing.
        committed("deu-2-c", "deu-2", "DEU", "2024-02-01").eur("5000.00"),
        withdrawn("deu-2-w", "deu-2", "DEU", "2024-03-01"),
        // Not withdrawn: counts in full.
        committed("deu-3-c", "deu-3", "DEU", "2024-02-01").eur("7.00"),
    ]);
    let report = when_scored(&log, event_date());
    then_counted(&report, "DEU", "120007.00", 3);
    // At delivered, what was delivered.
    let report = fair_share_report(
        &log.ledger,
        &framework_id(),
        Some(Stage::Delivered),
        None,
        event_date(),
    )
    .expect("report");
    then_counted(&report, "DEU", "120000.00", 1);
    // Before the withdrawals, the commitments counted in full.
    then_counted(
        &when_scored(&log, as_of("2024-02-29")),
        "DEU",
        "305007.00",
        3,
    );
    // After deu-2's withdrawal (nothing delivered) and before deu-1's.
    then_counted(
        &when_scored(&log, as_of("2024-04-15")),
        "DEU",
        "300007.00",
        3,
    );
    then_counted(
        &when_scored(&log, as_of("2024-05-01")),
        "DEU",
        "120007.00",
        3,
    );
}

#[test]
fn a_withdrawal_recorded_later_does_not_cap_what_was_known_before() {
    let mut log = Log::new();
    log.at("2024-08-01T00:00:00Z")
        .given(&[
            committed("deu-1-c", "deu-1", "DEU", "2024-02-01").eur("300000.00"),
            delivered("deu-1-d", "deu-1", "DEU", "2024-04-01").eur("120000.00"),
        ])
        .at("2024-10-01T00:00:00Z")
        .given(&[withdrawn("deu-1-w", "deu-1", "DEU", "2024-05-01")]);
    then_counted(
        &when_scored(&log, as_known_on("2024-09-30T23:59:59Z")),
        "DEU",
        "300000.00",
        1,
    );
    then_counted(&when_scored(&log, event_date()), "DEU", "120000.00", 1);
}

#[test]
fn a_withdrawn_contribution_delivered_after_the_period_still_counts_what_it_delivered() {
    let mut log = Log::new();
    log.given(&[
        committed("deu-1-c", "deu-1", "DEU", "2024-11-01").eur("300000.00"),
        delivered("deu-1-d", "deu-1", "DEU", "2025-02-01").eur("120000.00"),
        withdrawn("deu-1-w", "deu-1", "DEU", "2025-03-01"),
    ]);
    // As of 2024-12-31 nothing is withdrawn yet: the commitment counts in full.
    then_counted(
        &when_scored(&log, as_of("2024-12-31")),
        "DEU",
        "300000.00",
        1,
    );
    // Once withdrawn, it counts what it delivered (120,000.00) — not nothing.
    then_counted(&when_scored(&log, event_date()), "DEU", "120000.00", 1);
}

// ---------------------------------------------------------------------------------------------
// Period-average in the scoreboard

#[test]
fn under_period_average_a_value_converts_at_its_half_years_mean() {
    let mut log = Log::empty();
    log.adopt(test_pledge())
        .fixings("USD", &USD_JULY_2024[..5]) // mean 1.07712
        .given(&[committed("fra-1-c", "fra-1", "FRA", "2024-11-15").usd("1077120.00")]);
    let report = when_scored(&log, query(FxPolicy::PeriodAverage));
    then_counted(&report, "FRA", "1000000.00", 1);
    assert!(report.unconverted.is_empty());
    let report = when_scored(&log, event_date());
    then_counted(&report, "FRA", "0.00", 0);
    assert_eq!(report.unconverted.len(), 1);
}

#[test]
fn as_of_a_date_averages_only_the_fixings_published_by_then() {
    let mut log = Log::empty();
    log.adopt(test_pledge())
        .fixings("USD", &USD_JULY_2024[..5]) // 1 to 5 July
        .given(&[committed("fra-1-c", "fra-1", "FRA", "2024-07-02").usd("1073700.00")]);
    // As of 2 July only the fixings of 1 and 2 July were published: mean 1.0737.
    let report = when_scored(
        &log,
        ReportQuery {
            as_of: Some(date("2024-07-02")),
            ..query(FxPolicy::PeriodAverage)
        },
    );
    then_counted(&report, "FRA", "1000000.00", 1);
    // With every fixing of the half-year: mean 1.07712.
    let report = when_scored(&log, query(FxPolicy::PeriodAverage));
    then_counted(&report, "FRA", "996824.87", 1);
}

// ---------------------------------------------------------------------------------------------
// Gaps

fn gaps_scenario() -> Log {
    let mut log = Log::new();
    log.given(&[
        // DEU: 10 days (announced → delivered), 20 days (committed → delivered), and one
        // never delivered.
        announced("deu-1-a", "deu-1", "DEU", "2024-01-01").eur("100.00"),
        committed("deu-1-c", "deu-1", "DEU", "2024-01-05").eur("100.00"),
        delivered("deu-1-d", "deu-1", "DEU", "2024-01-11").eur("60.00"),
        delivered("deu-1-e", "deu-1", "DEU", "2024-01-30").eur("40.00"),
        committed("deu-2-c", "deu-2", "DEU", "2024-02-01").eur("200.00"),
        delivered("deu-2-d", "deu-2", "DEU", "2024-02-21").eur("200.00"),
        announced("deu-3-a", "deu-3", "DEU", "2024-03-01").eur("50.00"),
        // FRA: 5, 7 and 30 days; one confirmed 15 days after its announcement.
        announced("fra-1-a", "fra-1", "FRA", "2024-03-01").eur("10.00"),
        delivered("fra-1-d", "fra-1", "FRA", "2024-03-06").eur("10.00"),
        confirmed("fra-1-k", "fra-1", "FRA", "2024-03-16").eur("10.00"),
        announced("fra-2-a", "fra-2", "FRA", "2024-03-01").eur("20.00"),
        delivered("fra-2-d", "fra-2", "FRA", "2024-03-08").eur("20.00"),
        announced("fra-3-a", "fra-3", "FRA", "2024-03-01").eur("30.00"),
        delivered("fra-3-d", "fra-3", "FRA", "2024-03-31").eur("30.00"),
        // POL: announced only.
        announced("pol-1-a", "pol-1", "POL", "2024-04-01").eur("5.00"),
    ]);
    log
}

#[test]
fn gaps_give_euros_per_stage_and_leave_out_stages_with_nothing_recorded() {
    let log = gaps_scenario();
    let report = gaps_report(&log.ledger, event_date());
    let donors: Vec<&str> = report.rows.iter().map(|r| r.donor.as_str()).collect();
    assert_eq!(donors, ["DEU", "FRA", "POL"]);
    let stages = |p: &str| -> BTreeMap<Stage, String> {
        report
            .rows
            .iter()
            .find(|r| r.donor == party(p))
            .expect("row")
            .stages
            .iter()
            .map(|(s, v)| (*s, v.to_string()))
            .collect()
    };
    let s = |pairs: &[(Stage, &str)]| -> BTreeMap<Stage, String> {
        pairs.iter().map(|(k, v)| (*k, (*v).to_owned())).collect()
    };
    assert_eq!(
        stages("DEU"),
        s(&[
            (Stage::Announced, "150.00"),
            (Stage::Committed, "300.00"),
            (Stage::Delivered, "300.00"),
        ])
    );
    assert_eq!(
        stages("FRA"),
        s(&[
            (Stage::Announced, "60.00"),
            (Stage::Delivered, "60.00"),
            (Stage::Confirmed, "10.00"),
        ])
    );
    assert_eq!(stages("POL"), s(&[(Stage::Announced, "5.00")]));
    let totals: BTreeMap<Stage, String> = report
        .totals
        .iter()
        .map(|(k, v)| (*k, v.to_string()))
        .collect();
    assert_eq!(
        totals,
        s(&[
            (Stage::Announced, "215.00"),
            (Stage::Committed, "300.00"),
            (Stage::Delivered, "360.00"),
            (Stage::Confirmed, "10.00"),
        ])
    );
    assert!(!report.totals.contains_key(&Stage::Allocated));
    let deu = &report.rows[0];
    assert_eq!(deu.contributions, 3);
}

#[test]
fn gaps_give_median_days_to_delivery_over_contributions_with_both_dates() {
    let log = gaps_scenario();
    let report = gaps_report(&log.ledger, event_date());
    let deu = &report.rows[0];
    // 10 and 20 days (the first delivery of deu-1 counts, not the second): median 15.
    assert_eq!(deu.median_days_to_delivered, Some(dec("15")));
    assert_eq!(deu.delivered_contributions, 2);
    assert_eq!(deu.median_days_to_confirmed, None);
    assert_eq!(deu.confirmed_contributions, 0);
    let fra = &report.rows[1];
    // 5, 7 and 30: median 7.
    assert_eq!(fra.median_days_to_delivered, Some(dec("7")));
    assert_eq!(fra.median_days_to_confirmed, Some(dec("15")));
    assert_eq!(fra.confirmed_contributions, 1);
    let pol = &report.rows[2];
    assert_eq!(pol.median_days_to_delivered, None);
    assert_eq!(pol.delivered_contributions, 0);
    // All donors: 5, 7, 10, 20, 30 → 10.
    assert_eq!(report.median_days_to_delivered, Some(dec("10")));
    assert_eq!(report.median_days_to_confirmed, Some(dec("15")));
}

#[test]
fn gaps_respect_as_of_and_as_known_on() {
    let mut log = gaps_scenario();
    log.at("2024-12-01T00:00:00Z")
        .given(&[delivered("pol-1-d", "pol-1", "POL", "2024-04-11").eur("5.00")]);
    let report = gaps_report(&log.ledger, as_of("2024-01-31"));
    let donors: Vec<&str> = report.rows.iter().map(|r| r.donor.as_str()).collect();
    assert_eq!(donors, ["DEU"]);
    assert_eq!(report.rows[0].contributions, 1);
    assert_eq!(report.rows[0].median_days_to_delivered, Some(dec("10")));
    assert_eq!(
        report.rows[0].stages.get(&Stage::Delivered),
        Some(&dec("100.00"))
    );
    // Before POL's delivery was recorded, POL had no delivery.
    let report = gaps_report(&log.ledger, as_known_on(ADOPTED_AT));
    let pol = report
        .rows
        .iter()
        .find(|r| r.donor == party("POL"))
        .expect("POL");
    assert_eq!(pol.median_days_to_delivered, None);
    assert!(!pol.stages.contains_key(&Stage::Delivered));
    let report = gaps_report(&log.ledger, event_date());
    let pol = report
        .rows
        .iter()
        .find(|r| r.donor == party("POL"))
        .expect("POL");
    assert_eq!(pol.median_days_to_delivered, Some(dec("10")));
}

#[test]
fn gaps_list_unconverted_values_and_never_turn_them_into_zero() {
    let mut log = Log::new();
    log.given(&[
        announced("deu-1-a", "deu-1", "DEU", "2024-07-10").usd("1082500.00"),
        committed("deu-1-c", "deu-1", "DEU", "2024-11-15").usd("1000.00"),
        // NLD's only value has no rate.
        committed("nld-1-c", "nld-1", "NLD", "2024-11-15").usd("1000.00"),
        // An amendment adds to the stage it corrects.
        amended("deu-1-x", "deu-1", "DEU", "2024-07-20", "deu-1-a").usd("-108250.00"),
    ]);
    let report = gaps_report(&log.ledger, event_date());
    let deu = report
        .rows
        .iter()
        .find(|r| r.donor == party("DEU"))
        .expect("DEU");
    assert_eq!(deu.stages.get(&Stage::Announced), Some(&dec("900000.00")));
    assert!(
        !deu.stages.contains_key(&Stage::Committed),
        "{:?}",
        deu.stages
    );
    assert_eq!(deu.unconverted, 1);
    let nld = report
        .rows
        .iter()
        .find(|r| r.donor == party("NLD"))
        .expect("NLD");
    assert!(nld.stages.is_empty(), "{:?}", nld.stages);
    assert_eq!(nld.unconverted, 1);
    assert_eq!(report.unconverted.len(), 2);
    assert!(report.unconverted.iter().all(|u| u.reason.contains("USD")));
}

#[test]
fn median_days_is_the_middle_value_or_the_mean_of_the_two_middle_ones() {
    assert_eq!(median_days(&mut []), None);
    assert_eq!(median_days(&mut [12]), Some(dec("12")));
    assert_eq!(median_days(&mut [10, 20]), Some(dec("15")));
    assert_eq!(median_days(&mut [20, 10]), Some(dec("15")));
    assert_eq!(median_days(&mut [1, 2]), Some(dec("1.5")));
    assert_eq!(median_days(&mut [30, 5, 7]), Some(dec("7")));
    assert_eq!(median_days(&mut [40, 1, 3, 2]), Some(dec("2.5")));
}

// ---------------------------------------------------------------------------------------------
// Anomalies

fn anomalies_scenario() -> Log {
    let mut log = Log::new();
    log.given(&[
        // Clean: announced then committed.
        announced("pol-1-a", "pol-1", "POL", "2024-03-01").eur("10.00"),
        committed("pol-1-c", "pol-1", "POL", "2024-03-05").eur("10.00"),
        // Delivered above what was committed, but only from June.
        announced("deu-1-a", "deu-1", "DEU", "2024-01-01").eur("100.00"),
        committed("deu-1-c", "deu-1", "DEU", "2024-01-02").eur("100.00"),
        stage("deu-1-l", "deu-1", "DEU", Stage::Allocated, "2024-01-03").eur("100.00"),
        delivered("deu-1-d", "deu-1", "DEU", "2024-06-01").eur("150.00"),
        // A USD value with no fixing within 7 days.
        announced("fra-1-a", "fra-1", "FRA", "2024-11-14").eur("10.00"),
        committed("fra-1-c", "fra-1", "FRA", "2024-11-15").usd("5000.00"),
    ]);
    log
}

fn kinds(report: &steadfast_domain::AnomaliesReport, c: &str) -> BTreeSet<AnomalyRowKind> {
    report
        .rows
        .iter()
        .filter(|r| r.contribution == cid(c))
        .map(|r| r.kind)
        .collect()
}

#[test]
fn anomalies_list_unconverted_values_with_the_ledgers_own_anomalies() {
    let log = anomalies_scenario();
    let report = anomalies_report(&log.ledger, event_date());
    assert!(kinds(&report, "pol-1").is_empty(), "{:?}", report.rows);
    assert_eq!(
        kinds(&report, "deu-1"),
        BTreeSet::from([AnomalyRowKind::Ledger(AnomalyKind::DeliveredAboveCommitted)])
    );
    assert_eq!(
        kinds(&report, "fra-1"),
        BTreeSet::from([AnomalyRowKind::Unconverted])
    );
    let row = report
        .rows
        .iter()
        .find(|r| r.kind == AnomalyRowKind::Unconverted)
        .expect("unconverted row");
    assert_eq!(row.event, Some(eid("fra-1-c")));
    assert_eq!(row.donor, party("FRA"));
    for needle in ["USD", "5000.00", "event-date", "2024-11-15"] {
        assert!(
            row.reason.contains(needle),
            "{needle} missing from {}",
            row.reason
        );
    }
    // Under period-average the value has a rate: no longer an anomaly.
    let report = anomalies_report(&log.ledger, query(FxPolicy::PeriodAverage));
    assert!(kinds(&report, "fra-1").is_empty(), "{:?}", report.rows);
}

#[test]
fn anomalies_respect_as_of() {
    let log = anomalies_scenario();
    let report = anomalies_report(&log.ledger, as_of("2024-05-31"));
    assert!(report.rows.is_empty(), "{:?}", report.rows);
    let report = anomalies_report(&log.ledger, as_of("2024-06-01"));
    assert_eq!(
        kinds(&report, "deu-1"),
        BTreeSet::from([AnomalyRowKind::Ledger(AnomalyKind::DeliveredAboveCommitted)])
    );
    assert!(kinds(&report, "fra-1").is_empty());
    // A contribution whose first event is after the date is not seen at all.
    let report = anomalies_report(&log.ledger, as_of("2024-11-14"));
    assert!(kinds(&report, "fra-1").is_empty(), "{:?}", report.rows);
    // Skipped stages as the date sees them: committed with no announcement yet recorded.
    let mut log = Log::new();
    log.given(&[
        committed("nld-1-c", "nld-1", "NLD", "2024-02-01").eur("1.00"),
        announced("nld-1-a", "nld-1", "NLD", "2024-03-01").eur("1.00"),
    ]);
    let early = anomalies_report(&log.ledger, as_of("2024-02-15"));
    assert_eq!(
        kinds(&early, "nld-1"),
        BTreeSet::from([AnomalyRowKind::Ledger(AnomalyKind::SkippedStage)])
    );
    let late = anomalies_report(&log.ledger, event_date());
    assert_eq!(
        kinds(&late, "nld-1"),
        BTreeSet::from([AnomalyRowKind::Ledger(AnomalyKind::OutOfOrderDates)])
    );
}

// ---------------------------------------------------------------------------------------------
// Properties: totals are sums of per-event rounded values

/// The USD fixing used for a July 2024 day under event-date (the latest on or before it).
fn usd_rate_on(day: Date) -> (Date, Decimal) {
    USD_JULY_2024
        .iter()
        .map(|(d, r)| (date(d), dec(r)))
        .rev()
        .find(|(d, _)| *d <= day)
        .expect("a July fixing")
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn counted_and_gaps_totals_are_sums_of_per_event_rounded_values(
        values in prop::collection::vec((1i64..=19, 1i64..=10_000_000_000i64, any::<bool>()), 1..12)
    ) {
        let mut log = Log::new();
        let mut expected = Decimal::ZERO;
        let mut cmds = Vec::new();
        for (i, (day, cents, in_usd)) in values.iter().enumerate() {
            let on = date("2024-07-01").checked_add(jiff::Span::new().days(day - 1)).expect("date");
            let amount = Decimal::new(*cents, 2);
            let currency = if *in_usd { "USD" } else { "EUR" };
            let rate = if *in_usd { usd_rate_on(on).1 } else { Decimal::ONE };
            expected += to_euros(amount, rate).expect("converted");
            cmds.push(
                committed(&format!("e{i}"), &format!("c{i}"), "DEU", &on.to_string())
                    .money(&amount.to_string(), currency),
            );
        }
        log.given(&cmds);
        let report = when_scored(&log, event_date());
        let deu = row(&report, "DEU");
        prop_assert_eq!(deu.counted, expected);
        prop_assert_eq!(deu.counted.scale(), 2);
        prop_assert_eq!(deu.events, values.len() as u64);
        let gaps = gaps_report(&log.ledger, event_date());
        prop_assert_eq!(gaps.totals.get(&Stage::Committed).copied(), Some(expected));
        prop_assert_eq!(gaps.rows[0].stages.get(&Stage::Committed).copied(), Some(expected));
        // The same ledger and query give the same figures again.
        prop_assert_eq!(when_scored(&log, event_date()), report);
    }
}

// ---------------------------------------------------------------------------------------------
// Corrections to nothing, withdrawals, untimed deliveries, earlier fixings, records

use steadfast_domain::Quantity;

/// Real ECB JPY fixings (units per euro) of July 2024, the days of `USD_JULY_2024`.
const JPY_JULY_2024: [(&str, &str); 12] = [
    ("2024-07-01", "173.15"),
    ("2024-07-02", "173.31"),
    ("2024-07-03", "174.18"),
    ("2024-07-04", "173.84"),
    ("2024-07-05", "174.06"),
    ("2024-07-08", "174.37"),
    ("2024-07-09", "174.2"),
    ("2024-07-10", "174.79"),
    ("2024-07-11", "175.39"),
    ("2024-07-12", "172.87"),
    ("2024-07-15", "172.34"),
    ("2024-07-16", "172.65"),
];

/// A donor's euros at a stage in the gaps report (event-date, no view).
fn gaps_at(log: &Log, donor: &str, stage: Stage) -> Option<Decimal> {
    gaps_report(&log.ledger, event_date())
        .rows
        .iter()
        .find(|r| r.donor == party(donor))
        .and_then(|r| r.stages.get(&stage).copied())
}

/// One commitment and its corrections: the day index into the July fixings, the amount in
/// minor units, JPY or USD, and signed deltas (in minor units) each targeting the commitment
/// or the previous correction.
type Corrected = (usize, i64, bool, Vec<(i64, bool)>);

fn corrected_commitment() -> impl Strategy<Value = Corrected> {
    (
        0usize..12,
        1i64..=2_000_000_000,
        any::<bool>(),
        prop::collection::vec(
            (
                prop_oneof![
                    -2_000_000_000i64..=2_000_000_000,
                    -3i64..=3,
                    Just(-2_000_000_000i64)
                ],
                any::<bool>(),
            ),
            0..5,
        ),
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// However a commitment is corrected (never below zero), it counts the conversion of its
    /// net amount at its date's rate, and never less than zero — not a stray negative cent.
    #[test]
    fn a_corrected_commitment_counts_the_conversion_of_its_net_and_never_below_zero(
        commitments in prop::collection::vec(corrected_commitment(), 1..5)
    ) {
        let mut log = Log::new();
        log.fixings("JPY", &JPY_JULY_2024);
        let mut expected = Decimal::ZERO;
        let mut cmds = Vec::new();
        for (i, (day, minor, in_jpy, deltas)) in commitments.iter().enumerate() {
            let (on, usd_rate) = USD_JULY_2024[*day];
            let (currency, rate, scale) = if *in_jpy {
                ("JPY", JPY_JULY_2024[*day].1, 0)
            } else {
                ("USD", usd_rate, 2)
            };
            let c = format!("pol-{i}");
            let root = format!("pol-{i}-c");
            cmds.push(committed(&root, &c, "POL", on).money(
                &Decimal::new(*minor, scale).to_string(),
                currency,
            ));
            let mut net = *minor;
            let mut target = root.clone();
            let start = date(on);
            for (k, (delta, chain)) in deltas.iter().enumerate() {
                // Never below zero, never zero.
                let delta = (*delta).max(-net);
                if delta == 0 {
                    continue;
                }
                net += delta;
                let id = format!("pol-{i}-x{k}");
                let when = start.checked_add(jiff::Span::new().days(k as i64 * 3)).expect("date");
                cmds.push(
                    amended(&id, &c, "POL", &when.to_string(), &target)
                        .money(&Decimal::new(delta, scale).to_string(), currency),
                );
                if *chain {
                    target = id;
                }
            }
            expected += to_euros(Decimal::new(net, scale), dec(rate)).expect("converted");
        }
        log.given(&cmds);
        let report = when_scored(&log, event_date());
        let pol = row(&report, "POL");
        prop_assert!(pol.counted >= Decimal::ZERO, "{:?}", pol);
        prop_assert_eq!(pol.counted, expected);
        prop_assert_eq!(pol.events, commitments.len() as u64);
        prop_assert_eq!(pol.by_period.values().copied().sum::<Decimal>(), expected);
        prop_assert_eq!(gaps_at(&log, "POL", Stage::Committed), Some(expected));
        prop_assert!(report.unconverted.is_empty(), "{:?}", report.unconverted);
    }
}

#[test]
fn gaps_show_what_a_withdrawal_cancelled_pledged_minus_delivered_and_nothing_otherwise() {
    let mut log = Log::new();
    log.given(&[
        // Committed 300, announced 500 (the commitment is the pledge), delivered 120.
        announced("deu-1-a", "deu-1", "DEU", "2024-01-10").eur("500.00"),
        committed("deu-1-c", "deu-1", "DEU", "2024-02-01").eur("300.00"),
        delivered("deu-1-d", "deu-1", "DEU", "2024-04-01").eur("120.00"),
        withdrawn("deu-1-w", "deu-1", "DEU", "2024-05-01"),
        // Announced only, nothing delivered: the announcement is the pledge.
        announced("fra-1-a", "fra-1", "FRA", "2024-03-01").eur("50.00"),
        withdrawn("fra-1-w", "fra-1", "FRA", "2024-03-15"),
        // Delivered more than committed, then withdrawn: nothing cancelled, never negative.
        committed("nld-1-c", "nld-1", "NLD", "2024-02-01").eur("10.00"),
        delivered("nld-1-d", "nld-1", "NLD", "2024-03-01").eur("15.00"),
        withdrawn("nld-1-w", "nld-1", "NLD", "2024-04-01"),
        // Not withdrawn.
        committed("pol-1-c", "pol-1", "POL", "2024-02-01").eur("70.00"),
        delivered("pol-1-d", "pol-1", "POL", "2024-03-01").eur("20.00"),
    ]);
    let report = gaps_report(&log.ledger, event_date());
    let withdrawn_of = |p: &str| {
        report
            .rows
            .iter()
            .find(|r| r.donor == party(p))
            .expect("row")
            .stages
            .get(&Stage::Withdrawn)
            .map(ToString::to_string)
    };
    assert_eq!(withdrawn_of("DEU").as_deref(), Some("180.00"));
    assert_eq!(withdrawn_of("FRA").as_deref(), Some("50.00"));
    assert_eq!(withdrawn_of("NLD").as_deref(), Some("0.00"));
    assert_eq!(withdrawn_of("POL"), None, "not withdrawn: absent, not zero");
    assert_eq!(
        report
            .totals
            .get(&Stage::Withdrawn)
            .map(ToString::to_string)
            .as_deref(),
        Some("230.00")
    );
    // The stages themselves are untouched by the withdrawal.
    assert_eq!(gaps_at(&log, "DEU", Stage::Committed), Some(dec("300.00")));
    assert_eq!(gaps_at(&log, "DEU", Stage::Announced), Some(dec("500.00")));
    // Before the withdrawal (as of, and as known on), nothing is cancelled.
    let before = gaps_report(&log.ledger, as_of("2024-04-30"));
    let deu = before
        .rows
        .iter()
        .find(|r| r.donor == party("DEU"))
        .expect("DEU");
    assert!(
        !deu.stages.contains_key(&Stage::Withdrawn),
        "{:?}",
        deu.stages
    );
    assert!(
        before
            .rows
            .iter()
            .find(|r| r.donor == party("FRA"))
            .is_some_and(|r| r.stages.contains_key(&Stage::Withdrawn)),
        "FRA withdrew on 2024-03-15"
    );
    let mut later = Log::new();
    later
        .given(&[committed("deu-1-c", "deu-1", "DEU", "2024-02-01").eur("300.00")])
        .at("2024-09-01T00:00:00Z")
        .given(&[withdrawn("deu-1-w", "deu-1", "DEU", "2024-05-01")]);
    let known = gaps_report(&later.ledger, as_known_on(ADOPTED_AT));
    assert!(
        !known.totals.contains_key(&Stage::Withdrawn),
        "{:?}",
        known.totals
    );
    assert_eq!(
        gaps_at(&later, "DEU", Stage::Withdrawn),
        Some(dec("300.00"))
    );
}

#[test]
fn a_delivery_dated_before_its_announcement_is_left_out_of_the_median_but_still_a_delivery() {
    let mut log = Log::new();
    log.given(&[
        // Delivered 10 days after the announcement.
        announced("deu-1-a", "deu-1", "DEU", "2024-03-01").eur("10.00"),
        delivered("deu-1-d", "deu-1", "DEU", "2024-03-11").eur("10.00"),
        // Delivered 10 days *before* it was announced: an anomaly, not a delay of -10 days.
        announced("deu-2-a", "deu-2", "DEU", "2024-03-01").eur("10.00"),
        delivered("deu-2-d", "deu-2", "DEU", "2024-02-20").eur("10.00"),
        // FRA's only delivery predates its announcement.
        announced("fra-1-a", "fra-1", "FRA", "2024-05-01").eur("10.00"),
        delivered("fra-1-d", "fra-1", "FRA", "2024-04-01").eur("10.00"),
        confirmed("fra-1-k", "fra-1", "FRA", "2024-04-15").eur("10.00"),
    ]);
    let report = gaps_report(&log.ledger, event_date());
    let deu = &report.rows[0];
    assert_eq!(deu.donor, party("DEU"));
    // Only the 10 days: with the -10 the median would be 0.
    assert_eq!(deu.median_days_to_delivered, Some(dec("10")));
    assert_eq!(deu.delivered_contributions, 1);
    assert_eq!(
        deu.with_delivery, 2,
        "the early delivery is still a delivery"
    );
    let fra = &report.rows[1];
    assert_eq!(fra.donor, party("FRA"));
    assert_eq!(fra.median_days_to_delivered, None);
    assert_eq!(fra.delivered_contributions, 0);
    assert_eq!(fra.with_delivery, 1);
    assert_eq!(
        fra.median_days_to_confirmed, None,
        "confirmed before announced too"
    );
    assert_eq!(fra.with_confirmation, 1);
    // Still counted in euros at its stage.
    assert_eq!(fra.stages.get(&Stage::Delivered), Some(&dec("10.00")));
    assert_eq!(report.median_days_to_delivered, Some(dec("10")));
    assert_eq!(report.with_delivery, 3);
    assert_eq!(report.median_days_to_confirmed, None);
    assert_eq!(report.with_confirmation, 1);
}

#[test]
fn gaps_list_a_weekend_value_with_the_date_of_the_fixing_used() {
    let mut log = Log::new();
    log.given(&[
        // Sunday: Friday 2024-07-12's 1.089.
        announced("fra-1-a", "fra-1", "FRA", "2024-07-14").usd("1089000.00"),
        // A fixing day: not listed.
        delivered("fra-1-d", "fra-1", "FRA", "2024-07-15").usd("1090.70"),
        // Euros need no fixing: not listed.
        announced("deu-1-a", "deu-1", "DEU", "2024-07-13").eur("5.00"),
    ]);
    let report = gaps_report(&log.ledger, event_date());
    assert_eq!(
        report.earlier_fixings.len(),
        1,
        "{:?}",
        report.earlier_fixings
    );
    let e = &report.earlier_fixings[0];
    assert_eq!(e.event, eid("fra-1-a"));
    assert_eq!(e.contribution, cid("fra-1"));
    assert_eq!(
        (e.effective_date, e.rate_date),
        (date("2024-07-14"), date("2024-07-12"))
    );
    assert_eq!(e.rate, dec("1.089"));
    assert_eq!(e.eur.to_string(), "1000000.00");
    assert_eq!((e.amount, e.currency), (dec("1089000.00"), cur("USD")));
    assert_eq!(
        gaps_at(&log, "FRA", Stage::Announced),
        Some(dec("1000000.00"))
    );
    assert_eq!(gaps_at(&log, "FRA", Stage::Delivered), Some(dec("1000.00")));
    // Under period-average no single day's fixing is used: nothing to list.
    let report = gaps_report(&log.ledger, query(FxPolicy::PeriodAverage));
    assert!(
        report.earlier_fixings.is_empty(),
        "{:?}",
        report.earlier_fixings
    );
}

#[test]
fn records_count_what_could_not_be_counted_and_events_only_what_was() {
    let mut log = Log::new();
    let six_aircraft = Quantity {
        value: dec("6"),
        unit: "aircraft".to_owned(),
    };
    log.given(&[
        // Counted.
        committed("deu-1-c", "deu-1", "DEU", "2024-03-01").eur("100.00"),
        // A quantity only: a record, not counted.
        committed("deu-2-c", "deu-2", "DEU", "2024-03-01").with(|s| {
            s.quantity = Some(six_aircraft.clone());
            s.category = Category::InKindDonation;
        }),
        // No USD fixing within 7 days: a record, unconverted.
        committed("deu-3-c", "deu-3", "DEU", "2024-11-15").usd("5000.00"),
        // A valuation basis the framework does not accept: a record, not counted.
        committed("deu-4-c", "deu-4", "DEU", "2024-03-01")
            .eur("3000.00")
            .category(Category::InKindDonation)
            .basis(ValuationBasis::BookValue),
        // Not records at the stage in the period: another stage, outside the period, an
        // ineligible category.
        announced("deu-1-a", "deu-1", "DEU", "2024-02-01").eur("1.00"),
        committed("deu-5-c", "deu-5", "DEU", "2025-03-01").eur("1.00"),
        committed("deu-6-c", "deu-6", "DEU", "2024-03-01")
            .eur("1.00")
            .category(Category::FinancialAid),
        // POL's only record is a quantity: short (a record), not no-records.
        committed("pol-1-c", "pol-1", "POL", "2024-03-01").with(|s| {
            s.quantity = Some(six_aircraft.clone());
            s.category = Category::InKindDonation;
        }),
        // FRA's only record is unconverted.
        committed("fra-1-c", "fra-1", "FRA", "2024-11-15").usd("5000.00"),
    ]);
    let report = when_scored(&log, event_date());
    let deu = row(&report, "DEU");
    assert_eq!((deu.events, deu.records), (1, 4), "{deu:?}");
    assert_eq!(deu.counted.to_string(), "100.00");
    let pol = row(&report, "POL");
    assert_eq!((pol.events, pol.records), (0, 1), "{pol:?}");
    assert_eq!(pol.status, ShareStatus::Short);
    assert_eq!(pol.counted.to_string(), "0.00");
    let fra = row(&report, "FRA");
    assert_eq!((fra.events, fra.records), (0, 1), "{fra:?}");
    assert_eq!(fra.status, ShareStatus::Short);
    let isl = row(&report, "ISL");
    assert_eq!((isl.events, isl.records), (0, 0));
    // What was not counted is listed.
    let listed: BTreeSet<&str> = report
        .not_counted
        .iter()
        .map(|n| n.event.as_str())
        .collect();
    assert_eq!(
        listed,
        BTreeSet::from(["deu-2-c", "deu-4-c", "deu-6-c", "pol-1-c"])
    );
    assert!(
        report
            .not_counted
            .iter()
            .filter(|n| ["deu-2-c", "pol-1-c"].contains(&n.event.as_str()))
            .all(|n| n.reason.contains("quantity")),
        "{:?}",
        report.not_counted
    );
    let unconverted: BTreeSet<&str> = report
        .unconverted
        .iter()
        .map(|u| u.event.as_str())
        .collect();
    assert_eq!(unconverted, BTreeSet::from(["deu-3-c", "fra-1-c"]));
    // Under period-average the November values have a rate: records become events.
    let report = when_scored(&log, query(FxPolicy::PeriodAverage));
    let deu = row(&report, "DEU");
    assert_eq!((deu.events, deu.records), (2, 4), "{deu:?}");
    assert_eq!(
        (row(&report, "FRA").events, row(&report, "FRA").records),
        (1, 1)
    );
}

// ---------------------------------------------------------------------------------------------
// Anomalies: the unfiltered fast path and the filtered rebuild agree

/// Every kind of anomaly and correction, in several currencies.
fn many_anomalies() -> Log {
    let mut log = anomalies_scenario();
    log.given(&[
        // Skipped stage, then out-of-order dates.
        committed("nld-1-c", "nld-1", "NLD", "2024-02-01").eur("1.00"),
        announced("nld-1-a", "nld-1", "NLD", "2024-03-01").eur("1.00"),
        // Confirmed different from delivered, confirmed without its condition.
        announced("bel-1-a", "bel-1", "BEL", "2024-03-01").eur("100.00"),
        delivered("bel-1-d", "bel-1", "BEL", "2024-04-01").eur("100.00"),
        stage("bel-1-k", "bel-1", "BEL", Stage::Confirmed, "2024-04-10").eur("90.00"),
        // In kind without a valuation basis.
        announced("est-1-a", "est-1", "EST", "2024-03-01")
            .eur("5.00")
            .category(Category::InKindDonation),
        // Amended, amended again, withdrawn.
        announced("deu-2-a", "deu-2", "DEU", "2024-07-10").usd("1082500.00"),
        committed("deu-2-c", "deu-2", "DEU", "2024-07-11").usd("1000.00"),
        amended("deu-2-x", "deu-2", "DEU", "2024-07-12", "deu-2-c").usd("-1000.00"),
        amended("deu-2-y", "deu-2", "DEU", "2024-07-15", "deu-2-a").usd("5.00"),
        withdrawn("deu-2-w", "deu-2", "DEU", "2024-08-01"),
        // Unconverted (no CAD rate at all), also on a weekend.
        committed("lux-1-c", "lux-1", "LUX", "2024-07-13").money("7000.00", "CAD"),
        // Delivered above committed only once the commitment is corrected down.
        committed("pol-2-c", "pol-2", "POL", "2024-03-01").eur("100.00"),
        delivered("pol-2-d", "pol-2", "POL", "2024-04-01").eur("100.00"),
        amended("pol-2-x", "pol-2", "POL", "2024-04-15", "pol-2-c").eur("-20.00"),
    ]);
    log.at("2024-09-01T00:00:00Z")
        .given(&[delivered("nld-1-d", "nld-1", "NLD", "2024-05-01").eur("3.00")]);
    log
}

#[test]
fn anomalies_with_a_view_that_keeps_everything_equal_those_with_no_view() {
    let log = many_anomalies();
    for policy in FxPolicy::ALL {
        let plain = anomalies_report(&log.ledger, query(policy));
        assert!(plain.rows.len() >= 6, "{:?}", plain.rows);
        for view in [
            ReportQuery {
                as_of: Some(date("2999-12-31")),
                ..query(policy)
            },
            ReportQuery {
                as_known_on: Some(at("2999-12-31T23:59:59Z")),
                ..query(policy)
            },
            ReportQuery {
                as_of: Some(date("2999-12-31")),
                as_known_on: Some(at("2999-12-31T23:59:59Z")),
                ..query(policy)
            },
        ] {
            let filtered = anomalies_report(&log.ledger, view.clone());
            assert_eq!(filtered.rows, plain.rows, "{policy} {view:?}");
            assert_eq!(filtered.coverage, plain.coverage, "{policy} {view:?}");
        }
    }
    // The correction is what makes pol-2 deliver above its commitment.
    let above = AnomalyRowKind::Ledger(AnomalyKind::DeliveredAboveCommitted);
    let report = anomalies_report(&log.ledger, event_date());
    assert!(
        kinds(&report, "pol-2").contains(&above),
        "{:?}",
        report.rows
    );
    let before = anomalies_report(&log.ledger, as_of("2024-04-14"));
    assert!(
        !kinds(&before, "pol-2").contains(&above),
        "{:?}",
        before.rows
    );
    let kinds: BTreeSet<AnomalyRowKind> = report.rows.iter().map(|r| r.kind).collect();
    for kind in [
        AnomalyRowKind::Unconverted,
        AnomalyRowKind::Ledger(AnomalyKind::SkippedStage),
        AnomalyRowKind::Ledger(AnomalyKind::OutOfOrderDates),
        AnomalyRowKind::Ledger(AnomalyKind::DeliveredAboveCommitted),
        AnomalyRowKind::Ledger(AnomalyKind::ConfirmedDiffersFromDelivered),
    ] {
        assert!(kinds.contains(&kind), "{kind:?} missing from {kinds:?}");
    }
}

// ---------------------------------------------------------------------------------------------
// Counting rules: reached and literal, and a framework revised from one to the other

#[test]
fn given_a_delivery_without_a_commitment_when_counting_by_stage_reached_then_it_counts_as_committed()
 {
    let mut log = Log::new();
    log.given(&[
        delivered("deu-1-d", "deu-1", "DEU", "2024-03-01").eur("100000.00"),
        committed("fra-1-c", "fra-1", "FRA", "2024-02-01").eur("50000.00"),
        delivered("fra-1-d", "fra-1", "FRA", "2024-05-01").eur("50000.00"),
    ]);
    let q = event_date();
    let literal =
        fair_share_report(&log.ledger, &framework_id(), None, None, q.clone()).expect("report");
    assert_eq!(literal.counting, steadfast_domain::Counting::Literal);
    then_counted(&literal, "DEU", "0.00", 0);
    assert_eq!(row(&literal, "DEU").status, ShareStatus::NoRecords);
    then_counted(&literal, "FRA", "50000.00", 1);
    let reached = fair_share_report(
        &log.ledger,
        &framework_id(),
        None,
        Some(steadfast_domain::Counting::Reached),
        q,
    )
    .expect("report");
    // DEU's delivery counts as committed; FRA's delivery of what it committed is not counted
    // twice.
    then_counted(&reached, "DEU", "100000.00", 1);
    then_counted(&reached, "FRA", "50000.00", 1);
}

#[test]
fn given_a_framework_revised_later_when_reported_as_known_before_then_it_counts_as_adopted() {
    let mut log = Log::new();
    log.given(&[delivered("deu-1-d", "deu-1", "DEU", "2024-03-01").eur("100000.00")]);
    log.at("2024-09-01T12:00:00Z");
    let mut draft = Draft::new(&log.ledger);
    let revision = steadfast_domain::FrameworkRevised {
        framework: framework_id(),
        revision: "count-reached".to_owned(),
        revised_on: date("2024-09-01"),
        counting: Some(steadfast_domain::Counting::Reached),
        add_eligible_categories: vec![Category::MilitaryUnspecified],
        reason: "count what has reached the stage".to_owned(),
    };
    assert_eq!(draft.revise_framework(revision.clone()), Ok(true));
    let events = draft.into_events();
    log.apply(events);
    // The same revision again is nothing new; another under the same label is refused.
    let mut draft = Draft::new(&log.ledger);
    assert_eq!(draft.revise_framework(revision.clone()), Ok(false));
    let changed = steadfast_domain::FrameworkRevised {
        reason: "another reason".to_owned(),
        ..revision
    };
    assert!(draft.revise_framework(changed).is_err());

    let before = fair_share_report(
        &log.ledger,
        &framework_id(),
        None,
        None,
        as_known_on("2024-08-01T00:00:00Z"),
    )
    .expect("report");
    assert_eq!(before.counting, steadfast_domain::Counting::Literal);
    assert!(
        !before
            .framework
            .eligible_categories
            .contains(&Category::MilitaryUnspecified)
    );
    then_counted(&before, "DEU", "0.00", 0);
    let now = when_scored(&log, event_date());
    assert_eq!(now.counting, steadfast_domain::Counting::Reached);
    assert!(
        now.framework
            .eligible_categories
            .contains(&Category::MilitaryUnspecified)
    );
    then_counted(&now, "DEU", "100000.00", 1);
}
