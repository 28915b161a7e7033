//! Read models for the CLI and later the API: per-donor totals, the contribution listing and one
//! contribution's full story. Every result carries the log head it was computed at.

use std::collections::BTreeMap;

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;
use steadfast_domain::{
    Anomaly, Category, Channel, ContributionId, ContributionState, Converted, Currency, DatasetId,
    FxPolicy, Ledger, PartyId, RateBasis, SmallMap, Stage, StageTotals,
};
use steadfast_store::{ChainHash, Head};

/// The log head a result was computed at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LogHead {
    pub position: u64,
    pub hash: String,
}

impl LogHead {
    /// The head of an empty log is position 0 with the all-zero hash every chain starts from.
    pub fn of(head: Option<Head>) -> Self {
        LogHead {
            position: head.map_or(0, |h| h.position),
            hash: head.map_or(ChainHash::GENESIS, |h| h.hash).to_hex(),
        }
    }
}

/// Amounts of one currency at each flow stage; `None` where no event of that stage is recorded
/// in that currency, which is not the same as a recorded zero.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct StageAmounts {
    pub announced: Option<Decimal>,
    pub committed: Option<Decimal>,
    pub allocated: Option<Decimal>,
    pub delivered: Option<Decimal>,
    pub confirmed: Option<Decimal>,
}

impl StageAmounts {
    fn add_from(&mut self, totals: &SmallMap<Stage, StageTotals>, currency: Currency) {
        for (stage, slot) in [
            (Stage::Announced, &mut self.announced),
            (Stage::Committed, &mut self.committed),
            (Stage::Allocated, &mut self.allocated),
            (Stage::Delivered, &mut self.delivered),
            (Stage::Confirmed, &mut self.confirmed),
        ] {
            if let Some(amount) = totals.get(&stage).and_then(|t| t.amounts.get(&currency)) {
                *slot = Some(slot.unwrap_or_default() + *amount);
            }
        }
    }

    /// In flow order, for rendering.
    pub fn in_order(&self) -> [Option<Decimal>; 5] {
        [
            self.announced,
            self.committed,
            self.allocated,
            self.delivered,
            self.confirmed,
        ]
    }
}

fn currencies(state: &ContributionState) -> Vec<Currency> {
    let mut out: Vec<Currency> = state
        .totals
        .values()
        .flat_map(|t| t.amounts.keys().copied())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// One donor's totals in one currency.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DonorTotals {
    pub donor: PartyId,
    pub donor_name: String,
    pub currency: Currency,
    pub contributions: u64,
    #[serde(flatten)]
    pub amounts: StageAmounts,
}

/// Per-donor totals by stage, per currency (no conversion: that needs exchange rates).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DonorTotalsReport {
    pub log_head: LogHead,
    pub rows: Vec<DonorTotals>,
    /// Contributions recorded only as quantities (no amount), which no money total includes.
    pub contributions_without_amounts: u64,
}

pub fn donor_totals(ledger: &Ledger, head: Option<Head>) -> DonorTotalsReport {
    let mut rows: BTreeMap<(PartyId, Currency), DonorTotals> = BTreeMap::new();
    let mut without = 0;
    for c in ledger.contributions() {
        let curs = currencies(c);
        if curs.is_empty() {
            without += 1;
        }
        for cur in curs {
            let row = rows
                .entry((c.info.donor.clone(), cur))
                .or_insert_with(|| DonorTotals {
                    donor: c.info.donor.clone(),
                    donor_name: ledger.party_name(&c.info.donor),
                    currency: cur,
                    contributions: 0,
                    amounts: StageAmounts::default(),
                });
            row.contributions += 1;
            row.amounts.add_from(&c.totals, cur);
        }
    }
    DonorTotalsReport {
        log_head: LogHead::of(head),
        rows: rows.into_values().collect(),
        contributions_without_amounts: without,
    }
}

/// Which contributions to list. Every given filter must match.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ContributionFilter {
    pub donor: Option<PartyId>,
    pub recipient: Option<PartyId>,
    pub category: Option<Category>,
    pub channel: Option<Channel>,
    /// Has an event at this stage (within the dates, when given).
    pub stage: Option<Stage>,
    /// Has an event (of the stage, when given) effective on or after this date.
    pub from: Option<Date>,
    /// Has an event (of the stage, when given) effective on or before this date.
    pub to: Option<Date>,
    /// Belongs to one of these datasets (any dataset when empty).
    pub datasets: Vec<DatasetId>,
}

impl ContributionFilter {
    fn matches(&self, c: &ContributionState) -> bool {
        let info = &c.info;
        (self.datasets.is_empty() || self.datasets.contains(&info.dataset))
            && self.donor.as_ref().is_none_or(|d| *d == info.donor)
            && self.recipient.as_ref().is_none_or(|r| *r == info.recipient)
            && self.category.is_none_or(|x| x == info.category)
            && self.channel.is_none_or(|x| x == info.channel)
            && c.history.iter().any(|h| {
                let d = h.event.effective_date;
                self.stage.is_none_or(|s| h.event.stage == s)
                    && self.from.is_none_or(|f| d >= f)
                    && self.to.is_none_or(|t| d <= t)
            })
    }
}

