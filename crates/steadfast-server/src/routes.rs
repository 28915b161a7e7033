//! The routes: each reads its parameters, asks the [`Service`] on a blocking thread (the
//! service and its store are synchronous) and answers JSON, or a problem.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, PoisonError};

use axum::Json;
use axum::extract::{FromRequestParts, Path, RawQuery, State};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use steadfast_app::views::{
    ContributionFilter, ContributionLine, DatasetView, FrameworkView, Listed, LogHead, Shown,
};
use steadfast_app::{
    FairShareQuery, Identity, PartiesQuery, Progress, Service, ServiceError, ShowContribution,
    parse_date, parse_moment,
};
use steadfast_domain::scoreboard::reconcile::Granularity;
use steadfast_domain::{
    Category, Channel, ContributionId, Counting, DatasetId, FrameworkId, FxPolicy, PartyId,
    ReportQuery, Role, Stage, TokenId,
};

use crate::AppState;
use crate::params::{Params, one_of};
use crate::problem::ProblemDetails;

/// The most rows a page of contributions holds, and how many when the caller does not say.
pub const MAX_PAGE: usize = 1000;
pub const DEFAULT_PAGE: usize = 100;

type Answer<T> = Result<Json<T>, ProblemDetails>;

/// Who asks: the caller a request's bearer token names, checked before anything else of the
/// request is read (anonymous without one). The token comes from the `Authorization` header
/// only; cookies are never read. A header that is not `Bearer <token>`, or a token that is
/// unknown, expired or revoked, is answered 401.
#[derive(Debug, Clone)]
pub struct Who(pub Identity);

impl FromRequestParts<AppState> for Who {
    type Rejection = ProblemDetails;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
            return Ok(Who(Identity::anonymous()));
        };
        let Some(token) = value
            .to_str()
            .ok()
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned)
        else {
            return Err(ProblemDetails::new(
                StatusCode::UNAUTHORIZED,
                "the Authorization header must be `Bearer <token>`",
            ));
        };
        let caller = on_the_service(state, move |service| {
            service.authenticate(&token, today(), &Progress::new())
        })
        .await?;
        Ok(Who(caller.identity))
    }
}

/// Today in UTC: a token's days are UTC days.
fn today() -> jiff::civil::Date {
    jiff::Timestamp::now()
        .to_zoned(jiff::tz::TimeZone::UTC)
        .date()
}

/// Runs `work` on the service, on a thread that may block (the service and its store are
/// synchronous); requests take turns on it.
async fn on_the_service<T: Send + 'static>(
    state: &AppState,
    work: impl FnOnce(&mut Service) -> Result<T, ServiceError> + Send + 'static,
) -> Result<T, ProblemDetails> {
    let service: Arc<Mutex<Service>> = Arc::clone(&state.service);
    tokio::task::spawn_blocking(move || {
        let mut service = service.lock().unwrap_or_else(PoisonError::into_inner);
        work(&mut service)
    })
    .await
    .map_err(|_| {
        ProblemDetails::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "the request failed unexpectedly; nothing was recorded by it",
        )
    })?
    .map_err(|e| ProblemDetails::from(&e))
}

/// Runs `use_case` on the service as `who`, answering JSON.
async fn ask<T: Send + 'static>(
    state: &AppState,
    Who(who): Who,
    use_case: impl FnOnce(&mut Service, &Identity, &Progress) -> Result<T, ServiceError>
    + Send
    + 'static,
) -> Answer<T> {
    on_the_service(state, move |service| {
        use_case(service, &who, &Progress::new())
    })
    .await
    .map(Json)
}

/// Alive: the process answers.
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Ready: the ledger was opened and verified, and requests are being taken.
pub async fn readyz(State(state): State<AppState>) -> Response {
    if state.ready.load(Ordering::Acquire) {
        "ready\n".into_response()
    } else {
        ProblemDetails::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "the ledger is not open yet, or the server is stopping",
        )
        .into_response()
    }
}

