//! Recording a stage event: the command, the rules it must keep, and the decision.

use super::events::{ContributionEvent, ContributionRegistered, Quantity, StageRecorded};
use super::state::ContributionState;
use crate::aggregate::{Aggregate, Field, Reason, Rejection};
use crate::events::EventMeta;
use crate::ids::{ContributionId, DatasetId, EventId, PartyId};
use crate::money::Money;
use crate::party::Directory;
use crate::vocabulary::{
    Category, Channel, Condition, SourceKind, Stage, ValuationBasis, Visibility,
};
use jiff::civil::Date;

/// What a stage decision reads of the rest of the ledger, as the batch has it: the parties,
/// and the contribution each stage event id belongs to.
pub trait Lookup: Directory {
    /// The contribution a stage event id belongs to, wherever it was recorded.
    fn owner_of(&self, event: &EventId) -> Option<&ContributionId>;

    /// A contribution as the batch has it.
    fn contribution(&self, id: &ContributionId) -> Option<&ContributionState>;
}

/// The command to record one stage event, already parsed into domain values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordStage {
    pub event: EventId,
    pub contribution: ContributionId,
    pub donor: PartyId,
    pub recipient: PartyId,
    pub category: Category,
    pub channel: Channel,
    pub visibility: Visibility,
    pub stage: Stage,
    pub effective_date: Date,
    pub money: Option<Money>,
    pub quantity: Option<Quantity>,
    pub valuation_basis: Option<ValuationBasis>,
    pub amends: Option<EventId>,
    pub reason: Option<String>,
    pub condition: Option<Condition>,
    pub source_url: Option<String>,
    pub description: Option<String>,
    pub source_kind: Option<SourceKind>,
    pub citation: Option<String>,
    /// The contribution's dataset (its provenance). `None`: the dataset of the contribution
    /// when it is already recorded, else `ledger`; a dataset given must be the contribution's.
    pub dataset: Option<DatasetId>,
}

impl RecordStage {
    /// The stage event this command records (what [`Aggregate::decide`] decides).
    pub fn to_event(&self) -> StageRecorded {
        StageRecorded {
            event: self.event.clone(),
            contribution: self.contribution.clone(),
            stage: self.stage,
            effective_date: self.effective_date,
            money: self.money,
            quantity: self.quantity.clone(),
            valuation_basis: self.valuation_basis,
            amends: self.amends.clone(),
            reason: self.reason.clone(),
            condition: self.condition,
            source_url: self.source_url.clone(),
            description: self.description.clone(),
            source_kind: self.source_kind,
            citation: self.citation.clone(),
        }
    }

    /// [`RecordStage::to_event`] by value: the command's texts move into the event.
    pub fn into_event(self) -> StageRecorded {
        StageRecorded {
            event: self.event,
            contribution: self.contribution,
            stage: self.stage,
            effective_date: self.effective_date,
            money: self.money,
            quantity: self.quantity,
            valuation_basis: self.valuation_basis,
            amends: self.amends,
            reason: self.reason,
            condition: self.condition,
            source_url: self.source_url,
            description: self.description,
            source_kind: self.source_kind,
            citation: self.citation,
        }
    }

    /// The registration of the contribution this command opens when it is the contribution's
    /// first event (what [`Aggregate::decide`] decides before its stage event).
    pub fn registration(&self) -> ContributionRegistered {
        ContributionRegistered {
            contribution: self.contribution.clone(),
            donor: self.donor.clone(),
            recipient: self.recipient.clone(),
            category: self.category,
            channel: self.channel,
            visibility: self.visibility,
            description: self.description.clone().unwrap_or_default(),
            opened_on: self.effective_date,
            dataset: self.dataset.clone().unwrap_or_default(),
        }
    }

    /// The events this command records once decided: the registration of its contribution
    /// first when it `opens` it, then its stage event.
    pub fn events(&self, opens: bool) -> Vec<ContributionEvent> {
        let mut events = Vec::with_capacity(2);
        if opens {
            events.push(ContributionEvent::Registered(self.registration()));
        }
        events.push(ContributionEvent::StageRecorded(self.to_event()));
        events
    }

