//! Id tokens (RFID cards, tags) that authorize charges at OCPP chargers. Admins manage every
//! token and regulators read them; an operator's users manage the tokens their operator issued
//! (valid at its chargers only); a driver registers their own cards, blocks a lost one and sees
//! the charges their cards started.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use evgrid_app::charging::tokens::{NewToken, TokenChange, TokenProblem, TokenScope};
use evgrid_model::{OperatorId, Role, TokenFilter, TokenKind, TokenStatus, User};
use serde::{Deserialize, Deserializer, Serialize};
use utoipa::ToSchema;

use crate::auth::{Caller, ANYONE};
use crate::params::Params;
use crate::{ApiError, AppState};

/// Tokens a page lists unless `page_size` says otherwise.
const DEFAULT_PAGE_SIZE: i64 = 100;

/// What a caller may see and do with tokens: the scope, and whether it may change them.
fn scope_of(user: &User) -> Result<(TokenScope, bool), ApiError> {
    Ok(match user.role {
        Role::Admin => (TokenScope::Everything, true),
        Role::Regulator => (TokenScope::Everything, false),
        Role::Operator => match &user.operator_id {
            Some(o) => (TokenScope::Operator(o.clone()), true),
            None => {
                return Err(ApiError::Forbidden(
                    "this operator account names no operator".into(),
                ))
            }
        },
        Role::Driver => (TokenScope::Owner(user.username.clone()), true),
    })
}

fn writable(caller: &Caller) -> Result<TokenScope, ApiError> {
    let (scope, may_change) = scope_of(caller.require(ANYONE)?)?;
    if !may_change {
        return Err(ApiError::Forbidden(
            "a regulator reads tokens; admins and operators change them".into(),
        ));
    }
    Ok(scope)
}

pub(crate) fn token_error(e: TokenProblem) -> ApiError {
    match e {
        TokenProblem::Invalid(m) => ApiError::BadRequest(m),
        TokenProblem::NotFound(id) => ApiError::NotFound(format!("no token {id:?} of yours")),
        TokenProblem::Taken(id) => ApiError::Conflict(format!("token {id:?} exists already")),
        TokenProblem::Forbidden(m) => ApiError::Forbidden(m),
        TokenProblem::App(e) => e.into(),
    }
}

fn kind_of(text: &str) -> Result<TokenKind, ApiError> {
    TokenKind::from_name(text).ok_or_else(|| {
        let names: Vec<_> = TokenKind::ALL.iter().map(|k| k.as_str()).collect();
        ApiError::BadRequest(format!("kind {text:?}: one of {}", names.join(", ")))
    })
}

fn status_of(text: &str) -> Result<TokenStatus, ApiError> {
    TokenStatus::from_name(text).ok_or_else(|| {
        ApiError::BadRequest(format!(
            "status {text:?}: accepted, blocked, expired or invalid"
        ))
    })
}

/// A field that may be left out (no change) or be `null` (cleared).
fn present<'de, D: Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<Option<T>>, D::Error> {
    Option::<T>::deserialize(d).map(Some)
}

/// A token to add.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenBody {
    /// What the charger reads (a card's UID): 1 to 36 printable ASCII characters, no spaces.
    #[schema(example = "04A2B3C4D5E6F7")]
    pub id_token: String,
    /// iso14443 (default), iso15693, emaid, central, key_code, local or mac_address.
    pub kind: Option<String>,
    /// accepted (default), blocked, expired or invalid. Drivers register accepted cards.
    pub status: Option<String>,
    /// Valid until, seconds since 1970.
    pub expires_at: Option<i64>,
    /// Its group (OCPP parentIdTag / groupIdToken). Not for drivers.
    pub group_id: Option<String>,
    /// The driver account it belongs to (admins and operators; a driver's card is theirs).
    pub owner: Option<String>,
    /// The issuing operator (admins only; an operator's users issue for their operator; none:
    /// the platform's token, valid at every charger).
    pub operator_id: Option<String>,
    /// A note (the name on the card).
    pub label: Option<String>,
    /// Replace a token with the same id (one in your scope).
    #[serde(default)]
    pub replace: bool,
}

/// A change to a token: fields left out stay, `null` clears one. A driver may only set
/// `status` to `blocked`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenChangeBody {
    pub status: Option<String>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub expires_at: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub group_id: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub owner: Option<Option<String>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<String>)]
    pub label: Option<Option<String>>,
}

