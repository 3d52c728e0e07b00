#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! EIP-2537 encodings, checked against the EIP's own test vectors
//! (`assets/eip-2537/mul_G1_bls.json` and `mul_G2_bls.json`, case "g1+g1=2*g1" / "g2+g2=2*g2").

use proptest::prelude::*;
use rand::SeedableRng;
use rand::rngs::StdRng;
use warden_bls::eip2537::{self, FP_LEN, G1_LEN, G2_LEN};
use warden_bls::{
    BlsError, PublicKey, SecretKey, Signature, aggregate_public_keys, aggregate_signatures,
};

/// The G1 generator, EIP-2537 encoded (input of `bls_g1mul_(g1+g1=2*g1)`).
const G1_GENERATOR: &str = "0000000000000000000000000000000017f1d3a73197d7942695638c4fa9ac0fc3688c4f9774b905a14e3a3f171bac586c55e83ff97a1aeffb3af00adb22c6bb0000000000000000000000000000000008b3f481e3aaa0f1a09e30ed741d8ae4fcf5e095d5d00af600db18cb2c04b3edd03cc744a2888ae40caa232946c5e7e1";
/// 2·G1 (expected output of `bls_g1mul_(g1+g1=2*g1)`).
const G1_DOUBLE: &str = "000000000000000000000000000000000572cbea904d67468808c8eb50a9450c9721db309128012543902d0ac358a62ae28f75bb8f1c7c42c39a8c5529bf0f4e00000000000000000000000000000000166a9d8cabc673a322fda673779d8e3822ba3ecb8670e461f73bb9021d5fd76a4c56d9d4cd16bd1bba86881979749d28";
/// The G2 generator, EIP-2537 encoded (input of `bls_g2mul_(g2+g2=2*g2)`).
const G2_GENERATOR: &str = "00000000000000000000000000000000024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb80000000000000000000000000000000013e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e000000000000000000000000000000000ce5d527727d6e118cc9cdc6da2e351aadfd9baa8cbdd3a76d429a695160d12c923ac9cc3baca289e193548608b82801000000000000000000000000000000000606c4a02ea734cc32acd2b02bc28b99cb3e287e85a763af267492ab572e99ab3f370d275cec1da1aaa9075ff05f79be";
/// 2·G2 (expected output of `bls_g2mul_(g2+g2=2*g2)`).
const G2_DOUBLE: &str = "000000000000000000000000000000001638533957d540a9d2370f17cc7ed5863bc0b995b8825e0ee1ea1e1e4d00dbae81f14b0bf3611b78c952aacab827a053000000000000000000000000000000000a4edef9c1ed7f729f520e47730a124fd70662a904ba1074728114d1031e1572c6c886f6b57ec72a6178288c47c33577000000000000000000000000000000000468fb440d82b0630aeb8dca2b5256789a66da69bf91009cbfe6bd221e47aa8ae88dece9764bf3bd999d95d71e4c9899000000000000000000000000000000000f6d4552fa65dd2638b361543f887136a43253d9c66c411697003f7a13c308f5422e1aa0a59c8967acdefd8b6e36ccf3";
/// The compressed (ZCash/blst) G2 generator: `x.c1 ‖ x.c0` with the compression flag.
const G2_GENERATOR_COMPRESSED: &str = "93e02b6052719f607dacd3a088274f65596bd0d09920b61ab5da61bbdc7f5049334cf11213945d57e5ac7d055d042b7e024aa2b2f08f0a91260805272dc51051c6e47ad4fa403b02b4510b647ae3d1770bac0326a805bbefd48056c8c121bdb8";
/// The base field modulus p.
const MODULUS: &str = "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab";

fn bytes(hex_str: &str) -> Vec<u8> {
    hex::decode(hex_str).unwrap()
}

fn scalar(value: u64) -> [u8; 32] {
    let mut out = [0u8; 32];
    out[24..].copy_from_slice(&value.to_be_bytes());
    out
}

fn g2_generator() -> Signature {
    Signature::from_eip2537(&bytes(G2_GENERATOR)).unwrap()
}

/// Writes `value` (48 bytes) as field element `index` of an EIP-2537 encoding.
fn set_fp(encoding: &mut [u8], index: usize, value: &[u8]) {
    let fp = &mut encoding[index * FP_LEN..(index + 1) * FP_LEN];
    fp.fill(0);
    fp[FP_LEN - value.len()..].copy_from_slice(value);
}

#[test]
fn g1_generator_matches_the_eip_vector() {
    let one = SecretKey::from_bytes(&scalar(1)).unwrap().public_key();
    assert_eq!(hex::encode(one.to_eip2537()), G1_GENERATOR);
    assert_eq!(PublicKey::from_eip2537(&bytes(G1_GENERATOR)).unwrap(), one);
}

#[test]
fn g1_doubling_matches_the_eip_vector() {
    let one = SecretKey::from_bytes(&scalar(1)).unwrap().public_key();
    let two = SecretKey::from_bytes(&scalar(2)).unwrap().public_key();
    assert_eq!(hex::encode(two.to_eip2537()), G1_DOUBLE);
    assert_eq!(aggregate_public_keys(&[&one, &one]).unwrap(), two);
}

