#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use warden_bls::SecretKey;
use warden_keys::{Keystore, KeystoreError, Password, SIGNING_KEY_PATH, ScryptParams};

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn fast_keystore(seed: u64, password: &str) -> (SecretKey, Keystore) {
    let mut rng = rng(seed);
    let secret_key = SecretKey::random(&mut rng);
    let keystore = Keystore::encrypt(
        &secret_key,
        &Password::new(password.to_owned()),
        ScryptParams::insecure_fast_for_tests(),
        &mut rng,
    )
    .unwrap();
    (secret_key, keystore)
}

/// Edits the keystore's JSON and parses it back.
fn edited(keystore: &Keystore, edit: impl FnOnce(&mut Value)) -> Keystore {
    let mut value = serde_json::to_value(keystore).unwrap();
    edit(&mut value);
    Keystore::from_json_str(&value.to_string()).unwrap()
}

type Edit = Box<dyn Fn(&mut Value)>;

fn decrypt(keystore: &Keystore, password: &str) -> Result<SecretKey, KeystoreError> {
    keystore.decrypt(&Password::new(password.to_owned()))
}

fn same_key(a: &SecretKey, b: &SecretKey) -> bool {
    a.to_bytes() == b.to_bytes()
}

#[test]
fn encrypt_save_load_decrypt_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keystore.json");
    let (secret_key, keystore) = fast_keystore(1, "correct horse battery staple");
    keystore.save(&path).unwrap();

    let loaded = Keystore::load(&path).unwrap();
    assert_eq!(loaded, keystore);
    let decrypted = decrypt(&loaded, "correct horse battery staple").unwrap();
    assert!(same_key(&decrypted, &secret_key));
    assert_eq!(loaded.public_key().unwrap(), Some(secret_key.public_key()));

    // Nothing but the keystore is left in the directory.
    let entries: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(entries.len(), 1);

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}

#[test]
fn encrypted_keystore_has_the_eip_shape() {
    let (secret_key, keystore) = fast_keystore(2, "pw");
    let value = serde_json::to_value(&keystore).unwrap();
    assert_eq!(value["version"], 4);
    // A strict EIP-2335 reader refuses an empty path; this one is an EIP-2334 signing-key path.
    assert_eq!(value["path"], SIGNING_KEY_PATH);
    let components: Vec<u32> = SIGNING_KEY_PATH
        .strip_prefix("m/")
        .unwrap()
        .split('/')
        .map(|index| index.parse().unwrap())
        .collect();
    assert_eq!(components, [12381, 3600, 0, 0, 0]);
    assert_eq!(value["crypto"]["kdf"]["function"], "scrypt");
    assert_eq!(value["crypto"]["kdf"]["message"], "");
    assert_eq!(value["crypto"]["kdf"]["params"]["dklen"], 32);
    assert_eq!(value["crypto"]["kdf"]["params"]["n"], 16);
    assert_eq!(value["crypto"]["kdf"]["params"]["r"], 8);
    assert_eq!(value["crypto"]["kdf"]["params"]["p"], 1);
    assert_eq!(
        value["crypto"]["kdf"]["params"]["salt"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert_eq!(value["crypto"]["checksum"]["function"], "sha256");
    assert_eq!(value["crypto"]["checksum"]["params"], json!({}));
    assert_eq!(
        value["crypto"]["checksum"]["message"]
            .as_str()
            .unwrap()
            .len(),
        64
    );
    assert_eq!(value["crypto"]["cipher"]["function"], "aes-128-ctr");
    assert_eq!(
        value["crypto"]["cipher"]["params"]["iv"]
            .as_str()
            .unwrap()
            .len(),
        32
    );
    assert_eq!(
        value["crypto"]["cipher"]["message"].as_str().unwrap().len(),
        64
    );
    assert_eq!(
        value["pubkey"],
        hex::encode(secret_key.public_key().to_compressed())
    );
    assert!(value.get("description").is_none());
    assert_eq!(keystore.uuid.get_version_num(), 4);

    // The ciphertext is not the plaintext.
    assert_ne!(
        value["crypto"]["cipher"]["message"],
        hex::encode(secret_key.to_bytes().as_ref())
    );
}

#[test]
fn encryptions_use_fresh_randomness() {
    let secret_key = SecretKey::random(rng(3));
    let password = Password::new("pw".to_owned());
    let mut rng = rng(4);
    let params = ScryptParams::insecure_fast_for_tests();
    let a = Keystore::encrypt(&secret_key, &password, params, &mut rng).unwrap();
    let b = Keystore::encrypt(&secret_key, &password, params, &mut rng).unwrap();
    assert_ne!(a.uuid, b.uuid);
    assert_ne!(a.crypto.kdf.params["salt"], b.crypto.kdf.params["salt"]);
    assert_ne!(a.crypto.cipher.message, b.crypto.cipher.message);
}

#[test]
fn save_refuses_to_overwrite_but_save_overwrite_replaces() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("keystore.json");
    let (first_key, first) = fast_keystore(5, "pw");
    let (second_key, second) = fast_keystore(6, "pw");
    first.save(&path).unwrap();

    let err = second.save(&path).unwrap_err();
    assert!(matches!(err, KeystoreError::AlreadyExists { .. }), "{err}");
    assert!(same_key(
        &decrypt(&Keystore::load(&path).unwrap(), "pw").unwrap(),
        &first_key
    ));

    second.save_overwrite(&path).unwrap();
    assert!(same_key(
        &decrypt(&Keystore::load(&path).unwrap(), "pw").unwrap(),
        &second_key
    ));
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
}

#[test]
fn io_errors_name_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope").join("keystore.json");
    let err = Keystore::load(&missing).unwrap_err();
    assert!(matches!(err, KeystoreError::Io { ref path, .. } if path == &missing));
    assert!(err.to_string().contains("keystore.json"));

    let (_, keystore) = fast_keystore(7, "pw");
    assert!(matches!(
        keystore.save(&missing),
        Err(KeystoreError::Io { .. })
    ));
}