/// A contribution in a listing, one row per currency it has amounts in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContributionLine {
    pub contribution: ContributionId,
    pub donor: PartyId,
    pub recipient: PartyId,
    pub category: Category,
    pub channel: Channel,
    pub dataset: DatasetId,
    pub status: Option<Stage>,
    pub first_date: Option<Date>,
    pub last_date: Option<Date>,
    pub currency: Option<Currency>,
    #[serde(flatten)]
    pub amounts: StageAmounts,
    /// Quantities at the furthest stage that has any, e.g. "3 IRIS-T systems".
    pub items: String,
    pub anomalies: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContributionList {
    pub log_head: LogHead,
    pub rows: Vec<ContributionLine>,
}

fn items(state: &ContributionState) -> String {
    Stage::FLOW
        .iter()
        .rev()
        .filter_map(|s| state.totals.get(s))
        .find(|t| t.quantities.values().any(|q| !q.is_zero()))
        .map(|t| {
            t.quantities
                .iter()
                .map(|(u, q)| format!("{} {u}", q.normalize()))
                .collect::<Vec<_>>()
                .join("; ")
        })
        .unwrap_or_default()
}

pub fn list(ledger: &Ledger, head: Option<Head>, filter: &ContributionFilter) -> ContributionList {
    let mut rows = Vec::new();
    for c in ledger.contributions().filter(|c| filter.matches(c)) {
        let dates = c.history.iter().map(|h| h.event.effective_date);
        let first_date = dates.clone().min();
        let last_date = dates.max();
        let anomalies = ledger.anomalies_of(c, None).len();
        let curs = currencies(c);
        let per_currency: Vec<Option<Currency>> = if curs.is_empty() {
            vec![None]
        } else {
            curs.into_iter().map(Some).collect()
        };
        for currency in per_currency {
            let mut amounts = StageAmounts::default();
            if let Some(cur) = currency {
                amounts.add_from(&c.totals, cur);
            }
            rows.push(ContributionLine {
                contribution: c.info.contribution.clone(),
                donor: c.info.donor.clone(),
                recipient: c.info.recipient.clone(),
                category: c.info.category,
                channel: c.info.channel,
                dataset: c.info.dataset.clone(),
                status: c.status(),
                first_date,
                last_date,
                currency,
                amounts,
                items: items(c),
                anomalies,
            });
        }
    }
    ContributionList {
        log_head: LogHead::of(head),
        rows,
    }
}

/// One event in a contribution's story, with the running total of the stage it adds to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct HistoryLine {
    pub position: u64,
    pub recorded_at: String,
    pub effective_date: Date,
    pub event: String,
    pub stage: Stage,
    /// The stage an amendment corrects.
    pub counts_as: Option<Stage>,
    pub amends: Option<String>,
    pub amount: Option<Decimal>,
    pub currency: Option<Currency>,
    /// Total of `counts_as` in this currency after this event (effective-date order).
    pub running_total: Option<Decimal>,
    /// The amount in euros under the chosen FX policy (at the date the increment counts
    /// from), rounded half-to-even to the cent; `None` without an amount or a rate.
    pub eur: Option<Decimal>,
    /// The rate used (units per euro) and where it comes from, or why there is none.
    pub fx: Option<String>,
    pub quantity: Option<Decimal>,
    pub unit: Option<String>,
    pub valuation_basis: Option<String>,
    pub condition: Option<String>,
    pub reason: Option<String>,
    pub source_url: Option<String>,
    /// The source in words, where it has no address (a dataset's release) or names the
    /// document at the address.
    pub citation: Option<String>,
    /// Who published the source.
    pub source_kind: Option<String>,
    /// The source as listed under `sources`: its address, else its citation.
    pub source: Option<String>,
    pub description: Option<String>,
}

/// The rate of a conversion and where it comes from, in a few words.
pub fn describe_rate(c: &Converted) -> String {
    match c.basis {
        RateBasis::Euro => "euro".to_owned(),
        RateBasis::Fixing { date } => format!("{} (ECB {date})", c.rate),
        RateBasis::Irrevocable { joined } => {
            format!("{} (irrevocable, euro from {joined})", c.rate)
        }
        RateBasis::PeriodMean { period, fixings } => format!(
            "{} (mean of {fixings} ECB fixings, {period})",
            c.rate.round_dp(6)
        ),
    }
}

