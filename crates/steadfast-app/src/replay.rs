//! The projection: the ledger folded from the log, and how far the log was verified. Events are
//! folded here and nowhere else: those read back from the log (every event after the last one
//! folded, verified hash by hash as it is read, decoded and applied), and a batch this process
//! sealed itself. Opening a ledger ends here, and so does a write that finds another writer
//! got in first.

use std::ops::ControlFlow;

use steadfast_domain::{DomainEvent, EventMeta, Ledger};
use steadfast_store::{ChainVerifier, EventLog, ExpectedVersion, Head};

use crate::{AppError, codec};

/// Remembers `head` as the latest head of its recording moment.
fn note_head(heads: &mut Vec<Head>, head: Head) {
    match heads.last_mut() {
        Some(last) if last.recorded_at == head.recorded_at => *last = head,
        _ => heads.push(head),
    }
}

/// The state folded from the log, with the verifier that checked every event folded into it.
#[derive(Debug, Default)]
pub(crate) struct Projection {
    pub(crate) ledger: Ledger,
    /// Checks every event folded into `ledger`; its head is the projection's head.
    pub(crate) verifier: ChainVerifier,
    /// The head after each distinct recording moment, in log order (recording times never go
    /// back), so a report "as known on" a moment can name the head it was computed at.
    pub(crate) known_heads: Vec<Head>,
}

impl Projection {
    /// The head of the log as far as the projection has folded and verified it.
    pub(crate) fn head(&self) -> Option<Head> {
        self.verifier.head()
    }

    /// The head of the log as it stood at `moment`: the last event recorded at or before it.
    pub(crate) fn head_known_on(&self, moment: jiff::Timestamp) -> Option<Head> {
        let known = self
            .known_heads
            .partition_point(|h| h.recorded_at <= moment);
        known.checked_sub(1).map(|i| self.known_heads[i])
    }

    /// The version the projection believes a stream is at (the optimistic-concurrency check).
    pub(crate) fn version_seen(&self, event: &DomainEvent) -> ExpectedVersion {
        self.ledger
            .version_of(event)
            .map_or(ExpectedVersion::NoStream, ExpectedVersion::Exactly)
    }

    /// Folds into the projection every event appended after the last one it holds (by this
    /// process or another writer), verifying the hash chain as it goes: no figure is ever
    /// computed from a log that does not verify. Returns how many events were applied;
    /// `progress` is told the log position reached (a snapshot's counts as reached).
    pub(crate) fn catch_up(
        &mut self,
        log: &dyn EventLog,
        progress: &mut dyn FnMut(u64),
    ) -> Result<u64, AppError> {
        let after = self.verifier.head().map_or(0, |h| h.position);
        let mut failure = None;
        let mut count = 0u64;
        let ledger = &mut self.ledger;
        let verifier = &mut self.verifier;
        let known_heads = &mut self.known_heads;
        log.scan_borrowed(after, &mut |stored| {
            if let Err(broken) = verifier.check(stored) {
                failure = Some(AppError::Corrupt(format!(
                    "the log does not verify at {broken}; no figure is computed from it (run `steadfast log verify`)"
                )));
                return ControlFlow::Break(());
            }
            note_head(known_heads, stored.head());
            match codec::decode(stored) {
                Ok(event) => {
                    ledger.apply_owned(
                        EventMeta {
                            position: stored.position,
                            recorded_at: stored.recorded_at,
                        },
                        event,
                    );
                    count += 1;
                    if count.is_multiple_of(65_536) {
                        progress(after + count);
                    }
                    ControlFlow::Continue(())
                }
                Err(e) => {
                    failure = Some(e);
                    ControlFlow::Break(())
                }
            }
        })?;
        if let Some(e) = failure {
            return Err(e);
        }
        self.ledger.revalue();
        progress(after + count);
        Ok(count)
    }

    /// Folds a batch this process appended and sealed itself, chained right onto the head the
    /// projection had verified, exactly as [`Projection::catch_up`] would fold it from the log:
    /// `events` from `first_position` on, all recorded at `head`'s moment, each stream ending
    /// at its version in `ended_at`.
    pub(crate) fn fold_sealed(
        &mut self,
        first_position: u64,
        head: Head,
        events: impl Iterator<Item = DomainEvent>,
        ended_at: Vec<(String, u64)>,
    ) {
        for (position, event) in (first_position..).zip(events) {
            self.ledger.apply_owned(
                EventMeta {
                    position,
                    recorded_at: head.recorded_at,
                },
                event,
            );
        }
        self.ledger.revalue();
        self.verifier.advance_sealed(head, ended_at);
        note_head(&mut self.known_heads, head);
    }
}
