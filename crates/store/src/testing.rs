//! Throw-away databases for tests. SQLite lives in a temporary directory; PostgreSQL gets a fresh
//! database on the server named by [`POSTGRES_URL_ENV`], dropped when the test ends.
//!
//! Without that variable, or when the server does not answer, PostgreSQL tests are skipped —
//! loudly: a line goes to stderr and to the file named by [`SKIP_LOG_ENV`], which `make test`
//! prints at the end. With [`REQUIRE_POSTGRES_ENV`] set (as CI sets it) they fail instead.

#![allow(clippy::panic, clippy::expect_used)]

use std::io::Write;

use rand::Rng;
use sqlx::{Connection, Executor};

use crate::{Backend, Store};

/// The PostgreSQL server tests create their databases on, e.g.
/// `postgres://postgres@127.0.0.1:5432/test`.
pub const POSTGRES_URL_ENV: &str = "WARDEN_TEST_POSTGRES_URL";
/// Set to `1` to make an unreachable server fail the tests instead of skipping them.
pub const REQUIRE_POSTGRES_ENV: &str = "WARDEN_REQUIRE_POSTGRES";
/// A file each skipped PostgreSQL test appends a line to.
pub const SKIP_LOG_ENV: &str = "WARDEN_SKIP_LOG";

/// Declares, for each named `async fn(&TestDatabase)` in scope, a `#[tokio::test]` on SQLite
/// (in module `sqlite`) and one on PostgreSQL (in module `postgres`, skipped as described above
/// when no server is reachable).
#[macro_export]
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let db = $crate::testing::TestDatabase::sqlite();
                    super::$name(&db).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let test = concat!(module_path!(), "::", stringify!($name));
                    if let Some(db) = $crate::testing::TestDatabase::postgres(test).await {
                        super::$name(&db).await;
                    }
                }
            )*
        }
    };
}

/// A database that exists for one test.
#[derive(Debug)]
pub struct TestDatabase {
    url: String,
    backend: Backend,
    _dir: Option<tempfile::TempDir>,
    /// (server URL, database name) to drop at the end.
    postgres: Option<(String, String)>,
}

impl TestDatabase {
    /// A SQLite file in a fresh temporary directory.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().expect("creating a temporary directory");
        let url = dir.path().join("warden.db").display().to_string();
        Self {
            url,
            backend: Backend::Sqlite,
            _dir: Some(dir),
            postgres: None,
        }
    }

    /// A fresh PostgreSQL database, or `None` when no server is configured or reachable (the
    /// skip is reported; see the module documentation). `test` names the test for that report.
    pub async fn postgres(test: &str) -> Option<Self> {
        let server = match std::env::var(POSTGRES_URL_ENV) {
            Ok(url) if !url.is_empty() => url,
            _ => return skip(test, &format!("{POSTGRES_URL_ENV} is not set")),
        };
        sqlx::any::install_default_drivers();
        let mut admin = match sqlx::AnyConnection::connect(&server).await {
            Ok(connection) => connection,
            Err(error) => return skip(test, &format!("{server} is unreachable: {error}")),
        };
        let name = format!("warden_test_{:016x}", rand::thread_rng().r#gen::<u64>());
        admin
            .execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .unwrap_or_else(|error| panic!("creating database {name} on {server}: {error}"));
        let _ = admin.close().await;
        let url = with_database(&server, &name);
        Some(Self {
            url,
            backend: Backend::Postgres,
            _dir: None,
            postgres: Some((server, name)),
        })
    }

    /// A database of `backend`, or `None` for a skipped PostgreSQL.
    pub async fn of(backend: Backend, test: &str) -> Option<Self> {
        match backend {
            Backend::Sqlite => Some(Self::sqlite()),
            Backend::Postgres => Self::postgres(test).await,
        }
    }

    /// The URL or path to configure a service with.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Opens (and migrates) the database.
    pub async fn open(&self) -> Store {
        Store::open(&self.url)
            .await
            .unwrap_or_else(|error| panic!("opening test database {}: {error}", self.url))
    }

    /// Runs `sql` on the database from a connection of its own: to break it under a running
    /// service (drop a table it writes), a database fault no configuration can produce.
    pub async fn execute(&self, sql: &str) {
        let store = self.open().await;
        sqlx::raw_sql(sql)
            .execute(store.pool())
            .await
            .unwrap_or_else(|error| panic!("{sql} on {}: {error}", self.url));
        store.close().await;
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        let Some((server, name)) = self.postgres.take() else {
            return;
        };
        // Drop runs inside the test's runtime, which cannot be blocked on: drop the database
        // from a thread with a runtime of its own.
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .ok()?;
            runtime.block_on(async {
                let mut admin = sqlx::AnyConnection::connect(&server).await.ok()?;
                admin
                    .execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str())
                    .await
                    .ok()
            })
        })
        .join();
        if !matches!(dropped, Ok(Some(_))) {
            eprintln!("warning: could not drop a test database; remove warden_test_* by hand");
        }
    }
}

fn skip(test: &str, why: &str) -> Option<TestDatabase> {
    if std::env::var(REQUIRE_POSTGRES_ENV).is_ok_and(|v| !v.is_empty() && v != "0") {
        panic!("{test}: PostgreSQL is required ({REQUIRE_POSTGRES_ENV} is set) but {why}");
    }
    let line = format!("SKIPPED {test} on PostgreSQL: {why}");
    eprintln!("{line}");
    if let Ok(path) = std::env::var(SKIP_LOG_ENV)
        && let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
    {
        let _ = writeln!(file, "{line}");
    }
    None
}

/// `postgres://u@h:5432/test?x=y` with database `name` instead of `test`.
fn with_database(server: &str, name: &str) -> String {
    let (base, query) = match server.split_once('?') {
        Some((base, query)) => (base, Some(query)),
        None => (server, None),
    };
    let authority_end = base
        .find("://")
        .map(|scheme| scheme + 3)
        .and_then(|start| base[start..].find('/').map(|slash| start + slash))
        .unwrap_or(base.len());
    let mut url = format!("{}/{name}", &base[..authority_end]);
    if let Some(query) = query {
        url.push('?');
        url.push_str(query);
    }
    url
}

#[cfg(test)]
mod tests {
    use super::with_database;

    #[test]
    fn the_database_name_is_replaced_or_added() {
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432/test", "w"),
            "postgres://postgres@127.0.0.1:5432/w"
        );
        assert_eq!(
            with_database("postgres://postgres@127.0.0.1:5432", "w"),
            "postgres://postgres@127.0.0.1:5432/w"
        );
        assert_eq!(
            with_database("postgres://p@h/test?sslmode=disable", "w"),
            "postgres://p@h/w?sslmode=disable"
        );
    }
}
