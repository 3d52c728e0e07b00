//! EIP-2335 encrypted keystores for BLS12-381 secret keys.
//!
//! Decryption accepts the `scrypt` and `pbkdf2` (`hmac-sha256`) key-derivation functions with the
//! `aes-128-ctr` cipher and `sha256` checksum, which is everything the EIP defines; encryption
//! always writes `scrypt`. KDF parameters are read from the file, so they are bounded before use:
//! a hostile or corrupted file must not be able to make the operator allocate gigabytes or spin
//! for hours.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use ctr::cipher::{KeyIvInit, StreamCipher};
use rand::{CryptoRng, RngCore};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use uuid::Uuid;
use zeroize::Zeroizing;

use warden_bls::{BlsError, PublicKey, SECRET_KEY_LEN, SecretKey};

use crate::Password;
use KeystoreError::KdfParamsOutOfRange;

/// The only keystore version EIP-2335 defines.
const VERSION: u32 = 4;

/// The `path` written into every keystore this crate creates: EIP-2334's signing-key path of
/// account 0 (`m/12381/3600/account/0/0`).
///
/// Warden's keys are drawn at random, not derived from a mnemonic, so the path is nominal: it is
/// there because strict EIP-2335 readers refuse an empty `path` (the EIP requires one for a key
/// of a derivation tree) and because a key imported elsewhere should look like a signing key.
pub const SIGNING_KEY_PATH: &str = "m/12381/3600/0/0/0";

/// Keystores are under a kilobyte; anything past this limit is not one.
const MAX_KEYSTORE_FILE_LEN: u64 = 1024 * 1024;

/// The decryption key is always 32 bytes: 16 for AES-128, 16 for the checksum.
const DKLEN: usize = 32;
const SALT_LEN: usize = 32;
const IV_LEN: usize = 16;
const CHECKSUM_LEN: usize = 32;

/// scrypt's memory use is `128·n·r` bytes: this admits `n = 2^20, r = 8` (1 GiB), four times the
/// EIP's default.
const SCRYPT_MAX_MEMORY: u64 = 1 << 30;
/// scrypt's running time is proportional to `n·r·p`; this admits the same `n = 2^20, r = 8, p = 1`.
const SCRYPT_MAX_WORK: u64 = 1 << 23;
const SCRYPT_MAX_N: u64 = 1 << 20;
const SCRYPT_MAX_R: u64 = 32;
const SCRYPT_MAX_P: u64 = 16;
/// Sixteen times the EIP's 2^18 iterations.
const PBKDF2_MAX_C: u64 = 1 << 22;
/// Salts are 32 bytes in practice; the bound only keeps hashing cost sane.
const MAX_SALT_LEN: usize = 1024;

type Aes128Ctr = ctr::Ctr128BE<aes::Aes128>;

