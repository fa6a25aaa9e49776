//! Id tokens as data: what chargers are told about a card or tag (accepted, blocked, expired,
//! unknown…, with its group), the tokens' management by the platform, operators and drivers,
//! and the sessions each token started.

use evgrid_model::time::unix_now;
use evgrid_model::{
    Authorization, Charger, ChargingSession, IdToken, OperatorId, TokenFilter, TokenKind,
    TokenStatus, Verdict,
};
use evgrid_store::{TokenCounts, TokensOf};

use super::Charging;
use crate::AppError;

/// Most tokens one page lists.
pub const TOKENS_PER_PAGE_MOST: i64 = 500;
/// Most rows a CSV import takes.
pub const IMPORT_ROWS_MOST: usize = 100_000;

/// Whose tokens a caller may see and change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenScope {
    /// Every token (admins, the CLI).
    Everything,
    /// The tokens an operator issued; new ones are issued by it.
    Operator(OperatorId),
    /// A driver's own tokens; new ones are theirs, the platform's, accepted.
    Owner(String),
}

impl TokenScope {
    fn covers(&self, t: &IdToken) -> bool {
        match self {
            TokenScope::Everything => true,
            TokenScope::Operator(o) => t.operator_id.as_ref() == Some(o),
            TokenScope::Owner(u) => t.owner.as_deref() == Some(u),
        }
    }

    /// The filter narrowed to what the scope covers.
    fn narrow(&self, mut filter: TokenFilter) -> TokenFilter {
        match self {
            TokenScope::Everything => {}
            TokenScope::Operator(o) => filter.operator_id = Some(o.clone()),
            TokenScope::Owner(u) => filter.owner = Some(u.clone()),
        }
        filter
    }
}

/// A token as asked for (by the CLI, the API or a CSV row): everything but the times.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewToken {
    pub id: String,
    pub kind: TokenKind,
    pub status: TokenStatus,
    pub expires_at: Option<i64>,
    pub group_id: Option<String>,
    pub owner: Option<String>,
    pub operator_id: Option<OperatorId>,
    pub label: Option<String>,
}

impl NewToken {
    /// An accepted token of `kind` without anything else.
    pub fn accepted(id: impl Into<String>, kind: TokenKind) -> Self {
        Self {
            id: id.into(),
            kind,
            status: TokenStatus::Accepted,
            expires_at: None,
            group_id: None,
            owner: None,
            operator_id: None,
            label: None,
        }
    }

    fn stamped(self, now: i64) -> IdToken {
        IdToken {
            id: self.id,
            kind: self.kind,
            status: self.status,
            expires_at: self.expires_at,
            group_id: self.group_id,
            owner: self.owner,
            operator_id: self.operator_id,
            label: self.label,
            created_at: now,
            updated_at: now,
        }
    }
}

/// A change to a token; fields left `None` stay as they are (`Some(None)` clears one).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TokenChange {
    pub status: Option<TokenStatus>,
    pub expires_at: Option<Option<i64>>,
    pub group_id: Option<Option<String>>,
    pub owner: Option<Option<String>>,
    pub label: Option<Option<String>>,
}

/// Why a token operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum TokenProblem {
    /// Bad input (the message says which field and why).
    #[error("{0}")]
    Invalid(String),
    /// No such token in the caller's scope.
    #[error("no token {0:?}")]
    NotFound(String),
    /// The token id is taken (by a token the caller may not see, or when not replacing).
    #[error("token {0:?} exists already")]
    Taken(String),
    /// The caller's scope does not allow this change.
    #[error("{0}")]
    Forbidden(String),
    #[error(transparent)]
    App(#[from] AppError),
}

impl From<evgrid_store::StoreError> for TokenProblem {
    fn from(e: evgrid_store::StoreError) -> Self {
        match e {
            evgrid_store::StoreError::Unknown(m) => TokenProblem::Invalid(m),
            other => TokenProblem::App(other.into()),
        }
    }
}

/// A page of sessions.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SessionPage {
    pub items: Vec<ChargingSession>,
    pub total: i64,
}

impl Charging {
    /// What a charger is told about a token: the stored token's verdict at this charger's
    /// operator, or for a token the platform does not know `Unknown` (or `Accepted` where the
    /// deployment lets any token charge).
    pub async fn authorize(
        &self,
        charger: &Charger,
        token: &str,
    ) -> Result<Authorization, AppError> {
        let now = unix_now();
        Ok(match self.store.token(token).await? {
            Some(t) => t.authorization(&charger.operator_id, now),
            None if self.accept_unknown_tokens => Authorization::plain(Verdict::Accepted),
            None => Authorization::unknown(),
        })
    }

