//! A contribution's projected state: its attributes, its stage history, the running totals per
//! stage, and the anomalies its history shows.
//!
//! Totals are sums of increments, so they do not depend on the order in which events arrive;
//! that is what lets late disclosures land anywhere in the log and keeps replay equal to the
//! incremental state.

use std::collections::{BTreeMap, HashMap};

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use super::events::{ContributionRegistered, Quantity, StageRecorded};
use crate::events::EventMeta;
use crate::hash::text_hash;
use crate::ids::EventId;
use crate::money::{Currency, Money};
use crate::small_map::SmallMap;
use crate::vocabulary::Stage;

/// The accumulated increments of one stage: an amount per currency and a quantity per unit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageTotals {
    pub amounts: SmallMap<Currency, Decimal>,
    pub quantities: SmallMap<String, Decimal>,
}

impl StageTotals {
    /// Adds an increment. Increments are bounded (below 10^15 each), so a sum overflows only
    /// after some 10^13 of them; should it ever, the total saturates rather than panics.
    fn add(&mut self, money: Option<&Money>, quantity: Option<&Quantity>) {
        if let Some(m) = money {
            let total = self.amounts.get_or_default(m.currency());
            *total = total.saturating_add(m.amount());
        }
        if let Some(q) = quantity {
            let total = self.quantities.get_or_default(q.unit.clone());
            *total = total.saturating_add(q.value);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.amounts.values().all(Decimal::is_zero)
            && self.quantities.values().all(Decimal::is_zero)
    }

    pub fn amount(&self, currency: Currency) -> Decimal {
        self.amounts.get(&currency).copied().unwrap_or_default()
    }
}

/// One entry of a contribution's history, in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HistoryEntry {
    pub meta: EventMeta,
    pub event: StageRecorded,
    /// The flow stage the increment adds to: the event's own stage, or for an amendment the
    /// stage of the event it corrects. `None` for a withdrawal.
    pub counts_as: Option<Stage>,
    /// Its row in the ledger's report index (a root flow event folded into a ledger), else
    /// `u32::MAX`.
    pub(crate) row: u32,
}

/// What an event currently amounts to after its amendments (for the "never below zero" rule).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct NetIncrement {
    pub money: Option<Money>,
    pub quantity: Option<Quantity>,
}

/// How long a history gets before its events are found through a map rather than by scanning:
/// most contributions have a handful of events, and a map for each would cost more memory and
/// snapshot time than the scan costs lookups.
pub(crate) const INDEXED_FROM: usize = 16;

/// A contribution's record: its registration and its stage events, in log order. Everything
/// else in a [`ContributionState`] is folded from it ([`ContributionState::from_record`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionRecord {
    pub info: ContributionRegistered,
    pub registered_at: EventMeta,
    pub events: Vec<(EventMeta, StageRecorded)>,
}

/// A contribution as the log tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContributionState {
    pub info: ContributionRegistered,
    pub registered_at: EventMeta,
    pub history: Vec<HistoryEntry>,
    pub totals: SmallMap<Stage, StageTotals>,
    pub withdrawn_on: Option<Date>,
    /// Position in `history` by a hash of the event id (first id with the hash); a lookup checks
    /// the id found and falls back to a scan, so the map holds no copy of any id. Empty (no
    /// allocation) until the history is [`INDEXED_FROM`] long: shorter ones are scanned.
    pub(crate) index: HashMap<u64, u32>,
    pub(crate) latest_effective: Option<Date>,
}

impl ContributionState {
    pub fn new(info: ContributionRegistered, meta: EventMeta) -> Self {
        ContributionState {
            info,
            registered_at: meta,
            history: Vec::new(),
            totals: SmallMap::new(),
            withdrawn_on: None,
            index: HashMap::new(),
            latest_effective: None,
        }
    }

    /// The contribution folded from its record, as [`apply`](Self::apply) folds each event.
    /// Refused when a stage event names another contribution.
    pub fn from_record(record: ContributionRecord) -> Result<Self, String> {
        let ContributionRecord {
            info,
            registered_at,
            events,
        } = record;
        let mut state = ContributionState::new(info, registered_at);
        state.history.reserve_exact(events.len());
        for (meta, e) in events {
            if e.contribution != state.info.contribution {
                return Err(format!(
                    "the event {} at {} of contribution {} names {}",
                    e.event, meta.position, state.info.contribution, e.contribution
                ));
            }
            state.apply_owned(meta, e);
        }
        Ok(state)
    }

