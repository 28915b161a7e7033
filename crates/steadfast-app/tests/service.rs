//! The service's write use cases, read back through its query methods: a stage recorded and
//! shown, a command the rules refuse (with the field at fault), a framework adopted, and two
//! services on one ledger — each catches up with what the other appended before it answers,
//! and a write decided on a version the ledger has left is a conflict.

use jiff::civil::Date;
use steadfast_app::frameworks::adopted_from;
use steadfast_app::views::ContributionFilter;
use steadfast_app::{
    Database, FairShareQuery, Identity, Progress, RecordStageEvent, Service, ServiceError,
    ShowContribution,
};
use steadfast_domain::{
    Category, Channel, ContributionId, Currency, EventId, FrameworkAdopted, FxPolicy, Money,
    PartyId, RecordStage, ReportQuery, Stage, ValuationBasis, Visibility,
};

fn who() -> Identity {
    Identity::local_administrator("service")
}

fn service(dir: &tempfile::TempDir) -> Service {
    let path = dir.path().join("ledger.sqlite");
    Service::new(Database::parse(path.to_str().expect("path")).expect("database"))
}

/// A stage event of contribution `contribution` from the USA to Ukraine.
fn stage(event: &str, contribution: &str, stage: Stage, on: &str, usd: &str) -> RecordStage {
    RecordStage {
        event: EventId::parse(event).expect("event id"),
        contribution: ContributionId::parse(contribution).expect("contribution id"),
        donor: PartyId::parse("USA").expect("party"),
        recipient: PartyId::parse("UKR").expect("party"),
        category: Category::parse("in-kind-donation").expect("category"),
        channel: Channel::parse("bilateral").expect("channel"),
        visibility: Visibility::parse("public").expect("visibility"),
        stage,
        effective_date: on.parse::<Date>().expect("date"),
        money: Some(Money::parse(usd, Currency::parse("USD").expect("usd")).expect("money")),
        quantity: None,
        valuation_basis: Some(ValuationBasis::parse("declared").expect("basis")),
        amends: None,
        reason: None,
        condition: None,
        source_url: Some("https://example.org/package".to_owned()),
        description: None,
        source_kind: None,
        citation: None,
        dataset: None,
    }
}

fn record(
    service: &mut Service,
    command: RecordStage,
    expected_version: Option<u64>,
) -> Result<steadfast_app::Recorded, ServiceError> {
    service.record_stage(
        &who(),
        RecordStageEvent {
            command,
            expected_version,
        },
        &Progress::new(),
    )
}

fn history(service: &mut Service, contribution: &str) -> Vec<String> {
    let detail = service
        .contribution(
            &who(),
            ShowContribution {
                id: ContributionId::parse(contribution).expect("id"),
                fx_policy: FxPolicy::EventDate,
            },
            &Progress::new(),
        )
        .expect("shown");
    detail.history.iter().map(|h| h.event.clone()).collect()
}

#[test]
fn a_recorded_stage_is_read_back_and_recording_it_again_changes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let mut service = service(&dir);
    let first = record(
        &mut service,
        stage(
            "US-1-a",
            "US-1",
            Stage::Allocated,
            "2024-03-12",
            "300000000",
        ),
        None,
    )
    .expect("recorded");
    assert!(first.new);
    assert_eq!(
        first.events_appended, 2,
        "a registration and the stage event"
    );
    assert_eq!(first.stream_version, 2);
    assert_eq!(first.log_head.position, 2);

    assert_eq!(history(&mut service, "US-1"), ["US-1-a"]);
    let list = service
        .contributions(&who(), ContributionFilter::default(), &Progress::new())
        .expect("listed");
    assert_eq!(list.rows.len(), 1);
    assert_eq!(list.log_head, first.log_head);

    let again = record(
        &mut service,
        stage(
            "US-1-a",
            "US-1",
            Stage::Allocated,
            "2024-03-12",
            "300000000",
        ),
        None,
    )
    .expect("the same event again");
    assert!(!again.new);
    assert_eq!(again.events_appended, 0);
    assert_eq!(again.log_head, first.log_head);

    let unknown = service
        .contribution(
            &who(),
            ShowContribution {
                id: ContributionId::parse("NOPE-1").expect("id"),
                fx_policy: FxPolicy::EventDate,
            },
            &Progress::new(),
        )
        .expect_err("no such contribution");
    assert_eq!(unknown.status(), 404, "{unknown}");
    assert!(
        unknown.to_string().contains("no contribution NOPE-1"),
        "{unknown}"
    );
}

