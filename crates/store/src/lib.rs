//! Warden's durable state. One [`Store`] is a connection pool to SQLite (the embedded default: a
//! file path) or PostgreSQL (a `postgres://` URL), named by a checked [`DatabaseUrl`]; opening it
//! runs the migrations in the
//! repository's `migrations/`. Each role keeps its records through its own module here, so the
//! whole schema, and what each table protects, is in one place.

pub mod aggregator;
pub mod challenger;
pub mod cursor;
mod encoding;
pub mod operator;
#[cfg(feature = "testing")]
pub mod testing;
pub mod transactions;
mod url;

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use encoding::EncodingError;
pub use url::{DatabaseUrl, DatabaseUrlError};

/// Which database a store runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgres",
        }
    }
}

/// Why the store failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("database location: {0}")]
    Location(#[from] DatabaseUrlError),
    #[error("creating the database directory {path}: {source}")]
    Directory {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("connecting to the {backend} database {location}: {source}")]
    Connect {
        backend: &'static str,
        location: String,
        #[source]
        source: sqlx::Error,
    },
    #[error("migrating the database: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("database query failed: {0}")]
    Query(#[from] sqlx::Error),
    #[error("the database holds a value Warden cannot read: {0}")]
    Corrupt(#[from] EncodingError),
}

/// A pool of connections to Warden's database, migrated.
#[derive(Debug, Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// The location without credentials, for logs and errors.
    display: String,
}

impl Store {
    /// Opens (creating it if needed) the database at `location` and brings its schema up to date.
    /// A SQLite file's directory is created too. A location that is neither a supported URL nor
    /// a path is refused ([`StoreError::Location`]).
    pub async fn open(location: &str) -> Result<Self, StoreError> {
        Self::connect(&DatabaseUrl::parse(location)?).await
    }

    /// [`Store::open`] for a location already checked.
    pub async fn connect(location: &DatabaseUrl) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let backend = location.backend();
        let shown = location.redacted();
        let url = match backend {
            Backend::Postgres => location.expose().to_string(),
            Backend::Sqlite => sqlite_url(location.expose())?,
        };
        let connect = |source| StoreError::Connect {
            backend: backend.name(),
            location: shown.clone(),
            source,
        };
        let options = AnyConnectOptions::from_str(&url).map_err(connect)?;
        let pool = AnyPoolOptions::new()
            // SQLite serialises writers anyway; a few connections serve concurrent reads.
            .max_connections(match backend {
                Backend::Sqlite => 4,
                Backend::Postgres => 8,
            })
            .acquire_timeout(Duration::from_secs(10))
            .after_connect(move |connection, _| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; FULL makes a committed
                        // slashing-protection record survive a power cut, not only a crash.
                        connection
                            .execute(
                                "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                                 PRAGMA busy_timeout = 10000;",
                            )
                            .await?;
                    }
                    Ok(())
                })
            })
            .connect_with(options)
            .await
            .map_err(connect)?;
        sqlx::migrate!("../../migrations").run(&pool).await?;
        tracing::debug!(backend = backend.name(), location = %shown, "database open");
        Ok(Self {
            pool,
            backend,
            display: shown,
        })
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The database's location with any password removed.
    pub fn location(&self) -> &str {
        &self.display
    }

    /// A round trip to the database, for health checks.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// Closes every connection (waiting for queries in flight).
    pub async fn close(&self) {
        self.pool.close().await;
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// A transaction that will write. On SQLite it starts as the writer (`BEGIN IMMEDIATE`,
    /// waiting out the busy timeout for the lock): a deferred `BEGIN` that reads first and writes
    /// later fails at once with "database is locked" (SQLITE_BUSY or SQLITE_BUSY_SNAPSHOT, which no
    /// busy timeout retries) whenever another connection is writing or wrote since its read.
    pub(crate) async fn begin_write(
        &self,
    ) -> Result<sqlx::Transaction<'static, sqlx::Any>, sqlx::Error> {
        match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await,
            Backend::Postgres => self.pool.begin().await,
        }
    }
}

fn sqlite_url(location: &str) -> Result<String, StoreError> {
    if location
        .get(.."sqlite:".len())
        .is_some_and(|prefix| prefix.eq_ignore_ascii_case("sqlite:"))
    {
        return Ok(location.to_string());
    }
    let path = Path::new(location);
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|source| StoreError::Directory {
            path: parent.display().to_string(),
            source,
        })?;
    }
    Ok(format!("sqlite://{location}?mode=rwc"))
}

/// Milliseconds since the Unix epoch, as stored in `*_ms` columns.
pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| i64::try_from(elapsed.as_millis()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
