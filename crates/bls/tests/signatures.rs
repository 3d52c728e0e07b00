#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashSet;

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use warden_bls::{
    AggregatePublicKey, AggregateSignature, BlsError, PublicKey, SecretKey, Signature, Signer,
    UncheckedSignature, aggregate_public_keys, aggregate_signatures, fast_aggregate_verify,
    find_invalid, find_invalid_signers, find_invalid_with_rng, subtract_public_keys, verify_batch,
    verify_same_message, verify_sum_same_message, verify_sum_with_key_sum,
};

/// The BLS12-381 group order r, big-endian.
const GROUP_ORDER: &str = "73eda753299d7d483339d80809a1d80553bda402fffe5bfeffffffff00000001";

/// Compressed G1 generator, i.e. the public key of the secret key 1.
const G1_GENERATOR_COMPRESSED: &str = "97f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb";

fn rng(seed: u64) -> StdRng {
    StdRng::seed_from_u64(seed)
}

fn scalar(value: u64) -> [u8; 32] {
    let mut bytes = [0u8; 32];
    bytes[24..].copy_from_slice(&value.to_be_bytes());
    bytes
}

/// `a - b` for 32-byte big-endian integers with `a >= b`.
fn sub(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut digit = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(digit < 0);
        if digit < 0 {
            digit += 256;
        }
        out[i] = digit as u8;
    }
    assert_eq!(borrow, 0);
    out
}

fn group_order() -> [u8; 32] {
    hex::decode(GROUP_ORDER).unwrap().try_into().unwrap()
}

/// The key `r - k`, whose public key and signatures are the negations of those of `k`.
fn negated(k: u64) -> SecretKey {
    SecretKey::from_bytes(&sub(&group_order(), &scalar(k))).unwrap()
}

#[test]
fn sign_then_verify() {
    let sk = SecretKey::random(rng(1));
    let pk = sk.public_key();
    let sig = sk.sign(b"warden task 1");
    sig.verify(b"warden task 1", &pk).unwrap();
}

#[test]
fn verify_rejects_wrong_message_and_wrong_key() {
    let sk = SecretKey::random(rng(2));
    let other = SecretKey::random(rng(3));
    let sig = sk.sign(b"message");
    assert_eq!(
        sig.verify(b"messagf", &sk.public_key()),
        Err(BlsError::VerificationFailed)
    );
    assert_eq!(
        sig.verify(b"message", &other.public_key()),
        Err(BlsError::VerificationFailed)
    );
}

#[test]
fn tampered_signatures_never_verify() {
    let sk = SecretKey::random(rng(4));
    let pk = sk.public_key();
    let good = sk.sign(b"message").to_compressed();
    for (index, bit) in [(0, 0x20), (1, 0x01), (47, 0x80), (48, 0x01), (95, 0x01)] {
        let mut bytes = good;
        bytes[index] ^= bit;
        if let Ok(sig) = Signature::from_compressed(&bytes) {
            assert_eq!(
                sig.verify(b"message", &pk),
                Err(BlsError::VerificationFailed),
                "flipping byte {index} bit {bit:#x} still verifies"
            );
        }
    }
}

/// Known-answer test from input-output-hk/bls-e2e-testvectors ("BLS signature with PK in G1"),
/// produced by the zkcrypto `bls12_381` crate with this crate's DST: agreement shows hash-to-G2,
/// the DST and the encodings match an independent implementation.
#[test]
fn verifies_independent_min_pk_nul_vector() {
    let msg =
        hex::decode("3e00ef2f895f40d67f5bb8e81f09a5a12c840ec3ce9a7f3b181be188ef711a1e").unwrap();
    let pk: PublicKey = "0xaa04a34d4db073e41505ebb84eee16c0094fde9fa22ec974adb36e5b3df5b2608639f091bff99b5f090b3608c3990173"
        .parse()
        .unwrap();
    let sig: Signature = "0x808ccec5435a63ae01e10d81be2707ab55cd0dfc235dfdf9f70ad32799e42510d67c9f61d98a6578a96a76cf6f4c105d09262ec1d86b06515360b290e7d52d347e48438de2ea2233f3c72a0c2221ed2da5e115367bca7a2712165032340e0b29"
        .parse()
        .unwrap();
    sig.verify(&msg, &pk).unwrap();

    let mut other_msg = msg.clone();
    other_msg[0] ^= 1;
    assert_eq!(
        sig.verify(&other_msg, &pk),
        Err(BlsError::VerificationFailed)
    );
}

