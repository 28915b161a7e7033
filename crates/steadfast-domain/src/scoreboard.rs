//! The accountability projections: the fair-share scoreboard of a framework, the gaps between
//! stages per donor, and the anomalies — each computed from the ledger as effective on a date
//! (`as_of`) and as known at a moment (`as_known_on`), with values converted to euros under a
//! named policy. Nothing here changes a stored event; the same ledger, query and rates always
//! give the same figures.
//!
//! Counting rules (the method every report prints):
//! - a stage event counts at its stage; an amendment counts at the stage of the event it
//!   corrects, from that event's effective date, and is converted at that date's rate;
//! - `as_of` keeps events effective on or before the date, `as_known_on` events recorded at or
//!   before the moment (rates and frameworks included);
//! - each event is converted and rounded to the cent on its own, as corrected by its
//!   amendments (same date, same rate: a net of zero is zero, never a stray cent); totals are
//!   sums of those;
//! - a value with no rate under the policy is *unconverted*: listed with its reason, never
//!   counted as zero;
//! - a withdrawn contribution counts, at the stages before delivery, no more than it delivered.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;

use crate::contribution::{AnomalyKind, ContributionState, HistoryEntry};
use crate::framework::{FrameworkAdopted, fair_shares};
use crate::fx::{Converted, Converter, FxPolicy, RateBasis, RateCut, RateTable, cents};
use crate::ids::{ContributionId, DatasetId, EventId, FrameworkId, PartyId};
use crate::index::site;
use crate::ledger::Ledger;
use crate::money::Currency;
use crate::period::HalfYear;
use crate::vocabulary::{Category, Counting, Stage, ValuationBasis};

mod indexed;
pub mod reconcile;
mod walk;

/// Which events a report sees and how it converts them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReportQuery {
    pub fx_policy: FxPolicy,
    /// Keep events effective on or before this date.
    pub as_of: Option<Date>,
    /// Keep events recorded at or before this moment.
    pub as_known_on: Option<Timestamp>,
    /// Keep contributions of these datasets (every dataset when empty), sorted, each once.
    pub datasets: Vec<DatasetId>,
}

impl ReportQuery {
    pub fn new(fx_policy: FxPolicy) -> Self {
        ReportQuery {
            fx_policy,
            as_of: None,
            as_known_on: None,
            datasets: Vec::new(),
        }
    }

    /// The query limited to `datasets` (every dataset when empty).
    pub fn in_datasets(mut self, mut datasets: Vec<DatasetId>) -> Self {
        datasets.sort();
        datasets.dedup();
        self.datasets = datasets;
        self
    }

    /// Whether the query reads a contribution of `dataset`.
    pub fn reads(&self, dataset: &DatasetId) -> bool {
        self.datasets.is_empty() || self.datasets.binary_search(dataset).is_ok()
    }

    pub fn known(&self, recorded_at: Timestamp) -> bool {
        self.as_known_on.is_none_or(|t| recorded_at <= t)
    }

    pub fn keeps(&self, entry: &HistoryEntry) -> bool {
        self.known(entry.meta.recorded_at)
            && self.as_of.is_none_or(|d| entry.event.effective_date <= d)
    }

    /// The converter for this query: its policy, and the fixings known and published by then.
    pub fn converter<'a>(&self, rates: &'a RateTable) -> Converter<'a> {
        let cut = RateCut {
            known_on: self.as_known_on,
            published_by: self.as_of,
        };
        Converter::new(rates, self.fx_policy, cut)
    }

    fn is_filtered(&self) -> bool {
        self.as_of.is_some() || self.as_known_on.is_some()
    }
}

/// A value the report could not convert, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UnconvertedValue {
    pub contribution: ContributionId,
    pub event: EventId,
    pub donor: PartyId,
    pub stage: Stage,
    pub effective_date: Date,
    /// The event's amount as corrected by its amendments.
    pub amount: Decimal,
    pub currency: Currency,
    pub reason: String,
}

