//! The report index: what the fair-share scoreboard reads, kept current while folding.
//!
//! Every root flow event (announced, committed, allocated, delivered, confirmed: not the
//! amendments and withdrawals that correct them) becomes one compact [`Row`] in its stage's
//! vector, in log order. A row names its contribution by a small slot number (donor, recipient
//! and category as small integers), and carries its effective date, recording moment, valuation
//! basis, source (hashed) and source site (interned), and its value in euro cents under each FX
//! policy, as corrected by all its amendments and as the recorded rates gave it.
//!
//! Those values are a cache, never the truth: a row says how many rate events it was valued
//! with, and the index remembers, per half-year, the last rate event that could change a value
//! in it. A report uses a cached value only when no later fixing touches the row's half-year,
//! every fixing that does was known at the report's moment, the report's date cannot hide one
//! from a period average, and every amendment of the row is in the report's view. Otherwise it
//! converts the row from its history as it always did. [`crate::Ledger::revalue`] refreshes
//! stale values; reports are right without it, only slower.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use jiff::{Timestamp, ToSpan};
use rust_decimal::Decimal;

use crate::contribution::{ContributionState, HistoryEntry};
use crate::fx::{Converted, Converter, EVENT_DATE_WINDOW_DAYS, FxPolicy, RateBasis, RateTable};
use crate::hash::text_hash;
use crate::ids::{DatasetId, PartyId};
use crate::money::Currency;
use crate::period::HalfYear;
use crate::vocabulary::{Category, Stage, ValuationBasis};

/// A cached value that cannot be used: not valued yet, not convertible, or beyond `i64` cents.
pub(crate) const UNCACHED: i64 = i64::MIN;
/// "None" for the small-integer fields.
pub(crate) const NONE: u32 = u32::MAX;

/// The policies in the order of `Row::eur`.
pub(crate) const POLICIES: [FxPolicy; 2] = [FxPolicy::EventDate, FxPolicy::PeriodAverage];

pub(crate) fn policy_index(policy: FxPolicy) -> usize {
    match policy {
        FxPolicy::EventDate => 0,
        FxPolicy::PeriodAverage => 1,
    }
}

/// Where a flow stage's rows are in [`ReportIndex::rows`].
pub(crate) fn stage_index(stage: Stage) -> Option<usize> {
    Stage::FLOW.iter().position(|s| *s == stage)
}

/// A contribution's attributes as the scoreboard filters them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Slot {
    pub(crate) donor: u32,
    pub(crate) recipient: u32,
    /// The contribution's dataset, as a small integer (see [`ReportIndex::datasets`]).
    pub(crate) dataset: u32,
    pub(crate) category: Category,
    /// A withdrawal is recorded (whether a view sees it is decided per report).
    pub(crate) withdrawn: bool,
}

/// One root flow event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Row {
    pub(crate) recorded_at: Timestamp,
    /// Euro cents per policy (see [`POLICIES`]), or [`UNCACHED`].
    pub(crate) eur: [i64; 2],
    /// FNV-1a of the source URL (meaningful only when `site` is not [`NONE`]).
    pub(crate) source: u64,
    /// The contribution's slot (its index in the ledger's contributions).
    pub(crate) slot: u32,
    /// The event's index in its contribution's history.
    pub(crate) entry: u32,
    /// The interned site of the source URL, or [`NONE`] when the event cites no source.
    pub(crate) site: u32,
    /// Index into [`ReportIndex::amended`], or [`NONE`].
    pub(crate) amended: u32,
    pub(crate) date: Date,
    /// Under the event-date policy, the date of the fixing the cached value used.
    pub(crate) fixing: Date,
    /// One more than its half-year's rate-change mark ([`RateChange::at`]) when the cached
    /// values were computed; 0 when never valued. A value depends only on the fixings that can
    /// reach its half-year, so it holds while that mark stays below this; and a ledger
    /// rebuilt from its records and valued afresh gets exactly the marks it had.
    pub(crate) valued_at: u32,
    pub(crate) basis: Option<ValuationBasis>,
    pub(crate) has_money: bool,
}

/// The amendments of one root event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Amended {
    /// History indexes of the amendments (in the root's contribution).
    pub(crate) entries: Vec<u32>,
    pub(crate) last_recorded: Timestamp,
    pub(crate) last_effective: Date,
}