#[test]
fn secret_key_bytes_round_trip() {
    let sk = SecretKey::random(rng(5));
    let bytes = sk.to_bytes();
    let again = SecretKey::from_bytes(bytes.as_ref()).unwrap();
    assert_eq!(again.public_key(), sk.public_key());
}

#[test]
fn secret_key_range_is_enforced() {
    assert_eq!(
        SecretKey::from_bytes(&[0u8; 32]).unwrap_err(),
        BlsError::InvalidSecretKey
    );
    assert_eq!(
        SecretKey::from_bytes(&group_order()).unwrap_err(),
        BlsError::InvalidSecretKey
    );
    assert_eq!(
        SecretKey::from_bytes(&[0xff; 32]).unwrap_err(),
        BlsError::InvalidSecretKey
    );
    SecretKey::from_bytes(&sub(&group_order(), &scalar(1))).unwrap();
    SecretKey::from_bytes(&scalar(1)).unwrap();
    assert!(matches!(
        SecretKey::from_bytes(&[1u8; 31]),
        Err(BlsError::InvalidLength {
            expected: 32,
            actual: 31,
            ..
        })
    ));
}

#[test]
fn secret_key_one_has_the_generator_as_public_key() {
    let one = SecretKey::from_bytes(&scalar(1)).unwrap();
    assert_eq!(
        hex::encode(one.public_key().to_compressed()),
        G1_GENERATOR_COMPRESSED
    );
}

#[test]
fn key_generation_from_ikm_is_deterministic() {
    let a = SecretKey::from_ikm(&[7u8; 32]).unwrap();
    let b = SecretKey::from_ikm(&[7u8; 32]).unwrap();
    let c = SecretKey::from_ikm(&[8u8; 32]).unwrap();
    assert_eq!(a.public_key(), b.public_key());
    assert_ne!(a.public_key(), c.public_key());
    assert_eq!(
        SecretKey::from_ikm(&[7u8; 31]).unwrap_err(),
        BlsError::IkmTooShort(31)
    );
}

#[test]
fn random_keys_differ() {
    let mut rng = rng(6);
    let a = SecretKey::random(&mut rng);
    let b = SecretKey::random(&mut rng);
    assert_ne!(a.public_key(), b.public_key());
}

#[test]
fn secret_key_debug_is_redacted() {
    let sk = SecretKey::from_bytes(&scalar(0x1234_5678)).unwrap();
    let shown = format!("{sk:?}");
    assert_eq!(shown, "SecretKey(<redacted>)");
    assert!(!shown.contains("12345678"));
    assert!(!shown.contains(&hex::encode(sk.to_bytes().as_ref())));
    let shown = format!("{sk:#?}");
    assert!(!shown.contains("12345678"));
}

#[test]
fn public_key_compressed_round_trip_and_text_forms() {
    let pk = SecretKey::random(rng(7)).public_key();
    let compressed = pk.to_compressed();
    assert_eq!(PublicKey::from_compressed(&compressed).unwrap(), pk);

    let text = pk.to_string();
    assert_eq!(text, format!("0x{}", hex::encode(compressed)));
    assert_eq!(text.parse::<PublicKey>().unwrap(), pk);
    assert_eq!(text[2..].parse::<PublicKey>().unwrap(), pk);
    assert_eq!(format!("{pk:?}"), format!("PublicKey({text})"));

    let json = serde_json::to_string(&pk).unwrap();
    assert_eq!(json, format!("\"{text}\""));
    assert_eq!(serde_json::from_str::<PublicKey>(&json).unwrap(), pk);
}

#[test]
fn signature_compressed_round_trip_and_text_forms() {
    let sig = SecretKey::random(rng(8)).sign(b"m");
    let compressed = sig.to_compressed();
    assert_eq!(Signature::from_compressed(&compressed).unwrap(), sig);

    let text = sig.to_string();
    assert_eq!(text, format!("0x{}", hex::encode(compressed)));
    assert_eq!(text.parse::<Signature>().unwrap(), sig);
    assert_eq!(format!("{sig:?}"), format!("Signature({text})"));

    let json = serde_json::to_string(&sig).unwrap();
    assert_eq!(json, format!("\"{text}\""));
    assert_eq!(serde_json::from_str::<Signature>(&json).unwrap(), sig);
}