/// No such route.
pub async fn not_found() -> ProblemDetails {
    ProblemDetails::new(StatusCode::NOT_FOUND, "no such resource")
}

fn id<T, E: std::fmt::Display>(
    parse: impl Fn(&str) -> Result<T, E>,
) -> impl Fn(&str) -> Result<T, String> {
    move |text| parse(text).map_err(|e| e.to_string())
}

/// The report parameters every report takes.
fn report_query(params: &Params) -> Result<ReportQuery, ProblemDetails> {
    Ok(moments(params)?.in_datasets(params.all("dataset", id(DatasetId::parse))?))
}

/// How amounts are converted to euros (`fx_policy`; the event's date by default).
fn fx_policy(params: &Params) -> Result<FxPolicy, ProblemDetails> {
    Ok(params
        .one(
            "fx_policy",
            one_of(FxPolicy::parse, "event-date, period-average"),
        )?
        .unwrap_or(FxPolicy::EventDate))
}

/// A view of every dataset as of a date and as known on a moment (`fx_policy`, `as_of`,
/// `as_known_on`).
fn moments(params: &Params) -> Result<ReportQuery, ProblemDetails> {
    let mut query = ReportQuery::new(fx_policy(params)?);
    query.as_of = params.one("as_of", id(parse_date))?;
    query.as_known_on = params.one("as_known_on", id(parse_moment))?;
    Ok(query)
}

/// `GET /api/v1/log/head`: the position and hash of the log's last event.
pub async fn log_head(State(state): State<AppState>, who: Who) -> Answer<LogHead> {
    ask(&state, who, |service, who, progress| {
        service.log_head(who, progress)
    })
    .await
}

/// `GET /api/v1/parties`: the registered parties (`member_of`, `on`).
pub async fn parties(
    State(state): State<AppState>,
    who: Who,
    RawQuery(query): RawQuery,
) -> Answer<steadfast_app::views::PartyList> {
    let params = Params::parse(query.as_deref(), &["member_of", "on"])?;
    let query = PartiesQuery {
        member_of: params.one("member_of", id(PartyId::parse))?,
        on: params.one("on", id(parse_date))?,
    };
    ask(&state, who, move |service, who, progress| {
        service.parties(who, query, progress)
    })
    .await
}

/// A page of contributions, and where the next one starts.
#[derive(Debug, Serialize)]
pub struct ContributionPage {
    pub log_head: LogHead,
    pub rows: Vec<ContributionLine>,
    /// Pass as `cursor` for the next page; absent on the last.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next_cursor: Option<String>,
}

/// `GET /api/v1/contributions`: contributions by id, a page at a time (`cursor`, `limit`),
/// filtered by `donor`, `recipient`, `category`, `channel`, `stage`, `from`, `to`, `dataset`.
pub async fn contributions(
    State(state): State<AppState>,
    who: Who,
    RawQuery(query): RawQuery,
) -> Answer<ContributionPage> {
    let params = Params::parse(
        query.as_deref(),
        &[
            "donor",
            "recipient",
            "category",
            "channel",
            "stage",
            "from",
            "to",
            "dataset",
            "cursor",
            "limit",
        ],
    )?;
    let filter = ContributionFilter {
        donor: params.one("donor", id(PartyId::parse))?,
        recipient: params.one("recipient", id(PartyId::parse))?,
        category: params.one("category", id(Category::parse))?,
        channel: params.one("channel", id(Channel::parse))?,
        stage: params.one("stage", id(Stage::parse))?,
        from: params.one("from", id(parse_date))?,
        to: params.one("to", id(parse_date))?,
        datasets: params.all("dataset", id(DatasetId::parse))?,
    };
    let after = params.one("cursor", id(ContributionId::parse))?;
    let limit = params
        .one("limit", |text: &str| match text.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(format!("is not a page size from 1 to {MAX_PAGE}")),
        })?
        .unwrap_or(DEFAULT_PAGE);
    let Json(list) = ask(&state, who, move |service, who, progress| {
        service.contributions(who, filter, progress)
    })
    .await?;
    let (rows, next_cursor) = page(list.rows, |r| &r.contribution, after.as_ref(), limit);
    Ok(Json(ContributionPage {
        log_head: list.log_head,
        rows,
        next_cursor: next_cursor.map(|id| id.to_string()),
    }))
}