/// A value converted with the fixing of an earlier day than its effective date (a weekend or
/// holiday): the report names the date used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EarlierFixing {
    pub contribution: ContributionId,
    pub event: EventId,
    pub effective_date: Date,
    pub rate_date: Date,
    pub amount: Decimal,
    pub currency: Currency,
    pub rate: Decimal,
    pub eur: Decimal,
}

/// A value the framework's rules leave out although it is at the counted stage.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotCounted {
    pub contribution: ContributionId,
    pub event: EventId,
    pub donor: PartyId,
    pub reason: String,
}

/// How many records a report rests on, and from how many sources.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Coverage {
    pub events: u64,
    pub contributions: u64,
    pub donors: u64,
    /// Distinct source documents (URLs) cited by those events.
    pub sources: u64,
    /// Events that cite no source.
    pub unsourced_events: u64,
    /// The sites the sources are on (host names without `www.`), with how many events cite
    /// each, most cited first (ties by name).
    pub sites: Vec<(String, u64)>,
}

#[derive(Debug, Default)]
struct CoverageCounter<'a> {
    events: u64,
    contributions: BTreeSet<&'a ContributionId>,
    donors: BTreeSet<&'a PartyId>,
    sources: BTreeSet<&'a str>,
    sites: HashMap<&'a str, u64>,
    unsourced: u64,
}

impl<'a> CoverageCounter<'a> {
    fn add(&mut self, state: &'a ContributionState, entry: &'a HistoryEntry) {
        self.events += 1;
        self.contributions.insert(&state.info.contribution);
        self.donors.insert(&state.info.donor);
        match entry.event.source() {
            Some(url) => {
                self.sources.insert(url);
                *self.sites.entry(site(url)).or_default() += 1;
            }
            None => self.unsourced += 1,
        }
    }

    fn finish(self) -> Coverage {
        let mut sites: Vec<(String, u64)> = self
            .sites
            .into_iter()
            .map(|(s, n)| (s.to_ascii_lowercase(), n))
            .collect();
        sites.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Coverage {
            sites,
            events: self.events,
            contributions: self.contributions.len() as u64,
            donors: self.donors.len() as u64,
            sources: self.sources.len() as u64,
            unsourced_events: self.unsourced,
        }
    }
}

/// A participant's standing against its fair share.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ShareStatus {
    /// Exempted by the framework: no fair share.
    Exempt,
    /// Counted at least its fair share.
    Met,
    /// Counted less than its fair share (records that could not be counted included).
    Short,
    /// No record at the stage in the period, in an eligible category.
    NoRecords,
    /// The datasets read do not cover the party: it has no figure there, which is not a zero.
    NotCovered,
}

impl ShareStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            ShareStatus::Exempt => "exempt",
            ShareStatus::Met => "met",
            ShareStatus::Short => "short",
            ShareStatus::NoRecords => "no-records",
            ShareStatus::NotCovered => "not-covered",
        }
    }
}

/// One participant's row of the scoreboard (amounts in euros, to the cent).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FairShareRow {
    pub party: PartyId,
    /// Its exact fraction of the share basis (zero when exempted out of the denominator).
    pub share: Decimal,
    pub fair_share: Decimal,
    pub counted: Decimal,
    /// `counted / fair_share`; `None` when the fair share is zero.
    pub ratio: Option<Decimal>,
    /// What is missing to the fair share (zero once met).
    pub gap: Decimal,
    pub status: ShareStatus,
    /// Stage events counted.
    pub events: u64,
    /// Records at the stage in the period, counted or not (no rate, no value, a refused
    /// valuation basis): `records > events` means something is listed as not counted.
    pub records: u64,
    /// What was counted in each of the framework's reporting periods (by the date each value
    /// counts from); a withdrawal's cap comes off the latest periods first.
    pub by_period: BTreeMap<HalfYear, Decimal>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FairShareTotals {
    pub fair_share: Decimal,
    pub counted: Decimal,
    pub gap: Decimal,
    /// The fair shares of parties exempted but kept in the denominator.
    pub unallocated: Decimal,
    pub participants: u64,
    pub met: u64,
    pub short: u64,
    pub no_records: u64,
    pub not_covered: u64,
    pub exempt: u64,
}