/// The last rate event that can change a value in a half-year.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RateChange {
    /// The rate-event count once it was folded.
    pub(crate) at: u32,
    /// The latest recording moment of such an event.
    pub(crate) recorded_at: Timestamp,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct ReportIndex {
    pub(crate) parties: Vec<PartyId>,
    party_ids: HashMap<PartyId, u32>,
    pub(crate) sites: Vec<String>,
    site_ids: HashMap<String, u32>,
    /// The datasets of the contributions, in order of first appearance: a report reads a row's
    /// dataset from its slot rather than from its contribution (8-15 ms instead of under 6 ms
    /// for a million rows, BENCHMARKS.md, issue 10).
    pub(crate) datasets: Vec<DatasetId>,
    pub(crate) slots: Vec<Slot>,
    /// Per flow stage, per year of the effective date, in log order: a yearly framework reads
    /// one year's rows.
    pub(crate) rows: [BTreeMap<i16, Vec<Row>>; 5],
    pub(crate) amended: Vec<Amended>,
    changed: BTreeMap<HalfYear, RateChange>,
    /// Each slot's rank in contribution id order, so report lists sort on integers; current
    /// only while it covers every slot (refreshed with the values).
    pub(crate) ranks: Vec<u32>,
    /// Rows added or amended since the last [`revalue`](ReportIndex::revalue), by stage, year
    /// and position: what it values when no rate event came in between.
    pending: Vec<(u8, i16, u32)>,
    /// A rate event was folded since the last revalue, so any row may be stale.
    rates_moved: bool,
}

/// The site of a source: a URL's host without `www.`, or for a citation in words its
/// publisher (the text before the first comma).
pub(crate) fn site(url: &str) -> &str {
    let Some((_, rest)) = url.split_once("://") else {
        return url.split(',').next().unwrap_or(url).trim();
    };
    let host = rest.split(['/', '?', '#']).next().unwrap_or(rest);
    let host = host.rsplit_once('@').map_or(host, |(_, h)| h);
    let host = host.split(':').next().unwrap_or(host);
    host.strip_prefix("www.").unwrap_or(host)
}

/// Euro cents of a converted value, when they fit.
fn to_cents(eur: Decimal) -> i64 {
    i64::try_from(cents_of(eur)).unwrap_or(UNCACHED)
}

/// A euro amount in whole cents.
pub(crate) fn cents_of(eur: Decimal) -> i128 {
    let mut d = eur;
    d.rescale(2);
    d.mantissa()
}

/// The amount a root event counts for with the amendments `keep` accepts: its own plus their
/// deltas, never below zero; `None` for a quantity only.
pub(crate) fn net_amount(
    state: &ContributionState,
    root: &HistoryEntry,
    amendments: &[u32],
    mut keep: impl FnMut(&HistoryEntry) -> bool,
) -> Option<(Decimal, Currency)> {
    let money = root.event.money?;
    let mut delta = Decimal::ZERO;
    for i in amendments {
        let e = &state.history[*i as usize];
        if let Some(m) = &e.event.money
            && keep(e)
        {
            delta = delta.saturating_add(m.amount());
        }
    }
    Some((
        money.amount().saturating_add(delta).max(Decimal::ZERO),
        money.currency(),
    ))
}

impl ReportIndex {
    fn party(&mut self, id: &PartyId) -> u32 {
        if let Some(i) = self.party_ids.get(id) {
            return *i;
        }
        let i = self.parties.len() as u32;
        self.parties.push(id.clone());
        self.party_ids.insert(id.clone(), i);
        i
    }

    /// The small integer of a party, if any contribution names it.
    pub(crate) fn party_id(&self, id: &PartyId) -> Option<u32> {
        self.party_ids.get(id).copied()
    }

    fn site_id(&mut self, url: &str) -> u32 {
        let site = site(url);
        if let Some(i) = self.site_ids.get(site) {
            return *i;
        }
        let i = self.sites.len() as u32;
        self.sites.push(site.to_owned());
        self.site_ids.insert(site.to_owned(), i);
        i
    }

    /// A contribution was registered at `slot` (the next one).
    pub(crate) fn add_contribution(&mut self, state: &ContributionState) {
        let donor = self.party(&state.info.donor);
        let recipient = self.party(&state.info.recipient);
        let dataset = match self.datasets.iter().position(|d| d == &state.info.dataset) {
            Some(i) => i as u32,
            None => {
                self.datasets.push(state.info.dataset.clone());
                (self.datasets.len() - 1) as u32
            }
        };
        self.slots.push(Slot {
            donor,
            recipient,
            dataset,
            category: state.info.category,
            withdrawn: false,
        });
    }

    /// The last entry of the contribution at `slot` was just folded. Returns the row it got
    /// (for a root flow event), to be noted in the entry.
    pub(crate) fn add_entry(&mut self, slot: u32, state: &mut ContributionState) {
        let at = state.history.len() - 1;
        self.add_entry_at(slot, state, at);
    }

