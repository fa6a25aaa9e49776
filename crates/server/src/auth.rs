//! Who is calling: the user of a bearer token (`Authorization: Bearer …`) or of the session
//! cookie the web pages use, and the role checks every protected handler makes.

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use evgrid_model::{Role, User};

use crate::{ApiError, AppState};

/// The cookie holding a web session's token.
pub const SESSION_COOKIE: &str = "evgrid_session";

/// Every role: any logged-in user.
pub const ANYONE: &[Role] = &[Role::Driver, Role::Operator, Role::Regulator, Role::Admin];

/// Roles that see the city's figures.
pub const REGULATORS: &[Role] = &[Role::Regulator, Role::Admin];

/// The caller of a request: a user, or nobody.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: Option<User>,
    /// The token the request carried (for logout).
    pub token: Option<String>,
}

impl Caller {
    /// Writes a line to the audit log as this caller: who did `action` to `target`.
    pub async fn audit(
        &self,
        state: &crate::AppState,
        action: &str,
        target: &str,
        detail: &str,
    ) -> Result<(), crate::ApiError> {
        let name = self
            .user
            .as_ref()
            .map_or("anonymous", |u| u.username.as_str());
        state
            .app
            .accounts()
            .audit(
                &evgrid_app::accounts::Actor::User(name),
                action,
                target,
                detail,
            )
            .await?;
        Ok(())
    }
}

/// The token of a request: the bearer token, else the session cookie.
pub fn token_of(parts: &Parts) -> Option<String> {
    if let Some(auth) = parts.headers.get(header::AUTHORIZATION) {
        let auth = auth.to_str().ok()?;
        let (scheme, token) = auth.split_once(' ')?;
        return scheme
            .eq_ignore_ascii_case("bearer")
            .then(|| token.trim().to_owned());
    }
    parts
        .headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .find_map(|kv| {
            let (k, v) = kv.trim().split_once('=')?;
            (k == SESSION_COOKIE).then(|| v.to_owned())
        })
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let token = token_of(parts);
        let user = match &token {
            Some(t) => state.app.accounts().authenticate(t).await?,
            None => None,
        };
        Ok(Caller { user, token })
    }
}

impl Caller {
    /// The user, when logged in as one of `roles` or as a user of `operator`: 401 without a
    /// login, 403 otherwise.
    pub fn require_for_operator(
        &self,
        operator: &evgrid_model::OperatorId,
        roles: &[Role],
    ) -> Result<&User, ApiError> {
        let user = self.require(ANYONE)?;
        if roles.contains(&user.role)
            || (user.role == Role::Operator && user.operator_id.as_ref() == Some(operator))
        {
            Ok(user)
        } else {
            Err(ApiError::Forbidden(format!(
                "only {operator}'s own users{} may do this",
                roles.iter().map(|r| format!(", {r}s")).collect::<String>()
            )))
        }
    }

    /// The user, when logged in with one of `roles`: 401 without a (live) login, 403 for
    /// another role.
    pub fn require(&self, roles: &[Role]) -> Result<&User, ApiError> {
        let user = self.user.as_ref().ok_or_else(|| {
            ApiError::LoginRequired(if self.token.is_some() {
                "the session has ended or the token is not valid: log in again (POST /api/v1/auth/login)".into()
            } else {
                "log in first: POST /api/v1/auth/login, then send Authorization: Bearer TOKEN".into()
            })
        })?;
        if roles.contains(&user.role) {
            Ok(user)
        } else {
            Err(ApiError::Forbidden(format!(
                "a {} may not see this; it needs the role {}",
                user.role,
                roles
                    .iter()
                    .map(|r| r.name())
                    .collect::<Vec<_>>()
                    .join(" or ")
            )))
        }
    }
}

/// The client's address as the connection shows it (`None` where the router runs without a
/// listener, as in tests). Behind a load balancer it is the balancer's: the limits per address
/// then count the balancer's clients together.
#[derive(Debug, Clone, Copy)]
pub struct ClientAddress(pub Option<std::net::IpAddr>);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddress {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|info| info.0.ip()),
        ))
    }
}
