//! What every kind of record in the ledger is: an [`Aggregate`] owns its commands, its events,
//! its state, the decision that turns a command into events and the fold that applies them.
//! A decision that refuses says why in one shape, a [`Rejection`] of [`Reason`]s, each naming
//! the [`Field`] at fault where there is one.
//!
//! A new kind of record is one module implementing [`Aggregate`] plus its registration in
//! [`crate::ledger`] (a variant of `DomainEvent`, a book in `Ledger`).

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::money::Currency;

/// One kind of record: parties, contributions, frameworks, datasets, the reference rates.
///
/// A record is one stream of the log (`<KIND>:<id>`): [`Aggregate::decide`] reads the record
/// as it stands (with what the same batch already decided) and yields the events to append,
/// or refuses; [`Aggregate::apply`] folds an appended event into the record and cannot fail,
/// so a replay of the log equals the state built while appending.
pub trait Aggregate: Clone + Sized {
    /// The kind's name, the first part of its streams' names.
    const KIND: &'static str;
    /// What names one record of the kind.
    type Id: Clone + Ord + std::hash::Hash + fmt::Display;
    /// What a user asks of a record.
    type Command;
    /// What a record holds as facts.
    type Event: Clone;
    /// What a decision reads of the other records (each kind says what it needs: a trait the
    /// batch being decided implements; `()` for a kind that reads nothing else).
    type Context<'c>: ?Sized;

    /// The record a command is about.
    fn target(command: &Self::Command) -> Self::Id;

    /// The record an event belongs to.
    fn id_of(event: &Self::Event) -> Self::Id;

    /// Decides a command against the record as it stands (`None`: not recorded yet), reading
    /// the rest of the ledger through `context`. An empty list: the command is already
    /// recorded.
    fn decide(
        record: Option<&Self>,
        command: &Self::Command,
        context: &Self::Context<'_>,
    ) -> Result<Vec<Self::Event>, Rejection>;

    /// The empty record an event starts (`None` when the event cannot start one: it is then
    /// not folded, as a replay of a log the rules did not write would have it).
    fn open(meta: crate::EventMeta, event: &Self::Event) -> Option<Self>;

    /// Folds one of its events into the record (after [`Aggregate::open`] for the first).
    fn apply(&mut self, meta: crate::EventMeta, event: Self::Event);

    /// How many events the record's stream holds (the optimistic-concurrency check).
    fn version(&self) -> u64;

    /// The stream an event belongs to.
    fn stream(event: &Self::Event) -> String {
        format!("{}:{}", Self::KIND, Self::id_of(event))
    }
}

/// A field of a command, so a reason can be located in its source (a CSV column, a JSON field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Field {
    EventId,
    ContributionId,
    Donor,
    Recipient,
    Stage,
    EffectiveDate,
    Amount,
    Currency,
    Category,
    Channel,
    Visibility,
    Quantity,
    Unit,
    ValuationBasis,
    Amends,
    Reason,
    SourceUrl,
    Description,
    SourceKind,
    Dataset,
    /// The reference rate of one currency (a day of rates).
    Rate(Currency),
    /// A key of a specification (a framework, a revision, a dataset's release), as it is
    /// spelled there: `target`, `share_basis.indicator`.
    Key(&'static str),
}

impl Field {
    /// The field's name in the import layout.
    pub fn name(self) -> &'static str {
        match self {
            Field::EventId => "event_id",
            Field::ContributionId => "contribution_id",
            Field::Donor => "donor",
            Field::Recipient => "recipient",
            Field::Stage => "stage",
            Field::EffectiveDate => "effective_date",
            Field::Amount => "amount",
            Field::Currency => "currency",
            Field::Category => "category",
            Field::Channel => "channel",
            Field::Visibility => "visibility",
            Field::Quantity => "quantity",
            Field::Unit => "unit",
            Field::ValuationBasis => "valuation_basis",
            Field::Amends => "amends",
            Field::Reason => "reason",
            Field::SourceUrl => "source_url",
            Field::Description => "description",
            Field::SourceKind => "source_kind",
            Field::Dataset => "dataset",
            Field::Rate(_) => "rate",
            Field::Key(key) => key,
        }
    }
}