    /// The attributes of its contribution this command states differently from how the
    /// contribution is recorded, each a reason naming its field.
    pub(crate) fn attributes_differ(&self, info: &ContributionRegistered) -> Vec<Reason> {
        fn differ<T: PartialEq + std::fmt::Display>(
            out: &mut Vec<Reason>,
            contribution: &ContributionId,
            field: Field,
            ours: &T,
            theirs: &T,
        ) {
            if ours != theirs {
                out.push(Reason::at(
                    field,
                    format!(
                        "contribution {contribution} is recorded with {} `{theirs}`, this row says `{ours}`",
                        field.name()
                    ),
                ));
            }
        }
        let mut out = Vec::new();
        let id = &self.contribution;
        differ(&mut out, id, Field::Donor, &self.donor, &info.donor);
        differ(
            &mut out,
            id,
            Field::Recipient,
            &self.recipient,
            &info.recipient,
        );
        differ(
            &mut out,
            id,
            Field::Category,
            &self.category,
            &info.category,
        );
        differ(&mut out, id, Field::Channel, &self.channel, &info.channel);
        differ(
            &mut out,
            id,
            Field::Visibility,
            &self.visibility,
            &info.visibility,
        );
        if let Some(dataset) = &self.dataset {
            differ(&mut out, id, Field::Dataset, dataset, &info.dataset);
        }
        out
    }
}

/// What deciding a stage command did, without the events: they are the command's
/// [`registration`](RecordStage::registration) (when it opens its contribution) and its
/// [`to_event`](RecordStage::to_event), so a caller that keeps the commands can build them when
/// it needs them instead of holding a second copy of every command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Staged {
    /// Its stage event is decided; `opens`: a registration of its contribution goes first.
    Record { opens: bool },
    /// The same event is already in the ledger with the same content: nothing to do.
    AlreadyRecorded,
}

impl Aggregate for ContributionState {
    const KIND: &'static str = "contribution";
    type Id = ContributionId;
    type Command = RecordStage;
    type Event = ContributionEvent;
    type Context<'c> = dyn Lookup + 'c;

    fn target(command: &RecordStage) -> ContributionId {
        command.contribution.clone()
    }

    fn id_of(event: &ContributionEvent) -> ContributionId {
        match event {
            ContributionEvent::Registered(e) => e.contribution.clone(),
            ContributionEvent::StageRecorded(e) => e.contribution.clone(),
        }
    }

    /// Decides one stage command: every rule it breaks, or its events (the contribution's
    /// registration first when the command opens it).
    fn decide(
        record: Option<&ContributionState>,
        cmd: &RecordStage,
        ledger: &dyn Lookup,
    ) -> Result<Vec<ContributionEvent>, Rejection> {
        Ok(match decide_stage(record, cmd, ledger)? {
            Staged::AlreadyRecorded => Vec::new(),
            Staged::Record { opens } => cmd.events(opens),
        })
    }

    fn open(meta: EventMeta, event: &ContributionEvent) -> Option<ContributionState> {
        match event {
            ContributionEvent::Registered(e) => Some(ContributionState::new(e.clone(), meta)),
            ContributionEvent::StageRecorded(_) => None,
        }
    }

    fn apply(&mut self, meta: EventMeta, event: ContributionEvent) {
        match event {
            // The registration opened the record; a second one is never decided.
            ContributionEvent::Registered(_) => {}
            ContributionEvent::StageRecorded(e) => self.apply_owned(meta, e),
        }
    }

    fn version(&self) -> u64 {
        self.history.len() as u64 + 1
    }
}

/// Decides one stage command against its contribution as it stands (`None`: not recorded):
/// an event id recorded before is the same fact (nothing to do) or a conflict; otherwise every
/// rule the command breaks, or that it may be recorded (opening its contribution or not).
pub fn decide_stage(
    record: Option<&ContributionState>,
    cmd: &RecordStage,
    ledger: &dyn Lookup,
) -> Result<Staged, Rejection> {
    // Idempotency first: an event id seen before is either the same fact or a conflict.
    if let Some(owner) = ledger.owner_of(&cmd.event) {
        let state = if *owner == cmd.contribution {
            record
        } else {
            ledger.contribution(owner)
        };
        let same = match state.and_then(|s| s.entry(&cmd.event).map(|e| (s, e))) {
            Some((state, stored)) => {
                stored.event == cmd.to_event() && cmd.attributes_differ(&state.info).is_empty()
            }
            None => false,
        };
        return if same {
            Ok(Staged::AlreadyRecorded)
        } else {
            Err(Rejection::one(Reason::at(
                Field::EventId,
                format!(
                    "event id {} is already recorded with different content (contribution {owner})",
                    cmd.event
                ),
            )))
        };
    }
    Rejection::unless_empty(check(cmd, record, ledger))?;
    Ok(Staged::Record {
        opens: record.is_none(),
    })
}