/// A contribution that counting by stage reached could not count (its stages are in more than
/// one currency): it is counted literally, and listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CountedLiterally {
    pub contribution: ContributionId,
    pub donor: PartyId,
    pub reason: String,
}

/// A donor whose counted figures come from more than one dataset: a possible double count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DatasetOverlap {
    pub donor: PartyId,
    pub datasets: Vec<DatasetId>,
}

/// The fair-share scoreboard of one framework.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FairShareReport {
    /// The framework's rules as the query knows them (its revisions applied).
    pub framework: FrameworkAdopted,
    pub stage: Stage,
    /// The counting rule used: the framework's, unless the report asked for another.
    pub counting: Counting,
    pub query: ReportQuery,
    pub rows: Vec<FairShareRow>,
    pub totals: FairShareTotals,
    pub unconverted: Vec<UnconvertedValue>,
    pub earlier_fixings: Vec<EarlierFixing>,
    pub not_counted: Vec<NotCounted>,
    pub coverage: Coverage,
    /// Contributions counted literally under `reached` (stages in several currencies).
    pub counted_literally: Vec<CountedLiterally>,
    /// Donors whose figures come from more than one dataset (possible double counts).
    pub overlaps: Vec<DatasetOverlap>,
}

/// Why a scoreboard cannot be computed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReportError {
    #[error("no framework `{0}` is recorded{1}")]
    UnknownFramework(FrameworkId, String),
    #[error(
        "the stage `{0}` does not accumulate value; choose one of announced, committed, allocated, delivered, confirmed"
    )]
    NotAFlowStage(Stage),
}

/// One stage event as the query sees it: its amount as corrected by the amendments the query
/// keeps, converted at the date it counts from.
struct Valued<'a> {
    entry: &'a HistoryEntry,
    stage: Stage,
    counts_from: Date,
    /// The net amount (never below zero) and its currency; `None` for a quantity only.
    amount: Option<(Decimal, Currency)>,
    value: Option<Result<Converted, String>>,
}

/// The stage events of a contribution the query keeps, each with its amendments folded in.
/// An amendment whose corrected event the query does not keep has nothing to correct.
fn valued<'a>(
    state: &'a ContributionState,
    converter: &mut Converter<'_>,
    query: &ReportQuery,
) -> Vec<Valued<'a>> {
    valued_where(state, converter, query, &|_, _| true)
}

/// [`valued`], for the stage events `wanted` accepts (by stage and the date they count from)
/// only: the others are neither converted nor returned.
fn valued_where<'a>(
    state: &'a ContributionState,
    converter: &mut Converter<'_>,
    query: &ReportQuery,
    wanted: &dyn Fn(Stage, Date) -> bool,
) -> Vec<Valued<'a>> {
    let mut deltas: HashMap<&EventId, Decimal> = HashMap::new();
    for e in &state.history {
        if e.event.stage == Stage::Amended
            && query.keeps(e)
            && let Some(m) = &e.event.money
        {
            let root = &state.root_entry(e).event.event;
            let delta = deltas.entry(root).or_default();
            *delta = delta.saturating_add(m.amount());
        }
    }
    state
        .history
        .iter()
        .filter(|e| {
            e.event.stage.is_flow()
                && wanted(e.event.stage, e.event.effective_date)
                && query.keeps(e)
        })
        .map(|entry| {
            let counts_from = entry.event.effective_date;
            let amount = entry.event.money.map(|m| {
                let delta = deltas.get(&entry.event.event).copied().unwrap_or_default();
                (
                    m.amount().saturating_add(delta).max(Decimal::ZERO),
                    m.currency(),
                )
            });
            let value = amount.map(|(a, c)| converter.convert(a, c, counts_from));
            Valued {
                entry,
                stage: entry.event.stage,
                counts_from,
                amount,
                value,
            }
        })
        .collect()
}

/// Whether the query sees the contribution withdrawn.
fn withdrawn(state: &ContributionState, query: &ReportQuery) -> bool {
    state
        .history
        .iter()
        .any(|e| e.event.stage == Stage::Withdrawn && query.keeps(e))
}

