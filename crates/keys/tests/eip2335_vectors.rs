#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! The test vectors published in EIP-2335 ("Test Cases"), copied verbatim from
//! https://eips.ethereum.org/EIPS/eip-2335 (ethereum/ERCs, ERCS/erc-2335.md).

use warden_bls::{PublicKey, SecretKey};
use warden_keys::{Keystore, KeystoreError, Password};

/// The vectors' password: mathematical fraktur letters and a key emoji, which NFKD normalisation
/// turns into "testpassword🔑".
const PASSWORD: &str = "𝔱𝔢𝔰𝔱𝔭𝔞𝔰𝔰𝔴𝔬𝔯𝔡🔑";
/// "Encoded Password" in the EIP.
const ENCODED_PASSWORD: &str = "7465737470617373776f7264f09f9491";
/// "Secret" in the EIP.
const SECRET: &str = "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";
const PUBKEY: &str = "9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07";

/// "Scrypt Test Vector".
const SCRYPT_VECTOR: &str = r#"{
    "crypto": {
        "kdf": {
            "function": "scrypt",
            "params": {
                "dklen": 32,
                "n": 262144,
                "p": 1,
                "r": 8,
                "salt": "d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3"
            },
            "message": ""
        },
        "checksum": {
            "function": "sha256",
            "params": {},
            "message": "d2217fe5f3e9a1e34581ef8a78f7c9928e436d36dacc5e846690a5581e8ea484"
        },
        "cipher": {
            "function": "aes-128-ctr",
            "params": {
                "iv": "264daa3f303d7259501c93d997d84fe6"
            },
            "message": "06ae90d55fe0a6e9c5c3bc5b170827b2e5cce3929ed3f116c2811e6366dfe20f"
        }
    },
    "description": "This is a test keystore that uses scrypt to secure the secret.",
    "pubkey": "9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07",
    "path": "m/12381/60/3141592653/589793238",
    "uuid": "1d85ae20-35c5-4611-98e8-aa14a633906f",
    "version": 4
}"#;

/// "PBKDF2 Test Vector".
const PBKDF2_VECTOR: &str = r#"{
    "crypto": {
        "kdf": {
            "function": "pbkdf2",
            "params": {
                "dklen": 32,
                "c": 262144,
                "prf": "hmac-sha256",
                "salt": "d4e56740f876aef8c010b86a40d5f56745a118d0906a34e69aec8c0db1cb8fa3"
            },
            "message": ""
        },
        "checksum": {
            "function": "sha256",
            "params": {},
            "message": "8a9f5d9912ed7e75ea794bc5a89bca5f193721d30868ade6f73043c6ea6febf1"
        },
        "cipher": {
            "function": "aes-128-ctr",
            "params": {
                "iv": "264daa3f303d7259501c93d997d84fe6"
            },
            "message": "cee03fde2af33149775b7223e7845e4fb2c8ae1792e5f99fe9ecf474cc8c16ad"
        }
    },
    "description": "This is a test keystore that uses PBKDF2 to secure the secret.",
    "pubkey": "9612d7a727c9d0a22e185a1c768478dfe919cada9266988cb32359c11f2b7b27f4ae4040902382ae2910c15e2b420d07",
    "path": "m/12381/60/0/0",
    "uuid": "64625def-3331-4eea-ab6f-782f3ed16a83",
    "version": 4
}"#;

fn password() -> Password {
    Password::new(PASSWORD.to_owned())
}

fn assert_is_published_secret(secret_key: &SecretKey) {
    assert_eq!(hex::encode(secret_key.to_bytes().as_ref()), SECRET);
    assert_eq!(hex::encode(secret_key.public_key().to_compressed()), PUBKEY);
}

#[test]
fn password_encoding_matches_the_eip() {
    assert_eq!(
        hex::encode(password().to_eip2335_bytes().as_slice()),
        ENCODED_PASSWORD
    );
}

#[test]
fn scrypt_vector_decrypts_to_the_published_secret() {
    let keystore = Keystore::from_json_str(SCRYPT_VECTOR).unwrap();
    assert_is_published_secret(&keystore.decrypt(&password()).unwrap());
}

#[test]
fn pbkdf2_vector_decrypts_to_the_published_secret() {
    let keystore = Keystore::from_json_str(PBKDF2_VECTOR).unwrap();
    assert_is_published_secret(&keystore.decrypt(&password()).unwrap());
}

#[test]
fn pbkdf2_vector_rejects_a_wrong_password() {
    let keystore = Keystore::from_json_str(PBKDF2_VECTOR).unwrap();
    let wrong = Password::new("testpassword".to_owned());
    assert!(matches!(
        keystore.decrypt(&wrong),
        Err(KeystoreError::WrongPassword)
    ));
}

#[test]
fn published_secret_derives_the_published_pubkey() {
    let secret_key = SecretKey::from_bytes(&hex::decode(SECRET).unwrap()).unwrap();
    assert_eq!(hex::encode(secret_key.public_key().to_compressed()), PUBKEY);
    for vector in [SCRYPT_VECTOR, PBKDF2_VECTOR] {
        let keystore = Keystore::from_json_str(vector).unwrap();
        let expected: PublicKey = PUBKEY.parse().unwrap();
        assert_eq!(keystore.public_key().unwrap(), Some(expected));
        assert_eq!(secret_key.public_key(), expected);
    }
}

#[test]
fn vectors_survive_a_serde_round_trip() {
    for vector in [SCRYPT_VECTOR, PBKDF2_VECTOR] {
        let keystore = Keystore::from_json_str(vector).unwrap();
        let written: serde_json::Value =
            serde_json::from_str(&keystore.to_json_string().unwrap()).unwrap();
        let original: serde_json::Value = serde_json::from_str(vector).unwrap();
        assert_eq!(written, original);
        assert_eq!(keystore.version, 4);
    }
}
