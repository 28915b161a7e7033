//! Frameworks: collective pledges whose rules are data (`FrameworkAdopted`), and the fair-share
//! allocation of a framework's target among its participants.
//!
//! The allocation is exact to the cent: every participant's share of the basis is multiplied
//! by the target and floored to the cent, and the cents left over are handed out one each by
//! descending remainder, ties broken by party id — so the fair shares always add up exactly to
//! the target, whatever order the participants are listed in.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;
use rust_decimal::{Decimal, RoundingStrategy};
use serde::{Deserialize, Serialize};

use crate::aggregate::{Aggregate, Field, Reason, Rejection};
use crate::events::EventMeta;
use crate::fx::cents;
use crate::ids::{FrameworkId, PartyId};
use crate::money::Money;
use crate::party::Directory;
use crate::period::HalfYear;
use crate::vocabulary::{Category, Counting, Stage, ValuationBasis};

/// The only share basis supported so far: GDP in current US dollars.
pub const GDP_CURRENT_USD: &str = "gdp-current-usd";

/// A participant excused from contributing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Exemption {
    pub party: PartyId,
    /// Whether the party's basis still counts in the denominator (its share is then left
    /// unallocated) or is taken out (the others share the whole target).
    pub in_denominator: bool,
    pub reason: String,
}

/// What shares are proportional to, with the figures themselves as adopted, so a share never
/// changes because a dataset was revised later.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareBasis {
    /// `gdp-current-usd`.
    pub indicator: String,
    /// Who publishes the figures (for the report's method).
    pub source: String,
    /// The file the figures were read from.
    pub dataset: String,
    pub year: i16,
    pub values: BTreeMap<PartyId, Decimal>,
}

/// A collective pledge was adopted, with all its rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkAdopted {
    pub framework: FrameworkId,
    pub name: String,
    pub adopted_on: Date,
    pub target: Money,
    pub period_start: Date,
    pub period_end: Date,
    pub recipients: Vec<PartyId>,
    /// Fixed at adoption; only a later event may change them.
    pub participants: Vec<PartyId>,
    pub exemptions: Vec<Exemption>,
    pub eligible_categories: Vec<Category>,
    /// The stage counted unless a report asks for another.
    pub counting_stage: Stage,
    pub share_basis: ShareBasis,
    /// Valuation bases accepted for in-kind items, most preferred first.
    pub valuation_preference: Vec<ValuationBasis>,
    pub reporting_periods: Vec<HalfYear>,
    /// How value at the counting stage is counted. Frameworks adopted before the rule was
    /// data counted literally, and keep doing so until a revision says otherwise.
    #[serde(default = "literal")]
    pub counting: Counting,
}

fn literal() -> Counting {
    Counting::Literal
}

/// A dated change of an adopted framework's counting rules. The adoption is never edited: a
/// report as known before the revision counts by the rules as they stood then.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FrameworkRevised {
    pub framework: FrameworkId,
    /// A label unique within the framework (`2026-12-reached`): what makes a retry harmless.
    pub revision: String,
    pub revised_on: Date,
    /// The new counting rule, if it changes.
    pub counting: Option<Counting>,
    /// Categories that count from now on, in addition to the eligible ones.
    pub add_eligible_categories: Vec<Category>,
    pub reason: String,
}

impl FrameworkRevised {
    /// The problems of a revision against the rules it revises; empty when it may be recorded.
    pub fn problems(&self, rules: &FrameworkAdopted) -> Vec<Reason> {
        let mut out = Vec::new();
        if self.revision.trim().is_empty() || self.revision.len() > 64 {
            out.push(Reason::at(
                Field::Key("revision"),
                "a label of 1 to 64 characters is required",
            ));
        }
        if self.reason.trim().is_empty() {
            out.push(Reason::at(Field::Key("reason"), "say why the rules change"));
        }
        if self.revised_on < rules.adopted_on {
            out.push(Reason::at(
                Field::Key("revised_on"),
                format!(
                    "{} is before the adoption on {}",
                    self.revised_on, rules.adopted_on
                ),
            ));
        }
        for c in &self.add_eligible_categories {
            if rules.eligible_categories.contains(c) {
                out.push(Reason::at(
                    Field::Key("add_eligible_categories"),
                    format!("{c} is already eligible"),
                ));
            }
        }
        if self.counting.is_none() && self.add_eligible_categories.is_empty() {
            out.push(Reason::whole("the revision changes nothing"));
        }
        out
    }
}

