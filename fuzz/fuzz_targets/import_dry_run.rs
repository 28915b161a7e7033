//! The whole import path — parse, then decide every row against a ledger holding the founding
//! scenario — on arbitrary bytes, in memory and as a dry run: never a panic, and the ledger is
//! left exactly as it was.
#![no_main]

use std::sync::{Mutex, OnceLock};

use libfuzzer_sys::fuzz_target;
use steadfast_app::{ImportOptions, Steadfast, import_contributions, scenario};
use steadfast_ingest::{CsvOptions, parse_contributions};
use steadfast_store::MemoryStore;

fn app() -> &'static Mutex<Steadfast> {
    static APP: OnceLock<Mutex<Steadfast>> = OnceLock::new();
    APP.get_or_init(|| {
        let mut app = Steadfast::from_store(Box::new(MemoryStore::new()), &mut |_| {})
            .expect("empty store");
        scenario::load(&mut app).expect("scenario");
        Mutex::new(app)
    })
}

fuzz_target!(|data: &[u8]| {
    let parsed = parse_contributions("f.csv", data, CsvOptions::default(), &mut |_| {});
    let mut app = app().lock().unwrap_or_else(|e| e.into_inner());
    let head = app.head();
    let events = app.ledger().events_applied();
    let _ = import_contributions(
        &mut app,
        &parsed,
        "local:fuzz",
        ImportOptions {
            dry_run: true,
            ..ImportOptions::default()
        },
    );
    assert_eq!(app.head(), head, "a dry run wrote to the log");
    assert_eq!(app.ledger().events_applied(), events, "a dry run changed the ledger");
});