fn unconverted(
    state: &ContributionState,
    v: &Valued<'_>,
    reason: &str,
) -> Option<UnconvertedValue> {
    let (amount, currency) = v.amount?;
    Some(UnconvertedValue {
        contribution: state.info.contribution.clone(),
        event: v.entry.event.event.clone(),
        donor: state.info.donor.clone(),
        stage: v.stage,
        effective_date: v.counts_from,
        amount,
        currency,
        reason: reason.to_owned(),
    })
}

fn earlier(state: &ContributionState, v: &Valued<'_>, c: &Converted) -> Option<EarlierFixing> {
    let (amount, currency) = v.amount?;
    match c.basis {
        RateBasis::Fixing { date } if date != v.counts_from => Some(EarlierFixing {
            contribution: state.info.contribution.clone(),
            event: v.entry.event.event.clone(),
            effective_date: v.counts_from,
            rate_date: date,
            amount,
            currency,
            rate: c.rate,
            eur: c.eur,
        }),
        _ => None,
    }
}

/// Computes the fair-share scoreboard of `framework` at `stage` (the framework's counting
/// stage when `None`).
///
/// It reads the ledger's report index (see the `index` module): only the rows of `stage`, and a
/// contribution's history only where a cached value cannot serve the query.
///
/// `counting` overrides the framework's counting rule. Literal counting reads the ledger's
/// report index (see the `index` module): only the rows of `stage`, and a contribution's
/// history only where a cached value cannot serve the query. Counting by stage reached walks
/// the contributions (see [`crate::counting`]).
pub fn fair_share_report(
    ledger: &Ledger,
    framework: &FrameworkId,
    stage: Option<Stage>,
    counting: Option<Counting>,
    query: ReportQuery,
) -> Result<FairShareReport, ReportError> {
    let (rules, stage) = framework_at(ledger, framework, stage, &query)?;
    let counting = counting.unwrap_or(rules.counting);
    let tally = match counting {
        Counting::Literal => indexed::tally(ledger, &rules, stage, &query),
        Counting::Reached => walk::tally(ledger, &rules, stage, counting, &query),
    };
    Ok(assemble(ledger, &rules, stage, counting, query, tally))
}

/// The framework as the query knows it (its revisions known by then applied), and the stage
/// to count.
fn framework_at(
    ledger: &Ledger,
    framework: &FrameworkId,
    stage: Option<Stage>,
    query: &ReportQuery,
) -> Result<(FrameworkAdopted, Stage), ReportError> {
    let adopted = ledger
        .framework(framework)
        .filter(|f| query.known(f.meta.recorded_at))
        .ok_or_else(|| {
            let when = query
                .as_known_on
                .map(|t| format!(" as known on {t}"))
                .unwrap_or_default();
            ReportError::UnknownFramework(framework.clone(), when)
        })?;
    let rules = adopted.rules_known_on(query.as_known_on);
    let stage = stage.unwrap_or(rules.counting_stage);
    if !stage.is_flow() {
        return Err(ReportError::NotAFlowStage(stage));
    }
    Ok((rules, stage))
}

/// Whether values at `stage` are capped by what a withdrawn contribution delivered.
fn before_delivery(stage: Stage) -> bool {
    matches!(
        stage,
        Stage::Announced | Stage::Committed | Stage::Allocated
    )
}

/// What a scoreboard counted, before it is set against the fair shares. The lists are in
/// contribution id order, then log order within a contribution.
#[derive(Debug, Default)]
struct Tally<'a> {
    counted: BTreeMap<&'a PartyId, Counted>,
    unconverted: Vec<UnconvertedValue>,
    earlier_fixings: Vec<EarlierFixing>,
    not_counted: Vec<NotCounted>,
    coverage: Coverage,
    counted_literally: Vec<CountedLiterally>,
    /// The datasets each donor's counted records come from (filled when the ledger holds
    /// contributions of more than one dataset).
    datasets: BTreeMap<&'a PartyId, BTreeSet<&'a DatasetId>>,
}