#[test]
fn g2_generator_matches_the_eip_vector_and_its_compressed_form() {
    let generator = g2_generator();
    assert_eq!(hex::encode(generator.to_eip2537()), G2_GENERATOR);
    assert_eq!(
        hex::encode(generator.to_compressed()),
        G2_GENERATOR_COMPRESSED
    );
    assert_eq!(
        Signature::from_compressed(&bytes(G2_GENERATOR_COMPRESSED)).unwrap(),
        generator
    );
}

#[test]
fn g2_doubling_matches_the_eip_vector() {
    let generator = g2_generator();
    let double = aggregate_signatures(&[&generator, &generator]).unwrap();
    assert_eq!(hex::encode(double.to_eip2537()), G2_DOUBLE);
    assert_eq!(Signature::from_eip2537(&bytes(G2_DOUBLE)).unwrap(), double);
}

/// Cross-checks the c0/c1 swap against blst directly: blst's uncompressed G2 layout is
/// `x.c1 ‖ x.c0 ‖ y.c1 ‖ y.c0`, without padding.
#[test]
fn g2_decoding_agrees_with_blst_layout() {
    let eip = bytes(G2_GENERATOR);
    let fp = |i: usize| &eip[i * FP_LEN + 16..(i + 1) * FP_LEN];
    let blst_layout = [fp(1), fp(0), fp(3), fp(2)].concat();
    let via_blst = blst::min_pk::Signature::deserialize(&blst_layout).unwrap();
    assert_eq!(hex::encode(via_blst.compress()), G2_GENERATOR_COMPRESSED);
}

#[test]
fn wrong_lengths_are_rejected() {
    assert!(matches!(
        PublicKey::from_eip2537(&[0u8; G1_LEN - 1]),
        Err(BlsError::InvalidLength {
            expected: 128,
            actual: 127,
            ..
        })
    ));
    assert!(matches!(
        PublicKey::from_eip2537(&[0u8; 96]),
        Err(BlsError::InvalidLength { .. })
    ));
    assert!(matches!(
        Signature::from_eip2537(&[0u8; G2_LEN + 1]),
        Err(BlsError::InvalidLength {
            expected: 256,
            actual: 257,
            ..
        })
    ));
}

#[test]
fn infinity_is_rejected() {
    assert!(matches!(
        PublicKey::from_eip2537(&[0u8; G1_LEN]),
        Err(BlsError::PointAtInfinity { .. })
    ));
    assert!(matches!(
        Signature::from_eip2537(&[0u8; G2_LEN]),
        Err(BlsError::PointAtInfinity { .. })
    ));
}

#[test]
fn non_zero_padding_is_rejected_in_every_field_element() {
    let g1 = bytes(G1_GENERATOR);
    for index in 0..2 {
        for byte in [0, 15] {
            let mut bad = g1.clone();
            bad[index * FP_LEN + byte] = 1;
            assert!(
                matches!(
                    PublicKey::from_eip2537(&bad),
                    Err(BlsError::NonZeroPadding { .. })
                ),
                "G1 element {index} byte {byte}"
            );
        }
    }
    let g2 = bytes(G2_GENERATOR);
    for index in 0..4 {
        let mut bad = g2.clone();
        bad[index * FP_LEN + 3] = 0x80;
        assert!(
            matches!(
                Signature::from_eip2537(&bad),
                Err(BlsError::NonZeroPadding { .. })
            ),
            "G2 element {index}"
        );
    }
}

#[test]
fn field_elements_not_below_p_are_rejected() {
    let p = bytes(MODULUS);
    let mut p_plus_one = p.clone();
    p_plus_one[47] += 1;
    let all_ones = [0xffu8; 48];
    for value in [&p[..], &p_plus_one[..], &all_ones[..]] {
        for index in 0..2 {
            let mut bad = bytes(G1_GENERATOR);
            set_fp(&mut bad, index, value);
            assert!(matches!(
                PublicKey::from_eip2537(&bad),
                Err(BlsError::FieldElementNotCanonical { .. })
            ));
        }
        for index in 0..4 {
            let mut bad = bytes(G2_GENERATOR);
            set_fp(&mut bad, index, value);
            assert!(matches!(
                Signature::from_eip2537(&bad),
                Err(BlsError::FieldElementNotCanonical { .. })
            ));
        }
    }
    // p - 1 is canonical, so the complaint moves on to the curve equation.
    let mut p_minus_one = p.clone();
    p_minus_one[47] -= 1;
    let mut off_curve = bytes(G1_GENERATOR);
    set_fp(&mut off_curve, 1, &p_minus_one);
    assert!(matches!(
        PublicKey::from_eip2537(&off_curve),
        Err(BlsError::NotOnCurve { .. })
    ));
}