    /// Makes a token for a driver's OCPP charge or reservation (the charger asks about it when
    /// it starts): accepted at `operator`'s chargers, for two days.
    pub(crate) async fn issue_central_token(
        &self,
        id_tag: &str,
        owner: &str,
        operator: &OperatorId,
        label: String,
    ) -> Result<(), AppError> {
        let now = unix_now();
        let token = NewToken {
            owner: Some(owner.to_owned()),
            operator_id: Some(operator.clone()),
            expires_at: Some(now + 2 * 86_400),
            label: Some(label),
            ..NewToken::accepted(id_tag, TokenKind::Central)
        };
        self.store.put_tokens(&[token.stamped(now)], true).await?;
        Ok(())
    }

    /// Adds a token in `scope` (an operator's is issued by it; a driver's is theirs, the
    /// platform's and accepted). With `replace`, an existing token in scope is replaced.
    pub async fn add_token(
        &self,
        scope: &TokenScope,
        mut new: NewToken,
        replace: bool,
    ) -> Result<(IdToken, bool), TokenProblem> {
        match scope {
            TokenScope::Everything => {}
            TokenScope::Operator(o) => new.operator_id = Some(o.clone()),
            TokenScope::Owner(u) => {
                if new.status != TokenStatus::Accepted || new.group_id.is_some() {
                    return Err(TokenProblem::Forbidden(
                        "a driver registers an accepted card without a group".into(),
                    ));
                }
                new.owner = Some(u.clone());
                new.operator_id = None;
            }
        }
        let token = new.stamped(unix_now());
        token
            .check()
            .map_err(|e| TokenProblem::Invalid(e.to_string()))?;
        if let Some(existing) = self.store.token(&token.id).await? {
            if !replace || !scope.covers(&existing) {
                return Err(TokenProblem::Taken(token.id));
            }
        }
        let counts = self
            .store
            .put_tokens(std::slice::from_ref(&token), replace)
            .await?;
        if counts.kept > 0 {
            return Err(TokenProblem::Taken(token.id));
        }
        let stored = self
            .store
            .token(&token.id)
            .await?
            .ok_or_else(|| TokenProblem::NotFound(token.id.clone()))?;
        Ok((stored, counts.inserted == 1))
    }

    /// A token in `scope`.
    pub async fn token(&self, scope: &TokenScope, id: &str) -> Result<IdToken, TokenProblem> {
        self.store
            .token(id)
            .await?
            .filter(|t| scope.covers(t))
            .ok_or_else(|| TokenProblem::NotFound(id.to_owned()))
    }

    /// A page of the tokens in `scope` that pass `filter`, and how many pass it.
    pub async fn tokens(
        &self,
        scope: &TokenScope,
        filter: TokenFilter,
        offset: i64,
        limit: i64,
    ) -> Result<(Vec<IdToken>, i64), TokenProblem> {
        Ok(self
            .store
            .tokens(
                &scope.narrow(filter),
                offset.max(0),
                limit.clamp(1, TOKENS_PER_PAGE_MOST),
            )
            .await?)
    }

    /// Changes a token in `scope`. A driver may only block their own card (a lost one).
    pub async fn change_token(
        &self,
        scope: &TokenScope,
        id: &str,
        change: TokenChange,
    ) -> Result<IdToken, TokenProblem> {
        let mut t = self.token(scope, id).await?;
        if let TokenScope::Owner(_) = scope {
            let only_blocking = change
                == TokenChange {
                    status: Some(TokenStatus::Blocked),
                    ..TokenChange::default()
                };
            if !only_blocking {
                return Err(TokenProblem::Forbidden(
                    "a driver may block their card; its operator or the platform changes the rest"
                        .into(),
                ));
            }
        }
        if let Some(s) = change.status {
            t.status = s;
        }
        if let Some(e) = change.expires_at {
            t.expires_at = e;
        }
        if let Some(g) = change.group_id {
            t.group_id = g;
        }
        if let Some(o) = change.owner {
            t.owner = o;
        }
        if let Some(l) = change.label {
            t.label = l;
        }
        t.updated_at = unix_now();
        t.check()
            .map_err(|e| TokenProblem::Invalid(e.to_string()))?;
        self.store
            .put_tokens(std::slice::from_ref(&t), true)
            .await?;
        Ok(t)
    }

