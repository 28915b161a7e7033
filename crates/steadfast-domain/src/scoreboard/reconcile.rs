//! Reconciliation: what a framework counts in one dataset against another, per donor and
//! period. Figures of two datasets about the same donor and period are never added: they are
//! set side by side, and a difference beyond a tolerance is flagged — a likely missing record
//! where the first is below, a likely double count or overstatement where it is above.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::Serialize;

use super::{ReportError, ReportQuery, framework_at, walk};
use crate::dataset::Covered;
use crate::framework::FrameworkAdopted;
use crate::ids::{DatasetId, FrameworkId, PartyId};
use crate::ledger::Ledger;
use crate::period::HalfYear;
use crate::vocabulary::{Counting, Stage};

/// The periods a reconciliation compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Granularity {
    Month,
    HalfYear,
    Year,
}

impl Granularity {
    pub const ALL: [Granularity; 3] =
        [Granularity::Month, Granularity::HalfYear, Granularity::Year];

    pub fn as_str(self) -> &'static str {
        match self {
            Granularity::Month => "month",
            Granularity::HalfYear => "half-year",
            Granularity::Year => "year",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|g| g.as_str() == text)
    }

    /// The label of the period a month falls in (`2024-05`, `2024-H1`, `2024`).
    pub fn label(self, month: Date) -> String {
        match self {
            Granularity::Month => format!("{:04}-{:02}", month.year(), month.month()),
            Granularity::HalfYear => HalfYear::of(month).to_string(),
            Granularity::Year => format!("{:04}", month.year()),
        }
    }
}

/// How a donor-period compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Flag {
    /// Within the tolerance.
    Agree,
    /// A is below B beyond the tolerance: likely records missing from A.
    ABelow,
    /// A is above B beyond the tolerance: likely double counting or overstatement in A.
    AAbove,
    /// A does not cover the donor: no figure, which is not zero.
    ANotCovered,
    /// B does not cover the donor.
    BNotCovered,
}

impl Flag {
    pub fn as_str(self) -> &'static str {
        match self {
            Flag::Agree => "agree",
            Flag::ABelow => "a-below",
            Flag::AAbove => "a-above",
            Flag::ANotCovered => "a-not-covered",
            Flag::BNotCovered => "b-not-covered",
        }
    }

    /// What the flag suggests, in words.
    pub fn meaning(self) -> &'static str {
        match self {
            Flag::Agree => "within the tolerance",
            Flag::ABelow => "likely missing records in A",
            Flag::AAbove => "likely double counting or overstatement in A",
            Flag::ANotCovered => "A does not cover the donor",
            Flag::BNotCovered => "B does not cover the donor",
        }
    }
}

/// One donor-period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconcileRow {
    pub donor: PartyId,
    pub period: String,
    /// `None` when the dataset does not cover the donor.
    pub a_eur: Option<Decimal>,
    pub b_eur: Option<Decimal>,
    /// `a - b`, when both have a figure.
    pub difference_eur: Option<Decimal>,
    /// `a / b`, when both have a figure and b is not zero.
    pub ratio: Option<Decimal>,
    pub flag: Flag,
}

/// The reconciliation of two datasets under a framework's rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReconcileReport {
    pub framework: FrameworkAdopted,
    pub stage: Stage,
    pub counting: Counting,
    pub a: DatasetId,
    pub b: DatasetId,
    pub by: Granularity,
    /// The relative difference tolerated, as a fraction of the larger figure (0.1 = 10 %).
    pub tolerance: Decimal,
    pub rows: Vec<ReconcileRow>,
    /// Per donor over the whole period (the rows added up).
    pub totals: Vec<ReconcileRow>,
}

