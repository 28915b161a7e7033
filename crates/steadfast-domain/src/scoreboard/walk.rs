//! The fair-share tally by walking every contribution's history: the definition of what a
//! framework counts, under either counting rule (see [`crate::counting`] for `reached`).

use std::collections::{BTreeMap, BTreeSet, HashSet};

use super::*;
use crate::counting::{Reached, reached};

/// What one contribution adds to its donor's row.
#[derive(Debug, Default)]
struct Contribution {
    sum: Decimal,
    events: u64,
    records: u64,
    by_period: BTreeMap<HalfYear, Decimal>,
    /// By the month each value counts from (what reconciliation compares).
    by_month: BTreeMap<Date, Decimal>,
}

/// Everything a walk collects.
struct Sink<'a> {
    counted: BTreeMap<&'a PartyId, Counted>,
    unconverted: Vec<UnconvertedValue>,
    earlier_fixings: Vec<EarlierFixing>,
    not_counted: Vec<NotCounted>,
    coverage: CoverageCounter<'a>,
    counted_literally: Vec<CountedLiterally>,
    datasets: BTreeMap<&'a PartyId, BTreeSet<&'a DatasetId>>,
}

pub(super) fn tally<'a>(
    ledger: &'a Ledger,
    rules: &FrameworkAdopted,
    stage: Stage,
    counting: Counting,
    query: &ReportQuery,
) -> Tally<'a> {
    let participants: HashSet<&PartyId> = rules.participants.iter().collect();
    let eligible: HashSet<Category> = rules.eligible_categories.iter().copied().collect();
    let mut sink = Sink {
        counted: BTreeMap::new(),
        unconverted: Vec::new(),
        earlier_fixings: Vec::new(),
        not_counted: Vec::new(),
        coverage: CoverageCounter::default(),
        counted_literally: Vec::new(),
        datasets: BTreeMap::new(),
    };
    let mut converter = query.converter(ledger.rates());
    // The stages whose events a rule reads: the counting stage, or it and every later one.
    let at_stage = |s: Stage| match counting {
        Counting::Literal => s == stage,
        Counting::Reached => s.is_flow() && s >= stage,
    };
    for state in ledger.contributions() {
        let info = &state.info;
        if !query.reads(&info.dataset)
            || !participants.contains(&info.donor)
            || !rules.recipients.contains(&info.recipient)
        {
            continue;
        }
        if !eligible.contains(&info.category) {
            // Listed, so a reader sees what the rules leave out: the participant's events at
            // the stage in the period, in a category the framework does not count.
            sink.not_counted.extend(
                state
                    .history
                    .iter()
                    .filter(|e| {
                        at_stage(e.event.stage)
                            && query.keeps(e)
                            && rules.in_period(e.event.effective_date)
                    })
                    .map(|e| not_counted(state, e, ineligible(info.category))),
            );
            continue;
        }
        let counted = match counting {
            Counting::Literal => literal(&mut sink, state, rules, stage, query, &mut converter),
            Counting::Reached => match reached(state, stage, &|e: &HistoryEntry| query.keeps(e)) {
                Reached::Steps(steps) => {
                    by_steps(&mut sink, state, rules, stage, query, &mut converter, steps)
                }
                Reached::MixedCurrencies(currencies) => {
                    sink.counted_literally.push(CountedLiterally {
                        contribution: info.contribution.clone(),
                        donor: info.donor.clone(),
                        reason: format!(
                            "its stages are recorded in {}: counted literally, at {stage} only",
                            currencies
                                .iter()
                                .map(Currency::code)
                                .collect::<Vec<_>>()
                                .join(" and ")
                        ),
                    });
                    literal(&mut sink, state, rules, stage, query, &mut converter)
                }
            },
        };
        if counted.records > 0 {
            sink.datasets
                .entry(&info.donor)
                .or_default()
                .insert(&info.dataset);
            let slot = sink.counted.entry(&info.donor).or_default();
            slot.sum = slot.sum.saturating_add(counted.sum);
            slot.events += counted.events;
            slot.records += counted.records;
            for (period, value) in counted.by_period {
                let p = slot.by_period.entry(period).or_default();
                *p = p.saturating_add(value);
            }
            for (month, value) in counted.by_month {
                let m = slot.by_month.entry(month).or_default();
                *m = m.saturating_add(value);
            }
        }
    }
    Tally {
        counted: sink.counted,
        unconverted: sink.unconverted,
        earlier_fixings: sink.earlier_fixings,
        not_counted: sink.not_counted,
        coverage: sink.coverage.finish(),
        counted_literally: sink.counted_literally,
        datasets: sink.datasets,
    }
}

/// A record the framework's rules leave out, with why.
fn not_counted(state: &ContributionState, entry: &HistoryEntry, reason: String) -> NotCounted {
    NotCounted {
        contribution: state.info.contribution.clone(),
        event: entry.event.event.clone(),
        donor: state.info.donor.clone(),
        reason,
    }
}