    /// The entry `at` of the contribution at `slot` is next in log order, the entries after it
    /// not yet seen (when the index is rebuilt from folded contributions).
    pub(crate) fn add_entry_at(&mut self, slot: u32, state: &mut ContributionState, at: usize) {
        let entry = &state.history[at];
        let event = &entry.event;
        match event.stage {
            Stage::Withdrawn => self.slots[slot as usize].withdrawn = true,
            Stage::Amended => {
                let Some(root) = event
                    .amends
                    .as_ref()
                    .and_then(|t| state.root_position_within(t, at + 1))
                else {
                    return;
                };
                let root = &state.history[root];
                let (recorded, effective) = (entry.meta.recorded_at, event.effective_date);
                let next = self.amended.len() as u32;
                let Some(at_row) = row_ref(root) else {
                    return;
                };
                // Its cached value no longer holds.
                self.pending.push(at_row);
                let Some(row) = row_mut(&mut self.rows, at_row) else {
                    return;
                };
                row.valued_at = 0;
                if row.amended == NONE {
                    row.amended = next;
                }
                let at_amended = row.amended as usize;
                if at_amended == self.amended.len() {
                    self.amended.push(Amended {
                        entries: Vec::new(),
                        last_recorded: recorded,
                        last_effective: effective,
                    });
                }
                let a = &mut self.amended[at_amended];
                a.entries.push(at as u32);
                a.last_recorded = a.last_recorded.max(recorded);
                a.last_effective = a.last_effective.max(effective);
            }
            stage => {
                let Some(s) = stage_index(stage) else { return };
                let (source, site) = match event.source() {
                    Some(url) => (text_hash(url), self.site_id(url)),
                    None => (0, NONE),
                };
                let row = Row {
                    recorded_at: entry.meta.recorded_at,
                    eur: [UNCACHED; 2],
                    source,
                    slot,
                    entry: at as u32,
                    site,
                    amended: NONE,
                    date: event.effective_date,
                    fixing: event.effective_date,
                    valued_at: 0,
                    basis: event.valuation_basis,
                    has_money: event.money.is_some(),
                };
                let year = event.effective_date.year();
                let rows = self.rows[s].entry(year).or_default();
                let n = rows.len() as u32;
                rows.push(row);
                state.history[at].row = n;
                self.pending.push((s as u8, year, n));
            }
        }
    }

    /// Ranks the slots, given in contribution id order.
    pub(crate) fn rank(&mut self, slots_in_id_order: impl Iterator<Item = u32>) {
        self.ranks = vec![0; self.slots.len()];
        for (rank, slot) in slots_in_id_order.enumerate() {
            if let Some(r) = self.ranks.get_mut(slot as usize) {
                *r = rank as u32;
            }
        }
    }

    /// A rate event was folded: values in the half-years its fixings can reach may change.
    pub(crate) fn rates_changed(&mut self, date: Date, recorded_at: Timestamp, events: u64) {
        let at = u32::try_from(events).unwrap_or(u32::MAX);
        self.rates_moved = true;
        let reach = date
            .checked_add(i64::from(EVENT_DATE_WINDOW_DAYS).days())
            .unwrap_or(date);
        for period in [HalfYear::of(date), HalfYear::of(reach)] {
            let change = self
                .changed
                .entry(period)
                .or_insert(RateChange { at, recorded_at });
            change.at = change.at.max(at);
            change.recorded_at = change.recorded_at.max(recorded_at);
        }
    }

    pub(crate) fn change(&self, period: HalfYear) -> Option<&RateChange> {
        self.changed.get(&period)
    }

    /// The row of a history entry (a root flow event folded into the ledger).
    pub(crate) fn row(&self, entry: &HistoryEntry) -> Option<&Row> {
        let (stage, year, n) = row_ref(entry)?;
        self.rows[usize::from(stage)].get(&year)?.get(n as usize)
    }

    /// The rows of a stage effective in the years `from` to `to`, year by year, and how many.
    pub(crate) fn rows_in(
        &self,
        stage: Stage,
        from: i16,
        to: i16,
    ) -> (impl Iterator<Item = &Row>, usize) {
        let years = stage_index(stage)
            .into_iter()
            .flat_map(move |s| self.rows[s].range(from..=to.max(from)));
        let count = years.clone().map(|(_, rows)| rows.len()).sum();
        (years.flat_map(|(_, rows)| rows), count)
    }