#[test]
fn serde_rejects_invalid_points() {
    let infinity = format!("\"0xc0{}\"", "00".repeat(47));
    assert!(serde_json::from_str::<PublicKey>(&infinity).is_err());
    assert!(serde_json::from_str::<PublicKey>("\"0x1234\"").is_err());
    assert!(serde_json::from_str::<PublicKey>("\"not hex\"").is_err());
    assert!(serde_json::from_str::<PublicKey>("42").is_err());
    let infinity = format!("\"0xc0{}\"", "00".repeat(95));
    assert!(serde_json::from_str::<Signature>(&infinity).is_err());
}

#[test]
fn text_parsing_errors_are_specific() {
    assert!(matches!(
        "0x123".parse::<PublicKey>(),
        Err(BlsError::InvalidHex { .. })
    ));
    assert!(matches!(
        format!("0x{}", "zz".repeat(48)).parse::<PublicKey>(),
        Err(BlsError::InvalidHex { .. })
    ));
    assert!(matches!(
        "0x1234".parse::<Signature>(),
        Err(BlsError::InvalidLength {
            expected: 96,
            actual: 2,
            ..
        })
    ));
}

#[test]
fn equal_keys_hash_equal() {
    let sk = SecretKey::random(rng(9));
    let a = sk.public_key();
    let b = PublicKey::from_compressed(&a.to_compressed()).unwrap();
    let set: HashSet<PublicKey> = [a, b, SecretKey::random(rng(10)).public_key()].into();
    assert_eq!(set.len(), 2);
    let sigs: HashSet<Signature> = [sk.sign(b"a"), sk.sign(b"a"), sk.sign(b"b")].into();
    assert_eq!(sigs.len(), 2);
}

#[test]
fn compressed_public_key_rejections() {
    let mut infinity = [0u8; 48];
    infinity[0] = 0xc0;
    assert!(matches!(
        PublicKey::from_compressed(&infinity),
        Err(BlsError::PointAtInfinity { .. })
    ));

    // x = 0 gives the curve points (0, ±2), which are outside the prime-order subgroup.
    let mut x_zero = [0u8; 48];
    x_zero[0] = 0x80;
    assert!(matches!(
        PublicKey::from_compressed(&x_zero),
        Err(BlsError::NotInSubgroup { .. })
    ));

    // Without the compression flag the bytes are not a compressed point at all.
    let mut no_flag = SecretKey::random(rng(11)).public_key().to_compressed();
    no_flag[0] &= 0x7f;
    assert!(matches!(
        PublicKey::from_compressed(&no_flag),
        Err(BlsError::InvalidEncoding { .. })
    ));

    // x = p is not a canonical field element.
    let mut x_p = hex::decode("1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab").unwrap();
    x_p[0] |= 0x80;
    assert!(matches!(
        PublicKey::from_compressed(&x_p),
        Err(BlsError::InvalidEncoding { .. })
    ));

    assert!(matches!(
        PublicKey::from_compressed(&[0u8; 47]),
        Err(BlsError::InvalidLength {
            expected: 48,
            actual: 47,
            ..
        })
    ));

    // Small x: roughly half are not on the curve, and the rest are not in the subgroup.
    let mut seen_not_on_curve = false;
    for k in 1..=20u8 {
        let mut bytes = [0u8; 48];
        bytes[0] = 0x80;
        bytes[47] = k;
        match PublicKey::from_compressed(&bytes) {
            Err(BlsError::NotOnCurve { .. }) => seen_not_on_curve = true,
            Err(BlsError::NotInSubgroup { .. }) => {}
            other => panic!("x = {k}: unexpected {other:?}"),
        }
    }
    assert!(seen_not_on_curve);
}

#[test]
fn compressed_signature_rejections() {
    let mut infinity = [0u8; 96];
    infinity[0] = 0xc0;
    assert!(matches!(
        Signature::from_compressed(&infinity),
        Err(BlsError::PointAtInfinity { .. })
    ));
    assert!(matches!(
        Signature::from_compressed(&[0u8; 95]),
        Err(BlsError::InvalidLength {
            expected: 96,
            actual: 95,
            ..
        })
    ));

    let mut seen = (false, false);
    for k in 1..=20u8 {
        let mut bytes = [0u8; 96];
        bytes[0] = 0x80;
        bytes[95] = k;
        match Signature::from_compressed(&bytes) {
            Err(BlsError::NotOnCurve { .. }) => seen.0 = true,
            Err(BlsError::NotInSubgroup { .. }) => seen.1 = true,
            other => panic!("x = {k}: unexpected {other:?}"),
        }
    }
    assert_eq!(seen, (true, true));
}

