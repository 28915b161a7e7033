//! What a front end prints: the results of the service's queries and reports, and the filters
//! and query types it builds to ask for them. A front end names these (and the service) and
//! nothing else of the application's modules; the functions that compute them are behind
//! [`crate::Service`].

pub use crate::fx::FxImportOutcome;
pub use crate::import::ImportOutcome;
pub use crate::queries::{
    ContributionDetail, ContributionFilter, ContributionLine, ContributionList, DonorTotals,
    DonorTotalsReport, HistoryLine, LogHead, PartyLine, PartyList, StageAmounts,
};
pub use crate::reports::{
    AnomaliesView, AnomalyView, CoverageNote, FairShareRowView, FairShareTotalsView, FairShareView,
    GapsFigures, GapsRowView, GapsView, ReconcileView, percent,
};
pub use crate::scenario::{SCENARIO_DATASET, ScenarioLoad, TRACKER_DATASET};
pub use crate::service::{DatasetView, FrameworkView, Listed, Shown};
pub use crate::tracker::TrackerOutcome;