    /// Values every stale row with the rates now recorded; returns how many were valued.
    pub(crate) fn revalue(
        &mut self,
        contributions: &[ContributionState],
        rates: &RateTable,
    ) -> u64 {
        let mut valuer = Valuer {
            contributions,
            amended: &self.amended,
            changed: &self.changed,
            converters: POLICIES.map(|p| Converter::new(rates, p, Default::default())),
            count: 0,
        };
        let pending = std::mem::take(&mut self.pending);
        if std::mem::take(&mut self.rates_moved) {
            // Rates changed: any row may be stale.
            for row in self.rows.iter_mut().flat_map(|s| s.values_mut()).flatten() {
                valuer.refresh(row);
            }
        } else {
            // Only the rows added or amended since.
            for at in pending {
                if let Some(row) = row_mut(&mut self.rows, at) {
                    valuer.refresh(row);
                }
            }
        }
        valuer.count
    }
}

impl ReportIndex {
    /// Values every row, as [`revalue`](Self::revalue) after a rate event does, on two threads
    /// (one this one): what a ledger rebuilt from its records waits on.
    pub(crate) fn value_all(&mut self, contributions: &[ContributionState], rates: &RateTable) {
        self.pending.clear();
        self.rates_moved = false;
        let (amended, changed) = (&self.amended, &self.changed);
        let valuer = || Valuer {
            contributions,
            amended,
            changed,
            converters: POLICIES.map(|p| Converter::new(rates, p, Default::default())),
            count: 0,
        };
        // Runs of rows dealt alternately to the two threads, so each gets about half.
        let mut runs: [Vec<&mut [Row]>; 2] = [Vec::new(), Vec::new()];
        let all = self.rows.iter_mut().flat_map(|s| s.values_mut());
        for (i, run) in all.flat_map(|rows| rows.chunks_mut(1 << 14)).enumerate() {
            runs[i % 2].push(run);
        }
        let [mine, theirs] = runs;
        let value = |runs: Vec<&mut [Row]>| {
            let mut valuer = valuer();
            for row in runs.into_iter().flatten() {
                valuer.refresh(row);
            }
        };
        std::thread::scope(|scope| {
            scope.spawn(|| value(theirs));
            value(mine);
        });
    }
}

/// Values rows with the rates recorded now.
struct Valuer<'a> {
    contributions: &'a [ContributionState],
    amended: &'a [Amended],
    changed: &'a BTreeMap<HalfYear, RateChange>,
    converters: [Converter<'a>; 2],
    count: u64,
}

impl Valuer<'_> {
    /// Values the row unless its cached values still hold.
    fn refresh(&mut self, row: &mut Row) {
        let change = self
            .changed
            .get(&HalfYear::of(row.date))
            .map_or(0, |c| c.at);
        if row.valued_at > change {
            return;
        }
        let state = &self.contributions[row.slot as usize];
        let amendments = match row.amended {
            NONE => &[][..],
            a => &self.amended[a as usize].entries[..],
        };
        let root = &state.history[row.entry as usize];
        let mut eur = [UNCACHED; 2];
        let mut fixing = row.date;
        if let Some((amount, currency)) = net_amount(state, root, amendments, |_| true) {
            for (p, converter) in self.converters.iter_mut().enumerate() {
                if let Ok(c) = converter.convert(amount, currency, row.date) {
                    eur[p] = to_cents(c.eur);
                    if let RateBasis::Fixing { date } = c.basis {
                        fixing = date;
                    }
                }
            }
        }
        row.eur = eur;
        row.fixing = fixing;
        row.valued_at = change.saturating_add(1);
        self.count += 1;
    }
}

/// The row at a stage, year and position.
fn row_mut(
    rows: &mut [BTreeMap<i16, Vec<Row>>; 5],
    (stage, year, n): (u8, i16, u32),
) -> Option<&mut Row> {
    rows[usize::from(stage)].get_mut(&year)?.get_mut(n as usize)
}

/// Where a root flow event's row is: stage, year and position.
fn row_ref(entry: &HistoryEntry) -> Option<(u8, i16, u32)> {
    let stage = stage_index(entry.event.stage)?;
    Some((stage as u8, entry.event.effective_date.year(), entry.row))
}

/// Converted value of a row, computed from its history for a view the cache does not serve.
pub(crate) fn convert_row(
    state: &ContributionState,
    row: &Row,
    amendments: &[u32],
    converter: &mut Converter<'_>,
    keep: impl FnMut(&HistoryEntry) -> bool,
) -> Option<((Decimal, Currency), Result<Converted, String>)> {
    let root = &state.history[row.entry as usize];
    let (amount, currency) = net_amount(state, root, amendments, keep)?;
    Some((
        (amount, currency),
        converter.convert(amount, currency, row.date),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cents_that_do_not_fit_are_not_cached() {
        assert_eq!(to_cents(Decimal::new(12345, 2)), 12345);
        assert_eq!(to_cents(Decimal::new(5, 1)), 50);
        assert_eq!(to_cents(Decimal::MAX), UNCACHED);
    }
}