/// One rule a command broke: the field at fault (where one is) and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reason {
    pub field: Option<Field>,
    pub message: String,
}

impl Reason {
    /// A reason about one field.
    pub fn at(field: Field, message: impl Into<String>) -> Self {
        Reason {
            field: Some(field),
            message: message.into(),
        }
    }

    /// A reason about the command as a whole (its message names what it is about).
    pub fn whole(message: impl Into<String>) -> Self {
        Reason {
            field: None,
            message: message.into(),
        }
    }
}

/// The message; a reason about one currency's rate names the currency first, and one about a
/// specification's key names the key.
impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.field {
            Some(Field::Rate(currency)) => write!(f, "{currency}: ")?,
            Some(Field::Key(key)) => write!(f, "{key}: ")?,
            _ => {}
        }
        f.write_str(&self.message)
    }
}

/// Why a command was refused: every rule it broke, none dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Rejection {
    pub reasons: Vec<Reason>,
}

impl Rejection {
    /// A rejection for one reason.
    pub fn one(reason: Reason) -> Self {
        Rejection {
            reasons: vec![reason],
        }
    }

    /// `Ok(())` when there is no reason, else the rejection (reasons in field order).
    pub fn unless_empty(mut reasons: Vec<Reason>) -> Result<(), Rejection> {
        if reasons.is_empty() {
            return Ok(());
        }
        reasons.sort_by_key(|r| r.field);
        Err(Rejection { reasons })
    }

    /// `Ok(())` when there is no reason, else the rejection (reasons in the order given: a
    /// specification's reasons follow its layout).
    pub fn unless_none(reasons: Vec<Reason>) -> Result<(), Rejection> {
        if reasons.is_empty() {
            return Ok(());
        }
        Err(Rejection { reasons })
    }
}

impl std::ops::Deref for Rejection {
    type Target = [Reason];

    fn deref(&self) -> &[Reason] {
        &self.reasons
    }
}

impl IntoIterator for Rejection {
    type Item = Reason;
    type IntoIter = std::vec::IntoIter<Reason>;

    fn into_iter(self) -> Self::IntoIter {
        self.reasons.into_iter()
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, reason) in self.reasons.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            fmt::Display::fmt(reason, f)?;
        }
        Ok(())
    }
}

impl std::error::Error for Rejection {}

/// The records of one kind, by id, folded from their events: what the ledger keeps of a kind
/// that needs no index of its own. Its serde form is the map's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
#[serde(bound(
    serialize = "A: Serialize, A::Id: Serialize",
    deserialize = "A: Deserialize<'de>, A::Id: Deserialize<'de>"
))]
pub struct Book<A: Aggregate> {
    records: BTreeMap<A::Id, A>,
}

impl<A: Aggregate> Default for Book<A> {
    fn default() -> Self {
        Book {
            records: BTreeMap::new(),
        }
    }
}

impl<A: Aggregate> Book<A> {
    /// One record.
    pub fn get(&self, id: &A::Id) -> Option<&A> {
        self.records.get(id)
    }

    /// Every record, in id order.
    pub fn iter(&self) -> impl Iterator<Item = &A> {
        self.records.values()
    }

    /// Decides a command against the record it targets.
    pub fn decide(
        &self,
        command: &A::Command,
        context: &A::Context<'_>,
    ) -> Result<Vec<A::Event>, Rejection> {
        A::decide(self.get(&A::target(command)), command, context)
    }

    /// Folds one event into its record, opening the record with its first event; an event
    /// that belongs to no record and cannot open one is not folded.
    pub fn apply(&mut self, meta: crate::EventMeta, event: A::Event) {
        let id = A::id_of(&event);
        if let Some(record) = evolve(self.records.remove(&id), meta, event) {
            self.records.insert(id, record);
        }
    }
}

/// A record with one more event folded in (opened by it when `record` is `None`).
pub fn evolve<A: Aggregate>(
    record: Option<A>,
    meta: crate::EventMeta,
    event: A::Event,
) -> Option<A> {
    match record {
        Some(mut r) => {
            r.apply(meta, event);
            Some(r)
        }
        None => A::open(meta, &event).map(|mut r| {
            r.apply(meta, event);
            r
        }),
    }
}
