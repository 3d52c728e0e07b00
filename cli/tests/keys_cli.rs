//! `warden keys new` as a user runs it: both keystores load back and are readable by their owner
//! only.

// Test code: a failed unwrap is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use warden_keys::{KeystorePaths, OperatorKeys};

#[test]
fn keys_new_writes_every_key_file_with_mode_0600() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, "correct horse battery staple\n").unwrap();
    let keys = dir.path().join("keys");
    let output = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["keys", "new"])
        .arg(&keys)
        .arg("--password-file")
        .arg(&password_file)
        .env_remove("WARDEN_KEYSTORE_PASSWORD")
        .output()
        .unwrap();
    assert!(output.status.success(), "{output:?}");

    let paths = KeystorePaths::in_dir(&keys);
    let mut written: Vec<_> = std::fs::read_dir(&keys)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    written.sort();
    assert_eq!(written, vec![paths.bls.clone(), paths.ecdsa.clone()]);
    for path in &written {
        let mode = std::fs::metadata(path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600, "{}", path.display());
    }
    let loaded = OperatorKeys::unlock(&paths, Some(&password_file)).unwrap();
    let stdout = String::from_utf8(output.stdout).unwrap();
    assert!(stdout.contains(&loaded.address().to_string()), "{stdout}");

    // A second run refuses to replace the keys.
    let again = Command::new(env!("CARGO_BIN_EXE_warden"))
        .args(["keys", "new"])
        .arg(&keys)
        .arg("--password-file")
        .arg(&password_file)
        .output()
        .unwrap();
    assert!(!again.status.success());
    let kept = OperatorKeys::unlock(&paths, Some(&password_file)).unwrap();
    assert_eq!(kept.address(), loaded.address());
}

/// An EigenLayer operator keeps its ECDSA keystore and adds a BLS key beside it: `warden keys
/// new-account` stands in for the keystore it brings, `warden keys new-bls` adds the BLS key under
/// the same password, and the two load together as an operator's keys. A second run is refused.
#[test]
fn keys_new_bls_joins_an_existing_ecdsa_keystore() {
    let dir = tempfile::tempdir().unwrap();
    let password_file = dir.path().join("password");
    std::fs::write(&password_file, "operator password\n").unwrap();
    let keys = dir.path().join("operator");
    std::fs::create_dir(&keys).unwrap();
    let paths = KeystorePaths::in_dir(&keys);
    let warden = |args: &[&std::ffi::OsStr]| {
        Command::new(env!("CARGO_BIN_EXE_warden"))
            .args(args)
            .arg("--password-file")
            .arg(&password_file)
            .env_remove("WARDEN_KEYSTORE_PASSWORD")
            .output()
            .unwrap()
    };
    let account = warden(&[
        "keys".as_ref(),
        "new-account".as_ref(),
        paths.ecdsa.as_ref(),
    ]);
    assert!(account.status.success(), "{account:?}");
    let added = warden(&["keys".as_ref(), "new-bls".as_ref(), keys.as_ref()]);
    assert!(added.status.success(), "{added:?}");
    let mode = std::fs::metadata(&paths.bls).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let loaded = OperatorKeys::unlock(&paths, Some(&password_file)).unwrap();
    let stdout = String::from_utf8(added.stdout).unwrap();
    assert!(stdout.contains(&loaded.address().to_string()), "{stdout}");
    assert!(
        stdout.contains(&loaded.bls.public_key().to_string()),
        "{stdout}"
    );

    let again = warden(&["keys".as_ref(), "new-bls".as_ref(), keys.as_ref()]);
    assert!(!again.status.success());
    assert!(
        String::from_utf8_lossy(&again.stderr).contains("bls.json"),
        "{again:?}"
    );
}
