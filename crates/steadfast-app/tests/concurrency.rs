//! Two writers on one ledger file: neither loses the other's events, a stale writer catches up
//! and decides again, and its projection ends equal to a fresh replay of the log.

use steadfast_app::{ImportOptions, Steadfast, import_contributions};
use steadfast_ingest::{CsvOptions, HEADER, parse_contributions};

fn parsed(rows: &[&str]) -> steadfast_ingest::ParsedContributions {
    let mut text = HEADER.join(",");
    for row in rows {
        text.push('\n');
        text.push_str(row);
    }
    parse_contributions("t.csv", text.as_bytes(), CsvOptions::default(), &mut |_| {})
}

fn row(event: &str, contribution: &str, stage: &str, date: &str, amount: &str) -> String {
    format!(
        "{event},{contribution},DEU,UKR,{stage},{date},{amount},EUR,equipment-purchase,bilateral,public,,,,,,,"
    )
}

#[test]
fn a_stale_writer_catches_up_instead_of_losing_or_doubling_events() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.sqlite");
    let mut first = Steadfast::open_path(&path, true).expect("open first");
    let mut second = Steadfast::open_path(&path, false).expect("open second");

    // The first writer records a commitment; the second has not seen it.
    let a = row("A-1", "A", "committed", "2024-03-01", "100");
    import_contributions(
        &mut first,
        &parsed(&[&a]),
        "local:first",
        ImportOptions::default(),
    )
    .expect("first import");

    // The second writer adds to the same contribution and re-sends the first writer's event:
    // its projection is stale, the store refuses, it catches up, decides again and succeeds.
    let b = row("A-2", "A", "delivered", "2024-04-01", "40");
    let c = row("B-1", "B", "announced", "2024-05-01", "7");
    let outcome = import_contributions(
        &mut second,
        &parsed(&[&a, &b, &c]),
        "local:second",
        ImportOptions::default(),
    )
    .expect("second import after catching up");
    assert_eq!(outcome.already_recorded, 1, "{outcome:?}");
    assert_eq!(outcome.new_stage_events, 2, "{outcome:?}");

    let replayed = Steadfast::open_path(&path, false).expect("reopen");
    assert_eq!(replayed.ledger(), second.ledger());
    assert_eq!(replayed.head(), second.head());
    assert_eq!(replayed.ledger().events_applied(), 5);

    // The first writer, now stale, catches up on demand.
    assert_eq!(first.catch_up(&mut |_| {}).expect("catch up"), 3);
    assert_eq!(first.ledger(), replayed.ledger());
}

#[test]
fn a_head_rewritten_under_an_open_ledger_is_caught_at_the_next_append() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ledger.sqlite");
    let mut app = Steadfast::open_path(&path, true).expect("open");
    let first = row("A-1", "A", "committed", "2024-03-01", "100");
    import_contributions(
        &mut app,
        &parsed(&[&first]),
        "local:t",
        ImportOptions::default(),
    )
    .expect("first import");

    // Someone rewrites the last event and its hash behind the open ledger's back, so that the
    // file's own chain still links up to it.
    let conn = rusqlite::Connection::open(&path).expect("sqlite");
    conn.execute_batch(
        "DROP TRIGGER events_no_update;
         UPDATE events SET actor = 'local:mallory', hash = randomblob(32) WHERE position = 2;",
    )
    .expect("tamper");
    drop(conn);

    let next = row("A-2", "A", "delivered", "2024-04-01", "40");
    let err = import_contributions(
        &mut app,
        &parsed(&[&next]),
        "local:t",
        ImportOptions::default(),
    )
    .expect_err("the rewritten head is noticed");
    let message = err.to_string();
    assert!(message.contains("does not verify at event 3"), "{message}");
}
