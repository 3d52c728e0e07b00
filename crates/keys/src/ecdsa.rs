//! Web3 Secret Storage (keystore v3) for the ECDSA keys that send transactions, through alloy's
//! implementation, written the way [`Keystore::save`](crate::Keystore::save) writes: mode 0600,
//! never over an existing file, and never half-written at the destination.

use std::io;
use std::path::Path;

use alloy::signers::local::PrivateKeySigner;
use rand::{CryptoRng, RngCore};

use crate::{KeyError, Password};

/// Decrypts the keystore at `path`. Key derivation is deliberately slow: call this off the async
/// workers (`spawn_blocking`).
pub fn load(path: &Path, password: &Password) -> Result<PrivateKeySigner, KeyError> {
    PrivateKeySigner::decrypt_keystore(path, password.expose_secret()).map_err(|source| {
        KeyError::Ecdsa {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Generates a key and writes it, encrypted under `password`, to `path` with mode 0600.
///
/// alloy writes keystores with the process's default mode (usually 0644) and replaces files, so
/// the keystore is written into a private (0700) temporary directory beside `path` first, then
/// moved into place without replacing anything: another user never gets to read it, and an
/// existing key is never lost.
pub fn create<R: RngCore + CryptoRng>(
    path: &Path,
    password: &Password,
    rng: &mut R,
) -> Result<PrivateKeySigner, KeyError> {
    let (dir, name) = match (path.parent(), path.file_name()) {
        (Some(dir), Some(name)) => (
            if dir.as_os_str().is_empty() {
                Path::new(".")
            } else {
                dir
            },
            name,
        ),
        _ => return Err(KeyError::BadPath(path.to_path_buf())),
    };
    if path.exists() {
        return Err(KeyError::AlreadyExists {
            path: path.to_path_buf(),
        });
    }
    let io_error = |source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    };
    let staging = tempfile::Builder::new()
        .prefix(".keystore-")
        .tempdir_in(dir)
        .map_err(io_error)?;
    let staged = staging.path().join(name);
    let name = name
        .to_str()
        .ok_or_else(|| KeyError::BadPath(path.to_path_buf()))?;
    let (signer, _uuid) =
        PrivateKeySigner::new_keystore(staging.path(), rng, password.expose_secret(), Some(name))
            .map_err(|source| KeyError::Ecdsa {
            path: path.to_path_buf(),
            source,
        })?;
    restrict_to_owner(&staged).map_err(io_error)?;
    std::fs::File::open(&staged)
        .and_then(|file| file.sync_all())
        .map_err(io_error)?;
    move_without_replacing(&staged, path)?;
    Ok(signer)
}

#[cfg(unix)]
fn restrict_to_owner(path: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}

#[cfg(not(unix))]
fn restrict_to_owner(_path: &Path) -> io::Result<()> {
    Ok(())
}

/// A hard link fails if the destination exists, which a rename would silently replace; the staged
/// name disappears with its directory.
fn move_without_replacing(from: &Path, to: &Path) -> Result<(), KeyError> {
    std::fs::hard_link(from, to).map_err(|source| {
        if source.kind() == io::ErrorKind::AlreadyExists {
            KeyError::AlreadyExists {
                path: to.to_path_buf(),
            }
        } else {
            KeyError::Io {
                path: to.to_path_buf(),
                source,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_created_keystore_loads_back_is_private_and_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ecdsa.json");
        let password = Password::new("correct horse".into());
        let created = create(&path, &password, &mut rand::thread_rng()).unwrap();
        assert_eq!(load(&path, &password).unwrap().address(), created.address());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = create(&path, &password, &mut rand::thread_rng()).unwrap_err();
        assert!(matches!(again, KeyError::AlreadyExists { .. }), "{again}");
        assert_eq!(load(&path, &password).unwrap().address(), created.address());
        // Only the keystore is left: no staging directory.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let wrong = load(&path, &Password::new("wrong".into())).unwrap_err();
        assert!(matches!(wrong, KeyError::Ecdsa { .. }), "{wrong}");
    }
}
