//! Counting by stage reached: the value of a contribution that has reached at least a stage, as
//! dated increments.
//!
//! Per contribution, with `N_s(t)` the net of the increments recorded at stage `s` effective on
//! or before `t` (an amendment applies at the date of the event it corrects, and an event is
//! never worth less than zero after its amendments; a withdrawal caps the stages before
//! delivery at what was delivered, from its own date), the value reached at `s` is
//! `R_s(t) = max(N_s'(t))` over `s` and every later flow stage `s'`. Each change of `R_s` is a
//! dated increment, up or down, in the contribution's currency; a report converts each at its
//! own date. So a contribution delivered without a recorded commitment counts as committed from
//! the day it was delivered, and nothing is counted twice across stages or periods.
//!
//! A contribution whose stages are recorded in more than one currency has no single running
//! value: [`reached`] says so, and a report counts it literally and flags it.

use std::collections::BTreeSet;

use jiff::civil::Date;
use rust_decimal::Decimal;

use crate::contribution::{ContributionState, HistoryEntry};
use crate::money::Currency;
use crate::vocabulary::Stage;

/// One dated change of the value a contribution has reached at a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step<'a> {
    pub date: Date,
    /// Signed: down after a negative amendment or a withdrawal.
    pub amount: Decimal,
    pub currency: Currency,
    /// The event the change is attributed to: the first (in log order) of the events at the
    /// stage or later effective that day, else the withdrawal that capped the value.
    pub entry: &'a HistoryEntry,
}

/// What counting by stage reached makes of a contribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reached<'a> {
    /// The dated changes of the value reached, in date order (none when nothing has a value).
    Steps(Vec<Step<'a>>),
    /// Its events at the stage or later are in more than one currency.
    MixedCurrencies(Vec<Currency>),
}

/// One root flow event as a view sees it: its stage, date and net amount.
struct Root<'a> {
    entry: &'a HistoryEntry,
    stage: Stage,
    date: Date,
    amount: Decimal,
}

/// The changes of the value `state` has reached at `stage` (a flow stage), over the history
/// entries `keeps` accepts.
pub fn reached<'a>(
    state: &'a ContributionState,
    stage: Stage,
    keeps: &dyn Fn(&HistoryEntry) -> bool,
) -> Reached<'a> {
    let counted = |s: Stage| s.is_flow() && s >= stage;
    let kept: Vec<&HistoryEntry> = state.history.iter().filter(|e| keeps(e)).collect();
    let currencies: BTreeSet<Currency> = kept
        .iter()
        .filter(|e| {
            let s = state.root_entry(e).event.stage;
            counted(s) && (e.event.stage == s || e.event.stage == Stage::Amended)
        })
        .filter_map(|e| e.event.money.map(|m| m.currency()))
        .collect();
    if currencies.len() > 1 {
        return Reached::MixedCurrencies(currencies.into_iter().collect());
    }
    let Some(currency) = currencies.into_iter().next() else {
        return Reached::Steps(Vec::new());
    };
    // Each root event at the stage or later, as corrected by the amendments the view keeps
    // (an amendment of an event the view does not keep has nothing to correct).
    let mut roots: Vec<Root<'a>> = kept
        .iter()
        .filter(|e| counted(e.event.stage))
        .filter_map(|e| {
            let money = e.event.money?;
            Some(Root {
                entry: e,
                stage: e.event.stage,
                date: e.event.effective_date,
                amount: money.amount(),
            })
        })
        .collect();
    for e in kept.iter().filter(|e| e.event.stage == Stage::Amended) {
        let root = state.root_entry(e);
        if let (Some(r), Some(m)) = (
            roots
                .iter_mut()
                .find(|r| r.entry.event.event == root.event.event),
            e.event.money,
        ) {
            r.amount = r.amount.saturating_add(m.amount());
        }
    }
    for r in &mut roots {
        r.amount = r.amount.max(Decimal::ZERO);
    }
    let withdrawal = kept
        .iter()
        .filter(|e| e.event.stage == Stage::Withdrawn)
        .min_by_key(|e| e.event.effective_date)
        .copied();
    let mut dates: BTreeSet<Date> = roots.iter().map(|r| r.date).collect();
    if let Some(w) = withdrawal {
        dates.insert(w.event.effective_date);
    }
    let net = |s: Stage, t: Date| -> Decimal {
        roots
            .iter()
            .filter(|r| r.stage == s && r.date <= t)
            .fold(Decimal::ZERO, |a, r| a.saturating_add(r.amount))
    };
    let mut steps = Vec::new();
    let mut before = Decimal::ZERO;
    for t in dates {
        let delivered = net(Stage::Delivered, t);
        let capped = withdrawal.is_some_and(|w| w.event.effective_date <= t);
        let value = Stage::FLOW
            .iter()
            .filter(|s| counted(**s))
            .map(|s| {
                let n = net(*s, t);
                if capped && *s < Stage::Delivered {
                    n.min(delivered)
                } else {
                    n
                }
            })
            .max()
            .unwrap_or_default();
        // A change has a cause on its day: an event at the stage or later, or the withdrawal.
        let cause = roots
            .iter()
            .find(|r| r.date == t)
            .map(|r| r.entry)
            .or(withdrawal);
        if value != before
            && let Some(entry) = cause
        {
            steps.push(Step {
                date: t,
                amount: value - before,
                currency,
                entry,
            });
            before = value;
        }
    }
    Reached::Steps(steps)
}
