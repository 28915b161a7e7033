//! Restoring the projection from the saved snapshot, when it can be trusted, with the hash chain
//! under it verified (see [`crate::chain`]); the events after it are then folded by
//! [`crate::replay`].

use steadfast_store::{ChainVerifier, EventLog, EventStore};

use crate::AppError;
use crate::chain::{VERIFIERS, verify_chain, verify_chain_here};
use crate::replay::Projection;
use crate::snapshot::{self, SnapshotUse};

/// Starts from the saved snapshot if it can be trusted; otherwise discards it (when
/// `discard_untrusted`: a writer) and starts from an empty projection, for a full replay. The
/// events the snapshot covers are still verified, hash by hash (without decoding or folding
/// them) — in [`VERIFIERS`] segments on handles from `reader`, in parallel with decoding the
/// snapshot, when it gives them — so no figure comes from a log that does not verify.
pub(crate) fn restore(
    store: &mut dyn EventStore,
    discard_untrusted: bool,
    reader: &dyn Fn() -> Option<Box<dyn EventLog>>,
) -> Result<(Projection, SnapshotUse), AppError> {
    let mut read = None;
    {
        let store: &dyn EventStore = store;
        store.read_snapshot(snapshot::FORMAT, &mut |header, body| {
            let head = header.head;
            let handles: Option<Vec<Box<dyn EventLog>>> =
                (0..VERIFIERS).map(|_| reader()).collect();
            read = Some(match handles {
                Some(handles) => std::thread::scope(|scope| {
                    let verifying = scope.spawn(move || verify_chain(handles, head));
                    let state = snapshot::check(store, header, body);
                    let chain = verifying.join().unwrap_or_else(|_| {
                        Err(AppError::Corrupt(
                            "verifying the log failed unexpectedly".to_owned(),
                        ))
                    });
                    (head, state, Some(chain))
                }),
                None => (head, snapshot::check(store, header, body), None),
            });
        })?;
    }
    let Some((head, state, chain)) = read else {
        return Ok((Projection::default(), SnapshotUse::None));
    };
    match state {
        Ok(state) => {
            match chain {
                Some(result) => result?,
                None => verify_chain_here(store, head)?,
            }
            let projection = Projection {
                ledger: state.ledger,
                verifier: ChainVerifier::resume(head, state.versions),
                known_heads: state.known_heads,
            };
            let used = SnapshotUse::Loaded {
                position: head.position,
            };
            Ok((projection, used))
        }
        // Not trusted: the full replay that follows verifies the chain itself.
        Err(reason) => {
            if discard_untrusted {
                store.discard_snapshot(snapshot::FORMAT)?;
            }
            Ok((Projection::default(), SnapshotUse::Discarded { reason }))
        }
    }
}
