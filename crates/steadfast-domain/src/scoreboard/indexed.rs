//! The fair-share tally read from the report index: one pass over the rows of the counted
//! stage, in small integers and euro cents, touching a contribution's history only for what
//! the cache cannot serve (a view that hides a rate or an amendment, an unconverted value, a
//! withdrawal's cap) and for the lines the report lists.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use rust_decimal::Decimal;

use super::{
    Counted, Coverage, EarlierFixing, NotCounted, QUANTITY_ONLY, ReportQuery, Tally,
    UnconvertedValue, accepted, before_delivery, ineligible, refused_basis, withdrawn,
};
use crate::contribution::ContributionState;
use crate::framework::FrameworkAdopted;
use crate::fx::{Converted, Converter, FxPolicy, RateBasis};
use crate::ids::{DatasetId, PartyId};
use crate::index::{NONE, ReportIndex, Row, UNCACHED, cents_of, convert_row, policy_index};
use crate::ledger::Ledger;
use crate::money::Currency;
use crate::period::HalfYear;
use crate::vocabulary::{Category, Stage};

/// A participant's (or a withdrawn contribution's) running count, in cents.
#[derive(Debug, Clone, Default)]
struct Acc {
    sum: i128,
    events: u64,
    records: u64,
    /// Per reporting period of the framework (same order).
    by_period: Vec<i128>,
}

impl Acc {
    fn add(&mut self, other: &Acc) {
        self.sum += other.sum;
        self.events += other.events;
        self.records += other.records;
        if self.by_period.len() < other.by_period.len() {
            self.by_period.resize(other.by_period.len(), 0);
        }
        for (a, b) in self.by_period.iter_mut().zip(&other.by_period) {
            *a += b;
        }
    }
}

fn decimal(cents: i128) -> Decimal {
    Decimal::try_from_i128_with_scale(cents, 2).unwrap_or(if cents < 0 {
        Decimal::MIN
    } else {
        Decimal::MAX
    })
}

/// Whether cached values of rows in a half-year serve a query.
#[derive(Debug, Clone, Copy)]
struct PeriodCache {
    period: HalfYear,
    /// A row's `valued_at` must exceed this.
    after: u32,
    usable: bool,
}

/// What a report lists, keyed for sorting by contribution, then log order.
struct Listed<T> {
    slot: u32,
    entry: u32,
    item: T,
}

fn sorted<T>(ledger: &Ledger, mut list: Vec<Listed<T>>) -> Vec<T> {
    let ranks = &ledger.index.ranks;
    if ranks.len() == ledger.index.slots.len() {
        list.sort_unstable_by_key(|l| (ranks[l.slot as usize], l.entry));
        return list.into_iter().map(|l| l.item).collect();
    }
    list.sort_unstable_by(|a, b| {
        if a.slot == b.slot {
            a.entry.cmp(&b.entry)
        } else {
            let (x, y) = (ledger.at_slot(a.slot), ledger.at_slot(b.slot));
            x.info.contribution.cmp(&y.info.contribution)
        }
    });
    list.into_iter().map(|l| l.item).collect()
}

/// Coverage over slots and interned sites; distinct sources by hash, confirmed on the text.
struct CoverageTally {
    events: u64,
    contributions: Vec<bool>,
    contribution_count: u64,
    donors: Vec<bool>,
    donor_count: u64,
    /// First (slot, entry) citing each source hash; later distinct texts with the same hash.
    /// (Keyed with std's random SipHash: the FNV hashes of URLs anyone can record must not
    /// be able to pile into one bucket.)
    sources: HashMap<u64, (u32, u32)>,
    collided: Vec<(u32, u32)>,
    distinct: u64,
    sites: Vec<u64>,
    unsourced: u64,
}

impl CoverageTally {
    fn new(index: &ReportIndex, rows: usize) -> Self {
        CoverageTally {
            events: 0,
            contributions: vec![false; index.slots.len()],
            contribution_count: 0,
            donors: vec![false; index.parties.len()],
            donor_count: 0,
            // Sized for the share of a stage's rows a yearly framework typically counts.
            sources: HashMap::with_capacity(rows / 8),
            collided: Vec::new(),
            distinct: 0,
            sites: vec![0; index.sites.len()],
            unsourced: 0,
        }
    }

