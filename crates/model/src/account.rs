//! People who use evgrid and what they may see: drivers (their own sessions and orders),
//! operators (bound to one OperatorID: their own stations and data quality), regulators (the
//! city's figures) and admins (everything).

use crate::OperatorId;

/// What a user may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    Driver,
    Operator,
    Regulator,
    Admin,
}

impl Role {
    /// The stored and API name.
    pub fn name(self) -> &'static str {
        match self {
            Role::Driver => "driver",
            Role::Operator => "operator",
            Role::Regulator => "regulator",
            Role::Admin => "admin",
        }
    }

    /// Parses the name back.
    pub fn from_name(name: &str) -> Option<Self> {
        Some(match name {
            "driver" => Role::Driver,
            "operator" => Role::Operator,
            "regulator" => Role::Regulator,
            "admin" => Role::Admin,
            _ => return None,
        })
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// A user as the rest of evgrid sees one (never the password).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub id: i64,
    pub username: String,
    pub role: Role,
    /// The operator an operator user acts for.
    pub operator_id: Option<OperatorId>,
}

/// Why an account cannot be made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccountRuleError {
    #[error("username must be 3 to 32 letters, digits, '.', '_' or '-'")]
    Username,
    #[error("password must be 10 to 128 characters")]
    Password,
    #[error("an operator user needs --operator-id; other roles take none")]
    OperatorBinding,
}

/// Checks a username: 3-32 letters (any script), digits, `.`, `_` or `-`.
pub fn check_username(name: &str) -> Result<(), AccountRuleError> {
    let n = name.chars().count();
    if (3..=32).contains(&n)
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-'))
    {
        Ok(())
    } else {
        Err(AccountRuleError::Username)
    }
}

/// Checks a password's length: 10-128 characters.
pub fn check_password(password: &str) -> Result<(), AccountRuleError> {
    if (10..=128).contains(&password.chars().count()) {
        Ok(())
    } else {
        Err(AccountRuleError::Password)
    }
}

/// An operator user is bound to an operator; nobody else is.
pub fn check_binding(role: Role, operator: Option<&OperatorId>) -> Result<(), AccountRuleError> {
    if (role == Role::Operator) == operator.is_some() {
        Ok(())
    } else {
        Err(AccountRuleError::OperatorBinding)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules() {
        assert!(check_username("driver_01").is_ok());
        assert!(check_username("赣州监管").is_ok());
        assert!(check_username("ab").is_err());
        assert!(check_username("a b c").is_err());
        assert!(check_password("short").is_err());
        assert!(check_password("long enough pass").is_ok());
        let op = OperatorId::new("EVGSYN001").unwrap();
        assert!(check_binding(Role::Operator, Some(&op)).is_ok());
        assert!(check_binding(Role::Operator, None).is_err());
        assert!(check_binding(Role::Regulator, Some(&op)).is_err());
        for r in [Role::Driver, Role::Operator, Role::Regulator, Role::Admin] {
            assert_eq!(Role::from_name(r.name()), Some(r));
        }
    }
}

/// One line of the audit log: who did what to which charger, operator or account, and when.
/// Written for every command sent to a charger and every change of a charger's registration,
/// security or password, of an operator's credentials, of an account or of an id token.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AuditEntry {
    /// Its number, in the order written (0 before it is stored).
    pub id: i64,
    /// When (Unix seconds).
    pub at: i64,
    /// Who: `user:NAME` for a logged-in user, `cli` for the command line (with the system
    /// user where known), `charger:ID` for a charger that changed something itself.
    pub actor: String,
    /// What, as `area.verb`, e.g. `charger.command`, `operator.credentials`, `user.add`.
    pub action: String,
    /// What it was done to: a charger's, an operator's, a user's or a token's id.
    pub target: String,
    /// The particulars (an OCPP action, a new status); never a secret.
    pub detail: String,
}

/// Which audit lines to read: newest first, before `before` (an id) when given.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    pub target: Option<String>,
    pub actor: Option<String>,
    /// Only lines written at or after this time (Unix seconds).
    pub since: Option<i64>,
    /// Only lines with an id below this (the next page).
    pub before: Option<i64>,
    /// At most this many.
    pub limit: i64,
}
