//! The in-memory store: the reference implementation of the contract, and the backend for tests
//! that need no file.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use crate::{
    AppendRequest, Appended, Clock, EventLog, Head, Snapshot, SnapshotStore, StoreError,
    StoredEvent, StoredEventRef, SystemClock, seal_batch,
};

/// Events in a vector, with indexes by stream and idempotency key.
#[derive(Debug)]
pub struct MemoryStore {
    events: Vec<StoredEvent>,
    stream_versions: HashMap<String, u64>,
    keys: HashMap<String, usize>,
    snapshots: HashMap<String, Snapshot>,
    clock: Arc<dyn Clock>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        MemoryStore::with_clock(Arc::new(SystemClock))
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        MemoryStore::default()
    }

    pub fn with_clock(clock: Arc<dyn Clock>) -> Self {
        MemoryStore {
            events: Vec::new(),
            stream_versions: HashMap::new(),
            keys: HashMap::new(),
            snapshots: HashMap::new(),
            clock,
        }
    }

    /// Direct access for tests that simulate a damaged snapshot.
    #[doc(hidden)]
    pub fn snapshots_mut(&mut self) -> &mut HashMap<String, Snapshot> {
        &mut self.snapshots
    }

    /// Direct access for tests that simulate tampering with stored history.
    #[doc(hidden)]
    pub fn events_mut(&mut self) -> &mut Vec<StoredEvent> {
        &mut self.events
    }
}

impl EventLog for MemoryStore {
    fn append(&mut self, request: AppendRequest) -> Result<Appended, StoreError> {
        let head = self.head()?;
        let sealed = seal_batch(
            request,
            head,
            self.clock.as_ref(),
            &mut |s| Ok(self.stream_versions.get(s).copied()),
            &mut |k| Ok(self.keys.contains_key(k)),
        )?;
        let appended = Appended::of(head, &sealed);
        for event in sealed {
            self.stream_versions
                .insert(event.stream.clone(), event.stream_version);
            if let Some(key) = &event.idempotency_key {
                self.keys.insert(key.clone(), self.events.len());
            }
            self.events.push(event);
        }
        Ok(appended)
    }

    fn head(&self) -> Result<Option<Head>, StoreError> {
        Ok(self.events.last().map(StoredEvent::head))
    }

    fn scan_borrowed(
        &self,
        after: u64,
        visit: &mut dyn FnMut(&StoredEventRef<'_>) -> ControlFlow<()>,
    ) -> Result<(), StoreError> {
        let start = usize::try_from(after)
            .unwrap_or(usize::MAX)
            .min(self.events.len());
        for event in &self.events[start..] {
            if visit(&event.borrowed()).is_break() {
                break;
            }
        }
        Ok(())
    }

    fn stream_version(&self, stream: &str) -> Result<Option<u64>, StoreError> {
        Ok(self.stream_versions.get(stream).copied())
    }

    fn event_by_key(&self, key: &str) -> Result<Option<StoredEvent>, StoreError> {
        Ok(self.keys.get(key).map(|i| self.events[*i].clone()))
    }

    fn location(&self) -> String {
        "memory".to_owned()
    }
}

impl SnapshotStore for MemoryStore {
    fn save_snapshot(&mut self, snapshot: &Snapshot) -> Result<(), StoreError> {
        self.snapshots
            .insert(snapshot.format.clone(), snapshot.clone());
        Ok(())
    }

    fn load_snapshot(&self, format: &str) -> Result<Option<Snapshot>, StoreError> {
        Ok(self.snapshots.get(format).cloned())
    }

    fn discard_snapshot(&mut self, format: &str) -> Result<(), StoreError> {
        self.snapshots.remove(format);
        Ok(())
    }
}