    fn add(&mut self, ledger: &Ledger, row: &Row, donor: u32) {
        self.events += 1;
        if !std::mem::replace(&mut self.contributions[row.slot as usize], true) {
            self.contribution_count += 1;
        }
        if !std::mem::replace(&mut self.donors[donor as usize], true) {
            self.donor_count += 1;
        }
        if row.site == NONE {
            self.unsourced += 1;
            return;
        }
        self.sites[row.site as usize] += 1;
        let url =
            |(slot, entry): (u32, u32)| ledger.at_slot(slot).history[entry as usize].event.source();
        let here = (row.slot, row.entry);
        match self.sources.get(&row.source) {
            None => {
                self.sources.insert(row.source, here);
                self.distinct += 1;
            }
            Some(first) => {
                // Another event citing the same source, or (rarely) a different text with the
                // same hash: the texts decide.
                let text = url(here);
                if url(*first) != text && !self.collided.iter().any(|c| url(*c) == text) {
                    self.collided.push(here);
                    self.distinct += 1;
                }
            }
        }
    }

    fn finish(self, index: &ReportIndex) -> Coverage {
        let mut sites: Vec<(String, u64)> = self
            .sites
            .iter()
            .enumerate()
            .filter(|(_, n)| **n > 0)
            .map(|(i, n)| (index.sites[i].to_ascii_lowercase(), *n))
            .collect();
        sites.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        Coverage {
            events: self.events,
            contributions: self.contribution_count,
            donors: self.donor_count,
            sources: self.distinct,
            unsourced_events: self.unsourced,
            sites,
        }
    }
}