/// The reason an event of an ineligible category is not counted.
fn ineligible(category: Category) -> String {
    format!("category {category} is not eligible under the framework")
}

const QUANTITY_ONLY: &str = "recorded without a value (a quantity only)";

fn refused_basis(basis: ValuationBasis) -> String {
    format!("valued at {basis}, which the framework does not accept")
}

/// Whether the datasets a query reads cover `party` over the framework's period: not when the
/// query names its datasets and every one of them declares a coverage without the party.
fn covered(
    ledger: &Ledger,
    rules: &FrameworkAdopted,
    query: &ReportQuery,
    party: &PartyId,
) -> bool {
    if query.datasets.is_empty() {
        return true;
    }
    query.datasets.iter().any(|d| match ledger.dataset(d) {
        None => true,
        Some(state) => {
            state.covers(
                party,
                rules.period_start,
                rules.period_end,
                query.as_known_on,
            ) != crate::dataset::Covered::No
        }
    })
}

/// Sets the tally against the framework's fair shares.
fn assemble(
    ledger: &Ledger,
    rules: &FrameworkAdopted,
    stage: Stage,
    counting: Counting,
    query: ReportQuery,
    mut tally: Tally<'_>,
) -> FairShareReport {
    let shares = fair_shares(rules);
    let mut totals = FairShareTotals {
        unallocated: shares.unallocated,
        ..FairShareTotals::default()
    };
    let rows = shares
        .allocations
        .into_iter()
        .map(|a| {
            let slot = tally.counted.remove(&a.party).unwrap_or_default();
            let (sum, events) = (cents(slot.sum), slot.events);
            let by_period = rules
                .reporting_periods
                .iter()
                .map(|p| {
                    (
                        *p,
                        cents(slot.by_period.get(p).copied().unwrap_or_default()),
                    )
                })
                .collect();
            let status = if a.exempt {
                ShareStatus::Exempt
            } else if slot.records == 0 && !covered(ledger, rules, &query, &a.party) {
                ShareStatus::NotCovered
            } else if slot.records == 0 {
                ShareStatus::NoRecords
            } else if sum >= a.fair_share {
                ShareStatus::Met
            } else {
                ShareStatus::Short
            };
            // No figure is not a zero: a party the datasets do not cover has no gap either,
            // and its fair share is left out of the total gap.
            let gap = if a.exempt || status == ShareStatus::NotCovered {
                cents(Decimal::ZERO)
            } else {
                cents((a.fair_share - sum).max(Decimal::ZERO))
            };
            let ratio = (!a.fair_share.is_zero() && status != ShareStatus::NotCovered)
                .then(|| sum / a.fair_share);
            totals.participants += 1;
            totals.fair_share = totals.fair_share.saturating_add(a.fair_share);
            totals.counted = totals.counted.saturating_add(sum);
            totals.gap = totals.gap.saturating_add(gap);
            match status {
                ShareStatus::Exempt => totals.exempt += 1,
                ShareStatus::Met => totals.met += 1,
                ShareStatus::Short => totals.short += 1,
                ShareStatus::NoRecords => totals.no_records += 1,
                ShareStatus::NotCovered => totals.not_covered += 1,
            }
            FairShareRow {
                party: a.party,
                share: a.share,
                fair_share: a.fair_share,
                counted: sum,
                ratio,
                gap,
                status,
                events,
                records: slot.records,
                by_period,
            }
        })
        .collect();
    totals.fair_share = cents(totals.fair_share);
    totals.counted = cents(totals.counted);
    totals.gap = cents(totals.gap);
    let overlaps = overlaps(&tally.datasets);
    FairShareReport {
        framework: rules.clone(),
        stage,
        counting,
        query,
        rows,
        totals,
        unconverted: tally.unconverted,
        earlier_fixings: tally.earlier_fixings,
        not_counted: tally.not_counted,
        coverage: tally.coverage,
        counted_literally: tally.counted_literally,
        overlaps,
    }
}

