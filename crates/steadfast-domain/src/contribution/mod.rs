//! Contributions: one record (stream `contribution:<id>`) per contribution, opened by its
//! registration and followed by its stage events, from announcement to confirmed receipt.

mod events;
mod rules;
mod state;

pub use events::{ContributionEvent, ContributionRegistered, Quantity, StageRecorded};
pub use rules::{Lookup, RecordStage, Staged, decide_stage};
pub use state::{
    Anomaly, AnomalyKind, ContributionRecord, ContributionState, HistoryEntry, NetIncrement,
    StageTotals,
};