impl FrameworkAdopted {
    /// The rules after a revision.
    pub fn revised(&self, revision: &FrameworkRevised) -> FrameworkAdopted {
        let mut rules = self.clone();
        if let Some(counting) = revision.counting {
            rules.counting = counting;
        }
        for c in &revision.add_eligible_categories {
            if !rules.eligible_categories.contains(c) {
                rules.eligible_categories.push(*c);
            }
        }
        rules
    }

    pub fn exemption(&self, party: &PartyId) -> Option<&Exemption> {
        self.exemptions.iter().find(|e| &e.party == party)
    }

    pub fn in_period(&self, date: Date) -> bool {
        self.period_start <= date && date <= self.period_end
    }

    /// The rule problems of a framework, each naming its field; empty when it can be adopted.
    pub fn problems(&self) -> Vec<Reason> {
        let mut out = Vec::new();
        if self.target.currency().code() != "EUR" {
            out.push(Reason::at(
                Field::Key("target"),
                format!(
                    "only EUR targets are supported, not {}",
                    self.target.currency()
                ),
            ));
        }
        if !self.target.is_positive() {
            out.push(Reason::at(Field::Key("target"), "must be positive"));
        }
        if self.period_start > self.period_end {
            out.push(Reason::at(
                Field::Key("period"),
                format!(
                    "starts on {} after it ends on {}",
                    self.period_start, self.period_end
                ),
            ));
        }
        if !self.counting_stage.is_flow() {
            out.push(Reason::at(
                Field::Key("counting_stage"),
                format!(
                    "`{}` is not a stage that accumulates value",
                    self.counting_stage
                ),
            ));
        }
        if self.participants.is_empty() {
            out.push(Reason::at(Field::Key("participants"), "none listed"));
        }
        if self.recipients.is_empty() {
            out.push(Reason::at(Field::Key("recipients"), "none listed"));
        }
        if self.share_basis.indicator != GDP_CURRENT_USD {
            out.push(Reason::at(
                Field::Key("share_basis.indicator"),
                format!(
                    "`{}` is not supported; use {GDP_CURRENT_USD}",
                    self.share_basis.indicator
                ),
            ));
        }
        let participants: BTreeSet<&PartyId> = self.participants.iter().collect();
        if participants.len() != self.participants.len() {
            out.push(Reason::at(
                Field::Key("participants"),
                "a party is listed twice",
            ));
        }
        for e in &self.exemptions {
            if !participants.contains(&e.party) {
                out.push(Reason::at(
                    Field::Key("exemptions"),
                    format!("{} is not a participant", e.party),
                ));
            }
        }
        let mut denominator = Decimal::ZERO;
        for p in &self.participants {
            let counted = self.exemption(p).is_none_or(|e| e.in_denominator);
            match self.share_basis.values.get(p) {
                Some(v) if v.is_sign_positive() && !v.is_zero() && counted => {
                    denominator = denominator.saturating_add(*v);
                }
                Some(v) if v.is_sign_positive() && !v.is_zero() => {}
                Some(v) => out.push(Reason::at(
                    Field::Key("share_basis"),
                    format!(
                        "the {} {} of {p} is {v}; it must be positive",
                        self.share_basis.indicator, self.share_basis.year
                    ),
                )),
                None if counted => out.push(Reason::at(
                    Field::Key("share_basis"),
                    format!(
                        "no {} {} for participant {p}",
                        self.share_basis.indicator, self.share_basis.year
                    ),
                )),
                None => {}
            }
        }
        if out.is_empty() && denominator.is_zero() {
            out.push(Reason::at(
                Field::Key("participants"),
                "every participant is exempted out of the denominator",
            ));
        }
        for period in &self.reporting_periods {
            if period.first_day() < self.period_start || period.last_day() > self.period_end {
                out.push(Reason::at(
                    Field::Key("reporting_periods"),
                    format!("{period} is not within the framework's period"),
                ));
            }
        }
        out
    }
}

