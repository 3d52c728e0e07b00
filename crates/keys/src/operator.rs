//! An operator's two keys, each in its own encrypted keystore: the ECDSA key that sends its
//! transactions (Web3 Secret Storage) and the BLS12-381 key that signs Warden's messages
//! (EIP-2335). Neither is ever logged, printed or passed on a command line.

use std::path::{Path, PathBuf};

use alloy::primitives::Address;
use alloy::signers::local::PrivateKeySigner;
use rand::{CryptoRng, RngCore};
use warden_bls::SecretKey;

use crate::{KeyError, Keystore, Password, ScryptParams, ecdsa};

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

    /// Decrypts both keystores with one password. Key derivation is deliberately slow: call this
    /// off the async workers (`spawn_blocking`).
    pub fn load(paths: &KeystorePaths, password: &Password) -> Result<Self, KeyError> {
        let ecdsa = ecdsa::load(&paths.ecdsa, password)?;
        let bls = Keystore::load(&paths.bls)
            .and_then(|keystore| keystore.decrypt(password))
            .map_err(|source| KeyError::Bls {
                path: paths.bls.clone(),
                source,
            })?;
        Ok(Self { ecdsa, bls })
    }

    /// [`OperatorKeys::load`] with the password from `password_file`, or from
    /// [`PASSWORD_ENV`](crate::PASSWORD_ENV) without one: how every process loads an operator.
    pub fn unlock(paths: &KeystorePaths, password_file: Option<&Path>) -> Result<Self, KeyError> {
        let password = Password::from_file_or_env(password_file).map_err(KeyError::Password)?;
        Self::load(paths, &password)
    }

    /// Generates fresh keys and writes them, encrypted under `password`, to `paths`, each file
    /// with mode 0600. Existing files are never overwritten. `scrypt` sets the BLS keystore's
    /// cost (the EIP's default, `ScryptParams::default()`, for real keys).
    pub fn generate<R: RngCore + CryptoRng>(
        paths: &KeystorePaths,
        password: &Password,
        scrypt: ScryptParams,
        rng: &mut R,
    ) -> Result<Self, KeyError> {
        // Both destinations are checked before either is written, so a refusal leaves no half
        // pair behind.
        for path in [&paths.ecdsa, &paths.bls] {
            if path.exists() {
                return Err(KeyError::AlreadyExists { path: path.clone() });
            }
        }
        let bls_error = |source| KeyError::Bls {
            path: paths.bls.clone(),
            source,
        };
        let bls = SecretKey::random(&mut *rng);
        Keystore::encrypt(&bls, password, scrypt, &mut *rng)
            .and_then(|keystore| keystore.save(&paths.bls))
            .map_err(bls_error)?;
        let ecdsa = ecdsa::create(&paths.ecdsa, password, rng)?;
        Ok(Self { ecdsa, bls })
    }

    /// Generates a BLS key beside an operator's existing ECDSA keystore (an EigenLayer operator
    /// joining Warden keeps its operator key) and writes it to `paths.bls`, encrypted under the
    /// same `password`. The ECDSA keystore must open with that password, so that the two load
    /// together; the BLS keystore is never overwritten.
    pub fn add_bls<R: RngCore + CryptoRng>(
        paths: &KeystorePaths,
        password: &Password,
        scrypt: ScryptParams,
        rng: &mut R,
    ) -> Result<Self, KeyError> {
        if paths.bls.exists() {
            return Err(KeyError::AlreadyExists {
                path: paths.bls.clone(),
            });
        }
        let ecdsa = ecdsa::load(&paths.ecdsa, password)?;
        let bls = SecretKey::random(&mut *rng);
        Keystore::encrypt(&bls, password, scrypt, &mut *rng)
            .and_then(|keystore| keystore.save(&paths.bls))
            .map_err(|source| KeyError::Bls {
                path: paths.bls.clone(),
                source,
            })?;
        Ok(Self { ecdsa, bls })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn generate(paths: &KeystorePaths, password: &Password) -> Result<OperatorKeys, KeyError> {
        OperatorKeys::generate(
            paths,
            password,
            ScryptParams::insecure_fast_for_tests(),
            &mut rand::thread_rng(),
        )
    }

    #[test]
    fn a_bls_key_joins_an_existing_ecdsa_keystore_under_its_password() {
        let dir = tempfile::tempdir().unwrap();
        let paths = KeystorePaths::in_dir(dir.path());
        let password = Password::new("operator password".into());
        let existing = ecdsa::create(&paths.ecdsa, &password, &mut rand::thread_rng()).unwrap();
        let add = |password: &Password| {
            OperatorKeys::add_bls(
                &paths,
                password,
                ScryptParams::insecure_fast_for_tests(),
                &mut rand::thread_rng(),
            )
        };

        // Another password than the ECDSA keystore's: refused, nothing written.
        assert!(add(&Password::new("another".into())).is_err());
        assert!(!paths.bls.exists());

        let keys = add(&password).unwrap();
        assert_eq!(keys.address(), existing.address());
        let loaded = OperatorKeys::load(&paths, &password).unwrap();
        assert_eq!(loaded.bls.public_key(), keys.bls.public_key());
        assert!(matches!(
            add(&password),
            Err(KeyError::AlreadyExists { .. })
        ));
    }

    #[test]
    fn generated_keys_load_back_and_wrong_password_fails() {
        let dir = tempfile::tempdir().unwrap();
        let paths = KeystorePaths::in_dir(dir.path());
        let password = Password::new("correct horse".into());
        let generated = generate(&paths, &password).unwrap();
        let loaded = OperatorKeys::load(&paths, &password).unwrap();
        assert_eq!(generated.address(), loaded.address());
        assert_eq!(generated.bls.public_key(), loaded.bls.public_key());

        let wrong = OperatorKeys::load(&paths, &Password::new("wrong".into())).unwrap_err();
        assert!(matches!(wrong, KeyError::Ecdsa { .. }), "{wrong}");

        let again = generate(&paths, &password).unwrap_err();
        assert!(
            matches!(again, KeyError::AlreadyExists { .. }),
            "must not overwrite: {again}"
        );
        let kept = OperatorKeys::load(&paths, &password).unwrap();
        assert_eq!(kept.address(), generated.address());
    }

    #[test]
    fn every_generated_key_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let paths = KeystorePaths::in_dir(dir.path());
        generate(&paths, &Password::new("pw".into())).unwrap();
        for path in [&paths.ecdsa, &paths.bls] {
            let mode = std::fs::metadata(path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600, "{}", path.display());
        }
    }

    #[test]
    fn unlock_reads_the_password_file() {
        let dir = tempfile::tempdir().unwrap();
        let paths = KeystorePaths::in_dir(dir.path());
        let generated = generate(&paths, &Password::new("from a file".into())).unwrap();
        let password_file = dir.path().join("password");
        std::fs::write(&password_file, "from a file\n").unwrap();
        let unlocked = OperatorKeys::unlock(&paths, Some(&password_file)).unwrap();
        assert_eq!(unlocked.address(), generated.address());
        let missing = OperatorKeys::unlock(&paths, Some(&dir.path().join("absent"))).unwrap_err();
        assert!(matches!(missing, KeyError::Password(_)), "{missing}");
    }

    #[test]
    fn debug_shows_no_secret() {
        let dir = tempfile::tempdir().unwrap();
        let paths = KeystorePaths::in_dir(dir.path());
        let keys = generate(&paths, &Password::new("pw".into())).unwrap();
        let printed = format!("{keys:?}");
        let secret = hex::encode(keys.ecdsa.to_bytes());
        assert!(!printed.contains(&secret));
        assert!(!printed.contains(&hex::encode(*keys.bls.to_bytes())));
    }
}
