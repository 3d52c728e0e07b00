use std::path::PathBuf;

use crate::KeystoreError;

/// Why a service's keys could not be created or loaded. Every variant names the file involved;
/// none carries key material.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeyError {
    /// The keystore password could not be read.
    #[error("reading the keystore password: {0}")]
    Password(#[source] KeystoreError),
    /// The ECDSA keystore could not be read or decrypted.
    #[error("ECDSA keystore {path}: {source}")]
    Ecdsa {
        path: PathBuf,
        #[source]
        source: alloy::signers::local::LocalSignerError,
    },
    /// The BLS keystore could not be read, written or decrypted.
    #[error("BLS keystore {path}: {source}")]
    Bls {
        path: PathBuf,
        #[source]
        source: KeystoreError,
    },
    /// Writing a keystore file failed.
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A file is already where a new keystore would go: it may hold the only copy of a key.
    #[error("refusing to overwrite {path}: it may hold the only copy of a key")]
    AlreadyExists { path: PathBuf },
    /// A keystore path does not name a file inside a directory.
    #[error("keystore path {0} must name a file inside an existing directory")]
    BadPath(PathBuf),
    /// An operator's keys were asked for, but the configuration names no BLS keystore.
    #[error("keys.bls_keystore is not set: an operator needs its BLS12-381 keystore")]
    NoBlsKeystore,
}