pub(super) fn tally<'a>(
    ledger: &'a Ledger,
    rules: &'a FrameworkAdopted,
    stage: Stage,
    query: &ReportQuery,
) -> Tally<'a> {
    let index = &ledger.index;
    let last = query
        .as_of
        .map_or(rules.period_end, |d| d.min(rules.period_end));
    let (first_year, last_year) = (rules.period_start.year(), last.year());
    let (rows, in_years) = index.rows_in(stage, first_year, last_year);
    let parties = index.parties.len();
    let mut participant = vec![false; parties];
    for p in &rules.participants {
        if let Some(i) = index.party_id(p) {
            participant[i as usize] = true;
        }
    }
    let mut recipient = vec![false; parties];
    for p in &rules.recipients {
        if let Some(i) = index.party_id(p) {
            recipient[i as usize] = true;
        }
    }
    let mut eligible = [false; Category::ALL.len()];
    for c in &rules.eligible_categories {
        eligible[*c as usize] = true;
    }
    let policy = policy_index(query.fx_policy);
    let capping = before_delivery(stage);
    let periods = &rules.reporting_periods;

    let mut donors: Vec<Acc> = vec![Acc::default(); parties];
    // Withdrawn contributions count apart, so their cap can be applied.
    let mut withdrawn_accs: BTreeMap<u32, Acc> = BTreeMap::new();
    let mut period_cache: Vec<PeriodCache> = Vec::new();
    let mut converter = query.converter(ledger.rates());
    let mut unconverted = Vec::new();
    let mut earlier = Vec::new();
    let mut not_counted = Vec::new();
    let mut coverage = CoverageTally::new(index, in_years);
    let mut reasons: [Option<String>; Category::ALL.len()] = Default::default();
    // Which datasets the query reads, and which each donor's counted rows come from (to name
    // the donors whose figures come from more than one), by the index's small integers.
    let reads: Vec<bool> = index.datasets.iter().map(|d| query.reads(d)).collect();
    let dataset_count = index.datasets.len();
    let mut from: Vec<bool> = vec![false; parties * dataset_count];

    let not_counted_item = |row: &Row, reason: String| {
        let state = ledger.at_slot(row.slot);
        Listed {
            slot: row.slot,
            entry: row.entry,
            item: NotCounted {
                contribution: state.info.contribution.clone(),
                event: state.history[row.entry as usize].event.event.clone(),
                donor: state.info.donor.clone(),
                reason,
            },
        }
    };

    for row in rows {
        if !rules.in_period(row.date)
            || query.as_of.is_some_and(|d| row.date > d)
            || !query.known(row.recorded_at)
        {
            continue;
        }
        let slot = index.slots[row.slot as usize];
        if !participant[slot.donor as usize] || !recipient[slot.recipient as usize] {
            continue;
        }
        if !reads[slot.dataset as usize] {
            continue;
        }
        if eligible[slot.category as usize] {
            from[slot.donor as usize * dataset_count + slot.dataset as usize] = true;
        }
        if !eligible[slot.category as usize] {
            let reason = reasons[slot.category as usize]
                .get_or_insert_with(|| ineligible(slot.category))
                .clone();
            not_counted.push(not_counted_item(row, reason));
            continue;
        }
        let acc = if capping && slot.withdrawn {
            withdrawn_accs.entry(row.slot).or_default()
        } else {
            &mut donors[slot.donor as usize]
        };
        acc.records += 1;
        if !row.has_money {
            not_counted.push(not_counted_item(row, QUANTITY_ONLY.to_owned()));
            continue;
        }
        if let Some(basis) = row.basis
            && !accepted(rules, basis)
        {
            not_counted.push(not_counted_item(row, refused_basis(basis)));
            continue;
        }
        let Some(value) = value(
            ledger,
            row,
            policy,
            query,
            &mut period_cache,
            &mut converter,
        ) else {
            continue;
        };
        let cents = match value {
            Value::Cached { cents } => {
                if query.fx_policy == FxPolicy::EventDate && row.fixing != row.date {
                    earlier.extend(cached_earlier(ledger, row, cents));
                }
                cents
            }
            Value::Converted {
                amount,
                currency,
                converted,
            } => {
                let cents = cents_of(converted.eur);
                if let RateBasis::Fixing { date } = converted.basis
                    && date != row.date
                {
                    let state = ledger.at_slot(row.slot);
                    earlier.push(Listed {
                        slot: row.slot,
                        entry: row.entry,
                        item: EarlierFixing {
                            contribution: state.info.contribution.clone(),
                            event: state.history[row.entry as usize].event.event.clone(),
                            effective_date: row.date,
                            rate_date: date,
                            amount,
                            currency,
                            rate: converted.rate,
                            eur: converted.eur,
                        },
                    });
                }
                cents
            }
            Value::Unconverted {
                amount,
                currency,
                reason,
            } => {
                let state = ledger.at_slot(row.slot);
                unconverted.push(Listed {
                    slot: row.slot,
                    entry: row.entry,
                    item: UnconvertedValue {
                        contribution: state.info.contribution.clone(),
                        event: state.history[row.entry as usize].event.event.clone(),
                        donor: state.info.donor.clone(),
                        stage,
                        effective_date: row.date,
                        amount,
                        currency,
                        reason,
                    },
                });
                continue;
            }
        };
        acc.sum += cents;
        acc.events += 1;
        if let Some(p) = periods.iter().position(|p| p.contains(row.date)) {
            if acc.by_period.len() < periods.len() {
                acc.by_period.resize(periods.len(), 0);
            }
            acc.by_period[p] += cents;
        }
        coverage.add(ledger, row, slot.donor);
    }

    // A withdrawal the view sees caps what counts at the stages before delivery at what was
    // delivered (in or after the period), taken off the latest periods first.
    let mut latest_first: Vec<usize> = (0..periods.len()).collect();
    latest_first.sort_by(|a, b| periods[*b].cmp(&periods[*a]));
    for (slot, mut acc) in withdrawn_accs {
        let state = ledger.at_slot(slot);
        if withdrawn(state, query) {
            let delivered = delivered(ledger, state, query, &mut period_cache, &mut converter);
            let capped = acc.sum.min(delivered.max(0));
            let mut excess = acc.sum - capped;
            for p in &latest_first {
                if let Some(value) = acc.by_period.get_mut(*p) {
                    let cut = excess.min(*value).max(0);
                    *value -= cut;
                    excess -= cut;
                }
            }
            acc.sum = capped;
        }
        donors[index.slots[slot as usize].donor as usize].add(&acc);
    }

    let mut counted: BTreeMap<&PartyId, Counted> = BTreeMap::new();
    for (i, acc) in donors.iter().enumerate().filter(|(_, a)| a.records > 0) {
        let by_period = periods
            .iter()
            .zip(&acc.by_period)
            .map(|(p, c)| (*p, decimal(*c)))
            .collect();
        counted.insert(
            &index.parties[i],
            Counted {
                sum: decimal(acc.sum),
                events: acc.events,
                records: acc.records,
                by_period,
                by_month: BTreeMap::new(),
            },
        );
    }
    Tally {
        counted,
        unconverted: sorted(ledger, unconverted),
        earlier_fixings: sorted(ledger, earlier),
        not_counted: sorted(ledger, not_counted),
        coverage: coverage.finish(index),
        counted_literally: Vec::new(),
        datasets: donor_datasets(index, &from),
    }
}