/// What one participant has counted so far.
#[derive(Debug, Default)]
struct Counted {
    sum: Decimal,
    events: u64,
    /// Records at the stage in the period, counted or not (no rate, no value, refused basis).
    records: u64,
    by_period: BTreeMap<HalfYear, Decimal>,
    /// By the month each value counts from (first day of the month); filled by the walk only.
    by_month: BTreeMap<Date, Decimal>,
}

fn accepted(rules: &FrameworkAdopted, basis: ValuationBasis) -> bool {
    rules.valuation_preference.is_empty() || rules.valuation_preference.contains(&basis)
}

/// One donor's value at each stage and how long delivery takes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DonorGaps {
    pub donor: PartyId,
    pub contributions: u64,
    /// Euros per flow stage; a stage with no converted value recorded is absent (never zero).
    /// Under `withdrawn`: what withdrawals cancelled (pledged, committed else announced, minus
    /// delivered).
    pub stages: BTreeMap<Stage, Decimal>,
    /// Median days from announcement to first delivery, over contributions with both (a
    /// delivery dated before its announcement is an anomaly, not a negative delay: left out).
    pub median_days_to_delivered: Option<Decimal>,
    pub median_days_to_confirmed: Option<Decimal>,
    /// Contributions the medians rest on (a start date and a delivery / a confirmation).
    pub delivered_contributions: u64,
    pub confirmed_contributions: u64,
    /// Contributions with any delivery / confirmation recorded, timed or not.
    pub with_delivery: u64,
    pub with_confirmation: u64,
    pub unconverted: u64,
}

/// The gaps report: per donor, and all donors together.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GapsReport {
    pub query: ReportQuery,
    pub rows: Vec<DonorGaps>,
    pub totals: BTreeMap<Stage, Decimal>,
    pub median_days_to_delivered: Option<Decimal>,
    pub median_days_to_confirmed: Option<Decimal>,
    pub with_delivery: u64,
    pub with_confirmation: u64,
    pub unconverted: Vec<UnconvertedValue>,
    pub earlier_fixings: Vec<EarlierFixing>,
    pub coverage: Coverage,
    /// Donors whose contributions come from more than one dataset (possible double counts).
    pub overlaps: Vec<DatasetOverlap>,
}

#[derive(Debug, Default)]
struct GapCounter {
    contributions: u64,
    stages: BTreeMap<Stage, Decimal>,
    to_delivered: Vec<i64>,
    to_confirmed: Vec<i64>,
    with_delivery: u64,
    with_confirmation: u64,
    unconverted: u64,
}

impl GapCounter {
    fn add(&mut self, stage: Stage, eur: Decimal) {
        let slot = self.stages.entry(stage).or_default();
        *slot = slot.saturating_add(eur);
    }

    fn finish(mut self, donor: PartyId) -> DonorGaps {
        DonorGaps {
            donor,
            contributions: self.contributions,
            stages: self
                .stages
                .into_iter()
                .map(|(s, v)| (s, cents(v)))
                .collect(),
            median_days_to_delivered: median_days(&mut self.to_delivered),
            median_days_to_confirmed: median_days(&mut self.to_confirmed),
            delivered_contributions: self.to_delivered.len() as u64,
            confirmed_contributions: self.to_confirmed.len() as u64,
            with_delivery: self.with_delivery,
            with_confirmation: self.with_confirmation,
            unconverted: self.unconverted,
        }
    }
}

/// The median of whole-day counts: the middle value, or the mean of the two middle ones.
pub fn median_days(values: &mut [i64]) -> Option<Decimal> {
    if values.is_empty() {
        return None;
    }
    values.sort_unstable();
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        Decimal::from(values[mid])
    } else {
        (Decimal::from(values[mid - 1]) + Decimal::from(values[mid])) / Decimal::TWO
    })
}

/// The first effective date of a stage among the entries a query keeps (amendments excluded).
fn first_at(state: &ContributionState, stage: Stage, query: &ReportQuery) -> Option<Date> {
    state
        .history
        .iter()
        .filter(|e| e.event.stage == stage && query.keeps(e))
        .map(|e| e.event.effective_date)
        .min()
}

