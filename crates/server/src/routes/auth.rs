//! Accounts: drivers register; everyone logs in for a bearer token (and a session cookie for the
//! web pages), logs out, and asks who they are.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use evgrid_app::accounts::AccountError;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, SESSION_COOKIE};
use crate::{ApiError, AppState};

/// A username and password.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Credentials {
    /// 3-32 letters (any script), digits, `.`, `_` or `-`.
    #[schema(
        min_length = 3,
        max_length = 32,
        pattern = "^[A-Za-z0-9._-]{3,32}$",
        example = "driver_01"
    )]
    pub username: String,
    /// 10-128 characters.
    #[schema(min_length = 10, max_length = 128, example = "correct horse battery")]
    pub password: String,
}

/// A user.
#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub username: String,
    /// driver, operator, regulator or admin.
    pub role: String,
    /// The operator an operator user acts for.
    pub operator_id: Option<String>,
}

/// A new session.
#[derive(Debug, Serialize, ToSchema)]
pub struct Session {
    /// Send as `Authorization: Bearer TOKEN`.
    pub token: String,
    /// Seconds since 1970.
    pub expires_at: i64,
    pub user: Me,
}

fn me(u: &evgrid_model::User) -> Me {
    Me {
        username: u.username.clone(),
        role: u.role.name().to_owned(),
        operator_id: u.operator_id.as_ref().map(|o| o.as_str().to_owned()),
    }
}

fn body(
    b: Result<Json<Credentials>, axum::extract::rejection::JsonRejection>,
) -> Result<Credentials, ApiError> {
    b.map(|Json(c)| c)
        .map_err(|e| ApiError::from_json_rejection("the body", &e))
}

fn account_error(e: AccountError) -> ApiError {
    match e {
        AccountError::Rule(r) => ApiError::BadRequest(r.to_string()),
        AccountError::Taken(m) => ApiError::Conflict(m),
        AccountError::BadCredentials => ApiError::LoginRequired(e.to_string()),
        AccountError::RateLimited(s) | AccountError::AddressLimited(s) => {
            ApiError::TooManyRequests(e.to_string(), s)
        }
        AccountError::Busy(s) => ApiError::Unavailable(e.to_string(), s),
        AccountError::Hash(m) => ApiError::Internal(m),
        AccountError::Registry(r) => r.into(),
    }
}

/// Registers a driver account.
#[utoipa::path(post, path = "/api/v1/auth/register", tag = "auth",
    request_body = Credentials,
    responses(
        (status = 201, description = "Registered (log in next)", body = Me),
        (status = 400, description = "A bad body, username or password", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The username is taken", body = crate::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many registrations or failed logins from this address; see Retry-After", body = crate::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The server is busy checking passwords; see Retry-After", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn register(
    State(state): State<AppState>,
    client: crate::auth::ClientAddress,
    b: Result<Json<Credentials>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let c = body(b)?;
    let user = state
        .app
        .accounts()
        .register_driver(&c.username, &c.password, client.0)
        .await
        .map_err(account_error)?;
    state
        .app
        .accounts()
        .audit(
            &evgrid_app::accounts::Actor::User(&user.username),
            "user.register",
            &user.username,
            "driver",
        )
        .await?;
    Ok((StatusCode::CREATED, Json(me(&user))).into_response())
}

/// Logs in: a bearer token, and the same token as an HttpOnly session cookie for the web pages.
/// Five wrong passwords for a username within a minute lock it for the rest of the minute.
#[utoipa::path(post, path = "/api/v1/auth/login", tag = "auth",
    request_body = Credentials,
    responses(
        (status = 200, description = "Logged in", body = Session),
        (status = 401, description = "Wrong username or password", body = crate::Problem, content_type = "application/problem+json"),
        (status = 400, description = "A bad body or a malformed username", body = crate::Problem, content_type = "application/problem+json"),
        (status = 429, description = "Too many failed logins for this username or from this address; see Retry-After", body = crate::Problem, content_type = "application/problem+json"),
        (status = 503, description = "The server is busy checking passwords; see Retry-After", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn login(
    State(state): State<AppState>,
    client: crate::auth::ClientAddress,
    b: Result<Json<Credentials>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let c = body(b)?;
    let login = state
        .app
        .accounts()
        .login(&c.username, &c.password, client.0)
        .await
        .map_err(account_error)?;
    let cookie = format!(
        "{SESSION_COOKIE}={}; Path=/; HttpOnly; SameSite=Strict; Max-Age={}",
        login.token,
        evgrid_app::accounts::SESSION_SECONDS
    );
    Ok((
        [(header::SET_COOKIE, cookie)],
        Json(Session {
            token: login.token,
            expires_at: login.expires_at,
            user: me(&login.user),
        }),
    )
        .into_response())
}

/// Logs out: ends the session of the request's token (bearer or cookie) and clears the cookie.
#[utoipa::path(post, path = "/api/v1/auth/logout", tag = "auth",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 204, description = "Logged out"),
        (status = 401, description = "No live session", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn logout(State(state): State<AppState>, caller: Caller) -> Result<Response, ApiError> {
    caller.require(crate::auth::ANYONE)?;
    if let Some(token) = &caller.token {
        state.app.accounts().logout(token).await?;
    }
    Ok((
        StatusCode::NO_CONTENT,
        [(
            header::SET_COOKIE,
            format!("{SESSION_COOKIE}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"),
        )],
    )
        .into_response())
}

/// Who the request's token belongs to.
#[utoipa::path(get, path = "/api/v1/auth/me", tag = "auth",
    security(("bearer" = []), ("session" = [])),
    responses(
        (status = 200, description = "The user", body = Me),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn who(caller: Caller, p: crate::params::Params) -> Result<Json<Me>, ApiError> {
    p.finish()?;
    let user = caller
        .user
        .as_ref()
        .ok_or_else(|| ApiError::LoginRequired("not logged in: POST /api/v1/auth/login".into()))?;
    Ok(Json(me(user)))
}