    /// Removes a token in `scope` (its sessions stay in the history).
    pub async fn remove_token(&self, scope: &TokenScope, id: &str) -> Result<(), TokenProblem> {
        self.token(scope, id).await?;
        self.store.remove_token(id).await?;
        Ok(())
    }

    /// Stores many tokens in one transaction (a CSV import): all or nothing. Ids already in
    /// the store are kept, or replaced with `replace` (only those in `scope`).
    pub async fn import_tokens(
        &self,
        scope: &TokenScope,
        new: Vec<NewToken>,
        replace: bool,
    ) -> Result<TokenCounts, TokenProblem> {
        let now = unix_now();
        let mut tokens = Vec::with_capacity(new.len());
        let mut seen = std::collections::HashSet::new();
        for (i, mut n) in new.into_iter().enumerate() {
            if let TokenScope::Operator(o) = scope {
                n.operator_id = Some(o.clone());
            }
            let t = n.stamped(now);
            t.check()
                .map_err(|e| TokenProblem::Invalid(format!("row {}: {e}", i + 1)))?;
            if !seen.insert(t.id.clone()) {
                return Err(TokenProblem::Invalid(format!(
                    "row {}: token {:?} appears twice",
                    i + 1,
                    t.id
                )));
            }
            tokens.push(t);
        }
        if replace && *scope != TokenScope::Everything {
            for t in &tokens {
                if let Some(existing) = self.store.token(&t.id).await? {
                    if !scope.covers(&existing) {
                        return Err(TokenProblem::Taken(t.id.clone()));
                    }
                }
            }
        }
        Ok(self.store.put_tokens(&tokens, replace).await?)
    }

    /// The entries of `charger`'s local authorization list: every token its operator or the
    /// platform issued (no central tags), with what the charger may decide by each now; refused
    /// when more than `most` would go (a charger's list holds a bounded number).
    pub async fn local_list(
        &self,
        charger: &Charger,
        most: i64,
    ) -> Result<Vec<evgrid_ocpp::commands::LocalEntry>, TokenProblem> {
        let filter = TokenFilter {
            usable_at: Some(charger.operator_id.clone()),
            ..TokenFilter::default()
        };
        let (tokens, total) = self.store.tokens(&filter, 0, most.max(0) + 1).await?;
        if total > most {
            return Err(TokenProblem::Invalid(format!(
                "{total} tokens are valid at charger {}, more than max_entries ({most}) of one list",
                charger.id
            )));
        }
        let now = unix_now();
        Ok(tokens
            .into_iter()
            .map(|t| evgrid_ocpp::commands::LocalEntry {
                authorization: t.authorization(&charger.operator_id, now),
                token: t.id,
                kind: t.kind,
            })
            .collect())
    }

    /// A page of the sessions started by one token (in `scope`) or, with `token` `None`, by
    /// any token of the driver `owner`; newest first.
    pub async fn token_sessions(
        &self,
        scope: &TokenScope,
        token: Option<&str>,
        offset: i64,
        limit: i64,
    ) -> Result<SessionPage, TokenProblem> {
        let of = match (token, scope) {
            (Some(id), _) => {
                self.token(scope, id).await?;
                TokensOf::Token(id)
            }
            (None, TokenScope::Owner(u)) => TokensOf::Owner(u),
            (None, _) => {
                return Err(TokenProblem::Invalid(
                    "name the token whose sessions to list".into(),
                ))
            }
        };
        let (keys, total) = self
            .store
            .token_sessions(of, offset.max(0), limit.clamp(1, TOKENS_PER_PAGE_MOST))
            .await?;
        let mut items = self.store.charging_sessions(&keys).await?;
        // In the order of the keys (newest first).
        items.sort_by_key(|s| {
            keys.iter()
                .position(|(o, r)| *o == s.operator_id && *r == s.session_ref)
        });
        Ok(SessionPage { items, total })
    }
}

/// A token's expiry as typed: RFC 3339 (`2027-12-31T23:59:59+08:00`) or a date
/// (`2027-12-31`: valid through that day, China time).
pub fn parse_expiry(text: &str) -> Option<i64> {
    let text = text.trim();
    evgrid_model::time::parse_rfc3339(text).or_else(|| {
        let valid_date = text.len() == 10
            && text.bytes().enumerate().all(|(i, b)| {
                if i == 4 || i == 7 {
                    b == b'-'
                } else {
                    b.is_ascii_digit()
                }
            });
        valid_date
            .then(|| evgrid_model::time::parse_rfc3339(&format!("{text}T23:59:59+08:00")))
            .flatten()
    })
}