/// A framework as adopted, with where it sits in the log (for "as known on"). One record
/// (stream `framework:<id>`) per framework: its adoption, then its revisions.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdoptedFramework {
    /// The rules as adopted (revisions are kept apart: the adoption is never edited).
    pub rules: FrameworkAdopted,
    pub meta: EventMeta,
    /// Its revisions, in log order.
    pub revisions: Vec<(EventMeta, FrameworkRevised)>,
}

impl AdoptedFramework {
    /// The rules as known on a moment (every revision when `None`): the adoption with the
    /// revisions recorded by then applied in log order.
    pub fn rules_known_on(&self, known_on: Option<jiff::Timestamp>) -> FrameworkAdopted {
        self.revisions
            .iter()
            .filter(|(meta, _)| known_on.is_none_or(|t| meta.recorded_at <= t))
            .fold(self.rules.clone(), |rules, (_, r)| rules.revised(r))
    }
}

/// What a framework's record is asked: to adopt it, or to revise its counting rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameworkCommand {
    Adopt(Box<FrameworkAdopted>),
    Revise(FrameworkRevised),
}

/// The facts of a framework's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameworkEvent {
    /// Boxed: a framework is large and rare.
    Adopted(Box<FrameworkAdopted>),
    Revised(FrameworkRevised),
}

impl Aggregate for AdoptedFramework {
    const KIND: &'static str = "framework";
    type Id = FrameworkId;
    type Command = FrameworkCommand;
    type Event = FrameworkEvent;
    type Context<'c> = dyn Directory + 'c;

    fn target(command: &FrameworkCommand) -> FrameworkId {
        match command {
            FrameworkCommand::Adopt(c) => c.framework.clone(),
            FrameworkCommand::Revise(c) => c.framework.clone(),
        }
    }

    fn id_of(event: &FrameworkEvent) -> FrameworkId {
        match event {
            FrameworkEvent::Adopted(e) => e.framework.clone(),
            FrameworkEvent::Revised(e) => e.framework.clone(),
        }
    }

    fn decide(
        record: Option<&AdoptedFramework>,
        command: &FrameworkCommand,
        registry: &dyn Directory,
    ) -> Result<Vec<FrameworkEvent>, Rejection> {
        match command {
            FrameworkCommand::Adopt(cmd) => adopt(record, cmd, registry),
            FrameworkCommand::Revise(cmd) => revise(record, cmd),
        }
    }

    fn open(meta: EventMeta, event: &FrameworkEvent) -> Option<AdoptedFramework> {
        match event {
            FrameworkEvent::Adopted(rules) => Some(AdoptedFramework {
                rules: (**rules).clone(),
                meta,
                revisions: Vec::new(),
            }),
            FrameworkEvent::Revised(_) => None,
        }
    }

    fn apply(&mut self, meta: EventMeta, event: FrameworkEvent) {
        match event {
            // The adoption opened the record; a second one is never decided.
            FrameworkEvent::Adopted(_) => {}
            FrameworkEvent::Revised(r) => self.revisions.push((meta, r)),
        }
    }

    fn version(&self) -> u64 {
        1 + self.revisions.len() as u64
    }
}