/// Everything that can go wrong loading, saving, encrypting or decrypting a keystore, or reading
/// its password. Messages name the file or field involved and what to do about it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeystoreError {
    /// Reading or writing a file failed.
    #[error("cannot read or write {}: {source}", path.display())]
    Io {
        /// The file involved.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// A keystore or password file is implausibly large.
    #[error("{} is larger than {limit} bytes, so it is not a keystore or password file; check the path", path.display())]
    FileTooLarge {
        /// The file involved.
        path: PathBuf,
        /// The size limit in bytes.
        limit: u64,
    },

    /// The JSON does not have the EIP-2335 shape.
    #[error("{} is not a valid EIP-2335 keystore: {source}", describe_location(path.as_deref()))]
    Json {
        /// The file, if the JSON came from one.
        path: Option<PathBuf>,
        /// What the parser found wrong.
        #[source]
        source: serde_json::Error,
    },

    /// The `version` field is not 4.
    #[error(
        "keystore version {0} is not supported: only EIP-2335 version 4 (BLS) keystores are; \
         version 3 is the execution-layer (ECDSA) format"
    )]
    UnsupportedVersion(u64),

    /// The KDF is neither scrypt nor PBKDF2-HMAC-SHA256.
    #[error(
        "keystore key-derivation function {0:?} is not supported; \
         supported are \"scrypt\" and \"pbkdf2\" with prf \"hmac-sha256\""
    )]
    UnsupportedKdf(String),

    /// The cipher is not AES-128-CTR.
    #[error("keystore cipher {0:?} is not supported; only \"aes-128-ctr\" is")]
    UnsupportedCipher(String),

    /// The checksum function is not SHA-256.
    #[error("keystore checksum function {0:?} is not supported; only \"sha256\" is")]
    UnsupportedChecksum(String),

    /// The KDF parameters exceed the limits this crate accepts, or are malformed.
    #[error("refusing the keystore's KDF parameters: {0}")]
    KdfParamsOutOfRange(String),

    /// A required field is missing or has the wrong type or size.
    #[error("keystore field {field} is invalid: {reason}")]
    InvalidField {
        /// Dotted path of the field in the JSON.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
    },

    /// A field that must be hex is not.
    #[error("keystore field {field} is not valid hex: {source}")]
    InvalidHex {
        /// Dotted path of the field in the JSON.
        field: &'static str,
        /// The hex decoder's complaint.
        #[source]
        source: hex::FromHexError,
    },

    /// The checksum does not match: almost always a wrong password, otherwise an altered file.
    #[error(
        "wrong password for this keystore (checksum mismatch; if the password is certainly right, \
         the file has been altered)"
    )]
    WrongPassword,

    /// The checksum matched but the plaintext is not a valid secret key.
    #[error("the keystore decrypted, but the secret inside is not a valid BLS12-381 secret key")]
    InvalidKey,

    /// The `pubkey` field is not a valid public key.
    #[error("the keystore's pubkey field is not a valid BLS public key: {0}")]
    InvalidPubkey(#[source] BlsError),

    /// The decrypted key does not belong to the `pubkey` field's key.
    #[error(
        "the keystore decrypted to the secret key of {actual}, but its pubkey field says \
         {expected}; the file was altered or assembled from two keystores"
    )]
    PubkeyMismatch {
        /// The `pubkey` field, `0x`-prefixed.
        expected: String,
        /// The decrypted key's public key, `0x`-prefixed.
        actual: String,
    },

    /// The password environment variable is not set.
    #[error("the password environment variable {name} is not set")]
    PasswordEnvMissing {
        /// The variable's name.
        name: String,
    },

    /// The password environment variable is not UTF-8.
    #[error("the password environment variable {name} is not valid UTF-8")]
    PasswordEnvNotUtf8 {
        /// The variable's name.
        name: String,
    },

    /// The password file is not UTF-8.
    #[error("the password file {} is not valid UTF-8", path.display())]
    PasswordNotUtf8 {
        /// The file involved.
        path: PathBuf,
    },

    /// Encryption was asked to use an empty password (after EIP-2335 normalisation).
    #[error("refusing to encrypt a keystore with an empty password")]
    EmptyPassword,

    /// [`Keystore::save`] found a file already at the destination.
    #[error(
        "refusing to overwrite the existing file {}: it may hold the only copy of a key; \
         move it away first if replacing it is intended", path.display()
    )]
    AlreadyExists {
        /// The destination.
        path: PathBuf,
    },
}

fn describe_location(path: Option<&Path>) -> String {
    match path {
        Some(path) => path.display().to_string(),
        None => "the keystore JSON".to_owned(),
    }
}

/// scrypt cost parameters for [`Keystore::encrypt`]. The derived key length is always 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScryptParams {
    n: u32,
    r: u32,
    p: u32,
}

impl ScryptParams {
    /// Checks the parameters against the same bounds decryption enforces, so that a keystore this
    /// crate writes is one it will read back.
    pub fn new(n: u32, r: u32, p: u32) -> Result<Self, KeystoreError> {
        check_scrypt(n.into(), r.into(), p.into())?;
        Ok(Self { n, r, p })
    }