/// Computes the gaps report: every contribution, whatever its recipient or framework.
pub fn gaps_report(ledger: &Ledger, query: ReportQuery) -> GapsReport {
    let mut per_donor: BTreeMap<&PartyId, GapCounter> = BTreeMap::new();
    let mut datasets: BTreeMap<&PartyId, BTreeSet<&DatasetId>> = BTreeMap::new();
    let mut all = GapCounter::default();
    let mut unconverted_values = Vec::new();
    let mut earlier_fixings = Vec::new();
    let mut coverage = CoverageCounter::default();
    let mut converter = query.converter(ledger.rates());
    for state in ledger
        .contributions()
        .filter(|s| query.reads(&s.info.dataset))
    {
        let mut kept = false;
        for entry in state.history.iter().filter(|e| query.keeps(e)) {
            kept = true;
            coverage.add(state, entry);
        }
        if !kept {
            continue;
        }
        datasets
            .entry(&state.info.donor)
            .or_default()
            .insert(&state.info.dataset);
        let counter = per_donor.entry(&state.info.donor).or_default();
        let mut here: BTreeMap<Stage, Decimal> = BTreeMap::new();
        for v in valued(state, &mut converter, &query) {
            match &v.value {
                Some(Ok(c)) => {
                    let slot = here.entry(v.stage).or_default();
                    *slot = slot.saturating_add(c.eur);
                    earlier_fixings.extend(earlier(state, &v, c));
                }
                Some(Err(reason)) => {
                    counter.unconverted += 1;
                    unconverted_values.extend(unconverted(state, &v, reason));
                }
                None => {}
            }
        }
        if withdrawn(state, &query) {
            let pledged = here
                .get(&Stage::Committed)
                .or_else(|| here.get(&Stage::Announced))
                .copied()
                .unwrap_or_default();
            let delivered = here.get(&Stage::Delivered).copied().unwrap_or_default();
            here.insert(Stage::Withdrawn, (pledged - delivered).max(Decimal::ZERO));
        }
        for (stage, eur) in here {
            counter.add(stage, eur);
            all.add(stage, eur);
        }
        counter.contributions += 1;
        all.contributions += 1;
        let delivered_on = first_at(state, Stage::Delivered, &query);
        let confirmed_on = first_at(state, Stage::Confirmed, &query);
        for c in [&mut *counter, &mut all] {
            c.with_delivery += u64::from(delivered_on.is_some());
            c.with_confirmation += u64::from(confirmed_on.is_some());
        }
        let Some(start) = first_at(state, Stage::Announced, &query)
            .or_else(|| first_at(state, Stage::Committed, &query))
        else {
            continue;
        };
        let days = |end: Option<Date>| {
            end.map(|d| i64::from((d - start).get_days()))
                .filter(|d| *d >= 0)
        };
        if let Some(d) = days(delivered_on) {
            counter.to_delivered.push(d);
            all.to_delivered.push(d);
        }
        if let Some(d) = days(confirmed_on) {
            counter.to_confirmed.push(d);
            all.to_confirmed.push(d);
        }
    }
    let rows = per_donor
        .into_iter()
        .map(|(donor, c)| c.finish(donor.clone()))
        .collect();
    GapsReport {
        query,
        rows,
        totals: all.stages.into_iter().map(|(s, v)| (s, cents(v))).collect(),
        median_days_to_delivered: median_days(&mut all.to_delivered),
        median_days_to_confirmed: median_days(&mut all.to_confirmed),
        with_delivery: all.with_delivery,
        with_confirmation: all.with_confirmation,
        unconverted: unconverted_values,
        earlier_fixings,
        coverage: coverage.finish(),
        overlaps: overlaps(&datasets),
    }
}

/// The donors whose figures come from more than one dataset.
fn overlaps(datasets: &BTreeMap<&PartyId, BTreeSet<&DatasetId>>) -> Vec<DatasetOverlap> {
    datasets
        .iter()
        .filter(|(_, d)| d.len() > 1)
        .map(|(donor, d)| DatasetOverlap {
            donor: (*donor).clone(),
            datasets: d.iter().map(|d| (*d).clone()).collect(),
        })
        .collect()
}