    /// The contribution's record, taken apart.
    pub fn into_record(self) -> ContributionRecord {
        ContributionRecord {
            info: self.info,
            registered_at: self.registered_at,
            events: self
                .history
                .into_iter()
                .map(|h| (h.meta, h.event))
                .collect(),
        }
    }

    /// The position of an event in `history`.
    pub(crate) fn position(&self, id: &EventId) -> Option<usize> {
        if self.index.is_empty() {
            return self.history.iter().position(|e| &e.event.event == id);
        }
        match self.index.get(&text_hash(id.as_str())) {
            Some(i) if &self.history[*i as usize].event.event == id => Some(*i as usize),
            // Not there, or another id with the same hash got the slot first.
            Some(_) => self.history.iter().position(|e| &e.event.event == id),
            None => None,
        }
    }

    /// The root event an event id adds to: itself, or for amendments the event they correct.
    pub(crate) fn root_of(&self, id: &EventId) -> Option<&EventId> {
        let mut entry = &self.history[self.position(id)?];
        // Amendments form a chain towards a non-amendment; bounded by the history length.
        for _ in 0..=self.history.len() {
            match (&entry.event.stage, &entry.event.amends) {
                (Stage::Amended, Some(target)) => entry = &self.history[self.position(target)?],
                _ => return Some(&entry.event.event),
            }
        }
        None
    }

    /// The position of the root event an event id adds to, as the history stood with only its
    /// first `end` entries (the same as [`root_of`](Self::root_of) when `end` is its length):
    /// how the report index, rebuilt after the whole history is folded, sees each entry as it
    /// was when folded. Event ids are unique in a log (their idempotency keys are).
    pub(crate) fn root_position_within(&self, id: &EventId, end: usize) -> Option<usize> {
        let within = |id: &EventId| self.position(id).filter(|p| *p < end);
        let mut at = within(id)?;
        for _ in 0..=end {
            match (
                &self.history[at].event.stage,
                &self.history[at].event.amends,
            ) {
                (Stage::Amended, Some(target)) => at = within(target)?,
                _ => return Some(at),
            }
        }
        None
    }

    /// What a root event amounts to after every amendment of it, in log order (for the "never
    /// below zero" rule).
    pub fn net_of(&self, root: &EventId) -> NetIncrement {
        let Some(entry) = self.entry(root) else {
            return NetIncrement::default();
        };
        let mut net = NetIncrement {
            money: entry.event.money,
            quantity: entry.event.quantity.clone(),
        };
        for e in &self.history {
            if e.event.stage == Stage::Amended
                && e.event.amends.as_ref().and_then(|t| self.root_of(t)) == Some(root)
            {
                add_net(&mut net, e.event.money.as_ref(), e.event.quantity.as_ref());
            }
        }
        net
    }

    /// The contribution as it stood with only the history entries `keep` accepts (in log
    /// order): what "as of" and "as known on" views are built from.
    pub fn filtered(&self, mut keep: impl FnMut(&HistoryEntry) -> bool) -> ContributionState {
        let mut out = ContributionState::new(self.info.clone(), self.registered_at);
        for entry in &self.history {
            if keep(entry) {
                out.apply(entry.meta, &entry.event);
            }
        }
        out
    }

    /// The event an entry adds to: itself, or for an amendment the event it corrects (followed
    /// to the root of a chain of amendments).
    pub fn root_entry<'a>(&'a self, entry: &'a HistoryEntry) -> &'a HistoryEntry {
        match (&entry.event.stage, &entry.event.amends) {
            (Stage::Amended, Some(target)) => self
                .root_of(target)
                .and_then(|root| self.entry(root))
                .unwrap_or(entry),
            _ => entry,
        }
    }

    /// The effective date an entry's increment counts from: its own, or for an amendment the
    /// date of the event it corrects (followed to the root of a chain of amendments).
    pub fn counts_from(&self, entry: &HistoryEntry) -> Date {
        self.root_entry(entry).event.effective_date
    }

    pub fn entry(&self, id: &EventId) -> Option<&HistoryEntry> {
        self.position(id).map(|i| &self.history[i])
    }

    /// Applies a stored (or decided) stage event. Infallible: whatever is in the log is folded;
    /// the rules that keep the log sane are enforced before appending (see `Draft`).
    pub fn apply(&mut self, meta: EventMeta, event: &StageRecorded) {
        self.apply_owned(meta, event.clone());
    }