    /// `n = 16`: milliseconds instead of a second, and trivially brute-forced. For tests and
    /// throwaway devnet keys only, never for a key that guards anything.
    pub fn insecure_fast_for_tests() -> Self {
        Self { n: 16, r: 8, p: 1 }
    }

    /// The CPU/memory cost `n`, a power of two.
    pub fn n(&self) -> u32 {
        self.n
    }

    /// The block size `r`.
    pub fn r(&self) -> u32 {
        self.r
    }

    /// The parallelisation `p`.
    pub fn p(&self) -> u32 {
        self.p
    }
}

impl Default for ScryptParams {
    /// The EIP-2335 parameters: `n = 2^18, r = 8, p = 1` (256 MiB, about a second).
    fn default() -> Self {
        Self {
            n: 1 << 18,
            r: 8,
            p: 1,
        }
    }
}

/// An EIP-2335 keystore, field for field as in the JSON.
///
/// Module parameters are kept as raw JSON so that a keystore with an unsupported KDF or cipher
/// still loads (its public key can be listed); they are interpreted and bounded by
/// [`Keystore::decrypt`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Keystore {
    /// KDF, checksum and cipher.
    pub crypto: Crypto,
    /// Optional free text identifying the keystore; not necessarily unique.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Hex (no `0x`) of the compressed public key; required by the EIP for keys, checked against
    /// the decrypted key when present.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pubkey: Option<String>,
    /// EIP-2334 derivation path, or `""` if unknown.
    pub path: String,
    /// Random identifier of the keystore.
    pub uuid: Uuid,
    /// Always 4.
    pub version: u32,
}

/// The `crypto` object of a keystore.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Crypto {
    /// Derives the decryption key from the password.
    pub kdf: CryptoModule,
    /// Verifies the password.
    pub checksum: CryptoModule,
    /// Encrypts the secret.
    pub cipher: CryptoModule,
}

/// An EIP-2335 module: a function, its parameters and its primary input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CryptoModule {
    /// Which construction, e.g. `"scrypt"`.
    pub function: String,
    /// Its parameters.
    pub params: Map<String, Value>,
    /// Its input, hex (empty for the KDF).
    pub message: String,
}

impl Keystore {
    /// Encrypts `secret_key` under `password`, with scrypt and fresh randomness from `rng` for the
    /// salt, IV and UUID. `path` is [`SIGNING_KEY_PATH`] and `description` unset; set them on the
    /// result if wanted.
    pub fn encrypt<R: RngCore + CryptoRng>(
        secret_key: &SecretKey,
        password: &Password,
        kdf: ScryptParams,
        mut rng: R,
    ) -> Result<Self, KeystoreError> {
        let password = password.to_eip2335_bytes();
        if password.is_empty() {
            return Err(KeystoreError::EmptyPassword);
        }
        let mut salt = [0u8; SALT_LEN];
        rng.fill_bytes(&mut salt);
        let mut iv = [0u8; IV_LEN];
        rng.fill_bytes(&mut iv);
        let mut uuid = [0u8; 16];
        rng.fill_bytes(&mut uuid);

        let kdf = Kdf::Scrypt {
            params: kdf,
            salt: salt.to_vec(),
        };
        let decryption_key = kdf.derive(&password)?;
        let mut buffer = secret_key.to_bytes();
        apply_aes_128_ctr(&decryption_key, &iv, buffer.as_mut());
        let ciphertext = *buffer;
        let checksum = checksum(&decryption_key, &ciphertext);

        let mut cipher_params = Map::new();
        cipher_params.insert("iv".to_owned(), Value::String(hex::encode(iv)));
        Ok(Self {
            crypto: Crypto {
                kdf: kdf.to_module(),
                checksum: CryptoModule {
                    function: "sha256".to_owned(),
                    params: Map::new(),
                    message: hex::encode(checksum),
                },
                cipher: CryptoModule {
                    function: "aes-128-ctr".to_owned(),
                    params: cipher_params,
                    message: hex::encode(ciphertext),
                },
            },
            description: None,
            pubkey: Some(hex::encode(secret_key.public_key().to_compressed())),
            path: SIGNING_KEY_PATH.to_owned(),
            uuid: uuid::Builder::from_random_bytes(uuid).into_uuid(),
            version: VERSION,
        })
    }