/// The rows of the `limit` contributions after `after`, and the cursor of the next page when
/// there is one. Rows come in id order, one per currency; a contribution's rows stay on one
/// page.
fn page<R>(
    rows: Vec<R>,
    id_of: impl Fn(&R) -> &ContributionId,
    after: Option<&ContributionId>,
    limit: usize,
) -> (Vec<R>, Option<ContributionId>) {
    let mut kept: Vec<R> = Vec::new();
    let mut count = 0;
    for row in rows
        .into_iter()
        .filter(|r| after.is_none_or(|a| id_of(r) > a))
    {
        if kept.last().is_none_or(|k| id_of(k) != id_of(&row)) {
            if count == limit {
                let next = kept.last().map(|k| id_of(k).clone());
                return (kept, next);
            }
            count += 1;
        }
        kept.push(row);
    }
    (kept, None)
}

/// `GET /api/v1/contributions/{id}`: one contribution with its stage events (`fx_policy`).
pub async fn contribution(
    State(state): State<AppState>,
    who: Who,
    Path(contribution): Path<String>,
    RawQuery(query): RawQuery,
) -> Answer<steadfast_app::views::ContributionDetail> {
    let params = Params::parse(query.as_deref(), &["fx_policy"])?;
    let id = ContributionId::parse(&contribution)
        .map_err(|_| ProblemDetails::new(StatusCode::NOT_FOUND, "no such contribution"))?;
    let fx_policy = fx_policy(&params)?;
    ask(&state, who, move |service, who, progress| {
        service.contribution(who, ShowContribution { id, fx_policy }, progress)
    })
    .await
}

/// `GET /api/v1/reports/fair-share`: each participant's count against its fair share
/// (`framework`, `stage`, `counting`, `fx_policy`, `as_of`, `as_known_on`, `dataset`).
pub async fn fair_share(
    State(state): State<AppState>,
    who: Who,
    RawQuery(query): RawQuery,
) -> Answer<steadfast_app::views::FairShareView> {
    let params = Params::parse(
        query.as_deref(),
        &[
            "framework",
            "stage",
            "counting",
            "fx_policy",
            "as_of",
            "as_known_on",
            "dataset",
        ],
    )?;
    let query = FairShareQuery {
        framework: params.one("framework", id(FrameworkId::parse))?,
        stage: params.one("stage", id(Stage::parse))?,
        counting: params.one("counting", id(Counting::parse))?,
        view: report_query(&params)?,
    };
    ask(&state, who, move |service, who, progress| {
        service.fair_share(who, query, progress)
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(ids: &[&str]) -> Vec<(ContributionId, usize)> {
        ids.iter()
            .enumerate()
            .map(|(i, id)| (ContributionId::parse(id).expect("id"), i))
            .collect()
    }

    #[test]
    fn pages_hold_whole_contributions_and_chain_by_cursor() {
        // C-2 has rows in two currencies.
        let all = rows(&["C-1", "C-2", "C-2", "C-3", "C-4"]);
        let (first, next) = page(all.clone(), |r| &r.0, None, 2);
        assert_eq!(first.iter().map(|r| r.1).collect::<Vec<_>>(), [0, 1, 2]);
        assert_eq!(
            next.as_ref().map(ToString::to_string).as_deref(),
            Some("C-2")
        );
        let (second, next) = page(all.clone(), |r| &r.0, next.as_ref(), 2);
        assert_eq!(second.iter().map(|r| r.1).collect::<Vec<_>>(), [3, 4]);
        assert_eq!(next, None);
        let (none, next) = page(
            all,
            |r| &r.0,
            Some(&ContributionId::parse("C-9").expect("id")),
            2,
        );
        assert!(none.is_empty() && next.is_none());
    }
}

/// `GET /api/v1/tokens` (administrator): every token, never the token itself.
pub async fn tokens(State(state): State<AppState>, who: Who) -> Answer<steadfast_app::TokenList> {
    ask(&state, who, |service, who, progress| {
        service.tokens(who, today(), progress)
    })
    .await
}

/// The body of `POST /api/v1/tokens`.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewToken {
    pub role: Role,
    #[serde(default)]
    pub party: Option<PartyId>,
    pub holder: String,
    #[serde(default)]
    pub expires_on: Option<jiff::civil::Date>,
}

/// A created token: shown in this answer only.
#[derive(Debug, Serialize)]
pub struct TokenCreated {
    /// The token: the only time it is shown.
    pub token: String,
    pub id: TokenId,
    pub role: Role,
    pub party: Option<PartyId>,
    pub holder: String,
    pub issued_on: jiff::civil::Date,
    pub expires_on: jiff::civil::Date,
}

/// A JSON body, or a 422 saying where it is wrong.
fn json_body<T: serde::de::DeserializeOwned>(body: &[u8]) -> Result<T, ProblemDetails> {
    serde_json::from_slice(body).map_err(|e| {
        ProblemDetails::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            format!("the request body is not what this route takes: {e}"),
        )
    })
}