/// Every rule the command breaks against the current state; empty when it may be recorded.
fn check(cmd: &RecordStage, state: Option<&ContributionState>, ledger: &dyn Lookup) -> Vec<Reason> {
    let mut out = Vec::new();
    if let Some(state) = state {
        out.extend(cmd.attributes_differ(&state.info));
    }
    for (field, party) in [
        (Field::Donor, &cmd.donor),
        (Field::Recipient, &cmd.recipient),
    ] {
        if !ledger.knows_party(party) {
            out.push(Reason::at(
                field,
                format!(
                    "unknown party {party}: organisations must be registered first (the founding scenario registers NATO, EU and NSATU)"
                ),
            ));
        }
    }
    if cmd.donor == cmd.recipient {
        out.push(Reason::at(
            Field::Recipient,
            format!("donor and recipient are both {}", cmd.donor),
        ));
    }
    if let Some(q) = cmd
        .quantity
        .as_ref()
        .filter(|q| q.value.abs() >= rust_decimal::Decimal::from(crate::MAX_AMOUNT_UNITS))
    {
        out.push(Reason::at(
            Field::Quantity,
            format!("quantity {} is too large: it must be below 10^15", q.value),
        ));
    }
    if cmd.quantity.as_ref().is_some_and(|q| q.unit.is_empty()) {
        out.push(Reason::at(Field::Unit, "a quantity needs its unit"));
    }
    if cmd.stage != Stage::Amended && cmd.amends.is_some() {
        out.push(Reason::at(
            Field::Amends,
            format!(
                "only an amended event may reference another; this one is {}",
                cmd.stage
            ),
        ));
    }
    if cmd.condition.is_some() && cmd.stage != Stage::Confirmed {
        out.push(Reason::at(
            Field::Reason,
            "a condition is reported only with a confirmed receipt",
        ));
    }

    match cmd.stage {
        Stage::Withdrawn => {
            if cmd.money.is_some() || cmd.quantity.is_some() {
                out.push(Reason::at(
                    Field::Amount,
                    "withdrawn carries no amount: it cancels the undelivered part; use amended to reduce a figure",
                ));
            }
            if let Some(state) = state {
                if let Some(on) = state.withdrawn_on {
                    out.push(Reason::at(
                        Field::Stage,
                        format!(
                            "contribution {} is already withdrawn (on {on})",
                            cmd.contribution
                        ),
                    ));
                } else if let Some(latest) =
                    state.latest_effective.filter(|d| *d > cmd.effective_date)
                {
                    out.push(Reason::at(
                        Field::EffectiveDate,
                        format!(
                            "withdrawn on {} but contribution {} has an event effective {latest}; no event may be dated after a withdrawal",
                            cmd.effective_date, cmd.contribution
                        ),
                    ));
                }
            }
        }
        Stage::Amended => out.extend(check_amendment(cmd, state, ledger)),
        _ => {
            match &cmd.money {
                Some(m) if m.is_zero() => out.push(Reason::at(
                    Field::Amount,
                    format!("{} event needs a positive increment, not zero", a_or_an(cmd.stage)),
                )),
                Some(m) if m.is_negative() => out.push(Reason::at(
                    Field::Amount,
                    format!(
                        "negative increment {m} on {} event; to correct an earlier event record an amended event that references it",
                        a_or_an(cmd.stage)
                    ),
                )),
                _ => {}
            }
            if let Some(q) = cmd
                .quantity
                .as_ref()
                .filter(|q| q.value <= rust_decimal::Decimal::ZERO)
            {
                out.push(Reason::at(
                    Field::Quantity,
                    format!("quantity {} must be positive outside amended", q.value),
                ));
            }
            if cmd.money.is_none() && cmd.quantity.is_none() {
                out.push(Reason::at(
                    Field::Amount,
                    format!(
                        "{} event needs an increment: an amount, a quantity, or both",
                        a_or_an(cmd.stage)
                    ),
                ));
            }
            // A confirmed receipt without its condition, or an in-kind valuation without its
            // basis, is incomplete rather than untrue: accepted and flagged as an anomaly.
            if let Some(on) = state
                .and_then(|s| s.withdrawn_on)
                .filter(|on| cmd.effective_date > *on)
            {
                out.push(Reason::at(
                    Field::Stage,
                    format!(
                        "contribution {} was withdrawn on {on}; no event may be dated after a withdrawal",
                        cmd.contribution
                    ),
                ));
            }
        }
    }
    out
}

