//! Warden's keys at rest and how a service loads them.
//!
//! `warden-bls` is the cryptography; this crate is everything around a key that is not: the
//! encrypted files keys live in, the password that opens them, and the loading a service does at
//! start-up (Lighthouse keeps `crypto/bls` and `eth2_keystore` apart the same way).
//!
//! - [`Keystore`]: EIP-2335 keystores for BLS12-381 secret keys (scrypt or PBKDF2, AES-128-CTR),
//!   with bounded KDF parameters and atomic, mode-0600 writes.
//! - [`ecdsa`]: Web3 Secret Storage (keystore v3) for the ECDSA keys that send transactions.
//! - [`Password`]: a keystore password from a file or [`PASSWORD_ENV`], never from a command line.
//! - [`OperatorKeys`] and [`KeystorePaths`]: an operator's two keys, created and loaded together.
//! - [`KeysConfig`]: the `[keys]` section every service's configuration has.
//!
//! Key material is never logged: every type holding a secret has a redacting `Debug`.

pub mod ecdsa;
mod error;
mod keystore;
mod operator;
mod password;
mod section;

pub use error::KeyError;
pub use keystore::{Crypto, CryptoModule, Keystore, KeystoreError, SIGNING_KEY_PATH, ScryptParams};
pub use operator::{KeystorePaths, OperatorKeys};
pub use password::{PASSWORD_ENV, Password};
pub use section::{InvalidKeysConfig, KeysConfig};
