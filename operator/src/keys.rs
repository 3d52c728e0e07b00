//! An operator's two keys, each in its own encrypted keystore: the ECDSA key that sends its
//! transactions (Web3 Secret Storage) and the BLS12-381 key that signs Warden's messages
//! (EIP-2335). Neither is ever logged, printed or passed on a command line.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use rand::{CryptoRng, RngCore};
use warden_bls::{Keystore, KeystoreError, Password, ScryptParams, SecretKey};

/// Errors loading or creating an operator's keystores.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// The ECDSA keystore could not be read or decrypted.
    #[error("ECDSA keystore {path}: {source}")]
    Ecdsa {
        path: PathBuf,
        #[source]
        source: alloy::signers::local::LocalSignerError,
    },
    /// The BLS keystore could not be read or decrypted.
    #[error("BLS keystore {path}: {source}")]
    Bls {
        path: PathBuf,
        #[source]
        source: KeystoreError,
    },
    /// A keystore's directory has no usable file name.
    #[error("keystore path {0} must name a file inside an existing directory")]
    BadPath(PathBuf),
}

/// Where an operator's keystores live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeystorePaths {
    /// Web3 Secret Storage JSON of the ECDSA key.
    pub ecdsa: PathBuf,
    /// EIP-2335 JSON of the BLS12-381 key.
    pub bls: PathBuf,
}

impl KeystorePaths {
    /// The conventional layout inside one directory: `ecdsa.json` and `bls.json`.
    pub fn in_dir(dir: &Path) -> Self {
        Self {
            ecdsa: dir.join("ecdsa.json"),
            bls: dir.join("bls.json"),
        }
    }
}

/// An operator's decrypted keys, held in memory only.
pub struct OperatorKeys {
    /// Signs the operator's Ethereum transactions.
    pub ecdsa: PrivateKeySigner,
    /// Signs Warden's task digests and the proof of possession.
    pub bls: SecretKey,
}

impl std::fmt::Debug for OperatorKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OperatorKeys")
            .field("address", &self.ecdsa.address())
            .field("bls_public_key", &self.bls.public_key())
            .finish()
    }
}

impl OperatorKeys {
    /// The operator's Ethereum address.
    pub fn address(&self) -> Address {
        self.ecdsa.address()
    }

    /// Decrypts both keystores with one password.
    pub fn load(paths: &KeystorePaths, password: &Password) -> Result<Self, KeyError> {
        let ecdsa = PrivateKeySigner::decrypt_keystore(&paths.ecdsa, password.expose_secret())
            .map_err(|source| KeyError::Ecdsa {
                path: paths.ecdsa.clone(),
                source,
            })?;
        let bls = Keystore::load(&paths.bls)
            .and_then(|keystore| keystore.decrypt(password))
            .map_err(|source| KeyError::Bls {
                path: paths.bls.clone(),
                source,
            })?;
        Ok(Self { ecdsa, bls })
    }

    /// Generates fresh keys and writes them, encrypted under `password`, to `paths`. Existing
    /// files are never overwritten. `scrypt` sets the BLS keystore's cost (the EIP's default,
    /// `ScryptParams::default()`, for real keys).
    pub fn generate<R: RngCore + CryptoRng>(
        paths: &KeystorePaths,
        password: &Password,
        scrypt: ScryptParams,
        rng: &mut R,
    ) -> Result<Self, KeyError> {
        if paths.ecdsa.exists() {
            return Err(KeyError::Ecdsa {
                path: paths.ecdsa.clone(),
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "refusing to overwrite",
                )
                .into(),
            });
        }
        let bls = SecretKey::random(&mut *rng);
        let keystore = Keystore::encrypt(&bls, password, scrypt, &mut *rng).map_err(|source| {
            KeyError::Bls {
                path: paths.bls.clone(),
                source,
            }
        })?;
        keystore.save(&paths.bls).map_err(|source| KeyError::Bls {
            path: paths.bls.clone(),
            source,
        })?;

        let (dir, name) = match (
            paths.ecdsa.parent(),
            paths.ecdsa.file_name().and_then(|n| n.to_str()),
        ) {
            (Some(dir), Some(name)) => (dir, name),
            _ => return Err(KeyError::BadPath(paths.ecdsa.clone())),
        };
        let (ecdsa, _uuid) =
            PrivateKeySigner::new_keystore(dir, rng, password.expose_secret(), Some(name))
                .map_err(|source| KeyError::Ecdsa {
                    path: paths.ecdsa.clone(),
                    source,
                })?;
        Ok(Self { ecdsa, bls })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_keys_load_back_and_wrong_password_fails() {
        let dir = tempfile::tempdir().unwrap();
        let paths = KeystorePaths::in_dir(dir.path());
        let password = Password::new("correct horse".into());
        let mut rng = rand::thread_rng();
        let generated = OperatorKeys::generate(
            &paths,
            &password,
            ScryptParams::insecure_fast_for_tests(),
            &mut rng,
        )
        .unwrap();
        let loaded = OperatorKeys::load(&paths, &password).unwrap();
        assert_eq!(generated.address(), loaded.address());
        assert_eq!(generated.bls.public_key(), loaded.bls.public_key());

        let wrong = OperatorKeys::load(&paths, &Password::new("wrong".into())).unwrap_err();
        assert!(matches!(wrong, KeyError::Ecdsa { .. }), "{wrong}");

        let again = OperatorKeys::generate(
            &paths,
            &password,
            ScryptParams::insecure_fast_for_tests(),
            &mut rng,
        )
        .unwrap_err();
        assert!(
            matches!(again, KeyError::Ecdsa { .. }),
            "must not overwrite: {again}"
        );
    }

    #[test]
    fn debug_shows_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let paths = KeystorePaths::in_dir(dir.path());
        let password = Password::new("pw".into());
        let keys = OperatorKeys::generate(
            &paths,
            &password,
            ScryptParams::insecure_fast_for_tests(),
            &mut rand::thread_rng(),
        )
        .unwrap();
        let printed = format!("{keys:?}");
        let secret = hex::encode(keys.ecdsa.to_bytes());
        assert!(!printed.contains(&secret));
        assert!(!printed.contains(&hex::encode(*keys.bls.to_bytes())));
    }
}