#[test]
fn oversized_files_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big.json");
    std::fs::write(&path, vec![b' '; 1024 * 1024 + 1]).unwrap();
    assert!(matches!(
        Keystore::load(&path),
        Err(KeystoreError::FileTooLarge { .. })
    ));
    assert!(matches!(
        Password::from_file(&path),
        Err(KeystoreError::FileTooLarge { .. })
    ));
}

#[test]
fn wrong_password_is_reported_as_such() {
    let (_, keystore) = fast_keystore(8, "right");
    assert!(matches!(
        decrypt(&keystore, "wrong"),
        Err(KeystoreError::WrongPassword)
    ));
    assert!(matches!(
        decrypt(&keystore, "Right"),
        Err(KeystoreError::WrongPassword)
    ));
}

#[test]
fn tampered_ciphertext_or_checksum_is_detected() {
    let (_, keystore) = fast_keystore(9, "pw");
    let flip_first_digit = |s: &str| {
        let first = if s.starts_with('0') { '1' } else { '0' };
        format!("{first}{}", &s[1..])
    };

    let tampered = edited(&keystore, |v| {
        let message = v["crypto"]["cipher"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        v["crypto"]["cipher"]["message"] = flip_first_digit(&message).into();
    });
    assert!(matches!(
        decrypt(&tampered, "pw"),
        Err(KeystoreError::WrongPassword)
    ));

    let tampered = edited(&keystore, |v| {
        let message = v["crypto"]["checksum"]["message"]
            .as_str()
            .unwrap()
            .to_owned();
        v["crypto"]["checksum"]["message"] = flip_first_digit(&message).into();
    });
    assert!(matches!(
        decrypt(&tampered, "pw"),
        Err(KeystoreError::WrongPassword)
    ));

    // Changing the salt changes the derived key.
    let tampered = edited(&keystore, |v| {
        let salt = v["crypto"]["kdf"]["params"]["salt"]
            .as_str()
            .unwrap()
            .to_owned();
        v["crypto"]["kdf"]["params"]["salt"] = flip_first_digit(&salt).into();
    });
    assert!(matches!(
        decrypt(&tampered, "pw"),
        Err(KeystoreError::WrongPassword)
    ));
}

#[test]
fn hostile_kdf_parameters_are_refused_before_any_work() {
    let (_, keystore) = fast_keystore(10, "pw");
    let scrypt_cases = [
        ("n", json!(1u64 << 30)),
        ("n", json!(1u64 << 21)),
        ("n", json!(u64::MAX)),
        ("n", json!(3)),
        ("n", json!(1)),
        ("n", json!(0)),
        ("r", json!(0)),
        ("r", json!(1u64 << 20)),
        ("p", json!(0)),
        ("p", json!(1u64 << 20)),
        ("dklen", json!(64)),
        ("dklen", json!(16)),
    ];
    for (field, value) in scrypt_cases {
        let hostile = edited(&keystore, |v| {
            v["crypto"]["kdf"]["params"][field] = value.clone();
        });
        let err = decrypt(&hostile, "pw").unwrap_err();
        assert!(
            matches!(err, KeystoreError::KdfParamsOutOfRange(_)),
            "{field} = {value}: {err}"
        );
    }

    // Individually acceptable values whose combination would need 2 GiB.
    let hostile = edited(&keystore, |v| {
        v["crypto"]["kdf"]["params"]["n"] = json!(1u64 << 20);
        v["crypto"]["kdf"]["params"]["r"] = json!(16);
    });
    assert!(matches!(
        decrypt(&hostile, "pw"),
        Err(KeystoreError::KdfParamsOutOfRange(_))
    ));
    // ... or too much work.
    let hostile = edited(&keystore, |v| {
        v["crypto"]["kdf"]["params"]["n"] = json!(1u64 << 20);
        v["crypto"]["kdf"]["params"]["p"] = json!(16);
    });
    assert!(matches!(
        decrypt(&hostile, "pw"),
        Err(KeystoreError::KdfParamsOutOfRange(_))
    ));

    let hostile_pbkdf2 = edited(&keystore, |v| {
        v["crypto"]["kdf"] = json!({
            "function": "pbkdf2",
            "params": { "dklen": 32, "c": 1u64 << 40, "prf": "hmac-sha256", "salt": "00" },
            "message": ""
        });
    });
    assert!(matches!(
        decrypt(&hostile_pbkdf2, "pw"),
        Err(KeystoreError::KdfParamsOutOfRange(_))
    ));

    let huge_salt = edited(&keystore, |v| {
        v["crypto"]["kdf"]["params"]["salt"] = "ab".repeat(4096).into();
    });
    assert!(matches!(
        decrypt(&huge_salt, "pw"),
        Err(KeystoreError::KdfParamsOutOfRange(_))
    ));
}

#[test]
fn malformed_parameters_are_reported_by_field() {
    let (_, keystore) = fast_keystore(11, "pw");
    let cases: [(&str, Edit); 5] = [
        (
            "crypto.kdf.params.n",
            Box::new(|v| v["crypto"]["kdf"]["params"]["n"] = "16".into()),
        ),
        (
            "crypto.kdf.params.r",
            Box::new(|v| {
                v["crypto"]["kdf"]["params"]
                    .as_object_mut()
                    .unwrap()
                    .remove("r");
            }),
        ),
        (
            "crypto.cipher.params.iv",
            Box::new(|v| v["crypto"]["cipher"]["params"]["iv"] = "00".into()),
        ),
        (
            "crypto.cipher.message",
            Box::new(|v| v["crypto"]["cipher"]["message"] = "00".into()),
        ),
        (
            "crypto.checksum.message",
            Box::new(|v| v["crypto"]["checksum"]["message"] = "".into()),
        ),
    ];
    for (expected, edit) in cases {
        let broken = edited(&keystore, edit);
        match decrypt(&broken, "pw") {
            Err(KeystoreError::InvalidField { field, .. }) => assert_eq!(field, expected),
            other => panic!("{expected}: {other:?}"),
        }
    }

    let bad_hex = edited(&keystore, |v| {
        v["crypto"]["cipher"]["params"]["iv"] = "zz".into()
    });
    assert!(matches!(
        decrypt(&bad_hex, "pw"),
        Err(KeystoreError::InvalidHex {
            field: "crypto.cipher.params.iv",
            ..
        })
    ));
}

#[test]
fn unsupported_functions_are_named() {
    let (_, keystore) = fast_keystore(12, "pw");

    let argon = edited(&keystore, |v| {
        v["crypto"]["kdf"]["function"] = "argon2id".into()
    });
    match decrypt(&argon, "pw") {
        Err(KeystoreError::UnsupportedKdf(name)) => assert_eq!(name, "argon2id"),
        other => panic!("{other:?}"),
    }
    // A keystore with an unknown KDF still loads, so its public key can be listed.
    assert!(argon.public_key().unwrap().is_some());

    let sha512 = edited(&keystore, |v| {
        v["crypto"]["kdf"] = json!({
            "function": "pbkdf2",
            "params": { "dklen": 32, "c": 2, "prf": "hmac-sha512", "salt": "00" },
            "message": ""
        });
    });
    assert!(matches!(
        decrypt(&sha512, "pw"),
        Err(KeystoreError::UnsupportedKdf(_))
    ));

    let gcm = edited(&keystore, |v| {
        v["crypto"]["cipher"]["function"] = "aes-256-gcm".into()
    });
    assert!(matches!(
        decrypt(&gcm, "pw"),
        Err(KeystoreError::UnsupportedCipher(name)) if name == "aes-256-gcm"
    ));

    let keccak = edited(&keystore, |v| {
        v["crypto"]["checksum"]["function"] = "keccak256".into()
    });
    assert!(matches!(
        decrypt(&keccak, "pw"),
        Err(KeystoreError::UnsupportedChecksum(name)) if name == "keccak256"
    ));
}

#[test]
fn other_versions_and_malformed_json_are_rejected() {
    // The shape of an execution-layer (version 3) keystore.
    let v3 = r#"{"address":"0000000000000000000000000000000000000000","crypto":{"cipher":"aes-128-ctr","ciphertext":"00","cipherparams":{"iv":"00"},"kdf":"scrypt","kdfparams":{},"mac":"00"},"id":"3198bc9c-6672-5ab3-d995-4942343ae5b6","version":3}"#;
    assert!(matches!(
        Keystore::from_json_str(v3),
        Err(KeystoreError::UnsupportedVersion(3))
    ));

    let (_, keystore) = fast_keystore(13, "pw");
    let mut value = serde_json::to_value(&keystore).unwrap();
    value["version"] = json!(5);
    assert!(matches!(
        Keystore::from_json_str(&value.to_string()),
        Err(KeystoreError::UnsupportedVersion(5))
    ));

    assert!(matches!(
        Keystore::from_json_str("{not json"),
        Err(KeystoreError::Json { path: None, .. })
    ));
    assert!(matches!(
        Keystore::from_json_str(r#"{"version": 4}"#),
        Err(KeystoreError::Json { .. })
    ));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("broken.json");
    std::fs::write(&path, "[]").unwrap();
    let err = Keystore::load(&path).unwrap_err();
    assert!(matches!(err, KeystoreError::Json { path: Some(ref p), .. } if p == &path));
    assert!(err.to_string().contains("broken.json"), "{err}");
}

#[test]
fn pubkey_field_must_match_the_decrypted_key() {
    let (_, keystore) = fast_keystore(14, "pw");
    let other = SecretKey::random(rng(15)).public_key();
    let mismatched = edited(&keystore, |v| {
        v["pubkey"] = hex::encode(other.to_compressed()).into();
    });
    match decrypt(&mismatched, "pw") {
        Err(KeystoreError::PubkeyMismatch { expected, .. }) => {
            assert_eq!(expected, other.to_string());
        }
        other => panic!("{other:?}"),
    }

    let invalid = edited(&keystore, |v| v["pubkey"] = "1234".into());
    assert!(matches!(
        decrypt(&invalid, "pw"),
        Err(KeystoreError::InvalidPubkey(_))
    ));

    // The field is optional.
    let (secret_key, keystore) = fast_keystore(16, "pw");
    let anonymous = edited(&keystore, |v| {
        v.as_object_mut().unwrap().remove("pubkey");
    });
    assert_eq!(anonymous.public_key().unwrap(), None);
    assert!(same_key(&decrypt(&anonymous, "pw").unwrap(), &secret_key));
}

#[test]
fn a_valid_checksum_over_an_invalid_scalar_is_invalid_key() {
    // Hand-build a keystore around the all-zero "secret key", with a correct checksum.
    let (_, template) = fast_keystore(17, "pw");
    let salt = hex::decode(template.crypto.kdf.params["salt"].as_str().unwrap()).unwrap();
    let mut decryption_key = [0u8; 32];
    scrypt::scrypt(
        b"pw",
        &salt,
        &scrypt::Params::new(4, 8, 1, 32).unwrap(),
        &mut decryption_key,
    )
    .unwrap();
    let iv = hex::decode(template.crypto.cipher.params["iv"].as_str().unwrap()).unwrap();
    let mut ciphertext = [0u8; 32];
    {
        use ctr::cipher::{KeyIvInit, StreamCipher};
        let mut cipher =
            ctr::Ctr128BE::<aes::Aes128>::new(decryption_key[..16].into(), iv.as_slice().into());
        cipher.apply_keystream(&mut ciphertext);
    }
    let checksum = Sha256::new()
        .chain_update(&decryption_key[16..])
        .chain_update(ciphertext)
        .finalize();
    let forged = edited(&template, |v| {
        v["crypto"]["cipher"]["message"] = hex::encode(ciphertext).into();
        v["crypto"]["checksum"]["message"] = hex::encode(checksum).into();
        v.as_object_mut().unwrap().remove("pubkey");
    });
    assert!(matches!(
        decrypt(&forged, "pw"),
        Err(KeystoreError::InvalidKey)
    ));
}

#[test]
fn empty_password_is_refused_for_encryption() {
    let secret_key = SecretKey::random(rng(18));
    for password in ["", "\u{0}\u{7f}\n"] {
        assert!(matches!(
            Keystore::encrypt(
                &secret_key,
                &Password::new(password.to_owned()),
                ScryptParams::insecure_fast_for_tests(),
                rng(19),
            ),
            Err(KeystoreError::EmptyPassword)
        ));
    }
}

#[test]
fn control_codes_do_not_change_the_password() {
    // EIP-2335 strips control codes, so a password typed with a stray DEL or tab decrypts.
    let (secret_key, keystore) = fast_keystore(20, "pass word");
    let decrypted = decrypt(&keystore, "pass\u{7f} \tword\u{85}").unwrap();
    assert!(same_key(&decrypted, &secret_key));
}

fn write(dir: &Path, name: &str, contents: &[u8]) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, contents).unwrap();
    path
}