/// A token (documentation of the answer).
#[derive(Serialize, ToSchema)]
pub struct TokenDoc {
    pub id: String,
    pub kind: String,
    pub status: String,
    pub expires_at: Option<i64>,
    pub group_id: Option<String>,
    pub owner: Option<String>,
    pub operator_id: Option<String>,
    pub label: Option<String>,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A page of tokens (documentation of the answer).
#[derive(Serialize, ToSchema)]
pub struct TokenPageDoc {
    pub items: Vec<TokenDoc>,
    pub total: i64,
    pub page: i64,
    pub page_size: i64,
}

/// The tokens you may see (admins and regulators: all; operators: their operator's; drivers:
/// their own), by id, a page at a time.
#[utoipa::path(get, path = "/api/v1/tokens", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(
        ("status" = Option<String>, Query, pattern = "^(accepted|blocked|expired|invalid)$", description = "accepted, blocked, expired or invalid"),
        ("owner" = Option<String>, Query, min_length = 1, description = "Only this account's"),
        ("operator_id" = Option<String>, Query, pattern = "^[0-9A-Z]{9}$", description = "Only this operator's"),
        ("page" = Option<i64>, Query, minimum = 1, maximum = 1000000, description = "From 1"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 500, description = "1 to 500, default 100"),
    ),
    responses(
        (status = 200, description = "A page of tokens", body = TokenPageDoc),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "An operator account without operator", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn list(
    State(state): State<AppState>,
    caller: Caller,
    mut p: Params,
) -> Result<Response, ApiError> {
    let (scope, _) = scope_of(caller.require(ANYONE)?)?;
    let status = p.text(&["status"]);
    let status = match status.as_deref().map(TokenStatus::from_name) {
        Some(None) => {
            p.error("status", "accepted, blocked, expired or invalid");
            None
        }
        Some(s) => s,
        None => None,
    };
    let owner = p.text(&["owner"]);
    let operator = p.text(&["operator_id"]);
    let operator_id = match operator.as_deref().map(OperatorId::new) {
        Some(Err(e)) => {
            p.error("operator_id", e.to_string());
            None
        }
        Some(Ok(o)) => Some(o),
        None => None,
    };
    let (page, page_size) = p.page(
        DEFAULT_PAGE_SIZE,
        evgrid_app::charging::tokens::TOKENS_PER_PAGE_MOST,
    );
    p.finish()?;
    let filter = TokenFilter {
        operator_id,
        owner,
        status,
        usable_at: None,
    };
    let (items, total) = state
        .app
        .charging()
        .tokens(&scope, filter, (page - 1) * page_size, page_size)
        .await
        .map_err(token_error)?;
    Ok(Json(serde_json::json!({
        "items": items, "total": total, "page": page, "page_size": page_size
    }))
    .into_response())
}

/// Adds a token: 201 when new, 200 when it replaced one (`replace`). A driver's card is theirs,
/// the platform's (valid at every charger) and accepted; an operator's token is issued by its
/// operator and valid at its chargers only.
#[utoipa::path(post, path = "/api/v1/tokens", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    request_body = TokenBody,
    responses(
        (status = 201, description = "Added", body = TokenDoc),
        (status = 200, description = "Replaced", body = TokenDoc),
        (status = 400, description = "A bad body (the field and why)", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed in your role", body = crate::Problem, content_type = "application/problem+json"),
        (status = 409, description = "The token exists already", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn add(
    State(state): State<AppState>,
    caller: Caller,
    body: Result<Json<TokenBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let scope = writable(&caller)?;
    let Json(b) = body.map_err(|e| ApiError::from_json_rejection("the body", &e))?;
    if b.operator_id.is_some() && scope != TokenScope::Everything {
        return Err(ApiError::Forbidden(
            "only admins name the issuing operator; yours is taken".into(),
        ));
    }
    if b.owner.is_some() && matches!(scope, TokenScope::Owner(_)) {
        return Err(ApiError::Forbidden("a driver's card is their own".into()));
    }
    let new = NewToken {
        id: b.id_token,
        kind: b
            .kind
            .as_deref()
            .map(kind_of)
            .transpose()?
            .unwrap_or(TokenKind::Iso14443),
        status: b
            .status
            .as_deref()
            .map(status_of)
            .transpose()?
            .unwrap_or(TokenStatus::Accepted),
        expires_at: b.expires_at,
        group_id: b.group_id,
        owner: b.owner,
        operator_id: b
            .operator_id
            .as_deref()
            .map(OperatorId::new)
            .transpose()
            .map_err(|e| ApiError::BadRequest(format!("operator_id: {e}")))?,
        label: b.label,
    };
    let (token, created) = state
        .app
        .charging()
        .add_token(&scope, new, b.replace)
        .await
        .map_err(token_error)?;
    caller
        .audit(
            &state,
            if created {
                "token.add"
            } else {
                "token.replace"
            },
            &token.id,
            token.status.as_str(),
        )
        .await?;
    let code = if created {
        StatusCode::CREATED
    } else {
        StatusCode::OK
    };
    Ok((code, Json(token)).into_response())
}

/// One token you may see.
#[utoipa::path(get, path = "/api/v1/tokens/{id}", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 200, description = "The token", body = TokenDoc),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such token of yours", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn get(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    let (scope, _) = scope_of(caller.require(ANYONE)?)?;
    p.finish()?;
    let token = state
        .app
        .charging()
        .token(&scope, &id)
        .await
        .map_err(token_error)?;
    Ok(Json(token).into_response())
}

/// Changes a token (block a lost card: `{"status": "blocked"}`). Chargers are told the new
/// status at their next question.
#[utoipa::path(patch, path = "/api/v1/tokens/{id}", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The token's id")),
    request_body = TokenChangeBody,
    responses(
        (status = 200, description = "Changed", body = TokenDoc),
        (status = 400, description = "A bad body", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed in your role", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such token of yours", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn change(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    body: Result<Json<TokenChangeBody>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let scope = writable(&caller)?;
    let Json(b) = body.map_err(|e| ApiError::from_json_rejection("the body", &e))?;
    let change = TokenChange {
        status: b.status.as_deref().map(status_of).transpose()?,
        expires_at: b.expires_at,
        group_id: b.group_id,
        owner: b.owner,
        label: b.label,
    };
    let token = state
        .app
        .charging()
        .change_token(&scope, &id, change)
        .await
        .map_err(token_error)?;
    caller
        .audit(&state, "token.change", &id, token.status.as_str())
        .await?;
    Ok(Json(token).into_response())
}

/// Removes a token (the charges it started stay in the history).
#[utoipa::path(delete, path = "/api/v1/tokens/{id}", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(("id" = String, Path, description = "The token's id")),
    responses(
        (status = 204, description = "Removed"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not allowed in your role", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such token of yours", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn remove(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let scope = writable(&caller)?;
    state
        .app
        .charging()
        .remove_token(&scope, &id)
        .await
        .map_err(token_error)?;
    caller.audit(&state, "token.remove", &id, "").await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The charging sessions a token started at OCPP chargers (state, energy, money, order),
/// newest first.
#[utoipa::path(get, path = "/api/v1/tokens/{id}/sessions", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(
        ("id" = String, Path, description = "The token's id"),
        ("page" = Option<i64>, Query, minimum = 1, maximum = 1000000, description = "From 1"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 500, description = "1 to 500, default 100"),
    ),
    responses(
        (status = 200, description = "A page of sessions", body = Object),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such token of yours", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn sessions(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    p: Params,
) -> Result<Response, ApiError> {
    let (scope, _) = scope_of(caller.require(ANYONE)?)?;
    page_of_sessions(&state, &scope, Some(&id), p).await
}

/// The charging sessions your cards started at OCPP chargers, newest first (the charges you
/// started in the app are at `/api/v1/me/sessions`).
#[utoipa::path(get, path = "/api/v1/me/token-sessions", tag = "charging",
    security(("bearer" = []), ("session" = [])),
    params(
        ("page" = Option<i64>, Query, minimum = 1, maximum = 1000000, description = "From 1"),
        ("page_size" = Option<i64>, Query, minimum = 1, maximum = 500, description = "1 to 500, default 100"),
    ),
    responses(
        (status = 200, description = "A page of sessions", body = Object),
        (status = 400, description = "A bad or unknown query parameter", body = crate::Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not logged in", body = crate::Problem, content_type = "application/problem+json"),
    ))]
pub async fn mine(
    State(state): State<AppState>,
    caller: Caller,
    p: Params,
) -> Result<Response, ApiError> {
    let user = caller.require(ANYONE)?;
    let scope = TokenScope::Owner(user.username.clone());
    page_of_sessions(&state, &scope, None, p).await
}

async fn page_of_sessions(
    state: &AppState,
    scope: &TokenScope,
    token: Option<&str>,
    mut p: Params,
) -> Result<Response, ApiError> {
    let (page, page_size) = p.page(
        DEFAULT_PAGE_SIZE,
        evgrid_app::charging::tokens::TOKENS_PER_PAGE_MOST,
    );
    p.finish()?;
    let sessions = state
        .app
        .charging()
        .token_sessions(scope, token, (page - 1) * page_size, page_size)
        .await
        .map_err(token_error)?;
    Ok(Json(serde_json::json!({
        "items": sessions.items, "total": sessions.total, "page": page, "page_size": page_size
    }))
    .into_response())
}