    /// Decrypts the secret key.
    ///
    /// Every structural problem is reported before the (deliberately slow) key derivation runs. A
    /// wrong password is [`KeystoreError::WrongPassword`]; a key that does not match the `pubkey`
    /// field is [`KeystoreError::PubkeyMismatch`].
    pub fn decrypt(&self, password: &Password) -> Result<SecretKey, KeystoreError> {
        if self.version != VERSION {
            return Err(KeystoreError::UnsupportedVersion(self.version.into()));
        }
        let expected_public_key = self.public_key()?;
        let kdf = Kdf::from_module(&self.crypto.kdf)?;

        let checksum_module = &self.crypto.checksum;
        if checksum_module.function != "sha256" {
            return Err(KeystoreError::UnsupportedChecksum(
                checksum_module.function.clone(),
            ));
        }
        let expected_checksum: [u8; CHECKSUM_LEN] =
            decode_hex_exact(&checksum_module.message, "crypto.checksum.message")?;

        let cipher = &self.crypto.cipher;
        if cipher.function != "aes-128-ctr" {
            return Err(KeystoreError::UnsupportedCipher(cipher.function.clone()));
        }
        let iv: [u8; IV_LEN] = decode_hex_exact(
            param_str(&cipher.params, "iv", "crypto.cipher.params.iv")?,
            "crypto.cipher.params.iv",
        )?;
        let ciphertext: [u8; SECRET_KEY_LEN] =
            decode_hex_exact(&cipher.message, "crypto.cipher.message")?;

        let decryption_key = kdf.derive(&password.to_eip2335_bytes())?;
        let computed_checksum = checksum(&decryption_key, &ciphertext);
        if !bool::from(computed_checksum.ct_eq(&expected_checksum)) {
            return Err(KeystoreError::WrongPassword);
        }

        let mut plaintext = Zeroizing::new(ciphertext);
        apply_aes_128_ctr(&decryption_key, &iv, plaintext.as_mut());
        let secret_key =
            SecretKey::from_bytes(plaintext.as_ref()).map_err(|_| KeystoreError::InvalidKey)?;

        if let Some(expected) = expected_public_key {
            let actual = secret_key.public_key();
            if actual != expected {
                return Err(KeystoreError::PubkeyMismatch {
                    expected: expected.to_string(),
                    actual: actual.to_string(),
                });
            }
        }
        Ok(secret_key)
    }

    /// The public key from the `pubkey` field, if there is one. Needs no password.
    pub fn public_key(&self) -> Result<Option<PublicKey>, KeystoreError> {
        self.pubkey
            .as_deref()
            .map(|pubkey| pubkey.parse().map_err(KeystoreError::InvalidPubkey))
            .transpose()
    }

    /// Parses keystore JSON.
    pub fn from_json_str(json: &str) -> Result<Self, KeystoreError> {
        Self::parse(json, None)
    }

    /// The keystore as pretty-printed JSON.
    pub fn to_json_string(&self) -> Result<String, KeystoreError> {
        serde_json::to_string_pretty(self)
            .map_err(|source| KeystoreError::Json { path: None, source })
    }

    /// Reads a keystore file.
    pub fn load(path: impl AsRef<Path>) -> Result<Self, KeystoreError> {
        let path = path.as_ref();
        let io_error = |source| KeystoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut json = String::new();
        File::open(path)
            .map_err(io_error)?
            .take(MAX_KEYSTORE_FILE_LEN + 1)
            .read_to_string(&mut json)
            .map_err(io_error)?;
        if json.len() as u64 > MAX_KEYSTORE_FILE_LEN {
            return Err(KeystoreError::FileTooLarge {
                path: path.to_path_buf(),
                limit: MAX_KEYSTORE_FILE_LEN,
            });
        }
        Self::parse(&json, Some(path))
    }

