//! Steadfast's domain: the pure core of the ledger.
//!
//! Identifiers, money, the controlled vocabularies, and the kinds of record (each an
//! [`Aggregate`]: parties, contributions, frameworks, datasets, reference rates) with the
//! ledger folded from their events. Business rules are pure functions: a `Draft` decides
//! commands against the `Ledger` through each kind's decision and yields events;
//! `Ledger::apply` folds events into state and cannot fail. Nothing here does I/O,
//! knows a database, a file format or a network; Cargo.toml keeps it that way.

pub mod aggregate;
pub mod contribution;
pub mod counting;
pub mod credential;
pub mod dataset;
pub mod events;
pub mod framework;
pub mod fx;
mod hash;
pub mod ids;
mod index;
pub mod ledger;
pub mod money;
pub mod party;
pub mod period;
pub mod reference;
pub mod scoreboard;
pub mod small_map;
mod text;
pub mod vocabulary;

pub use aggregate::{Aggregate, Book, Field, Reason, Rejection};
pub use contribution::{
    Anomaly, AnomalyKind, ContributionEvent, ContributionRecord, ContributionRegistered,
    ContributionState, HistoryEntry, Quantity, RecordStage, StageRecorded, StageTotals, Staged,
};
pub use credential::{Credential, TokenIssued, TokenRevoked};
pub use dataset::{Covered, DatasetCoverage, DatasetReleaseRecorded, DatasetState};
pub use events::EventMeta;
pub use framework::{
    AdoptedFramework, Allocation, Exemption, FairShares, FrameworkAdopted, FrameworkRevised,
    ShareBasis, fair_shares,
};
pub use fx::{
    Converted, Converter, Fixing, FxFixingsPublished, FxPolicy, Publication, RateBasis, RateCut,
    RateRecords, RateTable,
};
pub use ids::{
    ContributionId, DatasetId, EventId, FrameworkId, IdError, PartyId, PartyKind, TokenId,
};
pub use ledger::{Decision, DomainEvent, Draft, Ledger, LedgerRecords, Records, event_types};
pub use money::{Currency, MAX_AMOUNT_UNITS, Money, MoneyError};
pub use party::{MembershipRecorded, Party, PartyRegistered};
pub use period::{HalfYear, HalfYearError};
pub use scoreboard::{
    AnomaliesReport, AnomalyRow, AnomalyRowKind, Coverage, DonorGaps, FairShareReport,
    FairShareRow, FairShareTotals, GapsReport, ReportError, ReportQuery, ShareStatus,
    anomalies_report, fair_share_report, gaps_report,
};
pub use small_map::SmallMap;
pub use vocabulary::{
    Category, Channel, Condition, Counting, Role, SourceKind, Stage, ValuationBasis, Visibility,
    VocabularyError,
};