/// Adopts a framework; adopting the very same rules again is a no-op.
fn adopt(
    record: Option<&AdoptedFramework>,
    cmd: &FrameworkAdopted,
    registry: &dyn Directory,
) -> Result<Vec<FrameworkEvent>, Rejection> {
    if let Some(existing) = record {
        return if existing.rules == *cmd {
            Ok(Vec::new())
        } else {
            Err(Rejection::one(Reason::at(
                Field::Key("id"),
                format!(
                    "framework {} is already adopted with different rules; a change needs its own event",
                    cmd.framework
                ),
            )))
        };
    }
    let mut problems = cmd.problems();
    for party in cmd.participants.iter().chain(&cmd.recipients) {
        if !registry.knows_party(party) {
            problems.push(Reason::whole(format!("{party} is not a registered party")));
        }
    }
    Rejection::unless_none(problems)?;
    Ok(vec![FrameworkEvent::Adopted(Box::new(cmd.clone()))])
}

/// Revises an adopted framework's counting rules; the same revision again is a no-op.
fn revise(
    record: Option<&AdoptedFramework>,
    cmd: &FrameworkRevised,
) -> Result<Vec<FrameworkEvent>, Rejection> {
    let Some(framework) = record else {
        return Err(Rejection::one(Reason::at(
            Field::Key("framework"),
            format!(
                "{} is not adopted; a revision needs an adopted framework",
                cmd.framework
            ),
        )));
    };
    if let Some((_, r)) = framework
        .revisions
        .iter()
        .find(|(_, r)| r.revision == cmd.revision)
    {
        return if r == cmd {
            Ok(Vec::new())
        } else {
            Err(Rejection::one(Reason::at(
                Field::Key("revision"),
                format!(
                    "{} of framework {} is already recorded with different content",
                    cmd.revision, cmd.framework
                ),
            )))
        };
    }
    Rejection::unless_none(cmd.problems(&framework.rules_known_on(None)))?;
    Ok(vec![FrameworkEvent::Revised(cmd.clone())])
}

/// One participant's place in the allocation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Allocation {
    pub party: PartyId,
    /// Its share of the basis (exact; zero when exempted out of the denominator).
    pub share: Decimal,
    /// Its fair share of the target, in cents of the target's currency; zero when exempt.
    pub fair_share: Decimal,
    pub exempt: bool,
}

/// The allocation of a framework's target: one entry per participant, in party-id order, and
/// what was left unallocated (the shares of parties exempted inside the denominator).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FairShares {
    pub allocations: Vec<Allocation>,
    pub unallocated: Decimal,
}

/// Allocates a framework's target by its share basis.
pub fn fair_shares(framework: &FrameworkAdopted) -> FairShares {
    let weights: Vec<(PartyId, Decimal)> = framework
        .participants
        .iter()
        .filter(|p| framework.exemption(p).is_none_or(|e| e.in_denominator))
        .map(|p| {
            let w = framework.share_basis.values.get(p).copied();
            (p.clone(), w.unwrap_or_default())
        })
        .collect();
    let shares = largest_remainder(framework.target.amount(), &weights);
    let mut unallocated = Decimal::ZERO;
    let mut allocations: Vec<Allocation> = framework
        .participants
        .iter()
        .map(|p| {
            let exempt = framework.exemption(p).is_some();
            let (share, amount) = shares.get(p).copied().unwrap_or_default();
            if exempt {
                unallocated += amount;
            }
            Allocation {
                party: p.clone(),
                share,
                fair_share: if exempt { cents(Decimal::ZERO) } else { amount },
                exempt,
            }
        })
        .collect();
    allocations.sort_by(|a, b| a.party.cmp(&b.party));
    FairShares {
        allocations,
        unallocated: cents(unallocated),
    }
}