/// Compares what `framework` counts in dataset `a` and in dataset `b`. `query`'s own datasets
/// are ignored: each side reads one dataset.
#[allow(clippy::too_many_arguments)]
pub fn reconcile_report(
    ledger: &Ledger,
    framework: &FrameworkId,
    counting: Option<Counting>,
    a: &DatasetId,
    b: &DatasetId,
    by: Granularity,
    tolerance: Decimal,
    query: &ReportQuery,
) -> Result<ReconcileReport, ReportError> {
    let (rules, stage) = framework_at(ledger, framework, None, query)?;
    let counting = counting.unwrap_or(rules.counting);
    let tolerance = tolerance.normalize();
    let side = |d: &DatasetId| {
        let q = query.clone().in_datasets(vec![d.clone()]);
        let tally = walk::tally(ledger, &rules, stage, counting, &q);
        let months: BTreeMap<PartyId, BTreeMap<Date, Decimal>> = tally
            .counted
            .into_iter()
            .map(|(p, c)| (p.clone(), c.by_month))
            .collect();
        months
    };
    let (in_a, in_b) = (side(a), side(b));
    let covers = |d: &DatasetId, p: &PartyId| {
        ledger.dataset(d).is_none_or(|s| {
            s.covers(p, rules.period_start, rules.period_end, query.as_known_on) != Covered::No
        })
    };
    let donors: BTreeSet<&PartyId> = rules
        .participants
        .iter()
        .filter(|p| rules.exemption(p).is_none())
        .chain(in_a.keys())
        .chain(in_b.keys())
        .collect();
    let mut rows = Vec::new();
    let mut totals = Vec::new();
    for donor in donors {
        let (a_covers, b_covers) = (covers(a, donor), covers(b, donor));
        let mut periods: BTreeMap<String, (Decimal, Decimal)> = BTreeMap::new();
        let mut add = |values: Option<&BTreeMap<Date, Decimal>>, left: bool| {
            for (month, eur) in values.into_iter().flatten() {
                let slot = periods.entry(by.label(*month)).or_default();
                let side = if left { &mut slot.0 } else { &mut slot.1 };
                *side = side.saturating_add(*eur);
            }
        };
        add(in_a.get(donor), true);
        add(in_b.get(donor), false);
        let mut sum = (Decimal::ZERO, Decimal::ZERO);
        for (period, (ea, eb)) in periods {
            sum = (sum.0 + ea, sum.1 + eb);
            if ea.is_zero() && eb.is_zero() {
                continue;
            }
            rows.push(row(donor, period, ea, eb, a_covers, b_covers, tolerance));
        }
        totals.push(row(
            donor,
            "all".to_owned(),
            sum.0,
            sum.1,
            a_covers,
            b_covers,
            tolerance,
        ));
    }
    Ok(ReconcileReport {
        framework: rules.clone(),
        stage,
        counting,
        a: a.clone(),
        b: b.clone(),
        by,
        tolerance,
        rows,
        totals,
    })
}

fn row(
    donor: &PartyId,
    period: String,
    a: Decimal,
    b: Decimal,
    a_covers: bool,
    b_covers: bool,
    tolerance: Decimal,
) -> ReconcileRow {
    let cents = |mut d: Decimal| {
        d.rescale(2);
        d
    };
    let (a, b) = (cents(a), cents(b));
    let a_eur = a_covers.then_some(a);
    let b_eur = b_covers.then_some(b);
    let difference_eur = a_eur.zip(b_eur).map(|(a, b)| a - b);
    let ratio = a_eur
        .zip(b_eur)
        .filter(|(_, b)| !b.is_zero())
        .map(|(a, b)| {
            let mut r = (a / b).round_dp(4);
            r.rescale(4);
            r
        });
    let flag = match (a_covers, b_covers) {
        (false, _) => Flag::ANotCovered,
        (_, false) => Flag::BNotCovered,
        _ if (a - b).abs() <= tolerance * a.abs().max(b.abs()) => Flag::Agree,
        _ if a < b => Flag::ABelow,
        _ => Flag::AAbove,
    };
    ReconcileRow {
        donor: donor.clone(),
        period,
        a_eur,
        b_eur,
        difference_eur,
        ratio,
        flag,
    }
}
