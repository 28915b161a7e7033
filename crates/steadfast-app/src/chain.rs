//! The hash chain under a snapshot, verified before any figure is computed from it: in
//! segments on their own threads and handles while the snapshot is decoded, or in one segment
//! when there is one handle only. The events after the snapshot are verified as they are folded
//! (see [`crate::replay`]).

use std::ops::ControlFlow;

use steadfast_store::{ChainBreak, ChainVerifier, EventLog, Head};

use crate::AppError;

/// Segments the chain under a snapshot is verified in, each on its own thread and handle, while
/// the snapshot is decoded: verifying is as long as decoding, and both share the cores.
pub(crate) const VERIFIERS: usize = 2;

/// Verifies the hash chain from the first event to `head` (which must be where it ends), in as
/// many segments as there are `stores` (handles on the same log), each on its own thread: the
/// check of each event needs only the hash stored before it, and the segments are joined by
/// [`ChainVerifier::then`], which checks the stream versions across each seam.
pub(crate) fn verify_chain(stores: Vec<Box<dyn EventLog>>, head: Head) -> Result<(), AppError> {
    let Some(first) = stores.first() else {
        return Err(AppError::Corrupt(
            "no handle to verify the log with".to_owned(),
        ));
    };
    let n = stores.len() as u64;
    let mut seams: Vec<u64> = (1..n)
        .map(|i| head.position * i / n)
        .filter(|seam| *seam > 0)
        .collect();
    seams.dedup();
    // Each segment starts after the head at its seam, as stored (checked when joined).
    let mut starts: Vec<Option<Head>> = vec![None];
    for seam in &seams {
        starts.push(Some(
            head_at(first.as_ref(), *seam)?.ok_or_else(|| ends_early(head))?,
        ));
    }
    let ends = seams.iter().copied().chain([head.position]);
    let segments: Vec<Segment> = std::thread::scope(|scope| {
        let running: Vec<_> = starts
            .iter()
            .zip(ends)
            .zip(stores)
            .map(|((start, end), store)| {
                let start = *start;
                scope.spawn(move || verify_segment(store.as_ref(), start, end))
            })
            .collect();
        running
            .into_iter()
            .map(|t| {
                t.join().unwrap_or_else(|_| {
                    Err(AppError::Corrupt(
                        "verifying the log failed unexpectedly".to_owned(),
                    ))
                })
            })
            .collect()
    });
    join_segments(segments, head)
}

/// [`verify_chain`] in one segment on this thread, with the store at hand.
pub(crate) fn verify_chain_here(store: &dyn EventLog, head: Head) -> Result<(), AppError> {
    join_segments(vec![verify_segment(store, None, head.position)], head)
}

/// A segment's verifier, or the first break in it, or why the log could not be read.
type Segment = Result<Result<ChainVerifier, ChainBreak>, AppError>;

/// Joins the segments' verifiers in log order; the log verifies if they join and end at `head`.
fn join_segments(segments: Vec<Segment>, head: Head) -> Result<(), AppError> {
    let broken = |b: ChainBreak| {
        AppError::Corrupt(format!(
            "the log does not verify at {b}; no figure is computed from it (run `steadfast log verify`)"
        ))
    };
    let mut joined: Option<ChainVerifier> = None;
    for segment in segments {
        let segment = segment?.map_err(broken)?;
        joined = Some(match joined {
            None => segment,
            Some(before) => before.then(segment).map_err(broken)?,
        });
    }
    if joined.and_then(|v| v.head()) != Some(head) {
        return Err(ends_early(head));
    }
    Ok(())
}

fn ends_early(head: Head) -> AppError {
    AppError::Corrupt(format!(
        "the log does not verify: it ends before event {} its snapshot was built from (run `steadfast log verify`)",
        head.position
    ))
}

/// Checks the events after `start` (from the first when `None`) up to position `end`: the
/// verifier that reached `end`, or the first break.
fn verify_segment(
    store: &dyn EventLog,
    start: Option<Head>,
    end: u64,
) -> Result<Result<ChainVerifier, ChainBreak>, AppError> {
    let mut verifier = start.map_or_else(ChainVerifier::new, ChainVerifier::segment_after);
    let mut failure = None;
    store.scan_borrowed(start.map_or(0, |h| h.position), &mut |stored| {
        if let Err(broken) = verifier.check(stored) {
            failure = Some(broken);
            return ControlFlow::Break(());
        }
        if stored.position >= end {
            return ControlFlow::Break(());
        }
        ControlFlow::Continue(())
    })?;
    Ok(match failure {
        Some(broken) => Err(broken),
        None => Ok(verifier),
    })
}

/// The log's event at `position` as a head (unverified), if there is one.
pub(crate) fn head_at(store: &dyn EventLog, position: u64) -> Result<Option<Head>, AppError> {
    let mut at = None;
    store.scan_borrowed(position.saturating_sub(1), &mut |e| {
        at = (e.position == position).then(|| e.head());
        ControlFlow::Break(())
    })?;
    Ok(at)
}