/// Adds a counted value to a contribution's sum and to its reporting period.
fn add(out: &mut Contribution, rules: &FrameworkAdopted, date: Date, eur: Decimal) {
    out.sum = out.sum.saturating_add(eur);
    out.events += 1;
    let month = out.by_month.entry(date.first_of_month()).or_default();
    *month = month.saturating_add(eur);
    let period = HalfYear::of(date);
    if rules.reporting_periods.contains(&period) {
        let slot = out.by_period.entry(period).or_default();
        *slot = slot.saturating_add(eur);
    }
}

/// Literal counting of one contribution: the increments recorded at the stage, in the period.
fn literal<'a>(
    sink: &mut Sink<'a>,
    state: &'a ContributionState,
    rules: &FrameworkAdopted,
    stage: Stage,
    query: &ReportQuery,
    converter: &mut Converter<'_>,
) -> Contribution {
    let mut out = Contribution::default();
    // Everything delivered, in or after the period: what a withdrawal leaves standing.
    let mut delivered = Decimal::ZERO;
    // Only what this scoreboard can use is converted: values at the stage in the period,
    // and deliveries when a withdrawal caps what counts.
    let capped = before_delivery(stage) && withdrawn(state, query);
    let wanted =
        |s: Stage, d: Date| (s == stage && rules.in_period(d)) || (capped && s == Stage::Delivered);
    for v in valued_where(state, converter, query, &wanted) {
        if v.stage == Stage::Delivered
            && let Some(Ok(c)) = &v.value
        {
            delivered = delivered.saturating_add(c.eur);
        }
        if v.stage != stage || !rules.in_period(v.counts_from) {
            continue;
        }
        out.records += 1;
        let Some(value) = &v.value else {
            sink.not_counted
                .push(not_counted(state, v.entry, QUANTITY_ONLY.to_owned()));
            continue;
        };
        // Its amendments are judged with it, by its valuation basis.
        if let Some(basis) = v.entry.event.valuation_basis
            && !accepted(rules, basis)
        {
            sink.not_counted
                .push(not_counted(state, v.entry, refused_basis(basis)));
            continue;
        }
        match value {
            Ok(c) => {
                add(&mut out, rules, v.counts_from, c.eur);
                sink.coverage.add(state, v.entry);
                sink.earlier_fixings.extend(earlier(state, &v, c));
            }
            Err(reason) => {
                sink.unconverted.extend(unconverted(state, &v, reason));
            }
        }
    }
    if capped {
        // Cancelled: only what was delivered stands, taken off the latest periods first.
        let kept = out.sum.min(delivered.max(Decimal::ZERO));
        let excess = out.sum - kept;
        for values in [
            out.by_period.values_mut().rev().collect::<Vec<_>>(),
            out.by_month.values_mut().rev().collect(),
        ] {
            let mut excess = excess;
            for value in values {
                let cut = excess.min(*value).max(Decimal::ZERO);
                *value -= cut;
                excess -= cut;
            }
        }
        out.sum = kept;
    }
    out
}

/// Counting by stage reached of one contribution: each change of the value reached that falls
/// in the period, converted at its own date.
fn by_steps<'a>(
    sink: &mut Sink<'a>,
    state: &'a ContributionState,
    rules: &FrameworkAdopted,
    stage: Stage,
    query: &ReportQuery,
    converter: &mut Converter<'_>,
    steps: Vec<crate::counting::Step<'a>>,
) -> Contribution {
    let mut out = Contribution::default();
    // Records: the events at the stage or later in the period, valued or not.
    let in_period: Vec<&HistoryEntry> = state
        .history
        .iter()
        .filter(|e| {
            e.event.stage.is_flow()
                && e.event.stage >= stage
                && query.keeps(e)
                && rules.in_period(e.event.effective_date)
        })
        .collect();
    out.records = in_period.len() as u64;
    if out.records > 0 && steps.is_empty() && in_period.iter().all(|e| e.event.money.is_none()) {
        for e in in_period {
            sink.not_counted
                .push(not_counted(state, e, QUANTITY_ONLY.to_owned()));
        }
        return out;
    }
    for step in steps.into_iter().filter(|s| rules.in_period(s.date)) {
        if let Some(basis) = step.entry.event.valuation_basis
            && !accepted(rules, basis)
        {
            sink.not_counted
                .push(not_counted(state, step.entry, refused_basis(basis)));
            continue;
        }
        let v = Valued {
            entry: step.entry,
            stage: step.entry.event.stage,
            counts_from: step.date,
            amount: Some((step.amount, step.currency)),
            value: None,
        };
        match converter.convert(step.amount, step.currency, step.date) {
            Ok(c) => {
                add(&mut out, rules, step.date, c.eur);
                sink.coverage.add(state, step.entry);
                sink.earlier_fixings.extend(earlier(state, &v, &c));
            }
            Err(reason) => sink.unconverted.extend(unconverted(state, &v, &reason)),
        }
    }
    out
}
