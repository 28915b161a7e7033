//! Steadfast's domain: the pure core of the ledger.
//!
//! Identifiers, money, the controlled vocabularies, events, and the projections folded from
//! them. Business rules are pure functions: a `Draft` decides commands against the `Ledger` and
//! yields events; `Ledger::apply` folds events into state and cannot fail. Nothing here does I/O,
//! knows a database, a file format or a network; Cargo.toml keeps it that way.

pub mod contribution;
pub mod events;
pub mod ids;
pub mod ledger;
pub mod money;
pub mod reference;
pub mod vocabulary;

pub use contribution::{Anomaly, AnomalyKind, ContributionState, HistoryEntry, StageTotals};
pub use events::{
    ContributionRegistered, DomainEvent, EventMeta, MembershipRecorded, PartyRegistered, Quantity,
    StageRecorded,
};
pub use ids::{ContributionId, EventId, IdError, PartyId, PartyKind};
pub use ledger::{Decision, Draft, Field, Ledger, Party, RecordStage, Violation};
pub use money::{Currency, MAX_AMOUNT_UNITS, Money, MoneyError};
pub use vocabulary::{
    Category, Channel, Condition, Stage, ValuationBasis, Visibility, VocabularyError,
};
