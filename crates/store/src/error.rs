//! The store's one error type.

/// What went wrong in the store, with what to do next where there is something to do.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database location is not one evgrid can open.
    #[error("{0}")]
    Location(String),
    #[error("cannot open the database at {path}: {error}. Check that the data directory exists and is writable (--data-dir)")]
    Open { path: String, error: sqlx::Error },
    #[error("cannot connect to the database at {url}: {error}. Check the URL, that PostgreSQL runs and accepts this user and password (--database, EVGRID_DATABASE_URL)")]
    Connect { url: String, error: String },
    #[error("database migration failed: {0}. The database may hold a newer evgrid's schema")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// The database was migrated by a newer evgrid.
    #[error("the database holds migration {0}, which this evgrid does not know: it was written by a newer evgrid; run that version or a newer one")]
    Newer(i64),
    #[error("{0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("{0}")]
    Unknown(String),
    /// The group commit this write was part of failed (nothing of it was stored).
    #[error("the batch this write was part of was not stored: {0}")]
    Batch(String),
    #[error("corrupt row in {table}: {message}")]
    Corrupt {
        table: &'static str,
        message: String,
    },
}

/// What an adapter answers when storing failed: a reference to something the store does not
/// know (an unknown connector, a conflicting id) is the sender's fault; anything else is the
/// platform's, and nothing is acknowledged.
impl From<StoreError> for evgrid_model::StorageError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unknown(m) | StoreError::Conflict(m) => Self::Invalid(m),
            other => Self::Failed(other.to_string()),
        }
    }
}
