//! Failures as RFC 9457 problem details (`application/problem+json`): the status a
//! [`ServiceError`] maps to, a title, what went wrong, and each located problem under
//! `errors` as `{pointer, reason}` (with the file, line and column of an input's problem).

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use steadfast_app::{Problem, ServiceError};

/// A problem details answer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProblemDetails {
    /// A URI naming the kind of problem; `about:blank` means the status says it.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: &'static str,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

/// One located reason: a JSON Pointer to the field of the request (or of the input's row)
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldProblem {
    pub pointer: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
}

impl From<&Problem> for FieldProblem {
    fn from(p: &Problem) -> Self {
        FieldProblem {
            pointer: p
                .field
                .as_deref()
                .map_or_else(|| "/".to_owned(), |f| format!("/{}", f.replace('.', "/"))),
            reason: p.message.clone(),
            file: p.file.clone(),
            line: p.line,
            column: p.column,
        }
    }
}

impl ProblemDetails {
    /// A problem with no located reasons.
    pub fn new(status: StatusCode, detail: impl Into<String>) -> Self {
        ProblemDetails {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error"),
            status: status.as_u16(),
            detail: detail.into(),
            errors: Vec::new(),
        }
    }

    /// One field of the request is wrong.
    pub fn invalid_field(field: &str, reason: impl Into<String>) -> Self {
        let reason = reason.into();
        let mut problem = ProblemDetails::new(StatusCode::UNPROCESSABLE_ENTITY, reason.clone());
        problem.errors.push(FieldProblem {
            pointer: format!("/{field}"),
            reason,
            file: None,
            line: None,
            column: None,
        });
        problem
    }
}

impl From<&ServiceError> for ProblemDetails {
    fn from(e: &ServiceError) -> Self {
        let status = StatusCode::from_u16(e.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut problem = ProblemDetails::new(status, e.to_string());
        if status == StatusCode::INTERNAL_SERVER_ERROR {
            // 499 is no registered status; a corrupt ledger's detail stays (it is what an
            // operator must act on).
            problem.title = "Internal Server Error";
        }
        if let ServiceError::Invalid { problems, .. } = e {
            problem.errors = problems.iter().map(FieldProblem::from).collect();
        }
        problem
    }
}

impl IntoResponse for ProblemDetails {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let mut response = (status, axum::Json(self)).into_response();
        response.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/problem+json"),
        );
        if status == StatusCode::UNAUTHORIZED {
            response
                .headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        response
    }
}