/// Reads tokens from CSV (UTF-8, a BOM allowed, as Excel writes it): a header row naming the
/// columns `token` (required), `kind`, `status`, `expires_at`, `group_id`, `owner`,
/// `operator_id`, `label` in any order; empty cells mean the default (an accepted ISO 14443
/// card without expiry, group, owner or operator). Every mistake is named by row and column.
pub fn parse_token_csv(text: &str) -> Result<Vec<NewToken>, TokenProblem> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .flexible(false)
        .from_reader(text.as_bytes());
    let invalid = |m: String| TokenProblem::Invalid(m);
    let headers: Vec<String> = reader
        .headers()
        .map_err(|e| invalid(format!("the header row: {e}")))?
        .iter()
        .map(str::to_ascii_lowercase)
        .collect();
    const KNOWN: [&str; 8] = [
        "token",
        "kind",
        "status",
        "expires_at",
        "group_id",
        "owner",
        "operator_id",
        "label",
    ];
    if let Some(h) = headers.iter().find(|h| !KNOWN.contains(&h.as_str())) {
        return Err(invalid(format!(
            "unknown column {h:?}; the columns are {}",
            KNOWN.join(", ")
        )));
    }
    let column = |name: &str| headers.iter().position(|h| h == name);
    let Some(token_column) = column("token") else {
        return Err(invalid("the header row has no `token` column".into()));
    };
    let mut tokens = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let row = i + 2;
        let record = record.map_err(|e| invalid(format!("row {row}: {e}")))?;
        if tokens.len() >= IMPORT_ROWS_MOST {
            return Err(invalid(format!(
                "more than {IMPORT_ROWS_MOST} rows; split the file"
            )));
        }
        let cell = |name: &str| {
            column(name)
                .and_then(|c| record.get(c))
                .filter(|v| !v.is_empty())
        };
        let bad = |name: &str, v: &str| invalid(format!("row {row}, {name}: {v:?} is not valid"));
        let mut t = NewToken::accepted(
            record.get(token_column).unwrap_or_default(),
            TokenKind::Iso14443,
        );
        if let Some(v) = cell("kind") {
            t.kind = TokenKind::from_name(v).ok_or_else(|| bad("kind", v))?;
        }
        if let Some(v) = cell("status") {
            t.status = TokenStatus::from_name(v).ok_or_else(|| bad("status", v))?;
        }
        if let Some(v) = cell("expires_at") {
            t.expires_at = Some(parse_expiry(v).ok_or_else(|| bad("expires_at", v))?);
        }
        if let Some(v) = cell("operator_id") {
            t.operator_id = Some(OperatorId::new(v).map_err(|_| bad("operator_id", v))?);
        }
        t.group_id = cell("group_id").map(str::to_owned);
        t.owner = cell("owner").map(str::to_owned);
        t.label = cell("label").map(str::to_owned);
        tokens.push(t);
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_csv_is_read_with_defaults_and_its_mistakes_named() {
        let text = "\u{feff}Token,status,expires_at,label,group_id\n\
                    04A1B2C3,,2027-12-31,\"Wang, Li\",\n\
                    04FFEE01,blocked,2027-01-01T00:00:00Z,,FLEET\n";
        let tokens = parse_token_csv(text).unwrap();
        assert_eq!(tokens.len(), 2);
        assert_eq!(tokens[0].status, TokenStatus::Accepted);
        assert_eq!(tokens[0].kind, TokenKind::Iso14443);
        assert_eq!(
            tokens[0].expires_at,
            evgrid_model::time::parse_rfc3339("2027-12-31T15:59:59Z")
        );
        assert_eq!(tokens[0].label.as_deref(), Some("Wang, Li"));
        assert_eq!(tokens[1].status, TokenStatus::Blocked);
        assert_eq!(tokens[1].group_id.as_deref(), Some("FLEET"));
        for (bad, says) in [
            ("token,colour\nA,red\n", "unknown column \"colour\""),
            ("label\nA\n", "no `token` column"),
            ("token,status\nA,lost\n", "row 2, status: \"lost\""),
            ("token,expires_at\nA,2027-13-45x\n", "row 2, expires_at"),
            ("token,kind\nA,card\n", "row 2, kind"),
            ("token,label\nA\n", "row 2"),
        ] {
            let e = parse_token_csv(bad).unwrap_err().to_string();
            assert!(e.contains(says), "{bad:?}: {e}");
        }
    }
}
