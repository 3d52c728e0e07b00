//! Where a store lives, checked before anything connects: a `postgres://` or `postgresql://`
//! URL, a `sqlite:` URL, or a plain path (a SQLite file).
//!
//! Anything that looks like a URL with another scheme is refused instead of being taken for a
//! file name: `postgress://db/warden` must not quietly become a SQLite file of that name beside
//! the service while the PostgreSQL server it was meant for stays empty.

use std::fmt;
use std::str::FromStr;

use crate::Backend;

/// Why a database location was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    /// Nothing was given.
    #[error("is empty: give a SQLite file path, a sqlite: URL or a postgres:// URL")]
    Empty,
    /// A URL whose scheme names no supported database.
    #[error(
        "the scheme {scheme:?} is not supported: use postgres:// or postgresql:// for \
         PostgreSQL, sqlite: or a plain file path for SQLite (write ./{scheme}:... for a file \
         whose name contains a colon)"
    )]
    UnsupportedScheme {
        /// The scheme as written.
        scheme: String,
    },
}

/// A checked database location.
#[derive(Clone, PartialEq, Eq)]
pub struct DatabaseUrl {
    backend: Backend,
    location: String,
}

impl DatabaseUrl {
    /// Checks `location`; see the module documentation for what is accepted.
    pub fn parse(location: &str) -> Result<Self, DatabaseUrlError> {
        if location.trim().is_empty() {
            return Err(DatabaseUrlError::Empty);
        }
        let backend = match scheme(location) {
            None => Backend::Sqlite,
            Some(scheme) => match scheme.to_ascii_lowercase().as_str() {
                "postgres" | "postgresql" => Backend::Postgres,
                "sqlite" => Backend::Sqlite,
                _ => {
                    return Err(DatabaseUrlError::UnsupportedScheme {
                        scheme: scheme.to_owned(),
                    });
                }
            },
        };
        Ok(Self {
            backend,
            location: location.to_owned(),
        })
    }

    /// Which database the location names.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The location as given, credentials included: for connecting only, never for logs.
    pub fn expose(&self) -> &str {
        &self.location
    }

    /// The location with any password replaced by `***`, for logs and errors.
    pub fn redacted(&self) -> String {
        redact(&self.location)
    }
}

impl FromStr for DatabaseUrl {
    type Err = DatabaseUrlError;

    fn from_str(location: &str) -> Result<Self, Self::Err> {
        Self::parse(location)
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("DatabaseUrl")
            .field("backend", &self.backend)
            .field("location", &self.redacted())
            .finish()
    }
}

impl fmt::Display for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.redacted())
    }
}

/// The RFC 3986 scheme `location` starts with, if any. One letter before a colon is not taken
/// for a scheme (it reads as a drive letter), and neither is a path starting with `/` or `.`,
/// which cannot match the scheme grammar anyway.
fn scheme(location: &str) -> Option<&str> {
    let (scheme, _) = location.split_once(':')?;
    let mut chars = scheme.chars();
    let starts_with_letter = chars.next().is_some_and(|c| c.is_ascii_alphabetic());
    let rest_is_scheme = chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'));
    (starts_with_letter && rest_is_scheme && scheme.len() > 1).then_some(scheme)
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub(crate) fn redact(location: &str) -> String {
    let Some((scheme, rest)) = location.split_once("://") else {
        return location.to_string();
    };
    let Some((credentials, host)) = rest.rsplit_once('@') else {
        return location.to_string();
    };
    match credentials.split_once(':') {
        Some((user, _)) => format!("{scheme}://{user}:***@{host}"),
        None => location.to_string(),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn locations_choose_their_backend() {
        let backend = |location: &str| DatabaseUrl::parse(location).unwrap().backend();
        assert_eq!(backend("postgres://u@h/db"), Backend::Postgres);
        assert_eq!(backend("postgresql://u@h/db"), Backend::Postgres);
        assert_eq!(backend("POSTGRES://u@h/db"), Backend::Postgres);
        assert_eq!(backend("sqlite::memory:"), Backend::Sqlite);
        assert_eq!(backend("sqlite://data/operator.db"), Backend::Sqlite);
        assert_eq!(backend("/var/lib/warden/operator.db"), Backend::Sqlite);
        assert_eq!(backend("data/operator.db"), Backend::Sqlite);
        assert_eq!(backend("./odd:name.db"), Backend::Sqlite);
        assert_eq!(backend("C:/warden/operator.db"), Backend::Sqlite);
    }

    #[test]
    fn a_misspelt_or_foreign_scheme_is_refused() {
        for (location, scheme) in [
            ("postgress://u@h/db", "postgress"),
            ("mysql://u@h/db", "mysql"),
            ("sqlite3:data.db", "sqlite3"),
            ("file:data.db", "file"),
        ] {
            assert_eq!(
                DatabaseUrl::parse(location),
                Err(DatabaseUrlError::UnsupportedScheme {
                    scheme: scheme.to_owned()
                }),
                "{location}"
            );
        }
        assert_eq!(DatabaseUrl::parse("  "), Err(DatabaseUrlError::Empty));
    }

    #[test]
    fn passwords_never_reach_the_display_form() {
        assert_eq!(
            redact("postgres://warden:hunter2@db:5432/warden"),
            "postgres://warden:***@db:5432/warden"
        );
        assert_eq!(
            redact("postgres://warden@db/warden"),
            "postgres://warden@db/warden"
        );
        assert_eq!(redact("data/operator.db"), "data/operator.db");
        let url = DatabaseUrl::parse("postgres://warden:hunter2@db/warden").unwrap();
        assert!(!format!("{url} {url:?}").contains("hunter2"));
        assert_eq!(url.expose(), "postgres://warden:hunter2@db/warden");
    }
}
