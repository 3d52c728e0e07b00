//! The watchtower's durable progress: the last block whose commitments it has judged, and the
//! fraudulent tasks whose slashing it still has to drive. Written atomically (a temporary file
//! renamed over the old one), so a crash leaves either the old state or the new, never a torn
//! one; restarting from the old state only repeats idempotent work.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// What the watchtower has done so far.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WatchState {
    /// Every `OutputCommitted` up to and including this block has been judged.
    pub judged_through: u64,
    /// Tasks found fraudulent whose signers are not all slashed yet.
    pub slashing: BTreeSet<u64>,
}

/// Why the state could not be read or written.
#[derive(Debug, thiserror::Error)]
pub enum CursorError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path} is not a challenger state file: {source}")]
    Corrupt {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },
}

/// A state file.
#[derive(Debug, Clone)]
pub struct CursorFile {
    path: PathBuf,
}

impl CursorFile {
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self { path: path.into() }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The saved state, or `None` when the file does not exist yet (a first start).
    pub fn load(&self) -> Result<Option<WatchState>, CursorError> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(text) => text,
            Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(self.io(source)),
        };
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|source| CursorError::Corrupt {
                path: self.path.clone(),
                source,
            })
    }

    /// Replaces the saved state, durably.
    pub fn store(&self, state: &WatchState) -> Result<(), CursorError> {
        let mut temporary = self.path.clone().into_os_string();
        temporary.push(".tmp");
        let temporary = PathBuf::from(temporary);
        let bytes = serde_json::to_vec_pretty(state).map_err(|source| CursorError::Corrupt {
            path: self.path.clone(),
            source,
        })?;
        let write = || -> std::io::Result<()> {
            let mut file = std::fs::File::create(&temporary)?;
            file.write_all(&bytes)?;
            file.sync_all()?;
            std::fs::rename(&temporary, &self.path)
        };
        write().map_err(|source| self.io(source))
    }

    fn io(&self, source: std::io::Error) -> CursorError {
        CursorError::Io {
            path: self.path.clone(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_missing_file_is_a_first_start() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            CursorFile::new(dir.path().join("state.json"))
                .load()
                .unwrap(),
            None
        );
    }

    #[test]
    fn state_round_trips_and_replaces_the_old_one() {
        let dir = tempfile::tempdir().unwrap();
        let file = CursorFile::new(dir.path().join("state.json"));
        let mut state = WatchState {
            judged_through: 41,
            slashing: BTreeSet::from([3, 7]),
        };
        file.store(&state).unwrap();
        state.judged_through = 42;
        state.slashing.remove(&3);
        file.store(&state).unwrap();
        assert_eq!(file.load().unwrap(), Some(state));
        assert!(!dir.path().join("state.json.tmp").exists());
    }

    #[test]
    fn a_corrupt_file_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        std::fs::write(&path, b"{\"judged_through\": ").unwrap();
        let error = CursorFile::new(&path).load().unwrap_err();
        assert!(matches!(error, CursorError::Corrupt { .. }), "{error}");
    }
}
