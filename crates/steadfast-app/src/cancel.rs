//! Stopping a long write from outside: the front end (the CLI on Ctrl-C) requests it, the write
//! checks between its phases and while its batch is being written, before the commit. Once the
//! batch is committed the request is ignored: the write finishes and reports what it recorded,
//! so an interruption never leaves the user guessing.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A shared stop request. Cloning shares it: the clone handed to a signal handler requests,
/// the one in the import options is checked.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A request not yet made.
    pub fn new() -> Self {
        Cancel::default()
    }

    /// Asks the write to stop before it commits (safe to call from a signal handler's thread).
    pub fn request(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether a stop was requested.
    pub fn is_requested(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
