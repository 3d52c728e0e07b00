//! The point encodings of the EIP-2537 BLS12-381 precompiles.
//!
//! - An Fp element is 64 bytes: 16 zero bytes, then the 48-byte big-endian value, which must be
//!   less than the field modulus p.
//! - A G1 point is 128 bytes: `x ‖ y`.
//! - A G2 point is 256 bytes: `x.c0 ‖ x.c1 ‖ y.c0 ‖ y.c1`, for Fp2 elements `c0 + c1·u`.
//! - The point at infinity is all zeros.
//!
//! blst's uncompressed (ZCash) serialisation differs in three ways that are easy to get wrong: no
//! padding, flag bits in the top of the first byte (0x40 marks infinity), and Fp2 elements written
//! `c1 ‖ c0`. The converters here translate between the two, checking everything a precompile
//! would reject so that a bad encoding is reported with a specific reason before any curve
//! arithmetic; the curve-equation and subgroup checks are then blst's.

use crate::{BlsError, SecretKey};

/// Length of an EIP-2537 field element.
pub const FP_LEN: usize = 64;
/// Length of an EIP-2537 G1 point.
pub const G1_LEN: usize = 2 * FP_LEN;
/// Length of an EIP-2537 G2 point.
pub const G2_LEN: usize = 4 * FP_LEN;

/// Length of a field element without padding (381 bits rounded up to bytes).
const FP_VALUE_LEN: usize = 48;
const FP_PADDING_LEN: usize = FP_LEN - FP_VALUE_LEN;
const BLST_G1_LEN: usize = 2 * FP_VALUE_LEN;
const BLST_G2_LEN: usize = 4 * FP_VALUE_LEN;

/// blst flags the point at infinity with this bit of the first byte.
const BLST_INFINITY_FLAG: u8 = 0x40;

/// The BLS12-381 base field modulus p, big-endian.
const MODULUS: [u8; FP_VALUE_LEN] = [
    0x1a, 0x01, 0x11, 0xea, 0x39, 0x7f, 0xe6, 0x9a, 0x4b, 0x1b, 0xa7, 0xb6, 0x43, 0x4b, 0xac, 0xd7,
    0x64, 0x77, 0x4b, 0x84, 0xf3, 0x85, 0x12, 0xbf, 0x67, 0x30, 0xd2, 0xa0, 0xf6, 0xb0, 0xf6, 0x24,
    0x1e, 0xab, 0xff, 0xfe, 0xb1, 0x53, 0xff, 0xff, 0xb9, 0xfe, 0xff, 0xff, 0xff, 0xff, 0xaa, 0xab,
];

/// For each EIP-2537 field element, the index of the same element in blst's serialisation.
const G1_ORDER: [usize; 2] = [0, 1];
/// blst writes each Fp2 as `c1 ‖ c0`; EIP-2537 as `c0 ‖ c1`.
const G2_ORDER: [usize; 4] = [1, 0, 3, 2];

/// Hashes `msg` to G2 with [`crate::DST`] and returns the point in EIP-2537 form.
///
/// This is the `H(m)` the on-chain verifier must compute for the pairing check
/// `e(pk, H(m)) == e(G1, sig)`; it is here so contract tests can compare the Solidity hash-to-curve
/// against a reference implementation byte for byte.
pub fn hash_to_g2(msg: &[u8]) -> [u8; G2_LEN] {
    const ONE: [u8; 32] = {
        let mut one = [0u8; 32];
        one[31] = 1;
        one
    };
    // Signing with the scalar 1 returns H(m) itself, through blst's safe API.
    match SecretKey::from_bytes(&ONE) {
        Ok(one) => encode_g2(&one.sign(msg).as_blst().serialize()),
        Err(_) => unreachable!("1 is a valid BLS12-381 scalar"),
    }
}

/// blst uncompressed G1 (96 bytes) to EIP-2537 (128 bytes).
pub(crate) fn encode_g1(blst: &[u8; BLST_G1_LEN]) -> [u8; G1_LEN] {
    encode(blst, &G1_ORDER)
}