    /// Writes the keystore to `path`, refusing to replace an existing file (which may hold the only
    /// copy of another key).
    ///
    /// The JSON goes to a temporary file in the same directory (mode 0600 on Unix), is flushed to
    /// disk, and is then moved into place in one step, so `path` never holds a partial keystore.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<(), KeystoreError> {
        self.write_atomically(path.as_ref(), false)
    }

    /// Like [`Keystore::save`], but atomically replaces any existing file at `path`.
    pub fn save_overwrite(&self, path: impl AsRef<Path>) -> Result<(), KeystoreError> {
        self.write_atomically(path.as_ref(), true)
    }

    fn parse(json: &str, path: Option<&Path>) -> Result<Self, KeystoreError> {
        /// Just enough to explain why a file that is not EIP-2335 failed to parse.
        #[derive(Deserialize)]
        struct VersionProbe {
            version: Option<u64>,
        }

        let keystore: Self = match serde_json::from_str(json) {
            Ok(keystore) => keystore,
            Err(source) => {
                if let Ok(VersionProbe {
                    version: Some(version),
                }) = serde_json::from_str(json)
                    && version != u64::from(VERSION)
                {
                    return Err(KeystoreError::UnsupportedVersion(version));
                }
                return Err(KeystoreError::Json {
                    path: path.map(Path::to_path_buf),
                    source,
                });
            }
        };
        if keystore.version != VERSION {
            return Err(KeystoreError::UnsupportedVersion(keystore.version.into()));
        }
        Ok(keystore)
    }

    fn write_atomically(&self, path: &Path, overwrite: bool) -> Result<(), KeystoreError> {
        let io_error = |source| KeystoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut json = self.to_json_string()?;
        json.push('\n');
        let dir = match path.parent() {
            Some(dir) if !dir.as_os_str().is_empty() => dir,
            _ => Path::new("."),
        };

        let mut temp = tempfile::Builder::new()
            .prefix(".keystore-")
            .suffix(".tmp")
            .tempfile_in(dir)
            .map_err(io_error)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            // tempfile already creates files 0600; this states the requirement rather than
            // relying on a library default.
            temp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(0o600))
                .map_err(io_error)?;
        }
        temp.write_all(json.as_bytes()).map_err(io_error)?;
        temp.as_file().sync_all().map_err(io_error)?;

        let persisted = if overwrite {
            temp.persist(path)
        } else {
            temp.persist_noclobber(path)
        };
        // On failure the temporary file is deleted when the error is dropped.
        persisted.map_err(|err| {
            if !overwrite && err.error.kind() == io::ErrorKind::AlreadyExists {
                KeystoreError::AlreadyExists {
                    path: path.to_path_buf(),
                }
            } else {
                io_error(err.error)
            }
        })?;

        // Make the rename itself durable. Best effort: the keystore is complete and in place
        // either way, and some filesystems do not support syncing a directory.
        #[cfg(unix)]
        if let Ok(dir) = File::open(dir) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

/// A parsed, bounds-checked KDF module.
enum Kdf {
    Scrypt { params: ScryptParams, salt: Vec<u8> },
    Pbkdf2 { c: u32, salt: Vec<u8> },
}