#[test]
fn a_command_the_rules_refuse_is_invalid_with_the_field_at_fault_and_writes_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let mut service = service(&dir);
    let mut to_itself = stage("US-2-a", "US-2", Stage::Committed, "2024-05-01", "10");
    to_itself.recipient = to_itself.donor.clone();
    let refused = record(&mut service, to_itself, None).expect_err("refused");
    assert_eq!(refused.status(), 422);
    let ServiceError::Invalid { problems, message } = &refused else {
        panic!("expected invalid, got {refused:?}");
    };
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert_eq!(problems[0].field.as_deref(), Some("recipient"));
    assert!(problems[0].file.is_none() && problems[0].line.is_none());
    assert!(
        message.contains("donor and recipient are both USA"),
        "{message}"
    );
    // Nothing was written: not even a ledger was created.
    assert!(!dir.path().join("ledger.sqlite").exists());
}

#[test]
fn two_services_on_one_ledger_see_each_others_events_and_a_stale_version_is_a_conflict() {
    let dir = tempfile::tempdir().expect("dir");
    let mut a = service(&dir);
    let mut b = service(&dir);
    let opened = record(
        &mut a,
        stage("C-1-a", "C-1", Stage::Committed, "2024-02-01", "100"),
        Some(0),
    )
    .expect("a opens the contribution");
    assert_eq!(opened.stream_version, 2);

    // B, on its own handle, records on top of what A wrote.
    let by_b = record(
        &mut b,
        stage("C-1-b", "C-1", Stage::Delivered, "2024-03-01", "100"),
        Some(2),
    )
    .expect("b records at the version it read");
    assert_eq!(by_b.stream_version, 3);

    // A still holds its ledger at version 2: a write decided on that version is refused...
    let stale = record(
        &mut a,
        stage("C-1-c", "C-1", Stage::Confirmed, "2024-04-01", "100"),
        Some(2),
    )
    .expect_err("the contribution moved on");
    assert_eq!(stale.status(), 409, "{stale:?}");
    assert!(stale.to_string().contains("at version 3, not 2"), "{stale}");

    // ... while a query catches up first and sees both writers' events.
    assert_eq!(history(&mut a, "C-1"), ["C-1-a", "C-1-b"]);

    // Without an expected version the write is decided on the ledger as it stands.
    let fresh = record(
        &mut a,
        stage("C-1-c", "C-1", Stage::Confirmed, "2024-04-01", "100"),
        None,
    )
    .expect("decided against the caught-up ledger");
    assert_eq!(fresh.stream_version, 4);
    assert_eq!(history(&mut b, "C-1"), ["C-1-a", "C-1-b", "C-1-c"]);
}

#[test]
fn a_reader_held_open_sees_what_a_writer_appended_after_it_opened() {
    let dir = tempfile::tempdir().expect("dir");
    let mut writer = service(&dir);
    record(
        &mut writer,
        stage("R-1-a", "R-1", Stage::Committed, "2024-02-01", "100"),
        None,
    )
    .expect("recorded");
    drop(writer); // the file is left quiescent: a reader opens it without locks
    let mut reader = service(&dir);
    assert_eq!(history(&mut reader, "R-1"), ["R-1-a"]);
    let mut writer = service(&dir);
    record(
        &mut writer,
        stage("R-1-b", "R-1", Stage::Delivered, "2024-03-01", "100"),
        None,
    )
    .expect("recorded");
    assert_eq!(history(&mut reader, "R-1"), ["R-1-a", "R-1-b"]);
    let head = reader.log_head(&who(), &Progress::new()).expect("head");
    assert_eq!(head.position, 3);
}

/// The founding scenario's framework, as its data file and basis give it.
fn washington() -> FrameworkAdopted {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/");
    let read = |name: &str| std::fs::read(format!("{root}{name}")).expect("data file");
    let file = steadfast_ingest::parse_frameworks_file("frameworks.toml", &read("frameworks.toml"))
        .expect("frameworks");
    let basis =
        steadfast_ingest::parse_gdp("gdp-worldbank.csv", &read("gdp-worldbank.csv")).expect("gdp");
    adopted_from(&file.frameworks[0], &basis)
}