#[test]
fn proof_of_possession() {
    let sk = SecretKey::random(rng(12));
    let pk = sk.public_key();
    let message = b"registration: chain 1, registry 0x.., operator 0x.., key";
    let proof = sk.prove_possession(message);
    pk.verify_possession(message, &proof).unwrap();

    assert_eq!(
        pk.verify_possession(b"another registration", &proof),
        Err(BlsError::VerificationFailed)
    );
    let other = SecretKey::random(rng(13)).public_key();
    assert_eq!(
        other.verify_possession(message, &proof),
        Err(BlsError::VerificationFailed)
    );
}

#[test]
fn aggregate_and_fast_aggregate_verify() {
    let mut rng = rng(14);
    let sks: Vec<SecretKey> = (0..5).map(|_| SecretKey::random(&mut rng)).collect();
    let pks: Vec<PublicKey> = sks.iter().map(SecretKey::public_key).collect();
    let pk_refs: Vec<&PublicKey> = pks.iter().collect();
    let msg = b"task 42 output";
    let sigs: Vec<Signature> = sks.iter().map(|sk| sk.sign(msg)).collect();
    let sig_refs: Vec<&Signature> = sigs.iter().collect();

    let aggregate = aggregate_signatures(&sig_refs).unwrap();
    fast_aggregate_verify(&aggregate, msg, &pk_refs).unwrap();

    let apk = aggregate_public_keys(&pk_refs).unwrap();
    aggregate.verify(msg, &apk).unwrap();

    assert_eq!(
        fast_aggregate_verify(&aggregate, b"task 43 output", &pk_refs),
        Err(BlsError::VerificationFailed)
    );
    assert_eq!(
        fast_aggregate_verify(&aggregate, msg, &pk_refs[1..]),
        Err(BlsError::VerificationFailed)
    );
    let partial = aggregate_signatures(&sig_refs[1..]).unwrap();
    assert_eq!(
        fast_aggregate_verify(&partial, msg, &pk_refs),
        Err(BlsError::VerificationFailed)
    );

    // Incremental aggregation agrees, in any order.
    let mut incremental = AggregateSignature::new();
    for sig in sigs.iter().rev() {
        incremental.add(sig);
    }
    assert_eq!(incremental.len(), 5);
    assert_eq!(incremental.to_signature().unwrap(), aggregate);
    let mut incremental = AggregatePublicKey::new();
    for pk in &pks {
        incremental.add(pk);
    }
    assert_eq!(incremental.to_public_key().unwrap(), apk);

    // One key aggregates to itself.
    assert_eq!(aggregate_public_keys(&[&pks[0]]).unwrap(), pks[0]);
}

#[test]
fn aggregation_rejects_empty_input() {
    assert!(matches!(
        aggregate_signatures(&[]),
        Err(BlsError::EmptyInput { .. })
    ));
    assert!(matches!(
        aggregate_public_keys(&[]),
        Err(BlsError::EmptyInput { .. })
    ));
    assert!(AggregateSignature::new().is_empty());
    assert!(matches!(
        AggregatePublicKey::new().to_public_key(),
        Err(BlsError::EmptyInput { .. })
    ));
    let sig = SecretKey::random(rng(15)).sign(b"m");
    assert!(matches!(
        fast_aggregate_verify(&sig, b"m", &[]),
        Err(BlsError::EmptyInput { .. })
    ));
}

#[test]
fn aggregation_rejects_the_point_at_infinity() {
    let sk = SecretKey::from_bytes(&scalar(5)).unwrap();
    let neg = negated(5);
    assert!(matches!(
        aggregate_public_keys(&[&sk.public_key(), &neg.public_key()]),
        Err(BlsError::PointAtInfinity { .. })
    ));
    assert!(matches!(
        aggregate_signatures(&[&sk.sign(b"m"), &neg.sign(b"m")]),
        Err(BlsError::PointAtInfinity { .. })
    ));
}

struct Batch {
    sigs: Vec<Signature>,
    msgs: Vec<Vec<u8>>,
    pks: Vec<PublicKey>,
}

impl Batch {
    fn new(size: usize, seed: u64) -> Self {
        let mut rng = rng(seed);
        let sks: Vec<SecretKey> = (0..size).map(|_| SecretKey::random(&mut rng)).collect();
        // Repeat messages on purpose: batches may contain several signatures on one digest.
        let msgs: Vec<Vec<u8>> = (0..size).map(|i| vec![(i % 3) as u8; 32]).collect();
        let sigs = sks.iter().zip(&msgs).map(|(sk, m)| sk.sign(m)).collect();
        let pks = sks.iter().map(SecretKey::public_key).collect();
        Self { sigs, msgs, pks }
    }