#[test]
fn password_file_loses_exactly_one_trailing_line_ending() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&[u8], &str); 7] = [
        (b"secret\n", "secret"),
        (b"secret\r\n", "secret"),
        (b"secret", "secret"),
        (b"secret\n\n", "secret\n"),
        (b" secret \n", " secret "),
        (b"\n", ""),
        (b"", ""),
    ];
    for (i, (contents, expected)) in cases.into_iter().enumerate() {
        let path = write(dir.path(), &format!("pw{i}"), contents);
        assert_eq!(
            Password::from_file(&path).unwrap().expose_secret(),
            expected
        );
    }

    let (secret_key, keystore) = fast_keystore(21, "secret");
    let path = write(dir.path(), "password.txt", b"secret\n");
    let decrypted = keystore
        .decrypt(&Password::from_file(&path).unwrap())
        .unwrap();
    assert!(same_key(&decrypted, &secret_key));
}

#[test]
fn password_file_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    assert!(matches!(
        Password::from_file(&missing),
        Err(KeystoreError::Io { ref path, .. }) if path == &missing
    ));
    let path = write(dir.path(), "latin1", b"caf\xe9\n");
    assert!(matches!(
        Password::from_file(&path),
        Err(KeystoreError::PasswordNotUtf8 { .. })
    ));
}