#[test]
fn an_adopted_framework_is_reported_on_and_other_rules_under_its_id_are_refused() {
    let dir = tempfile::tempdir().expect("dir");
    let mut service = service(&dir);
    let framework = washington();
    let adopted = service
        .adopt_framework(&who(), framework.clone(), &Progress::new())
        .expect("adopted");
    assert!(adopted.new);
    assert_eq!((adopted.events_appended, adopted.stream_version), (1, 1));
    let again = service
        .adopt_framework(&who(), framework.clone(), &Progress::new())
        .expect("the same rules again");
    assert!(!again.new);
    assert_eq!(again.events_appended, 0);

    let mut other = framework.clone();
    other.name.push_str(" (amended)");
    let refused = service
        .adopt_framework(&who(), other, &Progress::new())
        .expect_err("different rules");
    let ServiceError::Invalid { problems, .. } = &refused else {
        panic!("expected invalid, got {refused:?}");
    };
    assert!(
        problems[0]
            .message
            .contains("already adopted with different rules"),
        "{problems:?}"
    );
    assert_eq!(problems[0].field.as_deref(), Some("id"), "{problems:?}");

    // A rule of the specification is refused at its key, and named once.
    let mut wrong = framework.clone();
    wrong.framework = steadfast_domain::FrameworkId::parse("other-pledge").expect("id");
    wrong.participants.clear();
    let refused = service
        .adopt_framework(&who(), wrong, &Progress::new())
        .expect_err("no participants");
    let ServiceError::Invalid { problems, .. } = &refused else {
        panic!("expected invalid, got {refused:?}");
    };
    let participants = problems
        .iter()
        .find(|p| p.field.as_deref() == Some("participants"))
        .unwrap_or_else(|| panic!("participants not named: {problems:?}"));
    assert_eq!(participants.to_string(), "participants: none listed");

    let view = service
        .fair_share(
            &who(),
            FairShareQuery {
                framework: None,
                stage: None,
                counting: None,
                view: ReportQuery::new(FxPolicy::EventDate),
            },
            &Progress::new(),
        )
        .expect("the only framework is reported on");
    assert_eq!(view.framework, framework.framework);
    assert_eq!(view.rows.len(), framework.participants.len());

    let unknown = service
        .fair_share(
            &who(),
            FairShareQuery {
                framework: Some(steadfast_domain::FrameworkId::parse("madrid-2099").expect("id")),
                stage: None,
                counting: None,
                view: ReportQuery::new(FxPolicy::EventDate),
            },
            &Progress::new(),
        )
        .expect_err("no such framework");
    assert_eq!(unknown.status(), 404, "{unknown}");
    assert!(
        unknown
            .to_string()
            .contains("recorded frameworks: washington-2024"),
        "{unknown}"
    );
}

#[test]
fn a_bad_moment_or_an_empty_date_range_is_invalid_with_its_field() {
    let bad = steadfast_app::parse_moment("yesterday").expect_err("not a moment");
    let ServiceError::Invalid { problems, .. } = &bad else {
        panic!("expected invalid, got {bad:?}");
    };
    assert_eq!(problems[0].field.as_deref(), Some("as_known_on"));

    let dir = tempfile::tempdir().expect("dir");
    let backwards = service(&dir)
        .contributions(
            &who(),
            ContributionFilter {
                from: Some(Date::constant(2024, 6, 1)),
                to: Some(Date::constant(2024, 1, 1)),
                ..ContributionFilter::default()
            },
            &Progress::new(),
        )
        .expect_err("an empty range");
    assert_eq!(backwards.status(), 422);
}

#[test]
fn a_token_identifies_its_caller_until_it_is_revoked_and_only_its_digest_is_recorded() {
    use steadfast_app::{CreateToken, TOKEN_PREFIX};
    use steadfast_domain::{PartyId, Role};
    let dir = tempfile::tempdir().expect("dir");
    let mut service = service(&dir);
    service.load_demo(&who(), &Progress::new()).expect("demo");
    let today: jiff::civil::Date = "2026-12-04".parse().expect("day");
    let created = service
        .create_token(
            &who(),
            CreateToken {
                role: Role::Donor,
                party: Some(PartyId::parse("POL").expect("party")),
                holder: "Polish liaison".to_owned(),
                expires_on: None,
                today,
            },
            &Progress::new(),
        )
        .expect("created");
    assert!(created.secret.starts_with(TOKEN_PREFIX));
    assert_eq!(
        created.secret.len(),
        TOKEN_PREFIX.len() + 64,
        "256 bits in hex"
    );
    assert_eq!(
        created.issued.expires_on,
        "2027-03-04".parse::<jiff::civil::Date>().expect("day"),
        "90 days by default"
    );
    assert!(created.recorded.new);

    let caller = service
        .authenticate(&created.secret, today, &Progress::new())
        .expect("valid");
    assert_eq!(caller.role, Role::Donor);
    assert_eq!(caller.party.as_ref().map(PartyId::as_str), Some("POL"));
    assert_eq!(
        caller.identity.actor,
        format!("token:{}", created.issued.token)
    );
    let expired = service
        .authenticate(
            &created.secret,
            "2027-03-05".parse().expect("day"),
            &Progress::new(),
        )
        .expect_err("expired");
    assert_eq!(expired.status(), 401);
    // One hex digit off: another digit than the last one.
    let mut guessed = created.secret.clone();
    let last = guessed.pop();
    guessed.push(if last == Some('0') { '1' } else { '0' });
    assert_eq!(
        service
            .authenticate(&guessed, today, &Progress::new())
            .map(|_| ())
            .expect_err("guessed")
            .to_string(),
        expired.to_string(),
        "a guess and an expired token get the same answer"
    );

    let listed = service
        .tokens(&who(), today, &Progress::new())
        .expect("list");
    assert_eq!(listed.rows.len(), 1);
    assert_eq!(listed.rows[0].status, "active");
    let json = serde_json::to_string(&listed).expect("json");
    assert!(!json.contains(&created.secret) && !json.contains(&created.issued.digest));

    // The secret is nowhere in the ledger's files (the database and its write-ahead log); its
    // digest is.
    let mut file = std::fs::read(dir.path().join("ledger.sqlite")).expect("ledger file");
    file.extend(std::fs::read(dir.path().join("ledger.sqlite-wal")).unwrap_or_default());
    let holds = |needle: &str| file.windows(needle.len()).any(|w| w == needle.as_bytes());
    assert!(!holds(&created.secret));
    assert!(holds(&created.issued.digest));

    let revoked = service
        .revoke_token(
            &who(),
            created.issued.token.clone(),
            today,
            &Progress::new(),
        )
        .expect("revoked");
    assert!(revoked.new);
    assert_eq!(
        service
            .authenticate(&created.secret, today, &Progress::new())
            .expect_err("revoked")
            .status(),
        401
    );
    let unknown = service
        .revoke_token(
            &who(),
            steadfast_domain::TokenId::parse("T-000000000000").expect("id"),
            today,
            &Progress::new(),
        )
        .expect_err("unknown");
    assert_eq!(unknown.status(), 404);
}

