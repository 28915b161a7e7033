//! How domain events are written into the log: a stable type name, a version and a JSON
//! payload. Reading an event whose type or version this build does not know is an error that
//! names its position, never a silent skip.

use serde::Serialize;
use serde::de::DeserializeOwned;
use steadfast_domain::DomainEvent;
use steadfast_store::{NewEvent, StoredEventRef};

use crate::AppError;

pub const PARTY_REGISTERED: &str = "party.registered";
pub const MEMBERSHIP_RECORDED: &str = "party.membership-recorded";
pub const CONTRIBUTION_REGISTERED: &str = "contribution.registered";
pub const STAGE_RECORDED: &str = "contribution.stage-recorded";
pub const FRAMEWORK_ADOPTED: &str = "framework.adopted";
pub const FX_FIXINGS_PUBLISHED: &str = "fx.fixings-published";
pub const FRAMEWORK_REVISED: &str = "framework.revised";
pub const DATASET_RELEASE_RECORDED: &str = "dataset.release-recorded";

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, AppError> {
    serde_json::to_vec(value).map_err(|e| AppError::Invalid(format!("cannot encode an event: {e}")))
}

/// The log entry for a domain event.
pub fn encode(event: &DomainEvent, actor: &str) -> Result<NewEvent, AppError> {
    // Version 2 of a contribution's registration adds its dataset, of a stage event its
    // source kind and citation; version 1 payloads read with those absent (see `decode`).
    let (event_type, event_version, payload) = match event {
        DomainEvent::PartyRegistered(e) => (PARTY_REGISTERED, 1, json(e)?),
        DomainEvent::MembershipRecorded(e) => (MEMBERSHIP_RECORDED, 1, json(e)?),
        DomainEvent::ContributionRegistered(e) => (CONTRIBUTION_REGISTERED, 2, json(e)?),
        DomainEvent::StageRecorded(e) => (STAGE_RECORDED, 2, json(e)?),
        DomainEvent::FrameworkAdopted(e) => (FRAMEWORK_ADOPTED, 1, json(e)?),
        DomainEvent::FxFixingsPublished(e) => (FX_FIXINGS_PUBLISHED, 1, json(e)?),
        DomainEvent::FrameworkRevised(e) => (FRAMEWORK_REVISED, 1, json(e)?),
        DomainEvent::DatasetReleaseRecorded(e) => (DATASET_RELEASE_RECORDED, 1, json(e)?),
    };
    Ok(NewEvent {
        stream: event.stream(),
        effective_date: event.effective_date(),
        actor: actor.to_owned(),
        idempotency_key: event.idempotency_key(),
        event_type: event_type.to_owned(),
        event_version,
        payload,
    })
}

fn payload<T: DeserializeOwned>(stored: &StoredEventRef<'_>) -> Result<T, AppError> {
    serde_json::from_slice(stored.payload).map_err(|e| {
        AppError::Corrupt(format!(
            "event {} ({} v{}) has an unreadable payload: {e}",
            stored.position, stored.event_type, stored.event_version
        ))
    })
}

/// The domain event stored in a log entry.
pub fn decode(stored: &StoredEventRef<'_>) -> Result<DomainEvent, AppError> {
    match (stored.event_type, stored.event_version) {
        (PARTY_REGISTERED, 1) => Ok(DomainEvent::PartyRegistered(payload(stored)?)),
        (MEMBERSHIP_RECORDED, 1) => Ok(DomainEvent::MembershipRecorded(payload(stored)?)),
        // Upcasting version 1: the fields version 2 added take their defaults (the `ledger`
        // dataset; no source kind, no citation), which serde fills in when they are absent.
        (CONTRIBUTION_REGISTERED, 1 | 2) => {
            Ok(DomainEvent::ContributionRegistered(payload(stored)?))
        }
        (STAGE_RECORDED, 1 | 2) => Ok(DomainEvent::StageRecorded(payload(stored)?)),
        (FRAMEWORK_ADOPTED, 1) => Ok(DomainEvent::FrameworkAdopted(payload(stored)?)),
        (FX_FIXINGS_PUBLISHED, 1) => Ok(DomainEvent::FxFixingsPublished(payload(stored)?)),
        (FRAMEWORK_REVISED, 1) => Ok(DomainEvent::FrameworkRevised(payload(stored)?)),
        (DATASET_RELEASE_RECORDED, 1) => Ok(DomainEvent::DatasetReleaseRecorded(payload(stored)?)),
        (other, version) => Err(AppError::Corrupt(format!(
            "event {} has type `{other}` version {version}, which this build of Steadfast does not know; upgrade Steadfast",
            stored.position
        ))),
    }
}
