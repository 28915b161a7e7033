//! Appending a decided batch: every touched stream expected where the projection last saw it,
//! each event encoded as the store takes it, the committed events folded into the projection,
//! and a snapshot saved when enough events were folded since the last.

use std::collections::HashMap;

use steadfast_domain::DomainEvent;
use steadfast_store::{ExpectedVersion, StoreError};

use crate::write::Batch;
use crate::{AppError, Cancel, Phase, Progress, Steadfast, codec, snapshot};

impl Steadfast {
    /// Appends decided events as one atomic batch, expecting every touched stream to be where
    /// the projection last saw it, and folds them into the projection once the batch is
    /// committed (see [`Steadfast::append_batch`]).
    pub fn append(&mut self, mut events: Vec<DomainEvent>, actor: &str) -> Result<u64, AppError> {
        self.append_batch(&mut events, actor)
    }

    /// Appends a decided batch atomically, expecting every touched stream to be where the
    /// projection last saw it, and folds its events into the projection once the batch is
    /// committed — by value, taken from the batch, so the projection does not copy what the
    /// batch already holds. Each event is encoded as the store takes it (see
    /// [`EventLog::append_streamed`]), so no encoded copy of the whole batch is ever held. A
    /// batch that is not committed is left as it was, to be decided again.
    pub fn append_batch(&mut self, batch: &mut dyn Batch, actor: &str) -> Result<u64, AppError> {
        self.append_batch_unless(batch, actor, None, None)
    }

    /// [`Steadfast::append_batch`], stopping without writing anything if `cancel` is requested
    /// before the last event is handed to the store: it is checked as each event is encoded for
    /// the store, so a stop during a long write still lands before the commit. A request that
    /// comes later finds the batch committed and changes nothing.
    pub(crate) fn append_batch_unless(
        &mut self,
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
                    expected.push((stream, self.stream_version_seen(&event)));
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
            self.store.append_streamed(expected, &mut encoded)
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
            (Some(head), Some(ended_at)) if appended.chained_onto == self.verifier.head() => {
                self.fold_sealed(appended.first_position, head, batch.take_events(), ended_at);
            }
            // Another writer got in first (or the head changed under us): fold its events and
            // ours from the log, verified, which also catches a rewritten head.
            _ => {
                self.catch_up(&mut |_| {}).map_err(|e| {
                    AppError::Corrupt(format!(
                        "the batch was recorded (events {} to {}), but reading the ledger back failed: {e}",
                        appended.first_position, appended.last_position
                    ))
                })?;
            }
        }
        self.snapshot_if_due();
        Ok(count)
    }

    /// The version the projection believes a stream is at (the optimistic-concurrency check).
    fn stream_version_seen(&self, event: &DomainEvent) -> ExpectedVersion {
        self.ledger
            .version_of(event)
            .map_or(ExpectedVersion::NoStream, ExpectedVersion::Exactly)
    }

    /// Saves a snapshot of the projection now (a writer only).
    pub fn save_snapshot(&mut self) -> Result<(), AppError> {
        let Some(head) = self.verifier.head() else {
            return Ok(());
        };
        let state = snapshot::StateRef {
            ledger: &self.ledger,
            versions: self.verifier.stream_versions(),
            known_heads: snapshot::encode_heads(&self.known_heads),
        };
        snapshot::save(self.store.as_mut(), head, &state)?;
        self.snapshot_at = head.position;
        Ok(())
    }

    /// Saves a snapshot if this process may and enough events were folded since the last. A
    /// failure to save costs only a longer replay next time, so it is not an error of the
    /// command that got here.
    pub(crate) fn snapshot_if_due(&mut self) {
        let at = self.verifier.head().map_or(0, |h| h.position);
        if self.saves_snapshots && at.saturating_sub(self.snapshot_at) >= snapshot::EVERY {
            let _ = self.save_snapshot();
        }
    }
}