    fn corrupt(&mut self, index: usize) {
        self.sigs[index] = SecretKey::random(rng(1000 + index as u64)).sign(&self.msgs[index]);
    }

    fn items(&self) -> Vec<(&Signature, &[u8], &PublicKey)> {
        self.sigs
            .iter()
            .zip(&self.msgs)
            .zip(&self.pks)
            .map(|((s, m), p)| (s, m.as_slice(), p))
            .collect()
    }
}

#[test]
fn batch_verification_accepts_valid_batches() {
    let batch = Batch::new(9, 16);
    let mut rng = rng(17);
    verify_batch(&batch.items(), &mut rng).unwrap();
    verify_batch(&batch.items()[..1], &mut rng).unwrap();
    assert!(find_invalid_with_rng(&batch.items(), &mut rng).is_empty());
}

#[test]
fn batch_verification_finds_a_single_bad_signature() {
    let mut batch = Batch::new(9, 18);
    batch.corrupt(6);
    let mut rng = rng(19);
    assert_eq!(
        verify_batch(&batch.items(), &mut rng),
        Err(BlsError::VerificationFailed)
    );
    assert_eq!(find_invalid_with_rng(&batch.items(), &mut rng), vec![6]);
}

#[test]
fn batch_verification_finds_several_bad_signatures() {
    let mut batch = Batch::new(10, 20);
    for index in [0, 4, 9] {
        batch.corrupt(index);
    }
    let mut rng = rng(21);
    assert!(verify_batch(&batch.items(), &mut rng).is_err());
    assert_eq!(
        find_invalid_with_rng(&batch.items(), &mut rng),
        vec![0, 4, 9]
    );

    let mut all_bad = Batch::new(3, 22);
    for index in 0..3 {
        all_bad.corrupt(index);
    }
    assert_eq!(find_invalid(&all_bad.items()), vec![0, 1, 2]);
}

#[test]
fn batch_verification_catches_swapped_signatures() {
    // Two valid signatures attached to each other's items: the plain sum of all signatures is
    // unchanged, so only the random per-item weights expose the swap.
    let valid = Batch::new(4, 25);
    let mut swapped = Batch::new(4, 25);
    swapped.sigs.swap(0, 1);
    let mut rng = rng(24);
    verify_batch(&valid.items(), &mut rng).unwrap();
    assert!(verify_batch(&swapped.items(), &mut rng).is_err());
    assert_eq!(
        find_invalid_with_rng(&swapped.items(), &mut rng),
        vec![0, 1]
    );
}

#[test]
fn batch_verification_rejects_an_empty_batch() {
    assert!(matches!(
        verify_batch(&[], rng(26)),
        Err(BlsError::EmptyInput { .. })
    ));
    assert!(find_invalid(&[]).is_empty());
}

/// Signers of one message, as an aggregator's intake sees them.
struct OneMessage {
    msg: Vec<u8>,
    sigs: Vec<Signature>,
    pks: Vec<PublicKey>,
}

impl OneMessage {
    fn new(size: usize, seed: u64) -> Self {
        let mut rng = rng(seed);
        let msg = vec![0x5a; 32];
        let sks: Vec<SecretKey> = (0..size).map(|_| SecretKey::random(&mut rng)).collect();
        Self {
            sigs: sks.iter().map(|sk| sk.sign(&msg)).collect(),
            pks: sks.iter().map(SecretKey::public_key).collect(),
            msg,
        }
    }

    /// The signatures as an intake receives them.
    fn received(&self) -> Vec<UncheckedSignature> {
        unchecked(&self.sigs)
    }
}

fn unchecked(sigs: &[Signature]) -> Vec<UncheckedSignature> {
    sigs.iter().copied().map(UncheckedSignature::from).collect()
}

fn signers<'a>(sigs: &'a [UncheckedSignature], pks: &'a [PublicKey]) -> Vec<Signer<'a>> {
    sigs.iter().zip(pks).collect()
}

#[test]
fn same_message_batches_accept_valid_signers() {
    let batch = OneMessage::new(33, 40);
    let received = batch.received();
    let signers = signers(&received, &batch.pks);
    let mut rng = rng(41);
    verify_same_message(&batch.msg, &signers, &mut rng).unwrap();
    verify_same_message(&batch.msg, &signers[..1], &mut rng).unwrap();
    assert!(find_invalid_signers(&batch.msg, &signers, &mut rng).is_empty());
    assert!(matches!(
        verify_same_message(&batch.msg, &[], &mut rng),
        Err(BlsError::EmptyInput { .. })
    ));
}

