//! Opening a ledger: the store chosen by [`crate::storage`], the snapshot restored when it can
//! be trusted (with the chain under it verified, see [`crate::chain`]), then the events after
//! it folded by [`crate::replay`].

use std::path::Path;
use std::sync::Arc;

use steadfast_domain::Ledger;
use steadfast_store::{ChainVerifier, Clock, EventLog, EventStore};

use crate::chain::{VERIFIERS, verify_chain, verify_chain_here};
use crate::storage::{Access, Database, open_store};
use crate::{AppError, Steadfast, snapshot};

impl Steadfast {
    /// Opens a database and replays it; `progress` is told how many events have been replayed.
    pub fn open(
        database: &Database,
        access: Access,
        clock: Option<Arc<dyn Clock>>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Self, AppError> {
        let store = open_store(database, access, clock)?;
        // A second, read-only handle verifies the chain under a snapshot while this one decodes
        // it (two cores, half the wait); without one the chain is verified first.
        let reader = || {
            let log: Box<dyn EventLog> = open_store(database, Access::Read, None).ok()?;
            Some(log)
        };
        Steadfast::restore(store, access != Access::Read, &reader, progress)
    }

    /// Replays a store into a fresh projection (from its snapshot, when one can be trusted);
    /// saves a snapshot when many events had to be replayed.
    pub fn from_store(
        store: Box<dyn EventStore>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Self, AppError> {
        Steadfast::restore(store, true, &|| None, progress)
    }

    fn restore(
        store: Box<dyn EventStore>,
        saves_snapshots: bool,
        reader: &dyn Fn() -> Option<Box<dyn EventLog>>,
        progress: &mut dyn FnMut(u64),
    ) -> Result<Self, AppError> {
        let mut app = Steadfast {
            store,
            ledger: Ledger::new(),
            verifier: ChainVerifier::new(),
            known_heads: Vec::new(),
            saves_snapshots,
            snapshot_at: 0,
            snapshot_use: snapshot::SnapshotUse::None,
        };
        app.load_snapshot(reader)?;
        app.catch_up(progress)?;
        app.snapshot_if_due();
        Ok(app)
    }

    /// Starts from the saved snapshot if it can be trusted; otherwise discards it (when
    /// writable) and leaves the projection empty for a full replay. The events the snapshot
    /// covers are still verified, hash by hash (without decoding or folding them) — in
    /// [`VERIFIERS`] segments on handles from `reader`, in parallel with decoding the snapshot,
    /// when it gives them — so no figure comes from a log that does not verify.
    fn load_snapshot(
        &mut self,
        reader: &dyn Fn() -> Option<Box<dyn EventLog>>,
    ) -> Result<(), AppError> {
        let store = self.store.as_ref();
        let mut read = None;
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
        let Some((head, state, chain)) = read else {
            return Ok(());
        };
        match state {
            Ok(state) => {
                match chain {
                    Some(result) => result?,
                    None => verify_chain_here(store, head)?,
                }
                self.ledger = state.ledger;
                self.verifier = ChainVerifier::resume(head, state.versions);
                self.known_heads = state.known_heads;
                self.snapshot_at = head.position;
                self.snapshot_use = snapshot::SnapshotUse::Loaded {
                    position: head.position,
                };
            }
            // Not trusted: the full replay that follows verifies the chain itself.
            Err(reason) => {
                if self.saves_snapshots {
                    self.store.discard_snapshot(snapshot::FORMAT)?;
                }
                self.snapshot_use = snapshot::SnapshotUse::Discarded { reason };
            }
        }
        Ok(())
    }

    /// Opens a SQLite ledger for writing (creating it if `create`), without progress.
    pub fn open_path(path: &Path, create: bool) -> Result<Self, AppError> {
        let access = if create {
            Access::Create
        } else {
            Access::Write
        };
        Steadfast::open(
            &Database::Sqlite(path.to_owned()),
            access,
            None,
            &mut |_| {},
        )
    }
}
