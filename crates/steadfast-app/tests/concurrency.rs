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