#[test]
fn same_message_batches_find_every_bad_signature() {
    let mut batch = OneMessage::new(20, 42);
    for index in [0, 7, 19] {
        batch.sigs[index] = SecretKey::random(rng(43 + index as u64)).sign(&batch.msg);
    }
    let received = batch.received();
    let signers = signers(&received, &batch.pks);
    let mut rng = rng(44);
    assert_eq!(
        verify_same_message(&batch.msg, &signers, &mut rng),
        Err(BlsError::VerificationFailed)
    );
    assert_eq!(
        find_invalid_signers(&batch.msg, &signers, &mut rng),
        vec![0, 7, 19]
    );
}

/// Whoever saw two operators' genuine signatures can submit them under each other's keys, or
/// shift a point `δ` from one to the other: the plain sum, which is all an unweighted aggregate
/// check sees, is unchanged. The random weights catch both.
#[test]
fn same_message_batches_catch_swapped_and_cancelling_forgeries() {
    let batch = OneMessage::new(4, 45);
    let plain = aggregate_signatures(&batch.sigs.iter().collect::<Vec<_>>()).unwrap();
    let mut rng = rng(46);

    let mut swapped = batch.sigs.clone();
    swapped.swap(0, 1);
    let swapped_received = unchecked(&swapped);
    let swapped_signers = signers(&swapped_received, &batch.pks);
    assert_eq!(
        aggregate_signatures(&swapped.iter().collect::<Vec<_>>()).unwrap(),
        plain
    );
    assert!(verify_same_message(&batch.msg, &swapped_signers, &mut rng).is_err());
    assert_eq!(
        find_invalid_signers(&batch.msg, &swapped_signers, &mut rng),
        vec![0, 1]
    );

    let delta = SecretKey::from_bytes(&scalar(7)).unwrap().sign(&batch.msg);
    let minus_delta = negated(7).sign(&batch.msg);
    let mut shifted = batch.sigs.clone();
    shifted[2] = aggregate_signatures(&[&shifted[2], &delta]).unwrap();
    shifted[3] = aggregate_signatures(&[&shifted[3], &minus_delta]).unwrap();
    let shifted_received = unchecked(&shifted);
    let shifted_signers = signers(&shifted_received, &batch.pks);
    assert_eq!(
        aggregate_signatures(&shifted.iter().collect::<Vec<_>>()).unwrap(),
        plain
    );
    assert!(verify_same_message(&batch.msg, &shifted_signers, &mut rng).is_err());
    assert_eq!(
        find_invalid_signers(&batch.msg, &shifted_signers, &mut rng),
        vec![2, 3]
    );
}

/// The sum check returns the aggregate and refuses a batch with a forgery in it. A shifted pair
/// (`σ_a + δ`, `σ_b − δ`) passes it, as documented: the sum is the genuine aggregate, and only
/// the batch as a whole may be used; each shifted signature fails alone.
#[test]
fn sum_checks_vouch_for_the_batch_as_a_unit() {
    let batch = OneMessage::new(6, 53);
    let received = batch.received();
    let genuine = aggregate_signatures(&batch.sigs.iter().collect::<Vec<_>>()).unwrap();
    assert_eq!(
        verify_sum_same_message(&batch.msg, &signers(&received, &batch.pks)).unwrap(),
        genuine
    );
    assert_eq!(
        verify_sum_same_message(&batch.msg, &signers(&received[..1], &batch.pks[..1])).unwrap(),
        batch.sigs[0]
    );
    assert!(matches!(
        verify_sum_same_message(&batch.msg, &[]),
        Err(BlsError::EmptyInput { .. })
    ));

    // Another key's signature in place of operator 4's: the sum does not verify.
    let mut forged = batch.sigs.clone();
    forged[4] = SecretKey::random(rng(54)).sign(&batch.msg);
    let forged_received = unchecked(&forged);
    assert_eq!(
        verify_sum_same_message(&batch.msg, &signers(&forged_received, &batch.pks)),
        Err(BlsError::VerificationFailed)
    );
    // Nor does a genuine signature over another message.
    let mut other_message = batch.received();
    other_message[2] = SecretKey::random(rng(55)).sign(b"other").into();
    assert!(verify_sum_same_message(&batch.msg, &signers(&other_message, &batch.pks)).is_err());

    let delta = SecretKey::from_bytes(&scalar(9)).unwrap().sign(&batch.msg);
    let minus_delta = negated(9).sign(&batch.msg);
    let mut shifted = batch.sigs.clone();
    shifted[0] = aggregate_signatures(&[&shifted[0], &delta]).unwrap();
    shifted[5] = aggregate_signatures(&[&shifted[5], &minus_delta]).unwrap();
    let shifted_received = unchecked(&shifted);
    assert_eq!(
        verify_sum_same_message(&batch.msg, &signers(&shifted_received, &batch.pks)).unwrap(),
        genuine
    );
    for index in [0, 5] {
        assert!(
            verify_sum_same_message(
                &batch.msg,
                &signers(&shifted_received[index..=index], &batch.pks[index..=index])
            )
            .is_err()
        );
    }
}

