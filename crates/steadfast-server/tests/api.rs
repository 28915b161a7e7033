//! The API over a real ledger (the founding scenario, loaded through the service): each route
//! answers what the service holds, bad requests are problems naming the parameter, and the
//! server itself listens, refuses a second server on the same ledger and stops when told.

use std::net::SocketAddr;
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use serde_json::Value;
use steadfast_app::{Database, Identity, Progress, Service};
use steadfast_server::{AppState, Settings, router};
use tower::ServiceExt;

fn demo_ledger(dir: &tempfile::TempDir) -> Database {
    let database = Database::Sqlite(dir.path().join("ledger.sqlite"));
    let mut service = Service::new(database.clone());
    let who = Identity::local_administrator("test");
    service.load_demo(&who, &Progress::new()).expect("demo");
    database
}

/// The API over a ledger, and a coordinator's token (who sees everything) for `get`.
struct Api {
    router: Router,
    coordinator: String,
}

fn app(database: Database) -> Api {
    let mut service = Service::new(database);
    let coordinator = service
        .create_token(
            &Identity::local_administrator("test"),
            steadfast_app::CreateToken {
                role: steadfast_domain::Role::Coordinator,
                party: None,
                holder: "the tests' coordinator".to_owned(),
                expires_on: None,
                today: jiff::Timestamp::now()
                    .to_zoned(jiff::tz::TimeZone::UTC)
                    .date(),
            },
            &Progress::new(),
        )
        .expect("coordinator token")
        .secret;
    let state = AppState {
        service: Arc::new(Mutex::new(service)),
        ready: Arc::new(AtomicBool::new(true)),
    };
    Api {
        router: router(state, &Settings::default()),
        coordinator,
    }
}

