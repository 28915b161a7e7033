//! Domain events: the immutable facts appended to the log. Each has a stable type name and a
//! version; changing an event's shape means a new version and an upcaster, never an edit of
//! stored history. Encoding (JSON) is the application layer's business, not this crate's.

use jiff::Timestamp;
use jiff::civil::Date;
use rust_decimal::Decimal;
use serde::{Deserialize, Serialize};

pub use crate::dataset::DatasetReleaseRecorded;
pub use crate::framework::FrameworkAdopted;
pub use crate::framework::FrameworkRevised;
pub use crate::fx::FxFixingsPublished;
use crate::ids::{ContributionId, DatasetId, EventId, PartyId, PartyKind};
use crate::money::Money;
use crate::vocabulary::{
    Category, Channel, Condition, SourceKind, Stage, ValuationBasis, Visibility,
};

/// A quantity of items with its unit ("6 F-16 aircraft", "14000 155mm rounds").
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Quantity {
    #[serde(with = "crate::compact::decimal")]
    pub value: Decimal,
    pub unit: String,
}

/// A party entered the registry (states are also known from ISO 3166-1 without registering).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PartyRegistered {
    pub party: PartyId,
    pub name: String,
    pub kind: PartyKind,
    /// The date from which the registry entry holds.
    pub registered_on: Date,
}

/// A dated membership of a party in an organisation (Finland in NATO from 2023-04-04).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MembershipRecorded {
    pub party: PartyId,
    pub organisation: PartyId,
    pub joined: Date,
    pub left: Option<Date>,
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
    #[serde(with = "crate::compact::date")]
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
    #[serde(with = "crate::compact::date")]
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

/// Every event the domain knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainEvent {
    PartyRegistered(PartyRegistered),
    MembershipRecorded(MembershipRecorded),
    ContributionRegistered(ContributionRegistered),
    StageRecorded(StageRecorded),
    /// Boxed: a framework is large and rare, and every event in a batch would otherwise take
    /// its size.
    FrameworkAdopted(Box<FrameworkAdopted>),
    FxFixingsPublished(FxFixingsPublished),
    /// A dated change of a framework's counting rules.
    FrameworkRevised(FrameworkRevised),
    /// A dataset's release was recorded (its coverage, its citation).
    DatasetReleaseRecorded(DatasetReleaseRecorded),
}

impl DomainEvent {
    /// The stream the event belongs to: one per party, one per contribution.
    pub fn stream(&self) -> String {
        match self {
            DomainEvent::PartyRegistered(e) => format!("party:{}", e.party),
            DomainEvent::MembershipRecorded(e) => format!("party:{}", e.party),
            DomainEvent::ContributionRegistered(e) => format!("contribution:{}", e.contribution),
            DomainEvent::StageRecorded(e) => format!("contribution:{}", e.contribution),
            DomainEvent::FrameworkAdopted(e) => format!("framework:{}", e.framework),
            DomainEvent::FxFixingsPublished(e) => format!("fx:{}", e.source),
            DomainEvent::FrameworkRevised(e) => format!("framework:{}", e.framework),
            DomainEvent::DatasetReleaseRecorded(e) => format!("dataset:{}", e.dataset),
        }
    }

    /// The date from which the fact holds.
    pub fn effective_date(&self) -> Date {
        match self {
            DomainEvent::PartyRegistered(e) => e.registered_on,
            DomainEvent::MembershipRecorded(e) => e.joined,
            DomainEvent::ContributionRegistered(e) => e.opened_on,
            DomainEvent::StageRecorded(e) => e.effective_date,
            DomainEvent::FrameworkAdopted(e) => e.adopted_on,
            DomainEvent::FxFixingsPublished(e) => e.date,
            DomainEvent::FrameworkRevised(e) => e.revised_on,
            DomainEvent::DatasetReleaseRecorded(e) => e.recorded_on,
        }
    }

    /// The author's key that makes a retry harmless, where the event has one.
    pub fn idempotency_key(&self) -> Option<String> {
        match self {
            // Each kind of key has its own prefix, so no event id can take a registry key.
            DomainEvent::StageRecorded(e) => Some(format!("event:{}", e.event)),
            DomainEvent::MembershipRecorded(e) => Some(format!(
                "membership:{}:{}:{}",
                e.party, e.organisation, e.joined
            )),
            DomainEvent::PartyRegistered(e) => Some(format!("party:{}", e.party)),
            DomainEvent::FrameworkAdopted(e) => Some(format!("framework:{}", e.framework)),
            // A day's currencies may come in more than one event, each adding new ones.
            DomainEvent::FxFixingsPublished(e) => Some(format!(
                "fx:{}:{}:{}",
                e.source,
                e.date,
                e.rates
                    .keys()
                    .map(|c| c.code())
                    .collect::<Vec<_>>()
                    .join("-")
            )),
            DomainEvent::FrameworkRevised(e) => {
                Some(format!("framework:{}:revision:{}", e.framework, e.revision))
            }
            DomainEvent::DatasetReleaseRecorded(e) => {
                Some(format!("dataset:{}:release:{}", e.dataset, e.release))
            }
            DomainEvent::ContributionRegistered(_) => None,
        }
    }
}

/// Where and when a stored event sits in the log; given to projections with the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMeta {
    pub position: u64,
    #[serde(with = "crate::compact::timestamp")]
    pub recorded_at: Timestamp,
}

impl EventMeta {
    /// Metadata of an event decided but not yet appended.
    pub const PENDING: EventMeta = EventMeta {
        position: 0,
        recorded_at: Timestamp::UNIX_EPOCH,
    };
}