/// A point outside the subgroup, added to one genuine signature, makes the sum fall outside the
/// subgroup too: refused.
#[test]
fn a_sum_check_refuses_a_point_outside_the_subgroup() {
    let batch = OneMessage::new(5, 56);
    let mut received = batch.received();
    received[1] = point_outside_the_subgroup();
    assert!(verify_sum_same_message(&batch.msg, &signers(&received, &batch.pks)).is_err());
}

/// A point of the curve outside the prime-order subgroup: the lexicographically-smallest x whose
/// compressed encoding decodes (blst checks the curve equation, not the subgroup).
fn point_outside_the_subgroup() -> UncheckedSignature {
    for x in 1u8.. {
        let mut compressed = [0u8; 96];
        compressed[0] = 0x80;
        compressed[95] = x;
        if let Ok(point) = UncheckedSignature::from_bytes(&compressed) {
            assert!(
                point.check().is_err(),
                "x = {x} happens to be a subgroup point"
            );
            return point;
        }
    }
    unreachable!("some small x is on the curve")
}

#[test]
fn both_signature_encodings_parse_to_the_same_point() {
    let sig = SecretKey::random(rng(50)).sign(b"encodings");
    let compressed = UncheckedSignature::from_bytes(&sig.to_compressed()).unwrap();
    let uncompressed = UncheckedSignature::from_bytes(&sig.to_uncompressed()).unwrap();
    assert_eq!(compressed, uncompressed);
    assert_eq!(uncompressed.check().unwrap(), sig);

    let mut off_curve = sig.to_uncompressed();
    off_curve[191] ^= 1;
    assert!(matches!(
        UncheckedSignature::from_bytes(&off_curve),
        Err(BlsError::NotOnCurve { .. })
    ));
    // The compression flag must match the length.
    let mut flagged = sig.to_uncompressed();
    flagged[0] |= 0x80;
    assert!(UncheckedSignature::from_bytes(&flagged).is_err());
    let mut infinity = [0u8; 192];
    infinity[0] = 0x40;
    assert!(matches!(
        UncheckedSignature::from_bytes(&infinity),
        Err(BlsError::PointAtInfinity { .. })
    ));
    assert!(matches!(
        UncheckedSignature::from_bytes(&[0u8; 100]),
        Err(BlsError::InvalidLength { actual: 100, .. })
    ));
}

