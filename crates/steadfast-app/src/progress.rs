//! How far a long write has come, for a front end to show while it waits: the phase, the units
//! done and, when known, out of how many. The write only counts (an atomic add per row or
//! event); the front end reads the counts when it redraws, on its own thread, so drawing never
//! slows the write and nothing is drawn where nobody watches.

use std::sync::Arc;
use std::sync::atomic::{AtomicU8, AtomicU64, Ordering};

/// The phases of an import, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Phase {
    /// Nothing started yet.
    Idle,
    /// Reading the input file (units: rows).
    Reading,
    /// Replaying the log into the projection (units: events).
    Replaying,
    /// Checking every row against the ledger (units: rows).
    Checking,
    /// Writing the batch (units: events).
    Writing,
}

impl Phase {
    const ALL: [Phase; 5] = [
        Phase::Idle,
        Phase::Reading,
        Phase::Replaying,
        Phase::Checking,
        Phase::Writing,
    ];

    /// What the phase is doing, in a few words.
    pub fn describe(self) -> &'static str {
        match self {
            Phase::Idle => "starting",
            Phase::Reading => "reading",
            Phase::Replaying => "replaying the log",
            Phase::Checking => "checking rows against the ledger",
            Phase::Writing => "writing",
        }
    }

    /// What its units are.
    pub fn units(self) -> &'static str {
        match self {
            Phase::Idle => "",
            Phase::Replaying | Phase::Writing => "events",
            Phase::Checking | Phase::Reading => "rows",
        }
    }
}

#[derive(Debug, Default)]
struct State {
    phase: AtomicU8,
    done: AtomicU64,
    /// 0: not known.
    total: AtomicU64,
}

/// A shared progress count. Cloning shares it: the write counts into one clone, the front end
/// reads another.
#[derive(Debug, Clone, Default)]
pub struct Progress(Arc<State>);

impl Progress {
    pub fn new() -> Self {
        Progress::default()
    }

    /// Starts a phase, with its total when known.
    pub fn start(&self, phase: Phase, total: Option<u64>) {
        self.0.done.store(0, Ordering::Relaxed);
        self.0.total.store(total.unwrap_or(0), Ordering::Relaxed);
        self.0.phase.store(phase as u8, Ordering::Release);
    }

    /// Sets the units done in the current phase.
    pub fn set(&self, done: u64) {
        self.0.done.store(done, Ordering::Relaxed);
    }

    /// Counts one more unit done.
    pub fn advance(&self) {
        self.0.done.fetch_add(1, Ordering::Relaxed);
    }

    /// The phase, the units done and the total when known.
    pub fn read(&self) -> (Phase, u64, Option<u64>) {
        let phase = Phase::ALL
            .get(usize::from(self.0.phase.load(Ordering::Acquire)))
            .copied()
            .unwrap_or(Phase::Idle);
        let total = self.0.total.load(Ordering::Relaxed);
        (
            phase,
            self.0.done.load(Ordering::Relaxed),
            (total > 0).then_some(total),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clone_reads_what_the_other_counts() {
        let p = Progress::new();
        let seen = p.clone();
        assert_eq!(seen.read(), (Phase::Idle, 0, None));
        p.start(Phase::Checking, Some(3));
        p.advance();
        p.advance();
        assert_eq!(seen.read(), (Phase::Checking, 2, Some(3)));
        p.start(Phase::Writing, None);
        assert_eq!(seen.read(), (Phase::Writing, 0, None));
    }
}