/// Splits `total` (in units with two decimals) in proportion to `weights` by the largest
/// remainder method: floor each exact share to the cent, then give the cents left over one at a
/// time by descending remainder, ties by party id. Returns each party's fraction of the
/// weights and its amount. The amounts always add up to `total` exactly; non-positive weights
/// get nothing.
pub fn largest_remainder(
    total: Decimal,
    weights: &[(PartyId, Decimal)],
) -> BTreeMap<PartyId, (Decimal, Decimal)> {
    let total = total.round_dp_with_strategy(2, RoundingStrategy::ToZero);
    // Sorted by party id: the result cannot depend on the order parties are listed in.
    let mut sorted: Vec<(PartyId, Decimal)> = weights
        .iter()
        .map(|(p, w)| (p.clone(), (*w).max(Decimal::ZERO)))
        .collect();
    sorted.sort_by(|a, b| a.0.cmp(&b.0));
    sorted.dedup_by(|a, b| a.0 == b.0);
    let denominator = sorted
        .iter()
        .fold(Decimal::ZERO, |acc, (_, w)| acc.saturating_add(*w));
    let mut out: BTreeMap<PartyId, (Decimal, Decimal)> = BTreeMap::new();
    if denominator.is_zero() {
        for (p, _) in sorted {
            out.insert(p, (Decimal::ZERO, cents(Decimal::ZERO)));
        }
        return out;
    }
    // (party, floor, remainder)
    let mut parts: Vec<(PartyId, Decimal, Decimal, Decimal)> = Vec::with_capacity(sorted.len());
    for (p, w) in sorted {
        let fraction = w / denominator;
        // Multiply before dividing where it fits: more exact digits in the remainder.
        let exact = total
            .checked_mul(w)
            .and_then(|x| x.checked_div(denominator))
            .unwrap_or_else(|| total * fraction);
        let floor = exact.round_dp_with_strategy(2, RoundingStrategy::ToZero);
        parts.push((p, fraction, floor, exact - floor));
    }
    let allotted = parts.iter().fold(Decimal::ZERO, |acc, x| acc + x.2);
    let cent = Decimal::new(1, 2);
    let mut left = ((total - allotted) / cent).round();
    // Hand out (or, should rounding ever overshoot, take back) the leftover cents.
    let mut order: Vec<usize> = (0..parts.len()).collect();
    order.sort_by(|&a, &b| {
        parts[b]
            .3
            .cmp(&parts[a].3)
            .then(parts[a].0.cmp(&parts[b].0))
    });
    while left > Decimal::ZERO {
        for &i in &order {
            if left <= Decimal::ZERO {
                break;
            }
            if parts[i].1.is_zero() {
                continue;
            }
            parts[i].2 += cent;
            left -= Decimal::ONE;
        }
    }
    while left < Decimal::ZERO {
        for &i in order.iter().rev() {
            if left >= Decimal::ZERO {
                break;
            }
            if parts[i].2 >= cent {
                parts[i].2 -= cent;
                left += Decimal::ONE;
            }
        }
    }
    for (p, fraction, amount, _) in parts {
        out.insert(p, (fraction, cents(amount)));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> PartyId {
        PartyId::parse(s).unwrap()
    }

    #[test]
    fn leftover_cents_go_by_descending_remainder_then_party_id() {
        // 1.00 split three ways: 0.33 each, one cent left, remainders equal → lowest id.
        let w = [
            (p("FRA"), Decimal::ONE),
            (p("DEU"), Decimal::ONE),
            (p("ITA"), Decimal::ONE),
        ];
        let out = largest_remainder(Decimal::ONE, &w);
        assert_eq!(out[&p("DEU")].1.to_string(), "0.34");
        assert_eq!(out[&p("FRA")].1.to_string(), "0.33");
        assert_eq!(out[&p("ITA")].1.to_string(), "0.33");
        // 10.00 split 2:1 → 6.666.. and 3.333..: the larger remainder (0.006..) gets the cent.
        let w = [(p("BEL"), Decimal::ONE), (p("NLD"), Decimal::TWO)];
        let out = largest_remainder(Decimal::TEN, &w);
        assert_eq!(out[&p("NLD")].1.to_string(), "6.67");
        assert_eq!(out[&p("BEL")].1.to_string(), "3.33");
    }
}
