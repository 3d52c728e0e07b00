use std::fmt;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, Zeroizing};

use crate::KeystoreError;

/// Environment variable holding the keystore password when no password file is given.
pub const PASSWORD_ENV: &str = "WARDEN_KEYSTORE_PASSWORD";

/// Password files larger than this are refused: no password is this long, and the limit keeps a
/// mistaken path (a log, `/dev/zero`) from being read into memory.
const MAX_PASSWORD_FILE_LEN: u64 = 64 * 1024;

/// A keystore password, wiped from memory when dropped. `Debug` never shows it.
pub struct Password(Zeroizing<String>);

impl Password {
    /// Wraps a password taken as is.
    pub fn new(password: String) -> Self {
        Self(Zeroizing::new(password))
    }

    /// Reads a password file. One trailing line ending (`\n` or `\r\n`) is removed, because editors
    /// and `echo` add one that the person choosing the password did not type; anything else,
    /// including further newlines and surrounding spaces, is part of the password.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, KeystoreError> {
        let path = path.as_ref();
        let io_error = |source| KeystoreError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::open(path).map_err(io_error)?;
        // The buffer is allocated once, large enough for the limit, so that reading never
        // reallocates and leaves unwiped copies of the password behind.
        let mut bytes = Zeroizing::new(Vec::with_capacity(MAX_PASSWORD_FILE_LEN as usize + 1));
        file.take(MAX_PASSWORD_FILE_LEN + 1)
            .read_to_end(&mut bytes)
            .map_err(io_error)?;
        if bytes.len() as u64 > MAX_PASSWORD_FILE_LEN {
            return Err(KeystoreError::FileTooLarge {
                path: path.to_path_buf(),
                limit: MAX_PASSWORD_FILE_LEN,
            });
        }
        let mut password = match String::from_utf8(std::mem::take(&mut *bytes)) {
            Ok(password) => Zeroizing::new(password),
            Err(err) => {
                err.into_bytes().zeroize();
                return Err(KeystoreError::PasswordNotUtf8 {
                    path: path.to_path_buf(),
                });
            }
        };
        let line_ending = if password.ends_with("\r\n") {
            2
        } else if password.ends_with('\n') {
            1
        } else {
            0
        };
        let len = password.len() - line_ending;
        password.truncate(len);
        Ok(Self(password))
    }

    /// The password a service reads: from `file` if given, else from [`PASSWORD_ENV`]. The error
    /// names the file or the variable. Never from a command line, where other users can read it.
    pub fn from_file_or_env(file: Option<&Path>) -> Result<Self, KeystoreError> {
        match file {
            Some(path) => Self::from_file(path),
            None => Self::from_env(PASSWORD_ENV),
        }
    }

    /// Reads a password from the environment variable `name`, taken as is.
    pub fn from_env(name: &str) -> Result<Self, KeystoreError> {
        match std::env::var(name) {
            Ok(password) => Ok(Self::new(password)),
            Err(std::env::VarError::NotPresent) => Err(KeystoreError::PasswordEnvMissing {
                name: name.to_owned(),
            }),
            Err(std::env::VarError::NotUnicode(raw)) => {
                raw.into_encoded_bytes().zeroize();
                Err(KeystoreError::PasswordEnvNotUtf8 {
                    name: name.to_owned(),
                })
            }
        }
    }

    /// The password as given, for handing to other libraries (an ECDSA keystore sharing the same
    /// password file, say). The name is meant to stand out in review.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// The bytes EIP-2335 feeds to the KDF: the NFKD normalisation of the password, minus the C0
    /// (U+0000–U+001F), Delete (U+007F) and C1 (U+0080–U+009F) control codes, UTF-8 encoded.
    pub fn to_eip2335_bytes(&self) -> Zeroizing<Vec<u8>> {
        let kept = || self.0.nfkd().filter(|&c| !is_control_code(c));
        // Sized up front so the buffer never reallocates and strands copies of the password.
        let len = kept().map(char::len_utf8).sum();
        let mut out = Zeroizing::new(Vec::with_capacity(len));
        let mut utf8 = [0u8; 4];
        for c in kept() {
            out.extend_from_slice(c.encode_utf8(&mut utf8).as_bytes());
        }
        utf8.zeroize();
        out
    }
}

impl From<String> for Password {
    fn from(password: String) -> Self {
        Self::new(password)
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

fn is_control_code(c: char) -> bool {
    matches!(u32::from(c), 0x00..=0x1f | 0x7f..=0x9f)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn eip2335_processing_normalises_and_strips_control_codes() {
        // The EIP's test password and its published encoding.
        let password = Password::new("𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑".to_owned());
        assert_eq!(
            hex::encode(password.to_eip2335_bytes().as_slice()),
            "7465737470617373776f7264f09f9491"
        );

        let password = Password::new("a\u{0}b\u{1f}c\u{7f}d\u{80}e\u{9f}f g\u{a0}".to_owned());
        // Space survives; NFKD turns the no-break space U+00A0 into a plain space.
        assert_eq!(password.to_eip2335_bytes().as_slice(), b"abcdef g ");
    }

    #[test]
    fn the_password_file_wins_over_the_environment() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("password");
        std::fs::write(&path, "correct horse\n").unwrap();
        let password = Password::from_file_or_env(Some(&path)).unwrap();
        assert_eq!(password.expose_secret(), "correct horse");
    }

    #[test]
    fn a_missing_password_file_is_named_in_the_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("absent");
        let error = Password::from_file_or_env(Some(&path)).unwrap_err();
        assert!(error.to_string().contains("absent"), "{error}");
    }

    #[test]
    fn debug_is_redacted() {
        let password = Password::new("hunter2".to_owned());
        let shown = format!("{password:?}");
        assert_eq!(shown, "Password(<redacted>)");
        assert!(!shown.contains("hunter2"));
    }
}