    /// [`apply`](Self::apply), taking the event (no copy of it is made).
    pub fn apply_owned(&mut self, meta: EventMeta, event: StageRecorded) {
        let counts_as = match event.stage {
            Stage::Withdrawn => None,
            Stage::Amended => event
                .amends
                .as_ref()
                .and_then(|t| self.root_of(t))
                .and_then(|root| self.entry(root))
                .map(|e| e.event.stage),
            s => Some(s),
        };
        if event.stage == Stage::Withdrawn {
            self.withdrawn_on = Some(
                self.withdrawn_on
                    .map_or(event.effective_date, |d| d.min(event.effective_date)),
            );
        }
        if let Some(stage) = counts_as {
            self.totals
                .get_or_default(stage)
                .add(event.money.as_ref(), event.quantity.as_ref());
        }
        self.latest_effective = Some(
            self.latest_effective
                .map_or(event.effective_date, |d| d.max(event.effective_date)),
        );
        // Grown by a quarter rather than doubled: a history is a few entries of some 250 bytes
        // each, and doubling left a third of them unused (about 90 MB at a million events),
        // while a quarter still grows geometrically.
        if self.history.len() == self.history.capacity() {
            self.history.reserve_exact(self.history.len() / 4 + 1);
        }
        self.history.push(HistoryEntry {
            meta,
            event,
            counts_as,
            row: u32::MAX,
        });
        let len = self.history.len();
        if len >= INDEXED_FROM {
            // The whole history the first time, then each new event.
            let from = if self.index.is_empty() { 0 } else { len - 1 };
            for (at, entry) in self.history.iter().enumerate().skip(from) {
                self.index
                    .entry(text_hash(entry.event.event.as_str()))
                    .or_insert(at as u32);
            }
        }
    }

    /// The furthest flow stage with a non-empty total, or `withdrawn`.
    pub fn status(&self) -> Option<Stage> {
        if self.withdrawn_on.is_some() {
            return Some(Stage::Withdrawn);
        }
        Stage::FLOW
            .iter()
            .rev()
            .find(|s| self.totals.get(s).is_some_and(|t| !t.is_empty()))
            .copied()
    }

    pub fn total(&self, stage: Stage) -> Option<&StageTotals> {
        self.totals.get(&stage)
    }

    /// The part a withdrawal cancelled: what was pledged (committed, else announced) minus what
    /// was delivered, per currency, never below zero. Empty when not withdrawn.
    pub fn cancelled(&self) -> BTreeMap<Currency, Decimal> {
        let mut out = BTreeMap::new();
        if self.withdrawn_on.is_none() {
            return out;
        }
        let pledged = [Stage::Committed, Stage::Announced]
            .iter()
            .filter_map(|s| self.totals.get(s))
            .find(|t| !t.is_empty());
        let delivered = self.totals.get(&Stage::Delivered);
        if let Some(pledged) = pledged {
            for (cur, amount) in &pledged.amounts {
                let done = delivered.map_or(Decimal::ZERO, |d| d.amount(*cur));
                let mut rest = (*amount - done).max(Decimal::ZERO);
                rest.rescale(u32::from(cur.minor_units()));
                out.insert(*cur, rest);
            }
        }
        out
    }

