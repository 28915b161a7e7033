//! Steadfast's domain: the pure core of the ledger.
//!
//! Identifiers, money, the controlled vocabularies, events, and the projections folded from
//! them. Business rules are pure functions: a `Draft` decides commands against the `Ledger` and
//! yields events; `Ledger::apply` folds events into state and cannot fail. Nothing here does I/O,
//! knows a database, a file format or a network; Cargo.toml keeps it that way.

pub mod compact;
pub mod contribution;
pub mod counting;
pub mod dataset;
pub mod events;
pub mod framework;
pub mod fx;
pub mod ids;
mod index;
pub mod ledger;
pub mod money;
pub mod period;
pub mod reference;
pub mod scoreboard;
pub mod small_map;
pub mod vocabulary;

pub use contribution::{Anomaly, AnomalyKind, ContributionState, HistoryEntry, StageTotals};
pub use dataset::{Covered, DatasetCoverage, DatasetReleaseRecorded, DatasetState};
pub use events::{
    ContributionRegistered, DomainEvent, EventMeta, FrameworkAdopted, FxFixingsPublished,
    MembershipRecorded, PartyRegistered, Quantity, StageRecorded,
};
pub use framework::{Allocation, Exemption, FairShares, FrameworkRevised, ShareBasis, fair_shares};
pub use fx::{Converted, Converter, FxPolicy, RateBasis, RateCut, RateTable};
pub use ids::{ContributionId, DatasetId, EventId, FrameworkId, IdError, PartyId, PartyKind};
pub use ledger::{
    AdoptedFramework, Decision, Draft, Field, FixingRefusal, Ledger, Party, RecordStage, Staged,
    Violation,
};
pub use money::{Currency, MAX_AMOUNT_UNITS, Money, MoneyError};
pub use period::{HalfYear, HalfYearError};
pub use scoreboard::{
    AnomaliesReport, AnomalyRow, AnomalyRowKind, Coverage, DonorGaps, FairShareReport,
    FairShareRow, FairShareTotals, GapsReport, ReportError, ReportQuery, ShareStatus,
    anomalies_report, fair_share_report, gaps_report,
};
pub use small_map::SmallMap;
pub use vocabulary::{
    Category, Channel, Condition, Counting, SourceKind, Stage, ValuationBasis, Visibility,
    VocabularyError,
};