fn check_amendment(
    cmd: &RecordStage,
    state: Option<&ContributionState>,
    ledger: &dyn Lookup,
) -> Vec<Reason> {
    let mut out = Vec::new();
    if cmd.reason.as_deref().is_none_or(str::is_empty) {
        out.push(Reason::at(Field::Reason, "an amendment states its reason"));
    }
    if let Some(on) = state
        .and_then(|s| s.withdrawn_on)
        .filter(|on| cmd.effective_date > *on)
    {
        out.push(Reason::at(
            Field::Stage,
            format!(
                "contribution {} was withdrawn on {on}; no event may be dated after a withdrawal",
                cmd.contribution
            ),
        ));
    }
    if cmd.money.is_none() && cmd.quantity.is_none() {
        out.push(Reason::at(
            Field::Amount,
            "an amendment carries a signed delta: an amount, a quantity, or both",
        ));
    }
    if cmd.quantity.as_ref().is_some_and(|q| q.value.is_zero()) {
        out.push(Reason::at(
            Field::Quantity,
            "an amendment's quantity delta cannot be zero",
        ));
    }
    if cmd.money.is_some_and(|m| m.is_zero()) {
        out.push(Reason::at(
            Field::Amount,
            "an amendment's delta cannot be zero",
        ));
    }
    let Some(target_id) = &cmd.amends else {
        out.push(Reason::at(
            Field::Amends,
            "an amended event names the event it corrects",
        ));
        return out;
    };
    let target = state.and_then(|s| s.entry(target_id).map(|e| (s, e)));
    let Some((state, target)) = target else {
        let elsewhere = ledger.owner_of(target_id);
        out.push(Reason::at(
            Field::Amends,
            match elsewhere {
                Some(other) => format!("amends {target_id}, which belongs to contribution {other}, not {}", cmd.contribution),
                None => format!("amends {target_id}, which is not recorded (in the ledger or earlier in this batch)"),
            },
        ));
        return out;
    };
    if target.event.effective_date > cmd.effective_date {
        out.push(Reason::at(
            Field::Amends,
            format!(
                "amends {target_id}, effective {}, later than this amendment ({})",
                target.event.effective_date, cmd.effective_date
            ),
        ));
    }
    if target.event.stage == Stage::Withdrawn {
        out.push(Reason::at(
            Field::Amends,
            format!("{target_id} is a withdrawal; it has no amount to amend"),
        ));
        return out;
    }
    let Some(root) = state.root_of(target_id) else {
        return out;
    };
    let net = state.net_of(root);
    if let Some(delta) = &cmd.money {
        match net.money {
            None => out.push(Reason::at(
                Field::Amount,
                format!("{target_id} has no amount to amend"),
            )),
            Some(m) if m.currency() != delta.currency() => out.push(Reason::at(
                Field::Currency,
                format!(
                    "{target_id} is in {}, the delta in {}",
                    m.currency(),
                    delta.currency()
                ),
            )),
            Some(m)
                if m.amount()
                    .checked_add(delta.amount())
                    .is_some_and(|sum| sum < rust_decimal::Decimal::ZERO) =>
            {
                out.push(Reason::at(
                    Field::Amount,
                    format!("delta {delta} would take {root} below zero (it stands at {m})"),
                ))
            }
            Some(_) => {}
        }
    }
    if let Some(delta) = &cmd.quantity {
        match &net.quantity {
            None => out.push(Reason::at(
                Field::Quantity,
                format!("{target_id} has no quantity to amend"),
            )),
            Some(q) if q.unit != delta.unit => out.push(Reason::at(
                Field::Unit,
                format!(
                    "{target_id} counts `{}`, the delta `{}`",
                    q.unit, delta.unit
                ),
            )),
            Some(q)
                if q.value
                    .checked_add(delta.value)
                    .is_some_and(|sum| sum < rust_decimal::Decimal::ZERO) =>
            {
                out.push(Reason::at(
                    Field::Quantity,
                    format!(
                        "delta {} would take {root} below zero (it stands at {})",
                        delta.value, q.value
                    ),
                ))
            }
            Some(_) => {}
        }
    }
    out
}

/// A stage with its indefinite article: "an announced", "a committed".
fn a_or_an(stage: Stage) -> String {
    let name = stage.as_str();
    if name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        format!("an {name}")
    } else {
        format!("a {name}")
    }
}
