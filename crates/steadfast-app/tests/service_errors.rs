//! The application service's error maps one to one to what a server answers. Each variant is
//! reached here, from a real failure where one is cheap to cause, and checked for its status
//! and its message.

use steadfast_app::{
    AppError, Cancel, Database, Identity, ImportContributions, Progress, Service, ServiceError,
};
use steadfast_store::{ExpectedVersion, StoreError};

fn who() -> Identity {
    Identity::local_administrator("service")
}

fn service_in(dir: &tempfile::TempDir) -> Service {
    Service::new(
        Database::parse(dir.path().join("ledger.sqlite").to_str().expect("path")).expect("path"),
    )
}

fn import(service: &mut Service, csv: &str, cancel: Cancel) -> Result<(), ServiceError> {
    service
        .import_contributions(
            &who(),
            ImportContributions {
                file: "given.csv".to_owned(),
                bytes: csv.as_bytes().to_vec(),
                dataset: None,
                ignore_extra: false,
                dry_run: false,
                cancel,
            },
            &Progress::new(),
        )
        .map(|_| ())
}

/// Every variant with the status a server answers; a new variant does not compile here until
/// it is given one.
fn expected_status(e: &ServiceError) -> u16 {
    match e {
        ServiceError::Unauthenticated(_) => 401,
        ServiceError::NotFound(_) => 404,
        ServiceError::Forbidden(_) => 403,
        ServiceError::Conflict(_) => 409,
        ServiceError::Invalid { .. } => 422,
        ServiceError::Unavailable(_) => 503,
        ServiceError::Corrupt(_) => 500,
        ServiceError::Interrupted => 499,
    }
}

#[test]
fn every_variant_answers_its_status_with_a_message_that_says_why() {
    let dir = tempfile::tempdir().expect("dir");
    let mut service = service_in(&dir);
    let store = |e: StoreError| ServiceError::from(AppError::Store(e));
    let cases: Vec<(ServiceError, u16, &str)> = vec![
        (
            service
                .authenticate(
                    "guessed",
                    "2026-12-04".parse().expect("day"),
                    &Progress::new(),
                )
                .expect_err("no such token"),
            401,
            "not valid",
        ),
        (
            service
                .log_head(&who(), &Progress::new())
                .expect_err("no ledger yet"),
            404,
            "no ledger at",
        ),
        (
            store(StoreError::NotWritable {
                location: "/ledgers/a.sqlite".to_owned(),
                reason: "the directory is read-only".to_owned(),
            }),
            403,
            "cannot write to /ledgers/a.sqlite",
        ),
        (
            store(StoreError::Conflict {
                stream: "contribution:C-1".to_owned(),
                expected: ExpectedVersion::Exactly(1),
                actual: "2".to_owned(),
            }),
            409,
            "stream `contribution:C-1` is at 2",
        ),
        (
            import(
                &mut service,
                "not,a,contributions,file\n1,2,3,4\n",
                Cancel::new(),
            )
            .expect_err("refused"),
            422,
            "given.csv",
        ),
        (
            store(StoreError::Backend(
                "the ledger is locked by another process".into(),
            )),
            503,
            "locked",
        ),
        (
            ServiceError::from(AppError::Corrupt("event 7 does not verify".to_owned())),
            500,
            "corrupt",
        ),
        (
            {
                let cancel = Cancel::new();
                cancel.request();
                import(&mut service, "event_id\n", cancel).expect_err("stopped")
            },
            499,
            "interrupted",
        ),
    ];
    let mut seen = std::collections::BTreeSet::new();
    for (error, status, says) in &cases {
        assert_eq!(error.status(), *status, "{error:?}");
        assert_eq!(expected_status(error), *status, "{error:?}");
        assert!(
            error.to_string().contains(says),
            "`{error}` should say {says}"
        );
        seen.insert(*status);
    }
    assert_eq!(seen.len(), 8, "every variant is walked");
}

#[test]
fn an_invalid_file_lists_every_problem_located() {
    let dir = tempfile::tempdir().expect("dir");
    let refused = import(
        &mut service_in(&dir),
        "not,a,contributions,file\n",
        Cancel::new(),
    )
    .expect_err("refused");
    let ServiceError::Invalid { problems, .. } = refused else {
        panic!("expected invalid, got {refused:?}");
    };
    assert!(!problems.is_empty());
    assert!(
        problems
            .iter()
            .all(|p| p.to_string().starts_with("given.csv")),
        "{problems:?}"
    );
}
