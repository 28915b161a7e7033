//! A stop request (Ctrl-C in the CLI) ends an import before its commit with nothing written,
//! whether it comes before the import starts or while its batch is being written.

use std::borrow::Cow;
use std::sync::atomic::{AtomicUsize, Ordering};

use steadfast_app::write::{Batch, Decide, decide_and_append};
use steadfast_app::{
    AppError, Cancel, ImportOptions, ImportOutcome, Steadfast, decide_contributions,
    import_contributions,
};
use steadfast_domain::{DomainEvent, Ledger};
use steadfast_ingest::{CsvOptions, HEADER, parse_contributions};

fn parsed(contributions: u32) -> steadfast_ingest::ParsedContributions {
    let mut text = HEADER.join(",");
    for c in 0..contributions {
        text.push_str(&format!(
            "\nE-{c},C-{c},DEU,UKR,committed,2024-03-01,100,EUR,equipment-purchase,bilateral,public,,,,,,,"
        ));
    }
    parse_contributions("t.csv", text.as_bytes(), CsvOptions::default(), &mut |_| {})
}

#[test]
fn a_stop_requested_before_the_import_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut app = Steadfast::open_path(&dir.path().join("l.sqlite"), true).expect("open");
    let cancel = Cancel::new();
    cancel.request();
    let options = ImportOptions {
        dry_run: false,
        cancel,
        ..ImportOptions::default()
    };
    let err = import_contributions(&mut app, &parsed(3), "test", options).expect_err("stopped");
    assert!(matches!(err, AppError::Cancelled), "{err:?}");
    assert_eq!(app.head(), None);
    // Without a request the same file goes in.
    import_contributions(&mut app, &parsed(3), "test", ImportOptions::default()).expect("import");
    assert_eq!(app.head().map(|h| h.position), Some(6));
}

/// A decided import whose events request the stop once the store has started taking them.
struct StopsWhileWritten {
    events: Vec<DomainEvent>,
    outcome: ImportOutcome,
    cancel: Cancel,
    walked: AtomicUsize,
}

impl Batch for StopsWhileWritten {
    fn events(&self) -> Box<dyn Iterator<Item = Cow<'_, DomainEvent>> + '_> {
        // The first walk counts the streams; the second encodes the events as they are written.
        let walk = self.walked.fetch_add(1, Ordering::SeqCst);
        Box::new(self.events.iter().enumerate().map(move |(i, e)| {
            if walk == 1 && i == 3 {
                self.cancel.request();
            }
            Cow::Borrowed(e)
        }))
    }

    fn take_events(&mut self) -> Box<dyn Iterator<Item = DomainEvent> + '_> {
        Box::new(self.events.drain(..))
    }
}

impl Decide for StopsWhileWritten {
    type Outcome = ImportOutcome;

    fn decide(&mut self, _: &Ledger) -> Result<ImportOutcome, AppError> {
        Ok(self.outcome.clone())
    }

    fn batch(&mut self) -> &mut dyn Batch {
        self
    }

    fn cancel(&self) -> Option<&Cancel> {
        Some(&self.cancel)
    }
}

#[test]
fn a_stop_requested_while_the_batch_is_written_rolls_it_back() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("l.sqlite");
    let mut app = Steadfast::open_path(&path, true).expect("open");
    let (outcome, events) =
        decide_contributions(app.ledger(), &parsed(5), ImportOptions::default()).expect("decide");
    assert_eq!(events.len(), 10);
    let mut write = StopsWhileWritten {
        events,
        outcome,
        cancel: Cancel::new(),
        walked: AtomicUsize::new(0),
    };
    let err = decide_and_append(&mut app, "test", false, &mut write).expect_err("stopped");
    assert!(matches!(err, AppError::Cancelled), "{err:?}");
    assert_eq!(
        write.walked.load(Ordering::SeqCst),
        2,
        "stopped while writing"
    );
    assert_eq!(app.head(), None);
    drop(app);
    let reopened = Steadfast::open_path(&path, false).expect("reopen");
    assert_eq!(reopened.head(), None, "nothing was committed");
}
