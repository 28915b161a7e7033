//! How domain events are written into the log: the type name and version the domain gives
//! each event ([`DomainEvent::schema`]) and its JSON payload. Reading an event whose type or version this build does not know is an error that
//! names its position, never a silent skip.

use serde::Serialize;
use steadfast_domain::DomainEvent;
use steadfast_store::{NewEvent, StoredEventRef};

use crate::AppError;

fn json<T: Serialize>(value: &T) -> Result<Vec<u8>, AppError> {
    serde_json::to_vec(value).map_err(|e| AppError::Invalid(format!("cannot encode an event: {e}")))
}

/// The log entry for a domain event.
pub fn encode(event: &DomainEvent, actor: &str) -> Result<NewEvent, AppError> {
    let (event_type, event_version) = event.schema();
    let payload = json(event)?;
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

/// The domain event stored in a log entry.
pub fn decode(stored: &StoredEventRef<'_>) -> Result<DomainEvent, AppError> {
    let unreadable = |e: serde_json::Error| {
        AppError::Corrupt(format!(
            "event {} ({} v{}) has an unreadable payload: {e}",
            stored.position, stored.event_type, stored.event_version
        ))
    };
    let mut payload = serde_json::Deserializer::from_slice(stored.payload);
    match DomainEvent::read(stored.event_type, stored.event_version, &mut payload) {
        Some(read) => {
            let event = read.map_err(unreadable)?;
            payload.end().map_err(unreadable)?;
            Ok(event)
        }
        None => Err(AppError::Corrupt(format!(
            "event {} has type `{}` version {}, which this build of Steadfast does not know; upgrade Steadfast",
            stored.position, stored.event_type, stored.event_version
        ))),
    }
}