    /// Anomalies: real-world irregularities that are accepted and flagged, never rejected.
    pub fn anomalies(&self) -> Vec<Anomaly> {
        let mut out = Vec::new();
        let reached: Vec<Stage> = Stage::FLOW
            .iter()
            .copied()
            .filter(|s| self.totals.get(s).is_some_and(|t| !t.is_empty()))
            .collect();
        if reached.is_empty() && self.withdrawn_on.is_some() {
            out.push(Anomaly {
                kind: AnomalyKind::SkippedStage,
                message: "withdrawn with no stage recorded before".to_owned(),
            });
        }
        if let Some(furthest) = reached.last() {
            let skipped: Vec<&str> = Stage::FLOW
                .iter()
                .take_while(|s| *s != furthest)
                .filter(|s| !reached.contains(s))
                .map(|s| s.as_str())
                .collect();
            if !skipped.is_empty() {
                out.push(Anomaly {
                    kind: AnomalyKind::SkippedStage,
                    message: format!(
                        "reached {furthest} with no {} recorded",
                        skipped.join(", no ")
                    ),
                });
            }
        }
        let first_date = |stage: Stage| {
            self.history
                .iter()
                .filter(|h| h.event.stage == stage)
                .map(|h| h.event.effective_date)
                .min()
        };
        let dated: Vec<(Stage, Date)> = Stage::FLOW
            .iter()
            .filter_map(|s| first_date(*s).map(|d| (*s, d)))
            .collect();
        for (i, (later_stage, later_date)) in dated.iter().enumerate() {
            if let Some((earlier_stage, earlier_date)) = dated[..i]
                .iter()
                .filter(|(_, d)| d > later_date)
                .max_by_key(|(_, d)| *d)
            {
                out.push(Anomaly {
                    kind: AnomalyKind::OutOfOrderDates,
                    message: format!(
                        "first {later_stage} on {later_date} precedes first {earlier_stage} on {earlier_date}"
                    ),
                });
            }
        }
        let unvalued: Vec<&str> = self
            .history
            .iter()
            .filter(|h| {
                self.info.category == crate::Category::InKindDonation
                    && h.event.stage.is_flow()
                    && h.event.money.is_some()
                    && h.event.valuation_basis.is_none()
            })
            .map(|h| h.event.event.as_str())
            .collect();
        if !unvalued.is_empty() {
            out.push(Anomaly {
                kind: AnomalyKind::MissingValuationBasis,
                message: format!(
                    "in-kind value without a valuation basis: {}",
                    unvalued.join(", ")
                ),
            });
        }
        let unconditioned: Vec<&str> = self
            .history
            .iter()
            .filter(|h| h.event.stage == Stage::Confirmed && h.event.condition.is_none())
            .map(|h| h.event.event.as_str())
            .collect();
        if !unconditioned.is_empty() {
            out.push(Anomaly {
                kind: AnomalyKind::MissingCondition,
                message: format!(
                    "receipt confirmed without the condition received: {}",
                    unconditioned.join(", ")
                ),
            });
        }
        let committed = self.totals.get(&Stage::Committed);
        let delivered = self.totals.get(&Stage::Delivered);
        let confirmed = self.totals.get(&Stage::Confirmed);
        if let (Some(c), Some(d)) = (committed, delivered) {
            for (cur, amount) in &d.amounts {
                let pledged = c.amount(*cur);
                if !pledged.is_zero() && *amount > pledged {
                    out.push(Anomaly {
                        kind: AnomalyKind::DeliveredAboveCommitted,
                        message: format!(
                            "delivered {amount} {cur} exceeds committed {pledged} {cur}"
                        ),
                    });
                }
            }
            for (unit, qty) in &d.quantities {
                if let Some(pledged) = c.quantities.get(unit).filter(|q| !q.is_zero())
                    && qty > pledged
                {
                    out.push(Anomaly {
                        kind: AnomalyKind::DeliveredAboveCommitted,
                        message: format!("delivered {qty} {unit} exceeds committed {pledged}"),
                    });
                }
            }
        }
        if let Some(conf) = confirmed.filter(|c| !c.is_empty()) {
            let empty = StageTotals::default();
            let del = delivered.unwrap_or(&empty);
            let differs_amount = conf.amounts.iter().any(|(cur, a)| *a != del.amount(*cur))
                || (!conf.amounts.is_empty()
                    && del.amounts.iter().any(|(cur, a)| *a != conf.amount(*cur)));
            let differs_quantity =
                conf.quantities
                    .iter()
                    .any(|(u, q)| del.quantities.get(u).copied().unwrap_or_default() != *q)
                    || (!conf.quantities.is_empty()
                        && del.quantities.iter().any(|(u, q)| {
                            conf.quantities.get(u).copied().unwrap_or_default() != *q
                        }));
            if differs_amount || differs_quantity {
                out.push(Anomaly {
                    kind: AnomalyKind::ConfirmedDiffersFromDelivered,
                    message: format!(
                        "confirmed {} but delivered {}",
                        describe(conf),
                        describe(del)
                    ),
                });
            }
        }
        out
    }
}

fn add_net(net: &mut NetIncrement, money: Option<&Money>, quantity: Option<&Quantity>) {
    if let (Some(total), Some(delta)) = (net.money.as_mut(), money)
        && let Some(sum) = total.checked_sum(*delta)
    {
        *total = sum;
    }
    if let (Some(total), Some(delta)) = (net.quantity.as_mut(), quantity)
        && let Some(sum) = total.value.checked_add(delta.value)
    {
        total.value = sum;
    }
}