/// An operator who knows its genuine signature adds a point outside the subgroup to it: the
/// batch check (which subgroup-checks the weighted sum) refuses it, and an aggregate it got into
/// anyway refuses to become a `Signature`.
#[test]
fn a_signature_outside_the_subgroup_is_refused_by_batches_and_aggregates() {
    let batch = OneMessage::new(8, 51);
    let outside = point_outside_the_subgroup();
    let mut received = batch.received();
    let mut sum = AggregateSignature::new();
    sum.add_unchecked(&received[3]);
    sum.add_unchecked(&outside);
    assert!(matches!(
        sum.to_signature(),
        Err(BlsError::NotInSubgroup { .. })
    ));

    let mut tampered = AggregateSignature::new();
    tampered.add(&batch.sigs[3]);
    tampered.add_unchecked(&outside);
    let tampered = tampered.to_signature().unwrap_err();
    assert!(matches!(tampered, BlsError::NotInSubgroup { .. }));

    received[3] = outside;
    let mut rng = rng(52);
    assert!(verify_same_message(&batch.msg, &signers(&received, &batch.pks), &mut rng).is_err());
    assert_eq!(
        find_invalid_signers(&batch.msg, &signers(&received, &batch.pks), &mut rng),
        vec![3]
    );
    // Alone, too.
    assert!(
        verify_same_message(
            &batch.msg,
            &signers(&received[3..4], &batch.pks[3..4]),
            &mut rng
        )
        .is_err()
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn signatures_verify_only_their_own_message(
        seed in any::<u64>(),
        msg in proptest::collection::vec(any::<u8>(), 0..256),
        other in proptest::collection::vec(any::<u8>(), 0..256),
    ) {
        let sk = SecretKey::random(StdRng::seed_from_u64(seed));
        let pk = sk.public_key();
        let sig = sk.sign(&msg);
        prop_assert!(sig.verify(&msg, &pk).is_ok());
        prop_assert_eq!(sig.verify(&other, &pk).is_ok(), msg == other);
        let decoded = Signature::from_compressed(&sig.to_compressed()).unwrap();
        prop_assert_eq!(decoded, sig);
    }
}

#[test]
fn batched_key_sums_agree_with_sequential_aggregation() {
    let keys: Vec<PublicKey> = (0..40)
        .map(|seed| SecretKey::random(rng(900 + seed)).public_key())
        .collect();
    for count in [1, 2, 3, 17, 40] {
        let some: Vec<&PublicKey> = keys[..count].iter().collect();
        assert_eq!(
            aggregate_public_keys(&some).unwrap(),
            AggregatePublicKey::aggregate(&some).unwrap(),
            "{count} keys"
        );
    }
    assert!(matches!(
        aggregate_public_keys(&[]),
        Err(BlsError::EmptyInput { .. })
    ));
    // k and r − k: a sum at infinity is refused.
    let opposite = [
        SecretKey::from_bytes(&scalar(7)).unwrap().public_key(),
        negated(7).public_key(),
    ];
    assert!(matches!(
        aggregate_public_keys(&opposite.iter().collect::<Vec<_>>()),
        Err(BlsError::PointAtInfinity { .. })
    ));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// The total less any subset of the keys is the sum of the others, as adding them up says.
    #[test]
    fn subtracting_keys_from_the_total_leaves_the_sum_of_the_rest(
        seed in any::<u64>(),
        excluded_mask in any::<u32>(),
        count in 2usize..24,
    ) {
        let keys: Vec<PublicKey> = (0..count)
            .map(|index| SecretKey::random(rng(seed.wrapping_add(index as u64))).public_key())
            .collect();
        let total = aggregate_public_keys(&keys.iter().collect::<Vec<_>>()).unwrap();
        let is_excluded = |index: usize| excluded_mask & (1 << index) != 0;
        let excluded: Vec<&PublicKey> =
            keys.iter().enumerate().filter(|(index, _)| is_excluded(*index)).map(|(_, key)| key).collect();
        let rest: Vec<&PublicKey> =
            keys.iter().enumerate().filter(|(index, _)| !is_excluded(*index)).map(|(_, key)| key).collect();
        let subtracted = subtract_public_keys(&total, &excluded);
        if rest.is_empty() {
            let at_infinity = matches!(subtracted, Err(BlsError::PointAtInfinity { .. }));
            prop_assert!(at_infinity, "everything subtracted: {:?}", subtracted);
        } else {
            prop_assert_eq!(subtracted.unwrap(), aggregate_public_keys(&rest).unwrap());
        }
    }
}

#[test]
fn a_sum_check_with_a_given_key_sum_vouches_for_exactly_those_signers() {
    let batch = OneMessage::new(8, 61);
    let received = batch.received();
    let signatures: Vec<&UncheckedSignature> = received.iter().collect();
    let keys: Vec<&PublicKey> = batch.pks.iter().collect();
    let key_sum = aggregate_public_keys(&keys).unwrap();
    let genuine = aggregate_signatures(&batch.sigs.iter().collect::<Vec<_>>()).unwrap();
    assert_eq!(
        verify_sum_with_key_sum(&batch.msg, &signatures, &key_sum).unwrap(),
        genuine
    );
    // The key sum of all but one signer, formed by subtraction: the full batch does not verify
    // against it, the batch without that signer does.
    let without_last = subtract_public_keys(&key_sum, &keys[7..]).unwrap();
    assert_eq!(
        verify_sum_with_key_sum(&batch.msg, &signatures, &without_last),
        Err(BlsError::VerificationFailed)
    );
    assert!(verify_sum_with_key_sum(&batch.msg, &signatures[..7], &without_last).is_ok());
    // A forgery for one signer: the sum fails against the genuine key sum.
    let mut forged = received.clone();
    forged[3] = SecretKey::random(rng(62)).sign(&batch.msg).into();
    assert_eq!(
        verify_sum_with_key_sum(&batch.msg, &forged.iter().collect::<Vec<_>>(), &key_sum),
        Err(BlsError::VerificationFailed)
    );
    assert!(matches!(
        verify_sum_with_key_sum(&batch.msg, &[], &key_sum),
        Err(BlsError::EmptyInput { .. })
    ));
}
