//! The one application error of the HTTP API and its answer: `application/problem+json`
//! (RFC 9457) with the status, a title, a detail that says what was wrong, and per-parameter
//! errors where there are several.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

/// One bad query parameter.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ParamError {
    /// The parameter's name.
    pub parameter: String,
    /// What was wrong with it.
    pub reason: String,
}

/// A problem answer (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: the status and title say what kind of problem it is.
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub title: String,
    pub status: u16,
    pub detail: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ParamError>,
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("{0}")]
    BadRequest(String),
    #[error("invalid query parameters")]
    InvalidParams(Vec<ParamError>),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    MethodNotAllowed(String),
    /// Credentials missing or wrong (answered with `WWW-Authenticate: Basic`).
    #[error("{0}")]
    Unauthorized(String),
    /// An API call needs a logged-in user (answered with `WWW-Authenticate: Bearer`).
    #[error("{0}")]
    LoginRequired(String),
    /// The logged-in user's role does not allow it.
    #[error("{0}")]
    Forbidden(String),
    /// Too many attempts; try again after this many seconds.
    #[error("{0}")]
    TooManyRequests(String, i64),
    /// The request's body is larger than the server takes.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// The server is too busy for it now; try again after this many seconds.
    #[error("{0}")]
    Unavailable(String, i64),
    /// The target is in a state that does not allow it now (e.g. a charger offline).
    #[error("{0}")]
    Conflict(String),
    /// A counterpart (a charger) refused or answered wrongly.
    #[error("{0}")]
    BadGateway(String),
    /// A counterpart did not answer in time.
    #[error("{0}")]
    GatewayTimeout(String),
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<evgrid_app::AppError> for ApiError {
    fn from(e: evgrid_app::AppError) -> Self {
        match e {
            evgrid_app::AppError::Invalid(m) => ApiError::BadRequest(m),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl ApiError {
    /// A JSON body that could not be taken: 413 when it is too large, otherwise 400 saying
    /// what in `what` was wrong.
    pub fn from_json_rejection(
        what: &str,
        rejection: &axum::extract::rejection::JsonRejection,
    ) -> Self {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge(format!("{what} is larger than the server takes"))
        } else {
            ApiError::BadRequest(format!("{what}: {}", rejection.body_text()))
        }
    }

    fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) | ApiError::InvalidParams(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Unauthorized(_) | ApiError::LoginRequired(_) => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::TooManyRequests(..) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Unavailable(..) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem body.
    pub fn problem(&self) -> Problem {
        let status = self.status();
        let (detail, errors) = match self {
            ApiError::InvalidParams(errors) => (
                errors
                    .iter()
                    .map(|e| format!("{}: {}", e.parameter, e.reason))
                    .collect::<Vec<_>>()
                    .join("; "),
                errors.clone(),
            ),
            // Internal details go to the log, not to the caller.
            ApiError::Internal(_) => (
                "the server failed to answer; see its log".to_owned(),
                Vec::new(),
            ),
            other => (other.to_string(), Vec::new()),
        };
        Problem {
            kind: "about:blank",
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail,
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(e) = &self {
            tracing::error!(error = %e, "request failed");
        }
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut response = (
            self.status(),
            [(header::CONTENT_TYPE, "application/problem+json")],
            body,
        )
            .into_response();
        match &self {
            ApiError::Unauthorized(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Basic realm=\"evgrid OCPP\""),
                );
            }
            ApiError::LoginRequired(_) => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    header::HeaderValue::from_static("Bearer realm=\"evgrid\""),
                );
            }
            ApiError::TooManyRequests(_, seconds) | ApiError::Unavailable(_, seconds) => {
                if let Ok(v) = header::HeaderValue::from_str(&seconds.to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            _ => {}
        }
        response
    }
}