impl Kdf {
    fn from_module(module: &CryptoModule) -> Result<Self, KeystoreError> {
        let params = &module.params;
        match module.function.as_str() {
            "scrypt" => {
                check_dklen(param_u64(params, "dklen", "crypto.kdf.params.dklen")?)?;
                let n = param_u64(params, "n", "crypto.kdf.params.n")?;
                let r = param_u64(params, "r", "crypto.kdf.params.r")?;
                let p = param_u64(params, "p", "crypto.kdf.params.p")?;
                check_scrypt(n, r, p)?;
                let params = ScryptParams {
                    n: narrow(n)?,
                    r: narrow(r)?,
                    p: narrow(p)?,
                };
                Ok(Self::Scrypt {
                    params,
                    salt: salt(&module.params)?,
                })
            }
            "pbkdf2" => {
                check_dklen(param_u64(params, "dklen", "crypto.kdf.params.dklen")?)?;
                let prf = param_str(params, "prf", "crypto.kdf.params.prf")?;
                if prf != "hmac-sha256" {
                    return Err(KeystoreError::UnsupportedKdf(format!(
                        "pbkdf2 with prf {prf:?}"
                    )));
                }
                let c = param_u64(params, "c", "crypto.kdf.params.c")?;
                if !(1..=PBKDF2_MAX_C).contains(&c) {
                    return Err(KeystoreError::KdfParamsOutOfRange(format!(
                        "pbkdf2 iteration count c = {c} is outside 1..={PBKDF2_MAX_C}"
                    )));
                }
                Ok(Self::Pbkdf2 {
                    c: narrow(c)?,
                    salt: salt(&module.params)?,
                })
            }
            other => Err(KeystoreError::UnsupportedKdf(other.to_owned())),
        }
    }

    fn derive(&self, password: &[u8]) -> Result<Zeroizing<[u8; DKLEN]>, KeystoreError> {
        let mut key = Zeroizing::new([0u8; DKLEN]);
        match self {
            Self::Scrypt { params, salt } => {
                let log_n = params.n.trailing_zeros() as u8;
                let scrypt_params =
                    scrypt::Params::new(log_n, params.r, params.p, DKLEN).map_err(|_| {
                        KdfParamsOutOfRange(format!(
                            "scrypt rejects n = {}, r = {}, p = {} (n must be below 2^(16·r))",
                            params.n, params.r, params.p
                        ))
                    })?;
                scrypt::scrypt(password, salt, &scrypt_params, key.as_mut()).map_err(|_| {
                    KdfParamsOutOfRange(format!("scrypt rejects a {DKLEN}-byte output"))
                })?;
            }
            Self::Pbkdf2 { c, salt } => {
                pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, *c, key.as_mut());
            }
        }
        Ok(key)
    }

    fn to_module(&self) -> CryptoModule {
        let mut params = Map::new();
        params.insert("dklen".to_owned(), DKLEN.into());
        let (function, salt) = match self {
            Self::Scrypt {
                params: scrypt,
                salt,
            } => {
                params.insert("n".to_owned(), scrypt.n.into());
                params.insert("r".to_owned(), scrypt.r.into());
                params.insert("p".to_owned(), scrypt.p.into());
                ("scrypt", salt)
            }
            Self::Pbkdf2 { c, salt } => {
                params.insert("c".to_owned(), (*c).into());
                params.insert("prf".to_owned(), "hmac-sha256".into());
                ("pbkdf2", salt)
            }
        };
        params.insert("salt".to_owned(), hex::encode(salt).into());
        CryptoModule {
            function: function.to_owned(),
            params,
            message: String::new(),
        }
    }
}

fn check_dklen(dklen: u64) -> Result<(), KeystoreError> {
    if dklen != DKLEN as u64 {
        return Err(KdfParamsOutOfRange(format!(
            "dklen = {dklen}, but a BLS keystore's decryption key is {DKLEN} bytes"
        )));
    }
    Ok(())
}