/// Status, content type and the JSON body (`Null` when the body is not JSON).
async fn get(app: &Api, uri: &str) -> (StatusCode, String, Value) {
    let response = app
        .router
        .clone()
        .oneshot(
            Request::get(uri)
                .header("authorization", format!("Bearer {}", app.coordinator))
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answer");
    let status = response.status();
    let content_type = response
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    assert!(
        response.headers().contains_key("x-request-id"),
        "{uri}: no request id"
    );
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .expect("body");
    (
        status,
        content_type,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

fn assert_problem(answer: &(StatusCode, String, Value), status: StatusCode, pointer: Option<&str>) {
    let (got, content_type, body) = answer;
    assert_eq!(*got, status, "{body}");
    assert_eq!(content_type, "application/problem+json", "{body}");
    assert_eq!(body["status"], status.as_u16(), "{body}");
    assert!(
        body["detail"].as_str().is_some_and(|d| !d.is_empty()),
        "{body}"
    );
    match pointer {
        Some(p) => assert_eq!(body["errors"][0]["pointer"], p, "{body}"),
        None => assert!(body.get("errors").is_none(), "{body}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn contributions_come_a_page_at_a_time_and_the_pages_add_up_to_the_list() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(demo_ledger(&dir));
    let (status, _, all) = get(&app, "/api/v1/contributions?donor=DEU&limit=1000").await;
    assert_eq!(status, StatusCode::OK, "{all}");
    let every: Vec<Value> = all["rows"].as_array().expect("rows").clone();
    assert!(
        every.len() > 3,
        "the scenario has several German contributions"
    );
    assert!(every.iter().all(|r| r["donor"] == "DEU"));
    assert!(all.get("next_cursor").is_none());

    let mut paged = Vec::new();
    let mut uri = "/api/v1/contributions?donor=DEU&limit=2".to_owned();
    loop {
        let (status, _, page) = get(&app, &uri).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        paged.extend(page["rows"].as_array().expect("rows").iter().cloned());
        match page["next_cursor"].as_str() {
            Some(cursor) => {
                uri = format!("/api/v1/contributions?donor=DEU&limit=2&cursor={cursor}")
            }
            None => break,
        }
    }
    assert_eq!(paged, every);

    let first = every[0]["contribution"].as_str().expect("id");
    let (status, _, detail) = get(&app, &format!("/api/v1/contributions/{first}")).await;
    assert_eq!(status, StatusCode::OK, "{detail}");
    assert_eq!(detail["contribution"], first);
    assert_eq!(detail["donor"], "DEU");
}

#[tokio::test(flavor = "multi_thread")]
async fn reports_parties_and_the_log_head_answer_json() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(demo_ledger(&dir));
    let (status, _, head) = get(&app, "/api/v1/log/head").await;
    assert_eq!(status, StatusCode::OK);
    let position = head["position"].as_u64().expect("position");
    assert!(position > 0);

    let (status, _, report) = get(
        &app,
        "/api/v1/reports/fair-share?dataset=scenario-2024&counting=literal",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{report}");
    assert_eq!(report["framework"], "washington-2024");
    assert_eq!(report["datasets"], serde_json::json!(["scenario-2024"]));
    assert_eq!(report["log_head"]["position"], position);
    assert!(report["rows"].as_array().is_some_and(|r| !r.is_empty()));

    let (status, _, parties) = get(&app, "/api/v1/parties?member_of=NATO").await;
    assert_eq!(status, StatusCode::OK, "{parties}");
    assert!(
        parties["rows"]
            .as_array()
            .is_some_and(|rows| rows.iter().any(|p| p["party"] == "DEU")),
        "{parties}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn bad_requests_are_problems_naming_the_parameter() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(demo_ledger(&dir));
    for (uri, status, pointer) in [
        (
            "/api/v1/contributions?donr=DEU",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/donr"),
        ),
        (
            "/api/v1/contributions?limit=0",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/limit"),
        ),
        (
            "/api/v1/contributions?limit=1001",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/limit"),
        ),
        (
            "/api/v1/contributions?from=2024-13-01",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/from"),
        ),
        (
            "/api/v1/contributions?donor=DEU&donor=FRA",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/donor"),
        ),
        (
            "/api/v1/contributions?from=2024-06-01&to=2024-01-01",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/to"),
        ),
        (
            "/api/v1/reports/fair-share?fx_policy=spot",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/fx_policy"),
        ),
        (
            "/api/v1/reports/fair-share?stage=pledged",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/stage"),
        ),
        (
            "/api/v1/reports/fair-share?as_known_on=yesterday",
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("/as_known_on"),
        ),
        (
            "/api/v1/reports/fair-share?framework=no-such-pledge",
            StatusCode::NOT_FOUND,
            None,
        ),
        (
            "/api/v1/contributions/NO-SUCH-1",
            StatusCode::NOT_FOUND,
            None,
        ),
        ("/api/v1/nothing-here", StatusCode::NOT_FOUND, None),
    ] {
        let answer = get(&app, uri).await;
        assert_problem(&answer, status, pointer);
    }
}

/// Reads one HTTP/1.1 answer to `GET path` from the server at `address`.
async fn http_get(address: SocketAddr, path: &str) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .expect("connect");
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await
        .expect("send");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).await.expect("read");
    answer
}

#[tokio::test(flavor = "multi_thread")]
async fn a_server_listens_refuses_a_second_on_its_ledger_and_stops_when_told() {
    let dir = tempfile::tempdir().expect("dir");
    let database = demo_ledger(&dir);
    let settings = Settings {
        listen: "127.0.0.1:0".parse().expect("addr"),
        ..Settings::default()
    };
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (bound, address) = tokio::sync::oneshot::channel::<SocketAddr>();
    let server = tokio::spawn(steadfast_server::serve(
        database.clone(),
        settings.clone(),
        async {
            let _ = stopped.await;
        },
        move |a| {
            let _ = bound.send(a);
        },
    ));
    let address = address.await.expect("listening");
    assert!(address.ip().is_loopback());
    let ready = http_get(address, "/readyz").await;
    assert!(ready.starts_with("HTTP/1.1 200"), "{ready}");
    let head = http_get(address, "/api/v1/log/head").await;
    assert!(head.contains("\"position\":"), "{head}");

    let second = steadfast_server::serve(database, settings, async {}, |_| {
        panic!("a second server must not listen")
    })
    .await
    .expect_err("one server per ledger");
    assert!(second.to_string().contains("already served"), "{second}");

    stop.send(()).expect("stop");
    server.await.expect("joined").expect("stopped cleanly");
    assert!(
        tokio::net::TcpStream::connect(address).await.is_err(),
        "nothing listens after the stop"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_ledger_or_an_open_address_without_tls_stops_the_start() {
    let dir = tempfile::tempdir().expect("dir");
    let missing = Database::Sqlite(dir.path().join("none.sqlite"));
    let err = steadfast_server::serve(missing, Settings::default(), async {}, |_| {
        panic!("must not listen")
    })
    .await
    .expect_err("no ledger");
    assert!(err.to_string().contains("none.sqlite"), "{err}");

    let open = Settings {
        listen: "0.0.0.0:0".parse().expect("addr"),
        ..Settings::default()
    };
    let err = steadfast_server::serve(demo_ledger(&dir), open, async {}, |_| {
        panic!("must not listen")
    })
    .await
    .expect_err("needs TLS");
    assert!(err.to_string().contains("needs TLS"), "{err}");
}

/// Status and `WWW-Authenticate` of `GET uri` with `headers`.
async fn get_with(app: &Api, uri: &str, headers: &[(&str, &str)]) -> (StatusCode, Option<String>) {
    let mut request = Request::get(uri);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::empty()).expect("request"))
        .await
        .expect("answer");
    let challenge = response
        .headers()
        .get(header::WWW_AUTHENTICATE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    (response.status(), challenge)
}

#[tokio::test(flavor = "multi_thread")]
async fn a_bearer_token_is_checked_on_every_request_and_a_revocation_holds_at_once() {
    let dir = tempfile::tempdir().expect("dir");
    let database = demo_ledger(&dir);
    let admin = Identity::local_administrator("test");
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    // Another process (a CLI) issues and revokes tokens while the server runs.
    let mut cli = Service::new(database.clone());
    let created = cli
        .create_token(
            &admin,
            steadfast_app::CreateToken {
                role: steadfast_domain::Role::Observer,
                party: None,
                holder: "Analyst".to_owned(),
                expires_on: None,
                today,
            },
            &Progress::new(),
        )
        .expect("token");
    let app = app(database);
    let bearer = format!("Bearer {}", created.secret);
    let uri = "/api/v1/log/head";

    assert_eq!(
        get_with(&app, uri, &[]).await.0,
        StatusCode::OK,
        "anonymous reads"
    );
    assert_eq!(
        get_with(&app, uri, &[("authorization", &bearer)]).await.0,
        StatusCode::OK
    );
    for headers in [
        vec![("authorization", "Bearer sf_0000")],
        vec![("authorization", "Basic dXNlcjpwYXNz")],
        vec![("authorization", "Bearer ")],
    ] {
        let (status, challenge) = get_with(&app, uri, &headers).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(challenge.as_deref(), Some("Bearer"), "{headers:?}");
    }
    // Credentials are checked before anything else: a bad token with a bad parameter is 401.
    let (status, _) = get_with(
        &app,
        "/api/v1/contributions?donr=x",
        &[("authorization", "Bearer sf_0000")],
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    // A cookie is never a credential: the request is anonymous.
    let cookie = format!("token={}", created.secret);
    assert_eq!(
        get_with(&app, uri, &[("cookie", &cookie)]).await.0,
        StatusCode::OK
    );
    let answer = get(&app, "/api/v1/contributions?donr=x").await;
    assert_problem(&answer, StatusCode::UNPROCESSABLE_ENTITY, Some("/donr"));

    cli.revoke_token(
        &admin,
        created.issued.token.clone(),
        today,
        &Progress::new(),
    )
    .expect("revoked");
    let (status, _) = get_with(&app, uri, &[("authorization", &bearer)]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "revoked, and the server knows at once"
    );
}

/// Status and JSON body of a request with `method`, `bearer` and `body`.
async fn send(
    app: &Api,
    method: &str,
    uri: &str,
    bearer: Option<&str>,
    body: &str,
) -> (StatusCode, Value) {
    let mut request = Request::builder().method(method).uri(uri);
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .router
        .clone()
        .oneshot(request.body(Body::from(body.to_owned())).expect("request"))
        .await
        .expect("answer");
    let status = response.status();
    let bytes = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .expect("body");
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(Value::Null),
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn only_an_administrator_manages_tokens_over_the_api() {
    let dir = tempfile::tempdir().expect("dir");
    let database = demo_ledger(&dir);
    let today = jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date();
    let mut cli = Service::new(database.clone());
    let token = |cli: &mut Service, role: steadfast_domain::Role| {
        cli.create_token(
            &Identity::local_administrator("test"),
            steadfast_app::CreateToken {
                role,
                party: None,
                holder: format!("{role} for the test"),
                expires_on: None,
                today,
            },
            &Progress::new(),
        )
        .expect("token")
        .secret
    };
    let admin = token(&mut cli, steadfast_domain::Role::Administrator);
    let observer = token(&mut cli, steadfast_domain::Role::Observer);
    let app = app(database);

    assert_eq!(
        send(&app, "GET", "/api/v1/tokens", None, "").await.0,
        StatusCode::UNAUTHORIZED
    );
    let (status, body) = send(&app, "GET", "/api/v1/tokens", Some(&observer), "").await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body["detail"]
            .as_str()
            .is_some_and(|d| d.contains("administrator")),
        "{body}"
    );
    let (status, list) = send(&app, "GET", "/api/v1/tokens", Some(&admin), "").await;
    assert_eq!(status, StatusCode::OK, "{list}");
    // The two made here and the coordinator of `app`.
    assert_eq!(list["rows"].as_array().map(Vec::len), Some(3));
    assert!(
        !list.to_string().contains(&admin),
        "a listing never holds a token"
    );

    let (status, created) = send(
        &app,
        "POST",
        "/api/v1/tokens",
        Some(&admin),
        r#"{"role": "recipient", "party": "UKR", "holder": "Ukraine's liaison"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let recipient = created["token"].as_str().expect("token").to_owned();
    assert_eq!(created["party"], "UKR");
    assert_eq!(
        send(&app, "GET", "/api/v1/log/head", Some(&recipient), "")
            .await
            .0,
        StatusCode::OK
    );

    let (status, refused) = send(
        &app,
        "POST",
        "/api/v1/tokens",
        Some(&admin),
        r#"{"role": "donor", "holder": "nobody's"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert_eq!(refused["errors"][0]["pointer"], "/party", "{refused}");
    let (status, refused) = send(
        &app,
        "POST",
        "/api/v1/tokens",
        Some(&admin),
        r#"{"role": "observer", "holder": "x", "scope": "all"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .is_some_and(|d| d.contains("scope")),
        "{refused}"
    );
    assert_eq!(
        send(
            &app,
            "POST",
            "/api/v1/tokens",
            Some(&observer),
            r#"{"role": "administrator", "holder": "me"}"#
        )
        .await
        .0,
        StatusCode::FORBIDDEN,
        "an observer cannot make itself an administrator"
    );

    let id = created["id"].as_str().expect("id");
    let (status, revoked) = send(
        &app,
        "POST",
        &format!("/api/v1/tokens/{id}/revoke"),
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{revoked}");
    assert_eq!(
        send(&app, "GET", "/api/v1/log/head", Some(&recipient), "")
            .await
            .0,
        StatusCode::UNAUTHORIZED
    );
    let (status, _) = send(
        &app,
        "POST",
        "/api/v1/tokens/T-000000000000/revoke",
        Some(&admin),
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test(flavor = "multi_thread")]
async fn the_other_reports_answer_with_the_clis_parameters() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(demo_ledger(&dir));
    let (status, _, gaps) = get(&app, "/api/v1/reports/gaps?dataset=scenario-2024").await;
    assert_eq!(status, StatusCode::OK, "{gaps}");
    assert!(
        gaps["rows"].as_array().is_some_and(|r| !r.is_empty()),
        "{gaps}"
    );
    let (status, _, anomalies) = get(&app, "/api/v1/reports/anomalies?as_of=2024-12-31").await;
    assert_eq!(status, StatusCode::OK, "{anomalies}");
    let (status, _, reconciled) = get(
        &app,
        "/api/v1/reports/reconcile?dataset=scenario-2024&against=kiel-ust-r29&by=half-year&tolerance=0.2",
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{reconciled}");
    assert!(
        reconciled["rows"].as_array().is_some_and(|r| !r.is_empty()),
        "{reconciled}"
    );

    let missing = get(&app, "/api/v1/reports/reconcile?dataset=scenario-2024").await;
    assert_problem(&missing, StatusCode::UNPROCESSABLE_ENTITY, Some("/against"));
    let unknown = get(
        &app,
        "/api/v1/reports/reconcile?dataset=scenario-2024&against=nope",
    )
    .await;
    assert_problem(&unknown, StatusCode::NOT_FOUND, None);
    let wide = get(
        &app,
        "/api/v1/reports/reconcile?dataset=scenario-2024&against=kiel-ust-r29&tolerance=2",
    )
    .await;
    assert_problem(&wide, StatusCode::UNPROCESSABLE_ENTITY, Some("/tolerance"));
    let by = get(&app, "/api/v1/reports/gaps?by=year").await;
    assert_problem(&by, StatusCode::UNPROCESSABLE_ENTITY, Some("/by"));
}

#[tokio::test(flavor = "multi_thread")]
async fn an_anonymous_caller_reads_public_records_only_and_no_report() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(demo_ledger(&dir));
    let (status, _, all) = get(&app, "/api/v1/contributions?limit=1000").await;
    assert_eq!(status, StatusCode::OK);
    let response = app
        .router
        .clone()
        .oneshot(
            Request::get("/api/v1/contributions?limit=1000")
                .body(Body::empty())
                .expect("request"),
        )
        .await
        .expect("answer");
    let bytes = axum::body::to_bytes(response.into_body(), 64 << 20)
        .await
        .expect("body");
    let public: Value = serde_json::from_slice(&bytes).expect("json");
    let rows = |v: &Value| v["rows"].as_array().map_or(0, Vec::len);
    assert!(rows(&public) <= rows(&all));
    assert!(
        public["rows"]
            .as_array()
            .expect("rows")
            .iter()
            .all(|r| all["rows"].as_array().expect("rows").contains(r))
    );
    let (status, _) = get_with(&app, "/api/v1/reports/fair-share", &[]).await;
    assert_eq!(
        status,
        StatusCode::UNAUTHORIZED,
        "reports count every record"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn frameworks_and_datasets_are_listed_and_shown_to_every_caller() {
    let dir = tempfile::tempdir().expect("dir");
    let app = app(demo_ledger(&dir));
    let (status, _, frameworks) = get(&app, "/api/v1/frameworks").await;
    assert_eq!(status, StatusCode::OK, "{frameworks}");
    assert_eq!(
        frameworks["rows"][0]["rules"]["framework"],
        "washington-2024"
    );
    let (status, _, one) = get(&app, "/api/v1/frameworks/washington-2024").await;
    assert_eq!(status, StatusCode::OK, "{one}");
    assert_eq!(one["rules"]["framework"], "washington-2024");
    assert!(one["log_head"]["position"].as_u64().is_some());

    let (status, _, datasets) = get(&app, "/api/v1/datasets").await;
    assert_eq!(status, StatusCode::OK, "{datasets}");
    let ids: Vec<&str> = datasets["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .filter_map(|d| d["dataset"].as_str())
        .collect();
    assert!(
        ids.contains(&"kiel-ust-r29") && ids.contains(&"scenario-2024"),
        "{ids:?}"
    );
    let (status, _, tracker) = get(&app, "/api/v1/datasets/kiel-ust-r29").await;
    assert_eq!(status, StatusCode::OK, "{tracker}");
    assert_eq!(tracker["releases"][0]["release"], "29");

    let (status, _) = get_with(&app, "/api/v1/frameworks", &[]).await;
    assert_eq!(status, StatusCode::OK, "public to an anonymous caller");
    assert_problem(
        &get(&app, "/api/v1/frameworks/no-such").await,
        StatusCode::NOT_FOUND,
        None,
    );
    assert_problem(
        &get(&app, "/api/v1/datasets/no-such").await,
        StatusCode::NOT_FOUND,
        None,
    );
}
