//! `[keys]`: the section of every service's configuration that names its keystores.

use std::path::{Path, PathBuf};

use alloy::signers::local::PrivateKeySigner;
use serde::{Deserialize, Serialize};

use crate::{KeyError, KeystorePaths, OperatorKeys, Password, ecdsa};

/// `[keys]`: encrypted keystores and where their password comes from. Keys themselves never
/// appear in a configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeysConfig {
    /// Web3 Secret Storage (v3) keystore of the ECDSA key that signs transactions.
    pub ecdsa_keystore: PathBuf,
    /// EIP-2335 keystore of the BLS12-381 key (operators only).
    #[serde(default)]
    pub bls_keystore: Option<PathBuf>,
    /// File holding the keystores' password; without it `WARDEN_KEYSTORE_PASSWORD` is read.
    #[serde(default)]
    pub password_file: Option<PathBuf>,
}

/// A `[keys]` value that cannot work, with the key that names it (`keys.bls_keystore`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{key}: {reason}")]
pub struct InvalidKeysConfig {
    /// The configuration key, `section.key`.
    pub key: &'static str,
    /// What is wrong with its value.
    pub reason: String,
}

impl KeysConfig {
    /// The password from `password_file`, or from `WARDEN_KEYSTORE_PASSWORD` without one.
    pub fn password(&self) -> Result<Password, KeyError> {
        Password::from_file_or_env(self.password_file.as_deref()).map_err(KeyError::Password)
    }

    /// Decrypts the ECDSA keystore. Key derivation is deliberately slow: call it off the async
    /// workers (`spawn_blocking`).
    pub fn ecdsa_signer(&self) -> Result<PrivateKeySigner, KeyError> {
        ecdsa::load(&self.ecdsa_keystore, &self.password()?)
    }

    /// Decrypts an operator's two keystores (slow, like [`KeysConfig::ecdsa_signer`]).
    pub fn operator_keys(&self) -> Result<OperatorKeys, KeyError> {
        let bls = self.bls_keystore.clone().ok_or(KeyError::NoBlsKeystore)?;
        let paths = KeystorePaths {
            ecdsa: self.ecdsa_keystore.clone(),
            bls,
        };
        OperatorKeys::unlock(&paths, self.password_file.as_deref())
    }

    /// Checks that the named files exist, and that an operator (`needs_bls`) names its BLS
    /// keystore.
    pub fn validate(&self, needs_bls: bool) -> Result<(), InvalidKeysConfig> {
        let exists = |key: &'static str, path: &Path| {
            if path.is_file() {
                Ok(())
            } else {
                Err(InvalidKeysConfig {
                    key,
                    reason: format!("{} does not exist", path.display()),
                })
            }
        };
        exists("keys.ecdsa_keystore", &self.ecdsa_keystore)?;
        match (&self.bls_keystore, needs_bls) {
            (Some(path), _) => exists("keys.bls_keystore", path)?,
            (None, true) => {
                return Err(InvalidKeysConfig {
                    key: "keys.bls_keystore",
                    reason: "an operator needs its BLS12-381 keystore".into(),
                });
            }
            (None, false) => {}
        }
        if let Some(path) = &self.password_file {
            exists("keys.password_file", path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn validation_names_the_key() {
        let keys = KeysConfig {
            ecdsa_keystore: "/nonexistent/ecdsa.json".into(),
            bls_keystore: None,
            password_file: None,
        };
        let error = keys.validate(false).unwrap_err();
        assert_eq!(error.key, "keys.ecdsa_keystore");
        assert!(error.to_string().contains("keys.ecdsa_keystore"), "{error}");
    }

    #[test]
    fn an_operator_needs_a_bls_keystore() {
        let dir = tempfile::tempdir().unwrap();
        let ecdsa = dir.path().join("ecdsa.json");
        std::fs::write(&ecdsa, "{}").unwrap();
        let keys = KeysConfig {
            ecdsa_keystore: ecdsa,
            bls_keystore: None,
            password_file: None,
        };
        keys.validate(false).unwrap();
        assert_eq!(keys.validate(true).unwrap_err().key, "keys.bls_keystore");
        assert!(matches!(
            keys.operator_keys().unwrap_err(),
            KeyError::NoBlsKeystore
        ));
    }
}