#[test]
fn points_off_the_curve_are_rejected() {
    let mut g1 = bytes(G1_GENERATOR);
    g1[G1_LEN - 1] ^= 1;
    assert!(matches!(
        PublicKey::from_eip2537(&g1),
        Err(BlsError::NotOnCurve { .. })
    ));

    // (0, 1): 1 != 0^3 + 4.
    let mut small = [0u8; G1_LEN];
    small[G1_LEN - 1] = 1;
    assert!(matches!(
        PublicKey::from_eip2537(&small),
        Err(BlsError::NotOnCurve { .. })
    ));

    let mut g2 = bytes(G2_GENERATOR);
    g2[G2_LEN - 1] ^= 1;
    assert!(matches!(
        Signature::from_eip2537(&g2),
        Err(BlsError::NotOnCurve { .. })
    ));
}

#[test]
fn g1_points_outside_the_subgroup_are_rejected() {
    // (0, 2) is on y^2 = x^3 + 4 but not in the prime-order subgroup.
    let mut point = [0u8; G1_LEN];
    point[G1_LEN - 1] = 2;
    assert!(matches!(
        PublicKey::from_eip2537(&point),
        Err(BlsError::NotInSubgroup { .. })
    ));
}

#[test]
fn g2_points_outside_the_subgroup_are_rejected() {
    // Find a curve point outside the subgroup through blst's (subgroup-unchecked) decompression.
    let outside = (1..=40u8)
        .find_map(|k| {
            let mut compressed = [0u8; 96];
            compressed[0] = 0x80;
            compressed[95] = k;
            blst::min_pk::Signature::uncompress(&compressed).ok()
        })
        .expect("some small x is on the twist");
    assert!(!outside.subgroup_check());
    let raw = outside.serialize();
    let fp = |i: usize| &raw[i * 48..(i + 1) * 48];
    let mut eip = [0u8; G2_LEN];
    for (index, blst_index) in [1, 0, 3, 2].into_iter().enumerate() {
        set_fp(&mut eip, index, fp(blst_index));
    }
    assert!(matches!(
        Signature::from_eip2537(&eip),
        Err(BlsError::NotInSubgroup { .. })
    ));
    // The same point, compressed, is caught as well.
    assert!(matches!(
        Signature::from_compressed(&outside.compress()),
        Err(BlsError::NotInSubgroup { .. })
    ));
}

#[test]
fn g2_with_c0_and_c1_swapped_is_rejected() {
    let mut rng = StdRng::seed_from_u64(1);
    let mut points = vec![bytes(G2_GENERATOR)];
    for i in 0..4u8 {
        points.push(SecretKey::random(&mut rng).sign(&[i]).to_eip2537().to_vec());
    }
    for good in points {
        let mut swapped = good.clone();
        for pair in [0, 2] {
            let (c0, c1) = (pair * FP_LEN, (pair + 1) * FP_LEN);
            swapped[c0..c1 + FP_LEN].rotate_left(FP_LEN);
        }
        assert_ne!(swapped, good);
        assert!(
            matches!(
                Signature::from_eip2537(&swapped),
                Err(BlsError::NotOnCurve { .. } | BlsError::NotInSubgroup { .. })
            ),
            "swapped encoding of {} was accepted",
            hex::encode(&good)
        );
    }
}

#[test]
fn hash_to_g2_is_a_valid_point_per_message() {
    let a = eip2537::hash_to_g2(b"a");
    let b = eip2537::hash_to_g2(b"b");
    assert_ne!(a, b);
    assert_eq!(a, eip2537::hash_to_g2(b"a"));
    let point = Signature::from_eip2537(&a).unwrap();
    // H(m) is the signature of m under the secret key 1.
    let one = SecretKey::from_bytes(&scalar(1)).unwrap();
    assert_eq!(one.sign(b"a"), point);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    #[test]
    fn random_keys_and_signatures_round_trip(seed in any::<u64>(), msg in any::<Vec<u8>>()) {
        let sk = SecretKey::random(StdRng::seed_from_u64(seed));
        let pk = sk.public_key();
        let sig = sk.sign(&msg);

        let pk_bytes = pk.to_eip2537();
        prop_assert_eq!(PublicKey::from_eip2537(&pk_bytes).unwrap(), pk);
        prop_assert!(pk_bytes.chunks(FP_LEN).all(|fp| fp[..16].iter().all(|&b| b == 0)));

        let sig_bytes = sig.to_eip2537();
        let decoded = Signature::from_eip2537(&sig_bytes).unwrap();
        prop_assert_eq!(decoded, sig);
        prop_assert!(decoded.verify(&msg, &pk).is_ok());
    }

    #[test]
    fn arbitrary_bytes_never_panic(g1 in proptest::collection::vec(any::<u8>(), G1_LEN), g2 in proptest::collection::vec(any::<u8>(), G2_LEN)) {
        // Random bytes are almost never a valid point; the point is that decoding returns.
        let _ = PublicKey::from_eip2537(&g1);
        let _ = Signature::from_eip2537(&g2);
        let _ = PublicKey::from_compressed(&g1[..48]);
        let _ = Signature::from_compressed(&g2[..96]);
    }
}