/// blst uncompressed G2 (192 bytes) to EIP-2537 (256 bytes).
pub(crate) fn encode_g2(blst: &[u8; BLST_G2_LEN]) -> [u8; G2_LEN] {
    encode(blst, &G2_ORDER)
}

/// EIP-2537 G1 (128 bytes) to blst uncompressed G1, rejecting bad padding, non-canonical
/// coordinates and infinity. The result still needs blst's curve and subgroup checks.
pub(crate) fn decode_g1(input: &[u8], what: &'static str) -> Result<[u8; BLST_G1_LEN], BlsError> {
    decode(input, &G1_ORDER, what)
}

/// EIP-2537 G2 (256 bytes) to blst uncompressed G2; see [`decode_g1`].
pub(crate) fn decode_g2(input: &[u8], what: &'static str) -> Result<[u8; BLST_G2_LEN], BlsError> {
    decode(input, &G2_ORDER, what)
}

fn encode<const IN: usize, const OUT: usize>(blst: &[u8; IN], order: &[usize]) -> [u8; OUT] {
    let mut out = [0u8; OUT];
    if blst.first().is_some_and(|b| b & BLST_INFINITY_FLAG != 0) {
        return out;
    }
    for (eip_fp, &blst_index) in out.chunks_exact_mut(FP_LEN).zip(order) {
        let start = blst_index * FP_VALUE_LEN;
        eip_fp[FP_PADDING_LEN..].copy_from_slice(&blst[start..start + FP_VALUE_LEN]);
    }
    out
}

fn decode<const OUT: usize>(
    input: &[u8],
    order: &[usize],
    what: &'static str,
) -> Result<[u8; OUT], BlsError> {
    let expected = order.len() * FP_LEN;
    if input.len() != expected {
        return Err(BlsError::InvalidLength {
            what,
            expected,
            actual: input.len(),
        });
    }
    let elements = || {
        input
            .chunks_exact(FP_LEN)
            .map(|fp| fp.split_at(FP_PADDING_LEN))
    };
    if elements().any(|(padding, _)| padding.iter().any(|&b| b != 0)) {
        return Err(BlsError::NonZeroPadding { what });
    }
    // Same-length big-endian byte strings compare lexicographically exactly as the integers do.
    if elements().any(|(_, value)| value >= MODULUS.as_slice()) {
        return Err(BlsError::FieldElementNotCanonical { what });
    }
    if input.iter().all(|&b| b == 0) {
        return Err(BlsError::PointAtInfinity { what });
    }
    // Every value is below p < 2^381, so the three flag bits blst reads from the first byte are
    // zero: blst sees an uncompressed, finite point.
    let mut out = [0u8; OUT];
    for ((_, value), &blst_index) in elements().zip(order) {
        let start = blst_index * FP_VALUE_LEN;
        out[start..start + FP_VALUE_LEN].copy_from_slice(value);
    }
    Ok(out)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn modulus_matches_its_published_hex() {
        assert_eq!(
            hex::encode(MODULUS),
            "1a0111ea397fe69a4b1ba7b6434bacd764774b84f38512bf6730d2a0f6b0f6241eabfffeb153ffffb9feffffffffaaab"
        );
    }

    #[test]
    fn g2_layout_swaps_each_fp2_pair() {
        let mut blst = [0u8; BLST_G2_LEN];
        for (i, fp) in blst.chunks_exact_mut(FP_VALUE_LEN).enumerate() {
            fp[FP_VALUE_LEN - 1] = i as u8 + 1;
        }
        let eip = encode_g2(&blst);
        let last_bytes: Vec<u8> = eip.chunks_exact(FP_LEN).map(|fp| fp[FP_LEN - 1]).collect();
        // blst: x.c1=1, x.c0=2, y.c1=3, y.c0=4; EIP-2537: x.c0, x.c1, y.c0, y.c1.
        assert_eq!(last_bytes, [2, 1, 4, 3]);
        assert_eq!(decode_g2(&eip, "test").unwrap(), blst);
    }

    #[test]
    fn blst_infinity_encodes_as_zeros() {
        let mut blst = [0u8; BLST_G1_LEN];
        blst[0] = BLST_INFINITY_FLAG;
        assert_eq!(encode_g1(&blst), [0u8; G1_LEN]);
    }
}