fn describe(t: &StageTotals) -> String {
    let mut parts: Vec<String> = t.amounts.iter().map(|(c, a)| format!("{a} {c}")).collect();
    parts.extend(t.quantities.iter().map(|(u, q)| format!("{q} {u}")));
    if parts.is_empty() {
        "nothing".to_owned()
    } else {
        parts.join(" + ")
    }
}

/// The kinds of anomaly the ledger flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AnomalyKind {
    SkippedStage,
    OutOfOrderDates,
    DeliveredAboveCommitted,
    ConfirmedDiffersFromDelivered,
    /// An in-kind value recorded without saying how it was valued.
    MissingValuationBasis,
    /// A confirmed receipt that does not state the condition of what arrived.
    MissingCondition,
}

impl AnomalyKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AnomalyKind::SkippedStage => "skipped-stage",
            AnomalyKind::OutOfOrderDates => "out-of-order-dates",
            AnomalyKind::DeliveredAboveCommitted => "delivered-above-committed",
            AnomalyKind::ConfirmedDiffersFromDelivered => "confirmed-differs-from-delivered",
            AnomalyKind::MissingValuationBasis => "missing-valuation-basis",
            AnomalyKind::MissingCondition => "missing-condition",
        }
    }
}

/// One flagged irregularity with a human-readable reason.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Anomaly {
    pub kind: AnomalyKind,
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::{ContributionId, PartyId};
    use crate::vocabulary::{Category, Channel, Visibility};

    fn stage_event(id: &str, stage: Stage, amends: Option<&str>, cents: i64) -> StageRecorded {
        StageRecorded {
            event: EventId::parse(id).expect("id"),
            contribution: ContributionId::parse("C-1").expect("id"),
            stage,
            effective_date: Date::constant(2024, 3, 1),
            money: Some(
                Money::new(Decimal::new(cents, 2), Currency::parse("EUR").expect("EUR"))
                    .expect("money"),
            ),
            quantity: None,
            valuation_basis: None,
            amends: amends.map(|a| EventId::parse(a).expect("id")),
            reason: None,
            condition: None,
            source_url: None,
            description: None,
            citation: None,
            source_kind: None,
        }
    }

    #[test]
    fn an_event_whose_hash_slot_another_id_holds_is_still_found() {
        let info = ContributionRegistered {
            contribution: ContributionId::parse("C-1").expect("id"),
            donor: PartyId::parse("DEU").expect("party"),
            recipient: PartyId::parse("UKR").expect("party"),
            category: Category::Training,
            channel: Channel::Bilateral,
            visibility: Visibility::Public,
            description: String::new(),
            opened_on: Date::constant(2024, 3, 1),
            dataset: Default::default(),
        };
        let mut state = ContributionState::new(info, EventMeta::PENDING);
        state.apply_owned(
            EventMeta::PENDING,
            stage_event("E-1", Stage::Committed, None, 10_000),
        );
        // As if "E-2" hashed like "E-1": its slot is taken, so it is found by the scan.
        let e1 = text_hash("E-1");
        state.apply_owned(
            EventMeta::PENDING,
            stage_event("E-2", Stage::Committed, None, 500),
        );
        // Short histories are only ever scanned: make this one long enough to be indexed.
        assert!(state.index.is_empty());
        for i in 3..=INDEXED_FROM {
            let filler = format!("F-{i}");
            state.apply_owned(
                EventMeta::PENDING,
                stage_event(&filler, Stage::Committed, None, 100),
            );
        }
        assert_eq!(state.index.len(), INDEXED_FROM);
        state.index.remove(&text_hash("E-2"));
        state.index.insert(text_hash("E-2"), state.index[&e1]);
        let e2 = EventId::parse("E-2").expect("id");
        assert_eq!(state.position(&e2), Some(1));
        state.apply_owned(
            EventMeta::PENDING,
            stage_event("E-3", Stage::Amended, Some("E-2"), -200),
        );
        assert_eq!(
            state.root_of(&EventId::parse("E-3").expect("id")),
            Some(&e2)
        );
        let net = state.net_of(&e2);
        assert_eq!(net.money.map(|m| m.amount()), Some(Decimal::new(300, 2)));
        assert_eq!(state.position(&EventId::parse("E-9").expect("id")), None);
    }
}
