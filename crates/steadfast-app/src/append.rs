//! Appending a decided batch: every touched stream expected where the projection last saw it,
//! each event encoded as the store takes it, and the committed events folded into the
//! projection (see [`crate::replay`]).

use std::collections::HashMap;

use steadfast_store::{EventLog, ExpectedVersion, StoreError};

use crate::replay::Projection;
use crate::write::Batch;
use crate::{AppError, Cancel, Phase, Progress, codec};

/// Appends a decided batch atomically, expecting every touched stream to be where `projection`
/// last saw it, and folds its events into the projection once the batch is committed — by
/// value, taken from the batch, so the projection does not copy what the batch already holds.
/// Each event is encoded as the store takes it (see [`EventLog::append_streamed`]), so no
/// encoded copy of the whole batch is ever held. A batch that is not committed is left as it
/// was, to be decided again.
///
/// It stops without writing anything if `cancel` is requested
/// before the last event is handed to the store: it is checked as each event is encoded for
/// the store, so a stop during a long write still lands before the commit. A request that
/// comes later finds the batch committed and changes nothing.
pub(crate) fn append(
    store: &mut dyn EventLog,
    projection: &mut Projection,
    batch: &mut dyn Batch,
    actor: &str,
    cancel: Option<&Cancel>,
    progress: Option<&Progress>,
) -> Result<u64, AppError> {
    // Each stream is expected where the projection last saw it, checked once per batch;
    // with the number of events on each, that is the version it ends at.
    // A decided batch keeps each stream's events together, so most events are on the
    // stream of the one before and need no lookup.
    let mut expected: Vec<(String, ExpectedVersion)> = Vec::new();
    let mut added: Vec<u64> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    let mut count = 0u64;
    for event in batch.events() {
        count += 1;
        let stream = event.stream();
        if let (Some((last, _)), Some(n)) = (expected.last(), added.last_mut())
            && *last == stream
        {
            *n += 1;
            continue;
        }
        match index.get(&stream) {
            Some(&i) => added[i] += 1,
            None => {
                index.insert(stream.clone(), expected.len());
                expected.push((stream, projection.version_seen(&event)));
                added.push(1);
            }
        }
    }
    drop(index);
    if count == 0 {
        return Ok(0);
    }
    if let Some(p) = progress {
        p.start(Phase::Writing, Some(count));
    }
    let ended_at: Option<Vec<(String, u64)>> = expected
        .iter()
        .zip(&added)
        .map(|((stream, wanted), n)| match wanted {
            ExpectedVersion::Exactly(v) => Some((stream.clone(), v + n)),
            ExpectedVersion::NoStream => Some((stream.clone(), *n)),
            ExpectedVersion::Any => None,
        })
        .collect();
    // An event that cannot be encoded, or a stop request, ends the batch (nothing is
    // written); its own error is what the caller sees.
    let mut stopped_by = None;
    let appended = {
        let mut encoded = batch.events().map(|event| {
            if let Some(p) = progress {
                p.advance();
            }
            if cancel.is_some_and(Cancel::is_requested) {
                stopped_by = Some(AppError::Cancelled);
                return Err(StoreError::Backend("the write was interrupted".into()));
            }
            codec::encode(&event, actor).map_err(|e| {
                stopped_by = Some(e);
                StoreError::Backend("an event could not be encoded".into())
            })
        });
        store.append_streamed(expected, &mut encoded)
    };
    let appended = match appended {
        Ok(appended) => appended,
        Err(e) => {
            return Err(match stopped_by {
                Some(encoding) => encoding,
                None => e.into(),
            });
        }
    };
    match (appended.head, ended_at) {
        // Our batch was chained right onto the head this projection verified: fold the
        // events we sealed ourselves, exactly as a replay would, without reading them back.
        (Some(head), Some(ended_at)) if appended.chained_onto == projection.head() => {
            projection.fold_sealed(appended.first_position, head, batch.take_events(), ended_at);
        }
        // Another writer got in first (or the head changed under us): fold its events and
        // ours from the log, verified, which also catches a rewritten head.
        _ => {
            projection.catch_up(store, &mut |_| {}).map_err(|e| {
                AppError::Corrupt(format!(
                    "the batch was recorded (events {} to {}), but reading the ledger back failed: {e}",
                    appended.first_position, appended.last_position
                ))
            })?;
        }
    }
    Ok(count)
}
