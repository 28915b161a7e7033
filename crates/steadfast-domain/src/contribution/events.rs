//! The facts of a contribution's record (stream `contribution:<id>`): its registration, then
//! its stage events.

use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

use crate::ids::{ContributionId, DatasetId, EventId, PartyId};
use crate::money::Money;
use crate::vocabulary::{
    Category, Channel, Condition, SourceKind, Stage, ValuationBasis, Visibility,
};

/// A quantity of items with its unit ("6 F-16 aircraft", "14000 155mm rounds").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quantity {
    pub value: Decimal,
    pub unit: String,
}

/// A contribution was opened: the attributes every later stage event of it shares.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContributionRegistered {
    pub contribution: ContributionId,
    pub donor: PartyId,
    pub recipient: PartyId,
    pub category: Category,
    pub channel: Channel,
    pub visibility: Visibility,
    pub description: String,
    /// The effective date of the contribution's first stage event.
    pub opened_on: Date,
    /// Its provenance (version 2 of the event; version 1 events belong to `ledger`).
    #[serde(default)]
    pub dataset: DatasetId,
}

/// One stage event of a contribution, carrying its increment. For `amended`, `money` and
/// `quantity` are signed deltas applied to the event named by `amends`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageRecorded {
    pub event: EventId,
    pub contribution: ContributionId,
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
    /// Who published the source (version 2 of the event; absent in version 1).
    #[serde(default)]
    pub source_kind: Option<SourceKind>,
    /// The source named in words, for one with no address (a dataset's release) or to say
    /// which document at the address (version 2; absent in version 1).
    #[serde(default)]
    pub citation: Option<String>,
}

impl StageRecorded {
    /// The source the event cites: its address, else its citation in words.
    pub fn source(&self) -> Option<&str> {
        self.source_url.as_deref().or(self.citation.as_deref())
    }
}

/// The facts of a contribution's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContributionEvent {
    Registered(ContributionRegistered),
    StageRecorded(StageRecorded),
}