#[test]
fn each_caller_sees_the_contributions_its_role_may_see_and_a_hidden_one_is_not_found() {
    use steadfast_domain::Role;
    let dir = tempfile::tempdir().expect("dir");
    let mut service = service(&dir);
    for (id, visibility) in [
        ("C-PUB", "public"),
        ("C-COA", "coalition"),
        ("C-RES", "restricted"),
    ] {
        let mut command = stage(
            &format!("E-{id}"),
            id,
            Stage::Committed,
            "2024-07-01",
            "100.00",
        );
        command.visibility = Visibility::parse(visibility).expect("visibility");
        record(&mut service, command, None).expect("recorded");
    }
    let caller = |role: Option<Role>, party: Option<&str>| Identity {
        actor: "test:caller".to_owned(),
        role,
        party: party.map(|p| PartyId::parse(p).expect("party")),
    };
    let cases = [
        (Identity::anonymous(), vec!["C-PUB"]),
        (caller(Some(Role::Observer), None), vec!["C-COA", "C-PUB"]),
        (
            caller(Some(Role::Donor), Some("POL")),
            vec!["C-COA", "C-PUB"],
        ),
        (
            caller(Some(Role::Donor), Some("USA")),
            vec!["C-COA", "C-PUB", "C-RES"],
        ),
        (
            caller(Some(Role::Recipient), Some("UKR")),
            vec!["C-COA", "C-PUB", "C-RES"],
        ),
        (
            caller(Some(Role::Coordinator), None),
            vec!["C-COA", "C-PUB", "C-RES"],
        ),
    ];
    for (who, expected) in cases {
        let list = service
            .contributions(&who, ContributionFilter::default(), &Progress::new())
            .expect("list");
        let seen: Vec<String> = list
            .rows
            .iter()
            .map(|r| r.contribution.to_string())
            .collect();
        assert_eq!(seen, expected, "{who:?}");
        let show = |id: &str, service: &mut Service| {
            service.contribution(
                &who,
                ShowContribution {
                    id: ContributionId::parse(id).expect("id"),
                    fx_policy: FxPolicy::EventDate,
                },
                &Progress::new(),
            )
        };
        if !expected.contains(&"C-RES") {
            let hidden = show("C-RES", &mut service).expect_err("hidden");
            let missing = show("C-NONE", &mut service).expect_err("missing");
            assert_eq!(hidden.status(), 404);
            assert_eq!(
                hidden.to_string().replace("C-RES", "C-NONE"),
                missing.to_string(),
                "a hidden record answers exactly as a missing one"
            );
        }
        // Reports count every record: only whoever sees everything gets them.
        let report = service.gaps(
            &who,
            ReportQuery::new(FxPolicy::EventDate),
            &Progress::new(),
        );
        match (who.sees_everything(), who.role) {
            (true, _) => assert!(report.is_ok()),
            (false, None) => assert_eq!(report.map(|_| ()).expect_err("anonymous").status(), 401),
            (false, Some(_)) => assert_eq!(report.map(|_| ()).expect_err("not all").status(), 403),
        }
    }
}