/// The kind of a listed anomaly: one the ledger flags, or a value with no rate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyRowKind {
    Unconverted,
    #[serde(untagged)]
    Ledger(AnomalyKind),
}

impl AnomalyRowKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyRowKind::Ledger(k) => k.as_str(),
            AnomalyRowKind::Unconverted => "unconverted",
        }
    }
}

/// One anomaly, with the contribution it concerns and the reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnomalyRow {
    pub contribution: ContributionId,
    pub donor: PartyId,
    pub kind: AnomalyRowKind,
    /// The event concerned, where one is.
    pub event: Option<EventId>,
    pub reason: String,
}

/// The anomalies report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnomaliesReport {
    pub query: ReportQuery,
    pub rows: Vec<AnomalyRow>,
    pub coverage: Coverage,
}

/// Lists every anomaly of the ledger as the query sees it, contribution by contribution.
pub fn anomalies_report(ledger: &Ledger, query: ReportQuery) -> AnomaliesReport {
    let mut rows = Vec::new();
    let mut coverage = CoverageCounter::default();
    let mut converter = query.converter(ledger.rates());
    for state in ledger
        .contributions()
        .filter(|s| query.reads(&s.info.dataset))
    {
        // The contribution as the query sees it; rebuilt only when the query filters.
        let seen: Cow<'_, ContributionState> = if query.is_filtered() {
            Cow::Owned(state.filtered(|e| query.keeps(e)))
        } else {
            Cow::Borrowed(state)
        };
        if seen.history.is_empty() {
            continue;
        }
        for entry in state.history.iter().filter(|e| query.keeps(e)) {
            coverage.add(state, entry);
        }
        let info = &state.info;
        for a in ledger.anomalies_of(&seen, query.as_known_on) {
            rows.push(AnomalyRow {
                contribution: info.contribution.clone(),
                donor: info.donor.clone(),
                kind: AnomalyRowKind::Ledger(a.kind),
                event: None,
                reason: a.message,
            });
        }
        for v in valued(state, &mut converter, &query) {
            if let (Some(Err(reason)), Some((amount, currency))) = (&v.value, v.amount) {
                rows.push(AnomalyRow {
                    contribution: info.contribution.clone(),
                    donor: info.donor.clone(),
                    kind: AnomalyRowKind::Unconverted,
                    event: Some(v.entry.event.event.clone()),
                    reason: format!("{amount} {currency} under {}: {reason}", query.fx_policy),
                });
            }
        }
    }
    AnomaliesReport {
        query,
        rows,
        coverage: coverage.finish(),
    }
}

/// The scoreboard computed by walking every contribution's history, event by event: the
/// definition of both counting rules. Literal counting is also served, faster, by the report
/// index; a property test holds the two equal to the byte.
pub mod reference {
    use super::*;

    /// [`fair_share_report`] under literal counting, by walking every contribution.
    pub fn fair_share_report_scan(
        ledger: &Ledger,
        framework: &FrameworkId,
        stage: Option<Stage>,
        query: ReportQuery,
    ) -> Result<FairShareReport, ReportError> {
        let (rules, stage) = framework_at(ledger, framework, stage, &query)?;
        let tally = walk::tally(ledger, &rules, stage, Counting::Literal, &query);
        Ok(assemble(
            ledger,
            &rules,
            stage,
            Counting::Literal,
            query,
            tally,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::site;

    #[test]
    fn a_source_site_is_its_host_without_www() {
        assert_eq!(site("https://www.gov.uk/government/news/x"), "gov.uk");
        assert_eq!(site("https://uamission.com/a?b#c"), "uamission.com");
        assert_eq!(site("http://user@host.example:8080/x"), "host.example");
        assert_eq!(site("no scheme/path"), "no scheme/path");
        assert_eq!(
            site("Kiel Institute for the World Economy, Ukraine Support Tracker, Release 29"),
            "Kiel Institute for the World Economy"
        );
        assert_eq!(site(""), "");
    }
}