/// The datasets each donor's counted rows come from, from the flags `from[donor * n + dataset]`.
fn donor_datasets<'a>(
    index: &'a ReportIndex,
    from: &[bool],
) -> BTreeMap<&'a PartyId, BTreeSet<&'a DatasetId>> {
    let n = index.datasets.len();
    let mut out: BTreeMap<&PartyId, BTreeSet<&DatasetId>> = BTreeMap::new();
    for (i, _) in from.iter().enumerate().filter(|(_, seen)| **seen) {
        out.entry(&index.parties[i / n])
            .or_default()
            .insert(&index.datasets[i % n]);
    }
    out
}

/// A row's value for a query.
enum Value {
    /// From the cache: cents as corrected by every amendment.
    Cached { cents: i128 },
    /// Converted now, from the history as the query sees it.
    Converted {
        amount: Decimal,
        currency: Currency,
        converted: Converted,
    },
    Unconverted {
        amount: Decimal,
        currency: Currency,
        reason: String,
    },
}

/// The value of a row with money for the query: cached when the cache serves it, else
/// converted from the contribution's history. `None` for a quantity only.
fn value(
    ledger: &Ledger,
    row: &Row,
    policy: usize,
    query: &ReportQuery,
    period_cache: &mut Vec<PeriodCache>,
    converter: &mut Converter<'_>,
) -> Option<Value> {
    let index = &ledger.index;
    let cached = row.eur[policy];
    let amendments = match row.amended {
        NONE => None,
        a => Some(&index.amended[a as usize]),
    };
    if cached != UNCACHED
        && amendments.is_none_or(|a| {
            query.known(a.last_recorded) && query.as_of.is_none_or(|d| a.last_effective <= d)
        })
        && serves(index, row, query, period_cache)
    {
        return Some(Value::Cached {
            cents: i128::from(cached),
        });
    }
    let state = ledger.at_slot(row.slot);
    let entries = amendments.map_or(&[][..], |a| &a.entries[..]);
    let ((amount, currency), result) =
        convert_row(state, row, entries, converter, |e| query.keeps(e))?;
    Some(match result {
        Ok(converted) => Value::Converted {
            amount,
            currency,
            converted,
        },
        Err(reason) => Value::Unconverted {
            amount,
            currency,
            reason,
        },
    })
}

/// Whether the cached values of the row's half-year hold for the query.
fn serves(
    index: &ReportIndex,
    row: &Row,
    query: &ReportQuery,
    cache: &mut Vec<PeriodCache>,
) -> bool {
    let period = HalfYear::of(row.date);
    let found = match cache.iter().find(|c| c.period == period) {
        Some(c) => *c,
        None => {
            let change = index.change(period);
            let c = PeriodCache {
                period,
                after: change.map_or(0, |c| c.at),
                usable: change.is_none_or(|c| query.known(c.recorded_at))
                    && (query.fx_policy == FxPolicy::EventDate
                        || query.as_of.is_none_or(|d| d >= period.last_day())),
            };
            cache.push(c);
            c
        }
    };
    found.usable && row.valued_at > found.after
}

/// The earlier-fixing line of a cached event-date value.
fn cached_earlier(ledger: &Ledger, row: &Row, cents: i128) -> Option<Listed<EarlierFixing>> {
    let state: &ContributionState = ledger.at_slot(row.slot);
    let root = &state.history[row.entry as usize];
    let entries = match row.amended {
        NONE => &[][..],
        a => &ledger.index.amended[a as usize].entries[..],
    };
    let (amount, currency) = crate::index::net_amount(state, root, entries, |_| true)?;
    let rate = *ledger.rates().day(row.fixing)?.get(&currency)?;
    Some(Listed {
        slot: row.slot,
        entry: row.entry,
        item: EarlierFixing {
            contribution: state.info.contribution.clone(),
            event: root.event.event.clone(),
            effective_date: row.date,
            rate_date: row.fixing,
            amount,
            currency,
            rate,
            eur: decimal(cents),
        },
    })
}

/// Euro cents a contribution delivered, as the query sees it (unconverted deliveries left
/// out).
fn delivered(
    ledger: &Ledger,
    state: &ContributionState,
    query: &ReportQuery,
    period_cache: &mut Vec<PeriodCache>,
    converter: &mut Converter<'_>,
) -> i128 {
    let policy = policy_index(query.fx_policy);
    let mut sum = 0;
    for e in &state.history {
        if e.event.stage != Stage::Delivered || !query.keeps(e) {
            continue;
        }
        let Some(row) = ledger.index.row(e) else {
            continue;
        };
        match value(ledger, row, policy, query, period_cache, converter) {
            Some(Value::Cached { cents }) => sum += cents,
            Some(Value::Converted { converted, .. }) => sum += cents_of(converted.eur),
            _ => {}
        }
    }
    sum
}