/// `POST /api/v1/tokens` (administrator): a new token, answered once with 201.
pub async fn create_token(
    State(state): State<AppState>,
    who: Who,
    body: axum::body::Bytes,
) -> Result<(StatusCode, Json<TokenCreated>), ProblemDetails> {
    let asked: NewToken = json_body(&body)?;
    let Json(created) = ask(&state, who, move |service, who, progress| {
        service.create_token(
            who,
            steadfast_app::CreateToken {
                role: asked.role,
                party: asked.party,
                holder: asked.holder,
                expires_on: asked.expires_on,
                today: today(),
            },
            progress,
        )
    })
    .await?;
    Ok((
        StatusCode::CREATED,
        Json(TokenCreated {
            token: created.secret,
            id: created.issued.token,
            role: created.issued.role,
            party: created.issued.party,
            holder: created.issued.holder,
            issued_on: created.issued.issued_on,
            expires_on: created.issued.expires_on,
        }),
    ))
}

/// `POST /api/v1/tokens/{id}/revoke` (administrator): refused from now on.
pub async fn revoke_token(
    State(state): State<AppState>,
    who: Who,
    Path(token): Path<String>,
) -> Answer<steadfast_app::Recorded> {
    let token = TokenId::parse(&token)
        .map_err(|_| ProblemDetails::new(StatusCode::NOT_FOUND, "no such token"))?;
    ask(&state, who, move |service, who, progress| {
        service.revoke_token(who, token, today(), progress)
    })
    .await
}

/// The parameters of every report over a view of the ledger.
const VIEW: [&str; 4] = ["fx_policy", "as_of", "as_known_on", "dataset"];

/// `GET /api/v1/reports/gaps`: per donor, euros at each stage and the median days to
/// delivery and to confirmation (`fx_policy`, `as_of`, `as_known_on`, `dataset`).
pub async fn gaps(
    State(state): State<AppState>,
    who: Who,
    RawQuery(query): RawQuery,
) -> Answer<steadfast_app::views::GapsView> {
    let params = Params::parse(query.as_deref(), &VIEW)?;
    let view = report_query(&params)?;
    ask(&state, who, move |service, who, progress| {
        service.gaps(who, view, progress)
    })
    .await
}

