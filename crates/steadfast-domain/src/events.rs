//! Where and when a stored event sits in the log. The events themselves belong to the kind of
//! record they are facts of (`party`, `contribution`, `framework`, `dataset`, `fx`); the list
//! of every event the domain knows is the registry's (`crate::ledger::DomainEvent`). Encoding
//! is the application layer's business, not this crate's.

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

/// Where and when a stored event sits in the log; given to projections with the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMeta {
    pub position: u64,
    pub recorded_at: Timestamp,
}

impl EventMeta {
    /// Metadata of an event decided but not yet appended.
    pub const PENDING: EventMeta = EventMeta {
        position: 0,
        recorded_at: Timestamp::UNIX_EPOCH,
    };
}