/// A contribution's full story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ContributionDetail {
    pub log_head: LogHead,
    pub contribution: ContributionId,
    pub donor: PartyId,
    pub donor_name: String,
    pub recipient: PartyId,
    pub recipient_name: String,
    pub category: Category,
    pub dataset: DatasetId,
    pub channel: Channel,
    pub visibility: steadfast_domain::Visibility,
    pub description: String,
    pub status: Option<Stage>,
    pub withdrawn_on: Option<Date>,
    /// Per currency, the undelivered part a withdrawal cancelled.
    pub cancelled: BTreeMap<Currency, Decimal>,
    pub totals: SmallMap<Stage, StageTotals>,
    pub history: Vec<HistoryLine>,
    pub sources: Vec<String>,
    pub anomalies: Vec<Anomaly>,
}

pub fn show(
    ledger: &Ledger,
    head: Option<Head>,
    id: &ContributionId,
    fx_policy: FxPolicy,
) -> Option<ContributionDetail> {
    let c = ledger.contribution(id)?;
    let mut entries: Vec<_> = c.history.iter().collect();
    entries.sort_by_key(|h| (h.event.effective_date, h.meta.position));
    let mut running: BTreeMap<(Stage, Currency), Decimal> = BTreeMap::new();
    let history = entries
        .into_iter()
        .map(|h| {
            let e = &h.event;
            let running_total = match (h.counts_as, e.money) {
                (Some(stage), Some(m)) => {
                    let total = running.entry((stage, m.currency())).or_default();
                    *total += m.amount();
                    Some(*total)
                }
                _ => None,
            };
            let converted = e.money.map(|m| {
                ledger
                    .rates()
                    .convert(&m, c.counts_from(h), fx_policy, None)
            });
            HistoryLine {
                position: h.meta.position,
                recorded_at: h.meta.recorded_at.to_string(),
                effective_date: e.effective_date,
                event: e.event.to_string(),
                stage: e.stage,
                counts_as: h.counts_as.filter(|s| *s != e.stage),
                amends: e.amends.as_ref().map(ToString::to_string),
                amount: e.money.map(|m| m.amount()),
                currency: e.money.map(|m| m.currency()),
                running_total,
                eur: converted
                    .as_ref()
                    .and_then(|c| c.as_ref().ok())
                    .map(|c| c.eur),
                fx: converted.map(|c| match c {
                    Ok(c) => describe_rate(&c),
                    Err(reason) => format!("unconverted: {reason}"),
                }),
                quantity: e.quantity.as_ref().map(|q| q.value),
                unit: e.quantity.as_ref().map(|q| q.unit.clone()),
                valuation_basis: e.valuation_basis.map(|v| v.to_string()),
                condition: e.condition.map(|v| v.to_string()),
                reason: e.reason.clone(),
                source_url: e.source_url.clone(),
                citation: e.citation.clone(),
                source_kind: e.source_kind.map(|k| k.to_string()),
                source: e.source().map(str::to_owned),
                description: e.description.clone(),
            }
        })
        .collect::<Vec<_>>();
    let mut sources: Vec<String> = history.iter().filter_map(|h| h.source.clone()).collect();
    let mut seen = std::collections::HashSet::new();
    sources.retain(|s| seen.insert(s.clone()));
    Some(ContributionDetail {
        log_head: LogHead::of(head),
        contribution: c.info.contribution.clone(),
        donor: c.info.donor.clone(),
        donor_name: ledger.party_name(&c.info.donor),
        recipient: c.info.recipient.clone(),
        recipient_name: ledger.party_name(&c.info.recipient),
        category: c.info.category,
        channel: c.info.channel,
        visibility: c.info.visibility,
        dataset: c.info.dataset.clone(),
        description: c.info.description.clone(),
        status: c.status(),
        withdrawn_on: c.withdrawn_on,
        cancelled: c.cancelled(),
        totals: c.totals.clone(),
        history,
        sources,
        anomalies: ledger.anomalies_of(c, None),
    })
}

/// A registered party with its memberships.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyLine {
    pub party: PartyId,
    pub name: String,
    pub kind: steadfast_domain::PartyKind,
    pub memberships: Vec<steadfast_domain::MembershipRecorded>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PartyList {
    pub log_head: LogHead,
    pub rows: Vec<PartyLine>,
}

/// Registered parties; with `member_of`, only members of that organisation, on `on` if given
/// (else at any time).
pub fn parties(
    ledger: &Ledger,
    head: Option<Head>,
    member_of: Option<&PartyId>,
    on: Option<Date>,
) -> PartyList {
    let rows = ledger
        .parties()
        .filter(|p| match (member_of, on) {
            (None, _) => true,
            (Some(org), Some(date)) => p.member_of_on(org, date),
            (Some(org), None) => p.memberships.iter().any(|m| &m.organisation == org),
        })
        .map(|p| PartyLine {
            party: p.id.clone(),
            name: p.name.clone(),
            kind: p.kind,
            memberships: p.memberships.clone(),
        })
        .collect();
    PartyList {
        log_head: LogHead::of(head),
        rows,
    }
}