/// `GET /api/v1/reports/anomalies`: every anomaly, contribution by contribution (`fx_policy`,
/// `as_of`, `as_known_on`, `dataset`).
pub async fn anomalies(
    State(state): State<AppState>,
    who: Who,
    RawQuery(query): RawQuery,
) -> Answer<steadfast_app::views::AnomaliesView> {
    let params = Params::parse(query.as_deref(), &VIEW)?;
    let view = report_query(&params)?;
    ask(&state, who, move |service, who, progress| {
        service.anomalies(who, view, progress)
    })
    .await
}

/// `GET /api/v1/reports/reconcile`: what a framework counts in `dataset` against `against`,
/// per donor and period (`by`: month, half-year, year (the default); `tolerance`: a fraction, 0.1 by
/// default; `framework`, `counting`, `fx_policy`, `as_of`, `as_known_on`).
pub async fn reconcile(
    State(state): State<AppState>,
    who: Who,
    RawQuery(query): RawQuery,
) -> Answer<steadfast_app::views::ReconcileView> {
    let params = Params::parse(
        query.as_deref(),
        &[
            "dataset",
            "against",
            "by",
            "tolerance",
            "framework",
            "counting",
            "fx_policy",
            "as_of",
            "as_known_on",
        ],
    )?;
    let required = |name: &str| -> Result<DatasetId, ProblemDetails> {
        params
            .one(name, id(DatasetId::parse))?
            .ok_or_else(|| ProblemDetails::invalid_field(name, "is required: a dataset id"))
    };
    let a = required("dataset")?;
    let b = required("against")?;
    let view = moments(&params)?;
    let query = steadfast_app::ReconcileQuery {
        framework: params.one("framework", id(FrameworkId::parse))?,
        counting: params.one("counting", id(Counting::parse))?,
        a,
        b,
        by: params
            .one("by", one_of(Granularity::parse, "month, half-year, year"))?
            .unwrap_or(Granularity::Year),
        tolerance: params
            .one("tolerance", |t: &str| {
                t.parse::<rust_decimal::Decimal>()
                    .map_err(|_| "is not a fraction such as 0.1".to_owned())
            })?
            .unwrap_or(rust_decimal::Decimal::new(1, 1)),
        view,
    };
    ask(&state, who, move |service, who, progress| {
        service.reconcile(who, query, progress)
    })
    .await
}

/// `GET /api/v1/frameworks`: every framework adopted, its rules as they stand and its
/// revisions.
pub async fn frameworks(State(state): State<AppState>, who: Who) -> Answer<Listed<FrameworkView>> {
    ask(&state, who, |service, who, progress| {
        service.frameworks(who, progress)
    })
    .await
}

/// `GET /api/v1/frameworks/{id}`: one framework.
pub async fn framework(
    State(state): State<AppState>,
    who: Who,
    Path(framework): Path<String>,
) -> Answer<Shown<FrameworkView>> {
    let id = FrameworkId::parse(&framework)
        .map_err(|_| ProblemDetails::new(StatusCode::NOT_FOUND, "no such framework"))?;
    ask(&state, who, move |service, who, progress| {
        service.framework(who, &id, progress)
    })
    .await
}

/// `GET /api/v1/datasets`: every dataset with its releases.
pub async fn datasets(State(state): State<AppState>, who: Who) -> Answer<Listed<DatasetView>> {
    ask(&state, who, |service, who, progress| {
        service.datasets(who, progress)
    })
    .await
}

/// `GET /api/v1/datasets/{id}`: one dataset.
pub async fn dataset(
    State(state): State<AppState>,
    who: Who,
    Path(dataset): Path<String>,
) -> Answer<Shown<DatasetView>> {
    let id = DatasetId::parse(&dataset)
        .map_err(|_| ProblemDetails::new(StatusCode::NOT_FOUND, "no such dataset"))?;
    ask(&state, who, move |service, who, progress| {
        service.dataset(who, &id, progress)
    })
    .await
}