fn check_scrypt(n: u64, r: u64, p: u64) -> Result<(), KeystoreError> {
    if n < 2 || !n.is_power_of_two() {
        return Err(KdfParamsOutOfRange(format!(
            "scrypt n = {n} is not a power of two greater than 1"
        )));
    }
    if n > SCRYPT_MAX_N {
        return Err(KdfParamsOutOfRange(format!(
            "scrypt n = {n} exceeds the limit {SCRYPT_MAX_N} (2^20)"
        )));
    }
    if !(1..=SCRYPT_MAX_R).contains(&r) {
        return Err(KdfParamsOutOfRange(format!(
            "scrypt r = {r} is outside 1..={SCRYPT_MAX_R}"
        )));
    }
    if !(1..=SCRYPT_MAX_P).contains(&p) {
        return Err(KdfParamsOutOfRange(format!(
            "scrypt p = {p} is outside 1..={SCRYPT_MAX_P}"
        )));
    }
    // The individual bounds keep these products far from overflowing.
    let memory = 128 * n * r;
    if memory > SCRYPT_MAX_MEMORY {
        return Err(KdfParamsOutOfRange(format!(
            "scrypt n = {n}, r = {r} would need {} MiB of memory, over the {} MiB limit",
            memory >> 20,
            SCRYPT_MAX_MEMORY >> 20
        )));
    }
    if n * r * p > SCRYPT_MAX_WORK {
        return Err(KdfParamsOutOfRange(format!(
            "scrypt n·r·p = {} exceeds the work limit {SCRYPT_MAX_WORK}",
            n * r * p
        )));
    }
    Ok(())
}

/// Narrows an already range-checked KDF parameter.
fn narrow(value: u64) -> Result<u32, KeystoreError> {
    u32::try_from(value)
        .map_err(|_| KdfParamsOutOfRange(format!("{value} does not fit in 32 bits")))
}

fn salt(params: &Map<String, Value>) -> Result<Vec<u8>, KeystoreError> {
    const FIELD: &str = "crypto.kdf.params.salt";
    let salt = hex::decode(param_str(params, "salt", FIELD)?).map_err(|source| {
        KeystoreError::InvalidHex {
            field: FIELD,
            source,
        }
    })?;
    if salt.len() > MAX_SALT_LEN {
        return Err(KdfParamsOutOfRange(format!(
            "the salt is {} bytes, over the {MAX_SALT_LEN}-byte limit",
            salt.len()
        )));
    }
    Ok(salt)
}

fn param<'a>(
    params: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<&'a Value, KeystoreError> {
    params.get(key).ok_or_else(|| KeystoreError::InvalidField {
        field,
        reason: "missing".to_owned(),
    })
}

fn param_u64(
    params: &Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<u64, KeystoreError> {
    param(params, key, field)?
        .as_u64()
        .ok_or_else(|| KeystoreError::InvalidField {
            field,
            reason: "must be a non-negative integer".to_owned(),
        })
}

fn param_str<'a>(
    params: &'a Map<String, Value>,
    key: &str,
    field: &'static str,
) -> Result<&'a str, KeystoreError> {
    param(params, key, field)?
        .as_str()
        .ok_or_else(|| KeystoreError::InvalidField {
            field,
            reason: "must be a string".to_owned(),
        })
}

fn decode_hex_exact<const N: usize>(
    hex_str: &str,
    field: &'static str,
) -> Result<[u8; N], KeystoreError> {
    let bytes =
        hex::decode(hex_str).map_err(|source| KeystoreError::InvalidHex { field, source })?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| KeystoreError::InvalidField {
        field,
        reason: format!("expected {N} bytes, found {}", bytes.len()),
    })
}

/// EIP-2335 checksum: `SHA-256(decryption_key[16..32] ‖ ciphertext)`.
fn checksum(decryption_key: &[u8; DKLEN], ciphertext: &[u8]) -> [u8; CHECKSUM_LEN] {
    Sha256::new()
        .chain_update(&decryption_key[16..])
        .chain_update(ciphertext)
        .finalize()
        .into()
}

/// AES-128-CTR with the first half of the decryption key; encryption and decryption are the same.
fn apply_aes_128_ctr(decryption_key: &[u8; DKLEN], iv: &[u8; IV_LEN], buffer: &mut [u8]) {
    let (aes_key, _) = decryption_key.split_at(16);
    let mut cipher = Aes128Ctr::new(aes_key.into(), iv.into());
    cipher.apply_keystream(buffer);
}