#[test]
fn password_from_env() {
    let missing = "WARDEN_BLS_TEST_SURELY_UNSET_VARIABLE_7f3a";
    match Password::from_env(missing) {
        Err(KeystoreError::PasswordEnvMissing { name }) => assert_eq!(name, missing),
        other => panic!("{other:?}"),
    }
    // Setting variables is unsafe in edition 2024, so read one that is already set.
    if let Some((name, value)) = std::env::vars().next() {
        assert_eq!(Password::from_env(&name).unwrap().expose_secret(), value);
    }
}

#[test]
fn debug_output_never_shows_secrets() {
    let password = Password::new("hunter2-very-secret".to_owned());
    assert!(!format!("{password:?}").contains("hunter2"));
    assert!(!format!("{password:#?}").contains("hunter2"));

    let (secret_key, keystore) = fast_keystore(22, "hunter2-very-secret");
    let secret_hex = hex::encode(secret_key.to_bytes().as_ref());
    for shown in [format!("{secret_key:?}"), format!("{keystore:?}")] {
        assert!(!shown.contains(&secret_hex));
        assert!(!shown.contains("hunter2"));
    }
}

#[test]
fn scrypt_params() {
    let default = ScryptParams::default();
    assert_eq!((default.n(), default.r(), default.p()), (262_144, 8, 1));
    let fast = ScryptParams::insecure_fast_for_tests();
    assert!(fast.n() <= 1024);
    assert!(ScryptParams::new(1 << 18, 8, 1).is_ok());
    assert!(matches!(
        ScryptParams::new(1 << 21, 8, 1),
        Err(KeystoreError::KdfParamsOutOfRange(_))
    ));
    assert!(matches!(
        ScryptParams::new(1000, 8, 1),
        Err(KeystoreError::KdfParamsOutOfRange(_))
    ));
}

#[test]
fn error_messages_are_actionable() {
    assert!(
        KeystoreError::WrongPassword
            .to_string()
            .contains("wrong password")
    );
    let err = KeystoreError::UnsupportedKdf("argon2id".to_owned());
    assert!(err.to_string().contains("argon2id") && err.to_string().contains("scrypt"));
}
